/* fwseal release list|show|revoke. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"

typedef struct query_cli {
    const char *dir, *product, *version, *reason, *passfile;
    cli_repo_refs keys;
    int json;
} query_cli;

/* Options shared by list, show and revoke; which ones a command takes is in its usage. */
static int parse(const char *what, void (*usage)(FILE *), int argc, char **argv, query_cli *c)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"product", required_argument, NULL, 'P'},
        {"version", required_argument, NULL, 'V'},
        {"reason", required_argument, NULL, 'r'},
        {"key", required_argument, NULL, 'k'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    memset(c, 0, sizeof(*c));
    optind = 0;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            c->dir = optarg;
            break;
        case 'P':
            c->product = optarg;
            break;
        case 'V':
            c->version = optarg;
            break;
        case 'r':
            c->reason = optarg;
            break;
        case 'k':
            if (cli_repo_add_ref(&c->keys, optarg) != 0)
                return cli_usage_error(what, "too many --key options");
            break;
        case 'p':
            c->passfile = optarg;
            break;
        case 'j':
            c->json = 1;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return cli_usage_error(what, "unknown option");
        }
    }
    if (optind != argc)
        return cli_usage_error(what, "unexpected argument '%s'", argv[optind]);
    if (c->dir == NULL)
        return cli_usage_error(what, "--dir is required");
    return CLI_OK;
}

static void list_usage(FILE *f)
{
    fprintf(f, "usage: fwseal release list --dir DEPLOY [--product P] [--json]\n"
               "\n"
               "Lists every release of the deployment, revoked ones included, oldest first.\n");
}

static const char *status_of(const json_t *r)
{
    return json_object_get(r, "revoked") != NULL ? "revoked" : "published";
}

int cli_release_list(int argc, char **argv)
{
    query_cli c;
    fws_errbuf eb = {{0}};
    fws_deploy *d = NULL;
    json_t *list = NULL;
    int rc = parse("release list", list_usage, argc, argv, &c);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    fws_err err = fws_deploy_open(c.dir, &d, &eb);
    if (err == FWS_OK)
        err = fws_release_list(d, c.product, &list, &eb);
    fws_deploy_close(d);
    if (err != FWS_OK)
        return cli_report("release list", err, &eb);
    if (c.json)
        return cli_print_json(list);
    printf("%-20s %-16s %8s %8s  %-9s %s\n", "PRODUCT", "VERSION", "COUNTER", "LEDGER", "STATUS",
           "PUBLISHED");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *r = json_array_get(list, i);
        printf("%-20s %-16s %8lld %8lld  %-9s %s\n",
               json_string_value(json_object_get(r, "product")),
               json_string_value(json_object_get(r, "version")),
               (long long)json_integer_value(json_object_get(r, "securityCounter")),
               (long long)json_integer_value(json_object_get(r, "ledgerIndex")), status_of(r),
               json_string_value(json_object_get(r, "publishedAt")));
    }
    json_decref(list);
    return CLI_OK;
}

static void show_usage(FILE *f)
{
    fprintf(f, "usage: fwseal release show --dir DEPLOY --product P --version V [--json]\n"
               "\n"
               "Shows one release: its index entry and, while it is published, the signed TUF\n"
               "target entry and the role (targets or a hashed bin) that lists it.\n");
}

static void show_text(const json_t *r)
{
    const json_t *pub = json_object_get(r, "published");
    const json_t *rev = json_object_get(r, "revoked");
    printf("%s %s\n", json_string_value(json_object_get(r, "product")),
           json_string_value(json_object_get(r, "version")));
    printf("  target            %s\n", json_string_value(json_object_get(r, "target")));
    printf("  sha256            %s\n", json_string_value(json_object_get(r, "sha256")));
    printf("  length            %lld\n",
           (long long)json_integer_value(json_object_get(r, "length")));
    printf("  security counter  %lld\n",
           (long long)json_integer_value(json_object_get(r, "securityCounter")));
    printf("  ledger record     %lld\n",
           (long long)json_integer_value(json_object_get(r, "ledgerIndex")));
    printf("  published at      %s\n", json_string_value(json_object_get(r, "publishedAt")));
    if (pub != NULL)
        printf("  listed by         %s\n", json_string_value(json_object_get(pub, "role")));
    if (rev != NULL)
        printf("  revoked at        %s (ledger record %lld): %s\n",
               json_string_value(json_object_get(rev, "at")),
               (long long)json_integer_value(json_object_get(rev, "ledgerIndex")),
               json_string_value(json_object_get(rev, "reason")));
}

int cli_release_show(int argc, char **argv)
{
    query_cli c;
    fws_errbuf eb = {{0}};
    fws_deploy *d = NULL;
    json_t *r = NULL;
    int rc = parse("release show", show_usage, argc, argv, &c);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (c.product == NULL || c.version == NULL)
        return cli_usage_error("release show", "--product and --version are required");
    fws_err err = fws_deploy_open(c.dir, &d, &eb);
    if (err == FWS_OK)
        err = fws_release_show(d, c.product, c.version, &r, &eb);
    fws_deploy_close(d);
    if (err != FWS_OK)
        return cli_report("release show", err, &eb);
    if (c.json)
        return cli_print_json(r);
    show_text(r);
    json_decref(r);
    return CLI_OK;
}

static void revoke_usage(FILE *f)
{
    fprintf(f, "usage: fwseal release revoke --dir DEPLOY --product P --version V\n"
               "                             [--reason TEXT] [--key REF]...\n"
               "                             [--passphrase-file F] [--json]\n"
               "\n"
               "Withdraws a release: appends a `revoke` record to the ledger, removes its\n"
               "targets (image, SBOM, provenance) from the metadata and re-signs targets,\n"
               "snapshot and timestamp. The version can never be released again. The files\n"
               "stay on disk for clients still reading an older snapshot.\n");
}

int cli_release_revoke(int argc, char **argv)
{
    query_cli c;
    fws_errbuf eb = {{0}};
    fws_passphrase pp;
    fws_deploy *d = NULL;
    fws_repo_ledger ledger;
    cli_repo_ledger lctx;
    uint64_t index = 0;
    int rc = parse("release revoke", revoke_usage, argc, argv, &c);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (c.product == NULL || c.version == NULL)
        return cli_usage_error("release revoke", "--product and --version are required");
    memset(&pp, 0, sizeof(pp));
    fws_err err = fws_deploy_open(c.dir, &d, &eb);
    if (err == FWS_OK)
        err = cli_repo_passphrase(c.passfile, 0, &pp, &eb);
    if (err == FWS_OK)
        err = cli_repo_ledger_bind(&lctx, d, &pp, NULL, &ledger, &eb);
    if (err == FWS_OK) {
        fws_revoke_req r = {.product = c.product,
                            .version = c.version,
                            .reason = c.reason,
                            .pp = &pp,
                            .extra_keys = {c.keys.refs, c.keys.n},
                            .now = cli_repo_now()};
        err = fws_release_revoke(d, &r, &ledger, &index, &eb);
        cli_repo_ledger_warn(&lctx, "release revoke");
    }
    fws_passphrase_wipe(&pp);
    fws_deploy_close(d);
    if (err != FWS_OK)
        return cli_report("release revoke", err, &eb);
    if (c.json)
        return cli_print_json(json_pack("{s:s, s:s, s:b, s:I}", "product", c.product, "version",
                                        c.version, "revoked", 1, "ledgerIndex", (json_int_t)index));
    printf("revoked %s %s (ledger record %llu)\n", c.product, c.version, (unsigned long long)index);
    return CLI_OK;
}
