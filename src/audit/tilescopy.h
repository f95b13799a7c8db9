/* Tiles of a tree of a given size (tiles_copy.c), for bundles, backups and mirrors. */
#ifndef FWSEAL_AUDIT_TILESCOPY_H
#define FWSEAL_AUDIT_TILESCOPY_H

#include "fwseal/tiles.h"

typedef fws_err (*au_tile_fn)(void *ctx, const fws_tile_id *id, fws_errbuf *eb);

/* Calls fn for every hash tile (and, at level 0, entry bundle) of the tree of size leaves, with
 * the width that size implies. */
fws_err au_tiles_each(uint64_t size, au_tile_fn fn, void *ctx, fws_errbuf *eb);

/* The bytes of one tile or bundle of the tree of size leaves, as that size implies them (a
 * bundle is re-encoded from its entries). buf needs FWS_BUNDLE_MAX bytes for a bundle. */
fws_err au_tile_bytes(fws_tlog *t, uint64_t size, const fws_tile_id *id, uint8_t *buf, size_t cap,
                      size_t *len, fws_errbuf *eb);

#endif
