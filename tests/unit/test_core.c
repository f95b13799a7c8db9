/* Known answers for the portable SHA-256 and the one-shot hashing helper. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fwseal/core.h"

static const fws_hash_ops *const P = &fws_sha256_portable_ops;

static void to_hex(const uint8_t *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static void assert_digest_hex(const uint8_t *digest, const char *expected_hex)
{
    char hex[2 * FWS_SHA256_LEN + 1];
    to_hex(digest, FWS_SHA256_LEN, hex);
    assert_string_equal(hex, expected_hex);
}

static void assert_oneshot(const char *msg, const char *expected_hex)
{
    uint8_t digest[FWS_SHA256_LEN];
    assert_int_equal(fws_hash_buf(P, (const uint8_t *)msg, strlen(msg), digest), FWS_OK);
    assert_digest_hex(digest, expected_hex);
}

static void test_provider_table(void **unused)
{
    (void)unused;
    assert_int_equal(P->digest_len, FWS_SHA256_LEN);
    assert_true(P->state_size > 0 && P->state_size <= FWS_HASH_STATE_MAX);
    assert_non_null(P->init);
    assert_non_null(P->update);
    assert_non_null(P->final);
}

static void test_empty(void **unused)
{
    (void)unused;
    assert_oneshot("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* NULL data is allowed for an empty message. */
    uint8_t digest[FWS_SHA256_LEN];
    assert_int_equal(fws_hash_buf(P, NULL, 0, digest), FWS_OK);
    assert_digest_hex(digest, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_abc(void **unused)
{
    (void)unused;
    assert_oneshot("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_448_bits(void **unused)
{
    (void)unused;
    assert_oneshot("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                   "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_896_bits(void **unused)
{
    (void)unused;
    assert_oneshot("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                   "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                   "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_million_a_streamed(void **unused)
{
    (void)unused;
    _Alignas(16) uint8_t state[FWS_HASH_STATE_MAX];
    uint8_t chunk[1000];
    uint8_t digest[FWS_SHA256_LEN];
    memset(chunk, 'a', sizeof chunk);
    P->init(state);
    for (int i = 0; i < 1000; i++)
        P->update(state, chunk, sizeof chunk);
    P->final(state, digest);
    assert_digest_hex(digest, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Lengths around the padding boundaries (55, 56, 63, 64 bytes) against one-shot hashing of the
 * same bytes fed one at a time: both paths must agree. */
static void test_padding_boundaries(void **unused)
{
    (void)unused;
    uint8_t msg[130];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 7 + 1);
    for (size_t len = 0; len <= sizeof msg; len++) {
        _Alignas(16) uint8_t state[FWS_HASH_STATE_MAX];
        uint8_t a[FWS_SHA256_LEN], b[FWS_SHA256_LEN];
        assert_int_equal(fws_hash_buf(P, msg, len, a), FWS_OK);
        P->init(state);
        for (size_t i = 0; i < len; i++)
            P->update(state, msg + i, 1);
        P->final(state, b);
        assert_memory_equal(a, b, FWS_SHA256_LEN);
    }
}

static void fill_kat_buffer(uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(((i * 131 + 7) ^ (i >> 3)) & 0xff);
}

/* SHA-256 of the 1000 bytes from fill_kat_buffer, computed with an independent implementation. */
static const char KAT_1000_HEX[] =
    "3fec874244848bfca7c32ea872a9449045e958ee839d5b32f9cbfe3e855e1739";

/* Prefixes of that buffer at the padding boundaries: 55 bytes is the longest message whose
 * length fits in its last block, 56 the shortest that needs a second one. */
static const struct {
    size_t len;
    const char *hex;
} KAT_PREFIXES[] = {
    {55, "3d47e3563bf41cff120598a0b1b8a5a06df01359569041bde87a3c36bc4d0602"},
    {56, "f7b5174259dc164cb229a0ce4f06eddbe3ec8949772a7a8a3d67dbe4bd496300"},
    {57, "8d0fc750ee18f13148be59d66e6a2181f06d6d696baa46baf0fd171c26b40d50"},
    {63, "570bb5bed3c44401828a3700b132e879e3ebba059f1e0c4f9e36747543a57994"},
    {64, "23c686cfe964ee46144547890b7bc64fcb9e15487d35040f8069daf42da0690b"},
    {65, "eec3021bd52c12820d57987f448810c3cc4fb93385108fe46f88534252aca52b"},
    {119, "d6f157f1f8319c989c83d8f6c5fb17d68a8f66a7509ac9ef0552c8cbb92b5a74"},
    {120, "8497e807a73a4a490258c54f727a2434dce4d5bd3ec9cd85701c231799a74000"},
};

static void test_padding_known_answers(void **unused)
{
    (void)unused;
    uint8_t buf[1000];
    fill_kat_buffer(buf, sizeof buf);
    for (size_t i = 0; i < sizeof KAT_PREFIXES / sizeof KAT_PREFIXES[0]; i++) {
        uint8_t digest[FWS_SHA256_LEN];
        assert_int_equal(fws_hash_buf(P, buf, KAT_PREFIXES[i].len, digest), FWS_OK);
        assert_digest_hex(digest, KAT_PREFIXES[i].hex);
    }
}

static void test_every_chunk_size(void **unused)
{
    (void)unused;
    uint8_t buf[1000];
    uint8_t oneshot[FWS_SHA256_LEN];
    fill_kat_buffer(buf, sizeof buf);
    assert_int_equal(fws_hash_buf(P, buf, sizeof buf, oneshot), FWS_OK);
    assert_digest_hex(oneshot, KAT_1000_HEX);
    for (size_t chunk = 1; chunk <= 130; chunk++) {
        _Alignas(16) uint8_t state[FWS_HASH_STATE_MAX];
        uint8_t streamed[FWS_SHA256_LEN];
        P->init(state);
        for (size_t off = 0; off < sizeof buf; off += chunk) {
            size_t n = sizeof buf - off < chunk ? sizeof buf - off : chunk;
            P->update(state, buf + off, n);
        }
        P->final(state, streamed);
        if (memcmp(streamed, oneshot, FWS_SHA256_LEN) != 0)
            fail_msg("chunk size %zu gives a different digest", chunk);
    }
}

/* The state has no interior pointers and no alignment needs: a copy made mid-stream at an odd
 * address finishes to the same digest as the original. */
static void test_state_copy_unaligned(void **unused)
{
    (void)unused;
    _Alignas(16) uint8_t state[FWS_HASH_STATE_MAX];
    uint8_t moved[FWS_HASH_STATE_MAX + 1];
    uint8_t buf[1000];
    uint8_t a[FWS_SHA256_LEN], b[FWS_SHA256_LEN];
    fill_kat_buffer(buf, sizeof buf);
    P->init(state);
    P->update(state, buf, 333);
    memcpy(moved + 1, state, P->state_size);
    P->update(state, buf + 333, sizeof buf - 333);
    P->final(state, a);
    P->update(moved + 1, buf + 333, sizeof buf - 333);
    P->final(moved + 1, b);
    assert_digest_hex(a, KAT_1000_HEX);
    assert_digest_hex(b, KAT_1000_HEX);
}

static void test_final_wipes_state(void **unused)
{
    (void)unused;
    _Alignas(16) uint8_t state[FWS_HASH_STATE_MAX];
    uint8_t zero[FWS_HASH_STATE_MAX] = {0};
    uint8_t digest[FWS_SHA256_LEN];
    P->init(state);
    P->update(state, (const uint8_t *)"secret", 6);
    P->final(state, digest);
    assert_memory_equal(state, zero, P->state_size);
}

static void nop_init(void *s)
{
    (void)s;
}
static void nop_update(void *s, const uint8_t *d, size_t n)
{
    (void)s;
    (void)d;
    (void)n;
}
static void nop_final(void *s, uint8_t *d)
{
    (void)s;
    (void)d;
}

static void test_hash_buf_arguments(void **unused)
{
    (void)unused;
    uint8_t digest[FWS_SHA256_LEN];
    fws_hash_ops big = {FWS_HASH_STATE_MAX + 1, 32, nop_init, nop_update, nop_final};
    fws_hash_ops long_digest = {16, FWS_HASH_DIGEST_MAX + 1, nop_init, nop_update, nop_final};
    fws_hash_ops no_final = {16, 32, nop_init, nop_update, NULL};
    assert_int_equal(fws_hash_buf(NULL, (const uint8_t *)"x", 1, digest), FWS_ERR_ARG);
    assert_int_equal(fws_hash_buf(&big, (const uint8_t *)"x", 1, digest), FWS_ERR_ARG);
    assert_int_equal(fws_hash_buf(&long_digest, (const uint8_t *)"x", 1, digest), FWS_ERR_ARG);
    assert_int_equal(fws_hash_buf(&no_final, (const uint8_t *)"x", 1, digest), FWS_ERR_ARG);
    assert_int_equal(fws_hash_buf(P, NULL, 1, digest), FWS_ERR_ARG);
    assert_int_equal(fws_hash_buf(P, (const uint8_t *)"x", 1, NULL), FWS_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_table),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_abc),
        cmocka_unit_test(test_448_bits),
        cmocka_unit_test(test_896_bits),
        cmocka_unit_test(test_million_a_streamed),
        cmocka_unit_test(test_padding_boundaries),
        cmocka_unit_test(test_padding_known_answers),
        cmocka_unit_test(test_every_chunk_size),
        cmocka_unit_test(test_state_copy_unaligned),
        cmocka_unit_test(test_final_wipes_state),
        cmocka_unit_test(test_hash_buf_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
