/* The tile builder: the right edge of a tile-based tree, one tile per level. */
#include <string.h>
#include "fwseal/crypto.h"
#include "writer_internal.h"

void tb_init(tile_builder *tb, tb_emit_fn emit, void *ctx)
{
    memset(tb->n, 0, sizeof(tb->n));
    memset(tb->dirty, 0, sizeof(tb->dirty));
    tb->emit = emit;
    tb->ctx = ctx;
}

static fws_err add_hash(tile_builder *tb, unsigned level, const uint8_t hash[FWS_MERKLE_HASH_LEN],
                        fws_errbuf *eb)
{
    uint8_t up[FWS_MERKLE_HASH_LEN];
    fws_err err;

    for (;;) {
        if (level >= TB_LEVELS)
            return fws_errf(eb, FWS_ERR_TOO_BIG, "the log is full (2^64 entries)");
        size_t slot = (size_t)(tb->n[level] % FWS_TILE_WIDTH);
        memcpy(tb->tile[level] + slot * FWS_MERKLE_HASH_LEN, hash, FWS_MERKLE_HASH_LEN);
        tb->n[level]++;
        tb->dirty[level] = 1;
        if (tb->n[level] % FWS_TILE_WIDTH != 0)
            return FWS_OK;
        /* The tile is full: emit it, then its hash goes one level up. */
        err = tb->emit(tb->ctx, level, tb->n[level] / FWS_TILE_WIDTH - 1, FWS_TILE_WIDTH,
                       tb->tile[level], eb);
        if (err != FWS_OK)
            return err;
        tb->dirty[level] = 0;
        err = fws_tile_hash(&fws_sha256_ops, tb->tile[level], FWS_TILE_WIDTH, up);
        if (err != FWS_OK)
            return fws_errf(eb, err, "cannot hash a full tile");
        hash = up;
        level++;
    }
}

fws_err tb_add_leaf(tile_builder *tb, const uint8_t hash[FWS_MERKLE_HASH_LEN], fws_errbuf *eb)
{
    if (tb->n[0] == UINT64_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "the log is full (2^64 - 1 entries)");
    return add_hash(tb, 0, hash, eb);
}

fws_err tb_flush(tile_builder *tb, fws_errbuf *eb)
{
    for (unsigned level = 0; level < TB_LEVELS; level++) {
        unsigned width = (unsigned)(tb->n[level] % FWS_TILE_WIDTH);
        if (!tb->dirty[level] || width == 0)
            continue;
        fws_err err =
            tb->emit(tb->ctx, level, tb->n[level] / FWS_TILE_WIDTH, width, tb->tile[level], eb);
        if (err != FWS_OK)
            return err;
        tb->dirty[level] = 0;
    }
    return FWS_OK;
}

/* The digits of the size in base 256 are the widths of the rightmost tiles; folding their
 * hashes from the top level down gives the compact range, hence the root. */
fws_err tb_root(const tile_builder *tb, uint8_t out[FWS_MERKLE_HASH_LEN])
{
    fws_merkle_range r;
    fws_err err = FWS_OK;

    fws_merkle_range_init(&r);
    for (unsigned level = TB_LEVELS; level-- > 0 && err == FWS_OK;) {
        unsigned width = (unsigned)(tb->n[level] % FWS_TILE_WIDTH);
        for (unsigned i = 0; i < width && err == FWS_OK; i++)
            err = fws_merkle_range_append_subtree(&r, &fws_sha256_ops, level * FWS_TILE_HEIGHT,
                                                  tb->tile[level] + i * FWS_MERKLE_HASH_LEN);
    }
    if (err == FWS_OK)
        err = fws_merkle_range_root(&r, &fws_sha256_ops, out);
    return err;
}

fws_err tb_load(tile_builder *tb, fws_tlog *t, uint64_t size, fws_errbuf *eb)
{
    memset(tb->n, 0, sizeof(tb->n));
    memset(tb->dirty, 0, sizeof(tb->dirty));
    for (unsigned level = 0; level < TB_LEVELS; level++) {
        uint64_t count = level == 0 ? size : size >> (FWS_TILE_HEIGHT * level);
        unsigned want = (unsigned)(count % FWS_TILE_WIDTH), width = 0;
        tb->n[level] = count;
        if (want == 0)
            continue;
        fws_err err = fws_tlog_fetch_tile(t, level, count / FWS_TILE_WIDTH, size, tb->tile[level],
                                          &width, eb);
        if (err != FWS_OK)
            return err;
        if (width != want)
            return fws_errf(eb, FWS_ERR_LENGTH, "tile %u/%llu holds %u hashes, expected %u", level,
                            (unsigned long long)(count / FWS_TILE_WIDTH), width, want);
    }
    return FWS_OK;
}
