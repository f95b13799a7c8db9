/* Shared by the attestation tests: a swtpm on loopback in a temporary directory, a device CA
 * (root and intermediate) made with OpenSSL that issues AK certificates, and a ledger holding
 * release records. Header-only (static functions). */
#ifndef TEST_ATTEST_UTIL_H
#define TEST_ATTEST_UTIL_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "fwseal/attest.h"
#include "fwseal/crypto.h"
#include "fwseal/ledger.h"

/* ---- swtpm ----------------------------------------------------------------------------------- */

typedef struct ta_swtpm {
    char dir[256];
    pid_t pid;
    int port;
    char tcti[80];
} ta_swtpm;

static inline int ta_port_open(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static inline int ta_swtpm_try(ta_swtpm *t, int port)
{
    char state[300], server[96], ctrl[96];
    snprintf(state, sizeof(state), "dir=%s", t->dir);
    snprintf(server, sizeof(server), "type=tcp,port=%d,bindaddr=127.0.0.1", port);
    snprintf(ctrl, sizeof(ctrl), "type=tcp,port=%d,bindaddr=127.0.0.1", port + 1);
    if (ta_port_open(port) || ta_port_open(port + 1))
        return -1; /* taken: someone else's answer would look like ours */
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (freopen("/dev/null", "w", stdout) == NULL)
            _exit(126);
        execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", state, "--server", server,
               "--ctrl", ctrl, "--flags", "not-need-init,startup-clear", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return -1;
        if (ta_port_open(port)) {
            t->pid = pid;
            t->port = port;
            snprintf(t->tcti, sizeof(t->tcti), "swtpm:host=127.0.0.1,port=%d", port);
            return 0;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return -1;
}

/* Starts a swtpm keeping its state in dir (which must exist); 0 on success. */
static inline int ta_swtpm_start(ta_swtpm *t, const char *dir)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "%s", dir);
    for (int attempt = 0; attempt < 10; attempt++) {
        int port = 20000 + (rand() % 20000) * 2;
        if (ta_swtpm_try(t, port) == 0)
            return 0;
    }
    return -1;
}

static inline void ta_swtpm_stop(ta_swtpm *t)
{
    if (t->pid > 0) {
        kill(t->pid, SIGTERM);
        waitpid(t->pid, NULL, 0);
    }
    t->pid = 0;
}

/* A power cycle: the same state, a new process (the TPM's reset count goes up). */
static inline int ta_swtpm_reboot(ta_swtpm *t)
{
    char dir[256];
    snprintf(dir, sizeof(dir), "%s", t->dir);
    ta_swtpm_stop(t);
    if (ta_swtpm_try(t, t->port) == 0)
        return 0;
    return ta_swtpm_start(t, dir);
}

/* ---- a device CA --------------------------------------------------------------------------- */

typedef struct ta_ca {
    EVP_PKEY *root_key, *inter_key;
    X509 *root, *inter;
} ta_ca;

static inline int ta_ext(X509 *subject, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, subject, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = e != NULL && X509_add_ext(subject, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

static inline X509 *ta_cert(EVP_PKEY *pub, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                            int ca, const char *eku, long days_before, long days_after)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    static long serial = 1000;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"fwseal test", -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : n);
    X509_gmtime_adj(X509_getm_notBefore(x), -days_before * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x), days_after * 86400);
    X509_set_pubkey(x, pub);
    X509 *iss = issuer != NULL ? issuer : x;
    int ok = ta_ext(x, iss, NID_subject_key_identifier, "hash") &&
             ta_ext(x, iss, NID_authority_key_identifier, "keyid:always") &&
             ta_ext(x, iss, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
             ta_ext(x, iss, NID_key_usage,
                    ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") &&
             (eku == NULL || ta_ext(x, iss, NID_ext_key_usage, eku)) &&
             X509_sign(x, issuer_key, EVP_sha256()) > 0;
    X509_NAME_free(n);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static inline EVP_PKEY *ta_p256(void)
{
    return EVP_EC_gen("P-256");
}

static inline int ta_ca_init(ta_ca *ca, const char *name)
{
    char cn[128];
    memset(ca, 0, sizeof(*ca));
    ca->root_key = ta_p256();
    ca->inter_key = ta_p256();
    snprintf(cn, sizeof(cn), "%s root", name);
    ca->root = ta_cert(ca->root_key, cn, NULL, ca->root_key, 1, NULL, 1, 3650);
    snprintf(cn, sizeof(cn), "%s intermediate", name);
    ca->inter =
        ca->root ? ta_cert(ca->inter_key, cn, ca->root, ca->root_key, 1, NULL, 1, 3650) : NULL;
    return ca->inter != NULL ? 0 : -1;
}

static inline void ta_ca_free(ta_ca *ca)
{
    EVP_PKEY_free(ca->root_key);
    EVP_PKEY_free(ca->inter_key);
    X509_free(ca->root);
    X509_free(ca->inter);
}

static inline int ta_der(X509 *x, uint8_t *out, size_t cap, size_t *len)
{
    int n = i2d_X509(x, NULL);
    if (n <= 0 || (size_t)n > cap)
        return -1;
    unsigned char *p = out;
    i2d_X509(x, &p);
    *len = (size_t)n;
    return 0;
}

/* Anchors trusting the CA's root, with its intermediate available for chains. */
static inline fws_attest_anchors *ta_anchors(const ta_ca *ca)
{
    uint8_t der[4096];
    size_t len = 0;
    fws_attest_anchors *a = NULL;
    if (fws_attest_anchors_new(&a) != FWS_OK)
        return NULL;
    if (ta_der(ca->root, der, sizeof(der), &len) != 0 ||
        fws_attest_anchors_add(a, der, len, 1, NULL) != FWS_OK ||
        ta_der(ca->inter, der, sizeof(der), &len) != 0 ||
        fws_attest_anchors_add(a, der, len, 0, NULL) != FWS_OK) {
        fws_attest_anchors_free(a);
        return NULL;
    }
    return a;
}

/* Issues an AK certificate for an fws_key (public half) naming the device; aik adds the TCG AIK
 * purpose. Writes DER into ev->ak_cert. */
static inline int ta_issue(const ta_ca *ca, const fws_key *k, const char *device, int aik,
                           long days_after, fws_attest_evidence *ev)
{
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    if (fws_key_spki_der(k, &spki, &spki_len) != FWS_OK)
        return -1;
    const unsigned char *p = spki;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)spki_len);
    free(spki);
    X509 *x = pub ? ta_cert(pub, device, ca->inter, ca->inter_key, 0,
                            aik ? "2.23.133.8.3" : "clientAuth", 1, days_after)
                  : NULL;
    EVP_PKEY_free(pub);
    int rc = x != NULL ? ta_der(x, ev->ak_cert, sizeof(ev->ak_cert), &ev->ak_cert_len) : -1;
    X509_free(x);
    return rc;
}

/* ---- a ledger with release records -------------------------------------------------------------
 */

typedef struct ta_ledger {
    char dir[256];
    fws_signer signer;
    char vkey[FWS_NOTE_VKEY_MAX];
} ta_ledger;

static inline int ta_ledger_init(ta_ledger *l, const char *dir)
{
    fws_key *k = NULL;
    fws_ledger_config cfg = {"attest.test/log", "/nonexistent/key.pem", 0};
    snprintf(l->dir, sizeof(l->dir), "%s", dir);
    if (fws_key_generate(FWS_KEY_ED25519, &k) != FWS_OK ||
        fws_signer_from_key(k, &l->signer) != FWS_OK)
        return -1;
    return fws_ledger_create(dir, &cfg, &l->signer, l->vkey, NULL) == FWS_OK ? 0 : -1;
}

/* Appends records (NULL-terminated) and publishes a checkpoint. */
static inline int ta_ledger_append(ta_ledger *l, const char *const *records)
{
    fws_ledger *w = NULL;
    fws_errbuf eb = {{0}};
    int rc = -1;
    if (fws_ledger_open(l->dir, NULL, &w, &eb) != FWS_OK ||
        fws_ledger_set_signer(w, &l->signer, &eb) != FWS_OK)
        goto out;
    for (size_t i = 0; records[i] != NULL; i++) {
        fws_ledger_entry e = {(const uint8_t *)records[i], strlen(records[i])};
        uint64_t idx = 0;
        if (fws_ledger_append(w, &e, 1, &idx, NULL, &eb) != FWS_OK)
            goto out;
    }
    rc = fws_ledger_publish(w, &eb) == FWS_OK ? 0 : -1;
out:
    if (rc != 0)
        fprintf(stderr, "ledger: %s\n", eb.msg);
    fws_ledger_close(w);
    return rc;
}

static inline void ta_ledger_free(ta_ledger *l)
{
    fws_signer_free(&l->signer);
}

/* A release record for product/version with an image digest, for the listed models. */
static inline void ta_release(char *out, size_t cap, const char *product, const char *version,
                              const uint8_t digest[32], const char *hardware_json)
{
    char hex[65];
    fws_hex_encode(digest, 32, hex);
    snprintf(out, cap,
             "{\"type\":\"release\",\"schema\":1,\"time\":\"2026-01-01T00:00:00Z\","
             "\"product\":\"%s\",\"version\":\"%s\",\"image\":{\"sha256\":\"%s\",\"size\":1024},"
             "\"hardware\":%s,\"securityCounter\":1}",
             product, version, hex, hardware_json);
}

/* ---- a temporary directory ------------------------------------------------------------------- */

static inline int ta_rm_tree(const char *dir)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

#endif
