/* The server's storage: one interface, two engines.
 *
 *   SQLite      (the default) a file in the deployment directory, DEPLOY/fwseal.sqlite: WAL mode,
 *               synchronous=FULL, a 10 s busy timeout; no setup.
 *   PostgreSQL  (scale-out) a postgres:// or postgresql:// URL, through libpq; several
 *               `fwseal serve` processes may share one database.
 *
 * Both engines behave the same: the same tables (docs/STORE.md), the same validation, the same
 * error codes, the same ordering of lists. Every statement is prepared and parameterised.
 *
 * Threads: a handle is one database connection and must be used by one thread at a time. Open
 * one handle per thread (per event loop); handles of one process or of many processes may work
 * on the same database at once.
 *
 * Strings in structs are fixed arrays that must be NUL-terminated within the array; a string
 * that fills its array without a NUL is "too long" (FWS_ERR_ARG). String parameters are checked
 * against the same caps. Times are seconds since the epoch chosen by the caller, never negative;
 * 0 means "never". Out-parameters are written only on success.
 *
 * List functions call a callback for each row, in a fixed order; the callback must not use the
 * same handle, and a callback that returns an error stops the listing and that error is
 * returned. Pointers passed to a callback are valid only during the call.
 */
#ifndef FWSEAL_STORE_H
#define FWSEAL_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FWS_STORE_SCHEMA_VERSION 3 /* the schema this build writes; open() migrates up to it */

#define FWS_STORE_ID_MAX 64                  /* device ID: [A-Za-z0-9._:-] */
#define FWS_STORE_NAME_MAX 64                /* model, region, group, environment, product, kind */
#define FWS_STORE_VERSION_MAX 64             /* release version: [A-Za-z0-9.+_~-] */
#define FWS_STORE_TARGET_MAX 255             /* TUF target path */
#define FWS_STORE_LABEL_MAX 64               /* token name, audit actor: printable UTF-8 */
#define FWS_STORE_SUBJECT_MAX 255            /* alert subject, audit target: printable UTF-8 */
#define FWS_STORE_TEXT_MAX 1024              /* alert message, audit detail: printable UTF-8 */
#define FWS_STORE_REPORT_MAX (256u * 1024u)  /* one report body */
#define FWS_STORE_SELECTOR_MAX (64u * 1024u) /* one rollout selector (canonical JSON) */
#define FWS_STORE_SELECTOR_LIST_MAX 4096     /* names or device IDs in one selector list */
#define FWS_STORE_MAX_STAGES 16              /* stages in one rollout */
#define FWS_STORE_LIST_MAX 10000             /* rows in one list call */
#define FWS_STORE_REPORT_LIST_MAX 128        /* reports (with bodies) in one list call */
#define FWS_STORE_LEADER_NAME_MAX 32         /* leader name: [a-z0-9_-] */
#define FWS_STORE_LEADERS 8                  /* leader names one handle may hold */
#define FWS_STORE_PATH_MAX 4096              /* SQLite path or PostgreSQL URL */

/* An operator token: "fwst_" and 64 lowercase hex digits (256 random bits), and a NUL. */
#define FWS_STORE_TOKEN_PREFIX "fwst_"
#define FWS_STORE_TOKEN_SIZE 70

typedef struct fws_store fws_store;

/* ---- enumerations (stored by name; *_name returns NULL for an unknown value) ------------- */

typedef enum fws_store_role {
    FWS_STORE_ROLE_ADMIN = 1, /* "admin" */
    FWS_STORE_ROLE_RELEASE,   /* "release" */
    FWS_STORE_ROLE_FACTORY,   /* "factory" */
    FWS_STORE_ROLE_AUDITOR,   /* "auditor" */
} fws_store_role;

typedef enum fws_store_device_status {
    FWS_STORE_DEV_PROVISIONED = 1, /* "provisioned" */
    FWS_STORE_DEV_ACTIVE,          /* "active" */
    FWS_STORE_DEV_QUARANTINED,     /* "quarantined" */
    FWS_STORE_DEV_REVOKED,         /* "revoked" */
    FWS_STORE_DEV_DECOMMISSIONED,  /* "decommissioned" */
} fws_store_device_status;

typedef enum fws_store_attest {
    FWS_STORE_ATTEST_NONE = 1, /* "none": never attested */
    FWS_STORE_ATTEST_PASS,     /* "pass" */
    FWS_STORE_ATTEST_FAIL,     /* "fail" */
} fws_store_attest;

typedef enum fws_store_rollout_state {
    FWS_STORE_ROLLOUT_PENDING = 1, /* "pending" */
    FWS_STORE_ROLLOUT_RUNNING,     /* "running" */
    FWS_STORE_ROLLOUT_PAUSED,      /* "paused" */
    FWS_STORE_ROLLOUT_COMPLETED,   /* "completed" */
    FWS_STORE_ROLLOUT_CANCELLED,   /* "cancelled" */
} fws_store_rollout_state;

typedef enum fws_store_outcome {
    FWS_STORE_OUTCOME_PENDING = 1, /* "pending" */
    FWS_STORE_OUTCOME_SUCCEEDED,   /* "succeeded" */
    FWS_STORE_OUTCOME_FAILED,      /* "failed" */
} fws_store_outcome;

typedef enum fws_store_report_kind {
    FWS_STORE_REPORT_INSTALL = 1,    /* "install" */
    FWS_STORE_REPORT_ROLLBACK,       /* "rollback" */
    FWS_STORE_REPORT_VERIFY_FAILURE, /* "verification-failure" */
    FWS_STORE_REPORT_ATTESTATION,    /* "attestation" */
} fws_store_report_kind;

const char *fws_store_role_name(fws_store_role v);
const char *fws_store_device_status_name(fws_store_device_status v);
const char *fws_store_attest_name(fws_store_attest v);
const char *fws_store_rollout_state_name(fws_store_rollout_state v);
const char *fws_store_outcome_name(fws_store_outcome v);
const char *fws_store_report_kind_name(fws_store_report_kind v);
/* FWS_ERR_ARG naming the unknown string. */
fws_err fws_store_role_parse(const char *s, fws_store_role *out, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_store_device_status_parse(const char *s, fws_store_device_status *out,
                                      fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_store_attest_parse(const char *s, fws_store_attest *out, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_store_rollout_state_parse(const char *s, fws_store_rollout_state *out,
                                      fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_store_outcome_parse(const char *s, fws_store_outcome *out,
                                fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_store_report_kind_parse(const char *s, fws_store_report_kind *out,
                                    fws_errbuf *eb) FWS_MUST_CHECK;

/* The transition tables (a status may always be "changed" to itself).
 * Devices: provisioned -> active, quarantined, revoked, decommissioned; active -> quarantined,
 * revoked, decommissioned; quarantined -> active, revoked, decommissioned; revoked ->
 * decommissioned; decommissioned is final.
 * Rollouts: pending -> running, cancelled; running -> paused, completed, cancelled; paused ->
 * running, cancelled; completed and cancelled are final. */
int fws_store_device_transition_ok(fws_store_device_status from, fws_store_device_status to);
int fws_store_rollout_transition_ok(fws_store_rollout_state from, fws_store_rollout_state to);

/* ---- opening, schema, transactions ------------------------------------------------------- */

/* Picks the store from a --store argument: NULL or "sqlite" gives DEPLOY/fwseal.sqlite,
 * "sqlite:PATH" gives PATH, a postgres:// or postgresql:// URL is kept, anything else is a
 * SQLite path. FWS_ERR_ARG when the result does not fit cap or deploy is needed but NULL. */
fws_err fws_store_resolve(const char *arg, const char *deploy, char *out, size_t cap,
                          fws_errbuf *eb) FWS_MUST_CHECK;

/* Opens a store: a postgres:// or postgresql:// URL (PostgreSQL) or a SQLite path (optionally
 * "sqlite:PATH"; the file is created mode 0600 when missing, its directory must exist). Migrates
 * the schema forward to FWS_STORE_SCHEMA_VERSION in one transaction (concurrent openers wait for
 * each other); FWS_ERR_UNSUPPORTED when the database holds a newer schema. FWS_ERR_IO when the
 * database cannot be reached. Error messages never include a URL's password. */
fws_err fws_store_open(const char *url_or_path, fws_store **out, fws_errbuf *eb) FWS_MUST_CHECK;

/* Closes the handle: rolls back an open transaction and gives up any leadership. NULL is ok. */
void fws_store_close(fws_store *s);

/* "sqlite" or "postgres". */
const char *fws_store_engine(const fws_store *s);

/* The schema version recorded in the database (FWS_STORE_SCHEMA_VERSION after open). */
fws_err fws_store_schema_version(fws_store *s, int *out, fws_errbuf *eb) FWS_MUST_CHECK;

/* One transaction per handle at a time (FWS_ERR_STATE when nested or when none is open). On
 * SQLite begin takes the write lock at once (BEGIN IMMEDIATE), waiting up to the busy timeout;
 * on PostgreSQL the isolation is READ COMMITTED and counters are updated atomically in place.
 * Inside a transaction every store function is part of it and runs under a savepoint: a
 * function that fails leaves no partial change and the transaction goes on. Only a failure of
 * the transaction machinery itself (a lost connection) dooms it: commit then rolls back and
 * returns FWS_ERR_STATE. Functions called outside a transaction are atomic on their own.
 * rollback never fails. */
fws_err fws_store_begin(fws_store *s, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_store_commit(fws_store *s, fws_errbuf *eb) FWS_MUST_CHECK;
void fws_store_rollback(fws_store *s);

/* ---- leader election --------------------------------------------------------------------- */

/* Tries to become (or checks that this handle still is) the leader for name, without waiting:
 * *is_leader is 1 when this handle holds it. PostgreSQL: a session advisory lock on the handle's
 * connection (per database); SQLite: an exclusive flock on DBPATH-leader-NAME.lock. Either way
 * leadership ends when the handle is closed, the connection drops or the process dies; call
 * this again before each batch of leader work. FWS_ERR_ARG for a bad name or when the handle
 * already holds FWS_STORE_LEADERS other names. */
fws_err fws_store_leader_try(fws_store *s, const char *name, int *is_leader,
                             fws_errbuf *eb) FWS_MUST_CHECK;
/* Gives leadership up (nothing happens when not held). */
void fws_store_leader_release(fws_store *s, const char *name);

/* ---- operator tokens --------------------------------------------------------------------- */

typedef struct fws_store_token {
    int64_t id;
    char name[FWS_STORE_LABEL_MAX + 1]; /* who it was issued to */
    fws_store_role role;
    uint8_t sha256[32]; /* SHA-256 of the token string; the token itself is never stored */
    int64_t created_at;
    int64_t expires_at; /* 0: never */
    int64_t revoked_at; /* 0: not revoked */
} fws_store_token;

/* Creates a token with 256 random bits: writes the token string to token (print it once, then
 * wipe it) and the stored record to out (optional). */
fws_err fws_store_token_create(fws_store *s, const char *name, fws_store_role role, int64_t now,
                               int64_t expires_at, char token[FWS_STORE_TOKEN_SIZE],
                               fws_store_token *out, fws_errbuf *eb) FWS_MUST_CHECK;

/* Authenticates a presented token: hashes it, fetches the record by hash and compares the hash
 * with fws_ct_eq. FWS_ERR_FORMAT when it is not a token string, FWS_ERR_NOT_FOUND when unknown,
 * FWS_ERR_STATE when revoked, FWS_ERR_EXPIRED when expires_at <= now. */
fws_err fws_store_token_auth(fws_store *s, const char *unverified_token, int64_t now,
                             fws_store_token *out, fws_errbuf *eb) FWS_MUST_CHECK;

/* By SHA-256 of the token string (revoked or expired tokens included). FWS_ERR_NOT_FOUND. */
fws_err fws_store_token_find(fws_store *s, const uint8_t sha256[32], fws_store_token *out,
                             fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_store_token_get(fws_store *s, int64_t id, fws_store_token *out,
                            fws_errbuf *eb) FWS_MUST_CHECK;

/* Revokes (idempotent: a revoked token keeps its first revocation time). FWS_ERR_NOT_FOUND. */
fws_err fws_store_token_revoke(fws_store *s, int64_t id, int64_t now,
                               fws_errbuf *eb) FWS_MUST_CHECK;

/* Pagination over integer IDs: ascending, IDs above after (0: from the first); or, with
 * newest_first, descending, IDs below after (0: from the newest). limit: 1..FWS_STORE_LIST_MAX. */
typedef struct fws_store_page {
    int64_t after;
    size_t limit;
    int newest_first;
} fws_store_page;

typedef fws_err (*fws_store_token_fn)(void *ctx, const fws_store_token *t);
fws_err fws_store_token_list(fws_store *s, int include_revoked, const fws_store_page *page,
                             fws_store_token_fn fn, void *ctx, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- devices ----------------------------------------------------------------------------- */

typedef struct fws_store_device {
    char id[FWS_STORE_ID_MAX + 1];
    char environment[FWS_STORE_NAME_MAX + 1]; /* required, e.g. "prod" */
    char model[FWS_STORE_NAME_MAX + 1];       /* required */
    char region[FWS_STORE_NAME_MAX + 1];      /* may be empty */
    char group[FWS_STORE_NAME_MAX + 1];       /* may be empty */
    fws_store_device_status status;
    char installed_version[FWS_STORE_VERSION_MAX + 1]; /* empty: unknown */
    uint8_t installed_sha256[32];                      /* all zero: unknown */
    int64_t last_seen;
    int64_t last_report;
    uint64_t seq; /* assignment sequence; changed only by fws_store_device_next_seq */
    int64_t attested_at;
    fws_store_attest attest_result;
    int64_t created_at;
    int64_t updated_at;
} fws_store_device;

/* Inserts a new device with every field given (seq starts at 0; an attest_result of 0 means
 * none), or updates an existing one's environment, model, region, group and status (through the
 * transition table: FWS_ERR_STATE for a forbidden change) and sets updated_at. The installed,
 * last-seen, report and attestation fields of an existing device change only through their own
 * functions below, so concurrent report handling never loses an update. *created (optional)
 * receives 1 when the device was inserted. */
fws_err fws_store_device_put(fws_store *s, const fws_store_device *d, int *created,
                             fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_store_device_get(fws_store *s, const char *id, fws_store_device *out,
                             fws_errbuf *eb) FWS_MUST_CHECK;
/* FWS_ERR_NOT_FOUND, or FWS_ERR_STATE for a transition the table forbids. */
fws_err fws_store_device_set_status(fws_store *s, const char *id, fws_store_device_status status,
                                    int64_t now, fws_errbuf *eb) FWS_MUST_CHECK;
/* last_seen only moves forward. */
fws_err fws_store_device_seen(fws_store *s, const char *id, int64_t now,
                              fws_errbuf *eb) FWS_MUST_CHECK;
/* Records what the device runs (as of report_time; last_report only moves forward). */
fws_err fws_store_device_set_installed(fws_store *s, const char *id, const char *version,
                                       const uint8_t sha256[32], int64_t report_time,
                                       fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_store_device_set_attestation(fws_store *s, const char *id, int64_t when,
                                         fws_store_attest result, fws_errbuf *eb) FWS_MUST_CHECK;
/* Atomically increments the device's assignment sequence number and returns the new value:
 * every call on any handle gets a distinct, larger number. FWS_ERR_NOT_FOUND. */
fws_err fws_store_device_next_seq(fws_store *s, const char *id, uint64_t *seq,
                                  fws_errbuf *eb) FWS_MUST_CHECK;

typedef struct fws_store_device_filter {
    const char *environment, *model, *region, *group; /* NULL or "": any */
    fws_store_device_status status;                   /* 0: any */
    const char *after_id; /* NULL or "": from the first; devices come in ID byte order */
    size_t limit;         /* 1..FWS_STORE_LIST_MAX (ignored by count) */
} fws_store_device_filter;

typedef fws_err (*fws_store_device_fn)(void *ctx, const fws_store_device *d);
fws_err fws_store_device_list(fws_store *s, const fws_store_device_filter *f,
                              fws_store_device_fn fn, void *ctx, fws_errbuf *eb) FWS_MUST_CHECK;
/* Devices matching the filter (after_id and limit ignored). */
fws_err fws_store_device_count(fws_store *s, const fws_store_device_filter *f, uint64_t *count,
                               fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- releases ---------------------------------------------------------------------------- */

typedef struct fws_store_release {
    int64_t id;
    char product[FWS_STORE_NAME_MAX + 1];
    char version[FWS_STORE_VERSION_MAX + 1];
    char target[FWS_STORE_TARGET_MAX + 1]; /* TUF target path */
    uint64_t security_counter;             /* at most INT64_MAX */
    uint8_t sha256[32];
    uint64_t size; /* at most INT64_MAX */
    int64_t created_at;
    int64_t quarantine_until; /* 0: not quarantined */
    int recovery;             /* 0 or 1 */
    int revoked;              /* 0 or 1 */
} fws_store_release;

/* Adds a release (r->id is ignored; *id receives the new one). FWS_ERR_EXISTS when the target
 * name or the (product, version) pair is already known. */
fws_err fws_store_release_add(fws_store *s, const fws_store_release *r, int64_t *id,
                              fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_store_release_get(fws_store *s, int64_t id, fws_store_release *out,
                              fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_store_release_find(fws_store *s, const char *target, fws_store_release *out,
                               fws_errbuf *eb) FWS_MUST_CHECK;
/* Marks revoked (idempotent). FWS_ERR_NOT_FOUND. */
fws_err fws_store_release_revoke(fws_store *s, int64_t id, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_store_release_set_quarantine(fws_store *s, int64_t id, int64_t until,
                                         fws_errbuf *eb) FWS_MUST_CHECK;
typedef fws_err (*fws_store_release_fn)(void *ctx, const fws_store_release *r);
/* product NULL or "": every product. */
fws_err fws_store_release_list(fws_store *s, const char *product, const fws_store_page *page,
                               fws_store_release_fn fn, void *ctx, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- rollouts ---------------------------------------------------------------------------- */

typedef struct fws_store_rollout_stage {
    uint32_t percent; /* of the selected fleet, 1..100, strictly increasing across stages */
    uint32_t assigned, succeeded, failed;
} fws_store_rollout_stage;

typedef struct fws_store_rollout {
    int64_t id;
    int64_t release_id;
    fws_store_rollout_state state;
    uint32_t n_stages; /* 1..FWS_STORE_MAX_STAGES */
    uint32_t current_stage;
    fws_store_rollout_stage stages[FWS_STORE_MAX_STAGES];
    uint32_t success_threshold; /* percent of a stage that must succeed to advance, 0..100 */
    uint32_t failure_threshold; /* percent of a stage failing that stops the rollout, 0..100 */
    int64_t created_at;
    int64_t updated_at;
} fws_store_rollout;

/* Creates a pending rollout at stage 0 with zeroed counters from release_id, n_stages,
 * stages[].percent, the thresholds and created_at (other fields are ignored). The selector is
 * a JSON object with optional arrays "models", "regions", "groups" (names) and "devices"
 * (device IDs), nothing else; it is stored in canonical form. FWS_ERR_NOT_FOUND for an unknown
 * release, FWS_ERR_STATE for a revoked one, FWS_ERR_FORMAT/FWS_ERR_SCHEMA/FWS_ERR_TOO_BIG for a
 * bad selector. */
fws_err fws_store_rollout_create(fws_store *s, const fws_store_rollout *r, const char *selector,
                                 int64_t *id, fws_errbuf *eb) FWS_MUST_CHECK;
/* selector (optional) receives the canonical selector, malloc'd, for free(). */
fws_err fws_store_rollout_get(fws_store *s, int64_t id, fws_store_rollout *out, char **selector,
                              fws_errbuf *eb) FWS_MUST_CHECK;
/* Changes state through the transition table: FWS_ERR_STATE when forbidden (or when another
 * handle changed it first), FWS_ERR_NOT_FOUND. */
fws_err fws_store_rollout_set_state(fws_store *s, int64_t id, fws_store_rollout_state state,
                                    int64_t now, fws_errbuf *eb) FWS_MUST_CHECK;
/* Moves a running rollout from stage `from` to from + 1 (compare-and-set: FWS_ERR_STATE when the
 * rollout is not running, not at `from`, or already at its last stage). */
fws_err fws_store_rollout_advance(fws_store *s, int64_t id, uint32_t from, int64_t now,
                                  fws_errbuf *eb) FWS_MUST_CHECK;
typedef fws_err (*fws_store_rollout_fn)(void *ctx, const fws_store_rollout *r);
/* state 0: every state. */
fws_err fws_store_rollout_list(fws_store *s, fws_store_rollout_state state,
                               const fws_store_page *page, fws_store_rollout_fn fn, void *ctx,
                               fws_errbuf *eb) FWS_MUST_CHECK;

typedef struct fws_store_member {
    int64_t rollout_id;
    char device_id[FWS_STORE_ID_MAX + 1];
    uint32_t stage;
    uint64_t assign_seq; /* the device's sequence number taken at assignment */
    fws_store_outcome outcome;
    int64_t assigned_at;
    int64_t updated_at;
} fws_store_member;

/* Puts a device in a running rollout at a stage <= the current one, in one transaction: takes
 * the device's next sequence number, records the membership (pending) and counts it in the
 * stage. FWS_ERR_NOT_FOUND (rollout or device), FWS_ERR_STATE (rollout not running, or device
 * quarantined, revoked or decommissioned), FWS_ERR_ARG (stage ahead of the rollout),
 * FWS_ERR_EXISTS (already a member). out is optional. */
fws_err fws_store_rollout_assign(fws_store *s, int64_t rollout_id, const char *device_id,
                                 uint32_t stage, int64_t now, fws_store_member *out,
                                 fws_errbuf *eb) FWS_MUST_CHECK;
/* Records a member's outcome (succeeded or failed) once and counts it in its stage; repeating
 * the same outcome is a no-op, a different one is FWS_ERR_STATE. FWS_ERR_NOT_FOUND. */
fws_err fws_store_rollout_outcome(fws_store *s, int64_t rollout_id, const char *device_id,
                                  fws_store_outcome outcome, int64_t now,
                                  fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_store_member_get(fws_store *s, int64_t rollout_id, const char *device_id,
                             fws_store_member *out, fws_errbuf *eb) FWS_MUST_CHECK;
typedef fws_err (*fws_store_member_fn)(void *ctx, const fws_store_member *m);
/* Members of a rollout in device ID order, after after_device (NULL or "": from the first). */
fws_err fws_store_member_list(fws_store *s, int64_t rollout_id, const char *after_device,
                              size_t limit, fws_store_member_fn fn, void *ctx,
                              fws_errbuf *eb) FWS_MUST_CHECK;
/* A device's memberships, latest assignment first. */
fws_err fws_store_device_rollouts(fws_store *s, const char *device_id, size_t limit,
                                  fws_store_member_fn fn, void *ctx, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- device reports ---------------------------------------------------------------------- */

typedef struct fws_store_report {
    int64_t id;
    char device_id[FWS_STORE_ID_MAX + 1];
    fws_store_report_kind kind;
    uint8_t body_sha256[32];
    int64_t received_at;
    int64_t ledger_index; /* -1 until sequenced */
} fws_store_report;

/* Accepts a report body (1..FWS_STORE_REPORT_MAX bytes) from a known device, idempotently by the
 * body's SHA-256: a body already stored gives its existing ID and *created = 0 (optional out);
 * the same body recorded for another device or kind is FWS_ERR_EXISTS. A new report also moves
 * the device's last_report forward. FWS_ERR_NOT_FOUND for an unknown device. */
fws_err fws_store_report_add(fws_store *s, const char *device_id, fws_store_report_kind kind,
                             const uint8_t *body, size_t body_len, int64_t received_at, int64_t *id,
                             int *created, fws_errbuf *eb) FWS_MUST_CHECK;
/* body (optional) receives a malloc'd copy for free(). */
fws_err fws_store_report_get(fws_store *s, int64_t id, fws_store_report *out, uint8_t **body,
                             size_t *body_len, fws_errbuf *eb) FWS_MUST_CHECK;
/* Records where the sequencer put the report in the ledger (>= 0): once; setting the same index
 * again is a no-op, another index FWS_ERR_STATE, an index already used FWS_ERR_EXISTS. */
fws_err fws_store_report_sequenced(fws_store *s, int64_t id, int64_t ledger_index,
                                   fws_errbuf *eb) FWS_MUST_CHECK;
typedef fws_err (*fws_store_report_fn)(void *ctx, const fws_store_report *r, const uint8_t *body,
                                       size_t body_len);
/* The two report lists pass bodies, so their limit is 1..FWS_STORE_REPORT_LIST_MAX (a page of
 * reports holds at most 32 MiB of bodies). Reports not yet in the ledger, oldest first
 * (ascending IDs above after_id): */
fws_err fws_store_report_unsequenced(fws_store *s, int64_t after_id, size_t limit,
                                     fws_store_report_fn fn, void *ctx,
                                     fws_errbuf *eb) FWS_MUST_CHECK;
/* One device's reports, by page. */
fws_err fws_store_report_list(fws_store *s, const char *device_id, const fws_store_page *page,
                              fws_store_report_fn fn, void *ctx, fws_errbuf *eb) FWS_MUST_CHECK;
/* The reports of many devices in one pass, ordered by device ID then report ID (the order of
 * the device list): those after the cursor (after_device, after_id) whose device ID is at most
 * last_device. Start a range of devices with (the ID before it, INT64_MAX), or ("", INT64_MAX)
 * for the first; resume with the last report passed. */
fws_err fws_store_report_range(fws_store *s, const char *after_device, int64_t after_id,
                               const char *last_device, size_t limit, fws_store_report_fn fn,
                               void *ctx, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- alerts ------------------------------------------------------------------------------ */

typedef struct fws_store_alert {
    int64_t id;
    char kind[FWS_STORE_NAME_MAX + 1];       /* e.g. "rollout-failure-threshold" */
    char subject[FWS_STORE_SUBJECT_MAX + 1]; /* what it is about, e.g. a device or rollout */
    char message[FWS_STORE_TEXT_MAX + 1];
    int64_t time;
    int64_t acked_at; /* 0: not acknowledged */
    int64_t acked_by; /* token ID, 0 when acknowledged without a token */
} fws_store_alert;

fws_err fws_store_alert_add(fws_store *s, const fws_store_alert *a, int64_t *id,
                            fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_store_alert_get(fws_store *s, int64_t id, fws_store_alert *out,
                            fws_errbuf *eb) FWS_MUST_CHECK;
/* Idempotent: the first acknowledgement is kept. FWS_ERR_NOT_FOUND. */
fws_err fws_store_alert_ack(fws_store *s, int64_t id, int64_t token_id, int64_t now,
                            fws_errbuf *eb) FWS_MUST_CHECK;
typedef fws_err (*fws_store_alert_fn)(void *ctx, const fws_store_alert *a);
fws_err fws_store_alert_list(fws_store *s, int unacked_only, const fws_store_page *page,
                             fws_store_alert_fn fn, void *ctx, fws_errbuf *eb) FWS_MUST_CHECK;
/* Delivery to the webhook or command: alerts not yet delivered (nor given up), oldest first,
 * IDs above after_id; and the mark, once: `when` is the delivery time, or -1 for an alert
 * given up on (FWS_ERR_NOT_FOUND for an unknown ID; marking again is a no-op). */
fws_err fws_store_alert_undelivered(fws_store *s, int64_t after_id, size_t limit,
                                    fws_store_alert_fn fn, void *ctx,
                                    fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_store_alert_delivered(fws_store *s, int64_t id, int64_t when,
                                  fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- audit trail ------------------------------------------------------------------------- */

typedef struct fws_store_audit {
    int64_t id;
    int64_t token_id;                       /* 0: a local operator without a token */
    char actor[FWS_STORE_LABEL_MAX + 1];    /* the token's name or the local user */
    char action[FWS_STORE_NAME_MAX + 1];    /* e.g. "rollout.start" */
    char target[FWS_STORE_SUBJECT_MAX + 1]; /* what it acted on */
    char detail[FWS_STORE_TEXT_MAX + 1];    /* may be empty */
    int64_t time;
} fws_store_audit;

/* Appends an entry (a->id is ignored). The trail is append-only: there is no update or delete. */
fws_err fws_store_audit_add(fws_store *s, const fws_store_audit *a, int64_t *id,
                            fws_errbuf *eb) FWS_MUST_CHECK;
typedef fws_err (*fws_store_audit_fn)(void *ctx, const fws_store_audit *a);
fws_err fws_store_audit_list(fws_store *s, const fws_store_page *page, fws_store_audit_fn fn,
                             void *ctx, fws_errbuf *eb) FWS_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
