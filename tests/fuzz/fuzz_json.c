/* libFuzzer target for the JSON parser and the canonical encoder.
 * Properties checked on every input that parses (small caps keep runs fast):
 *  - the canonical encoding re-parses in canonical mode under the same caps, to an equal
 *    value, and re-encodes to the same bytes;
 *  - an input accepted in canonical mode is its own canonical encoding;
 *  - the encoder refuses only documents with a real number, which the no-floats parse refuses;
 *  - the pretty form always encodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const fws_json_limits limits = {
    .max_bytes = 4096,
    .max_depth = 16,
    .max_string = 256,
    .max_members = 64,
};

static void check_reparse(const json_t *v, const char *c, size_t clen)
{
    json_t *again = NULL;
    char *c2 = NULL;
    size_t clen2 = 0;
    fws_errbuf eb = {{0}};
    if (fws_json_parse((const uint8_t *)c, clen, FWS_JSON_CANONICAL, &limits, &again, &eb) !=
        FWS_OK)
        abort();
    if (!json_equal((json_t *)v, again))
        abort();
    if (fws_json_canonical(again, &c2, &clen2) != FWS_OK)
        abort();
    if (clen2 != clen || memcmp(c, c2, clen) != 0)
        abort();
    free(c2);
    json_decref(again);
}

static void check_canonical_input(const uint8_t *data, size_t size, const char *c, size_t clen)
{
    json_t *v = NULL;
    if (fws_json_parse(data, size, FWS_JSON_CANONICAL, &limits, &v, NULL) != FWS_OK)
        return;
    if (clen != size || memcmp(c, data, size) != 0)
        abort();
    json_decref(v);
}

static void check_real_refused(const uint8_t *data, size_t size)
{
    json_t *v = NULL;
    if (fws_json_parse(data, size, FWS_JSON_NO_FLOATS, &limits, &v, NULL) != FWS_ERR_FORMAT)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = NULL;
    char *c = NULL, *pretty = NULL;
    size_t clen = 0, plen = 0;
    fws_errbuf eb = {{0}};
    fws_err err;

    if (fws_json_parse(data, size, 0, &limits, &v, &eb) != FWS_OK) {
        if (eb.msg[0] == '\0')
            abort(); /* every refusal says why */
        return 0;
    }
    if (fws_json_pretty(v, &pretty, &plen) != FWS_OK || plen == 0 || pretty[plen - 1] != '\n')
        abort();
    free(pretty);
    err = fws_json_canonical(v, &c, &clen);
    if (err == FWS_ERR_FORMAT) {
        check_real_refused(data, size);
    } else if (err != FWS_OK || clen > size || c[clen] != '\0') {
        abort();
    } else {
        check_reparse(v, c, clen);
        check_canonical_input(data, size, c, clen);
    }
    free(c);
    json_decref(v);
    return 0;
}
