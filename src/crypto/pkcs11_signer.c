/* fws_signer on a PKCS#11 private key: CKM_EDDSA for Ed25519, CKM_ECDSA over SHA-256 for P-256
 * (the token's raw r || s re-encoded as DER, as fws_key_sign returns it). Each signature is
 * verified with the token's public key before it is handed out, so a faulty token, or a public
 * key object that does not belong to the private key, never yields a bad signature. */
#include <stdlib.h>
#include <string.h>
#include "pkcs11_internal.h"

typedef struct p11_signer {
    p11_session s;
    CK_OBJECT_HANDLE priv;
    fws_key_type type;
    fws_key *pub;
    int always_authenticate;          /* the key wants the PIN again for each signature */
    char pin[FWS_PKCS11_PIN_MAX + 1]; /* kept only then; wiped on destroy */
} p11_signer;

/* One DER INTEGER from a 32-byte big-endian value: minimal, with a 0 byte when the top bit
 * is set. */
static size_t der_integer(const uint8_t v[32], uint8_t *out)
{
    size_t i = 0, k = 0;
    while (i < 31 && v[i] == 0)
        i++;
    size_t n = 32 - i;
    int pad = (v[i] & 0x80) != 0;
    out[k++] = 0x02;
    out[k++] = (uint8_t)(n + (size_t)pad);
    if (pad)
        out[k++] = 0;
    memcpy(out + k, v + i, n);
    return k + n;
}

fws_err p11_ecdsa_der(const uint8_t rs[64], uint8_t *out, size_t cap, size_t *len)
{
    uint8_t body[2 * 35];
    size_t n = der_integer(rs, body);
    n += der_integer(rs + 32, body + n);
    if (cap < n + 2)
        return FWS_ERR_ARG;
    out[0] = 0x30;
    out[1] = (uint8_t)n; /* at most 70: short form */
    memcpy(out + 2, body, n);
    *len = n + 2;
    return FWS_OK;
}

static fws_err token_sign(p11_signer *p, const uint8_t *data, size_t len, uint8_t raw[64])
{
    CK_MECHANISM mech = {p->type == FWS_KEY_ED25519 ? CKM_EDDSA : CKM_ECDSA, NULL, 0};
    CK_FUNCTION_LIST_PTR f = p->s.f;
    CK_ULONG out_len = 64;
    static const uint8_t empty[1];
    CK_RV rv = f->C_SignInit(p->s.h, &mech, p->priv);
    if (rv == CKR_OK && p->always_authenticate)
        rv = f->C_Login(p->s.h, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)p->pin, strlen(p->pin));
    if (rv != CKR_OK)
        return FWS_ERR_CRYPTO;
    rv = f->C_Sign(p->s.h, (CK_BYTE_PTR)(len > 0 ? data : empty), len, raw, &out_len);
    if (rv != CKR_OK || out_len != 64)
        return FWS_ERR_CRYPTO;
    return FWS_OK;
}

static fws_err p11_sign(void *impl, const uint8_t *msg, size_t len, uint8_t *sig, size_t sig_cap,
                        size_t *sig_len)
{
    p11_signer *p = impl;
    uint8_t raw[64], digest[FWS_SHA256_LEN], out[FWS_SIG_MAX];
    size_t n = 64;
    if (p == NULL || (msg == NULL && len > 0) || sig == NULL || sig_len == NULL ||
        sig_cap < FWS_SIG_MAX)
        return FWS_ERR_ARG;
    fws_err err;
    if (p->type == FWS_KEY_P256) {
        fws_sha256(msg, len, digest);
        err = token_sign(p, digest, sizeof digest, raw);
        if (err == FWS_OK)
            err = p11_ecdsa_der(raw, out, sizeof out, &n);
    } else {
        err = token_sign(p, msg, len, raw);
        memcpy(out, raw, 64);
    }
    if (err == FWS_OK && fws_key_verify(p->pub, msg, len, out, n) != FWS_OK)
        err = FWS_ERR_SIGNATURE;
    if (err == FWS_OK) {
        memcpy(sig, out, n);
        *sig_len = n;
    }
    return err;
}

static fws_err p11_public(void *impl, fws_key **pub)
{
    p11_signer *p = impl;
    return fws_key_public_dup(p->pub, pub);
}

static void p11_destroy(void *impl)
{
    p11_signer *p = impl;
    if (p == NULL)
        return;
    p11_session_close(&p->s);
    fws_key_free(p->pub);
    fws_wipe(p, sizeof(*p));
    free(p);
}

/* The public key object of the pair: same label and id as the URI, and the private key's own
 * CKA_ID when the URI names the key by label only. */
static fws_err find_public(p11_session *s, const fws_pkcs11_uri *u, CK_OBJECT_HANDLE priv,
                           fws_key_type type, fws_key **pub, fws_errbuf *eb)
{
    fws_pkcs11_uri q = *u;
    CK_OBJECT_HANDLE h = 0;
    fws_key_type pub_type;
    size_t len = 0;
    fws_errbuf ignored = {{0}};
    if (!q.has_id && p11_get_attr(s, priv, CKA_ID, q.id, sizeof q.id, &len, &ignored) == FWS_OK &&
        len > 0) {
        q.id_len = len;
        q.has_id = 1;
    }
    fws_err err = p11_find_one(s, &q, CKO_PUBLIC_KEY, &h, eb);
    if (err == FWS_OK)
        err = p11_key_type(s, h, &pub_type, eb);
    if (err == FWS_OK && pub_type != type)
        err = fws_errf(eb, FWS_ERR_KEY_MISMATCH,
                       "PKCS#11 token \"%s\": the public key is not of the private key's type",
                       s->label);
    if (err == FWS_OK)
        err = p11_public_from_object(s, h, type, pub, eb);
    fws_wipe(&q, sizeof q);
    return err;
}

static fws_err open_key(const fws_pkcs11_uri *u, p11_signer *p, fws_errbuf *eb)
{
    CK_BBOOL always = CK_FALSE;
    size_t len = 0;
    fws_errbuf ignored = {{0}};
    fws_err err = p11_session_open(u, 0, 1, &p->s, eb);
    if (err == FWS_OK)
        err = p11_find_one(&p->s, u, CKO_PRIVATE_KEY, &p->priv, eb);
    if (err == FWS_OK)
        err = p11_key_type(&p->s, p->priv, &p->type, eb);
    if (err == FWS_OK)
        err = find_public(&p->s, u, p->priv, p->type, &p->pub, eb);
    if (err == FWS_OK &&
        p11_get_attr(&p->s, p->priv, CKA_ALWAYS_AUTHENTICATE, &always, sizeof always, &len,
                     &ignored) == FWS_OK &&
        always == CK_TRUE) {
        p->always_authenticate = 1;
        err = p11_pin(u, p->pin, eb);
    }
    return err;
}

fws_err fws_pkcs11_signer(const char *uri, fws_signer *out, fws_errbuf *eb)
{
    fws_pkcs11_uri u;
    fws_signer s;
    if (out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "PKCS#11 signer: no output");
    fws_err err = fws_pkcs11_uri_parse(uri, &u, eb);
    if (err != FWS_OK)
        return err;
    p11_signer *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        fws_pkcs11_uri_wipe(&u);
        return fws_errf(eb, FWS_ERR_NOMEM, "PKCS#11 signer: out of memory");
    }
    err = open_key(&u, p, eb);
    fws_pkcs11_uri_wipe(&u);
    if (err != FWS_OK) {
        p11_destroy(p);
        return err;
    }
    memset(&s, 0, sizeof(s));
    s.type = p->type;
    fws_key_id(p->pub, s.keyid);
    s.sign = p11_sign;
    s.public_key = p11_public;
    s.destroy = p11_destroy;
    s.impl = p;
    *out = s;
    return FWS_OK;
}

/* With the URI's PIN when it gives one (a public key object may itself be private), else
 * without logging in. */
static fws_err public_key_session(const fws_pkcs11_uri *u, fws_key **out, fws_errbuf *eb)
{
    p11_session s;
    CK_OBJECT_HANDLE h = 0;
    fws_key_type type;
    char pin[FWS_PKCS11_PIN_MAX + 1];
    fws_errbuf ignored = {{0}};
    int login = p11_pin(u, pin, &ignored) == FWS_OK;
    fws_wipe(pin, sizeof pin);
    fws_err err = p11_session_open(u, 0, login, &s, eb);
    if (err != FWS_OK)
        return err;
    err = p11_find_one(&s, u, CKO_PUBLIC_KEY, &h, eb);
    if (err == FWS_OK)
        err = p11_key_type(&s, h, &type, eb);
    if (err == FWS_OK)
        err = p11_public_from_object(&s, h, type, out, eb);
    p11_session_close(&s);
    return err;
}

fws_err fws_pkcs11_public_key(const char *uri, fws_key **out, fws_errbuf *eb)
{
    fws_pkcs11_uri u;
    if (out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "PKCS#11 public key: no output");
    fws_err err = fws_pkcs11_uri_parse(uri, &u, eb);
    if (err == FWS_OK)
        err = public_key_session(&u, out, eb);
    fws_pkcs11_uri_wipe(&u);
    return err;
}

fws_err fws_pkcs11_public_pem(const char *uri, char **pem, fws_errbuf *eb)
{
    fws_key *k = NULL;
    if (pem == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "PKCS#11 public key: no output");
    fws_err err = fws_pkcs11_public_key(uri, &k, eb);
    if (err == FWS_OK)
        err = fws_key_public_pem(k, pem);
    fws_key_free(k);
    return err;
}
