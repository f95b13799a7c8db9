/* The ledger's write side and its long-running roles: typed records, the log writer (C2SP
 * tlog-tiles in a directory, an SQLite index, signed checkpoints), the group-commit sequencer,
 * the witness, the monitor and an HTTP tile source.
 *
 * Log directory (see docs/FORMATS.md):
 *   log.json        origin, vkey, signing key reference, entry kind
 *   tree-state      the durable tree size and root (written after the tiles, before any
 *                   append is acknowledged)
 *   checkpoint      the latest signed checkpoint (C2SP tlog-checkpoint), witness cosignatures
 *                   merged in
 *   tile/...        C2SP tlog-tiles hash tiles and entry bundles
 *   index.sqlite    derived index (WAL): entry digest -> index, record fields -> index
 *   lock            flock(2) held by the one appender
 *   checkpoint.lock flock(2) held briefly while the checkpoint file is replaced
 *
 * The tiles and tree-state are the source of truth. The index is rebuilt from the tiles when
 * it lags (after a crash). Partial tiles are never hashed into the level above.
 */
#ifndef FWSEAL_LEDGER_H
#define FWSEAL_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"
#include "fwseal/crypto.h"
#include "fwseal/note.h"
#include "fwseal/tiles.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- typed records ------------------------------------------------------------------------ */

#define FWS_RECORD_SCHEMA 1 /* the only record schema version accepted */
/* Largest record, as given and as stored (canonical form is never longer than its input):
 * entry bundles store a 16-bit length, so the 64 KiB cap of the record format is really
 * 65535 bytes. */
#define FWS_RECORD_MAX FWS_ENTRY_MAX
#define FWS_RECORD_ID_MAX 128     /* identifiers: device, product, serial, ... */
#define FWS_RECORD_VERSION_MAX 64 /* version strings */

typedef enum fws_record_type {
    FWS_RECORD_RELEASE = 1,
    FWS_RECORD_PROVISION = 2,
    FWS_RECORD_INSTALL = 3,
    FWS_RECORD_ROLLBACK = 4,
    FWS_RECORD_REVOKE = 5,
    FWS_RECORD_KEY = 6,
    FWS_RECORD_QUARANTINE = 7,
    FWS_RECORD_DECOMMISSION = 8,
    FWS_RECORD_ATTESTATION = 9,
} fws_record_type;

/* The fields of a record the index keeps ("" when the record has none). */
typedef struct fws_record_info {
    fws_record_type type;
    char device[FWS_RECORD_ID_MAX + 1];
    char product[FWS_RECORD_ID_MAX + 1];
    char version[FWS_RECORD_VERSION_MAX + 1]; /* release: version; install/rollback: toVersion */
    char time[40];                            /* RFC 3339 as written */
} fws_record_info;

/* "release", "provision", ...; NULL for an unknown value. */
const char *fws_record_type_name(fws_record_type t);
/* FWS_ERR_NOT_FOUND for an unknown name. */
fws_err fws_record_type_parse(const char *name, fws_record_type *out) FWS_MUST_CHECK;

/* Validates a record: any valid JSON text (no fractions or exponents, at most
 * FWS_RECORD_MAX bytes) that matches its type's schema exactly (required fields present,
 * no unknown field, right types, lowercase hex digests of the right length, capped strings,
 * RFC 3339 UTC times). On success *canonical receives the canonical JSON form (malloc'd,
 * NUL-terminated, at most FWS_RECORD_MAX bytes; free() it) and info (optional) the indexed
 * fields. Errors: FWS_ERR_FORMAT (not JSON), FWS_ERR_SCHEMA (eb names the field and the
 * rule), FWS_ERR_TOO_BIG (over a cap). */
fws_err fws_record_validate(const uint8_t *unverified, size_t len, char **canonical,
                            size_t *canonical_len, fws_record_info *info,
                            fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- the log writer ----------------------------------------------------------------------- */

typedef struct fws_ledger fws_ledger; /* opaque; one per process holds a log's lock */

#define FWS_LEDGER_KEYREF_MAX 4096

typedef struct fws_ledger_config {
    const char *origin;  /* checkpoint origin and the log key's name (a note key name) */
    const char *key_ref; /* where the signing key lives: a path (stored as given) */
    int any_entries;     /* 1: any bytes are an entry; 0: only valid records */
} fws_ledger_config;

/* Creates a log in dir (created if missing; it must otherwise be empty): log.json, the empty
 * tree state, an empty index, and the checkpoint of size 0 signed by signer (Ed25519).
 * vkey (optional) receives the log's verifier key. */
fws_err fws_ledger_create(const char *dir, const fws_ledger_config *cfg, const fws_signer *signer,
                          char vkey[FWS_NOTE_VKEY_MAX], fws_errbuf *eb) FWS_MUST_CHECK;

typedef struct fws_ledger_options {
    unsigned lock_wait_ms;           /* how long to wait for another appender (0: fail at once) */
    unsigned checkpoint_interval_ms; /* fws_ledger_publish_due period; 0 means 1000 */
} fws_ledger_options;

/* Opens a log for appending: takes its lock, reads log.json, and recovers: the durable size is
 * the tree-state's; tiles beyond it are ignored (rewritten by later appends); the tiles must
 * give the tree-state's root and the checkpoint's root at its size, and the checkpoint must
 * verify with the log's vkey and not be ahead of the tree state (FWS_ERR_INCONSISTENT,
 * FWS_ERR_SIGNATURE, FWS_ERR_KEY_MISMATCH, naming the file). The index catches up from the
 * tiles. No signer is needed until a checkpoint must be signed (fws_ledger_set_signer).
 * opts may be NULL. */
fws_err fws_ledger_open(const char *dir, const fws_ledger_options *opts, fws_ledger **out,
                        fws_errbuf *eb) FWS_MUST_CHECK;
void fws_ledger_close(fws_ledger *l); /* NULL is fine; does not publish */

/* Gives the log its signing key (borrowed; must outlive the log or the next call). The signer's
 * public key must be the log's vkey (FWS_ERR_KEY_MISMATCH otherwise). */
fws_err fws_ledger_set_signer(fws_ledger *l, const fws_signer *signer,
                              fws_errbuf *eb) FWS_MUST_CHECK;

typedef struct fws_ledger_status {
    uint64_t size;        /* durable tree size */
    uint64_t signed_size; /* size of the published checkpoint */
    uint8_t root[FWS_MERKLE_HASH_LEN];
    int any_entries;
    char origin[FWS_CHECKPOINT_ORIGIN_MAX + 1];
    char vkey[FWS_NOTE_VKEY_MAX];
    char key_ref[FWS_LEDGER_KEYREF_MAX];
} fws_ledger_status;
void fws_ledger_get_status(const fws_ledger *l, fws_ledger_status *st);

/* Reads a log directory's log.json, tree state and checkpoint size without taking its lock
 * (nothing is verified: for display and to find the vkey a directory claims). */
fws_err fws_ledger_info(const char *dir, fws_ledger_status *st, fws_errbuf *eb) FWS_MUST_CHECK;

typedef struct fws_ledger_entry {
    const uint8_t *data;
    size_t len;
} fws_ledger_entry;

/* Appends a batch (n >= 1, at most FWS_LEDGER_BATCH_MAX). Every entry is checked first (a
 * record log validates and stores each record's canonical form; an any-entries log stores the
 * bytes, at most 65535); if any fails, nothing is appended and eb names the entry ("entry 3:
 * ..."). An entry already in the log (same
 * stored bytes) is not appended again: its existing index is returned (dup[i] = 1 when dup is not
 * NULL). indexes[i] receives each entry's index. Returns only after the batch's tiles and the tree
 * state are durable. Does not sign. */
#define FWS_LEDGER_BATCH_MAX 65536
fws_err fws_ledger_append(fws_ledger *l, const fws_ledger_entry *entries, size_t n,
                          uint64_t *indexes, uint8_t *dup, fws_errbuf *eb) FWS_MUST_CHECK;

/* Same, but when an entry fails its check *bad receives its position and eb holds the bare
 * reason (no "entry N:" prefix), for callers that name entries their own way (a line number);
 * *bad is n for any other error. */
fws_err fws_ledger_append_at(fws_ledger *l, const fws_ledger_entry *entries, size_t n,
                             uint64_t *indexes, uint8_t *dup, size_t *bad,
                             fws_errbuf *eb) FWS_MUST_CHECK;

/* The same in two steps, so that checking one batch can overlap writing the previous one:
 * prepare validates (and canonicalises) the entries without touching the log and may run on
 * any thread while another appends; append writes a prepared batch like fws_ledger_append.
 * For an any-entries log the batch points at the entries' data, which must stay put until the
 * batch is freed. Errors from prepare are reported as by fws_ledger_append_at. */
typedef struct fws_ledger_batch fws_ledger_batch;
fws_err fws_ledger_batch_prepare(const fws_ledger *l, const fws_ledger_entry *entries, size_t n,
                                 fws_ledger_batch **out, size_t *bad,
                                 fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_ledger_batch_append(fws_ledger *l, fws_ledger_batch *b, uint64_t *indexes, uint8_t *dup,
                                fws_errbuf *eb) FWS_MUST_CHECK;
size_t fws_ledger_batch_size(const fws_ledger_batch *b);
void fws_ledger_batch_free(fws_ledger_batch *b); /* NULL is fine */

/* Signs and publishes a checkpoint for the durable size when it is larger than the published
 * one (FWS_ERR_STATE without a signer). Never signs a smaller size than one already signed. */
fws_err fws_ledger_publish(fws_ledger *l, fws_errbuf *eb) FWS_MUST_CHECK;
/* 1 when entries are unsigned and the checkpoint interval has passed since the last publish,
 * less the time the last batch took (so that the next batch cannot stretch the gap between
 * checkpoints past the interval). now_ms is a monotonic clock (fws_ledger_now_ms). */
int fws_ledger_publish_due(const fws_ledger *l, uint64_t now_ms);
/* 1 when the durable size is larger than the published checkpoint's. */
int fws_ledger_unsigned(const fws_ledger *l);
/* Milliseconds on the monotonic clock the ledger uses. */
uint64_t fws_ledger_now_ms(void);

/* A thread that publishes on its own: whenever durable entries are unsigned and the interval
 * has passed since the last checkpoint, it signs one for the latest durable size, whatever the
 * appending thread is doing (a long batch cannot delay it). Needs the signer. Appends and
 * fws_ledger_publish may go on meanwhile from one other thread. stop returns the first error
 * the thread met. The callback (optional, set before start) runs on the publishing thread
 * after each checkpoint with its size and fws_ledger_now_ms() time. */
typedef void (*fws_ledger_publish_fn)(void *ctx, uint64_t size, uint64_t when_ms);
void fws_ledger_on_publish(fws_ledger *l, fws_ledger_publish_fn fn, void *ctx);
fws_err fws_ledger_autopublish_start(fws_ledger *l, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_ledger_autopublish_stop(fws_ledger *l, fws_errbuf *eb);

/* Reads the published checkpoint (verbatim, cosignatures included) into buf. */
fws_err fws_ledger_checkpoint(const fws_ledger *l, char *buf, size_t cap, size_t *len,
                              fws_errbuf *eb) FWS_MUST_CHECK;

/* Merges the signature lines of a cosigned copy of the log's current checkpoint into the
 * published checkpoint file of the log in dir (under checkpoint.lock, without the append lock).
 * Lines from a key already present replace the old line. FWS_ERR_STATE when the log has
 * published another checkpoint since (the cosignature is for an older one). */
fws_err fws_ledger_add_cosignatures(const char *dir, const char *cosigned, size_t len,
                                    fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- searching the index ------------------------------------------------------------------ */

typedef struct fws_ledger_query {
    fws_record_type type; /* 0: any */
    const char *device;   /* NULL: any */
    const char *product;  /* NULL: any */
    const char *version;  /* NULL: any (release version, install/rollback toVersion) */
} fws_ledger_query;

/* Indexes of matching records in increasing order, starting after index `after` (use
 * UINT64_MAX to start at 0), at most cap of them. Opens the index read-only: it works while an
 * appender runs, and sees what that appender has committed. */
fws_err fws_ledger_search(const char *dir, const fws_ledger_query *q, uint64_t after, uint64_t *out,
                          size_t cap, size_t *n, fws_errbuf *eb) FWS_MUST_CHECK;
/* The index of the entry with these stored bytes' SHA-256, FWS_ERR_NOT_FOUND if none. */
fws_err fws_ledger_find_digest(const char *dir, const uint8_t digest[FWS_SHA256_LEN],
                               uint64_t *index, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- the sequencer (group commit) --------------------------------------------------------- */

typedef struct fws_sequencer fws_sequencer;

typedef struct fws_sequencer_options {
    size_t max_batch;                /* entries per batch; 0 means 4096 */
    unsigned max_delay_ms;           /* wait for more entries after the first; 0 means 5 */
    unsigned checkpoint_interval_ms; /* 0 means 1000 */
    size_t max_queue;                /* entries waiting; appenders block beyond; 0: 65536 */
} fws_sequencer_options;

/* Starts a thread that owns l (with its signer set) until fws_sequencer_stop: nobody else may
 * use l meanwhile. opts may be NULL. */
fws_err fws_sequencer_start(fws_ledger *l, const fws_sequencer_options *opts, fws_sequencer **out,
                            fws_errbuf *eb) FWS_MUST_CHECK;
/* Thread-safe. Validates the entry in the calling thread, queues it, and blocks until its batch
 * is durable; *index receives its index (an existing one for a duplicate). A checkpoint covering
 * it is published within the checkpoint interval. */
fws_err fws_sequencer_append(fws_sequencer *s, const uint8_t *entry, size_t len, uint64_t *index,
                             fws_errbuf *eb) FWS_MUST_CHECK;
/* Milliseconds from an append's submission to the published checkpoint that covers it: the
 * mean and the largest seen so far (0 when none). */
void fws_sequencer_latency(fws_sequencer *s, double *mean_ms, double *max_ms);
/* Drains the queue, publishes a final checkpoint, stops the thread and frees s (NULL is fine).
 * Returns the first error the thread met, if any. */
fws_err fws_sequencer_stop(fws_sequencer *s, fws_errbuf *eb);

/* ---- following a log: witness and monitor ------------------------------------------------- */

#define FWS_FOLLOW_STATE_MAX FWS_NOTE_MAX

/* What a witness or monitor did in one pass. */
typedef struct fws_follow_result {
    uint64_t old_size; /* the size it had verified before (0 at first sight) */
    uint64_t new_size; /* the checkpoint's size */
    int first_sight;   /* 1 when it had no state for this log */
    uint64_t entries;  /* entries re-hashed (monitor) */
} fws_follow_result;

/* Witness (C2SP tlog-witness rules, offline): fetches the log's checkpoint from src, verifies
 * it with log_key, and checks it against the last checkpoint this witness cosigned for the
 * origin (kept in state_dir): a smaller size or a different root at the same size is refused,
 * a larger size needs a consistency proof built from the log's tiles that verifies. Then it
 * cosigns (tlog-cosignature, type 0x04, timestamp now) as witness name, saves the state, and
 * writes the checkpoint with its cosignature line added into out (NUL-terminated).
 * Errors: FWS_ERR_INCONSISTENT for a fork (eb: "fork: checkpoint at size N has root X but
 * ..."), FWS_ERR_ROLLBACK for a smaller size, FWS_ERR_SIGNATURE / FWS_ERR_KEY_MISMATCH for the
 * checkpoint's signature, FWS_ERR_PROOF when the tiles cannot prove consistency. */
fws_err fws_witness_cosign(const fws_tile_source *src, const fws_note_vkey *log_key,
                           const char *state_dir, const char *name, const fws_signer *signer,
                           uint64_t now, char *out, size_t cap, size_t *out_len,
                           fws_follow_result *res, fws_errbuf *eb) FWS_MUST_CHECK;

/* Monitor: fetches and verifies the checkpoint like the witness, proves consistency with the
 * saved state, then recomputes the tree from the entry bundles between the saved size and the
 * new one: every leaf hash, every hash tile and the root must match (FWS_ERR_INCONSISTENT
 * otherwise, naming the tile). With check_records, every new entry must be a valid record
 * (FWS_ERR_SCHEMA names the index). The state is saved only after every check passed. */
fws_err fws_monitor_check(const fws_tile_source *src, const fws_note_vkey *log_key,
                          const char *state_dir, int check_records, fws_follow_result *res,
                          fws_errbuf *eb) FWS_MUST_CHECK;

/* The last verified checkpoint the witness or monitor saved in state_dir for origin
 * (FWS_ERR_NOT_FOUND when none). Not re-verified. */
fws_err fws_follow_state_read(const char *state_dir, const char *origin, char *buf, size_t cap,
                              size_t *len, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- HTTP tile source --------------------------------------------------------------------- */

typedef struct fws_http_source fws_http_source;

/* A tile source reading BASE/checkpoint and BASE/tile/... over HTTP(S) (fwseal/http.h): only
 * http and https, no redirects, each response capped at the reader's buffer, timeout_ms per
 * request (0 means 10000). 404 is FWS_ERR_NOT_FOUND. src is filled in; h must outlive it. */
fws_err fws_http_source_open(const char *base_url, unsigned timeout_ms, fws_http_source **h,
                             fws_tile_source *src, fws_errbuf *eb) FWS_MUST_CHECK;
void fws_http_source_close(fws_http_source *h); /* NULL is fine */

#ifdef __cplusplus
}
#endif
#endif
