/* PKI building blocks: the DER writer, CSRs made through a signer and their checks, PKCS#7
 * certs-only, EST paths, names and the renewal point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/x509.h>
#include "fwseal/pki.h"
#include "pki/der.h"

static void test_der_integers(void **state)
{
    static const struct {
        uint64_t v;
        const char *hex;
    } cases[] = {
        {0, "020100"},
        {127, "02017f"},
        {128, "02020080"},
        {255, "020200ff"},
        {256, "02020100"},
        {0x8000, "0203008000"},
        {UINT64_MAX, "020900ffffffffffffffff"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t buf[32];
        char hex[65];
        der_w w;
        der_init(&w, buf, sizeof(buf));
        der_uint(&w, cases[i].v);
        assert_int_equal(der_status(&w), FWS_OK);
        size_t n = der_take(&w);
        fws_hex_encode(buf, n, hex);
        assert_string_equal(hex, cases[i].hex);
    }
}

static void test_der_lengths_and_overflow(void **state)
{
    uint8_t buf[300], body[200];
    der_w w;
    uint8_t tag;
    size_t hdr, n;
    (void)state;
    memset(body, 0xab, sizeof(body));
    der_init(&w, buf, sizeof(buf));
    der_tlv(&w, DER_OCTET_STRING, body, sizeof(body));
    size_t len = der_take(&w);
    assert_int_equal(len, 203); /* 04 81 c8 + 200 */
    assert_int_equal(buf[1], 0x81);
    assert_int_equal(der_read_header(buf, len, &tag, &hdr, &n), FWS_OK);
    assert_int_equal(tag, DER_OCTET_STRING);
    assert_int_equal(hdr, 3);
    assert_int_equal(n, 200);
    /* A header promising more than there is. */
    assert_int_equal(der_read_header(buf, 100, &tag, &hdr, &n), FWS_ERR_LENGTH);
    assert_int_equal(der_read_header(buf, 1, &tag, &hdr, &n), FWS_ERR_FORMAT);
    /* Too small a buffer: a sticky error, nothing readable. */
    der_init(&w, buf, 50);
    der_tlv(&w, DER_OCTET_STRING, body, sizeof(body));
    der_uint(&w, 1);
    assert_int_equal(der_status(&w), FWS_ERR_TOO_BIG);
    assert_null(der_data(&w));
    assert_int_equal(der_take(&w), 0);
}

static void test_der_time(void **state)
{
    uint8_t buf[32];
    der_w w;
    (void)state;
    der_init(&w, buf, sizeof(buf));
    der_time(&w, 1700000000); /* 2023-11-14T22:13:20Z */
    size_t n = der_take(&w);
    assert_int_equal(buf[0], DER_UTC_TIME);
    assert_int_equal(n, 15);
    assert_memory_equal(buf + 2, "231114221320Z", 13);
    der_init(&w, buf, sizeof(buf));
    der_time(&w, 2556143999); /* 2050-12-31T23:59:59Z */
    n = der_take(&w);
    assert_int_equal(buf[0], DER_GENERALIZED_TIME);
    assert_memory_equal(buf + 2, "20501231235959Z", 15);
}

static fws_signer new_signer(fws_key_type type)
{
    fws_key *k = NULL;
    fws_signer s;
    assert_int_equal(fws_key_generate(type, &k), FWS_OK);
    assert_int_equal(fws_signer_from_key(k, &s), FWS_OK);
    return s;
}

static void test_csr_round_trip(void **state)
{
    fws_signer s = new_signer(FWS_KEY_P256);
    fws_key *pub = NULL;
    uint8_t *csr = NULL, *spki = NULL, *want = NULL;
    size_t csr_len = 0, spki_len = 0, want_len = 0;
    fws_errbuf eb = {{0}};
    (void)state;
    assert_int_equal(fws_pki_csr_create(&s, "unit-1", "SN-1", &csr, &csr_len, &eb), FWS_OK);
    /* openssl parses it and finds the proof of possession good. */
    const unsigned char *p = csr;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)csr_len);
    assert_non_null(req);
    assert_int_equal(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
    X509_REQ_free(req);
    assert_int_equal(fws_pki_csr_check(csr, csr_len, &spki, &spki_len, &eb), FWS_OK);
    assert_int_equal(fws_signer_public_key(&s, &pub), FWS_OK);
    assert_int_equal(fws_key_spki_der(pub, &want, &want_len), FWS_OK);
    assert_int_equal(spki_len, want_len);
    assert_memory_equal(spki, want, want_len);
    free(spki);
    free(want);
    fws_key_free(pub);

    /* Every single-bit flip of the request is refused (never accepted, never a crash). */
    for (size_t bit = 0; bit < csr_len * 8; bit += 7) {
        csr[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        fws_errbuf e2 = {{0}};
        spki = NULL;
        fws_err err = fws_pki_csr_check(csr, csr_len, &spki, &spki_len, &e2);
        if (err == FWS_OK) {
            /* A flip inside the signature's DER integer padding cannot exist; any success
             * must still be a valid self-signature, which a flipped byte cannot be. */
            fail_msg("bit %zu: accepted", bit);
        }
        assert_null(spki);
        csr[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* Truncated, empty, oversized, garbage. */
    assert_int_equal(fws_pki_csr_check(csr, csr_len - 1, &spki, &spki_len, &eb), FWS_ERR_FORMAT);
    assert_int_equal(fws_pki_csr_check(csr, 0, &spki, &spki_len, &eb), FWS_ERR_FORMAT);
    assert_int_equal(fws_pki_csr_check(csr, FWS_PKI_CSR_MAX + 1, &spki, &spki_len, &eb),
                     FWS_ERR_TOO_BIG);
    assert_int_equal(
        fws_pki_csr_check((const uint8_t *)"-----BEGIN nothing", 18, &spki, &spki_len, &eb),
        FWS_ERR_FORMAT);
    free(csr);
    fws_signer_free(&s);
}

static void test_csr_refuses_other_keys(void **state)
{
    fws_signer s = new_signer(FWS_KEY_ED25519);
    uint8_t *csr = NULL, *spki = NULL;
    size_t csr_len = 0, spki_len = 0;
    fws_errbuf eb = {{0}};
    (void)state;
    assert_int_equal(fws_pki_csr_create(&s, "unit-2", NULL, &csr, &csr_len, &eb), FWS_OK);
    assert_int_equal(fws_pki_csr_check(csr, csr_len, &spki, &spki_len, &eb), FWS_ERR_KEY_TYPE);
    assert_non_null(strstr(eb.msg, "P-256 keys only"));
    free(csr);
    fws_signer_free(&s);
    /* Names outside the allowed characters are refused before anything is signed. */
    s = new_signer(FWS_KEY_P256);
    assert_int_equal(fws_pki_csr_create(&s, "bad name", NULL, &csr, &csr_len, NULL), FWS_ERR_ARG);
    assert_int_equal(fws_pki_csr_create(&s, "ok", "SN_1", &csr, &csr_len, NULL), FWS_ERR_ARG);
    fws_signer_free(&s);
}

static void test_certs_only(void **state)
{
    /* Two self-made certificates stand in for the chain: PKCS#7 only carries them. */
    static const uint8_t a[] = {0x30, 0x03, 0x02, 0x01, 0x05};
    static const uint8_t b[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    const uint8_t *certs[2] = {a, b};
    size_t lens[2] = {sizeof(a), sizeof(b)};
    uint8_t *der = NULL;
    size_t len = 0;
    (void)state;
    assert_int_equal(fws_pki_certs_only(certs, lens, 2, &der, &len), FWS_OK);
    /* SET OF in DER order: b (…01) before a (…05). */
    const uint8_t *pb = NULL, *pa = NULL;
    for (size_t i = 0; i + sizeof(a) <= len; i++) {
        if (memcmp(der + i, a, sizeof(a)) == 0)
            pa = der + i;
        if (memcmp(der + i, b, sizeof(b)) == 0)
            pb = der + i;
    }
    assert_non_null(pa);
    assert_non_null(pb);
    assert_true(pb < pa);
    /* ContentInfo { signedData, [0] { SignedData v1 ... } } (openssl reads it with real
     * certificates in test_pki_est). */
    static const uint8_t signed_data[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                          0xf7, 0x0d, 0x01, 0x07, 0x02};
    assert_int_equal(der[0], 0x30);
    assert_memory_equal(der + 2, signed_data, sizeof(signed_data));
    assert_int_equal(len, (size_t)der[1] + 2);
    free(der);
    assert_int_equal(fws_pki_certs_only(certs, lens, 0, &der, &len), FWS_ERR_ARG);
}

static void test_est_paths(void **state)
{
    fws_est_op op;
    fws_pki_env env;
    (void)state;
    assert_int_equal(fws_est_parse_path("/.well-known/est/cacerts", &op, &env), FWS_OK);
    assert_int_equal(op, FWS_EST_CACERTS);
    assert_int_equal(env, 0);
    assert_int_equal(fws_est_parse_path("/.well-known/est/prod/simplereenroll", &op, &env), FWS_OK);
    assert_int_equal(op, FWS_EST_SIMPLEREENROLL);
    assert_int_equal(env, FWS_ENV_PROD);
    assert_int_equal(fws_est_parse_path("/.well-known/est/qa/simpleenroll", &op, &env),
                     FWS_ERR_NOT_FOUND);
    assert_int_equal(fws_est_parse_path("/.well-known/est/serverkeygen", &op, &env),
                     FWS_ERR_NOT_FOUND);
    assert_int_equal(fws_est_parse_path("/est/cacerts", &op, &env), FWS_ERR_NOT_FOUND);
    assert_int_equal(fws_est_parse_path(NULL, &op, &env), FWS_ERR_NOT_FOUND);
}

static void test_names_and_renewal(void **state)
{
    fws_pki_env env;
    fws_pki_reason r;
    (void)state;
    assert_int_equal(fws_pki_env_parse("staging", &env), FWS_OK);
    assert_int_equal(env, FWS_ENV_STAGING);
    assert_int_equal(fws_pki_env_parse("Staging", &env), FWS_ERR_ARG);
    assert_string_equal(fws_pki_env_name(FWS_ENV_PROD), "prod");
    assert_null(fws_pki_env_name(0));
    assert_int_equal(fws_pki_reason_parse("key-compromise", &r), FWS_OK);
    assert_int_equal(r, FWS_REASON_KEY_COMPROMISE);
    assert_int_equal(fws_pki_reason_parse("CESSATIONOFOPERATION", &r), FWS_OK);
    assert_int_equal(r, FWS_REASON_CESSATION);
    assert_int_equal(fws_pki_reason_parse("certificateHold", &r), FWS_ERR_ARG);
    assert_string_equal(fws_pki_reason_name(FWS_REASON_SUPERSEDED), "superseded");
    /* Two thirds of the lifetime. */
    assert_int_equal(fws_est_renew_at(0, 7 * 86400), 4 * 86400 + 16 * 3600);
    assert_int_equal(fws_est_renew_at(1000, 1300), 1200);
    assert_int_equal(fws_est_renew_at(1000, 1000), 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_der_integers),
        cmocka_unit_test(test_der_lengths_and_overflow),
        cmocka_unit_test(test_der_time),
        cmocka_unit_test(test_csr_round_trip),
        cmocka_unit_test(test_csr_refuses_other_keys),
        cmocka_unit_test(test_certs_only),
        cmocka_unit_test(test_est_paths),
        cmocka_unit_test(test_names_and_renewal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
