/* The JSON Schema evaluator under the SBOM module: ECMA-262 patterns on POSIX regex (a table whose
 * expectations tests/interop/cyclonedx_validator.sh also checks against JavaScript's RegExp),
 * formats (a table with the reference validator's answers beside fwseal's), what the loader
 * refuses, keyword semantics on small schemas, and JSON equality. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "sbom/internal.h"

static const char *source_dir(void)
{
    const char *s = getenv("FWS_SOURCE_DIR");
    if (s == NULL || *s == '\0')
        fail_msg("FWS_SOURCE_DIR is not set (run the test through ctest)");
    return s;
}

static json_t *load_table(const char *name)
{
    char path[1024];
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *t = NULL;
    fws_errbuf eb = {{0}};
    snprintf(path, sizeof path, "%s/tests/vectors/sbom/%s", source_dir(), name);
    if (fws_file_read(path, 1u << 20, &data, &len, &eb) != FWS_OK ||
        fws_json_parse(data, len, 0, NULL, &t, &eb) != FWS_OK)
        fail_msg("%s: %s", path, eb.msg);
    free(data);
    assert_true(json_is_array(t) && json_array_size(t) > 0);
    return t;
}

/* ---- patterns ------------------------------------------------------------------------------ */

static void run_pattern_table(locale_t c_locale)
{
    json_t *t = load_table("patterns.json");
    for (size_t i = 0; i < json_array_size(t); i++) {
        json_t *row = json_array_get(t, i);
        const char *pat = json_string_value(json_array_get(row, 0));
        json_t *input = json_array_get(row, 1);
        int want = (int)json_integer_value(json_array_get(row, 2));
        sbom_regex re = {0};
        fws_errbuf eb = {{0}};
        if (sbom_regex_compile(&re, pat, c_locale, &eb) != FWS_OK)
            fail_msg("row %zu: %s", i, eb.msg);
        int got =
            sbom_regex_search(&re, json_string_value(input), json_string_length(input), c_locale);
        if (got != want)
            fail_msg("row %zu: /%s/ on \"%s\": %d, ECMA-262 says %d", i, pat,
                     json_string_value(input), got, want);
        sbom_regex_free(&re);
    }
    json_decref(t);
}

static void test_pattern_table(void **state)
{
    (void)state;
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    assert_true(c != (locale_t)0);
    run_pattern_table(c);
    /* the process locale must not matter: byte semantics come from the C locale object */
    if (setlocale(LC_ALL, "C.UTF-8") != NULL) {
        run_pattern_table(c);
        setlocale(LC_ALL, "C");
    }
    freelocale(c);
}

static void test_pattern_translation(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "(?=a)", "(?:a)",   "a*?",  "a+?", "[^a]",   "\\w",   "\\s",         "\\b", "[é]", "é",
        "a{",    "a{2,1}",  "a{x}", "(a",  "a)",     "*a",    "a||b",        "()",  "[]",  "[a\\d]",
        "\\1",   "\\u0041", "^*",   "a**", "[a-]b]", "[z-a]", "[[:alpha:]]", "a|",  "}",
    };
    char out[SBOM_POSIX_MAX];
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        fws_errbuf eb = {{0}};
        fws_err err = sbom_regex_translate(refused[i], out, sizeof out, &eb);
        if (err != FWS_ERR_UNSUPPORTED)
            fail_msg("pattern \"%s\" accepted as \"%s\"", refused[i], out);
        assert_non_null(strstr(eb.msg, refused[i]));
    }
    fws_errbuf eb = {{0}};
    assert_int_equal(sbom_regex_translate("^\\d{2}[-+a-z0-9.]\\.x$", out, sizeof out, &eb), FWS_OK);
    assert_string_equal(out, "^[0-9]{2}[+a-z0-9.-]\\.x$");
    assert_int_equal(sbom_regex_translate("a.", out, 8, &eb), FWS_ERR_TOO_BIG);
}

/* ---- formats ------------------------------------------------------------------------------- */

static void test_format_table(void **state)
{
    (void)state;
    json_t *t = load_table("formats.json");
    size_t stricter = 0;
    for (size_t i = 0; i < json_array_size(t); i++) {
        json_t *row = json_array_get(t, i);
        sbom_format f;
        json_t *input = json_array_get(row, 1);
        int reference = (int)json_integer_value(json_array_get(row, 2));
        int want = (int)json_integer_value(json_array_get(row, 3));
        assert_int_equal(sbom_format_lookup(json_string_value(json_array_get(row, 0)), &f), FWS_OK);
        int got = sbom_format_check(f, json_string_value(input), json_string_length(input));
        if (got != want)
            fail_msg("row %zu: %s \"%s\": %d, expected %d", i, sbom_format_name(f),
                     json_string_value(input), got, want);
        /* fwseal may be stricter than the reference validator, never more lenient */
        assert_false(got && !reference);
        stricter += reference && !got;
    }
    assert_true(stricter > 0);
    sbom_format f;
    assert_int_equal(sbom_format_lookup("hostname", &f), FWS_ERR_UNSUPPORTED);
    json_decref(t);
}

/* ---- small schemas ------------------------------------------------------------------------- */

static char tmpdir[256];

static void write_schema(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/cyclonedx", tmpdir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/cyclonedx/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fwseal-sbom-test-XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

#define ROOT "bom-1.6.SNAPSHOT.schema.json"
#define HEAD "{\"$schema\":\"http://json-schema.org/draft-07/schema#\","

static fws_err load_text(const char *text, fws_sbom_schema **s, fws_errbuf *eb)
{
    write_schema(ROOT, text);
    return fws_sbom_schema_load(tmpdir, s, eb);
}

static void expect_refused(const char *text, fws_err want, const char *needle)
{
    fws_sbom_schema *s = NULL;
    fws_errbuf eb = {{0}};
    fws_err err = load_text(text, &s, &eb);
    if (err != want || strstr(eb.msg, needle) == NULL)
        fail_msg("%s\n  got %d \"%s\", expected %d with \"%s\"", text, err, eb.msg, want, needle);
    assert_null(s);
}

static void test_loader_refuses(void **state)
{
    (void)state;
    expect_refused(HEAD "\"not\":{\"type\":\"string\"}}", FWS_ERR_UNSUPPORTED, "\"not\"");
    expect_refused(HEAD "\"properties\":{\"a\":{\"else\":{}}}}", FWS_ERR_UNSUPPORTED,
                   ROOT "#/properties/a: \"else\"");
    expect_refused(HEAD "\"format\":\"hostname\"}", FWS_ERR_UNSUPPORTED, "\"format\"");
    expect_refused(HEAD "\"pattern\":\"^\\\\w+$\"}", FWS_ERR_UNSUPPORTED, "escape sequence");
    expect_refused(HEAD "\"$ref\":\"#/definitions/missing\"}", FWS_ERR_SCHEMA, "does not resolve");
    expect_refused(HEAD "\"$ref\":\"other.json#/x\"}", FWS_ERR_NOT_FOUND, "other.json");
    expect_refused(HEAD "\"$ref\":\"../secret.json\"}", FWS_ERR_UNSUPPORTED, "only file names");
    expect_refused(HEAD "\"$ref\":\"#anchor\"}", FWS_ERR_UNSUPPORTED, "plain-name");
    expect_refused(HEAD "\"items\":{\"$id\":\"http://x/y.json\"}}", FWS_ERR_UNSUPPORTED, "$id");
    expect_refused("{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\"}",
                   FWS_ERR_UNSUPPORTED, "draft-07");
    expect_refused(HEAD "\"type\":\"text\"}", FWS_ERR_UNSUPPORTED, "unknown type");
    expect_refused(HEAD "\"minLength\":-1}", FWS_ERR_UNSUPPORTED, "non-negative");
    expect_refused(HEAD "\"items\":3}", FWS_ERR_SCHEMA, "object or a boolean");
    expect_refused(HEAD "\"oneOf\":[]}", FWS_ERR_UNSUPPORTED, "non-empty");
    expect_refused("{\"type\":", FWS_ERR_FORMAT, ROOT);
}

/* A root schema that lets the BOM envelope through and puts the rule under test on "t". */
static void check_rule(const char *rule, const char *extra_defs, const char *value, fws_err want,
                       const char *msg)
{
    char schema[4096], bom[2048];
    fws_sbom_schema *s = NULL;
    fws_errbuf eb = {{0}};
    snprintf(schema, sizeof schema,
             HEAD "\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
                  "\"bomFormat\":{\"const\":\"CycloneDX\"},\"specVersion\":{\"type\":\"string\"},"
                  "\"t\":%s},\"definitions\":{%s}}",
             rule, extra_defs);
    if (load_text(schema, &s, &eb) != FWS_OK)
        fail_msg("%s: %s", schema, eb.msg);
    snprintf(bom, sizeof bom, "{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"t\":%s}",
             value);
    fws_err got = fws_sbom_validate_with(s, (const uint8_t *)bom, strlen(bom), NULL, &eb);
    if (got != want || strcmp(eb.msg, msg) != 0)
        fail_msg("rule %s, value %s\n  got %d \"%s\"\n  expected %d \"%s\"", rule, value, got,
                 eb.msg, want, msg);
    fws_sbom_schema_free(s);
}

#define OK(rule, value) check_rule(rule, "", value, FWS_OK, "")
#define NO(rule, value, msg) check_rule(rule, "", value, FWS_ERR_SCHEMA, msg)

static void test_keywords(void **state)
{
    (void)state;
    const char *types = "{\"type\":[\"string\",\"null\"]}";
    OK(types, "null");
    NO(types, "1", "/t: must be null or a string (type)");
    OK("{\"type\":\"integer\"}", "2.0");
    NO("{\"type\":\"integer\"}", "2.5", "/t: must be an integer (type)");
    OK("{\"type\":\"number\",\"minimum\":0,\"maximum\":1}", "1");
    NO("{\"type\":\"number\",\"minimum\":0,\"maximum\":1}", "-0.5",
       "/t: less than the minimum 0 (minimum)");
    OK("{\"const\":{\"a\":[1,{\"b\":null}]}}", "{\"a\":[1.0,{\"b\":null}]}");
    NO("{\"const\":\"EC\"}", "\"OKP\"", "/t: must be \"EC\" (const)");
    NO("{\"enum\":[1,\"1\",true]}", "false", "/t: not one of the allowed values (enum)");
    OK("{\"minLength\":3,\"maxLength\":3}", "\"\xc3\xa9\xc3\xa9\xf0\x9f\x9a\x80\"");
    NO("{\"maxLength\":2}", "\"abc\"", "/t: longer than the maximum length 2 (maxLength)");
    OK("{\"maxLength\":2}", "3"); /* string keywords ignore other types */
    const char *tuple = "{\"items\":[{\"type\":\"string\"}],\"additionalItems\":false,"
                        "\"minItems\":1}";
    OK(tuple, "[\"a\"]");
    NO(tuple, "[]", "/t: fewer items than the minimum 1 (minItems)");
    NO(tuple, "[\"a\",1]", "/t/1: item not allowed (additionalItems)");
    NO(tuple, "[2]", "/t/0: must be a string (type)");
    const char *req = "{\"required\":[\"a\",\"b\"],\"properties\":{\"a\":{\"type\":\"string\"}},"
                      "\"additionalProperties\":{\"type\":\"integer\"}}";
    OK(req, "{\"a\":\"x\",\"b\":1,\"c\":2}");
    NO(req, "{\"a\":\"x\"}", "/t: missing required property \"b\" (required)");
    NO(req, "{\"b\":1,\"a\":\"x\",\"c\":\"y\"}", "/t/c: must be an integer (type)");
    const char *cond = "{\"allOf\":[{\"if\":{\"properties\":{\"kty\":{\"const\":\"EC\"}}},"
                       "\"then\":{\"required\":[\"y\"]}}]}";
    OK(cond, "{\"kty\":\"OKP\"}");
    OK(cond, "{\"kty\":\"EC\",\"y\":1}");
    NO(cond, "{\"kty\":\"EC\"}", "/t: missing required property \"y\" (required)");
    const char *any = "{\"anyOf\":[{\"type\":\"string\",\"format\":\"date-time\"},"
                      "{\"type\":\"integer\"}]}";
    OK(any, "5");
    NO(any, "\"yesterday\"",
       "/t: no alternative matches; the first: not a valid date-time (format) (anyOf)");
    const char *one = "{\"oneOf\":[{\"type\":\"number\"},{\"type\":\"integer\"}]}";
    OK(one, "1.5");
    NO(one, "1", "/t: matches alternatives 0 and 1, only one may match (oneOf)");
    NO("{\"uniqueItems\":true}", "[{\"a\":1,\"b\":2},3,{\"b\":2,\"a\":1.0}]",
       "/t: items 0 and 2 are equal (uniqueItems)");
    OK("{\"uniqueItems\":true}", "[[1,2],[2,1],{\"a\":1},{\"a\":\"1\"},true,1]");
    NO("{\"pattern\":\"^a.c$\"}", "\"a\\nc\"", "/t: does not match ^a.c$ (pattern)");
    NO("false", "1", "/t: no value is allowed here (false)");
    /* draft-07: a $ref replaces its siblings */
    check_rule("{\"$ref\":\"#/definitions/s\",\"type\":\"integer\"}", "\"s\":{\"type\":\"string\"}",
               "\"x\"", FWS_OK, "");
    /* recursion through $ref */
    const char *tree =
        "\"node\":{\"type\":\"object\",\"properties\":{\"kids\":{\"type\":\"array\","
        "\"items\":{\"$ref\":\"#/definitions/node\"}}},\"additionalProperties\":false}";
    check_rule("{\"$ref\":\"#/definitions/node\"}", tree, "{\"kids\":[{\"kids\":[{}]},{}]}", FWS_OK,
               "");
    check_rule("{\"$ref\":\"#/definitions/node\"}", tree, "{\"kids\":[{\"kids\":[{\"x\":1}]}]}",
               FWS_ERR_SCHEMA, "/t/kids/0/kids/0/x: property not allowed (additionalProperties)");
}

static void test_unique_large(void **state)
{
    (void)state;
    json_t *a = json_array();
    size_t i = 0, j = 0;
    fws_err err = FWS_OK;
    for (int k = 0; k < 100; k++)
        json_array_append_new(a, json_pack("{s:i, s:[i]}", "n", k, "l", k * 7));
    assert_int_equal(sbom_json_find_duplicate(a, &i, &j, &err), 0);
    assert_int_equal(err, FWS_OK);
    json_array_set_new(a, 99, json_pack("{s:[f], s:f}", "l", 57.0 * 7, "n", 57.0));
    json_array_set_new(a, 80, json_pack("{s:i, s:[i]}", "n", 20, "l", 140));
    assert_int_equal(sbom_json_find_duplicate(a, &i, &j, &err), 1);
    assert_int_equal(i, 20);
    assert_int_equal(j, 80);
    json_decref(a);

    /* many equal items cost one comparison each */
    a = json_array();
    for (int k = 0; k < 200000; k++)
        json_array_append_new(a, json_string("same"));
    assert_int_equal(sbom_json_find_duplicate(a, &i, &j, &err), 1);
    assert_int_equal(i, 0);
    assert_int_equal(j, 1);
    json_decref(a);
}

static void test_equal_and_hash(void **state)
{
    (void)state;
    json_t *x = json_pack("{s:i, s:[f, s, b, n]}", "a", 1, "b", -0.0, "s", 1);
    json_t *y = json_pack("{s:[i, s, b, n], s:f}", "b", 0, "s", 1, "a", 1.0);
    json_t *z = json_pack("{s:f, s:[i, s, b, n]}", "a", 1.5, "b", 0, "s", 1);
    assert_true(sbom_json_equal(x, y));
    assert_int_equal(sbom_json_hash(x), sbom_json_hash(y));
    assert_false(sbom_json_equal(x, z));
    json_t *t = json_true(), *one = json_integer(1);
    assert_false(sbom_json_equal(t, one));
    json_t *s1 = json_stringn("a\0b", 3), *s2 = json_stringn("a\0c", 3);
    assert_false(sbom_json_equal(s1, s2));
    assert_int_equal(sbom_utf8_length("\xc3\xa9x\xf0\x9f\x9a\x80", 7), 3);
    json_decref(x);
    json_decref(y);
    json_decref(z);
    json_decref(one);
    json_decref(s1);
    json_decref(s2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pattern_table),
        cmocka_unit_test(test_pattern_translation),
        cmocka_unit_test(test_format_table),
        cmocka_unit_test_setup_teardown(test_loader_refuses, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(test_keywords, make_tmpdir, remove_tmpdir),
        cmocka_unit_test(test_unique_large),
        cmocka_unit_test(test_equal_and_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
