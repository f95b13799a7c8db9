/* The agent's operational identity (fws_agent_identity_update / _load) against an EST enroller
 * played by a small CA in this file, and fws_agent_set_signer re-signing queued reports. */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "test_agent_util.h"

#define NOW INT64_C(1800000000) /* 2027-01-15 */
#define DAY INT64_C(86400)
#define DEVICE "3f0c9a1b2c3d4e5f60718293a4b5c6d7"

/* ---- a CA that plays the EST server ------------------------------------------------------------
 */

typedef struct ca {
    EVP_PKEY *key;
    char dir[512], factory_cert[600], factory_key[600];
    fws_passphrase pp;
    /* what the next enrollment does */
    const char *device; /* SAN of issued certificates */
    int64_t nb, na;     /* validity of issued certificates */
    int refuse_renew;   /* simplereenroll is refused */
    int refuse_all;     /* every request is refused */
    int other_key;      /* certify a key other than the request's */
    /* what the enroller saw */
    int calls, last_renew;
    char last_cert[600];
} ca;

static uint8_t *issue(ca *c, EVP_PKEY *pub, const char *dev_id, int64_t nb, int64_t na, size_t *len)
{
    X509 *x = X509_new();
    char uri[128];
    snprintf(uri, sizeof(uri), "URI:urn:fwseal:device:%s", dev_id);
    ASN1_INTEGER_set(X509_get_serialNumber(x), ++c->calls + 1000);
    X509_set_version(x, 2);
    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb);
    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)dev_id, -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, pub);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, uri);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(x, c->key, EVP_sha256()) > 0);
    unsigned char *der = NULL;
    int n_der = i2d_X509(x, &der);
    assert_true(n_der > 0);
    uint8_t *out = malloc((size_t)n_der);
    memcpy(out, der, (size_t)n_der);
    OPENSSL_free(der);
    X509_free(x);
    *len = (size_t)n_der;
    return out;
}

/* The "CSR" of this enroller is the key's SubjectPublicKeyInfo: possession is not what these
 * tests are about (the PKI's tests cover real requests). */
static fws_err fake_csr(void *ctx, const fws_signer *s, uint8_t **der, size_t *len, fws_errbuf *eb)
{
    (void)ctx;
    (void)eb;
    fws_key *pub = NULL;
    fws_err err = fws_signer_public_key(s, &pub);
    if (err == FWS_OK)
        err = fws_key_spki_der(pub, der, len);
    fws_key_free(pub);
    return err;
}

static fws_err fake_enroll(void *ctx, int renew, const char *cert, const char *key,
                           const uint8_t *csr, size_t csr_len, uint8_t **der, size_t *der_len,
                           fws_errbuf *eb)
{
    ca *c = ctx;
    c->last_renew = renew;
    snprintf(c->last_cert, sizeof(c->last_cert), "%s", cert);
    assert_non_null(key);
    if (c->refuse_all || (renew && c->refuse_renew)) {
        c->calls++;
        return fws_errf(eb, FWS_ERR_STATE, "the server refused: device certificate revoked");
    }
    const unsigned char *p = csr;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)csr_len);
    assert_non_null(pub);
    if (c->other_key) {
        EVP_PKEY_free(pub);
        pub = EVP_EC_gen("P-256");
    }
    *der = issue(c, pub, c->device, c->nb, c->na, der_len);
    EVP_PKEY_free(pub);
    return FWS_OK;
}

static int64_t two_thirds(int64_t nb, int64_t na)
{
    return nb + (na - nb) * 2 / 3;
}

static const fws_agent_enroller *enroller(ca *c)
{
    static fws_agent_enroller e;
    e.csr = fake_csr;
    e.enroll = fake_enroll;
    e.renew_at = two_thirds;
    e.ctx = c;
    return &e;
}

static int setup(void **state)
{
    ca *c = calloc(1, sizeof(*c));
    snprintf(c->dir, sizeof(c->dir), "%s/fwseal-identity-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(c->dir));
    snprintf(c->factory_cert, sizeof(c->factory_cert), "%s/device.crt", c->dir);
    snprintf(c->factory_key, sizeof(c->factory_key), "%s/device.key", c->dir);
    strcpy(c->pp.text, "device passphrase");
    c->pp.len = strlen(c->pp.text);
    c->key = EVP_EC_gen("P-256");
    c->device = DEVICE;
    c->nb = NOW - 300;
    c->na = NOW + 7 * DAY;
    /* The factory identity: a key saved like the bundle's, a 20-year certificate. */
    fws_key *k = NULL, *pub = NULL;
    uint8_t *spki = NULL, *der = NULL;
    size_t spki_len = 0, der_len = 0;
    assert_int_equal(fws_key_generate(FWS_KEY_P256, &k), FWS_OK);
    assert_int_equal(fws_key_save_private(k, c->factory_key, &c->pp, 0, NULL), FWS_OK);
    assert_int_equal(fws_key_public_dup(k, &pub), FWS_OK);
    assert_int_equal(fws_key_spki_der(pub, &spki, &spki_len), FWS_OK);
    const unsigned char *p = spki;
    EVP_PKEY *ev = d2i_PUBKEY(NULL, &p, (long)spki_len);
    der = issue(c, ev, DEVICE, NOW - DAY, NOW + 7300 * DAY, &der_len);
    c->calls = 0;
    p = der;
    X509 *x = d2i_X509(NULL, &p, (long)der_len);
    FILE *f = fopen(c->factory_cert, "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(ev);
    free(der);
    free(spki);
    fws_key_free(pub);
    fws_key_free(k);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ca *c = *state;
    rm_tree(c->dir);
    EVP_PKEY_free(c->key);
    free(c);
    return 0;
}

static fws_err update(ca *c, int64_t now, int force, fws_agent_identity *out, fws_errbuf *eb)
{
    fws_agent_est_config cfg = {enroller(c), c->factory_cert, c->factory_key, &c->pp, now, force};
    return fws_agent_identity_update(c->dir, &cfg, out, eb);
}

static char *read_all(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    return fws_file_read(path, 1 << 20, &data, &len, NULL) == FWS_OK ? (char *)data : NULL;
}

/* ---- tests
 * ---------------------------------------------------------------------------------------- */

static void test_enroll_then_keep(void **state)
{
    ca *c = *state;
    fws_agent_identity id, again;
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_agent_identity_load(c->dir, &c->pp, NOW, NULL, &id, NULL),
                     FWS_ERR_NOT_FOUND);
    assert_int_equal(update(c, NOW, 0, &id, &eb), FWS_OK);
    assert_int_equal(id.action, FWS_IDENTITY_ENROLLED);
    assert_int_equal(c->calls, 1);
    assert_int_equal(c->last_renew, 0);
    assert_string_equal(c->last_cert, c->factory_cert); /* authenticated by the factory identity */
    assert_string_equal(id.device_id, DEVICE);
    assert_int_equal(id.not_after, c->na);
    assert_int_equal(id.renew_at, two_thirds(c->nb, c->na));
    struct stat sb;
    assert_int_equal(stat(id.key, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char *pem = read_all(id.key);
    assert_non_null(strstr(pem, "ENCRYPTED PRIVATE KEY"));
    free(pem);
    /* Before two thirds of its lifetime nothing is asked. */
    assert_int_equal(update(c, id.renew_at - 1, 0, &again, &eb), FWS_OK);
    assert_int_equal(again.action, FWS_IDENTITY_KEPT);
    assert_int_equal(c->calls, 1);
    assert_int_equal(fws_agent_identity_load(c->dir, &c->pp, NOW, two_thirds, &again, &eb), FWS_OK);
    assert_string_equal(again.cert, id.cert);
}

static void test_renew_at_two_thirds(void **state)
{
    ca *c = *state;
    fws_agent_identity id, renewed;
    fws_errbuf eb = {{0}};
    assert_int_equal(update(c, NOW, 0, &id, &eb), FWS_OK);
    char *first = read_all(id.cert);
    c->nb = id.renew_at - 300;
    c->na = id.renew_at + 7 * DAY;
    assert_int_equal(update(c, id.renew_at, 0, &renewed, &eb), FWS_OK);
    assert_int_equal(renewed.action, FWS_IDENTITY_RENEWED);
    assert_int_equal(c->last_renew, 1);
    assert_string_equal(c->last_cert, id.cert); /* authenticated by the current certificate */
    char *second = read_all(renewed.cert);
    assert_string_not_equal(first, second);
    free(first);
    free(second);
    /* --force renews before it is due. */
    assert_int_equal(update(c, id.renew_at, 1, &renewed, &eb), FWS_OK);
    assert_int_equal(renewed.action, FWS_IDENTITY_RENEWED);
    assert_int_equal(c->calls, 3);
}

static void test_refused_renewal_enrolls(void **state)
{
    ca *c = *state;
    fws_agent_identity id;
    fws_errbuf eb = {{0}};
    assert_int_equal(update(c, NOW, 0, &id, &eb), FWS_OK);
    c->refuse_renew = 1;
    assert_int_equal(update(c, NOW, 1, &id, &eb), FWS_OK);
    assert_int_equal(id.action, FWS_IDENTITY_ENROLLED);
    assert_int_equal(c->last_renew, 0);
    assert_string_equal(c->last_cert, c->factory_cert);
}

static void test_refused_keeps_files(void **state)
{
    ca *c = *state;
    fws_agent_identity id;
    fws_errbuf eb = {{0}};
    assert_int_equal(update(c, NOW, 0, &id, &eb), FWS_OK);
    char *before = read_all(id.cert);
    c->refuse_all = 1;
    assert_int_equal(update(c, NOW, 1, &id, &eb), FWS_ERR_STATE);
    assert_non_null(strstr(eb.msg, "revoked"));
    assert_non_null(strstr(eb.msg, "renewal:"));
    char *after = read_all(id.cert);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void refused_answer(ca *c, fws_err want, const char *msg)
{
    fws_agent_identity id;
    fws_errbuf eb = {{0}};
    char path[700];
    assert_int_equal(update(c, NOW, 0, &id, &eb), want);
    assert_non_null(strstr(eb.msg, msg));
    snprintf(path, sizeof(path), "%s/identity/operational.crt", c->dir);
    assert_int_not_equal(access(path, F_OK), 0);
    snprintf(path, sizeof(path), "%s/identity/operational.key", c->dir);
    assert_int_not_equal(access(path, F_OK), 0);
}

static void test_other_key(void **state)
{
    ca *c = *state;
    c->other_key = 1;
    refused_answer(c, FWS_ERR_KEY_MISMATCH, "for another key");
}

static void test_other_device(void **state)
{
    ca *c = *state;
    c->device = "ffffffffffffffffffffffffffffffff";
    refused_answer(c, FWS_ERR_KEY_MISMATCH, "names device \"ffff");
}

static void test_expired_answer(void **state)
{
    ca *c = *state;
    c->nb = NOW - 2 * DAY;
    c->na = NOW - DAY;
    refused_answer(c, FWS_ERR_EXPIRED, "not valid now");
}

static void test_damaged_pair(void **state)
{
    ca *c = *state;
    fws_agent_identity id;
    fws_errbuf eb = {{0}};
    assert_int_equal(update(c, NOW, 0, &id, &eb), FWS_OK);
    /* A certificate for another key where the operational one was (a cut between renames). */
    char *factory = read_all(c->factory_cert);
    assert_int_equal(fws_file_write_atomic(id.cert, factory, strlen(factory), 0644, 1, NULL),
                     FWS_OK);
    free(factory);
    assert_int_equal(fws_agent_identity_load(c->dir, &c->pp, NOW, NULL, &id, &eb),
                     FWS_ERR_KEY_MISMATCH);
    assert_int_equal(update(c, NOW, 0, &id, &eb), FWS_OK);
    assert_int_equal(id.action, FWS_IDENTITY_ENROLLED);
    assert_int_equal(fws_agent_identity_load(c->dir, &c->pp, NOW, NULL, &id, &eb), FWS_OK);
}

static void test_expired_enrolls_again(void **state)
{
    ca *c = *state;
    fws_agent_identity id;
    fws_errbuf eb = {{0}};
    assert_int_equal(update(c, NOW, 0, &id, &eb), FWS_OK);
    int64_t later = c->na + 10;
    assert_int_equal(fws_agent_identity_load(c->dir, &c->pp, later, NULL, &id, &eb),
                     FWS_ERR_EXPIRED);
    c->nb = later - 300;
    c->na = later + 7 * DAY;
    assert_int_equal(update(c, later, 0, &id, &eb), FWS_OK);
    assert_int_equal(id.action, FWS_IDENTITY_ENROLLED); /* an expired one cannot renew */
    assert_int_equal(c->last_renew, 0);
}

static void test_wrong_passphrase(void **state)
{
    ca *c = *state;
    fws_agent_identity id;
    fws_errbuf eb = {{0}};
    assert_int_equal(update(c, NOW, 0, &id, &eb), FWS_OK);
    strcpy(c->pp.text, "wrong");
    c->pp.len = 5;
    assert_int_equal(update(c, NOW, 1, &id, &eb), FWS_ERR_PASSPHRASE);
    assert_int_equal(c->calls, 1); /* nothing replaced because a key would not open */
}

/* ---- reports follow the signer ------------------------------------------------------------------
 */

static void test_set_signer_resigns(void **state)
{
    (void)state;
    device d;
    fws_slot_backend *slots = NULL;
    fws_agent *a = NULL;
    fws_errbuf eb = {{0}};
    fws_agent_target t;
    device_make(&d);
    assert_int_equal(device_open(&d, NULL, NULL, &slots, &a, &eb), FWS_OK);
    device_target(&d, &t);
    t.sha256[0] ^= 1; /* refused: a verification-failure report signed by the factory key */
    assert_int_not_equal(fws_agent_install(a, &t, &fws_agent_file_source, &eb), FWS_OK);
    size_t n = 0;
    assert_int_equal(fws_agent_reports_pending(a, &n, NULL), FWS_OK);
    assert_int_equal(n, 1);

    fws_key *k = NULL, *pub = NULL;
    fws_signer op;
    assert_int_equal(fws_key_generate(FWS_KEY_P256, &k), FWS_OK);
    assert_int_equal(fws_key_public_dup(k, &pub), FWS_OK);
    assert_int_equal(fws_signer_from_key(k, &op), FWS_OK);
    assert_int_equal(fws_agent_set_signer(a, &op, &eb), FWS_OK);

    char dir[700], path[1000];
    snprintf(dir, sizeof(dir), "%s/reports", d.state);
    DIR *dd = opendir(dir);
    struct dirent *e;
    int checked = 0;
    while ((e = readdir(dd)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        uint8_t *env = NULL;
        size_t len = 0;
        char *payload = NULL;
        size_t plen = 0;
        assert_int_equal(fws_file_read(path, FWS_REPORT_MAX, &env, &len, NULL), FWS_OK);
        assert_int_equal(fws_report_verify(env, len, pub, &payload, &plen, NULL), FWS_OK);
        assert_non_null(strstr(payload, "verification-failure"));
        assert_int_not_equal(fws_report_verify(env, len, d.pub, &payload, &plen, NULL), FWS_OK);
        free(payload);
        free(env);
        checked++;
    }
    closedir(dd);
    assert_int_equal(checked, 1);
    /* New reports are signed by it too; setting it again changes nothing. */
    assert_int_equal(fws_agent_set_signer(a, &op, &eb), FWS_OK);
    fws_agent_close(a);
    fws_slot_close(slots);
    fws_signer_free(&op);
    fws_key_free(pub);
    device_free(&d);
}

int main(void)
{
    /* A child or peer that hangs up early is the code's to handle, not a fatal signal. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enroll_then_keep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renew_at_two_thirds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_renewal_enrolls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_keeps_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_pair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_enrolls_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_passphrase, setup, teardown),
        cmocka_unit_test(test_set_signer_resigns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
