/* Reference values: known-good digests per stage, from the policy and from the ledger's
 * release records (the image SHA-256 of each release of a product for a hardware model). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "fwseal/ledger.h"
#include "fwseal/merkle.h"
#include "fwseal/tiles.h"
#include "attest/internal.h"

typedef struct ref {
    char stage[FWS_ATTEST_STAGE_MAX + 1];
    uint8_t digest[FWS_SHA256_LEN];
    char source[FWS_ATTEST_SOURCE_LEN];
} ref;

struct fws_attest_refs {
    size_t n, cap;
    ref *v;
};

fws_err fws_attest_refs_new(fws_attest_refs **out)
{
    if (out == NULL)
        return FWS_ERR_ARG;
    *out = calloc(1, sizeof(**out));
    return *out != NULL ? FWS_OK : FWS_ERR_NOMEM;
}

void fws_attest_refs_free(fws_attest_refs *r)
{
    if (r == NULL)
        return;
    free(r->v);
    free(r);
}

size_t fws_attest_refs_count(const fws_attest_refs *r)
{
    return r != NULL ? r->n : 0;
}

const char *fws_attest_refs_find(const fws_attest_refs *r, const char *stage,
                                 const uint8_t digest[FWS_SHA256_LEN])
{
    for (size_t i = 0; r != NULL && i < r->n; i++) {
        if (memcmp(r->v[i].digest, digest, FWS_SHA256_LEN) == 0 &&
            strcmp(r->v[i].stage, stage) == 0)
            return r->v[i].source;
    }
    return NULL;
}

fws_err fws_attest_refs_add(fws_attest_refs *r, const char *stage,
                            const uint8_t digest[FWS_SHA256_LEN], const char *source)
{
    if (r == NULL || digest == NULL || source == NULL || !fws_attest_stage_valid(stage))
        return FWS_ERR_ARG;
    if (fws_attest_refs_find(r, stage, digest) != NULL)
        return FWS_OK;
    if (r->n >= FWS_ATTEST_REFS_MAX)
        return FWS_ERR_TOO_BIG;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        ref *v = realloc(r->v, cap * sizeof(*v));
        if (v == NULL)
            return FWS_ERR_NOMEM;
        r->v = v;
        r->cap = cap;
    }
    ref *e = &r->v[r->n++];
    memset(e, 0, sizeof(*e));
    memcpy(e->stage, stage, strlen(stage));
    memcpy(e->digest, digest, FWS_SHA256_LEN);
    snprintf(e->source, sizeof(e->source), "%s", source);
    return FWS_OK;
}

fws_err fws_attest_refs_add_policy(fws_attest_refs *r, const fws_attest_policy *p)
{
    if (r == NULL || p == NULL)
        return FWS_ERR_ARG;
    for (size_t i = 0; i < p->n_stages && i < FWS_ATTEST_STAGES_MAX; i++) {
        for (size_t k = 0; k < p->stages[i].n_digests && k < FWS_ATTEST_POLICY_DIGESTS; k++) {
            fws_err err =
                fws_attest_refs_add(r, p->stages[i].name, p->stages[i].digests[k], "policy");
            if (err != FWS_OK)
                return err;
        }
    }
    return FWS_OK;
}

/* ---- the ledger ------------------------------------------------------------------------------ */

typedef struct ledger_rd {
    const char *dir;
    fws_tile_dir *td;
    fws_tile_source src;
    fws_tlog *t;
    char *cp_buf;
    fws_checkpoint cp;
    uint8_t *entry;                                                       /* FWS_RECORD_MAX + 1 */
    char (*revoked)[FWS_ATTEST_PRODUCT_MAX + FWS_ATTEST_VERSION_MAX + 2]; /* "product/version" */
    size_t n_revoked, cap_revoked;
} ledger_rd;

static fws_err rd_open(ledger_rd *l, const char *dir, const fws_note_vkey *log_key, fws_errbuf *eb)
{
    fws_ledger_status *st = NULL;
    fws_note_vkey claimed;
    fws_note note;
    size_t len = 0;
    fws_err err = FWS_ERR_NOMEM;
    l->dir = dir;
    l->td = malloc(sizeof(*l->td));
    l->cp_buf = malloc(FWS_TILE_CHECKPOINT_MAX + 1);
    l->entry = malloc(FWS_RECORD_MAX + 1);
    if (l->td == NULL || l->cp_buf == NULL || l->entry == NULL)
        return err;
    if ((err = fws_tile_dir_source(l->td, dir, &l->src, eb)) != FWS_OK ||
        (err = fws_tlog_open(&l->src, &fws_sha256_ops, &l->t, eb)) != FWS_OK ||
        (err = fws_tlog_fetch_checkpoint(l->t, l->cp_buf, FWS_TILE_CHECKPOINT_MAX, &len, eb)) !=
            FWS_OK)
        return err;
    if (log_key == NULL) {
        st = malloc(sizeof(*st));
        if (st == NULL)
            return FWS_ERR_NOMEM;
        err = fws_ledger_info(dir, st, eb);
        if (err == FWS_OK)
            err = fws_note_vkey_parse(st->vkey, strlen(st->vkey), &claimed, eb);
        free(st);
        if (err != FWS_OK)
            return err;
        log_key = &claimed;
    }
    return fws_checkpoint_open(l->cp_buf, len, log_key, NULL, &note, &l->cp, eb);
}

static void rd_close(ledger_rd *l)
{
    fws_tlog_close(l->t);
    free(l->revoked);
    free(l->td);
    free(l->cp_buf);
    free(l->entry);
}

/* Reads entry index, proves it is in the checkpoint, parses it. */
static fws_err rd_record(ledger_rd *l, uint64_t index, json_t **rec, fws_errbuf *eb)
{
    uint8_t leaf[FWS_MERKLE_HASH_LEN], proof[FWS_MERKLE_MAX_PROOF][FWS_MERKLE_HASH_LEN];
    size_t len = 0, n = 0;
    fws_err err;
    if ((err = fws_tlog_entry(l->t, index, l->cp.size, l->entry, FWS_RECORD_MAX, &len, eb)) !=
            FWS_OK ||
        (err = fws_merkle_leaf_hash(&fws_sha256_ops, l->entry, len, leaf)) != FWS_OK ||
        (err = fws_tlog_inclusion_proof(l->t, index, l->cp.size, proof, FWS_MERKLE_MAX_PROOF, &n,
                                        eb)) != FWS_OK)
        return err;
    if (fws_merkle_verify_inclusion(&fws_sha256_ops, index, l->cp.size, leaf,
                                    (const uint8_t(*)[FWS_MERKLE_HASH_LEN])proof, n,
                                    l->cp.root) != FWS_OK)
        return fws_errf(eb, FWS_ERR_PROOF, "ledger %s: entry %llu is not in the checkpoint", l->dir,
                        (unsigned long long)index);
    err = fws_json_parse(l->entry, len, FWS_JSON_NO_FLOATS, NULL, rec, eb);
    if (err == FWS_OK && !json_is_object(*rec)) {
        json_decref(*rec);
        err = fws_errf(eb, FWS_ERR_SCHEMA, "ledger entry %llu is not a record",
                       (unsigned long long)index);
    }
    return err;
}

typedef fws_err (*record_fn)(ledger_rd *l, uint64_t index, json_t *rec, void *ctx, fws_errbuf *eb);

/* Calls fn for every record the index finds for q that the checkpoint covers. */
static fws_err rd_each(ledger_rd *l, const fws_ledger_query *q, record_fn fn, void *ctx,
                       fws_errbuf *eb)
{
    uint64_t idx[256], after = UINT64_MAX;
    size_t n = 0;
    fws_err err;
    do {
        if ((err = fws_ledger_search(l->dir, q, after, idx, 256, &n, eb)) != FWS_OK)
            return err;
        for (size_t i = 0; i < n; i++) {
            json_t *rec = NULL;
            if (idx[i] >= l->cp.size)
                return FWS_OK; /* not covered by a signed checkpoint yet */
            if ((err = rd_record(l, idx[i], &rec, eb)) != FWS_OK)
                return err;
            err = fn(l, idx[i], rec, ctx, eb);
            json_decref(rec);
            if (err != FWS_OK)
                return err;
        }
        if (n > 0)
            after = idx[n - 1];
    } while (n == 256);
    return FWS_OK;
}

static fws_err on_revoke(ledger_rd *l, uint64_t index, json_t *rec, void *ctx, fws_errbuf *eb)
{
    const char *subject = json_string_value(json_object_get(rec, "subject"));
    const char *id = json_string_value(json_object_get(rec, "id"));
    (void)index;
    (void)ctx;
    if (subject == NULL || id == NULL || strcmp(subject, "release") != 0)
        return FWS_OK;
    if (l->n_revoked == l->cap_revoked) {
        size_t cap = l->cap_revoked ? 2 * l->cap_revoked : 64;
        if (cap > FWS_ATTEST_REFS_MAX)
            return fws_errf(eb, FWS_ERR_TOO_BIG, "ledger %s: over %d revoked releases", l->dir,
                            FWS_ATTEST_REFS_MAX);
        void *more = realloc(l->revoked, cap * sizeof(l->revoked[0]));
        if (more == NULL)
            return FWS_ERR_NOMEM;
        l->revoked = more;
        l->cap_revoked = cap;
    }
    snprintf(l->revoked[l->n_revoked++], sizeof(l->revoked[0]), "%s", id);
    return FWS_OK;
}

typedef struct release_ctx {
    fws_attest_refs *r;
    const char *stage;
    const char *model;
    size_t added;
} release_ctx;

static int names_model(const json_t *hw, const char *model)
{
    for (size_t i = 0; json_is_array(hw) && i < json_array_size(hw); i++) {
        const char *m = json_string_value(json_array_get(hw, i));
        if (m != NULL && strcmp(m, model) == 0)
            return 1;
    }
    return 0;
}

static fws_err on_release(ledger_rd *l, uint64_t index, json_t *rec, void *vctx, fws_errbuf *eb)
{
    release_ctx *c = vctx;
    char id[FWS_ATTEST_PRODUCT_MAX + FWS_ATTEST_VERSION_MAX + 2], source[FWS_ATTEST_SOURCE_LEN];
    uint8_t digest[FWS_SHA256_LEN];
    const char *product = json_string_value(json_object_get(rec, "product"));
    const char *version = json_string_value(json_object_get(rec, "version"));
    const char *sha = json_string_value(json_object_get(json_object_get(rec, "image"), "sha256"));
    if (product == NULL || version == NULL || att_unhex32(sha, digest) != FWS_OK)
        return fws_errf(eb, FWS_ERR_SCHEMA, "ledger %s: release record %llu is malformed", l->dir,
                        (unsigned long long)index);
    if (!names_model(json_object_get(rec, "hardware"), c->model))
        return FWS_OK;
    snprintf(id, sizeof(id), "%.128s/%.64s", product, version);
    for (size_t i = 0; i < l->n_revoked; i++) {
        if (strcmp(l->revoked[i], id) == 0)
            return FWS_OK;
    }
    snprintf(source, sizeof(source), "ledger %llu %s", (unsigned long long)index, id);
    size_t before = fws_attest_refs_count(c->r);
    fws_err err = fws_attest_refs_add(c->r, c->stage, digest, source);
    c->added += fws_attest_refs_count(c->r) - before;
    return err;
}

fws_err fws_attest_refs_add_ledger(fws_attest_refs *r, const fws_attest_policy *p,
                                   const char *ledger_dir, const fws_note_vkey *log_key,
                                   const char *model, size_t *added, fws_errbuf *eb)
{
    ledger_rd *l = NULL;
    release_ctx c = {r, NULL, model, 0};
    fws_errbuf why = {{0}};
    fws_err err = FWS_OK;
    if (r == NULL || p == NULL || ledger_dir == NULL || model == NULL)
        return FWS_ERR_ARG;
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return FWS_ERR_NOMEM;
    if ((err = rd_open(l, ledger_dir, log_key, &why)) != FWS_OK)
        goto out;
    fws_ledger_query rq = {FWS_RECORD_REVOKE, NULL, NULL, NULL};
    if ((err = rd_each(l, &rq, on_revoke, NULL, &why)) != FWS_OK)
        goto out;
    for (size_t i = 0; i < p->n_stages && i < FWS_ATTEST_STAGES_MAX; i++) {
        if (p->stages[i].ledger_product[0] == '\0')
            continue;
        fws_ledger_query q = {FWS_RECORD_RELEASE, NULL, p->stages[i].ledger_product, NULL};
        c.stage = p->stages[i].name;
        if ((err = rd_each(l, &q, on_release, &c, &why)) != FWS_OK)
            goto out;
    }
    if (added != NULL)
        *added = c.added;
out:
    rd_close(l);
    free(l);
    if (err != FWS_OK)
        return fws_errf(eb, err, "reference values from ledger %s: %s", ledger_dir,
                        why.msg[0] ? why.msg : fws_strerror(err));
    return FWS_OK;
}
