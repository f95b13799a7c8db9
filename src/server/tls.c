/* TLS: the server's certificate, client certificates from the environment's device CA checked
 * against its CRL (reloaded when the file changes), and what a client certificate says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "server/internal.h"

#define DEVICE_URN "urn:fwseal:device:"

static fws_err ssl_fail(fws_errbuf *eb, const char *what, const char *path)
{
    unsigned long e = ERR_get_error();
    char detail[256] = "";
    if (e != 0)
        ERR_error_string_n(e, detail, sizeof(detail));
    ERR_clear_error();
    return fws_errf(eb, FWS_ERR_FORMAT, "%s: %s%s%s", path, what, detail[0] ? ": " : "", detail);
}

static fws_err add_certs(X509_STORE *st, const char *path, fws_errbuf *eb)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "%s: cannot open (run fwseal ca init)", path);
    int n = 0;
    X509 *x;
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        X509_STORE_add_cert(st, x);
        X509_free(x);
        n++;
    }
    ERR_clear_error();
    fclose(f);
    if (n == 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "%s: no certificate", path);
    return FWS_OK;
}

static fws_err add_crl(X509_STORE *st, const char *path, fws_errbuf *eb)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "%s: cannot open the device CA's CRL", path);
    X509_CRL *crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
    fclose(f);
    if (crl == NULL)
        return ssl_fail(eb, "not a PEM CRL", path);
    X509_STORE_add_crl(st, crl);
    X509_CRL_free(crl);
    return FWS_OK;
}

/* Client certificates are asked for and verified, but the handshake goes on whatever the
 * result: public and operator routes work without one, and device routes answer a precise
 * 401/403 from SSL_get_verify_result. */
static int verify_keep_going(int ok, X509_STORE_CTX *ctx)
{
    (void)ok;
    (void)ctx;
    return 1;
}

static fws_err client_store(fws_server *srv, SSL_CTX *ctx, fws_errbuf *eb)
{
    char path[SRV_PATH_MAX + 64];
    const char *env = fws_pki_env_name(srv->env);
    X509_STORE *st = X509_STORE_new();
    if (st == NULL)
        return FWS_ERR_NOMEM;
    snprintf(path, sizeof(path), "%s/pki/%s/root.crt", srv->deploy, env);
    fws_err err = add_certs(st, path, eb);
    if (err == FWS_OK) {
        snprintf(path, sizeof(path), "%s/pki/%s/intermediate.crt", srv->deploy, env);
        err = add_certs(st, path, eb);
    }
    if (err == FWS_OK)
        err = add_crl(st, srv->tls.crl_path, eb);
    if (err != FWS_OK) {
        X509_STORE_free(st);
        return err;
    }
    X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
    SSL_CTX_set_cert_store(ctx, st);
    return FWS_OK;
}

static fws_err make_ctx(fws_server *srv, SSL_CTX **out, fws_errbuf *eb)
{
    char crt[SRV_PATH_MAX + 32], key[SRV_PATH_MAX + 32];
    snprintf(crt, sizeof(crt), "%s/server/server.crt", srv->deploy);
    snprintf(key, sizeof(key), "%s/server/server.key", srv->deploy);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return fws_errf(eb, FWS_ERR_CRYPTO, "cannot create a TLS context");
    fws_err err = FWS_OK;
    SSL_CTX_set_min_proto_version(ctx, srv->cfg.allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1)
        err = ssl_fail(eb, "cannot load the server certificate (fwseal serve cert)", crt);
    if (err == FWS_OK && SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        err = ssl_fail(eb, "cannot load the server key", key);
    if (err == FWS_OK && SSL_CTX_check_private_key(ctx) != 1)
        err = ssl_fail(eb, "the key does not match server.crt", key);
    if (err == FWS_OK)
        err = client_store(srv, ctx, eb);
    if (err == FWS_OK) {
        static const unsigned char sid[] = "fwseal-serve";
        SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, verify_keep_going);
        SSL_CTX_set_verify_depth(ctx, FWS_PKI_CHAIN_MAX);
    }
    if (err != FWS_OK) {
        SSL_CTX_free(ctx);
        return err;
    }
    *out = ctx;
    return FWS_OK;
}

static void crl_stat(const char *path, struct timespec *mtime, off_t *size)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        *mtime = st.st_mtim;
        *size = st.st_size;
    } else {
        memset(mtime, 0, sizeof(*mtime));
        *size = -1;
    }
}

fws_err srv_tls_init(fws_server *srv, fws_errbuf *eb)
{
    srv_tls *t = &srv->tls;
    pthread_mutex_init(&t->mu, NULL);
    snprintf(t->crl_path, sizeof(t->crl_path), "%s/pki/%s/crl.pem", srv->deploy,
             fws_pki_env_name(srv->env));
    crl_stat(t->crl_path, &t->crl_mtime, &t->crl_size);
    return make_ctx(srv, &t->ctx, eb);
}

void srv_tls_free(srv_tls *t)
{
    SSL_CTX_free(t->ctx);
    t->ctx = NULL;
    pthread_mutex_destroy(&t->mu);
}

SSL *srv_tls_new_ssl(srv_tls *t)
{
    pthread_mutex_lock(&t->mu);
    SSL *ssl = SSL_new(t->ctx); /* holds its own reference to the context */
    pthread_mutex_unlock(&t->mu);
    return ssl;
}

void srv_tls_check_crl(fws_server *srv)
{
    srv_tls *t = &srv->tls;
    struct timespec mt;
    off_t size;
    crl_stat(t->crl_path, &mt, &size);
    if (mt.tv_sec == t->crl_mtime.tv_sec && mt.tv_nsec == t->crl_mtime.tv_nsec &&
        size == t->crl_size)
        return;
    fws_errbuf eb = {{0}};
    SSL_CTX *ctx = NULL;
    if (make_ctx(srv, &ctx, &eb) != FWS_OK) {
        fws_server_log(srv, "error", "CRL reload failed; keeping the previous one", "error", eb.msg,
                       NULL);
        return;
    }
    t->crl_mtime = mt;
    t->crl_size = size;
    pthread_mutex_lock(&t->mu);
    SSL_CTX *old = t->ctx;
    t->ctx = ctx;
    pthread_mutex_unlock(&t->mu);
    SSL_CTX_free(old); /* freed when its last connection goes */
    fws_server_log(srv, "info", "CRL reloaded", "path", t->crl_path, NULL);
}

/* The device ID from the SAN URI urn:fwseal:device:<id>: exactly one such URI, and an ID in
 * the store's character set. */
static void peer_device_id(srv_peer *p, X509 *leaf)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    int found = 0;
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type != GEN_URI)
            continue;
        const char *uri = (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
        int len = ASN1_STRING_length(g->d.uniformResourceIdentifier);
        size_t pl = strlen(DEVICE_URN);
        if (len <= (int)pl || (size_t)len - pl > FWS_STORE_ID_MAX || strncmp(uri, DEVICE_URN, pl))
            continue;
        int ok = 1;
        for (int k = (int)pl; k < len; k++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-",
                        uri[k]) ||
                uri[k] == '\0')
                ok = 0;
        if (!ok)
            continue;
        found++;
        memcpy(p->device_id, uri + pl, (size_t)len - pl);
        p->device_id[(size_t)len - pl] = '\0';
    }
    GENERAL_NAMES_free(names);
    if (found != 1) {
        p->device_id[0] = '\0';
        snprintf(p->problem, sizeof(p->problem),
                 found ? "client certificate names more than one device"
                       : "client certificate has no urn:fwseal:device: SAN URI");
    }
}

static void peer_add(srv_peer *p, X509 *x)
{
    if (p->n == SRV_CHAIN_MAX)
        return;
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    if (n <= 0)
        return;
    p->der[p->n] = malloc((size_t)n);
    if (p->der[p->n] == NULL) {
        OPENSSL_free(der);
        return;
    }
    memcpy(p->der[p->n], der, (size_t)n);
    OPENSSL_free(der);
    p->len[p->n++] = (size_t)n;
}

void srv_peer_load(srv_peer *p, SSL *ssl)
{
    memset(p, 0, sizeof(*p));
    p->done = 1;
    X509 *leaf = SSL_get0_peer_certificate(ssl);
    if (leaf == NULL) {
        snprintf(p->problem, sizeof(p->problem), "no client certificate");
        return;
    }
    p->present = 1;
    peer_add(p, leaf);
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl); /* server side: without the leaf */
    for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++)
        peer_add(p, sk_X509_value(chain, i));
    long vr = SSL_get_verify_result(ssl);
    if (vr != X509_V_OK) {
        const char *why = X509_verify_cert_error_string(vr);
        if (vr == X509_V_ERR_CERT_REVOKED)
            why = "certificate revoked";
        else if (vr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                 vr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
                 vr == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE ||
                 vr == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
                 vr == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)
            why = "not issued by this environment's device CA";
        snprintf(p->problem, sizeof(p->problem), "client certificate rejected: %s", why);
        return;
    }
    p->verified = 1;
    peer_device_id(p, leaf);
}

void srv_peer_free(srv_peer *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->der[i]);
    memset(p, 0, sizeof(*p));
}
