/* The inventory store on SQLite (DEPLOY/pki/inventory.sqlite): WAL, full sync, prepared
 * statements kept for the life of the handle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "pki/store.h"

/* A device row, and the expiry of its latest valid certificate. */
#define DEVICE_COLUMNS                                                                             \
    "id, serial, model, batch, bom_version, station, operator, key_origin, hw_checks, env,"        \
    " status, provisioned_at, updated_at, reprovisions, reason, (SELECT MAX(not_after) FROM"       \
    " certs WHERE certs.device_id = devices.id AND certs.status = 1)"

enum {
    ST_DEV_GET,
    ST_DEV_PUT,
    ST_CERT_PUT,
    ST_CERT_GET,
    ST_SUPERSEDE,
    ST_SUPERSEDE_ALL,
    ST_REVOKE,
    ST_REFUSAL_ADD,
    ST_KEY_OWNER,
    ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
    [ST_DEV_GET] =
        "SELECT " DEVICE_COLUMNS " FROM devices WHERE id = ?1 UNION ALL SELECT " DEVICE_COLUMNS
        " FROM devices WHERE serial = ?1 AND id <> ?1 LIMIT 1",
    [ST_DEV_PUT] = "INSERT OR REPLACE INTO devices (id, serial, model, batch, bom_version, station,"
                   " operator, key_origin, hw_checks, env, status, provisioned_at, updated_at,"
                   " reprovisions, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_CERT_PUT] = "INSERT INTO certs (serial, device_id, sha256, env, kind, status, not_before,"
                    " not_after, revoked_at, reason, der, spki_sha256)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_CERT_GET] = "SELECT serial, device_id, sha256, env, kind, status, not_before, not_after,"
                    " revoked_at, reason FROM certs WHERE serial = ?",
    [ST_SUPERSEDE] = "UPDATE certs SET status = 2 WHERE device_id = ? AND kind = ? AND status = 1",
    [ST_SUPERSEDE_ALL] = "UPDATE certs SET status = 2 WHERE device_id = ? AND status = 1",
    [ST_REVOKE] = "UPDATE certs SET status = 3, revoked_at = ?, reason = ? WHERE device_id = ?"
                  " AND status <> 3",
    [ST_REFUSAL_ADD] = "INSERT INTO refusals (time, action, env, subject, reason)"
                       " VALUES (?,?,?,?,?)",
    [ST_KEY_OWNER] = "SELECT device_id FROM certs WHERE spki_sha256 = ? AND device_id <> ? LIMIT 1",
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS devices ("
    " id TEXT PRIMARY KEY, serial TEXT NOT NULL UNIQUE, model TEXT NOT NULL,"
    " batch TEXT NOT NULL, bom_version TEXT NOT NULL, station TEXT NOT NULL,"
    " operator TEXT NOT NULL, key_origin TEXT NOT NULL, hw_checks TEXT NOT NULL,"
    " env INTEGER NOT NULL, status INTEGER NOT NULL, provisioned_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL, reprovisions INTEGER NOT NULL, reason TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS devices_batch ON devices(batch);"
    "CREATE TABLE IF NOT EXISTS certs ("
    " serial TEXT PRIMARY KEY, device_id TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " env INTEGER NOT NULL, kind INTEGER NOT NULL, status INTEGER NOT NULL,"
    " not_before INTEGER NOT NULL, not_after INTEGER NOT NULL, revoked_at INTEGER NOT NULL,"
    " reason INTEGER NOT NULL, der BLOB NOT NULL, spki_sha256 TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS certs_device ON certs(device_id);"
    "CREATE INDEX IF NOT EXISTS certs_key ON certs(spki_sha256);"
    "CREATE INDEX IF NOT EXISTS certs_revoked ON certs(env, status);"
    "CREATE TABLE IF NOT EXISTS refusals ("
    " seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, action TEXT NOT NULL, env TEXT NOT NULL,"
    " subject TEXT NOT NULL, reason TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS crl_numbers (env INTEGER PRIMARY KEY, next INTEGER NOT NULL);"
    "PRAGMA user_version = 1;";

struct pki_store {
    sqlite3 *db;
    sqlite3_stmt *st[ST__COUNT];
    char path[4096];
};

static fws_err db_err(pki_store *s, fws_errbuf *eb, const char *what)
{
    return fws_errf(eb, FWS_ERR_IO, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

fws_err pki_store_open(const char *path, pki_store **out, fws_errbuf *eb)
{
    pki_store *s = calloc(1, sizeof(*s));
    fws_err err = FWS_OK;
    if (s == NULL)
        return FWS_ERR_NOMEM;
    snprintf(s->path, sizeof(s->path), "%s", path);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        err = fws_errf(eb, FWS_ERR_IO, "%s: cannot open: %s", path,
                       s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(s->db, 10000);
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        err = db_err(s, eb, "schema");
        goto out;
    }
    for (int i = 0; i < ST__COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL) != SQLITE_OK) {
            err = db_err(s, eb, "prepare");
            goto out;
        }
    }
    *out = s;
    s = NULL;
out:
    pki_store_close(s);
    return err;
}

void pki_store_close(pki_store *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    free(s);
}

fws_err pki_store_begin(pki_store *s, fws_errbuf *eb)
{
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_err(s, eb, "begin");
    return FWS_OK;
}

fws_err pki_store_commit(pki_store *s, fws_errbuf *eb)
{
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        fws_err err = db_err(s, eb, "commit");
        pki_store_rollback(s);
        return err;
    }
    return FWS_OK;
}

void pki_store_rollback(pki_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static void col_text(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static void row_device(sqlite3_stmt *st, fws_pki_device *d)
{
    memset(d, 0, sizeof(*d));
    col_text(st, 0, d->id, sizeof(d->id));
    col_text(st, 1, d->serial, sizeof(d->serial));
    col_text(st, 2, d->model, sizeof(d->model));
    col_text(st, 3, d->batch, sizeof(d->batch));
    col_text(st, 4, d->bom_version, sizeof(d->bom_version));
    col_text(st, 5, d->station, sizeof(d->station));
    col_text(st, 6, d->operator_name, sizeof(d->operator_name));
    col_text(st, 7, d->key_origin, sizeof(d->key_origin));
    col_text(st, 8, d->hw_checks, sizeof(d->hw_checks));
    d->env = (fws_pki_env)sqlite3_column_int(st, 9);
    d->status = (fws_pki_status)sqlite3_column_int(st, 10);
    d->provisioned_at = sqlite3_column_int64(st, 11);
    d->updated_at = sqlite3_column_int64(st, 12);
    d->reprovisions = (unsigned)sqlite3_column_int(st, 13);
    col_text(st, 14, d->reason, sizeof(d->reason));
    d->expires = sqlite3_column_int64(st, 15); /* 0 (NULL) when no certificate is valid */
}

static void row_cert(sqlite3_stmt *st, fws_pki_cert *c)
{
    memset(c, 0, sizeof(*c));
    col_text(st, 0, c->serial, sizeof(c->serial));
    col_text(st, 1, c->device_id, sizeof(c->device_id));
    col_text(st, 2, c->sha256, sizeof(c->sha256));
    c->env = (fws_pki_env)sqlite3_column_int(st, 3);
    c->kind = (fws_pki_cert_kind)sqlite3_column_int(st, 4);
    c->status = (fws_pki_cert_status)sqlite3_column_int(st, 5);
    c->not_before = sqlite3_column_int64(st, 6);
    c->not_after = sqlite3_column_int64(st, 7);
    c->revoked_at = sqlite3_column_int64(st, 8);
    c->reason = sqlite3_column_int(st, 9);
}

/* Steps a statement that returns no rows and resets it. */
static fws_err run(pki_store *s, sqlite3_stmt *st, const char *what, fws_errbuf *eb)
{
    int rc = sqlite3_step(st);
    fws_err err = FWS_OK;
    if (rc == SQLITE_CONSTRAINT)
        err = fws_errf(eb, FWS_ERR_EXISTS, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    else if (rc != SQLITE_DONE)
        err = db_err(s, eb, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

fws_err pki_store_device_get(pki_store *s, const char *id_or_serial, fws_pki_device *out,
                             fws_errbuf *eb)
{
    sqlite3_stmt *st = s->st[ST_DEV_GET];
    fws_err err = FWS_OK;
    sqlite3_bind_text(st, 1, id_or_serial, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row_device(st, out);
    else if (rc == SQLITE_DONE)
        err = fws_errf(eb, FWS_ERR_NOT_FOUND, "no device with ID or serial '%s'", id_or_serial);
    else
        err = db_err(s, eb, "device lookup");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

fws_err pki_store_device_put(pki_store *s, const fws_pki_device *d, fws_errbuf *eb)
{
    sqlite3_stmt *st = s->st[ST_DEV_PUT];
    const char *text[] = {d->id,      d->serial,        d->model,      d->batch,    d->bom_version,
                          d->station, d->operator_name, d->key_origin, d->hw_checks};
    int i = 1;
    for (size_t k = 0; k < sizeof(text) / sizeof(text[0]); k++)
        sqlite3_bind_text(st, i++, text[k], -1, SQLITE_STATIC);
    sqlite3_bind_int(st, i++, (int)d->env);
    sqlite3_bind_int(st, i++, (int)d->status);
    sqlite3_bind_int64(st, i++, d->provisioned_at);
    sqlite3_bind_int64(st, i++, d->updated_at);
    sqlite3_bind_int(st, i++, (int)d->reprovisions);
    sqlite3_bind_text(st, i++, d->reason, -1, SQLITE_STATIC);
    return run(s, st, "device", eb);
}

fws_err pki_store_key_owner(pki_store *s, const char *spki_sha256, const char *device_id,
                            char owner[FWS_PKI_ID_LEN], fws_errbuf *eb)
{
    sqlite3_stmt *st = s->st[ST_KEY_OWNER];
    fws_err err = FWS_OK;
    sqlite3_bind_text(st, 1, spki_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, device_id ? device_id : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        col_text(st, 0, owner, FWS_PKI_ID_LEN);
    else if (rc == SQLITE_DONE)
        err = FWS_ERR_NOT_FOUND;
    else
        err = db_err(s, eb, "key lookup");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

fws_err pki_store_cert_put(pki_store *s, const fws_pki_cert *c, const uint8_t *der, size_t len,
                           fws_errbuf *eb)
{
    sqlite3_stmt *st = s->st[ST_CERT_PUT];
    sqlite3_bind_text(st, 1, c->serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, (int)c->env);
    sqlite3_bind_int(st, 5, (int)c->kind);
    sqlite3_bind_int(st, 6, (int)c->status);
    sqlite3_bind_int64(st, 7, c->not_before);
    sqlite3_bind_int64(st, 8, c->not_after);
    sqlite3_bind_int64(st, 9, c->revoked_at);
    sqlite3_bind_int(st, 10, c->reason);
    sqlite3_bind_blob(st, 11, der, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, c->spki_sha256, -1, SQLITE_STATIC);
    return run(s, st, "certificate", eb);
}

fws_err pki_store_cert_get(pki_store *s, const char *serial, fws_pki_cert *out, fws_errbuf *eb)
{
    sqlite3_stmt *st = s->st[ST_CERT_GET];
    fws_err err = FWS_OK;
    sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row_cert(st, out);
    else if (rc == SQLITE_DONE)
        err = fws_errf(eb, FWS_ERR_NOT_FOUND, "certificate %s is not in the inventory", serial);
    else
        err = db_err(s, eb, "certificate lookup");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

fws_err pki_store_certs_supersede(pki_store *s, const char *device_id, fws_pki_cert_kind kind,
                                  fws_errbuf *eb)
{
    sqlite3_stmt *st = s->st[kind == 0 ? ST_SUPERSEDE_ALL : ST_SUPERSEDE];
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    if (kind != 0)
        sqlite3_bind_int(st, 2, (int)kind);
    return run(s, st, "supersede", eb);
}

fws_err pki_store_certs_revoke(pki_store *s, const char *device_id, int reason, int64_t when,
                               size_t *count, fws_errbuf *eb)
{
    sqlite3_stmt *st = s->st[ST_REVOKE];
    sqlite3_bind_int64(st, 1, when);
    sqlite3_bind_int(st, 2, reason);
    sqlite3_bind_text(st, 3, device_id, -1, SQLITE_STATIC);
    fws_err err = run(s, st, "revoke", eb);
    if (err == FWS_OK)
        *count = (size_t)sqlite3_changes(s->db);
    return err;
}

/* Runs a query built at call time and hands each row to fn through conv. */
typedef int (*row_fn)(sqlite3_stmt *st, void *fn, void *ctx);

static fws_err each_row(pki_store *s, sqlite3_stmt *st, row_fn conv, void *fn, void *ctx,
                        fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (conv(st, fn, ctx) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = db_err(s, eb, "query");
    sqlite3_finalize(st);
    return err;
}

static int conv_device(sqlite3_stmt *st, void *fn, void *ctx)
{
    fws_pki_device d;
    row_device(st, &d);
    return ((fws_pki_device_fn)fn)(ctx, &d);
}

static int conv_cert(sqlite3_stmt *st, void *fn, void *ctx)
{
    fws_pki_cert c;
    row_cert(st, &c);
    return ((fws_pki_cert_fn)fn)(ctx, &c);
}

static int conv_refusal(sqlite3_stmt *st, void *fn, void *ctx)
{
    fws_pki_refusal r;
    memset(&r, 0, sizeof(r));
    r.time = sqlite3_column_int64(st, 0);
    col_text(st, 1, r.action, sizeof(r.action));
    col_text(st, 2, r.env, sizeof(r.env));
    col_text(st, 3, r.subject, sizeof(r.subject));
    col_text(st, 4, r.reason, sizeof(r.reason));
    return ((fws_pki_refusal_fn)fn)(ctx, &r);
}

fws_err pki_store_device_list(pki_store *s, const fws_pki_filter *f, fws_pki_device_fn fn,
                              void *ctx, fws_errbuf *eb)
{
    static const char sql[] =
        "SELECT " DEVICE_COLUMNS " FROM devices"
        " WHERE (?1 = 0 OR env = ?1) AND (?2 = 0 OR status = ?2) AND (?3 IS NULL OR batch = ?3)"
        " AND (?4 IS NULL OR model = ?4) ORDER BY provisioned_at, serial";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(s, eb, "prepare");
    sqlite3_bind_int(st, 1, f ? (int)f->env : 0);
    sqlite3_bind_int(st, 2, f ? (int)f->status : 0);
    if (f != NULL && f->batch != NULL)
        sqlite3_bind_text(st, 3, f->batch, -1, SQLITE_STATIC);
    if (f != NULL && f->model != NULL)
        sqlite3_bind_text(st, 4, f->model, -1, SQLITE_STATIC);
    return each_row(s, st, conv_device, (void *)fn, ctx, eb);
}

fws_err pki_store_cert_list(pki_store *s, const char *device_id, fws_pki_cert_fn fn, void *ctx,
                            fws_errbuf *eb)
{
    static const char sql[] = "SELECT serial, device_id, sha256, env, kind, status, not_before,"
                              " not_after, revoked_at, reason FROM certs WHERE device_id = ?"
                              " ORDER BY rowid DESC";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(s, eb, "prepare");
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    return each_row(s, st, conv_cert, (void *)fn, ctx, eb);
}

fws_err pki_store_revoked(pki_store *s, fws_pki_env env, int64_t now, fws_pki_cert_fn fn, void *ctx,
                          fws_errbuf *eb)
{
    static const char sql[] = "SELECT serial, device_id, sha256, env, kind, status, not_before,"
                              " not_after, revoked_at, reason FROM certs WHERE env = ?"
                              " AND status = 3 AND not_after > ? ORDER BY serial";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(s, eb, "prepare");
    sqlite3_bind_int(st, 1, (int)env);
    sqlite3_bind_int64(st, 2, now);
    return each_row(s, st, conv_cert, (void *)fn, ctx, eb);
}

fws_err pki_store_refusal_add(pki_store *s, const fws_pki_refusal *r, fws_errbuf *eb)
{
    sqlite3_stmt *st = s->st[ST_REFUSAL_ADD];
    sqlite3_bind_int64(st, 1, r->time);
    sqlite3_bind_text(st, 2, r->action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->env, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r->reason, -1, SQLITE_STATIC);
    return run(s, st, "refusal", eb);
}

fws_err pki_store_refusals(pki_store *s, fws_pki_refusal_fn fn, void *ctx, fws_errbuf *eb)
{
    static const char sql[] =
        "SELECT time, action, env, subject, reason FROM refusals ORDER BY seq";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(s, eb, "prepare");
    return each_row(s, st, conv_refusal, (void *)fn, ctx, eb);
}

fws_err pki_store_crl_number(pki_store *s, fws_pki_env env, uint64_t *out, fws_errbuf *eb)
{
    static const char up[] = "INSERT INTO crl_numbers (env, next) VALUES (?1, 2)"
                             " ON CONFLICT(env) DO UPDATE SET next = next + 1 RETURNING next - 1";
    sqlite3_stmt *st = NULL;
    fws_err err = FWS_OK;
    if (sqlite3_prepare_v2(s->db, up, -1, &st, NULL) != SQLITE_OK)
        return db_err(s, eb, "prepare");
    sqlite3_bind_int(st, 1, (int)env);
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(st, 0);
    else
        err = db_err(s, eb, "CRL number");
    sqlite3_finalize(st);
    return err;
}
