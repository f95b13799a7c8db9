/* fws_backup_restore: everything is extracted into a staging directory beside the target and
 * checked there: the strict archive profile, every member against BACKUP.json (which must come
 * last, before the end of the archive), the sealed keys' authentication, the ledger recomputed
 * from its tiles against its signed checkpoint and reopened by the ledger writer (which checks
 * the tree state and rebuilds the index), and the databases' integrity. Only then is the
 * staging directory renamed into place; a corrupted or truncated backup leaves nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "audit/backup.h"
#include "fwseal/json.h"
#include "fwseal/util.h"

#define MANIFEST_MAX (256u << 20)
#define KEYS_MAX (64u << 20)
#define CHUNK (256u * 1024)

typedef struct rs {
    const fws_restore_opts *o;
    fws_backup_info *info;
    char stage[4200];
    json_t *seen;
    uint8_t *manifest, *keys;
    size_t manifest_len, keys_len;
} rs;

static fws_err dest_path(rs *r, const char *name, char *out, size_t cap, fws_errbuf *eb)
{
    size_t pl = strlen(AU_BACKUP_PREFIX);
    int n;
    if (strncmp(name, AU_BACKUP_PREFIX, pl) == 0 && name[pl] != '\0')
        n = snprintf(out, cap, "%s/%s", r->stage, name + pl);
    else if (strcmp(name, AU_BACKUP_STORE) == 0)
        n = snprintf(out, cap, "%s/fwseal.sqlite", r->stage);
    else
        return fws_errf(eb, FWS_ERR_FORMAT, "%.200s: not a member of a backup", name);
    if (n < 0 || (size_t)n >= cap)
        return fws_errf(eb, FWS_ERR_ARG, "%.200s: path too long", name);
    char dir[4600];
    snprintf(dir, sizeof(dir), "%s", out);
    *strrchr(dir, '/') = '\0';
    return fws_mkdirs(dir, 0755, eb);
}

static fws_err write_all(int fd, const uint8_t *p, size_t n, const char *path, fws_errbuf *eb)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return fws_errf(eb, FWS_ERR_IO, "%s: %s", path, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return FWS_OK;
}

/* Streams one member to path (or into memory when mem is not NULL), hashing it. */
static fws_err extract(fws_tar_stream *s, const char *path, unsigned mode, uint8_t **mem,
                       size_t cap, uint8_t digest[32], uint64_t *size, fws_errbuf *eb)
{
    fws_sha256_ctx h;
    size_t n = 0, have = 0;
    fws_err err = FWS_OK;
    int fd = -1;
    uint8_t *buf = malloc(CHUNK); /* not a static buffer: static TLS costs every process */
    if (buf == NULL)
        return FWS_ERR_NOMEM;
    if (mem == NULL && (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0) {
        free(buf);
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", path, strerror(errno));
    }
    if (mem != NULL && (*mem = malloc(cap + 1)) == NULL) {
        free(buf);
        return FWS_ERR_NOMEM;
    }
    fws_sha256_init(&h);
    while ((err = fws_tar_stream_read(s, buf, CHUNK, &n, eb)) == FWS_OK && n > 0) {
        fws_sha256_update(&h, buf, n);
        if (mem != NULL && have + n > cap)
            err = fws_errf(eb, FWS_ERR_TOO_BIG, "%s: over %zu bytes", path, cap);
        else if (mem != NULL)
            memcpy(*mem + have, buf, n);
        else
            err = write_all(fd, buf, n, path, eb);
        have += n;
        if (err != FWS_OK)
            break;
    }
    if (fd >= 0 && close(fd) != 0 && err == FWS_OK)
        err = fws_errf(eb, FWS_ERR_IO, "%s: %s", path, strerror(errno));
    free(buf);
    fws_sha256_final(&h, digest);
    *size = have;
    return err;
}

static fws_err member(rs *r, fws_tar_stream *s, const fws_tar_header *h, fws_errbuf *eb)
{
    char path[4700], hex[65];
    uint8_t d[32];
    uint64_t size = 0;
    fws_err err;
    if (r->manifest != NULL)
        return fws_errf(eb, FWS_ERR_FORMAT, "%.200s: after %s", h->name, AU_BACKUP_MANIFEST);
    if (strcmp(h->name, AU_BACKUP_MANIFEST) == 0) {
        err = extract(s, h->name, 0, &r->manifest, MANIFEST_MAX, d, &size, eb);
        r->manifest_len = (size_t)size;
        return err;
    }
    if (strcmp(h->name, AU_BACKUP_KEYS) == 0) {
        err = extract(s, h->name, 0, &r->keys, KEYS_MAX, d, &size, eb);
        r->keys_len = (size_t)size;
    } else {
        int db = strstr(h->name, ".sqlite") != NULL;
        err = dest_path(r, h->name, path, sizeof(path), eb);
        if (err == FWS_OK)
            err = extract(s, path, db ? 0600 : 0644, NULL, 0, d, &size, eb);
    }
    if (err != FWS_OK)
        return err;
    fws_hex_encode(d, 32, hex);
    r->info->members++;
    r->info->bytes += size;
    if (json_object_get(r->seen, h->name) != NULL)
        return fws_errf(eb, FWS_ERR_FORMAT, "%.200s: twice in the backup", h->name);
    return json_object_set_new(r->seen, h->name,
                               json_pack("{s:s, s:I}", "sha256", hex, "size", (json_int_t)size))
               ? FWS_ERR_NOMEM
               : FWS_OK;
}

static fws_err read_archive(rs *r, fws_errbuf *eb)
{
    fws_tar_stream s;
    fws_tar_header h;
    fws_err err;
    int fd = open(r->o->backup, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fws_errf(eb, errno == ENOENT ? FWS_ERR_NOT_FOUND : FWS_ERR_IO, "%s: %s",
                        r->o->backup, strerror(errno));
    fws_tar_stream_init(&s, fd, 0);
    while ((err = fws_tar_stream_next(&s, &h, eb)) == FWS_OK) {
        if ((err = member(r, &s, &h, eb)) != FWS_OK)
            break;
    }
    close(fd);
    if (err != FWS_ERR_NOT_FOUND)
        return err;
    if (r->manifest == NULL)
        return fws_errf(eb, FWS_ERR_LENGTH, "%s: no %s (truncated?)", r->o->backup,
                        AU_BACKUP_MANIFEST);
    return FWS_OK;
}

static fws_err check_manifest(rs *r, json_t **links, fws_errbuf *eb)
{
    static const char *const keys[] = {"created", "format", "links", "members", "treeSize", NULL};
    json_t *m = NULL, *members = NULL;
    const char *format = NULL;
    int64_t size = 0;
    fws_err err = fws_json_parse(r->manifest, r->manifest_len, FWS_JSON_CANONICAL, NULL, &m, eb);
    if (err != FWS_OK)
        return fws_errf(eb, FWS_ERR_FORMAT, "%s is damaged", AU_BACKUP_MANIFEST);
    if ((err = fws_json_only_keys(m, keys, eb)) == FWS_OK &&
        (err = fws_json_get_string(m, "format", &format, eb)) == FWS_OK &&
        (err = fws_json_get_int(m, "treeSize", &size, eb)) == FWS_OK &&
        (err = fws_json_get_object(m, "members", &members, eb)) == FWS_OK &&
        (err = fws_json_get_object(m, "links", links, eb)) == FWS_OK &&
        strcmp(format, FWS_BACKUP_FORMAT) != 0)
        err = fws_errf(eb, FWS_ERR_UNSUPPORTED, "backup format \"%.64s\"", format);
    if (err == FWS_OK && !json_equal(members, r->seen)) {
        const char *name;
        json_t *v;
        err =
            fws_errf(eb, FWS_ERR_DIGEST, "the backup's members differ from %s", AU_BACKUP_MANIFEST);
        json_object_foreach(members, name, v)
        {
            if (!json_equal(v, json_object_get(r->seen, name))) {
                fws_errbuf_clear(eb);
                err = fws_errf(eb, FWS_ERR_DIGEST, "%.200s: %s", name,
                               json_object_get(r->seen, name) ? "damaged (checksum)" : "missing");
                break;
            }
        }
    }
    r->info->tree_size = (uint64_t)size;
    json_incref(*links);
    json_decref(m);
    return err;
}

static fws_err make_links(rs *r, json_t *links, fws_errbuf *eb)
{
    const char *name;
    json_t *v;
    json_object_foreach(links, name, v)
    {
        char from[4700], to[4700];
        const char *target = json_string_value(v);
        if (target == NULL || !fws_tar_name_ok(target, strlen(target)) ||
            json_object_get(r->seen, target) == NULL ||
            strncmp(name, AU_BACKUP_PREFIX, strlen(AU_BACKUP_PREFIX)) != 0 ||
            strstr(name, "/.") != NULL || strstr(name, "//") != NULL ||
            name[strlen(name) - 1] == '/' || strlen(name) > 1024)
            return fws_errf(eb, FWS_ERR_FORMAT, "%s: bad link %.200s", AU_BACKUP_MANIFEST, name);
        fws_err err = dest_path(r, target, to, sizeof(to), eb);
        if (err == FWS_OK)
            err = dest_path(r, name, from, sizeof(from), eb);
        if (err == FWS_OK && link(to, from) != 0)
            err = fws_errf(eb, FWS_ERR_IO, "%s: %s", from, strerror(errno));
        if (err != FWS_OK)
            return err;
    }
    return FWS_OK;
}

static fws_err unseal_keys(rs *r, fws_errbuf *eb)
{
    uint8_t *plain = NULL;
    size_t len = 0;
    fws_tar_reader tr;
    fws_tar_member m;
    if (r->keys == NULL || r->o->pp == NULL)
        return FWS_OK;
    fws_err err = au_unseal(r->o->pp, r->keys, r->keys_len, &plain, &len, eb);
    if (err != FWS_OK)
        return err;
    fws_tar_reader_init(&tr, plain, len, 0);
    while ((err = fws_tar_next(&tr, &m, eb)) == FWS_OK) {
        char path[4700];
        if ((err = dest_path(r, m.h.name, path, sizeof(path), eb)) != FWS_OK)
            break;
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        err = fd < 0 ? fws_errf(eb, FWS_ERR_IO, "%s: %s", path, strerror(errno))
                     : write_all(fd, m.data, (size_t)m.h.size, path, eb);
        if (fd >= 0)
            close(fd);
        if (err != FWS_OK)
            break;
    }
    fws_wipe(plain, len);
    free(plain);
    r->info->keys = err == FWS_ERR_NOT_FOUND;
    return err == FWS_ERR_NOT_FOUND ? FWS_OK : err;
}

/* The restored ledger: its tiles recompute to its signed checkpoint, and the writer reopens it
 * (tree state, checkpoint, index rebuilt). */
static fws_err check_ledger(rs *r, fws_errbuf *eb)
{
    char dir[4300], cp[FWS_NOTE_MAX];
    fws_ledger_status st;
    fws_note_vkey key;
    fws_tile_dir td;
    fws_tile_source src;
    fws_tlog *t = NULL;
    fws_note note;
    fws_checkpoint c;
    fws_ledger *l = NULL;
    size_t len = 0;
    snprintf(dir, sizeof(dir), "%s/ledger", r->stage);
    if (access(dir, F_OK) != 0)
        return FWS_OK;
    fws_err err = fws_ledger_info(dir, &st, eb);
    if (err == FWS_OK && r->o->log_key != NULL)
        key = *r->o->log_key;
    else if (err == FWS_OK)
        err = fws_note_vkey_parse(st.vkey, strlen(st.vkey), &key, eb);
    if (err == FWS_OK && (err = fws_tile_dir_source(&td, dir, &src, eb)) == FWS_OK &&
        (err = fws_tlog_open(&src, &fws_sha256_ops, &t, eb)) == FWS_OK &&
        (err = fws_tlog_fetch_checkpoint(t, cp, sizeof(cp), &len, eb)) == FWS_OK &&
        (err = fws_checkpoint_open(cp, len, &key, NULL, &note, &c, eb)) == FWS_OK)
        err = fws_tlog_audit_tiles(t, c.size, c.root, NULL, eb);
    fws_tlog_close(t);
    if (err == FWS_OK && (err = fws_ledger_open(dir, NULL, &l, eb)) == FWS_OK)
        fws_ledger_close(l);
    return err != FWS_OK ? fws_errf(eb, err, "the restored ledger does not verify") : FWS_OK;
}

static fws_err finish(rs *r, fws_errbuf *eb)
{
    char path[4300];
    json_t *links = NULL;
    fws_err err = check_manifest(r, &links, eb);
    if (err == FWS_OK)
        err = make_links(r, links, eb);
    json_decref(links);
    if (err == FWS_OK)
        err = unseal_keys(r, eb);
    if (err == FWS_OK)
        err = check_ledger(r, eb);
    snprintf(path, sizeof(path), "%s/fwseal.sqlite", r->stage);
    r->info->store = access(path, F_OK) == 0;
    if (err == FWS_OK && r->info->store)
        err = au_sqlite_check(path, eb);
    snprintf(path, sizeof(path), "%s/pki/inventory.sqlite", r->stage);
    r->info->inventory = access(path, F_OK) == 0;
    if (err == FWS_OK && r->info->inventory)
        err = au_sqlite_check(path, eb);
    return err;
}

fws_err fws_backup_restore(const fws_restore_opts *o, fws_backup_info *info, fws_errbuf *eb)
{
    fws_backup_info inf;
    rs r = {.o = o, .info = &inf};
    memset(&inf, 0, sizeof(inf));
    if (o == NULL || o->backup == NULL || o->dir == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "restore: missing argument");
    if (access(o->dir, F_OK) == 0 && rmdir(o->dir) != 0)
        return fws_errf(eb, FWS_ERR_EXISTS, "%s exists and is not an empty directory", o->dir);
    if (snprintf(r.stage, sizeof(r.stage), "%s.restore.XXXXXX", o->dir) >= (int)sizeof(r.stage) ||
        mkdtemp(r.stage) == NULL)
        return fws_errf(eb, FWS_ERR_IO, "%s: cannot make a staging directory", o->dir);
    r.seen = json_object();
    fws_err err = r.seen != NULL ? read_archive(&r, eb) : FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = finish(&r, eb);
    if (err == FWS_OK && rename(r.stage, o->dir) != 0)
        err = fws_errf(eb, FWS_ERR_IO, "%s: %s", o->dir, strerror(errno));
    if (err != FWS_OK)
        au_rmtree(r.stage);
    json_decref(r.seen);
    free(r.manifest);
    if (r.keys != NULL)
        fws_wipe(r.keys, r.keys_len);
    free(r.keys);
    if (err == FWS_OK && info != NULL)
        *info = inf;
    return err;
}
