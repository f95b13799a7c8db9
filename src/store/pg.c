/* The PostgreSQL engine, through libpq (loaded by the first open, pq.c): one connection per handle,
 * statements prepared once per connection (lazily, by name), parameters sent separately from the
 * SQL (text, or binary for bytes), results read as text. Leadership is a session advisory lock on
 * the connection.
 *
 * A lost connection is re-established before the next statement that runs outside a
 * transaction; that re-prepares statements and loses every leadership (the server released
 * the session's locks when the session ended). A statement is never retried: the caller sees
 * FWS_ERR_IO for the one that failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/internal.h"
#include "store/pq.h"

/* libpq's functions, loaded by the first pg_open (every other function runs after one). */
static const pq_api *pq;

typedef struct pg_impl {
    PGconn *conn;
    unsigned char prepared[ST__COUNT];
} pg_impl;

static pg_impl *impl_of(fws_store *s)
{
    return s->impl;
}

static PGconn *conn_of(const fws_store *s)
{
    return ((const pg_impl *)s->impl)->conn;
}

/* The first line of libpq's connection error (it may hold several). */
static void first_line(const char *msg, char *out, size_t cap)
{
    size_t n = strcspn(msg, "\n");
    snprintf(out, cap, "%.*s", (int)(n < 400 ? n : 400), msg);
}

static fws_err conn_fail(fws_store *s, const char *what, fws_errbuf *eb)
{
    char line[512];
    first_line(pq->PQerrorMessage(conn_of(s)), line, sizeof(line));
    return fws_errf(eb, FWS_ERR_IO, "%s: %s: %s", s->where, what, line);
}

/* Maps a failed result to the store's codes through its SQLSTATE. */
static fws_err result_fail(fws_store *s, PGresult *res, const char *what, fws_errbuf *eb)
{
    const char *state = res ? pq->PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? pq->PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    fws_err code = FWS_ERR_IO;
    if (state != NULL && strcmp(state, "23505") == 0)
        code = FWS_ERR_EXISTS;
    else if (state != NULL && strcmp(state, "23503") == 0)
        code = FWS_ERR_NOT_FOUND;
    else if (state != NULL && (strcmp(state, "23514") == 0 || strcmp(state, "23502") == 0))
        code = FWS_ERR_ARG;
    if (msg == NULL)
        return conn_fail(s, what, eb);
    return fws_errf(eb, code, "%s: %s: %s", s->where, what, msg);
}

static int result_ok(const PGresult *res)
{
    ExecStatusType st = pq->PQresultStatus(res);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* libpq prints server notices on stderr by default; the store keeps quiet. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void forget_session(fws_store *s)
{
    memset(impl_of(s)->prepared, 0, sizeof(impl_of(s)->prepared));
    for (int i = 0; i < FWS_STORE_LEADERS; i++) {
        s->leaders[i].name[0] = '\0';
        s->leaders[i].key = 0;
    }
}

/* Re-establishes a lost connection, but never in the middle of a transaction. */
static fws_err ensure_conn(fws_store *s, fws_errbuf *eb)
{
    PGconn *c = conn_of(s);
    if (pq->PQstatus(c) == CONNECTION_OK)
        return FWS_OK;
    if (s->in_tx || s->op_depth > 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: connection lost inside a transaction", s->where);
    forget_session(s);
    pq->PQreset(c);
    if (pq->PQstatus(c) != CONNECTION_OK)
        return conn_fail(s, "cannot reconnect", eb);
    return FWS_OK;
}

static fws_err pg_open(fws_store *s, const char *url, fws_errbuf *eb)
{
    /* Later keywords win: the URL may override the defaults before it. */
    static const char *const keys[] = {"fallback_application_name", "connect_timeout",
                                       "client_encoding", "dbname", NULL};
    const char *const vals[] = {"fwseal", "10", "UTF8", url, NULL};
    if ((pq = pq_load(eb)) == NULL)
        return FWS_ERR_IO;
    pg_impl *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "store: out of memory");
    s->impl = p;
    snprintf(s->where, sizeof(s->where), "postgres");
    p->conn = pq->PQconnectdbParams(keys, vals, 1);
    if (p->conn == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "postgres: out of memory");
    if (pq->PQstatus(p->conn) != CONNECTION_OK)
        return conn_fail(s, "cannot connect", eb);
    pq->PQsetNoticeProcessor(p->conn, quiet, NULL);
    snprintf(s->where, sizeof(s->where), "postgres %.200s:%.16s/%.200s", pq->PQhost(p->conn),
             pq->PQport(p->conn), pq->PQdb(p->conn));
    /* Advisory locks are per database; leadership belongs to the store, i.e. the schema. */
    PGresult *res = pq->PQexec(p->conn, "SELECT current_schema()");
    fws_err err = FWS_OK;
    if (!result_ok(res) || pq->PQntuples(res) != 1)
        err = result_fail(s, res, "cannot read the current schema", eb);
    else
        snprintf(s->lock_ns, sizeof(s->lock_ns), "%s", pq->PQgetvalue(res, 0, 0));
    pq->PQclear(res);
    return err;
}

static void pg_close(fws_store *s)
{
    pg_impl *p = impl_of(s);
    if (p == NULL)
        return;
    if (p->conn != NULL)
        pq->PQfinish(p->conn);
    free(p);
    s->impl = NULL;
}

static fws_err pg_script(fws_store *s, const char *sql, fws_errbuf *eb)
{
    fws_err err = ensure_conn(s, eb);
    if (err != FWS_OK)
        return err;
    PGresult *res = pq->PQexec(conn_of(s), sql);
    if (!result_ok(res))
        err = result_fail(s, res, "statement failed", eb);
    pq->PQclear(res);
    return err;
}

static fws_err pg_prepare(fws_store *s, int st, const char *name, fws_errbuf *eb)
{
    pg_impl *p = impl_of(s);
    fws_err err = FWS_OK;
    if (p->prepared[st])
        return FWS_OK;
    PGresult *res = pq->PQprepare(p->conn, name, store_sql[st], 0, NULL);
    if (!result_ok(res))
        err = result_fail(s, res, "cannot prepare a statement", eb);
    else
        p->prepared[st] = 1;
    pq->PQclear(res);
    return err;
}

static fws_err pg_run(fws_store *s, int st, const store_arg *args, int n, store_row_fn fn,
                      void *ctx, int64_t *changes, fws_errbuf *eb)
{
    const char *values[STORE_MAX_ARGS];
    int lengths[STORE_MAX_ARGS], formats[STORE_MAX_ARGS];
    char ints[STORE_MAX_ARGS][24];
    char name[16];
    fws_err err;
    if (n > STORE_MAX_ARGS)
        return fws_errf(eb, FWS_ERR_ARG, "store: too many parameters");
    snprintf(name, sizeof(name), "fws_%d", st);
    if ((err = ensure_conn(s, eb)) != FWS_OK || (err = pg_prepare(s, st, name, eb)) != FWS_OK)
        return err;
    for (int i = 0; i < n; i++) {
        formats[i] = args[i].type == ARG_BLOB;
        lengths[i] = (int)args[i].len;
        if (args[i].type == ARG_INT) {
            snprintf(ints[i], sizeof(ints[i]), "%lld", (long long)args[i].i);
            values[i] = ints[i];
        } else if (args[i].type == ARG_NULL) {
            values[i] = NULL;
        } else {
            values[i] = args[i].len ? args[i].p : "";
        }
    }
    PGresult *res = pq->PQexecPrepared(conn_of(s), name, n, values, lengths, formats, 0);
    if (!result_ok(res)) {
        err = result_fail(s, res, "statement failed", eb);
        goto out;
    }
    store_row row = {&store_pg_engine, res, 0};
    for (int i = 0; fn != NULL && i < pq->PQntuples(res); i++) {
        row.index = i;
        if ((err = fn(ctx, &row, eb)) != FWS_OK)
            goto out;
    }
    if (changes != NULL)
        *changes = strtoll(pq->PQcmdTuples(res), NULL, 10);
out:
    pq->PQclear(res);
    return err;
}

static int pg_is_null(const store_row *r, int col)
{
    return pq->PQgetisnull(r->impl, r->index, col);
}

static int64_t pg_col_int(const store_row *r, int col)
{
    return strtoll(pq->PQgetvalue(r->impl, r->index, col), NULL, 10);
}

static const char *pg_col_text(const store_row *r, int col)
{
    return pq->PQgetvalue(r->impl, r->index, col);
}

static fws_err pg_col_blob(const store_row *r, int col, size_t max, uint8_t **out, size_t *len,
                           fws_errbuf *eb)
{
    const char *text = pq->PQgetvalue(r->impl, r->index, col);
    /* The hex form: "\x" and two digits per byte. */
    if (strlen(text) / 2 > max + 1)
        return fws_errf(eb, FWS_ERR_SCHEMA, "stored value longer than %zu bytes", max);
    size_t n = 0;
    unsigned char *raw = pq->PQunescapeBytea((const unsigned char *)text, &n);
    if (raw == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "postgres: cannot decode bytes");
    fws_err err = FWS_OK;
    uint8_t *copy = NULL;
    if (n > max) {
        err = fws_errf(eb, FWS_ERR_SCHEMA, "stored value longer than %zu bytes", max);
    } else if ((copy = malloc(n ? n : 1)) == NULL) {
        err = fws_errf(eb, FWS_ERR_NOMEM, "store: out of memory");
    } else {
        memcpy(copy, raw, n);
        *out = copy;
        *len = n;
    }
    pq->PQfreemem(raw);
    return err;
}

/* Runs one parameterised statement outside the statement table (locks). *value receives the
 * first column of the first row when asked. */
static fws_err pg_param(fws_store *s, const char *sql, const char *const *params, int n,
                        char *value, size_t cap, fws_errbuf *eb)
{
    fws_err err = ensure_conn(s, eb);
    if (err != FWS_OK)
        return err;
    PGresult *res = pq->PQexecParams(conn_of(s), sql, n, NULL, params, NULL, NULL, 0);
    if (!result_ok(res))
        err = result_fail(s, res, "lock statement failed", eb);
    else if (value != NULL && pq->PQntuples(res) == 1)
        snprintf(value, cap, "%s", pq->PQgetvalue(res, 0, 0));
    else if (value != NULL)
        err = fws_errf(eb, FWS_ERR_IO, "%s: lock statement returned no row", s->where);
    pq->PQclear(res);
    return err;
}

static void key_text(int64_t key, char out[24])
{
    snprintf(out, 24, "%lld", (long long)key);
}

static fws_err pg_migration_lock(fws_store *s, fws_errbuf *eb)
{
    char key[24];
    key_text(store_lock_key("migrate", s->lock_ns, ""), key);
    const char *params[] = {key};
    return pg_param(s, "SELECT pg_advisory_xact_lock(CAST($1 AS BIGINT))", params, 1, NULL, 0, eb);
}

static fws_err pg_leader_lock(fws_store *s, store_leader *l, int *got, fws_errbuf *eb)
{
    char key[24], v[8] = "";
    key_text(l->key, key);
    const char *params[] = {key};
    fws_err err =
        pg_param(s, "SELECT pg_try_advisory_lock(CAST($1 AS BIGINT))", params, 1, v, sizeof(v), eb);
    if (err == FWS_OK)
        *got = strcmp(v, "t") == 0;
    return err;
}

/* Asks the server whether this session holds the lock (a 64-bit key is stored as classid, the
 * high half, and objid, the low half, with objsubid 1). */
static fws_err pg_leader_check(fws_store *s, store_leader *l, int *held, fws_errbuf *eb)
{
    char hi[24], lo[24], v[24] = "";
    uint64_t k = (uint64_t)l->key;
    snprintf(hi, sizeof(hi), "%llu", (unsigned long long)(k >> 32));
    snprintf(lo, sizeof(lo), "%llu", (unsigned long long)(k & 0xffffffffu));
    const char *params[] = {hi, lo};
    fws_err err = pg_param(s,
                           "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'"
                           " AND pid = pg_backend_pid() AND granted AND objsubid = 1"
                           " AND CAST(classid AS BIGINT) = CAST($1 AS BIGINT)"
                           " AND CAST(objid AS BIGINT) = CAST($2 AS BIGINT)",
                           params, 2, v, sizeof(v), eb);
    if (err == FWS_OK)
        *held = strcmp(v, "0") != 0;
    return err;
}

static void pg_leader_unlock(fws_store *s, store_leader *l)
{
    char key[24];
    if (pq->PQstatus(conn_of(s)) != CONNECTION_OK)
        return;
    key_text(l->key, key);
    const char *params[] = {key};
    PGresult *res = pq->PQexecParams(conn_of(s), "SELECT pg_advisory_unlock(CAST($1 AS BIGINT))", 1,
                                     NULL, params, NULL, NULL, 0);
    pq->PQclear(res);
}

const store_engine store_pg_engine = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .script = pg_script,
    .run = pg_run,
    .is_null = pg_is_null,
    .col_int = pg_col_int,
    .col_text = pg_col_text,
    .col_blob = pg_col_blob,
    .begin_sql = "BEGIN",
    .migration_lock = pg_migration_lock,
    .migration = store_pg_migration,
    .leader_lock = pg_leader_lock,
    .leader_check = pg_leader_check,
    .leader_unlock = pg_leader_unlock,
};
