/* fws_json_parse: what it rejects, with which code and which message; the caps; the canonical
 * mode. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fwseal/json.h"

static fws_err parse_n(const char *s, size_t n, unsigned flags, const fws_json_limits *lim,
                       fws_errbuf *eb)
{
    json_t *v = (json_t *)0x1; /* must stay untouched on failure */
    fws_err err = fws_json_parse((const uint8_t *)s, n, flags, lim, &v, eb);
    if (err == FWS_OK) {
        assert_non_null(v);
        json_decref(v);
    } else {
        assert_ptr_equal(v, (json_t *)0x1);
        assert_true(eb->msg[0] != '\0');
    }
    return err;
}

static fws_err parse_s(const char *s, unsigned flags, const fws_json_limits *lim, fws_errbuf *eb)
{
    return parse_n(s, strlen(s), flags, lim, eb);
}

/* Parses s expecting err; when msg is not NULL the error line must equal it. */
static void expect(const char *s, unsigned flags, const fws_json_limits *lim, fws_err want,
                   const char *msg)
{
    fws_errbuf eb = {{0}};
    fws_err err = parse_s(s, flags, lim, &eb);
    if (err != want)
        print_error("input %s: got %d (%s), want %d\n", s, err, eb.msg, want);
    assert_int_equal(err, want);
    if (msg != NULL)
        assert_string_equal(eb.msg, msg);
}

static void test_reals(void **state)
{
    (void)state;
    static const char *const reals[] = {"1.5",  "1e3",     "1E+3",       "2e-1",
                                        "-0.0", "[1,2.0]", "{\"a\":1.0}"};
    for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
        expect(reals[i], FWS_JSON_NO_FLOATS, NULL, FWS_ERR_FORMAT, NULL);
        expect(reals[i], FWS_JSON_CANONICAL, NULL, FWS_ERR_FORMAT, NULL);
    }
    expect("[1, 2.5]", FWS_JSON_NO_FLOATS, NULL, FWS_ERR_FORMAT,
           "byte 4: real number not allowed (integers only)");

    /* without the flag a real parses, and the canonical encoder refuses it */
    json_t *v = NULL;
    char *out = NULL;
    size_t n = 0;
    assert_int_equal(fws_json_parse((const uint8_t *)"[1.5]", 5, 0, NULL, &v, NULL), FWS_OK);
    assert_true(json_is_real(json_array_get(v, 0)));
    assert_int_equal(fws_json_canonical(v, &out, &n), FWS_ERR_FORMAT);
    json_decref(v);
}

static void test_bad_numbers_and_tokens(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "NaN",       "nan",         "Infinity",   "-Infinity", "inf",  "+1",  ".5",    "1.",
        "1e",        "1e+",         "0x10",       "01",        "-01",  "-",   "--1",   "tru",
        "True",      "nulll",       "[1 2]",      "[1,]",      "[,1]", "{,}", "{1:2}", "{\"a\"}",
        "{\"a\":}",  "{\"a\" 1}",   "{\"a\":1,}", "[",         "{",    "]",   "\"abc", "\"\\x\"",
        "\"\\u12\"", "\"\\u12G4\"", "'a'",        "[\"a\"]]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect(bad[i], 0, NULL, FWS_ERR_FORMAT, NULL);
    expect("01", 0, NULL, FWS_ERR_FORMAT, "byte 0: number with a leading zero");
    expect("[NaN]", 0, NULL, FWS_ERR_FORMAT, "byte 1: unexpected 'N'");
    expect("[1,]", 0, NULL, FWS_ERR_FORMAT, "byte 3: expected a value");
    expect("{\"a\":1", 0, NULL, FWS_ERR_FORMAT,
           "byte 6: unexpected end of input, expected ',' or '}'");
    expect("", 0, NULL, FWS_ERR_FORMAT, "byte 0: unexpected end of input, expected a value");
    expect(" \n\t", 0, NULL, FWS_ERR_FORMAT, NULL);
    expect("\"\\q\"", 0, NULL, FWS_ERR_FORMAT, "byte 1: invalid escape \\'q'");
}

static void test_big_integers(void **state)
{
    (void)state;
    expect("9223372036854775807", 0, NULL, FWS_OK, NULL);
    expect("-9223372036854775808", 0, NULL, FWS_OK, NULL);
    expect("9223372036854775808", 0, NULL, FWS_ERR_FORMAT, "byte 0: integer beyond 64 bits");
    expect("[-9223372036854775809]", 0, NULL, FWS_ERR_FORMAT, "byte 1: integer beyond 64 bits");
    expect("18446744073709551616", 0, NULL, FWS_ERR_FORMAT, NULL);
    expect("100000000000000000000000000000", 0, NULL, FWS_ERR_FORMAT, NULL);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\"\xC0\xAF\"",         /* overlong '/' */
        "\"\xE0\x80\xAF\"",     /* overlong, three bytes */
        "\"\xF0\x80\x80\xAF\"", /* overlong, four bytes */
        "\"\xED\xA0\x80\"",     /* surrogate U+D800 */
        "\"\xED\xBF\xBF\"",     /* surrogate U+DFFF */
        "\"\xE2\x82\"",         /* truncated */
        "\"\xF0\x9F\x98\"",     /* truncated */
        "\"\x80\"",             /* lone continuation byte */
        "\"\xF4\x90\x80\x80\"", /* above U+10FFFF */
        "\"\xFF\"",             /* never valid */
        "\"\\ud800\"",          /* lone high surrogate escape */
        "\"\\udc00\"",          /* lone low surrogate escape */
        "\"\\ud800\\u0041\"",   /* high surrogate followed by a non-surrogate */
        "[\"ok\", \xC3\xA9]",   /* non-ASCII outside a string */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect(bad[i], 0, NULL, FWS_ERR_FORMAT, NULL);
    expect("[\"ab\xC0\xAF\"]", 0, NULL, FWS_ERR_FORMAT, "byte 4: invalid UTF-8");
    expect("\"\\ud800\"", 0, NULL, FWS_ERR_FORMAT, "byte 1: unpaired surrogate in \\u escape");
    expect("\xEF\xBB\xBF{}", 0, NULL, FWS_ERR_FORMAT, "byte 0: byte order mark not allowed");
}

static void test_duplicates_and_trailing(void **state)
{
    (void)state;
    expect("{\"a\":1,\"a\":2}", 0, NULL, FWS_ERR_FORMAT, "byte 7: duplicate key \"a\"");
    expect("{\"x\":{\"k\":1, \"j\":2, \"k\":3}}", 0, NULL, FWS_ERR_FORMAT,
           "byte 20: duplicate key \"k\"");
    /* the same key spelt two ways is still a duplicate */
    expect("{\"a\":1,\"\\u0061\":2}", 0, NULL, FWS_ERR_FORMAT, "byte 7: duplicate key \"\\u0061\"");
    /* raw control bytes before the error do not shift the reported offset */
    expect("{\"\x01\":1,\"\x01\":2}", 0, NULL, FWS_ERR_FORMAT, "byte 7: duplicate key \"?\"");
    expect("[\"\n\n\", {\"b\":1,\"b\":1}]", 0, NULL, FWS_ERR_FORMAT,
           "byte 14: duplicate key \"b\"");
    expect("{\"\xC3\xA9\":1,\"\xC3\xA9\":2}", 0, NULL, FWS_ERR_FORMAT,
           "byte 8: duplicate key \"\xC3\xA9\"");
    /* keys may not hold U+0000 (jansson's check, offset mapped past the raw control byte) */
    expect("[\"\x01\", {\"\\u0000\":1}]", 0, NULL, FWS_ERR_FORMAT,
           "byte 15: NUL byte in object key not supported");

    expect("{} x", 0, NULL, FWS_ERR_FORMAT, "byte 3: trailing data after the JSON value");
    expect("{}{}", 0, NULL, FWS_ERR_FORMAT, "byte 2: trailing data after the JSON value");
    expect("1 2", 0, NULL, FWS_ERR_FORMAT, NULL);
    expect("\"a\"x", 0, NULL, FWS_ERR_FORMAT, NULL);
    expect("true false", 0, NULL, FWS_ERR_FORMAT, NULL);
    fws_errbuf eb = {{0}};
    assert_int_equal(parse_n("{}\0", 3, 0, NULL, &eb), FWS_ERR_FORMAT);
}

static char *nest(unsigned depth)
{
    char *s = malloc(2 * (size_t)depth + 2);
    assert_non_null(s);
    memset(s, '[', depth);
    s[depth] = '1';
    memset(s + depth + 1, ']', depth);
    s[2 * (size_t)depth + 1] = '\0';
    return s;
}

static void test_depth(void **state)
{
    (void)state;
    char *ok = nest(32), *over = nest(33), *huge = nest(FWS_JSON_MAX_DEPTH + 1);
    expect(ok, 0, NULL, FWS_OK, NULL);
    expect(over, 0, NULL, FWS_ERR_TOO_BIG, "byte 32: nesting deeper than 32 levels");
    fws_json_limits lim = fws_json_default_limits;
    lim.max_depth = 4;
    expect("[{\"a\":[{\"b\":1}]}]", 0, &lim, FWS_OK, NULL);
    expect("[{\"a\":[{\"b\":[]}]}]", 0, &lim, FWS_ERR_TOO_BIG,
           "byte 12: nesting deeper than 4 levels");
    /* a cap above the ceiling is clamped to FWS_JSON_MAX_DEPTH */
    lim.max_depth = 100000;
    expect(huge, 0, &lim, FWS_ERR_TOO_BIG, NULL);
    free(ok);
    free(over);
    free(huge);
}

static void test_string_cap(void **state)
{
    (void)state;
    fws_json_limits lim = fws_json_default_limits;
    lim.max_string = 8;
    expect("\"12345678\"", 0, &lim, FWS_OK, NULL);
    expect("[\"123456789\"]", 0, &lim, FWS_ERR_TOO_BIG, "byte 1: string longer than 8 bytes");
    expect("{\"123456789\":1}", 0, &lim, FWS_ERR_TOO_BIG, NULL);
    /* measured after unescaping: four 2-byte characters fit, five do not */
    expect("\"\\u00e9\\u00e9\\u00e9\\u00e9\"", 0, &lim, FWS_OK, NULL);
    expect("\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"", 0, &lim, FWS_ERR_TOO_BIG, NULL);
    expect("\"\\ud83d\\ude00\\ud83d\\ude00\"", 0, &lim, FWS_OK, NULL);
    expect("\"\\n\\n\\n\\n\\n\\n\\n\\n\"", 0, &lim, FWS_OK, NULL);
    expect("\"\\n\\n\\n\\n\\n\\n\\n\\n\\n\"", 0, &lim, FWS_ERR_TOO_BIG, NULL);
}

static void test_size_and_members(void **state)
{
    (void)state;
    fws_json_limits lim = fws_json_default_limits;
    lim.max_bytes = 10;
    expect("[1,2,3,44]", 0, &lim, FWS_OK, NULL);
    expect("[1,2,3,444]", 0, &lim, FWS_ERR_TOO_BIG, "document is 11 bytes, over the 10 byte limit");

    lim = fws_json_default_limits;
    lim.max_members = 3;
    expect("[1,2,3]", 0, &lim, FWS_OK, NULL);
    expect("[1,2,3,4]", 0, &lim, FWS_ERR_TOO_BIG, "byte 7: more than 3 elements in one array");
    expect("{\"a\":1,\"b\":2,\"c\":3}", 0, &lim, FWS_OK, NULL);
    expect("{\"a\":1,\"b\":2,\"c\":3,\"d\":[]}", 0, &lim, FWS_ERR_TOO_BIG,
           "byte 19: more than 3 members in one object");
    /* counts are per container: a parent's count survives its children */
    expect("[[1,2,3],[1,2,3],[1,2,3]]", 0, &lim, FWS_OK, NULL);
    expect("[[1,2,3],[1,2,3],[1,2,3],[]]", 0, &lim, FWS_ERR_TOO_BIG, NULL);
}

static void test_arguments(void **state)
{
    (void)state;
    json_t *v = NULL;
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_json_parse((const uint8_t *)"1", 1, 0, NULL, NULL, &eb), FWS_ERR_ARG);
    assert_int_equal(fws_json_parse(NULL, 1, 0, NULL, &v, NULL), FWS_ERR_ARG);
    assert_int_equal(fws_json_parse((const uint8_t *)"1", 1, 1u << 7, NULL, &v, NULL), FWS_ERR_ARG);
    assert_null(v);
    /* U+0000 in a string value is kept, with its length */
    assert_int_equal(fws_json_parse((const uint8_t *)"\"a\\u0000b\"", 10, 0, NULL, &v, &eb),
                     FWS_OK);
    assert_int_equal(json_string_length(v), 3);
    assert_memory_equal(json_string_value(v), "a\0b", 3);
    json_decref(v);
}

static void test_canonical_mode(void **state)
{
    (void)state;
    const unsigned C = FWS_JSON_CANONICAL;
    expect("{\"a\":[1,\"x\",true,null],\"b\":{\"c\":-5}}", C, NULL, FWS_OK, NULL);
    expect("\"line\nbreak\ttab\x01\"", C, NULL, FWS_OK, NULL);
    expect("\"q\\\"b\\\\\"", C, NULL, FWS_OK, NULL);
    expect("\"caf\xC3\xA9\"", C, NULL, FWS_OK, NULL);
    fws_errbuf eb = {{0}};
    assert_int_equal(parse_n("\"a\0b\"", 5, C, NULL, &eb), FWS_OK);

    expect("{\"a\": 1}", C, NULL, FWS_ERR_NOT_CANONICAL,
           "byte 5: not canonical JSON (expected '1')");
    expect(" {}", C, NULL, FWS_ERR_NOT_CANONICAL, "byte 0: not canonical JSON (expected '{')");
    expect("{}\n", C, NULL, FWS_ERR_NOT_CANONICAL,
           "byte 2: not canonical JSON (expected the end of the document)");
    expect("{\"b\":1,\"a\":2}", C, NULL, FWS_ERR_NOT_CANONICAL,
           "byte 2: not canonical JSON (expected 'a')");
    expect("[\"\\u0041\"]", C, NULL, FWS_ERR_NOT_CANONICAL,
           "byte 2: not canonical JSON (expected 'A')");
    expect("\"\\n\"", C, NULL, FWS_ERR_NOT_CANONICAL, "byte 1: not canonical JSON (expected 0x0A)");
    expect("\"\\/\"", C, NULL, FWS_ERR_NOT_CANONICAL, NULL);
    expect("\"\\u00e9\"", C, NULL, FWS_ERR_NOT_CANONICAL, NULL);
    expect("-0", C, NULL, FWS_ERR_NOT_CANONICAL, NULL);
    expect("[1 ]", C, NULL, FWS_ERR_NOT_CANONICAL, NULL);
    expect("1.0", C, NULL, FWS_ERR_FORMAT, NULL);
    /* other checks still apply in canonical mode */
    expect("{\"a\":1,\"a\":1}", C, NULL, FWS_ERR_FORMAT, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reals),
        cmocka_unit_test(test_bad_numbers_and_tokens),
        cmocka_unit_test(test_big_integers),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_duplicates_and_trailing),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_string_cap),
        cmocka_unit_test(test_size_and_members),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_canonical_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
