/* Base64 and hex: RFC 4648 section 10 vectors, round trips, and strict rejections. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "fwseal/crypto.h"

static const struct {
    const char *plain;
    const char *b64;
    const char *hex;
} rfc4648[] = {
    {"", "", ""},
    {"f", "Zg==", "66"},
    {"fo", "Zm8=", "666f"},
    {"foo", "Zm9v", "666f6f"},
    {"foob", "Zm9vYg==", "666f6f62"},
    {"fooba", "Zm9vYmE=", "666f6f6261"},
    {"foobar", "Zm9vYmFy", "666f6f626172"},
};
#define N_RFC4648 (sizeof(rfc4648) / sizeof(rfc4648[0]))

static void test_base64_rfc4648_encode(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_RFC4648; i++) {
        char out[16];
        size_t n = strlen(rfc4648[i].plain);
        memset(out, 'x', sizeof(out));
        assert_int_equal(fws_base64_encode((const uint8_t *)rfc4648[i].plain, n, out),
                         strlen(rfc4648[i].b64));
        assert_string_equal(out, rfc4648[i].b64);
        assert_int_equal(FWS_BASE64_LEN(n), strlen(rfc4648[i].b64));
    }
}

static void test_base64_rfc4648_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_RFC4648; i++) {
        uint8_t out[16];
        size_t len = 99;
        const char *in = rfc4648[i].b64;
        assert_int_equal(fws_base64_decode(in, strlen(in), out, sizeof(out), &len), FWS_OK);
        assert_int_equal(len, strlen(rfc4648[i].plain));
        assert_memory_equal(out, rfc4648[i].plain, len);
    }
}

static void test_base64_all_bytes_round_trip(void **state)
{
    uint8_t in[256], out[256];
    char enc[FWS_BASE64_LEN(256) + 1];
    (void)state;
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)i;
    for (size_t n = 0; n <= sizeof(in); n++) {
        size_t len = 0;
        size_t e = fws_base64_encode(in, n, enc);
        assert_int_equal(e, FWS_BASE64_LEN(n));
        assert_int_equal(fws_base64_decode(enc, e, out, sizeof(out), &len), FWS_OK);
        assert_int_equal(len, n);
        assert_memory_equal(out, in, n);
    }
    /* The encoding of 0..255 uses both non-alphanumeric characters. */
    fws_base64_encode(in, sizeof(in), enc);
    assert_non_null(strchr(enc, '+'));
    assert_non_null(strchr(enc, '/'));
}

static fws_err b64(const char *s)
{
    uint8_t out[64];
    size_t len = 12345;
    fws_err err = fws_base64_decode(s, strlen(s), out, sizeof(out), &len);
    if (err != FWS_OK)
        assert_int_equal(len, 12345); /* out_len untouched on failure */
    return err;
}

static void test_base64_rejects(void **state)
{
    (void)state;
    /* Missing padding or bad length. */
    assert_int_equal(b64("Zg"), FWS_ERR_FORMAT);
    assert_int_equal(b64("Zm8"), FWS_ERR_FORMAT);
    assert_int_equal(b64("Zm9vY"), FWS_ERR_FORMAT);
    assert_int_equal(b64("Zg="), FWS_ERR_FORMAT);
    /* Whitespace anywhere. */
    assert_int_equal(b64("Zm9v\n"), FWS_ERR_FORMAT);
    assert_int_equal(b64("Zm9v Yg=="), FWS_ERR_FORMAT);
    assert_int_equal(b64("Zm9\nvYg=="), FWS_ERR_FORMAT);
    assert_int_equal(b64(" Zm9vYmFy"), FWS_ERR_FORMAT);
    assert_int_equal(b64("Zm9vYmF\t"), FWS_ERR_FORMAT);
    /* The URL-safe alphabet and other characters. */
    assert_int_equal(b64("-_-_"), FWS_ERR_FORMAT);
    assert_int_equal(b64("Zm9*"), FWS_ERR_FORMAT);
    assert_int_equal(b64("Zm\x80v"), FWS_ERR_FORMAT);
    /* Padding in the wrong place, or too much of it. */
    assert_int_equal(b64("Z==="), FWS_ERR_FORMAT);
    assert_int_equal(b64("===="), FWS_ERR_FORMAT);
    assert_int_equal(b64("Zg==Zg=="), FWS_ERR_FORMAT);
    assert_int_equal(b64("Z=g="), FWS_ERR_FORMAT);
    assert_int_equal(b64("Zm=v"), FWS_ERR_FORMAT);
    /* Non-zero bits left over by the padding: "Zh==" and "Zm9=" are non-canonical "f", "fo". */
    assert_int_equal(b64("Zh=="), FWS_ERR_NOT_CANONICAL);
    assert_int_equal(b64("Zv=="), FWS_ERR_NOT_CANONICAL);
    assert_int_equal(b64("Zm9="), FWS_ERR_NOT_CANONICAL);
    assert_int_equal(b64("Zm9vYh=="), FWS_ERR_NOT_CANONICAL);
    /* An embedded NUL is not in the alphabet. */
    {
        uint8_t out[8];
        size_t len = 0;
        assert_int_equal(fws_base64_decode("Zm\0v", 4, out, sizeof(out), &len), FWS_ERR_FORMAT);
    }
}

static void test_base64_output_bounds(void **state)
{
    uint8_t out[8];
    size_t len = 0;
    (void)state;
    memset(out, 0xee, sizeof(out));
    /* "foobar" needs 6 bytes: 5 is too few, and nothing is written. */
    assert_int_equal(fws_base64_decode("Zm9vYmFy", 8, out, 5, &len), FWS_ERR_TOO_BIG);
    assert_int_equal(out[0], 0xee);
    assert_int_equal(fws_base64_decode("Zm9vYmFy", 8, out, 6, &len), FWS_OK);
    assert_int_equal(len, 6);
    assert_int_equal(out[6], 0xee);
    /* Padding is accounted for: "Zm9vYg==" is 4 bytes. */
    memset(out, 0xee, sizeof(out));
    assert_int_equal(fws_base64_decode("Zm9vYg==", 8, out, 3, &len), FWS_ERR_TOO_BIG);
    assert_int_equal(fws_base64_decode("Zm9vYg==", 8, out, 4, &len), FWS_OK);
    assert_int_equal(len, 4);
    assert_int_equal(out[4], 0xee);
    /* Empty input with no buffer at all. */
    assert_int_equal(fws_base64_decode("", 0, NULL, 0, &len), FWS_OK);
    assert_int_equal(len, 0);
}

static void test_hex(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_RFC4648; i++) {
        char enc[16];
        uint8_t dec[8];
        size_t len = 99, n = strlen(rfc4648[i].plain);
        fws_hex_encode((const uint8_t *)rfc4648[i].plain, n, enc);
        assert_string_equal(enc, rfc4648[i].hex);
        assert_int_equal(
            fws_hex_decode(rfc4648[i].hex, strlen(rfc4648[i].hex), dec, sizeof(dec), &len), FWS_OK);
        assert_int_equal(len, n);
        assert_memory_equal(dec, rfc4648[i].plain, n);
    }
    {
        const uint8_t all[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
        char enc[2 * sizeof(all) + 1];
        uint8_t dec[sizeof(all)];
        size_t len = 0;
        fws_hex_encode(all, sizeof(all), enc);
        assert_string_equal(enc, "00017f80abcdefff");
        assert_int_equal(fws_hex_decode("00017F80ABcdEFff", 16, dec, sizeof(dec), &len), FWS_OK);
        assert_memory_equal(dec, all, sizeof(all));
    }
}

static void test_hex_rejects(void **state)
{
    uint8_t out[8];
    size_t len = 4242;
    (void)state;
    memset(out, 0xee, sizeof(out));
    assert_int_equal(fws_hex_decode("abc", 3, out, sizeof(out), &len), FWS_ERR_FORMAT);
    assert_int_equal(fws_hex_decode("0g", 2, out, sizeof(out), &len), FWS_ERR_FORMAT);
    assert_int_equal(fws_hex_decode("0x12", 4, out, sizeof(out), &len), FWS_ERR_FORMAT);
    assert_int_equal(fws_hex_decode("12 34", 5, out, sizeof(out), &len), FWS_ERR_FORMAT);
    assert_int_equal(fws_hex_decode("1234\n", 5, out, sizeof(out), &len), FWS_ERR_FORMAT);
    assert_int_equal(fws_hex_decode("12\0"
                                    "4",
                                    4, out, sizeof(out), &len),
                     FWS_ERR_FORMAT);
    assert_int_equal(fws_hex_decode("112233", 6, out, 2, &len), FWS_ERR_TOO_BIG);
    assert_int_equal(len, 4242);
    assert_int_equal(out[0], 0xee);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648_encode),
        cmocka_unit_test(test_base64_rfc4648_decode),
        cmocka_unit_test(test_base64_all_bytes_round_trip),
        cmocka_unit_test(test_base64_rejects),
        cmocka_unit_test(test_base64_output_bounds),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_hex_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
