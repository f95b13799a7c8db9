/* The EST client end to end: a TLS server on loopback (OpenSSL, in a thread) that mounts the
 * library's EST handlers, and fws_est_request over fwseal's HTTP client with the device's
 * certificate and the server's pinned key. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "fwseal/pki.h"
#include "fwseal/util.h"

typedef struct server {
    int fd, port;
    SSL_CTX *ctx;
    fws_pki *pki;
    pthread_t thread;
    char pin[FWS_PKI_PIN_LEN];
} server;

typedef struct world {
    char dir[64], path[256];
    fws_pki *pki;
    fws_passphrase pp;
    server srv;
    char factory_crt[300], factory_key[300];
} world;

/* ---- a minimal HTTPS server for the handlers ---- */

static EVP_PKEY *server_cert(X509 **out)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    assert_non_null(pkey);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"est.test", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, pkey);
    assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
    *out = x;
    return pkey;
}

static int accept_any(int ok, X509_STORE_CTX *ctx)
{
    (void)ok;
    (void)ctx;
    return 1; /* the EST handler judges the certificate */
}

static void send_response(SSL *ssl, const fws_est_response *r)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Type: %s\r\n%s%s%sContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     r->status, r->content_type,
                     r->content_transfer_encoding ? "Content-Transfer-Encoding: " : "",
                     r->content_transfer_encoding ? r->content_transfer_encoding : "",
                     r->content_transfer_encoding ? "\r\n" : "", r->body_len);
    SSL_write(ssl, head, n);
    SSL_write(ssl, r->body, (int)r->body_len);
}

static void serve_one(server *s, SSL *ssl)
{
    char req[65536];
    size_t len = 0;
    char *end = NULL;
    while (len < sizeof(req) - 1) {
        int n = SSL_read(ssl, req + len, (int)(sizeof(req) - 1 - len));
        if (n <= 0)
            return;
        len += (size_t)n;
        req[len] = '\0';
        end = strstr(req, "\r\n\r\n");
        if (end == NULL)
            continue;
        const char *cl = strstr(req, "Content-Length: ");
        size_t want = cl ? strtoul(cl + 16, NULL, 10) : 0;
        if (len >= (size_t)(end + 4 - req) + want)
            break;
    }
    char method[8], path[256];
    if (end == NULL || sscanf(req, "%7s %255s", method, path) != 2)
        return;
    fws_est_op op;
    fws_pki_env env;
    fws_est_response r;
    uint8_t der[FWS_PKI_CERT_MAX];
    size_t der_len = 0;
    X509 *peer = SSL_get1_peer_certificate(ssl);
    if (peer != NULL) {
        unsigned char *p = der;
        der_len = (size_t)i2d_X509(peer, &p);
        X509_free(peer);
    }
    const uint8_t *chain[1] = {der};
    if (fws_est_parse_path(path, &op, &env) != FWS_OK)
        return;
    const uint8_t *body = (const uint8_t *)end + 4;
    if (fws_est_handle(s->pki, env ? env : FWS_ENV_DEV, op, body, len - (size_t)(end + 4 - req),
                       chain, &der_len, der_len ? 1 : 0, (int64_t)time(NULL), &r) != FWS_OK)
        return;
    send_response(ssl, &r);
    fws_est_response_free(&r);
}

static void *serve(void *arg)
{
    server *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        SSL *ssl = SSL_new(s->ctx);
        SSL_set_fd(ssl, c);
        if (SSL_accept(ssl) == 1)
            serve_one(s, ssl);
        SSL_shutdown(ssl);
        SSL_free(ssl);
        close(c);
    }
}

static void server_start(server *s, fws_pki *pki)
{
    X509 *x = NULL;
    EVP_PKEY *k = server_cert(&x);
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    uint8_t der[2048];
    unsigned char *p = der;
    int der_len = i2d_X509(x, &p);
    assert_int_equal(fws_pki_pin_of_cert(der, (size_t)der_len, s->pin), FWS_OK);
    s->pki = pki;
    s->ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(s->ctx, TLS1_3_VERSION);
    assert_int_equal(SSL_CTX_use_certificate(s->ctx, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, k), 1);
    SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, accept_any);
    X509_free(x);
    EVP_PKEY_free(k);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 8), 0);
    getsockname(s->fd, (struct sockaddr *)&a, &alen);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->thread, NULL);
    SSL_CTX_free(s->ctx);
}

/* ---- the tests ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static fws_err borrowed_sign(void *impl, const uint8_t *msg, size_t len, uint8_t *sig, size_t cap,
                             size_t *sig_len)
{
    return fws_key_sign(impl, msg, len, sig, cap, sig_len);
}

static fws_err borrowed_public(void *impl, fws_key **pub)
{
    return fws_key_public_dup(impl, pub);
}

/* A new P-256 key saved (encrypted) at path, and a CSR made with it. */
static fws_key *key_and_csr(world *w, const char *path, uint8_t **csr, size_t *csr_len)
{
    fws_key *k = NULL;
    fws_signer s;
    assert_int_equal(fws_key_generate(FWS_KEY_P256, &k), FWS_OK);
    assert_int_equal(fws_key_save_private(k, path, &w->pp, 1, NULL), FWS_OK);
    memset(&s, 0, sizeof(s));
    s.type = FWS_KEY_P256;
    s.sign = borrowed_sign;
    s.public_key = borrowed_public;
    s.impl = k;
    assert_int_equal(fws_pki_csr_create(&s, "device", NULL, csr, csr_len, NULL), FWS_OK);
    return k;
}

static void write_pem(const char *path, const uint8_t *der, size_t len)
{
    X509 *x = NULL;
    const unsigned char *p = der;
    x = d2i_X509(NULL, &p, (long)len);
    assert_non_null(x);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
    X509_free(x);
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof(*w));
    fws_pki_ca_opts o;
    fws_pki_issued iss;
    fws_pki_bundle_report rep;
    uint8_t *csr = NULL;
    size_t csr_len = 0;
    snprintf(w->dir, sizeof(w->dir), "/tmp/fwseal-pki-estc.XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    snprintf(w->pp.text, sizeof(w->pp.text), "unit test");
    w->pp.len = strlen(w->pp.text);
    memset(&o, 0, sizeof(o));
    o.pp = &w->pp;
    o.env = FWS_ENV_DEV;
    assert_int_equal(fws_pki_ca_init(w->dir, &o, NULL, NULL), FWS_OK);
    o.env = FWS_ENV_PROD;
    assert_int_equal(fws_pki_ca_init(w->dir, &o, NULL, NULL), FWS_OK);
    assert_int_equal(fws_pki_open(w->dir, &w->pki, NULL), FWS_OK);
    assert_int_equal(fws_pki_load_issuer(w->pki, FWS_ENV_DEV, &w->pp, NULL), FWS_OK);
    assert_int_equal(fws_pki_load_issuer(w->pki, FWS_ENV_PROD, &w->pp, NULL), FWS_OK);
    assert_int_equal(fws_pki_model_add(w->pki, "hub-v2", NULL), FWS_OK);
    snprintf(w->factory_key, sizeof(w->factory_key), "%s/factory.key", w->dir);
    snprintf(w->factory_crt, sizeof(w->factory_crt), "%s/bundle/device.crt", w->dir);
    fws_key *k = key_and_csr(w, w->factory_key, &csr, &csr_len);
    fws_pki_provision_req r = {.env = FWS_ENV_DEV,
                               .serial = "SN-7",
                               .model = "hub-v2",
                               .batch = "L1",
                               .unverified_csr = csr,
                               .csr_len = csr_len};
    assert_int_equal(fws_pki_provision(w->pki, &r, &iss, NULL), FWS_OK);
    snprintf(w->path, sizeof(w->path), "%s/bundle", w->dir);
    assert_int_equal(
        fws_pki_write_bundle(w->pki, FWS_ENV_DEV, &iss, NULL, NULL, w->path, 1, &rep, NULL),
        FWS_OK);
    fws_key_free(k);
    free(csr);
    server_start(&w->srv, w->pki);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    server_stop(&w->srv);
    fws_pki_close(w->pki);
    nftw(w->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(w);
    return 0;
}

static fws_est_client client(world *w, const char *crt, const char *key, char *url, size_t cap)
{
    fws_est_client c;
    memset(&c, 0, sizeof(c));
    snprintf(url, cap, "https://127.0.0.1:%d", w->srv.port);
    c.server = url;
    c.cert = crt;
    c.key = key;
    c.pp = &w->pp;
    c.pin = w->srv.pin;
    c.timeout_ms = 20000;
    return c;
}

static void free_certs(uint8_t **certs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(certs[i]);
}

static void test_cacerts_and_pin(void **state)
{
    world *w = *state;
    char url[64];
    uint8_t *certs[4];
    size_t lens[4], n = 0;
    fws_errbuf eb = {{0}};
    fws_est_client c = client(w, NULL, NULL, url, sizeof(url));
    if (fws_est_request(&c, FWS_EST_CACERTS, NULL, 0, certs, lens, 4, &n, &eb) != FWS_OK)
        fail_msg("cacerts: %s", eb.msg);
    assert_int_equal(n, 2);
    free_certs(certs, n);
    /* Another pin: the connection is refused before any request is made. */
    c.pin = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    assert_int_equal(fws_est_request(&c, FWS_EST_CACERTS, NULL, 0, certs, lens, 4, &n, NULL),
                     FWS_ERR_IO);
    /* Neither a pin nor a CA: refused outright. */
    c.pin = NULL;
    assert_int_equal(fws_est_request(&c, FWS_EST_CACERTS, NULL, 0, certs, lens, 4, &n, NULL),
                     FWS_ERR_ARG);
}

static void test_enroll_reenroll(void **state)
{
    world *w = *state;
    char url[64], op_key[300], op_crt[300];
    uint8_t *certs[4], *csr = NULL;
    size_t lens[4], n = 0, csr_len = 0;
    fws_errbuf eb = {{0}};
    fws_pki_identity id;
    snprintf(op_key, sizeof(op_key), "%s/op.key", w->dir);
    snprintf(op_crt, sizeof(op_crt), "%s/op.crt", w->dir);
    fws_key *k = key_and_csr(w, op_key, &csr, &csr_len);
    fws_est_client c = client(w, w->factory_crt, w->factory_key, url, sizeof(url));
    if (fws_est_request(&c, FWS_EST_SIMPLEENROLL, csr, csr_len, certs, lens, 4, &n, &eb) != FWS_OK)
        fail_msg("simpleenroll: %s", eb.msg);
    assert_int_equal(n, 1);
    assert_int_equal(fws_pki_check_identity(w->pki, FWS_ENV_DEV, certs[0], lens[0],
                                            (int64_t)time(NULL), &id, NULL),
                     FWS_OK);
    assert_int_equal(id.kind, FWS_CERT_OPERATIONAL);
    write_pem(op_crt, certs[0], lens[0]);
    free_certs(certs, n);
    fws_key_free(k);
    free(csr);

    /* Renewal: TLS with the operational certificate and its key, a CSR for a new key. */
    char op_key2[300];
    snprintf(op_key2, sizeof(op_key2), "%s/op2.key", w->dir);
    k = key_and_csr(w, op_key2, &csr, &csr_len);
    c = client(w, op_crt, op_key, url, sizeof(url));
    if (fws_est_request(&c, FWS_EST_SIMPLEREENROLL, csr, csr_len, certs, lens, 4, &n, &eb) !=
        FWS_OK)
        fail_msg("simplereenroll: %s", eb.msg);
    assert_int_equal(n, 1);
    assert_int_equal(fws_pki_check_identity(w->pki, FWS_ENV_DEV, certs[0], lens[0],
                                            (int64_t)time(NULL), &id, NULL),
                     FWS_OK);
    free_certs(certs, n);
    /* The replaced certificate cannot renew again. */
    fws_errbuf e2 = {{0}};
    assert_int_equal(
        fws_est_request(&c, FWS_EST_SIMPLEREENROLL, csr, csr_len, certs, lens, 4, &n, &e2),
        FWS_ERR_STATE);
    assert_non_null(strstr(e2.msg, "current operational"));
    fws_key_free(k);
    free(csr);
}

static void test_wrong_environment(void **state)
{
    world *w = *state;
    char url[64];
    uint8_t *certs[4], *csr = NULL;
    size_t lens[4], n = 0, csr_len = 0;
    fws_errbuf eb = {{0}};
    char key[300];
    snprintf(key, sizeof(key), "%s/x.key", w->dir);
    fws_key *k = key_and_csr(w, key, &csr, &csr_len);
    fws_est_client c = client(w, w->factory_crt, w->factory_key, url, sizeof(url));
    c.label = "prod";
    assert_int_equal(
        fws_est_request(&c, FWS_EST_SIMPLEENROLL, csr, csr_len, certs, lens, 4, &n, &eb),
        FWS_ERR_STATE);
    assert_non_null(strstr(eb.msg, "HTTP 403"));
    assert_non_null(strstr(eb.msg, "issued by the dev CA, not the prod CA"));
    fws_key_free(k);
    free(csr);
}

int main(void)
{
    /* The test's TLS server may write to a client that already hung up: an error, not a
     * signal that ends the test. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cacerts_and_pin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enroll_reenroll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_environment, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
