/* Revocation, key rotation, refresh and TAP 15 hashed bins on the repository side, checked
 * through the TUF model the client uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "test_tuf_repo_util.h"

static int setup_bins(void **state)
{
    return setup_with(state, 3, 4); /* bins once more than 3 targets: 16 bins */
}

static json_t *targets_of(const fws_tuf_md *md)
{
    return json_object_get(md->signed_obj, "targets");
}

/* The snapshot and targets versions the current timestamp leads to. */
static void current(fx *f, int64_t *snapshot, int64_t *targets)
{
    fws_tuf_md ts, sn;
    char file[64];
    assert_int_equal(tr_md_load(f->deploy, "timestamp.json", FWS_TUF_TIMESTAMP, &ts), FWS_OK);
    *snapshot = tr_meta_version(&ts, "snapshot.json");
    snprintf(file, sizeof(file), "%lld.snapshot.json", (long long)*snapshot);
    assert_int_equal(tr_md_load(f->deploy, file, FWS_TUF_SNAPSHOT, &sn), FWS_OK);
    *targets = tr_meta_version(&sn, "targets.json");
    fws_tuf_md_free(&ts);
    fws_tuf_md_free(&sn);
}

static void load_targets(fx *f, const char *root, fws_tuf_md *tg)
{
    int64_t sv = 0, tv = 0;
    char file[64];
    current(f, &sv, &tv);
    snprintf(file, sizeof(file), "%lld.targets.json", (long long)tv);
    assert_int_equal(tr_load_verified(f->deploy, root, file, FWS_TUF_TARGETS, tg), FWS_OK);
}

/* ---- revocation --------------------------------------------------------------------------- */

static void test_revoke(void **state)
{
    fx *f = *state;
    fws_revoke_req r = {.product = "hub",
                        .version = "1.0",
                        .reason = "boot loop on hub-v2",
                        .pp = tr_pp(),
                        .now = TR_NOW + 120};
    fws_errbuf eb = {{0}};
    fws_tuf_md tg;
    uint64_t li = 0;
    assert_int_equal(add(f, "1.0", 1, NULL, NULL), FWS_OK);
    assert_int_equal(add(f, "1.1", 1, NULL, NULL), FWS_OK);
    assert_int_equal(fws_release_revoke(f->d, &r, &f->l, &li, &eb), FWS_OK);
    assert_int_equal(li, 2);
    json_t *rec = tr_ledger_last(&f->ledger);
    assert_string_equal(json_string_value(json_object_get(rec, "type")), "revoke");
    assert_string_equal(json_string_value(json_object_get(rec, "subject")), "release");
    assert_string_equal(json_string_value(json_object_get(rec, "id")), "hub/1.0");
    assert_string_equal(json_string_value(json_object_get(rec, "reason")), "boot loop on hub-v2");
    json_decref(rec);
    load_targets(f, "root.json", &tg);
    assert_null(json_object_get(targets_of(&tg), "hub/1.0/fw.bin"));
    assert_null(json_object_get(targets_of(&tg), "hub/1.0/fw.bin.provenance.dsse.json"));
    assert_non_null(json_object_get(targets_of(&tg), "hub/1.1/fw.bin"));
    assert_int_equal(tg.version, 4);
    fws_tuf_md_free(&tg);
    json_t *show = NULL;
    assert_int_equal(fws_release_show(f->d, "hub", "1.0", &show, NULL), FWS_OK);
    assert_non_null(json_object_get(show, "revoked"));
    assert_null(json_object_get(show, "published"));
    json_decref(show);
    /* Again, an unknown release, and re-using the revoked version. */
    assert_int_equal(fws_release_revoke(f->d, &r, &f->l, NULL, &eb), FWS_ERR_STATE);
    r.version = "7";
    assert_int_equal(fws_release_revoke(f->d, &r, &f->l, NULL, &eb), FWS_ERR_NOT_FOUND);
    assert_int_equal(f->ledger.n, 3);
    memset(&eb, 0, sizeof(eb));
    assert_int_equal(add(f, "1.0", 1, NULL, &eb), FWS_ERR_EXISTS);
    assert_non_null(strstr(eb.msg, "already released and revoked"));
}

/* ---- rotation ------------------------------------------------------------------------------- */

static void rotate(fx *f, fws_tuf_kind role, unsigned n, unsigned k, fws_rotate_result *res)
{
    fws_rotate_req r = {
        .role = role, .n_keys = n, .threshold = k, .pp = tr_pp(), .now = TR_NOW + 300};
    fws_errbuf eb = {{0}};
    fws_err err = fws_repo_rotate(f->d, &r, res, &eb);
    if (err != FWS_OK)
        print_error("rotate: %s\n", eb.msg);
    assert_int_equal(err, FWS_OK);
}

static void test_rotate_root(void **state)
{
    fx *f = *state;
    fws_rotate_result res;
    fws_tuf_md r1, r2;
    assert_int_equal(add(f, "1.0", 1, NULL, NULL), FWS_OK);
    rotate(f, FWS_TUF_ROOT, 3, 2, &res);
    assert_int_equal(res.root_version, 2);
    assert_int_equal(res.n_keys, 3);
    assert_int_equal(tr_md_load(f->deploy, "1.root.json", FWS_TUF_ROOT, &r1), FWS_OK);
    assert_int_equal(tr_md_load(f->deploy, "2.root.json", FWS_TUF_ROOT, &r2), FWS_OK);
    /* N+1 is signed by the old root's threshold and by the new one's. */
    assert_int_equal(tr_verify(&r1, FWS_TUF_ROOT, &r2), FWS_OK);
    assert_int_equal(tr_verify(&r2, FWS_TUF_ROOT, &r2), FWS_OK);
    assert_int_equal(json_array_size(json_object_get(r2.doc, "signatures")), 4);
    /* The old root key is no longer in root; the other roles kept theirs. */
    json_t *old_ids =
        json_object_get(json_object_get(json_object_get(r1.signed_obj, "roles"), "root"), "keyids");
    assert_null(json_object_get(json_object_get(r2.signed_obj, "keys"),
                                json_string_value(json_array_get(old_ids, 0))));
    assert_int_equal(tr_verify(&r2, FWS_TUF_TIMESTAMP, &r2), FWS_ERR_THRESHOLD);
    fws_tuf_md_free(&r1);
    fws_tuf_md_free(&r2);
    /* root.json is the newest; a release still works and verifies under root 2. */
    assert_int_equal(tr_md_load(f->deploy, "root.json", FWS_TUF_ROOT, &r2), FWS_OK);
    assert_int_equal(r2.version, 2);
    fws_tuf_md_free(&r2);
    assert_int_equal(add(f, "1.1", 1, NULL, NULL), FWS_OK);
    fws_tuf_md tg;
    load_targets(f, "2.root.json", &tg);
    fws_tuf_md_free(&tg);
}

static void test_rotate_each_role(void **state)
{
    fx *f = *state;
    fws_rotate_result res;
    static const fws_tuf_kind roles[] = {FWS_TUF_TARGETS, FWS_TUF_SNAPSHOT, FWS_TUF_TIMESTAMP};
    assert_int_equal(add(f, "1.0", 1, NULL, NULL), FWS_OK);
    for (size_t i = 0; i < 3; i++) {
        fws_tuf_md prev, root, md;
        char file[64];
        int64_t sv = 0, tv = 0;
        assert_int_equal(tr_md_load(f->deploy, "root.json", FWS_TUF_ROOT, &prev), FWS_OK);
        rotate(f, roles[i], 0, 0, &res);
        assert_int_equal(res.root_version, prev.version + 1);
        assert_int_equal(tr_md_load(f->deploy, "root.json", FWS_TUF_ROOT, &root), FWS_OK);
        assert_int_equal(tr_verify(&prev, FWS_TUF_ROOT, &root), FWS_OK);
        /* Everything published now verifies with the new root's keys. */
        current(f, &sv, &tv);
        assert_int_equal(tr_md_load(f->deploy, "timestamp.json", FWS_TUF_TIMESTAMP, &md), FWS_OK);
        assert_int_equal(tr_verify(&root, FWS_TUF_TIMESTAMP, &md), FWS_OK);
        fws_tuf_md_free(&md);
        snprintf(file, sizeof(file), "%lld.snapshot.json", (long long)sv);
        assert_int_equal(tr_md_load(f->deploy, file, FWS_TUF_SNAPSHOT, &md), FWS_OK);
        assert_int_equal(tr_verify(&root, FWS_TUF_SNAPSHOT, &md), FWS_OK);
        /* ... and not with the previous one's (for the rotated role). */
        if (roles[i] == FWS_TUF_SNAPSHOT)
            assert_int_equal(tr_verify(&prev, FWS_TUF_SNAPSHOT, &md), FWS_ERR_THRESHOLD);
        fws_tuf_md_free(&md);
        snprintf(file, sizeof(file), "%lld.targets.json", (long long)tv);
        assert_int_equal(tr_md_load(f->deploy, file, FWS_TUF_TARGETS, &md), FWS_OK);
        assert_int_equal(tr_verify(&root, FWS_TUF_TARGETS, &md), FWS_OK);
        assert_non_null(json_object_get(targets_of(&md), "hub/1.0/fw.bin"));
        fws_tuf_md_free(&md);
        fws_tuf_md_free(&prev);
        fws_tuf_md_free(&root);
    }
    /* The retired keys stay in the config, out of the roles. */
    json_t *st = NULL;
    assert_int_equal(fws_repo_status(f->d, TR_NOW, &st, NULL), FWS_OK);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(st, "roles"), "root"), "version")),
                     4);
    json_decref(st);
    assert_int_equal(add(f, "1.1", 1, NULL, NULL), FWS_OK);
}

/* Root keys kept offline: without them a rotation stops before anything changes; with them named
 * on the command line it goes through. */
static void test_rotate_offline_root(void **state)
{
    (void)state;
    char *tmp = tr_tmpdir(), dir[1024], usb[1024], moved[1024];
    snprintf(dir, sizeof(dir), "%s/d", tmp);
    snprintf(usb, sizeof(usb), "%s/usb", tmp);
    snprintf(moved, sizeof(moved), "%s/mnt", tmp);
    assert_int_equal(tr_init(dir, 1, 1, 0, 0, usb), FWS_OK);
    assert_int_equal(rename(usb, moved), 0); /* the medium is mounted elsewhere today */
    fws_deploy *d = NULL;
    fws_errbuf eb = {{0}};
    uint8_t before[FWS_SHA256_LEN], after[FWS_SHA256_LEN];
    assert_int_equal(fws_deploy_open(dir, &d, NULL), FWS_OK);
    tr_hash_tree(dir, before);
    fws_rotate_req r = {.role = FWS_TUF_TARGETS, .pp = tr_pp(), .now = TR_NOW + 10};
    assert_int_equal(fws_repo_rotate(d, &r, NULL, &eb), FWS_ERR_NOT_FOUND);
    assert_non_null(strstr(eb.msg, "root: 0 of the 1 keys needed could open"));
    tr_hash_tree(dir, after);
    assert_memory_equal(before, after, sizeof(before));
    /* Name the key where it is now. */
    DIR *dh = opendir(moved);
    struct dirent *e;
    static char ref[2048];
    while ((e = readdir(dh)) != NULL) {
        if (strstr(e->d_name, ".pem") != NULL)
            snprintf(ref, sizeof(ref), "%s/%s", moved, e->d_name);
    }
    closedir(dh);
    const char *refs[1] = {ref};
    r.extra_keys.refs = refs;
    r.extra_keys.n = 1;
    assert_int_equal(fws_repo_rotate(d, &r, NULL, NULL), FWS_OK);
    fws_deploy_close(d);
    tr_rm_rf(tmp);
    free(tmp);
}

/* A rotation whose publication failed after its keys were recorded is finished by running it
 * again, with the same keys. */
static void test_rotate_resume(void **state)
{
    fx *f = *state;
    fws_rotate_result first, second;
    fws_errbuf eb = {{0}};
    char blocker[2048];
    snprintf(blocker, sizeof(blocker), "%s/repo/metadata/2.targets.json", f->deploy);
    assert_int_equal(mkdir(blocker, 0755), 0);
    fws_rotate_req r = {.role = FWS_TUF_TARGETS, .pp = tr_pp(), .now = TR_NOW + 10};
    assert_int_not_equal(fws_repo_rotate(f->d, &r, &first, &eb), FWS_OK);
    assert_non_null(strstr(eb.msg, "again to finish"));
    rmdir(blocker);
    fws_deploy_close(f->d);
    assert_int_equal(fws_deploy_open(f->deploy, &f->d, NULL), FWS_OK);
    json_t *st = NULL;
    assert_int_equal(fws_repo_status(f->d, TR_NOW, &st, NULL), FWS_OK);
    json_t *ts = json_object_get(json_object_get(st, "roles"), "targets");
    char old[FWS_KEYID_LEN];
    snprintf(old, sizeof(old), "%s",
             json_string_value(json_array_get(json_object_get(ts, "keyids"), 0)));
    json_decref(st);
    assert_int_equal(fws_repo_rotate(f->d, &r, &second, NULL), FWS_OK);
    assert_int_equal(second.root_version, 2);
    assert_string_not_equal(second.keyids[0], old);
    /* The key recorded by the failed run is the one now in root: no third key was made. */
    char path[2048];
    snprintf(path, sizeof(path), "%s/keys/targets-%.16s.pem", f->deploy, second.keyids[0]);
    assert_true(tr_exists(path));
    DIR *dh;
    struct dirent *e;
    int n = 0;
    snprintf(path, sizeof(path), "%s/keys", f->deploy);
    dh = opendir(path);
    while ((e = readdir(dh)) != NULL)
        n += strncmp(e->d_name, "targets-", 8) == 0 && strstr(e->d_name, ".pem") != NULL;
    closedir(dh);
    assert_int_equal(n, 2);
}

/* ---- refresh ----------------------------------------------------------------------------- */

static void test_refresh(void **state)
{
    fx *f = *state;
    fws_refresh_result res;
    fws_refresh_req r = {.pp = tr_pp(), .now = TR_NOW + 3600};
    fws_release_req rel;
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_repo_refresh(f->d, &r, &res, NULL), FWS_OK);
    assert_false(res.resigned[FWS_TUF_TIMESTAMP]); /* 23 hours left of 24 */
    r.force = 1;
    assert_int_equal(fws_repo_refresh(f->d, &r, &res, NULL), FWS_OK);
    assert_true(res.resigned[FWS_TUF_TIMESTAMP]);
    assert_false(res.resigned[FWS_TUF_SNAPSHOT]);
    assert_int_equal(res.expires[FWS_TUF_TIMESTAMP], r.now + 86400);
    /* Four days on, the snapshot (7 days) is due too; the timestamp has expired meanwhile, and
     * a release is refused until the refresh. */
    r.force = 0;
    r.now = TR_NOW + 4 * 86400;
    request(f, &rel, image_path(f, "1.0"), "1.0", 1);
    rel.now = r.now;
    assert_int_equal(fws_release_add(f->d, &rel, &f->l, NULL, &eb), FWS_ERR_EXPIRED);
    assert_non_null(strstr(eb.msg, "fwseal repo refresh"));
    assert_int_equal(fws_repo_refresh(f->d, &r, &res, NULL), FWS_OK);
    assert_true(res.resigned[FWS_TUF_TIMESTAMP]);
    assert_true(res.resigned[FWS_TUF_SNAPSHOT]);
    assert_false(res.resigned[FWS_TUF_TARGETS]);
    assert_int_equal(fws_release_add(f->d, &rel, &f->l, NULL, NULL), FWS_OK);
    /* 200 days on: root (1 year) is due; it is re-signed only when asked. */
    r.now = TR_NOW + 200 * 86400;
    assert_int_equal(fws_repo_refresh(f->d, &r, &res, NULL), FWS_OK);
    assert_true(res.root_due);
    assert_false(res.resigned[FWS_TUF_ROOT]);
    assert_true(res.resigned[FWS_TUF_TARGETS]);
    r.include_root = 1;
    assert_int_equal(fws_repo_refresh(f->d, &r, &res, NULL), FWS_OK);
    assert_true(res.resigned[FWS_TUF_ROOT]);
    fws_tuf_md r1, r2;
    assert_int_equal(tr_md_load(f->deploy, "1.root.json", FWS_TUF_ROOT, &r1), FWS_OK);
    assert_int_equal(tr_md_load(f->deploy, "2.root.json", FWS_TUF_ROOT, &r2), FWS_OK);
    assert_int_equal(tr_verify(&r1, FWS_TUF_ROOT, &r2), FWS_OK);
    assert_int_equal(r2.expires, r.now + 365 * 86400);
    fws_tuf_md_free(&r1);
    fws_tuf_md_free(&r2);
}

/* ---- hashed bins ---------------------------------------------------------------------------- */

static void test_hashed_bins(void **state)
{
    fx *f = *state;
    fws_release_result res;
    fws_tuf_md tg, sn, bin;
    int64_t sv = 0, tv = 0;
    char file[96];
    assert_int_equal(add(f, "1.0", 1, &res, NULL), FWS_OK); /* 2 targets: no bins yet */
    assert_string_equal(res.delegated_role, "targets");
    assert_int_equal(add(f, "1.1", 1, &res, NULL), FWS_OK); /* 4 targets: bins */
    assert_int_equal(strncmp(res.delegated_role, "bins-", 5), 0);
    load_targets(f, "root.json", &tg);
    assert_int_equal(json_object_size(targets_of(&tg)), 0);
    fws_tuf_delegations del;
    int present = 0;
    assert_int_equal(fws_tuf_delegations_load(&tg, &del, &present, NULL), FWS_OK);
    assert_true(present);
    assert_true(del.succinct);
    assert_int_equal(del.bit_length, 4);
    /* The snapshot lists all 16 bins; each target is in the bin its path hash selects, signed
     * by the keys the delegation names. */
    current(f, &sv, &tv);
    snprintf(file, sizeof(file), "%lld.snapshot.json", (long long)sv);
    assert_int_equal(tr_md_load(f->deploy, file, FWS_TUF_SNAPSHOT, &sn), FWS_OK);
    assert_int_equal(json_object_size(json_object_get(sn.signed_obj, "meta")), 17);
    static const char *names[] = {"hub/1.0/fw.bin", "hub/1.1/fw.bin",
                                  "hub/1.0/fw.bin.provenance.dsse.json"};
    for (size_t i = 0; i < 3; i++) {
        char bname[64], key[80];
        assert_int_equal(
            fws_tuf_bin_name("bins", 4, fws_tuf_bin_index(4, names[i]), bname, sizeof(bname)),
            FWS_OK);
        snprintf(key, sizeof(key), "%s.json", bname);
        snprintf(file, sizeof(file), "%lld.%s", (long long)tr_meta_version(&sn, key), key);
        assert_int_equal(tr_md_load(f->deploy, file, FWS_TUF_TARGETS, &bin), FWS_OK);
        assert_non_null(json_object_get(targets_of(&bin), names[i]));
        assert_int_equal(fws_tuf_verify_role(bin.doc, bin.signed_bytes, bin.signed_len, del.keys,
                                             &del.succinct_role, bname, NULL),
                         FWS_OK);
        fws_tuf_md_free(&bin);
    }
    fws_tuf_md_free(&sn);
    fws_tuf_delegations_free(&del);
    /* A third release changes one bin: targets keeps its version. */
    assert_int_equal(add(f, "1.2", 1, &res, NULL), FWS_OK);
    assert_int_equal(res.targets_version, tg.version);
    fws_tuf_md_free(&tg);
    /* Rotating the targets keys re-delegates and re-signs every bin. */
    fws_rotate_req r = {.role = FWS_TUF_TARGETS, .pp = tr_pp(), .now = TR_NOW + 600};
    assert_int_equal(fws_repo_rotate(f->d, &r, NULL, NULL), FWS_OK);
    load_targets(f, "root.json", &tg);
    assert_int_equal(fws_tuf_delegations_load(&tg, &del, &present, NULL), FWS_OK);
    current(f, &sv, &tv);
    snprintf(file, sizeof(file), "%lld.snapshot.json", (long long)sv);
    assert_int_equal(tr_md_load(f->deploy, file, FWS_TUF_SNAPSHOT, &sn), FWS_OK);
    snprintf(file, sizeof(file), "%lld.bins-0.json",
             (long long)tr_meta_version(&sn, "bins-0.json"));
    assert_int_equal(tr_md_load(f->deploy, file, FWS_TUF_TARGETS, &bin), FWS_OK);
    assert_int_equal(fws_tuf_verify_role(bin.doc, bin.signed_bytes, bin.signed_len, del.keys,
                                         &del.succinct_role, "bins-0", NULL),
                     FWS_OK);
    fws_tuf_md_free(&bin);
    fws_tuf_md_free(&sn);
    fws_tuf_md_free(&tg);
    fws_tuf_delegations_free(&del);
    /* Revoking from a bin. */
    fws_revoke_req rv = {.product = "hub", .version = "1.1", .pp = tr_pp(), .now = TR_NOW + 700};
    assert_int_equal(fws_release_revoke(f->d, &rv, &f->l, NULL, NULL), FWS_OK);
    json_t *show = NULL;
    assert_int_equal(fws_release_show(f->d, "hub", "1.1", &show, NULL), FWS_OK);
    assert_null(json_object_get(show, "published"));
    json_decref(show);
    assert_int_equal(fws_release_show(f->d, "hub", "1.2", &show, NULL), FWS_OK);
    assert_non_null(json_object_get(show, "published"));
    json_decref(show);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_each_role, setup, teardown),
        cmocka_unit_test(test_rotate_offline_root),
        cmocka_unit_test_setup_teardown(test_rotate_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hashed_bins, setup_bins, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
