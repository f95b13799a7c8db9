/* fwseal init: a new deployment (config, keys, TUF repository, release index, ledger). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: fwseal init --dir DEPLOY --origin NAME [--root-keys N --root-threshold K]\n"
               "                   [--key-type ed25519|p256] [--root-key-dir DIR]\n"
               "                   [--expires ROLE=DURATION]... [--bins-threshold N]\n"
               "                   [--bins-bit-length B] [--passphrase-file F] [--json]\n"
               "\n"
               "Creates a deployment in DEPLOY (which must not exist or be empty): fwseal.json,\n"
               "keys for the TUF roles (root: N keys, K of them needed; targets, snapshot and\n"
               "timestamp: one each) and the ledger, version 1 of every role's metadata in\n"
               "DEPLOY/repo/metadata (consistent snapshots on), an empty release index and an\n"
               "empty ledger named NAME. Private keys are encrypted with the passphrase from\n"
               "FWSEAL_PASSPHRASE, --passphrase-file or the terminal. --root-key-dir writes the\n"
               "root keys elsewhere (removable media); the config names them by path.\n"
               "Expiry periods (DURATION: a number and s, h, d, w or y) default to root=1y,\n"
               "targets=90d, snapshot=7d, timestamp=1d. Above --bins-threshold targets (1024)\n"
               "the targets move to 2^B succinct hashed bins (TAP 15; B defaults to 8).\n"
               "Devices are given DEPLOY/repo/metadata/1.root.json as their first trusted root.\n");
}

typedef struct init_cli {
    fws_deploy_init_opts o;
    const char *passfile;
    int json;
} init_cli;

static int parse_uint(const char *what, const char *text, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || v > max)
        return cli_usage_error("init", "%s: not a number from 0 to %llu: '%s'", what,
                               (unsigned long long)max, text);
    *out = v;
    return CLI_OK;
}

static int parse_expires(init_cli *c, char *arg)
{
    char *eq = strchr(arg, '=');
    fws_tuf_kind kind;
    if (eq == NULL)
        return cli_usage_error("init", "--expires wants ROLE=DURATION, e.g. timestamp=1d");
    *eq = '\0';
    if (fws_repo_kind_parse(arg, &kind) != FWS_OK)
        return cli_usage_error("init", "--expires: unknown role '%s'", arg);
    if (fws_repo_duration_parse(eq + 1, &c->o.expires[kind]) != FWS_OK)
        return cli_usage_error("init", "--expires: '%s' is not a duration like 90d", eq + 1);
    return CLI_OK;
}

static int parse_opt(init_cli *c, int opt, char *arg)
{
    uint64_t v = 0;
    int rc = CLI_OK;
    switch (opt) {
    case 'd':
        c->o.dir = arg;
        break;
    case 'o':
        c->o.origin = arg;
        break;
    case 'n':
        if ((rc = parse_uint("--root-keys", arg, FWS_REPO_MAX_KEYS, &v)) == CLI_OK)
            c->o.root_keys = (unsigned)v;
        break;
    case 'k':
        if ((rc = parse_uint("--root-threshold", arg, FWS_REPO_MAX_KEYS, &v)) == CLI_OK)
            c->o.root_threshold = (unsigned)v;
        break;
    case 't':
        if (fws_key_type_parse(arg, &c->o.key_type) != FWS_OK)
            rc = cli_usage_error("init", "--key-type: ed25519 or p256, not '%s'", arg);
        break;
    case 'r':
        c->o.root_key_dir = arg;
        break;
    case 'e':
        rc = parse_expires(c, arg);
        break;
    case 'b':
        rc = parse_uint("--bins-threshold", arg, INT32_MAX, &c->o.bins_threshold);
        break;
    case 'B':
        if ((rc = parse_uint("--bins-bit-length", arg, FWS_REPO_MAX_BIT_LENGTH, &v)) == CLI_OK)
            c->o.bins_bit_length = (unsigned)v;
        break;
    case 'p':
        c->passfile = arg;
        break;
    case 'j':
        c->json = 1;
        break;
    default:
        rc = cli_usage_error("init", "unknown option");
    }
    return rc;
}

static int parse(int argc, char **argv, init_cli *c)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"origin", required_argument, NULL, 'o'},
        {"root-keys", required_argument, NULL, 'n'},
        {"root-threshold", required_argument, NULL, 'k'},
        {"key-type", required_argument, NULL, 't'},
        {"root-key-dir", required_argument, NULL, 'r'},
        {"expires", required_argument, NULL, 'e'},
        {"bins-threshold", required_argument, NULL, 'b'},
        {"bins-bit-length", required_argument, NULL, 'B'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt, rc;
    memset(c, 0, sizeof(*c));
    optind = 0;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return -1;
        }
        if ((rc = parse_opt(c, opt, optarg)) != CLI_OK)
            return rc;
    }
    if (optind != argc)
        return cli_usage_error("init", "unexpected argument '%s'", argv[optind]);
    if (c->o.dir == NULL || c->o.origin == NULL)
        return cli_usage_error("init", "--dir and --origin are required");
    if (c->o.root_threshold > (c->o.root_keys ? c->o.root_keys : 1))
        return cli_usage_error("init", "--root-threshold %u is more than the %u root keys",
                               c->o.root_threshold, c->o.root_keys ? c->o.root_keys : 1);
    return CLI_OK;
}

static int report(const init_cli *c, const char *root, size_t len)
{
    json_t *md = json_loadb(root, len, 0, NULL);
    json_t *rr = json_object_get(json_object_get(json_object_get(md, "signed"), "roles"), "root");
    json_t *ids = json_object_get(rr, "keyids");
    char path[4096];
    snprintf(path, sizeof(path), "%s/repo/metadata/1.root.json", c->o.dir);
    if (c->json) {
        json_t *out = json_pack("{s:s, s:s, s:{s:i, s:O, s:O}, s:s}", "dir", c->o.dir, "origin",
                                c->o.origin, "root", "version", 1, "keyids", ids, "threshold",
                                json_object_get(rr, "threshold"), "trustedRoot", path);
        json_decref(md);
        return cli_print_json(out);
    }
    printf("initialized deployment %s (origin %s)\n", c->o.dir, c->o.origin);
    for (size_t i = 0; i < json_array_size(ids); i++)
        printf("  root key   %s\n", json_string_value(json_array_get(ids, i)));
    printf("  threshold  %lld\n", (long long)json_integer_value(json_object_get(rr, "threshold")));
    printf("  trusted root for devices: %s\n", path);
    json_decref(md);
    return CLI_OK;
}

int cmd_init(int argc, char **argv)
{
    init_cli c;
    fws_errbuf eb = {{0}};
    fws_passphrase pp;
    fws_repo_ledger ledger;
    cli_repo_ledger lctx;
    char *root = NULL;
    size_t root_len = 0;
    int rc = parse(argc, argv, &c);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    memset(&pp, 0, sizeof(pp));
    fws_err err = cli_repo_passphrase(c.passfile, 1, &pp, &eb);
    if (err == FWS_OK)
        err = cli_repo_ledger_bind(&lctx, NULL, &pp, c.o.dir, &ledger, &eb);
    if (err == FWS_OK) {
        c.o.pp = &pp;
        c.o.now = cli_repo_now();
        err = fws_deploy_init(&c.o, &ledger, &root, &root_len, &eb);
    }
    rc = err == FWS_OK ? report(&c, root, root_len) : cli_report("init", err, &eb);
    fws_passphrase_wipe(&pp);
    free(root);
    return rc;
}
