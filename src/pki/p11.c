/* P-256 keys in a PKCS#11 token (SoftHSM2 in tests) behind an fws_signer: made on the bench for
 * a device, or holding a CA's key. The private key never leaves the token. Tokens are named by
 * RFC 7512 URIs: pkcs11:token=T;object=L?module-path=M&pin-value=P (or pin-source=FILE). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <p11-kit/pkcs11.h>
#include "fwseal/util.h"
#include "pki/internal.h"

#define P11_FIELD 256
#define P11_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"

typedef struct p11_uri {
    char token[P11_FIELD], object[P11_FIELD], module[P11_FIELD * 2], pin[P11_FIELD];
} p11_uri;

typedef struct p11_key {
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    CK_SESSION_HANDLE session;
    CK_OBJECT_HANDLE priv;
    fws_key *pub;
} p11_key;

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Copies a percent-encoded value of n bytes into out (NUL-terminated). */
static fws_err unescape(const char *in, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= n)
                return FWS_ERR_FORMAT;
            int h = hexval(in[i + 1]), l = hexval(in[i + 2]);
            if (h < 0 || l < 0)
                return FWS_ERR_FORMAT;
            c = (char)(h * 16 + l);
            i += 2;
        }
        if (k + 1 >= cap || c == '\0')
            return FWS_ERR_FORMAT;
        out[k++] = c;
    }
    out[k] = '\0';
    return FWS_OK;
}

static fws_err uri_attr(p11_uri *u, const char *a, size_t n, fws_errbuf *eb)
{
    static const struct {
        const char *name;
        size_t off, cap;
    } known[] = {
        {"token", offsetof(p11_uri, token), P11_FIELD},
        {"object", offsetof(p11_uri, object), P11_FIELD},
        {"module-path", offsetof(p11_uri, module), P11_FIELD * 2},
        {"pin-value", offsetof(p11_uri, pin), P11_FIELD},
    };
    const char *eq = memchr(a, '=', n);
    if (eq == NULL)
        return fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 URI: '%.*s' has no value", (int)n, a);
    size_t name_len = (size_t)(eq - a);
    char src[P11_FIELD * 2];
    if (name_len == 10 && memcmp(a, "pin-source", 10) == 0) {
        uint8_t *pin = NULL;
        size_t len = 0;
        const char *v = eq + 1;
        size_t vlen = n - name_len - 1;
        if (vlen > 5 && memcmp(v, "file:", 5) == 0) {
            v += 5;
            vlen -= 5;
        }
        if (unescape(v, vlen, src, sizeof(src)) != FWS_OK)
            return fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 URI: bad pin-source");
        fws_err err = fws_file_read(src, P11_FIELD - 1, &pin, &len, eb);
        if (err != FWS_OK)
            return err;
        while (len > 0 && (pin[len - 1] == '\n' || pin[len - 1] == '\r'))
            len--;
        snprintf(u->pin, sizeof(u->pin), "%.*s", (int)len, (const char *)pin);
        fws_wipe(pin, len);
        free(pin);
        return FWS_OK;
    }
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strlen(known[i].name) == name_len && memcmp(a, known[i].name, name_len) == 0) {
            if (unescape(eq + 1, n - name_len - 1, (char *)u + known[i].off, known[i].cap) !=
                FWS_OK)
                return fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 URI: bad %s", known[i].name);
            return FWS_OK;
        }
    }
    return FWS_OK; /* other attributes (id, manufacturer, ...) are not used */
}

static fws_err uri_parse(const char *uri, p11_uri *u, fws_errbuf *eb)
{
    memset(u, 0, sizeof(*u));
    if (uri == NULL || strncmp(uri, "pkcs11:", 7) != 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "not a PKCS#11 URI (pkcs11:token=...;object=...)");
    const char *p = uri + 7;
    while (*p != '\0') {
        size_t n = strcspn(p, ";?&");
        fws_err err = n ? uri_attr(u, p, n, eb) : FWS_OK;
        if (err != FWS_OK)
            return err;
        p += n;
        if (*p != '\0')
            p++;
    }
    if (u->token[0] == '\0' || u->object[0] == '\0')
        return fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 URI: token= and object= are required");
    if (u->module[0] == '\0') {
        const char *env = getenv("FWSEAL_PKCS11_MODULE");
        snprintf(u->module, sizeof(u->module), "%s", env ? env : P11_DEFAULT_MODULE);
    }
    if (u->pin[0] == '\0' && getenv("FWSEAL_PKCS11_PIN") != NULL)
        snprintf(u->pin, sizeof(u->pin), "%s", getenv("FWSEAL_PKCS11_PIN"));
    return FWS_OK;
}

/* ---- the token ---------------------------------------------------------------------------- */

static fws_err ck(CK_RV rv, const char *what, fws_errbuf *eb)
{
    if (rv == CKR_OK)
        return FWS_OK;
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE)
        return fws_errf(eb, FWS_ERR_PASSPHRASE, "PKCS#11 %s: wrong PIN", what);
    return fws_errf(eb, FWS_ERR_CRYPTO, "PKCS#11 %s failed (CKR 0x%lx)", what, (unsigned long)rv);
}

static void p11_close(p11_key *k)
{
    if (k == NULL)
        return;
    /* Login state is shared by every session of the process: closing the last session ends it,
     * and an explicit C_Logout would log out the process's other signers too. */
    if (k->f != NULL && k->session != 0)
        k->f->C_CloseSession(k->session);
    fws_key_free(k->pub);
    if (k->dl != NULL)
        dlclose(k->dl);
    free(k);
}

static fws_err find_slot(p11_key *k, const char *token, CK_SLOT_ID *slot, fws_errbuf *eb)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    fws_err err = ck(k->f->C_GetSlotList(CK_TRUE, slots, &n), "GetSlotList", eb);
    for (CK_ULONG i = 0; err == FWS_OK && i < n; i++) {
        CK_TOKEN_INFO info;
        char label[33];
        if (k->f->C_GetTokenInfo(slots[i], &info) != CKR_OK)
            continue;
        memcpy(label, info.label, 32);
        label[32] = '\0';
        for (int j = 31; j >= 0 && label[j] == ' '; j--)
            label[j] = '\0';
        if (strcmp(label, token) == 0) {
            *slot = slots[i];
            return FWS_OK;
        }
    }
    return err != FWS_OK ? err : fws_errf(eb, FWS_ERR_NOT_FOUND, "no PKCS#11 token '%s'", token);
}

static fws_err p11_open(const p11_uri *u, p11_key **out, fws_errbuf *eb)
{
    CK_C_GetFunctionList get = NULL;
    CK_SLOT_ID slot = 0;
    p11_key *k = calloc(1, sizeof(*k));
    fws_err err = k ? FWS_OK : FWS_ERR_NOMEM;
    if (err == FWS_OK && (k->dl = dlopen(u->module, RTLD_NOW | RTLD_LOCAL)) == NULL)
        err = fws_errf(eb, FWS_ERR_NOT_FOUND, "PKCS#11 module %s: %s", u->module, dlerror());
    if (err == FWS_OK) {
        *(void **)&get = dlsym(k->dl, "C_GetFunctionList");
        if (get == NULL || get(&k->f) != CKR_OK)
            err = fws_errf(eb, FWS_ERR_FORMAT, "%s: not a PKCS#11 module", u->module);
    }
    if (err == FWS_OK) {
        CK_RV rv = k->f->C_Initialize(NULL);
        if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
            err = ck(rv, "Initialize", eb);
    }
    if (err == FWS_OK)
        err = find_slot(k, u->token, &slot, eb);
    if (err == FWS_OK)
        err = ck(
            k->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &k->session),
            "OpenSession", eb);
    if (err == FWS_OK && u->pin[0] == '\0')
        err = fws_errf(eb, FWS_ERR_PASSPHRASE,
                       "PKCS#11: no PIN (pin-value, pin-source or FWSEAL_PKCS11_PIN)");
    if (err == FWS_OK) {
        CK_RV rv = k->f->C_Login(k->session, CKU_USER, (CK_UTF8CHAR_PTR)u->pin, strlen(u->pin));
        if (rv != CKR_USER_ALREADY_LOGGED_IN)
            err = ck(rv, "Login", eb);
    }
    if (err != FWS_OK) {
        p11_close(k);
        return err;
    }
    *out = k;
    return FWS_OK;
}

static fws_err find_object(p11_key *k, CK_OBJECT_CLASS cls, const char *label,
                           CK_OBJECT_HANDLE *out)
{
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_LABEL, (void *)label, strlen(label)},
    };
    CK_ULONG n = 0;
    CK_OBJECT_HANDLE h[2];
    if (k->f->C_FindObjectsInit(k->session, t, 2) != CKR_OK)
        return FWS_ERR_CRYPTO;
    CK_RV rv = k->f->C_FindObjects(k->session, h, 2, &n);
    k->f->C_FindObjectsFinal(k->session);
    if (rv != CKR_OK)
        return FWS_ERR_CRYPTO;
    if (n == 0)
        return FWS_ERR_NOT_FOUND;
    if (n > 1)
        return FWS_ERR_EXISTS;
    *out = h[0];
    return FWS_OK;
}

static const uint8_t p256_params[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

static fws_err generate(p11_key *k, const char *label, CK_OBJECT_HANDLE *pub, fws_errbuf *eb)
{
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_ATTRIBUTE pub_t[] = {
        {CKA_EC_PARAMS, (void *)p256_params, sizeof(p256_params)},
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_VERIFY, &yes, sizeof(yes)},
        {CKA_LABEL, (void *)label, strlen(label)},
    };
    CK_ATTRIBUTE priv_t[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},     {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)}, {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_SIGN, &yes, sizeof(yes)},      {CKA_LABEL, (void *)label, strlen(label)},
    };
    CK_OBJECT_HANDLE h;
    if (find_object(k, CKO_PRIVATE_KEY, label, &h) != FWS_ERR_NOT_FOUND)
        return fws_errf(eb, FWS_ERR_EXISTS, "PKCS#11: the token already holds a key '%s'", label);
    return ck(k->f->C_GenerateKeyPair(k->session, &mech, pub_t, 4, priv_t, 6, pub, &k->priv),
              "GenerateKeyPair", eb);
}

static fws_err load_public(p11_key *k, CK_OBJECT_HANDLE pub, fws_errbuf *eb)
{
    uint8_t point[80];
    CK_ATTRIBUTE a = {CKA_EC_POINT, point, sizeof(point)};
    if (k->f->C_GetAttributeValue(k->session, pub, &a, 1) != CKR_OK)
        return fws_errf(eb, FWS_ERR_CRYPTO, "PKCS#11: cannot read the public key");
    const uint8_t *raw = point;
    size_t len = a.ulValueLen;
    if (len == 67 && point[0] == 0x04 && point[1] == 65) { /* DER OCTET STRING around it */
        raw += 2;
        len -= 2;
    }
    if (fws_key_from_raw_public(FWS_KEY_P256, raw, len, &k->pub) != FWS_OK)
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "PKCS#11: the key is not a P-256 key");
    return FWS_OK;
}

/* ---- the signer --------------------------------------------------------------------------- */

static fws_err p11_sign(void *impl, const uint8_t *msg, size_t len, uint8_t *sig, size_t cap,
                        size_t *sig_len)
{
    p11_key *k = impl;
    uint8_t digest[FWS_SHA256_LEN], rs[64], buf[FWS_SIG_MAX + 8];
    CK_ULONG rs_len = sizeof(rs);
    CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
    der_w w;
    fws_sha256(msg, len, digest);
    if (k->f->C_SignInit(k->session, &mech, k->priv) != CKR_OK ||
        k->f->C_Sign(k->session, digest, sizeof(digest), rs, &rs_len) != CKR_OK || rs_len != 64)
        return FWS_ERR_CRYPTO;
    der_init(&w, buf, sizeof(buf));
    size_t m = der_mark(&w);
    der_uint_bytes(&w, rs + 32, 32);
    der_uint_bytes(&w, rs, 32);
    der_wrap(&w, DER_SEQUENCE, m);
    size_t n = der_take(&w);
    if (n == 0 || n > cap)
        return FWS_ERR_TOO_BIG;
    memcpy(sig, buf, n);
    *sig_len = n;
    return FWS_OK;
}

static fws_err p11_public(void *impl, fws_key **pub)
{
    return fws_key_public_dup(((p11_key *)impl)->pub, pub);
}

static void p11_destroy(void *impl)
{
    p11_close(impl);
}

fws_err fws_pki_pkcs11_signer(const char *uri, int generate_key, fws_signer *out, fws_errbuf *eb)
{
    p11_uri u;
    p11_key *k = NULL;
    CK_OBJECT_HANDLE pub = 0;
    fws_err err = uri_parse(uri, &u, eb);
    if (err == FWS_OK)
        err = p11_open(&u, &k, eb);
    fws_wipe(u.pin, sizeof(u.pin));
    if (err != FWS_OK)
        return err;
    if (generate_key) {
        err = generate(k, u.object, &pub, eb);
    } else {
        err = find_object(k, CKO_PRIVATE_KEY, u.object, &k->priv);
        if (err == FWS_OK)
            err = find_object(k, CKO_PUBLIC_KEY, u.object, &pub);
        if (err != FWS_OK)
            err = fws_errf(eb, err, "PKCS#11: no single key pair labelled '%s'", u.object);
    }
    if (err == FWS_OK)
        err = load_public(k, pub, eb);
    if (err != FWS_OK) {
        p11_close(k);
        return err;
    }
    memset(out, 0, sizeof(*out));
    out->type = FWS_KEY_P256;
    fws_key_id(k->pub, out->keyid);
    out->sign = p11_sign;
    out->public_key = p11_public;
    out->destroy = p11_destroy;
    out->impl = k;
    return FWS_OK;
}

fws_err pki_p11_uri_derive(const char *uri, const char *suffix, int strip_pin, char *out,
                           size_t cap)
{
    size_t k = 0;
    if (uri == NULL || strncmp(uri, "pkcs11:", 7) != 0)
        return FWS_ERR_FORMAT;
    const char *p = uri;
    while (*p != '\0') {
        size_t n = strcspn(p + 1, ";?&") + 1; /* a separator (or "p" of pkcs11:) and an attribute */
        int is_object = (n >= 8 && memcmp(p + 1, "object=", 7) == 0);
        int is_pin = (n >= 11 && memcmp(p + 1, "pin-value=", 10) == 0);
        if (p == uri) {
            n = strcspn(p, ";?&");
            is_object = strncmp(uri, "pkcs11:object=", 14) == 0;
        }
        if (!(strip_pin && is_pin)) {
            if (k + n + strlen(suffix) + 1 > cap)
                return FWS_ERR_TOO_BIG;
            memcpy(out + k, p, n);
            k += n;
            if (is_object) {
                memcpy(out + k, suffix, strlen(suffix));
                k += strlen(suffix);
            }
        }
        p += n;
    }
    out[k] = '\0';
    return FWS_OK;
}
