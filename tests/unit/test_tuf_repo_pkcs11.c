/* Role keys in a PKCS#11 token (SoftHSM2 in a temporary directory): a deployment's targets and
 * timestamp keys are moved into the token with `key rotate --use`, and what they sign afterwards
 * verifies under the new root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "fwseal/pkcs11.h"
#include "test_tuf_repo_util.h"

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"

/* Under LeakSanitizer: SoftHSM 2.6.1 loses a few ASN.1 strings inside the module when it signs
 * with EC and EdDSA keys; leaks with a frame in the module are not fwseal's. The module has no
 * frame pointers, so full unwinding is needed for the reports to show its frames. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libsofthsm2.so\n";
}
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}

static int setup_token(void **state)
{
    char conf[2048], tokens[2048], cmd[4096];
    setup(state);
    fx *f = *state;
    if (!tr_exists(MODULE))
        fail_msg("SoftHSM2 is not installed (%s): run scripts/setup", MODULE);
    snprintf(tokens, sizeof(tokens), "%s/tokens", f->tmp);
    snprintf(conf, sizeof(conf), "%s/softhsm2.conf", f->tmp);
    assert_int_equal(mkdir(tokens, 0700), 0);
    char text[4096];
    int n = snprintf(text, sizeof(text),
                     "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n",
                     tokens);
    assert_int_equal(tr_write(conf, text, (size_t)n), 0);
    setenv("SOFTHSM2_CONF", conf, 1);
    setenv(FWS_PKCS11_MODULE_ENV, MODULE, 1);
    setenv(FWS_PKCS11_PIN_ENV, "1234", 1);
    snprintf(cmd, sizeof(cmd),
             "softhsm2-util --init-token --free --label fwseal-repo --pin 1234 --so-pin 5678 "
             ">/dev/null");
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void make_token_key(const char *object, fws_key_type type, char *uri, size_t cap)
{
    char want[256];
    fws_errbuf eb = {{0}};
    fws_key *pub = NULL;
    snprintf(want, sizeof(want), "pkcs11:token=fwseal-repo;object=%s", object);
    fws_err err = fws_pkcs11_generate(want, type, &pub, uri, cap, &eb);
    if (err != FWS_OK)
        print_error("pkcs11 generate: %s\n", eb.msg);
    assert_int_equal(err, FWS_OK);
    fws_key_free(pub);
}

static void test_roles_in_token(void **state)
{
    fx *f = *state;
    char targets_uri[1024], ts_uri[1024];
    fws_errbuf eb = {{0}};
    fws_rotate_result res;
    make_token_key("targets", FWS_KEY_ED25519, targets_uri, sizeof(targets_uri));
    make_token_key("timestamp", FWS_KEY_P256, ts_uri, sizeof(ts_uri));

    const char *use1[1] = {targets_uri};
    fws_rotate_req r = {
        .role = FWS_TUF_TARGETS, .use = {use1, 1}, .pp = tr_pp(), .now = TR_NOW + 10};
    fws_err err = fws_repo_rotate(f->d, &r, &res, &eb);
    if (err != FWS_OK)
        print_error("rotate: %s\n", eb.msg);
    assert_int_equal(err, FWS_OK);
    const char *use2[1] = {ts_uri};
    r.role = FWS_TUF_TIMESTAMP;
    r.use.refs = use2;
    assert_int_equal(fws_repo_rotate(f->d, &r, &res, NULL), FWS_OK);
    assert_int_equal(res.root_version, 3);

    /* The config names the token keys by URI; no key file was made for them. */
    char cfg_path[2048];
    uint8_t *cfg = NULL;
    size_t len = 0;
    snprintf(cfg_path, sizeof(cfg_path), "%s/fwseal.json", f->deploy);
    assert_int_equal(fws_file_read(cfg_path, 1 << 20, &cfg, &len, NULL), FWS_OK);
    assert_non_null(strstr((char *)cfg, "pkcs11:token=fwseal-repo;object=targets"));
    free(cfg);

    /* A release is signed in the token, and verifies under root 3; so is the timestamp. */
    assert_int_equal(add(f, "1.0", 1, NULL, NULL), FWS_OK);
    fws_tuf_md md;
    assert_int_equal(
        tr_load_verified(f->deploy, "3.root.json", "3.targets.json", FWS_TUF_TARGETS, &md), FWS_OK);
    assert_non_null(json_object_get(json_object_get(md.signed_obj, "targets"), "hub/1.0/fw.bin"));
    fws_tuf_md_free(&md);
    assert_int_equal(
        tr_load_verified(f->deploy, "3.root.json", "timestamp.json", FWS_TUF_TIMESTAMP, &md),
        FWS_OK);
    fws_tuf_md_free(&md);

    /* Without the PIN the token key does not open, and nothing is published. */
    uint8_t before[FWS_SHA256_LEN], after[FWS_SHA256_LEN];
    unsetenv(FWS_PKCS11_PIN_ENV);
    tr_hash_tree(f->deploy, before);
    memset(&eb, 0, sizeof(eb));
    assert_int_equal(add(f, "1.1", 1, NULL, &eb), FWS_ERR_PASSPHRASE);
    assert_non_null(strstr(eb.msg, "targets"));
    tr_hash_tree(f->deploy, after);
    assert_memory_equal(before, after, sizeof(before));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roles_in_token, setup_token, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
