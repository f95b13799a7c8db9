/* The software attester (a device without a TPM) and the check every attester runs on its own
 * evidence before it leaves the device. */
#include <string.h>
#include "fwseal/core.h"
#include "attest/internal.h"

fws_err att_evidence_selfcheck(const fws_attest_evidence *ev, fws_errbuf *eb)
{
    fws_tpms_attest a;
    fws_tpmt_public k;
    fws_tpmt_signature s;
    uint8_t der[FWS_SIG_MAX], digest[FWS_SHA256_LEN];
    size_t der_len = 0;
    fws_key *key = NULL;
    fws_err err;
    if ((err = fws_tpms_attest_parse(ev->quote, ev->quote_len, &a, eb)) != FWS_OK ||
        (err = fws_tpmt_public_parse(ev->ak_public, ev->ak_public_len, &k, eb)) != FWS_OK ||
        (err = fws_tpmt_signature_parse(ev->sig, ev->sig_len, &s, eb)) != FWS_OK)
        return err;
    if (a.extra_len != ev->nonce_len || memcmp(a.extra, ev->nonce, ev->nonce_len) != 0)
        return fws_errf(eb, FWS_ERR_STATE, "the quote does not carry the nonce");
    att_pcr_digest(ev->pcr_mask, ev->pcrs, digest);
    if (a.pcr_mask != ev->pcr_mask || a.pcr_digest_len != FWS_SHA256_LEN ||
        memcmp(a.pcr_digest, digest, FWS_SHA256_LEN) != 0)
        return fws_errf(eb, FWS_ERR_DIGEST, "the quoted PCR digest is not the PCR values read");
    err = att_sig_to_der(&s, der, sizeof(der), &der_len);
    if (err == FWS_OK)
        err = fws_key_from_raw_public(FWS_KEY_P256, k.point, sizeof(k.point), &key);
    if (err == FWS_OK)
        err = fws_key_verify(key, ev->quote, ev->quote_len, der, der_len);
    fws_key_free(key);
    if (err != FWS_OK)
        return fws_errf(eb, FWS_ERR_SIGNATURE, "the quote's signature does not verify");
    return FWS_OK;
}

static fws_err sw_quote_bytes(const fws_tpmt_public *k, const fws_tpm_clock *c,
                              const uint8_t *nonce, size_t nonce_len, uint32_t mask,
                              const uint8_t digest[FWS_SHA256_LEN], fws_attest_evidence *ev)
{
    att_wr w;
    att_wr_init(&w, ev->quote, sizeof(ev->quote));
    att_w32(&w, FWS_TPM_GENERATED_VALUE);
    att_w16(&w, FWS_TPM_ST_ATTEST_QUOTE);
    att_w2b(&w, k->name, sizeof(k->name));
    att_w2b(&w, nonce, nonce_len);
    att_w64(&w, c->clock);
    att_w32(&w, c->reset_count);
    att_w32(&w, c->restart_count);
    att_w8(&w, c->safe ? 1 : 0);
    att_w64(&w, 0); /* firmwareVersion */
    att_w32(&w, 1);
    att_w16(&w, FWS_TPM_ALG_SHA256);
    att_w8(&w, 3);
    att_w8(&w, (uint8_t)mask);
    att_w8(&w, (uint8_t)(mask >> 8));
    att_w8(&w, (uint8_t)(mask >> 16));
    att_w2b(&w, digest, FWS_SHA256_LEN);
    if (w.overflow)
        return FWS_ERR_TOO_BIG;
    ev->quote_len = w.len;
    return FWS_OK;
}

fws_err fws_attest_sw_quote(const fws_signer *signer, const fws_attest_log *log,
                            const fws_tpm_clock *counters, const uint8_t *nonce, size_t nonce_len,
                            uint32_t mask, fws_attest_evidence *ev, fws_errbuf *eb)
{
    uint8_t pcrs[FWS_ATTEST_PCRS][FWS_SHA256_LEN], digest[FWS_SHA256_LEN], der[FWS_SIG_MAX];
    size_t der_len = 0;
    fws_tpmt_public k;
    fws_key *pub = NULL;
    fws_err err;
    if (signer == NULL || log == NULL || counters == NULL || nonce == NULL || ev == NULL ||
        nonce_len == 0 || nonce_len > FWS_ATTEST_NONCE_MAX || mask == 0 ||
        mask >= (1u << FWS_ATTEST_PCRS))
        return FWS_ERR_ARG;
    if (signer->type != FWS_KEY_P256)
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "software attestation needs a P-256 key");
    if ((err = fws_signer_public_key(signer, &pub)) != FWS_OK ||
        (err = fws_attest_sw_public(pub, ev->ak_public, sizeof(ev->ak_public),
                                    &ev->ak_public_len)) != FWS_OK ||
        (err = fws_tpmt_public_parse(ev->ak_public, ev->ak_public_len, &k, eb)) != FWS_OK)
        goto out;
    fws_attest_log_replay(log, pcrs, NULL);
    memset(ev->pcrs, 0, sizeof(ev->pcrs));
    for (unsigned i = 0; i < FWS_ATTEST_PCRS; i++) {
        if (mask & (1u << i))
            memcpy(ev->pcrs[i], pcrs[i], FWS_SHA256_LEN);
    }
    att_pcr_digest(mask, ev->pcrs, digest);
    if ((err = sw_quote_bytes(&k, counters, nonce, nonce_len, mask, digest, ev)) != FWS_OK ||
        (err = fws_signer_sign(signer, ev->quote, ev->quote_len, der, sizeof(der), &der_len)) !=
            FWS_OK ||
        (err = att_sig_from_der(der, der_len, ev->sig, sizeof(ev->sig), &ev->sig_len)) != FWS_OK)
        goto out;
    memcpy(ev->nonce, nonce, nonce_len);
    ev->nonce_len = nonce_len;
    ev->pcr_mask = mask;
    ev->assurance = FWS_ASSURANCE_SOFTWARE;
    ev->log = *log;
    err = att_evidence_selfcheck(ev, eb);
out:
    fws_key_free(pub);
    if (err != FWS_OK)
        return fws_errf(eb, err, "software quote failed");
    return FWS_OK;
}
