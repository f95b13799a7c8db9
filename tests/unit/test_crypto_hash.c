/* SHA-256 / SHA-512 providers: FIPS 180 known answers, streaming, the core provider tables,
 * file hashing with its caps, and the constant-time comparison they rely on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fwseal/crypto.h"

static const char msg448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char msg896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                             "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

static void hex_of(const uint8_t *d, size_t n, char *out)
{
    fws_hex_encode(d, n, out);
}

static void assert_sha256(const void *msg, size_t len, const char *want)
{
    uint8_t d[FWS_SHA256_LEN];
    char hex[2 * FWS_SHA256_LEN + 1];
    fws_sha256(msg, len, d);
    hex_of(d, sizeof(d), hex);
    assert_string_equal(hex, want);
}

static void assert_sha512(const void *msg, size_t len, const char *want)
{
    uint8_t d[FWS_SHA512_LEN];
    char hex[2 * FWS_SHA512_LEN + 1];
    fws_sha512(msg, len, d);
    hex_of(d, sizeof(d), hex);
    assert_string_equal(hex, want);
}

static void test_sha256_fips180(void **state)
{
    (void)state;
    assert_sha256("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_sha256(msg448, strlen(msg448),
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    assert_sha256(msg896, strlen(msg896),
                  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    assert_sha256("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_sha512_fips180(void **state)
{
    (void)state;
    assert_sha512("abc", 3,
                  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    assert_sha512(msg448, strlen(msg448),
                  "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c335"
                  "96fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445");
    assert_sha512(msg896, strlen(msg896),
                  "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
                  "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
}

/* The million-'a' message, fed 1000 bytes at a time as the FIPS example describes. */
static void test_million_a(void **state)
{
    uint8_t block[1000], d256[FWS_SHA256_LEN], d512[FWS_SHA512_LEN];
    char hex[2 * FWS_SHA512_LEN + 1];
    fws_sha256_ctx c256;
    fws_sha512_ctx c512;
    (void)state;

    memset(block, 'a', sizeof(block));
    fws_sha256_init(&c256);
    fws_sha512_init(&c512);
    for (int i = 0; i < 1000; i++) {
        fws_sha256_update(&c256, block, sizeof(block));
        fws_sha512_update(&c512, block, sizeof(block));
    }
    fws_sha256_final(&c256, d256);
    fws_sha512_final(&c512, d512);
    hex_of(d256, sizeof(d256), hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    hex_of(d512, sizeof(d512), hex);
    assert_string_equal(hex, "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
                             "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
}

static uint8_t *pattern(size_t len)
{
    uint8_t *p = malloc(len);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 131 + (i >> 8) * 7 + 3);
    return p;
}

/* Odd chunk sizes crossing block boundaries give the one-shot answer, for both the wrappers
 * and the provider tables the core uses. */
static void test_streaming_odd_chunks(void **state)
{
    static const size_t chunks[] = {1, 3, 7, 55, 56, 63, 64, 65, 111, 127, 128, 129, 1000, 4093};
    const size_t len = 70001;
    uint8_t *msg = pattern(len);
    uint8_t one256[FWS_SHA256_LEN], one512[FWS_SHA512_LEN];
    (void)state;

    fws_sha256(msg, len, one256);
    fws_sha512(msg, len, one512);
    for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        _Alignas(16) uint8_t st[FWS_HASH_STATE_MAX];
        uint8_t d[FWS_SHA512_LEN];
        fws_sha256_ctx c256;
        fws_sha512_ctx c512;

        fws_sha256_init(&c256);
        fws_sha512_init(&c512);
        for (size_t off = 0; off < len; off += chunks[c]) {
            size_t n = len - off < chunks[c] ? len - off : chunks[c];
            fws_sha256_update(&c256, msg + off, n);
            fws_sha512_update(&c512, msg + off, n);
        }
        fws_sha256_final(&c256, d);
        assert_memory_equal(d, one256, FWS_SHA256_LEN);
        fws_sha512_final(&c512, d);
        assert_memory_equal(d, one512, FWS_SHA512_LEN);

        fws_sha256_ops.init(st);
        for (size_t off = 0; off < len; off += chunks[c]) {
            size_t n = len - off < chunks[c] ? len - off : chunks[c];
            fws_sha256_ops.update(st, msg + off, n);
        }
        fws_sha256_ops.final(st, d);
        assert_memory_equal(d, one256, FWS_SHA256_LEN);
    }
    free(msg);
}

static void test_provider_tables(void **state)
{
    _Alignas(16) uint8_t st[FWS_HASH_STATE_MAX];
    uint8_t d[FWS_SHA512_LEN], want[FWS_SHA512_LEN];
    (void)state;

    assert_int_equal(fws_sha256_ops.digest_len, FWS_SHA256_LEN);
    assert_int_equal(fws_sha512_ops.digest_len, FWS_SHA512_LEN);
    assert_true(fws_sha256_ops.state_size > 0 && fws_sha256_ops.state_size <= FWS_HASH_STATE_MAX);
    assert_true(fws_sha512_ops.state_size > 0 && fws_sha512_ops.state_size <= FWS_HASH_STATE_MAX);

    fws_sha512_ops.init(st);
    fws_sha512_ops.update(st, (const uint8_t *)"ab", 2);
    fws_sha512_ops.update(st, (const uint8_t *)"c", 1);
    fws_sha512_ops.final(st, d);
    fws_sha512("abc", 3, want);
    assert_memory_equal(d, want, FWS_SHA512_LEN);

    /* The state is a plain struct: a byte copy taken mid-stream continues identically. */
    {
        _Alignas(16) uint8_t copy[FWS_HASH_STATE_MAX];
        uint8_t d1[FWS_SHA256_LEN], d2[FWS_SHA256_LEN];
        fws_sha256_ops.init(st);
        fws_sha256_ops.update(st, (const uint8_t *)msg896, 70);
        memcpy(copy, st, sizeof(st));
        fws_sha256_ops.update(st, (const uint8_t *)msg896 + 70, strlen(msg896) - 70);
        fws_sha256_ops.update(copy, (const uint8_t *)msg896 + 70, strlen(msg896) - 70);
        fws_sha256_ops.final(st, d1);
        fws_sha256_ops.final(copy, d2);
        assert_memory_equal(d1, d2, FWS_SHA256_LEN);
    }
    /* final wipes the state. */
    {
        uint8_t zero[FWS_HASH_STATE_MAX] = {0};
        memset(st, 0xa5, sizeof(st));
        fws_sha256_ops.init(st);
        fws_sha256_ops.update(st, (const uint8_t *)"abc", 3);
        fws_sha256_ops.final(st, d);
        assert_memory_equal(st, zero, fws_sha256_ops.state_size);
    }
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/fws-test-hash-XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int remove_tmpdir(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_hash_file(void **state)
{
    char path[128];
    const size_t len = 3 * (1u << 20) + 12345; /* many full reads and a partial one */
    uint8_t *data = pattern(len);
    uint8_t d256[FWS_SHA256_LEN], d512[FWS_SHA512_LEN], w256[FWS_SHA256_LEN], w512[FWS_SHA512_LEN];
    uint64_t got_len = 0;
    fws_errbuf eb = {{0}};
    (void)state;

    snprintf(path, sizeof(path), "%s/image.bin", tmpdir);
    write_file(path, data, len);
    fws_sha256(data, len, w256);
    fws_sha512(data, len, w512);

    assert_int_equal(fws_hash_file(path, len, d256, d512, &got_len, &eb), FWS_OK);
    assert_memory_equal(d256, w256, sizeof(d256));
    assert_memory_equal(d512, w512, sizeof(d512));
    assert_int_equal(got_len, len);

    /* Either output may be left out. */
    memset(d256, 0, sizeof(d256));
    assert_int_equal(fws_hash_file(path, len, d256, NULL, NULL, &eb), FWS_OK);
    assert_memory_equal(d256, w256, sizeof(d256));
    memset(d512, 0, sizeof(d512));
    assert_int_equal(fws_hash_file(path, UINT64_MAX, NULL, d512, NULL, &eb), FWS_OK);
    assert_memory_equal(d512, w512, sizeof(d512));

    /* One byte over the cap is refused, and the outputs are left alone. */
    memset(d256, 0x5a, sizeof(d256));
    got_len = 77;
    assert_int_equal(fws_hash_file(path, len - 1, d256, NULL, &got_len, &eb), FWS_ERR_TOO_BIG);
    assert_int_equal(got_len, 77);
    assert_int_equal(d256[0], 0x5a);
    assert_non_null(strstr(eb.msg, "image.bin"));
    free(data);
}

static void test_hash_file_empty_and_missing(void **state)
{
    char path[128];
    uint8_t d[FWS_SHA256_LEN];
    char hex[2 * FWS_SHA256_LEN + 1];
    uint64_t got_len = 1;
    fws_errbuf eb = {{0}};
    (void)state;

    snprintf(path, sizeof(path), "%s/empty.bin", tmpdir);
    write_file(path, (const uint8_t *)"", 0);
    assert_int_equal(fws_hash_file(path, 0, d, NULL, &got_len, &eb), FWS_OK);
    assert_int_equal(got_len, 0);
    hex_of(d, sizeof(d), hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    snprintf(path, sizeof(path), "%s/missing.bin", tmpdir);
    assert_int_equal(fws_hash_file(path, 100, d, NULL, NULL, &eb), FWS_ERR_NOT_FOUND);
    assert_non_null(strstr(eb.msg, "missing.bin"));
    fws_errbuf_clear(&eb);
    assert_int_equal(fws_hash_file(tmpdir, 100, d, NULL, NULL, &eb), FWS_ERR_IO);
}

/* A 4 GiB sparse file over a 1 GiB cap is refused from its size alone: if the code read it,
 * this test would take many seconds instead of none (no timing is asserted; the result is). */
static void test_hash_file_sparse_refused(void **state)
{
    char path[128];
    uint8_t d[FWS_SHA256_LEN];
    fws_errbuf eb = {{0}};
    int fd;
    (void)state;

    snprintf(path, sizeof(path), "%s/sparse.bin", tmpdir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)4 << 30), 0);
    assert_int_equal(close(fd), 0);
    assert_int_equal(fws_hash_file(path, (uint64_t)1 << 30, d, NULL, NULL, &eb), FWS_ERR_TOO_BIG);
    assert_non_null(strstr(eb.msg, "4294967296"));
    unlink(path);
}

static void test_ct_eq(void **state)
{
    uint8_t a[64], b[64];
    (void)state;
    for (size_t i = 0; i < sizeof(a); i++)
        a[i] = b[i] = (uint8_t)(i * 37);
    assert_int_equal(fws_ct_eq(a, b, sizeof(a)), 1);
    assert_int_equal(fws_ct_eq(a, b, 0), 1);
    /* Every single-bit difference, at every position, is seen. */
    for (size_t i = 0; i < sizeof(a); i++) {
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(fws_ct_eq(a, b, sizeof(a)), 0);
            b[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* Only the first n bytes count. */
    b[63] ^= 0xff;
    assert_int_equal(fws_ct_eq(a, b, 63), 1);
    assert_int_equal(fws_ct_eq(a, b, 64), 0);
}

static void test_random(void **state)
{
    uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};
    (void)state;
    assert_int_equal(fws_random(a, sizeof(a)), FWS_OK);
    assert_int_equal(fws_random(b, sizeof(b)), FWS_OK);
    /* 256 random bits are all zero, or repeat, with probability 2^-256. */
    assert_int_equal(fws_ct_eq(a, zero, sizeof(a)), 0);
    assert_int_equal(fws_ct_eq(a, b, sizeof(a)), 0);
    assert_int_equal(fws_random(NULL, 0), FWS_OK);
    assert_int_equal(fws_random(NULL, 1), FWS_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_fips180),
        cmocka_unit_test(test_sha512_fips180),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_streaming_odd_chunks),
        cmocka_unit_test(test_provider_tables),
        cmocka_unit_test(test_hash_file),
        cmocka_unit_test(test_hash_file_empty_and_missing),
        cmocka_unit_test(test_hash_file_sparse_refused),
        cmocka_unit_test(test_ct_eq),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
