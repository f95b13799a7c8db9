/* A tile source that reads a tlog-tiles log from a local directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fwseal/tiles.h"

/* Paths come from the tile formatter, but the source is generic: refuse anything that could
 * leave the directory. */
static int path_safe(const char *path)
{
    if (path[0] == '\0' || path[0] == '/')
        return 0;
    for (const char *p = path; *p != '\0'; p++) {
        if ((p == path || p[-1] == '/') && p[0] == '.' &&
            (p[1] == '/' || p[1] == '\0' || (p[1] == '.' && (p[2] == '/' || p[2] == '\0'))))
            return 0;
        if (*p == '\\')
            return 0;
    }
    return 1;
}

static fws_err read_all(int fd, uint8_t *buf, size_t want, size_t *got)
{
    size_t n = 0;
    while (n < want) {
        ssize_t r = read(fd, buf + n, want - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return FWS_ERR_IO;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *got = n;
    return FWS_OK;
}

static fws_err dir_fetch(void *ctx, const char *path, uint8_t *buf, size_t cap, size_t *len,
                         fws_errbuf *eb)
{
    const fws_tile_dir *d = ctx;
    char full[FWS_TILE_DIR_MAX + 128];
    struct stat st;
    uint8_t extra;
    size_t got = 0, more = 0;
    fws_err err = FWS_OK;

    if (!path_safe(path))
        return fws_errf(eb, FWS_ERR_ARG, "refusing path %s", path);
    int n = snprintf(full, sizeof full, "%s/%s", d->root, path);
    if (n < 0 || (size_t)n >= sizeof full)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "path too long: %s", path);
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fws_errf(eb, errno == ENOENT ? FWS_ERR_NOT_FOUND : FWS_ERR_IO, "%s: %s", full,
                        strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        err = fws_errf(eb, FWS_ERR_IO, "%s: not a regular file", full);
        goto out;
    }
    if ((uint64_t)st.st_size > cap) {
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "%s: %lld bytes, more than %zu", full,
                       (long long)st.st_size, cap);
        goto out;
    }
    err = read_all(fd, buf, cap, &got);
    if (err == FWS_OK && got == cap)
        err = read_all(fd, &extra, 1, &more);
    if (err != FWS_OK) {
        err = fws_errf(eb, err, "%s: read failed: %s", full, strerror(errno));
        goto out;
    }
    if (more != 0) {
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "%s: more than %zu bytes", full, cap);
        goto out;
    }
    *len = got;
out:
    close(fd);
    return err;
}

fws_err fws_tile_dir_source(fws_tile_dir *dir, const char *path, fws_tile_source *src,
                            fws_errbuf *eb)
{
    struct stat st;

    if (dir == NULL || path == NULL || src == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "tile directory: missing argument");
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    if (len == 0 || len >= sizeof dir->root)
        return fws_errf(eb, FWS_ERR_ARG, "tile directory: path empty or too long");
    if (stat(path, &st) != 0)
        return fws_errf(eb, errno == ENOENT ? FWS_ERR_NOT_FOUND : FWS_ERR_IO, "%s: %s", path,
                        strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fws_errf(eb, FWS_ERR_IO, "%s: not a directory", path);
    memcpy(dir->root, path, len);
    dir->root[len] = '\0';
    src->fetch = dir_fetch;
    src->ctx = dir;
    return FWS_OK;
}
