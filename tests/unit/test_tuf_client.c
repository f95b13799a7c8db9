/* The TUF client workflow against repositories built here and served from memory (and from
 * file:// URLs): the fixed start time, local copies reused, the caps on root rotations and on
 * delegations visited, delegation cycles, and targets stored atomically. */
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "fwseal/json.h"
#include "fwseal/tuf.h"
#include "fwseal/util.h"

#define T0 1893456000 /* 2030-01-01T00:00:00Z */
#define MAX_FILES 64

/* ---- a repository in memory ---------------------------------------------------------------- */

typedef struct mem_file {
    char name[128];
    char *data;
    size_t len;
    int fetches;
} mem_file;

typedef struct repo {
    fws_signer s[4]; /* root, timestamp, snapshot, targets */
    char id[4][FWS_TUF_KEYID_HEX_LEN];
    json_t *keys[4];
    fws_signer dsig; /* every delegated role */
    char did[FWS_TUF_KEYID_HEX_LEN];
    json_t *dkey;
    mem_file files[MAX_FILES];
    size_t n;
    char dir[64]; /* a temporary directory for the client */
} repo;

static mem_file *find(repo *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->files[i].name, name) == 0)
            return &r->files[i];
    }
    return NULL;
}

/* Stores the document under name (replacing any earlier one); steals doc. */
static void put(repo *r, const char *name, json_t *doc)
{
    mem_file *f = find(r, name);
    if (f == NULL) {
        assert_true(r->n < MAX_FILES);
        f = &r->files[r->n++];
        snprintf(f->name, sizeof(f->name), "%s", name);
    }
    free(f->data);
    assert_int_equal(fws_json_canonical(doc, &f->data, &f->len), FWS_OK);
    json_decref(doc);
}

static fws_err mem_fetch(void *impl, const char *url, uint64_t max_len, fws_tuf_sink sink,
                         void *ctx, fws_errbuf *eb)
{
    repo *r = impl;
    const char *prefix = "mem://repo/metadata/";
    (void)eb;
    if (strncmp(url, prefix, strlen(prefix)) != 0)
        return FWS_ERR_NOT_FOUND;
    mem_file *f = find(r, url + strlen(prefix));
    if (f == NULL)
        return FWS_ERR_NOT_FOUND;
    f->fetches++;
    if (f->len > max_len)
        return FWS_ERR_TOO_BIG;
    return sink(ctx, (const uint8_t *)f->data, f->len);
}

static json_t *signed_doc(json_t *signed_obj, const fws_signer *s, const char *id)
{
    json_t *d = json_pack("{s:o, s:[]}", "signed", signed_obj, "signatures");
    assert_int_equal(fws_tuf_sign(d, s, id, NULL), FWS_OK);
    return d;
}

static json_t *common(const char *type, int version, int64_t expires)
{
    char when[FWS_TUF_TIME_LEN];
    assert_int_equal(fws_tuf_time_format(expires, when), FWS_OK);
    return json_pack("{s:s, s:s, s:i, s:s}", "_type", type, "spec_version", "1.0.31", "version",
                     version, "expires", when);
}

static void put_root(repo *r, int version, int64_t expires)
{
    static const char *names[4] = {"root", "timestamp", "snapshot", "targets"};
    json_t *s = common("root", version, expires), *keys = json_object(), *roles = json_object();
    char name[32];
    for (int i = 0; i < 4; i++) {
        json_object_set(keys, r->id[i], r->keys[i]);
        json_object_set_new(roles, names[i],
                            json_pack("{s:[s], s:i}", "keyids", r->id[i], "threshold", 1));
    }
    json_object_set_new(s, "keys", keys);
    json_object_set_new(s, "roles", roles);
    json_object_set_new(s, "consistent_snapshot", json_true());
    snprintf(name, sizeof(name), "%d.root.json", version);
    put(r, name, signed_doc(s, &r->s[0], r->id[0]));
}

/* A targets role: targets (may be NULL) and delegations (may be NULL); both are stolen. */
static void put_targets(repo *r, const char *role, int version, json_t *targets, json_t *deleg)
{
    json_t *s = common("targets", version, T0 + 86400);
    char name[160];
    json_object_set_new(s, "targets", targets ? targets : json_object());
    if (deleg != NULL)
        json_object_set_new(s, "delegations", deleg);
    snprintf(name, sizeof(name), "%d.%s.json", version, role);
    int top = strcmp(role, "targets") == 0;
    put(r, name, signed_doc(s, top ? &r->s[3] : &r->dsig, top ? r->id[3] : r->did));
}

/* Snapshot listing every targets file in memory at its version, and a timestamp for it. */
static void put_snapshot_timestamp(repo *r, int version, int64_t expires)
{
    json_t *meta = json_object();
    char name[64];
    for (size_t i = 0; i < r->n; i++) {
        const char *n = r->files[i].name, *dot = strchr(n, '.');
        if (dot == NULL || strstr(n, "root.json") || strstr(n, "snapshot.json") ||
            strcmp(n, "timestamp.json") == 0)
            continue;
        json_object_set_new(meta, dot + 1, json_pack("{s:i}", "version", atoi(n)));
    }
    json_t *s = common("snapshot", version, expires);
    json_object_set_new(s, "meta", meta);
    snprintf(name, sizeof(name), "%d.snapshot.json", version);
    put(r, name, signed_doc(s, &r->s[2], r->id[2]));
    mem_file *f = find(r, name);
    uint8_t d[FWS_SHA256_LEN];
    char hex[2 * FWS_SHA256_LEN + 1];
    fws_sha256(f->data, f->len, d);
    fws_hex_encode(d, sizeof(d), hex);
    json_t *ts = common("timestamp", version, expires);
    json_object_set_new(ts, "meta",
                        json_pack("{s:{s:i, s:I, s:{s:s}}}", "snapshot.json", "version", version,
                                  "length", (json_int_t)f->len, "hashes", "sha256", hex));
    put(r, "timestamp.json", signed_doc(ts, &r->s[1], r->id[1]));
}

static void make_key(fws_signer *s, char id[FWS_TUF_KEYID_HEX_LEN], json_t **kj)
{
    fws_key *k = NULL;
    assert_int_equal(fws_key_generate(FWS_KEY_ED25519, &k), FWS_OK);
    assert_int_equal(fws_tuf_key_to_json(k, kj), FWS_OK);
    assert_int_equal(fws_tuf_keyid(*kj, id), FWS_OK);
    assert_int_equal(fws_signer_from_key(k, s), FWS_OK);
}

static int setup(void **state)
{
    repo *r = calloc(1, sizeof(*r));
    for (int i = 0; i < 4; i++)
        make_key(&r->s[i], r->id[i], &r->keys[i]);
    make_key(&r->dsig, r->did, &r->dkey);
    snprintf(r->dir, sizeof(r->dir), "/tmp/fws-tuf-client.XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    put_root(r, 1, T0 + 86400);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    repo *r = *state;
    char cmd[128];
    for (int i = 0; i < 4; i++) {
        fws_signer_free(&r->s[i]);
        json_decref(r->keys[i]);
    }
    fws_signer_free(&r->dsig);
    json_decref(r->dkey);
    for (size_t i = 0; i < r->n; i++)
        free(r->files[i].data);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
    assert_int_equal(system(cmd), 0);
    free(r);
    return 0;
}

/* A client over r's metadata (initialised with 1.root.json) with the given config. */
static fws_tuf_client *client(repo *r, const fws_tuf_client_config *cfg, fws_tuf_fetcher *f)
{
    fws_tuf_client *c = NULL;
    char meta[96];
    mem_file *root = find(r, "1.root.json");
    snprintf(meta, sizeof(meta), "%s/meta", r->dir);
    assert_int_equal(fws_tuf_client_init_dir(meta, (const uint8_t *)root->data, root->len, NULL),
                     FWS_OK);
    f->fetch = mem_fetch;
    f->destroy = NULL;
    f->impl = r;
    assert_int_equal(fws_tuf_client_new(meta, "mem://repo/metadata", cfg, f, &c, NULL), FWS_OK);
    return c;
}

static json_t *one_target(const char *path, const char *content)
{
    uint8_t d[FWS_SHA256_LEN];
    char hex[2 * FWS_SHA256_LEN + 1];
    fws_sha256(content, strlen(content), d);
    fws_hex_encode(d, sizeof(d), hex);
    return json_pack("{s:{s:I, s:{s:s}}}", path, "length", (json_int_t)strlen(content), "hashes",
                     "sha256", hex);
}

/* ---- tests -------------------------------------------------------------------------------------
 */

static void test_fixed_start_time(void **state)
{
    repo *r = *state;
    fws_tuf_client_config cfg = fws_tuf_client_defaults;
    fws_tuf_fetcher f;
    fws_errbuf eb = {{0}};
    put_targets(r, "targets", 1, one_target("a.bin", "abc"), NULL);
    put_snapshot_timestamp(r, 1, T0 + 3600);
    cfg.fixed_now = T0;
    fws_tuf_client *c = client(r, &cfg, &f);
    assert_int_equal(fws_tuf_client_refresh(c, NULL), FWS_OK);
    assert_int_equal(fws_tuf_client_version(c, FWS_TUF_SNAPSHOT), 1);
    fws_tuf_client_free(c);
    /* One second before the snapshot expires is still fine; at its expiry it is not. */
    cfg.fixed_now = T0 + 3599;
    c = client(r, &cfg, &f);
    assert_int_equal(fws_tuf_client_refresh(c, NULL), FWS_OK);
    fws_tuf_client_free(c);
    cfg.fixed_now = T0 + 3600;
    c = client(r, &cfg, &f);
    assert_int_equal(fws_tuf_client_refresh(c, &eb), FWS_ERR_EXPIRED);
    assert_non_null(strstr(eb.msg, "timestamp.json expired"));
    fws_tuf_client_free(c);
}

static void test_local_copies_reused(void **state)
{
    repo *r = *state;
    fws_tuf_client_config cfg = fws_tuf_client_defaults;
    fws_tuf_fetcher f;
    fws_tuf_target t;
    cfg.fixed_now = T0;
    put_targets(r, "targets", 1, one_target("a.bin", "abc"), NULL);
    put_snapshot_timestamp(r, 1, T0 + 3600);
    fws_tuf_client *c = client(r, &cfg, &f);
    assert_int_equal(fws_tuf_client_find_target(c, "a.bin", &t, NULL), FWS_OK);
    assert_int_equal(t.length, 3);
    fws_tuf_client_free(c);
    c = client(r, &cfg, &f);
    assert_int_equal(fws_tuf_client_refresh(c, NULL), FWS_OK);
    fws_tuf_client_free(c);
    assert_int_equal(find(r, "timestamp.json")->fetches, 2);
    assert_int_equal(find(r, "1.snapshot.json")->fetches, 1);
    assert_int_equal(find(r, "1.targets.json")->fetches, 1);
    /* The stored files are the served bytes, under unversioned names. */
    char path[128];
    uint8_t *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/meta/targets.json", r->dir);
    assert_int_equal(fws_file_read(path, 1 << 20, &data, &len, NULL), FWS_OK);
    assert_int_equal(len, find(r, "1.targets.json")->len);
    assert_memory_equal(data, find(r, "1.targets.json")->data, len);
    free(data);
}

static void test_root_rotation_cap(void **state)
{
    repo *r = *state;
    fws_tuf_client_config cfg = fws_tuf_client_defaults;
    fws_tuf_fetcher f;
    cfg.fixed_now = T0;
    put_root(r, 2, T0 + 86400);
    put_root(r, 3, T0 + 86400);
    put_targets(r, "targets", 1, NULL, NULL);
    put_snapshot_timestamp(r, 1, T0 + 3600);
    cfg.max_root_rotations = 1;
    fws_tuf_client *c = client(r, &cfg, &f);
    assert_int_equal(fws_tuf_client_refresh(c, NULL), FWS_OK);
    assert_int_equal(fws_tuf_client_version(c, FWS_TUF_ROOT), 2);
    fws_tuf_client_free(c);
    cfg.max_root_rotations = 256;
    c = client(r, &cfg, &f);
    assert_int_equal(fws_tuf_client_refresh(c, NULL), FWS_OK);
    assert_int_equal(fws_tuf_client_version(c, FWS_TUF_ROOT), 3);
    fws_tuf_client_free(c);
}

/* A delegation from one role to the next, trusted for every path. */
static json_t *deleg_to(repo *r, const char *name)
{
    return json_pack("{s:{s:O}, s:[{s:s, s:[s], s:i, s:b, s:[s]}]}", "keys", r->did, r->dkey,
                     "roles", "name", name, "keyids", r->did, "threshold", 1, "terminating", 0,
                     "paths", "*");
}

static void test_delegation_cap_and_cycle(void **state)
{
    repo *r = *state;
    fws_tuf_client_config cfg = fws_tuf_client_defaults;
    fws_tuf_fetcher f;
    fws_tuf_target t;
    fws_errbuf eb = {{0}};
    cfg.fixed_now = T0;
    /* targets -> r1 -> r2 -> r3 (holds x) ; r2 also -> r1 (a cycle). */
    put_targets(r, "targets", 1, NULL, deleg_to(r, "r1"));
    put_targets(r, "r1", 1, NULL, deleg_to(r, "r2"));
    json_t *d2 = deleg_to(r, "r1");
    json_array_append_new(json_object_get(d2, "roles"),
                          json_pack("{s:s, s:[s], s:i, s:b, s:[s]}", "name", "r3", "keyids", r->did,
                                    "threshold", 1, "terminating", 0, "paths", "*"));
    put_targets(r, "r2", 1, NULL, d2);
    put_targets(r, "r3", 1, one_target("x", "deep"), NULL);
    put_snapshot_timestamp(r, 1, T0 + 3600);
    cfg.max_delegations = 3;
    fws_tuf_client *c = client(r, &cfg, &f);
    assert_int_equal(fws_tuf_client_find_target(c, "x", &t, &eb), FWS_ERR_NOT_FOUND);
    fws_tuf_client_free(c);
    cfg.max_delegations = 32;
    c = client(r, &cfg, &f);
    assert_int_equal(fws_tuf_client_find_target(c, "x", &t, NULL), FWS_OK);
    assert_int_equal(t.length, 4);
    /* An absent target ends after visiting each role once, despite the cycle. */
    assert_int_equal(fws_tuf_client_find_target(c, "absent", &t, NULL), FWS_ERR_NOT_FOUND);
    fws_tuf_client_free(c);
    assert_int_equal(find(r, "1.r1.json")->fetches, 1);
}

static void test_snapshot_must_list_role(void **state)
{
    repo *r = *state;
    fws_tuf_client_config cfg = fws_tuf_client_defaults;
    fws_tuf_fetcher f;
    fws_tuf_target t;
    fws_errbuf eb = {{0}};
    cfg.fixed_now = T0;
    put_targets(r, "targets", 1, NULL, deleg_to(r, "unlisted"));
    put_snapshot_timestamp(r, 1, T0 + 3600);
    put_targets(r, "unlisted", 1, one_target("x", "x"), NULL); /* after the snapshot */
    fws_tuf_client *c = client(r, &cfg, &f);
    assert_int_equal(fws_tuf_client_find_target(c, "x", &t, &eb), FWS_ERR_INCONSISTENT);
    assert_non_null(strstr(eb.msg, "does not list unlisted.json"));
    fws_tuf_client_free(c);
}

/* Writes every in-memory file under dir/metadata, for the file:// fetcher. */
static void write_out(repo *r, const char *dir)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/metadata", dir);
    assert_int_equal(fws_mkdirs(path, 0755, NULL), FWS_OK);
    for (size_t i = 0; i < r->n; i++) {
        snprintf(path, sizeof(path), "%s/metadata/%s", dir, r->files[i].name);
        assert_int_equal(
            fws_file_write_atomic(path, r->files[i].data, r->files[i].len, 0644, 1, NULL), FWS_OK);
    }
}

static void test_file_urls_and_targets(void **state)
{
    repo *r = *state;
    fws_tuf_client_config cfg = fws_tuf_client_defaults;
    fws_tuf_fetcher f;
    fws_tuf_client *c = NULL;
    fws_tuf_target t;
    char url[128], tdir[128], path[256], meta[128];
    int fetched = -1;
    cfg.fixed_now = T0;
    put_targets(r, "targets", 1, one_target("fw/a.bin", "firmware"), NULL);
    put_snapshot_timestamp(r, 1, T0 + 3600);
    write_out(r, r->dir);
    /* The target, stored by hash as consistent snapshots name it. */
    snprintf(path, sizeof(path), "%s/targets/fw", r->dir);
    assert_int_equal(fws_mkdirs(path, 0755, NULL), FWS_OK);
    uint8_t d[FWS_SHA256_LEN];
    char hex[2 * FWS_SHA256_LEN + 1];
    fws_sha256("firmware", 8, d);
    fws_hex_encode(d, sizeof(d), hex);
    snprintf(path, sizeof(path), "%s/targets/fw/%s.a.bin", r->dir, hex);
    assert_int_equal(fws_file_write_atomic(path, "firmware", 8, 0644, 1, NULL), FWS_OK);

    snprintf(meta, sizeof(meta), "%s/meta", r->dir);
    snprintf(url, sizeof(url), "file://%s/metadata", r->dir);
    snprintf(tdir, sizeof(tdir), "%s/out", r->dir);
    mem_file *root = find(r, "1.root.json");
    assert_int_equal(fws_tuf_client_init_dir(meta, (const uint8_t *)root->data, root->len, NULL),
                     FWS_OK);
    assert_int_equal(fws_tuf_fetcher_new(NULL, &f, NULL), FWS_OK);
    assert_int_equal(fws_tuf_client_new(meta, url, &cfg, &f, &c, NULL), FWS_OK);
    assert_int_equal(fws_tuf_client_find_target(c, "fw/a.bin", &t, NULL), FWS_OK);
    snprintf(url, sizeof(url), "file://%s/targets", r->dir);
    assert_int_equal(fws_tuf_client_download_target(c, &t, url, tdir, &fetched, NULL), FWS_OK);
    assert_int_equal(fetched, 1);
    assert_int_equal(fws_tuf_client_download_target(c, &t, url, tdir, &fetched, NULL), FWS_OK);
    assert_int_equal(fetched, 0);
    char *stored = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(fws_tuf_target_local_path(tdir, &t, &stored, NULL), FWS_OK);
    assert_non_null(strstr(stored, "/out/fw%2Fa.bin"));
    assert_int_equal(fws_file_read(stored, 100, &data, &len, NULL), FWS_OK);
    assert_memory_equal(data, "firmware", 8);
    free(data);
    /* A corrupted local copy is replaced by a fresh, verified one. */
    assert_int_equal(fws_file_write_atomic(stored, "FIRMWARE", 8, 0644, 1, NULL), FWS_OK);
    assert_int_equal(fws_tuf_client_download_target(c, &t, url, tdir, &fetched, NULL), FWS_OK);
    assert_int_equal(fetched, 1);
    /* A served target that is wrong is refused and leaves no file behind. */
    assert_int_equal(fws_file_write_atomic(path, "firmwarX", 8, 0644, 1, NULL), FWS_OK);
    assert_int_equal(unlink(stored), 0);
    assert_int_equal(fws_tuf_client_download_target(c, &t, url, tdir, &fetched, NULL),
                     FWS_ERR_DIGEST);
    struct stat st;
    assert_int_equal(stat(stored, &st), -1);
    free(stored);
    fws_tuf_client_free(c);
    fws_tuf_fetcher_free(&f);
}

int main(void)
{
    /* A child or peer that hangs up early is the code's to handle, not a fatal signal. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fixed_start_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_copies_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_rotation_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delegation_cap_and_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_must_list_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_urls_and_targets, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
