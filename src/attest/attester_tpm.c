/* The TPM attester through tpm2-tss ESAPI: the attestation key (an endorsement-hierarchy
 * primary from a fixed template), measured-boot extends, PCR reads and quotes. The TPM's
 * outputs are marshalled with Tss2_MU and then read back with fwseal's own parsers, so the
 * device checks its evidence the way the verifier will. */
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>
#include "attest/internal.h"

#define AK_UNIQUE "fwseal attestation key v1"
#define HASH_INPUT_MAX 1024 /* TPM2B_MAX_BUFFER */

struct fws_attest_tpm {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    ESYS_TR ak;
    uint8_t pub[FWS_ATTEST_PUB_MAX];
    size_t pub_len;
    fws_tpmt_public parsed;
    fws_key *key;
};

static fws_err tss(TSS2_RC rc, const char *what, fws_errbuf *eb)
{
    if (rc == TSS2_RC_SUCCESS)
        return FWS_OK;
    return fws_errf(eb, FWS_ERR_CRYPTO, "TPM %s failed: %s", what, Tss2_RC_Decode(rc));
}

void fws_attest_tpm_close(fws_attest_tpm *t)
{
    if (t == NULL)
        return;
    if (t->esys != NULL && t->ak != ESYS_TR_NONE)
        Esys_FlushContext(t->esys, t->ak);
    if (t->esys != NULL)
        Esys_Finalize(&t->esys);
    if (t->tcti != NULL)
        Tss2_TctiLdr_Finalize(&t->tcti);
    fws_key_free(t->key);
    free(t);
}

/* The AK has no secret authorization value, so dictionary-attack protection would only lock it
 * out after power losses (each unorderly shutdown counts as a failure): noDA. */
static TPM2B_PUBLIC ak_template(void)
{
    TPM2B_PUBLIC t;
    memset(&t, 0, sizeof(t));
    TPMT_PUBLIC *p = &t.publicArea;
    p->type = TPM2_ALG_ECC;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
                          TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                          TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
    p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
    p->parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    p->unique.ecc.x.size = sizeof(AK_UNIQUE) - 1;
    memcpy(p->unique.ecc.x.buffer, AK_UNIQUE, sizeof(AK_UNIQUE) - 1);
    return t;
}

/* Marshals the AK's public area, parses it back and checks that the name fwseal computes is the
 * one the TPM reports. */
static fws_err ak_load_public(fws_attest_tpm *t, const TPM2B_PUBLIC *out, fws_errbuf *eb)
{
    TPM2B_NAME *name = NULL;
    size_t off = 0;
    fws_err err;
    if (Tss2_MU_TPMT_PUBLIC_Marshal(&out->publicArea, t->pub, sizeof(t->pub), &off) !=
        TSS2_RC_SUCCESS)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "TPM: the AK public area does not fit");
    t->pub_len = off;
    if ((err = fws_tpmt_public_parse(t->pub, t->pub_len, &t->parsed, eb)) != FWS_OK ||
        (err = tss(Esys_TR_GetName(t->esys, t->ak, &name), "TR_GetName", eb)) != FWS_OK)
        return err;
    if (name->size != FWS_ATTEST_NAME_LEN ||
        memcmp(name->name, t->parsed.name, FWS_ATTEST_NAME_LEN) != 0)
        err = fws_errf(eb, FWS_ERR_INCONSISTENT, "TPM: the AK's name is not the computed one");
    Esys_Free(name);
    if (err == FWS_OK)
        err = fws_key_from_raw_public(FWS_KEY_P256, t->parsed.point, sizeof(t->parsed.point),
                                      &t->key);
    return err;
}

static fws_err ak_create(fws_attest_tpm *t, fws_errbuf *eb)
{
    TPM2B_SENSITIVE_CREATE sens;
    TPM2B_PUBLIC tmpl = ak_template();
    TPM2B_DATA outside;
    TPML_PCR_SELECTION none;
    TPM2B_PUBLIC *out = NULL;
    TPM2B_CREATION_DATA *cdata = NULL;
    TPM2B_DIGEST *chash = NULL;
    TPMT_TK_CREATION *ticket = NULL;
    memset(&sens, 0, sizeof(sens));
    memset(&outside, 0, sizeof(outside));
    memset(&none, 0, sizeof(none));
    fws_err err = tss(Esys_CreatePrimary(t->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD,
                                         ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &none,
                                         &t->ak, &out, &cdata, &chash, &ticket),
                      "CreatePrimary (attestation key)", eb);
    if (err == FWS_OK)
        err = ak_load_public(t, out, eb);
    Esys_Free(out);
    Esys_Free(cdata);
    Esys_Free(chash);
    Esys_Free(ticket);
    return err;
}

static fws_err connect(const char *tcti, int with_ak, fws_attest_tpm **out, fws_errbuf *eb)
{
    fws_attest_tpm *t = calloc(1, sizeof(*t));
    if (out == NULL) {
        free(t);
        return FWS_ERR_ARG;
    }
    if (t == NULL)
        return FWS_ERR_NOMEM;
    t->ak = ESYS_TR_NONE;
    fws_err err = tss(Tss2_TctiLdr_Initialize(tcti, &t->tcti), "TCTI", eb);
    if (err == FWS_OK)
        err = tss(Esys_Initialize(&t->esys, t->tcti, NULL), "Esys_Initialize", eb);
    if (err == FWS_OK && with_ak)
        err = ak_create(t, eb);
    if (err != FWS_OK) {
        fws_attest_tpm_close(t);
        return fws_errf(eb, err, "TPM %s: %s", tcti ? tcti : "(default)",
                        with_ak ? "cannot load the attestation key" : "cannot connect");
    }
    *out = t;
    return FWS_OK;
}

fws_err fws_attest_tpm_open(const char *tcti, fws_attest_tpm **out, fws_errbuf *eb)
{
    return connect(tcti, 1, out, eb);
}

fws_err fws_attest_tpm_connect(const char *tcti, fws_attest_tpm **out, fws_errbuf *eb)
{
    return connect(tcti, 0, out, eb);
}

static fws_err need_ak(const fws_attest_tpm *t, fws_errbuf *eb)
{
    if (t == NULL)
        return FWS_ERR_ARG;
    if (t->key == NULL)
        return fws_errf(eb, FWS_ERR_STATE,
                        "TPM: the attestation key is not loaded "
                        "(fws_attest_tpm_open, not _connect)");
    return FWS_OK;
}

fws_err fws_attest_tpm_ak_public(const fws_attest_tpm *t, uint8_t *tpmt, size_t cap, size_t *len)
{
    if (tpmt == NULL || len == NULL || need_ak(t, NULL) != FWS_OK)
        return t == NULL ? FWS_ERR_ARG : FWS_ERR_STATE;
    if (cap < t->pub_len)
        return FWS_ERR_TOO_BIG;
    memcpy(tpmt, t->pub, t->pub_len);
    *len = t->pub_len;
    return FWS_OK;
}

void fws_attest_tpm_ak_name(const fws_attest_tpm *t, uint8_t name[FWS_ATTEST_NAME_LEN])
{
    if (t != NULL && t->key != NULL)
        memcpy(name, t->parsed.name, FWS_ATTEST_NAME_LEN);
    else
        memset(name, 0, FWS_ATTEST_NAME_LEN);
}

fws_err fws_attest_tpm_ak_key(const fws_attest_tpm *t, fws_key **pub)
{
    if (pub == NULL || need_ak(t, NULL) != FWS_OK)
        return t == NULL || pub == NULL ? FWS_ERR_ARG : FWS_ERR_STATE;
    return fws_key_public_dup(t->key, pub);
}

/* ---- measuring and reading PCRs ------------------------------------------------------------ */

static TPML_PCR_SELECTION selection(uint32_t mask)
{
    TPML_PCR_SELECTION s;
    memset(&s, 0, sizeof(s));
    s.count = 1;
    s.pcrSelections[0].hash = TPM2_ALG_SHA256;
    s.pcrSelections[0].sizeofSelect = 3;
    s.pcrSelections[0].pcrSelect[0] = (uint8_t)mask;
    s.pcrSelections[0].pcrSelect[1] = (uint8_t)(mask >> 8);
    s.pcrSelections[0].pcrSelect[2] = (uint8_t)(mask >> 16);
    return s;
}

fws_err fws_attest_tpm_measure(fws_attest_tpm *t, fws_attest_log *log, unsigned pcr,
                               const char *stage, const uint8_t digest[FWS_SHA256_LEN],
                               fws_errbuf *eb)
{
    TPML_DIGEST_VALUES v;
    if (t == NULL || log == NULL || digest == NULL || pcr >= FWS_ATTEST_PCRS ||
        !fws_attest_stage_valid(stage))
        return fws_errf(eb, FWS_ERR_ARG, "measure: a PCR 0..23 and a stage name are needed");
    if (log->n >= FWS_ATTEST_EVENTS_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "measure: the event log is full");
    memset(&v, 0, sizeof(v));
    v.count = 1;
    v.digests[0].hashAlg = TPM2_ALG_SHA256;
    memcpy(v.digests[0].digest.sha256, digest, FWS_SHA256_LEN);
    fws_err err = tss(Esys_PCR_Extend(t->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                      ESYS_TR_NONE, &v),
                      "PCR_Extend", eb);
    if (err != FWS_OK)
        return err;
    return fws_attest_log_add(log, pcr, stage, digest);
}

/* Takes the digests of one PCR_Read answer; returns the mask of PCRs it held. */
static fws_err take_values(const TPML_PCR_SELECTION *got, const TPML_DIGEST *vals,
                           uint8_t pcrs[FWS_ATTEST_PCRS][FWS_SHA256_LEN], uint32_t *mask)
{
    uint32_t m = 0;
    size_t k = 0;
    if (got->count != 1 || got->pcrSelections[0].hash != TPM2_ALG_SHA256)
        return got->count == 0 ? FWS_OK : FWS_ERR_FORMAT;
    for (unsigned i = 0; i < FWS_ATTEST_PCRS; i++) {
        if (!(got->pcrSelections[0].pcrSelect[i / 8] & (1u << (i % 8))))
            continue;
        if (k >= vals->count || vals->digests[k].size != FWS_SHA256_LEN)
            return FWS_ERR_FORMAT;
        memcpy(pcrs[i], vals->digests[k++].buffer, FWS_SHA256_LEN);
        m |= 1u << i;
    }
    *mask = m;
    return FWS_OK;
}

fws_err fws_attest_tpm_pcr_read(fws_attest_tpm *t, uint32_t mask,
                                uint8_t pcrs[FWS_ATTEST_PCRS][FWS_SHA256_LEN], fws_errbuf *eb)
{
    uint32_t left = mask;
    if (t == NULL || pcrs == NULL || mask >= (1u << FWS_ATTEST_PCRS))
        return FWS_ERR_ARG;
    /* A TPM answers at most eight digests per read: ask again for the rest. */
    for (int round = 0; left != 0 && round < FWS_ATTEST_PCRS; round++) {
        TPML_PCR_SELECTION want = selection(left), *got = NULL;
        TPML_DIGEST *vals = NULL;
        uint32_t counter = 0, done = 0;
        fws_err err = tss(Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &want,
                                        &counter, &got, &vals),
                          "PCR_Read", eb);
        if (err == FWS_OK && take_values(got, vals, pcrs, &done) != FWS_OK)
            err = fws_errf(eb, FWS_ERR_FORMAT, "TPM: a malformed PCR_Read answer");
        Esys_Free(got);
        Esys_Free(vals);
        if (err != FWS_OK)
            return err;
        if ((done & left) == 0)
            return fws_errf(eb, FWS_ERR_UNSUPPORTED, "TPM: the SHA-256 bank lacks some PCRs");
        left &= ~done;
    }
    return FWS_OK;
}

/* ---- quoting ------------------------------------------------------------------------------------
 */

static fws_err quote_once(fws_attest_tpm *t, const uint8_t *nonce, size_t nonce_len, uint32_t mask,
                          fws_attest_evidence *ev, fws_errbuf *eb)
{
    TPM2B_DATA qd;
    TPMT_SIG_SCHEME scheme;
    TPML_PCR_SELECTION sel = selection(mask);
    TPM2B_ATTEST *quoted = NULL;
    TPMT_SIGNATURE *sig = NULL;
    size_t off = 0;
    memset(&qd, 0, sizeof(qd));
    memset(&scheme, 0, sizeof(scheme));
    qd.size = (UINT16)nonce_len;
    memcpy(qd.buffer, nonce, nonce_len);
    scheme.scheme = TPM2_ALG_ECDSA;
    scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    fws_err err = tss(Esys_Quote(t->esys, t->ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qd,
                                 &scheme, &sel, &quoted, &sig),
                      "Quote", eb);
    if (err == FWS_OK && quoted->size > sizeof(ev->quote))
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "TPM: the quote is %u bytes", (unsigned)quoted->size);
    if (err == FWS_OK) {
        memcpy(ev->quote, quoted->attestationData, quoted->size);
        ev->quote_len = quoted->size;
        if (Tss2_MU_TPMT_SIGNATURE_Marshal(sig, ev->sig, sizeof(ev->sig), &off) != TSS2_RC_SUCCESS)
            err = fws_errf(eb, FWS_ERR_TOO_BIG, "TPM: the signature does not fit");
        ev->sig_len = off;
    }
    Esys_Free(quoted);
    Esys_Free(sig);
    if (err == FWS_OK)
        err = fws_attest_tpm_pcr_read(t, mask, ev->pcrs, eb);
    return err;
}

fws_err fws_attest_tpm_quote(fws_attest_tpm *t, const uint8_t *nonce, size_t nonce_len,
                             uint32_t mask, fws_attest_evidence *ev, fws_errbuf *eb)
{
    fws_err err = FWS_ERR_ARG;
    if (t == NULL || nonce == NULL || ev == NULL || nonce_len == 0 ||
        nonce_len > FWS_ATTEST_NONCE_MAX || mask == 0 || mask >= (1u << FWS_ATTEST_PCRS))
        return fws_errf(eb, FWS_ERR_ARG, "quote: a nonce of 1..64 bytes and PCRs 0..23 needed");
    if ((err = need_ak(t, eb)) != FWS_OK)
        return err;
    memset(ev->pcrs, 0, sizeof(ev->pcrs));
    memcpy(ev->nonce, nonce, nonce_len);
    ev->nonce_len = nonce_len;
    ev->pcr_mask = mask;
    ev->assurance = FWS_ASSURANCE_TPM;
    memcpy(ev->ak_public, t->pub, t->pub_len);
    ev->ak_public_len = t->pub_len;
    /* A PCR extended between the quote and the read makes them disagree: quote again. */
    for (int attempt = 0; attempt < 3; attempt++) {
        fws_errbuf why = {{0}};
        if ((err = quote_once(t, nonce, nonce_len, mask, ev, eb)) != FWS_OK)
            return err;
        if ((err = att_evidence_selfcheck(ev, &why)) != FWS_ERR_DIGEST)
            return err == FWS_OK ? FWS_OK : fws_errf(eb, err, "TPM quote: %s", why.msg);
    }
    return fws_errf(eb, err, "TPM quote: the PCRs kept changing while quoting");
}

/* ---- the AK as a signer (certificate requests) ----------------------------------------------- */

static fws_err ak_sign(void *impl, const uint8_t *msg, size_t len, uint8_t *sig, size_t cap,
                       size_t *sig_len)
{
    fws_attest_tpm *t = impl;
    TPM2B_MAX_BUFFER data;
    TPMT_SIG_SCHEME scheme;
    TPM2B_DIGEST *digest = NULL;
    TPMT_TK_HASHCHECK *ticket = NULL;
    TPMT_SIGNATURE *out = NULL;
    fws_tpmt_signature s;
    uint8_t raw[FWS_ATTEST_SIG_MAX];
    size_t off = 0;
    if (len > HASH_INPUT_MAX)
        return FWS_ERR_TOO_BIG;
    memset(&data, 0, sizeof(data));
    memset(&scheme, 0, sizeof(scheme));
    data.size = (UINT16)len;
    memcpy(data.buffer, msg, len);
    scheme.scheme = TPM2_ALG_ECDSA;
    scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    fws_err err = FWS_ERR_CRYPTO;
    if (Esys_Hash(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &data, TPM2_ALG_SHA256,
                  ESYS_TR_RH_ENDORSEMENT, &digest, &ticket) != TSS2_RC_SUCCESS ||
        Esys_Sign(t->esys, t->ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, digest, &scheme,
                  ticket, &out) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPMT_SIGNATURE_Marshal(out, raw, sizeof(raw), &off) != TSS2_RC_SUCCESS)
        goto out;
    if (fws_tpmt_signature_parse(raw, off, &s, NULL) != FWS_OK ||
        att_sig_to_der(&s, sig, cap, sig_len) != FWS_OK)
        goto out;
    err = fws_key_verify(t->key, msg, len, sig, *sig_len) == FWS_OK ? FWS_OK : FWS_ERR_SIGNATURE;
out:
    Esys_Free(digest);
    Esys_Free(ticket);
    Esys_Free(out);
    return err;
}

static fws_err ak_public_key(void *impl, fws_key **pub)
{
    return fws_key_public_dup(((fws_attest_tpm *)impl)->key, pub);
}

static void ak_destroy(void *impl)
{
    (void)impl; /* the signer borrows the TPM connection */
}

fws_err fws_attest_tpm_signer(fws_attest_tpm *t, fws_signer *out, fws_errbuf *eb)
{
    if (t == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "AK signer: no TPM");
    fws_err err = need_ak(t, eb);
    if (err != FWS_OK)
        return err;
    memset(out, 0, sizeof(*out));
    out->type = FWS_KEY_P256;
    fws_key_id(t->key, out->keyid);
    out->sign = ak_sign;
    out->public_key = ak_public_key;
    out->destroy = ak_destroy;
    out->impl = t;
    return FWS_OK;
}
