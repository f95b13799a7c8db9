/* The TUF metadata model: time, key objects and IDs, thresholds (each key counted once),
 * parsing, hashes, path patterns, hash bins and name encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fwseal/json.h"
#include "fwseal/tuf.h"

static void test_time(void **state)
{
    int64_t t = 0;
    char buf[FWS_TUF_TIME_LEN];
    (void)state;
    assert_int_equal(fws_tuf_time_parse("1970-01-01T00:00:00Z", &t), FWS_OK);
    assert_int_equal(t, 0);
    assert_int_equal(fws_tuf_time_parse("2030-01-01T00:00:00Z", &t), FWS_OK);
    assert_int_equal(t, 1893456000);
    assert_int_equal(fws_tuf_time_parse("2024-02-29T23:59:59Z", &t), FWS_OK);
    assert_int_equal(t, 1709251199);
    assert_int_equal(fws_tuf_time_format(t, buf), FWS_OK);
    assert_string_equal(buf, "2024-02-29T23:59:59Z");
    for (int64_t x = 0; x < 253402300799LL; x += 98765431) {
        int64_t back = -1;
        assert_int_equal(fws_tuf_time_format(x, buf), FWS_OK);
        assert_int_equal(fws_tuf_time_parse(buf, &back), FWS_OK);
        assert_int_equal(back, x);
    }
    static const char *bad[] = {
        "2023-02-29T00:00:00Z", "2030-01-01T00:00:00",  "2030-01-01 00:00:00Z",
        "2030-13-01T00:00:00Z", "2030-01-01T24:00:00Z", "2030-01-01T00:00:00.5Z",
        "2030-1-01T00:00:00Z",  "+030-01-01T00:00:00Z", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(fws_tuf_time_parse(bad[i], &t), FWS_ERR_FORMAT);
    assert_int_equal(fws_tuf_time_format(-1, buf), FWS_ERR_ARG);
}

static void test_keyid_known_answer(void **state)
{
    (void)state;
    /* The TUF specification's example root lists this key under this ID. */
    json_t *k =
        json_pack("{s:s, s:s, s:{s:s}}", "keytype", "ed25519", "scheme", "ed25519", "keyval",
                  "public", "72378e5bc588793e58f81c8533da64a2e8f1565c1fcc7f253496394ffc52542c");
    char id[FWS_TUF_KEYID_HEX_LEN];
    assert_int_equal(fws_tuf_keyid(k, id), FWS_OK);
    assert_string_equal(id, "1bf1c6e3cdd3d3a8420b19199e27511999850f4b376c4547b2f32fba7e80fca3");
    fws_tuf_key *tk = NULL;
    assert_int_equal(fws_tuf_key_from_json(k, &tk, NULL), FWS_OK);
    assert_int_equal(fws_tuf_key_type(tk), FWS_TUF_KEY_ED25519);
    fws_tuf_key_free(tk);
    json_decref(k);
}

static void test_key_objects(void **state)
{
    (void)state;
    fws_errbuf eb = {{0}};
    fws_tuf_key *tk = NULL;
    /* Unknown type, wrong scheme, bad hex, a P-256 PEM given as ed25519, missing public. */
    json_t *k = json_pack("{s:s, s:s, s:{s:s}}", "keytype", "dsa", "scheme", "dsa", "keyval",
                          "public", "00");
    assert_int_equal(fws_tuf_key_from_json(k, &tk, NULL), FWS_ERR_UNSUPPORTED);
    json_object_set_new(k, "keytype", json_string("ed25519"));
    assert_int_equal(fws_tuf_key_from_json(k, &tk, NULL), FWS_ERR_UNSUPPORTED);
    json_object_set_new(k, "scheme", json_string("ed25519"));
    assert_int_equal(fws_tuf_key_from_json(k, &tk, &eb), FWS_ERR_FORMAT);
    assert_non_null(strstr(eb.msg, "keyval.public"));
    fws_key *p256 = NULL;
    char *pem = NULL;
    assert_int_equal(fws_key_generate(FWS_KEY_P256, &p256), FWS_OK);
    assert_int_equal(fws_key_public_pem(p256, &pem), FWS_OK);
    json_object_set_new(json_object_get(k, "keyval"), "public", json_string(pem));
    assert_int_equal(fws_tuf_key_from_json(k, &tk, NULL), FWS_ERR_KEY_TYPE);
    json_object_set_new(k, "keytype", json_string("ecdsa-sha2-nistp256"));
    json_object_set_new(k, "scheme", json_string("ecdsa-sha2-nistp256"));
    assert_int_equal(fws_tuf_key_from_json(k, &tk, NULL), FWS_OK);
    assert_int_equal(fws_tuf_key_type(tk), FWS_TUF_KEY_ECDSA_P256);
    /* The same key as the hex of its point has the same fingerprint. */
    uint8_t raw[FWS_PUBKEY_MAX], fp1[FWS_SHA256_LEN], fp2[FWS_SHA256_LEN];
    char hex[2 * FWS_PUBKEY_MAX + 1];
    size_t n = 0;
    assert_int_equal(fws_key_raw_public(p256, raw, sizeof(raw), &n), FWS_OK);
    fws_hex_encode(raw, n, hex);
    fws_tuf_key *tk2 = NULL;
    json_object_set_new(json_object_get(k, "keyval"), "public", json_string(hex));
    assert_int_equal(fws_tuf_key_from_json(k, &tk2, NULL), FWS_OK);
    fws_tuf_key_fingerprint(tk, fp1);
    fws_tuf_key_fingerprint(tk2, fp2);
    assert_memory_equal(fp1, fp2, sizeof(fp1));
    json_object_del(json_object_get(k, "keyval"), "public");
    assert_int_equal(fws_tuf_key_from_json(k, &tk2, NULL), FWS_ERR_SCHEMA);
    fws_tuf_key_free(tk);
    fws_tuf_key_free(tk2);
    fws_key_free(p256);
    free(pem);
    json_decref(k);
}

/* ---- signing and thresholds ------------------------------------------------------------------ */

typedef struct signer_set {
    fws_signer s[3];
    char id[3][FWS_TUF_KEYID_HEX_LEN];
    json_t *keys; /* a "keys" object listing all three */
} signer_set;

static void make_signers(signer_set *ss)
{
    static const fws_key_type types[3] = {FWS_KEY_ED25519, FWS_KEY_P256, FWS_KEY_ED25519};
    ss->keys = json_object();
    for (int i = 0; i < 3; i++) {
        fws_key *k = NULL;
        json_t *kj = NULL;
        assert_int_equal(fws_key_generate(types[i], &k), FWS_OK);
        assert_int_equal(fws_tuf_key_to_json(k, &kj), FWS_OK);
        assert_int_equal(fws_tuf_keyid(kj, ss->id[i]), FWS_OK);
        json_object_set_new(ss->keys, ss->id[i], kj);
        assert_int_equal(fws_signer_from_key(k, &ss->s[i]), FWS_OK);
    }
}

static void free_signers(signer_set *ss)
{
    for (int i = 0; i < 3; i++)
        fws_signer_free(&ss->s[i]);
    json_decref(ss->keys);
}

static json_t *doc(void)
{
    return json_pack("{s:{s:s, s:s, s:i, s:s, s:{}}, s:[]}", "signed", "_type", "timestamp",
                     "spec_version", "1.0.31", "version", 7, "expires", "2030-01-01T00:00:00Z",
                     "meta", "signatures");
}

static fws_err verify(json_t *d, fws_tuf_keyring *ring, json_t *role_json, fws_errbuf *eb)
{
    fws_tuf_role role;
    char *bytes = NULL;
    size_t len = 0;
    assert_int_equal(fws_tuf_role_parse(role_json, &role, NULL), FWS_OK);
    assert_int_equal(fws_tuf_signed_bytes(d, &bytes, &len, NULL), FWS_OK);
    fws_err err = fws_tuf_verify_role(d, (uint8_t *)bytes, len, ring, &role, "timestamp", eb);
    free(bytes);
    return err;
}

static void test_threshold(void **state)
{
    signer_set ss;
    fws_tuf_keyring *ring = NULL;
    fws_errbuf eb = {{0}};
    (void)state;
    make_signers(&ss);
    assert_int_equal(fws_tuf_keyring_new(ss.keys, &ring, NULL), FWS_OK);
    json_t *role =
        json_pack("{s:[s,s,s], s:i}", "keyids", ss.id[0], ss.id[1], ss.id[2], "threshold", 2);
    json_t *d = doc();
    assert_int_equal(fws_tuf_sign(d, &ss.s[0], ss.id[0], NULL), FWS_OK);
    assert_int_equal(verify(d, ring, role, &eb), FWS_ERR_THRESHOLD);
    assert_non_null(strstr(eb.msg, "1 valid signature, threshold 2"));
    assert_int_equal(fws_tuf_sign(d, &ss.s[1], ss.id[1], NULL), FWS_OK);
    assert_int_equal(verify(d, ring, role, NULL), FWS_OK);
    /* Signing again with a key replaces its signature rather than adding one. */
    assert_int_equal(fws_tuf_sign(d, &ss.s[1], ss.id[1], NULL), FWS_OK);
    assert_int_equal(json_array_size(json_object_get(d, "signatures")), 2);
    /* Any change to "signed" breaks both signatures. */
    json_object_set_new(json_object_get(d, "signed"), "version", json_integer(8));
    assert_int_equal(verify(d, ring, role, NULL), FWS_ERR_THRESHOLD);
    json_object_set_new(json_object_get(d, "signed"), "version", json_integer(7));
    /* A signature by a key the role does not list does not count. */
    json_t *role01 = json_pack("{s:[s], s:i}", "keyids", ss.id[0], "threshold", 2);
    assert_int_equal(verify(d, ring, role01, NULL), FWS_ERR_THRESHOLD);
    /* The same key ID twice in the signatures is refused. */
    json_t *sigs = json_object_get(d, "signatures");
    json_array_append(sigs, json_array_get(sigs, 0));
    assert_int_equal(verify(d, ring, role, NULL), FWS_ERR_SCHEMA);
    json_decref(role01);
    json_decref(role);
    json_decref(d);
    fws_tuf_keyring_free(ring);
    free_signers(&ss);
}

static void test_one_key_under_two_ids(void **state)
{
    signer_set ss;
    fws_tuf_keyring *ring = NULL;
    const char *alias = "alias-of-key-0";
    (void)state;
    make_signers(&ss);
    json_object_set(ss.keys, alias, json_object_get(ss.keys, ss.id[0]));
    assert_int_equal(fws_tuf_keyring_new(ss.keys, &ring, NULL), FWS_OK);
    json_t *role = json_pack("{s:[s,s], s:i}", "keyids", ss.id[0], alias, "threshold", 2);
    json_t *d = doc();
    assert_int_equal(fws_tuf_sign(d, &ss.s[0], ss.id[0], NULL), FWS_OK);
    assert_int_equal(fws_tuf_sign(d, &ss.s[0], alias, NULL), FWS_OK);
    assert_int_equal(verify(d, ring, role, NULL), FWS_ERR_THRESHOLD);
    /* A role listing one key ID twice is malformed. */
    json_t *dup = json_pack("{s:[s,s], s:i}", "keyids", ss.id[0], ss.id[0], "threshold", 1);
    fws_tuf_role r;
    assert_int_equal(fws_tuf_role_parse(dup, &r, NULL), FWS_ERR_SCHEMA);
    json_object_set_new(dup, "threshold", json_integer(0));
    json_array_remove(json_object_get(dup, "keyids"), 1);
    assert_int_equal(fws_tuf_role_parse(dup, &r, NULL), FWS_ERR_SCHEMA);
    json_decref(dup);
    json_decref(role);
    json_decref(d);
    fws_tuf_keyring_free(ring);
    free_signers(&ss);
}

static void test_unusable_keys_do_not_count(void **state)
{
    signer_set ss;
    fws_tuf_keyring *ring = NULL;
    (void)state;
    make_signers(&ss);
    /* Key 2 claims an unknown scheme: the ring keeps it, but never verifies with it. */
    json_object_set_new(json_object_get(ss.keys, ss.id[2]), "scheme", json_string("future"));
    assert_int_equal(fws_tuf_keyring_new(ss.keys, &ring, NULL), FWS_OK);
    assert_null(fws_tuf_keyring_get(ring, ss.id[2]));
    assert_non_null(fws_tuf_keyring_get(ring, ss.id[0]));
    assert_null(fws_tuf_keyring_get(ring, "absent"));
    json_t *role = json_pack("{s:[s,s], s:i}", "keyids", ss.id[2], "missing", "threshold", 1);
    json_t *d = doc();
    assert_int_equal(fws_tuf_sign(d, &ss.s[2], ss.id[2], NULL), FWS_OK);
    assert_int_equal(verify(d, ring, role, NULL), FWS_ERR_THRESHOLD);
    json_decref(role);
    json_decref(d);
    fws_tuf_keyring_free(ring);
    free_signers(&ss);
}

/* ---- parsing
 * ------------------------------------------------------------------------------------- */

static fws_err parse_text(const char *text, fws_tuf_kind kind, fws_errbuf *eb)
{
    fws_tuf_md m;
    fws_err err = fws_tuf_md_parse((const uint8_t *)text, strlen(text), 1 << 20, kind, &m, eb);
    if (err == FWS_OK)
        fws_tuf_md_free(&m);
    return err;
}

static void test_md_parse(void **state)
{
    (void)state;
    fws_errbuf eb = {{0}};
    const char *good = "{\"signatures\":[],\"signed\":{\"_type\":\"snapshot\",\"spec_version\":"
                       "\"1.0.31\",\"version\":3,\"expires\":\"2030-01-01T00:00:00Z\",\"meta\":"
                       "{\"targets.json\":{\"version\":2,\"length\":10,\"hashes\":{\"sha256\":"
                       "\"00ff\"}}},\"x-custom\":[1,2]}}";
    fws_tuf_md m;
    fws_tuf_metafile mf;
    assert_int_equal(
        fws_tuf_md_parse((const uint8_t *)good, strlen(good), 4096, FWS_TUF_SNAPSHOT, &m, NULL),
        FWS_OK);
    assert_int_equal(m.version, 3);
    assert_int_equal(m.expires, 1893456000);
    assert_int_equal(fws_tuf_metafile_get(&m, "targets.json", &mf, NULL), FWS_OK);
    assert_int_equal(mf.version, 2);
    assert_int_equal(mf.length, 10);
    assert_non_null(mf.hashes);
    assert_int_equal(fws_tuf_metafile_get(&m, "other.json", &mf, NULL), FWS_ERR_NOT_FOUND);
    /* The signed bytes are the canonical form, whatever the layout on the wire. */
    assert_memory_equal(m.signed_bytes, "{\"_type\":\"snapshot\",\"expires\"", 29);
    fws_tuf_md_free(&m);
    assert_int_equal(
        fws_tuf_md_parse((const uint8_t *)good, strlen(good), 100, FWS_TUF_SNAPSHOT, &m, NULL),
        FWS_ERR_TOO_BIG);
    assert_int_equal(parse_text(good, FWS_TUF_TIMESTAMP, &eb), FWS_ERR_SCHEMA);
    assert_non_null(strstr(eb.msg, "_type"));

    static const struct {
        const char *text;
        fws_err want;
    } bad[] = {
        {"[]", FWS_ERR_SCHEMA},
        {"{\"signed\":{}}", FWS_ERR_SCHEMA},
        {"{\"signatures\":[],\"signed\":{\"_type\":\"snapshot\",\"spec_version\":\"2.0.0\","
         "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"meta\":{}}}",
         FWS_ERR_SCHEMA},
        {"{\"signatures\":[],\"signed\":{\"_type\":\"snapshot\",\"spec_version\":\"1.0.0\","
         "\"version\":0,\"expires\":\"2030-01-01T00:00:00Z\",\"meta\":{}}}",
         FWS_ERR_SCHEMA},
        {"{\"signatures\":[],\"signed\":{\"_type\":\"snapshot\",\"spec_version\":\"1.0.0\","
         "\"version\":1,\"expires\":\"tomorrow\",\"meta\":{}}}",
         FWS_ERR_SCHEMA},
        {"{\"signatures\":[],\"signed\":{\"_type\":\"snapshot\",\"spec_version\":\"1.0.0\","
         "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\"}}",
         FWS_ERR_SCHEMA},
        {"{\"signatures\":[],\"signed\":{\"_type\":\"snapshot\",\"spec_version\":\"1.0.0\","
         "\"version\":1.5,\"expires\":\"2030-01-01T00:00:00Z\",\"meta\":{}}}",
         FWS_ERR_FORMAT},
        {"{\"signatures\":[],\"signatures\":[],\"signed\":{}}", FWS_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse_text(bad[i].text, FWS_TUF_SNAPSHOT, NULL), bad[i].want);
}

static void test_root_and_targets_views(void **state)
{
    (void)state;
    const char *root =
        "{\"signatures\":[],\"signed\":{\"_type\":\"root\",\"spec_version\":\"1.0\",\"version\":1,"
        "\"expires\":\"2030-01-01T00:00:00Z\",\"consistent_snapshot\":true,\"keys\":{},"
        "\"roles\":{\"root\":{\"keyids\":[],\"threshold\":1},\"timestamp\":{\"keyids\":[],"
        "\"threshold\":1},\"snapshot\":{\"keyids\":[],\"threshold\":1},\"targets\":{\"keyids\":[],"
        "\"threshold\":2}}}}";
    fws_tuf_md m;
    fws_tuf_root r;
    assert_int_equal(
        fws_tuf_md_parse((const uint8_t *)root, strlen(root), 1 << 16, FWS_TUF_ROOT, &m, NULL),
        FWS_OK);
    assert_int_equal(fws_tuf_root_load(&m, &r, NULL), FWS_OK);
    assert_true(r.consistent_snapshot);
    assert_int_equal(r.roles[FWS_TUF_TARGETS].threshold, 2);
    assert_false(fws_tuf_root_role_changed(&r, &r, FWS_TUF_TIMESTAMP));
    fws_tuf_root_free(&r);
    json_object_del(json_object_get(m.signed_obj, "roles"), "snapshot");
    assert_int_equal(fws_tuf_root_load(&m, &r, NULL), FWS_ERR_SCHEMA);
    fws_tuf_md_free(&m);

    const char *targets =
        "{\"signatures\":[],\"signed\":{\"_type\":\"targets\",\"spec_version\":\"1.0.31\","
        "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{\"a/b.bin\":{\"length\":"
        "3,\"hashes\":{\"sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015"
        "ad\"},\"custom\":{\"v\":1}},\"bad\":{\"length\":-1,\"hashes\":{\"sha256\":\"00\"}},"
        "\"nohash\":{\"length\":1,\"hashes\":{}}}}}";
    fws_tuf_target t;
    assert_int_equal(fws_tuf_md_parse((const uint8_t *)targets, strlen(targets), 1 << 16,
                                      FWS_TUF_TARGETS, &m, NULL),
                     FWS_OK);
    assert_int_equal(fws_tuf_target_get(&m, "a/b.bin", &t, NULL), FWS_OK);
    assert_string_equal(t.path, "a/b.bin");
    assert_int_equal(t.length, 3);
    assert_non_null(t.custom);
    assert_int_equal(fws_tuf_hashes_check(t.hashes, (const uint8_t *)"abc", 3, "t", NULL), FWS_OK);
    assert_int_equal(fws_tuf_hashes_check(t.hashes, (const uint8_t *)"abd", 3, "t", NULL),
                     FWS_ERR_DIGEST);
    assert_int_equal(fws_tuf_target_get(&m, "bad", &t, NULL), FWS_ERR_SCHEMA);
    assert_int_equal(fws_tuf_target_get(&m, "nohash", &t, NULL), FWS_ERR_SCHEMA);
    assert_int_equal(fws_tuf_target_get(&m, "absent", &t, NULL), FWS_ERR_NOT_FOUND);
    fws_tuf_md_free(&m);
}

static void test_hashes(void **state)
{
    (void)state;
    fws_errbuf eb = {{0}};
    json_t *h = json_pack(
        "{s:s, s:s}", "sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "sha512",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3"
        "feebbd454d4423643ce80e2a9ac94fa54ca49f");
    assert_int_equal(fws_tuf_hashes_check(h, (const uint8_t *)"abc", 3, "x", NULL), FWS_OK);
    /* Every listed hash must match: a wrong sha512 fails even when sha256 matches. */
    json_object_set_new(h, "sha512", json_string("00"));
    assert_int_equal(fws_tuf_hashes_check(h, (const uint8_t *)"abc", 3, "x", NULL), FWS_ERR_SCHEMA);
    json_object_del(h, "sha512");
    json_object_set_new(h, "md5", json_string("900150983cd24fb0d6963f7d28e17f72"));
    assert_int_equal(fws_tuf_hashes_check(h, (const uint8_t *)"abc", 3, "x", &eb),
                     FWS_ERR_UNSUPPORTED);
    assert_non_null(strstr(eb.msg, "md5"));
    json_decref(h);
}

/* ---- paths, bins, names ---------------------------------------------------------------------- */

static void test_path_match(void **state)
{
    (void)state;
    /* The specification's examples. */
    assert_true(fws_tuf_path_match("targets/*.tgz", "targets/foo.tgz"));
    assert_false(fws_tuf_path_match("targets/*.tgz", "targets/foo.txt"));
    assert_true(fws_tuf_path_match("foo-version-?.tgz", "foo-version-2.tgz"));
    assert_false(fws_tuf_path_match("foo-version-?.tgz", "foo-version-alpha.tgz"));
    assert_true(fws_tuf_path_match("*.tgz", "foo.tgz"));
    assert_false(fws_tuf_path_match("*.tgz", "targets/foo.tgz"));
    assert_true(fws_tuf_path_match("foo.tgz", "foo.tgz"));
    assert_false(fws_tuf_path_match("foo.tgz", "foo.tgzz"));
    /* A wildcard never crosses '/', and components must line up. */
    assert_false(fws_tuf_path_match("*", "a/b"));
    assert_true(fws_tuf_path_match("*/*", "a/b"));
    assert_false(fws_tuf_path_match("a/*", "a/b/c"));
    assert_true(fws_tuf_path_match("a/*/c", "a/b/c"));
    assert_true(fws_tuf_path_match("*", ""));
    assert_true(fws_tuf_path_match("f[0-9]x", "f7x"));
    assert_false(fws_tuf_path_match("f[!0-9]x", "f7x"));
    assert_true(fws_tuf_path_match("f[!0-9]x", "fax"));
    assert_true(fws_tuf_path_match("f[ab]x", "fbx"));
    assert_true(fws_tuf_path_match("f[x", "f[x"));
    assert_true(fws_tuf_path_match("*a*b*c", "xxaxxbxxc"));
    assert_false(fws_tuf_path_match("*a*b*c", "xxaxxcxxb"));
    assert_true(fws_tuf_path_hash_match("", "anything"));
    /* SHA-256("file1.txt") starts 55ae75d9. */
    assert_true(fws_tuf_path_hash_match("55ae", "file1.txt"));
    assert_false(fws_tuf_path_hash_match("55af", "file1.txt"));
}

static void test_bins_match_tufjs(void **state)
{
    (void)state;
    /* Bin names computed by @tufjs/models SuccinctRoles.getRoleForTarget. */
    static const struct {
        unsigned bits;
        const char *path, *want;
    } v[] = {
        {1, "file1.txt", "bin-0"},
        {1, "fw/image-3.bin", "bin-1"},
        {5, "file1.txt", "bin-0a"},
        {5, "fw/image-3.bin", "bin-14"},
        {5, "", "bin-1c"},
        {8, "file1.txt", "bin-55"},
        {13, "fw/image-3.bin", "bin-1466"},
        {13, "", "bin-1c76"},
        {32, "file1.txt", "bin-55ae75d9"},
        {32, "fw/image-3.bin", "bin-a3317ec2"},
    };
    char name[64];
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint32_t idx = fws_tuf_bin_index(v[i].bits, v[i].path);
        assert_int_equal(fws_tuf_bin_name("bin", v[i].bits, idx, name, sizeof(name)), FWS_OK);
        assert_string_equal(name, v[i].want);
    }
    assert_int_equal(fws_tuf_bin_name("bin", 4, 16, name, sizeof(name)), FWS_ERR_ARG);
    assert_int_equal(fws_tuf_bin_name("bin", 0, 0, name, sizeof(name)), FWS_ERR_ARG);
    assert_int_equal(fws_tuf_bin_name("bin", 8, 1, name, 6), FWS_ERR_TOO_BIG);
}

static void test_name_encode(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(fws_tuf_name_encode("role-a_1.x~", out, sizeof(out)), FWS_OK);
    assert_string_equal(out, "role-a_1.x~");
    assert_int_equal(fws_tuf_name_encode("a/b c%", out, sizeof(out)), FWS_OK);
    assert_string_equal(out, "a%2Fb%20c%25");
    assert_int_equal(fws_tuf_name_encode("..", out, sizeof(out)), FWS_OK);
    assert_string_equal(out, "%2E.");
    assert_int_equal(fws_tuf_name_encode("abcdef", out, 6), FWS_ERR_TOO_BIG);
    assert_int_equal(fws_tuf_name_encode("abcde", out, 6), FWS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_keyid_known_answer),
        cmocka_unit_test(test_key_objects),
        cmocka_unit_test(test_threshold),
        cmocka_unit_test(test_one_key_under_two_ids),
        cmocka_unit_test(test_unusable_keys_do_not_count),
        cmocka_unit_test(test_md_parse),
        cmocka_unit_test(test_root_and_targets_views),
        cmocka_unit_test(test_hashes),
        cmocka_unit_test(test_path_match),
        cmocka_unit_test(test_bins_match_tufjs),
        cmocka_unit_test(test_name_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
