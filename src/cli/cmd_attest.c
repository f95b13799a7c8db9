/* fwseal attest: TPM 2.0 remote attestation. The verifier side (verify, verify-batch, nonce)
 * and the device side (ak-create, measure, quote, record; cmd_attest_device.c). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "cmd_attest.h"
#include "fwseal/json.h"
#include "fwseal/note.h"
#include "fwseal/util.h"

#define REPORT_MAX (256u * 1024)

static int add_path(const char **list, size_t *n, const char *arg)
{
    if (*n >= ATT_CLI_LIST_MAX)
        return -1;
    list[(*n)++] = arg;
    return 1;
}

int att_cli_verifier_opt(att_cli_verifier *v, int c, const char *arg, const char *what)
{
    int rc = 1;
    switch (c) {
    case ATT_OPT_POLICY:
        v->policy_path = arg;
        break;
    case ATT_OPT_LEDGER:
        v->ledger = arg;
        break;
    case ATT_OPT_LEDGER_KEY:
        v->ledger_key = arg;
        break;
    case ATT_OPT_MODEL:
        v->model = arg;
        break;
    case ATT_OPT_DEVICE:
        v->device = arg;
        break;
    case ATT_OPT_LAST:
        v->last_report = arg;
        break;
    case ATT_OPT_CA:
        rc = add_path(v->ca, &v->n_ca, arg);
        break;
    case ATT_OPT_INTER:
        rc = add_path(v->inter, &v->n_inter, arg);
        break;
    case ATT_OPT_CRL:
        rc = add_path(v->crl, &v->n_crl, arg);
        break;
    case ATT_OPT_REBOOT_EXPECTED:
        v->reboot_expected = 1;
        break;
    default:
        return 0;
    }
    if (rc < 0)
        cli_usage_error(what, "at most %d of each certificate or CRL option", ATT_CLI_LIST_MAX);
    return rc;
}

static fws_err load_last(att_cli_verifier *v, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *o = NULL;
    fws_attest_result *last = calloc(1, sizeof(*last));
    fws_errbuf why = {{0}};
    fws_err err =
        last == NULL ? FWS_ERR_NOMEM : fws_file_read(v->last_report, REPORT_MAX, &data, &len, &why);
    if (err == FWS_OK)
        err = fws_json_parse(data, len, FWS_JSON_NO_FLOATS, NULL, &o, &why);
    if (err == FWS_OK)
        err = fws_attest_report_parse(o, last, &why);
    if (err == FWS_OK && !last->pass)
        err = fws_errf(&why, FWS_ERR_STATE, "not a passing report");
    if (err == FWS_OK) {
        v->last = last->clock;
        v->has_last = 1;
    }
    json_decref(o);
    free(data);
    free(last);
    if (err != FWS_OK)
        return fws_errf(eb, err, "--last %s: %s", v->last_report,
                        why.msg[0] ? why.msg : fws_strerror(err));
    return FWS_OK;
}

static fws_err load_refs(att_cli_verifier *v, fws_errbuf *eb)
{
    fws_note_vkey key;
    fws_err err = fws_attest_refs_new(&v->refs);
    if (err == FWS_OK)
        err = fws_attest_refs_add_policy(v->refs, v->policy);
    if (err != FWS_OK || v->ledger == NULL)
        return err;
    if (v->model == NULL)
        return fws_errf(eb, FWS_ERR_USAGE, "--ledger needs --model (the releases' hardware)");
    if (v->ledger_key != NULL && (err = cli_log_load_vkey(v->ledger_key, &key, eb)) != FWS_OK)
        return err;
    return fws_attest_refs_add_ledger(v->refs, v->policy, v->ledger,
                                      v->ledger_key != NULL ? &key : NULL, v->model, NULL, eb);
}

static fws_err load_anchors(att_cli_verifier *v, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_err err = fws_attest_anchors_new(&v->anchors);
    for (size_t i = 0; err == FWS_OK && i < v->n_ca; i++)
        err = fws_attest_anchors_add_file(v->anchors, v->ca[i], 1, eb);
    for (size_t i = 0; err == FWS_OK && i < v->n_inter; i++)
        err = fws_attest_anchors_add_file(v->anchors, v->inter[i], 0, eb);
    for (size_t i = 0; err == FWS_OK && i < v->n_crl; i++) {
        err = fws_file_read(v->crl[i], 4u << 20, &data, &len, eb);
        if (err == FWS_OK)
            err = fws_attest_anchors_add_crl(v->anchors, data, len, eb);
        if (err != FWS_OK)
            err = fws_errf(eb, err, "--crl %s: not a CRL", v->crl[i]);
        free(data);
        data = NULL;
    }
    return err;
}

fws_err att_cli_verifier_load(att_cli_verifier *v, fws_errbuf *eb)
{
    fws_err err;
    if (v->policy_path == NULL || v->n_ca == 0)
        return fws_errf(eb, FWS_ERR_USAGE, "--policy and --ca are required");
    v->policy = calloc(1, sizeof(*v->policy));
    if (v->policy == NULL)
        return FWS_ERR_NOMEM;
    if ((err = fws_attest_policy_load(v->policy_path, v->policy, eb)) != FWS_OK ||
        (err = load_refs(v, eb)) != FWS_OK || (err = load_anchors(v, eb)) != FWS_OK)
        return err;
    if (v->last_report != NULL)
        return load_last(v, eb);
    return FWS_OK;
}

void att_cli_verifier_free(att_cli_verifier *v)
{
    free(v->policy);
    fws_attest_refs_free(v->refs);
    fws_attest_anchors_free(v->anchors);
}

fws_err att_cli_nonce(const char *hex, uint8_t *out, size_t *len)
{
    size_t n = hex != NULL ? strlen(hex) : 0;
    if (n < 2 * FWS_ATTEST_NONCE_MIN || n > 2 * FWS_ATTEST_NONCE_MAX)
        return FWS_ERR_FORMAT;
    return fws_hex_decode(hex, n, out, FWS_ATTEST_NONCE_MAX, len);
}

/* ---- fwseal attest nonce ------------------------------------------------------------------ */

static int c_nonce(int argc, char **argv)
{
    uint8_t n[FWS_ATTEST_NONCE_LEN];
    char hex[2 * FWS_ATTEST_NONCE_LEN + 1];
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: fwseal attest nonce\n\nPrints a fresh random %d-byte nonce in hex, to send "
               "to a device with its attestation request.\n",
               FWS_ATTEST_NONCE_LEN);
        return CLI_OK;
    }
    if (argc > 1)
        return cli_usage_error("attest nonce", "unexpected argument '%s'", argv[1]);
    if (fws_attest_nonce(n) != FWS_OK)
        return cli_report("attest nonce", FWS_ERR_CRYPTO, NULL);
    fws_hex_encode(n, sizeof(n), hex);
    printf("%s\n", hex);
    return CLI_OK;
}

/* ---- fwseal attest verify ------------------------------------------------------------------- */

static void verify_usage(FILE *f)
{
    fprintf(
        f,
        "usage: fwseal attest verify --evidence E.json --nonce HEX --policy P.json --ca ROOT.pem\n"
        "                            [--ledger DIR --model M] [options] [--json]\n"
        "\n"
        "Judges a device's evidence: the quote's nonce, the AK signature and certificate\n"
        "chain, the event log replayed against the quoted PCRs, each stage's digest against\n"
        "the reference values (the policy's digests and the ledger's release records for the\n"
        "model), and the TPM's reset and restart counters against --last. Prints the\n"
        "attestation report and the policy's decision (allow, deny or quarantine).\n"
        "\n"
        "  --evidence FILE        the device's evidence ('-' for standard input)\n"
        "  --nonce HEX            the nonce this verifier issued for the "
        "request\n" ATT_CLI_VERIFIER_USAGE "  --report OUT.json      write the attestation report\n"
        "  --record OUT.json      on failure, write the quarantine record for the ledger\n"
        "  --json                 print the report and the decision as JSON\n"
        "\n"
        "Exit 0 when the evidence passes, 1 when it fails, 2 on usage or I/O errors.\n");
}

typedef struct verify_opts {
    att_cli_verifier v;
    const char *evidence, *nonce, *report, *record;
    int json;
} verify_opts;

static int verify_parse(int argc, char **argv, verify_opts *o)
{
    static const struct option longopts[] = {
        {"evidence", required_argument, NULL, 'e'},
        {"nonce", required_argument, NULL, 'n'},
        {"report", required_argument, NULL, 'r'},
        {"record", required_argument, NULL, 'R'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        ATT_CLI_VERIFIER_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        int rc = att_cli_verifier_opt(&o->v, c, optarg, "attest verify");
        if (rc < 0)
            return CLI_ERROR;
        if (rc > 0)
            continue;
        switch (c) {
        case 'e':
            o->evidence = optarg;
            break;
        case 'n':
            o->nonce = optarg;
            break;
        case 'r':
            o->report = optarg;
            break;
        case 'R':
            o->record = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            verify_usage(stdout);
            return -1;
        default:
            return cli_usage_error("attest verify", "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error("attest verify", "unexpected argument '%s'", argv[optind]);
    if (o->evidence == NULL || o->nonce == NULL)
        return cli_usage_error("attest verify", "--evidence and --nonce are required");
    return 0;
}

static fws_err read_evidence(const char *path, uint8_t **data, size_t *len, fws_errbuf *eb)
{
    /* A little over the cap, so that an oversized document is judged (and refused) as such. */
    if (strcmp(path, "-") == 0)
        return fws_stdin_read(FWS_ATTEST_EVIDENCE_MAX + 1, data, len, eb);
    return fws_file_read(path, FWS_ATTEST_EVIDENCE_MAX + 1, data, len, eb);
}

static fws_err write_json(const char *path, const json_t *j, fws_errbuf *eb)
{
    char *text = NULL;
    size_t len = 0;
    fws_err err = fws_json_pretty(j, &text, &len);
    if (err == FWS_OK)
        err = fws_file_write_atomic(path, text, len, 0644, 1, eb);
    free(text);
    return err;
}

static fws_err write_record(const char *path, const fws_attest_result *res, const char *device,
                            fws_errbuf *eb)
{
    char when[32], *rec = NULL;
    size_t len = 0;
    time_t now = (time_t)res->time;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fws_err err = fws_attest_quarantine_record(res, when, &rec, &len, eb);
    if (err == FWS_ERR_STATE && !res->pass && device != NULL) {
        /* The certificate named nobody: quarantine the device the operator expected. */
        fws_attest_result *named = malloc(sizeof(*named));
        if (named == NULL)
            return FWS_ERR_NOMEM;
        *named = *res;
        snprintf(named->device, sizeof(named->device), "%s", device);
        fws_errbuf_clear(eb);
        err = fws_attest_quarantine_record(named, when, &rec, &len, eb);
        free(named);
    }
    if (err == FWS_OK)
        err = fws_file_write_atomic(path, rec, len, 0644, 1, eb);
    free(rec);
    return err;
}

static json_t *decision_json(const fws_attest_decision *d)
{
    json_t *reasons = json_array();
    for (size_t i = 0; reasons != NULL && i < d->n_reasons; i++)
        json_array_append_new(reasons, json_string(d->reasons[i]));
    return json_pack("{s:s, s:o}", "action", fws_attest_action_name(d->action), "reasons", reasons);
}

static int verify_print(const verify_opts *o, const fws_attest_result *res,
                        const fws_attest_decision *d, json_t *report)
{
    if (o->json) {
        json_object_set_new(report, "decision", decision_json(d));
        return cli_print_json(json_incref(report));
    }
    printf("%s: device %s, assurance %s, reset count %u, restart count %u\n",
           res->pass ? "pass" : "fail", res->device[0] ? res->device : "(unknown)",
           fws_attest_assurance_name(res->assurance), (unsigned)res->clock.reset_count,
           (unsigned)res->clock.restart_count);
    for (size_t i = 0; i < res->n_stages; i++)
        printf("  stage %-12s PCR %-2u %s%s\n", res->stages[i].name, res->stages[i].pcr,
               res->stages[i].matched ? "known-good: " : "not known-good", res->stages[i].source);
    for (size_t i = 0; i < res->n_reasons; i++)
        printf("  %s: %s\n", res->reasons[i].code == FWS_OK ? "note" : "reason",
               res->reasons[i].text);
    printf("decision: %s\n", fws_attest_action_name(d->action));
    for (size_t i = 0; i < d->n_reasons; i++)
        printf("  %s\n", d->reasons[i]);
    return CLI_OK;
}

static int c_verify(int argc, char **argv)
{
    verify_opts o;
    fws_attest_result *res = calloc(1, sizeof(*res));
    fws_attest_decision d;
    uint8_t nonce[FWS_ATTEST_NONCE_MAX], *data = NULL;
    size_t nonce_len = 0, len = 0;
    json_t *report = NULL;
    fws_errbuf eb = {{0}};
    int rc = CLI_ERROR;
    memset(&o, 0, sizeof(o));
    if (res == NULL)
        goto out;
    if ((rc = verify_parse(argc, argv, &o)) != 0) {
        rc = rc < 0 ? CLI_OK : rc;
        goto out;
    }
    if (att_cli_nonce(o.nonce, nonce, &nonce_len) != FWS_OK) {
        rc = cli_usage_error("attest verify", "--nonce: %d to %d bytes in hex",
                             FWS_ATTEST_NONCE_MIN, FWS_ATTEST_NONCE_MAX);
        goto out;
    }
    fws_err err = att_cli_verifier_load(&o.v, &eb);
    if (err != FWS_OK) {
        rc = err == FWS_ERR_USAGE ? cli_usage_error("attest verify", "%s", eb.msg)
                                  : cli_report("attest verify", err, &eb);
        goto out;
    }
    fws_errbuf why = {{0}};
    if ((err = read_evidence(o.evidence, &data, &len, &eb)) != FWS_OK) {
        rc = cli_report("attest verify", err, &eb);
        goto out;
    }
    fws_attest_verify_req q = {NULL,
                               nonce,
                               nonce_len,
                               o.v.policy,
                               o.v.refs,
                               o.v.anchors,
                               o.v.device,
                               o.v.has_last ? &o.v.last : NULL,
                               o.v.reboot_expected,
                               (int64_t)time(NULL)};
    err = fws_attest_judge(data, len, &q, res, &why);
    if (err == FWS_ERR_NOMEM || err == FWS_ERR_ARG) {
        rc = cli_report("attest verify", err, &why);
        goto out;
    }
    fws_attest_decide(o.v.policy, res, -1, res->time, &d);
    if ((err = fws_attest_report_json(res, &report)) != FWS_OK ||
        (o.report != NULL && (err = write_json(o.report, report, &eb)) != FWS_OK) ||
        (o.record != NULL && !res->pass && (res->device[0] || o.v.device != NULL) &&
         (err = write_record(o.record, res, o.v.device, &eb)) != FWS_OK)) {
        rc = cli_report("attest verify", err, &eb);
        goto out;
    }
    rc = verify_print(&o, res, &d, report);
    if (rc == CLI_OK && !res->pass) {
        fprintf(stderr, "fwseal attest verify: %s\n", why.msg);
        rc = CLI_FAILED;
    }
out:
    json_decref(report);
    att_cli_verifier_free(&o.v);
    free(data);
    free(res);
    return rc;
}

int cmd_attest(int argc, char **argv)
{
    static const cli_cmd cmds[] = {
        {"ak-create", "create (or derive again) the TPM attestation key; its CSR",
         cmd_attest_ak_create},
        {"measure", "extend a boot stage's digest into a PCR and the event log",
         cmd_attest_measure},
        {"quote", "answer a nonce with evidence (TPM quote or software key)", cmd_attest_quote},
        {"record", "record many quotes with fresh nonces (for benchmarks)", cmd_attest_record},
        {"verify", "judge evidence against policy, ledger and the device CA", c_verify},
        {"verify-batch", "judge recorded quotes in parallel, print the rate",
         cmd_attest_verify_batch},
        {"trust", "a device's trust score with each factor, and the decision", cmd_attest_trust},
        {"nonce", "print a fresh nonce", c_nonce},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("attest", cmds, argc, argv);
}
