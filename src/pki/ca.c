/* The CA hierarchy of one environment: an offline root and an online issuing intermediate, each
 * with its own new key; nothing is shared between environments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <jansson.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "pki/internal.h"

#define ROOT_DAYS_DEFAULT (30u * 365u)
#define INTER_DAYS_DEFAULT (25u * 365u)
#define DAY 86400
#define BACKDATE 300 /* certificates start a little in the past: clocks differ */

#define KEY_REF_MAX 1024

typedef struct ca_keys {
    fws_signer root, inter;
    int have_root, have_inter;
    fws_key *root_key, *inter_key; /* borrowed views for saving; NULL for token keys */
    char root_ref[KEY_REF_MAX], inter_ref[KEY_REF_MAX]; /* what ca.json names */
} ca_keys;

static void ca_keys_free(ca_keys *k)
{
    if (k->have_root)
        fws_signer_free(&k->root);
    if (k->have_inter)
        fws_signer_free(&k->inter);
}

static fws_err new_signer(fws_key_type type, fws_signer *s, fws_key **view)
{
    fws_key *k = NULL;
    fws_err err = fws_key_generate(type, &k);
    if (err != FWS_OK)
        return err;
    err = fws_signer_from_key(k, s);
    if (err != FWS_OK) {
        fws_key_free(k);
        return err;
    }
    *view = k;
    return FWS_OK;
}

/* Both CA keys: new files, or new key pairs in a PKCS#11 token. */
static fws_err make_keys(const fws_pki_ca_opts *o, fws_key_type type, ca_keys *k, fws_errbuf *eb)
{
    char uri[KEY_REF_MAX], suffix[32];
    fws_err err = FWS_OK;
    if (o->pkcs11_uri == NULL) {
        snprintf(k->root_ref, sizeof(k->root_ref), "root.key");
        snprintf(k->inter_ref, sizeof(k->inter_ref), "intermediate.key");
        err = new_signer(type, &k->root, &k->root_key);
        k->have_root = err == FWS_OK;
        if (err == FWS_OK)
            err = new_signer(type, &k->inter, &k->inter_key);
        k->have_inter = k->have_root && err == FWS_OK;
        return err;
    }
    if (type != FWS_KEY_P256)
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "CA keys in a PKCS#11 token are P-256 keys");
    const char *env = fws_pki_env_name(o->env);
    snprintf(suffix, sizeof(suffix), "-%s-root", env);
    err = pki_p11_uri_derive(o->pkcs11_uri, suffix, 0, uri, sizeof(uri));
    if (err == FWS_OK)
        err = pki_p11_uri_derive(o->pkcs11_uri, suffix, 1, k->root_ref, sizeof(k->root_ref));
    if (err == FWS_OK)
        err = fws_pki_pkcs11_signer(uri, 1, &k->root, eb);
    k->have_root = err == FWS_OK;
    snprintf(suffix, sizeof(suffix), "-%s-intermediate", env);
    if (err == FWS_OK)
        err = pki_p11_uri_derive(o->pkcs11_uri, suffix, 0, uri, sizeof(uri));
    if (err == FWS_OK)
        err = pki_p11_uri_derive(o->pkcs11_uri, suffix, 1, k->inter_ref, sizeof(k->inter_ref));
    if (err == FWS_OK)
        err = fws_pki_pkcs11_signer(uri, 1, &k->inter, eb);
    k->have_inter = k->have_root && err == FWS_OK;
    fws_wipe(uri, sizeof(uri));
    return err;
}

static fws_err signer_spki(const fws_signer *s, uint8_t **spki, size_t *len)
{
    fws_key *pub = NULL;
    fws_err err = fws_signer_public_key(s, &pub);
    if (err == FWS_OK)
        err = fws_key_spki_der(pub, spki, len);
    fws_key_free(pub);
    return err;
}

typedef struct ca_cert {
    uint8_t der[FWS_PKI_CERT_MAX];
    size_t len;
    uint8_t name[PKI_NAME_MAX];
    size_t name_len;
    uint8_t ski[PKI_SKI_LEN];
} ca_cert;

/* Issues a CA certificate for subject's key, signed by issuer (NULL: self-signed). */
static fws_err issue_ca(const fws_pki_ca_opts *o, const char *cn, const fws_signer *subject,
                        const fws_signer *issuer_signer, const ca_cert *issuer, unsigned days,
                        ca_cert *out, fws_errbuf *eb)
{
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    pki_cert_spec spec;
    const char *org = o->organization ? o->organization : "fwseal";
    pki_attr attrs[] = {
        PKI_ATTR(pki_oid_org, DER_UTF8_STRING, org),
        PKI_ATTR(pki_oid_ou, DER_UTF8_STRING, fws_pki_env_name(o->env)),
        PKI_ATTR(pki_oid_cn, DER_UTF8_STRING, cn),
    };
    fws_err err = signer_spki(subject, &spki, &spki_len);
    if (err == FWS_OK)
        err = pki_name(attrs, 3, out->name, sizeof(out->name), &out->name_len);
    if (err == FWS_OK)
        err = pki_ski(spki, spki_len, out->ski);
    if (err == FWS_OK)
        err = pki_serial_new(spec.serial);
    if (err != FWS_OK) {
        free(spki);
        return fws_errf(eb, err, "CA %s: %s", cn, fws_strerror(err));
    }
    int64_t now = (int64_t)time(NULL);
    spec.profile = issuer ? PKI_PROFILE_INTERMEDIATE : PKI_PROFILE_ROOT;
    spec.subject_name = out->name;
    spec.subject_name_len = out->name_len;
    spec.issuer_name = issuer ? issuer->name : out->name;
    spec.issuer_name_len = issuer ? issuer->name_len : out->name_len;
    spec.spki = spki;
    spec.spki_len = spki_len;
    spec.aki = issuer ? issuer->ski : out->ski;
    spec.not_before = now - BACKDATE;
    spec.not_after = now + (int64_t)days * DAY;
    spec.san_uri = NULL;
    err = pki_cert_issue(&spec, issuer_signer ? issuer_signer : subject, out->der, sizeof(out->der),
                         &out->len, eb);
    free(spki);
    return err;
}

static fws_err write_pem(const char *path, const char *label, const uint8_t *der, size_t len,
                         fws_errbuf *eb)
{
    char *pem = NULL;
    size_t pem_len = 0;
    fws_err err = pki_pem(label, der, len, &pem, &pem_len);
    if (err == FWS_OK)
        err = fws_file_write_atomic(path, pem, pem_len, 0644, 1, eb);
    free(pem);
    return err;
}

static fws_err write_crl(const char *path, const fws_signer *s, const ca_cert *issuer,
                         uint64_t number, int64_t next_update, fws_errbuf *eb)
{
    uint8_t *der = NULL;
    size_t len = 0;
    int64_t now = (int64_t)time(NULL);
    fws_err err = pki_crl_build(s, issuer->name, issuer->name_len, issuer->ski, number,
                                now - BACKDATE, next_update, NULL, 0, &der, &len, eb);
    if (err == FWS_OK)
        err = write_pem(path, "X509 CRL", der, len, eb);
    free(der);
    return err;
}

static fws_err write_ca_json(const char *path, const fws_pki_ca_opts *o, const ca_keys *k,
                             const ca_cert *root, const ca_cert *inter, fws_pki_ca_info *info,
                             fws_errbuf *eb)
{
    char when[32];
    char *text = NULL;
    size_t len = 0;
    memset(info, 0, sizeof(*info));
    info->env = o->env;
    pki_sha256_hex(root->der, root->len, info->root_sha256);
    pki_sha256_hex(inter->der, inter->len, info->intermediate_sha256);
    memcpy(info->root_keyid, k->root.keyid, FWS_KEYID_LEN);
    memcpy(info->intermediate_keyid, k->inter.keyid, FWS_KEYID_LEN);
    if (fws_pki_cert_validity(root->der, root->len, &(int64_t){0}, &info->root_not_after) !=
            FWS_OK ||
        fws_pki_cert_validity(inter->der, inter->len, &(int64_t){0},
                              &info->intermediate_not_after) != FWS_OK)
        return fws_errf(eb, FWS_ERR_FORMAT, "the new CA certificates do not parse");
    pki_time_rfc3339((int64_t)time(NULL), when);
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}}", "env",
        fws_pki_env_name(o->env), "keyType", fws_key_type_name(k->root.type), "created", when,
        "root", "certificate", "root.crt", "key", k->root_ref, "sha256", info->root_sha256, "keyid",
        info->root_keyid, "intermediate", "certificate", "intermediate.crt", "key", k->inter_ref,
        "sha256", info->intermediate_sha256, "keyid", info->intermediate_keyid);
    if (doc == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = fws_json_pretty(doc, &text, &len);
    json_decref(doc);
    if (err == FWS_OK)
        err = fws_file_write_atomic(path, text, len, 0644, 0, eb);
    free(text);
    return err;
}

static fws_err save_keys(const char *dir, const ca_keys *k, const fws_passphrase *pp,
                         fws_errbuf *eb)
{
    char path[PATH_MAX + 64];
    if (k->root_key == NULL)
        return FWS_OK; /* in a token */
    snprintf(path, sizeof(path), "%s/root.key", dir);
    fws_err err = fws_key_save_private(k->root_key, path, pp, 1, eb);
    if (err != FWS_OK)
        return err;
    snprintf(path, sizeof(path), "%s/intermediate.key", dir);
    return fws_key_save_private(k->inter_key, path, pp, 1, eb);
}

static fws_err write_all(const char *dir, const fws_pki_ca_opts *o, const ca_keys *k,
                         const ca_cert *root, const ca_cert *inter, unsigned inter_days,
                         fws_pki_ca_info *info, fws_errbuf *eb)
{
    char path[PATH_MAX + 64];
    int64_t now = (int64_t)time(NULL);
    fws_err err = save_keys(dir, k, o->pp, eb);
    if (err == FWS_OK) {
        snprintf(path, sizeof(path), "%s/root.crt", dir);
        err = write_pem(path, "CERTIFICATE", root->der, root->len, eb);
    }
    if (err == FWS_OK) {
        snprintf(path, sizeof(path), "%s/intermediate.crt", dir);
        err = write_pem(path, "CERTIFICATE", inter->der, inter->len, eb);
    }
    if (err == FWS_OK) {
        snprintf(path, sizeof(path), "%s/root-crl.pem", dir);
        err = write_crl(path, &k->root, root, 1, now + (int64_t)inter_days * DAY, eb);
    }
    if (err == FWS_OK) {
        snprintf(path, sizeof(path), "%s/crl.pem", dir);
        err = write_crl(path, &k->inter, inter, 1, now + 7 * DAY, eb);
    }
    if (err == FWS_OK) {
        /* ca.json last: its presence says the environment is complete. */
        snprintf(path, sizeof(path), "%s/ca.json", dir);
        err = write_ca_json(path, o, k, root, inter, info, eb);
    }
    return err;
}

fws_err fws_pki_ca_init(const char *deploy, const fws_pki_ca_opts *o, fws_pki_ca_info *info,
                        fws_errbuf *eb)
{
    char dir[PATH_MAX], path[PATH_MAX + 64], cn[96], tag_hex[9];
    uint8_t tag[4];
    ca_keys k;
    ca_cert *root = NULL, *inter = NULL;
    fws_pki_ca_info inf;
    struct stat st;
    fws_err err = FWS_OK;
    memset(&k, 0, sizeof(k));
    if (deploy == NULL || o == NULL || fws_pki_env_name(o->env) == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "ca init: an environment (dev, staging, prod) is needed");
    fws_key_type type = o->key_type ? o->key_type : FWS_KEY_P256;
    unsigned root_days = o->root_days ? o->root_days : ROOT_DAYS_DEFAULT;
    unsigned inter_days = o->intermediate_days ? o->intermediate_days : INTER_DAYS_DEFAULT;
    if (inter_days > root_days)
        return fws_errf(eb, FWS_ERR_ARG, "the intermediate cannot outlive the root");
    snprintf(dir, sizeof(dir), "%s/pki/%s", deploy, fws_pki_env_name(o->env));
    snprintf(path, sizeof(path), "%s/ca.json", dir);
    if (stat(path, &st) == 0)
        return fws_errf(eb, FWS_ERR_EXISTS, "%s: the %s environment already has a CA", path,
                        fws_pki_env_name(o->env));
    err = fws_mkdirs(dir, 0700, eb);
    if (err != FWS_OK)
        return err;
    root = calloc(1, sizeof(*root));
    inter = calloc(1, sizeof(*inter));
    if (root == NULL || inter == NULL) {
        err = FWS_ERR_NOMEM;
        goto out;
    }
    err = fws_random(tag, sizeof(tag));
    if (err == FWS_OK)
        err = make_keys(o, type, &k, eb);
    if (err != FWS_OK) {
        err = fws_errf(eb, err, "cannot generate the CA keys");
        goto out;
    }
    fws_hex_encode(tag, sizeof(tag), tag_hex);
    snprintf(cn, sizeof(cn), "fwseal %s root CA %s", fws_pki_env_name(o->env), tag_hex);
    err = issue_ca(o, cn, &k.root, NULL, NULL, root_days, root, eb);
    if (err == FWS_OK) {
        snprintf(cn, sizeof(cn), "fwseal %s issuing CA %s", fws_pki_env_name(o->env), tag_hex);
        err = issue_ca(o, cn, &k.inter, &k.root, root, inter_days, inter, eb);
    }
    if (err == FWS_OK)
        err = write_all(dir, o, &k, root, inter, inter_days, &inf, eb);
    if (err == FWS_OK && info != NULL)
        *info = inf;
out:
    ca_keys_free(&k);
    free(root);
    free(inter);
    return err;
}

static fws_err copy_file(const char *from, const char *to, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_err err = fws_file_read(from, 64u << 20, &data, &len, eb);
    if (err == FWS_OK)
        err = fws_file_write_atomic(to, data, len, 0644, 1, eb);
    free(data);
    return err;
}

fws_err fws_pki_ca_export(const char *deploy, fws_pki_env env, const char *out_dir, fws_errbuf *eb)
{
    static const char *const files[] = {"root.crt", "intermediate.crt", "crl.pem"};
    char from[PATH_MAX + 64], to[PATH_MAX + 64];
    struct stat st;
    if (fws_pki_env_name(env) == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "unknown environment");
    snprintf(from, sizeof(from), "%s/pki/%s/ca.json", deploy, fws_pki_env_name(env));
    if (stat(from, &st) != 0)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "%s: the %s environment has no CA (fwseal ca init)",
                        from, fws_pki_env_name(env));
    fws_err err = fws_mkdirs(out_dir, 0755, eb);
    for (size_t i = 0; err == FWS_OK && i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(from, sizeof(from), "%s/pki/%s/%s", deploy, fws_pki_env_name(env), files[i]);
        snprintf(to, sizeof(to), "%s/%s", out_dir, files[i]);
        err = copy_file(from, to, eb);
    }
    return err;
}
