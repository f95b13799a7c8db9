/* Key pairs generated inside a PKCS#11 token (C_GenerateKeyPair), for provisioning benches and
 * release keys that never leave the token. */
#include <string.h>
#include "pkcs11_internal.h"

#define P11_NEW_ID_LEN 16

/* Appends s[0..n) percent-encoding everything but RFC 3986 unreserved characters. */
static int append_encoded(char *out, size_t cap, size_t *k, const uint8_t *s, size_t n,
                          int encode_all)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        int plain =
            !encode_all && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~');
        if (*k + (plain ? 1 : 3) >= cap)
            return 0;
        if (plain) {
            out[(*k)++] = (char)c;
        } else {
            out[(*k)++] = '%';
            out[(*k)++] = hex[c >> 4];
            out[(*k)++] = hex[c & 15];
        }
    }
    out[*k] = '\0';
    return 1;
}

static int append_text(char *out, size_t cap, size_t *k, const char *s)
{
    return append_encoded(out, cap, k, (const uint8_t *)s, strlen(s), 0);
}

/* Appends literal URI syntax (the scheme, ';', "name="). */
static int append_raw(char *out, size_t cap, size_t *k, const char *s)
{
    size_t n = strlen(s);
    if (*k + n >= cap)
        return 0;
    memcpy(out + *k, s, n + 1);
    *k += n;
    return 1;
}

/* pkcs11:token=...[;serial=...][;object=...];id=...;type=private, naming the new key. */
static fws_err new_uri(const fws_pkcs11_uri *u, const char *token_label, char *out, size_t cap,
                       fws_errbuf *eb)
{
    size_t k = 0;
    int ok = append_raw(out, cap, &k, "pkcs11:token=") && append_text(out, cap, &k, token_label);
    if (ok && u->has_serial)
        ok = append_raw(out, cap, &k, ";serial=") && append_text(out, cap, &k, u->serial);
    if (ok && u->has_object)
        ok = append_raw(out, cap, &k, ";object=") && append_text(out, cap, &k, u->object);
    ok = ok && append_raw(out, cap, &k, ";id=") &&
         append_encoded(out, cap, &k, u->id, u->id_len, 1) &&
         append_raw(out, cap, &k, ";type=private");
    return ok ? FWS_OK : fws_errf(eb, FWS_ERR_TOO_BIG, "PKCS#11: the new key's URI does not fit");
}

static fws_err refuse_existing(p11_session *s, const fws_pkcs11_uri *u, fws_errbuf *eb)
{
    CK_ULONG n = 0;
    fws_err err = FWS_OK;
    if (u->has_object)
        err = p11_count_matching(s, CKA_LABEL, u->object, strlen(u->object), &n, eb);
    if (err == FWS_OK && n > 0)
        return fws_errf(eb, FWS_ERR_EXISTS,
                        "PKCS#11 token \"%s\": an object labelled \"%s\" "
                        "exists already",
                        s->label, u->object);
    if (err == FWS_OK)
        err = p11_count_matching(s, CKA_ID, u->id, u->id_len, &n, eb);
    if (err == FWS_OK && n > 0)
        return fws_errf(eb, FWS_ERR_EXISTS,
                        "PKCS#11 token \"%s\": an object with that id exists "
                        "already",
                        s->label);
    return err;
}

static fws_err generate_pair(p11_session *s, const fws_pkcs11_uri *u, fws_key_type type,
                             CK_OBJECT_HANDLE *pub_h, CK_OBJECT_HANDLE *priv_h, fws_errbuf *eb)
{
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    size_t params_len = 0;
    const uint8_t *params = p11_ec_params(type, &params_len);
    CK_ULONG label_len = u->has_object ? strlen(u->object) : 0;
    CK_ATTRIBUTE pub_t[] = {
        {CKA_TOKEN, &yes, sizeof yes},      {CKA_PRIVATE, &no, sizeof no},
        {CKA_VERIFY, &yes, sizeof yes},     {CKA_EC_PARAMS, (void *)params, params_len},
        {CKA_ID, (void *)u->id, u->id_len}, {CKA_LABEL, (void *)u->object, label_len},
    };
    CK_ATTRIBUTE priv_t[] = {
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_EXTRACTABLE, &no, sizeof no},
        {CKA_SIGN, &yes, sizeof yes},
        {CKA_ID, (void *)u->id, u->id_len},
        {CKA_LABEL, (void *)u->object, label_len},
    };
    CK_ULONG n_pub = sizeof pub_t / sizeof pub_t[0], n_priv = sizeof priv_t / sizeof priv_t[0];
    if (!u->has_object) { /* the label is last in both templates */
        n_pub--;
        n_priv--;
    }
    CK_MECHANISM mech = {
        type == FWS_KEY_ED25519 ? CKM_EC_EDWARDS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_RV rv = s->f->C_GenerateKeyPair(s->h, &mech, pub_t, n_pub, priv_t, n_priv, pub_h, priv_h);
    char buf[32];
    if (rv == CKR_MECHANISM_INVALID || rv == CKR_CURVE_NOT_SUPPORTED ||
        rv == CKR_DOMAIN_PARAMS_INVALID)
        return fws_errf(eb, FWS_ERR_UNSUPPORTED,
                        "PKCS#11 token \"%s\" does not generate %s keys (%s)", s->label,
                        fws_key_type_name(type), p11_rv_name(rv, buf, sizeof buf));
    if (rv != CKR_OK)
        return fws_errf(eb, FWS_ERR_CRYPTO, "PKCS#11 token \"%s\": C_GenerateKeyPair: %s", s->label,
                        p11_rv_name(rv, buf, sizeof buf));
    return FWS_OK;
}

static fws_err generate_in(p11_session *s, fws_pkcs11_uri *u, fws_key_type type, fws_key **pub,
                           char *uri_out, size_t uri_cap, fws_errbuf *eb)
{
    char text[FWS_PKCS11_URI_MAX + 1];
    CK_OBJECT_HANDLE pub_h = 0, priv_h = 0;
    fws_key *k = NULL;
    if (!u->has_id) {
        if (fws_random(u->id, P11_NEW_ID_LEN) != FWS_OK)
            return fws_errf(eb, FWS_ERR_CRYPTO, "PKCS#11: no randomness for a key id");
        u->id_len = P11_NEW_ID_LEN;
        u->has_id = 1;
    }
    fws_err err = new_uri(u, s->label, text, sizeof text, eb);
    if (err == FWS_OK && uri_out != NULL && strlen(text) >= uri_cap)
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "PKCS#11: the new key's URI needs %zu bytes",
                       strlen(text) + 1);
    if (err == FWS_OK)
        err = refuse_existing(s, u, eb);
    if (err == FWS_OK)
        err = generate_pair(s, u, type, &pub_h, &priv_h, eb);
    if (err != FWS_OK)
        return err;
    err = p11_public_from_object(s, pub_h, type, &k, eb);
    if (err != FWS_OK) { /* leave no half-made key behind */
        s->f->C_DestroyObject(s->h, priv_h);
        s->f->C_DestroyObject(s->h, pub_h);
        return err;
    }
    if (uri_out != NULL)
        memcpy(uri_out, text, strlen(text) + 1);
    if (pub != NULL)
        *pub = k;
    else
        fws_key_free(k);
    return FWS_OK;
}

fws_err fws_pkcs11_generate(const char *uri, fws_key_type type, fws_key **pub, char *uri_out,
                            size_t uri_cap, fws_errbuf *eb)
{
    fws_pkcs11_uri u;
    p11_session s;
    if (type != FWS_KEY_ED25519 && type != FWS_KEY_P256)
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "PKCS#11: fwseal generates Ed25519 or P-256 keys");
    fws_err err = fws_pkcs11_uri_parse(uri, &u, eb);
    if (err == FWS_OK && !u.has_object && !u.has_id)
        err = fws_errf(eb, FWS_ERR_ARG, "PKCS#11: name the new key with object= or id=");
    if (err == FWS_OK)
        err = p11_session_open(&u, 1, 1, &s, eb);
    if (err == FWS_OK) {
        err = generate_in(&s, &u, type, pub, uri_out, uri_cap, eb);
        p11_session_close(&s);
    }
    fws_pkcs11_uri_wipe(&u);
    return err;
}
