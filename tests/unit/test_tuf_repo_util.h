/* Helpers shared by the repository-side unit tests (header-only, test code only): a deployment
 * in a temporary directory, an in-memory ledger, a digest of a whole directory tree, and
 * checks of the published metadata through the TUF model the client uses. Include cmocka.h
 * first. */
#ifndef TEST_TUF_REPO_UTIL_H
#define TEST_TUF_REPO_UTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fwseal/json.h"
#include "fwseal/repo.h"
#include "fwseal/tuf.h"
#include "fwseal/util.h"

#define TR_NOW ((int64_t)1767225600) /* 2026-01-01T00:00:00Z */
#define TR_MAX_RECORDS 64

/* The ledger the tests give the repository: records kept in memory, indexes from 0. */
typedef struct tr_ledger {
    size_t n;
    char *records[TR_MAX_RECORDS];
    int fail; /* answer the next append with FWS_ERR_IO */
} tr_ledger;

static inline fws_err tr_ledger_append(void *ctx, const uint8_t *rec, size_t len, uint64_t *index,
                                       fws_errbuf *eb)
{
    tr_ledger *l = ctx;
    if (l->fail)
        return fws_errf(eb, FWS_ERR_IO, "test ledger refuses the append");
    if (l->n == TR_MAX_RECORDS)
        return FWS_ERR_TOO_BIG;
    l->records[l->n] = strndup((const char *)rec, len);
    *index = l->n++;
    return FWS_OK;
}

static inline fws_err tr_ledger_init(void *ctx, const char *dir, const char *origin,
                                     const fws_signer *key, const char *key_ref, fws_errbuf *eb)
{
    (void)ctx;
    (void)origin;
    (void)key;
    (void)key_ref;
    return fws_mkdirs(dir, 0755, eb);
}

static inline void tr_ledger_free(tr_ledger *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->records[i]);
    memset(l, 0, sizeof(*l));
}

/* The last record, parsed (new reference). */
static inline json_t *tr_ledger_last(const tr_ledger *l)
{
    json_t *v = NULL;
    if (l->n == 0)
        return NULL;
    const char *r = l->records[l->n - 1];
    if (fws_json_parse((const uint8_t *)r, strlen(r), FWS_JSON_CANONICAL, NULL, &v, NULL) != FWS_OK)
        return NULL;
    return v;
}

/* ---- files ------------------------------------------------------------------------------- */

static inline char *tr_tmpdir(void)
{
    char tmpl[] = "/tmp/fwseal-tuf-repo.XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static inline void tr_rm_rf(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *dir = opendir(path);
        struct dirent *e;
        while (dir != NULL && (e = readdir(dir)) != NULL) {
            char child[4096];
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
            tr_rm_rf(child);
        }
        if (dir != NULL)
            closedir(dir);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static inline int tr_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t n = fwrite(data, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

static inline int tr_write_random(const char *path, size_t len)
{
    uint8_t *b = malloc(len);
    if (b == NULL || fws_random(b, len) != FWS_OK) {
        free(b);
        return -1;
    }
    int rc = tr_write(path, b, len);
    free(b);
    return rc;
}

static inline int tr_exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* Adds a directory tree (names, kinds and contents, in sorted order) to a running hash. */
static inline void tr_hash_tree_into(fws_sha256_ctx *h, const char *path, const char *rel)
{
    struct dirent **list = NULL;
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    fws_sha256_update(h, rel, strlen(rel) + 1);
    if (!S_ISDIR(sb.st_mode)) {
        uint8_t *data = NULL;
        size_t len = 0;
        if (fws_file_read(path, (size_t)1 << 30, &data, &len, NULL) == FWS_OK)
            fws_sha256_update(h, data, len);
        free(data);
        return;
    }
    fws_sha256_update(h, "/", 1);
    int n = scandir(path, &list, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        char child[4096], crel[4096];
        if (strcmp(list[i]->d_name, ".") != 0 && strcmp(list[i]->d_name, "..") != 0) {
            snprintf(child, sizeof(child), "%s/%s", path, list[i]->d_name);
            snprintf(crel, sizeof(crel), "%s/%s", rel, list[i]->d_name);
            tr_hash_tree_into(h, child, crel);
        }
        free(list[i]);
    }
    free(list);
}

/* SHA-256 over every name and byte under path. */
static inline void tr_hash_tree(const char *path, uint8_t out[FWS_SHA256_LEN])
{
    fws_sha256_ctx h;
    fws_sha256_init(&h);
    tr_hash_tree_into(&h, path, ".");
    fws_sha256_final(&h, out);
}

/* ---- metadata ------------------------------------------------------------------------------ */

/* Parses <deploy>/repo/metadata/<file>. */
static inline fws_err tr_md_load(const char *deploy, const char *file, fws_tuf_kind kind,
                                 fws_tuf_md *md)
{
    char path[4096];
    uint8_t *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/repo/metadata/%s", deploy, file);
    fws_err err = fws_file_read(path, FWS_REPO_MAX_METADATA, &data, &len, NULL);
    if (err == FWS_OK)
        err = fws_tuf_md_parse(data, len, FWS_REPO_MAX_METADATA, kind, md, NULL);
    free(data);
    return err;
}

/* Verifies md's signatures against the role `kind` of a trusted root document. */
static inline fws_err tr_verify(const fws_tuf_md *root_md, fws_tuf_kind kind, const fws_tuf_md *md)
{
    fws_tuf_root root;
    fws_errbuf eb = {{0}};
    fws_err err = fws_tuf_root_load(root_md, &root, &eb);
    if (err != FWS_OK)
        return err;
    err = fws_tuf_verify_role(md->doc, md->signed_bytes, md->signed_len, root.keys,
                              &root.roles[kind], fws_tuf_kind_name(kind), &eb);
    fws_tuf_root_free(&root);
    return err;
}

/* Loads and verifies file against root_md's role `kind`. */
static inline fws_err tr_load_verified(const char *deploy, const char *root_file, const char *file,
                                       fws_tuf_kind kind, fws_tuf_md *md)
{
    fws_tuf_md root;
    fws_err err = tr_md_load(deploy, root_file, FWS_TUF_ROOT, &root);
    if (err != FWS_OK)
        return err;
    err = tr_md_load(deploy, file, kind, md);
    if (err == FWS_OK && (err = tr_verify(&root, kind, md)) != FWS_OK)
        fws_tuf_md_free(md);
    fws_tuf_md_free(&root);
    return err;
}

/* The version timestamp.json gives to snapshot, and snapshot to targets. */
static inline int64_t tr_meta_version(const fws_tuf_md *md, const char *name)
{
    json_t *meta = json_object_get(md->signed_obj, "meta");
    return json_integer_value(json_object_get(json_object_get(meta, name), "version"));
}

/* A deployment made with default options but the given overrides. */
static inline fws_err tr_init(const char *dir, unsigned root_keys, unsigned threshold,
                              uint64_t bins_threshold, unsigned bits, const char *root_key_dir)
{
    static const fws_passphrase pp = {.text = "test passphrase", .len = 15};
    fws_deploy_init_opts o;
    fws_repo_ledger l = {.init = tr_ledger_init};
    memset(&o, 0, sizeof(o));
    o.dir = dir;
    o.origin = "example.com/firmware";
    o.root_keys = root_keys;
    o.root_threshold = threshold;
    o.bins_threshold = bins_threshold;
    o.bins_bit_length = bits;
    o.root_key_dir = root_key_dir;
    o.pp = &pp;
    o.now = TR_NOW;
    return fws_deploy_init(&o, &l, NULL, NULL, NULL);
}

static inline const fws_passphrase *tr_pp(void)
{
    static const fws_passphrase pp = {.text = "test passphrase", .len = 15};
    return &pp;
}

/* ---- a fixture: an open deployment and its ledger ------------------------------------------ */

typedef struct fx {
    char *tmp;
    char deploy[1024];
    fws_deploy *d;
    tr_ledger ledger;
    fws_repo_ledger l;
} fx;

static inline int setup_with(void **state, uint64_t bins_threshold, unsigned bits)
{
    fx *f = calloc(1, sizeof(*f));
    f->tmp = tr_tmpdir();
    snprintf(f->deploy, sizeof(f->deploy), "%s/deploy", f->tmp);
    assert_int_equal(tr_init(f->deploy, 1, 1, bins_threshold, bits, NULL), FWS_OK);
    assert_int_equal(fws_deploy_open(f->deploy, &f->d, NULL), FWS_OK);
    f->l.append = tr_ledger_append;
    f->l.ctx = &f->ledger;
    *state = f;
    return 0;
}

static inline int setup(void **state)
{
    return setup_with(state, 0, 0);
}

static inline int teardown(void **state)
{
    fx *f = *state;
    fws_deploy_close(f->d);
    tr_ledger_free(&f->ledger);
    tr_rm_rf(f->tmp);
    free(f->tmp);
    free(f);
    return 0;
}

static inline void request(fx *f, fws_release_req *r, const char *image, const char *version,
                           uint64_t counter)
{
    static const char *hw_list[] = {"hub-v2", "hub-v3"};
    static const char *region_list[] = {"eu"};
    memset(r, 0, sizeof(*r));
    r->image = image;
    r->product = "hub";
    r->version = version;
    r->hardware = hw_list;
    r->n_hardware = 2;
    r->regions = region_list;
    r->n_regions = 1;
    r->security_counter = counter;
    r->pp = tr_pp();
    r->now = TR_NOW + 60;
    (void)f;
}

static inline char *image_path(fx *f, const char *version)
{
    static char path[4096];
    char dir[2048];
    snprintf(dir, sizeof(dir), "%s/build-%s", f->tmp, version);
    mkdir(dir, 0755);
    snprintf(path, sizeof(path), "%s/fw.bin", dir);
    if (!tr_exists(path))
        assert_int_equal(tr_write_random(path, 70000), 0);
    return path;
}

static inline fws_err add(fx *f, const char *version, uint64_t counter, fws_release_result *res,
                          fws_errbuf *eb)
{
    fws_release_req r;
    request(f, &r, image_path(f, version), version, counter);
    return fws_release_add(f->d, &r, &f->l, res, eb);
}

#endif
