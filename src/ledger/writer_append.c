/* Appending a batch: validate, deduplicate, build tiles, write them durably, then the tree
 * state, then the index. Only then is the batch acknowledged. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/crypto.h"
#include "writer_internal.h"

/* ---- entries ------------------------------------------------------------------------------- */

fws_err wr_prepare(const fws_ledger *l, const uint8_t *data, size_t len, wr_prepared *p,
                   fws_errbuf *eb)
{
    char *canon = NULL;
    size_t clen = 0;
    memset(p, 0, sizeof(*p));
    if (data == NULL && len > 0)
        return fws_errf(eb, FWS_ERR_ARG, "no entry data");
    if (l->cfg.any_entries) {
        if (len > FWS_ENTRY_MAX)
            return fws_errf(eb, FWS_ERR_TOO_BIG,
                            "entry is %zu bytes; the cap is %u bytes (entry bundles store 16-bit "
                            "lengths)",
                            len, (unsigned)FWS_ENTRY_MAX);
        p->data = (uint8_t *)data;
        p->len = len;
    } else {
        fws_err err = fws_record_validate(data, len, &canon, &clen, &p->info, eb);
        if (err != FWS_OK)
            return err;
        p->data = (uint8_t *)canon;
        p->len = clen;
        p->owned = 1;
        p->has_info = 1;
    }
    fws_sha256(p->data, p->len, p->digest);
    return FWS_OK;
}

void wr_prepared_free(wr_prepared *p)
{
    if (p->owned)
        free(p->data);
    p->data = NULL;
    p->owned = 0;
}

int wr_entry_info(const uint8_t *data, size_t len, fws_record_info *info)
{
    char *canon = NULL;
    size_t clen = 0;
    if (fws_record_validate(data, len, &canon, &clen, info, NULL) != FWS_OK)
        return 0;
    free(canon);
    return 1;
}

/* ---- tiles ---------------------------------------------------------------------------------- */

static fws_err add_file(fws_ledger *l, int entries, unsigned level, uint64_t index, unsigned width,
                        const uint8_t *data, size_t len, fws_errbuf *eb)
{
    fws_tile_id id = {entries, level, index, width};
    char path[FWS_TILE_PATH_MAX];
    fws_err err = fws_tile_path(&id, path, NULL);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot name tile %u/%llu", level, (unsigned long long)index);
    return ws_add(&l->ws, path, data, len, eb);
}

static fws_err writer_emit(void *ctx, unsigned level, uint64_t index, unsigned width,
                           const uint8_t *hashes, fws_errbuf *eb)
{
    fws_ledger *l = ctx;
    fws_err err =
        add_file(l, 0, level, index, width, hashes, (size_t)width * FWS_MERKLE_HASH_LEN, eb);
    if (err != FWS_OK || level != 0)
        return err;
    err = add_file(l, 1, 0, index, width, l->bundle, l->bundle_len, eb);
    if (err == FWS_OK && width == FWS_TILE_WIDTH)
        l->bundle_len = 0;
    return err;
}

static fws_err bundle_add(fws_ledger *l, const uint8_t *data, size_t len, fws_errbuf *eb)
{
    size_t need = l->bundle_len + 2 + len;
    if (need > l->bundle_cap) {
        size_t ncap = l->bundle_cap ? l->bundle_cap : 65536;
        while (ncap < need)
            ncap *= 2;
        if (ncap > FWS_BUNDLE_MAX)
            ncap = FWS_BUNDLE_MAX;
        uint8_t *nb = realloc(l->bundle, ncap);
        if (nb == NULL)
            return fws_errf(eb, FWS_ERR_NOMEM, "out of memory for an entry bundle");
        l->bundle = nb;
        l->bundle_cap = ncap;
    }
    return fws_bundle_append(l->bundle, l->bundle_cap, &l->bundle_len, data, len);
}

static fws_err open_reader(const fws_ledger *l, fws_tile_dir *d, fws_tlog **t, fws_errbuf *eb)
{
    fws_tile_source src;
    fws_err err = fws_tile_dir_source(d, l->dir, &src, eb);
    if (err == FWS_OK)
        err = fws_tlog_open(&src, &fws_sha256_ops, t, eb);
    return err;
}

/* The partial entry bundle at l->size must hold exactly the leaves of the partial tile. */
static fws_err reload_bundle(fws_ledger *l, fws_tlog *t, uint8_t *buf, fws_errbuf *eb)
{
    fws_bundle_entry e[FWS_TILE_WIDTH];
    uint8_t leaf[FWS_MERKLE_HASH_LEN];
    size_t want = (size_t)(l->size % FWS_TILE_WIDTH), n = 0;
    uint64_t tile = l->size / FWS_TILE_WIDTH;
    l->bundle_len = 0;
    if (want == 0)
        return FWS_OK;
    fws_err err = fws_tlog_fetch_bundle(t, tile, l->size, buf, FWS_BUNDLE_MAX, e, &n, eb);
    if (err == FWS_OK && n != want)
        err = fws_errf(eb, FWS_ERR_LENGTH, "%s: entry bundle %llu holds %zu entries, expected %zu",
                       l->dir, (unsigned long long)tile, n, want);
    for (size_t i = 0; i < n && err == FWS_OK; i++) {
        err = fws_merkle_leaf_hash(&fws_sha256_ops, e[i].data, e[i].len, leaf);
        if (err == FWS_OK && !fws_ct_eq(leaf, l->tb->tile[0] + i * FWS_MERKLE_HASH_LEN, 32))
            err = fws_errf(eb, FWS_ERR_INCONSISTENT,
                           "%s: entry %llu in entry bundle %llu does not match tile 0/%llu", l->dir,
                           (unsigned long long)(tile * FWS_TILE_WIDTH + i),
                           (unsigned long long)tile, (unsigned long long)tile);
        if (err == FWS_OK)
            err = bundle_add(l, e[i].data, e[i].len, eb);
    }
    return err;
}

fws_err wr_reload(fws_ledger *l, fws_errbuf *eb)
{
    fws_tile_dir *d = malloc(sizeof(*d));
    uint8_t *buf = malloc(FWS_BUNDLE_MAX);
    uint8_t root[FWS_MERKLE_HASH_LEN];
    char want[48], got[48];
    fws_tlog *t = NULL;
    fws_err err = d && buf ? FWS_OK : fws_errf(eb, FWS_ERR_NOMEM, "out of memory");

    tb_init(l->tb, writer_emit, l);
    if (err == FWS_OK)
        err = open_reader(l, d, &t, eb);
    if (err == FWS_OK)
        err = tb_load(l->tb, t, l->size, eb);
    if (err == FWS_OK)
        err = reload_bundle(l, t, buf, eb);
    if (err == FWS_OK)
        err = tb_root(l->tb, root);
    if (err == FWS_OK && !fws_ct_eq(root, l->root, FWS_MERKLE_HASH_LEN)) {
        wr_b64_hash(root, got);
        wr_b64_hash(l->root, want);
        err = fws_errf(eb, FWS_ERR_INCONSISTENT,
                       "%s: the tiles disagree with the tree state: at size %llu they give root "
                       "%s, tree-state says %s",
                       l->dir, (unsigned long long)l->size, got, want);
    }
    fws_tlog_close(t);
    free(buf);
    free(d);
    return err;
}

/* ---- the index ------------------------------------------------------------------------------- */

static fws_err index_bundle(fws_ledger *l, fws_tlog *t, uint64_t tile, uint64_t from, uint8_t *buf,
                            fws_errbuf *eb)
{
    fws_bundle_entry e[FWS_TILE_WIDTH];
    fws_record_info info;
    uint8_t digest[FWS_SHA256_LEN];
    size_t n = 0;
    fws_err err = fws_tlog_fetch_bundle(t, tile, l->size, buf, FWS_BUNDLE_MAX, e, &n, eb);
    for (size_t i = 0; i < n && err == FWS_OK; i++) {
        uint64_t idx = tile * FWS_TILE_WIDTH + i;
        if (idx < from)
            continue;
        int has = !l->cfg.any_entries && wr_entry_info(e[i].data, e[i].len, &info);
        fws_sha256(e[i].data, e[i].len, digest);
        err = ix_add(l->ix, idx, digest, has ? &info : NULL, eb);
    }
    return err;
}

fws_err wr_index_catch_up(fws_ledger *l, fws_errbuf *eb)
{
    fws_tile_dir *d = NULL;
    uint8_t *buf = NULL;
    fws_tlog *t = NULL;
    uint64_t have = 0;
    fws_err err = ix_size(l->ix, &have, eb);

    if (err != FWS_OK || have == l->size)
        return err;
    if (have > l->size)
        return ix_truncate(l->ix, l->size, eb);
    d = malloc(sizeof(*d));
    buf = malloc(FWS_BUNDLE_MAX);
    err = d && buf ? open_reader(l, d, &t, eb) : fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    for (uint64_t tile = have / FWS_TILE_WIDTH; err == FWS_OK && tile * FWS_TILE_WIDTH < l->size;
         tile++) {
        uint64_t end = (tile + 1) * FWS_TILE_WIDTH;
        err = ix_begin(l->ix, eb);
        if (err == FWS_OK)
            err = index_bundle(l, t, tile, have, buf, eb);
        if (err == FWS_OK)
            err = ix_commit(l->ix, end < l->size ? end : l->size, eb);
        else
            ix_rollback(l->ix);
    }
    fws_tlog_close(t);
    free(buf);
    free(d);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: cannot rebuild the index from the tiles", l->dir);
    return FWS_OK;
}

/* ---- deduplication within a batch ------------------------------------------------------------ */

typedef struct dedup_table {
    int32_t *slots; /* index into the batch, -1 when empty */
    size_t mask;
} dedup_table;

static fws_err dedup_init(dedup_table *t, size_t n, fws_errbuf *eb)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    t->slots = malloc(cap * sizeof(*t->slots));
    if (t->slots == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    memset(t->slots, 0xff, cap * sizeof(*t->slots));
    t->mask = cap - 1;
    return FWS_OK;
}

/* Returns the batch position of an earlier entry with the same digest, or inserts i and
 * returns -1. */
static int32_t dedup_find_or_add(dedup_table *t, const wr_prepared *p, int32_t i)
{
    uint64_t h;
    memcpy(&h, p[i].digest, sizeof(h));
    for (size_t s = (size_t)h & t->mask;; s = (s + 1) & t->mask) {
        if (t->slots[s] < 0) {
            t->slots[s] = i;
            return -1;
        }
        if (fws_ct_eq(p[t->slots[s]].digest, p[i].digest, FWS_SHA256_LEN))
            return t->slots[s];
    }
}

/* Sets indexes[] and dup[] for every entry; *is_new marks those to append. */
static fws_err assign_indexes(fws_ledger *l, wr_prepared *p, size_t n, uint64_t *indexes,
                              uint8_t *is_new, size_t *n_new, fws_errbuf *eb)
{
    dedup_table t = {NULL, 0};
    uint64_t next = l->size;
    size_t count = 0;
    fws_err err = dedup_init(&t, n, eb);
    for (size_t i = 0; i < n && err == FWS_OK; i++) {
        int found = 0;
        int32_t prev;
        is_new[i] = 0;
        err = ix_lookup(l->ix, p[i].digest, &indexes[i], &found, eb);
        if (err != FWS_OK || found)
            continue;
        prev = dedup_find_or_add(&t, p, (int32_t)i);
        if (prev >= 0) {
            indexes[i] = indexes[prev];
            continue;
        }
        indexes[i] = next++;
        is_new[i] = 1;
        count++;
    }
    free(t.slots);
    if (err == FWS_OK)
        *n_new = count;
    return err;
}

/* ---- the batch ------------------------------------------------------------------------------- */

static fws_err build_and_write(fws_ledger *l, const wr_prepared *p, size_t n, const uint8_t *is_new,
                               uint64_t new_size, fws_errbuf *eb)
{
    uint8_t leaf[FWS_MERKLE_HASH_LEN], root[FWS_MERKLE_HASH_LEN];
    char state[WR_TREE_STATE_MAX];
    size_t state_len = 0;
    fws_err err = FWS_OK;

    for (size_t i = 0; i < n && err == FWS_OK; i++) {
        if (!is_new[i])
            continue;
        err = fws_merkle_leaf_hash(&fws_sha256_ops, p[i].data, p[i].len, leaf);
        if (err == FWS_OK)
            err = bundle_add(l, p[i].data, p[i].len, eb);
        if (err == FWS_OK)
            err = tb_add_leaf(l->tb, leaf, eb);
    }
    if (err == FWS_OK)
        err = tb_flush(l->tb, eb);
    if (err == FWS_OK)
        err = ws_commit(&l->ws, l->dirfd, l->dir, eb);
    if (err == FWS_OK)
        err = tb_root(l->tb, root);
    if (err == FWS_OK)
        err = wr_state_format(new_size, root, state, sizeof(state), &state_len);
    if (err == FWS_OK)
        err = wr_write_durable(l->dirfd, l->dir, WR_TREE_STATE, state, state_len, eb);
    ws_clear(&l->ws);
    if (err == FWS_OK) {
        l->size = new_size;
        memcpy(l->root, root, sizeof(root));
        wr_pub_snapshot(l);
    }
    return err;
}

/* Inside the transaction the lookups opened: the new rows, then the commit. */
static fws_err update_index(fws_ledger *l, const wr_prepared *p, size_t n, const uint64_t *indexes,
                            const uint8_t *is_new, fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    for (size_t i = 0; i < n && err == FWS_OK; i++) {
        if (is_new[i])
            err = ix_add(l->ix, indexes[i], p[i].digest, p[i].has_info ? &p[i].info : NULL, eb);
    }
    if (err == FWS_OK)
        return ix_commit(l->ix, l->size, eb);
    ix_rollback(l->ix);
    return err;
}

fws_err wr_append_prepared(fws_ledger *l, wr_prepared *p, size_t n, uint64_t *indexes, uint8_t *dup,
                           fws_errbuf *eb)
{
    uint8_t *is_new;
    uint64_t *idx;
    size_t n_new = 0;
    fws_err err;

    if (l->failed)
        return fws_errf(eb, FWS_ERR_STATE, "%s: an earlier append failed; reopen the log", l->dir);
    if (n == 0 || n > FWS_LEDGER_BATCH_MAX || indexes == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "a batch holds 1 to %d entries", FWS_LEDGER_BATCH_MAX);
    if (l->size > UINT64_MAX - n)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "the log is full");
    is_new = malloc(n);
    idx = malloc(n * sizeof(*idx));
    err = is_new && idx ? FWS_OK : fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    /* One index transaction for the batch: lookups and inserts share it (no lock traffic per
     * lookup); readers in other processes keep seeing the last commit meanwhile (WAL). */
    if (err == FWS_OK)
        err = ix_begin(l->ix, eb);
    if (err == FWS_OK)
        err = assign_indexes(l, p, n, idx, is_new, &n_new, eb);
    if (err == FWS_OK && n_new > 0) {
        uint64_t t0 = fws_ledger_now_ms();
        err = build_and_write(l, p, n, is_new, l->size + n_new, eb);
        l->last_batch_ms = fws_ledger_now_ms() - t0;
        if (err != FWS_OK && wr_reload(l, NULL) != FWS_OK)
            l->failed = 1;
        if (err == FWS_OK && (err = update_index(l, p, n, idx, is_new, eb)) != FWS_OK) {
            l->failed = 1; /* durable, but the index lags: reopening rebuilds it */
            err = fws_errf(eb, err, "entries are durable but the index update failed");
        }
    }
    if (is_new != NULL && idx != NULL && (err != FWS_OK || n_new == 0))
        ix_rollback(l->ix); /* ends the transaction; it wrote nothing */
    for (size_t i = 0; i < n && err == FWS_OK; i++) {
        indexes[i] = idx[i];
        if (dup != NULL)
            dup[i] = !is_new[i];
    }
    free(is_new);
    free(idx);
    return err;
}

/* Validation of a batch runs on two threads (records are parsed and re-encoded: the CPU part
 * of an append); each half remembers its first bad entry. */
typedef struct prep_job {
    const fws_ledger *l;
    const fws_ledger_entry *entries;
    wr_prepared *p;
    size_t from, to, bad;
    fws_err err;
    fws_errbuf why;
} prep_job;

static void *prep_run(void *arg)
{
    prep_job *j = arg;
    for (size_t i = j->from; i < j->to && j->err == FWS_OK; i++) {
        j->err = wr_prepare(j->l, j->entries[i].data, j->entries[i].len, &j->p[i], &j->why);
        j->bad = i;
    }
    return NULL;
}

#define PREP_SPLIT 256 /* smaller batches are validated on the calling thread alone */

static void prepare_all(const fws_ledger *l, const fws_ledger_entry *entries, wr_prepared *p,
                        size_t n, prep_job *first)
{
    prep_job second;
    pthread_t th;
    int threaded = 0;
    memset(first, 0, sizeof(*first));
    first->l = l;
    first->entries = entries;
    first->p = p;
    first->to = n;
    if (n >= PREP_SPLIT) {
        second = *first;
        first->to = second.from = n / 2;
        threaded = pthread_create(&th, NULL, prep_run, &second) == 0;
        if (!threaded)
            first->to = n;
    }
    prep_run(first);
    if (threaded) {
        pthread_join(th, NULL);
        if (first->err == FWS_OK && second.err != FWS_OK)
            *first = second;
    }
}

struct fws_ledger_batch {
    wr_prepared *p;
    size_t n;
};

void fws_ledger_batch_free(fws_ledger_batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++)
        wr_prepared_free(&b->p[i]);
    free(b->p);
    free(b);
}

size_t fws_ledger_batch_size(const fws_ledger_batch *b)
{
    return b->n;
}

fws_err fws_ledger_batch_prepare(const fws_ledger *l, const fws_ledger_entry *entries, size_t n,
                                 fws_ledger_batch **out, size_t *bad, fws_errbuf *eb)
{
    fws_ledger_batch *b;
    prep_job job;

    if (bad != NULL)
        *bad = n;
    if (l == NULL || entries == NULL || out == NULL || n == 0 || n > FWS_LEDGER_BATCH_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "a batch holds 1 to %d entries", FWS_LEDGER_BATCH_MAX);
    b = calloc(1, sizeof(*b));
    if (b == NULL || (b->p = calloc(n, sizeof(*b->p))) == NULL) {
        free(b);
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    }
    b->n = n;
    prepare_all(l, entries, b->p, n, &job);
    fws_err err = job.err;
    if (err != FWS_OK && bad != NULL)
        *bad = job.bad;
    if (err != FWS_OK && (n == 1 || bad != NULL))
        err = fws_errf(eb, err, "%s", job.why.msg);
    else if (err != FWS_OK)
        err = fws_errf(eb, err, "entry %zu: %s", job.bad + 1, job.why.msg);
    if (err != FWS_OK) {
        fws_ledger_batch_free(b);
        return err;
    }
    *out = b;
    return FWS_OK;
}

fws_err fws_ledger_batch_append(fws_ledger *l, fws_ledger_batch *b, uint64_t *indexes, uint8_t *dup,
                                fws_errbuf *eb)
{
    if (l == NULL || b == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no log or batch");
    return wr_append_prepared(l, b->p, b->n, indexes, dup, eb);
}

fws_err fws_ledger_append_at(fws_ledger *l, const fws_ledger_entry *entries, size_t n,
                             uint64_t *indexes, uint8_t *dup, size_t *bad, fws_errbuf *eb)
{
    fws_ledger_batch *b = NULL;
    fws_err err = fws_ledger_batch_prepare(l, entries, n, &b, bad, eb);
    if (err == FWS_OK)
        err = fws_ledger_batch_append(l, b, indexes, dup, eb);
    fws_ledger_batch_free(b);
    return err;
}

fws_err fws_ledger_append(fws_ledger *l, const fws_ledger_entry *entries, size_t n,
                          uint64_t *indexes, uint8_t *dup, fws_errbuf *eb)
{
    return fws_ledger_append_at(l, entries, n, indexes, dup, NULL, eb);
}
