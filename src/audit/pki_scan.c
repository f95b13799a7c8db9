/* The PKI phase: each environment's CA chain and CRLs, then every certificate of the inventory:
 * expiry, revocations missing from the CRL, and the tie between a device's certificate and its
 * provision record in the ledger. The device public keys are kept for the fleet phase.
 *
 * pki.h has no call that lists certificates with their DER, so the inventory's certs table is
 * read here, read-only, after checking its schema version (docs/AUDIT.md). */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "audit/internal.h"

#define INVENTORY_VERSION 1
#define CERT_DER_MAX 4096
#define CRL_SERIALS_MAX 1000000

typedef struct env_ca {
    char name[16];
    char **revoked; /* normalised serials listed by the CRL */
    size_t n_revoked;
    int has_crl;
} env_ca;

static void norm_serial(const char *hex, char *out, size_t cap)
{
    while (*hex == '0' && hex[1] != '\0')
        hex++;
    size_t i = 0;
    for (; hex[i] != '\0' && i + 1 < cap; i++)
        out[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] - 'A' + 'a' : hex[i]);
    out[i] = '\0';
}

static X509 *load_cert(const char *dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

static int64_t asn1_time(const ASN1_TIME *t)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

static void check_ca_cert(au_ctx *c, const char *env, const char *what, X509 *x)
{
    char subject[64];
    int64_t end = asn1_time(X509_get0_notAfter(x)), now = c->o->now;
    snprintf(subject, sizeof(subject), "%s %s CA", env, what);
    if (end <= now)
        au_flag(c->r, FWS_AUDIT_RED, "ca-expired", subject, "expired at %lld", (long long)end);
    else if (end - now < (int64_t)c->r->expiry_days * 86400)
        au_flag(c->r, FWS_AUDIT_WARN, "ca-expiring", subject, "expires in %lld days",
                (long long)((end - now) / 86400));
}

static void read_crl(au_ctx *c, env_ca *e, const char *dir, X509 *inter)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/crl.pem", dir);
    FILE *f = fopen(path, "r");
    X509_CRL *crl = f != NULL ? PEM_read_X509_CRL(f, NULL, NULL, NULL) : NULL;
    if (f != NULL)
        fclose(f);
    if (crl == NULL) {
        au_flag(c->r, FWS_AUDIT_RED, "crl-missing", e->name, "%s: no readable CRL", path);
        return;
    }
    c->r->crls++;
    e->has_crl = 1;
    if (X509_CRL_verify(crl, X509_get0_pubkey(inter)) != 1)
        au_flag(c->r, FWS_AUDIT_RED, "crl-signature", e->name,
                "the CRL is not signed by the issuing CA");
    int64_t next = asn1_time(X509_CRL_get0_nextUpdate(crl));
    if (next != 0 && next < c->o->now)
        au_flag(c->r, FWS_AUDIT_WARN, "crl-stale", e->name,
                "the CRL's next update (%lld) has passed: run fwseal ca crl", (long long)next);
    STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
    int n = rev != NULL ? sk_X509_REVOKED_num(rev) : 0;
    if (n > 0 && n <= CRL_SERIALS_MAX)
        e->revoked = calloc((size_t)n, sizeof(char *));
    for (int i = 0; e->revoked != NULL && i < n; i++) {
        BIGNUM *bn =
            ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rev, i)), NULL);
        char *hex = bn != NULL ? BN_bn2hex(bn) : NULL, norm[80];
        if (hex != NULL) {
            norm_serial(hex, norm, sizeof(norm));
            e->revoked[e->n_revoked++] = strdup(norm);
        }
        OPENSSL_free(hex);
        BN_free(bn);
    }
    X509_CRL_free(crl);
}

static void check_env(au_ctx *c, env_ca *e)
{
    char dir[4100];
    snprintf(dir, sizeof(dir), "%s/pki/%s", c->o->deploy, e->name);
    X509 *root = load_cert(dir, "root.crt"), *inter = load_cert(dir, "intermediate.crt");
    if (root == NULL && inter == NULL)
        goto out;
    if (root == NULL || inter == NULL) {
        au_flag(c->r, FWS_AUDIT_RED, "ca-chain", e->name, "%s: root or intermediate unreadable",
                dir);
        goto out;
    }
    if (X509_verify(root, X509_get0_pubkey(root)) != 1 ||
        X509_verify(inter, X509_get0_pubkey(root)) != 1)
        au_flag(c->r, FWS_AUDIT_RED, "ca-chain", e->name,
                "the issuing CA does not chain to the environment's root");
    check_ca_cert(c, e->name, "root", root);
    check_ca_cert(c, e->name, "issuing", inter);
    read_crl(c, e, dir, inter);
out:
    X509_free(root);
    X509_free(inter);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int crl_lists(const env_ca *e, const char *serial)
{
    char norm[80];
    const char *key = norm;
    norm_serial(serial, norm, sizeof(norm));
    return e->revoked != NULL &&
           bsearch(&key, e->revoked, e->n_revoked, sizeof(char *), cmp_str) != NULL;
}

static int cmp_cert(const void *a, const void *b)
{
    const au_cert *x = a, *y = b;
    int c = memcmp(x->key, y->key, AU_KEY_LEN);
    if (c != 0)
        return c;
    return x->not_before > y->not_before ? -1 : x->not_before < y->not_before;
}

static void judge_cert(au_ctx *c, const au_cert *k, const char *device, env_ca *envs)
{
    int64_t left = k->not_after - c->o->now;
    if (k->status != 3 && k->status != 2) {
        if (left <= 0)
            au_flag(c->r, FWS_AUDIT_WARN, "cert-expired", device,
                    "certificate %s expired %lld days ago", k->serial, (long long)(-left / 86400));
        else if (left < (int64_t)c->r->expiry_days * 86400)
            au_flag(c->r, FWS_AUDIT_WARN, "cert-expiring", device,
                    "certificate %s expires in %lld days", k->serial, (long long)(left / 86400));
        if (left > 0) {
            int64_t months = left / (30 * 86400);
            c->r->expiry_hist[months > 12 ? 12 : months]++;
        }
    }
    env_ca *e = k->env >= 1 && k->env <= 3 ? &envs[k->env - 1] : NULL;
    if (k->status == 3 && left > 0 && e != NULL && e->has_crl && !crl_lists(e, k->serial))
        au_flag(c->r, FWS_AUDIT_RED, "crl-missing-revocation", device,
                "revoked certificate %s is not on the %s CRL", k->serial, e->name);
    if (k->pub_type == 0)
        au_flag(c->r, FWS_AUDIT_WARN, "cert-key", device, "certificate %s: public key not readable",
                k->serial);
}

static fws_err add_cert(au_ctx *c, sqlite3_stmt *st, env_ca *envs)
{
    au_inventory *inv = &c->inv;
    const char *dev = (const char *)sqlite3_column_text(st, 0);
    const char *serial = (const char *)sqlite3_column_text(st, 1);
    const char *sha = (const char *)sqlite3_column_text(st, 2);
    const uint8_t *der = sqlite3_column_blob(st, 9);
    int der_len = sqlite3_column_bytes(st, 9);
    const uint8_t *spki;
    size_t spki_len;
    if (dev == NULL || serial == NULL || sha == NULL)
        return FWS_ERR_SCHEMA;
    if (inv->n == inv->cap) {
        size_t cap = inv->cap ? inv->cap * 2 : 1024;
        au_cert *n = realloc(inv->certs, cap * sizeof(*n));
        if (n == NULL)
            return FWS_ERR_NOMEM;
        inv->certs = n;
        inv->cap = cap;
    }
    au_cert *k = &inv->certs[inv->n];
    memset(k, 0, sizeof(*k));
    au_device_key(dev, k->key);
    snprintf(k->serial, sizeof(k->serial), "%s", serial);
    if (!au_hex32(sha, strlen(sha), k->sha256))
        memset(k->sha256, 0, 32);
    k->env = sqlite3_column_int(st, 3);
    k->kind = sqlite3_column_int(st, 4);
    k->status = sqlite3_column_int(st, 5);
    k->not_before = sqlite3_column_int64(st, 6);
    k->not_after = sqlite3_column_int64(st, 7);
    k->revoked_at = sqlite3_column_int64(st, 8);
    if (der != NULL && der_len > 0 && der_len <= CERT_DER_MAX &&
        au_cert_spki(der, (size_t)der_len, &spki, &spki_len) == FWS_OK) {
        fws_sha256(spki, spki_len, k->spki_sha256);
        (void)au_spki_raw(spki, spki_len, k->pub, &k->pub_len, &k->pub_type);
    }
    judge_cert(c, k, dev, envs);
    inv->n++;
    return FWS_OK;
}

static fws_err read_inventory(au_ctx *c, env_ca *envs, fws_errbuf *eb)
{
    char path[4200];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    fws_err err = FWS_OK;
    snprintf(path, sizeof(path), "%s/pki/inventory.sqlite", c->o->deploy);
    if (access(path, F_OK) != 0)
        return FWS_OK;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        err = fws_errf(eb, FWS_ERR_IO, "%s: %s", path, sqlite3_errmsg(db));
        goto out;
    }
    if (sqlite3_column_int(st, 0) != INVENTORY_VERSION) {
        err = fws_errf(eb, FWS_ERR_UNSUPPORTED, "%s: inventory schema %d is not %d", path,
                       sqlite3_column_int(st, 0), INVENTORY_VERSION);
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT device_id, serial, sha256, env, kind, status, not_before,"
                           " not_after, revoked_at, der FROM certs",
                           -1, &st, NULL) != SQLITE_OK) {
        err = fws_errf(eb, FWS_ERR_SCHEMA, "%s: %s", path, sqlite3_errmsg(db));
        goto out;
    }
    c->inv.present = 1;
    int rc;
    while (err == FWS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        err = add_cert(c, st, envs);
    if (err == FWS_OK && rc != SQLITE_DONE)
        err = fws_errf(eb, FWS_ERR_IO, "%s: %s", path, sqlite3_errmsg(db));
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return err;
}

/* Every device with certificates must have a provision record naming one of them. */
static void tie_to_ledger(au_ctx *c)
{
    const au_inventory *inv = &c->inv;
    char hex[65];
    for (size_t i = 0; i < inv->n;) {
        size_t j = i;
        int tied = 0;
        const au_devrec *d = au_devrec_find(&c->ledger, inv->certs[i].key);
        for (; j < inv->n && memcmp(inv->certs[j].key, inv->certs[i].key, AU_KEY_LEN) == 0; j++)
            tied |= d != NULL && memcmp(d->cert, inv->certs[j].sha256, 32) == 0;
        if (!tied) {
            fws_hex_encode(inv->certs[i].sha256, 32, hex);
            au_flag(c->r, FWS_AUDIT_RED, "cert-not-in-ledger", inv->certs[i].serial,
                    d == NULL ? "no provision record for the device of certificate %.16s…"
                              : "the device's provision record names another certificate "
                                "(%.16s… is not it)",
                    hex);
        }
        i = j;
    }
}

fws_err au_phase_pki(au_ctx *c, fws_errbuf *eb)
{
    env_ca envs[3];
    static const char *const names[] = {"dev", "staging", "prod"};
    memset(envs, 0, sizeof(envs));
    for (int i = 0; i < 3; i++) {
        snprintf(envs[i].name, sizeof(envs[i].name), "%s", names[i]);
        check_env(c, &envs[i]);
        if (envs[i].revoked != NULL)
            if (envs[i].n_revoked > 1)
                qsort(envs[i].revoked, envs[i].n_revoked, sizeof(char *), cmp_str);
    }
    fws_err err = read_inventory(c, envs, eb);
    for (int i = 0; i < 3; i++) {
        for (size_t k = 0; k < envs[i].n_revoked; k++)
            free(envs[i].revoked[k]);
        free(envs[i].revoked);
    }
    if (err != FWS_OK)
        return err;
    if (c->inv.n > 1)
        qsort(c->inv.certs, c->inv.n, sizeof(*c->inv.certs), cmp_cert);
    c->r->certs = c->inv.n;
    if (c->cp_len > 0)
        tie_to_ledger(c);
    return FWS_OK;
}
