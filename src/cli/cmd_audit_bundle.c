/* fwseal audit export | verify: audit bundles. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "fwseal/audit.h"
#include "fwseal/json.h"
#include "fwseal/util.h"

#define MAX_WITNESSES 16

int cmd_audit_export(int argc, char **argv);
int cmd_audit_verify(int argc, char **argv);

static json_t *info_json(const fws_audit_bundle_info *i)
{
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "origin",
                     i->origin, "treeSize", (json_int_t)i->tree_size, "members",
                     (json_int_t)i->members, "records", (json_int_t)i->records, "releases",
                     (json_int_t)i->releases, "devices", (json_int_t)i->devices, "certificates",
                     (json_int_t)i->certs, "tufFiles", (json_int_t)i->tuf_files, "attachments",
                     (json_int_t)i->attachments, "proofs", (json_int_t)i->proofs, "cosignatures",
                     (json_int_t)i->cosignatures, "tufRootSha256", i->root_sha256);
}

static void info_text(const char *what, const fws_audit_bundle_info *i)
{
    printf("%s: ledger %s, %llu entries (%llu records: %llu releases, %llu devices)\n", what,
           i->origin, (unsigned long long)i->tree_size, (unsigned long long)i->records,
           (unsigned long long)i->releases, (unsigned long long)i->devices);
    printf("  %llu members: %llu TUF files, %llu SBOMs and provenance, %llu certificates, "
           "%llu proofs; %zu witness cosignatures\n",
           (unsigned long long)i->members, (unsigned long long)i->tuf_files,
           (unsigned long long)i->attachments, (unsigned long long)i->certs,
           (unsigned long long)i->proofs, i->cosignatures);
    if (i->root_sha256[0] != '\0')
        printf("  TUF root 1.root.json sha256 %s\n", i->root_sha256);
}

int cmd_audit_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'}, {"out", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},     {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0},
    };
    fws_audit_export_opts o = {0};
    fws_audit_bundle_info info;
    fws_errbuf eb = {{0}};
    int c, json = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o.deploy = optarg;
            break;
        case 'o':
            o.out = optarg;
            break;
        case 'f':
            o.overwrite = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            printf("usage: fwseal audit export --dir DEPLOY --out BUNDLE.tar [--force] [--json]\n"
                   "Writes everything needed to re-check the deployment's history offline and\n"
                   "without any secret: checkpoint and cosignatures, tiles and entries, proofs,\n"
                   "TUF metadata, SBOMs and provenance, device certificates, CA chains, CRLs.\n");
            return CLI_OK;
        default:
            return CLI_ERROR;
        }
    }
    if (optind != argc)
        return cli_usage_error("audit export", "unexpected argument \"%s\"", argv[optind]);
    if (o.deploy == NULL || o.out == NULL)
        return cli_usage_error("audit export", "--dir and --out are required");
    o.now = (int64_t)time(NULL);
    fws_err err = fws_audit_export(&o, &info, &eb);
    if (err != FWS_OK)
        return cli_report("audit export", err, &eb);
    if (json)
        return cli_print_json(info_json(&info));
    info_text(o.out, &info);
    return CLI_OK;
}

int cmd_audit_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"vkey", required_argument, NULL, 'k'},
        {"witness", required_argument, NULL, 'w'},
        {"threshold", required_argument, NULL, 't'},
        {"root", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    fws_note_vkey key, wit[MAX_WITNESSES];
    fws_audit_verify_opts o = {0};
    fws_audit_bundle_info info;
    fws_errbuf eb = {{0}};
    uint8_t *root = NULL, *data = NULL;
    size_t len = 0;
    int c, json = 0;
    const char *root_path = NULL;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (cli_log_load_vkey(optarg, &key, &eb) != FWS_OK)
                return cli_report("audit verify", FWS_ERR_ARG, &eb);
            o.log_key = &key;
            break;
        case 'w':
            if (o.n_witnesses == MAX_WITNESSES)
                return cli_usage_error("audit verify", "at most %d witnesses", MAX_WITNESSES);
            if (cli_log_load_vkey(optarg, &wit[o.n_witnesses], &eb) != FWS_OK)
                return cli_report("audit verify", FWS_ERR_ARG, &eb);
            o.witnesses = wit;
            o.n_witnesses++;
            break;
        case 't':
            o.witness_threshold = (size_t)strtoul(optarg, NULL, 10);
            break;
        case 'r':
            root_path = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            printf("usage: fwseal audit verify BUNDLE.tar --vkey VKEY [--witness VKEY]...\n"
                   "                           [--threshold K] [--root ROOT.json] [--json]\n"
                   "Checks an audit bundle on any machine: every member must be listed with its\n"
                   "digest and tied to the checkpoint signed by VKEY or to the TUF chain\n"
                   "(from ROOT.json when given). Exit status 1 when it does not verify.\n");
            return CLI_OK;
        default:
            return CLI_ERROR;
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("audit verify", "one bundle file is required");
    if (o.log_key == NULL)
        return cli_usage_error("audit verify", "--vkey is required");
    if (o.witness_threshold > o.n_witnesses)
        return cli_usage_error("audit verify", "--threshold is above the number of witnesses");
    fws_err err = FWS_OK;
    if (root_path != NULL &&
        (err = fws_file_read(root_path, 1u << 20, &root, &len, &eb)) == FWS_OK) {
        o.tuf_root = root;
        o.tuf_root_len = len;
    }
    if (err == FWS_OK)
        err = fws_file_read(argv[optind], FWS_AUDIT_BUNDLE_MAX, &data, &len, &eb);
    int judged = 0;
    if (err == FWS_OK) {
        err = fws_audit_verify(data, len, &o, &info, &eb);
        judged = err != FWS_ERR_NOMEM && err != FWS_ERR_IO && err != FWS_ERR_ARG;
    }
    free(data);
    free(root);
    if (err != FWS_OK) {
        int rc = cli_report("audit verify", err, &eb);
        return judged ? CLI_FAILED : rc; /* a bundle that does not verify, whatever the reason */
    }
    if (json)
        return cli_print_json(info_json(&info));
    info_text("verified", &info);
    return CLI_OK;
}
