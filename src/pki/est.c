/* EST (RFC 7030) request handlers, pure: request bytes and the client's authenticated
 * certificate in, a response out. The server mounts them; the TLS layer has authenticated the
 * client's key, and these handlers judge the certificate itself. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pki/internal.h"

#define EST_PREFIX "/.well-known/est/"
#define EST_BODY_MAX (FWS_BASE64_LEN(FWS_PKI_CSR_MAX) * 2)

static const struct {
    const char *name;
    fws_est_op op;
} ops[] = {
    {"cacerts", FWS_EST_CACERTS},
    {"simpleenroll", FWS_EST_SIMPLEENROLL},
    {"simplereenroll", FWS_EST_SIMPLEREENROLL},
};

static const char *op_name(fws_est_op op)
{
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (ops[i].op == op)
            return ops[i].name;
    }
    return "unknown";
}

fws_err fws_est_parse_path(const char *path, fws_est_op *op, fws_pki_env *env)
{
    fws_pki_env e = 0;
    if (path == NULL || strncmp(path, EST_PREFIX, strlen(EST_PREFIX)) != 0)
        return FWS_ERR_NOT_FOUND;
    const char *rest = path + strlen(EST_PREFIX);
    const char *slash = strchr(rest, '/');
    if (slash != NULL) {
        char label[16];
        if ((size_t)(slash - rest) >= sizeof(label))
            return FWS_ERR_NOT_FOUND;
        snprintf(label, sizeof(label), "%.*s", (int)(slash - rest), rest);
        if (fws_pki_env_parse(label, &e) != FWS_OK)
            return FWS_ERR_NOT_FOUND;
        rest = slash + 1;
    }
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (strcmp(rest, ops[i].name) == 0) {
            *op = ops[i].op;
            *env = e;
            return FWS_OK;
        }
    }
    return FWS_ERR_NOT_FOUND;
}

void fws_est_response_free(fws_est_response *r)
{
    if (r == NULL)
        return;
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* A text/plain response carrying one line: why the request was refused. */
static fws_err respond_text(fws_est_response *out, int status, fws_err result, const char *msg)
{
    size_t n = strlen(msg);
    memset(out, 0, sizeof(*out));
    out->body = malloc(n + 2);
    if (out->body == NULL)
        return FWS_ERR_NOMEM;
    memcpy(out->body, msg, n);
    out->body[n] = '\n';
    out->body_len = n + 1;
    out->status = status;
    out->content_type = "text/plain; charset=utf-8";
    out->result = result;
    return FWS_OK;
}

/* base64 (64-character lines) of a certs-only PKCS#7. */
static fws_err respond_certs(fws_est_response *out, const uint8_t *const *certs, const size_t *lens,
                             size_t n)
{
    uint8_t *p7 = NULL;
    size_t p7_len = 0;
    fws_err err = fws_pki_certs_only(certs, lens, n, &p7, &p7_len);
    if (err != FWS_OK)
        return err;
    size_t b64 = FWS_BASE64_LEN(p7_len);
    char *flat = malloc(b64 + 1);
    uint8_t *body = malloc(b64 + b64 / 64 + 2);
    if (flat == NULL || body == NULL) {
        free(flat);
        free(body);
        free(p7);
        return FWS_ERR_NOMEM;
    }
    fws_base64_encode(p7, p7_len, flat);
    size_t k = 0;
    for (size_t i = 0; i < b64; i += 64) {
        size_t m = b64 - i < 64 ? b64 - i : 64;
        memcpy(body + k, flat + i, m);
        k += m;
        body[k++] = '\n';
    }
    free(flat);
    free(p7);
    memset(out, 0, sizeof(*out));
    out->status = 200;
    out->content_type = "application/pkcs7-mime; smime-type=certs-only";
    out->content_transfer_encoding = "base64";
    out->body = body;
    out->body_len = k;
    out->result = FWS_OK;
    return FWS_OK;
}

/* Strips whitespace and decodes a base64 request body. */
static fws_err decode_body(const uint8_t *body, size_t len, uint8_t **der, size_t *der_len)
{
    if (body == NULL || len == 0 || len > EST_BODY_MAX)
        return len > EST_BODY_MAX ? FWS_ERR_TOO_BIG : FWS_ERR_FORMAT;
    char *flat = malloc(len + 1);
    uint8_t *out = malloc(FWS_PKI_CSR_MAX);
    size_t n = 0;
    fws_err err = (flat && out) ? FWS_OK : FWS_ERR_NOMEM;
    for (size_t i = 0; err == FWS_OK && i < len; i++) {
        if (!isspace(body[i]))
            flat[n++] = (char)body[i];
    }
    if (err == FWS_OK)
        err = fws_base64_decode(flat, n, out, FWS_PKI_CSR_MAX, der_len);
    free(flat);
    if (err != FWS_OK) {
        free(out);
        return err;
    }
    *der = out;
    return FWS_OK;
}

static int status_for(fws_err err)
{
    switch (err) {
    case FWS_ERR_FORMAT:
    case FWS_ERR_TOO_BIG:
    case FWS_ERR_NOT_CANONICAL:
    case FWS_ERR_KEY_TYPE:
    case FWS_ERR_SIGNATURE:
    case FWS_ERR_LENGTH:
        return 400;
    case FWS_ERR_NOMEM:
    case FWS_ERR_IO:
    case FWS_ERR_CRYPTO:
        return 500;
    default:
        return 403;
    }
}

/* Issues an operational certificate for an authenticated device and stores it. */
static fws_err enroll(fws_pki *p, fws_pki_env env, const fws_pki_identity *who, const uint8_t *spki,
                      size_t spki_len, int64_t now, fws_pki_issued *iss, fws_errbuf *eb)
{
    fws_pki_device d;
    fws_pki_cert c;
    fws_err err = pki_store_device_get(p->store, who->device_id, &d, eb);
    pki_device_id dev = {d.id, d.serial, d.model};
    memset(&c, 0, sizeof(c));
    if (err == FWS_OK)
        err = pki_key_unique(p, spki, spki_len, d.id, c.spki_sha256, eb);
    if (err == FWS_OK)
        err = pki_issue_device(p, env, &dev, spki, spki_len,
                               p->operational_days ? p->operational_days : FWS_PKI_OPERATIONAL_DAYS,
                               now, iss, eb);
    if (err != FWS_OK)
        return err;
    memcpy(c.serial, iss->cert_serial, sizeof(c.serial));
    memcpy(c.device_id, d.id, sizeof(c.device_id));
    memcpy(c.sha256, iss->cert_sha256, sizeof(c.sha256));
    c.env = env;
    c.kind = FWS_CERT_OPERATIONAL;
    c.status = FWS_CERT_VALID;
    c.not_before = iss->not_before;
    c.not_after = iss->not_after;
    d.status = FWS_DEVICE_ACTIVE;
    d.updated_at = now;
    err = pki_store_begin(p->store, eb);
    if (err != FWS_OK)
        return err;
    err = pki_store_certs_supersede(p->store, d.id, FWS_CERT_OPERATIONAL, eb);
    if (err == FWS_OK)
        err = pki_store_cert_put(p->store, &c, iss->der, iss->der_len, eb);
    if (err == FWS_OK)
        err = pki_store_device_put(p->store, &d, eb);
    if (err == FWS_OK)
        err = pki_store_commit(p->store, eb);
    else
        pki_store_rollback(p->store);
    return err;
}

/* Checks the caller and the request; issues. Errors carry their reason in eb. */
static fws_err enroll_request(fws_pki *p, fws_pki_env env, fws_est_op op, const uint8_t *body,
                              size_t body_len, const uint8_t *const *chain, const size_t *lens,
                              size_t chain_n, int64_t now, fws_pki_issued *iss, fws_errbuf *eb)
{
    fws_pki_identity who;
    uint8_t *csr = NULL, *spki = NULL;
    size_t csr_len = 0, spki_len = 0;
    if (chain_n == 0 || chain == NULL || chain[0] == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "%s needs a client certificate", op_name(op));
    fws_err err = fws_pki_check_identity(p, env, chain[0], lens[0], now, &who, eb);
    if (err == FWS_OK && op == FWS_EST_SIMPLEENROLL && who.kind != FWS_CERT_FACTORY)
        err = fws_errf(eb, FWS_ERR_STATE,
                       "simpleenroll needs the factory identity; renew with simplereenroll");
    if (err == FWS_OK && op == FWS_EST_SIMPLEREENROLL &&
        (who.kind != FWS_CERT_OPERATIONAL || who.cert_status != FWS_CERT_VALID))
        err = fws_errf(eb, FWS_ERR_STATE,
                       "simplereenroll needs the device's current operational certificate");
    if (err == FWS_OK) {
        err = decode_body(body, body_len, &csr, &csr_len);
        if (err != FWS_OK)
            err = fws_errf(eb, err, "the request body is not a base64 PKCS#10 request");
    }
    if (err == FWS_OK)
        err = fws_pki_csr_check(csr, csr_len, &spki, &spki_len, eb);
    if (err == FWS_OK)
        err = enroll(p, env, &who, spki, spki_len, now, iss, eb);
    free(csr);
    free(spki);
    return err;
}

static void refusal_subject(const uint8_t *const *chain, const size_t *lens, size_t n, char *out,
                            size_t cap)
{
    snprintf(out, cap, "(no client certificate)");
    if (n > 0 && chain != NULL && chain[0] != NULL) {
        char digest[65];
        pki_sha256_hex(chain[0], lens[0], digest);
        snprintf(out, cap, "certificate sha256 %s", digest);
    }
}

fws_err fws_est_handle(fws_pki *p, fws_pki_env env, fws_est_op op, const uint8_t *unverified_body,
                       size_t body_len, const uint8_t *const *client_chain,
                       const size_t *client_chain_lens, size_t chain_n, int64_t now,
                       fws_est_response *out)
{
    fws_errbuf eb = {{0}};
    char subject[128];
    if (p == NULL || out == NULL)
        return FWS_ERR_ARG;
    if (fws_pki_env_name(env) == NULL || !p->ca[env].present)
        return respond_text(out, 404, FWS_ERR_NOT_FOUND, "no CA for this environment");
    pki_env_ca *ca = &p->ca[env];
    if (op == FWS_EST_CACERTS) {
        const uint8_t *certs[2] = {ca->inter_der, ca->root_der};
        size_t lens[2] = {ca->inter_len, ca->root_len};
        return respond_certs(out, certs, lens, 2);
    }
    if (op != FWS_EST_SIMPLEENROLL && op != FWS_EST_SIMPLEREENROLL)
        return respond_text(out, 404, FWS_ERR_NOT_FOUND, "unknown EST operation");
    if (!ca->has_issuer)
        return respond_text(out, 500, FWS_ERR_STATE,
                            "this EST service cannot issue: the issuing key is not loaded");
    fws_pki_issued *iss = malloc(sizeof(*iss));
    if (iss == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = enroll_request(p, env, op, unverified_body, body_len, client_chain,
                                 client_chain_lens, chain_n, now, iss, &eb);
    fws_err rc;
    if (err == FWS_OK) {
        const uint8_t *certs[1] = {iss->der};
        size_t lens[1] = {iss->der_len};
        rc = respond_certs(out, certs, lens, 1);
    } else {
        refusal_subject(client_chain, client_chain_lens, chain_n, subject, sizeof(subject));
        pki_refusal(p, op_name(op), env, subject, eb.msg[0] ? eb.msg : fws_strerror(err));
        int status = (chain_n == 0 || client_chain == NULL) ? 401 : status_for(err);
        rc = respond_text(out, status, err, eb.msg[0] ? eb.msg : fws_strerror(err));
    }
    free(iss);
    return rc;
}
