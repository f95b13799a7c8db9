/* C2SP tlog-tiles: paths, tiles, entry bundles, and a reader for tile-based logs.
 *
 * Layout (relative to a log's prefix or directory):
 *   checkpoint                      the latest signed checkpoint (see note.h)
 *   tile/<L>/<N>[.p/<W>]            hash tile: level L (0..63), index N, partial width W
 *   tile/entries/<N>[.p/<W>]        entry bundle for level-0 tile N
 * N is written as 3-digit groups, all but the last prefixed with 'x' (1234067 is
 * x001/x234/067); W is 1..255 without leading zeros; a full tile has no suffix.
 *
 * A tile at level L holds up to 256 Merkle hashes of level 8L: tile N at level L holds nodes
 * (8L, N*256 + i). A full tile is exactly 256 * 32 bytes; for a tree of s leaves the rightmost
 * tile at level L is partial with floor(s / 256^L) mod 256 hashes. Level 0 holds leaf hashes.
 * An entry bundle holds the entries of a level-0 tile, each as a big-endian uint16 length and
 * that many bytes, and nothing else.
 *
 * The reader fetches through a tile source (a function pointer), so the same code reads a
 * directory today and HTTP later. Every fetched tile and bundle is held to the exact size the
 * tree size implies. Nothing fetched is trusted: the root computed from tiles must be compared
 * with a verified checkpoint (fws_checkpoint_open) before any node or proof is believed.
 */
#ifndef FWSEAL_TILES_H
#define FWSEAL_TILES_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"
#include "fwseal/core.h"
#include "fwseal/merkle.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FWS_TILE_HEIGHT 8
#define FWS_TILE_WIDTH 256
#define FWS_TILE_BYTES (FWS_TILE_WIDTH * FWS_MERKLE_HASH_LEN) /* 8192 */
#define FWS_TILE_MAX_LEVEL 63
#define FWS_TILE_PATH_MAX 96 /* longest tile path, NUL included */
#define FWS_ENTRY_MAX 65535  /* largest entry a bundle can hold */
#define FWS_BUNDLE_MAX ((size_t)FWS_TILE_WIDTH * (2 + FWS_ENTRY_MAX))
#define FWS_TILE_CHECKPOINT_MAX 65536 /* cap on a fetched checkpoint (FWS_NOTE_MAX) */

/* ---- paths -------------------------------------------------------------------------------- */

typedef struct fws_tile_id {
    int entries;    /* 1: an entry bundle (level is 0); 0: a hash tile */
    unsigned level; /* 0..63 */
    uint64_t index; /* tile index N within its level */
    unsigned width; /* 1..256; 256 is a full tile (no .p/ suffix) */
} fws_tile_id;

/* Formats the path of a tile or bundle ("tile/0/x001/234.p/5"), NUL-terminated.
 * FWS_ERR_ARG for a level over 63, a width outside 1..256 or entries with level != 0. */
fws_err fws_tile_path(const fws_tile_id *id, char out[FWS_TILE_PATH_MAX],
                      size_t *len) FWS_MUST_CHECK;

/* Parses a path in canonical form only (no leading zeros in L or W, exactly 3 digits per
 * group, 'x' on every group but the last, no superfluous "x000" group, no trailing slash).
 * FWS_ERR_FORMAT otherwise. */
fws_err fws_tile_path_parse(const char *path, size_t len, fws_tile_id *out) FWS_MUST_CHECK;

/* The width of tile index at level in a tree of tree_size leaves: 256 when full, 1..255 when
 * partial, 0 when the tree has no such tile (it would be empty). */
unsigned fws_tile_width(unsigned level, uint64_t index, uint64_t tree_size);

/* ---- tiles and bundles -------------------------------------------------------------------- */

/* MTH of the width hashes in a tile (width 1..256); for a full tile this is the hash the
 * level above stores for it. */
fws_err fws_tile_hash(const fws_hash_ops *ops, const uint8_t *hashes, size_t width,
                      uint8_t out[FWS_MERKLE_HASH_LEN]) FWS_MUST_CHECK;

typedef struct fws_bundle_entry {
    const uint8_t *data; /* points into the bundle */
    size_t len;
} fws_bundle_entry;

/* Splits an entry bundle that must hold exactly want entries (1..256) and nothing after them.
 * FWS_ERR_LENGTH for too few or too many entries or trailing bytes, FWS_ERR_FORMAT for a
 * length that runs past the end. out is written only on success. */
fws_err fws_bundle_parse(const uint8_t *unverified, size_t len, size_t want,
                         fws_bundle_entry out[FWS_TILE_WIDTH], fws_errbuf *eb) FWS_MUST_CHECK;

/* Appends one entry to a bundle being built in buf (cap bytes, *len used so far).
 * FWS_ERR_TOO_BIG when the entry is over 65535 bytes or does not fit. */
fws_err fws_bundle_append(uint8_t *buf, size_t cap, size_t *len, const uint8_t *entry,
                          size_t entry_len) FWS_MUST_CHECK;

/* ---- tile sources ------------------------------------------------------------------------- */

/* Fetches the resource at path (relative: "checkpoint", "tile/0/000.p/5") into buf. Writes
 * the byte count to *len. Must return FWS_ERR_NOT_FOUND when the resource does not exist and
 * FWS_ERR_TOO_BIG when it holds more than cap bytes. */
typedef fws_err (*fws_tile_fetch_fn)(void *ctx, const char *path, uint8_t *buf, size_t cap,
                                     size_t *len, fws_errbuf *eb);

typedef struct fws_tile_source {
    fws_tile_fetch_fn fetch;
    void *ctx;
} fws_tile_source;

#define FWS_TILE_DIR_MAX 4096

/* A source that reads a log from a local directory. Caller-owned; no allocation. */
typedef struct fws_tile_dir {
    char root[FWS_TILE_DIR_MAX];
} fws_tile_dir;

/* Points src at dir (which must exist and be a directory); dir must outlive src. */
fws_err fws_tile_dir_source(fws_tile_dir *dir, const char *path, fws_tile_source *src,
                            fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- reading a tile-based log ------------------------------------------------------------- */

typedef struct fws_tlog fws_tlog; /* opaque: a source, a hash provider and a small tile cache */

/* ops is normally &fws_sha256_ops. The source must outlive the reader. */
fws_err fws_tlog_open(const fws_tile_source *src, const fws_hash_ops *ops, fws_tlog **out,
                      fws_errbuf *eb) FWS_MUST_CHECK;
void fws_tlog_close(fws_tlog *t); /* NULL is fine */

/* Fetches the raw "checkpoint" resource (at most cap bytes, NUL-terminated when room is left).
 * It is not verified: pass it to fws_checkpoint_open. */
fws_err fws_tlog_fetch_checkpoint(fws_tlog *t, char *buf, size_t cap, size_t *len,
                                  fws_errbuf *eb) FWS_MUST_CHECK;

/* Fetches hash tile (level, index) as the tree of tree_size leaves implies it: the partial
 * tile when it is partial at that size, falling back to the full tile (first W hashes) when
 * the partial one is gone. FWS_ERR_LENGTH when the bytes are not exactly the expected width,
 * FWS_ERR_NOT_FOUND when the tree has no such tile or it is missing. out receives width * 32
 * bytes; *width the width. */
fws_err fws_tlog_fetch_tile(fws_tlog *t, unsigned level, uint64_t index, uint64_t tree_size,
                            uint8_t out[FWS_TILE_BYTES], unsigned *width,
                            fws_errbuf *eb) FWS_MUST_CHECK;

/* Fetches and splits the entry bundle of level-0 tile index for tree_size into buf (cap bytes,
 * FWS_BUNDLE_MAX always suffices), with the same width rules as hash tiles. entries point into
 * buf; *n receives the count. */
fws_err fws_tlog_fetch_bundle(fws_tlog *t, uint64_t index, uint64_t tree_size, uint8_t *buf,
                              size_t cap, fws_bundle_entry entries[FWS_TILE_WIDTH], size_t *n,
                              fws_errbuf *eb) FWS_MUST_CHECK;

/* The entry at index in the tree of tree_size leaves, copied into out (cap bytes). */
fws_err fws_tlog_entry(fws_tlog *t, uint64_t index, uint64_t tree_size, uint8_t *out, size_t cap,
                       size_t *len, fws_errbuf *eb) FWS_MUST_CHECK;

/* The hash of node (level, index) derived from the tiles of the tree of tree_size leaves: the
 * node must lie wholly inside the tree ((index + 1) << level <= tree_size, FWS_ERR_ARG
 * otherwise). Tile level level/8 is read; the sublevels in between are hashed. */
fws_err fws_tlog_node(fws_tlog *t, uint64_t tree_size, unsigned level, uint64_t index,
                      uint8_t out[FWS_MERKLE_HASH_LEN], fws_errbuf *eb) FWS_MUST_CHECK;

/* The root of the tree of tree_size leaves, from the tiles. */
fws_err fws_tlog_root(fws_tlog *t, uint64_t tree_size, uint8_t out[FWS_MERKLE_HASH_LEN],
                      fws_errbuf *eb) FWS_MUST_CHECK;

/* The inclusion proof of leaf index in the tree of tree_size leaves, from the tiles
 * (FWS_MERKLE_MAX_PROOF hashes always suffice). */
fws_err fws_tlog_inclusion_proof(fws_tlog *t, uint64_t index, uint64_t tree_size,
                                 uint8_t proof[][FWS_MERKLE_HASH_LEN], size_t cap, size_t *n,
                                 fws_errbuf *eb) FWS_MUST_CHECK;

/* The consistency proof from size1 to size2, from the tiles of the tree of size2 leaves. */
fws_err fws_tlog_consistency_proof(fws_tlog *t, uint64_t size1, uint64_t size2,
                                   uint8_t proof[][FWS_MERKLE_HASH_LEN], size_t cap, size_t *n,
                                   fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- auditing a whole log ----------------------------------------------------------------- */

typedef struct fws_tlog_audit {
    uint64_t tree_size;
    uint64_t entries;                  /* entries hashed and compared with their level-0 tile */
    uint64_t bundles;                  /* entry bundles read */
    uint64_t tiles;                    /* hash tiles checked, all levels */
    unsigned levels;                   /* tile levels the tree has */
    uint8_t root[FWS_MERKLE_HASH_LEN]; /* the root recomputed from the entries */
} fws_tlog_audit;

/* Recomputes the tree of tree_size entries from its tiles: every entry bundle is hashed and
 * compared with its level-0 tile, every tile at level 1 and above is compared with the hashes
 * of the full tiles below it, and the root recomputed from the entries (and the one read from
 * the upper tiles) must equal root. Errors name the first problem: FWS_ERR_DIGEST (a tile
 * hash that disagrees with what is below it), FWS_ERR_LENGTH (a tile or bundle of the wrong
 * width), FWS_ERR_PROOF (the root differs), FWS_ERR_NOT_FOUND (a missing tile). out (optional)
 * receives the counts on success. */
fws_err fws_tlog_audit_tiles(fws_tlog *t, uint64_t tree_size,
                             const uint8_t root[FWS_MERKLE_HASH_LEN], fws_tlog_audit *out,
                             fws_errbuf *eb) FWS_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
