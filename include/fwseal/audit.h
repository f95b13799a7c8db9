/* Audits, audit bundles, backups and ledger mirrors (docs/AUDIT.md).
 *
 *   fws_audit_run        checks a deployment: the ledger recomputed from its tiles, checkpoint
 *                        and witness cosignatures, releases against their records, SBOMs and
 *                        provenance, certificates and CRLs, every device's firmware against the
 *                        release records and every report's device signature. Findings are red
 *                        flags (integrity or provenance broken) or warnings (act soon).
 *   fws_audit_export     writes an audit bundle: a ustar archive holding everything needed to
 *                        re-check the history offline without any secret.
 *   fws_audit_verify     checks such a bundle with only the ledger's verifier key.
 *   fws_backup_create    a consistent online snapshot of a deployment (SQLite online backup
 *                        API for the databases), with checksums; keys only when asked, sealed
 *                        with a passphrase.
 *   fws_backup_restore   refuses a corrupted or truncated backup and re-verifies the ledger
 *                        before anything is put in place.
 *   fws_audit_remote     audits a running server from its snapshot (an auditor's token, no
 *                        shell access): fetched over HTTPS, restored, audited, removed.
 *   fws_mirror_pull      keeps a verified copy of a remote ledger (consistency on every pull).
 *
 * Archives use one strict ustar profile (fws_tar_*): regular files only, fixed header fields,
 * zero padding, exactly two zero blocks at the end and nothing after. A header is accepted only
 * when it is byte for byte the header fwseal would write for the same name and size.
 */
#ifndef FWSEAL_AUDIT_H
#define FWSEAL_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"
#include "fwseal/crypto.h"
#include "fwseal/note.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- ustar archives ---------------------------------------------------------------------- */

#define FWS_TAR_BLOCK 512
#define FWS_TAR_NAME_MAX 255               /* prefix (155) + '/' + name (100) */
#define FWS_TAR_MEMBER_MAX 077777777777ull /* 11 octal digits: 8 GiB - 1 */
#define FWS_TAR_MEMBERS_MAX 4000000u       /* members in one archive */

/* 1 when name is a member name of the profile: 1..FWS_TAR_NAME_MAX bytes of [A-Za-z0-9._+~=@,:-]
 * and '/', relative, no empty, "." or ".." component, not starting with '.' or '-', and it fits
 * the ustar name/prefix split. */
int fws_tar_name_ok(const char *name, size_t len);

/* The header block of a regular file: mode 0644, uid/gid 0, mtime 0, no owner names. */
fws_err fws_tar_header_make(const char *name, uint64_t size, uint8_t block[FWS_TAR_BLOCK],
                            fws_errbuf *eb) FWS_MUST_CHECK;

typedef struct fws_tar_header {
    char name[FWS_TAR_NAME_MAX + 1];
    uint64_t size;
} fws_tar_header;

/* Parses an unverified header block: FWS_ERR_FORMAT (eb says which field) unless it is exactly
 * what fws_tar_header_make writes for its name and size (checksum included). Does not allocate. */
fws_err fws_tar_header_parse(const uint8_t unverified[FWS_TAR_BLOCK], fws_tar_header *out,
                             fws_errbuf *eb) FWS_MUST_CHECK;

/* Reading an archive held in memory. Members point into the caller's buffer. */
typedef struct fws_tar_reader {
    const uint8_t *data;
    size_t len;
    size_t pos;
    size_t members;
    size_t max_members; /* 0 means FWS_TAR_MEMBERS_MAX */
    int done;
} fws_tar_reader;

typedef struct fws_tar_member {
    fws_tar_header h;
    const uint8_t *data;
    size_t offset; /* of the header block in the archive */
} fws_tar_member;

void fws_tar_reader_init(fws_tar_reader *r, const uint8_t *unverified, size_t len,
                         size_t max_members);
/* The next member; FWS_ERR_NOT_FOUND after the last one, once the end (two zero blocks and
 * nothing after them) has been checked. FWS_ERR_FORMAT / FWS_ERR_LENGTH (truncated) /
 * FWS_ERR_TOO_BIG (too many members) with the offset in eb. */
fws_err fws_tar_next(fws_tar_reader *r, fws_tar_member *out, fws_errbuf *eb) FWS_MUST_CHECK;

/* Writing an archive to a file descriptor (streamed; nothing is held whole). */
typedef struct fws_tar_writer {
    int fd;
    uint64_t offset;
    size_t members;
} fws_tar_writer;

void fws_tar_writer_init(fws_tar_writer *w, int fd);
/* Adds a member from memory. sha256 (optional) receives the data's digest. */
fws_err fws_tar_add(fws_tar_writer *w, const char *name, const void *data, size_t len,
                    uint8_t sha256[FWS_SHA256_LEN], fws_errbuf *eb) FWS_MUST_CHECK;
/* Adds a member streamed from a regular file (at most max_len bytes; a file that changes size
 * while it is read is FWS_ERR_STATE). sha256 and size (optional) describe what was written. */
fws_err fws_tar_add_file(fws_tar_writer *w, const char *name, const char *path, uint64_t max_len,
                         uint8_t sha256[FWS_SHA256_LEN], uint64_t *size,
                         fws_errbuf *eb) FWS_MUST_CHECK;
/* Writes the two zero blocks that end the archive. */
fws_err fws_tar_finish(fws_tar_writer *w, fws_errbuf *eb) FWS_MUST_CHECK;

/* Reading an archive from a file descriptor, member by member (for backups of any size). */
typedef struct fws_tar_stream {
    int fd;
    uint64_t offset;
    uint64_t left; /* data bytes of the current member not read yet */
    unsigned pad;  /* padding bytes after the current member's data */
    size_t members;
    size_t max_members;
    int done;
} fws_tar_stream;

void fws_tar_stream_init(fws_tar_stream *s, int fd, size_t max_members);
/* Skips what is left of the current member (checking its padding) and reads the next header.
 * Same results as fws_tar_next. */
fws_err fws_tar_stream_next(fws_tar_stream *s, fws_tar_header *out, fws_errbuf *eb) FWS_MUST_CHECK;
/* Reads up to cap bytes of the current member's data; *n is 0 at its end (its padding has then
 * been checked). */
fws_err fws_tar_stream_read(fws_tar_stream *s, uint8_t *buf, size_t cap, size_t *n,
                            fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- top-level fields of a canonical JSON record, without allocating ---------------------- */

/* Finds the value of top-level member key in a JSON object (no whitespace, as canonical JSON
 * writes it). For a string value *val points at its first byte after the quote and *len is its
 * raw (still escaped) length; for other values at the value's text. FWS_ERR_NOT_FOUND when the
 * object has no such member, FWS_ERR_FORMAT when the text is not such an object. */
fws_err fws_audit_json_field(const char *unverified, size_t len, const char *key, const char **val,
                             size_t *val_len, int *is_string) FWS_MUST_CHECK;

/* ---- the audit ------------------------------------------------------------------------------ */

typedef enum fws_audit_level {
    FWS_AUDIT_NOTE = 0, /* what was checked or skipped */
    FWS_AUDIT_WARN = 1, /* act soon: expiring certificates, stale attestation ... */
    FWS_AUDIT_RED = 2,  /* a red flag: integrity or provenance is broken */
} fws_audit_level;
const char *fws_audit_level_name(fws_audit_level l); /* "note", "warn", "red" */

#define FWS_AUDIT_CHECK_MAX 40
#define FWS_AUDIT_SUBJECT_MAX 160
#define FWS_AUDIT_DETAIL_MAX 320
#define FWS_AUDIT_KEEP_PER_CHECK 1000 /* findings kept in full per check; the rest are counted */

typedef struct fws_audit_finding {
    fws_audit_level level;
    char check[FWS_AUDIT_CHECK_MAX];     /* e.g. "unknown-firmware" */
    char subject[FWS_AUDIT_SUBJECT_MAX]; /* a device ID, a release "P/V", a file ... */
    char detail[FWS_AUDIT_DETAIL_MAX];
} fws_audit_finding;

/* Progress: phase name, units done of total (total 0 when unknown). Called from the auditing
 * thread only. */
typedef void (*fws_audit_progress_fn)(void *ctx, const char *phase, uint64_t done, uint64_t total);

typedef struct fws_audit_opts {
    const char *deploy;     /* the deployment directory; NULL with ledger_url alone */
    const char *ledger_url; /* a server's ledger over HTTP(S) (BASE/checkpoint, BASE/tile/...)
                               instead of DEPLOY/ledger; needs log_key. Without deploy only the
                               ledger phase runs. */
    const char *store; /* a --store argument (store.h); NULL: DEPLOY/fwseal.sqlite if present */
    const fws_note_vkey *log_key; /* pinned ledger key; NULL: the one DEPLOY/ledger claims */
    const fws_note_vkey *witnesses;
    size_t n_witnesses;
    size_t witness_threshold;
    const char *state_dir;  /* remembers the last audited checkpoint (fork detection); or NULL */
    unsigned expiry_days;   /* certificates expiring within this many days: 0 means 30 */
    unsigned attest_days;   /* attestation older than this: 0 means 30 */
    const char *baseline;   /* known-good firmware per model (JSON file) or NULL */
    const char *advisories; /* advisories naming releases (JSON file) or NULL */
    int64_t now;            /* seconds since the epoch */
    unsigned threads;       /* signature workers; 0: online processors */
    fws_audit_progress_fn progress;
    void *progress_ctx;
    const char *label; /* what the report names (e.g. a server URL); NULL: deploy or ledger_url */
} fws_audit_opts;

typedef struct fws_audit_report fws_audit_report;

/* Runs every check. Returns FWS_OK when the audit ran (whatever it found; see
 * fws_audit_report_count), an error only when it could not run at all (no ledger, I/O). */
fws_err fws_audit_run(const fws_audit_opts *o, fws_audit_report **out,
                      fws_errbuf *eb) FWS_MUST_CHECK;
void fws_audit_report_free(fws_audit_report *r); /* NULL is fine */

/* Findings at a level (every one, kept or only counted). */
uint64_t fws_audit_report_count(const fws_audit_report *r, fws_audit_level level);
/* Kept findings, in the order they were found. */
size_t fws_audit_report_findings(const fws_audit_report *r, const fws_audit_finding **out);

/* The report as JSON (new reference): summary, statistics, per-phase seconds, findings. */
fws_err fws_audit_report_json(const fws_audit_report *r, json_t **out) FWS_MUST_CHECK;
/* One self-contained HTML page with inline SVG charts (malloc'd, NUL-terminated). */
fws_err fws_audit_report_html(const fws_audit_report *r, char **html, size_t *len) FWS_MUST_CHECK;
/* A short terminal summary (malloc'd, NUL-terminated), findings grouped by check. */
fws_err fws_audit_report_text(const fws_audit_report *r, size_t max_lines, char **text,
                              size_t *len) FWS_MUST_CHECK;

/* ---- audit bundles ------------------------------------------------------------------------ */

#define FWS_AUDIT_BUNDLE_FORMAT "fwseal-audit-bundle/v1"
#define FWS_AUDIT_BUNDLE_MAX ((size_t)4 << 30) /* bytes of a bundle audit verify reads */

typedef struct fws_audit_export_opts {
    const char *deploy;
    const char *out; /* the bundle file (written atomically; refused when it exists) */
    int overwrite;
    int64_t now;
} fws_audit_export_opts;

typedef struct fws_audit_bundle_info {
    uint64_t tree_size;
    uint64_t members;
    uint64_t records;     /* ledger entries that are records */
    uint64_t releases;    /* release records */
    uint64_t devices;     /* provision records */
    uint64_t certs;       /* device certificates tied to provision records */
    uint64_t tuf_files;   /* TUF metadata files verified */
    uint64_t attachments; /* SBOMs and provenance envelopes tied to release records */
    uint64_t proofs;      /* tlog-proof files verified */
    size_t cosignatures;  /* witness cosignatures that verified */
    char origin[FWS_CHECKPOINT_ORIGIN_MAX + 1];
    char root_sha256[65]; /* SHA-256 of repo/metadata/1.root.json, "" when there is none */
} fws_audit_bundle_info;

fws_err fws_audit_export(const fws_audit_export_opts *o, fws_audit_bundle_info *info,
                         fws_errbuf *eb) FWS_MUST_CHECK;

typedef struct fws_audit_verify_opts {
    const fws_note_vkey *log_key; /* required */
    const fws_note_vkey *witnesses;
    size_t n_witnesses;
    size_t witness_threshold;
    const uint8_t *tuf_root; /* the TUF root the verifier trusts (bytes of a root.json), or NULL */
    size_t tuf_root_len;
} fws_audit_verify_opts;

/* Verifies a bundle held in memory. FWS_OK only when every member is present in the manifest,
 * has its digest, and is tied to the signed checkpoint or the signed TUF chain. */
fws_err fws_audit_verify(const uint8_t *unverified, size_t len, const fws_audit_verify_opts *o,
                         fws_audit_bundle_info *info, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- backups ----------------------------------------------------------------------------------
 */

#define FWS_BACKUP_FORMAT "fwseal-backup/v1"

typedef struct fws_backup_opts {
    const char *deploy;
    const char *out;
    int overwrite;
    int include_keys;         /* keys/ and the CA keys, sealed with pp */
    const fws_passphrase *pp; /* required with include_keys */
    const char *store;        /* --store argument; NULL: DEPLOY/fwseal.sqlite if present */
    int skip_store;           /* leave a PostgreSQL store to pg_dump */
    int64_t now;
    /* Deployment-relative paths left out (NULL-terminated list, or NULL): files that carry
     * credentials a snapshot for an auditor must not hold (the server leaves out alerts.json). */
    const char *const *exclude;
} fws_backup_opts;

typedef struct fws_backup_info {
    uint64_t members;
    uint64_t bytes;
    uint64_t tree_size;
    int store;     /* 1 when the store is in the backup */
    int inventory; /* 1 when the PKI inventory is */
    int keys;      /* 1 when keys are */
} fws_backup_info;

fws_err fws_backup_create(const fws_backup_opts *o, fws_backup_info *info,
                          fws_errbuf *eb) FWS_MUST_CHECK;

typedef struct fws_restore_opts {
    const char *backup;
    const char *dir;              /* must not exist (or be an empty directory) */
    const fws_passphrase *pp;     /* unseals the keys; NULL leaves them out */
    const fws_note_vkey *log_key; /* optional pin for the ledger re-verification */
} fws_restore_opts;

fws_err fws_backup_restore(const fws_restore_opts *o, fws_backup_info *info,
                           fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- audits of a running server --------------------------------------------------------------
 *
 * GET /api/v1/audit/snapshot (token roles admin and auditor) answers a backup of the deployment
 * without keys (application/x-tar). fws_audit_fetch_snapshot streams it to a file over HTTPS
 * with fwseal's HTTP client; fws_audit_remote fetches it into a private temporary directory,
 * restores it with fws_backup_restore (which refuses a corrupted or truncated archive and
 * re-verifies the ledger), runs fws_audit_run on the restored deployment and removes the
 * directory, whatever happened. docs/AUDIT.md, "A server".
 */

#define FWS_AUDIT_SNAPSHOT_PATH "/api/v1/audit/snapshot"
#define FWS_AUDIT_SNAPSHOT_MAX_DEFAULT ((uint64_t)64 << 30) /* bytes of a snapshot */
#define FWS_AUDIT_TOKEN_MAX 512                             /* bytes of an operator token */

typedef struct fws_audit_remote_opts {
    const char *server;    /* https://HOST[:PORT][/PREFIX]; the snapshot is at
                              PREFIX + FWS_AUDIT_SNAPSHOT_PATH */
    const char *token;     /* operator token (role auditor or admin), sent as "Authorization:
                              Bearer"; the copies made here are wiped, the caller wipes its own */
    const char *ca_file;   /* CA certificates (PEM) the server's certificate must chain to;
                              NULL: the system store */
    uint64_t max_snapshot; /* 0: FWS_AUDIT_SNAPSHOT_MAX_DEFAULT */
    const char *tmp_dir;   /* where the private temporary directory goes; NULL: $TMPDIR, /tmp */
    unsigned timeout_s;    /* the whole download; 0: 6 hours */
} fws_audit_remote_opts;

/* Downloads the server's snapshot into path (created mode 0600; it must not exist), streamed,
 * never held in memory. *size (optional) receives its length. Errors: FWS_ERR_ARG (not an
 * https URL, a bad token), FWS_ERR_PASSPHRASE ("the server refused the token: " and the
 * server's message, for 401 and 403), FWS_ERR_TOO_BIG (over max_snapshot), FWS_ERR_STATE
 * (another snapshot is being made: 429), FWS_ERR_UNSUPPORTED (501, e.g. a PostgreSQL store),
 * FWS_ERR_IO (DNS, connect, TLS, an early close, another status). On failure path is removed. */
fws_err fws_audit_fetch_snapshot(const fws_audit_remote_opts *ro, const char *path, uint64_t *size,
                                 fws_errbuf *eb) FWS_MUST_CHECK;

/* Fetches, restores and audits (o: every option of fws_audit_run but deploy, store and
 * ledger_url, which must be NULL; log_key pins the ledger key for the restore too). The report
 * names ro->server (o->label when set) instead of the temporary directory. A snapshot that
 * does not restore is FWS_ERR_FORMAT; nothing is left in the temporary directory. */
fws_err fws_audit_remote(const fws_audit_remote_opts *ro, const fws_audit_opts *o,
                         fws_audit_report **out, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- mirrors ----------------------------------------------------------------------------------
 */

typedef struct fws_mirror_result {
    uint64_t old_size, new_size;
    uint64_t fetched; /* tiles and bundles fetched */
    int first_sight;
} fws_mirror_result;

/* Pulls the log behind src into dir (a C2SP tlog-tiles directory any static server can serve):
 * the remote checkpoint must verify with log_key (and the witnesses), extend the mirror's
 * checkpoint (a consistency proof from the remote tiles; FWS_ERR_INCONSISTENT for a fork,
 * FWS_ERR_ROLLBACK for a smaller tree), and the mirrored tiles must recompute to its root. The
 * mirror's checkpoint is replaced only then; on any failure the mirror keeps its last good
 * state and fetched files are removed. */
struct fws_tile_source;
fws_err fws_mirror_pull(const struct fws_tile_source *src, const fws_note_vkey *log_key,
                        const fws_note_vkey *witnesses, size_t n_witnesses, size_t threshold,
                        const char *dir, fws_mirror_result *res, fws_errbuf *eb) FWS_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
