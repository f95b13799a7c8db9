/* fwseal-agent --attest: before asking for its assignment, the agent fetches a nonce from the
 * server, quotes its measured-boot log (a TPM's attestation key, or a software key) and posts
 * the evidence (docs/AGENT.md, "Attestation"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "fwseal/attest.h"
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "agent/cli/attest.h"

#define NONCE_ANSWER_MAX 4096
#define RESULT_ANSWER_MAX 65536

fws_err agent_attest_parse(const char *spec, agent_attest *out, fws_errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    if (strncmp(spec, "tpm:", 4) == 0) {
        const char *hp = spec + 4, *colon = strrchr(hp, ':');
        if (colon == NULL || colon == hp || colon[1] == '\0' ||
            strspn(colon + 1, "0123456789") != strlen(colon + 1))
            return fws_errf(eb, FWS_ERR_ARG, "--attest tpm:HOST:PORT, not \"%s\"", spec);
        int n = snprintf(out->tcti, sizeof(out->tcti), "swtpm:host=%.*s,port=%s", (int)(colon - hp),
                         hp, colon + 1);
        if (n < 0 || (size_t)n >= sizeof(out->tcti))
            return fws_errf(eb, FWS_ERR_ARG, "--attest: host too long");
        out->mode = AGENT_ATTEST_TPM;
        return FWS_OK;
    }
    if (strncmp(spec, "software:", 9) == 0 && spec[9] != '\0') {
        if (strlen(spec + 9) >= sizeof(out->key_path))
            return fws_errf(eb, FWS_ERR_ARG, "--attest: key path too long");
        snprintf(out->key_path, sizeof(out->key_path), "%s", spec + 9);
        out->mode = AGENT_ATTEST_SOFTWARE;
        return FWS_OK;
    }
    return fws_errf(eb, FWS_ERR_ARG, "--attest tpm:HOST:PORT or software:KEYFILE, not \"%s\"",
                    spec);
}

/* The AK certificate (PEM or DER) as DER. */
static fws_err cert_der(const char *path, uint8_t **der, size_t *len, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t n = 0;
    fws_err err = fws_file_read(path, FWS_ATTEST_CERT_MAX * 4, &data, &n, eb);
    if (err != FWS_OK)
        return err;
    BIO *b = BIO_new_mem_buf(data, (int)n);
    X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (x == NULL) { /* DER already */
        *der = data;
        *len = n;
        return FWS_OK;
    }
    free(data);
    unsigned char *out = NULL;
    int dl = i2d_X509(x, &out);
    X509_free(x);
    if (dl <= 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "%s: certificate cannot be encoded", path);
    *der = malloc((size_t)dl);
    if (*der == NULL) {
        OPENSSL_free(out);
        return FWS_ERR_NOMEM;
    }
    memcpy(*der, out, (size_t)dl);
    OPENSSL_free(out);
    *len = (size_t)dl;
    return FWS_OK;
}

static fws_err get_nonce(fws_agent_http *http, const char *base, uint8_t *nonce, size_t *nonce_len,
                         uint32_t *mask, fws_errbuf *eb)
{
    char url[FWS_AGENT_URL_MAX + 64];
    snprintf(url, sizeof(url), "%s/api/v1/device/attestation/nonce", base);
    long status = 0;
    uint8_t *resp = NULL;
    size_t n = 0;
    json_t *doc = NULL, *pcrs = NULL;
    const char *hex = NULL;
    fws_err err =
        fws_agent_http_request(http, url, NULL, NULL, 0, NONCE_ANSWER_MAX, &status, &resp, &n, eb);
    if (err == FWS_OK && status != 200)
        err = fws_errf(eb, FWS_ERR_IO, "%s: HTTP %ld", url, status);
    if (err == FWS_OK)
        err = fws_json_parse(resp, n, 0, NULL, &doc, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(doc, "nonce", &hex, eb);
    if (err == FWS_OK)
        err = fws_json_get_array(doc, "pcrs", &pcrs, eb);
    size_t hl = hex != NULL ? strlen(hex) : 0;
    if (err == FWS_OK &&
        (hl < 2 * FWS_ATTEST_NONCE_MIN || hl > 2 * FWS_ATTEST_NONCE_MAX ||
         fws_hex_decode(hex, hl, nonce, FWS_ATTEST_NONCE_MAX, nonce_len) != FWS_OK))
        err = fws_errf(eb, FWS_ERR_SCHEMA, "%s: bad \"nonce\"", url);
    uint32_t m = 0;
    for (size_t i = 0; err == FWS_OK && i < json_array_size(pcrs); i++) {
        json_int_t v = json_integer_value(json_array_get(pcrs, i));
        if (!json_is_integer(json_array_get(pcrs, i)) || v < 0 || v >= FWS_ATTEST_PCRS)
            err = fws_errf(eb, FWS_ERR_SCHEMA, "%s: bad \"pcrs\"", url);
        else
            m |= 1u << v;
    }
    json_decref(doc);
    free(resp);
    if (err == FWS_OK)
        *mask = m;
    return err;
}

static fws_err post_evidence(fws_agent_http *http, const char *base, const char *json, size_t len,
                             fws_errbuf *eb)
{
    char url[FWS_AGENT_URL_MAX + 64];
    snprintf(url, sizeof(url), "%s/api/v1/device/attestation", base);
    long status = 0;
    uint8_t *resp = NULL;
    size_t n = 0;
    fws_err err = fws_agent_http_request(http, url, "application/json", (const uint8_t *)json, len,
                                         RESULT_ANSWER_MAX, &status, &resp, &n, eb);
    if (err == FWS_OK && status != 200)
        err = fws_errf(eb, FWS_ERR_IO, "%s: HTTP %ld: %.200s", url, status, (const char *)resp);
    free(resp);
    return err;
}

static fws_err quote(agent_attest *at, const char *device_id, const uint8_t *nonce,
                     size_t nonce_len, uint32_t mask, char **json, size_t *len, fws_errbuf *eb)
{
    uint8_t *der = NULL;
    size_t der_len = 0;
    fws_key *k = NULL;
    fws_signer signer;
    int have_signer = 0;
    fws_tpm_clock counters = {.clock = 0, .reset_count = 0, .restart_count = 0, .safe = 1};
    fws_err err = cert_der(at->cert_path, &der, &der_len, eb);
    if (err == FWS_OK && at->mode == AGENT_ATTEST_SOFTWARE) {
        err = fws_key_load_private(at->key_path, NULL, &k, eb);
        if (err == FWS_OK)
            err = fws_signer_from_key(k, &signer);
        if (err == FWS_OK)
            have_signer = 1;
        else
            fws_key_free(k);
    }
    fws_attest_device dev = {
        .tcti = at->mode == AGENT_ATTEST_TPM ? at->tcti : NULL,
        .signer = have_signer ? &signer : NULL,
        .counters = have_signer ? &counters : NULL,
        .log_path = at->log_path,
        .device = device_id,
        .ak_cert = der,
        .ak_cert_len = der_len,
    };
    if (err == FWS_OK)
        err = fws_attest_device_quote(&dev, nonce, nonce_len, mask, json, len, eb);
    if (have_signer)
        fws_signer_free(&signer);
    free(der);
    return err;
}

fws_err agent_attest_run(void *ctx, fws_agent_http *http, const char *base, const char *device_id,
                         fws_errbuf *eb)
{
    agent_attest *at = ctx;
    uint8_t nonce[FWS_ATTEST_NONCE_MAX];
    size_t nonce_len = 0;
    uint32_t mask = 0;
    char *json = NULL;
    size_t len = 0;
    fws_err err = get_nonce(http, base, nonce, &nonce_len, &mask, eb);
    if (err == FWS_OK)
        err = quote(at, device_id, nonce, nonce_len, mask, &json, &len, eb);
    if (err == FWS_OK)
        err = post_evidence(http, base, json, len, eb);
    free(json);
    if (err != FWS_OK)
        return fws_errf(eb, err, "attestation");
    return FWS_OK;
}
