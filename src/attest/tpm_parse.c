/* Hand-written parsers for the TPM 2.0 structures the verifier reads from untrusted evidence:
 * TPMS_ATTEST (a quote), TPMT_SIGNATURE and TPMT_PUBLIC. Big-endian, every length checked
 * against what is left and against the field's own cap before a byte is copied, no
 * allocation. Tss2_MU is used only on the attester side, for the TPM's own output. */
#include <string.h>
#include "fwseal/crypto.h"
#include "attest/internal.h"

void att_rd_init(att_rd *r, const uint8_t *p, size_t len, const char *what, fws_errbuf *eb)
{
    r->p = p;
    r->len = p != NULL ? len : 0;
    r->off = 0;
    r->what = what;
    r->eb = eb;
}

static fws_err short_read(att_rd *r, const char *field)
{
    return fws_errf(r->eb, FWS_ERR_FORMAT, "%s: %s at offset %zu runs past the end (%zu bytes)",
                    r->what, field, r->off, r->len);
}

static fws_err take(att_rd *r, const char *field, size_t n, const uint8_t **at)
{
    if (n > r->len - r->off)
        return short_read(r, field);
    *at = r->p + r->off;
    r->off += n;
    return FWS_OK;
}

fws_err att_u8(att_rd *r, const char *field, uint8_t *v)
{
    const uint8_t *b = NULL;
    fws_err err = take(r, field, 1, &b);
    if (err == FWS_OK)
        *v = b[0];
    return err;
}

fws_err att_u16(att_rd *r, const char *field, uint16_t *v)
{
    const uint8_t *b = NULL;
    fws_err err = take(r, field, 2, &b);
    if (err == FWS_OK)
        *v = (uint16_t)((unsigned)b[0] << 8 | b[1]);
    return err;
}

fws_err att_u32(att_rd *r, const char *field, uint32_t *v)
{
    const uint8_t *b = NULL;
    fws_err err = take(r, field, 4, &b);
    if (err == FWS_OK)
        *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return err;
}

fws_err att_u64(att_rd *r, const char *field, uint64_t *v)
{
    uint32_t hi = 0, lo = 0;
    fws_err err = att_u32(r, field, &hi);
    if (err == FWS_OK)
        err = att_u32(r, field, &lo);
    if (err == FWS_OK)
        *v = (uint64_t)hi << 32 | lo;
    return err;
}

fws_err att_tpm2b(att_rd *r, const char *field, uint8_t *out, size_t cap, size_t *n)
{
    uint16_t size = 0;
    const uint8_t *b = NULL;
    fws_err err = att_u16(r, field, &size);
    if (err != FWS_OK)
        return err;
    if (size > cap)
        return fws_errf(r->eb, FWS_ERR_FORMAT, "%s: %s at offset %zu is %u bytes (at most %zu)",
                        r->what, field, r->off - 2, (unsigned)size, cap);
    err = take(r, field, size, &b);
    if (err != FWS_OK)
        return err;
    if (size > 0)
        memcpy(out, b, size);
    *n = size;
    return FWS_OK;
}

fws_err att_rd_end(att_rd *r)
{
    if (r->off != r->len)
        return fws_errf(r->eb, FWS_ERR_FORMAT, "%s: %zu trailing bytes after offset %zu", r->what,
                        r->len - r->off, r->off);
    return FWS_OK;
}

/* ---- TPMS_ATTEST ---------------------------------------------------------------------------- */

static fws_err parse_clock(att_rd *r, fws_tpm_clock *c)
{
    fws_err err;
    if ((err = att_u64(r, "clockInfo.clock", &c->clock)) != FWS_OK ||
        (err = att_u32(r, "clockInfo.resetCount", &c->reset_count)) != FWS_OK ||
        (err = att_u32(r, "clockInfo.restartCount", &c->restart_count)) != FWS_OK ||
        (err = att_u8(r, "clockInfo.safe", &c->safe)) != FWS_OK)
        return err;
    if (c->safe > 1)
        return fws_errf(r->eb, FWS_ERR_FORMAT, "%s: clockInfo.safe is %u (must be 0 or 1)", r->what,
                        (unsigned)c->safe);
    return FWS_OK;
}

/* TPML_PCR_SELECTION with exactly one bank; PCRs 0..23 only. */
static fws_err parse_selection(att_rd *r, uint16_t *hash, uint32_t *mask)
{
    uint32_t count = 0;
    uint8_t size = 0, sel;
    fws_err err = att_u32(r, "pcrSelect.count", &count);
    if (err != FWS_OK)
        return err;
    if (count != 1)
        return fws_errf(r->eb, count == 0 ? FWS_ERR_FORMAT : FWS_ERR_UNSUPPORTED,
                        "%s: pcrSelect holds %u banks (exactly one is supported)", r->what,
                        (unsigned)count);
    if ((err = att_u16(r, "pcrSelect.hash", hash)) != FWS_OK ||
        (err = att_u8(r, "pcrSelect.sizeofSelect", &size)) != FWS_OK)
        return err;
    if (size < 1 || size > 4)
        return fws_errf(r->eb, FWS_ERR_FORMAT, "%s: pcrSelect.sizeofSelect is %u (1..4)", r->what,
                        (unsigned)size);
    *mask = 0;
    for (unsigned i = 0; i < size; i++) {
        if ((err = att_u8(r, "pcrSelect.pcrSelect", &sel)) != FWS_OK)
            return err;
        if (i == 3 && sel != 0)
            return fws_errf(r->eb, FWS_ERR_FORMAT, "%s: pcrSelect selects a PCR above 23", r->what);
        *mask |= (uint32_t)sel << (8 * i);
    }
    return FWS_OK;
}

fws_err fws_tpms_attest_parse(const uint8_t *unverified, size_t len, fws_tpms_attest *out,
                              fws_errbuf *eb)
{
    fws_tpms_attest a;
    att_rd r;
    fws_err err;
    if (out == NULL || (unverified == NULL && len > 0))
        return FWS_ERR_ARG;
    if (len > FWS_ATTEST_QUOTE_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "TPMS_ATTEST: %zu bytes (at most %d)", len,
                        FWS_ATTEST_QUOTE_MAX);
    memset(&a, 0, sizeof(a));
    att_rd_init(&r, unverified, len, "TPMS_ATTEST", eb);
    if ((err = att_u32(&r, "magic", &a.magic)) != FWS_OK)
        return err;
    if (a.magic != FWS_TPM_GENERATED_VALUE)
        return fws_errf(eb, FWS_ERR_FORMAT, "TPMS_ATTEST: magic is 0x%08x, not TPM_GENERATED_VALUE",
                        (unsigned)a.magic);
    if ((err = att_u16(&r, "type", &a.type)) != FWS_OK)
        return err;
    if (a.type != FWS_TPM_ST_ATTEST_QUOTE)
        return fws_errf(eb, FWS_ERR_FORMAT, "TPMS_ATTEST: type is 0x%04x, not a quote (0x8018)",
                        (unsigned)a.type);
    if ((err = att_tpm2b(&r, "qualifiedSigner", a.signer, sizeof(a.signer), &a.signer_len)) !=
            FWS_OK ||
        (err = att_tpm2b(&r, "extraData", a.extra, sizeof(a.extra), &a.extra_len)) != FWS_OK ||
        (err = parse_clock(&r, &a.clock)) != FWS_OK ||
        (err = att_u64(&r, "firmwareVersion", &a.firmware_version)) != FWS_OK ||
        (err = parse_selection(&r, &a.pcr_hash, &a.pcr_mask)) != FWS_OK ||
        (err = att_tpm2b(&r, "pcrDigest", a.pcr_digest, sizeof(a.pcr_digest), &a.pcr_digest_len)) !=
            FWS_OK ||
        (err = att_rd_end(&r)) != FWS_OK)
        return err;
    *out = a;
    return FWS_OK;
}

/* ---- TPMT_SIGNATURE ---------------------------------------------------------------------------
 */

fws_err fws_tpmt_signature_parse(const uint8_t *unverified, size_t len, fws_tpmt_signature *out,
                                 fws_errbuf *eb)
{
    fws_tpmt_signature s;
    att_rd r;
    fws_err err;
    if (out == NULL || (unverified == NULL && len > 0))
        return FWS_ERR_ARG;
    memset(&s, 0, sizeof(s));
    att_rd_init(&r, unverified, len, "TPMT_SIGNATURE", eb);
    if ((err = att_u16(&r, "sigAlg", &s.sig_alg)) != FWS_OK)
        return err;
    if (s.sig_alg != FWS_TPM_ALG_ECDSA)
        return fws_errf(eb, FWS_ERR_UNSUPPORTED,
                        "TPMT_SIGNATURE: algorithm 0x%04x is not supported (only ECDSA)",
                        (unsigned)s.sig_alg);
    if ((err = att_u16(&r, "hash", &s.hash_alg)) != FWS_OK)
        return err;
    if (s.hash_alg != FWS_TPM_ALG_SHA256)
        return fws_errf(eb, FWS_ERR_UNSUPPORTED,
                        "TPMT_SIGNATURE: hash 0x%04x is not supported (only SHA-256)",
                        (unsigned)s.hash_alg);
    if ((err = att_tpm2b(&r, "signatureR", s.r, sizeof(s.r), &s.r_len)) != FWS_OK ||
        (err = att_tpm2b(&r, "signatureS", s.s, sizeof(s.s), &s.s_len)) != FWS_OK ||
        (err = att_rd_end(&r)) != FWS_OK)
        return err;
    if (s.r_len == 0 || s.s_len == 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "TPMT_SIGNATURE: empty r or s");
    *out = s;
    return FWS_OK;
}

/* ---- TPMT_PUBLIC ------------------------------------------------------------------------------
 */

static fws_err want16(att_rd *r, const char *field, uint16_t want, fws_err code, uint16_t *got)
{
    fws_err err = att_u16(r, field, got);
    if (err == FWS_OK && *got != want)
        return fws_errf(r->eb, code, "%s: %s is 0x%04x (only 0x%04x is supported)", r->what, field,
                        (unsigned)*got, (unsigned)want);
    return err;
}

static fws_err parse_ecc_parms(att_rd *r, fws_tpmt_public *k)
{
    uint16_t v = 0;
    fws_err err;
    if ((err = want16(r, "symmetric", FWS_TPM_ALG_NULL, FWS_ERR_UNSUPPORTED, &v)) != FWS_OK ||
        (err = att_u16(r, "scheme", &k->scheme)) != FWS_OK)
        return err;
    if (k->scheme == FWS_TPM_ALG_ECDSA) {
        if ((err = want16(r, "scheme.hashAlg", FWS_TPM_ALG_SHA256, FWS_ERR_UNSUPPORTED, &v)) !=
            FWS_OK)
            return err;
    } else if (k->scheme != FWS_TPM_ALG_NULL) {
        return fws_errf(r->eb, FWS_ERR_UNSUPPORTED, "%s: scheme 0x%04x is not supported", r->what,
                        (unsigned)k->scheme);
    }
    if ((err = want16(r, "curveID", FWS_TPM_ECC_NIST_P256, FWS_ERR_UNSUPPORTED, &k->curve)) !=
            FWS_OK ||
        (err = want16(r, "kdf", FWS_TPM_ALG_NULL, FWS_ERR_UNSUPPORTED, &v)) != FWS_OK)
        return err;
    return FWS_OK;
}

fws_err fws_tpmt_public_parse(const uint8_t *unverified, size_t len, fws_tpmt_public *out,
                              fws_errbuf *eb)
{
    fws_tpmt_public k;
    uint8_t policy[64], x[32], y[32];
    size_t policy_len = 0, x_len = 0, y_len = 0;
    att_rd r;
    fws_err err;
    if (out == NULL || (unverified == NULL && len > 0))
        return FWS_ERR_ARG;
    if (len > FWS_ATTEST_PUB_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "TPMT_PUBLIC: %zu bytes (at most %d)", len,
                        FWS_ATTEST_PUB_MAX);
    memset(&k, 0, sizeof(k));
    att_rd_init(&r, unverified, len, "TPMT_PUBLIC", eb);
    if ((err = want16(&r, "type", FWS_TPM_ALG_ECC, FWS_ERR_UNSUPPORTED, &k.type)) != FWS_OK ||
        (err = want16(&r, "nameAlg", FWS_TPM_ALG_SHA256, FWS_ERR_UNSUPPORTED, &k.name_alg)) !=
            FWS_OK ||
        (err = att_u32(&r, "objectAttributes", &k.attributes)) != FWS_OK ||
        (err = att_tpm2b(&r, "authPolicy", policy, sizeof(policy), &policy_len)) != FWS_OK ||
        (err = parse_ecc_parms(&r, &k)) != FWS_OK ||
        (err = att_tpm2b(&r, "unique.x", x, sizeof(x), &x_len)) != FWS_OK ||
        (err = att_tpm2b(&r, "unique.y", y, sizeof(y), &y_len)) != FWS_OK ||
        (err = att_rd_end(&r)) != FWS_OK)
        return err;
    if (x_len != 32 || y_len != 32)
        return fws_errf(eb, FWS_ERR_FORMAT, "TPMT_PUBLIC: the point is %zu and %zu bytes (32 each)",
                        x_len, y_len);
    if (!(k.attributes & FWS_TPMA_SIGN) || (k.attributes & FWS_TPMA_DECRYPT))
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "TPMT_PUBLIC: not a signing-only key");
    k.point[0] = 0x04;
    memcpy(k.point + 1, x, 32);
    memcpy(k.point + 33, y, 32);
    k.name[0] = 0x00;
    k.name[1] = 0x0b;
    fws_sha256(unverified, len, k.name + 2);
    *out = k;
    return FWS_OK;
}
