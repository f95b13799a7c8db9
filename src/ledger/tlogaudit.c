/* Auditing a tile-based log: recompute every tile level and the root from the entries. */
#include <stdlib.h>
#include <string.h>
#include "fwseal/tiles.h"
#include "fwseal/merkle.h"
#include "tlogint.h"

#define LEVELS 8 /* tile levels 0..7 cover every 64-bit tree size */

/* Hashes of full tiles at level L-1 waiting to be compared with their parent tile at level L. */
typedef struct pending {
    uint64_t parent; /* index of the parent tile at this level */
    size_t count;
    uint8_t hashes[FWS_TILE_BYTES];
} pending;

typedef struct audit {
    fws_tlog *t;
    uint64_t size;
    fws_tlog_audit res;
    pending up[LEVELS]; /* up[L] collects children for tiles at level L (L >= 1) */
    uint8_t tile[FWS_TILE_BYTES];
    fws_errbuf *eb;
} audit;

static fws_err check_parent(audit *a, unsigned level);

/* Records the hash of full tile (level - 1, child) in its parent's pending list. */
static fws_err feed(audit *a, unsigned level, uint64_t child, const uint8_t *hash)
{
    if (level >= LEVELS)
        return fws_errf(a->eb, FWS_ERR_ARG, "tile level %u out of range", level);
    pending *p = &a->up[level];
    if (p->count == 0)
        p->parent = child / FWS_TILE_WIDTH;
    if (child != p->parent * FWS_TILE_WIDTH + p->count)
        return fws_errf(a->eb, FWS_ERR_ARG, "audit: tiles out of order at level %u", level);
    memcpy(p->hashes + p->count * FWS_MERKLE_HASH_LEN, hash, FWS_MERKLE_HASH_LEN);
    p->count++;
    return p->count == FWS_TILE_WIDTH ? check_parent(a, level) : FWS_OK;
}

/* Compares the parent tile at level with the hashes collected for it, then feeds its own hash
 * upwards when it is full. */
static fws_err check_parent(audit *a, unsigned level)
{
    pending *p = &a->up[level];
    unsigned w = 0;
    uint8_t h[FWS_MERKLE_HASH_LEN];

    fws_err err = fws_tlog_fetch_tile(a->t, level, p->parent, a->size, a->tile, &w, a->eb);
    if (err != FWS_OK)
        return err;
    if (w != p->count)
        return fws_errf(a->eb, FWS_ERR_LENGTH, "tile %u/%llu: width %u, the level below gives %zu",
                        level, (unsigned long long)p->parent, w, p->count);
    for (size_t i = 0; i < p->count; i++)
        if (!fws_ct_eq(a->tile + i * FWS_MERKLE_HASH_LEN, p->hashes + i * FWS_MERKLE_HASH_LEN,
                       FWS_MERKLE_HASH_LEN))
            return fws_errf(a->eb, FWS_ERR_DIGEST,
                            "tile %u/%llu: hash %zu disagrees with tile %u/%llu below it", level,
                            (unsigned long long)p->parent, i, level - 1,
                            (unsigned long long)(p->parent * FWS_TILE_WIDTH + i));
    a->res.tiles++;
    p->count = 0;
    if (w < FWS_TILE_WIDTH)
        return FWS_OK;
    err = fws_tile_hash(tlog_ops(a->t), a->tile, w, h);
    if (err != FWS_OK)
        return fws_errf(a->eb, err, "hashing tile %u failed", level);
    return feed(a, level + 1, p->parent, h);
}

/* Level 0: hash the entries of bundle i, compare with tile 0/i, extend the compact range. */
static fws_err check_bottom(audit *a, uint64_t i, uint8_t *bundle, fws_merkle_range *cr)
{
    fws_bundle_entry e[FWS_TILE_WIDTH];
    size_t n = 0;
    unsigned w = 0;
    uint8_t leaf[FWS_MERKLE_HASH_LEN];
    const fws_hash_ops *ops = tlog_ops(a->t);

    fws_err err = fws_tlog_fetch_bundle(a->t, i, a->size, bundle, FWS_BUNDLE_MAX, e, &n, a->eb);
    if (err == FWS_OK)
        err = fws_tlog_fetch_tile(a->t, 0, i, a->size, a->tile, &w, a->eb);
    if (err != FWS_OK)
        return err;
    a->res.bundles++;
    for (size_t j = 0; j < n; j++) {
        err = fws_merkle_leaf_hash(ops, e[j].data, e[j].len, leaf);
        if (err == FWS_OK)
            err = fws_merkle_range_append(cr, ops, leaf);
        if (err != FWS_OK)
            return fws_errf(a->eb, err, "hashing entry failed");
        if (!fws_ct_eq(leaf, a->tile + j * FWS_MERKLE_HASH_LEN, FWS_MERKLE_HASH_LEN))
            return fws_errf(a->eb, FWS_ERR_DIGEST,
                            "entry %llu: its leaf hash disagrees with tile 0/%llu",
                            (unsigned long long)(i * FWS_TILE_WIDTH + j), (unsigned long long)i);
        a->res.entries++;
    }
    a->res.tiles++;
    if (w < FWS_TILE_WIDTH)
        return FWS_OK;
    err = fws_tile_hash(ops, a->tile, w, leaf);
    return err == FWS_OK ? feed(a, 1, i, leaf) : fws_errf(a->eb, err, "hashing tile failed");
}

static fws_err run_audit(audit *a, const uint8_t *root, fws_merkle_range *cr, uint8_t *bundle)
{
    uint8_t got[FWS_MERKLE_HASH_LEN];
    fws_err err = FWS_OK;

    uint64_t bottoms = a->size / FWS_TILE_WIDTH + (a->size % FWS_TILE_WIDTH != 0);
    for (uint64_t i = 0; i < bottoms && err == FWS_OK; i++)
        err = check_bottom(a, i, bundle, cr);
    /* The rightmost, partial parents are left over at each level. */
    for (unsigned l = 1; l < LEVELS && err == FWS_OK; l++)
        if (a->up[l].count > 0)
            err = check_parent(a, l);
    if (err != FWS_OK)
        return err;
    for (unsigned l = 0; l < LEVELS && (a->size >> (FWS_TILE_HEIGHT * l)) != 0; l++)
        a->res.levels = l + 1;
    err = fws_merkle_range_root(cr, tlog_ops(a->t), a->res.root);
    if (err != FWS_OK)
        return fws_errf(a->eb, err, "computing the root failed");
    if (!fws_ct_eq(a->res.root, root, FWS_MERKLE_HASH_LEN))
        return fws_errf(a->eb, FWS_ERR_PROOF,
                        "the root recomputed from %llu entries differs "
                        "from the checkpoint's",
                        (unsigned long long)a->size);
    err = fws_tlog_root(a->t, a->size, got, a->eb);
    if (err != FWS_OK)
        return err;
    if (!fws_ct_eq(got, root, FWS_MERKLE_HASH_LEN))
        return fws_errf(a->eb, FWS_ERR_DIGEST, "the root read from the upper tiles differs");
    return FWS_OK;
}

fws_err fws_tlog_audit_tiles(fws_tlog *t, uint64_t tree_size,
                             const uint8_t root[FWS_MERKLE_HASH_LEN], fws_tlog_audit *out,
                             fws_errbuf *eb)
{
    fws_merkle_range cr;

    if (t == NULL || root == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "audit: missing log or root");
    audit *a = calloc(1, sizeof *a);
    uint8_t *bundle = malloc(FWS_BUNDLE_MAX);
    fws_err err = FWS_OK;
    if (a == NULL || bundle == NULL) {
        err = fws_errf(eb, FWS_ERR_NOMEM, "audit: out of memory");
        goto out;
    }
    a->t = t;
    a->size = tree_size;
    a->res.tree_size = tree_size;
    a->eb = eb;
    fws_merkle_range_init(&cr);
    err = run_audit(a, root, &cr, bundle);
    if (err == FWS_OK && out != NULL)
        *out = a->res;
out:
    free(bundle);
    free(a);
    return err;
}
