/* libFuzzer target for the attestation parsers that read untrusted bytes: the first byte picks
 * the parser (TPMS_ATTEST, TPMT_SIGNATURE, TPMT_PUBLIC, evidence JSON, policy JSON), the rest is
 * its input. A decoded evidence document is also judged, to reach the verifier's checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void judge(const fws_attest_evidence *e)
{
    static fws_attest_policy policy;
    static fws_attest_refs *refs;
    static fws_attest_anchors *anchors;
    static const char text[] =
        "{\"format\":\"fwseal-attest-policy/v1\",\"maxAgeSeconds\":60,\"minAssurance\":"
        "\"software\",\"stages\":[{\"name\":\"app\",\"pcr\":11,\"digests\":[\"0000000000000000"
        "000000000000000000000000000000000000000000000000\"]}]}";
    fws_attest_result res;
    if (refs == NULL) {
        if (fws_attest_policy_parse((const uint8_t *)text, strlen(text), &policy, NULL) != FWS_OK ||
            fws_attest_refs_new(&refs) != FWS_OK ||
            fws_attest_refs_add_policy(refs, &policy) != FWS_OK ||
            fws_attest_anchors_new(&anchors) != FWS_OK)
            abort();
    }
    fws_attest_verify_req q = {e,
                               e->nonce_len >= FWS_ATTEST_NONCE_MIN ? e->nonce
                                                                    : (const uint8_t *)text,
                               e->nonce_len >= FWS_ATTEST_NONCE_MIN ? e->nonce_len : 32,
                               &policy,
                               refs,
                               anchors,
                               NULL,
                               NULL,
                               0,
                               1700000000};
    (void)fws_attest_verify(&q, &res, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fws_errbuf eb = {{0}};
    if (size < 1)
        return 0;
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0: {
        fws_tpms_attest a;
        (void)fws_tpms_attest_parse(in, n, &a, &eb);
        break;
    }
    case 1: {
        fws_tpmt_signature s;
        (void)fws_tpmt_signature_parse(in, n, &s, &eb);
        break;
    }
    case 2: {
        fws_tpmt_public k;
        (void)fws_tpmt_public_parse(in, n, &k, &eb);
        break;
    }
    case 3: {
        fws_attest_evidence *e = malloc(sizeof(*e));
        if (e != NULL && fws_attest_evidence_decode(in, n, e, &eb) == FWS_OK)
            judge(e);
        free(e);
        break;
    }
    default: {
        fws_attest_policy *p = malloc(sizeof(*p));
        if (p != NULL)
            (void)fws_attest_policy_parse(in, n, p, &eb);
        free(p);
        break;
    }
    }
    return 0;
}
