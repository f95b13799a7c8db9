/* Internals of the store: the engine interface both back ends implement, the statement table
 * written once for both, argument and row helpers, and validation. Internal to src/store. */
#ifndef FWSEAL_STORE_INTERNAL_H
#define FWSEAL_STORE_INTERNAL_H

#include <stdint.h>
#include <string.h>
#include "fwseal/store.h"

/* ---- statements ---------------------------------------------------------------------------
 * Written once, with PostgreSQL's $1..$n placeholders; the SQLite engine rewrites them to
 * ?1..?n when it prepares. Only syntax both engines share: ON CONFLICT, RETURNING, CAST,
 * CASE, partial indexes. Integer parameters outside a column comparison are CAST to BIGINT so
 * PostgreSQL infers a 64-bit type. */
enum {
    ST_VERSION_GET,
    ST_VERSION_PUT,
    ST_TOKEN_INSERT,
    ST_TOKEN_BY_HASH,
    ST_TOKEN_BY_ID,
    ST_TOKEN_LIST,
    ST_TOKEN_LIST_DESC,
    ST_TOKEN_REVOKE,
    ST_DEVICE_INSERT,
    ST_DEVICE_GET,
    ST_DEVICE_UPDATE,
    ST_DEVICE_STATUS,
    ST_DEVICE_SET_STATUS,
    ST_DEVICE_SEEN,
    ST_DEVICE_INSTALLED,
    ST_DEVICE_REPORTED,
    ST_DEVICE_ATTESTED,
    ST_DEVICE_NEXT_SEQ,
    ST_DEVICE_LIST,
    ST_DEVICE_COUNT,
    ST_RELEASE_INSERT,
    ST_RELEASE_GET,
    ST_RELEASE_FIND,
    ST_RELEASE_REVOKE,
    ST_RELEASE_QUARANTINE,
    ST_RELEASE_LIST,
    ST_RELEASE_LIST_DESC,
    ST_ROLLOUT_INSERT,
    ST_STAGE_INSERT,
    ST_ROLLOUT_GET,
    ST_ROLLOUT_STAGES,
    ST_ROLLOUT_SET_STATE,
    ST_ROLLOUT_ADVANCE,
    ST_ROLLOUT_LIST,
    ST_ROLLOUT_LIST_DESC,
    ST_STAGE_ASSIGNED,
    ST_STAGE_SUCCEEDED,
    ST_STAGE_FAILED,
    ST_MEMBER_INSERT,
    ST_MEMBER_GET,
    ST_MEMBER_OUTCOME,
    ST_MEMBER_LIST,
    ST_MEMBER_BY_DEVICE,
    ST_REPORT_INSERT,
    ST_REPORT_BY_DIGEST,
    ST_REPORT_GET,
    ST_REPORT_SEQUENCE,
    ST_REPORT_UNSEQUENCED,
    ST_REPORT_LIST,
    ST_REPORT_LIST_DESC,
    ST_REPORT_RANGE,
    ST_ALERT_INSERT,
    ST_ALERT_GET,
    ST_ALERT_ACK,
    ST_ALERT_LIST,
    ST_ALERT_LIST_DESC,
    ST_ALERT_UNDELIVERED,
    ST_ALERT_DELIVERED,
    ST_AUDIT_INSERT,
    ST_AUDIT_LIST,
    ST_AUDIT_LIST_DESC,
    ST__COUNT
};

extern const char *const store_sql[ST__COUNT];

/* ---- arguments and rows ------------------------------------------------------------------ */

enum { ARG_NULL, ARG_INT, ARG_TEXT, ARG_BLOB };

typedef struct store_arg {
    int type;
    int64_t i;
    const void *p; /* text: NUL-terminated; blob: len bytes */
    size_t len;
} store_arg;

#define ARG_I(v) ((store_arg){ARG_INT, (int64_t)(v), NULL, 0})
#define ARG_T(s) ((store_arg){ARG_TEXT, 0, (s), strlen(s)})
#define ARG_B(b, n) ((store_arg){ARG_BLOB, 0, (b), (n)})
#define STORE_MAX_ARGS 20

typedef struct store_engine store_engine;

/* One result row, valid during a row callback. */
typedef struct store_row {
    const store_engine *eng;
    void *impl;
    int index;
} store_row;

typedef fws_err (*store_row_fn)(void *ctx, const store_row *row, fws_errbuf *eb);

/* ---- engines ----------------------------------------------------------------------------- */

typedef struct store_leader {
    char name[FWS_STORE_LEADER_NAME_MAX + 1]; /* "" when the slot is free */
    int fd;                                   /* SQLite: the lock file, -1 when closed */
    int64_t key;                              /* PostgreSQL: the advisory lock key */
} store_leader;

struct store_engine {
    const char *name;
    fws_err (*open)(fws_store *s, const char *target, fws_errbuf *eb);
    void (*close)(fws_store *s);
    /* Statements without parameters (DDL, transaction control); several separated by ';'. */
    fws_err (*script)(fws_store *s, const char *sql, fws_errbuf *eb);
    /* Runs statement st; fn (optional) sees each row; *changes (optional) receives the rows
     * changed. Constraint violations: FWS_ERR_EXISTS (unique), FWS_ERR_NOT_FOUND (foreign
     * key), FWS_ERR_ARG (check); anything else FWS_ERR_IO. */
    fws_err (*run)(fws_store *s, int st, const store_arg *args, int n, store_row_fn fn, void *ctx,
                   int64_t *changes, fws_errbuf *eb);
    int (*is_null)(const store_row *r, int col);
    int64_t (*col_int)(const store_row *r, int col);
    const char *(*col_text)(const store_row *r, int col); /* "" for NULL */
    /* A malloc'd copy of a blob column; FWS_ERR_SCHEMA past max bytes. */
    fws_err (*col_blob)(const store_row *r, int col, size_t max, uint8_t **out, size_t *len,
                        fws_errbuf *eb);
    const char *begin_sql;
    /* Serialises migrations between processes, inside the migration transaction. */
    fws_err (*migration_lock)(fws_store *s, fws_errbuf *eb);
    const char *(*migration)(int version);
    /* Tries to take l (filled with name); *got 1 when taken. */
    fws_err (*leader_lock)(fws_store *s, store_leader *l, int *got, fws_errbuf *eb);
    /* Confirms that a held l is still held (the connection is alive). */
    fws_err (*leader_check)(fws_store *s, store_leader *l, int *held, fws_errbuf *eb);
    void (*leader_unlock)(fws_store *s, store_leader *l);
};

extern const store_engine store_sqlite_engine;
extern const store_engine store_pg_engine;

/* The DDL of one migration step (schema.c), NULL past the last. */
const char *store_sqlite_migration(int version);
const char *store_pg_migration(int version);

struct fws_store {
    const store_engine *eng;
    void *impl;
    int in_tx;     /* a caller's transaction is open */
    int tx_failed; /* a database error happened inside it */
    int op_depth;  /* nesting of internal operation transactions */
    store_leader leaders[FWS_STORE_LEADERS];
    char where[FWS_STORE_PATH_MAX + 64]; /* for messages: a path or "postgres HOST:PORT/DB" */
    char lock_ns[128];                   /* PostgreSQL: the schema, which scopes named locks */
};

/* Opens with the schema migrated up to `version` (tests use older versions). */
fws_err store_open_version(const char *url_or_path, int version, fws_store **out, fws_errbuf *eb);

/* Runs a statement through the engine. Inside a caller's transaction (and outside an
 * operation) the statement runs under a savepoint, so its failure leaves the transaction usable
 * on PostgreSQL as on SQLite. */
fws_err store_run(fws_store *s, int st, const store_arg *args, int n, store_row_fn fn, void *ctx,
                  int64_t *changes, fws_errbuf *eb);
/* Runs a statement that must return exactly one row for fn; FWS_ERR_NOT_FOUND with "what" when
 * it returns none. */
fws_err store_one(fws_store *s, int st, const store_arg *args, int n, store_row_fn fn, void *ctx,
                  const char *what, fws_errbuf *eb);
/* Runs a parameterless script (tests and migrations). */
fws_err store_script(fws_store *s, const char *sql, fws_errbuf *eb);

/* An operation that needs several statements: its own transaction, or a savepoint inside the
 * caller's. store_op_end commits or rolls back according to err and returns err (or the commit
 * failure). */
fws_err store_op_begin(fws_store *s, fws_errbuf *eb);
fws_err store_op_end(fws_store *s, fws_err err, fws_errbuf *eb);

/* Row accessors. */
int64_t row_int(const store_row *r, int col);
int row_null(const store_row *r, int col);
const char *row_text(const store_row *r, int col);
fws_err row_copy(const store_row *r, int col, char *dst, size_t cap, const char *what,
                 fws_errbuf *eb);
fws_err row_u32(const store_row *r, int col, uint32_t *out, const char *what, fws_errbuf *eb);
fws_err row_digest(const store_row *r, int col, uint8_t out[32], int allow_empty, const char *what,
                   fws_errbuf *eb);
/* Reads an enum stored by name through a parse function; FWS_ERR_SCHEMA when unknown. */
fws_err row_enum(const store_row *r, int col, fws_err (*parse)(const char *, int *), int *out,
                 const char *what, fws_errbuf *eb);

/* Row callback that reads a single integer (column 0) into *(int64_t *)ctx. */
fws_err row_get_int(void *ctx, const store_row *r, fws_errbuf *eb);

/* ---- validation (check.c) ---------------------------------------------------------------- */

/* Kinds of strings. */
enum {
    CHK_ID,      /* [A-Za-z0-9._:-], 1..max */
    CHK_NAME,    /* [A-Za-z0-9._:-], 0..max */
    CHK_VERSION, /* [A-Za-z0-9.+_~-], 1..max */
    CHK_TARGET,  /* [A-Za-z0-9._+~/-], 1..max, no empty, "." or ".." segment, no leading '/' */
    CHK_TEXT,    /* valid UTF-8 without control characters, 0..max */
    CHK_LABEL,   /* like CHK_TEXT but 1..max */
};

/* A C string parameter (NULL is FWS_ERR_ARG). */
fws_err chk_str(const char *what, const char *s, size_t max, int kind, fws_errbuf *eb);
/* A fixed array field: NUL-terminated within cap, then chk_str. */
fws_err chk_field(const char *what, const char *field, size_t cap, int kind, fws_errbuf *eb);
fws_err chk_time(const char *what, int64_t t, fws_errbuf *eb);
fws_err chk_u63(const char *what, uint64_t v, fws_errbuf *eb);
fws_err chk_page(const fws_store_page *p, fws_errbuf *eb);
fws_err chk_limit(size_t limit, fws_errbuf *eb);
fws_err chk_leader_name(const char *name, fws_errbuf *eb);
/* Validates a rollout selector and returns its canonical JSON (malloc'd). */
fws_err chk_selector(const char *selector, char **canonical, size_t *len, fws_errbuf *eb);

/* Enum parsers with an int out-parameter, for row_enum. */
fws_err enum_role(const char *s, int *out);
fws_err enum_device_status(const char *s, int *out);
fws_err enum_attest(const char *s, int *out);
fws_err enum_rollout_state(const char *s, int *out);
fws_err enum_outcome(const char *s, int *out);
fws_err enum_report_kind(const char *s, int *out);

/* Lowercase hex of a SHA-256 (65 bytes with the NUL). */
void hex32(const uint8_t d[32], char out[65]);

/* The 64-bit key of a named lock ("leader" names and the migration lock) within a namespace. */
int64_t store_lock_key(const char *kind, const char *ns, const char *name);

#endif
