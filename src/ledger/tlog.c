/* Reading a tlog-tiles log through a tile source: tiles, bundles, nodes, roots and proofs. */
#include <stdlib.h>
#include <string.h>
#include "fwseal/tiles.h"
#include "fwseal/merkle.h"
#include "tlogint.h"

#define CACHE_SLOTS 8

typedef struct tile_slot {
    int used;
    unsigned level;
    uint64_t index;
    unsigned width;
    uint64_t last_use;
    uint8_t hashes[FWS_TILE_BYTES];
} tile_slot;

struct fws_tlog {
    fws_tile_source src;
    const fws_hash_ops *ops;
    uint64_t clock;
    tile_slot cache[CACHE_SLOTS];
};

fws_err fws_tlog_open(const fws_tile_source *src, const fws_hash_ops *ops, fws_tlog **out,
                      fws_errbuf *eb)
{
    if (src == NULL || src->fetch == NULL || ops == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "tlog: missing source or hash provider");
    fws_tlog *t = calloc(1, sizeof *t);
    if (t == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "tlog: out of memory");
    t->src = *src;
    t->ops = ops;
    *out = t;
    return FWS_OK;
}

void fws_tlog_close(fws_tlog *t)
{
    free(t);
}

const fws_hash_ops *tlog_ops(const fws_tlog *t)
{
    return t->ops;
}

fws_err fws_tlog_fetch_checkpoint(fws_tlog *t, char *buf, size_t cap, size_t *len, fws_errbuf *eb)
{
    size_t n = 0;

    if (t == NULL || buf == NULL || len == NULL || cap < 2)
        return fws_errf(eb, FWS_ERR_ARG, "tlog: bad checkpoint buffer");
    size_t room = cap - 1 < FWS_TILE_CHECKPOINT_MAX ? cap - 1 : FWS_TILE_CHECKPOINT_MAX;
    fws_err err = t->src.fetch(t->src.ctx, "checkpoint", (uint8_t *)buf, room, &n, eb);
    if (err != FWS_OK)
        return fws_errf(eb, err, "fetching checkpoint failed");
    buf[n] = '\0';
    *len = n;
    return FWS_OK;
}

/* Fetches exactly want bytes from path: FWS_ERR_LENGTH when there are more or fewer. */
static fws_err fetch_exact(fws_tlog *t, const char *path, uint8_t *buf, size_t want, fws_errbuf *eb)
{
    size_t n = 0;
    fws_errbuf inner = {{0}};
    fws_err err = t->src.fetch(t->src.ctx, path, buf, want, &n, &inner);
    if (err == FWS_ERR_TOO_BIG)
        return fws_errf(eb, FWS_ERR_LENGTH, "%s: more than the %zu bytes expected", path, want);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s", inner.msg[0] != '\0' ? inner.msg : path);
    if (n != want)
        return fws_errf(eb, FWS_ERR_LENGTH, "%s: %zu bytes, expected %zu", path, n, want);
    return FWS_OK;
}

static tile_slot *cache_find(fws_tlog *t, unsigned level, uint64_t index, unsigned width)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        tile_slot *s = &t->cache[i];
        if (s->used && s->level == level && s->index == index && s->width >= width) {
            s->last_use = ++t->clock;
            return s;
        }
    }
    return NULL;
}

static tile_slot *cache_victim(fws_tlog *t)
{
    tile_slot *v = &t->cache[0];
    for (size_t i = 1; i < CACHE_SLOTS; i++)
        if (!t->cache[i].used || t->cache[i].last_use < v->last_use)
            v = &t->cache[i];
    return v;
}

/* Fetches a hash tile of width w, falling back to the full tile when a partial one is gone. */
static fws_err fetch_tile_raw(fws_tlog *t, unsigned level, uint64_t index, unsigned w,
                              tile_slot *slot, fws_errbuf *eb)
{
    char path[FWS_TILE_PATH_MAX];
    fws_tile_id id = {0, level, index, w};
    fws_errbuf first = {{0}};

    fws_err err = fws_tile_path(&id, path, NULL);
    if (err != FWS_OK)
        return fws_errf(eb, err, "tile %u/%llu: bad tile", level, (unsigned long long)index);
    err = fetch_exact(t, path, slot->hashes, (size_t)w * FWS_MERKLE_HASH_LEN, &first);
    slot->width = w;
    if (err == FWS_ERR_NOT_FOUND && w < FWS_TILE_WIDTH) {
        id.width = FWS_TILE_WIDTH;
        if (fws_tile_path(&id, path, NULL) == FWS_OK &&
            fetch_exact(t, path, slot->hashes, FWS_TILE_BYTES, NULL) == FWS_OK) {
            slot->width = FWS_TILE_WIDTH;
            err = FWS_OK;
        }
    }
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s", first.msg);
    return FWS_OK;
}

fws_err fws_tlog_fetch_tile(fws_tlog *t, unsigned level, uint64_t index, uint64_t tree_size,
                            uint8_t out[FWS_TILE_BYTES], unsigned *width, fws_errbuf *eb)
{
    if (t == NULL || out == NULL || width == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "tlog: bad tile request");
    unsigned w = fws_tile_width(level, index, tree_size);
    if (w == 0)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "a tree of %llu entries has no tile %u/%llu",
                        (unsigned long long)tree_size, level, (unsigned long long)index);
    tile_slot *s = cache_find(t, level, index, w);
    if (s == NULL) {
        s = cache_victim(t);
        s->used = 0;
        fws_err err = fetch_tile_raw(t, level, index, w, s, eb);
        if (err != FWS_OK)
            return err;
        s->used = 1;
        s->level = level;
        s->index = index;
        s->last_use = ++t->clock;
    }
    memcpy(out, s->hashes, (size_t)w * FWS_MERKLE_HASH_LEN);
    *width = w;
    return FWS_OK;
}

fws_err fws_tlog_fetch_bundle(fws_tlog *t, uint64_t index, uint64_t tree_size, uint8_t *buf,
                              size_t cap, fws_bundle_entry entries[FWS_TILE_WIDTH], size_t *n,
                              fws_errbuf *eb)
{
    char path[FWS_TILE_PATH_MAX];
    fws_errbuf first = {{0}};
    size_t len = 0;

    if (t == NULL || buf == NULL || entries == NULL || n == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "tlog: bad bundle request");
    unsigned w = fws_tile_width(0, index, tree_size);
    if (w == 0)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "a tree of %llu entries has no bundle %llu",
                        (unsigned long long)tree_size, (unsigned long long)index);
    fws_tile_id id = {1, 0, index, w};
    if (fws_tile_path(&id, path, NULL) != FWS_OK)
        return fws_errf(eb, FWS_ERR_ARG, "bundle %llu: bad index", (unsigned long long)index);
    fws_err err = t->src.fetch(t->src.ctx, path, buf, cap, &len, &first);
    size_t want = w;
    if (err == FWS_ERR_NOT_FOUND && w < FWS_TILE_WIDTH) {
        fws_errbuf second = {{0}};
        id.width = FWS_TILE_WIDTH;
        if (fws_tile_path(&id, path, NULL) == FWS_OK &&
            t->src.fetch(t->src.ctx, path, buf, cap, &len, &second) == FWS_OK) {
            err = FWS_OK;
            want = FWS_TILE_WIDTH;
        }
    }
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s", first.msg[0] != '\0' ? first.msg : path);
    fws_errbuf perr = {{0}};
    err = fws_bundle_parse(buf, len, want, entries, &perr);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: %s", path, perr.msg);
    *n = w;
    return FWS_OK;
}

fws_err fws_tlog_entry(fws_tlog *t, uint64_t index, uint64_t tree_size, uint8_t *out, size_t cap,
                       size_t *len, fws_errbuf *eb)
{
    fws_bundle_entry e[FWS_TILE_WIDTH];
    size_t n = 0;

    if (t == NULL || out == NULL || len == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "tlog: bad entry request");
    if (index >= tree_size)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "entry %llu is past the tree size %llu",
                        (unsigned long long)index, (unsigned long long)tree_size);
    uint8_t *buf = malloc(FWS_BUNDLE_MAX);
    if (buf == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "tlog: out of memory");
    fws_err err =
        fws_tlog_fetch_bundle(t, index / FWS_TILE_WIDTH, tree_size, buf, FWS_BUNDLE_MAX, e, &n, eb);
    if (err == FWS_OK) {
        const fws_bundle_entry *x = &e[index % FWS_TILE_WIDTH];
        if (x->len > cap)
            err = fws_errf(eb, FWS_ERR_TOO_BIG, "entry %llu: %zu bytes, buffer holds %zu",
                           (unsigned long long)index, x->len, cap);
        else {
            memcpy(out, x->data, x->len);
            *len = x->len;
        }
    }
    free(buf);
    return err;
}

fws_err fws_tlog_node(fws_tlog *t, uint64_t tree_size, unsigned level, uint64_t index,
                      uint8_t out[FWS_MERKLE_HASH_LEN], fws_errbuf *eb)
{
    uint8_t tile[FWS_TILE_BYTES];
    unsigned w = 0;

    if (t == NULL || out == NULL || level >= 64 || index >= (tree_size >> level))
        return fws_errf(eb, FWS_ERR_ARG, "node %u/%llu is not inside a tree of %llu entries", level,
                        (unsigned long long)index, (unsigned long long)tree_size);
    unsigned tl = level / FWS_TILE_HEIGHT, sub = level % FWS_TILE_HEIGHT;
    uint64_t first = index << sub; /* first node at level 8*tl covered */
    size_t count = (size_t)1 << sub;
    fws_err err = fws_tlog_fetch_tile(t, tl, first / FWS_TILE_WIDTH, tree_size, tile, &w, eb);
    if (err != FWS_OK)
        return err;
    size_t off = (size_t)(first % FWS_TILE_WIDTH);
    if (off + count > w)
        return fws_errf(eb, FWS_ERR_LENGTH, "tile %u/%llu too narrow for node %u/%llu", tl,
                        (unsigned long long)(first / FWS_TILE_WIDTH), level,
                        (unsigned long long)index);
    const uint8_t *h = tile + off * FWS_MERKLE_HASH_LEN;
    if (count == 1) {
        memcpy(out, h, FWS_MERKLE_HASH_LEN);
        return FWS_OK;
    }
    err = fws_tile_hash(t->ops, h, count, out);
    return err == FWS_OK ? FWS_OK : fws_errf(eb, err, "hashing tile %u failed", tl);
}

/* The core's node callback over the tiles of one tree size. */
typedef struct node_ctx {
    fws_tlog *t;
    uint64_t tree_size;
    fws_errbuf *eb;
} node_ctx;

static fws_err node_cb(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
    node_ctx *c = ctx;
    return fws_tlog_node(c->t, c->tree_size, level, index, out, c->eb);
}

fws_err fws_tlog_root(fws_tlog *t, uint64_t tree_size, uint8_t out[FWS_MERKLE_HASH_LEN],
                      fws_errbuf *eb)
{
    if (t == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "tlog: bad root request");
    node_ctx c = {t, tree_size, eb};
    fws_err err = fws_merkle_root_from_nodes(t->ops, node_cb, &c, tree_size, out);
    return err == FWS_OK ? FWS_OK
                         : fws_errf(eb, err, "root of size %llu", (unsigned long long)tree_size);
}

fws_err fws_tlog_inclusion_proof(fws_tlog *t, uint64_t index, uint64_t tree_size,
                                 uint8_t proof[][FWS_MERKLE_HASH_LEN], size_t cap, size_t *n,
                                 fws_errbuf *eb)
{
    if (t == NULL || n == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "tlog: bad proof request");
    if (index >= tree_size)
        return fws_errf(eb, FWS_ERR_ARG, "entry %llu is not in a tree of %llu entries",
                        (unsigned long long)index, (unsigned long long)tree_size);
    node_ctx c = {t, tree_size, eb};
    fws_err err = fws_merkle_inclusion_proof(t->ops, node_cb, &c, index, tree_size, proof, cap, n);
    return err == FWS_OK ? FWS_OK
                         : fws_errf(eb, err, "inclusion proof of %llu", (unsigned long long)index);
}

fws_err fws_tlog_consistency_proof(fws_tlog *t, uint64_t size1, uint64_t size2,
                                   uint8_t proof[][FWS_MERKLE_HASH_LEN], size_t cap, size_t *n,
                                   fws_errbuf *eb)
{
    if (t == NULL || n == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "tlog: bad proof request");
    if (size1 > size2)
        return fws_errf(eb, FWS_ERR_ARG, "consistency from %llu to the smaller %llu",
                        (unsigned long long)size1, (unsigned long long)size2);
    node_ctx c = {t, size2, eb};
    fws_err err = fws_merkle_consistency_proof(t->ops, node_cb, &c, size1, size2, proof, cap, n);
    return err == FWS_OK ? FWS_OK
                         : fws_errf(eb, err, "consistency proof %llu to %llu",
                                    (unsigned long long)size1, (unsigned long long)size2);
}
