/* fwseal tuf-client: the TUF client, through the command-line protocol of the TUF conformance
 * suite (init, refresh, download). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"
#include "fwseal/tuf.h"
#include "fwseal/util.h"

#define MAX_TARGET_NAMES 64

static void usage(FILE *f)
{
    fprintf(f, "usage: fwseal tuf-client --metadata-dir DIR init TRUSTED_ROOT\n"
               "       fwseal tuf-client --metadata-dir DIR --metadata-url URL refresh\n"
               "       fwseal tuf-client --metadata-dir DIR --metadata-url URL\n"
               "                         --target-name PATH [--target-name PATH...]\n"
               "                         --target-base-url URL --target-dir DIR download\n"
               "options: [--max-root-rotations N] [--max-delegations N] [--json]\n"
               "\n"
               "init stores TRUSTED_ROOT as DIR/root.json (no request is made). refresh runs the\n"
               "TUF 1.0 client workflow: the root chain one version at a time, then timestamp,\n"
               "snapshot and targets, each checked for signatures, versions, hashes and expiry\n"
               "against one start time; verified metadata is stored in DIR under unversioned\n"
               "names, byte for byte. download refreshes, finds each target through the\n"
               "delegations, and stores it in the target directory (a file already there with the\n"
               "signed length and hashes is not fetched again). URLs may be http, https or file.\n"
               "Exit 0 on success, 1 when any part fails (a check, the network, the disk), 2 on\n"
               "usage errors.\n");
}

typedef struct tc_opts {
    const char *dir, *url, *base_url, *target_dir, *root;
    const char *names[MAX_TARGET_NAMES];
    size_t n_names;
    const char *command;
    fws_tuf_client_config cfg;
    int json;
} tc_opts;

static int parse_count(const char *text, unsigned *out)
{
    char *end = NULL;
    unsigned long v = strtoul(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || v == 0 || v > 100000)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int parse_opt(int c, tc_opts *o)
{
    switch (c) {
    case 'd':
        o->dir = optarg;
        return CLI_OK;
    case 'u':
        o->url = optarg;
        return CLI_OK;
    case 'n':
        if (o->n_names == MAX_TARGET_NAMES)
            return cli_usage_error("tuf-client", "at most %d --target-name", MAX_TARGET_NAMES);
        o->names[o->n_names++] = optarg;
        return CLI_OK;
    case 'b':
        o->base_url = optarg;
        return CLI_OK;
    case 't':
        o->target_dir = optarg;
        return CLI_OK;
    case 'r':
        if (parse_count(optarg, &o->cfg.max_root_rotations) != 0)
            return cli_usage_error("tuf-client", "--max-root-rotations: not a count: '%s'", optarg);
        return CLI_OK;
    case 'm':
        if (parse_count(optarg, &o->cfg.max_delegations) != 0)
            return cli_usage_error("tuf-client", "--max-delegations: not a count: '%s'", optarg);
        return CLI_OK;
    case 'j':
        o->json = 1;
        return CLI_OK;
    case 'h':
        usage(stdout);
        return -1;
    default:
        return cli_usage_error("tuf-client", "unknown option");
    }
}

static int check_command(int argc, char **argv, tc_opts *o)
{
    if (optind >= argc)
        return cli_usage_error("tuf-client", "a command is needed: init, refresh or download");
    o->command = argv[optind];
    int extra = argc - optind - 1;
    if (o->dir == NULL)
        return cli_usage_error("tuf-client", "--metadata-dir is required");
    if (strcmp(o->command, "init") == 0) {
        if (extra != 1)
            return cli_usage_error("tuf-client", "init needs exactly one TRUSTED_ROOT file");
        o->root = argv[optind + 1];
        return CLI_OK;
    }
    if (extra != 0)
        return cli_usage_error("tuf-client", "unexpected argument '%s'", argv[optind + 1]);
    if (strcmp(o->command, "refresh") != 0 && strcmp(o->command, "download") != 0)
        return cli_usage_error("tuf-client", "unknown command '%s'", o->command);
    if (o->url == NULL)
        return cli_usage_error("tuf-client", "%s needs --metadata-url", o->command);
    if (strcmp(o->command, "download") == 0 &&
        (o->n_names == 0 || o->base_url == NULL || o->target_dir == NULL))
        return cli_usage_error("tuf-client",
                               "download needs --target-name, --target-base-url and --target-dir");
    return CLI_OK;
}

static int parse(int argc, char **argv, tc_opts *o)
{
    static const struct option longopts[] = {
        {"metadata-dir", required_argument, NULL, 'd'},
        {"metadata-url", required_argument, NULL, 'u'},
        {"target-name", required_argument, NULL, 'n'},
        {"target-base-url", required_argument, NULL, 'b'},
        {"target-dir", required_argument, NULL, 't'},
        {"max-root-rotations", required_argument, NULL, 'r'},
        {"max-delegations", required_argument, NULL, 'm'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc;
    memset(o, 0, sizeof(*o));
    o->cfg = fws_tuf_client_defaults;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if ((rc = parse_opt(c, o)) != CLI_OK)
            return rc;
    }
    return check_command(argc, argv, o);
}

/* Every failure of the protocol's commands exits 1, as the conformance protocol asks. */
static int failed(const char *what, fws_err err, const fws_errbuf *eb)
{
    cli_report(what, err, eb);
    return CLI_FAILED;
}

static int run_init(const tc_opts *o)
{
    fws_errbuf eb = {{0}};
    uint8_t *data = NULL;
    size_t len = 0;
    fws_err err = fws_file_read(o->root, fws_tuf_client_defaults.root_max, &data, &len, &eb);
    if (err == FWS_OK)
        err = fws_tuf_client_init_dir(o->dir, data, len, &eb);
    free(data);
    if (err != FWS_OK)
        return failed("tuf-client init", err, &eb);
    if (o->json)
        return cli_print_json(json_pack("{s:s, s:s}", "command", "init", "metadata_dir", o->dir));
    printf("initialised %s with a trusted root\n", o->dir);
    return CLI_OK;
}

static json_t *versions_json(const fws_tuf_client *c)
{
    json_t *v = json_object();
    for (unsigned k = 0; k < FWS_TUF_KIND_COUNT && v != NULL; k++)
        json_object_set_new(v, fws_tuf_kind_name((fws_tuf_kind)k),
                            json_integer(fws_tuf_client_version(c, (fws_tuf_kind)k)));
    return v;
}

static int download_all(fws_tuf_client *c, const tc_opts *o, json_t *list)
{
    for (size_t i = 0; i < o->n_names; i++) {
        fws_errbuf eb = {{0}};
        fws_tuf_target t;
        char *stored = NULL;
        int fetched = 0;
        fws_err err = fws_tuf_client_find_target(c, o->names[i], &t, &eb);
        if (err == FWS_OK)
            err = fws_tuf_client_download_target(c, &t, o->base_url, o->target_dir, &fetched, &eb);
        if (err == FWS_OK)
            err = fws_tuf_target_local_path(o->target_dir, &t, &stored, &eb);
        if (err != FWS_OK)
            return failed("tuf-client download", err, &eb);
        if (o->json)
            json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:I}", "target", o->names[i],
                                                  "path", stored, "fetched", fetched, "length",
                                                  (json_int_t)t.length));
        else
            printf("%s: %s %s\n", o->names[i], fetched ? "downloaded to" : "already present at",
                   stored);
        free(stored);
    }
    return CLI_OK;
}

static int run_client(const tc_opts *o)
{
    fws_errbuf eb = {{0}};
    fws_tuf_fetcher f;
    fws_tuf_client *c = NULL;
    json_t *list = json_array();
    int rc = CLI_OK;
    const char *what =
        strcmp(o->command, "refresh") == 0 ? "tuf-client refresh" : "tuf-client download";
    fws_err err = fws_tuf_fetcher_new(NULL, &f, &eb);
    if (err != FWS_OK) {
        json_decref(list);
        return failed(what, err, &eb);
    }
    err = fws_tuf_client_new(o->dir, o->url, &o->cfg, &f, &c, &eb);
    if (err == FWS_OK)
        err = fws_tuf_client_refresh(c, &eb);
    if (err != FWS_OK)
        rc = failed(what, err, &eb);
    else if (strcmp(o->command, "download") == 0)
        rc = download_all(c, o, list);
    if (rc == CLI_OK && o->json) {
        rc = cli_print_json(json_pack("{s:s, s:o, s:o}", "command", o->command, "versions",
                                      versions_json(c), "targets", list));
        list = NULL;
    } else if (rc == CLI_OK && strcmp(o->command, "refresh") == 0) {
        printf("refreshed: root v%lld, timestamp v%lld, snapshot v%lld, targets v%lld\n",
               (long long)fws_tuf_client_version(c, FWS_TUF_ROOT),
               (long long)fws_tuf_client_version(c, FWS_TUF_TIMESTAMP),
               (long long)fws_tuf_client_version(c, FWS_TUF_SNAPSHOT),
               (long long)fws_tuf_client_version(c, FWS_TUF_TARGETS));
    }
    json_decref(list);
    fws_tuf_client_free(c);
    fws_tuf_fetcher_free(&f);
    return rc;
}

int cmd_tuf_client(int argc, char **argv)
{
    tc_opts o;
    int rc = parse(argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (strcmp(o.command, "init") == 0)
        return run_init(&o);
    return run_client(&o);
}
