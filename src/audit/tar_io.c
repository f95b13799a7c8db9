/* Archives on file descriptors: a streaming writer and a streaming reader (backups may hold
 * firmware images of any size, so nothing is held whole). Same profile as tar.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fwseal/audit.h"
#include "fwseal/crypto.h"

#define COPY_CHUNK (256u * 1024)

static const uint8_t zero_block[FWS_TAR_BLOCK];

static fws_err write_all(fws_tar_writer *w, const void *data, size_t len, fws_errbuf *eb)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return fws_errf(eb, FWS_ERR_IO, "writing the archive: %s",
                            n < 0 ? strerror(errno) : "no progress");
        p += n;
        len -= (size_t)n;
        w->offset += (uint64_t)n;
    }
    return FWS_OK;
}

static fws_err write_pad(fws_tar_writer *w, uint64_t size, fws_errbuf *eb)
{
    size_t pad = (size_t)((FWS_TAR_BLOCK - size % FWS_TAR_BLOCK) % FWS_TAR_BLOCK);
    return pad > 0 ? write_all(w, zero_block, pad, eb) : FWS_OK;
}

void fws_tar_writer_init(fws_tar_writer *w, int fd)
{
    memset(w, 0, sizeof(*w));
    w->fd = fd;
}

fws_err fws_tar_add(fws_tar_writer *w, const char *name, const void *data, size_t len,
                    uint8_t sha256[FWS_SHA256_LEN], fws_errbuf *eb)
{
    uint8_t block[FWS_TAR_BLOCK];
    fws_err err = fws_tar_header_make(name, len, block, eb);
    if (err == FWS_OK)
        err = write_all(w, block, sizeof(block), eb);
    if (err == FWS_OK && len > 0)
        err = write_all(w, data, len, eb);
    if (err == FWS_OK)
        err = write_pad(w, len, eb);
    if (err != FWS_OK)
        return err;
    if (sha256 != NULL)
        fws_sha256(data, len, sha256);
    w->members++;
    return FWS_OK;
}

static fws_err copy_file(fws_tar_writer *w, int fd, const char *path, uint64_t size,
                         uint8_t digest[FWS_SHA256_LEN], fws_errbuf *eb)
{
    fws_sha256_ctx h;
    uint64_t left = size;
    fws_err err = FWS_OK;
    uint8_t *buf = malloc(COPY_CHUNK); /* not a static buffer: static TLS costs every process */
    if (buf == NULL)
        return FWS_ERR_NOMEM;
    fws_sha256_init(&h);
    while (err == FWS_OK && left > 0) {
        size_t want = left < COPY_CHUNK ? (size_t)left : COPY_CHUNK;
        ssize_t n = read(fd, buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            err = fws_errf(eb, FWS_ERR_IO, "%s: %s", path, strerror(errno));
        else if (n == 0)
            err = fws_errf(eb, FWS_ERR_STATE, "%s: shrank while it was archived", path);
        else {
            fws_sha256_update(&h, buf, (size_t)n);
            err = write_all(w, buf, (size_t)n, eb);
            left -= (uint64_t)n;
        }
    }
    if (err == FWS_OK) {
        ssize_t n = read(fd, buf, 1);
        if (n != 0)
            err = fws_errf(eb, FWS_ERR_STATE, "%s: grew while it was archived", path);
    }
    free(buf);
    fws_sha256_final(&h, digest);
    return err;
}

fws_err fws_tar_add_file(fws_tar_writer *w, const char *name, const char *path, uint64_t max_len,
                         uint8_t sha256[FWS_SHA256_LEN], uint64_t *size, fws_errbuf *eb)
{
    uint8_t block[FWS_TAR_BLOCK], digest[FWS_SHA256_LEN];
    struct stat st;
    fws_err err = FWS_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return fws_errf(eb, errno == ENOENT ? FWS_ERR_NOT_FOUND : FWS_ERR_IO, "%s: %s", path,
                        strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        err = fws_errf(eb, FWS_ERR_IO, "%s: not a regular file", path);
    else if ((uint64_t)st.st_size > max_len)
        err =
            fws_errf(eb, FWS_ERR_TOO_BIG, "%s: over %llu bytes", path, (unsigned long long)max_len);
    if (err == FWS_OK)
        err = fws_tar_header_make(name, (uint64_t)st.st_size, block, eb);
    if (err == FWS_OK)
        err = write_all(w, block, sizeof(block), eb);
    if (err == FWS_OK)
        err = copy_file(w, fd, path, (uint64_t)st.st_size, digest, eb);
    if (err == FWS_OK)
        err = write_pad(w, (uint64_t)st.st_size, eb);
    close(fd);
    if (err != FWS_OK)
        return err;
    if (sha256 != NULL)
        memcpy(sha256, digest, FWS_SHA256_LEN);
    if (size != NULL)
        *size = (uint64_t)st.st_size;
    w->members++;
    return FWS_OK;
}

fws_err fws_tar_finish(fws_tar_writer *w, fws_errbuf *eb)
{
    fws_err err = write_all(w, zero_block, FWS_TAR_BLOCK, eb);
    return err == FWS_OK ? write_all(w, zero_block, FWS_TAR_BLOCK, eb) : err;
}

/* ---- the streaming reader ------------------------------------------------------------------ */

void fws_tar_stream_init(fws_tar_stream *s, int fd, size_t max_members)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->max_members = max_members != 0 ? max_members : FWS_TAR_MEMBERS_MAX;
}

/* Reads exactly len bytes; *got receives how many arrived before the end of the file. */
static fws_err read_full(fws_tar_stream *s, uint8_t *buf, size_t len, size_t *got, fws_errbuf *eb)
{
    size_t have = 0;
    while (have < len) {
        ssize_t n = read(s->fd, buf + have, len - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fws_errf(eb, FWS_ERR_IO, "reading the archive: %s", strerror(errno));
        if (n == 0)
            break;
        have += (size_t)n;
    }
    s->offset += have;
    *got = have;
    return FWS_OK;
}

static fws_err read_exact(fws_tar_stream *s, uint8_t *buf, size_t len, const char *what,
                          fws_errbuf *eb)
{
    size_t got = 0;
    uint64_t at = s->offset;
    fws_err err = read_full(s, buf, len, &got, eb);
    if (err == FWS_OK && got != len)
        err = fws_errf(eb, FWS_ERR_LENGTH, "offset %llu: the archive is truncated (%s)",
                       (unsigned long long)at, what);
    return err;
}

static int is_zero_pad(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static fws_err finish_member(fws_tar_stream *s, fws_errbuf *eb)
{
    uint8_t buf[FWS_TAR_BLOCK];
    fws_err err = FWS_OK;
    while (err == FWS_OK && s->left > 0) {
        size_t want = s->left < sizeof(buf) ? (size_t)s->left : sizeof(buf);
        err = read_exact(s, buf, want, "member data", eb);
        s->left -= want;
    }
    if (err == FWS_OK && s->pad > 0) {
        err = read_exact(s, buf, s->pad, "padding", eb);
        if (err == FWS_OK && !is_zero_pad(buf, s->pad))
            err = fws_errf(eb, FWS_ERR_FORMAT, "offset %llu: padding is not zero",
                           (unsigned long long)s->offset);
        s->pad = 0;
    }
    return err;
}

static fws_err stream_end(fws_tar_stream *s, fws_errbuf *eb)
{
    uint8_t buf[FWS_TAR_BLOCK];
    size_t got = 0;
    fws_err err = read_exact(s, buf, sizeof(buf), "end of archive", eb);
    if (err == FWS_OK && !is_zero_pad(buf, sizeof(buf)))
        err = fws_errf(eb, FWS_ERR_FORMAT, "offset %llu: a lone zero block",
                       (unsigned long long)(s->offset - FWS_TAR_BLOCK));
    if (err == FWS_OK)
        err = read_full(s, buf, 1, &got, eb);
    if (err == FWS_OK && got != 0)
        err = fws_errf(eb, FWS_ERR_FORMAT, "offset %llu: bytes after the end of the archive",
                       (unsigned long long)(s->offset - 1));
    if (err != FWS_OK)
        return err;
    s->done = 1;
    return FWS_ERR_NOT_FOUND;
}

fws_err fws_tar_stream_next(fws_tar_stream *s, fws_tar_header *out, fws_errbuf *eb)
{
    uint8_t block[FWS_TAR_BLOCK];
    fws_tar_header h;
    fws_err err;
    if (s->done)
        return FWS_ERR_NOT_FOUND;
    if ((err = finish_member(s, eb)) != FWS_OK)
        return err;
    uint64_t at = s->offset;
    if ((err = read_exact(s, block, sizeof(block), "header", eb)) != FWS_OK)
        return err;
    if (is_zero_pad(block, sizeof(block)))
        return stream_end(s, eb);
    if ((err = fws_tar_header_parse(block, &h, eb)) != FWS_OK)
        return fws_errf(eb, err, "offset %llu: bad header", (unsigned long long)at);
    if (s->members >= s->max_members)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "more than %zu members", s->max_members);
    s->members++;
    s->left = h.size;
    s->pad = (unsigned)((FWS_TAR_BLOCK - h.size % FWS_TAR_BLOCK) % FWS_TAR_BLOCK);
    *out = h;
    return FWS_OK;
}

fws_err fws_tar_stream_read(fws_tar_stream *s, uint8_t *buf, size_t cap, size_t *n, fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    if (s->left == 0) {
        *n = 0;
        return finish_member(s, eb);
    }
    size_t want = s->left < cap ? (size_t)s->left : cap;
    if ((err = read_exact(s, buf, want, "member data", eb)) != FWS_OK)
        return err;
    s->left -= want;
    *n = want;
    return FWS_OK;
}
