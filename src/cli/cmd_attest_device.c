/* fwseal attest ak-create | measure | quote | record: the attester's side, on the device (or on
 * a bench): the TPM attestation key and its certificate request, measured boot, evidence. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cmd_attest.h"
#include "fwseal/json.h"
#include "fwseal/pki.h"
#include "fwseal/util.h"

#define CERT_FILE_MAX (64u * 1024)

typedef struct dev_opts {
    const char *tcti, *key, *passfile, *log, *stage, *file, *digest, *nonce, *pcrs, *device, *cert,
        *out, *public_out, *pub, *csr, *cn, *serial;
    const char *chain[FWS_ATTEST_CHAIN_MAX];
    size_t n_chain;
    long pcr, count;
    unsigned long reset_count, restart_count;
    int software, json;
} dev_opts;

static const struct option dev_longopts[] = {
    {"tcti", required_argument, NULL, 't'},
    {"key", required_argument, NULL, 'k'},
    {"passphrase-file", required_argument, NULL, 'P'},
    {"log", required_argument, NULL, 'l'},
    {"stage", required_argument, NULL, 's'},
    {"file", required_argument, NULL, 'f'},
    {"digest", required_argument, NULL, 'd'},
    {"nonce", required_argument, NULL, 'n'},
    {"pcrs", required_argument, NULL, 'p'},
    {"pcr", required_argument, NULL, 'i'},
    {"device", required_argument, NULL, 'D'},
    {"cert", required_argument, NULL, 'c'},
    {"chain", required_argument, NULL, 'C'},
    {"out", required_argument, NULL, 'o'},
    {"public-out", required_argument, NULL, 'T'},
    {"pub", required_argument, NULL, 'u'},
    {"csr", required_argument, NULL, 'r'},
    {"cn", required_argument, NULL, 'N'},
    {"serial", required_argument, NULL, 'S'},
    {"count", required_argument, NULL, 'x'},
    {"reset-count", required_argument, NULL, 'R'},
    {"restart-count", required_argument, NULL, 'Z'},
    {"software", no_argument, NULL, 'w'},
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int number(const char *what, const char *arg, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    unsigned long v = strtoul(arg, &end, 10);
    if (arg[0] == '\0' || arg[0] == '-' || *end != '\0' || v > max)
        return cli_usage_error(what, "not a number up to %lu: '%s'", max, arg);
    *out = v;
    return 0;
}

static int dev_opt(dev_opts *o, int c, const char *what)
{
    unsigned long v = 0;
    switch (c) {
    case 't':
        o->tcti = optarg;
        break;
    case 'k':
        o->key = optarg;
        break;
    case 'P':
        o->passfile = optarg;
        break;
    case 'l':
        o->log = optarg;
        break;
    case 's':
        o->stage = optarg;
        break;
    case 'f':
        o->file = optarg;
        break;
    case 'd':
        o->digest = optarg;
        break;
    case 'n':
        o->nonce = optarg;
        break;
    case 'p':
        o->pcrs = optarg;
        break;
    case 'D':
        o->device = optarg;
        break;
    case 'c':
        o->cert = optarg;
        break;
    case 'o':
        o->out = optarg;
        break;
    case 'T':
        o->public_out = optarg;
        break;
    case 'u':
        o->pub = optarg;
        break;
    case 'r':
        o->csr = optarg;
        break;
    case 'N':
        o->cn = optarg;
        break;
    case 'S':
        o->serial = optarg;
        break;
    case 'w':
        o->software = 1;
        break;
    case 'j':
        o->json = 1;
        break;
    case 'C':
        if (o->n_chain >= FWS_ATTEST_CHAIN_MAX)
            return cli_usage_error(what, "at most %d --chain certificates", FWS_ATTEST_CHAIN_MAX);
        o->chain[o->n_chain++] = optarg;
        break;
    case 'i':
        if (number(what, optarg, FWS_ATTEST_PCRS - 1, &v) != 0)
            return CLI_ERROR;
        o->pcr = (long)v;
        break;
    case 'x':
        if (number(what, optarg, 1000000, &v) != 0 || v == 0)
            return cli_usage_error(what, "--count: 1..1000000");
        o->count = (long)v;
        break;
    case 'R':
    case 'Z':
        if (number(what, optarg, UINT32_MAX, &v) != 0)
            return CLI_ERROR;
        *(c == 'R' ? &o->reset_count : &o->restart_count) = v;
        break;
    default:
        return cli_usage_error(what, "unknown option");
    }
    return 0;
}

/* Parses options; 1 after --help, a CLI exit code on errors, 0 otherwise. */
static int dev_parse(int argc, char **argv, dev_opts *o, const char *what, void (*usage)(FILE *))
{
    int c;
    memset(o, 0, sizeof(*o));
    o->pcr = -1;
    o->count = 1;
    o->tcti = getenv("FWSEAL_TCTI");
    optind = 0;
    while ((c = getopt_long(argc, argv, "", dev_longopts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 1;
        }
        int rc = dev_opt(o, c, what);
        if (rc != 0)
            return rc;
    }
    if (optind < argc)
        return cli_usage_error(what, "unexpected argument '%s'", argv[optind]);
    return 0;
}

static int finish_parse(int rc)
{
    return rc == 1 ? CLI_OK : rc;
}

/* ---- fwseal attest ak-create -------------------------------------------------------------- */

static void ak_usage(FILE *f)
{
    fprintf(f,
            "usage: fwseal attest ak-create [--tcti CONF] [--public-out AK.tpmt] [--pub AK.pem]\n"
            "                               [--csr AK.csr --cn DEVICE [--serial S]] [--json]\n"
            "\n"
            "Creates the attestation key in the TPM (an ECDSA P-256 restricted signing key,\n"
            "a primary key of the endorsement hierarchy: the same TPM derives the same key\n"
            "again) and prints its TPM name. --public-out writes its TPMT_PUBLIC (for the\n"
            "provision record), --pub its SPKI PEM, --csr a PKCS#10 request signed by the AK\n"
            "(through a TPM2_Hash ticket) that the device CA turns into the AK certificate.\n"
            "CONF is a tpm2-tss TCTI (swtpm:host=127.0.0.1,port=2321; default FWSEAL_TCTI).\n");
}

static fws_err ak_outputs(const dev_opts *o, fws_attest_tpm *t, fws_errbuf *eb)
{
    uint8_t tpmt[FWS_ATTEST_PUB_MAX], *csr = NULL;
    size_t len = 0, csr_len = 0;
    fws_key *pub = NULL;
    fws_signer s;
    fws_err err = fws_attest_tpm_ak_public(t, tpmt, sizeof(tpmt), &len);
    if (err == FWS_OK && o->public_out != NULL)
        err = fws_file_write_atomic(o->public_out, tpmt, len, 0644, 1, eb);
    if (err == FWS_OK && o->pub != NULL && (err = fws_attest_tpm_ak_key(t, &pub)) == FWS_OK)
        err = fws_key_save_public(pub, o->pub, 1, eb);
    if (err == FWS_OK && o->csr != NULL && (err = fws_attest_tpm_signer(t, &s, eb)) == FWS_OK) {
        err = fws_pki_csr_create(&s, o->cn, o->serial, &csr, &csr_len, eb);
        if (err == FWS_OK)
            err = fws_file_write_atomic(o->csr, csr, csr_len, 0644, 1, eb);
        fws_signer_free(&s);
    }
    free(csr);
    fws_key_free(pub);
    return err;
}

int cmd_attest_ak_create(int argc, char **argv)
{
    dev_opts o;
    fws_attest_tpm *t = NULL;
    fws_errbuf eb = {{0}};
    uint8_t name[FWS_ATTEST_NAME_LEN];
    char hex[2 * FWS_ATTEST_NAME_LEN + 1];
    int rc = dev_parse(argc, argv, &o, "attest ak-create", ak_usage);
    if (rc != 0)
        return finish_parse(rc);
    if (o.csr != NULL && o.cn == NULL)
        return cli_usage_error("attest ak-create", "--csr needs --cn (the device ID)");
    fws_err err = fws_attest_tpm_open(o.tcti, &t, &eb);
    if (err == FWS_OK)
        err = ak_outputs(&o, t, &eb);
    if (err != FWS_OK) {
        fws_attest_tpm_close(t);
        return cli_report("attest ak-create", err, &eb);
    }
    fws_attest_tpm_ak_name(t, name);
    fws_hex_encode(name, sizeof(name), hex);
    fws_attest_tpm_close(t);
    if (o.json)
        return cli_print_json(json_pack("{s:s}", "name", hex));
    printf("attestation key name: %s\n", hex);
    return CLI_OK;
}

/* ---- fwseal attest measure ---------------------------------------------------------------- */

static void measure_usage(FILE *f)
{
    fprintf(
        f, "usage: fwseal attest measure --log LOG --pcr N --stage NAME (--file F | --digest HEX)\n"
           "                             [--tcti CONF | --software] [--json]\n"
           "\n"
           "Measured boot: extends the SHA-256 digest of a boot stage (a file, or a digest\n"
           "given in hex) into PCR N of the TPM and appends {pcr, stage, digest} to the event\n"
           "log LOG (created when missing). With --software there is no TPM: only the log is\n"
           "written, and a software quote replays it.\n");
}

static fws_err stage_digest(const dev_opts *o, uint8_t d[FWS_SHA256_LEN], fws_errbuf *eb)
{
    size_t n = 0;
    if (o->file != NULL)
        return fws_hash_file(o->file, UINT64_MAX, d, NULL, NULL, eb);
    if (strlen(o->digest) != 2 * FWS_SHA256_LEN ||
        fws_hex_decode(o->digest, strlen(o->digest), d, FWS_SHA256_LEN, &n) != FWS_OK)
        return fws_errf(eb, FWS_ERR_USAGE, "--digest: 64 hex digits");
    return FWS_OK;
}

int cmd_attest_measure(int argc, char **argv)
{
    dev_opts o;
    fws_attest_log log;
    fws_attest_tpm *t = NULL;
    uint8_t d[FWS_SHA256_LEN];
    fws_errbuf eb = {{0}};
    int rc = dev_parse(argc, argv, &o, "attest measure", measure_usage);
    if (rc != 0)
        return finish_parse(rc);
    if (o.log == NULL || o.pcr < 0 || o.stage == NULL || (o.file == NULL) == (o.digest == NULL))
        return cli_usage_error("attest measure",
                               "--log, --pcr, --stage and one of --file or --digest are required");
    if (!fws_attest_stage_valid(o.stage))
        return cli_usage_error("attest measure", "--stage: 1..32 characters of [a-z0-9._-]");
    fws_err err = stage_digest(&o, d, &eb);
    if (err == FWS_ERR_USAGE)
        return cli_usage_error("attest measure", "%s", eb.msg);
    if (err == FWS_OK)
        err = fws_attest_log_load(o.log, 1, &log, &eb);
    if (err == FWS_OK && o.software)
        err = fws_attest_log_add(&log, (unsigned)o.pcr, o.stage, d);
    else if (err == FWS_OK && (err = fws_attest_tpm_connect(o.tcti, &t, &eb)) == FWS_OK)
        err = fws_attest_tpm_measure(t, &log, (unsigned)o.pcr, o.stage, d, &eb);
    fws_attest_tpm_close(t);
    if (err == FWS_OK)
        err = fws_attest_log_save(&log, o.log, &eb);
    if (err != FWS_OK)
        return cli_report("attest measure", err, &eb);
    char hex[2 * FWS_SHA256_LEN + 1];
    fws_hex_encode(d, sizeof(d), hex);
    if (o.json)
        return cli_print_json(json_pack("{s:i, s:s, s:s, s:i}", "pcr", (json_int_t)o.pcr, "stage",
                                        o.stage, "digest", hex, "events", (json_int_t)log.n));
    printf("PCR %ld <- %s %s\n", o.pcr, o.stage, hex);
    return CLI_OK;
}

/* ---- fwseal attest quote / record --------------------------------------------------------- */

static void quote_usage(FILE *f)
{
    fprintf(f, "usage: fwseal attest quote --log LOG --nonce HEX --device ID --cert AK.crt\n"
               "                           [--chain I.crt]... [--pcrs 8,9,10,11]\n"
               "                           [--tcti CONF | --key KEYREF [--reset-count N]\n"
               "                           [--restart-count N]] [--out E.json]\n"
               "\n"
               "Answers the verifier's nonce with evidence (fwseal-attest-evidence/v1): a TPM2\n"
               "quote of the PCRs over the nonce signed by the attestation key, the PCR values,\n"
               "the event log and the AK certificate. With --key (a P-256 key file or a pkcs11:\n"
               "URI) there is no TPM: the same evidence is signed by that key and marked\n"
               "\"software\" (low assurance); the PCR values are the log's replay and the\n"
               "counters come from --reset-count and --restart-count.\n");
}

static void record_usage(FILE *f)
{
    fprintf(
        f, "usage: fwseal attest record --count N --out RECORDS.jsonl [quote options]\n"
           "\n"
           "Records N quotes, each over a fresh random nonce, one JSON line each:\n"
           "{\"nonce\": HEX, \"evidence\": {...}}. For benchmarks (fwseal attest verify-batch).\n");
}

static fws_err read_cert(const char *path, uint8_t *out, size_t cap, size_t *len, fws_errbuf *eb)
{
    uint8_t *data = NULL, *der = NULL;
    size_t n = 0, der_len = 0;
    fws_err err = fws_file_read(path, CERT_FILE_MAX, &data, &n, eb);
    if (err == FWS_OK)
        err = fws_pki_cert_der(data, n, &der, &der_len, eb);
    if (err == FWS_OK && der_len > cap)
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "%s: certificate over %zu bytes", path, cap);
    if (err == FWS_OK) {
        memcpy(out, der, der_len);
        *len = der_len;
    }
    free(data);
    free(der);
    return err;
}

static int parse_pcrs(const char *list, uint32_t *mask)
{
    char buf[128], *save = NULL;
    *mask = 0;
    if (list == NULL)
        list = "8,9,10,11";
    if (strlen(list) >= sizeof(buf))
        return -1;
    strcpy(buf, list);
    for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        char *end = NULL;
        long v = strtol(t, &end, 10);
        if (*t == '\0' || *end != '\0' || v < 0 || v >= FWS_ATTEST_PCRS)
            return -1;
        *mask |= 1u << v;
    }
    return *mask != 0 ? 0 : -1;
}

typedef struct quoter {
    fws_attest_tpm *tpm;
    fws_signer signer;
    int have_signer;
    fws_attest_log log;
    fws_tpm_clock counters;
    uint32_t mask;
} quoter;

static fws_err quoter_open(quoter *q, const dev_opts *o, fws_attest_evidence *ev, fws_errbuf *eb)
{
    fws_err err = fws_attest_log_load(o->log, 0, &q->log, eb);
    if (err == FWS_OK)
        err = read_cert(o->cert, ev->ak_cert, sizeof(ev->ak_cert), &ev->ak_cert_len, eb);
    for (size_t i = 0; err == FWS_OK && i < o->n_chain; i++)
        err = read_cert(o->chain[i], ev->chain[i], FWS_ATTEST_CERT_MAX, &ev->chain_len[i], eb);
    ev->n_chain = o->n_chain;
    snprintf(ev->device, sizeof(ev->device), "%s", o->device);
    if (err != FWS_OK)
        return err;
    if (o->key != NULL) {
        q->counters.reset_count = (uint32_t)o->reset_count;
        q->counters.restart_count = (uint32_t)o->restart_count;
        q->counters.safe = 1;
        err = cli_load_signer(o->key, o->passfile, &q->signer, eb);
        q->have_signer = err == FWS_OK;
        return err;
    }
    return fws_attest_tpm_open(o->tcti, &q->tpm, eb);
}

static fws_err quoter_quote(quoter *q, const uint8_t *nonce, size_t n, fws_attest_evidence *ev,
                            fws_errbuf *eb)
{
    if (q->have_signer) {
        q->counters.clock = (uint64_t)time(NULL) * 1000;
        return fws_attest_sw_quote(&q->signer, &q->log, &q->counters, nonce, n, q->mask, ev, eb);
    }
    fws_err err = fws_attest_tpm_quote(q->tpm, nonce, n, q->mask, ev, eb);
    if (err == FWS_OK)
        ev->log = q->log;
    return err;
}

static void quoter_close(quoter *q)
{
    fws_attest_tpm_close(q->tpm);
    if (q->have_signer)
        fws_signer_free(&q->signer);
}

static int quote_check(const dev_opts *o, quoter *q, const char *what, int record)
{
    if (o->log == NULL || o->device == NULL || o->cert == NULL ||
        (record ? o->out == NULL : o->nonce == NULL))
        return cli_usage_error(what, record ? "--log, --device, --cert and --out are required"
                                            : "--log, --nonce, --device and --cert are required");
    if (parse_pcrs(o->pcrs, &q->mask) != 0)
        return cli_usage_error(what, "--pcrs: a comma list of PCRs 0..23");
    return 0;
}

/* fws_attest_device_quote, as the agent calls it. */
static fws_err quote_device(const dev_opts *o, uint32_t mask, const uint8_t *nonce, size_t n,
                            char **json, size_t *len, fws_errbuf *eb)
{
    fws_attest_evidence *certs = calloc(1, sizeof(*certs)); /* buffers for the certificates */
    const uint8_t *chain[FWS_ATTEST_CHAIN_MAX];
    fws_tpm_clock counters = {(uint64_t)time(NULL) * 1000, (uint32_t)o->reset_count,
                              (uint32_t)o->restart_count, 1};
    fws_signer signer;
    int have_signer = 0;
    fws_err err = certs == NULL ? FWS_ERR_NOMEM
                                : read_cert(o->cert, certs->ak_cert, sizeof(certs->ak_cert),
                                            &certs->ak_cert_len, eb);
    for (size_t i = 0; err == FWS_OK && i < o->n_chain; i++) {
        err =
            read_cert(o->chain[i], certs->chain[i], FWS_ATTEST_CERT_MAX, &certs->chain_len[i], eb);
        chain[i] = certs->chain[i];
    }
    if (err == FWS_OK && o->key != NULL)
        have_signer = (err = cli_load_signer(o->key, o->passfile, &signer, eb)) == FWS_OK;
    if (err == FWS_OK) {
        fws_attest_device d = {
            o->tcti,        have_signer ? &signer : NULL, &counters, o->log,           o->device,
            certs->ak_cert, certs->ak_cert_len,           chain,     certs->chain_len, o->n_chain};
        err = fws_attest_device_quote(&d, nonce, n, mask, json, len, eb);
    }
    if (have_signer)
        fws_signer_free(&signer);
    free(certs);
    return err;
}

int cmd_attest_quote(int argc, char **argv)
{
    dev_opts o;
    quoter q;
    uint8_t nonce[FWS_ATTEST_NONCE_MAX];
    size_t n = 0, len = 0;
    char *json = NULL;
    fws_errbuf eb = {{0}};
    memset(&q, 0, sizeof(q));
    int rc = dev_parse(argc, argv, &o, "attest quote", quote_usage);
    if (rc == 0 && (rc = quote_check(&o, &q, "attest quote", 0)) == 0 &&
        att_cli_nonce(o.nonce, nonce, &n) != FWS_OK)
        rc = cli_usage_error("attest quote", "--nonce: %d to %d bytes in hex", FWS_ATTEST_NONCE_MIN,
                             FWS_ATTEST_NONCE_MAX);
    if (rc != 0)
        return finish_parse(rc);
    fws_err err = quote_device(&o, q.mask, nonce, n, &json, &len, &eb);
    if (err == FWS_OK && o.out != NULL)
        err = fws_file_write_atomic(o.out, json, len, 0644, 1, &eb);
    else if (err == FWS_OK)
        printf("%s\n", json);
    free(json);
    if (err != FWS_OK)
        return cli_report("attest quote", err, &eb);
    return CLI_OK;
}

static fws_err record_one(quoter *q, fws_attest_evidence *ev, FILE *f, fws_errbuf *eb)
{
    uint8_t nonce[FWS_ATTEST_NONCE_LEN];
    char hex[2 * FWS_ATTEST_NONCE_LEN + 1], *json = NULL;
    size_t len = 0;
    fws_err err = fws_attest_nonce(nonce);
    if (err == FWS_OK)
        err = quoter_quote(q, nonce, sizeof(nonce), ev, eb);
    if (err == FWS_OK)
        err = fws_attest_evidence_encode(ev, &json, &len);
    if (err == FWS_OK) {
        fws_hex_encode(nonce, sizeof(nonce), hex);
        if (fprintf(f, "{\"nonce\":\"%s\",\"evidence\":%s}\n", hex, json) < 0)
            err = fws_errf(eb, FWS_ERR_IO, "cannot write the records");
    }
    free(json);
    return err;
}

int cmd_attest_record(int argc, char **argv)
{
    dev_opts o;
    quoter *q = calloc(1, sizeof(*q));
    fws_attest_evidence *ev = calloc(1, sizeof(*ev));
    fws_errbuf eb = {{0}};
    FILE *f = NULL;
    int rc = q && ev ? dev_parse(argc, argv, &o, "attest record", record_usage) : CLI_ERROR;
    if (rc == 0)
        rc = quote_check(&o, q, "attest record", 1);
    if (rc != 0)
        goto out;
    fws_err err = quoter_open(q, &o, ev, &eb);
    if (err == FWS_OK && (f = fopen(o.out, "w")) == NULL)
        err = fws_errf(&eb, FWS_ERR_IO, "%s: cannot create", o.out);
    for (long i = 0; err == FWS_OK && i < o.count; i++)
        err = record_one(q, ev, f, &eb);
    if (f != NULL && fclose(f) != 0 && err == FWS_OK)
        err = fws_errf(&eb, FWS_ERR_IO, "%s: cannot write", o.out);
    if (err != FWS_OK)
        rc = cli_report("attest record", err, &eb);
    else if (o.json)
        rc = cli_print_json(json_pack("{s:i}", "recorded", (json_int_t)o.count));
    else
        printf("recorded %ld quotes in %s\n", o.count, o.out);
out:
    if (q != NULL)
        quoter_close(q);
    free(q);
    free(ev);
    return finish_parse(rc);
}
