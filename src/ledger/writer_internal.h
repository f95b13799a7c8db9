/* Internal to the ledger's write side: the tile builder, durable multi-file writes, the tree
 * state file, log.json, the SQLite index and the ledger object itself. */
#ifndef FWSEAL_LEDGER_WRITER_INTERNAL_H
#define FWSEAL_LEDGER_WRITER_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "fwseal/ledger.h"
#include "fwseal/merkle.h"
#include "fwseal/note.h"
#include "fwseal/tiles.h"

/* ---- tile builder (writer_tiles.c) ----------------------------------------------------------
 * Keeps the rightmost tile of every level. Adding leaf hashes fills level 0; a tile that becomes
 * full is emitted and its hash goes into the level above; a partial tile never does. tb_flush
 * emits the partial tiles that changed. The writer writes what is emitted; the monitor compares
 * it with what the log serves. */

#define TB_LEVELS 8 /* 256^8 = 2^64 leaves */

typedef fws_err (*tb_emit_fn)(void *ctx, unsigned level, uint64_t index, unsigned width,
                              const uint8_t *hashes, fws_errbuf *eb);

typedef struct tile_builder {
    uint64_t n[TB_LEVELS];    /* hashes at each level: size >> (8 * level) */
    uint8_t dirty[TB_LEVELS]; /* the rightmost tile changed since the last flush */
    uint8_t tile[TB_LEVELS][FWS_TILE_BYTES];
    tb_emit_fn emit;
    void *ctx;
} tile_builder;

void tb_init(tile_builder *tb, tb_emit_fn emit, void *ctx);
/* Loads the rightmost tiles of the tree of size leaves from a tile reader. */
fws_err tb_load(tile_builder *tb, fws_tlog *t, uint64_t size, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err tb_add_leaf(tile_builder *tb, const uint8_t hash[FWS_MERKLE_HASH_LEN],
                    fws_errbuf *eb) FWS_MUST_CHECK;
fws_err tb_flush(tile_builder *tb, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err tb_root(const tile_builder *tb, uint8_t out[FWS_MERKLE_HASH_LEN]) FWS_MUST_CHECK;
static inline uint64_t tb_size(const tile_builder *tb)
{
    return tb->n[0];
}

/* ---- durable files (writer_files.c) ----------------------------------------------------------
 * A write set collects files (paths relative to the log directory); ws_commit writes each to a
 * temporary name, fsyncs it, renames them all, then fsyncs every directory touched (and the
 * parents of directories it created). Temporary names are fixed (".<name>.tmp"): only the lock
 * holder writes, so a crash leaves at most one stale temporary per name, overwritten later. */

typedef struct ws_file {
    char path[FWS_TILE_PATH_MAX];
    uint8_t *data;
    size_t len;
} ws_file;

#define WS_KNOWN_DIRS 16

typedef struct write_set {
    ws_file *files;
    size_t n, cap;
    uint64_t bytes;
    char known[WS_KNOWN_DIRS][FWS_TILE_PATH_MAX]; /* parents known to exist already */
    unsigned known_next;
} write_set;

fws_err ws_add(write_set *ws, const char *path, const uint8_t *data, size_t len,
               fws_errbuf *eb) FWS_MUST_CHECK;
fws_err ws_commit(write_set *ws, int dirfd, const char *dirname, fws_errbuf *eb) FWS_MUST_CHECK;
void ws_clear(write_set *ws); /* drops the files, keeps the array */
void ws_free(write_set *ws);

/* Writes one file durably (temporary ".<name>.tmp", fsync, rename, directory fsync). name is a
 * plain file name in the directory dirfd. */
fws_err wr_write_durable(int dirfd, const char *dirname, const char *name, const void *data,
                         size_t len, fws_errbuf *eb) FWS_MUST_CHECK;
/* Reads a file below dirfd (at most cap bytes) into a malloc'd, NUL-terminated buffer. */
fws_err wr_read_file(int dirfd, const char *dirname, const char *name, size_t cap, char **out,
                     size_t *len, fws_errbuf *eb) FWS_MUST_CHECK;
/* flock on a file below dirfd, waiting up to wait_ms (0: no wait). *fd receives the lock. */
fws_err wr_lock(int dirfd, const char *dirname, const char *name, unsigned wait_ms, int *fd,
                fws_errbuf *eb) FWS_MUST_CHECK;
void wr_unlock(int fd);

/* ---- tree state (writer_state.c) -------------------------------------------------------------
 *   fwseal-tree-state/1\n<size>\n<base64 root>\n */
#define WR_TREE_STATE "tree-state"
#define WR_TREE_STATE_MAX 256
fws_err wr_state_format(uint64_t size, const uint8_t root[FWS_MERKLE_HASH_LEN], char *out,
                        size_t cap, size_t *len) FWS_MUST_CHECK;
fws_err wr_state_parse(const char *text, size_t len, uint64_t *size,
                       uint8_t root[FWS_MERKLE_HASH_LEN], fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- log.json (writer_config.c) ------------------------------------------------------------- */
#define WR_CONFIG "log.json"
#define WR_CONFIG_MAX 16384

typedef struct wr_config {
    char origin[FWS_CHECKPOINT_ORIGIN_MAX + 1];
    char vkey[FWS_NOTE_VKEY_MAX];
    char key_ref[FWS_LEDGER_KEYREF_MAX];
    int any_entries;
} wr_config;

fws_err wr_config_format(const wr_config *c, char **out, size_t *len,
                         fws_errbuf *eb) FWS_MUST_CHECK;
fws_err wr_config_parse(const char *text, size_t len, wr_config *c, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- the index (index.c) --------------------------------------------------------------------- */
#define WR_INDEX "index.sqlite"

typedef struct ledger_index ledger_index;

fws_err ix_open(const char *path, int readonly, ledger_index **out, fws_errbuf *eb) FWS_MUST_CHECK;
void ix_close(ledger_index *ix);
/* Entries indexed so far (the index covers [0, size)). */
fws_err ix_size(ledger_index *ix, uint64_t *size, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err ix_lookup(ledger_index *ix, const uint8_t digest[FWS_SHA256_LEN], uint64_t *index,
                  int *found, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err ix_begin(ledger_index *ix, fws_errbuf *eb) FWS_MUST_CHECK;
/* info NULL: an entry that is not a record (any-entries log). */
fws_err ix_add(ledger_index *ix, uint64_t index, const uint8_t digest[FWS_SHA256_LEN],
               const fws_record_info *info, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err ix_commit(ledger_index *ix, uint64_t new_size, fws_errbuf *eb) FWS_MUST_CHECK;
void ix_rollback(ledger_index *ix);
/* Drops rows at or past size (an index ahead of the durable tree). */
fws_err ix_truncate(ledger_index *ix, uint64_t size, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err ix_search(ledger_index *ix, const fws_ledger_query *q, uint64_t after, uint64_t *out,
                  size_t cap, size_t *n, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- the ledger (writer.c, writer_append.c, writer_publish.c) ------------------------------- */

#define WR_CHECKPOINT "checkpoint"
#define WR_CHECKPOINT_LOCK "checkpoint.lock"
#define WR_LOCK "lock"

/* One entry ready to append: its stored bytes and what the index needs. */
typedef struct wr_prepared {
    uint8_t *data; /* owned (canonical record) or borrowed (any-entries) */
    size_t len;
    int owned;
    uint8_t digest[FWS_SHA256_LEN];
    int has_info;
    fws_record_info info;
} wr_prepared;

struct fws_ledger {
    char dir[FWS_TILE_DIR_MAX];
    int dirfd;
    int lockfd;
    wr_config cfg;
    fws_note_vkey vkey;
    const fws_signer *signer;
    tile_builder *tb;
    uint8_t *bundle; /* entries of the rightmost level-0 tile, as an entry bundle */
    size_t bundle_len, bundle_cap;
    uint64_t size;
    uint8_t root[FWS_MERKLE_HASH_LEN];
    ledger_index *ix;
    write_set ws;
    uint64_t last_batch_ms; /* how long the last batch took to become durable */
    unsigned interval_ms;
    int failed; /* an append failed half-way and the state could not be reloaded */
    /* Publishing, shared with the autopublish thread: everything below is guarded by pub_mu.
     * snap_* is the last durable (size, root), set after each batch's tree state is durable. */
    pthread_mutex_t pub_mu;
    pthread_cond_t pub_cv;
    int pub_init, pub_running, pub_stop;
    pthread_t pub_thread;
    fws_err pub_err;
    fws_errbuf pub_eb;
    uint64_t snap_size;
    uint8_t snap_root[FWS_MERKLE_HASH_LEN];
    uint64_t signed_size;
    char *checkpoint; /* the published checkpoint file */
    size_t checkpoint_len;
    uint64_t last_publish_ms;
    fws_ledger_publish_fn on_publish;
    void *on_publish_ctx;
};

/* Sets up and tears down the publishing state (writer_publish.c). */
void wr_pub_init(fws_ledger *l);
void wr_pub_destroy(fws_ledger *l);
/* Records a durable (size, root) for the publisher. */
void wr_pub_snapshot(fws_ledger *l);

/* Formats and signs the checkpoint note for (size, root) into a malloc'd buffer. */
fws_err wr_sign_checkpoint(const char *origin, uint64_t size,
                           const uint8_t root[FWS_MERKLE_HASH_LEN], const fws_signer *signer,
                           char **out, size_t *len, fws_errbuf *eb) FWS_MUST_CHECK;

/* Checks one entry and computes what appending it needs. */
fws_err wr_prepare(const fws_ledger *l, const uint8_t *data, size_t len, wr_prepared *p,
                   fws_errbuf *eb) FWS_MUST_CHECK;
void wr_prepared_free(wr_prepared *p);
/* Appends prepared entries (see fws_ledger_append). */
fws_err wr_append_prepared(fws_ledger *l, wr_prepared *p, size_t n, uint64_t *indexes, uint8_t *dup,
                           fws_errbuf *eb) FWS_MUST_CHECK;
/* Reloads the builder and the partial bundle from the tiles at l->size. */
fws_err wr_reload(fws_ledger *l, fws_errbuf *eb) FWS_MUST_CHECK;
/* Brings the index up to l->size from the tiles. */
fws_err wr_index_catch_up(fws_ledger *l, fws_errbuf *eb) FWS_MUST_CHECK;
/* Record info of a stored record entry (best effort: 0 when it does not validate). */
int wr_entry_info(const uint8_t *data, size_t len, fws_record_info *info);

/* Shared by the witness and the monitor (witness_state.c). */
fws_err follow_state_write(const char *state_dir, const char *origin, const char *note, size_t len,
                           fws_errbuf *eb) FWS_MUST_CHECK;
/* Opens the checkpoint from src with log_key: note and cp point into buf (cap bytes). */
fws_err follow_fetch_checkpoint(fws_tlog *t, const fws_note_vkey *log_key, char *buf, size_t cap,
                                fws_note *note, fws_checkpoint *cp, fws_errbuf *eb) FWS_MUST_CHECK;
/* Loads and re-verifies the saved checkpoint for log_key's origin; *have = 0 when none. */
fws_err follow_state_load(const char *state_dir, const fws_note_vkey *log_key, char *buf,
                          size_t cap, fws_checkpoint *cp, int *have, fws_errbuf *eb) FWS_MUST_CHECK;
/* Compares a new checkpoint with the saved one: same root at the same size, a consistency
 * proof from the tiles when it grew. FWS_ERR_INCONSISTENT ("fork: ...") or FWS_ERR_ROLLBACK. */
fws_err follow_check_consistency(fws_tlog *t, const fws_checkpoint *old_cp,
                                 const fws_checkpoint *new_cp, fws_errbuf *eb) FWS_MUST_CHECK;

/* Base64 of a hash for messages (45 bytes with the NUL). */
void wr_b64_hash(const uint8_t hash[FWS_MERKLE_HASH_LEN], char out[48]);

#endif
