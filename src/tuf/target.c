/* Target files: the cache check, the download (hash-prefixed under consistent snapshots), and
 * the verified, atomic store into the target directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "client_internal.h"
#include "fwseal/util.h"

#define READ_CHUNK 65536

fws_err fws_tuf_target_local_path(const char *target_dir, const fws_tuf_target *t, char **out,
                                  fws_errbuf *eb)
{
    char enc[3 * 4096 + 1];
    if (target_dir == NULL || t == NULL || t->path == NULL || out == NULL)
        return FWS_ERR_ARG;
    if (fws_tuf_name_encode(t->path, enc, sizeof(enc)) != FWS_OK || strlen(enc) > 255)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "target %.300s: name too long to store", t->path);
    *out = tuf_url_join(target_dir, enc);
    return *out == NULL ? FWS_ERR_NOMEM : FWS_OK;
}

/* 1 when path is a regular file with the target's length and hashes. */
static int already_there(const char *path, const fws_tuf_target *t)
{
    fws_tuf_hasher h;
    struct stat st;
    uint8_t *buf = NULL;
    int ok = 0, fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != t->length ||
        fws_tuf_hasher_init(&h, t->hashes, NULL) != FWS_OK || (buf = malloc(READ_CHUNK)) == NULL)
        goto out;
    uint64_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf, READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (uint64_t)n;
        fws_tuf_hasher_update(&h, buf, (size_t)n);
    }
    ok = got == t->length && fws_tuf_hasher_final(&h, "target", NULL) == FWS_OK;
out:
    free(buf);
    close(fd);
    return ok;
}

/* The hash a consistent-snapshot file name carries: sha256 when listed, else the first. */
static const char *name_hash(const json_t *hashes)
{
    const json_t *h = json_object_get(hashes, "sha256");
    if (h == NULL)
        h = json_object_iter_value(json_object_iter((json_t *)hashes));
    return json_string_value(h);
}

/* Appends s to out (cap bytes), percent-encoding what would change a URL's meaning. */
static int url_path_append(char *out, size_t cap, size_t *o, const char *s)
{
    static const char hexd[] = "0123456789ABCDEF";
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        int enc = c <= 0x20 || c >= 0x7f || strchr("%\"#?<>\\^`{|}", c) != NULL;
        if (*o + (enc ? 3 : 1) >= cap)
            return 0;
        if (enc) {
            out[(*o)++] = '%';
            out[(*o)++] = hexd[c >> 4];
            out[(*o)++] = hexd[c & 15];
        } else {
            out[(*o)++] = (char)c;
        }
    }
    out[*o] = '\0';
    return 1;
}

static char *target_url(const fws_tuf_client *c, const fws_tuf_target *t, const char *base)
{
    char rel[3 * 4096 + 160];
    size_t o = 0;
    const char *slash = strrchr(t->path, '/');
    const char *hash = name_hash(t->hashes);
    int prefixed = c->root.consistent_snapshot && c->cfg.prefix_targets_with_hash;
    rel[0] = '\0';
    if (!prefixed) {
        if (!url_path_append(rel, sizeof(rel), &o, t->path))
            return NULL;
        return tuf_url_join(base, rel);
    }
    if (slash != NULL) {
        char dir[4097];
        size_t n = (size_t)(slash - t->path) + 1;
        if (n >= sizeof(dir))
            return NULL;
        memcpy(dir, t->path, n);
        dir[n] = '\0';
        if (!url_path_append(rel, sizeof(rel), &o, dir))
            return NULL;
    }
    if (hash == NULL || strlen(hash) > 128 || !url_path_append(rel, sizeof(rel), &o, hash) ||
        !url_path_append(rel, sizeof(rel), &o, ".") ||
        !url_path_append(rel, sizeof(rel), &o, slash ? slash + 1 : t->path))
        return NULL;
    return tuf_url_join(base, rel);
}

/* The download sink: writes to the temporary file and hashes as bytes arrive. */
typedef struct file_sink {
    int fd;
    uint64_t got;
    fws_tuf_hasher h;
} file_sink;

static fws_err to_file(void *ctx, const uint8_t *data, size_t len)
{
    file_sink *f = ctx;
    fws_tuf_hasher_update(&f->h, data, len);
    f->got += len;
    while (len > 0) {
        ssize_t n = write(f->fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FWS_ERR_IO;
        data += n;
        len -= (size_t)n;
    }
    return FWS_OK;
}

static fws_err fetch_to(fws_tuf_client *c, const fws_tuf_target *t, const char *url,
                        const char *dir, const char *dest, fws_errbuf *eb)
{
    file_sink f;
    char *tmp = tuf_url_join(dir, ".fwseal-target.XXXXXX");
    fws_err err;

    if (tmp == NULL)
        return FWS_ERR_NOMEM;
    f.got = 0;
    if ((err = fws_tuf_hasher_init(&f.h, t->hashes, eb)) != FWS_OK) {
        free(tmp);
        return fws_errf(eb, err, "target %.300s", t->path);
    }
    if ((f.fd = mkstemp(tmp)) < 0) {
        err = fws_errf(eb, FWS_ERR_IO, "%.300s: %s", tmp, strerror(errno));
        free(tmp);
        return err;
    }
    err = c->fetcher->fetch(c->fetcher->impl, url, t->length, to_file, &f, eb);
    if (err == FWS_ERR_NOT_FOUND)
        err = fws_errf(eb, err, "%.300s: not found", url);
    else if (err == FWS_ERR_TOO_BIG)
        err = fws_errf(eb, FWS_ERR_LENGTH, "target %.300s: more than the signed %llu bytes",
                       t->path, (unsigned long long)t->length);
    if (err == FWS_OK && f.got != t->length)
        err = fws_errf(eb, FWS_ERR_LENGTH, "target %.300s: %llu bytes, the signed length is %llu",
                       t->path, (unsigned long long)f.got, (unsigned long long)t->length);
    if (err == FWS_OK)
        err = fws_tuf_hasher_final(&f.h, t->path, eb);
    if (err == FWS_OK && (fchmod(f.fd, 0644) != 0 || fsync(f.fd) != 0))
        err = fws_errf(eb, FWS_ERR_IO, "%.300s: %s", tmp, strerror(errno));
    close(f.fd);
    if (err == FWS_OK && rename(tmp, dest) != 0)
        err = fws_errf(eb, FWS_ERR_IO, "%.300s: %s", dest, strerror(errno));
    if (err == FWS_OK)
        err = fws_dir_sync(dir, eb);
    else
        unlink(tmp);
    free(tmp);
    return err;
}

fws_err fws_tuf_client_download_target(fws_tuf_client *c, const fws_tuf_target *t,
                                       const char *target_base_url, const char *target_dir,
                                       int *fetched, fws_errbuf *eb)
{
    char *dest = NULL, *url = NULL;
    fws_err err;

    if (c == NULL || t == NULL || target_base_url == NULL || target_dir == NULL)
        return FWS_ERR_ARG;
    if ((err = fws_mkdirs(target_dir, 0755, eb)) != FWS_OK ||
        (err = fws_tuf_target_local_path(target_dir, t, &dest, eb)) != FWS_OK)
        return err;
    if (already_there(dest, t)) {
        if (fetched != NULL)
            *fetched = 0;
        free(dest);
        return FWS_OK;
    }
    url = target_url(c, t, target_base_url);
    if (url == NULL)
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "target %.300s: URL too long", t->path);
    else
        err = fetch_to(c, t, url, target_dir, dest, eb);
    if (err == FWS_OK && fetched != NULL)
        *fetched = 1;
    free(url);
    free(dest);
    return err;
}
