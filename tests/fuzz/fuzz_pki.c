/* libFuzzer target for what the PKI reads from others: PKCS#10 requests (PEM or DER), peer
 * certificates, EST request paths, and the DER header reader. Properties checked:
 *  - a request that passes the check yields a SubjectPublicKeyInfo that parses as a P-256 key;
 *  - a certificate that converts to DER converts again to the same bytes;
 *  - the DER header reader never claims more bytes than there are. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/pki.h"
#include "pki/der.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_csr(const uint8_t *data, size_t size)
{
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    fws_key *k = NULL;
    if (fws_pki_csr_check(data, size, &spki, &spki_len, NULL) != FWS_OK)
        return;
    if (fws_key_from_spki_der(spki, spki_len, &k, NULL) != FWS_OK ||
        fws_key_get_type(k) != FWS_KEY_P256)
        abort();
    fws_key_free(k);
    free(spki);
}

static void check_cert(const uint8_t *data, size_t size)
{
    uint8_t *der = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    int64_t nb, na;
    if (fws_pki_cert_der(data, size, &der, &len, NULL) != FWS_OK)
        return;
    if (fws_pki_cert_der(der, len, &again, &len2, NULL) != FWS_OK || len2 != len ||
        memcmp(der, again, len) != 0)
        abort();
    (void)!fws_pki_cert_validity(der, len, &nb, &na);
    free(der);
    free(again);
}

static void check_der(const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (off < size) {
        uint8_t tag;
        size_t hdr, body;
        if (der_read_header(data + off, size - off, &tag, &hdr, &body) != FWS_OK)
            return;
        if (hdr + body > size - off)
            abort();
        off += hdr + body;
    }
}

static void check_path(const uint8_t *data, size_t size)
{
    char path[128];
    fws_est_op op;
    fws_pki_env env;
    if (size >= sizeof(path))
        return;
    memcpy(path, data, size);
    path[size] = '\0';
    if (fws_est_parse_path(path, &op, &env) == FWS_OK &&
        strncmp(path, "/.well-known/est/", 17) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_csr(data, size);
    check_cert(data, size);
    check_der(data, size);
    check_path(data, size);
    return 0;
}
