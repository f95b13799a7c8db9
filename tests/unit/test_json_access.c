/* Typed accessors and their messages; strict UTF-8 validation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fwseal/json.h"

static json_t *doc(void)
{
    static const char text[] = "{\"name\":\"fw\",\"nul\":\"a\\u0000b\",\"version\":3,"
                               "\"neg\":-9223372036854775808,\"real\":1.5,\"obj\":{\"k\":1},"
                               "\"arr\":[1],\"flag\":true,\"none\":null}";
    json_t *v = NULL;
    assert_int_equal(fws_json_parse((const uint8_t *)text, sizeof(text) - 1, 0, NULL, &v, NULL),
                     FWS_OK);
    return v;
}

static void expect_msg(fws_err err, fws_err want, const fws_errbuf *eb, const char *msg)
{
    assert_int_equal(err, want);
    assert_string_equal(eb->msg, msg);
}

static void test_get_string(void **state)
{
    (void)state;
    json_t *v = doc();
    const char *s = "untouched";
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_json_get_string(v, "name", &s, &eb), FWS_OK);
    assert_string_equal(s, "fw");
    assert_string_equal(eb.msg, "");

    s = "untouched";
    expect_msg(fws_json_get_string(v, "missing", &s, &eb), FWS_ERR_SCHEMA, &eb,
               "missing field \"missing\"");
    fws_errbuf_clear(&eb);
    expect_msg(fws_json_get_string(v, "version", &s, &eb), FWS_ERR_SCHEMA, &eb,
               "field \"version\" must be a string, not an integer");
    fws_errbuf_clear(&eb);
    expect_msg(fws_json_get_string(v, "nul", &s, &eb), FWS_ERR_SCHEMA, &eb,
               "field \"nul\" holds a NUL character");
    fws_errbuf_clear(&eb);
    expect_msg(fws_json_get_string(json_array_get(json_object_get(v, "arr"), 0), "x", &s, &eb),
               FWS_ERR_SCHEMA, &eb, "expected an object holding field \"x\", found an integer");
    assert_string_equal(s, "untouched");
    json_decref(v);
}

static void test_get_int(void **state)
{
    (void)state;
    json_t *v = doc();
    int64_t i = 42;
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_json_get_int(v, "version", &i, &eb), FWS_OK);
    assert_int_equal(i, 3);
    assert_int_equal(fws_json_get_int(v, "neg", &i, &eb), FWS_OK);
    assert_true(i == INT64_MIN);

    i = 42;
    expect_msg(fws_json_get_int(v, "real", &i, &eb), FWS_ERR_SCHEMA, &eb,
               "field \"real\" must be an integer, not a real number");
    fws_errbuf_clear(&eb);
    expect_msg(fws_json_get_int(v, "name", &i, &eb), FWS_ERR_SCHEMA, &eb,
               "field \"name\" must be an integer, not a string");
    fws_errbuf_clear(&eb);
    expect_msg(fws_json_get_int(v, "nope", &i, &eb), FWS_ERR_SCHEMA, &eb, "missing field \"nope\"");
    assert_int_equal(i, 42);
    json_decref(v);
}

static void test_get_object_array(void **state)
{
    (void)state;
    json_t *v = doc(), *o = NULL, *a = NULL;
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_json_get_object(v, "obj", &o, &eb), FWS_OK);
    assert_int_equal(json_integer_value(json_object_get(o, "k")), 1);
    assert_int_equal(fws_json_get_array(v, "arr", &a, &eb), FWS_OK);
    assert_int_equal(json_array_size(a), 1);

    o = a = NULL;
    expect_msg(fws_json_get_object(v, "arr", &o, &eb), FWS_ERR_SCHEMA, &eb,
               "field \"arr\" must be an object, not an array");
    fws_errbuf_clear(&eb);
    expect_msg(fws_json_get_array(v, "obj", &a, &eb), FWS_ERR_SCHEMA, &eb,
               "field \"obj\" must be an array, not an object");
    fws_errbuf_clear(&eb);
    expect_msg(fws_json_get_array(v, "flag", &a, &eb), FWS_ERR_SCHEMA, &eb,
               "field \"flag\" must be an array, not a boolean");
    fws_errbuf_clear(&eb);
    expect_msg(fws_json_get_object(v, "none", &o, &eb), FWS_ERR_SCHEMA, &eb,
               "field \"none\" must be an object, not null");
    fws_errbuf_clear(&eb);
    expect_msg(fws_json_get_object(NULL, "k", &o, &eb), FWS_ERR_SCHEMA, &eb,
               "expected an object holding field \"k\", found nothing");
    assert_null(o);
    assert_null(a);
    json_decref(v);
}

static void test_only_keys(void **state)
{
    (void)state;
    static const char *const all[] = {"name", "nul", "version", "neg",  "real",
                                      "obj",  "arr", "flag",    "none", NULL};
    static const char *const some[] = {"name", "nul", "version", NULL};
    json_t *v = doc();
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_json_only_keys(v, all, &eb), FWS_OK);
    /* the first unknown key in document order is named */
    expect_msg(fws_json_only_keys(v, some, &eb), FWS_ERR_SCHEMA, &eb, "unknown field \"neg\"");
    json_decref(v);

    /* keys from the input are made printable and cut short */
    static const char text[] = "{\"ok\":1,\"bad\\nkey\":2}";
    assert_int_equal(fws_json_parse((const uint8_t *)text, sizeof(text) - 1, 0, NULL, &v, NULL),
                     FWS_OK);
    static const char *const ok[] = {"ok", NULL};
    fws_errbuf_clear(&eb);
    expect_msg(fws_json_only_keys(v, ok, &eb), FWS_ERR_SCHEMA, &eb, "unknown field \"bad?key\"");
    json_decref(v);

    v = json_object();
    char longkey[200];
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    assert_int_equal(json_object_set_new(v, longkey, json_null()), 0);
    fws_errbuf_clear(&eb);
    assert_int_equal(fws_json_only_keys(v, ok, &eb), FWS_ERR_SCHEMA);
    assert_true(strlen(eb.msg) < 100);
    assert_non_null(strstr(eb.msg, "kkk...\""));
    json_decref(v);

    fws_errbuf_clear(&eb);
    json_t *arr = json_array();
    expect_msg(fws_json_only_keys(arr, ok, &eb), FWS_ERR_SCHEMA, &eb,
               "expected an object, found an array");
    json_decref(arr);
}

struct utf8_case {
    const char *bytes;
    size_t len;
    int valid;
};

#define U(s, v)                                                                                    \
    {                                                                                              \
        s, sizeof(s) - 1, v                                                                        \
    }

static void test_utf8(void **state)
{
    (void)state;
    static const struct utf8_case cases[] = {
        U("", 1),
        U("plain ascii \x01\x7F", 1),
        U("\0", 1),
        U("\xC2\x80", 1),         /* U+0080 */
        U("\xDF\xBF", 1),         /* U+07FF */
        U("\xE0\xA0\x80", 1),     /* U+0800 */
        U("\xED\x9F\xBF", 1),     /* U+D7FF */
        U("\xEE\x80\x80", 1),     /* U+E000 */
        U("\xEF\xBF\xBF", 1),     /* U+FFFF */
        U("\xF0\x90\x80\x80", 1), /* U+10000 */
        U("\xF4\x8F\xBF\xBF", 1), /* U+10FFFF */
        U("\xC0\x80", 0),         /* overlong U+0000 */
        U("\xC1\xBF", 0),         /* overlong U+007F */
        U("\xE0\x9F\xBF", 0),     /* overlong U+07FF */
        U("\xF0\x8F\xBF\xBF", 0), /* overlong U+FFFF */
        U("\xED\xA0\x80", 0),     /* U+D800 */
        U("\xED\xBF\xBF", 0),     /* U+DFFF */
        U("\xF4\x90\x80\x80", 0), /* U+110000 */
        U("\xF5\x80\x80\x80", 0),
        U("\xF8\x88\x80\x80\x80", 0),
        U("\xFE", 0),
        U("\xFF", 0),
        U("\x80", 0), /* lone continuation */
        U("a\xBF", 0),
        U("\xC2", 0), /* truncated */
        U("\xE2\x82", 0),
        U("\xF0\x9F\x98", 0),
        U("\xC2\x41", 0), /* bad continuation */
        U("\xE2\x28\xA1", 0),
        U("\xF0\x9F\x28\x80", 0),
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (fws_utf8_valid((const uint8_t *)cases[i].bytes, cases[i].len) != cases[i].valid)
            print_error("case %zu\n", i);
        assert_int_equal(fws_utf8_valid((const uint8_t *)cases[i].bytes, cases[i].len),
                         cases[i].valid);
    }
    assert_int_equal(fws_utf8_valid(NULL, 0), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_string),
        cmocka_unit_test(test_get_int),
        cmocka_unit_test(test_get_object_array),
        cmocka_unit_test(test_only_keys),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
