/* libFuzzer target for record validation (the ledger's schema check of untrusted records).
 * Properties checked on every input:
 *  - validation never crashes and always leaves a message when it refuses;
 *  - an accepted record's stored form is at most 65535 bytes, validates again to the same
 *    bytes (the canonical form is a fixed point) and to the same indexed fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_info(const fws_record_info *a, const fws_record_info *b)
{
    return a->type == b->type && strcmp(a->device, b->device) == 0 &&
           strcmp(a->product, b->product) == 0 && strcmp(a->version, b->version) == 0 &&
           strcmp(a->time, b->time) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fws_record_info info, info2;
    fws_errbuf eb = {{0}};
    char *canon = NULL, *again = NULL;
    size_t len = 0, len2 = 0;

    fws_err err = fws_record_validate(data, size, &canon, &len, &info, &eb);
    if (err != FWS_OK) {
        if (eb.msg[0] == '\0' || canon != NULL)
            abort();
        return 0;
    }
    if (len > FWS_RECORD_MAX || len > size || fws_record_type_name(info.type) == NULL)
        abort();
    if (fws_record_validate((const uint8_t *)canon, len, &again, &len2, &info2, NULL) != FWS_OK)
        abort();
    if (len2 != len || memcmp(canon, again, len) != 0 || !same_info(&info, &info2))
        abort();
    free(canon);
    free(again);
    return 0;
}
