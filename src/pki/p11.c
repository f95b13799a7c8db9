/* P-256 keys in a PKCS#11 token (SoftHSM2 in tests) for the PKI: made on the bench for a device,
 * or holding a CA's key. The token work is the crypto layer's (include/fwseal/pkcs11.h); this
 * file only adds what provisioning needs on top: generate-then-open, and labels derived from a
 * prefix for the CA keys. */
#include <stdio.h>
#include <string.h>
#include "fwseal/pkcs11.h"
#include "pki/internal.h"

fws_err fws_pki_pkcs11_signer(const char *uri, int generate_key, fws_signer *out, fws_errbuf *eb)
{
    char made[FWS_PKCS11_URI_MAX + 1], full[2 * FWS_PKCS11_URI_MAX + 2];
    fws_signer s;
    fws_err err = FWS_OK;
    if (uri == NULL || !fws_pkcs11_is_uri(uri))
        return fws_errf(eb, FWS_ERR_FORMAT, "not a PKCS#11 URI (pkcs11:token=...;object=...)");
    const char *open_uri = uri;
    if (generate_key) {
        /* The new key's URI names token, object and id; the module and PIN stay in the query
         * of the URI we were given. */
        err = fws_pkcs11_generate(uri, FWS_KEY_P256, NULL, made, sizeof(made), eb);
        const char *query = strchr(uri, '?');
        if (err == FWS_OK &&
            snprintf(full, sizeof(full), "%s%s", made, query ? query : "") >= (int)sizeof(full))
            err = fws_errf(eb, FWS_ERR_TOO_BIG, "PKCS#11 URI too long");
        open_uri = full;
    }
    if (err == FWS_OK)
        err = fws_pkcs11_signer(open_uri, &s, eb);
    fws_wipe(full, sizeof(full));
    if (err != FWS_OK)
        return err;
    if (s.type != FWS_KEY_P256) {
        fws_signer_free(&s);
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "PKCS#11: the key is not a P-256 key");
    }
    *out = s;
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
