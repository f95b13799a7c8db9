/* The PKI through its library: provisioning into a temporary deployment, identity checks, and
 * the EST handlers (cacerts, simpleenroll, simplereenroll) with every kind of refusal. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include "fwseal/pki.h"

typedef struct world {
    char dir[64];
    fws_pki *pki;
    fws_passphrase pp;
    fws_signer factory_key;
    fws_pki_issued factory;
    int64_t now;
} world;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static fws_signer new_signer(void)
{
    fws_key *k = NULL;
    fws_signer s;
    assert_int_equal(fws_key_generate(FWS_KEY_P256, &k), FWS_OK);
    assert_int_equal(fws_signer_from_key(k, &s), FWS_OK);
    return s;
}

static void csr_b64(const fws_signer *s, char **out, size_t *len)
{
    uint8_t *csr = NULL;
    size_t csr_len = 0;
    assert_int_equal(fws_pki_csr_create(s, "dev", NULL, &csr, &csr_len, NULL), FWS_OK);
    char *b = malloc(FWS_BASE64_LEN(csr_len) + 3);
    size_t n = fws_base64_encode(csr, csr_len, b + 1);
    b[0] = '\n'; /* whitespace is allowed around and inside the body */
    b[n + 1] = '\r';
    b[n + 2] = '\n';
    *out = b;
    *len = n + 3;
    free(csr);
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof(*w));
    fws_pki_ca_opts o;
    uint8_t *csr = NULL;
    size_t csr_len = 0;
    snprintf(w->dir, sizeof(w->dir), "/tmp/fwseal-pki-est.XXXXXX");
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
    w->factory_key = new_signer();
    assert_int_equal(fws_pki_csr_create(&w->factory_key, "x", NULL, &csr, &csr_len, NULL), FWS_OK);
    fws_pki_provision_req r = {.env = FWS_ENV_DEV,
                               .serial = "SN-1",
                               .model = "hub-v2",
                               .batch = "L1",
                               .unverified_csr = csr,
                               .csr_len = csr_len};
    fws_errbuf eb = {{0}};
    if (fws_pki_provision(w->pki, &r, &w->factory, &eb) != FWS_OK)
        fail_msg("provision: %s", eb.msg);
    free(csr);
    w->now = (int64_t)time(NULL);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    fws_pki_close(w->pki);
    fws_signer_free(&w->factory_key);
    nftw(w->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(w);
    return 0;
}

static fws_est_response est(world *w, fws_pki_env env, fws_est_op op, const fws_signer *key,
                            const uint8_t *cert, size_t cert_len)
{
    char *body = NULL;
    size_t body_len = 0;
    fws_est_response r;
    const uint8_t *chain[1] = {cert};
    size_t lens[1] = {cert_len};
    if (key != NULL)
        csr_b64(key, &body, &body_len);
    assert_int_equal(fws_est_handle(w->pki, env, op, (const uint8_t *)body, body_len, chain, lens,
                                    cert ? 1 : 0, w->now, &r),
                     FWS_OK);
    free(body);
    return r;
}

/* The certificates of a base64 certs-only PKCS#7 body, parsed by openssl. */
static STACK_OF(X509) * certs_of(const fws_est_response *r, PKCS7 **keep)
{
    char *flat = malloc(r->body_len + 1);
    size_t n = 0, der_len = 0;
    uint8_t *der = malloc(r->body_len);
    for (size_t i = 0; i < r->body_len; i++) {
        if (r->body[i] != '\n')
            flat[n++] = (char)r->body[i];
    }
    assert_int_equal(fws_base64_decode(flat, n, der, r->body_len, &der_len), FWS_OK);
    const unsigned char *p = der;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)der_len);
    assert_non_null(p7);
    assert_int_equal(OBJ_obj2nid(p7->type), NID_pkcs7_signed);
    free(flat);
    free(der);
    *keep = p7;
    return p7->d.sign->cert;
}

static void cert_der(X509 *x, uint8_t *out, size_t *len)
{
    unsigned char *p = out;
    int n = i2d_X509(x, &p);
    assert_true(n > 0 && n <= FWS_PKI_CERT_MAX);
    *len = (size_t)n;
}

static void test_cacerts(void **state)
{
    world *w = *state;
    PKCS7 *p7 = NULL;
    const uint8_t *root, *inter;
    size_t root_len, inter_len;
    fws_est_response r = est(w, FWS_ENV_DEV, FWS_EST_CACERTS, NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_transfer_encoding, "base64");
    assert_non_null(strstr(r.content_type, "application/pkcs7-mime"));
    STACK_OF(X509) *certs = certs_of(&r, &p7);
    assert_int_equal(sk_X509_num(certs), 2);
    assert_int_equal(fws_pki_ca_certs(w->pki, FWS_ENV_DEV, &root, &root_len, &inter, &inter_len),
                     FWS_OK);
    int found = 0;
    for (int i = 0; i < 2; i++) {
        uint8_t der[FWS_PKI_CERT_MAX];
        size_t len = 0;
        cert_der(sk_X509_value(certs, i), der, &len);
        found += (len == root_len && memcmp(der, root, len) == 0) ||
                 (len == inter_len && memcmp(der, inter, len) == 0);
    }
    assert_int_equal(found, 2);
    PKCS7_free(p7);
    fws_est_response_free(&r);
}

static void test_identity_checks(void **state)
{
    world *w = *state;
    fws_pki_identity id;
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_pki_check_identity(w->pki, FWS_ENV_DEV, w->factory.der, w->factory.der_len,
                                            w->now, &id, &eb),
                     FWS_OK);
    assert_string_equal(id.device_id, w->factory.device_id);
    assert_int_equal(id.kind, FWS_CERT_FACTORY);
    assert_int_equal(id.device_status, FWS_DEVICE_PROVISIONED);
    /* Another environment's service rejects it, naming the issuer. */
    assert_int_equal(fws_pki_check_identity(w->pki, FWS_ENV_PROD, w->factory.der,
                                            w->factory.der_len, w->now, &id, &eb),
                     FWS_ERR_KEY_MISMATCH);
    assert_non_null(strstr(eb.msg, "issued by the dev CA, not the prod CA"));
    /* Expired, and not yet valid. */
    fws_errbuf e2 = {{0}};
    assert_int_equal(fws_pki_check_identity(w->pki, FWS_ENV_DEV, w->factory.der, w->factory.der_len,
                                            w->factory.not_after + 1, &id, &e2),
                     FWS_ERR_EXPIRED);
    assert_non_null(strstr(e2.msg, "expired"));
    assert_int_equal(fws_pki_check_identity(w->pki, FWS_ENV_DEV, w->factory.der, w->factory.der_len,
                                            w->factory.not_before - 1, &id, NULL),
                     FWS_ERR_EXPIRED);
    /* A flipped bit anywhere: never accepted. */
    uint8_t copy[FWS_PKI_ISSUED_MAX];
    for (size_t bit = 0; bit < w->factory.der_len * 8; bit += 5) {
        memcpy(copy, w->factory.der, w->factory.der_len);
        copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_not_equal(fws_pki_check_identity(w->pki, FWS_ENV_DEV, copy, w->factory.der_len,
                                                    w->now, &id, NULL),
                             FWS_OK);
    }
}

static void test_enroll_and_renew(void **state)
{
    world *w = *state;
    fws_signer op_key = new_signer(), op_key2 = new_signer();
    PKCS7 *p7 = NULL;
    uint8_t op1[FWS_PKI_CERT_MAX], op2[FWS_PKI_CERT_MAX];
    size_t op1_len = 0, op2_len = 0;
    fws_pki_identity id;
    fws_pki_device d;

    fws_est_response r =
        est(w, FWS_ENV_DEV, FWS_EST_SIMPLEENROLL, &op_key, w->factory.der, w->factory.der_len);
    if (r.status != 200)
        fail_msg("simpleenroll: %d %.*s", r.status, (int)r.body_len, (const char *)r.body);
    STACK_OF(X509) *certs = certs_of(&r, &p7);
    assert_int_equal(sk_X509_num(certs), 1);
    cert_der(sk_X509_value(certs, 0), op1, &op1_len);
    PKCS7_free(p7);
    fws_est_response_free(&r);
    assert_int_equal(fws_pki_check_identity(w->pki, FWS_ENV_DEV, op1, op1_len, w->now, &id, NULL),
                     FWS_OK);
    assert_int_equal(id.kind, FWS_CERT_OPERATIONAL);
    assert_string_equal(id.device_id, w->factory.device_id);
    assert_true(id.not_after - id.not_before <= 7 * 86400 + 600);
    assert_int_equal(fws_pki_device_get(w->pki, "SN-1", &d, NULL), FWS_OK);
    assert_int_equal(d.status, FWS_DEVICE_ACTIVE);

    /* An operational certificate cannot simpleenroll; the factory one cannot renew. */
    r = est(w, FWS_ENV_DEV, FWS_EST_SIMPLEENROLL, &op_key, op1, op1_len);
    assert_int_equal(r.status, 403);
    assert_int_equal(r.result, FWS_ERR_STATE);
    fws_est_response_free(&r);
    r = est(w, FWS_ENV_DEV, FWS_EST_SIMPLEREENROLL, &op_key, w->factory.der, w->factory.der_len);
    assert_int_equal(r.status, 403);
    fws_est_response_free(&r);

    /* Renewal with the current operational certificate, then the old one is refused. */
    r = est(w, FWS_ENV_DEV, FWS_EST_SIMPLEREENROLL, &op_key2, op1, op1_len);
    assert_int_equal(r.status, 200);
    certs = certs_of(&r, &p7);
    cert_der(sk_X509_value(certs, 0), op2, &op2_len);
    PKCS7_free(p7);
    fws_est_response_free(&r);
    r = est(w, FWS_ENV_DEV, FWS_EST_SIMPLEREENROLL, &op_key2, op1, op1_len);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr((const char *)r.body, "current operational"));
    fws_est_response_free(&r);

    /* Wrong environment, no certificate, a malformed body, a CSR that does not verify. */
    r = est(w, FWS_ENV_PROD, FWS_EST_SIMPLEREENROLL, &op_key2, op2, op2_len);
    assert_int_equal(r.status, 403);
    assert_int_equal(r.result, FWS_ERR_KEY_MISMATCH);
    fws_est_response_free(&r);
    r = est(w, FWS_ENV_DEV, FWS_EST_SIMPLEREENROLL, &op_key2, NULL, 0);
    assert_int_equal(r.status, 401);
    fws_est_response_free(&r);
    const uint8_t *chain[1] = {op2};
    assert_int_equal(fws_est_handle(w->pki, FWS_ENV_DEV, FWS_EST_SIMPLEREENROLL,
                                    (const uint8_t *)"@@@@", 4, chain, &op2_len, 1, w->now, &r),
                     FWS_OK);
    assert_int_equal(r.status, 400);
    fws_est_response_free(&r);

    /* After revocation nothing is accepted: renewal stops. */
    assert_int_equal(fws_pki_revoke(w->pki, "SN-1", FWS_REASON_KEY_COMPROMISE, NULL, NULL), FWS_OK);
    r = est(w, FWS_ENV_DEV, FWS_EST_SIMPLEREENROLL, &op_key2, op2, op2_len);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr((const char *)r.body, "revoked"));
    fws_est_response_free(&r);
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_pki_check_identity(w->pki, FWS_ENV_DEV, w->factory.der, w->factory.der_len,
                                            w->now, &id, &eb),
                     FWS_ERR_STATE);
    assert_non_null(strstr(eb.msg, "revoked"));
    fws_signer_free(&op_key);
    fws_signer_free(&op_key2);
}

static void test_enroll_refuses_another_devices_key(void **state)
{
    world *w = *state;
    fws_signer other = new_signer();
    uint8_t *csr = NULL;
    size_t csr_len = 0;
    fws_pki_issued *iss = malloc(sizeof(*iss));
    assert_int_equal(fws_pki_csr_create(&other, "y", NULL, &csr, &csr_len, NULL), FWS_OK);
    fws_pki_provision_req r = {.env = FWS_ENV_DEV,
                               .serial = "SN-2",
                               .model = "hub-v2",
                               .batch = "L1",
                               .unverified_csr = csr,
                               .csr_len = csr_len};
    assert_int_equal(fws_pki_provision(w->pki, &r, iss, NULL), FWS_OK);
    /* SN-1 asks for an operational certificate for SN-2's key. */
    fws_est_response resp =
        est(w, FWS_ENV_DEV, FWS_EST_SIMPLEENROLL, &other, w->factory.der, w->factory.der_len);
    assert_int_equal(resp.status, 403);
    assert_int_equal(resp.result, FWS_ERR_EXISTS);
    assert_non_null(strstr((const char *)resp.body, "already belongs to device"));
    fws_est_response_free(&resp);
    /* Its own factory key is fine for itself. */
    resp = est(w, FWS_ENV_DEV, FWS_EST_SIMPLEENROLL, &w->factory_key, w->factory.der,
               w->factory.der_len);
    assert_int_equal(resp.status, 200);
    fws_est_response_free(&resp);
    free(csr);
    free(iss);
    fws_signer_free(&other);
}

static void test_no_issuer_is_a_server_error(void **state)
{
    world *w = *state;
    fws_pki *bare = NULL;
    fws_est_response r;
    const uint8_t *chain[1] = {w->factory.der};
    size_t lens[1] = {w->factory.der_len};
    assert_int_equal(fws_pki_open(w->dir, &bare, NULL), FWS_OK);
    assert_int_equal(fws_est_handle(bare, FWS_ENV_DEV, FWS_EST_SIMPLEENROLL,
                                    (const uint8_t *)"AAAA", 4, chain, lens, 1, w->now, &r),
                     FWS_OK);
    assert_int_equal(r.status, 500);
    fws_est_response_free(&r);
    /* cacerts needs no key; an environment without a CA is 404. */
    assert_int_equal(
        fws_est_handle(bare, FWS_ENV_DEV, FWS_EST_CACERTS, NULL, 0, NULL, NULL, 0, w->now, &r),
        FWS_OK);
    assert_int_equal(r.status, 200);
    fws_est_response_free(&r);
    assert_int_equal(
        fws_est_handle(bare, FWS_ENV_STAGING, FWS_EST_CACERTS, NULL, 0, NULL, NULL, 0, w->now, &r),
        FWS_OK);
    assert_int_equal(r.status, 404);
    fws_est_response_free(&r);
    fws_pki_close(bare);
}

static int count_refusal(void *ctx, const fws_pki_refusal *r)
{
    if (strcmp(r->action, "simpleenroll") == 0 || strcmp(r->action, "simplereenroll") == 0)
        (*(int *)ctx)++;
    return 0;
}

static void test_refusals_recorded(void **state)
{
    world *w = *state;
    int n = 0;
    fws_signer k = new_signer();
    fws_est_response r =
        est(w, FWS_ENV_PROD, FWS_EST_SIMPLEENROLL, &k, w->factory.der, w->factory.der_len);
    assert_int_equal(r.status, 403);
    fws_est_response_free(&r);
    assert_int_equal(fws_pki_refusals(w->pki, count_refusal, &n, NULL), FWS_OK);
    assert_int_equal(n, 1);
    fws_signer_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cacerts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enroll_and_renew, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enroll_refuses_another_devices_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_issuer_is_a_server_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
