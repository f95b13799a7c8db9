/* X.509 v3 certificates (RFC 5280) for the three profiles fwseal issues: root, issuing
 * intermediate, device. Built with the DER writer and signed through any fws_signer, so a CA
 * key in a file, a PKCS#11 token or elsewhere signs the same way. */
#include <string.h>
#include "pki/internal.h"

const char pki_oid_cn[3] = {0x55, 0x04, 0x03};
const char pki_oid_serial_number[3] = {0x55, 0x04, 0x05};
const char pki_oid_org[3] = {0x55, 0x04, 0x0a};
const char pki_oid_ou[3] = {0x55, 0x04, 0x0b};

#define OID_BASIC_CONSTRAINTS "\x55\x1d\x13"
#define OID_KEY_USAGE "\x55\x1d\x0f"
#define OID_EXT_KEY_USAGE "\x55\x1d\x25"
#define OID_SAN "\x55\x1d\x11"
#define OID_SKI "\x55\x1d\x0e"
#define OID_AKI "\x55\x1d\x23"
#define OID_CLIENT_AUTH "\x2b\x06\x01\x05\x05\x07\x03\x02"
#define OID_ECDSA_SHA256 "\x2a\x86\x48\xce\x3d\x04\x03\x02"
#define OID_ED25519 "\x2b\x65\x70"

fws_err pki_name(const pki_attr *attrs, size_t n, uint8_t *out, size_t cap, size_t *len)
{
    der_w w;
    der_init(&w, out, cap);
    size_t name = der_mark(&w);
    for (size_t i = n; i-- > 0;) {
        size_t set = der_mark(&w);
        size_t seq = der_mark(&w);
        der_tlv(&w, attrs[i].tag, attrs[i].value, strlen(attrs[i].value));
        der_oid(&w, (const uint8_t *)attrs[i].oid, attrs[i].oid_len);
        der_wrap(&w, DER_SEQUENCE, seq);
        der_wrap(&w, DER_SET, set);
    }
    der_wrap(&w, DER_SEQUENCE, name);
    if (der_status(&w) != FWS_OK)
        return FWS_ERR_TOO_BIG;
    *len = der_take(&w);
    return FWS_OK;
}

/* Steps into a TLV of the expected tag: *body and *body_len. */
static fws_err expect(const uint8_t *p, size_t len, uint8_t tag, const uint8_t **body,
                      size_t *body_len, size_t *total)
{
    uint8_t t;
    size_t hdr, n;
    fws_err err = der_read_header(p, len, &t, &hdr, &n);
    if (err != FWS_OK)
        return err;
    if (t != tag)
        return FWS_ERR_FORMAT;
    *body = p + hdr;
    *body_len = n;
    if (total != NULL)
        *total = hdr + n;
    return FWS_OK;
}

fws_err pki_ski(const uint8_t *spki, size_t len, uint8_t out[PKI_SKI_LEN])
{
    const uint8_t *seq, *bits;
    size_t seq_len, alg_total, bits_len, total;
    const uint8_t *alg;
    size_t alg_len;
    uint8_t digest[FWS_SHA256_LEN];
    fws_err err = expect(spki, len, DER_SEQUENCE, &seq, &seq_len, &total);
    if (err == FWS_OK && total != len)
        err = FWS_ERR_FORMAT;
    if (err == FWS_OK)
        err = expect(seq, seq_len, DER_SEQUENCE, &alg, &alg_len, &alg_total);
    if (err == FWS_OK)
        err = expect(seq + alg_total, seq_len - alg_total, DER_BIT_STRING, &bits, &bits_len, NULL);
    if (err == FWS_OK && bits_len < 2)
        err = FWS_ERR_FORMAT;
    if (err != FWS_OK)
        return err;
    fws_sha256(bits + 1, bits_len - 1, digest);
    memcpy(out, digest, PKI_SKI_LEN);
    return FWS_OK;
}

void pki_sig_alg(der_w *w, fws_key_type type)
{
    size_t m = der_mark(w);
    if (type == FWS_KEY_ED25519)
        DER_OID_LIT(w, OID_ED25519);
    else
        DER_OID_LIT(w, OID_ECDSA_SHA256);
    der_wrap(w, DER_SEQUENCE, m);
}

fws_err pki_sign_wrap(const fws_signer *s, const uint8_t *tbs, size_t tbs_len, uint8_t *out,
                      size_t cap, size_t *len)
{
    uint8_t sig[FWS_SIG_MAX];
    size_t sig_len = 0;
    der_w w;
    fws_err err = fws_signer_sign(s, tbs, tbs_len, sig, sizeof(sig), &sig_len);
    if (err != FWS_OK)
        return err;
    der_init(&w, out, cap);
    size_t m = der_mark(&w);
    der_bits(&w, sig, sig_len);
    pki_sig_alg(&w, s->type);
    der_raw(&w, tbs, tbs_len);
    der_wrap(&w, DER_SEQUENCE, m);
    if (der_status(&w) != FWS_OK)
        return FWS_ERR_TOO_BIG;
    *len = der_take(&w);
    return FWS_OK;
}

fws_err pki_serial_new(uint8_t serial[PKI_SERIAL_LEN])
{
    fws_err err = fws_random(serial, PKI_SERIAL_LEN);
    if (err != FWS_OK)
        return err;
    serial[0] &= 0x7f; /* positive */
    serial[0] |= 0x40; /* and always 16 bytes long, so the hex form is fixed width */
    return FWS_OK;
}

/* Extension { extnID, critical, extnValue OCTET STRING } around the value written since mark. */
static void ext_wrap(der_w *w, const char *oid, size_t oid_len, int critical, size_t mark)
{
    der_wrap(w, DER_OCTET_STRING, mark);
    if (critical)
        der_bool_true(w);
    der_oid(w, (const uint8_t *)oid, oid_len);
    der_wrap(w, DER_SEQUENCE, mark);
}
#define EXT_WRAP(w, lit, crit, m) ext_wrap((w), (lit), sizeof(lit) - 1, (crit), (m))

static void ext_key_ids(der_w *w, const pki_cert_spec *spec, const uint8_t ski[PKI_SKI_LEN])
{
    size_t m;
    if (spec->aki != NULL) {
        m = der_mark(w);
        size_t seq = der_mark(w);
        der_tlv(w, DER_CONTEXT | 0, spec->aki, PKI_SKI_LEN);
        der_wrap(w, DER_SEQUENCE, seq);
        EXT_WRAP(w, OID_AKI, 0, m);
    }
    m = der_mark(w);
    der_tlv(w, DER_OCTET_STRING, ski, PKI_SKI_LEN);
    EXT_WRAP(w, OID_SKI, 0, m);
}

static void ext_device(der_w *w, const pki_cert_spec *spec)
{
    static const uint8_t digital_signature[] = {0x07, 0x80};
    size_t m = der_mark(w);
    size_t seq = der_mark(w);
    der_tlv(w, DER_CONTEXT | 6, spec->san_uri, strlen(spec->san_uri));
    der_wrap(w, DER_SEQUENCE, seq);
    EXT_WRAP(w, OID_SAN, 0, m);

    m = der_mark(w);
    seq = der_mark(w);
    DER_OID_LIT(w, OID_CLIENT_AUTH);
    der_wrap(w, DER_SEQUENCE, seq);
    EXT_WRAP(w, OID_EXT_KEY_USAGE, 0, m);

    m = der_mark(w);
    der_tlv(w, DER_BIT_STRING, digital_signature, sizeof(digital_signature));
    EXT_WRAP(w, OID_KEY_USAGE, 1, m);

    m = der_mark(w);
    seq = der_mark(w);
    der_wrap(w, DER_SEQUENCE, seq); /* cA FALSE (the default) */
    EXT_WRAP(w, OID_BASIC_CONSTRAINTS, 1, m);
}

static void ext_ca(der_w *w, int path_len_zero)
{
    static const uint8_t cert_and_crl_sign[] = {0x01, 0x06};
    size_t m = der_mark(w);
    der_tlv(w, DER_BIT_STRING, cert_and_crl_sign, sizeof(cert_and_crl_sign));
    EXT_WRAP(w, OID_KEY_USAGE, 1, m);

    m = der_mark(w);
    size_t seq = der_mark(w);
    if (path_len_zero)
        der_uint(w, 0);
    der_bool_true(w);
    der_wrap(w, DER_SEQUENCE, seq);
    EXT_WRAP(w, OID_BASIC_CONSTRAINTS, 1, m);
}

static fws_err tbs_build(const pki_cert_spec *spec, fws_key_type sig_type, uint8_t *buf, size_t cap,
                         size_t *len)
{
    uint8_t ski[PKI_SKI_LEN];
    der_w w;
    fws_err err = pki_ski(spec->spki, spec->spki_len, ski);
    if (err != FWS_OK)
        return err;
    der_init(&w, buf, cap);
    size_t tbs = der_mark(&w);

    size_t exts = der_mark(&w);
    ext_key_ids(&w, spec, ski);
    if (spec->profile == PKI_PROFILE_DEVICE)
        ext_device(&w, spec);
    else
        ext_ca(&w, spec->profile == PKI_PROFILE_INTERMEDIATE);
    der_wrap(&w, DER_SEQUENCE, exts);
    der_wrap(&w, DER_CONTEXT_CON | 3, exts);

    der_raw(&w, spec->spki, spec->spki_len);
    der_raw(&w, spec->subject_name, spec->subject_name_len);
    size_t validity = der_mark(&w);
    der_time(&w, spec->not_after);
    der_time(&w, spec->not_before);
    der_wrap(&w, DER_SEQUENCE, validity);
    der_raw(&w, spec->issuer_name, spec->issuer_name_len);
    pki_sig_alg(&w, sig_type);
    der_uint_bytes(&w, spec->serial, PKI_SERIAL_LEN);
    size_t version = der_mark(&w);
    der_uint(&w, 2);
    der_wrap(&w, DER_CONTEXT_CON | 0, version);
    der_wrap(&w, DER_SEQUENCE, tbs);
    if (der_status(&w) != FWS_OK)
        return FWS_ERR_TOO_BIG;
    *len = der_take(&w);
    return FWS_OK;
}

fws_err pki_cert_issue(const pki_cert_spec *spec, const fws_signer *s, uint8_t *out, size_t cap,
                       size_t *len, fws_errbuf *eb)
{
    uint8_t tbs[FWS_PKI_CERT_MAX];
    size_t tbs_len = 0;
    fws_err err = tbs_build(spec, s->type, tbs, sizeof(tbs), &tbs_len);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot encode the certificate: %s", fws_strerror(err));
    err = pki_sign_wrap(s, tbs, tbs_len, out, cap, len);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot sign the certificate: %s", fws_strerror(err));
    return FWS_OK;
}
