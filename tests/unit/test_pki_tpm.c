/* A device key resident in a TPM: swtpm runs in socket mode on loopback, tpm2-tss creates the
 * P-256 identity key inside it, the CSR is signed by the TPM, and the device is provisioned from
 * that CSR. Skipped, with a visible message, only when swtpm cannot start. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <openssl/x509.h>
#include "fwseal/pki.h"

typedef struct tpm_world {
    char dir[64];
    pid_t swtpm;
    int port;
    char tcti[64];
} tpm_world;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int port_open(int port)
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

/* Starts swtpm on port and port + 1 (the swtpm TCTI's control port); 0 when it came up. */
static int start_swtpm(tpm_world *w, int port)
{
    char state[128], server[96], ctrl[96];
    snprintf(state, sizeof(state), "dir=%s", w->dir);
    snprintf(server, sizeof(server), "type=tcp,port=%d,bindaddr=127.0.0.1", port);
    snprintf(ctrl, sizeof(ctrl), "type=tcp,port=%d,bindaddr=127.0.0.1", port + 1);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", state, "--server", server,
               "--ctrl", ctrl, "--flags", "not-need-init,startup-clear", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return -1; /* exited: no swtpm, or the port was taken */
        if (port_open(port)) {
            w->swtpm = pid;
            w->port = port;
            return 0;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return -1;
}

static int setup(void **state)
{
    tpm_world *w = calloc(1, sizeof(*w));
    snprintf(w->dir, sizeof(w->dir), "/tmp/fwseal-pki-tpm.XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    srand((unsigned)getpid());
    for (int attempt = 0; attempt < 8 && w->swtpm == 0; attempt++) {
        int port = 20000 + (rand() % 20000) * 2;
        if (start_swtpm(w, port) != 0)
            w->swtpm = 0;
    }
    snprintf(w->tcti, sizeof(w->tcti), "swtpm:host=127.0.0.1,port=%d", w->port);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    tpm_world *w = *state;
    if (w->swtpm > 0) {
        kill(w->swtpm, SIGTERM);
        waitpid(w->swtpm, NULL, 0);
    }
    nftw(w->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(w);
    return 0;
}

static void spki_of(const fws_signer *s, uint8_t **der, size_t *len)
{
    fws_key *pub = NULL;
    assert_int_equal(fws_signer_public_key(s, &pub), FWS_OK);
    assert_int_equal(fws_key_spki_der(pub, der, len), FWS_OK);
    fws_key_free(pub);
}

static void provision_from(const char *dir, const uint8_t *csr, size_t csr_len, fws_pki_issued *iss)
{
    fws_passphrase pp;
    fws_pki_ca_opts o;
    fws_pki *p = NULL;
    fws_errbuf eb = {{0}};
    snprintf(pp.text, sizeof(pp.text), "tpm test");
    pp.len = strlen(pp.text);
    memset(&o, 0, sizeof(o));
    o.env = FWS_ENV_PROD;
    o.pp = &pp;
    assert_int_equal(fws_pki_ca_init(dir, &o, NULL, NULL), FWS_OK);
    assert_int_equal(fws_pki_open(dir, &p, NULL), FWS_OK);
    assert_int_equal(fws_pki_load_issuer(p, FWS_ENV_PROD, &pp, NULL), FWS_OK);
    assert_int_equal(fws_pki_model_add(p, "hub-v2", NULL), FWS_OK);
    fws_pki_provision_req r = {.env = FWS_ENV_PROD,
                               .serial = "TPM-1",
                               .model = "hub-v2",
                               .batch = "L1",
                               .unverified_csr = csr,
                               .csr_len = csr_len,
                               .key_origin = "tpm"};
    if (fws_pki_provision(p, &r, iss, &eb) != FWS_OK)
        fail_msg("provision: %s", eb.msg);
    fws_pki_device d;
    assert_int_equal(fws_pki_device_get(p, "TPM-1", &d, NULL), FWS_OK);
    assert_string_equal(d.key_origin, "tpm");
    fws_pki_close(p);
}

static void test_tpm_key_csr_provision(void **state)
{
    tpm_world *w = *state;
    fws_signer s, again;
    fws_errbuf eb = {{0}};
    uint8_t *csr = NULL, *spki = NULL, *want = NULL;
    size_t csr_len = 0, spki_len = 0, want_len = 0;
    fws_pki_issued *iss = malloc(sizeof(*iss));
    if (w->swtpm == 0) {
        fprintf(stderr, "SKIPPED: swtpm could not start on 127.0.0.1; the TPM-resident key test"
                        " did not run\n");
        free(iss);
        skip();
    }
    if (fws_pki_tpm_signer(w->tcti, &s, &eb) != FWS_OK)
        fail_msg("tpm signer: %s", eb.msg);
    assert_int_equal(fws_pki_csr_create(&s, "tpm-device", "TPM-1", &csr, &csr_len, &eb), FWS_OK);
    /* openssl finds the TPM's proof of possession good, and so does the CA. */
    const unsigned char *p = csr;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)csr_len);
    assert_non_null(req);
    assert_int_equal(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
    X509_REQ_free(req);
    assert_int_equal(fws_pki_csr_check(csr, csr_len, &spki, &spki_len, &eb), FWS_OK);
    spki_of(&s, &want, &want_len);
    assert_int_equal(spki_len, want_len);
    assert_memory_equal(spki, want, want_len);

    char dir[128];
    snprintf(dir, sizeof(dir), "%s/deploy", w->dir);
    provision_from(dir, csr, csr_len, iss);
    /* The certificate carries the TPM's key. */
    const unsigned char *c = iss->der;
    X509 *x = d2i_X509(NULL, &c, (long)iss->der_len);
    assert_non_null(x);
    unsigned char *cert_spki = NULL;
    int n = i2d_PUBKEY(X509_get0_pubkey(x), &cert_spki);
    assert_int_equal((size_t)n, want_len);
    assert_memory_equal(cert_spki, want, want_len);
    OPENSSL_free(cert_spki);
    X509_free(x);

    /* The handle is flushed on free; the same TPM derives the same key again. */
    char keyid[FWS_KEYID_LEN];
    memcpy(keyid, s.keyid, sizeof(keyid));
    fws_signer_free(&s);
    assert_int_equal(fws_pki_tpm_signer(w->tcti, &again, &eb), FWS_OK);
    assert_string_equal(again.keyid, keyid);
    uint8_t sig[FWS_SIG_MAX];
    size_t sig_len = 0;
    fws_key *pub = NULL;
    assert_int_equal(
        fws_signer_sign(&again, (const uint8_t *)"hello", 5, sig, sizeof(sig), &sig_len), FWS_OK);
    assert_int_equal(fws_signer_public_key(&again, &pub), FWS_OK);
    assert_int_equal(fws_key_verify(pub, (const uint8_t *)"hello", 5, sig, sig_len), FWS_OK);
    assert_int_equal(fws_key_verify(pub, (const uint8_t *)"hellO", 5, sig, sig_len),
                     FWS_ERR_SIGNATURE);
    fws_key_free(pub);
    fws_signer_free(&again);
    free(csr);
    free(spki);
    free(want);
    free(iss);
}

static void test_tpm_unreachable(void **state)
{
    fws_signer s;
    fws_errbuf eb = {{0}};
    (void)state;
    /* Port 1 on loopback: nothing listens; a clear error, no crash. */
    assert_int_not_equal(fws_pki_tpm_signer("swtpm:host=127.0.0.1,port=1", &s, &eb), FWS_OK);
    assert_non_null(strstr(eb.msg, "TPM"));
}

int main(void)
{
    /* A child or peer that hangs up early is the code's to handle, not a fatal signal. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tpm_key_csr_provision, setup, teardown),
        cmocka_unit_test(test_tpm_unreachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
