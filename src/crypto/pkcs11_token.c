/* Tokens, sessions, login and objects for the PKCS#11 signer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/util.h"
#include "pkcs11_internal.h"

#define P11_SLOTS_MAX 256

/* DER of the curve identifiers in CKA_EC_PARAMS. */
static const uint8_t oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
/* PKCS#11 3.0 also allows the curve name as a PrintableString. */
static const uint8_t name_ed25519[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r',
                                       'd',  's',  '2', '5', '5', '1', '9'};

const uint8_t *p11_ec_params(fws_key_type type, size_t *len)
{
    if (type == FWS_KEY_ED25519) {
        *len = sizeof oid_ed25519;
        return oid_ed25519;
    }
    *len = sizeof oid_p256;
    return oid_p256;
}

/* A blank-padded token field, trimmed, equals the URI's value. */
static int field_is(const CK_UTF8CHAR *field, size_t n, const char *want)
{
    while (n > 0 && (field[n - 1] == ' ' || field[n - 1] == '\0'))
        n--;
    return strlen(want) == n && memcmp(field, want, n) == 0;
}

static void field_copy(char *out, size_t cap, const CK_UTF8CHAR *field, size_t n)
{
    while (n > 0 && (field[n - 1] == ' ' || field[n - 1] == '\0'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, field, n);
    out[n] = '\0';
}

static int token_matches(const fws_pkcs11_uri *u, const CK_TOKEN_INFO *t)
{
    return (!u->has_token || field_is(t->label, sizeof t->label, u->token)) &&
           (!u->has_manufacturer ||
            field_is(t->manufacturerID, sizeof t->manufacturerID, u->manufacturer)) &&
           (!u->has_serial || field_is(t->serialNumber, sizeof t->serialNumber, u->serial)) &&
           (!u->has_model || field_is(t->model, sizeof t->model, u->model));
}

static void describe_uri_token(const fws_pkcs11_uri *u, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s%s%s%s%s", u->has_token ? "token=" : "", u->has_token ? u->token : "",
             u->has_serial ? " serial=" : "", u->has_serial ? u->serial : "",
             u->has_slot_id ? " slot-id" : "",
             !u->has_token && !u->has_serial && !u->has_slot_id ? "the URI" : "");
}

/* Finds the one slot whose token matches; CK_TOKEN_INFO of it in *info. */
static fws_err find_slot(CK_FUNCTION_LIST_PTR f, const fws_pkcs11_uri *u, CK_SLOT_ID *slot,
                         CK_TOKEN_INFO *info, fws_errbuf *eb)
{
    CK_SLOT_ID slots[P11_SLOTS_MAX];
    CK_ULONG n = P11_SLOTS_MAX;
    CK_TOKEN_INFO t;
    char what[FWS_PKCS11_TEXT_MAX * 2 + 32];
    size_t matches = 0;
    CK_RV rv = f->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv != CKR_OK)
        return p11_fail(eb, "C_GetSlotList", rv);
    for (CK_ULONG i = 0; i < n; i++) {
        if (u->has_slot_id && slots[i] != u->slot_id)
            continue;
        if (f->C_GetTokenInfo(slots[i], &t) != CKR_OK || !token_matches(u, &t))
            continue;
        if (matches++ == 0) {
            *slot = slots[i];
            *info = t;
        }
    }
    describe_uri_token(u, what, sizeof what);
    if (matches == 0)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "PKCS#11: no token matches %s (%lu tokens present)",
                        what, (unsigned long)n);
    if (matches > 1)
        return fws_errf(eb, FWS_ERR_ARG,
                        "PKCS#11: %zu tokens match %s: add serial= or slot-id= to the URI", matches,
                        what);
    return FWS_OK;
}

fws_err p11_pin(const fws_pkcs11_uri *u, char pin[FWS_PKCS11_PIN_MAX + 1], fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_errbuf why = {{0}};
    if (u->has_pin_value) {
        memcpy(pin, u->pin_value, strlen(u->pin_value) + 1);
        return FWS_OK;
    }
    if (u->has_pin_source) {
        fws_err err = fws_file_read(u->pin_source, FWS_PKCS11_PIN_MAX + 2, &data, &len, &why);
        if (err != FWS_OK)
            return fws_errf(eb, err == FWS_ERR_TOO_BIG ? FWS_ERR_PASSPHRASE : err,
                            "PKCS#11 pin-source: %s", why.msg);
        size_t n = 0;
        while (n < len && data[n] != '\n' && data[n] != '\r' && data[n] != '\0')
            n++;
        if (n > 0 && n <= FWS_PKCS11_PIN_MAX) {
            memcpy(pin, data, n);
            pin[n] = '\0';
        }
        fws_wipe(data, len);
        free(data);
        if (n == 0 || n > FWS_PKCS11_PIN_MAX)
            return fws_errf(eb, FWS_ERR_PASSPHRASE, "PKCS#11 pin-source %s: %s", u->pin_source,
                            n == 0 ? "empty first line" : "PIN too long");
        return FWS_OK;
    }
    const char *env = getenv(FWS_PKCS11_PIN_ENV);
    if (env == NULL || *env == '\0' || strlen(env) > FWS_PKCS11_PIN_MAX)
        return fws_errf(eb, FWS_ERR_PASSPHRASE,
                        "PKCS#11: no user PIN: give pin-value or pin-source in the URI, or set %s",
                        FWS_PKCS11_PIN_ENV);
    memcpy(pin, env, strlen(env) + 1);
    return FWS_OK;
}

static fws_err login(p11_session *s, const fws_pkcs11_uri *u, fws_errbuf *eb)
{
    char pin[FWS_PKCS11_PIN_MAX + 1];
    char buf[32];
    fws_err err = p11_pin(u, pin, eb);
    if (err != FWS_OK)
        return err;
    CK_RV rv = s->f->C_Login(s->h, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    fws_wipe(pin, sizeof pin);
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
        return FWS_OK;
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE)
        return fws_errf(eb, FWS_ERR_PASSPHRASE, "PKCS#11 token \"%s\": wrong user PIN (%s)",
                        s->label, p11_rv_name(rv, buf, sizeof buf));
    if (rv == CKR_PIN_LOCKED || rv == CKR_PIN_EXPIRED)
        return fws_errf(eb, FWS_ERR_PASSPHRASE, "PKCS#11 token \"%s\": the user PIN is %s (%s)",
                        s->label, rv == CKR_PIN_LOCKED ? "locked" : "expired",
                        p11_rv_name(rv, buf, sizeof buf));
    return fws_errf(eb, FWS_ERR_CRYPTO, "PKCS#11 token \"%s\": C_Login: %s", s->label,
                    p11_rv_name(rv, buf, sizeof buf));
}

fws_err p11_session_open(const fws_pkcs11_uri *u, int rw, int want_login, p11_session *s,
                         fws_errbuf *eb)
{
    CK_TOKEN_INFO info;
    p11_session tmp;
    memset(&tmp, 0, sizeof(tmp));
    fws_err err = p11_module_acquire(u, &tmp.module, eb);
    if (err != FWS_OK)
        return err;
    tmp.f = p11_module_functions(tmp.module);
    err = find_slot(tmp.f, u, &tmp.slot, &info, eb);
    if (err == FWS_OK) {
        field_copy(tmp.label, sizeof tmp.label, info.label, sizeof info.label);
        CK_FLAGS flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
        CK_RV rv = tmp.f->C_OpenSession(tmp.slot, flags, NULL, NULL, &tmp.h);
        if (rv != CKR_OK)
            err = p11_fail(eb, "PKCS#11 C_OpenSession", rv);
        tmp.open = rv == CKR_OK;
    }
    if (err == FWS_OK && want_login && (info.flags & CKF_LOGIN_REQUIRED))
        err = login(&tmp, u, eb);
    if (err != FWS_OK) {
        p11_session_close(&tmp);
        return err;
    }
    *s = tmp;
    return FWS_OK;
}

void p11_session_close(p11_session *s)
{
    if (s == NULL)
        return;
    if (s->open)
        s->f->C_CloseSession(s->h);
    p11_module_release(s->module);
    memset(s, 0, sizeof(*s));
}

static void describe_object(const fws_pkcs11_uri *u, char *buf, size_t cap)
{
    char id[2 * FWS_PKCS11_ID_MAX + 1];
    fws_hex_encode(u->id, u->id_len, id);
    snprintf(buf, cap, "%s%s%s%s%s", u->has_object ? "object=" : "", u->has_object ? u->object : "",
             u->has_object && u->has_id ? " " : "", u->has_id ? "id=" : "", u->has_id ? id : "");
    if (!u->has_object && !u->has_id)
        snprintf(buf, cap, "any object");
}

fws_err p11_find_one(p11_session *s, const fws_pkcs11_uri *u, CK_OBJECT_CLASS cls,
                     CK_OBJECT_HANDLE *out, fws_errbuf *eb)
{
    CK_ATTRIBUTE t[3];
    CK_ULONG n = 0, found = 0;
    CK_OBJECT_HANDLE h[2];
    char what[FWS_PKCS11_LABEL_MAX + 2 * FWS_PKCS11_ID_MAX + 32];
    t[n++] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof cls};
    if (u->has_object)
        t[n++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)u->object, strlen(u->object)};
    if (u->has_id)
        t[n++] = (CK_ATTRIBUTE){CKA_ID, (void *)u->id, u->id_len};
    CK_RV rv = s->f->C_FindObjectsInit(s->h, t, n);
    if (rv != CKR_OK)
        return p11_fail(eb, "PKCS#11 C_FindObjectsInit", rv);
    rv = s->f->C_FindObjects(s->h, h, 2, &found);
    s->f->C_FindObjectsFinal(s->h);
    if (rv != CKR_OK)
        return p11_fail(eb, "PKCS#11 C_FindObjects", rv);
    describe_object(u, what, sizeof what);
    const char *kind = cls == CKO_PRIVATE_KEY ? "private key" : "public key";
    if (found == 0)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "PKCS#11 token \"%s\": no %s with %s", s->label,
                        kind, what);
    if (found > 1)
        return fws_errf(eb, FWS_ERR_ARG,
                        "PKCS#11 token \"%s\": several %ss match %s: add id= or object=", s->label,
                        kind, what);
    *out = h[0];
    return FWS_OK;
}

fws_err p11_count_matching(p11_session *s, CK_ATTRIBUTE_TYPE type, const void *value, size_t len,
                           CK_ULONG *count, fws_errbuf *eb)
{
    CK_ATTRIBUTE t = {type, (void *)value, len};
    CK_OBJECT_HANDLE h[1];
    CK_ULONG found = 0;
    CK_RV rv = s->f->C_FindObjectsInit(s->h, &t, 1);
    if (rv != CKR_OK)
        return p11_fail(eb, "PKCS#11 C_FindObjectsInit", rv);
    rv = s->f->C_FindObjects(s->h, h, 1, &found);
    s->f->C_FindObjectsFinal(s->h);
    if (rv != CKR_OK)
        return p11_fail(eb, "PKCS#11 C_FindObjects", rv);
    *count = found;
    return FWS_OK;
}

fws_err p11_get_attr(p11_session *s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, void *buf,
                     size_t cap, size_t *len, fws_errbuf *eb)
{
    CK_ATTRIBUTE a = {type, buf, cap};
    CK_RV rv = s->f->C_GetAttributeValue(s->h, o, &a, 1);
    if (rv == CKR_ATTRIBUTE_TYPE_INVALID || a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "PKCS#11 object has no attribute 0x%lx",
                        (unsigned long)type);
    if (rv == CKR_BUFFER_TOO_SMALL || a.ulValueLen > cap)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "PKCS#11 attribute 0x%lx longer than %zu bytes",
                        (unsigned long)type, cap);
    if (rv != CKR_OK)
        return p11_fail(eb, "PKCS#11 C_GetAttributeValue", rv);
    *len = a.ulValueLen;
    return FWS_OK;
}

fws_err p11_key_type(p11_session *s, CK_OBJECT_HANDLE o, fws_key_type *out, fws_errbuf *eb)
{
    CK_KEY_TYPE kt = 0;
    uint8_t params[64];
    size_t len = 0;
    fws_err err = p11_get_attr(s, o, CKA_KEY_TYPE, &kt, sizeof kt, &len, eb);
    if (err != FWS_OK)
        return err;
    if (kt != CKK_EC && kt != CKK_EC_EDWARDS)
        return fws_errf(eb, FWS_ERR_KEY_TYPE,
                        "PKCS#11 key type 0x%lx: fwseal signs with Ed25519 or ECDSA P-256",
                        (unsigned long)kt);
    err = p11_get_attr(s, o, CKA_EC_PARAMS, params, sizeof params, &len, eb);
    if (err != FWS_OK)
        return err;
    if (kt == CKK_EC && len == sizeof oid_p256 && memcmp(params, oid_p256, len) == 0) {
        *out = FWS_KEY_P256;
        return FWS_OK;
    }
    if (kt == CKK_EC_EDWARDS &&
        ((len == sizeof oid_ed25519 && memcmp(params, oid_ed25519, len) == 0) ||
         (len == sizeof name_ed25519 && memcmp(params, name_ed25519, len) == 0))) {
        *out = FWS_KEY_ED25519;
        return FWS_OK;
    }
    return fws_errf(eb, FWS_ERR_KEY_TYPE,
                    "PKCS#11 key on a curve other than P-256 and Ed25519: fwseal signs with those");
}

/* CKA_EC_POINT is a DER OCTET STRING holding the point; some modules give the bare point. */
static int unwrap_point(const uint8_t *p, size_t len, size_t want, const uint8_t **raw)
{
    if (len == want + 2 && p[0] == 0x04 && p[1] == want) {
        *raw = p + 2;
        return 1;
    }
    if (len == want) {
        *raw = p;
        return 1;
    }
    return 0;
}

fws_err p11_public_from_object(p11_session *s, CK_OBJECT_HANDLE o, fws_key_type type, fws_key **out,
                               fws_errbuf *eb)
{
    uint8_t point[FWS_PUBKEY_MAX + 8];
    const uint8_t *raw = NULL;
    size_t len = 0, want = type == FWS_KEY_ED25519 ? 32 : 65;
    fws_err err = p11_get_attr(s, o, CKA_EC_POINT, point, sizeof point, &len, eb);
    if (err != FWS_OK)
        return fws_errf(eb, err, "PKCS#11 public key: CKA_EC_POINT");
    if (!unwrap_point(point, len, want, &raw))
        return fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 public key: CKA_EC_POINT of %zu bytes", len);
    err = fws_key_from_raw_public(type, raw, want, out);
    if (err != FWS_OK)
        return fws_errf(eb, err, "PKCS#11 public key: not a valid %s point",
                        fws_key_type_name(type));
    return FWS_OK;
}
