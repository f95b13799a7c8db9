/* fwseal est: the device side of EST enrollment and renewal (RFC 7030). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <openssl/pem.h>
#include "cli.h"
#include "fwseal/pki.h"
#include "fwseal/util.h"

typedef struct est_opts {
    fws_est_client c;
    const char *out, *passfile, *pin_file;
    char pin[FWS_PKI_PIN_LEN + 8];
    int force, json;
} est_opts;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fwseal est cacerts  --server URL [--label ENV] (--pin P | --pin-file F |\n"
            "                           --cacert F) --out DIR [--json]\n"
            "       fwseal est enroll   --server URL --cert C --key K (--pin P | --pin-file F |\n"
            "                           --cacert F) --out DIR [--label ENV] [--json]\n"
            "       fwseal est reenroll --server URL --cert C --key K (...) --out DIR [--force]\n"
            "\n"
            "enroll authenticates with the factory identity (C, K: the bundle's device.crt and\n"
            "the device key) and asks for an operational certificate for a new key; reenroll\n"
            "authenticates with the current operational certificate and renews it, once two\n"
            "thirds of its lifetime have passed (--force: now). Both write DIR/operational.key\n"
            "(encrypted with the passphrase) and DIR/operational.crt. The server is pinned by its\n"
            "public key (--pin sha256//BASE64, or the bundle's server.pin) or verified with\n"
            "--cacert. cacerts writes DIR/cacerts.pem.\n");
}

static int parse(const char *what, int argc, char **argv, est_opts *o)
{
    static const struct option longopts[] = {
        {"server", required_argument, NULL, 's'},
        {"label", required_argument, NULL, 'l'},
        {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},
        {"pin", required_argument, NULL, 'P'},
        {"pin-file", required_argument, NULL, 'F'},
        {"cacert", required_argument, NULL, 'a'},
        {"out", required_argument, NULL, 'o'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"force", no_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof(*o));
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o->c.server = optarg;
            break;
        case 'l':
            o->c.label = optarg;
            break;
        case 'c':
            o->c.cert = optarg;
            break;
        case 'k':
            o->c.key = optarg;
            break;
        case 'P':
            o->c.pin = optarg;
            break;
        case 'F':
            o->pin_file = optarg;
            break;
        case 'a':
            o->c.ca_file = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'p':
            o->passfile = optarg;
            break;
        case 'f':
            o->force = 1;
            break;
        case 'j':
            o->json = 1;
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
    if (o->c.server == NULL || o->out == NULL)
        return cli_usage_error(what, "--server and --out are required");
    if (o->c.pin == NULL && o->pin_file == NULL && o->c.ca_file == NULL)
        return cli_usage_error(what, "the server must be pinned (--pin, --pin-file) or verified"
                                     " (--cacert)");
    return CLI_OK;
}

static fws_err read_pin(est_opts *o, fws_errbuf *eb)
{
    uint8_t *text = NULL;
    size_t len = 0;
    if (o->pin_file == NULL)
        return FWS_OK;
    fws_err err = fws_file_read(o->pin_file, 256, &text, &len, eb);
    if (err != FWS_OK)
        return err;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    if (len < 9 || len >= sizeof(o->pin) || memcmp(text, "sha256//", 8) != 0)
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: not a pin (sha256//BASE64)", o->pin_file);
    else
        snprintf(o->pin, sizeof(o->pin), "%.*s", (int)len, (const char *)text);
    free(text);
    o->c.pin = o->pin;
    return err;
}

static fws_err write_certs(const char *path, uint8_t **certs, const size_t *lens, size_t n,
                           fws_errbuf *eb)
{
    BIO *mem = BIO_new(BIO_s_mem());
    fws_err err = mem ? FWS_OK : FWS_ERR_NOMEM;
    for (size_t i = 0; err == FWS_OK && i < n; i++) {
        const unsigned char *p = certs[i];
        X509 *x = d2i_X509(NULL, &p, (long)lens[i]);
        if (x == NULL || PEM_write_bio_X509(mem, x) != 1)
            err = fws_errf(eb, FWS_ERR_FORMAT, "the server sent a malformed certificate");
        X509_free(x);
    }
    if (err == FWS_OK) {
        char *data = NULL;
        long len = BIO_get_mem_data(mem, &data);
        err = fws_file_write_atomic(path, data, (size_t)len, 0644, 1, eb);
    }
    BIO_free(mem);
    return err;
}

/* Renewal is due at two thirds of the current certificate's lifetime. */
static fws_err renewal_due(const char *cert, int64_t *due, fws_errbuf *eb)
{
    uint8_t *text = NULL, *der = NULL;
    size_t len = 0, der_len = 0;
    int64_t nb = 0, na = 0;
    fws_err err = fws_file_read(cert, FWS_PKI_CERT_MAX * 4, &text, &len, eb);
    if (err == FWS_OK)
        err = fws_pki_cert_der(text, len, &der, &der_len, eb);
    if (err == FWS_OK)
        err = fws_pki_cert_validity(der, der_len, &nb, &na);
    if (err == FWS_OK)
        *due = fws_est_renew_at(nb, na);
    free(text);
    free(der);
    return err;
}

static fws_err borrowed_sign(void *impl, const uint8_t *msg, size_t len, uint8_t *sig,
                             size_t sig_cap, size_t *sig_len)
{
    return fws_key_sign(impl, msg, len, sig, sig_cap, sig_len);
}

static fws_err borrowed_public(void *impl, fws_key **pub)
{
    return fws_key_public_dup(impl, pub);
}

/* A new operational key and its CSR. */
static fws_err new_key_csr(fws_key **key, uint8_t **csr, size_t *len, fws_errbuf *eb)
{
    fws_key *k = NULL;
    fws_signer s;
    fws_err err = fws_key_generate(FWS_KEY_P256, &k);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot generate a key");
    memset(&s, 0, sizeof(s));
    s.type = FWS_KEY_P256;
    fws_key_id(k, s.keyid);
    s.sign = borrowed_sign;
    s.public_key = borrowed_public;
    s.impl = k;
    err = fws_pki_csr_create(&s, "device", NULL, csr, len, eb);
    if (err != FWS_OK) {
        fws_key_free(k);
        return err;
    }
    *key = k;
    return FWS_OK;
}

static int report(const est_opts *o, const char *what, const char *file, int64_t renew)
{
    char when[32] = "";
    struct tm tm;
    time_t t = (time_t)renew;
    if (renew != 0 && gmtime_r(&t, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s}", "action", what, "file", file);
        if (renew != 0)
            json_object_set_new(j, "renew_at", json_string(when));
        return cli_print_json(j);
    }
    printf("%s: wrote %s%s%s\n", what, file, renew ? ", renew at " : "", when);
    return CLI_OK;
}

static int enroll(const char *what, fws_est_op op, int argc, char **argv)
{
    est_opts o;
    fws_errbuf eb = {{0}};
    fws_passphrase pp;
    fws_key *key = NULL;
    uint8_t *csr = NULL, *certs[4] = {NULL};
    size_t csr_len = 0, lens[4], n = 0;
    char path[4096], crt[4096];
    int64_t due = 0, nb = 0, na = 0;
    memset(&pp, 0, sizeof(pp));
    int rc = parse(what, argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (o.c.cert == NULL || o.c.key == NULL)
        return cli_usage_error(what, "--cert and --key are required");
    fws_err err = read_pin(&o, &eb);
    if (err == FWS_OK && op == FWS_EST_SIMPLEREENROLL && !o.force) {
        err = renewal_due(o.c.cert, &due, &eb);
        if (err == FWS_OK && (int64_t)time(NULL) < due) {
            rc = report(&o, "not due", o.c.cert, due);
            goto out;
        }
    }
    if (err == FWS_OK)
        err = fws_passphrase_get(o.passfile, 0, "passphrase for the device keys: ", &pp, &eb);
    o.c.pp = &pp;
    if (err == FWS_OK)
        err = new_key_csr(&key, &csr, &csr_len, &eb);
    if (err == FWS_OK)
        err = fws_est_request(&o.c, op, csr, csr_len, certs, lens, 4, &n, &eb);
    if (err == FWS_OK && n != 1)
        err = fws_errf(&eb, FWS_ERR_FORMAT, "the server sent %zu certificates, not 1", n);
    if (err == FWS_OK)
        err = fws_mkdirs(o.out, 0700, &eb);
    if (err == FWS_OK &&
        (snprintf(path, sizeof(path), "%s/operational.key", o.out) >= (int)sizeof(path) ||
         snprintf(crt, sizeof(crt), "%s/operational.crt", o.out) >= (int)sizeof(crt)))
        err = fws_errf(&eb, FWS_ERR_TOO_BIG, "--out: path too long");
    if (err == FWS_OK)
        err = fws_key_save_private(key, path, &pp, 1, &eb);
    if (err == FWS_OK)
        err = write_certs(crt, certs, lens, 1, &eb);
    if (err == FWS_OK && fws_pki_cert_validity(certs[0], lens[0], &nb, &na) == FWS_OK)
        due = fws_est_renew_at(nb, na);
    rc = err == FWS_OK ? report(&o, what, crt, due) : cli_report(what, err, &eb);
out:
    for (size_t i = 0; i < n; i++)
        free(certs[i]);
    fws_key_free(key);
    free(csr);
    fws_passphrase_wipe(&pp);
    return rc;
}

static int c_enroll(int argc, char **argv)
{
    return enroll("est enroll", FWS_EST_SIMPLEENROLL, argc, argv);
}

static int c_reenroll(int argc, char **argv)
{
    return enroll("est reenroll", FWS_EST_SIMPLEREENROLL, argc, argv);
}

static int c_cacerts(int argc, char **argv)
{
    est_opts o;
    fws_errbuf eb = {{0}};
    uint8_t *certs[4] = {NULL};
    size_t lens[4], n = 0;
    char path[4096];
    int rc = parse("est cacerts", argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    o.c.cert = o.c.key = NULL;
    fws_err err = read_pin(&o, &eb);
    if (err == FWS_OK)
        err = fws_est_request(&o.c, FWS_EST_CACERTS, NULL, 0, certs, lens, 4, &n, &eb);
    if (err == FWS_OK)
        err = fws_mkdirs(o.out, 0755, &eb);
    if (err == FWS_OK && snprintf(path, sizeof(path), "%s/cacerts.pem", o.out) >= (int)sizeof(path))
        err = fws_errf(&eb, FWS_ERR_TOO_BIG, "--out: path too long");
    if (err == FWS_OK)
        err = write_certs(path, certs, lens, n, &eb);
    for (size_t i = 0; i < n; i++)
        free(certs[i]);
    return err == FWS_OK ? report(&o, "est cacerts", path, 0) : cli_report("est cacerts", err, &eb);
}

int cmd_est(int argc, char **argv)
{
    static const cli_cmd cmds[] = {
        {"cacerts", "fetch the environment's CA certificates", c_cacerts},
        {"enroll", "get an operational certificate with the factory identity", c_enroll},
        {"reenroll", "renew the operational certificate (at two thirds of its life)", c_reenroll},
        {NULL, NULL, NULL},
    };
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return CLI_OK;
    }
    return cli_dispatch("est", cmds, argc, argv);
}
