#include <stdarg.h>
#include <string.h>
#include "cli.h"

int cli_exit_code(fws_err err)
{
    if (err == FWS_OK)
        return CLI_OK;
    return fws_err_is_verification(err) ? CLI_FAILED : CLI_ERROR;
}

int cli_report(const char *what, fws_err err, const fws_errbuf *eb)
{
    if (eb != NULL && eb->msg[0] != '\0')
        fprintf(stderr, "fwseal %s: %s\n", what, eb->msg);
    else
        fprintf(stderr, "fwseal %s: %s\n", what, fws_strerror(err));
    return cli_exit_code(err);
}

int cli_usage_error(const char *what, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fwseal %s: ", what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'fwseal %s --help')\n", what);
    return CLI_ERROR;
}

static void group_help(FILE *f, const char *group, const cli_cmd *cmds)
{
    fprintf(f, "usage: fwseal %s%sCOMMAND [options]\n\ncommands:\n", group, *group ? " " : "");
    for (const cli_cmd *c = cmds; c->name != NULL; c++)
        fprintf(f, "  %-12s %s\n", c->name, c->summary);
}

int cli_dispatch(const char *group, const cli_cmd *cmds, int argc, char **argv)
{
    if (argc < 2) {
        group_help(stderr, group, cmds);
        return CLI_ERROR;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        group_help(stdout, group, cmds);
        return CLI_OK;
    }
    for (const cli_cmd *c = cmds; c->name != NULL; c++) {
        if (strcmp(c->name, argv[1]) == 0)
            return c->run(argc - 1, argv + 1);
    }
    return cli_usage_error(group, "unknown command '%s'", argv[1]);
}

#include <errno.h>
#include <stdlib.h>
#include <jansson.h>
#include "fwseal/json.h"

fws_err cli_load_private_key(const char *path, const char *passfile, fws_key **out, fws_errbuf *eb)
{
    fws_passphrase pp;
    int is_private = 0;
    fws_err err = fws_key_file_kind(path, &is_private, eb);
    if (err != FWS_OK)
        return err;
    if (!is_private)
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "%s: holds a public key; a private key is needed",
                        path);
    err = fws_passphrase_get(passfile, 0, "passphrase for the private key: ", &pp, eb);
    if (err != FWS_OK)
        return err;
    err = fws_key_load_private(path, &pp, out, eb);
    fws_passphrase_wipe(&pp);
    return err;
}

fws_err cli_parse_size(const char *text, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || text[0] == '-')
        return FWS_ERR_USAGE;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    else if (*end != '\0')
        return FWS_ERR_USAGE;
    if (shift != 0 && end[1] != '\0')
        return FWS_ERR_USAGE;
    if (v > (UINT64_MAX >> shift))
        return FWS_ERR_USAGE;
    *out = (uint64_t)v << shift;
    return FWS_OK;
}

int cli_print_json(json_t *s)
{
    char *text = NULL;
    size_t len = 0;
    fws_err err = fws_json_pretty(s, &text, &len);
    json_decref(s);
    if (err != FWS_OK) {
        fprintf(stderr, "fwseal: cannot encode JSON output: %s\n", fws_strerror(err));
        return CLI_ERROR;
    }
    fwrite(text, 1, len, stdout);
    free(text);
    return CLI_OK;
}
