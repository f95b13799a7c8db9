/* Durable writes (temporary name, fsync, rename, directory fsync) and capped reads. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fwseal/util.h"

const char *fws_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void dir_of(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(dir, cap, ".");
    } else if (slash == path) {
        snprintf(dir, cap, "/");
    } else {
        snprintf(dir, cap, "%.*s", (int)(slash - path), path);
    }
}

fws_err fws_dir_sync(const char *dir, fws_errbuf *eb)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", dir, strerror(errno));
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    if (rc != 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: fsync: %s", dir, strerror(saved));
    return FWS_OK;
}

static fws_err write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FWS_ERR_IO;
        p += n;
        len -= (size_t)n;
    }
    return FWS_OK;
}

fws_err fws_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                              int overwrite, fws_errbuf *eb)
{
    char dir[PATH_MAX];
    char tmp[PATH_MAX];
    struct stat st;
    fws_err err = FWS_OK;
    int fd = -1;

    if (!overwrite && lstat(path, &st) == 0)
        return fws_errf(eb, FWS_ERR_EXISTS, "%s: already exists (refusing to overwrite)", path);
    dir_of(path, dir, sizeof(dir));
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.XXXXXX", dir, fws_basename(path)) >=
        sizeof(tmp))
        return fws_errf(eb, FWS_ERR_ARG, "%s: path too long", path);
    fd = mkstemp(tmp);
    if (fd < 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: cannot create temporary file: %s", dir,
                        strerror(errno));
    if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, data, len) != FWS_OK || fsync(fd) != 0) {
        err = fws_errf(eb, FWS_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        err = fws_errf(eb, FWS_ERR_IO, "%s: close failed: %s", path, strerror(errno));
        goto out;
    }
    fd = -1;
    if (!overwrite && lstat(path, &st) == 0) {
        err = fws_errf(eb, FWS_ERR_EXISTS, "%s: already exists (refusing to overwrite)", path);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        err = fws_errf(eb, FWS_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
        goto out;
    }
    tmp[0] = '\0';
    err = fws_dir_sync(dir, eb);
out:
    if (fd >= 0)
        close(fd);
    if (tmp[0] != '\0')
        unlink(tmp);
    return err;
}

static fws_err read_fd(int fd, const char *name, size_t max_len, uint8_t **data, size_t *len,
                       fws_errbuf *eb)
{
    size_t cap = 4096, used = 0;
    uint8_t *buf = malloc(cap + 1);
    if (buf == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "%s: out of memory", name);
    for (;;) {
        if (used == cap) {
            if (cap > max_len) {
                free(buf);
                return fws_errf(eb, FWS_ERR_TOO_BIG, "%s: larger than the %zu-byte limit", name,
                                max_len);
            }
            size_t ncap = cap * 2;
            uint8_t *nb = realloc(buf, ncap + 1);
            if (nb == NULL) {
                free(buf);
                return fws_errf(eb, FWS_ERR_NOMEM, "%s: out of memory", name);
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + used, cap - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            free(buf);
            return fws_errf(eb, FWS_ERR_IO, "%s: read failed: %s", name, strerror(saved));
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > max_len) {
            free(buf);
            return fws_errf(eb, FWS_ERR_TOO_BIG, "%s: larger than the %zu-byte limit", name,
                            max_len);
        }
    }
    buf[used] = 0;
    *data = buf;
    *len = used;
    return FWS_OK;
}

fws_err fws_file_read(const char *path, size_t max_len, uint8_t **data, size_t *len, fws_errbuf *eb)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        return fws_errf(eb, saved == ENOENT ? FWS_ERR_NOT_FOUND : FWS_ERR_IO, "%s: %s", path,
                        strerror(saved));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fws_errf(eb, FWS_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > (uint64_t)max_len) {
        close(fd);
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%s: %lld bytes, over the %zu-byte limit", path,
                        (long long)st.st_size, max_len);
    }
    fws_err err = read_fd(fd, path, max_len, data, len, eb);
    close(fd);
    return err;
}

fws_err fws_stdin_read(size_t max_len, uint8_t **data, size_t *len, fws_errbuf *eb)
{
    return read_fd(STDIN_FILENO, "standard input", max_len, data, len, eb);
}

fws_err fws_mkdirs(const char *path, unsigned mode, fws_errbuf *eb)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(buf))
        return fws_errf(eb, FWS_ERR_ARG, "bad directory path");
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
            return fws_errf(eb, FWS_ERR_IO, "%s: mkdir: %s", buf, strerror(errno));
        buf[i] = c;
    }
    return FWS_OK;
}
