/* A device identity key inside a TPM 2.0, through tpm2-tss ESAPI (swtpm in tests): an ECDSA
 * P-256 signing key created as a primary key of the owner hierarchy from a fixed template, so
 * the same TPM derives the same key again and no key blob is stored anywhere. Signing hashes
 * in software and asks the TPM for an ECDSA signature over the digest. */
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>
#include "pki/internal.h"

#define TPM_UNIQUE "fwseal device identity key v1"

typedef struct tpm_key {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    ESYS_TR handle;
    fws_key *pub;
} tpm_key;

static void tpm_close(tpm_key *k)
{
    if (k == NULL)
        return;
    if (k->esys != NULL && k->handle != ESYS_TR_NONE)
        Esys_FlushContext(k->esys, k->handle);
    if (k->esys != NULL)
        Esys_Finalize(&k->esys);
    if (k->tcti != NULL)
        Tss2_TctiLdr_Finalize(&k->tcti);
    fws_key_free(k->pub);
    free(k);
}

static fws_err tss(TSS2_RC rc, const char *what, fws_errbuf *eb)
{
    if (rc == TSS2_RC_SUCCESS)
        return FWS_OK;
    return fws_errf(eb, FWS_ERR_CRYPTO, "TPM %s failed (TSS2_RC 0x%x)", what, (unsigned)rc);
}

static TPM2B_PUBLIC key_template(void)
{
    TPM2B_PUBLIC t;
    memset(&t, 0, sizeof(t));
    t.publicArea.type = TPM2_ALG_ECC;
    t.publicArea.nameAlg = TPM2_ALG_SHA256;
    t.publicArea.objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
                                    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                                    TPMA_OBJECT_USERWITHAUTH;
    t.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    t.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
    t.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    t.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    t.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    /* The unique field makes this key distinct from other primaries of the same hierarchy. */
    t.publicArea.unique.ecc.x.size = sizeof(TPM_UNIQUE) - 1;
    memcpy(t.publicArea.unique.ecc.x.buffer, TPM_UNIQUE, sizeof(TPM_UNIQUE) - 1);
    return t;
}

static fws_err create_key(tpm_key *k, fws_errbuf *eb)
{
    TPM2B_SENSITIVE_CREATE sens;
    TPM2B_PUBLIC tmpl = key_template();
    TPM2B_DATA outside;
    TPML_PCR_SELECTION pcrs;
    TPM2B_PUBLIC *out = NULL;
    TPM2B_CREATION_DATA *cdata = NULL;
    TPM2B_DIGEST *chash = NULL;
    TPMT_TK_CREATION *ticket = NULL;
    uint8_t point[65];
    memset(&sens, 0, sizeof(sens));
    memset(&outside, 0, sizeof(outside));
    memset(&pcrs, 0, sizeof(pcrs));
    fws_err err = tss(Esys_CreatePrimary(k->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                         ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &k->handle,
                                         &out, &cdata, &chash, &ticket),
                      "CreatePrimary", eb);
    if (err == FWS_OK) {
        const TPMS_ECC_POINT *q = &out->publicArea.unique.ecc;
        if (q->x.size != 32 || q->y.size != 32) {
            err = fws_errf(eb, FWS_ERR_KEY_TYPE, "TPM: the key is not a P-256 key");
        } else {
            point[0] = 0x04;
            memcpy(point + 1, q->x.buffer, 32);
            memcpy(point + 33, q->y.buffer, 32);
            if (fws_key_from_raw_public(FWS_KEY_P256, point, sizeof(point), &k->pub) != FWS_OK)
                err = fws_errf(eb, FWS_ERR_FORMAT, "TPM: the public key is not on the curve");
        }
    }
    Esys_Free(out);
    Esys_Free(cdata);
    Esys_Free(chash);
    Esys_Free(ticket);
    return err;
}

/* An ECDSA-Sig-Value from r and s. */
static fws_err der_sig(const TPM2B_ECC_PARAMETER *r, const TPM2B_ECC_PARAMETER *s, uint8_t *sig,
                       size_t cap, size_t *len)
{
    uint8_t buf[FWS_SIG_MAX + 8];
    der_w w;
    if (r->size > 32 || s->size > 32)
        return FWS_ERR_CRYPTO;
    der_init(&w, buf, sizeof(buf));
    size_t m = der_mark(&w);
    der_uint_bytes(&w, s->buffer, s->size);
    der_uint_bytes(&w, r->buffer, r->size);
    der_wrap(&w, DER_SEQUENCE, m);
    size_t n = der_take(&w);
    if (n == 0 || n > cap)
        return FWS_ERR_TOO_BIG;
    memcpy(sig, buf, n);
    *len = n;
    return FWS_OK;
}

static fws_err tpm_sign(void *impl, const uint8_t *msg, size_t len, uint8_t *sig, size_t cap,
                        size_t *sig_len)
{
    tpm_key *k = impl;
    TPM2B_DIGEST digest;
    TPMT_SIG_SCHEME scheme;
    TPMT_TK_HASHCHECK check;
    TPMT_SIGNATURE *out = NULL;
    memset(&scheme, 0, sizeof(scheme));
    memset(&check, 0, sizeof(check));
    digest.size = FWS_SHA256_LEN;
    fws_sha256(msg, len, digest.buffer);
    scheme.scheme = TPM2_ALG_ECDSA;
    scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    check.tag = TPM2_ST_HASHCHECK;
    check.hierarchy = TPM2_RH_NULL;
    if (Esys_Sign(k->esys, k->handle, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &digest,
                  &scheme, &check, &out) != TSS2_RC_SUCCESS)
        return FWS_ERR_CRYPTO;
    fws_err err = FWS_ERR_CRYPTO;
    if (out->sigAlg == TPM2_ALG_ECDSA)
        err = der_sig(&out->signature.ecdsa.signatureR, &out->signature.ecdsa.signatureS, sig, cap,
                      sig_len);
    Esys_Free(out);
    /* The TPM's answer is checked before anyone relies on it. */
    if (err == FWS_OK && fws_key_verify(k->pub, msg, len, sig, *sig_len) != FWS_OK)
        err = FWS_ERR_SIGNATURE;
    return err;
}

static fws_err tpm_public(void *impl, fws_key **pub)
{
    return fws_key_public_dup(((tpm_key *)impl)->pub, pub);
}

static void tpm_destroy(void *impl)
{
    tpm_close(impl);
}

fws_err fws_pki_tpm_signer(const char *tcti, fws_signer *out, fws_errbuf *eb)
{
    tpm_key *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return FWS_ERR_NOMEM;
    k->handle = ESYS_TR_NONE;
    fws_err err = tss(Tss2_TctiLdr_Initialize(tcti, &k->tcti), "TCTI", eb);
    if (err == FWS_OK)
        err = tss(Esys_Initialize(&k->esys, k->tcti, NULL), "Esys_Initialize", eb);
    if (err == FWS_OK)
        err = create_key(k, eb);
    if (err != FWS_OK) {
        tpm_close(k);
        return fws_errf(eb, err, "TPM %s: cannot open the identity key", tcti ? tcti : "");
    }
    memset(out, 0, sizeof(*out));
    out->type = FWS_KEY_P256;
    fws_key_id(k->pub, out->keyid);
    out->sign = tpm_sign;
    out->public_key = tpm_public;
    out->destroy = tpm_destroy;
    out->impl = k;
    return FWS_OK;
}
