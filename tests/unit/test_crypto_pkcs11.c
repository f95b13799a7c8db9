/* PKCS#11 signing keys on a real SoftHSM2 token created in a temporary directory: URI parsing,
 * key generation in the token (Ed25519 and P-256), signing through fws_signer and verifying with
 * fws_key_verify, PIN handling, lookups that fail, keys fwseal does not sign with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <unistd.h>
#include <cmocka.h>
#include <p11-kit-1/p11-kit/pkcs11.h>
#include "fwseal/pkcs11.h"
#include "crypto/pkcs11_internal.h"

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define TOKEN "fwseal-test"
#define PIN "1234"

static char dir[256];

/* Under LeakSanitizer: SoftHSM 2.6.1 itself leaks a few ASN.1 strings in C_SignInit on EC and
 * EdDSA keys (allocated and lost inside the module, whose frames the reports show); leaks with
 * a frame in the module are not fwseal's. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libsofthsm2.so\n";
}

/* The module is not built with frame pointers: full unwinding lets the reports (and the
 * suppression above) see its frames. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}

static int run(const char *fmt, ...) FWS_PRINTF(1, 2);
static int run(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* A fresh SoftHSM2 configuration and token store, with one initialized token. */
static int setup(void **state)
{
    (void)state;
    char conf[300];
    snprintf(dir, sizeof dir, "/tmp/fwseal-pkcs11-XXXXXX");
    if (mkdtemp(dir) == NULL || access(MODULE, R_OK) != 0) {
        fprintf(stderr, "no temporary directory or no SoftHSM2 module at %s\n", MODULE);
        return -1;
    }
    snprintf(conf, sizeof conf, "%s/softhsm2.conf", dir);
    FILE *f = fopen(conf, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir);
    fclose(f);
    setenv("SOFTHSM2_CONF", conf, 1);
    unsetenv(FWS_PKCS11_MODULE_ENV);
    unsetenv(FWS_PKCS11_PIN_ENV);
    if (run("mkdir -p '%s/tokens' && softhsm2-util --init-token --free --label " TOKEN " --pin " PIN
            " --so-pin 5678 >/dev/null",
            dir) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return run("rm -rf '%s'", dir) == 0 ? 0 : -1;
}

#define URI(path) "pkcs11:token=" TOKEN ";" path "?module-path=" MODULE "&pin-value=" PIN

/* ---- URIs ---------------------------------------------------------------------------------- */

static void test_uri_parse(void **state)
{
    (void)state;
    fws_pkcs11_uri u;
    fws_errbuf eb = {{0}};
    assert_true(fws_pkcs11_is_uri("PKCS11:token=a"));
    assert_false(fws_pkcs11_is_uri("/etc/key.pem"));
    assert_int_equal(fws_pkcs11_uri_parse("pkcs11:token=My%20Token;manufacturer=SoftHSM%20project;"
                                          "serial=7203dc7a;model=SoftHSM%20v2;object=release%3b1;"
                                          "id=%01%00%ff;type=private;slot-id=42"
                                          "?module-path=/usr/lib/x.so&pin-value=12%2634",
                                          &u, &eb),
                     FWS_OK);
    assert_string_equal(u.token, "My Token");
    assert_string_equal(u.manufacturer, "SoftHSM project");
    assert_string_equal(u.serial, "7203dc7a");
    assert_string_equal(u.model, "SoftHSM v2");
    assert_string_equal(u.object, "release;1");
    assert_int_equal(u.id_len, 3);
    assert_memory_equal(u.id, "\x01\x00\xff", 3);
    assert_true(u.has_slot_id && u.slot_id == 42);
    assert_string_equal(u.module_path, "/usr/lib/x.so");
    assert_string_equal(u.pin_value, "12&34");
    fws_pkcs11_uri_wipe(&u);

    static const char *const sources[][2] = {
        {"pkcs11:?pin-source=file:///etc/pin", "/etc/pin"},
        {"pkcs11:?pin-source=file:/etc/pin", "/etc/pin"},
        {"pkcs11:?pin-source=/etc/pin", "/etc/pin"},
        {"pkcs11:?pin-source=./pin%20file", "./pin file"},
    };
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
        assert_int_equal(fws_pkcs11_uri_parse(sources[i][0], &u, &eb), FWS_OK);
        assert_string_equal(u.pin_source, sources[i][1]);
    }
    assert_int_equal(fws_pkcs11_uri_parse("pkcs11:", &u, &eb), FWS_OK);
    assert_false(u.has_token || u.has_object || u.has_id);

    static const char *const bad[][2] = {
        {"pkcs12:token=a", "not a PKCS#11 URI"},
        {"pkcs11:token=a;token=b", "token appears twice"},
        {"pkcs11:token=a%2", "bad %XX escape"},
        {"pkcs11:token=a%zz", "bad %XX escape"},
        {"pkcs11:token=a b", "must be %-escaped"},
        {"pkcs11:object=a%00b", "NUL byte"},
        {"pkcs11:type=public", "type=public"},
        {"pkcs11:slot-id=x1", "slot-id is not a number"},
        {"pkcs11:slot-id=99999999999999999999999", "slot-id is not a number"},
        {"pkcs11:color=blue", "path attribute \"color\""},
        {"pkcs11:x-vendor=1", "path attribute \"x-vendor\""},
        {"pkcs11:token=a?module-name=softhsm2", "module-name is not supported"},
        {"pkcs11:?pin-source=http://x/pin", "only file:"},
        {"pkcs11:?pin-source=file://host/pin", "only local files"},
        {"pkcs11:token", "is not name=value"},
        {"pkcs11:token=a;;object=b", "empty attribute"},
        {"pkcs11:token=a#frag", "fragment"},
        {"pkcs11:object=x?token=a", "query attribute \"token\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fws_errbuf_clear(&eb);
        memset(&u, 0x5a, sizeof u);
        fws_err err = fws_pkcs11_uri_parse(bad[i][0], &u, &eb);
        if (err != FWS_ERR_FORMAT || strstr(eb.msg, bad[i][1]) == NULL)
            fail_msg("%s: %d \"%s\", expected \"%s\"", bad[i][0], err, eb.msg, bad[i][1]);
        assert_int_equal(u.has_token, 0x5a5a5a5a); /* untouched on failure */
    }
    char longer[FWS_PKCS11_URI_MAX + 32] = "pkcs11:object=";
    memset(longer + 14, 'a', FWS_PKCS11_LABEL_MAX + 1);
    longer[14 + FWS_PKCS11_LABEL_MAX + 1] = '\0';
    assert_int_equal(fws_pkcs11_uri_parse(longer, &u, &eb), FWS_ERR_FORMAT);
    longer[14 + FWS_PKCS11_LABEL_MAX] = '\0';
    assert_int_equal(fws_pkcs11_uri_parse(longer, &u, &eb), FWS_OK);
}

/* ---- DER ------------------------------------------------------------------------------------ */

static void test_ecdsa_der(void **state)
{
    (void)state;
    uint8_t rs[64], der[FWS_SIG_MAX];
    size_t len = 0;
    memset(rs, 0x11, 64);
    assert_int_equal(p11_ecdsa_der(rs, der, sizeof der, &len), FWS_OK);
    assert_int_equal(len, 70);
    assert_memory_equal(der, "\x30\x44\x02\x20\x11", 5);
    memset(rs, 0xff, 32);   /* top bit set: a 0 byte in front */
    memset(rs + 32, 0, 31); /* leading zeros dropped */
    rs[63] = 0x05;
    assert_int_equal(p11_ecdsa_der(rs, der, sizeof der, &len), FWS_OK);
    assert_int_equal(len, 2 + 2 + 33 + 3);
    assert_memory_equal(der, "\x30\x26\x02\x21\x00\xff", 6);
    assert_memory_equal(der + 37, "\x02\x01\x05", 3);
    assert_int_equal(p11_ecdsa_der(rs, der, 10, &len), FWS_ERR_ARG);
}

/* ---- keys in the token ---------------------------------------------------------------------- */

static void generate(fws_key_type type, const char *uri, char *made, size_t cap, fws_key **pub)
{
    fws_errbuf eb = {{0}};
    fws_err err = fws_pkcs11_generate(uri, type, pub, made, cap, &eb);
    if (err != FWS_OK)
        fail_msg("generate %s: %d %s", fws_key_type_name(type), err, eb.msg);
}

static void sign_and_verify(const char *uri, const fws_key *want_pub, fws_key_type type)
{
    fws_signer s;
    fws_key *pub = NULL;
    fws_errbuf eb = {{0}};
    uint8_t sig[FWS_SIG_MAX];
    size_t sig_len = 0;
    char id_want[FWS_KEYID_LEN];
    const uint8_t msg[] = "firmware image 2.4.1";
    fws_err err = fws_pkcs11_signer(uri, &s, &eb);
    if (err != FWS_OK)
        fail_msg("signer %s: %d %s", uri, err, eb.msg);
    assert_int_equal(s.type, type);
    fws_key_id(want_pub, id_want);
    assert_string_equal(s.keyid, id_want);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fws_signer_sign(&s, msg, sizeof msg - 1, sig, sizeof sig, &sig_len),
                         FWS_OK);
        assert_int_equal(fws_key_verify(want_pub, msg, sizeof msg - 1, sig, sig_len), FWS_OK);
        assert_int_equal(fws_key_verify(want_pub, msg, sizeof msg - 2, sig, sig_len),
                         FWS_ERR_SIGNATURE);
    }
    if (type == FWS_KEY_ED25519)
        assert_int_equal(sig_len, 64);
    else
        assert_true(sig[0] == 0x30 && sig_len >= 8 && sig_len <= FWS_SIG_MAX);
    assert_int_equal(fws_signer_sign(&s, NULL, 0, sig, sizeof sig, &sig_len), FWS_OK);
    assert_int_equal(fws_key_verify(want_pub, (const uint8_t *)"", 0, sig, sig_len), FWS_OK);
    assert_int_equal(fws_signer_sign(&s, msg, 3, sig, 16, &sig_len), FWS_ERR_ARG);
    assert_int_equal(fws_signer_public_key(&s, &pub), FWS_OK);
    assert_false(fws_key_is_private(pub));
    char id_pub[FWS_KEYID_LEN];
    fws_key_id(pub, id_pub);
    assert_string_equal(id_pub, id_want);
    fws_key_free(pub);
    fws_signer_free(&s);
}

static void test_generate_sign_verify(void **state)
{
    (void)state;
    static const fws_key_type types[] = {FWS_KEY_ED25519, FWS_KEY_P256};
    static const char *const uris[] = {URI("object=release-ed25519"), URI("object=release-p256")};
    for (size_t i = 0; i < 2; i++) {
        char made[FWS_PKCS11_URI_MAX];
        fws_key *pub = NULL;
        generate(types[i], uris[i], made, sizeof made, &pub);
        assert_int_equal(fws_key_get_type(pub), types[i]);
        /* the returned URI names the new key (with a random id) and carries no PIN */
        assert_non_null(strstr(made, ";id=%"));
        assert_null(strstr(made, PIN));
        sign_and_verify(uris[i], pub, types[i]);
        char full[FWS_PKCS11_URI_MAX + 128];
        snprintf(full, sizeof full, "%s?module-path=" MODULE "&pin-value=" PIN, made);
        sign_and_verify(full, pub, types[i]);
        fws_key_free(pub);
    }
}

static void test_public_export(void **state)
{
    (void)state;
    fws_errbuf eb = {{0}};
    fws_key *pub = NULL, *again = NULL;
    char *pem = NULL;
    char a[FWS_KEYID_LEN], b[FWS_KEYID_LEN];
    generate(FWS_KEY_P256, URI("object=export;id=%42"), NULL, 0, &pub);
    /* the public key object is public: no PIN needed */
    const char *no_pin = "pkcs11:token=" TOKEN ";id=%42?module-path=" MODULE;
    assert_int_equal(fws_pkcs11_public_pem(no_pin, &pem, &eb), FWS_OK);
    assert_int_equal(fws_key_from_public_pem(pem, strlen(pem), &again, &eb), FWS_OK);
    fws_key_id(pub, a);
    fws_key_id(again, b);
    assert_string_equal(a, b);
    free(pem);
    fws_key_free(again);
    fws_key_free(pub);
}

static void expect_signer_error(const char *uri, fws_err want, const char *needle)
{
    fws_signer s;
    fws_errbuf eb = {{0}};
    memset(&s, 0x5a, sizeof s);
    fws_err err = fws_pkcs11_signer(uri, &s, &eb);
    if (err != want || strstr(eb.msg, needle) == NULL)
        fail_msg("%s\n  got %d \"%s\"\n  expected %d with \"%s\"", uri, err, eb.msg, want, needle);
    assert_int_equal(s.type, 0x5a5a5a5a);
}

static void test_failures(void **state)
{
    (void)state;
    fws_errbuf eb = {{0}};
    generate(FWS_KEY_ED25519, URI("object=pin-tests"), NULL, 0, NULL);
    expect_signer_error("pkcs11:token=" TOKEN ";object=pin-tests?module-path=" MODULE
                        "&pin-value=9999",
                        FWS_ERR_PASSPHRASE, "token \"" TOKEN "\": wrong user PIN");
    expect_signer_error("pkcs11:token=" TOKEN ";object=pin-tests?module-path=" MODULE,
                        FWS_ERR_PASSPHRASE, "no user PIN");
    expect_signer_error(URI("object=no-such-key"), FWS_ERR_NOT_FOUND,
                        "token \"" TOKEN "\": no private key with object=no-such-key");
    expect_signer_error(URI("id=%99%98"), FWS_ERR_NOT_FOUND, "no private key with id=9998");
    expect_signer_error("pkcs11:token=nope;object=x?module-path=" MODULE "&pin-value=" PIN,
                        FWS_ERR_NOT_FOUND, "no token matches token=nope");
    expect_signer_error("pkcs11:token=" TOKEN ";object=x?module-path=/nonexistent/p11.so",
                        FWS_ERR_NOT_FOUND, "/nonexistent/p11.so");
    expect_signer_error("pkcs11:token=" TOKEN ";object=x", FWS_ERR_ARG, FWS_PKCS11_MODULE_ENV);
    expect_signer_error("pkcs11:token=" TOKEN ";object=x;object=y", FWS_ERR_FORMAT, "twice");
    /* two keys match a URI naming neither label nor id */
    expect_signer_error("pkcs11:token=" TOKEN "?module-path=" MODULE "&pin-value=" PIN, FWS_ERR_ARG,
                        "several private keys match any object");

    /* the module and the PIN from the environment, the PIN from a file */
    setenv(FWS_PKCS11_MODULE_ENV, MODULE, 1);
    setenv(FWS_PKCS11_PIN_ENV, PIN, 1);
    fws_signer s;
    assert_int_equal(fws_pkcs11_signer("pkcs11:token=" TOKEN ";object=pin-tests", &s, &eb), FWS_OK);
    fws_signer_free(&s);
    unsetenv(FWS_PKCS11_PIN_ENV);
    char pinfile[300], uri[600];
    snprintf(pinfile, sizeof pinfile, "%s/pin.txt", dir);
    FILE *f = fopen(pinfile, "w");
    assert_non_null(f);
    fputs(PIN "\nsecond line\n", f);
    fclose(f);
    snprintf(uri, sizeof uri, "pkcs11:token=" TOKEN ";object=pin-tests?pin-source=file://%s",
             pinfile);
    assert_int_equal(fws_pkcs11_signer(uri, &s, &eb), FWS_OK);
    fws_signer_free(&s);
    snprintf(uri, sizeof uri, "pkcs11:token=" TOKEN ";object=pin-tests?pin-source=%s.missing",
             pinfile);
    expect_signer_error(uri, FWS_ERR_NOT_FOUND, "pin-source");
    unsetenv(FWS_PKCS11_MODULE_ENV);

    /* generating over an existing label or id is refused */
    assert_int_equal(fws_pkcs11_generate(URI("object=pin-tests"), FWS_KEY_P256, NULL, NULL, 0, &eb),
                     FWS_ERR_EXISTS);
    assert_int_equal(
        fws_pkcs11_generate(URI("object=export2;id=%42"), FWS_KEY_P256, NULL, NULL, 0, &eb),
        FWS_ERR_EXISTS);
    assert_int_equal(fws_pkcs11_generate(URI("type=private"), FWS_KEY_P256, NULL, NULL, 0, &eb),
                     FWS_ERR_ARG);
    char small[16];
    assert_int_equal(
        fws_pkcs11_generate(URI("object=small"), FWS_KEY_P256, NULL, small, sizeof small, &eb),
        FWS_ERR_TOO_BIG);
}

/* Two signers on one module share its initialization: freeing one leaves the other working. */
static void test_shared_module(void **state)
{
    (void)state;
    fws_errbuf eb = {{0}};
    fws_signer a, b;
    fws_key *pa = NULL, *pb = NULL;
    uint8_t sig[FWS_SIG_MAX];
    size_t n = 0;
    generate(FWS_KEY_ED25519, URI("object=shared-a"), NULL, 0, &pa);
    generate(FWS_KEY_P256, URI("object=shared-b"), NULL, 0, &pb);
    assert_int_equal(fws_pkcs11_signer(URI("object=shared-a"), &a, &eb), FWS_OK);
    assert_int_equal(fws_pkcs11_signer(URI("object=shared-b"), &b, &eb), FWS_OK);
    fws_signer_free(&a);
    assert_int_equal(fws_signer_sign(&b, (const uint8_t *)"x", 1, sig, sizeof sig, &n), FWS_OK);
    assert_int_equal(fws_key_verify(pb, (const uint8_t *)"x", 1, sig, n), FWS_OK);
    fws_signer_free(&b);
    fws_key_free(pa);
    fws_key_free(pb);
}

/* A P-384 key, made with the module directly (which also initializes it before fwseal does),
 * is refused as a key type fwseal does not sign with. */
static void test_other_curve(void **state)
{
    (void)state;
    static const uint8_t p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
    void *dl = dlopen(MODULE, RTLD_NOW);
    assert_non_null(dl);
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    CK_FUNCTION_LIST_PTR f = NULL;
    assert_int_equal(get(&f), CKR_OK);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    CK_SLOT_ID slots[8];
    CK_ULONG n = 8;
    CK_SESSION_HANDLE h;
    assert_int_equal(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    assert_int_equal(
        f->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h), CKR_OK);
    assert_int_equal(f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)PIN, 4), CKR_OK);
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE pub_t[] = {
        {CKA_TOKEN, &yes, 1}, {CKA_EC_PARAMS, (void *)p384, sizeof p384}, {CKA_LABEL, "p384", 4}};
    CK_ATTRIBUTE priv_t[] = {{CKA_TOKEN, &yes, 1}, {CKA_SIGN, &yes, 1}, {CKA_LABEL, "p384", 4}};
    CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_OBJECT_HANDLE ph, kh;
    assert_int_equal(f->C_GenerateKeyPair(h, &mech, pub_t, 3, priv_t, 3, &ph, &kh), CKR_OK);
    expect_signer_error(URI("object=p384"), FWS_ERR_KEY_TYPE, "curve other than P-256");
    assert_int_equal(f->C_CloseSession(h), CKR_OK);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_parse),
        cmocka_unit_test(test_ecdsa_der),
        cmocka_unit_test(test_generate_sign_verify),
        cmocka_unit_test(test_public_export),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_shared_module),
        cmocka_unit_test(test_other_curve),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
