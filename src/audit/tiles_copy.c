/* The tiles and entry bundles a tree of a given size consists of, and copying them out of a
 * tile source in their canonical form (a partial tile that is gone is cut from the full one). */
#include <stdlib.h>
#include <string.h>
#include "audit/tilescopy.h"

fws_err au_tiles_each(uint64_t size, au_tile_fn fn, void *ctx, fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    for (unsigned level = 0; err == FWS_OK && level <= FWS_TILE_MAX_LEVEL; level++) {
        uint64_t count = level * 8 < 64 ? size >> (8 * level) : 0;
        if (count == 0)
            break;
        uint64_t tiles = (count + FWS_TILE_WIDTH - 1) / FWS_TILE_WIDTH;
        for (uint64_t i = 0; err == FWS_OK && i < tiles; i++) {
            fws_tile_id id = {.level = level, .index = i, .width = fws_tile_width(level, i, size)};
            err = fn(ctx, &id, eb);
            if (err == FWS_OK && level == 0) {
                id.entries = 1;
                err = fn(ctx, &id, eb);
            }
        }
    }
    return err;
}

fws_err au_tile_bytes(fws_tlog *t, uint64_t size, const fws_tile_id *id, uint8_t *buf, size_t cap,
                      size_t *len, fws_errbuf *eb)
{
    fws_err err;
    if (!id->entries) {
        unsigned width = 0;
        if (cap < FWS_TILE_BYTES)
            return FWS_ERR_ARG;
        if ((err = fws_tlog_fetch_tile(t, id->level, id->index, size, buf, &width, eb)) != FWS_OK)
            return err;
        *len = (size_t)width * FWS_MERKLE_HASH_LEN;
        return FWS_OK;
    }
    fws_bundle_entry e[FWS_TILE_WIDTH];
    size_t n = 0, out = 0;
    uint8_t *raw = malloc(FWS_BUNDLE_MAX);
    if (raw == NULL)
        return FWS_ERR_NOMEM;
    err = fws_tlog_fetch_bundle(t, id->index, size, raw, FWS_BUNDLE_MAX, e, &n, eb);
    for (size_t i = 0; err == FWS_OK && i < n; i++)
        err = fws_bundle_append(buf, cap, &out, e[i].data, e[i].len);
    free(raw);
    if (err == FWS_OK)
        *len = out;
    return err;
}
