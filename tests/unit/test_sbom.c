/* CycloneDX 1.6 validation through the public API: every sample in tests/vectors/sbom (good ones
 * accepted with the right summary, bad and stricter ones refused with the exact error), caps,
 * the data directory and its environment override. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <cmocka.h>
#include "fwseal/sbom.h"
#include "fwseal/util.h"

#define MAX_FILES 128

static fws_sbom_schema *schema;

static const char *source_dir(void)
{
    const char *s = getenv("FWS_SOURCE_DIR");
    if (s == NULL || *s == '\0')
        fail_msg("FWS_SOURCE_DIR is not set (run the test through ctest)");
    return s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted *.json names in tests/vectors/sbom/<sub>. */
static size_t list_vectors(const char *sub, char *dir, size_t dir_cap, char **names)
{
    snprintf(dir, dir_cap, "%s/tests/vectors/sbom/%s", source_dir(), sub);
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) {
            assert_true(n < MAX_FILES);
            names[n] = strdup(e->d_name);
            assert_non_null(names[n++]);
        }
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    return n;
}

static void read_file(const char *dir, const char *name, uint8_t **data, size_t *len)
{
    char path[1024];
    fws_errbuf eb = {{0}};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (fws_file_read(path, 64u << 20, data, len, &eb) != FWS_OK)
        fail_msg("%s: %s", path, eb.msg);
}

static int setup(void **state)
{
    (void)state;
    fws_errbuf eb = {{0}};
    char data[1024];
    snprintf(data, sizeof data, "%s/data", source_dir());
    if (fws_sbom_schema_load(data, &schema, &eb) != FWS_OK) {
        fprintf(stderr, "schema load: %s\n", eb.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fws_sbom_schema_free(schema);
    return 0;
}

static void test_good_vectors(void **state)
{
    (void)state;
    char dir[1024], *names[MAX_FILES];
    size_t n = list_vectors("good", dir, sizeof dir, names);
    assert_true(n >= 8);
    for (size_t i = 0; i < n; i++) {
        uint8_t *data = NULL;
        size_t len = 0;
        fws_errbuf eb = {{0}};
        fws_sbom_info info;
        read_file(dir, names[i], &data, &len);
        fws_err err = fws_sbom_validate_with(schema, data, len, &info, &eb);
        if (err != FWS_OK)
            fail_msg("good/%s refused: %s", names[i], eb.msg);
        assert_true(info.version >= 1);
        fws_sbom_info_free(&info);
        free(data);
        free(names[i]);
    }
}

static fws_err code_named(const char *name)
{
    if (strcmp(name, "SCHEMA") == 0)
        return FWS_ERR_SCHEMA;
    if (strcmp(name, "FORMAT") == 0)
        return FWS_ERR_FORMAT;
    if (strcmp(name, "TOO_BIG") == 0)
        return FWS_ERR_TOO_BIG;
    fail_msg("unknown error name %s in an .expect file", name);
    return FWS_OK;
}

/* NAME.expect: the error name on line 1, the message on line 2 ("...*" matches a prefix). */
static void check_expectation(const char *dir, const char *name, fws_err got, const char *msg)
{
    char expect_name[512];
    uint8_t *text = NULL;
    size_t len = 0;
    snprintf(expect_name, sizeof expect_name, "%.*s.expect", (int)(strlen(name) - 5), name);
    read_file(dir, expect_name, &text, &len);
    char *nl = strchr((char *)text, '\n');
    assert_non_null(nl);
    *nl = '\0';
    char *want = nl + 1, *end = strchr(want, '\n');
    if (end != NULL)
        *end = '\0';
    if (got != code_named((char *)text))
        fail_msg("%s: error %d (%s), expected %s", name, got, msg, (char *)text);
    size_t wl = strlen(want);
    int ok =
        wl > 0 && want[wl - 1] == '*' ? strncmp(msg, want, wl - 1) == 0 : strcmp(msg, want) == 0;
    if (!ok)
        fail_msg("%s:\n  got      %s\n  expected %s", name, msg, want);
    free(text);
}

static void check_refused(const char *sub, size_t min_count)
{
    char dir[1024], *names[MAX_FILES];
    size_t n = list_vectors(sub, dir, sizeof dir, names);
    assert_true(n >= min_count);
    for (size_t i = 0; i < n; i++) {
        uint8_t *data = NULL;
        size_t len = 0;
        fws_errbuf eb = {{0}};
        fws_sbom_info info;
        memset(&info, 0x5a, sizeof info);
        read_file(dir, names[i], &data, &len);
        fws_err err = fws_sbom_validate_with(schema, data, len, &info, &eb);
        if (err == FWS_OK)
            fail_msg("%s/%s accepted", sub, names[i]);
        assert_int_equal(info.version, 0x5a5a5a5a5a5a5a5a); /* untouched on failure */
        check_expectation(dir, names[i], err, eb.msg);
        free(data);
        free(names[i]);
    }
}

static void test_bad_vectors(void **state)
{
    (void)state;
    check_refused("bad", 15);
}

static void test_stricter_vectors(void **state)
{
    (void)state;
    check_refused("stricter", 1);
}

static void validate_file(const char *sub, const char *name, fws_sbom_info *info)
{
    char dir[1024];
    uint8_t *data = NULL;
    size_t len = 0;
    fws_errbuf eb = {{0}};
    snprintf(dir, sizeof dir, "%s/tests/vectors/sbom/%s", source_dir(), sub);
    read_file(dir, name, &data, &len);
    if (fws_sbom_validate_with(schema, data, len, info, &eb) != FWS_OK)
        fail_msg("%s: %s", name, eb.msg);
    free(data);
}

static void test_info(void **state)
{
    (void)state;
    fws_sbom_info info;
    validate_file("good", "02_metadata_component.json", &info);
    assert_string_equal(info.serial_number, "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79");
    assert_int_equal(info.version, 3);
    assert_int_equal(info.component_count, 0);
    assert_string_equal(info.name, "hub-firmware");
    assert_string_equal(info.component_version, "2.4.1");
    fws_sbom_info_free(&info);
    assert_null(info.name);

    validate_file("good", "01_minimal.json", &info);
    assert_string_equal(info.serial_number, "");
    assert_int_equal(info.version, 1); /* the schema's default */
    assert_null(info.name);
    assert_null(info.component_version);
    fws_sbom_info_free(&info);

    validate_file("good", "07_nested_compositions.json", &info);
    assert_int_equal(info.component_count, 1);
    assert_int_equal(info.component_total, 4);
    fws_sbom_info_free(&info);

    validate_file("good", "03_components_purl_hashes_licenses.json", &info);
    assert_int_equal(info.component_count, 5);
    assert_int_equal(info.component_total, 5);
    fws_sbom_info_free(&info);
    fws_sbom_info_free(NULL);
}

static fws_err check_text(const char *text, fws_errbuf *eb)
{
    return fws_sbom_validate_with(schema, (const uint8_t *)text, strlen(text), NULL, eb);
}

static void expect_text(const char *text, fws_err want, const char *msg)
{
    fws_errbuf eb = {{0}};
    fws_err got = check_text(text, &eb);
    if (got != want || (msg != NULL && strcmp(eb.msg, msg) != 0))
        fail_msg("%s\n  got %d \"%s\"\n  expected %d \"%s\"", text, got, eb.msg, want,
                 msg ? msg : "");
}

static void test_messages(void **state)
{
    (void)state;
    expect_text("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\"}", FWS_OK, "");
    expect_text("{\"specVersion\":\"1.6\",\"bomFormat\":\"CycloneDX\",\"version\":1.0}", FWS_OK,
                "");
    expect_text("{\"bomFormat\":\"CycloneDX\"}", FWS_ERR_SCHEMA,
                "(root): missing required property \"specVersion\" (required)");
    expect_text("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"a/b~c\":1}", FWS_ERR_SCHEMA,
                "/a~1b~0c: property not allowed (additionalProperties)");
    expect_text("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"metadata\":{\"\\n\":1}}",
                FWS_ERR_SCHEMA, "/metadata/?: property not allowed (additionalProperties)");
    expect_text("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":[{\"type\":"
                "\"library\",\"name\":\"a\",\"licenses\":[{\"expression\":\"MIT\"},"
                "{\"expression\":\"0BSD\"}]}]}",
                FWS_ERR_SCHEMA,
                "/components/0/licenses/0: missing required property \"license\" (required)");
    expect_text("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"dependencies\":"
                "[{\"ref\":\"a\",\"provides\":[{\"x\":1},{\"x\":1.0}]}]}",
                FWS_ERR_SCHEMA, "/dependencies/0/provides/0: must be a string (type)");
    expect_text("[]", FWS_ERR_SCHEMA, "(root): must be an object (type)");
    expect_text("\xef\xbb\xbf{}", FWS_ERR_FORMAT, NULL);
    expect_text("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\"} x", FWS_ERR_FORMAT, NULL);
}

static void make_deep(char *buf, size_t cap, int arrays)
{
    size_t k =
        (size_t)snprintf(buf, cap, "{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"x\":");
    assert_true(k + 2 * (size_t)arrays + 2 < cap);
    for (int i = 0; i < arrays; i++)
        buf[k++] = '[';
    for (int i = 0; i < arrays; i++)
        buf[k++] = ']';
    buf[k++] = '}';
    buf[k] = '\0';
}

static void test_caps(void **state)
{
    (void)state;
    fws_errbuf eb = {{0}};
    size_t len = FWS_SBOM_MAX_BYTES + 1;
    uint8_t *big = malloc(len);
    assert_non_null(big);
    memset(big, ' ', len);
    assert_int_equal(fws_sbom_validate_with(schema, big, len, NULL, &eb), FWS_ERR_TOO_BIG);
    free(big);
    assert_int_equal(fws_sbom_validate_with(NULL, (const uint8_t *)"{}", 2, NULL, NULL),
                     FWS_ERR_ARG);
    assert_int_equal(fws_sbom_validate_with(schema, NULL, 5, NULL, NULL), FWS_ERR_ARG);

    /* the root object and 63 arrays are 64 levels, the cap; one more array is over it */
    char deep[512];
    make_deep(deep, sizeof deep, 63);
    expect_text(deep, FWS_ERR_SCHEMA, "/x: property not allowed (additionalProperties)");
    make_deep(deep, sizeof deep, 64);
    assert_int_equal(check_text(deep, &eb), FWS_ERR_TOO_BIG);
}

static void test_data_dir(void **state)
{
    (void)state;
    fws_errbuf eb = {{0}};
    fws_sbom_schema *s = NULL;
    char data[1024];
    const char *bom = "{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\"}";
    snprintf(data, sizeof data, "%s/data", source_dir());

    unsetenv(FWS_SBOM_DATA_DIR_ENV);
    assert_non_null(fws_sbom_data_dir());
    setenv(FWS_SBOM_DATA_DIR_ENV, "/nonexistent/fwseal-data", 1);
    assert_string_equal(fws_sbom_data_dir(), "/nonexistent/fwseal-data");
    assert_int_equal(fws_sbom_schema_load(NULL, &s, &eb), FWS_ERR_NOT_FOUND);
    assert_null(s);
    assert_non_null(strstr(eb.msg, "/nonexistent/fwseal-data/cyclonedx/"));
    fws_errbuf_clear(&eb);
    assert_int_equal(fws_sbom_validate((const uint8_t *)bom, strlen(bom), NULL, &eb),
                     FWS_ERR_NOT_FOUND);

    setenv(FWS_SBOM_DATA_DIR_ENV, data, 1);
    fws_sbom_info info;
    assert_int_equal(fws_sbom_validate((const uint8_t *)bom, strlen(bom), &info, &eb), FWS_OK);
    fws_sbom_info_free(&info);
    setenv(FWS_SBOM_DATA_DIR_ENV, "", 1); /* empty: the build's default */
    assert_string_not_equal(fws_sbom_data_dir(), "");
    unsetenv(FWS_SBOM_DATA_DIR_ENV);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_vectors),     cmocka_unit_test(test_bad_vectors),
        cmocka_unit_test(test_stricter_vectors), cmocka_unit_test(test_info),
        cmocka_unit_test(test_messages),         cmocka_unit_test(test_caps),
        cmocka_unit_test(test_data_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
