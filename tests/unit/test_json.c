/* Canonical JSON: known answers written by hand, the encoder over trees built in C, and the
 * parse -> canonical -> parse round trip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fwseal/json.h"

struct kat {
    const char *input;
    size_t input_len; /* 0: strlen */
    const char *canonical;
    size_t canonical_len; /* 0: strlen */
};

/* Expected bytes are written out by hand; "\x.." escapes in the expected strings are the raw
 * bytes canonical JSON must carry unescaped. */
static const struct kat kats[] = {
    /* 1: keys sorted */
    {"{\"b\":1,\"a\":2}", 0, "{\"a\":2,\"b\":1}", 0},
    /* 2: nested objects with unsorted keys, whitespace removed, array order kept */
    {"{ \"z\": {\"y\": 1, \"x\": [3, 2, {\"d\": null, \"c\": true}]}, \"a\": false }", 0,
     "{\"a\":false,\"z\":{\"x\":[3,2,{\"c\":true,\"d\":null}],\"y\":1}}", 0},
    /* 3: sorted by bytes: "" < "1" < "B" < "_" < "a" < "aa" < "b" */
    {"{\"b\":1,\"B\":2,\"_\":3,\"a\":4,\"1\":5,\"aa\":6,\"\":7}", 0,
     "{\"\":7,\"1\":5,\"B\":2,\"_\":3,\"a\":4,\"aa\":6,\"b\":1}", 0},
    /* 4: U+FF61 (EF BD A1) sorts before U+1F600 (F0 9F 98 80) by bytes, although UTF-16
     * order (D83D < FF61) would put the emoji first */
    {"{\"\\ud83d\\ude00\":1,\"\\uff61\":2}", 0, "{\"\xEF\xBD\xA1\":2,\"\xF0\x9F\x98\x80\":1}", 0},
    /* 5: the same keys written as raw UTF-8 */
    {"{\"\xF0\x9F\x98\x80\":1,\"\xEF\xBD\xA1\":2}", 0,
     "{\"\xEF\xBD\xA1\":2,\"\xF0\x9F\x98\x80\":1}", 0},
    /* 6: only '"' and '\' are escaped; control characters, DEL and '/' are written as is */
    {"\"tab\\tnl\\nq\\\"bs\\\\sl\\/ctl\\u0001del\\u007fcr\\rbs\\bff\\f\"", 0,
     "\"tab\tnl\nq\\\"bs\\\\sl/ctl\x01"
     "del\x7f"
     "cr\rbs\bff\f\"",
     0},
    /* 7: \u escapes become UTF-8 (2, 3 and 4 byte forms) */
    {"\"\\u00e9\\u20AC\\ud83d\\ude00\"", 0, "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"", 0},
    /* 8: raw UTF-8 stays as is */
    {"\"caf\xC3\xA9 \xE2\x82\xAC\"", 0, "\"caf\xC3\xA9 \xE2\x82\xAC\"", 0},
    /* 9: negative integers, -0 becomes 0, the int64 extremes */
    {"[-1, -0, 0, -42, -9223372036854775808, 9223372036854775807]", 0,
     "[-1,0,0,-42,-9223372036854775808,9223372036854775807]", 0},
    /* 10, 11: empty containers */
    {" { } ", 0, "{}", 0},
    {"[\n]", 0, "[]", 0},
    /* 12: nested empties */
    {"{\"c\":[{}],\"b\":[],\"a\":{}}", 0, "{\"a\":{},\"b\":[],\"c\":[{}]}", 0},
    /* 13-16: scalars at the top level */
    {"true", 0, "true", 0},
    {" null ", 0, "null", 0},
    {"\"x\"", 0, "\"x\"", 0},
    {"-7", 0, "-7", 0},
    /* 17: U+0000 is written as a raw NUL byte */
    {"\"a\\u0000b\"", 0, "\"a\0b\"", 5},
    /* 18: keys that are prefixes of each other */
    {"{\"abc\":3,\"ab\":1,\"a\":2}", 0, "{\"a\":2,\"ab\":1,\"abc\":3}", 0},
    /* 19: escaped quote and backslash in keys sort by their unescaped bytes */
    {"{\"a\\\\\":3,\"a\\\"\":1,\"a\":2}", 0, "{\"a\":2,\"a\\\"\":1,\"a\\\\\":3}", 0},
    /* 20: sorting happens after unescaping: \u0062 is "b" */
    {"{\"\\u0062\":1,\"a\":2}", 0, "{\"a\":2,\"b\":1}", 0},
    /* 21: every kind of JSON whitespace between tokens */
    {"\r\n\t{ \"k\" :\n [ 1 ,2 ] }\n", 0, "{\"k\":[1,2]}", 0},
    /* 22: raw control bytes in the input are accepted and kept */
    {"[\"a\tb\x01\"]", 0, "[\"a\tb\x01\"]", 0},
    /* 23: TUF-like signed metadata */
    {"{\n"
     "  \"signed\": {\n"
     "    \"_type\": \"targets\",\n"
     "    \"spec_version\": \"1.0.31\",\n"
     "    \"version\": 3,\n"
     "    \"expires\": \"2030-01-01T00:00:00Z\",\n"
     "    \"targets\": {\n"
     "      \"fw/router-1.2.bin\": {\n"
     "        \"length\": 1048576,\n"
     "        \"hashes\": {\"sha256\": \"9f86d081884c7d65\"},\n"
     "        \"custom\": {\"security_counter\": 7, \"hardware\": [\"hw-b\", \"hw-a\"]}\n"
     "      }\n"
     "    }\n"
     "  },\n"
     "  \"signatures\": [{\"sig\": \"00ff\", \"keyid\": \"4e1f\"}]\n"
     "}\n",
     0,
     "{\"signatures\":[{\"keyid\":\"4e1f\",\"sig\":\"00ff\"}],\"signed\":{\"_type\":\"targets\","
     "\"expires\":\"2030-01-01T00:00:00Z\",\"spec_version\":\"1.0.31\",\"targets\":{"
     "\"fw/router-1.2.bin\":{\"custom\":{\"hardware\":[\"hw-b\",\"hw-a\"],"
     "\"security_counter\":7},\"hashes\":{\"sha256\":\"9f86d081884c7d65\"},\"length\":1048576}},"
     "\"version\":3}}",
     0},
};

static size_t len_of(const char *s, size_t n)
{
    return n ? n : strlen(s);
}

static json_t *parse_ok(const char *s, size_t n, unsigned flags)
{
    json_t *v = NULL;
    fws_errbuf eb = {{0}};
    fws_err err = fws_json_parse((const uint8_t *)s, n, flags, NULL, &v, &eb);
    if (err != FWS_OK)
        print_error("parse failed (%d): %s\n", err, eb.msg);
    assert_int_equal(err, FWS_OK);
    assert_non_null(v);
    return v;
}

static void test_known_answers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
        const struct kat *k = &kats[i];
        size_t want_len = len_of(k->canonical, k->canonical_len);
        json_t *v = parse_ok(k->input, len_of(k->input, k->input_len), FWS_JSON_NO_FLOATS);
        char *out = NULL;
        size_t out_len = 0;
        assert_int_equal(fws_json_canonical(v, &out, &out_len), FWS_OK);
        if (out_len != want_len || memcmp(out, k->canonical, want_len) != 0)
            print_error("case %zu: got %.*s\n", i + 1, (int)out_len, out);
        assert_int_equal(out_len, want_len);
        assert_memory_equal(out, k->canonical, want_len);
        assert_int_equal(out[out_len], '\0');
        free(out);
        json_decref(v);
    }
}

/* The expected canonical bytes are themselves canonical: parsing them in canonical mode
 * succeeds and re-encoding gives them back. */
static void test_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
        const struct kat *k = &kats[i];
        size_t n = len_of(k->canonical, k->canonical_len);
        json_t *first = parse_ok(k->input, len_of(k->input, k->input_len), 0);
        char *c1 = NULL, *c2 = NULL;
        size_t l1 = 0, l2 = 0;
        assert_int_equal(fws_json_canonical(first, &c1, &l1), FWS_OK);
        json_t *second = parse_ok(c1, l1, FWS_JSON_CANONICAL);
        assert_true(json_equal(first, second));
        assert_int_equal(fws_json_canonical(second, &c2, &l2), FWS_OK);
        assert_int_equal(l1, l2);
        assert_memory_equal(c1, c2, l1);
        json_t *third = parse_ok(k->canonical, n, FWS_JSON_CANONICAL);
        assert_true(json_equal(first, third));
        free(c1);
        free(c2);
        json_decref(first);
        json_decref(second);
        json_decref(third);
    }
}

static void expect_encoding(const json_t *v, const char *want, size_t want_len)
{
    char *out = NULL;
    size_t n = 0;
    assert_int_equal(fws_json_canonical(v, &out, &n), FWS_OK);
    assert_int_equal(n, want_len);
    assert_memory_equal(out, want, want_len);
    free(out);
}

/* Trees built in C, including strings and keys holding NUL bytes. */
static void test_encode_tree(void **state)
{
    (void)state;
    json_t *o = json_object();
    assert_int_equal(json_object_setn_new(o, "b\0z", 3, json_integer(1)), 0);
    assert_int_equal(json_object_setn_new(o, "b", 1, json_stringn("x\0\"y", 4)), 0);
    assert_int_equal(json_object_set_new(o, "a", json_array()), 0);
    assert_int_equal(json_array_append_new(json_object_get(o, "a"), json_false()), 0);
    static const char want[] = "{\"a\":[false],\"b\":\"x\0\\\"y\",\"b\0z\":1}";
    expect_encoding(o, want, sizeof(want) - 1);
    json_decref(o);

    json_t *i = json_integer(INT64_MIN);
    expect_encoding(i, "-9223372036854775808", 20);
    json_decref(i);
    json_t *e = json_string("");
    expect_encoding(e, "\"\"", 2);
    json_decref(e);
}

static void test_encode_rejects(void **state)
{
    (void)state;
    char *out = (char *)"untouched";
    size_t n = 99;
    json_t *r = json_pack("{s:[i,f]}", "a", 1, 1.5);
    assert_int_equal(fws_json_canonical(r, &out, &n), FWS_ERR_FORMAT);
    assert_string_equal(out, "untouched");
    assert_int_equal(n, 99);
    json_decref(r);

    json_t *bad = json_stringn_nocheck("\xC0\xAF", 2);
    assert_int_equal(fws_json_canonical(bad, &out, &n), FWS_ERR_FORMAT);
    json_decref(bad);

    json_t *badkey = json_object();
    assert_int_equal(json_object_setn_new_nocheck(badkey, "\xED\xA0\x80", 3, json_null()), 0);
    assert_int_equal(fws_json_canonical(badkey, &out, &n), FWS_ERR_FORMAT);
    json_decref(badkey);

    /* deeper than FWS_JSON_MAX_DEPTH */
    json_t *deep = json_array(), *cur = deep;
    for (unsigned d = 0; d < FWS_JSON_MAX_DEPTH; d++) {
        json_t *next = json_array();
        assert_int_equal(json_array_append_new(cur, next), 0);
        cur = next;
    }
    assert_int_equal(fws_json_canonical(deep, &out, &n), FWS_ERR_TOO_BIG);
    json_decref(deep);

    assert_int_equal(fws_json_canonical(NULL, &out, &n), FWS_ERR_ARG);
}

static void test_pretty(void **state)
{
    (void)state;
    const char *doc = "{\"b\":1,\"a\":[1,2.5],\"c\":{}}";
    json_t *v = parse_ok(doc, strlen(doc), 0);
    char *out = NULL;
    size_t n = 0;
    assert_int_equal(fws_json_pretty(v, &out, &n), FWS_OK);
    static const char want[] =
        "{\n  \"a\": [\n    1,\n    2.5\n  ],\n  \"b\": 1,\n  \"c\": {}\n}\n";
    assert_int_equal(n, strlen(want));
    assert_string_equal(out, want);
    free(out);
    json_decref(v);

    json_t *s = json_string("x");
    assert_int_equal(fws_json_pretty(s, &out, &n), FWS_OK);
    assert_string_equal(out, "\"x\"\n");
    free(out);
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers), cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_encode_tree),   cmocka_unit_test(test_encode_rejects),
        cmocka_unit_test(test_pretty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
