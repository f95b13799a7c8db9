/* fwseal release add|list|show|revoke: publishing firmware through the deployment's TUF
 * repository, with a ledger record for each release and revocation. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"
#include "fwseal/core.h"

static void add_usage(FILE *f)
{
    fprintf(f,
            "usage: fwseal release add --dir DEPLOY IMAGE --product P --version V\n"
            "                          --hardware H[,H..] [--region R[,R..]]\n"
            "                          --security-counter N [--changelog FILE]\n"
            "                          [--sbom FILE.cdx.json] [--provenance FILE.dsse.json]\n"
            "                          [--key REF]... [--max-size BYTES]\n"
            "                          [--passphrase-file F] [--json]\n"
            "\n"
            "Publishes IMAGE as target P/V/<file name>: hashes it (SHA-256, SHA-512), validates\n"
            "the CycloneDX 1.6 SBOM against the official schema, checks the given provenance\n"
            "(a DSSE envelope whose in-toto statement names the image, with an SLSA Provenance\n"
            "v1 predicate) or writes one signed with the targets key, appends a `release`\n"
            "record to the ledger, and re-signs targets (or its hashed bin), snapshot and\n"
            "timestamp. Refused, with nothing changed: a version already released, a security\n"
            "counter lower than the product's last, an invalid SBOM, expired metadata, an image\n"
            "that changes while it is published. --key names a key (path or URI) kept outside\n"
            "the deployment. No region means any region.\n");
}

typedef struct add_cli {
    fws_release_req r;
    const char *dir, *passfile;
    const char *hw[FWS_POLICY_MAX_LIST + 1], *regions[FWS_POLICY_MAX_LIST + 1];
    cli_repo_refs keys;
    int json, have_counter;
} add_cli;

static int parse_counter(const char *text, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || v > (unsigned long long)INT64_MAX)
        return cli_usage_error("release add", "--security-counter: not a number: '%s'", text);
    *out = v;
    return CLI_OK;
}

static int add_opt(add_cli *c, int opt, char *arg)
{
    switch (opt) {
    case 'd':
        c->dir = arg;
        return CLI_OK;
    case 'P':
        c->r.product = arg;
        return CLI_OK;
    case 'V':
        c->r.version = arg;
        return CLI_OK;
    case 'H':
        if (cli_repo_split(arg, c->hw, FWS_POLICY_MAX_LIST, &c->r.n_hardware) != 0)
            return cli_usage_error("release add", "--hardware: at most %d models",
                                   FWS_POLICY_MAX_LIST);
        return CLI_OK;
    case 'R':
        if (cli_repo_split(arg, c->regions, FWS_POLICY_MAX_LIST, &c->r.n_regions) != 0)
            return cli_usage_error("release add", "--region: at most %d regions",
                                   FWS_POLICY_MAX_LIST);
        return CLI_OK;
    case 'c':
        c->have_counter = 1;
        return parse_counter(arg, &c->r.security_counter);
    case 'l':
        c->r.changelog = arg;
        return CLI_OK;
    case 's':
        c->r.sbom = arg;
        return CLI_OK;
    case 'v':
        c->r.provenance = arg;
        return CLI_OK;
    case 'k':
        if (cli_repo_add_ref(&c->keys, arg) != 0)
            return cli_usage_error("release add", "too many --key options");
        return CLI_OK;
    case 'm':
        if (cli_parse_size(arg, &c->r.max_image_size) != FWS_OK)
            return cli_usage_error("release add", "--max-size: not a size: '%s'", arg);
        return CLI_OK;
    case 'p':
        c->passfile = arg;
        return CLI_OK;
    case 'j':
        c->json = 1;
        return CLI_OK;
    default:
        return cli_usage_error("release add", "unknown option");
    }
}

static int add_parse(int argc, char **argv, add_cli *c)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"product", required_argument, NULL, 'P'},
        {"version", required_argument, NULL, 'V'},
        {"hardware", required_argument, NULL, 'H'},
        {"region", required_argument, NULL, 'R'},
        {"security-counter", required_argument, NULL, 'c'},
        {"changelog", required_argument, NULL, 'l'},
        {"sbom", required_argument, NULL, 's'},
        {"provenance", required_argument, NULL, 'v'},
        {"key", required_argument, NULL, 'k'},
        {"max-size", required_argument, NULL, 'm'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt, rc;
    memset(c, 0, sizeof(*c));
    c->r.hardware = c->hw;
    c->r.regions = c->regions;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (opt == 'h') {
            add_usage(stdout);
            return -1;
        }
        if ((rc = add_opt(c, opt, optarg)) != CLI_OK)
            return rc;
    }
    if (optind != argc - 1)
        return cli_usage_error("release add", "exactly one IMAGE is needed");
    c->r.image = argv[optind];
    if (c->dir == NULL || c->r.product == NULL || c->r.version == NULL || c->r.n_hardware == 0 ||
        !c->have_counter)
        return cli_usage_error("release add", "--dir, --product, --version, --hardware and "
                                              "--security-counter are required");
    c->r.extra_keys.refs = c->keys.refs;
    c->r.extra_keys.n = c->keys.n;
    return CLI_OK;
}

static int add_report(const add_cli *c, const fws_release_result *res)
{
    if (c->json)
        return cli_print_json(json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:{s:I, s:I, s:I}}", "product", c->r.product,
            "version", c->r.version, "target", res->target, "sha256", res->sha256, "sha512",
            res->sha512, "length", (json_int_t)res->length, "ledgerIndex",
            (json_int_t)res->ledger_index, "role", res->delegated_role, "versions", "targets",
            (json_int_t)res->targets_version, "snapshot", (json_int_t)res->snapshot_version,
            "timestamp", (json_int_t)res->timestamp_version));
    printf("released %s %s\n  target     %s\n  sha256     %s\n  length     %llu\n"
           "  ledger     record %llu\n  listed by  %s (targets v%lld, snapshot v%lld, "
           "timestamp v%lld)\n",
           c->r.product, c->r.version, res->target, res->sha256, (unsigned long long)res->length,
           (unsigned long long)res->ledger_index, res->delegated_role,
           (long long)res->targets_version, (long long)res->snapshot_version,
           (long long)res->timestamp_version);
    return CLI_OK;
}

static int release_add(int argc, char **argv)
{
    add_cli c;
    fws_errbuf eb = {{0}};
    fws_passphrase pp;
    fws_deploy *d = NULL;
    fws_repo_ledger ledger;
    cli_repo_ledger lctx;
    fws_release_result res;
    int rc = add_parse(argc, argv, &c);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    memset(&pp, 0, sizeof(pp));
    fws_err err = fws_deploy_open(c.dir, &d, &eb);
    if (err == FWS_OK)
        err = cli_repo_passphrase(c.passfile, 0, &pp, &eb);
    if (err == FWS_OK)
        err = cli_repo_ledger_bind(&lctx, d, &pp, NULL, &ledger, &eb);
    if (err == FWS_OK) {
        c.r.pp = &pp;
        c.r.now = cli_repo_now();
        c.r.sbom_check = cli_repo_sbom_check;
        err = fws_release_add(d, &c.r, &ledger, &res, &eb);
        cli_repo_ledger_warn(&lctx, "release add");
    }
    rc = err == FWS_OK ? add_report(&c, &res) : cli_report("release add", err, &eb);
    fws_passphrase_wipe(&pp);
    fws_deploy_close(d);
    return rc;
}

int cmd_release(int argc, char **argv)
{
    static const cli_cmd cmds[] = {
        {"add", "publish a firmware image (SBOM, provenance, ledger record)", release_add},
        {"list", "list the releases of a deployment", cli_release_list},
        {"show", "show one release and where it is published", cli_release_show},
        {"revoke", "withdraw a release (ledger record, target removed)", cli_release_revoke},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("release", cmds, argc, argv);
}
