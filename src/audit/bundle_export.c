/* fws_audit_export: everything needed to re-check a deployment's history offline, without any
 * secret, in one archive (docs/AUDIT.md describes the members and what ties each one). */
#include <dirent.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "audit/bundle.h"
#include "audit/tilescopy.h"
#include "fwseal/json.h"
#include "fwseal/tlogproof.h"
#include "fwseal/util.h"

#define FILE_MAX (32u << 20)

typedef struct meta_file {
    char name[128];
    uint8_t *data;
    size_t len;
} meta_file;

typedef struct bx {
    au_ctx *c;
    const fws_audit_export_opts *o;
    fws_tar_writer w;
    json_t *members;
    fws_tlog *t;
    uint8_t *buf;
    fws_audit_bundle_info *info;
    meta_file *meta;
    size_t n_meta, cap_meta;
    int env_used[4];
} bx;

static fws_err member(bx *x, const char *name, const void *data, size_t len, const char *tie,
                      fws_errbuf *eb)
{
    uint8_t d[32];
    char hex[65];
    fws_err err = fws_tar_add(&x->w, name, data, len, d, eb);
    if (err != FWS_OK)
        return err;
    fws_hex_encode(d, 32, hex);
    if (json_object_set_new(
            x->members, name,
            json_pack("{s:s, s:I, s:s}", "sha256", hex, "size", (json_int_t)len, "tie", tie)) != 0)
        return FWS_ERR_NOMEM;
    x->info->members++;
    return FWS_OK;
}

static fws_err member_file(bx *x, const char *name, const char *path, const char *tie,
                           fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_err err = fws_file_read(path, FILE_MAX, &data, &len, eb);
    if (err == FWS_OK)
        err = member(x, name, data, len, tie, eb);
    free(data);
    return err;
}

static fws_err tile_member(void *ctx, const fws_tile_id *id, fws_errbuf *eb)
{
    bx *x = ctx;
    char path[FWS_TILE_PATH_MAX], name[FWS_TILE_PATH_MAX + 8];
    size_t len = 0, plen = 0;
    fws_err err = au_tile_bytes(x->t, x->c->ledger.tree_size, id, x->buf, FWS_BUNDLE_MAX, &len, eb);
    if (err == FWS_OK)
        err = fws_tile_path(id, path, &plen);
    snprintf(name, sizeof(name), "ledger/%s", path);
    return err == FWS_OK ? member(x, name, x->buf, len, "tile", eb) : err;
}

static fws_err proofs(bx *x, fws_errbuf *eb)
{
    uint8_t hashes[FWS_MERKLE_MAX_PROOF][FWS_MERKLE_HASH_LEN];
    char name[64], *out = malloc(FWS_TLOG_PROOF_MAX);
    fws_err err = out != NULL ? FWS_OK : FWS_ERR_NOMEM;
    const au_ledger *l = &x->c->ledger;
    for (size_t i = 0; err == FWS_OK && i < l->n_rel; i++) {
        size_t n = 0, len = 0;
        err = fws_tlog_inclusion_proof(x->t, l->rel[i].index, l->tree_size, hashes,
                                       FWS_MERKLE_MAX_PROOF, &n, eb);
        if (err == FWS_OK)
            err = fws_tlog_proof_create(l->rel[i].index, (const uint8_t(*)[32])hashes, n,
                                        x->c->cp_text, x->c->cp_len, NULL, 0, out,
                                        FWS_TLOG_PROOF_MAX, &len, eb);
        snprintf(name, sizeof(name), "proofs/%llu.tlog-proof", (unsigned long long)l->rel[i].index);
        if (err == FWS_OK)
            err = member(x, name, out, len, "proof", eb);
        x->info->proofs++;
    }
    free(out);
    return err;
}

/* ---- TUF: the files the chain walk reads, served from the deployment ---------------------- */

static fws_err meta_get(void *ctx, const char *name, const uint8_t **data, size_t *len)
{
    bx *x = ctx;
    char path[4600];
    for (size_t i = 0; i < x->n_meta; i++) {
        if (strcmp(x->meta[i].name, name) == 0) {
            *data = x->meta[i].data;
            *len = x->meta[i].len;
            return FWS_OK;
        }
    }
    if (strlen(name) >= sizeof(x->meta[0].name) || strchr(name, '/') != NULL)
        return FWS_ERR_NOT_FOUND;
    snprintf(path, sizeof(path), "%s/repo/metadata/%s", x->o->deploy, name);
    if (x->n_meta == x->cap_meta) {
        size_t cap = x->cap_meta ? x->cap_meta * 2 : 16;
        meta_file *m = realloc(x->meta, cap * sizeof(*m));
        if (m == NULL)
            return FWS_ERR_NOMEM;
        x->meta = m;
        x->cap_meta = cap;
    }
    meta_file *m = &x->meta[x->n_meta];
    fws_err err = fws_file_read(path, FILE_MAX, &m->data, &m->len, NULL);
    if (err != FWS_OK)
        return err;
    snprintf(m->name, sizeof(m->name), "%s", name);
    x->n_meta++;
    *data = m->data;
    *len = m->len;
    return FWS_OK;
}

static int64_t deploy_clock(const char *meta_dir)
{
    int64_t now = 0;
    DIR *d = opendir(meta_dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        char path[4600];
        uint8_t *data = NULL;
        size_t len = 0;
        if (strstr(e->d_name, ".json") == NULL)
            continue;
        snprintf(path, sizeof(path), "%s/%s", meta_dir, e->d_name);
        if (fws_file_read(path, FILE_MAX, &data, &len, NULL) == FWS_OK)
            now = au_tuf_clock(data, len, now);
        free(data);
    }
    if (d != NULL)
        closedir(d);
    return now;
}

static fws_err tuf(bx *x, fws_errbuf *eb)
{
    char dir[4200], name[200];
    const uint8_t *root = NULL;
    size_t rlen = 0;
    snprintf(dir, sizeof(dir), "%s/repo/metadata", x->o->deploy);
    if (meta_get(x, "1.root.json", &root, &rlen) != FWS_OK)
        return FWS_OK; /* no repository */
    uint8_t rd[32];
    fws_sha256(root, rlen, rd);
    fws_hex_encode(rd, 32, x->info->root_sha256);
    fws_err err = au_tuf_walk(root, rlen, meta_get, x, deploy_clock(dir), NULL, 0, eb);
    for (size_t k = 0; err == FWS_OK && k < x->n_meta; k++) {
        snprintf(name, sizeof(name), "repo/metadata/%s", x->meta[k].name);
        err = member(x, name, x->meta[k].data, x->meta[k].len, "tuf", eb);
        x->info->tuf_files++;
    }
    return err;
}

/* ---- attachments tied to release records ---------------------------------------------------- */

static fws_err attachment(bx *x, const au_release *rel, const char *target, const uint8_t d[32],
                          const char *kind, fws_errbuf *eb)
{
    char hex[65], name[128], path[5200], tie[40];
    const char *slash = target != NULL ? strrchr(target, '/') : NULL;
    if (slash == NULL)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "%s/%s: the release index names no attachment",
                        rel->product, rel->version);
    fws_hex_encode(d, 32, hex);
    snprintf(name, sizeof(name), "attachments/%s.%s", hex, kind);
    snprintf(path, sizeof(path), "%s/repo/targets/%.*s/%s.%s", x->o->deploy, (int)(slash - target),
             target, hex, slash + 1);
    snprintf(tie, sizeof(tie), "record:%llu", (unsigned long long)rel->index);
    if (json_object_get(x->members, name) != NULL)
        return FWS_OK; /* the same file attached to an earlier release: tied there */
    x->info->attachments++;
    return member_file(x, name, path, tie, eb);
}

static int by_index(const void *a, const void *b)
{
    uint64_t x = (*(const au_release *const *)a)->index, y = (*(const au_release *const *)b)->index;
    return x < y ? -1 : x > y;
}

/* In ledger order, so that a file two releases share is tied to the first (one encoding). */
static fws_err attachments(bx *x, json_t *list, fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    const au_ledger *l = &x->c->ledger;
    const au_release **order = calloc(l->n_rel + 1, sizeof(*order));
    if (order == NULL)
        return FWS_ERR_NOMEM;
    for (size_t i = 0; i < l->n_rel; i++)
        order[i] = &l->rel[i];
    if (l->n_rel > 1)
        qsort(order, l->n_rel, sizeof(*order), by_index);
    for (size_t i = 0; err == FWS_OK && i < l->n_rel; i++) {
        const au_release *rel = order[i];
        json_t *entry = NULL, *e;
        size_t k;
        json_array_foreach(list, k, e)
        {
            const char *p = json_string_value(json_object_get(e, "product"));
            const char *v = json_string_value(json_object_get(e, "version"));
            if (p != NULL && v != NULL && strcmp(p, rel->product) == 0 &&
                strcmp(v, rel->version) == 0)
                entry = e;
        }
        const char *st =
            json_string_value(json_object_get(json_object_get(entry, "sbom"), "target"));
        const char *pt =
            json_string_value(json_object_get(json_object_get(entry, "provenance"), "target"));
        if (rel->has_sbom)
            err = attachment(x, rel, st, rel->sbom, "sbom.cdx.json", eb);
        if (err == FWS_OK && rel->has_prov)
            err = attachment(x, rel, pt, rel->prov, "provenance.dsse.json", eb);
    }
    free(order);
    return err;
}

/* ---- device certificates tied to provision records, and the CAs they chain to ------------- */

static fws_err cert_row(bx *x, sqlite3_stmt *st, fws_errbuf *eb)
{
    const char *dev = (const char *)sqlite3_column_text(st, 0);
    const char *sha = (const char *)sqlite3_column_text(st, 1);
    int env = sqlite3_column_int(st, 2);
    const void *der = sqlite3_column_blob(st, 3);
    int len = sqlite3_column_bytes(st, 3);
    uint8_t key[AU_KEY_LEN], d[32];
    char name[128], tie[40];
    if (dev == NULL || sha == NULL || der == NULL || !au_hex32(sha, strlen(sha), d))
        return FWS_OK;
    au_device_key(dev, key);
    const au_devrec *rec = au_devrec_find(&x->c->ledger, key);
    if (rec == NULL || memcmp(rec->cert, d, 32) != 0 || env < 1 || env > 3)
        return FWS_OK;
    snprintf(name, sizeof(name), "pki/certs/%s.der", sha);
    snprintf(tie, sizeof(tie), "record:%llu", (unsigned long long)rec->index);
    x->env_used[env] = 1;
    x->info->certs++;
    return member(x, name, der, (size_t)len, tie, eb);
}

static fws_err pki(bx *x, fws_errbuf *eb)
{
    static const char *const envs[] = {NULL, "dev", "staging", "prod"};
    static const char *const files[][2] = {{"root.crt", "ca"},
                                           {"intermediate.crt", "ca"},
                                           {"crl.pem", "crl"},
                                           {"root-crl.pem", "crl"}};
    char path[4200], name[128];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    fws_err err = FWS_OK;
    snprintf(path, sizeof(path), "%s/pki/inventory.sqlite", x->o->deploy);
    if (access(path, F_OK) != 0)
        return FWS_OK;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT device_id, sha256, env, der FROM certs ORDER BY sha256", -1,
                           &st, NULL) != SQLITE_OK)
        err = fws_errf(eb, FWS_ERR_IO, "%s: %s", path, sqlite3_errmsg(db));
    while (err == FWS_OK && sqlite3_step(st) == SQLITE_ROW)
        err = cert_row(x, st, eb);
    sqlite3_finalize(st);
    sqlite3_close(db);
    for (int e = 1; err == FWS_OK && e <= 3; e++) {
        for (size_t f = 0; err == FWS_OK && x->env_used[e] && f < 4; f++) {
            snprintf(path, sizeof(path), "%s/pki/%s/%s", x->o->deploy, envs[e], files[f][0]);
            snprintf(name, sizeof(name), "pki/%s/%s", envs[e], files[f][0]);
            err = member_file(x, name, path, files[f][1], eb);
        }
    }
    return err;
}

static fws_err manifest(bx *x, fws_errbuf *eb)
{
    char *text = NULL;
    size_t len = 0;
    json_t *m = json_pack("{s:s, s:s, s:I, s:O}", "format", FWS_AUDIT_BUNDLE_FORMAT, "origin",
                          x->c->r->origin, "treeSize", (json_int_t)x->c->ledger.tree_size,
                          "members", x->members);
    fws_err err = m != NULL ? fws_json_canonical(m, &text, &len) : FWS_ERR_NOMEM;
    json_decref(m);
    if (err == FWS_OK)
        err = fws_tar_add(&x->w, AU_MANIFEST, text, len, NULL, eb);
    x->info->members++;
    free(text);
    return err;
}

static fws_err ledger(bx *x, au_ctx *c, fws_errbuf *eb)
{
    fws_err err = au_phase_ledger(c, eb);
    const fws_audit_finding *f = NULL;
    if (err == FWS_OK && fws_audit_report_count(c->r, FWS_AUDIT_RED) > 0) {
        size_t n = fws_audit_report_findings(c->r, &f);
        for (size_t i = 0; i < n; i++) {
            if (f[i].level == FWS_AUDIT_RED)
                return fws_errf(eb, FWS_ERR_INCONSISTENT, "the ledger does not verify: %s",
                                f[i].detail);
        }
    }
    if (err == FWS_OK && c->cp_len == 0)
        err = fws_errf(eb, FWS_ERR_STATE, "the ledger has no verified checkpoint");
    x->info->tree_size = c->ledger.tree_size;
    x->info->releases = c->ledger.n_rel;
    x->info->devices = c->ledger.n_dev;
    x->info->records = c->r->records;
    snprintf(x->info->origin, sizeof(x->info->origin), "%s", c->r->origin);
    return err;
}

static fws_err write_all(bx *x, fws_errbuf *eb)
{
    char path[4200];
    fws_tile_dir dir;
    fws_tile_source src;
    json_t *idx = NULL;
    au_path(path, sizeof(path), x->o->deploy, "releases.json");
    if (access(path, F_OK) == 0 && au_json_file(path, 64u << 20, &idx, eb) != FWS_OK)
        return FWS_ERR_FORMAT;
    json_t *list = json_object_get(idx, "releases");
    fws_err err = fws_tile_dir_source(&dir, x->c->ledger_dir, &src, eb);
    if (err == FWS_OK)
        err = fws_tlog_open(&src, &fws_sha256_ops, &x->t, eb);
    if (err == FWS_OK)
        err = member(x, "ledger/checkpoint", x->c->cp_text, x->c->cp_len, "checkpoint", eb);
    if (err == FWS_OK)
        err = au_tiles_each(x->c->ledger.tree_size, tile_member, x, eb);
    if (err == FWS_OK)
        err = proofs(x, eb);
    if (err == FWS_OK)
        err = tuf(x, eb);
    if (err == FWS_OK)
        err = attachments(x, list, eb);
    if (err == FWS_OK)
        err = pki(x, eb);
    if (err == FWS_OK)
        err = manifest(x, eb);
    if (err == FWS_OK)
        err = fws_tar_finish(&x->w, eb);
    fws_tlog_close(x->t);
    json_decref(idx);
    return err;
}

fws_err fws_audit_export(const fws_audit_export_opts *o, fws_audit_bundle_info *info,
                         fws_errbuf *eb)
{
    fws_audit_bundle_info inf;
    fws_audit_opts ao = {.deploy = o->deploy, .now = o->now};
    au_out out;
    bx x = {.o = o, .info = &inf};
    memset(&inf, 0, sizeof(inf));
    au_ctx *c = calloc(1, sizeof(*c));
    fws_err err = c != NULL ? au_report_new(&c->r) : FWS_ERR_NOMEM;
    if (err != FWS_OK) {
        free(c);
        return FWS_ERR_NOMEM;
    }
    c->o = &ao;
    x.c = c;
    x.members = json_object();
    x.buf = malloc(FWS_BUNDLE_MAX);
    if (x.members == NULL || x.buf == NULL)
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = ledger(&x, c, eb);
    if (err == FWS_OK && (err = au_out_open(&out, o->out, o->overwrite, eb)) == FWS_OK) {
        fchmod(out.fd, 0644); /* a bundle holds no secret */
        fws_tar_writer_init(&x.w, out.fd);
        err = write_all(&x, eb);
        if (err == FWS_OK)
            err = au_out_commit(&out, o->overwrite, eb);
        else
            au_out_abort(&out);
    }
    for (size_t i = 0; i < x.n_meta; i++)
        free(x.meta[i].data);
    free(x.meta);
    free(x.buf);
    json_decref(x.members);
    au_ledger_free(&c->ledger);
    fws_audit_report_free(c->r);
    free(c);
    if (err == FWS_OK && info != NULL)
        *info = inf;
    return err;
}
