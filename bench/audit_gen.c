/* fwseal-audit-gen: fills a deployment with N devices for bench/audit.sh, at the speed a
 * benchmark needs (provisioning a million devices one by one would take a quarter of an hour):
 * each device gets its own P-256 key and a real certificate issued by the deployment's dev CA,
 * a provision record and an install record in the ledger (through the ledger writer), a row in
 * the PKI inventory (written with the inventory's own schema, which `fwseal provision` created),
 * and in the store a device with its installed firmware and one install report: a DSSE envelope
 * signed with the device key, sequenced at its ledger index.
 *
 *   fwseal-audit-gen DEPLOY N IMAGE_SHA256_HEX
 * The CA and ledger keys are opened with FWSEAL_PASSPHRASE. */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fwseal/crypto.h"
#include "fwseal/dsse.h"
#include "fwseal/ledger.h"
#include "fwseal/store.h"

#define BATCH 4096
#define REC_MAX 1024
#define ENV_MAX 4096

typedef struct dev {
    char id[33], serial[24], cert_serial[33], cert_sha[65], spki_sha[65];
    uint8_t der[1024];
    int der_len;
    char prov[REC_MAX], inst[REC_MAX];
    size_t prov_len, inst_len;
    char env[ENV_MAX];
    size_t env_len;
} dev;

typedef struct gen {
    EVP_PKEY *ca_key;
    X509 *ca;
    const char *image_hex;
    int64_t now;
    char when[32];
    dev *d;
    uint64_t base;
} gen;

static void hex(const uint8_t *in, size_t n, char *out)
{
    fws_hex_encode(in, n, out);
}

static int make_cert(gen *g, dev *d, EVP_PKEY *key)
{
    X509 *x = X509_new();
    uint8_t serial[16], spki_hash[32], cert_hash[32];
    char uri[80];
    unsigned char *p;
    int ok = x != NULL && fws_random(serial, sizeof(serial)) == FWS_OK;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    BIGNUM *bn = ok ? BN_bin2bn(serial, sizeof(serial), NULL) : NULL;
    X509_NAME *name = X509_NAME_new();
    ok = ok && bn != NULL && name != NULL && X509_set_version(x, 2) &&
         BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
         X509_set_issuer_name(x, X509_get_subject_name(g->ca)) &&
         X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_ASC, (const unsigned char *)"hub-v2", -1,
                                    -1, 0) &&
         X509_NAME_add_entry_by_txt(name, "serialNumber", MBSTRING_ASC,
                                    (const unsigned char *)d->serial, -1, -1, 0) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)d->id, -1, -1,
                                    0) &&
         X509_set_subject_name(x, name) &&
         X509_time_adj_ex(X509_getm_notBefore(x), 0, -300, NULL) &&
         X509_time_adj_ex(X509_getm_notAfter(x), 7300, 0, NULL) && X509_set_pubkey(x, key);
    snprintf(uri, sizeof(uri), "URI:urn:fwseal:device:%s", d->id);
    X509_EXTENSION *san = ok ? X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, uri) : NULL;
    ok = ok && san != NULL && X509_add_ext(x, san, -1) && X509_sign(x, g->ca_key, EVP_sha256()) > 0;
    p = d->der;
    ok = ok && i2d_X509(x, NULL) <= (int)sizeof(d->der) && (d->der_len = i2d_X509(x, &p)) > 0;
    if (ok) {
        unsigned char *spki = NULL;
        int sl = i2d_PUBKEY(key, &spki);
        fws_sha256(spki, (size_t)sl, spki_hash);
        OPENSSL_free(spki);
        fws_sha256(d->der, (size_t)d->der_len, cert_hash);
        hex(spki_hash, 32, d->spki_sha);
        hex(cert_hash, 32, d->cert_sha);
        hex(serial, 16, d->cert_serial);
    }
    X509_EXTENSION_free(san);
    X509_NAME_free(name);
    BN_free(bn);
    X509_free(x);
    return ok;
}

static int make_report(gen *g, dev *d, EVP_PKEY *key)
{
    char payload[REC_MAX], pae[REC_MAX + 128], b64p[2 * REC_MAX], b64s[128];
    static const char type[] = "application/vnd.fwseal.report+json";
    uint8_t sig[FWS_SIG_MAX];
    size_t sig_len = sizeof(sig);
    int n = snprintf(payload, sizeof(payload),
                     "{\"device\":\"%s\",\"fromVersion\":\"1.0.0\",\"id\":\"%s-1\",\"image\":"
                     "{\"length\":6000,\"sha256\":\"%s\"},\"product\":\"hub\",\"reason\":\"\","
                     "\"result\":\"success\",\"schema\":1,\"seq\":1,\"slot\":\"B\",\"target\":"
                     "\"hub/1.1.0/fw2.bin\",\"time\":\"%s\",\"toVersion\":\"1.1.0\",\"type\":"
                     "\"install\",\"url\":\"https://updates.example.com/repo/targets/hub/1.1.0/"
                     "fw2.bin\"}",
                     d->id, d->id, g->image_hex, g->when);
    int pl = snprintf(pae, sizeof(pae), "DSSEv1 %zu %s %d ", strlen(type), type, n);
    memcpy(pae + pl, payload, (size_t)n);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c != NULL && EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestSign(c, sig, &sig_len, (unsigned char *)pae, (size_t)(pl + n)) == 1;
    EVP_MD_CTX_free(c);
    if (!ok)
        return 0;
    fws_base64_encode((uint8_t *)payload, (size_t)n, b64p);
    fws_base64_encode(sig, sig_len, b64s);
    d->env_len = (size_t)snprintf(d->env, sizeof(d->env),
                                  "{\"payload\":\"%s\",\"payloadType\":\"%s\",\"signatures\":[{"
                                  "\"keyid\":\"%s\",\"sig\":\"%s\"}]}\n",
                                  b64p, type, d->spki_sha, b64s);
    return d->env_len < sizeof(d->env);
}

static int make_device(gen *g, uint64_t i, dev *d)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    snprintf(d->id, sizeof(d->id), "%016llx%016llx", (unsigned long long)g->base,
             (unsigned long long)i);
    snprintf(d->serial, sizeof(d->serial), "BN-%llu", (unsigned long long)i);
    int ok = key != NULL && make_cert(g, d, key) && make_report(g, d, key);
    EVP_PKEY_free(key);
    d->prov_len = (size_t)snprintf(
        d->prov, REC_MAX,
        "{\"batch\":\"BENCH\",\"certificate\":{\"sha256\":\"%s\"},\"device\":\"%s\","
        "\"environment\":\"dev\",\"model\":\"hub-v2\",\"schema\":1,\"serial\":\"%s\",\"time\":"
        "\"%s\",\"type\":\"provision\"}",
        d->cert_sha, d->id, d->serial, g->when);
    d->inst_len = (size_t)snprintf(
        d->inst, REC_MAX,
        "{\"device\":\"%s\",\"fromVersion\":\"1.0.0\",\"image\":{\"sha256\":\"%s\"},\"product\":"
        "\"hub\",\"result\":\"success\",\"schema\":1,\"time\":\"%s\",\"toVersion\":\"1.1.0\","
        "\"type\":\"install\"}",
        d->id, g->image_hex, g->when);
    return ok;
}

typedef struct slice {
    gen *g;
    uint64_t first;
    size_t lo, hi;
    int ok;
} slice;

static void *make_slice(void *arg)
{
    slice *s = arg;
    s->ok = 1;
    for (size_t k = s->lo; k < s->hi && s->ok; k++)
        s->ok = make_device(s->g, s->first + k, &s->g->d[k]);
    return NULL;
}

typedef struct sinks {
    fws_ledger *ledger;
    sqlite3 *inv;
    sqlite3_stmt *ins_dev, *ins_cert;
    fws_store *store;
} sinks;

static int die(const char *what, const fws_errbuf *eb)
{
    fprintf(stderr, "fwseal-audit-gen: %s: %s\n", what, eb != NULL ? eb->msg : "");
    exit(2);
}

static void inventory_rows(sinks *s, gen *g, const dev *d)
{
    sqlite3_stmt *a = s->ins_dev, *b = s->ins_cert;
    sqlite3_reset(a);
    sqlite3_bind_text(a, 1, d->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(a, 2, d->serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(a, 3, g->now);
    sqlite3_reset(b);
    sqlite3_bind_text(b, 1, d->cert_serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(b, 2, d->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(b, 3, d->cert_sha, -1, SQLITE_STATIC);
    sqlite3_bind_int64(b, 4, g->now - 300);
    sqlite3_bind_int64(b, 5, g->now + 7300LL * 86400);
    sqlite3_bind_blob(b, 6, d->der, d->der_len, SQLITE_STATIC);
    sqlite3_bind_text(b, 7, d->spki_sha, -1, SQLITE_STATIC);
    if (sqlite3_step(a) != SQLITE_DONE || sqlite3_step(b) != SQLITE_DONE)
        die(sqlite3_errmsg(s->inv), NULL);
}

static void store_rows(sinks *s, gen *g, const dev *d, const uint8_t image[32], uint64_t index)
{
    fws_errbuf eb = {{0}};
    fws_store_device sd;
    int64_t rid = 0;
    memset(&sd, 0, sizeof(sd));
    snprintf(sd.id, sizeof(sd.id), "%s", d->id);
    snprintf(sd.environment, sizeof(sd.environment), "dev");
    snprintf(sd.model, sizeof(sd.model), "hub-v2");
    sd.status = FWS_STORE_DEV_ACTIVE;
    sd.attested_at = g->now;
    sd.attest_result = FWS_STORE_ATTEST_PASS;
    sd.created_at = sd.updated_at = g->now;
    if (fws_store_device_put(s->store, &sd, NULL, &eb) != FWS_OK ||
        fws_store_device_set_installed(s->store, sd.id, "1.1.0", image, g->now, &eb) != FWS_OK ||
        fws_store_report_add(s->store, sd.id, FWS_STORE_REPORT_INSTALL, (const uint8_t *)d->env,
                             d->env_len, g->now, &rid, NULL, &eb) != FWS_OK ||
        fws_store_report_sequenced(s->store, rid, (int64_t)index, &eb) != FWS_OK)
        die("store", &eb);
}

static void write_batch(sinks *s, gen *g, size_t n, const uint8_t image[32])
{
    static fws_ledger_entry e[2 * BATCH];
    static uint64_t idx[2 * BATCH];
    fws_errbuf eb = {{0}};
    for (size_t k = 0; k < n; k++) {
        e[k] = (fws_ledger_entry){(const uint8_t *)g->d[k].prov, g->d[k].prov_len};
        e[n + k] = (fws_ledger_entry){(const uint8_t *)g->d[k].inst, g->d[k].inst_len};
    }
    if (fws_ledger_append(s->ledger, e, 2 * n, idx, NULL, &eb) != FWS_OK)
        die("ledger append", &eb);
    if (sqlite3_exec(s->inv, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        fws_store_begin(s->store, &eb) != FWS_OK)
        die("begin", &eb);
    for (size_t k = 0; k < n; k++) {
        inventory_rows(s, g, &g->d[k]);
        store_rows(s, g, &g->d[k], image, idx[n + k]);
    }
    if (sqlite3_exec(s->inv, "COMMIT", NULL, NULL, NULL) != SQLITE_OK ||
        fws_store_commit(s->store, &eb) != FWS_OK)
        die("commit", &eb);
    if (fws_ledger_publish_due(s->ledger, fws_ledger_now_ms()) &&
        fws_ledger_publish(s->ledger, &eb) != FWS_OK)
        die("publish", &eb);
}

static int pass_cb(char *buf, int size, int rw, void *u)
{
    (void)rw;
    int n = (int)strlen(u);
    if (n >= size)
        return 0;
    memcpy(buf, u, (size_t)n);
    return n;
}

static void open_ca(gen *g, const char *deploy, char *pass)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/pki/dev/intermediate.key", deploy);
    FILE *f = fopen(path, "r");
    g->ca_key = f ? PEM_read_PrivateKey(f, NULL, pass_cb, pass) : NULL;
    if (f)
        fclose(f);
    snprintf(path, sizeof(path), "%s/pki/dev/intermediate.crt", deploy);
    f = fopen(path, "r");
    g->ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (g->ca_key == NULL || g->ca == NULL)
        die("the dev CA (run fwseal ca init --env dev first)", NULL);
}

static void open_sinks(sinks *s, const char *deploy, const fws_passphrase *pp, fws_signer *signer)
{
    char path[4200];
    fws_errbuf eb = {{0}};
    fws_ledger_status st;
    fws_key *k = NULL;
    snprintf(path, sizeof(path), "%s/ledger", deploy);
    if (fws_ledger_open(path, NULL, &s->ledger, &eb) != FWS_OK)
        die("ledger", &eb);
    fws_ledger_get_status(s->ledger, &st);
    if (fws_key_load_private(st.key_ref, pp, &k, &eb) != FWS_OK ||
        fws_signer_from_key(k, signer) != FWS_OK ||
        fws_ledger_set_signer(s->ledger, signer, &eb) != FWS_OK)
        die("ledger key", &eb);
    snprintf(path, sizeof(path), "%s/pki/inventory.sqlite", deploy);
    if (sqlite3_open(path, &s->inv) != SQLITE_OK ||
        sqlite3_exec(s->inv, "PRAGMA synchronous=OFF", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->inv,
                           "INSERT INTO devices (id, serial, model, batch, bom_version, station,"
                           " operator, key_origin, hw_checks, env, status, provisioned_at,"
                           " updated_at, reprovisions, reason) VALUES (?1, ?2, 'hub-v2', 'BENCH',"
                           " '', '', 'bench', 'csr', '{}', 1, 1, ?3, ?3, 0, '')",
                           -1, &s->ins_dev, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->inv,
                           "INSERT INTO certs (serial, device_id, sha256, env, kind, status,"
                           " not_before, not_after, revoked_at, reason, der, spki_sha256) VALUES"
                           " (?1, ?2, ?3, 1, 1, 1, ?4, ?5, 0, 0, ?6, ?7)",
                           -1, &s->ins_cert, NULL) != SQLITE_OK)
        die(sqlite3_errmsg(s->inv), NULL);
    snprintf(path, sizeof(path), "%s/fwseal.sqlite", deploy);
    if (fws_store_open(path, &s->store, &eb) != FWS_OK)
        die("store", &eb);
}

int main(int argc, char **argv)
{
    gen g;
    sinks s;
    fws_signer signer;
    fws_passphrase pp;
    fws_errbuf eb = {{0}};
    uint8_t image[32];
    size_t got = 0;
    memset(&g, 0, sizeof(g));
    memset(&s, 0, sizeof(s));
    if (argc != 4 || fws_hex_decode(argv[3], strlen(argv[3]), image, 32, &got) != FWS_OK ||
        got != 32)
        return fprintf(stderr, "usage: fwseal-audit-gen DEPLOY N IMAGE_SHA256_HEX\n"), 2;
    uint64_t total = strtoull(argv[2], NULL, 10);
    if (fws_passphrase_get(NULL, 0, NULL, &pp, &eb) != FWS_OK)
        die("passphrase", &eb);
    g.image_hex = argv[3];
    g.now = (int64_t)time(NULL);
    struct tm tm;
    time_t t = (time_t)g.now;
    gmtime_r(&t, &tm);
    strftime(g.when, sizeof(g.when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (fws_random(&g.base, sizeof(g.base)) != FWS_OK)
        die("random", NULL);
    open_ca(&g, argv[1], pp.text);
    open_sinks(&s, argv[1], &pp, &signer);
    g.d = calloc(BATCH, sizeof(dev));
    for (uint64_t done = 0; done < total;) {
        size_t n = total - done < BATCH ? (size_t)(total - done) : BATCH;
        slice a = {&g, done, 0, n / 2, 0}, b = {&g, done, n / 2, n, 0};
        pthread_t th;
        int threaded = pthread_create(&th, NULL, make_slice, &b) == 0;
        make_slice(&a);
        if (threaded)
            pthread_join(th, NULL);
        else
            make_slice(&b);
        if (!a.ok || !b.ok)
            die("making devices (OpenSSL)", NULL);
        write_batch(&s, &g, n, image);
        done += n;
        fprintf(stderr, "\r%llu / %llu devices", (unsigned long long)done,
                (unsigned long long)total);
    }
    if (fws_ledger_unsigned(s.ledger) && fws_ledger_publish(s.ledger, &eb) != FWS_OK)
        die("publish", &eb);
    fprintf(stderr, "\n");
    fws_ledger_close(s.ledger);
    fws_signer_free(&signer);
    sqlite3_finalize(s.ins_dev);
    sqlite3_finalize(s.ins_cert);
    sqlite3_close(s.inv);
    fws_store_close(s.store);
    EVP_PKEY_free(g.ca_key);
    X509_free(g.ca);
    fws_passphrase_wipe(&pp);
    free(g.d);
    return 0;
}
