/* fwseal key rotate: new keys for a TUF role of a deployment. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fwseal key rotate --dir DEPLOY ROLE [--keys N] [--threshold K]\n"
            "                         [--key-dir DIR] [--use REF]... [--key REF]...\n"
            "                         [--passphrase-file F] [--json]\n"
            "\n"
            "Replaces the keys of ROLE (root, targets, snapshot or timestamp) with N new ones\n"
            "(default: as many as it has), K of them needed (default: as now). Root N+1 is\n"
            "written, signed by the threshold of the current root keys and, for root, of the\n"
            "new ones; the roles the new keys sign are re-signed and timestamp.json is\n"
            "replaced last. Root keys kept offline are named with --key (path or URI); new root\n"
            "keys go to --key-dir (default: beside the current ones). --use gives the role\n"
            "existing keys instead of new ones, e.g. keys in a PKCS#11 token\n"
            "(pkcs11:token=...;object=...). The old keys stay in\n"
            "fwseal.json as retired. Before anything is published the ledger gets a `key`\n"
            "record for each key the role gains (action \"add\") and each it loses (\"revoke\"),\n"
            "naming the key by its fwseal key ID (SHA-256 of its SubjectPublicKeyInfo). If\n"
            "recording or publishing fails after the new keys were recorded, running the same\n"
            "command again finishes the rotation with those keys.\n");
}

typedef struct rotate_cli {
    const char *dir, *passfile;
    fws_rotate_req r;
    cli_repo_refs keys, use;
    int json;
} rotate_cli;

static int parse_count(const char *what, const char *text, unsigned *out)
{
    char *end = NULL;
    unsigned long v = strtoul(text, &end, 10);
    if (text[0] < '1' || text[0] > '9' || *end != '\0' || v > FWS_REPO_MAX_KEYS)
        return cli_usage_error("key rotate", "%s: a number from 1 to %d, not '%s'", what,
                               FWS_REPO_MAX_KEYS, text);
    *out = (unsigned)v;
    return CLI_OK;
}

static int parse(int argc, char **argv, rotate_cli *c)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"keys", required_argument, NULL, 'n'},
        {"threshold", required_argument, NULL, 't'},
        {"key-dir", required_argument, NULL, 'D'},
        {"key", required_argument, NULL, 'k'},
        {"use", required_argument, NULL, 'u'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt, rc = CLI_OK;
    memset(c, 0, sizeof(*c));
    optind = 0;
    while (rc == CLI_OK && (opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (opt == 'd')
            c->dir = optarg;
        else if (opt == 'n')
            rc = parse_count("--keys", optarg, &c->r.n_keys);
        else if (opt == 't')
            rc = parse_count("--threshold", optarg, &c->r.threshold);
        else if (opt == 'D')
            c->r.key_dir = optarg;
        else if (opt == 'k')
            rc = cli_repo_add_ref(&c->keys, optarg) == 0
                     ? CLI_OK
                     : cli_usage_error("key rotate", "too many --key options");
        else if (opt == 'u')
            rc = cli_repo_add_ref(&c->use, optarg) == 0
                     ? CLI_OK
                     : cli_usage_error("key rotate", "too many --use options");
        else if (opt == 'p')
            c->passfile = optarg;
        else if (opt == 'j')
            c->json = 1;
        else if (opt == 'h') {
            usage(stdout);
            return -1;
        } else
            rc = cli_usage_error("key rotate", "unknown option");
    }
    if (rc != CLI_OK)
        return rc;
    if (optind != argc - 1)
        return cli_usage_error("key rotate", "exactly one ROLE is needed");
    if (fws_repo_kind_parse(argv[optind], &c->r.role) != FWS_OK)
        return cli_usage_error(
            "key rotate", "ROLE is root, targets, snapshot or timestamp, not '%s'", argv[optind]);
    if (c->dir == NULL)
        return cli_usage_error("key rotate", "--dir is required");
    if (c->r.n_keys && c->r.threshold > c->r.n_keys)
        return cli_usage_error("key rotate", "--threshold %u is more than the %u keys",
                               c->r.threshold, c->r.n_keys);
    if (c->use.n > 0 && c->r.n_keys)
        return cli_usage_error("key rotate", "--keys and --use do not go together");
    c->r.extra_keys.refs = c->keys.refs;
    c->r.extra_keys.n = c->keys.n;
    c->r.use.refs = c->use.refs;
    c->r.use.n = c->use.n;
    return CLI_OK;
}

static int report(const rotate_cli *c, const fws_rotate_result *res)
{
    const char *role = fws_tuf_kind_name(c->r.role);
    if (c->json) {
        json_t *ids = json_array(), *recs = json_array();
        for (size_t i = 0; i < res->n_keys; i++)
            json_array_append_new(ids, json_string(res->keyids[i]));
        for (size_t i = 0; i < res->n_records; i++)
            json_array_append_new(recs, json_pack("{s:I, s:s, s:s}", "ledgerIndex",
                                                  (json_int_t)res->records[i].index, "keyid",
                                                  res->records[i].keyid, "action",
                                                  res->records[i].added ? "add" : "revoke"));
        return cli_print_json(json_pack("{s:s, s:I, s:o, s:o}", "role", role, "rootVersion",
                                        (json_int_t)res->root_version, "keyids", ids,
                                        "ledgerRecords", recs));
    }
    printf("rotated the %s keys; root is now version %lld\n", role, (long long)res->root_version);
    for (size_t i = 0; i < res->n_keys; i++)
        printf("  %s key  %s\n", role, res->keyids[i]);
    for (size_t i = 0; i < res->n_records; i++)
        printf("  ledger record %llu: %s %s key, fwseal key ID %s\n",
               (unsigned long long)res->records[i].index, res->records[i].added ? "add" : "revoke",
               role, res->records[i].keyid);
    return CLI_OK;
}

int cmd_key_rotate(int argc, char **argv)
{
    rotate_cli c;
    fws_errbuf eb = {{0}};
    fws_passphrase pp;
    fws_deploy *d = NULL;
    fws_rotate_result res;
    cli_repo_ledger bound;
    fws_repo_ledger ledger;
    int rc = parse(argc, argv, &c);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    memset(&pp, 0, sizeof(pp));
    fws_err err = fws_deploy_open(c.dir, &d, &eb);
    if (err == FWS_OK)
        err = cli_repo_passphrase(c.passfile, 0, &pp, &eb);
    if (err == FWS_OK)
        err = cli_repo_ledger_bind(&bound, d, &pp, NULL, &ledger, &eb);
    if (err == FWS_OK) {
        c.r.pp = &pp;
        c.r.now = cli_repo_now();
        c.r.ledger = &ledger;
        err = fws_repo_rotate(d, &c.r, &res, &eb);
        cli_repo_ledger_warn(&bound, "key rotate");
    }
    fws_passphrase_wipe(&pp);
    fws_deploy_close(d);
    return err == FWS_OK ? report(&c, &res) : cli_report("key rotate", err, &eb);
}
