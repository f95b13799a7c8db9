/* Releases that must be refused: each gives a precise error and leaves the deployment (repository,
 * index, config, ledger) byte-for-byte as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "fwseal/dsse.h"
#include "test_tuf_repo_util.h"

typedef struct snap {
    uint8_t tree[FWS_SHA256_LEN];
    size_t ledger_n;
} snap;

static void take(fx *f, snap *s)
{
    tr_hash_tree(f->deploy, s->tree);
    s->ledger_n = f->ledger.n;
}

static void unchanged(fx *f, const snap *s)
{
    uint8_t now[FWS_SHA256_LEN];
    tr_hash_tree(f->deploy, now);
    assert_memory_equal(now, s->tree, sizeof(now));
    assert_int_equal(f->ledger.n, s->ledger_n);
}

/* Runs a release and checks the refusal: code, a message part, nothing changed. */
static void refused(fx *f, fws_release_req *r, fws_err want, const char *msg)
{
    snap s;
    fws_errbuf eb = {{0}};
    fws_release_result res;
    take(f, &s);
    fws_err got = fws_release_add(f->d, r, &f->l, &res, &eb);
    if (got != want || strstr(eb.msg, msg) == NULL)
        print_error("got %d \"%s\", want %d with \"%s\"\n", got, eb.msg, want, msg);
    assert_int_equal(got, want);
    assert_non_null(strstr(eb.msg, msg));
    unchanged(f, &s);
}

static int setup_released(void **state)
{
    setup(state);
    fx *f = *state;
    assert_int_equal(add(f, "1.0", 5, NULL, NULL), FWS_OK);
    return 0;
}

static char *file_with(fx *f, const char *name, const char *text)
{
    static char path[2][2048];
    static int which;
    char *p = path[which++ & 1];
    snprintf(p, 2048, "%s/%s", f->tmp, name);
    assert_int_equal(tr_write(p, text, strlen(text)), 0);
    return p;
}

static void test_bad_sbom(void **state)
{
    fx *f = *state;
    fws_release_req r;
    request(f, &r, image_path(f, "1.1"), "1.1", 5);
    r.sbom = file_with(f, "spdx.json", "{\"spdxVersion\": \"SPDX-2.3\"}");
    refused(f, &r, FWS_ERR_SCHEMA, "not a valid CycloneDX 1.6 SBOM");
    r.sbom =
        file_with(f, "old.cdx.json", "{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.5\"}");
    refused(f, &r, FWS_ERR_SCHEMA, "specVersion is \"1.5\"");
    r.sbom = file_with(f, "broken.cdx.json", "{\"bomFormat\": \"CycloneDX\",");
    refused(f, &r, FWS_ERR_FORMAT, "not JSON");
    /* A validator plugged in through the seam decides. */
    request(f, &r, image_path(f, "1.1"), "1.1", 5);
    r.sbom =
        file_with(f, "ok.cdx.json", "{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\"}");
    r.sbom_check = NULL;
    assert_int_equal(fws_release_add(f->d, &r, &f->l, NULL, NULL), FWS_OK);
}

static fws_err strict_check(const uint8_t *data, size_t len, fws_errbuf *eb)
{
    (void)data;
    (void)len;
    return fws_errf(eb, FWS_ERR_SCHEMA, "/components/0/type: not one of the allowed values");
}

static void test_sbom_validator_seam(void **state)
{
    fx *f = *state;
    fws_release_req r;
    request(f, &r, image_path(f, "1.1"), "1.1", 5);
    r.sbom =
        file_with(f, "ok.cdx.json", "{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\"}");
    r.sbom_check = strict_check;
    refused(f, &r, FWS_ERR_SCHEMA, "/components/0/type");
}

static fws_err strict_provenance(const char *path, const uint8_t *data, size_t len,
                                 const uint8_t sha256[FWS_SHA256_LEN], fws_errbuf *eb)
{
    (void)data;
    (void)len;
    (void)sha256;
    return fws_errf(eb, FWS_ERR_SIGNATURE, "%s: not signed by the CI builder", path);
}

/* A provenance verifier plugged in through the seam decides too. */
static void test_provenance_seam(void **state)
{
    fx *f = *state;
    fws_release_req r;
    request(f, &r, image_path(f, "1.1"), "1.1", 5);
    r.provenance = file_with(f, "any.dsse.json", "{}");
    r.provenance_check = strict_provenance;
    refused(f, &r, FWS_ERR_SIGNATURE, "not signed by the CI builder");
}

static void test_duplicate_and_counter(void **state)
{
    fx *f = *state;
    fws_release_req r;
    request(f, &r, image_path(f, "1.0b"), "1.0", 5);
    refused(f, &r, FWS_ERR_EXISTS, "hub 1.0 was already released");
    request(f, &r, image_path(f, "1.1"), "1.1", 4);
    refused(f, &r, FWS_ERR_ROLLBACK, "security counter 4 is lower than 5");
    /* Equal is fine (a release that fixes no vulnerability). */
    request(f, &r, image_path(f, "1.1"), "1.1", 5);
    assert_int_equal(fws_release_add(f->d, &r, &f->l, NULL, NULL), FWS_OK);
    /* Another product has its own counter. */
    request(f, &r, image_path(f, "0.1"), "0.1", 0);
    r.product = "plug";
    assert_int_equal(fws_release_add(f->d, &r, &f->l, NULL, NULL), FWS_OK);
}

static void test_bad_names(void **state)
{
    fx *f = *state;
    fws_release_req r;
    static const char *bad_hw[] = {"hub\nv2"};
    static const char *dup_hw[] = {"a", "a"};
    request(f, &r, image_path(f, "1.1"), "1..1", 6);
    refused(f, &r, FWS_ERR_ARG, "contains \"..\"");
    request(f, &r, image_path(f, "1.1"), "1.1", 6);
    r.product = "../etc";
    refused(f, &r, FWS_ERR_ARG, "product \"../etc\" contains \"..\"");
    r.product = "a/b";
    refused(f, &r, FWS_ERR_ARG, "only letters, digits");
    r.product = ".hidden";
    refused(f, &r, FWS_ERR_ARG, "starts with '.'");
    r.product = "hub";
    r.version = "1 1";
    refused(f, &r, FWS_ERR_ARG, "only letters, digits");
    r.version = "1.1";
    char odd[2048];
    snprintf(odd, sizeof(odd), "%s/fw..bin", f->tmp);
    assert_int_equal(tr_write_random(odd, 100), 0);
    r.image = odd;
    refused(f, &r, FWS_ERR_ARG, "image file name \"fw..bin\" contains \"..\"");
    r.image = image_path(f, "1.1");
    r.n_hardware = 0;
    refused(f, &r, FWS_ERR_ARG, "hardware: 1 to 32 entries");
    r.hardware = bad_hw;
    r.n_hardware = 1;
    refused(f, &r, FWS_ERR_ARG, "control character");
    r.hardware = dup_hw;
    r.n_hardware = 2;
    refused(f, &r, FWS_ERR_ARG, "listed twice");
}

static void test_bad_files(void **state)
{
    fx *f = *state;
    fws_release_req r;
    char missing[2048], empty[2048];
    snprintf(missing, sizeof(missing), "%s/nothing.bin", f->tmp);
    request(f, &r, missing, "1.1", 6);
    refused(f, &r, FWS_ERR_NOT_FOUND, "nothing.bin");
    snprintf(empty, sizeof(empty), "%s/empty.bin", f->tmp);
    assert_int_equal(tr_write(empty, "", 0), 0);
    r.image = empty;
    refused(f, &r, FWS_ERR_ARG, "the image is empty");
    request(f, &r, image_path(f, "1.1"), "1.1", 6);
    r.changelog = file_with(f, "CHANGES", "bell\a");
    refused(f, &r, FWS_ERR_FORMAT, "control character");
    r.changelog = missing;
    refused(f, &r, FWS_ERR_NOT_FOUND, "nothing.bin");
    r.changelog = NULL;
    r.provenance = file_with(f, "p.json", "{\"payload\": 1}");
    refused(f, &r, FWS_ERR_SCHEMA, "not a DSSE envelope");
}

/* A provenance about another file is refused. */
static void test_provenance_wrong_subject(void **state)
{
    fx *f = *state;
    fws_release_req r;
    fws_key *k = NULL;
    fws_signer s;
    uint8_t sha[FWS_SHA256_LEN] = {1, 2, 3};
    char *statement = NULL, *env = NULL;
    size_t slen = 0, elen = 0;
    assert_int_equal(fws_key_generate(FWS_KEY_ED25519, &k), FWS_OK);
    assert_int_equal(fws_signer_from_key(k, &s), FWS_OK);
    assert_int_equal(fws_intoto_statement("other.bin", sha, "https://slsa.dev/provenance/v1",
                                          json_object(), &statement, &slen, NULL),
                     FWS_OK);
    const fws_signer *signers[1] = {&s};
    assert_int_equal(fws_dsse_sign(FWS_INTOTO_PAYLOAD_TYPE, (const uint8_t *)statement, slen,
                                   signers, 1, &env, &elen, NULL),
                     FWS_OK);
    request(f, &r, image_path(f, "1.1"), "1.1", 6);
    r.provenance = file_with(f, "other.dsse.json", env);
    refused(f, &r, FWS_ERR_DIGEST, "not a subject of the statement");
    fws_signer_free(&s);
    free(statement);
    free(env);
}

static void test_expired(void **state)
{
    fx *f = *state;
    fws_release_req r;
    request(f, &r, image_path(f, "1.1"), "1.1", 6);
    r.now = TR_NOW + 2 * 86400; /* the timestamp (1 day) has expired */
    refused(f, &r, FWS_ERR_EXPIRED, "timestamp metadata (version 2) expired");
    r.now = TR_NOW + 400 * 86400; /* so has root (1 year) */
    refused(f, &r, FWS_ERR_EXPIRED, "root metadata (version 1) expired");
    r.now = TR_NOW + 400 * 86400;
}

/* The image changes between hashing and publishing: nothing is published, nothing recorded. */
static void test_image_changed(void **state)
{
    fx *f = *state;
    fws_release_req r;
    fws_release_plan *plan = NULL;
    fws_errbuf eb = {{0}};
    snap s;
    const char *image = image_path(f, "1.1");
    take(f, &s);
    request(f, &r, image, "1.1", 6);
    assert_int_equal(fws_release_prepare(f->d, &r, &plan, NULL), FWS_OK);
    unchanged(f, &s);                                   /* preparing writes nothing */
    assert_int_equal(tr_write_random(image, 70000), 0); /* same length, other bytes */
    assert_int_equal(fws_release_publish(f->d, plan, &f->l, NULL, &eb), FWS_ERR_DIGEST);
    assert_non_null(strstr(eb.msg, "changed between hashing and publishing"));
    fws_release_plan_free(plan);
    unchanged(f, &s);
    /* Longer. */
    assert_int_equal(fws_release_prepare(f->d, &r, &plan, NULL), FWS_OK);
    assert_int_equal(tr_write_random(image, 70001), 0);
    memset(&eb, 0, sizeof(eb));
    assert_int_equal(fws_release_publish(f->d, plan, &f->l, NULL, &eb), FWS_ERR_DIGEST);
    assert_non_null(strstr(eb.msg, "changed between hashing and publishing"));
    fws_release_plan_free(plan);
    unchanged(f, &s);
}

/* A ledger that refuses the append: nothing is published. */
static void test_ledger_refuses(void **state)
{
    fx *f = *state;
    fws_release_req r;
    request(f, &r, image_path(f, "1.1"), "1.1", 6);
    f->ledger.fail = 1;
    refused(f, &r, FWS_ERR_IO, "test ledger refuses the append");
}

/* Publishing fails after the ledger append (a directory stands where the next snapshot goes):
 * the previous consistent snapshot is still the one served, and the staged files are gone. */
static void test_publish_failure_keeps_snapshot(void **state)
{
    fx *f = *state;
    fws_release_req r;
    fws_errbuf eb = {{0}};
    char blocker[2048];
    uint8_t before[FWS_SHA256_LEN], after[FWS_SHA256_LEN];
    snprintf(blocker, sizeof(blocker), "%s/repo/metadata/3.snapshot.json", f->deploy);
    assert_int_equal(mkdir(blocker, 0755), 0);
    tr_hash_tree(f->deploy, before);
    request(f, &r, image_path(f, "1.1"), "1.1", 6);
    assert_int_not_equal(fws_release_add(f->d, &r, &f->l, NULL, &eb), FWS_OK);
    assert_non_null(strstr(eb.msg, "was appended, but publishing failed"));
    tr_hash_tree(f->deploy, after);
    assert_memory_equal(before, after, sizeof(before));
    rmdir(blocker);
    /* The next release publishes normally. */
    request(f, &r, image_path(f, "1.2"), "1.2", 6);
    assert_int_equal(fws_release_add(f->d, &r, &f->l, NULL, NULL), FWS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_sbom, setup_released, teardown),
        cmocka_unit_test_setup_teardown(test_sbom_validator_seam, setup_released, teardown),
        cmocka_unit_test_setup_teardown(test_provenance_seam, setup_released, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_and_counter, setup_released, teardown),
        cmocka_unit_test_setup_teardown(test_bad_names, setup_released, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files, setup_released, teardown),
        cmocka_unit_test_setup_teardown(test_provenance_wrong_subject, setup_released, teardown),
        cmocka_unit_test_setup_teardown(test_expired, setup_released, teardown),
        cmocka_unit_test_setup_teardown(test_image_changed, setup_released, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_refuses, setup_released, teardown),
        cmocka_unit_test_setup_teardown(test_publish_failure_keeps_snapshot, setup_released,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
