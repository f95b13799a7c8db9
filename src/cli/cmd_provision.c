/* fwseal provision: the factory identity of one device, or of every device in a batch file. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "cli.h"
#include "fwseal/pki.h"
#include "fwseal/util.h"

typedef struct prov_opts {
    const char *dir, *env_name, *out, *passfile, *csr, *pkcs11, *batch_file;
    fws_pki_provision_req r;
    json_t *hw;
    int json, no_ledger, progress;
} prov_opts;

static void usage(FILE *f)
{
    fprintf(
        f, "usage: fwseal provision --dir DEPLOY --env ENV --serial S --model M --batch B\n"
           "                        [--bom-version V] [--station ID] [--operator NAME]\n"
           "                        [--hw CHECK=pass|fail|skip]... [--validity-days N]\n"
           "                        [--csr FILE.csr | --generate-pkcs11 URI] [--reprovision]\n"
           "                        --out BUNDLE_DIR [--passphrase-file F] [--no-ledger] [--json]\n"
           "       fwseal provision --dir DEPLOY --env ENV --batch-file devices.csv --out DIR\n"
           "                        [--reprovision] [--progress] [--no-ledger] [--json]\n"
           "\n"
           "Issues a device's factory identity (valid 20 years unless --validity-days; used only\n"
           "to enroll over EST) from a PKCS#10 request made with the device's own key, after\n"
           "checking the request's proof of possession. Without --csr, a development device\n"
           "(--env dev) gets a new key written into the bundle as device.key. The event is\n"
           "recorded in the deployment's ledger (DEPLOY/ledger) and the inventory; a serial\n"
           "already provisioned is refused unless --reprovision. The bundle holds device.crt,\n"
           "chain.pem (intermediate, root) and the trust anchors the deployment has: root.json,\n"
           "ledger.vkey, server.pin.\n"
           "A batch file is CSV with a header: serial,model,batch,csr and optionally bom_version,\n"
           "station, operator and hw:<check> columns; csr paths are relative to the file. Every\n"
           "row is checked before anything is issued; one bad row stops the whole file.\n"
           "The operator defaults to $USER. Keys and passphrase: FWSEAL_PASSPHRASE or\n"
           "--passphrase-file unlock the CA and ledger keys (and encrypt device.key).\n");
}

static int add_hw(prov_opts *o, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char name[FWS_PKI_FIELD_MAX + 1];
    if (eq == NULL || eq == arg || (size_t)(eq - arg) > FWS_PKI_FIELD_MAX)
        return cli_usage_error("provision", "--hw: CHECK=RESULT, not '%s'", arg);
    snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
    if (o->hw == NULL)
        o->hw = json_object();
    if (o->hw == NULL || json_object_set_new(o->hw, name, json_string(eq + 1)) != 0)
        return cli_usage_error("provision", "--hw: not text: '%s'", arg);
    return CLI_OK;
}

static int parse_opt(prov_opts *o, int c)
{
    switch (c) {
    case 'd':
        o->dir = optarg;
        break;
    case 'e':
        o->env_name = optarg;
        break;
    case 's':
        o->r.serial = optarg;
        break;
    case 'm':
        o->r.model = optarg;
        break;
    case 'b':
        o->r.batch = optarg;
        break;
    case 'v':
        o->r.bom_version = optarg;
        break;
    case 't':
        o->r.station = optarg;
        break;
    case 'u':
        o->r.operator_name = optarg;
        break;
    case 'c':
        o->csr = optarg;
        break;
    case 'k':
        o->pkcs11 = optarg;
        break;
    case 'o':
        o->out = optarg;
        break;
    case 'p':
        o->passfile = optarg;
        break;
    case 'f':
        o->batch_file = optarg;
        break;
    case 'r':
        o->r.reprovision = 1;
        break;
    case 'j':
        o->json = 1;
        break;
    case 'n':
        o->no_ledger = 1;
        break;
    case 'g':
        o->progress = 1;
        break;
    case 'w':
        return add_hw(o, optarg);
    case 'V':
        o->r.validity_days = (unsigned)strtoul(optarg, NULL, 10);
        if (o->r.validity_days == 0)
            return cli_usage_error("provision", "--validity-days: a positive number of days");
        break;
    case 'h':
        usage(stdout);
        return -1;
    default:
        return cli_usage_error("provision", "unknown option");
    }
    return CLI_OK;
}

static int parse(int argc, char **argv, prov_opts *o)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"env", required_argument, NULL, 'e'},
        {"serial", required_argument, NULL, 's'},
        {"model", required_argument, NULL, 'm'},
        {"batch", required_argument, NULL, 'b'},
        {"bom-version", required_argument, NULL, 'v'},
        {"station", required_argument, NULL, 't'},
        {"operator", required_argument, NULL, 'u'},
        {"csr", required_argument, NULL, 'c'},
        {"generate-pkcs11", required_argument, NULL, 'k'},
        {"out", required_argument, NULL, 'o'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"batch-file", required_argument, NULL, 'f'},
        {"reprovision", no_argument, NULL, 'r'},
        {"hw", required_argument, NULL, 'w'},
        {"validity-days", required_argument, NULL, 'V'},
        {"json", no_argument, NULL, 'j'},
        {"no-ledger", no_argument, NULL, 'n'},
        {"progress", no_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if ((rc = parse_opt(o, c)) != CLI_OK)
            return rc;
    }
    if (optind != argc)
        return cli_usage_error("provision", "unexpected argument '%s'", argv[optind]);
    if (o->dir == NULL || o->env_name == NULL || o->out == NULL)
        return cli_usage_error("provision", "--dir, --env and --out are required");
    if (fws_pki_env_parse(o->env_name, &o->r.env) != FWS_OK)
        return cli_usage_error("provision", "--env: dev, staging or prod, not '%s'", o->env_name);
    if (o->csr != NULL && o->pkcs11 != NULL)
        return cli_usage_error("provision", "--csr and --generate-pkcs11 exclude each other");
    if (o->batch_file != NULL && (o->r.serial || o->csr || o->pkcs11 || o->hw))
        return cli_usage_error("provision", "--batch-file takes the devices from the file");
    if (o->batch_file == NULL && (!o->r.serial || !o->r.model || !o->r.batch))
        return cli_usage_error("provision", "--serial, --model and --batch are required");
    if (o->r.operator_name == NULL)
        o->r.operator_name = getenv("USER");
    o->r.hw_checks = o->hw;
    return CLI_OK;
}

/* Opens the deployment, loads the issuer(s) and the ledger. */
static fws_err open_pki(const prov_opts *o, fws_pki **out, fws_passphrase *pp, fws_errbuf *eb)
{
    fws_pki *p = NULL;
    fws_err err = fws_pki_open(o->dir, &p, eb);
    if (err == FWS_OK)
        err = fws_passphrase_get(o->passfile, 0, "passphrase for the CA keys: ", pp, eb);
    if (err == FWS_OK)
        err = fws_pki_load_issuer(p, o->r.env, pp, eb);
    /* A reprovision may move a device from another environment: its issuer revokes the old
     * certificates. Environments whose key does not open are simply not loaded. */
    for (int e = FWS_ENV_DEV; err == FWS_OK && o->r.reprovision && e <= FWS_ENV_PROD; e++) {
        if (fws_pki_has_env(p, (fws_pki_env)e))
            (void)!fws_pki_load_issuer(p, (fws_pki_env)e, pp, NULL);
    }
    if (err == FWS_OK && !o->no_ledger)
        err = fws_pki_set_ledger(p, NULL, 1, pp, eb);
    if (err != FWS_OK) {
        fws_pki_close(p);
        return err;
    }
    *out = p;
    return FWS_OK;
}

static void print_bundle(const prov_opts *o, const fws_pki_issued *iss,
                         const fws_pki_bundle_report *rep, const char *dir)
{
    printf("%s device %s serial %s\n  certificate  %s (sha256 %s)\n  bundle       %s\n",
           iss->reprovisioned ? "reprovisioned" : "provisioned", iss->device_id,
           o->r.serial ? o->r.serial : "", iss->cert_serial, iss->cert_sha256, dir);
    if (iss->in_ledger)
        printf("  ledger       index %llu\n", (unsigned long long)iss->ledger_index);
    if (!rep->root_json || !rep->ledger_vkey || !rep->server_pin || !rep->assignment)
        printf("  missing trust anchors:%s%s%s%s\n", rep->root_json ? "" : " root.json",
               rep->ledger_vkey ? "" : " ledger.vkey", rep->server_pin ? "" : " server.pin",
               rep->assignment ? "" : " assignment.pub");
}

static json_t *issued_json(const fws_pki_provision_req *r, const fws_pki_issued *iss,
                           const fws_pki_bundle_report *rep, const char *dir)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:s, s:{s:b, s:b, s:b, s:b, s:b}}",
                          "device", iss->device_id, "serial", r->serial, "model", r->model,
                          "certificate_serial", iss->cert_serial, "certificate_sha256",
                          iss->cert_sha256, "not_after", (json_int_t)iss->not_after, "reprovision",
                          iss->reprovisioned, "bundle", dir, "anchors", "root.json", rep->root_json,
                          "ledger.vkey", rep->ledger_vkey, "server.pin", rep->server_pin,
                          "assignment.pub", rep->assignment, "device.key", rep->device_key);
    if (j != NULL && iss->in_ledger)
        json_object_set_new(j, "ledger_index", json_integer((json_int_t)iss->ledger_index));
    return j;
}

/* A signer over a key the caller keeps (the bundle saves it afterwards). */
static fws_err borrowed_sign(void *impl, const uint8_t *msg, size_t len, uint8_t *sig,
                             size_t sig_cap, size_t *sig_len)
{
    return fws_key_sign(impl, msg, len, sig, sig_cap, sig_len);
}

static fws_err borrowed_public(void *impl, fws_key **pub)
{
    return fws_key_public_dup(impl, pub);
}

/* A development device: a new key made on the bench into a file, and its CSR. */
static fws_err dev_key_csr(const prov_opts *o, fws_key **key, uint8_t **csr, size_t *len,
                           fws_errbuf *eb)
{
    fws_key *k = NULL;
    fws_signer s;
    fws_err err = fws_key_generate(FWS_KEY_P256, &k);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot generate the device key");
    memset(&s, 0, sizeof(s));
    s.type = FWS_KEY_P256;
    fws_key_id(k, s.keyid);
    s.sign = borrowed_sign;
    s.public_key = borrowed_public;
    s.impl = k;
    err = fws_pki_csr_create(&s, o->r.serial, o->r.serial, csr, len, eb);
    if (err != FWS_OK) {
        fws_key_free(k);
        return err;
    }
    *key = k;
    return FWS_OK;
}

/* A key generated on the bench into a PKCS#11 token, and a CSR signed inside the token. */
static fws_err token_key_csr(const prov_opts *o, uint8_t **csr, size_t *len, fws_errbuf *eb)
{
    fws_signer s;
    fws_err err = fws_pki_pkcs11_signer(o->pkcs11, 1, &s, eb);
    if (err != FWS_OK)
        return err;
    err = fws_pki_csr_create(&s, o->r.serial, o->r.serial, csr, len, eb);
    fws_signer_free(&s);
    return err;
}

static fws_err one_device(prov_opts *o, fws_pki *p, const fws_passphrase *pp, fws_errbuf *eb)
{
    fws_key *dev_key = NULL;
    uint8_t *csr = NULL;
    size_t csr_len = 0;
    fws_pki_issued *iss = malloc(sizeof(*iss));
    fws_pki_bundle_report rep;
    fws_err err = iss ? FWS_OK : FWS_ERR_NOMEM;
    if (err == FWS_OK && o->pkcs11 != NULL) {
        o->r.key_origin = "pkcs11";
        err = token_key_csr(o, &csr, &csr_len, eb);
    } else if (err == FWS_OK && o->csr != NULL) {
        err = fws_file_read(o->csr, FWS_PKI_CSR_MAX, &csr, &csr_len, eb);
        o->r.key_origin = "csr";
    } else if (err == FWS_OK) {
        o->r.key_origin = "file";
        if (o->r.env != FWS_ENV_DEV)
            err = fws_errf(eb, FWS_ERR_USAGE,
                           "--csr or --generate-pkcs11 is needed: keys generated into files are"
                           " for development devices only");
        if (err == FWS_OK)
            err = dev_key_csr(o, &dev_key, &csr, &csr_len, eb);
    }
    o->r.unverified_csr = csr;
    o->r.csr_len = csr_len;
    if (err == FWS_OK)
        err = fws_pki_provision(p, &o->r, iss, eb);
    if (err == FWS_OK)
        err = fws_pki_write_bundle(p, o->r.env, iss, dev_key, pp, o->out, 1, &rep, eb);
    if (err == FWS_OK) {
        if (o->json)
            cli_print_json(issued_json(&o->r, iss, &rep, o->out));
        else
            print_bundle(o, iss, &rep, o->out);
    }
    fws_key_free(dev_key);
    free(csr);
    free(iss);
    return err;
}

static void progress_bar(void *ctx, size_t done, size_t total)
{
    (void)ctx;
    int width = 40, filled = (int)(total ? done * (size_t)width / total : 0);
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu %3d%%", filled,
            "========================================", width - filled, "", done, total,
            (int)(total ? done * 100 / total : 100));
    if (done == total)
        fputc('\n', stderr);
}

static fws_err batch_bundles(const prov_opts *o, fws_pki *p, const fws_pki_provision_req *reqs,
                             const fws_pki_issued *iss, size_t n, json_t *list, fws_errbuf *eb)
{
    char dir[4096];
    fws_pki_bundle_report rep;
    fws_err err = fws_mkdirs(o->out, 0755, eb);
    for (size_t i = 0; i < n && err == FWS_OK; i++) {
        if (snprintf(dir, sizeof(dir), "%s/%s", o->out, reqs[i].serial) >= (int)sizeof(dir))
            return fws_errf(eb, FWS_ERR_TOO_BIG, "--out: path too long");
        err = fws_pki_write_bundle(p, o->r.env, &iss[i], NULL, NULL, dir, 0, &rep, eb);
        if (err == FWS_OK && list != NULL)
            json_array_append_new(list, issued_json(&reqs[i], &iss[i], &rep, dir));
    }
    if (err == FWS_OK)
        err = fws_pki_sync_dir(o->out, eb);
    return err;
}

static fws_err batch(prov_opts *o, fws_pki *p, fws_errbuf *eb)
{
    fws_pki_batch *b = NULL;
    fws_pki_issued *iss = NULL;
    json_t *list = o->json ? json_array() : NULL;
    int show = o->progress || (!o->json && isatty(2));
    fws_err err = fws_pki_batch_load(o->batch_file, o->r.env, o->r.reprovision, &b, eb);
    size_t n = err == FWS_OK ? fws_pki_batch_count(b) : 0;
    if (err == FWS_OK && (iss = calloc(n, sizeof(*iss))) == NULL)
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = fws_pki_provision_batch(p, fws_pki_batch_reqs(b), fws_pki_batch_rows(b), n, iss,
                                      show ? progress_bar : NULL, NULL, eb);
    if (err == FWS_OK)
        err = batch_bundles(o, p, fws_pki_batch_reqs(b), iss, n, list, eb);
    if (err == FWS_OK && o->json)
        cli_print_json(json_pack("{s:I, s:o}", "provisioned", (json_int_t)n, "devices", list));
    else if (err == FWS_OK)
        printf("provisioned %zu devices from %s into %s\n", n, o->batch_file, o->out);
    if (err != FWS_OK || !o->json)
        json_decref(list);
    fws_pki_batch_free(b);
    free(iss);
    return err;
}

int cmd_provision(int argc, char **argv)
{
    prov_opts o;
    fws_errbuf eb = {{0}};
    fws_passphrase pp;
    fws_pki *p = NULL;
    memset(&o, 0, sizeof(o));
    memset(&pp, 0, sizeof(pp));
    int rc = parse(argc, argv, &o);
    if (rc != CLI_OK) {
        json_decref(o.hw);
        return rc < 0 ? CLI_OK : rc;
    }
    fws_err err = open_pki(&o, &p, &pp, &eb);
    if (err == FWS_OK)
        err = o.batch_file ? batch(&o, p, &eb) : one_device(&o, p, &pp, &eb);
    fws_pki_close(p);
    fws_passphrase_wipe(&pp);
    json_decref(o.hw);
    return err == FWS_OK ? CLI_OK : cli_report("provision", err, &eb);
}
