/* The deployment's PKI handle: DEPLOY/pki with its inventory, models and environments. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "pki/internal.h"

fws_err pki_env_path(const fws_pki *p, fws_pki_env env, const char *file, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/%s/%s", p->dir, fws_pki_env_name(env), file);
    return (n < 0 || (size_t)n >= cap) ? FWS_ERR_TOO_BIG : FWS_OK;
}

void pki_ca_unload(pki_env_ca *ca)
{
    if (ca->has_issuer)
        fws_signer_free(&ca->issuer);
    X509_free(ca->root);
    X509_free(ca->inter);
    free(ca->root_der);
    free(ca->inter_der);
    memset(ca, 0, sizeof(*ca));
}

static fws_err read_cert(const fws_pki *p, fws_pki_env env, const char *file, uint8_t **der,
                         size_t *len, X509 **x, fws_errbuf *eb)
{
    char path[PATH_MAX + 64];
    uint8_t *text = NULL;
    size_t text_len = 0;
    fws_err err = pki_env_path(p, env, file, path, sizeof(path));
    if (err == FWS_OK)
        err = fws_file_read(path, FWS_PKI_CERT_MAX * 4, &text, &text_len, eb);
    if (err == FWS_OK)
        err = fws_pki_cert_der(text, text_len, der, len, eb);
    free(text);
    if (err == FWS_OK && pki_x509_parse(*der, *len, x) != FWS_OK)
        err = FWS_ERR_FORMAT;
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: %s", path, fws_strerror(err));
    return FWS_OK;
}

fws_err pki_ca_load(fws_pki *p, fws_pki_env env, fws_errbuf *eb)
{
    pki_env_ca ca;
    char path[PATH_MAX + 64];
    struct stat st;
    unsigned char *name = NULL;
    memset(&ca, 0, sizeof(ca));
    if (pki_env_path(p, env, "ca.json", path, sizeof(path)) != FWS_OK || stat(path, &st) != 0)
        return FWS_OK; /* no CA for this environment */
    fws_err err = read_cert(p, env, "root.crt", &ca.root_der, &ca.root_len, &ca.root, eb);
    if (err == FWS_OK)
        err = read_cert(p, env, "intermediate.crt", &ca.inter_der, &ca.inter_len, &ca.inter, eb);
    if (err != FWS_OK)
        goto out;
    if (X509_verify(ca.inter, X509_get0_pubkey(ca.root)) != 1) {
        err = fws_errf(eb, FWS_ERR_SIGNATURE, "%s: the %s intermediate is not signed by its root",
                       path, fws_pki_env_name(env));
        goto out;
    }
    int n = i2d_X509_NAME(X509_get_subject_name(ca.inter), &name);
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca.inter);
    if (n <= 0 || (size_t)n > sizeof(ca.inter_name) || ski == NULL ||
        ASN1_STRING_length(ski) != PKI_SKI_LEN) {
        err = fws_errf(eb, FWS_ERR_FORMAT,
                       "%s: the %s intermediate has an unusable name or key"
                       " identifier",
                       path, fws_pki_env_name(env));
        goto out;
    }
    memcpy(ca.inter_name, name, (size_t)n);
    ca.inter_name_len = (size_t)n;
    memcpy(ca.inter_ski, ASN1_STRING_get0_data(ski), PKI_SKI_LEN);
    ca.present = 1;
    p->ca[env] = ca;
    memset(&ca, 0, sizeof(ca));
out:
    OPENSSL_free(name);
    pki_ca_unload(&ca);
    ERR_clear_error();
    return err;
}

/* The intermediate's key reference from ca.json: a file name in the environment's folder, or a
 * PKCS#11 URI. */
static fws_err issuer_ref(const fws_pki *p, fws_pki_env env, char *out, size_t cap, fws_errbuf *eb)
{
    char path[PATH_MAX + 64];
    uint8_t *text = NULL;
    size_t len = 0;
    json_t *doc = NULL, *inter = NULL;
    const char *ref = NULL;
    fws_err err = pki_env_path(p, env, "ca.json", path, sizeof(path));
    if (err == FWS_OK)
        err = fws_file_read(path, 1u << 16, &text, &len, eb);
    if (err == FWS_OK)
        err = fws_json_parse(text, len, 0, NULL, &doc, eb);
    if (err == FWS_OK)
        err = fws_json_get_object(doc, "intermediate", &inter, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(inter, "key", &ref, eb);
    if (err == FWS_OK &&
        (strlen(ref) >= cap || (strncmp(ref, "pkcs11:", 7) != 0 && strchr(ref, '/') != NULL)))
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: bad intermediate key reference", path);
    if (err == FWS_OK)
        snprintf(out, cap, "%s", ref);
    json_decref(doc);
    free(text);
    return err;
}

static fws_err issuer_signer(const fws_pki *p, fws_pki_env env, const char *ref,
                             const fws_passphrase *pp, fws_signer *out, fws_errbuf *eb)
{
    char path[PATH_MAX + 64];
    fws_key *key = NULL;
    if (strncmp(ref, "pkcs11:", 7) == 0)
        return fws_pki_pkcs11_signer(ref, 0, out, eb);
    fws_err err = pki_env_path(p, env, ref, path, sizeof(path));
    if (err == FWS_OK)
        err = fws_key_load_private(path, pp, &key, eb);
    if (err == FWS_OK)
        err = fws_signer_from_key(key, out);
    if (err != FWS_OK)
        fws_key_free(key);
    return err;
}

fws_err fws_pki_load_issuer(fws_pki *p, fws_pki_env env, const fws_passphrase *pp, fws_errbuf *eb)
{
    char ref[1024];
    fws_signer s;
    fws_key *pub = NULL;
    uint8_t *spki = NULL;
    unsigned char *cert_spki = NULL;
    size_t spki_len = 0;
    if (fws_pki_env_name(env) == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "unknown environment");
    pki_env_ca *ca = &p->ca[env];
    if (!ca->present)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "the %s environment has no CA (fwseal ca init)",
                        fws_pki_env_name(env));
    if (ca->has_issuer)
        return FWS_OK;
    fws_err err = issuer_ref(p, env, ref, sizeof(ref), eb);
    if (err == FWS_OK)
        err = issuer_signer(p, env, ref, pp, &s, eb);
    if (err != FWS_OK)
        return err;
    err = fws_signer_public_key(&s, &pub);
    if (err == FWS_OK)
        err = fws_key_spki_der(pub, &spki, &spki_len);
    int n = err == FWS_OK ? i2d_PUBKEY(X509_get0_pubkey(ca->inter), &cert_spki) : 0;
    if (err == FWS_OK &&
        (n <= 0 || (size_t)n != spki_len || memcmp(cert_spki, spki, spki_len) != 0))
        err = fws_errf(eb, FWS_ERR_KEY_MISMATCH, "%s: not the key of the %s intermediate", ref,
                       fws_pki_env_name(env));
    if (err == FWS_OK) {
        ca->issuer = s;
        ca->has_issuer = 1;
    } else {
        fws_signer_free(&s);
    }
    fws_key_free(pub);
    free(spki);
    OPENSSL_free(cert_spki);
    return err;
}

int fws_pki_has_env(const fws_pki *p, fws_pki_env env)
{
    return fws_pki_env_name(env) != NULL && p->ca[env].present;
}

fws_err fws_pki_ca_certs(const fws_pki *p, fws_pki_env env, const uint8_t **root, size_t *root_len,
                         const uint8_t **inter, size_t *inter_len)
{
    if (!fws_pki_has_env(p, env))
        return FWS_ERR_NOT_FOUND;
    *root = p->ca[env].root_der;
    *root_len = p->ca[env].root_len;
    *inter = p->ca[env].inter_der;
    *inter_len = p->ca[env].inter_len;
    return FWS_OK;
}

/* ---- models ------------------------------------------------------------------------------- */

static fws_err models_add_mem(fws_pki *p, const char *model)
{
    char **grown = realloc(p->models, (p->n_models + 1) * sizeof(*grown));
    if (grown == NULL)
        return FWS_ERR_NOMEM;
    p->models = grown;
    p->models[p->n_models] = strdup(model);
    if (p->models[p->n_models] == NULL)
        return FWS_ERR_NOMEM;
    p->n_models++;
    return FWS_OK;
}

static fws_err models_load(fws_pki *p, fws_errbuf *eb)
{
    char path[PATH_MAX + 64];
    uint8_t *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/models", p->dir);
    fws_err err = fws_file_read(path, 1u << 20, &text, &len, NULL);
    if (err == FWS_ERR_NOT_FOUND)
        return FWS_OK;
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: cannot read", path);
    char *save = NULL;
    for (char *line = strtok_r((char *)text, "\n", &save); line != NULL && err == FWS_OK;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '\0' || line[0] == '#')
            continue;
        if (pki_check_field("model", line, 1, PKI_CHARSET_NAME, eb) != FWS_OK)
            err = fws_errf(eb, FWS_ERR_FORMAT, "%s: bad model line", path);
        else if (p->n_models >= PKI_MODELS_MAX)
            err = fws_errf(eb, FWS_ERR_TOO_BIG, "%s: more than %d models", path, PKI_MODELS_MAX);
        else
            err = models_add_mem(p, line);
    }
    free(text);
    return err;
}

int fws_pki_model_known(const fws_pki *p, const char *model)
{
    for (size_t i = 0; model != NULL && i < p->n_models; i++) {
        if (strcmp(p->models[i], model) == 0)
            return 1;
    }
    return 0;
}

size_t fws_pki_model_count(const fws_pki *p)
{
    return p->n_models;
}

const char *fws_pki_model_at(const fws_pki *p, size_t i)
{
    return i < p->n_models ? p->models[i] : NULL;
}

fws_err fws_pki_model_add(fws_pki *p, const char *model, fws_errbuf *eb)
{
    char path[PATH_MAX + 64];
    fws_err err = pki_check_field("model", model, 1, PKI_CHARSET_NAME, eb);
    if (err != FWS_OK || fws_pki_model_known(p, model))
        return err;
    if (p->n_models >= PKI_MODELS_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "more than %d models", PKI_MODELS_MAX);
    err = models_add_mem(p, model);
    if (err != FWS_OK)
        return err;
    size_t cap = 1, len = 0;
    for (size_t i = 0; i < p->n_models; i++)
        cap += strlen(p->models[i]) + 1;
    char *text = malloc(cap);
    if (text == NULL)
        return FWS_ERR_NOMEM;
    for (size_t i = 0; i < p->n_models; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s\n", p->models[i]);
    snprintf(path, sizeof(path), "%s/models", p->dir);
    err = fws_file_write_atomic(path, text, len, 0644, 1, eb);
    free(text);
    return err;
}

/* ---- open and close ----------------------------------------------------------------------- */

fws_err fws_pki_open(const char *deploy, fws_pki **out, fws_errbuf *eb)
{
    char path[PATH_MAX + 64];
    fws_err err = FWS_OK;
    if (deploy == NULL || strlen(deploy) + 32 >= PATH_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "a deployment directory is needed");
    fws_pki *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return FWS_ERR_NOMEM;
    snprintf(p->deploy, sizeof(p->deploy), "%s", deploy);
    snprintf(p->dir, sizeof(p->dir), "%s/pki", deploy);
    err = fws_mkdirs(p->dir, 0700, eb);
    if (err == FWS_OK) {
        snprintf(path, sizeof(path), "%s/inventory.sqlite", p->dir);
        err = pki_store_open(path, &p->store, eb);
    }
    if (err == FWS_OK)
        err = models_load(p, eb);
    for (int e = FWS_ENV_DEV; err == FWS_OK && e <= FWS_ENV_PROD; e++)
        err = pki_ca_load(p, (fws_pki_env)e, eb);
    if (err != FWS_OK) {
        fws_pki_close(p);
        return err;
    }
    *out = p;
    return FWS_OK;
}

void fws_pki_close(fws_pki *p)
{
    if (p == NULL)
        return;
    for (int e = 0; e < PKI_ENV_COUNT; e++)
        pki_ca_unload(&p->ca[e]);
    for (size_t i = 0; i < p->n_models; i++)
        free(p->models[i]);
    free(p->models);
    fws_ledger_close(p->ledger); /* every append already published its checkpoint */
    if (p->has_ledger_signer)
        fws_signer_free(&p->ledger_signer);
    pki_store_close(p->store);
    pki_anchors_free(&p->anchors);
    free(p);
}

void fws_pki_set_operational_days(fws_pki *p, unsigned days)
{
    p->operational_days = days;
}

void pki_refusal(fws_pki *p, const char *action, fws_pki_env env, const char *subject,
                 const char *reason)
{
    fws_pki_refusal r;
    memset(&r, 0, sizeof(r));
    r.time = (int64_t)time(NULL);
    snprintf(r.action, sizeof(r.action), "%s", action);
    snprintf(r.env, sizeof(r.env), "%s", fws_pki_env_name(env) ? fws_pki_env_name(env) : "");
    snprintf(r.subject, sizeof(r.subject), "%s", subject ? subject : "");
    snprintf(r.reason, sizeof(r.reason), "%s", reason);
    (void)pki_store_refusal_add(p->store, &r, NULL);
}
