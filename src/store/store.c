/* Opening a store, schema migrations, transactions and the statement runners every module uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "store/internal.h"

static const char schema_version_ddl[] = "CREATE TABLE IF NOT EXISTS schema_version ("
                                         " version INTEGER PRIMARY KEY,"
                                         " applied_at BIGINT NOT NULL)";

fws_err fws_store_resolve(const char *arg, const char *deploy, char *out, size_t cap,
                          fws_errbuf *eb)
{
    int n;
    if (out == NULL || cap == 0)
        return fws_errf(eb, FWS_ERR_ARG, "store: no room for the result");
    if (arg == NULL || strcmp(arg, "sqlite") == 0) {
        if (deploy == NULL || deploy[0] == '\0')
            return fws_errf(eb, FWS_ERR_ARG, "store: no deployment directory for sqlite");
        n = snprintf(out, cap, "%s/fwseal.sqlite", deploy);
    } else if (strncmp(arg, "sqlite:", 7) == 0 && arg[7] != '\0') {
        n = snprintf(out, cap, "%s", arg + 7);
    } else if (arg[0] != '\0' && strcmp(arg, "sqlite:") != 0) {
        n = snprintf(out, cap, "%s", arg);
    } else {
        return fws_errf(eb, FWS_ERR_ARG, "store: empty --store argument");
    }
    if (n < 0 || (size_t)n >= cap)
        return fws_errf(eb, FWS_ERR_ARG, "store: path or URL too long");
    return FWS_OK;
}

/* ---- running statements ------------------------------------------------------------------ */

fws_err store_script(fws_store *s, const char *sql, fws_errbuf *eb)
{
    fws_err err = s->eng->script(s, sql, eb);
    if (err != FWS_OK && s->in_tx)
        s->tx_failed = 1;
    return err;
}

fws_err store_op_begin(fws_store *s, fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    if (s->op_depth == 0)
        err = store_script(s, s->in_tx ? "SAVEPOINT fws_op" : s->eng->begin_sql, eb);
    if (err == FWS_OK)
        s->op_depth++;
    return err;
}

fws_err store_op_end(fws_store *s, fws_err err, fws_errbuf *eb)
{
    if (--s->op_depth > 0)
        return err;
    if (s->in_tx) {
        if (err != FWS_OK && store_script(s, "ROLLBACK TO SAVEPOINT fws_op", NULL) != FWS_OK)
            return err;
        fws_err rel = store_script(s, "RELEASE SAVEPOINT fws_op", eb);
        return err != FWS_OK ? err : rel;
    }
    if (err != FWS_OK) {
        s->eng->script(s, "ROLLBACK", NULL);
        return err;
    }
    err = s->eng->script(s, "COMMIT", eb);
    if (err != FWS_OK)
        s->eng->script(s, "ROLLBACK", NULL);
    return err;
}

fws_err store_run(fws_store *s, int st, const store_arg *args, int n, store_row_fn fn, void *ctx,
                  int64_t *changes, fws_errbuf *eb)
{
    fws_err err;
    if (!s->in_tx || s->op_depth > 0)
        return s->eng->run(s, st, args, n, fn, ctx, changes, eb);
    /* A single statement inside the caller's transaction: under a savepoint, so that a
     * failure leaves the transaction usable on PostgreSQL as it does on SQLite. */
    if ((err = store_op_begin(s, eb)) != FWS_OK)
        return err;
    err = s->eng->run(s, st, args, n, fn, ctx, changes, eb);
    return store_op_end(s, err, eb);
}

typedef struct one_ctx {
    store_row_fn fn;
    void *ctx;
    int rows;
} one_ctx;

static fws_err one_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    one_ctx *o = ctx;
    if (o->rows++ > 0)
        return fws_errf(eb, FWS_ERR_SCHEMA, "more than one row where one was expected");
    return o->fn(o->ctx, r, eb);
}

fws_err store_one(fws_store *s, int st, const store_arg *args, int n, store_row_fn fn, void *ctx,
                  const char *what, fws_errbuf *eb)
{
    one_ctx o = {fn, ctx, 0};
    fws_err err = store_run(s, st, args, n, one_row, &o, NULL, eb);
    if (err == FWS_OK && o.rows == 0)
        err = fws_errf(eb, FWS_ERR_NOT_FOUND, "%s not found", what);
    return err;
}

fws_err row_get_int(void *ctx, const store_row *r, fws_errbuf *eb)
{
    (void)eb;
    *(int64_t *)ctx = row_int(r, 0);
    return FWS_OK;
}

/* ---- opening and migrations -------------------------------------------------------------- */

static fws_err migrate(fws_store *s, int target, fws_errbuf *eb)
{
    int64_t have = 0;
    fws_err err = store_op_begin(s, eb);
    if (err != FWS_OK)
        return err;
    if ((err = s->eng->migration_lock(s, eb)) != FWS_OK ||
        (err = store_script(s, schema_version_ddl, eb)) != FWS_OK ||
        (err = store_one(s, ST_VERSION_GET, NULL, 0, row_get_int, &have, "schema version", eb)) !=
            FWS_OK)
        goto out;
    if (have > FWS_STORE_SCHEMA_VERSION || have < 0) {
        err = fws_errf(eb, FWS_ERR_UNSUPPORTED,
                       "%s: schema version %lld is newer than this fwseal supports (%d)", s->where,
                       (long long)have, FWS_STORE_SCHEMA_VERSION);
        goto out;
    }
    for (int v = (int)have + 1; v <= target; v++) {
        store_arg a[] = {ARG_I(v), ARG_I(time(NULL))};
        if ((err = store_script(s, s->eng->migration(v), eb)) != FWS_OK ||
            (err = store_run(s, ST_VERSION_PUT, a, 2, NULL, NULL, NULL, eb)) != FWS_OK) {
            fws_errf(eb, err, "%s: migration to schema version %d failed", s->where, v);
            goto out;
        }
    }
out:
    return store_op_end(s, err, eb);
}

static const store_engine *pick_engine(const char **target)
{
    if (strncmp(*target, "postgres://", 11) == 0 || strncmp(*target, "postgresql://", 13) == 0)
        return &store_pg_engine;
    if (strncmp(*target, "sqlite:", 7) == 0)
        *target += 7;
    return &store_sqlite_engine;
}

fws_err store_open_version(const char *url_or_path, int version, fws_store **out, fws_errbuf *eb)
{
    fws_store *s = NULL;
    fws_err err;
    const char *target = url_or_path;
    if (out == NULL || target == NULL || target[0] == '\0')
        return fws_errf(eb, FWS_ERR_ARG, "store: no database given");
    if (strnlen(target, FWS_STORE_PATH_MAX + 1) > FWS_STORE_PATH_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "store: path or URL too long");
    if (version < 1 || version > FWS_STORE_SCHEMA_VERSION)
        return fws_errf(eb, FWS_ERR_ARG, "store: no schema version %d", version);
    const store_engine *eng = pick_engine(&target);
    if (target[0] == '\0')
        return fws_errf(eb, FWS_ERR_ARG, "store: no database given");
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "store: out of memory");
    s->eng = eng;
    for (int i = 0; i < FWS_STORE_LEADERS; i++)
        s->leaders[i].fd = -1;
    if ((err = eng->open(s, target, eb)) != FWS_OK || (err = migrate(s, version, eb)) != FWS_OK)
        goto out;
    *out = s;
    s = NULL;
out:
    fws_store_close(s);
    return err;
}

fws_err fws_store_open(const char *url_or_path, fws_store **out, fws_errbuf *eb)
{
    return store_open_version(url_or_path, FWS_STORE_SCHEMA_VERSION, out, eb);
}

void fws_store_close(fws_store *s)
{
    if (s == NULL)
        return;
    fws_store_rollback(s);
    for (int i = 0; i < FWS_STORE_LEADERS; i++) {
        if (s->leaders[i].name[0] != '\0')
            s->eng->leader_unlock(s, &s->leaders[i]);
    }
    s->eng->close(s);
    free(s);
}

const char *fws_store_engine(const fws_store *s)
{
    return s == NULL ? NULL : s->eng->name;
}

fws_err fws_store_schema_version(fws_store *s, int *out, fws_errbuf *eb)
{
    int64_t v = 0;
    if (s == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "store: missing argument");
    fws_err err = store_one(s, ST_VERSION_GET, NULL, 0, row_get_int, &v, "schema version", eb);
    if (err == FWS_OK)
        *out = (int)v;
    return err;
}

/* ---- transactions ------------------------------------------------------------------------ */

fws_err fws_store_begin(fws_store *s, fws_errbuf *eb)
{
    if (s == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "store: no handle");
    if (s->in_tx || s->op_depth > 0)
        return fws_errf(eb, FWS_ERR_STATE, "%s: a transaction is already open", s->where);
    fws_err err = s->eng->script(s, s->eng->begin_sql, eb);
    if (err == FWS_OK) {
        s->in_tx = 1;
        s->tx_failed = 0;
    }
    return err;
}

fws_err fws_store_commit(fws_store *s, fws_errbuf *eb)
{
    if (s == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "store: no handle");
    if (!s->in_tx)
        return fws_errf(eb, FWS_ERR_STATE, "%s: no transaction is open", s->where);
    if (s->tx_failed) {
        fws_store_rollback(s);
        return fws_errf(eb, FWS_ERR_STATE, "%s: transaction rolled back after a database error",
                        s->where);
    }
    fws_err err = s->eng->script(s, "COMMIT", eb);
    if (err != FWS_OK)
        s->eng->script(s, "ROLLBACK", NULL);
    s->in_tx = 0;
    return err;
}

void fws_store_rollback(fws_store *s)
{
    if (s == NULL || !s->in_tx)
        return;
    s->eng->script(s, "ROLLBACK", NULL);
    s->in_tx = 0;
    s->tx_failed = 0;
}

/* ---- leader election --------------------------------------------------------------------- */

static store_leader *leader_slot(fws_store *s, const char *name)
{
    for (int i = 0; i < FWS_STORE_LEADERS; i++) {
        if (strcmp(s->leaders[i].name, name) == 0)
            return &s->leaders[i];
    }
    return NULL;
}

static void leader_clear(store_leader *l)
{
    l->name[0] = '\0';
    l->fd = -1;
    l->key = 0;
}

fws_err fws_store_leader_try(fws_store *s, const char *name, int *is_leader, fws_errbuf *eb)
{
    fws_err err;
    int got = 0;
    if (s == NULL || is_leader == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "store: missing argument");
    if ((err = chk_leader_name(name, eb)) != FWS_OK)
        return err;
    store_leader *l = leader_slot(s, name);
    if (l != NULL) {
        if ((err = s->eng->leader_check(s, l, &got, eb)) != FWS_OK || got) {
            if (err != FWS_OK)
                leader_clear(l);
            else
                *is_leader = 1;
            return err;
        }
        leader_clear(l); /* lost (the connection was re-established): try again */
    } else if ((l = leader_slot(s, "")) == NULL) {
        return fws_errf(eb, FWS_ERR_ARG, "store: a handle may lead at most %d names",
                        FWS_STORE_LEADERS);
    }
    snprintf(l->name, sizeof(l->name), "%s", name);
    l->key = store_lock_key("leader", s->lock_ns, name);
    err = s->eng->leader_lock(s, l, &got, eb);
    if (err != FWS_OK || !got)
        leader_clear(l);
    if (err == FWS_OK)
        *is_leader = got;
    return err;
}

void fws_store_leader_release(fws_store *s, const char *name)
{
    if (s == NULL || name == NULL || name[0] == '\0')
        return;
    store_leader *l = leader_slot(s, name);
    if (l == NULL)
        return;
    s->eng->leader_unlock(s, l);
    leader_clear(l);
}
