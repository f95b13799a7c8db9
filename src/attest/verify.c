/* The verifier: judges evidence against the issued nonce, the AK certificate, the policy's
 * stages and the reference values, and the device's last counters. Every failed check is
 * recorded as a reason; a few make later checks meaningless and end the judgement early. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "fwseal/core.h"
#include "attest/internal.h"

static void add_reason(fws_attest_result *res, fws_err code, const char *fmt, ...) FWS_PRINTF(3, 4);

static void add_reason(fws_attest_result *res, fws_err code, const char *fmt, ...)
{
    if (res->n_reasons >= FWS_ATTEST_REASONS_MAX)
        return;
    fws_attest_reason *r = &res->reasons[res->n_reasons++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->text, sizeof(r->text), fmt, ap);
    va_end(ap);
    r->code = code;
}

static fws_err first_failure(const fws_attest_result *res)
{
    for (size_t i = 0; i < res->n_reasons; i++) {
        if (res->reasons[i].code != FWS_OK)
            return res->reasons[i].code;
    }
    return FWS_OK;
}

static void mask_text(uint32_t mask, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < FWS_ATTEST_PCRS && n + 4 < cap; i++) {
        if (mask & (1u << i))
            n += (size_t)snprintf(out + n, cap - n, "%s%u", n ? "," : "", i);
    }
}

static void check_nonce(const fws_attest_verify_req *q, const fws_tpms_attest *a,
                        fws_attest_result *res)
{
    const fws_attest_evidence *e = q->evidence;
    if (a->extra_len != q->nonce_len || !fws_ct_eq(a->extra, q->nonce, q->nonce_len))
        add_reason(res, FWS_ERR_EXPIRED,
                   "the quote's nonce is not the one issued for this request (replayed or stale)");
    else if (e->nonce_len != q->nonce_len || !fws_ct_eq(e->nonce, q->nonce, q->nonce_len))
        add_reason(res, FWS_ERR_EXPIRED, "the evidence's nonce is not the one issued");
}

/* The AK: its public area, its certificate and the device the certificate names. Returns 1
 * when the key in ak can be used to check the signature. */
static int check_ak(const fws_attest_verify_req *q, fws_tpmt_public *ak, att_cert_info *ci,
                    int *cert_ok, fws_attest_result *res)
{
    const fws_attest_evidence *e = q->evidence;
    fws_errbuf why = {{0}};
    fws_err err = fws_tpmt_public_parse(e->ak_public, e->ak_public_len, ak, &why);
    if (err != FWS_OK) {
        add_reason(res, err, "akPublic: %s", why.msg);
        return 0;
    }
    memcpy(res->ak_name, ak->name, sizeof(res->ak_name));
    fws_errbuf_clear(&why);
    err = att_cert_check(q->anchors, e, q->now, ci, &why);
    *cert_ok = err == FWS_OK;
    if (err != FWS_OK) {
        add_reason(res, err, "%s", why.msg[0] ? why.msg : "AK certificate rejected");
        return 1;
    }
    snprintf(res->device, sizeof(res->device), "%s", ci->cn);
    if (memcmp(ci->point, ak->point, sizeof(ak->point)) != 0)
        add_reason(res, FWS_ERR_KEY_MISMATCH,
                   "the AK certificate is for another key than the evidence's AK");
    if (strcmp(ci->cn, e->device) != 0)
        add_reason(res, FWS_ERR_KEY_MISMATCH,
                   "the evidence claims device %s but the AK certificate names %s", e->device,
                   ci->cn);
    if (q->device != NULL && strcmp(ci->cn, q->device) != 0)
        add_reason(res, FWS_ERR_KEY_MISMATCH,
                   "the AK certificate names device %s, not the expected %s", ci->cn, q->device);
    return 1;
}

/* With the certificate accepted and naming the same key, its key (cached with the
 * certificate) checks the signature; otherwise the evidence's own public area does, so that a
 * bad signature is reported whatever else failed. */
static void check_signature(const fws_attest_evidence *e, const fws_tpmt_public *ak,
                            const att_cert_info *ci, int cert_ok, fws_attest_result *res)
{
    fws_tpmt_signature s;
    uint8_t der[FWS_SIG_MAX];
    size_t der_len = 0;
    fws_key *key = NULL;
    fws_errbuf why = {{0}};
    fws_err err = fws_tpmt_signature_parse(e->sig, e->sig_len, &s, &why);
    if (err != FWS_OK) {
        add_reason(res, err, "signature: %s", why.msg);
        return;
    }
    if (att_sig_to_der(&s, der, sizeof(der), &der_len) != FWS_OK)
        err = FWS_ERR_SIGNATURE;
    else if (cert_ok && ci->pkey != NULL && memcmp(ci->point, ak->point, sizeof(ak->point)) == 0)
        err = att_cert_verify(ci, e->quote, e->quote_len, der, der_len);
    else if ((err = fws_key_from_raw_public(FWS_KEY_P256, ak->point, sizeof(ak->point), &key)) ==
             FWS_OK)
        err = fws_key_verify(key, e->quote, e->quote_len, der, der_len);
    if (err != FWS_OK)
        add_reason(res, FWS_ERR_SIGNATURE, "the quote's signature does not verify with the AK");
    fws_key_free(key);
}

static void check_assurance(const fws_attest_evidence *e, const fws_tpmt_public *ak,
                            const att_cert_info *ci, int cert_ok, fws_attest_result *res)
{
    const uint32_t need = FWS_TPMA_RESTRICTED | FWS_TPMA_SIGN | FWS_TPMA_FIXEDTPM |
                          FWS_TPMA_FIXEDPARENT | FWS_TPMA_SENSITIVEDATAORIGIN;
    if (e->assurance != FWS_ASSURANCE_TPM) {
        res->assurance = FWS_ASSURANCE_SOFTWARE;
        return;
    }
    if ((ak->attributes & need) != need)
        add_reason(res, FWS_ERR_KEY_TYPE,
                   "the evidence claims a TPM but the AK is not a restricted fixedTPM signing key");
    else if (cert_ok && !ci->aik_purpose)
        add_reason(res, FWS_ERR_KEY_TYPE,
                   "the evidence claims a TPM but the AK certificate lacks the TCG AIK purpose");
    else if (cert_ok)
        res->assurance = FWS_ASSURANCE_TPM;
}

/* PCR selection, digest and event-log replay. */
static void check_pcrs(const fws_attest_verify_req *q, const fws_tpms_attest *a,
                       fws_attest_result *res)
{
    const fws_attest_evidence *e = q->evidence;
    uint8_t digest[FWS_SHA256_LEN], replay[FWS_ATTEST_PCRS][FWS_SHA256_LEN];
    char m1[96], m2[96];
    uint32_t touched = 0;
    if (a->pcr_hash != FWS_TPM_ALG_SHA256) {
        add_reason(res, FWS_ERR_UNSUPPORTED, "the quote is over PCR bank 0x%04x, not SHA-256",
                   (unsigned)a->pcr_hash);
        return;
    }
    if (a->pcr_mask != e->pcr_mask) {
        mask_text(a->pcr_mask, m1, sizeof(m1));
        mask_text(e->pcr_mask, m2, sizeof(m2));
        add_reason(res, FWS_ERR_INCONSISTENT,
                   "the quote selects PCRs {%s} but the evidence lists {%s}", m1, m2);
        return;
    }
    att_pcr_digest(a->pcr_mask, e->pcrs, digest);
    if (a->pcr_digest_len != FWS_SHA256_LEN || !fws_ct_eq(a->pcr_digest, digest, FWS_SHA256_LEN)) {
        add_reason(res, FWS_ERR_DIGEST, "the PCR values do not hash to the quoted PCR digest");
        return;
    }
    fws_attest_log_replay(&e->log, replay, &touched);
    for (unsigned i = 0; i < FWS_ATTEST_PCRS; i++) {
        if ((a->pcr_mask & (1u << i)) && !fws_ct_eq(replay[i], e->pcrs[i], FWS_SHA256_LEN))
            add_reason(res, FWS_ERR_DIGEST, "the event log does not replay to the value of PCR %u",
                       i);
    }
}

static const fws_attest_stage_policy *policy_stage(const fws_attest_policy *p, const char *name)
{
    for (size_t i = 0; i < p->n_stages && i < FWS_ATTEST_STAGES_MAX; i++) {
        if (strcmp(p->stages[i].name, name) == 0)
            return &p->stages[i];
    }
    return NULL;
}

static void appraise_stage(const fws_attest_verify_req *q, uint32_t quoted,
                           const fws_attest_stage_policy *sp, fws_attest_stage_result *sr,
                           fws_attest_result *res)
{
    const fws_attest_log *log = &q->evidence->log;
    const fws_attest_event *found = NULL;
    char hex[2 * FWS_SHA256_LEN + 1];
    size_t count = 0;
    snprintf(sr->name, sizeof(sr->name), "%s", sp->name);
    sr->pcr = sp->pcr;
    for (size_t i = 0; i < log->n && i < FWS_ATTEST_EVENTS_MAX; i++) {
        if (strcmp(log->ev[i].stage, sp->name) == 0) {
            found = &log->ev[i];
            count++;
        }
    }
    if (!(quoted & (1u << sp->pcr)))
        add_reason(res, FWS_ERR_INCONSISTENT, "stage %s: its PCR %u is not in the quote", sp->name,
                   sp->pcr);
    if (count == 0) {
        add_reason(res, FWS_ERR_NOT_FOUND, "stage %s was not measured", sp->name);
        return;
    }
    sr->measured = 1;
    memcpy(sr->digest, found->digest, FWS_SHA256_LEN);
    if (count > 1)
        add_reason(res, FWS_ERR_INCONSISTENT, "stage %s was measured %zu times", sp->name, count);
    if (found->pcr != sp->pcr)
        add_reason(res, FWS_ERR_INCONSISTENT, "stage %s was measured into PCR %u, not PCR %u",
                   sp->name, (unsigned)found->pcr, sp->pcr);
    const char *src = fws_attest_refs_find(q->refs, sp->name, found->digest);
    if (src == NULL) {
        att_hex(found->digest, FWS_SHA256_LEN, hex);
        add_reason(res, FWS_ERR_DIGEST, "stage %s: digest %s is not a known-good value", sp->name,
                   hex);
        return;
    }
    sr->matched = 1;
    snprintf(sr->source, sizeof(sr->source), "%s", src);
}

static void appraise(const fws_attest_verify_req *q, uint32_t quoted, fws_attest_result *res)
{
    const fws_attest_policy *p = q->policy;
    const fws_attest_log *log = &q->evidence->log;
    for (size_t i = 0; i < p->n_stages && i < FWS_ATTEST_STAGES_MAX; i++)
        appraise_stage(q, quoted, &p->stages[i], &res->stages[i], res);
    res->n_stages = p->n_stages;
    for (size_t i = 0; i < log->n && i < FWS_ATTEST_EVENTS_MAX; i++) {
        if (policy_stage(p, log->ev[i].stage) == NULL)
            add_reason(res, FWS_ERR_DIGEST,
                       "the event log measures stage %s, which policy "
                       "does not know",
                       log->ev[i].stage);
    }
}

static void check_counters(const fws_attest_verify_req *q, const fws_tpm_clock *c,
                           fws_attest_result *res)
{
    const fws_tpm_clock *l = q->last;
    if (l == NULL)
        return;
    if (c->reset_count < l->reset_count) {
        add_reason(res, FWS_ERR_ROLLBACK, "the TPM reset count went back from %u to %u",
                   (unsigned)l->reset_count, (unsigned)c->reset_count);
    } else if (c->reset_count > l->reset_count) {
        if (!q->reboot_expected) {
            res->flags |= FWS_ATTEST_FLAG_REBOOT;
            add_reason(res, FWS_OK, "unexpected reboot: the TPM reset count went from %u to %u",
                       (unsigned)l->reset_count, (unsigned)c->reset_count);
        }
    } else if (c->restart_count < l->restart_count) {
        add_reason(res, FWS_ERR_ROLLBACK, "the TPM restart count went back from %u to %u",
                   (unsigned)l->restart_count, (unsigned)c->restart_count);
    } else if (c->restart_count > l->restart_count) {
        if (!q->reboot_expected) {
            res->flags |= FWS_ATTEST_FLAG_RESTART;
            add_reason(res, FWS_OK, "unexpected restart: the TPM restart count went from %u to %u",
                       (unsigned)l->restart_count, (unsigned)c->restart_count);
        }
    } else if (c->clock < l->clock) {
        add_reason(res, FWS_ERR_ROLLBACK, "the TPM clock went back within one boot (an old quote)");
    }
}

fws_err fws_attest_verify(const fws_attest_verify_req *q, fws_attest_result *res, fws_errbuf *eb)
{
    fws_tpms_attest a;
    fws_tpmt_public ak;
    att_cert_info ci;
    fws_errbuf why = {{0}};
    int cert_ok = 0;
    if (res == NULL)
        return FWS_ERR_ARG;
    memset(res, 0, sizeof(*res));
    if (q == NULL || q->evidence == NULL || q->nonce == NULL || q->policy == NULL ||
        q->refs == NULL || q->anchors == NULL || q->nonce_len < FWS_ATTEST_NONCE_MIN ||
        q->nonce_len > FWS_ATTEST_NONCE_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "attestation request: a part is missing");
    res->time = q->now;
    memset(&ak, 0, sizeof(ak));
    memset(&ci, 0, sizeof(ci));
    fws_err err = fws_tpms_attest_parse(q->evidence->quote, q->evidence->quote_len, &a, &why);
    if (err != FWS_OK) {
        add_reason(res, err, "quote: %s", why.msg);
        goto out;
    }
    fws_sha256(q->evidence->quote, q->evidence->quote_len, res->evidence_sha256);
    res->clock = a.clock;
    check_nonce(q, &a, res);
    if (check_ak(q, &ak, &ci, &cert_ok, res)) {
        check_signature(q->evidence, &ak, &ci, cert_ok, res);
        check_assurance(q->evidence, &ak, &ci, cert_ok, res);
    }
    check_pcrs(q, &a, res);
    appraise(q, a.pcr_mask, res);
    check_counters(q, &a.clock, res);
    att_cert_info_release(&ci);
out:
    err = first_failure(res);
    res->pass = err == FWS_OK;
    if (err != FWS_OK) {
        for (size_t i = 0; i < res->n_reasons; i++) {
            if (res->reasons[i].code != FWS_OK)
                return fws_errf(eb, err, "attestation failed: %s", res->reasons[i].text);
        }
    }
    return err;
}
