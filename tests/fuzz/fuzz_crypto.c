/* libFuzzer target for the crypto module's parsers: strict base64 and hex, PEM public keys,
 * SPKI DER, raw public keys and signature verification on hostile bytes.
 * Properties checked:
 *  - base64 that decodes re-encodes to exactly the input (one encoding per byte string);
 *  - hex that decodes re-encodes to the input in lower case;
 *  - a public key that parses re-encodes (PEM and DER) to a key with the same key ID;
 *  - no signature verifies under a fixed honest key, and hostile keys never crash. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include "fwseal/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT 8192

static void check_base64(const uint8_t *data, size_t size)
{
    static uint8_t out[FUZZ_MAX_INPUT];
    static char enc[FWS_BASE64_LEN(FUZZ_MAX_INPUT) + 1];
    size_t len = 0;
    if (fws_base64_decode((const char *)data, size, out, sizeof(out), &len) != FWS_OK)
        return;
    if (fws_base64_encode(out, len, enc) != size || memcmp(enc, data, size) != 0)
        abort();
}

static void check_hex(const uint8_t *data, size_t size)
{
    static uint8_t out[FUZZ_MAX_INPUT];
    static char enc[2 * FUZZ_MAX_INPUT + 1];
    size_t len = 0;
    if (fws_hex_decode((const char *)data, size, out, sizeof(out), &len) != FWS_OK)
        return;
    fws_hex_encode(out, len, enc);
    for (size_t i = 0; i < size; i++) {
        if (enc[i] != tolower(data[i]))
            abort();
    }
}

static void check_same_id(const fws_key *k)
{
    char id[FWS_KEYID_LEN], id2[FWS_KEYID_LEN];
    char *pem = NULL;
    uint8_t *der = NULL;
    size_t der_len = 0;
    fws_key *again = NULL;

    fws_key_id(k, id);
    if (fws_key_public_pem(k, &pem) != FWS_OK ||
        fws_key_from_public_pem(pem, strlen(pem), &again, NULL) != FWS_OK)
        abort();
    fws_key_id(again, id2);
    if (strcmp(id, id2) != 0)
        abort();
    fws_key_free(again);
    again = NULL;
    if (fws_key_spki_der(k, &der, &der_len) != FWS_OK ||
        fws_key_from_spki_der(der, der_len, &again, NULL) != FWS_OK)
        abort();
    fws_key_id(again, id2);
    if (strcmp(id, id2) != 0)
        abort();
    fws_key_free(again);
    free(der);
    free(pem);
}

static void check_keys(const uint8_t *data, size_t size)
{
    fws_key *k = NULL;
    fws_errbuf eb = {{0}};
    if (fws_key_from_public_pem((const char *)data, size, &k, &eb) == FWS_OK) {
        check_same_id(k);
        fws_key_free(k);
        k = NULL;
    }
    if (fws_key_from_spki_der(data, size, &k, &eb) == FWS_OK) {
        check_same_id(k);
        fws_key_free(k);
    }
}

/* RFC 8032 TEST 1's public key: an honest key, whose private half the fuzzer does not have. */
static const uint8_t honest_ed25519[32] = {
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
    0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};

/* Under the honest key, a signature that verifies would be a forgery. Under a key the fuzzer
 * chooses, only the absence of crashes is checked (weak keys are the parser's business). */
static void check_verify(const uint8_t *data, size_t size)
{
    fws_sig_alg alg;
    size_t pub_len, rest;
    fws_err err;
    if (size < 1)
        return;
    if (data[0] & 2) {
        rest = size - 1;
        err = fws_openssl_sig_ops.verify(FWS_SIG_ED25519, honest_ed25519, 32, data + 1,
                                         rest - rest / 2, data + 1 + rest - rest / 2, rest / 2);
        if (err == FWS_OK && rest > 0) /* TEST 1 signs the empty message only */
            abort();
        return;
    }
    alg = (data[0] & 1) ? FWS_SIG_ED25519 : FWS_SIG_ECDSA_P256;
    pub_len = alg == FWS_SIG_ED25519 ? 32 : 65;
    if (size < 1 + pub_len)
        return;
    rest = size - 1 - pub_len;
    (void)fws_openssl_sig_ops.verify(alg, data + 1, pub_len, data + 1 + pub_len, rest / 2,
                                     data + 1 + pub_len + rest / 2, rest - rest / 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    switch (data[0] % 4) {
    case 0:
        check_base64(data + 1, size - 1);
        break;
    case 1:
        check_hex(data + 1, size - 1);
        break;
    case 2:
        check_keys(data + 1, size - 1);
        break;
    default:
        check_verify(data + 1, size - 1);
        break;
    }
    if (ERR_peek_error() != 0) /* failures must not leave OpenSSL errors behind */
        abort();
    return 0;
}
