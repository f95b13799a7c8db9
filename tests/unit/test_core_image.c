/* The streaming image verifier: exact length, digest, endless data, bit flips, misuse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fwseal/core.h"

#define IMAGE_LEN 4096

static const fws_hash_ops *const P = &fws_sha256_portable_ops;

static uint8_t image[IMAGE_LEN];
static uint8_t image_sha[FWS_SHA256_LEN];

/* xorshift64: reproducible "random" chunk sizes and bit positions. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static int setup(void **unused)
{
    (void)unused;
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < IMAGE_LEN; i++)
        image[i] = (uint8_t)rng_next(&s);
    return fws_hash_buf(P, image, IMAGE_LEN, image_sha) == FWS_OK ? 0 : -1;
}

/* Feeds buf in pseudo-random chunks of 0..max bytes; returns the first error. */
static fws_err feed_random(fws_image_verifier *v, const uint8_t *buf, size_t len, uint64_t seed,
                           size_t max)
{
    size_t off = 0;
    while (off < len) {
        size_t n = (size_t)(rng_next(&seed) % (max + 1));
        if (n > len - off)
            n = len - off;
        fws_err err = fws_image_verify_update(v, buf + off, n);
        if (err != FWS_OK)
            return err;
        off += n;
    }
    return FWS_OK;
}

static void test_size_report(void **unused)
{
    (void)unused;
    printf("sizeof(fws_image_verifier) = %zu bytes (limit 4096); portable SHA-256 state = %zu "
           "bytes (room %d)\n",
           sizeof(fws_image_verifier), P->state_size, FWS_HASH_STATE_MAX);
    assert_true(sizeof(fws_image_verifier) <= 4096);
}

static void test_accepts_random_chunks(void **unused)
{
    (void)unused;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        fws_image_verifier v;
        uint8_t digest[FWS_SHA256_LEN];
        assert_int_equal(fws_image_verify_init(&v, P, IMAGE_LEN, image_sha), FWS_OK);
        assert_int_equal(feed_random(&v, image, IMAGE_LEN, seed * 0x2545f4914f6cdd1du, 300),
                         FWS_OK);
        memset(digest, 0, sizeof digest);
        assert_int_equal(fws_image_verify_final(&v, digest), FWS_OK);
        assert_memory_equal(digest, image_sha, FWS_SHA256_LEN);
    }
}

static void test_empty_image(void **unused)
{
    (void)unused;
    fws_image_verifier v;
    uint8_t sha[FWS_SHA256_LEN];
    assert_int_equal(fws_hash_buf(P, NULL, 0, sha), FWS_OK);
    assert_int_equal(fws_image_verify_init(&v, P, 0, sha), FWS_OK);
    assert_int_equal(fws_image_verify_update(&v, NULL, 0), FWS_OK);
    assert_int_equal(fws_image_verify_final(&v, NULL), FWS_OK);
}

static void test_wrong_digest(void **unused)
{
    (void)unused;
    fws_image_verifier v;
    uint8_t wrong[FWS_SHA256_LEN];
    uint8_t digest[FWS_SHA256_LEN] = {0};
    memcpy(wrong, image_sha, sizeof wrong);
    wrong[31] ^= 0x01;
    assert_int_equal(fws_image_verify_init(&v, P, IMAGE_LEN, wrong), FWS_OK);
    assert_int_equal(fws_image_verify_update(&v, image, IMAGE_LEN), FWS_OK);
    assert_int_equal(fws_image_verify_final(&v, digest), FWS_ERR_DIGEST);
    /* The computed digest is still reported, so a caller can log what arrived. */
    assert_memory_equal(digest, image_sha, FWS_SHA256_LEN);
    assert_int_equal(fws_image_verify_final(&v, digest), FWS_ERR_STATE);
}

static void test_short_image(void **unused)
{
    (void)unused;
    fws_image_verifier v;
    uint8_t digest[FWS_SHA256_LEN];
    uint8_t untouched[FWS_SHA256_LEN];
    memset(digest, 0xA5, sizeof digest);
    memcpy(untouched, digest, sizeof digest);
    assert_int_equal(fws_image_verify_init(&v, P, IMAGE_LEN, image_sha), FWS_OK);
    assert_int_equal(fws_image_verify_update(&v, image, IMAGE_LEN - 1), FWS_OK);
    assert_int_equal(fws_image_verify_final(&v, digest), FWS_ERR_LENGTH);
    assert_memory_equal(digest, untouched, sizeof digest);
    assert_int_equal(fws_image_verify_update(&v, image + IMAGE_LEN - 1, 1), FWS_ERR_STATE);
    assert_int_equal(fws_image_verify_final(&v, digest), FWS_ERR_STATE);
}

/* A short image whose bytes are a prefix of the real one with the digest of that prefix still
 * fails: length is checked before the digest. */
static void test_length_checked_before_digest(void **unused)
{
    (void)unused;
    fws_image_verifier v;
    uint8_t prefix_sha[FWS_SHA256_LEN];
    assert_int_equal(fws_hash_buf(P, image, 100, prefix_sha), FWS_OK);
    assert_int_equal(fws_image_verify_init(&v, P, 101, prefix_sha), FWS_OK);
    assert_int_equal(fws_image_verify_update(&v, image, 100), FWS_OK);
    assert_int_equal(fws_image_verify_final(&v, NULL), FWS_ERR_LENGTH);
}

static void test_long_image(void **unused)
{
    (void)unused;
    fws_image_verifier v;
    assert_int_equal(fws_image_verify_init(&v, P, IMAGE_LEN, image_sha), FWS_OK);
    assert_int_equal(fws_image_verify_update(&v, image, 4000), FWS_OK);
    assert_int_equal(fws_image_verify_update(&v, image + 4000, 96), FWS_OK);
    /* One byte past the declared length is refused at once... */
    assert_int_equal(fws_image_verify_update(&v, image, 1), FWS_ERR_LENGTH);
    /* ...and the verifier stays failed, for more data, no data and final alike. */
    assert_int_equal(fws_image_verify_update(&v, image, 1), FWS_ERR_STATE);
    assert_int_equal(fws_image_verify_update(&v, image, 0), FWS_ERR_STATE);
    assert_int_equal(fws_image_verify_final(&v, NULL), FWS_ERR_STATE);
}

static void test_long_image_single_update(void **unused)
{
    (void)unused;
    static uint8_t bigger[IMAGE_LEN + 1];
    fws_image_verifier v;
    memcpy(bigger, image, IMAGE_LEN);
    assert_int_equal(fws_image_verify_init(&v, P, IMAGE_LEN, image_sha), FWS_OK);
    assert_int_equal(fws_image_verify_update(&v, bigger, 10), FWS_OK);
    assert_int_equal(fws_image_verify_update(&v, bigger + 10, IMAGE_LEN + 1 - 10), FWS_ERR_LENGTH);
    assert_int_equal(fws_image_verify_final(&v, NULL), FWS_ERR_STATE);
}

/* Endless data: a stream that never stops is cut off at expected_len + 1 bytes, however it is
 * chunked, and a huge single chunk cannot wrap the length arithmetic. */
static void test_endless_data(void **unused)
{
    (void)unused;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        fws_image_verifier v;
        uint64_t fed = 0;
        fws_err err = FWS_OK;
        assert_int_equal(fws_image_verify_init(&v, P, 1000, image_sha), FWS_OK);
        while (err == FWS_OK && fed < 100000) {
            size_t n = (size_t)(rng_next(&seed) % 97) + 1;
            err = fws_image_verify_update(&v, image, n);
            fed += n;
        }
        assert_int_equal(err, FWS_ERR_LENGTH);
        assert_true(fed > 1000 && fed <= 1000 + 97);
    }
    fws_image_verifier v;
    assert_int_equal(fws_image_verify_init(&v, P, UINT64_MAX, image_sha), FWS_OK);
    assert_int_equal(fws_image_verify_update(&v, image, 10), FWS_OK);
    assert_int_equal(fws_image_verify_init(&v, P, 5, image_sha), FWS_OK);
    assert_int_equal(fws_image_verify_update(&v, image, SIZE_MAX), FWS_ERR_LENGTH);
}

static void test_every_sampled_bit_flip(void **unused)
{
    (void)unused;
    static uint8_t flipped[IMAGE_LEN];
    const size_t bits = IMAGE_LEN * 8, samples = 256, stride = bits / samples;
    uint64_t s = 12345;
    size_t rejected = 0;
    memcpy(flipped, image, IMAGE_LEN);
    for (size_t k = 0; k < samples; k++) {
        /* One position in each stride; the first and last bit of the image are always tried. */
        size_t bit = k * stride + (size_t)(rng_next(&s) % stride);
        if (k == 0)
            bit = 0;
        if (k == samples - 1)
            bit = bits - 1;
        flipped[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        fws_image_verifier v;
        assert_int_equal(fws_image_verify_init(&v, P, IMAGE_LEN, image_sha), FWS_OK);
        assert_int_equal(feed_random(&v, flipped, IMAGE_LEN, bit + 1, 700), FWS_OK);
        fws_err err = fws_image_verify_final(&v, NULL);
        if (err != FWS_ERR_DIGEST)
            fail_msg("flip of bit %zu gave %s", bit, fws_strerror(err));
        rejected++;
        flipped[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_int_equal(rejected, samples);
    assert_memory_equal(flipped, image, IMAGE_LEN);
}

static void test_context_is_plain_bytes(void **unused)
{
    (void)unused;
    fws_image_verifier a, b;
    uint8_t da[FWS_SHA256_LEN], db[FWS_SHA256_LEN];
    assert_int_equal(fws_image_verify_init(&a, P, IMAGE_LEN, image_sha), FWS_OK);
    assert_int_equal(fws_image_verify_update(&a, image, 1111), FWS_OK);
    memcpy(&b, &a, sizeof a);
    memset(&a, 0xEE, sizeof a);
    memcpy(&a, &b, sizeof b);
    assert_int_equal(fws_image_verify_update(&a, image + 1111, IMAGE_LEN - 1111), FWS_OK);
    assert_int_equal(fws_image_verify_update(&b, image + 1111, IMAGE_LEN - 1111), FWS_OK);
    assert_int_equal(fws_image_verify_final(&a, da), FWS_OK);
    assert_int_equal(fws_image_verify_final(&b, db), FWS_OK);
    assert_memory_equal(da, db, FWS_SHA256_LEN);
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

static void test_init_rejects_bad_ops(void **unused)
{
    (void)unused;
    const fws_hash_ops too_big = {FWS_HASH_STATE_MAX + 1, 32, nop_init, nop_update, nop_final};
    const fws_hash_ops sha1_like = {16, 20, nop_init, nop_update, nop_final};
    const fws_hash_ops sha512_like = {16, 64, nop_init, nop_update, nop_final};
    const fws_hash_ops no_update = {16, 32, nop_init, NULL, nop_final};
    const fws_hash_ops *bad[] = {NULL, &too_big, &sha1_like, &sha512_like, &no_update};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fws_image_verifier v;
        assert_int_equal(fws_image_verify_init(&v, bad[i], 10, image_sha), FWS_ERR_ARG);
        /* A failed init leaves the verifier failed, not half-running. */
        assert_int_equal(fws_image_verify_update(&v, image, 1), FWS_ERR_STATE);
        assert_int_equal(fws_image_verify_final(&v, NULL), FWS_ERR_STATE);
    }
    const fws_hash_ops exact = {FWS_HASH_STATE_MAX, 32, nop_init, nop_update, nop_final};
    fws_image_verifier v;
    assert_int_equal(fws_image_verify_init(&v, &exact, 0, image_sha), FWS_OK);
}

static void test_state_misuse(void **unused)
{
    (void)unused;
    fws_image_verifier v;
    memset(&v, 0, sizeof v);
    /* Never initialised. */
    assert_int_equal(fws_image_verify_update(&v, image, 1), FWS_ERR_STATE);
    assert_int_equal(fws_image_verify_final(&v, NULL), FWS_ERR_STATE);
    /* NULL arguments. */
    assert_int_equal(fws_image_verify_init(NULL, P, 1, image_sha), FWS_ERR_ARG);
    assert_int_equal(fws_image_verify_init(&v, P, 1, NULL), FWS_ERR_ARG);
    assert_int_equal(fws_image_verify_update(NULL, image, 1), FWS_ERR_ARG);
    assert_int_equal(fws_image_verify_final(NULL, NULL), FWS_ERR_ARG);
    /* NULL data with a length fails the verifier. */
    assert_int_equal(fws_image_verify_init(&v, P, IMAGE_LEN, image_sha), FWS_OK);
    assert_int_equal(fws_image_verify_update(&v, NULL, 1), FWS_ERR_ARG);
    assert_int_equal(fws_image_verify_update(&v, image, 1), FWS_ERR_STATE);
    /* After a successful final, nothing more is accepted, and the hash state is wiped. */
    assert_int_equal(fws_image_verify_init(&v, P, IMAGE_LEN, image_sha), FWS_OK);
    assert_int_equal(fws_image_verify_update(&v, image, IMAGE_LEN), FWS_OK);
    assert_int_equal(fws_image_verify_final(&v, NULL), FWS_OK);
    uint8_t zero[FWS_HASH_STATE_MAX] = {0};
    assert_memory_equal(v.hash_state, zero, sizeof zero);
    assert_int_equal(fws_image_verify_update(&v, image, 0), FWS_ERR_STATE);
    assert_int_equal(fws_image_verify_final(&v, NULL), FWS_ERR_STATE);
    /* init starts over from any state. */
    assert_int_equal(fws_image_verify_init(&v, P, IMAGE_LEN, image_sha), FWS_OK);
    assert_int_equal(fws_image_verify_update(&v, image, IMAGE_LEN), FWS_OK);
    assert_int_equal(fws_image_verify_final(&v, NULL), FWS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_report),
        cmocka_unit_test(test_accepts_random_chunks),
        cmocka_unit_test(test_empty_image),
        cmocka_unit_test(test_wrong_digest),
        cmocka_unit_test(test_short_image),
        cmocka_unit_test(test_length_checked_before_digest),
        cmocka_unit_test(test_long_image),
        cmocka_unit_test(test_long_image_single_update),
        cmocka_unit_test(test_endless_data),
        cmocka_unit_test(test_every_sampled_bit_flip),
        cmocka_unit_test(test_context_is_plain_bytes),
        cmocka_unit_test(test_init_rejects_bad_ops),
        cmocka_unit_test(test_state_misuse),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
