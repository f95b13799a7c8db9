/* The log's SQLite index (WAL): entry digest -> index (deduplication) and record fields ->
 * index (search). Derived data: the tiles are the truth and the writer rebuilds what is
 * missing, so commits need not be synchronous (synchronous=NORMAL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "fwseal/core.h"
#include "writer_internal.h"

struct ledger_index {
    sqlite3 *db;
    sqlite3_stmt *lookup, *insert, *set_size, *get_size;
};

/* Schema version in PRAGMA user_version; an index of another version is rebuilt. Digests are
 * found through their first 8 bytes (h, a small random key keeps the index compact: fewer
 * pages touched per batch) and confirmed against the full digest in the row. */
#define IX_SCHEMA 1

static const char schema_sql[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA wal_autocheckpoint=8192;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS entries(idx INTEGER PRIMARY KEY, h INTEGER NOT NULL,"
    " digest BLOB NOT NULL, type INTEGER, device TEXT, product TEXT, version TEXT);"
    "CREATE INDEX IF NOT EXISTS entries_h ON entries(h);"
    "CREATE INDEX IF NOT EXISTS entries_device ON entries(device, idx)"
    " WHERE device IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS entries_release ON entries(product, version, idx)"
    " WHERE product IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS entries_type ON entries(type, idx) WHERE type IS NOT NULL;"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('size', 0);"
    "PRAGMA user_version=1;";

static const char drop_sql[] = "DROP TABLE IF EXISTS entries; DROP TABLE IF EXISTS meta;";

static sqlite3_int64 digest_key(const uint8_t digest[FWS_SHA256_LEN])
{
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 8 | digest[i];
    return (sqlite3_int64)h;
}

static fws_err db_err(ledger_index *ix, const char *what, fws_errbuf *eb)
{
    return fws_errf(eb, FWS_ERR_IO, "index.sqlite: %s: %s", what, sqlite3_errmsg(ix->db));
}

static fws_err prepare(ledger_index *ix, const char *sql, sqlite3_stmt **st, fws_errbuf *eb)
{
    if (sqlite3_prepare_v2(ix->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_err(ix, "prepare", eb);
    return FWS_OK;
}

void ix_close(ledger_index *ix)
{
    if (ix == NULL)
        return;
    sqlite3_finalize(ix->lookup);
    sqlite3_finalize(ix->insert);
    sqlite3_finalize(ix->set_size);
    sqlite3_finalize(ix->get_size);
    sqlite3_close(ix->db);
    free(ix);
}

static int user_version(ledger_index *ix)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(ix->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Creates the tables, or drops an index of another schema first (the writer rebuilds its
 * rows from the tiles). */
static fws_err create_schema(ledger_index *ix, fws_errbuf *eb)
{
    int v = user_version(ix);
    if (v != IX_SCHEMA && sqlite3_exec(ix->db, drop_sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_err(ix, "dropping an index of another version", eb);
    if (sqlite3_exec(ix->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_err(ix, "schema", eb);
    return FWS_OK;
}

fws_err ix_open(const char *path, int readonly, ledger_index **out, fws_errbuf *eb)
{
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    ledger_index *ix = calloc(1, sizeof(*ix));
    fws_err err = FWS_OK;

    if (ix == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    if (sqlite3_open_v2(path, &ix->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        err = fws_errf(eb, FWS_ERR_IO, "%s: %s", path,
                       ix->db ? sqlite3_errmsg(ix->db) : "cannot open");
        goto out;
    }
    sqlite3_busy_timeout(ix->db, 10000);
    if (!readonly)
        err = create_schema(ix, eb);
    if (err != FWS_OK)
        goto out;
    sqlite3_exec(ix->db, "PRAGMA cache_size=-65536;", NULL, NULL, NULL);
    err = prepare(ix, "SELECT idx, digest FROM entries WHERE h = ?1", &ix->lookup, eb);
    if (err == FWS_OK)
        err = prepare(ix, "SELECT value FROM meta WHERE key = 'size'", &ix->get_size, eb);
    if (err == FWS_OK && !readonly)
        err = prepare(ix,
                      "INSERT OR IGNORE INTO entries(idx, h, digest, type, device, product,"
                      " version) VALUES(?1, ?7, ?2, ?3, ?4, ?5, ?6)",
                      &ix->insert, eb);
    if (err == FWS_OK && !readonly)
        err = prepare(ix, "UPDATE meta SET value = ?1 WHERE key = 'size'", &ix->set_size, eb);
out:
    if (err != FWS_OK) {
        ix_close(ix);
        return err;
    }
    *out = ix;
    return FWS_OK;
}

fws_err ix_size(ledger_index *ix, uint64_t *size, fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    int rc = sqlite3_step(ix->get_size);
    if (rc == SQLITE_ROW && sqlite3_column_int64(ix->get_size, 0) >= 0)
        *size = (uint64_t)sqlite3_column_int64(ix->get_size, 0);
    else if (rc == SQLITE_DONE)
        *size = 0;
    else
        err = db_err(ix, "reading its size", eb);
    sqlite3_reset(ix->get_size);
    return err;
}

fws_err ix_lookup(ledger_index *ix, const uint8_t digest[FWS_SHA256_LEN], uint64_t *index,
                  int *found, fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    int rc;
    *found = 0;
    sqlite3_bind_int64(ix->lookup, 1, digest_key(digest));
    while ((rc = sqlite3_step(ix->lookup)) == SQLITE_ROW) {
        const void *d = sqlite3_column_blob(ix->lookup, 1);
        if (d != NULL && sqlite3_column_bytes(ix->lookup, 1) == FWS_SHA256_LEN &&
            fws_ct_eq(d, digest, FWS_SHA256_LEN)) {
            *index = (uint64_t)sqlite3_column_int64(ix->lookup, 0);
            *found = 1;
            break;
        }
    }
    if (!*found && rc != SQLITE_DONE)
        err = db_err(ix, "lookup", eb);
    sqlite3_reset(ix->lookup);
    return err;
}

fws_err ix_begin(ledger_index *ix, fws_errbuf *eb)
{
    if (sqlite3_exec(ix->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_err(ix, "begin", eb);
    return FWS_OK;
}

static void bind_text(sqlite3_stmt *st, int col, const char *s)
{
    if (s != NULL && s[0] != '\0')
        sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, col);
}

fws_err ix_add(ledger_index *ix, uint64_t index, const uint8_t digest[FWS_SHA256_LEN],
               const fws_record_info *info, fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    if (index > INT64_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "index.sqlite: index past 2^63");
    sqlite3_bind_int64(ix->insert, 1, (sqlite3_int64)index);
    sqlite3_bind_blob(ix->insert, 2, digest, FWS_SHA256_LEN, SQLITE_STATIC);
    if (info != NULL)
        sqlite3_bind_int(ix->insert, 3, (int)info->type);
    else
        sqlite3_bind_null(ix->insert, 3);
    bind_text(ix->insert, 4, info ? info->device : NULL);
    bind_text(ix->insert, 5, info ? info->product : NULL);
    bind_text(ix->insert, 6, info ? info->version : NULL);
    sqlite3_bind_int64(ix->insert, 7, digest_key(digest));
    if (sqlite3_step(ix->insert) != SQLITE_DONE)
        err = db_err(ix, "insert", eb);
    sqlite3_reset(ix->insert);
    sqlite3_clear_bindings(ix->insert);
    return err;
}

fws_err ix_commit(ledger_index *ix, uint64_t new_size, fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    sqlite3_bind_int64(ix->set_size, 1, (sqlite3_int64)new_size);
    if (sqlite3_step(ix->set_size) != SQLITE_DONE)
        err = db_err(ix, "update size", eb);
    sqlite3_reset(ix->set_size);
    if (err == FWS_OK && sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        err = db_err(ix, "commit", eb);
    if (err != FWS_OK)
        ix_rollback(ix);
    return err;
}

void ix_rollback(ledger_index *ix)
{
    if (!sqlite3_get_autocommit(ix->db))
        sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
}

fws_err ix_truncate(ledger_index *ix, uint64_t size, fws_errbuf *eb)
{
    sqlite3_stmt *st = NULL;
    fws_err err = ix_begin(ix, eb);
    if (err == FWS_OK)
        err = prepare(ix, "DELETE FROM entries WHERE idx >= ?1", &st, eb);
    if (err == FWS_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
        if (sqlite3_step(st) != SQLITE_DONE)
            err = db_err(ix, "truncate", eb);
    }
    sqlite3_finalize(st);
    if (err == FWS_OK)
        return ix_commit(ix, size, eb);
    ix_rollback(ix);
    return err;
}

fws_err ix_search(ledger_index *ix, const fws_ledger_query *q, uint64_t after, uint64_t *out,
                  size_t cap, size_t *n, fws_errbuf *eb)
{
    char sql[320] = "SELECT idx FROM entries WHERE idx > ?1";
    sqlite3_stmt *st = NULL;
    size_t count = 0;
    int rc = SQLITE_DONE;

    if (q->type != 0)
        strcat(sql, " AND type = ?2");
    if (q->device != NULL)
        strcat(sql, " AND device = ?3");
    if (q->product != NULL)
        strcat(sql, " AND product = ?4");
    if (q->version != NULL)
        strcat(sql, " AND version = ?5");
    strcat(sql, " ORDER BY idx LIMIT ?6");
    fws_err err = prepare(ix, sql, &st, eb);
    if (err != FWS_OK)
        return err;
    sqlite3_bind_int64(st, 1, after == UINT64_MAX ? -1 : (sqlite3_int64)after);
    sqlite3_bind_int(st, 2, (int)q->type);
    sqlite3_bind_text(st, 3, q->device ? q->device : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, q->product ? q->product : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, q->version ? q->version : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)(cap > INT32_MAX ? INT32_MAX : cap));
    while (count < cap && (rc = sqlite3_step(st)) == SQLITE_ROW)
        out[count++] = (uint64_t)sqlite3_column_int64(st, 0);
    if (count < cap && rc != SQLITE_DONE)
        err = db_err(ix, "search", eb);
    sqlite3_finalize(st);
    if (err == FWS_OK)
        *n = count;
    return err;
}

/* ---- read-only use from outside the writer -----------------------------------------------------
 */

static fws_err open_readonly(const char *dir, ledger_index **ix, fws_errbuf *eb)
{
    char path[FWS_TILE_DIR_MAX + 32];
    if (dir == NULL || strlen(dir) >= FWS_TILE_DIR_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "no log directory");
    snprintf(path, sizeof(path), "%s/%s", dir, WR_INDEX);
    return ix_open(path, 1, ix, eb);
}

fws_err fws_ledger_search(const char *dir, const fws_ledger_query *q, uint64_t after, uint64_t *out,
                          size_t cap, size_t *n, fws_errbuf *eb)
{
    ledger_index *ix = NULL;
    if (q == NULL || (out == NULL && cap > 0) || n == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no query");
    fws_err err = open_readonly(dir, &ix, eb);
    if (err == FWS_OK)
        err = ix_search(ix, q, after, out, cap, n, eb);
    ix_close(ix);
    return err;
}

fws_err fws_ledger_find_digest(const char *dir, const uint8_t digest[FWS_SHA256_LEN],
                               uint64_t *index, fws_errbuf *eb)
{
    ledger_index *ix = NULL;
    int found = 0;
    uint64_t idx = 0;
    fws_err err = open_readonly(dir, &ix, eb);
    if (err == FWS_OK)
        err = ix_lookup(ix, digest, &idx, &found, eb);
    ix_close(ix);
    if (err == FWS_OK && !found)
        err = fws_errf(eb, FWS_ERR_NOT_FOUND, "%s: no entry with that digest", dir);
    if (err == FWS_OK)
        *index = idx;
    return err;
}
