/* fws_backup_create: a consistent online snapshot of a deployment in one archive.
 *   deploy/...            the deployment's files (TUF repository, release index, PKI
 *                         certificates and CRLs, configuration), sorted by name
 *   deploy/ledger/...     log.json, the checkpoint, then the tree-state and the tiles of the
 *                         tree-state's size (read in that order, so the copy is one the ledger
 *                         reopens: the checkpoint never runs ahead of the tree state)
 *   deploy/pki/inventory.sqlite, store/fwseal.sqlite   SQLite online backup API copies
 *   keys.sealed           private keys, only when asked: a ustar archive sealed with a
 *                         passphrase (seal.c)
 *   BACKUP.json           last: canonical JSON listing every member's SHA-256 and size, and the
 *                         hard links of the repository (files kept under two hashes)
 * Lock files, temporary files, the ledger's derived index and the paths in opts.exclude are left
 * out. */
#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "audit/backup.h"
#include "audit/tilescopy.h"
#include "fwseal/json.h"
#include "fwseal/store.h"
#include "fwseal/util.h"

#define KEY_SNIFF 65536
#define FILE_MAX ((uint64_t)64 << 30)

typedef struct inode_seen {
    dev_t dev;
    ino_t ino;
    char name[FWS_TAR_NAME_MAX + 1];
} inode_seen;

typedef struct bk {
    const fws_backup_opts *o;
    fws_backup_info *info;
    fws_tar_writer w;
    json_t *members, *links;
    fws_tar_writer kw; /* keys, into a temporary file */
    FILE *keys;
    char tmp[64];
    inode_seen *seen;
    size_t n_seen, cap_seen;
    json_t *pending; /* names no ustar header can hold: resolved as links after the walk */
} bk;

static fws_err note(bk *b, const char *name, const uint8_t d[32], uint64_t size)
{
    char hex[65];
    fws_hex_encode(d, 32, hex);
    b->info->members++;
    b->info->bytes += size;
    return json_object_set_new(b->members, name,
                               json_pack("{s:s, s:I}", "sha256", hex, "size", (json_int_t)size))
               ? FWS_ERR_NOMEM
               : FWS_OK;
}

static fws_err add_mem(bk *b, const char *name, const void *data, size_t len, fws_errbuf *eb)
{
    uint8_t d[32];
    fws_err err = fws_tar_add(&b->w, name, data, len, d, eb);
    return err == FWS_OK ? note(b, name, d, len) : err;
}

static fws_err add_file(bk *b, const char *name, const char *path, fws_errbuf *eb)
{
    uint8_t d[32];
    uint64_t size = 0;
    fws_err err = fws_tar_add_file(&b->w, name, path, FILE_MAX, d, &size, eb);
    return err == FWS_OK ? note(b, name, d, size) : err;
}

static int is_key_file(const char *path)
{
    char buf[KEY_SNIFF + 1];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, KEY_SNIFF, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, "PRIVATE KEY-----") != NULL;
}

static int skipped(const bk *b, const char *rel, const char *base)
{
    for (const char *const *x = b->o->exclude; x != NULL && *x != NULL; x++) {
        if (strcmp(rel, *x) == 0)
            return 1;
    }
    static const char *const exact[] = {"fwseal.lock",
                                        "fwseal.sqlite",
                                        "fwseal.sqlite-wal",
                                        "fwseal.sqlite-shm",
                                        "pki/inventory.sqlite",
                                        "pki/inventory.sqlite-wal",
                                        "pki/inventory.sqlite-shm",
                                        NULL};
    for (size_t i = 0; exact[i] != NULL; i++) {
        if (strcmp(rel, exact[i]) == 0)
            return 1;
    }
    return strncmp(rel, "ledger", 6) == 0 && (rel[6] == '\0' || rel[6] == '/')
               ? 1
               : strstr(base, ".lock") != NULL || strstr(base, ".tmp") != NULL || base[0] == '.';
}

/* A file already archived under another name (a hard link): recorded, not copied again. */
static int linked(bk *b, const struct stat *st, const char *name)
{
    for (size_t i = 0; st->st_nlink > 1 && i < b->n_seen; i++) {
        if (b->seen[i].dev == st->st_dev && b->seen[i].ino == st->st_ino) {
            json_object_set_new(b->links, name, json_string(b->seen[i].name));
            return 1;
        }
    }
    if (st->st_nlink > 1 &&
        (b->n_seen < b->cap_seen ||
         (b->cap_seen = b->cap_seen * 2 + 64,
          b->seen = realloc(b->seen, b->cap_seen * sizeof(*b->seen))) != NULL)) {
        inode_seen *s = &b->seen[b->n_seen++];
        s->dev = st->st_dev;
        s->ino = st->st_ino;
        snprintf(s->name, sizeof(s->name), "%s", name);
    }
    return 0;
}

static fws_err walk(bk *b, const char *dir, const char *rel, fws_errbuf *eb)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, NULL, alphasort);
    fws_err err = n < 0 ? fws_errf(eb, FWS_ERR_IO, "%s: cannot list", dir) : FWS_OK;
    for (int i = 0; i < n; i++) {
        char path[4600], r[4600], name[4700];
        struct stat st;
        const char *base = list[i]->d_name;
        if (err != FWS_OK || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
            goto next;
        snprintf(path, sizeof(path), "%s/%s", dir, base);
        snprintf(r, sizeof(r), "%s%s%s", rel, rel[0] ? "/" : "", base);
        snprintf(name, sizeof(name), AU_BACKUP_PREFIX "%s", r);
        if (skipped(b, r, base) || lstat(path, &st) != 0)
            goto next;
        if (S_ISDIR(st.st_mode))
            err = walk(b, path, r, eb);
        else if (!S_ISREG(st.st_mode))
            ;
        else if (!fws_tar_name_ok(name, strlen(name)))
            err = json_object_set_new(b->pending, name,
                                      json_pack("{s:I, s:I}", "dev", (json_int_t)st.st_dev, "ino",
                                                (json_int_t)st.st_ino))
                      ? FWS_ERR_NOMEM
                      : FWS_OK;
        else if (linked(b, &st, name))
            ;
        else if (is_key_file(path)) {
            if (b->o->include_keys)
                err = fws_tar_add_file(&b->kw, name, path, KEY_SNIFF, NULL, NULL, eb);
        } else
            err = add_file(b, name, path, eb);
    next:
        free(list[i]);
    }
    free(list);
    return err;
}

/* Files whose names no header can hold must be hard links of archived files (the repository
 * keeps each target under its SHA-256 and its SHA-512 name). */
static fws_err resolve_pending(bk *b, fws_errbuf *eb)
{
    const char *name;
    json_t *v;
    json_object_foreach(b->pending, name, v)
    {
        dev_t dev = (dev_t)json_integer_value(json_object_get(v, "dev"));
        ino_t ino = (ino_t)json_integer_value(json_object_get(v, "ino"));
        size_t i = 0;
        while (i < b->n_seen && !(b->seen[i].dev == dev && b->seen[i].ino == ino))
            i++;
        if (i == b->n_seen)
            return fws_errf(eb, FWS_ERR_UNSUPPORTED, "%.200s: name too long for the archive", name);
        json_object_set_new(b->links, name, json_string(b->seen[i].name));
    }
    return FWS_OK;
}

typedef struct ledger_copy {
    bk *b;
    fws_tlog *t;
    uint64_t size;    /* the tree state's */
    uint64_t cp_size; /* the checkpoint's, at most size */
    uint8_t *buf;
} ledger_copy;

static fws_err tile(void *ctx, const fws_tile_id *id, fws_errbuf *eb)
{
    ledger_copy *lc = ctx;
    char path[FWS_TILE_PATH_MAX], name[FWS_TILE_PATH_MAX + 32];
    size_t len = 0, plen = 0;
    fws_err err = au_tile_bytes(lc->t, lc->size, id, lc->buf, FWS_BUNDLE_MAX, &len, eb);
    if (err == FWS_OK)
        err = fws_tile_path(id, path, &plen);
    snprintf(name, sizeof(name), AU_BACKUP_PREFIX "ledger/%s", path);
    return err == FWS_OK ? add_mem(lc->b, name, lc->buf, len, eb) : err;
}

/* The partial tiles of the checkpoint's smaller tree (the checkpoint may lag the tree state
 * on a running server), cut from the copy's own tiles; those it shares with the tree state's
 * tree are already in the archive. */
static fws_err lagging_tile(void *ctx, const fws_tile_id *id, fws_errbuf *eb)
{
    ledger_copy *lc = ctx;
    if (id->width == FWS_TILE_WIDTH || fws_tile_width(id->level, id->index, lc->size) == id->width)
        return FWS_OK;
    char path[FWS_TILE_PATH_MAX], name[FWS_TILE_PATH_MAX + 32];
    size_t len = 0, plen = 0;
    fws_err err = au_tile_bytes(lc->t, lc->cp_size, id, lc->buf, FWS_BUNDLE_MAX, &len, eb);
    if (err == FWS_OK)
        err = fws_tile_path(id, path, &plen);
    snprintf(name, sizeof(name), AU_BACKUP_PREFIX "ledger/%s", path);
    return err == FWS_OK ? add_mem(lc->b, name, lc->buf, len, eb) : err;
}

/* The size line of a checkpoint ("origin\n<size>\n<root>\n..."); 0 when unreadable. */
static uint64_t checkpoint_size(const uint8_t *cp, size_t len)
{
    const uint8_t *nl = memchr(cp, '\n', len);
    uint64_t v = 0;
    size_t i = nl != NULL ? (size_t)(nl - cp) + 1 : len;
    for (; i < len && cp[i] != '\n'; i++) {
        if (cp[i] < '0' || cp[i] > '9' || v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(cp[i] - '0');
    }
    return i < len ? v : 0;
}

static fws_err small(const char *dir, const char *file, uint8_t **data, size_t *len, fws_errbuf *eb)
{
    char path[4300];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    return fws_file_read(path, FWS_NOTE_MAX, data, len, eb);
}

/* The size line of "fwseal-tree-state/1\n<size>\n<root>\n". */
static int tree_state_size(const uint8_t *ts, size_t len, uint64_t *size)
{
    static const char hdr[] = "fwseal-tree-state/1\n";
    uint64_t v = 0;
    size_t i = sizeof(hdr) - 1;
    if (len < i + 2 || memcmp(ts, hdr, i) != 0)
        return 0;
    for (; i < len && ts[i] != '\n'; i++) {
        if (ts[i] < '0' || ts[i] > '9' || v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(ts[i] - '0');
    }
    *size = v;
    return i < len;
}

static fws_err ledger(bk *b, fws_errbuf *eb)
{
    char dir[4200];
    fws_tile_dir td;
    fws_tile_source src;
    uint8_t *cp = NULL, *ts = NULL, *lj = NULL;
    size_t cpl = 0, tsl = 0, ljl = 0;
    ledger_copy lc = {.b = b};
    au_path(dir, sizeof(dir), b->o->deploy, "ledger");
    if (access(dir, F_OK) != 0)
        return FWS_OK;
    fws_err err = small(dir, "log.json", &lj, &ljl, eb);
    if (err == FWS_OK) /* the checkpoint first, then the tree state: never the other way */
        err = small(dir, "checkpoint", &cp, &cpl, eb);
    if (err == FWS_OK)
        err = small(dir, "tree-state", &ts, &tsl, eb);
    if (err == FWS_OK && !tree_state_size(ts, tsl, &lc.size))
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s/tree-state: unreadable", dir);
    b->info->tree_size = lc.size;
    if (err == FWS_OK && (lc.buf = malloc(FWS_BUNDLE_MAX)) == NULL)
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK && (err = fws_tile_dir_source(&td, dir, &src, eb)) == FWS_OK &&
        (err = fws_tlog_open(&src, &fws_sha256_ops, &lc.t, eb)) == FWS_OK)
        err = au_tiles_each(lc.size, tile, &lc, eb);
    lc.cp_size = err == FWS_OK ? checkpoint_size(cp, cpl) : 0;
    if (err == FWS_OK && lc.cp_size > 0 && lc.cp_size < lc.size)
        err = au_tiles_each(lc.cp_size, lagging_tile, &lc, eb);
    if (err == FWS_OK)
        err = add_mem(b, AU_BACKUP_PREFIX "ledger/log.json", lj, ljl, eb);
    if (err == FWS_OK)
        err = add_mem(b, AU_BACKUP_PREFIX "ledger/checkpoint", cp, cpl, eb);
    if (err == FWS_OK)
        err = add_mem(b, AU_BACKUP_PREFIX "ledger/tree-state", ts, tsl, eb);
    fws_tlog_close(lc.t);
    free(lc.buf);
    free(lj);
    free(cp);
    free(ts);
    return err;
}

/* ---- databases ---------------------------------------------------------------------------- */

fws_err au_sqlite_snapshot(const char *src, const char *dest, fws_errbuf *eb)
{
    sqlite3 *from = NULL, *to = NULL;
    fws_err err = FWS_OK;
    if (sqlite3_open_v2(src, &from, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_open_v2(dest, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
        err = fws_errf(eb, FWS_ERR_IO, "%s: %s", src, sqlite3_errmsg(from ? from : to));
    if (err == FWS_OK) {
        sqlite3_busy_timeout(from, 10000);
        sqlite3_backup *job = sqlite3_backup_init(to, "main", from, "main");
        int rc = job != NULL ? sqlite3_backup_step(job, -1) : SQLITE_ERROR;
        while (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
            sqlite3_sleep(50);
            rc = sqlite3_backup_step(job, -1);
        }
        if (job != NULL)
            sqlite3_backup_finish(job);
        if (rc != SQLITE_DONE)
            err = fws_errf(eb, FWS_ERR_IO, "%s: online backup failed: %s", src, sqlite3_errmsg(to));
    }
    sqlite3_close(from);
    sqlite3_close(to);
    return err;
}

fws_err au_sqlite_check(const char *path, fws_errbuf *eb)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    fws_err err = FWS_OK;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: not an SQLite database", path);
    else if (strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: integrity check: %.200s", path,
                       (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return err;
}

static fws_err database(bk *b, const char *src, const char *name, int *included, fws_errbuf *eb)
{
    char dest[200];
    if (access(src, F_OK) != 0)
        return FWS_OK;
    snprintf(dest, sizeof(dest), "%s/db-%d.sqlite", b->tmp, (int)b->info->members);
    fws_err err = au_sqlite_snapshot(src, dest, eb);
    if (err == FWS_OK)
        err = add_file(b, name, dest, eb);
    unlink(dest);
    *included = err == FWS_OK;
    return err;
}

static fws_err databases(bk *b, fws_errbuf *eb)
{
    char path[FWS_STORE_PATH_MAX];
    fws_err err = FWS_OK;
    au_path(path, sizeof(path), b->o->deploy, "pki/inventory.sqlite");
    if ((err = database(b, path, AU_BACKUP_PREFIX "pki/inventory.sqlite", &b->info->inventory,
                        eb)) != FWS_OK ||
        b->o->skip_store)
        return err;
    if (b->o->store != NULL &&
        (err = fws_store_resolve(b->o->store, b->o->deploy, path, sizeof(path), eb)) != FWS_OK)
        return err;
    if (b->o->store == NULL)
        au_path(path, sizeof(path), b->o->deploy, "fwseal.sqlite");
    if (strncmp(path, "postgres://", 11) == 0 || strncmp(path, "postgresql://", 13) == 0)
        return fws_errf(eb, FWS_ERR_UNSUPPORTED,
                        "the store is PostgreSQL: dump it with pg_dump (docs/AUDIT.md) and back "
                        "up the rest with --no-store");
    if (strncmp(path, "sqlite:", 7) == 0)
        memmove(path, path + 7, strlen(path + 7) + 1);
    return database(b, path, AU_BACKUP_STORE, &b->info->store, eb);
}

static fws_err keys(bk *b, fws_errbuf *eb)
{
    uint8_t *plain = NULL, *sealed = NULL;
    size_t len = 0, slen = 0;
    fws_err err = fws_tar_finish(&b->kw, eb);
    if (err != FWS_OK)
        return err;
    long end = ftell(b->keys) >= 0 && fseek(b->keys, 0, SEEK_END) == 0 ? ftell(b->keys) : -1;
    if (end < 0 || (plain = malloc((size_t)end + 1)) == NULL)
        return FWS_ERR_NOMEM;
    len = (size_t)end;
    if (pread(fileno(b->keys), plain, len, 0) != (ssize_t)len)
        err = fws_errf(eb, FWS_ERR_IO, "reading the keys back");
    if (err == FWS_OK)
        err = au_seal(b->o->pp, plain, len, &sealed, &slen);
    fws_wipe(plain, len);
    free(plain);
    if (err == FWS_OK)
        err = add_mem(b, AU_BACKUP_KEYS, sealed, slen, eb);
    free(sealed);
    b->info->keys = err == FWS_OK;
    return err;
}

static fws_err manifest(bk *b, fws_errbuf *eb)
{
    char *text = NULL;
    size_t len = 0;
    json_t *m = json_pack("{s:s, s:I, s:I, s:O, s:O}", "format", FWS_BACKUP_FORMAT, "created",
                          (json_int_t)b->o->now, "treeSize", (json_int_t)b->info->tree_size,
                          "members", b->members, "links", b->links);
    fws_err err = m != NULL ? fws_json_canonical(m, &text, &len) : FWS_ERR_NOMEM;
    json_decref(m);
    if (err == FWS_OK)
        err = fws_tar_add(&b->w, AU_BACKUP_MANIFEST, text, len, NULL, eb);
    free(text);
    return err;
}

static fws_err write_backup(bk *b, fws_errbuf *eb)
{
    /* The ledger last: the databases and the repository name ledger entries, so every entry
     * they name is in the copy (the ledger only grows). */
    fws_err err = databases(b, eb);
    if (err == FWS_OK)
        err = walk(b, b->o->deploy, "", eb);
    if (err == FWS_OK)
        err = resolve_pending(b, eb);
    if (err == FWS_OK)
        err = ledger(b, eb);
    if (err == FWS_OK && b->o->include_keys)
        err = keys(b, eb);
    if (err == FWS_OK)
        err = manifest(b, eb);
    if (err == FWS_OK)
        err = fws_tar_finish(&b->w, eb);
    return err;
}

fws_err fws_backup_create(const fws_backup_opts *o, fws_backup_info *info, fws_errbuf *eb)
{
    fws_backup_info inf;
    bk b = {.o = o, .info = &inf};
    au_out out;
    memset(&inf, 0, sizeof(inf));
    if (o == NULL || o->deploy == NULL || o->out == NULL || (o->include_keys && o->pp == NULL))
        return fws_errf(eb, FWS_ERR_ARG, "backup: missing argument");
    snprintf(b.tmp, sizeof(b.tmp), "/tmp/fwseal-backup.XXXXXX");
    if (mkdtemp(b.tmp) == NULL)
        return fws_errf(eb, FWS_ERR_IO, "cannot make a temporary directory");
    b.members = json_object();
    b.links = json_object();
    b.pending = json_object();
    b.keys = o->include_keys ? tmpfile() : NULL;
    fws_err err =
        b.members && b.links && b.pending && (!o->include_keys || b.keys) ? FWS_OK : FWS_ERR_NOMEM;
    if (b.keys != NULL)
        fws_tar_writer_init(&b.kw, fileno(b.keys));
    if (err == FWS_OK && (err = au_out_open(&out, o->out, o->overwrite, eb)) == FWS_OK) {
        fws_tar_writer_init(&b.w, out.fd);
        err = write_backup(&b, eb);
        if (err == FWS_OK)
            err = au_out_commit(&out, o->overwrite, eb);
        else
            au_out_abort(&out);
    }
    if (b.keys != NULL)
        fclose(b.keys);
    au_rmtree(b.tmp);
    free(b.seen);
    json_decref(b.members);
    json_decref(b.links);
    json_decref(b.pending);
    if (err == FWS_OK && info != NULL)
        *info = inf;
    return err;
}
