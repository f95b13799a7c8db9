/* The EST client side (RFC 7030) over fwseal's HTTP client: mutual TLS with the device's
 * certificate, the server pinned by its public key, capped responses. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include "fwseal/http.h"
#include "pki/internal.h"

static const char *op_path(fws_est_op op)
{
    return op == FWS_EST_CACERTS        ? "cacerts"
           : op == FWS_EST_SIMPLEENROLL ? "simpleenroll"
                                        : "simplereenroll";
}

fws_err fws_pki_pin_of_cert(const uint8_t *der, size_t len, char pin[FWS_PKI_PIN_LEN])
{
    X509 *x = NULL;
    unsigned char *spki = NULL;
    uint8_t digest[FWS_SHA256_LEN];
    fws_err err = pki_x509_parse(der, len, &x);
    if (err != FWS_OK)
        return err;
    int n = i2d_PUBKEY(X509_get0_pubkey(x), &spki);
    X509_free(x);
    if (n <= 0)
        return FWS_ERR_FORMAT;
    fws_sha256(spki, (size_t)n, digest);
    OPENSSL_free(spki);
    memcpy(pin, "sha256//", 8);
    fws_base64_encode(digest, sizeof(digest), pin + 8);
    return FWS_OK;
}

/* Decodes a base64 certs-only PKCS#7 into DER certificates. */
static fws_err parse_certs(const fws_http_collect *b, uint8_t **certs, size_t *lens, size_t cap,
                           size_t *n, fws_errbuf *eb)
{
    char *flat = malloc(b->len + 1);
    uint8_t *der = malloc(b->len + 1);
    size_t k = 0, der_len = 0, got = 0;
    PKCS7 *p7 = NULL;
    fws_err err = (flat && der) ? FWS_OK : FWS_ERR_NOMEM;
    for (size_t i = 0; err == FWS_OK && i < b->len; i++) {
        if (!isspace(b->data[i]))
            flat[k++] = (char)b->data[i];
    }
    if (err == FWS_OK && fws_base64_decode(flat, k, der, b->len + 1, &der_len) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_FORMAT, "EST response: not base64");
    const unsigned char *p = der;
    if (err == FWS_OK && ((p7 = d2i_PKCS7(NULL, &p, (long)der_len)) == NULL ||
                          OBJ_obj2nid(p7->type) != NID_pkcs7_signed || p7->d.sign == NULL ||
                          p7->d.sign->cert == NULL))
        err = fws_errf(eb, FWS_ERR_FORMAT, "EST response: not a certs-only PKCS#7");
    for (int i = 0; err == FWS_OK && i < sk_X509_num(p7->d.sign->cert); i++) {
        unsigned char *one = NULL;
        int m = i2d_X509(sk_X509_value(p7->d.sign->cert, i), &one);
        if (got == cap || m <= 0) {
            OPENSSL_free(one);
            err = fws_errf(eb, FWS_ERR_FORMAT, "EST response: more than %zu certificates", cap);
            break;
        }
        certs[got] = malloc((size_t)m);
        if (certs[got] == NULL) {
            OPENSSL_free(one);
            err = FWS_ERR_NOMEM;
            break;
        }
        memcpy(certs[got], one, (size_t)m);
        lens[got++] = (size_t)m;
        OPENSSL_free(one);
    }
    if (err != FWS_OK) {
        while (got > 0)
            free(certs[--got]);
    }
    *n = got;
    PKCS7_free(p7);
    free(flat);
    free(der);
    ERR_clear_error();
    return err;
}

/* The client: the device's certificate, and the server verified by its CA or by the pin
 * alone. */
static fws_err make_client(const fws_est_client *cl, fws_http_client **out, fws_errbuf *eb)
{
    unsigned timeout = cl->timeout_ms ? cl->timeout_ms : 30000;
    fws_http_opts o = {.connect_timeout_ms = timeout,
                       .timeout_ms = timeout,
                       .ca_file = cl->ca_file,
                       .no_verify = cl->ca_file == NULL, /* only the pin authenticates it */
                       .pin = cl->pin,
                       .cert_file = cl->cert,
                       .key_file = cl->cert ? cl->key : NULL,
                       .key_pass = cl->cert && cl->pp ? cl->pp->text : NULL};
    return fws_http_client_new(&o, out, eb);
}

static fws_err refused(int status, const fws_http_collect *b, fws_errbuf *eb)
{
    size_t n = 0;
    while (n < b->len && n < 300 && b->data[n] != '\n' && b->data[n] >= 0x20 && b->data[n] < 0x7f)
        n++;
    return fws_errf(eb, status == 400 ? FWS_ERR_FORMAT : FWS_ERR_STATE,
                    "the EST server refused (HTTP %d): %.*s", status, (int)n,
                    (const char *)b->data);
}

static fws_err perform(fws_http_client *h, const fws_http_request *req, fws_http_collect *b,
                       fws_errbuf *eb)
{
    fws_errbuf local = {""};
    fws_err err = fws_http_do(h, req, NULL, &local);
    if (err == FWS_ERR_TOO_BIG)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "EST response over %u bytes", FWS_EST_RESPONSE_MAX);
    if (err != FWS_OK)
        return fws_errf(eb, FWS_ERR_IO, "%s", local.msg);
    if (b->status != 200)
        return refused(b->status, b, eb);
    return FWS_OK;
}

fws_err fws_est_request(const fws_est_client *cl, fws_est_op op, const uint8_t *csr, size_t csr_len,
                        uint8_t **certs, size_t *lens, size_t cap, size_t *n, fws_errbuf *eb)
{
    static const char *const post_headers[] = {"Content-Type: application/pkcs10",
                                               "Content-Transfer-Encoding: base64", NULL};
    char url[2048];
    fws_http_collect b = {.cap = FWS_EST_RESPONSE_MAX, .keep_errors = 1}; /* errors: the message */
    char *req = NULL;
    fws_http_client *h = NULL;
    fws_err err = FWS_OK;
    if (cl == NULL || cl->server == NULL || (cl->pin == NULL && cl->ca_file == NULL))
        return fws_errf(eb, FWS_ERR_ARG, "EST: the server must be pinned or verified");
    if (op != FWS_EST_CACERTS && (cl->cert == NULL || cl->key == NULL || csr == NULL ||
                                  csr_len == 0 || csr_len > FWS_PKI_CSR_MAX))
        return fws_errf(eb, FWS_ERR_ARG, "EST: enrollment needs a certificate, a key and a CSR");
    int m = snprintf(url, sizeof(url), "%s/.well-known/est/%s%s%s", cl->server,
                     cl->label ? cl->label : "", cl->label ? "/" : "", op_path(op));
    if (m < 0 || (size_t)m >= sizeof(url))
        return fws_errf(eb, FWS_ERR_TOO_BIG, "EST: server URL too long");
    fws_http_request r = {.url = url,
                          .body_max = FWS_EST_RESPONSE_MAX,
                          .error_body_max = FWS_EST_RESPONSE_MAX,
                          .on_head = fws_http_collect_head,
                          .sink = fws_http_collect_sink,
                          .ctx = &b};
    b.data = malloc(FWS_EST_RESPONSE_MAX);
    if (b.data == NULL) {
        err = FWS_ERR_NOMEM;
        goto out;
    }
    if ((err = make_client(cl, &h, eb)) != FWS_OK)
        goto out;
    if (op != FWS_EST_CACERTS) {
        req = malloc(FWS_BASE64_LEN(csr_len) + 1);
        if (req == NULL) {
            err = FWS_ERR_NOMEM;
            goto out;
        }
        r.body = (const uint8_t *)req;
        r.body_len = fws_base64_encode(csr, csr_len, req);
        r.headers = post_headers;
    }
    err = perform(h, &r, &b, eb);
    if (err == FWS_OK)
        err = parse_certs(&b, certs, lens, cap, n, eb);
out:
    fws_http_client_free(h);
    free(req);
    free(b.data);
    return err;
}
