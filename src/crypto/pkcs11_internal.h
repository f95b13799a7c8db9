/* Internals of the PKCS#11 signer: modules, tokens, sessions, objects. Nothing outside
 * src/crypto/pkcs11*.c includes this. */
#ifndef FWSEAL_CRYPTO_PKCS11_INTERNAL_H
#define FWSEAL_CRYPTO_PKCS11_INTERNAL_H

#include <p11-kit-1/p11-kit/pkcs11.h>
#include "fwseal/pkcs11.h"

/* ---- modules (pkcs11_module.c) ------------------------------------------------------------- */

/* A loaded, initialized module. C_Initialize is process-wide, so modules are shared and
 * counted: the last p11_module_release finalizes and unloads. */
typedef struct p11_module p11_module;

/* Loads the module named by the URI's module-path, else $FWSEAL_PKCS11_MODULE. */
fws_err p11_module_acquire(const fws_pkcs11_uri *u, p11_module **out, fws_errbuf *eb);
void p11_module_release(p11_module *m);
CK_FUNCTION_LIST_PTR p11_module_functions(const p11_module *m);

/* "CKR_PIN_INCORRECT" and so on (a hex number for codes it does not know). */
const char *p11_rv_name(CK_RV rv, char *buf, size_t cap);
/* FWS_ERR_CRYPTO with "<what>: <CKR name>" in eb. */
fws_err p11_fail(fws_errbuf *eb, const char *what, CK_RV rv);

/* ---- tokens, sessions and objects (pkcs11_token.c) ------------------------------------------ */

/* A session on the one token the URI selects. */
typedef struct p11_session {
    p11_module *module;
    CK_FUNCTION_LIST_PTR f;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE h;
    int open;
    char label[FWS_PKCS11_TEXT_MAX + 1]; /* the token's label, for messages */
} p11_session;

/* Loads the module, finds exactly one token matching the URI, opens a session (read-write when
 * rw is set) and, when login is set, logs the user in with the URI's PIN (pin-value, pin-source,
 * else $FWSEAL_PKCS11_PIN). */
fws_err p11_session_open(const fws_pkcs11_uri *u, int rw, int login, p11_session *s,
                         fws_errbuf *eb);
void p11_session_close(p11_session *s);

/* Reads the PIN the URI asks for into pin (NUL-terminated); FWS_ERR_PASSPHRASE when none. */
fws_err p11_pin(const fws_pkcs11_uri *u, char pin[FWS_PKCS11_PIN_MAX + 1], fws_errbuf *eb);

/* Finds the single object of class cls matching the URI's object label and id (at least one of
 * them may be absent). FWS_ERR_NOT_FOUND when none, FWS_ERR_ARG when several. */
fws_err p11_find_one(p11_session *s, const fws_pkcs11_uri *u, CK_OBJECT_CLASS cls,
                     CK_OBJECT_HANDLE *out, fws_errbuf *eb);
/* Counts objects (any class) with the given label or id; used before generating. */
fws_err p11_count_matching(p11_session *s, CK_ATTRIBUTE_TYPE type, const void *value, size_t len,
                           CK_ULONG *count, fws_errbuf *eb);

/* One attribute into buf (cap bytes); FWS_ERR_NOT_FOUND when the object does not have it. */
fws_err p11_get_attr(p11_session *s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, void *buf,
                     size_t cap, size_t *len, fws_errbuf *eb);

/* The fwseal key type of a key object from CKA_KEY_TYPE and CKA_EC_PARAMS. */
fws_err p11_key_type(p11_session *s, CK_OBJECT_HANDLE o, fws_key_type *out, fws_errbuf *eb);
/* The public key of a public-key object (CKA_EC_POINT, DER-wrapped or raw). */
fws_err p11_public_from_object(p11_session *s, CK_OBJECT_HANDLE o, fws_key_type type, fws_key **out,
                               fws_errbuf *eb);
/* The DER of the curve OID CKA_EC_PARAMS holds for each key type. */
const uint8_t *p11_ec_params(fws_key_type type, size_t *len);

/* ---- signatures (pkcs11_signer.c) ----------------------------------------------------------- */

/* r || s (2 x 32 bytes) as a DER ECDSA-Sig-Value; out needs FWS_SIG_MAX bytes. */
fws_err p11_ecdsa_der(const uint8_t rs[64], uint8_t *out, size_t cap, size_t *len);

#endif
