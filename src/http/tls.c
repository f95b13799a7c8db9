/* TLS for the HTTP client on OpenSSL: one SSL_CTX per client, TLS 1.2 at least, the server
 * verified by CA and name (or IP address), SPKI pins, client certificates, and a socket BIO
 * that sends with MSG_NOSIGNAL so a peer hanging up never raises SIGPIPE. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "fwseal/core.h"
#include "http/internal.h"

struct http_tls {
    SSL_CTX *ctx;
    BIO_METHOD *bio;
    int verify;
    const char *pins; /* the client's copy, or NULL */
};

/* ---- pins ------------------------------------------------------------------------------- */

static int b64_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
}

fws_err http_pins_check(const char *pins, size_t *count, fws_errbuf *eb)
{
    size_t n = 0;
    const char *p = pins;
    for (;;) {
        if (strncmp(p, "sha256//", 8) != 0)
            return fws_errf(eb, FWS_ERR_ARG, "pin: expected sha256//BASE64");
        p += 8;
        for (size_t i = 0; i < HTTP_PIN_B64_LEN; i++) {
            if (!b64_byte((unsigned char)p[i]))
                return fws_errf(eb, FWS_ERR_ARG, "pin: not 44 base64 characters");
        }
        p += HTTP_PIN_B64_LEN;
        if (++n > HTTP_PINS_MAX)
            return fws_errf(eb, FWS_ERR_ARG, "pin: more than %d pins", HTTP_PINS_MAX);
        if (*p == '\0')
            break;
        if (*p++ != ';')
            return fws_errf(eb, FWS_ERR_ARG, "pin: pins are separated by ';'");
    }
    *count = n;
    return FWS_OK;
}

int http_pins_match(const char *pins, const char *spki_b64)
{
    int match = 0;
    for (const char *p = pins; *p != '\0';) {
        match |= fws_ct_eq(p + 8, spki_b64, HTTP_PIN_B64_LEN);
        p += 8 + HTTP_PIN_B64_LEN;
        if (*p == ';')
            p++;
    }
    return match;
}

static int peer_pinned(SSL *ssl, const char *pins)
{
    unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    char b64[HTTP_PIN_B64_LEN + 1];
    X509 *peer = SSL_get0_peer_certificate(ssl);
    EVP_PKEY *key = peer ? X509_get0_pubkey(peer) : NULL;
    int n = key ? i2d_PUBKEY(key, &der) : -1;
    int ok = n > 0 && EVP_Digest(der, (size_t)n, md, &md_len, EVP_sha256(), NULL) == 1 &&
             md_len == 32 && EVP_EncodeBlock((unsigned char *)b64, md, 32) == HTTP_PIN_B64_LEN;
    OPENSSL_free(der);
    return ok && http_pins_match(pins, b64);
}

/* ---- a socket BIO without SIGPIPE ---------------------------------------------------------- */

static int bio_fd(BIO *b)
{
    return (int)(intptr_t)BIO_get_data(b);
}

static int bio_write(BIO *b, const char *p, int n)
{
    BIO_clear_retry_flags(b);
    ssize_t w = send(bio_fd(b), p, (size_t)n, MSG_NOSIGNAL);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_write(b);
    return (int)w;
}

static int bio_read(BIO *b, char *p, int n)
{
    BIO_clear_retry_flags(b);
    ssize_t r = recv(bio_fd(b), p, (size_t)n, 0);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_read(b);
    return (int)r;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *bio_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "fwseal socket");
    if (m != NULL &&
        (BIO_meth_set_write(m, bio_write) != 1 || BIO_meth_set_read(m, bio_read) != 1 ||
         BIO_meth_set_ctrl(m, bio_ctrl) != 1 || BIO_meth_set_create(m, bio_create) != 1)) {
        BIO_meth_free(m);
        m = NULL;
    }
    return m;
}

/* ---- the context ------------------------------------------------------------------------ */

static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unknown error";
}

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
    const char *pass = u;
    (void)rwflag;
    size_t n = pass ? strlen(pass) : 0;
    if (pass == NULL || n > (size_t)size)
        return -1;
    memcpy(buf, pass, n);
    return (int)n;
}

static fws_err load_client_cert(SSL_CTX *ctx, const fws_http_opts *o, const char *key_pass,
                                fws_errbuf *eb)
{
    const char *key_file = o->key_file ? o->key_file : o->cert_file;
    if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1)
        return fws_errf(eb, FWS_ERR_IO, "client certificate %s: %s", o->cert_file, ssl_reason());
    BIO *b = BIO_new_file(key_file, "r");
    EVP_PKEY *key = b ? PEM_read_bio_PrivateKey(b, NULL, pass_cb, (void *)key_pass) : NULL;
    BIO_free(b);
    if (key == NULL && key_pass != NULL)
        return fws_errf(eb, FWS_ERR_PASSPHRASE,
                        "client key %s: cannot decrypt (%s): wrong "
                        "passphrase?",
                        key_file, ssl_reason());
    if (key == NULL)
        return fws_errf(eb, FWS_ERR_IO, "client key %s: %s", key_file, ssl_reason());
    int ok = SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
    EVP_PKEY_free(key);
    if (!ok)
        return fws_errf(eb, FWS_ERR_IO, "client key %s: does not match the certificate", key_file);
    return FWS_OK;
}

static fws_err setup_ctx(http_tls *t, const fws_http_opts *o, const char *key_pass, fws_errbuf *eb)
{
    SSL_CTX *ctx = t->ctx;
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
        return fws_errf(eb, FWS_ERR_CRYPTO, "TLS: %s", ssl_reason());
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(ctx, t->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (t->verify && o->ca_file != NULL &&
        SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1)
        return fws_errf(eb, FWS_ERR_IO, "CA file %s: %s", o->ca_file, ssl_reason());
    if (t->verify && o->ca_file == NULL && SSL_CTX_set_default_verify_paths(ctx) != 1)
        return fws_errf(eb, FWS_ERR_IO, "TLS: default CA paths: %s", ssl_reason());
    if (o->cert_file != NULL)
        return load_client_cert(ctx, o, key_pass, eb);
    return FWS_OK;
}

fws_err http_tls_new(const fws_http_opts *o, const char *key_pass, http_tls **out, fws_errbuf *eb)
{
    http_tls *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return FWS_ERR_NOMEM;
    t->verify = !o->no_verify;
    t->pins = o->pin;
    t->ctx = SSL_CTX_new(TLS_client_method());
    t->bio = bio_method();
    fws_err err = t->ctx && t->bio ? setup_ctx(t, o, key_pass, eb)
                                   : fws_errf(eb, FWS_ERR_CRYPTO, "TLS: %s", ssl_reason());
    ERR_clear_error();
    if (err != FWS_OK) {
        http_tls_free(t);
        return err;
    }
    *out = t;
    return FWS_OK;
}

void http_tls_free(http_tls *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    BIO_meth_free(t->bio);
    free(t);
}

/* ---- handshake, reads, writes ------------------------------------------------------------- */

/* Waits as SSL_get_error asks after a call returned r; an error for anything but a retry. */
static fws_err ssl_wait(http_conn *c, int r, http_timer *t, const char *what, const char *doing,
                        fws_errbuf *eb)
{
    int hit = 0, e = SSL_get_error(c->ssl, r), saved = errno;
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return http_timer_wait(t, c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, -1, &hit,
                               what, eb);
    fws_err err;
    if (e == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0)
        err = fws_errf(eb, FWS_ERR_IO, "%s: %s: %s", what, doing,
                       saved ? strerror(saved) : "connection closed");
    else
        err = fws_errf(eb, FWS_ERR_IO, "%s: %s: %s", what, doing, ssl_reason());
    ERR_clear_error();
    return err;
}

static fws_err handshake_failed(http_conn *c, const char *what, fws_errbuf *eb)
{
    long v = SSL_get_verify_result(c->ssl);
    if (v == X509_V_OK)
        return FWS_OK;
    ERR_clear_error();
    return fws_errf(eb, FWS_ERR_IO, "%s: TLS handshake: certificate verify failed (%s)", what,
                    X509_verify_cert_error_string(v));
}

static fws_err setup_ssl(http_tls *tls, SSL *ssl, int fd, const http_url *u, fws_errbuf *eb)
{
    BIO *b = BIO_new(tls->bio);
    if (b == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "TLS: %s", ssl_reason());
    BIO_set_data(b, (void *)(intptr_t)fd);
    SSL_set_bio(ssl, b, b);
    if (!u->ip && SSL_set_tlsext_host_name(ssl, u->host) != 1)
        return fws_errf(eb, FWS_ERR_ARG, "TLS: bad server name %s", u->host);
    if (tls->verify && !u->ip && SSL_set1_host(ssl, u->host) != 1)
        return fws_errf(eb, FWS_ERR_CRYPTO, "TLS: %s", ssl_reason());
    if (tls->verify && u->ip && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), u->host) != 1)
        return fws_errf(eb, FWS_ERR_CRYPTO, "TLS: bad IP address %s", u->host);
    return FWS_OK;
}

fws_err http_tls_connect(http_tls *tls, http_conn *c, const http_url *u, http_timer *t,
                         const char *what, fws_errbuf *eb)
{
    SSL *ssl = SSL_new(tls->ctx);
    if (ssl == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "TLS: %s", ssl_reason());
    c->ssl = ssl;
    fws_err err = setup_ssl(tls, ssl, c->fd, u, eb);
    while (err == FWS_OK) {
        int r = SSL_connect(ssl);
        if (r == 1)
            break;
        int e = SSL_get_error(ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE &&
            (err = handshake_failed(c, what, eb)) != FWS_OK)
            break;
        err = ssl_wait(c, r, t, what, "TLS handshake", eb);
    }
    if (err == FWS_OK && tls->pins != NULL && !peer_pinned(ssl, tls->pins))
        err = fws_errf(eb, FWS_ERR_IO, "%s: server public key does not match pinned public key",
                       what);
    ERR_clear_error();
    return err;
}

fws_err http_tls_read(http_conn *c, uint8_t *buf, size_t cap, size_t *got, http_timer *t,
                      const char *what, fws_errbuf *eb)
{
    int n = cap > INT32_MAX ? INT32_MAX : (int)cap;
    for (;;) {
        errno = 0;
        int r = SSL_read(c->ssl, buf, n);
        if (r > 0) {
            http_timer_progress(t, (size_t)r);
            *got = (size_t)r;
            return FWS_OK;
        }
        if (SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN) {
            *got = 0;
            return FWS_OK;
        }
        fws_err err = ssl_wait(c, r, t, what, "TLS", eb);
        if (err != FWS_OK)
            return err;
    }
}

fws_err http_tls_write(http_conn *c, const uint8_t *p, size_t n, http_timer *t, const char *what,
                       fws_errbuf *eb)
{
    while (n > 0) {
        int k = n > INT32_MAX ? INT32_MAX : (int)n;
        errno = 0;
        int w = SSL_write(c->ssl, p, k);
        if (w > 0) {
            http_timer_progress(t, (size_t)w);
            p += w;
            n -= (size_t)w;
            continue;
        }
        fws_err err = ssl_wait(c, w, t, what, "TLS", eb);
        if (err != FWS_OK)
            return err;
    }
    return FWS_OK;
}

void http_tls_close(http_conn *c)
{
    SSL_free(c->ssl); /* no close_notify: the connection is dropped either way */
    c->ssl = NULL;
    ERR_clear_error();
}
