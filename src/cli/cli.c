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
