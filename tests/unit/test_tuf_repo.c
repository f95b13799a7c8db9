/* The repository side: a new deployment, releases and everything a release must refuse, with
 * the deployment byte-for-byte unchanged after each refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "fwseal/dsse.h"
#include "test_tuf_repo_util.h"

/* ---- init ---------------------------------------------------------------------------------- */

static void test_init_layout(void **state)
{
    fx *f = *state;
    char path[4096];
    fws_tuf_md root, md;
    (void)f;
    char *tmp = tr_tmpdir(), dir[1024];
    snprintf(dir, sizeof(dir), "%s/d", tmp);
    assert_int_equal(tr_init(dir, 3, 2, 0, 0, NULL), FWS_OK);
    static const char *files[] = {"fwseal.json",
                                  "releases.json",
                                  "ledger",
                                  "keys",
                                  "repo/metadata/1.root.json",
                                  "repo/metadata/root.json",
                                  "repo/metadata/1.targets.json",
                                  "repo/metadata/1.snapshot.json",
                                  "repo/metadata/timestamp.json",
                                  "repo/targets"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        assert_true(tr_exists(path));
    }
    /* Root 1 is signed by 2 of its 3 keys (all three, in fact), and every role verifies. */
    assert_int_equal(tr_md_load(dir, "1.root.json", FWS_TUF_ROOT, &root), FWS_OK);
    assert_int_equal(tr_verify(&root, FWS_TUF_ROOT, &root), FWS_OK);
    assert_int_equal(json_array_size(json_object_get(root.doc, "signatures")), 3);
    json_t *rr = json_object_get(json_object_get(root.signed_obj, "roles"), "root");
    assert_int_equal(json_integer_value(json_object_get(rr, "threshold")), 2);
    assert_true(json_is_true(json_object_get(root.signed_obj, "consistent_snapshot")));
    assert_int_equal(root.expires, TR_NOW + 365 * 86400);
    static const struct {
        const char *file;
        fws_tuf_kind kind;
        int64_t period;
    } roles[] = {{"1.targets.json", FWS_TUF_TARGETS, 90 * 86400},
                 {"1.snapshot.json", FWS_TUF_SNAPSHOT, 7 * 86400},
                 {"timestamp.json", FWS_TUF_TIMESTAMP, 86400}};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(tr_md_load(dir, roles[i].file, roles[i].kind, &md), FWS_OK);
        assert_int_equal(tr_verify(&root, roles[i].kind, &md), FWS_OK);
        assert_int_equal(md.version, 1);
        assert_int_equal(md.expires, TR_NOW + roles[i].period);
        fws_tuf_md_free(&md);
    }
    fws_tuf_md_free(&root);
    /* A non-empty directory, a bad origin, a threshold above the keys: refused. */
    fws_errbuf eb = {{0}};
    fws_deploy_init_opts o;
    memset(&o, 0, sizeof(o));
    o.dir = dir;
    o.origin = "example.com/fw";
    o.pp = tr_pp();
    assert_int_equal(fws_deploy_init(&o, NULL, NULL, NULL, &eb), FWS_ERR_EXISTS);
    assert_non_null(strstr(eb.msg, "not empty"));
    snprintf(path, sizeof(path), "%s/e", tmp);
    o.dir = path;
    o.origin = "bad origin";
    assert_int_equal(fws_deploy_init(&o, NULL, NULL, NULL, NULL), FWS_ERR_ARG);
    o.origin = "example.com/fw";
    o.root_keys = 2;
    o.root_threshold = 3;
    assert_int_equal(fws_deploy_init(&o, NULL, NULL, NULL, NULL), FWS_ERR_ARG);
    assert_false(tr_exists(path));
    tr_rm_rf(tmp);
    free(tmp);
}

static void test_init_offline_root(void **state)
{
    (void)state;
    char *tmp = tr_tmpdir(), dir[1024], offline[1024];
    snprintf(dir, sizeof(dir), "%s/d", tmp);
    snprintf(offline, sizeof(offline), "%s/usb", tmp);
    assert_int_equal(tr_init(dir, 2, 1, 0, 0, offline), FWS_OK);
    fws_deploy *d = NULL;
    assert_int_equal(fws_deploy_open(dir, &d, NULL), FWS_OK);
    json_t *list = NULL;
    /* The root keys are on the offline medium, named by absolute path. */
    DIR *dh = opendir(offline);
    struct dirent *e;
    int pem = 0;
    while (dh != NULL && (e = readdir(dh)) != NULL)
        pem += strstr(e->d_name, "root-") == e->d_name && strstr(e->d_name, ".pem") != NULL;
    closedir(dh);
    assert_int_equal(pem, 2);
    assert_int_equal(fws_release_list(d, NULL, &list, NULL), FWS_OK);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    fws_deploy_close(d);
    tr_rm_rf(tmp);
    free(tmp);
}

static void test_lock(void **state)
{
    fx *f = *state;
    fws_deploy *d2 = NULL;
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_deploy_open(f->deploy, &d2, &eb), FWS_ERR_STATE);
    assert_non_null(strstr(eb.msg, "another fwseal command"));
    assert_int_equal(fws_deploy_open(f->tmp, &d2, &eb), FWS_ERR_NOT_FOUND);
}
/* ---- a release ------------------------------------------------------------------------------ */

static const char sbom_text[] = "{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\", "
                                "\"version\": 1, \"components\": []}";

static char *read_text(const char *path, size_t *len)
{
    uint8_t *data = NULL;
    assert_int_equal(fws_file_read(path, (size_t)1 << 26, &data, len, NULL), FWS_OK);
    return (char *)data;
}

/* The published file of a target: <dir>/<sha256>.<base>, which is also <sha512>.<base>. */
static void check_target_file(fx *f, const char *target, json_t *entry, const char *image)
{
    char p256[4096], p512[4096];
    const char *slash = strrchr(target, '/');
    json_t *h = json_object_get(entry, "hashes");
    snprintf(p256, sizeof(p256), "%s/repo/targets/%.*s/%s.%s", f->deploy, (int)(slash - target),
             target, json_string_value(json_object_get(h, "sha256")), slash + 1);
    snprintf(p512, sizeof(p512), "%s/repo/targets/%.*s/%s.%s", f->deploy, (int)(slash - target),
             target, json_string_value(json_object_get(h, "sha512")), slash + 1);
    struct stat a, b;
    assert_int_equal(lstat(p256, &a), 0);
    assert_int_equal(lstat(p512, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_size, json_integer_value(json_object_get(entry, "length")));
    if (image != NULL) {
        size_t n1 = 0, n2 = 0;
        char *x = read_text(p256, &n1), *y = read_text(image, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(x, y, n1);
        free(x);
        free(y);
    }
}

static void test_release_published(void **state)
{
    fx *f = *state;
    fws_release_req r;
    fws_release_result res;
    fws_errbuf eb = {{0}};
    char sbom[4096], changelog[4096];
    snprintf(sbom, sizeof(sbom), "%s/fw.cdx.json", f->tmp);
    snprintf(changelog, sizeof(changelog), "%s/CHANGES", f->tmp);
    assert_int_equal(tr_write(sbom, sbom_text, strlen(sbom_text)), 0);
    assert_int_equal(tr_write(changelog, "Fixes\n\t- the radio\n", 19), 0);
    request(f, &r, image_path(f, "1.0.0"), "1.0.0", 7);
    r.sbom = sbom;
    r.changelog = changelog;
    f->ledger.n = 5; /* the ledger already holds records */
    for (int i = 0; i < 5; i++)
        f->ledger.records[i] = strdup("{}");
    assert_int_equal(fws_release_add(f->d, &r, &f->l, &res, &eb), FWS_OK);
    assert_string_equal(res.target, "hub/1.0.0/fw.bin");
    assert_int_equal(res.ledger_index, 5);
    assert_int_equal(res.targets_version, 2);
    assert_int_equal(res.snapshot_version, 2);
    assert_int_equal(res.timestamp_version, 2);
    assert_string_equal(res.delegated_role, "targets");

    /* The metadata chain: timestamp -> snapshot 2 -> targets 2, each signed by its role. */
    fws_tuf_md ts, sn, tg;
    assert_int_equal(
        tr_load_verified(f->deploy, "root.json", "timestamp.json", FWS_TUF_TIMESTAMP, &ts), FWS_OK);
    assert_int_equal(tr_meta_version(&ts, "snapshot.json"), 2);
    assert_int_equal(ts.expires, r.now + 86400);
    assert_int_equal(
        tr_load_verified(f->deploy, "root.json", "2.snapshot.json", FWS_TUF_SNAPSHOT, &sn), FWS_OK);
    assert_int_equal(tr_meta_version(&sn, "targets.json"), 2);
    assert_int_equal(
        tr_load_verified(f->deploy, "root.json", "2.targets.json", FWS_TUF_TARGETS, &tg), FWS_OK);
    json_t *targets = json_object_get(tg.signed_obj, "targets");
    assert_int_equal(json_object_size(targets), 3); /* image, provenance, SBOM */
    json_t *img = json_object_get(targets, "hub/1.0.0/fw.bin");
    assert_non_null(img);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(img, "hashes"), "sha256")), res.sha256);
    check_target_file(f, "hub/1.0.0/fw.bin", img, image_path(f, "1.0.0"));

    /* custom.fwseal */
    json_t *c = json_object_get(json_object_get(img, "custom"), "fwseal");
    assert_string_equal(json_string_value(json_object_get(c, "product")), "hub");
    assert_string_equal(json_string_value(json_object_get(c, "version")), "1.0.0");
    assert_int_equal(json_integer_value(json_object_get(c, "securityCounter")), 7);
    assert_int_equal(json_integer_value(json_object_get(c, "ledgerIndex")), 5);
    assert_string_equal(json_string_value(json_object_get(c, "changelog")),
                        "Fixes\n\t- the radio\n");
    assert_int_equal(json_array_size(json_object_get(c, "hardware")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "regions"), 0)), "eu");
    assert_int_equal(strlen(json_string_value(json_object_get(c, "nonce"))), 32);
    const char *sbom_target =
        json_string_value(json_object_get(json_object_get(c, "sbom"), "target"));
    const char *prov_target =
        json_string_value(json_object_get(json_object_get(c, "provenance"), "target"));
    assert_string_equal(sbom_target, "hub/1.0.0/fw.bin.sbom.cdx.json");
    assert_string_equal(prov_target, "hub/1.0.0/fw.bin.provenance.dsse.json");
    check_target_file(f, sbom_target, json_object_get(targets, sbom_target), sbom);
    check_target_file(f, prov_target, json_object_get(targets, prov_target), NULL);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(c, "sbom"), "sha256")),
        json_string_value(json_object_get(
            json_object_get(json_object_get(targets, sbom_target), "hashes"), "sha256")));

    /* The ledger's release record. */
    assert_int_equal(f->ledger.n, 6);
    json_t *rec = tr_ledger_last(&f->ledger);
    assert_string_equal(json_string_value(json_object_get(rec, "type")), "release");
    assert_int_equal(json_integer_value(json_object_get(rec, "schema")), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "image"), "sha256")),
                        res.sha256);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rec, "image"), "size")),
                     70000);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(rec, "provenance"), "sha256")),
        json_string_value(json_object_get(json_object_get(c, "provenance"), "sha256")));
    json_decref(rec);
    fws_tuf_md_free(&ts);
    fws_tuf_md_free(&sn);
    fws_tuf_md_free(&tg);

    /* The index. */
    json_t *list = NULL, *show = NULL;
    assert_int_equal(fws_release_list(f->d, "hub", &list, NULL), FWS_OK);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    assert_int_equal(fws_release_list(f->d, "other", &list, NULL), FWS_OK);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    assert_int_equal(fws_release_show(f->d, "hub", "1.0.0", &show, NULL), FWS_OK);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(show, "published"), "role")), "targets");
    json_decref(show);
    assert_int_equal(fws_release_show(f->d, "hub", "9", &show, &eb), FWS_ERR_NOT_FOUND);
}

/* The generated provenance: SLSA v1 about the image, signed by the targets key. */
static void test_release_provenance(void **state)
{
    fx *f = *state;
    fws_release_result res;
    char path[4096];
    assert_int_equal(add(f, "2.0", 1, &res, NULL), FWS_OK);
    json_t *show = NULL;
    assert_int_equal(fws_release_show(f->d, "hub", "2.0", &show, NULL), FWS_OK);
    const char *h =
        json_string_value(json_object_get(json_object_get(show, "provenance"), "sha256"));
    snprintf(path, sizeof(path), "%s/repo/targets/hub/2.0/%s.fw.bin.provenance.dsse.json",
             f->deploy, h);
    size_t len = 0;
    char *env_text = read_text(path, &len);
    fws_dsse_envelope env;
    assert_int_equal(fws_dsse_parse((const uint8_t *)env_text, len, &env, NULL), FWS_OK);
    uint8_t sha[FWS_SHA256_LEN];
    size_t n = 0;
    assert_int_equal(fws_hex_decode(res.sha256, 64, sha, sizeof(sha), &n), FWS_OK);
    char name[256];
    assert_int_equal(fws_intoto_match_subject(env.unverified_payload, env.payload_len, sha, name,
                                              sizeof(name), NULL),
                     FWS_OK);
    assert_string_equal(name, "hub/2.0/fw.bin");
    json_t *st = json_loadb((const char *)env.unverified_payload, env.payload_len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(st, "predicateType")),
                        "https://slsa.dev/provenance/v1");
    json_t *bd = json_object_get(json_object_get(st, "predicate"), "buildDefinition");
    assert_string_equal(json_string_value(json_object_get(bd, "buildType")),
                        "https://fwseal.dev/build/manual/v1");
    json_t *rd = json_object_get(json_object_get(st, "predicate"), "runDetails");
    assert_non_null(json_object_get(json_object_get(rd, "builder"), "id"));
    assert_non_null(json_object_get(json_object_get(rd, "metadata"), "invocationId"));
    /* Signed by the targets key: verify with the targets key's public half. */
    fws_tuf_md root;
    assert_int_equal(tr_md_load(f->deploy, "root.json", FWS_TUF_ROOT, &root), FWS_OK);
    json_t *ids = json_object_get(
        json_object_get(json_object_get(root.signed_obj, "roles"), "targets"), "keyids");
    json_t *kobj = json_object_get(json_object_get(root.signed_obj, "keys"),
                                   json_string_value(json_array_get(ids, 0)));
    const char *hex = json_string_value(json_object_get(json_object_get(kobj, "keyval"), "public"));
    uint8_t raw[32];
    fws_key *pub = NULL;
    assert_int_equal(fws_hex_decode(hex, 64, raw, sizeof(raw), &n), FWS_OK);
    assert_int_equal(fws_key_from_raw_public(FWS_KEY_ED25519, raw, 32, &pub), FWS_OK);
    const fws_key *keys1[1] = {pub};
    assert_int_equal(fws_dsse_verify(&env, keys1, 1, 1, NULL), FWS_OK);
    fws_key_free(pub);
    fws_tuf_md_free(&root);
    json_decref(st);
    fws_dsse_envelope_free(&env);
    free(env_text);
    json_decref(show);
}

/* A provenance given by the build: kept as it is when its statement names the image. */
static void test_release_given_provenance(void **state)
{
    fx *f = *state;
    fws_release_req r;
    fws_release_result res;
    fws_errbuf eb = {{0}};
    fws_key *k = NULL;
    fws_signer s;
    uint8_t sha[FWS_SHA256_LEN];
    char *statement = NULL, *env = NULL, path[4096];
    size_t slen = 0, elen = 0;
    const char *image = image_path(f, "3.1");
    uint64_t len = 0;
    assert_int_equal(fws_hash_file(image, 1u << 30, sha, NULL, &len, NULL), FWS_OK);
    assert_int_equal(fws_key_generate(FWS_KEY_P256, &k), FWS_OK);
    assert_int_equal(fws_signer_from_key(k, &s), FWS_OK);
    json_t *pred = json_pack("{s:{s:s, s:{}}, s:{s:{s:s}}}", "buildDefinition", "buildType",
                             "https://ci.example/build/v1", "externalParameters", "runDetails",
                             "builder", "id", "https://ci.example/runner");
    assert_int_equal(fws_intoto_statement("fw.bin", sha, "https://slsa.dev/provenance/v1", pred,
                                          &statement, &slen, NULL),
                     FWS_OK);
    const fws_signer *signers[1] = {&s};
    assert_int_equal(fws_dsse_sign(FWS_INTOTO_PAYLOAD_TYPE, (const uint8_t *)statement, slen,
                                   signers, 1, &env, &elen, NULL),
                     FWS_OK);
    snprintf(path, sizeof(path), "%s/ci.dsse.json", f->tmp);
    assert_int_equal(tr_write(path, env, elen), 0);
    request(f, &r, image, "3.1", 1);
    r.provenance = path;
    assert_int_equal(fws_release_add(f->d, &r, &f->l, &res, &eb), FWS_OK);
    uint8_t d[FWS_SHA256_LEN];
    char hex[65];
    fws_sha256(env, elen, d);
    fws_hex_encode(d, sizeof(d), hex);
    json_t *rec = tr_ledger_last(&f->ledger);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(rec, "provenance"), "sha256")), hex);
    json_decref(rec);
    fws_signer_free(&s);
    free(statement);
    free(env);
}

static void test_status(void **state)
{
    fx *f = *state;
    json_t *st = NULL;
    assert_int_equal(fws_repo_status(f->d, TR_NOW, &st, NULL), FWS_OK);
    json_t *ts = json_object_get(json_object_get(st, "roles"), "timestamp");
    assert_int_equal(json_integer_value(json_object_get(ts, "version")), 1);
    assert_true(json_is_false(json_object_get(ts, "expired")));
    json_decref(st);
    assert_int_equal(fws_repo_status(f->d, TR_NOW + 86400, &st, NULL), FWS_OK);
    ts = json_object_get(json_object_get(st, "roles"), "timestamp");
    assert_true(json_is_true(json_object_get(ts, "expired")));
    json_decref(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_layout, setup, teardown),
        cmocka_unit_test(test_init_offline_root),
        cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_published, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_provenance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_given_provenance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
