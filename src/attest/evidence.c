/* Evidence as JSON, "fwseal-attest-evidence/v1": written canonically by the attesters, read
 * by the verifier into fixed buffers (nothing in it is believed until fws_attest_verify). */
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "attest/internal.h"

#define EVIDENCE_FORMAT "fwseal-attest-evidence/v1"

static const char *const assurance_names[] = {"none", "software", "tpm"};

const char *fws_attest_assurance_name(fws_attest_assurance a)
{
    if ((unsigned)a >= sizeof(assurance_names) / sizeof(assurance_names[0]))
        return "none";
    return assurance_names[a];
}

fws_err fws_attest_assurance_parse(const char *name, fws_attest_assurance *out)
{
    for (unsigned i = 0; name != NULL && i < sizeof(assurance_names) / sizeof(assurance_names[0]);
         i++) {
        if (strcmp(name, assurance_names[i]) == 0) {
            *out = (fws_attest_assurance)i;
            return FWS_OK;
        }
    }
    return FWS_ERR_NOT_FOUND;
}

fws_err fws_attest_nonce(uint8_t out[FWS_ATTEST_NONCE_LEN])
{
    return fws_random(out, FWS_ATTEST_NONCE_LEN);
}

/* ---- encoding -------------------------------------------------------------------------------- */

static json_t *b64(const uint8_t *b, size_t n)
{
    char *text = malloc(FWS_BASE64_LEN(n) + 1);
    if (text == NULL)
        return NULL;
    fws_base64_encode(b, n, text);
    json_t *s = json_string(text);
    free(text);
    return s;
}

static int put(json_t *o, const char *key, json_t *v)
{
    return v == NULL || json_object_set_new(o, key, v) != 0 ? -1 : 0;
}

static int put_pcrs(json_t *o, const fws_attest_evidence *e)
{
    char hex[2 * FWS_SHA256_LEN + 1];
    json_t *sel = json_array(), *vals = json_array();
    int bad = sel == NULL || vals == NULL;
    for (unsigned i = 0; !bad && i < FWS_ATTEST_PCRS; i++) {
        if (!(e->pcr_mask & (1u << i)))
            continue;
        att_hex(e->pcrs[i], FWS_SHA256_LEN, hex);
        bad = json_array_append_new(sel, json_integer(i)) != 0 ||
              json_array_append_new(
                  vals, json_pack("{s:i, s:s}", "pcr", (json_int_t)i, "digest", hex)) != 0;
    }
    if (bad) {
        json_decref(sel);
        json_decref(vals);
        return -1;
    }
    return put(o, "pcrSelection", sel) | put(o, "pcrs", vals);
}

fws_err fws_attest_evidence_encode(const fws_attest_evidence *e, char **json, size_t *len)
{
    json_t *o = json_object(), *chain = json_array(), *log = NULL;
    fws_err err = FWS_ERR_NOMEM;
    if (e == NULL || json == NULL || len == NULL) {
        err = FWS_ERR_ARG;
        goto out;
    }
    if (e->n_chain > FWS_ATTEST_CHAIN_MAX || e->quote_len > sizeof(e->quote) ||
        e->sig_len > sizeof(e->sig) || e->ak_public_len > sizeof(e->ak_public) ||
        e->ak_cert_len > sizeof(e->ak_cert) || e->nonce_len > sizeof(e->nonce)) {
        err = FWS_ERR_ARG;
        goto out;
    }
    if (o == NULL || chain == NULL)
        goto out;
    for (size_t i = 0; i < e->n_chain; i++) {
        if (e->chain_len[i] > FWS_ATTEST_CERT_MAX ||
            json_array_append_new(chain, b64(e->chain[i], e->chain_len[i])) != 0)
            goto out;
    }
    if ((err = fws_attest_log_to_json(&e->log, &log)) != FWS_OK)
        goto out;
    err = FWS_ERR_NOMEM;
    if (put(o, "format", json_string(EVIDENCE_FORMAT)) ||
        put(o, "device", json_string(e->device)) ||
        put(o, "assurance", json_string(fws_attest_assurance_name(e->assurance))) ||
        put(o, "nonce", b64(e->nonce, e->nonce_len)) ||
        put(o, "quote", b64(e->quote, e->quote_len)) ||
        put(o, "signature", b64(e->sig, e->sig_len)) ||
        put(o, "akPublic", b64(e->ak_public, e->ak_public_len)) ||
        put(o, "akCert", b64(e->ak_cert, e->ak_cert_len)) ||
        put(o, "akChain", json_incref(chain)) || put(o, "pcrBank", json_string("sha256")) ||
        put_pcrs(o, e) || put(o, "eventLog", json_incref(log)))
        goto out;
    err = fws_json_canonical(o, json, len);
out:
    json_decref(o);
    json_decref(chain);
    json_decref(log);
    return err;
}

/* ---- decoding -------------------------------------------------------------------------------- */

static fws_err get_b64(const json_t *o, const char *key, uint8_t *out, size_t cap, size_t *n,
                       fws_errbuf *eb)
{
    const char *s = NULL;
    fws_err err = fws_json_get_string(o, key, &s, eb);
    if (err != FWS_OK)
        return err;
    err = fws_base64_decode(s, strlen(s), out, cap, n);
    if (err == FWS_ERR_TOO_BIG)
        return fws_errf(eb, err, "field \"%s\" holds more than %zu bytes", key, cap);
    if (err != FWS_OK)
        return fws_errf(eb, FWS_ERR_FORMAT, "field \"%s\" is not valid base64", key);
    if (*n == 0)
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"%s\" is empty", key);
    return FWS_OK;
}

static int device_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("._:@/+-", c) != NULL;
}

static fws_err get_device(const json_t *o, fws_attest_evidence *e, fws_errbuf *eb)
{
    const char *s = NULL;
    fws_err err = fws_json_get_string(o, "device", &s, eb);
    if (err != FWS_OK)
        return err;
    size_t n = strlen(s);
    int ok = n >= 1 && n <= FWS_ATTEST_DEVICE_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = device_char(s[i]);
    if (!ok)
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "field \"device\" must be 1..%d characters of [A-Za-z0-9._:@/+-]",
                        FWS_ATTEST_DEVICE_MAX);
    memcpy(e->device, s, n + 1);
    return FWS_OK;
}

static fws_err get_chain(const json_t *o, fws_attest_evidence *e, fws_errbuf *eb)
{
    json_t *a = NULL;
    fws_err err = fws_json_get_array(o, "akChain", &a, eb);
    if (err != FWS_OK)
        return err;
    if (json_array_size(a) > FWS_ATTEST_CHAIN_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "field \"akChain\" holds more than %d certificates",
                        FWS_ATTEST_CHAIN_MAX);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *c = json_array_get(a, i);
        size_t n = 0;
        if (!json_is_string(c) ||
            fws_base64_decode(json_string_value(c), json_string_length(c), e->chain[i],
                              FWS_ATTEST_CERT_MAX, &n) != FWS_OK ||
            n == 0)
            return fws_errf(eb, FWS_ERR_SCHEMA, "akChain[%zu] must be a base64 certificate", i);
        e->chain_len[i] = n;
    }
    e->n_chain = json_array_size(a);
    return FWS_OK;
}

static fws_err get_selection(const json_t *o, fws_attest_evidence *e, fws_errbuf *eb)
{
    json_t *a = NULL;
    fws_err err = fws_json_get_array(o, "pcrSelection", &a, eb);
    if (err != FWS_OK)
        return err;
    if (json_array_size(a) > FWS_ATTEST_PCRS)
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"pcrSelection\" is too long");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        json_int_t p = json_is_integer(v) ? json_integer_value(v) : -1;
        if (p < 0 || p >= FWS_ATTEST_PCRS || (e->pcr_mask & (1u << p)))
            return fws_errf(eb, FWS_ERR_SCHEMA,
                            "pcrSelection[%zu] must be a PCR 0..23 not listed before", i);
        e->pcr_mask |= 1u << p;
    }
    return FWS_OK;
}

static fws_err get_pcr_values(const json_t *o, fws_attest_evidence *e, fws_errbuf *eb)
{
    static const char *const keys[] = {"pcr", "digest", NULL};
    json_t *a = NULL;
    uint32_t seen = 0;
    fws_err err = fws_json_get_array(o, "pcrs", &a, eb);
    if (err != FWS_OK)
        return err;
    if (json_array_size(a) > FWS_ATTEST_PCRS)
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"pcrs\" lists more than %d PCRs",
                        FWS_ATTEST_PCRS);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *v = json_array_get(a, i);
        const char *hex = NULL;
        int64_t p = -1;
        fws_errbuf why = {{0}};
        if (!json_is_object(v) || fws_json_only_keys(v, keys, &why) != FWS_OK ||
            fws_json_get_int(v, "pcr", &p, &why) != FWS_OK ||
            fws_json_get_string(v, "digest", &hex, &why) != FWS_OK || p < 0 ||
            p >= FWS_ATTEST_PCRS || (seen & (1u << p)) || att_unhex32(hex, e->pcrs[p]) != FWS_OK)
            return fws_errf(eb, FWS_ERR_SCHEMA,
                            "pcrs[%zu] must be {\"pcr\": 0..23 once, \"digest\": 64 hex} %s", i,
                            why.msg);
        seen |= 1u << p;
    }
    if (seen != e->pcr_mask)
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "field \"pcrs\" must give exactly the PCRs of "
                        "\"pcrSelection\"");
    return FWS_OK;
}

static fws_err get_header(const json_t *o, fws_attest_evidence *e, fws_errbuf *eb)
{
    const char *format = NULL, *assurance = NULL, *bank = NULL;
    fws_err err;
    if ((err = fws_json_get_string(o, "format", &format, eb)) != FWS_OK)
        return err;
    if (strcmp(format, EVIDENCE_FORMAT) != 0)
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"format\" must be \"%s\"", EVIDENCE_FORMAT);
    if ((err = fws_json_get_string(o, "assurance", &assurance, eb)) != FWS_OK)
        return err;
    if (fws_attest_assurance_parse(assurance, &e->assurance) != FWS_OK ||
        e->assurance == FWS_ASSURANCE_NONE)
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"assurance\" must be \"tpm\" or \"software\"");
    if ((err = fws_json_get_string(o, "pcrBank", &bank, eb)) != FWS_OK)
        return err;
    if (strcmp(bank, "sha256") != 0)
        return fws_errf(eb, FWS_ERR_UNSUPPORTED, "PCR bank \"%s\" is not supported (sha256)", bank);
    return FWS_OK;
}

static fws_err decode_object(const json_t *o, fws_attest_evidence *e, fws_errbuf *eb)
{
    static const char *const keys[] = {
        "format", "device",  "assurance", "nonce",        "quote", "signature", "akPublic",
        "akCert", "akChain", "pcrBank",   "pcrSelection", "pcrs",  "eventLog",  NULL};
    json_t *log = NULL;
    fws_err err;
    if (!json_is_object(o))
        return fws_errf(eb, FWS_ERR_SCHEMA, "evidence must be a JSON object");
    if ((err = fws_json_only_keys(o, keys, eb)) != FWS_OK ||
        (err = get_header(o, e, eb)) != FWS_OK || (err = get_device(o, e, eb)) != FWS_OK ||
        (err = get_b64(o, "nonce", e->nonce, sizeof(e->nonce), &e->nonce_len, eb)) != FWS_OK ||
        (err = get_b64(o, "quote", e->quote, sizeof(e->quote), &e->quote_len, eb)) != FWS_OK ||
        (err = get_b64(o, "signature", e->sig, sizeof(e->sig), &e->sig_len, eb)) != FWS_OK ||
        (err = get_b64(o, "akPublic", e->ak_public, sizeof(e->ak_public), &e->ak_public_len, eb)) !=
            FWS_OK ||
        (err = get_b64(o, "akCert", e->ak_cert, sizeof(e->ak_cert), &e->ak_cert_len, eb)) !=
            FWS_OK ||
        (err = get_chain(o, e, eb)) != FWS_OK || (err = get_selection(o, e, eb)) != FWS_OK ||
        (err = get_pcr_values(o, e, eb)) != FWS_OK ||
        (err = fws_json_get_array(o, "eventLog", &log, eb)) != FWS_OK)
        return err;
    return fws_attest_log_from_json(log, &e->log, eb);
}

fws_err fws_attest_evidence_decode(const uint8_t *unverified, size_t len, fws_attest_evidence *out,
                                   fws_errbuf *eb)
{
    static const fws_json_limits limits = {FWS_ATTEST_EVIDENCE_MAX, 8, FWS_ATTEST_EVIDENCE_MAX,
                                           256};
    fws_attest_evidence *e = NULL;
    json_t *o = NULL;
    fws_errbuf why = {{0}};
    if (out == NULL || (unverified == NULL && len > 0))
        return FWS_ERR_ARG;
    if (len > FWS_ATTEST_EVIDENCE_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "evidence: %zu bytes (at most %d)", len,
                        FWS_ATTEST_EVIDENCE_MAX);
    fws_err err = fws_json_parse(unverified, len, FWS_JSON_NO_FLOATS, &limits, &o, &why);
    if (err == FWS_OK) {
        e = calloc(1, sizeof(*e));
        err = e == NULL ? FWS_ERR_NOMEM : decode_object(o, e, &why);
    }
    if (err == FWS_OK)
        memcpy(out, e, sizeof(*e));
    else
        err = fws_errf(eb, err, "evidence: %s", why.msg[0] ? why.msg : fws_strerror(err));
    free(e);
    json_decref(o);
    return err;
}
