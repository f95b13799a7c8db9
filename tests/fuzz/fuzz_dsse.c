/* libFuzzer target for DSSE envelopes and in-toto statements. Properties: fws_dsse_parse never
 * crashes; an envelope it accepts has 1..16 signatures, a non-empty type and a NUL-terminated
 * payload; the compact fast path agrees with the general parser (the same bytes with a space
 * after the first byte are read only by the general parser: both accept or both refuse, with
 * the same fields); fws_intoto_match_subject never crashes on the payload. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/dsse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const fws_dsse_envelope *a, const fws_dsse_envelope *b)
{
    if (strcmp(a->payload_type, b->payload_type) != 0 || a->payload_len != b->payload_len ||
        memcmp(a->unverified_payload, b->unverified_payload, a->payload_len) != 0 ||
        a->n_sigs != b->n_sigs)
        abort();
    for (size_t i = 0; i < a->n_sigs; i++) {
        if (strcmp(a->sigs[i].keyid, b->sigs[i].keyid) != 0 ||
            a->sigs[i].sig_len != b->sigs[i].sig_len ||
            memcmp(a->sigs[i].sig, b->sigs[i].sig, a->sigs[i].sig_len) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fws_dsse_envelope a, b;
    uint8_t sha[32] = {0};
    if (size == 0 || size > 65536)
        return 0;
    fws_err ea = fws_dsse_parse(data, size, &a, NULL);
    uint8_t *spaced = malloc(size + 1);
    if (spaced == NULL)
        return 0;
    spaced[0] = data[0];
    spaced[1] = ' ';
    memcpy(spaced + 2, data + 1, size - 1);
    fws_err eb = fws_dsse_parse(spaced, size + 1, &b, NULL);
    free(spaced);
    /* a space after a first byte that is not '{' can turn garbage into something else, so the
     * comparison holds for object-shaped inputs only */
    if (data[0] == '{' && (ea == FWS_OK) != (eb == FWS_OK))
        abort();
    if (ea == FWS_OK) {
        if (a.n_sigs == 0 || a.n_sigs > FWS_DSSE_MAX_SIGS || a.payload_type[0] == '\0' ||
            a.unverified_payload[a.payload_len] != '\0')
            abort();
        if (eb == FWS_OK)
            same(&a, &b);
        (void)fws_intoto_match_subject(a.unverified_payload, a.payload_len, sha, NULL, 0, NULL);
        fws_dsse_envelope_free(&a);
    }
    if (eb == FWS_OK)
        fws_dsse_envelope_free(&b);
    return 0;
}
