/* The SQLite engine: one connection per handle, WAL mode, synchronous=FULL, foreign keys on, a
 * 10 s busy timeout; statements prepared once per handle and kept. Leadership is an exclusive
 * flock on a lock file next to the database. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <unistd.h>
#include <sqlite3.h>
#include "store/internal.h"

#define BUSY_TIMEOUT_MS 10000

typedef struct sq_impl {
    sqlite3 *db;
    sqlite3_stmt *st[ST__COUNT];
    char path[FWS_STORE_PATH_MAX + 1];
} sq_impl;

static sq_impl *impl_of(fws_store *s)
{
    return s->impl;
}

/* Maps SQLite's (extended) result code to the store's codes. */
static fws_err sq_code(int rc)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return FWS_ERR_EXISTS;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return FWS_ERR_NOT_FOUND;
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
        return FWS_ERR_ARG;
    case SQLITE_NOMEM:
        return FWS_ERR_NOMEM;
    default:
        return FWS_ERR_IO;
    }
}

static fws_err sq_fail(fws_store *s, int rc, const char *what, fws_errbuf *eb)
{
    sq_impl *q = impl_of(s);
    return fws_errf(eb, sq_code(rc), "%s: %s: %s", s->where, what,
                    q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
}

/* Receives the journal mode PRAGMA journal_mode answers. */
static int journal_cb(void *ctx, int n, char **vals, char **names)
{
    (void)names;
    if (n == 1 && vals[0] != NULL)
        snprintf(ctx, 16, "%s", vals[0]);
    return 0;
}

/* Switching a new database to WAL takes an exclusive lock, and SQLite answers "locked" at once,
 * without its busy handler, when another handle holds one (another opener switching or
 * migrating the same new file): such answers are retried for as long as the busy timeout. */
static int set_wal(sqlite3 *db, char mode[16])
{
    int rc = SQLITE_BUSY;
    for (int waited = 0; waited <= BUSY_TIMEOUT_MS; waited += 10) {
        rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", journal_cb, mode, NULL);
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
            return rc;
        struct timespec ten_ms = {0, 10 * 1000 * 1000};
        nanosleep(&ten_ms, NULL);
    }
    return rc;
}

static fws_err sq_open(fws_store *s, const char *path, fws_errbuf *eb)
{
    char mode[16] = "";
    int rc;
    sq_impl *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "store: out of memory");
    s->impl = q;
    snprintf(q->path, sizeof(q->path), "%s", path);
    snprintf(s->where, sizeof(s->where), "%s", path);
    if (path[0] == ':')
        return fws_errf(eb, FWS_ERR_ARG, "%s: not a database file path", path);
    /* Create the file ourselves so that it is private (SQLite gives its -wal and -shm files
     * the same permissions). Only when it is missing: closing a descriptor of a file that
     * another handle of this process has open would drop that handle's POSIX locks, and
     * another process could then delete the WAL under it. */
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST)
        return fws_errf(eb, errno == ENOENT ? FWS_ERR_NOT_FOUND : FWS_ERR_IO, "%s: cannot open: %s",
                        path, strerror(errno));
    if (fd >= 0)
        close(fd);
    rc = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "cannot open", eb);
    sqlite3_extended_result_codes(q->db, 1);
    sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS);
    rc = set_wal(q->db, mode);
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "cannot set WAL mode", eb);
    if (strcmp(mode, "wal") != 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: cannot use WAL mode (journal mode is \"%s\")", path,
                        mode);
    rc = sqlite3_exec(q->db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "cannot configure", eb);
    return FWS_OK;
}

static void sq_close(fws_store *s)
{
    sq_impl *q = impl_of(s);
    if (q == NULL)
        return;
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(q->st[i]);
    sqlite3_close_v2(q->db);
    free(q);
    s->impl = NULL;
}

static fws_err sq_script(fws_store *s, const char *sql, fws_errbuf *eb)
{
    int rc = sqlite3_exec(impl_of(s)->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? FWS_OK : sq_fail(s, rc, "statement failed", eb);
}

/* Prepares statement st once, with $n placeholders rewritten to ?n. */
static fws_err sq_prepare(fws_store *s, int st, sqlite3_stmt **out, fws_errbuf *eb)
{
    sq_impl *q = impl_of(s);
    if (q->st[st] == NULL) {
        size_t len = strlen(store_sql[st]);
        char *sql = malloc(len + 1);
        if (sql == NULL)
            return fws_errf(eb, FWS_ERR_NOMEM, "store: out of memory");
        for (size_t i = 0; i <= len; i++)
            sql[i] = store_sql[st][i] == '$' ? '?' : store_sql[st][i];
        int rc =
            sqlite3_prepare_v3(q->db, sql, (int)len, SQLITE_PREPARE_PERSISTENT, &q->st[st], NULL);
        free(sql);
        if (rc != SQLITE_OK)
            return sq_fail(s, rc, "cannot prepare a statement", eb);
    }
    *out = q->st[st];
    return FWS_OK;
}

static int sq_bind(sqlite3_stmt *stmt, int i, const store_arg *a)
{
    switch (a->type) {
    case ARG_INT:
        return sqlite3_bind_int64(stmt, i, a->i);
    case ARG_TEXT:
        return sqlite3_bind_text64(stmt, i, a->p, a->len, SQLITE_STATIC, SQLITE_UTF8);
    case ARG_BLOB:
        return sqlite3_bind_blob64(stmt, i, a->len ? a->p : "", a->len, SQLITE_STATIC);
    default:
        return sqlite3_bind_null(stmt, i);
    }
}

static fws_err sq_run(fws_store *s, int st, const store_arg *args, int n, store_row_fn fn,
                      void *ctx, int64_t *changes, fws_errbuf *eb)
{
    sqlite3_stmt *stmt = NULL;
    fws_err err = sq_prepare(s, st, &stmt, eb);
    int rc = SQLITE_OK;
    if (err != FWS_OK)
        return err;
    for (int i = 0; i < n && rc == SQLITE_OK; i++)
        rc = sq_bind(stmt, i + 1, &args[i]);
    if (rc != SQLITE_OK) {
        err = sq_fail(s, rc, "cannot bind", eb);
        goto out;
    }
    store_row row = {&store_sqlite_engine, stmt, 0};
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (fn != NULL && (err = fn(ctx, &row, eb)) != FWS_OK)
            goto out;
        row.index++;
    }
    if (rc != SQLITE_DONE) {
        err = sq_fail(s, rc, "statement failed", eb);
        goto out;
    }
    if (changes != NULL)
        *changes = sqlite3_changes64(impl_of(s)->db);
out:
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return err;
}

static int sq_is_null(const store_row *r, int col)
{
    return sqlite3_column_type(r->impl, col) == SQLITE_NULL;
}

static int64_t sq_col_int(const store_row *r, int col)
{
    return sqlite3_column_int64(r->impl, col);
}

static const char *sq_col_text(const store_row *r, int col)
{
    const unsigned char *t = sqlite3_column_text(r->impl, col);
    return t ? (const char *)t : "";
}

static fws_err sq_col_blob(const store_row *r, int col, size_t max, uint8_t **out, size_t *len,
                           fws_errbuf *eb)
{
    const void *p = sqlite3_column_blob(r->impl, col);
    size_t n = (size_t)sqlite3_column_bytes(r->impl, col);
    if (n > max)
        return fws_errf(eb, FWS_ERR_SCHEMA, "stored value longer than %zu bytes", max);
    uint8_t *copy = malloc(n ? n : 1);
    if (copy == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "store: out of memory");
    if (n)
        memcpy(copy, p, n);
    *out = copy;
    *len = n;
    return FWS_OK;
}

/* BEGIN IMMEDIATE already makes the migration the only writer. */
static fws_err sq_migration_lock(fws_store *s, fws_errbuf *eb)
{
    (void)s;
    (void)eb;
    return FWS_OK;
}

static fws_err sq_leader_lock(fws_store *s, store_leader *l, int *got, fws_errbuf *eb)
{
    char path[FWS_STORE_PATH_MAX + FWS_STORE_LEADER_NAME_MAX + 32];
    int n = snprintf(path, sizeof(path), "%s-leader-%s.lock", impl_of(s)->path, l->name);
    if (n < 0 || (size_t)n >= sizeof(path))
        return fws_errf(eb, FWS_ERR_ARG, "%s: lock file path too long", s->where);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK) {
            *got = 0;
            return FWS_OK;
        }
        return fws_errf(eb, FWS_ERR_IO, "%s: cannot lock: %s", path, strerror(e));
    }
    l->fd = fd;
    *got = 1;
    return FWS_OK;
}

/* A flock lasts as long as the descriptor. */
static fws_err sq_leader_check(fws_store *s, store_leader *l, int *held, fws_errbuf *eb)
{
    (void)s;
    (void)eb;
    *held = l->fd >= 0;
    return FWS_OK;
}

static void sq_leader_unlock(fws_store *s, store_leader *l)
{
    (void)s;
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

const store_engine store_sqlite_engine = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .script = sq_script,
    .run = sq_run,
    .is_null = sq_is_null,
    .col_int = sq_col_int,
    .col_text = sq_col_text,
    .col_blob = sq_col_blob,
    .begin_sql = "BEGIN IMMEDIATE",
    .migration_lock = sq_migration_lock,
    .migration = store_sqlite_migration,
    .leader_lock = sq_leader_lock,
    .leader_check = sq_leader_check,
    .leader_unlock = sq_leader_unlock,
};
