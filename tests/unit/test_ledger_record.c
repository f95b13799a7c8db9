/* Typed records: every schema accepts its valid form, stores it canonically, and rejects each
 * kind of mistake with a message that names the field. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwseal/ledger.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define D128 D64 D64
#define HEAD(t) "{\"type\":\"" t "\",\"schema\":1,\"time\":\"2024-05-01T12:00:00Z\","

static const char *const valid[] = {
    HEAD("release") "\"product\":\"hub\",\"version\":\"2.1.0\",\"image\":{\"sha256\":\"" D64
                    "\",\"sha512\":\"" D128 "\",\"size\":1048576},\"hardware\":[\"hub-v2\","
                    "\"hub-v3\"],\"regions\":[\"eu\"],\"securityCounter\":7,\"sbom\":{\"sha256\":"
                    "\"" D64 "\"},\"provenance\":{\"sha256\":\"" D64 "\"},\"changelog\":\"Fixes "
                    "Wi-Fi.\\nFaster boot.\"}",
    HEAD("provision") "\"device\":\"dev-0001\",\"serial\":\"SN123\",\"model\":\"Hub V2\","
                      "\"batch\":\"B7\",\"bomVersion\":\"3\",\"station\":\"line 1\",\"operator\":"
                      "\"Ana\",\"environment\":\"production\",\"certificate\":{\"sha256\":\"" D64
                      "\"},\"reprovision\":false,\"checks\":{\"radio\":\"pass\",\"flash\":"
                      "\"skip\"}}",
    HEAD("install") "\"device\":\"dev-0001\",\"product\":\"hub\",\"fromVersion\":\"2.0.0\","
                    "\"toVersion\":\"2.1.0\",\"image\":{\"sha256\":\"" D64 "\"},\"result\":"
                    "\"success\"}",
    HEAD("rollback") "\"device\":\"dev-0001\",\"product\":\"hub\",\"fromVersion\":\"2.1.0\","
                     "\"toVersion\":\"2.0.0\",\"reason\":\"boot loop\"}",
    HEAD("revoke") "\"subject\":\"device\",\"id\":\"dev-0002\",\"reason\":\"key leaked\"}",
    HEAD("key") "\"role\":\"targets\",\"keyid\":\"" D64 "\",\"action\":\"rotate\"}",
    HEAD("quarantine") "\"device\":\"dev-0003\",\"reason\":\"odd reports\",\"action\":\"begin\"}",
    HEAD("decommission") "\"device\":\"dev-0004\",\"reason\":\"returned\"}",
};

static fws_err check(const char *text, fws_record_info *info, char *msg, size_t cap)
{
    fws_errbuf eb = {{0}};
    char *canon = NULL;
    size_t len = 0;
    fws_err err = fws_record_validate((const uint8_t *)text, strlen(text), &canon, &len, info, &eb);
    if (msg != NULL)
        snprintf(msg, cap, "%s", eb.msg);
    if (err == FWS_OK) {
        /* the stored form validates again and is its own canonical form */
        char *again = NULL;
        size_t again_len = 0;
        assert_int_equal(
            fws_record_validate((const uint8_t *)canon, len, &again, &again_len, NULL, NULL),
            FWS_OK);
        assert_int_equal(again_len, len);
        assert_memory_equal(again, canon, len);
        free(again);
    }
    free(canon);
    return err;
}

static void test_valid_records(void **state)
{
    (void)state;
    static const fws_record_type types[] = {
        FWS_RECORD_RELEASE, FWS_RECORD_PROVISION, FWS_RECORD_INSTALL,    FWS_RECORD_ROLLBACK,
        FWS_RECORD_REVOKE,  FWS_RECORD_KEY,       FWS_RECORD_QUARANTINE, FWS_RECORD_DECOMMISSION,
    };
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        fws_record_info info;
        char msg[FWS_ERRBUF_SIZE];
        fws_err err = check(valid[i], &info, msg, sizeof(msg));
        if (err != FWS_OK)
            fail_msg("record %zu: %s", i, msg);
        assert_int_equal(info.type, types[i]);
        assert_string_equal(info.time, "2024-05-01T12:00:00Z");
    }
}

static void test_indexed_fields(void **state)
{
    (void)state;
    fws_record_info info;
    assert_int_equal(check(valid[0], &info, NULL, 0), FWS_OK);
    assert_string_equal(info.product, "hub");
    assert_string_equal(info.version, "2.1.0");
    assert_string_equal(info.device, "");
    assert_int_equal(check(valid[2], &info, NULL, 0), FWS_OK);
    assert_string_equal(info.device, "dev-0001");
    assert_string_equal(info.version, "2.1.0"); /* install: toVersion */
    assert_int_equal(check(valid[4], &info, NULL, 0), FWS_OK);
    assert_string_equal(info.device, "dev-0002"); /* a revoked device */
    assert_int_equal(check(valid[5], &info, NULL, 0), FWS_OK);
    assert_string_equal(info.device, "");
}

static void test_canonical_form_is_stored(void **state)
{
    (void)state;
    const char *in = "{ \"reason\" : \"re\\u0074urned\",\n \"device\":\"dev-9\", \"time\": "
                     "\"2024-02-29T23:59:59.123Z\", \"schema\":1, \"type\":\"decommission\" }\n";
    const char *want = "{\"device\":\"dev-9\",\"reason\":\"returned\",\"schema\":1,\"time\":"
                       "\"2024-02-29T23:59:59.123Z\",\"type\":\"decommission\"}";
    char *canon = NULL;
    size_t len = 0;
    assert_int_equal(fws_record_validate((const uint8_t *)in, strlen(in), &canon, &len, NULL, NULL),
                     FWS_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(canon, want, len);
    free(canon);
}

typedef struct bad_case {
    const char *text;
    fws_err err;
    const char *msg; /* a piece the message must contain */
} bad_case;

static const bad_case bad[] = {
    {"{\"type\":", FWS_ERR_FORMAT, "not valid JSON"},
    {"[1,2]", FWS_ERR_SCHEMA, "must be a JSON object"},
    {"{\"schema\":1}", FWS_ERR_SCHEMA, "missing field \"type\""},
    {HEAD("firmware") "\"x\":1}", FWS_ERR_SCHEMA, "unknown type \"firmware\""},
    {"{\"type\":\"key\",\"schema\":2,\"time\":\"2024-05-01T12:00:00Z\"}", FWS_ERR_SCHEMA,
     "\"schema\" must be 1"},
    {"{\"type\":\"decommission\",\"schema\":1,\"device\":\"d\",\"reason\":\"r\"}", FWS_ERR_SCHEMA,
     "missing field \"time\""},
    {"{\"type\":\"decommission\",\"schema\":1,\"time\":\"2024-02-30T00:00:00Z\",\"device\":\"d\","
     "\"reason\":\"r\"}",
     FWS_ERR_SCHEMA, "RFC 3339"},
    {"{\"type\":\"decommission\",\"schema\":1,\"time\":\"2024-05-01T12:00:00+02:00\","
     "\"device\":\"d\",\"reason\":\"r\"}",
     FWS_ERR_SCHEMA, "RFC 3339"},
    {HEAD("decommission") "\"device\":\"d\",\"reason\":\"r\",\"color\":\"red\"}", FWS_ERR_SCHEMA,
     "unknown field \"color\""},
    {HEAD("decommission") "\"device\":\"d\"}", FWS_ERR_SCHEMA, "missing field \"reason\""},
    {HEAD("decommission") "\"device\":7,\"reason\":\"r\"}", FWS_ERR_SCHEMA,
     "\"device\" must be a string"},
    {HEAD("decommission") "\"device\":\"\",\"reason\":\"r\"}", FWS_ERR_SCHEMA,
     "\"device\" must be 1"},
    {HEAD("decommission") "\"device\":\"a b\",\"reason\":\"r\"}", FWS_ERR_SCHEMA,
     "\"device\" may hold only"},
    {HEAD("decommission") "\"device\":\"d\",\"reason\":\"bell\\u0007\"}", FWS_ERR_SCHEMA,
     "control characters"},
    {HEAD("decommission") "\"device\":\"d\\u0000x\",\"reason\":\"r\"}", FWS_ERR_SCHEMA, "NUL"},
    {HEAD("install") "\"device\":\"d\",\"product\":\"p\",\"fromVersion\":\"1\",\"toVersion\":"
                     "\"2\",\"image\":{\"sha256\":\"" D64 "\"},\"result\":\"maybe\"}",
     FWS_ERR_SCHEMA, "\"result\" must be one of \"success\", \"failure\""},
    {HEAD("install") "\"device\":\"d\",\"product\":\"p\",\"fromVersion\":\"1\",\"toVersion\":"
                     "\"2\",\"image\":{\"sha256\":\"0123456789ABCDEF0123456789abcdef0123456789abc"
                     "def0123456789abcdef\"},\"result\":\"success\"}",
     FWS_ERR_SCHEMA, "\"image.sha256\" must be 64 lowercase hex digits"},
    {HEAD("install") "\"device\":\"d\",\"product\":\"p\",\"fromVersion\":\"1\",\"toVersion\":"
                     "\"2\",\"image\":{\"sha256\":\"abcd\"},\"result\":\"success\"}",
     FWS_ERR_SCHEMA, "\"image.sha256\" must be 64"},
    {HEAD("install") "\"device\":\"d\",\"product\":\"p\",\"fromVersion\":\"1\",\"toVersion\":"
                     "\"2\",\"image\":{\"sha256\":\"" D64 "\",\"size\":3},\"result\":\"success\"}",
     FWS_ERR_SCHEMA, "unknown field \"image.size\""},
    {HEAD("release") "\"product\":\"hub\",\"version\":\"2\",\"image\":{\"sha256\":\"" D64
                     "\",\"size\":0},\"hardware\":[\"a\"],\"securityCounter\":1}",
     FWS_ERR_SCHEMA, "\"image.size\" must be at least 1"},
    {HEAD("release") "\"product\":\"hub\",\"version\":\"2\",\"image\":{\"sha256\":\"" D64
                     "\",\"size\":5},\"hardware\":[\"a\",\"a\"],\"securityCounter\":1}",
     FWS_ERR_SCHEMA, "\"hardware[1]\" repeats"},
    {HEAD("release") "\"product\":\"hub\",\"version\":\"2\",\"image\":{\"sha256\":\"" D64
                     "\",\"size\":5},\"hardware\":[],\"securityCounter\":1}",
     FWS_ERR_SCHEMA, "\"hardware\" must hold 1 to 32"},
    {HEAD("release") "\"product\":\"hub\",\"version\":\"2\",\"image\":{\"sha256\":\"" D64
                     "\",\"size\":5},\"hardware\":[\"a\"],\"securityCounter\":-1}",
     FWS_ERR_SCHEMA, "\"securityCounter\" must be at least 0"},
    {HEAD("release") "\"product\":\"hub\",\"version\":\"2 beta\",\"image\":{\"sha256\":\"" D64
                     "\",\"size\":5},\"hardware\":[\"a\"],\"securityCounter\":1}",
     FWS_ERR_SCHEMA, "\"version\" may hold only"},
    {HEAD("release") "\"product\":\"hub\",\"version\":\"2\",\"image\":{\"sha256\":\"" D64
                     "\",\"size\":5.5},\"hardware\":[\"a\"],\"securityCounter\":1}",
     FWS_ERR_FORMAT, "not valid JSON"},
    {HEAD("provision") "\"device\":\"d\",\"serial\":\"s\",\"model\":\"m\",\"batch\":\"b\","
                       "\"environment\":\"e\",\"certificate\":{\"sha256\":\"" D64 "\"},"
                       "\"checks\":{\"radio\":\"ok\"}}",
     FWS_ERR_SCHEMA, "\"checks.radio\" must be one of"},
    {HEAD("provision") "\"device\":\"d\",\"serial\":\"s\",\"model\":\"m\",\"batch\":\"b\","
                       "\"environment\":\"e\",\"certificate\":{\"sha256\":\"" D64 "\"},"
                       "\"reprovision\":\"yes\"}",
     FWS_ERR_SCHEMA, "\"reprovision\" must be true or false"},
    {HEAD("key") "\"role\":\"root\",\"keyid\":\"" D64 "\",\"action\":\"add\",\"action\":\"add\"}",
     FWS_ERR_FORMAT, "not valid JSON"},
};

static void test_bad_records(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char msg[FWS_ERRBUF_SIZE];
        fws_err err = check(bad[i].text, NULL, msg, sizeof(msg));
        if (err != bad[i].err || strstr(msg, bad[i].msg) == NULL)
            fail_msg("case %zu: got %d \"%s\", want %d containing \"%s\"", i, err, msg, bad[i].err,
                     bad[i].msg);
    }
}

static void test_size_cap(void **state)
{
    (void)state;
    /* 65535 bytes is the most a bundle can hold: a longer record is refused by size, first. */
    size_t n = FWS_RECORD_MAX + 1;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    memcpy(big, valid[7], strlen(valid[7]));
    big[n] = '\0';
    char msg[FWS_ERRBUF_SIZE];
    assert_int_equal(check(big, NULL, msg, sizeof(msg)), FWS_ERR_TOO_BIG);
    assert_non_null(strstr(msg, "65535"));
    assert_non_null(strstr(msg, "16-bit"));
    /* exactly at the cap (padding is whitespace) it is accepted and shrinks when stored */
    big[n - 1] = '\0';
    assert_int_equal(check(big, NULL, msg, sizeof(msg)), FWS_OK);
    free(big);
}

static void test_string_caps(void **state)
{
    (void)state;
    char rec[8192], reason[4200];
    memset(reason, 'r', 4096);
    reason[4096] = '\0';
    snprintf(rec, sizeof(rec), HEAD("decommission") "\"device\":\"d\",\"reason\":\"%s\"}", reason);
    assert_int_equal(check(rec, NULL, NULL, 0), FWS_OK);
    reason[4096] = 'r';
    reason[4097] = '\0';
    snprintf(rec, sizeof(rec), HEAD("decommission") "\"device\":\"d\",\"reason\":\"%s\"}", reason);
    char msg[FWS_ERRBUF_SIZE];
    assert_int_equal(check(rec, NULL, msg, sizeof(msg)), FWS_ERR_SCHEMA);
    assert_non_null(strstr(msg, "1 to 4096 bytes"));
}

static void test_type_names(void **state)
{
    (void)state;
    fws_record_type t;
    assert_int_equal(fws_record_type_parse("quarantine", &t), FWS_OK);
    assert_int_equal(t, FWS_RECORD_QUARANTINE);
    assert_string_equal(fws_record_type_name(FWS_RECORD_KEY), "key");
    assert_int_equal(fws_record_type_parse("nope", &t), FWS_ERR_NOT_FOUND);
    assert_null(fws_record_type_name((fws_record_type)99));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_records),
        cmocka_unit_test(test_indexed_fields),
        cmocka_unit_test(test_canonical_form_is_stored),
        cmocka_unit_test(test_bad_records),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_string_caps),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
