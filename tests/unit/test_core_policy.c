/* Target policy (expiry, hardware, region, counter) and the anti-rollback counter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fwseal/core.h"

/* A counter store in memory that records how it was used. */
typedef struct mem_counter {
    uint64_t value;
    int reads;
    int writes;
    fws_err read_err;
    fws_err write_err;
} mem_counter;

static fws_err mem_read(void *ctx, uint64_t *value)
{
    mem_counter *c = ctx;
    c->reads++;
    if (c->read_err != FWS_OK)
        return c->read_err;
    *value = c->value;
    return FWS_OK;
}

static fws_err mem_write(void *ctx, uint64_t value)
{
    mem_counter *c = ctx;
    c->writes++;
    if (c->write_err != FWS_OK)
        return c->write_err;
    c->value = value;
    return FWS_OK;
}

static const char *const HW[] = {"thermostat-v2", "thermostat-v3"};
static const char *const REGIONS[] = {"eu", "uk"};

typedef struct fixture {
    mem_counter mem;
    fws_counter_store store;
    fws_target_claims target;
    fws_device_facts device;
} fixture;

/* A target and device that pass every check. */
static void fixture_init(fixture *f)
{
    memset(f, 0, sizeof *f);
    f->mem.value = 7;
    f->store = (fws_counter_store){mem_read, mem_write, &f->mem};
    f->target = (fws_target_claims){HW, 2, REGIONS, 2, 7, 2000000000};
    f->device = (fws_device_facts){"thermostat-v3", "uk", 1700000000, &f->store};
}

static void test_all_pass(void **unused)
{
    (void)unused;
    fixture f;
    fixture_init(&f);
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_OK);
    assert_int_equal(f.mem.reads, 1);
    assert_int_equal(f.mem.writes, 0);
    f.target.security_counter = 8;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_OK);
}

static void test_expiry(void **unused)
{
    (void)unused;
    fixture f;
    fixture_init(&f);
    f.device.trusted_time = f.target.expires;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_EXPIRED);
    f.device.trusted_time = f.target.expires + 1;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_EXPIRED);
    f.device.trusted_time = f.target.expires - 1;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_OK);
}

static void test_hardware(void **unused)
{
    (void)unused;
    fixture f;
    fixture_init(&f);
    const char *const near_misses[] = {"thermostat-v", "thermostat-v33", "Thermostat-v3",
                                       "thermostat-v3 ", "lock-v1"};
    for (size_t i = 0; i < sizeof near_misses / sizeof near_misses[0]; i++) {
        f.device.hardware = near_misses[i];
        assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_HARDWARE);
    }
    f.device.hardware = "thermostat-v2";
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_OK);
}

static void test_region(void **unused)
{
    (void)unused;
    fixture f;
    fixture_init(&f);
    f.device.region = "us";
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_REGION);
    f.device.region = "e";
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_REGION);
    f.device.region = NULL;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_REGION);
    /* No regions named means any region, and also a device without one. */
    f.target.n_regions = 0;
    f.target.regions = NULL;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_OK);
    f.device.region = "us";
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_OK);
}

static void test_counter(void **unused)
{
    (void)unused;
    fixture f;
    fixture_init(&f);
    f.target.security_counter = 6;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ROLLBACK);
    f.target.security_counter = 0;
    f.mem.value = UINT64_MAX;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ROLLBACK);
    f.target.security_counter = UINT64_MAX;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_OK);
    assert_int_equal(f.mem.writes, 0);
}

static void test_read_error_propagates(void **unused)
{
    (void)unused;
    fixture f;
    fixture_init(&f);
    f.mem.read_err = FWS_ERR_IO;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_IO);
    f.mem.read_err = FWS_ERR_FORMAT;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_FORMAT);
}

/* Each failing check reports its own code, in the documented order: with every check failing,
 * repairing them one by one reveals the next. The counter is read only when it is reached. */
static void test_order(void **unused)
{
    (void)unused;
    fixture f;
    fixture_init(&f);
    f.device.trusted_time = f.target.expires;
    f.device.hardware = "lock-v1";
    f.device.region = "us";
    f.target.security_counter = 1;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_EXPIRED);
    f.device.trusted_time = 0;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_HARDWARE);
    f.device.hardware = "thermostat-v2";
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_REGION);
    assert_int_equal(f.mem.reads, 0);
    f.device.region = "eu";
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ROLLBACK);
    assert_int_equal(f.mem.reads, 1);
    f.target.security_counter = 7;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_OK);
}

static void test_list_bounds(void **unused)
{
    (void)unused;
    fixture f;
    const char *many[FWS_POLICY_MAX_LIST + 1];
    for (size_t i = 0; i < FWS_POLICY_MAX_LIST + 1; i++)
        many[i] = "other";
    many[FWS_POLICY_MAX_LIST - 1] = "thermostat-v3";
    many[FWS_POLICY_MAX_LIST] = "uk";
    fixture_init(&f);
    f.target.n_hardware = 0;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ARG);
    f.target.hardware = many;
    f.target.n_hardware = FWS_POLICY_MAX_LIST;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_OK);
    f.target.n_hardware = FWS_POLICY_MAX_LIST + 1;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ARG);
    fixture_init(&f);
    f.target.regions = many;
    f.target.n_regions = FWS_POLICY_MAX_LIST + 1;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ARG);
    f.target.n_regions = FWS_POLICY_MAX_LIST;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_REGION);
    assert_int_equal(f.mem.reads, 0);
}

static void test_name_bounds(void **unused)
{
    (void)unused;
    fixture f;
    char max[FWS_POLICY_MAX_NAME + 1], over[FWS_POLICY_MAX_NAME + 2];
    memset(max, 'm', FWS_POLICY_MAX_NAME);
    max[FWS_POLICY_MAX_NAME] = '\0';
    memset(over, 'm', FWS_POLICY_MAX_NAME + 1);
    over[FWS_POLICY_MAX_NAME + 1] = '\0';
    const char *hw_max[] = {max};
    const char *hw_over[] = {over};

    /* A name of exactly the maximum length matches itself. */
    fixture_init(&f);
    f.target.hardware = hw_max;
    f.target.n_hardware = 1;
    f.device.hardware = max;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_OK);
    /* A claimed name over the maximum matches nothing, not even a device name equal to its
     * first FWS_POLICY_MAX_NAME bytes. */
    f.target.hardware = hw_over;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_HARDWARE);
    f.target.n_regions = 1;
    f.target.regions = hw_over;
    f.target.hardware = hw_max;
    f.device.region = max;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_REGION);
    /* An unterminated claim is read no further than FWS_POLICY_MAX_NAME + 1 bytes (ASan would
     * report an overflow of this exact-size buffer). */
    char unterminated[FWS_POLICY_MAX_NAME + 1];
    memset(unterminated, 'm', sizeof unterminated);
    const char *hw_unterminated[] = {unterminated};
    f.target.n_regions = 0;
    f.target.hardware = hw_unterminated;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_HARDWARE);
    /* The device's own names over the maximum, or empty, are argument errors; the length is
     * found without reading past FWS_POLICY_MAX_NAME + 1 bytes. */
    fixture_init(&f);
    f.device.hardware = unterminated;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ARG);
    f.device.hardware = over;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ARG);
    f.device.hardware = "";
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ARG);
    fixture_init(&f);
    f.device.region = over;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ARG);
    f.device.region = "";
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ARG);
}

static void test_null_arguments(void **unused)
{
    (void)unused;
    fixture f;
    const char *with_null[] = {"thermostat-v3", NULL};
    fixture_init(&f);
    assert_int_equal(fws_policy_check(NULL, &f.device), FWS_ERR_ARG);
    assert_int_equal(fws_policy_check(&f.target, NULL), FWS_ERR_ARG);
    f.target.hardware = with_null;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ARG);
    fixture_init(&f);
    f.target.hardware = NULL;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ARG);
    fixture_init(&f);
    f.target.regions = NULL;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ARG);
    fixture_init(&f);
    f.device.hardware = NULL;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ARG);
    fixture_init(&f);
    f.device.counter = NULL;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ARG);
    fixture_init(&f);
    f.store.read = NULL;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ARG);
    /* Argument errors come before any judgement, even of an expired target. */
    f.device.trusted_time = f.target.expires;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ARG);
}

static void test_counter_raise(void **unused)
{
    (void)unused;
    fixture f;
    fixture_init(&f);
    /* Raising writes the new value. */
    assert_int_equal(fws_counter_raise(&f.store, 9), FWS_OK);
    assert_int_equal(f.mem.value, 9);
    assert_int_equal(f.mem.writes, 1);
    /* Equal: nothing written. */
    assert_int_equal(fws_counter_raise(&f.store, 9), FWS_OK);
    assert_int_equal(f.mem.writes, 1);
    /* Lower: refused, nothing written. */
    assert_int_equal(fws_counter_raise(&f.store, 8), FWS_ERR_ROLLBACK);
    assert_int_equal(fws_counter_raise(&f.store, 0), FWS_ERR_ROLLBACK);
    assert_int_equal(f.mem.value, 9);
    assert_int_equal(f.mem.writes, 1);
    /* After a raise, the policy refuses what it accepted before. */
    f.target.security_counter = 8;
    assert_int_equal(fws_policy_check(&f.target, &f.device), FWS_ERR_ROLLBACK);
    assert_int_equal(fws_counter_raise(&f.store, UINT64_MAX), FWS_OK);
    assert_int_equal(f.mem.value, UINT64_MAX);
}

static void test_counter_raise_errors(void **unused)
{
    (void)unused;
    fixture f;
    fixture_init(&f);
    f.mem.read_err = FWS_ERR_IO;
    assert_int_equal(fws_counter_raise(&f.store, 100), FWS_ERR_IO);
    assert_int_equal(f.mem.writes, 0);
    f.mem.read_err = FWS_OK;
    f.mem.write_err = FWS_ERR_IO;
    assert_int_equal(fws_counter_raise(&f.store, 100), FWS_ERR_IO);
    assert_int_equal(f.mem.value, 7);
    assert_int_equal(fws_counter_raise(NULL, 100), FWS_ERR_ARG);
    f.store.write = NULL;
    assert_int_equal(fws_counter_raise(&f.store, 100), FWS_ERR_ARG);
    f.store.write = mem_write;
    f.store.read = NULL;
    assert_int_equal(fws_counter_raise(&f.store, 100), FWS_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_pass),      cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_hardware),      cmocka_unit_test(test_region),
        cmocka_unit_test(test_counter),       cmocka_unit_test(test_read_error_propagates),
        cmocka_unit_test(test_order),         cmocka_unit_test(test_list_bounds),
        cmocka_unit_test(test_name_bounds),   cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_counter_raise), cmocka_unit_test(test_counter_raise_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
