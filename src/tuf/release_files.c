/* Target files: staged under a temporary name while being hashed, then given their consistent
 * snapshot names (<sha256>.<name> and <sha512>.<name>, hard links of one file). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fwseal/util.h"
#include "repo_internal.h"

#define COPY_CHUNK (1u << 20)

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

static fws_err make_tmp(const char *dir, char tmp[PATH_MAX], int *fd, repo_undo *undo,
                        fws_errbuf *eb)
{
    fws_err err = repo_path(tmp, eb, "%s/.fwseal-stage.XXXXXX", dir);
    if (err != FWS_OK)
        return err;
    *fd = mkstemp(tmp);
    if (*fd < 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: cannot create a file: %s", dir, strerror(errno));
    if (repo_undo_add(undo, tmp, 0) != FWS_OK || fchmod(*fd, 0644) != 0) {
        close(*fd);
        unlink(tmp);
        return fws_errf(eb, FWS_ERR_IO, "%s: cannot stage a file", dir);
    }
    return FWS_OK;
}

/* Copies in to out, hashing, at most max bytes. */
static fws_err copy_hashing(int in, int out, const char *src, uint64_t max, uint8_t *buf,
                            fws_sha256_ctx *h256, fws_sha512_ctx *h512, uint64_t *total,
                            fws_errbuf *eb)
{
    for (;;) {
        ssize_t n = read(in, buf, COPY_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fws_errf(eb, FWS_ERR_IO, "%s: read failed: %s", src, strerror(errno));
        if (n == 0)
            return FWS_OK;
        if ((uint64_t)n > max - *total)
            return fws_errf(eb, FWS_ERR_TOO_BIG, "%s: larger than %llu bytes", src,
                            (unsigned long long)max);
        fws_sha256_update(h256, buf, (size_t)n);
        fws_sha512_update(h512, buf, (size_t)n);
        if (write_all(out, buf, (size_t)n) != FWS_OK)
            return fws_errf(eb, FWS_ERR_IO, "staging %s: write failed: %s", src, strerror(errno));
        *total += (uint64_t)n;
    }
}

fws_err release_stage_copy(const char *src, const char *dir, uint64_t max, char tmp[PATH_MAX],
                           uint8_t sha256[FWS_SHA256_LEN], uint8_t sha512[FWS_SHA512_LEN],
                           uint64_t *len, repo_undo *undo, fws_errbuf *eb)
{
    fws_sha256_ctx h256;
    fws_sha512_ctx h512;
    uint8_t d256[FWS_SHA256_LEN], d512[FWS_SHA512_LEN];
    uint64_t total = 0;
    int out = -1, in = open(src, O_RDONLY | O_CLOEXEC);
    uint8_t *buf = NULL;
    fws_err err;
    if (in < 0)
        return fws_errf(eb, errno == ENOENT ? FWS_ERR_NOT_FOUND : FWS_ERR_IO, "%s: %s", src,
                        strerror(errno));
    if ((buf = malloc(COPY_CHUNK)) == NULL) {
        close(in);
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    }
    if ((err = make_tmp(dir, tmp, &out, undo, eb)) != FWS_OK)
        goto out;
    fws_sha256_init(&h256);
    fws_sha512_init(&h512);
    err = copy_hashing(in, out, src, max, buf, &h256, &h512, &total, eb);
    if (err == FWS_OK && fsync(out) != 0)
        err = fws_errf(eb, FWS_ERR_IO, "staging %s: fsync: %s", src, strerror(errno));
    fws_sha256_final(&h256, d256);
    fws_sha512_final(&h512, d512);
    if (err == FWS_OK) {
        memcpy(sha256, d256, sizeof(d256));
        memcpy(sha512, d512, sizeof(d512));
        *len = total;
    }
out:
    if (out >= 0 && close(out) != 0 && err == FWS_OK)
        err = fws_errf(eb, FWS_ERR_IO, "staging %s: close: %s", src, strerror(errno));
    close(in);
    free(buf);
    return err;
}

fws_err release_stage_bytes(const void *data, size_t len, const char *dir, char tmp[PATH_MAX],
                            repo_undo *undo, fws_errbuf *eb)
{
    int fd = -1;
    fws_err err = make_tmp(dir, tmp, &fd, undo, eb);
    if (err != FWS_OK)
        return err;
    if (write_all(fd, data, len) != FWS_OK || fsync(fd) != 0)
        err = fws_errf(eb, FWS_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && err == FWS_OK)
        err = fws_errf(eb, FWS_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
    return err;
}

fws_err release_place(const char *tmp, const char *dir, const char *name,
                      const uint8_t sha256[FWS_SHA256_LEN], const uint8_t sha512[FWS_SHA512_LEN],
                      repo_undo *undo, fws_errbuf *eb)
{
    char hex[REPO_HEX512], path[PATH_MAX];
    const uint8_t *digests[2] = {sha256, sha512};
    const size_t lens[2] = {FWS_SHA256_LEN, FWS_SHA512_LEN};
    struct stat sb;
    fws_err err;
    for (int i = 0; i < 2; i++) {
        fws_hex_encode(digests[i], lens[i], hex);
        if ((err = repo_path(path, eb, "%s/%s.%s", dir, hex, name)) != FWS_OK)
            return err;
        if (lstat(path, &sb) == 0)
            continue; /* the same content, published before under this name */
        if (link(tmp, path) != 0)
            return fws_errf(eb, FWS_ERR_IO, "%s: link: %s", path, strerror(errno));
        if (repo_undo_add(undo, path, 0) != FWS_OK)
            return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    }
    if (unlink(tmp) != 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: unlink: %s", tmp, strerror(errno));
    return fws_dir_sync(dir, eb);
}
