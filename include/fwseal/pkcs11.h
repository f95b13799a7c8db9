/* Signing keys in a PKCS#11 token (an HSM, a smart card; SoftHSM2 in the tests), behind the same
 * fws_signer interface as key files.
 *
 * A key is named by an RFC 7512 PKCS#11 URI, for example
 *   pkcs11:token=fwseal;object=release-2024;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so
 *   pkcs11:token=fwseal;id=%01%02;type=private?pin-source=file:/etc/fwseal/token.pin
 * Path attributes select the token (token, manufacturer, serial, model, slot-id) and the key
 * (object = CKA_LABEL, id = CKA_ID, type must be "private" when given); query attributes give the
 * module (module-path, else $FWSEAL_PKCS11_MODULE) and the user PIN (pin-value, else the first
 * line of pin-source, else $FWSEAL_PKCS11_PIN). Keys are Ed25519 (CKM_EDDSA) or ECDSA P-256
 * (CKM_ECDSA over SHA-256, returned DER-encoded like fws_key_sign); every signature is checked
 * against the token's public key before it is returned.
 *
 * A signer holds a logged-in session: use it from one thread at a time.
 */
#ifndef FWSEAL_PKCS11_H
#define FWSEAL_PKCS11_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FWS_PKCS11_SCHEME "pkcs11:"
#define FWS_PKCS11_MODULE_ENV "FWSEAL_PKCS11_MODULE"
#define FWS_PKCS11_PIN_ENV "FWSEAL_PKCS11_PIN"

#define FWS_PKCS11_URI_MAX 4096 /* bytes of URI text */
#define FWS_PKCS11_TEXT_MAX 64  /* decoded bytes of token, manufacturer, serial, model */
#define FWS_PKCS11_LABEL_MAX 256
#define FWS_PKCS11_ID_MAX 64
#define FWS_PKCS11_PIN_MAX 256
#define FWS_PKCS11_PATH_MAX 1024

/* A parsed URI: each has_* flag says whether the attribute was present. */
typedef struct fws_pkcs11_uri {
    char token[FWS_PKCS11_TEXT_MAX + 1];
    char manufacturer[FWS_PKCS11_TEXT_MAX + 1];
    char serial[FWS_PKCS11_TEXT_MAX + 1];
    char model[FWS_PKCS11_TEXT_MAX + 1];
    char object[FWS_PKCS11_LABEL_MAX + 1];
    uint8_t id[FWS_PKCS11_ID_MAX];
    size_t id_len;
    unsigned long slot_id;
    char module_path[FWS_PKCS11_PATH_MAX + 1];
    char pin_source[FWS_PKCS11_PATH_MAX + 1]; /* the file path, "file:" removed */
    char pin_value[FWS_PKCS11_PIN_MAX + 1];
    int has_token, has_manufacturer, has_serial, has_model, has_object, has_id, has_slot_id;
    int has_module_path, has_pin_source, has_pin_value;
} fws_pkcs11_uri;

/* 1 when ref starts with "pkcs11:" (case-insensitive scheme), else 0. */
int fws_pkcs11_is_uri(const char *ref);

/* Parses an RFC 7512 URI (percent-decoding each value). FWS_ERR_FORMAT names the offending
 * attribute: not "pkcs11:", an attribute given twice, a bad %XX escape, a value too long, a NUL
 * byte in a text value, a slot-id that is not a number, a type other than "private", or an
 * attribute fwseal does not use (module-name and vendor "x-" attributes included). pin-value is
 * wiped with the struct by fws_pkcs11_uri_wipe. */
fws_err fws_pkcs11_uri_parse(const char *uri, fws_pkcs11_uri *out, fws_errbuf *eb) FWS_MUST_CHECK;
void fws_pkcs11_uri_wipe(fws_pkcs11_uri *u);

/* Opens the key the URI names as a signer (type, key ID and public key from the token).
 * Errors, with the token and object in eb: FWS_ERR_FORMAT (a bad URI), FWS_ERR_ARG (no module
 * given, or the URI matches several tokens or keys), FWS_ERR_NOT_FOUND (module file, token, key
 * or its public key object missing), FWS_ERR_PASSPHRASE (no PIN, wrong PIN, PIN locked),
 * FWS_ERR_KEY_TYPE (not Ed25519 or P-256), FWS_ERR_CRYPTO (any other token failure, with its
 * CKR_ code). The signer's sign returns FWS_ERR_CRYPTO when the token fails and
 * FWS_ERR_SIGNATURE when what it returned does not verify with the public key. */
fws_err fws_pkcs11_signer(const char *uri, fws_signer *out, fws_errbuf *eb) FWS_MUST_CHECK;

/* The public key of the key pair the URI names (no PIN needed when the public key object is
 * public), as a new public-only fws_key, or as SPKI PEM text the caller frees. */
fws_err fws_pkcs11_public_key(const char *uri, fws_key **out, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_pkcs11_public_pem(const char *uri, char **pem, fws_errbuf *eb) FWS_MUST_CHECK;

/* Generates a key pair inside the token (C_GenerateKeyPair): the private key is sensitive and
 * not extractable, both halves are token objects carrying the URI's object label and id (a
 * random 16-byte id when the URI gives none). Needs object= or id=; FWS_ERR_EXISTS when the token
 * already holds a key with that label or id. On success *pub (may be NULL) is the new public key
 * and uri_out (may be NULL) receives a URI naming the new private key by token, object and id
 * (the query part, PIN included, is not copied). */
fws_err fws_pkcs11_generate(const char *uri, fws_key_type type, fws_key **pub, char *uri_out,
                            size_t uri_cap, fws_errbuf *eb) FWS_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
