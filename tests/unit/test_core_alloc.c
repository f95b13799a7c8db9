/* The verifier core never touches the heap: allocation calls are counted across a full image
 * verification of 1 MiB and a policy check.
 *
 * Counting: in a plain build this file defines malloc, calloc, realloc and free itself (they
 * take precedence over the C library's) and forwards to glibc's __libc_* entry points. Under
 * AddressSanitizer, which owns the allocator, the sanitizer's allocation hooks count instead.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fwseal/core.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FWS_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FWS_TEST_ASAN 1
#endif

static volatile size_t alloc_calls;

#ifdef FWS_TEST_ASAN
/* From the sanitizer runtime's allocator interface (declared here: GCC does not install the
 * header). */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));

static void count_malloc(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
    alloc_calls++;
}

static void count_free(const volatile void *p)
{
    (void)p;
    alloc_calls++;
}

static int counter_setup(void **unused)
{
    (void)unused;
    return __sanitizer_install_malloc_and_free_hooks(count_malloc, count_free) ? 0 : -1;
}
#else
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

void *malloc(size_t n)
{
    alloc_calls++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    alloc_calls++;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    alloc_calls++;
    return __libc_realloc(p, n);
}

void free(void *p)
{
    if (p != NULL)
        alloc_calls++;
    __libc_free(p);
}

static int counter_setup(void **unused)
{
    (void)unused;
    return 0;
}
#endif

#define IMAGE_LEN (1024u * 1024u)
#define CHUNK 4096u

static uint8_t image[IMAGE_LEN];

static fws_err read_counter(void *ctx, uint64_t *value)
{
    *value = *(const uint64_t *)ctx;
    return FWS_OK;
}

static fws_err write_counter(void *ctx, uint64_t value)
{
    *(uint64_t *)ctx = value;
    return FWS_OK;
}

/* The counter must see real allocations, or the zero below would prove nothing. */
static void test_counter_is_live(void **unused)
{
    (void)unused;
    void *(*volatile do_malloc)(size_t) = malloc;
    void (*volatile do_free)(void *) = free;
    size_t before = alloc_calls;
    void *p = do_malloc(100);
    assert_non_null(p);
    do_free(p);
    assert_true(alloc_calls >= before + 2);
}

static void test_no_heap_in_verifier_and_policy(void **unused)
{
    (void)unused;
    static const char *const hw[] = {"hub-v1"};
    uint64_t stored = 3;
    const fws_counter_store store = {read_counter, write_counter, &stored};
    const fws_target_claims target = {hw, 1, NULL, 0, 4, 2000000000};
    const fws_device_facts device = {"hub-v1", NULL, 1700000000, &store};
    uint8_t expected[FWS_SHA256_LEN], digest[FWS_SHA256_LEN];
    fws_image_verifier v;

    for (size_t i = 0; i < IMAGE_LEN; i++)
        image[i] = (uint8_t)(i ^ (i >> 11));
    size_t before = alloc_calls;
    assert_int_equal(fws_hash_buf(&fws_sha256_portable_ops, image, IMAGE_LEN, expected), FWS_OK);
    assert_int_equal(fws_image_verify_init(&v, &fws_sha256_portable_ops, IMAGE_LEN, expected),
                     FWS_OK);
    for (size_t off = 0; off < IMAGE_LEN; off += CHUNK)
        assert_int_equal(fws_image_verify_update(&v, image + off, CHUNK), FWS_OK);
    assert_int_equal(fws_image_verify_final(&v, digest), FWS_OK);
    assert_int_equal(fws_policy_check(&target, &device), FWS_OK);
    assert_int_equal(fws_counter_raise(&store, 4), FWS_OK);
    size_t after = alloc_calls;
    assert_int_equal(after, before);
    assert_memory_equal(digest, expected, FWS_SHA256_LEN);
    assert_int_equal(stored, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_is_live),
        cmocka_unit_test(test_no_heap_in_verifier_and_policy),
    };
    return cmocka_run_group_tests(tests, counter_setup, NULL);
}
