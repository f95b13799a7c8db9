/* libFuzzer target for CycloneDX validation. The first byte picks what the rest feeds:
 *  0-239  fws_sbom_validate_with on the bytes (the schema is loaded once from the build's data
 *         directory); properties: an accepted BOM's summary is consistent, a refused one always
 *         says why;
 *  240-247 the four format checkers;
 *  248-255 the ECMA-262 -> POSIX pattern translator; property: every translation it accepts
 *         compiles with regcomp, and searching it never crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "fwseal/sbom.h"
#include "sbom/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fws_sbom_schema *schema;
static locale_t c_locale;

static void setup(void)
{
    fws_errbuf eb = {{0}};
    if (schema != NULL)
        return;
    if (fws_sbom_schema_load(NULL, &schema, &eb) != FWS_OK)
        abort();
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (c_locale == (locale_t)0)
        abort();
}

static void fuzz_bom(const uint8_t *data, size_t size)
{
    fws_errbuf eb = {{0}};
    fws_sbom_info info;
    fws_err err = fws_sbom_validate_with(schema, data, size, &info, &eb);
    if (err != FWS_OK) {
        if (eb.msg[0] == '\0')
            abort();
        return;
    }
    size_t serial = strlen(info.serial_number);
    if ((serial != 0 && serial != 45) || info.version < 1 ||
        info.component_total < info.component_count)
        abort();
    fws_sbom_info_free(&info);
}

static void fuzz_formats(const uint8_t *data, size_t size)
{
    /* the checkers get what the parser hands them: valid UTF-8 (NUL bytes included) */
    if (!fws_utf8_valid(data, size))
        return;
    for (int f = SBOM_FMT_DATE_TIME; f <= SBOM_FMT_IDN_EMAIL; f++)
        (void)sbom_format_check((sbom_format)f, (const char *)data, size);
}

static void fuzz_pattern(const uint8_t *data, size_t size)
{
    char pattern[256], posix[SBOM_POSIX_MAX];
    fws_errbuf eb = {{0}};
    sbom_regex re = {0};
    if (size >= sizeof pattern || memchr(data, 0, size) != NULL)
        return;
    memcpy(pattern, data, size);
    pattern[size] = '\0';
    if (sbom_regex_translate(pattern, posix, sizeof posix, &eb) != FWS_OK)
        return;
    if (sbom_regex_compile(&re, pattern, c_locale, &eb) != FWS_OK)
        abort();
    (void)sbom_regex_search(&re, pattern, size, c_locale);
    (void)sbom_regex_search(&re, "urn:cdx:\xc3\xa9\n", 11, c_locale);
    sbom_regex_free(&re);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size == 0)
        return 0;
    if (data[0] < 240)
        fuzz_bom(data + 1, size - 1);
    else if (data[0] < 248)
        fuzz_formats(data + 1, size - 1);
    else
        fuzz_pattern(data + 1, size - 1);
    return 0;
}
