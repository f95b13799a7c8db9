/* Signers for the command line: a private key file or a key in a PKCS#11 token. */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "fwseal/pkcs11.h"

/* The URI with pin-source=<passfile> added, when the URI names no PIN of its own. */
static fws_err uri_with_pin_file(const char *uri, const char *passfile, char *out, size_t cap,
                                 fws_errbuf *eb)
{
    static const char hex[] = "0123456789ABCDEF";
    fws_pkcs11_uri u;
    fws_err err = fws_pkcs11_uri_parse(uri, &u, eb);
    if (err != FWS_OK)
        return err;
    int has_pin = u.has_pin_value || u.has_pin_source;
    fws_pkcs11_uri_wipe(&u);
    size_t k = strlen(uri);
    if (k >= cap)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "PKCS#11 URI too long");
    memcpy(out, uri, k + 1);
    if (has_pin || passfile == NULL)
        return FWS_OK;
    int n = snprintf(out + k, cap - k, "%spin-source=file:", strchr(uri, '?') ? "&" : "?");
    if (n < 0 || (size_t)n >= cap - k)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "PKCS#11 URI too long");
    k += (size_t)n;
    for (const unsigned char *p = (const unsigned char *)passfile; *p != '\0'; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("-._~/", *p) != NULL;
        if (k + 4 >= cap)
            return fws_errf(eb, FWS_ERR_TOO_BIG, "PKCS#11 URI too long");
        if (plain) {
            out[k++] = (char)*p;
        } else {
            out[k++] = '%';
            out[k++] = hex[*p >> 4];
            out[k++] = hex[*p & 15];
        }
    }
    out[k] = '\0';
    return FWS_OK;
}

fws_err cli_load_signer(const char *ref, const char *passfile, fws_signer *out, fws_errbuf *eb)
{
    fws_key *k = NULL;
    if (ref == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no key given");
    if (fws_pkcs11_is_uri(ref)) {
        char uri[FWS_PKCS11_URI_MAX + FWS_PKCS11_PATH_MAX * 3 + 32];
        fws_err err = uri_with_pin_file(ref, passfile, uri, sizeof uri, eb);
        if (err == FWS_OK)
            err = fws_pkcs11_signer(uri, out, eb);
        fws_wipe(uri, sizeof uri);
        return err;
    }
    fws_err err = cli_load_private_key(ref, passfile, &k, eb);
    if (err != FWS_OK)
        return err;
    err = fws_signer_from_key(k, out);
    if (err != FWS_OK) {
        fws_key_free(k);
        return fws_errf(eb, err, "%s: cannot sign with this key", ref);
    }
    return FWS_OK;
}
