/* The agent's I/O table: plain POSIX calls, and a power cut that tests can place at any
 * operation. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "agent/internal.h"

static int px_open(void *ctx, const char *path, int flags, unsigned mode)
{
    (void)ctx;
    return open(path, flags | O_CLOEXEC, (mode_t)mode);
}

static ssize_t px_write(void *ctx, int fd, const void *buf, size_t len)
{
    (void)ctx;
    return write(fd, buf, len);
}

static int px_fsync(void *ctx, int fd)
{
    (void)ctx;
    return fsync(fd);
}

static int px_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd);
}

static int px_rename(void *ctx, const char *from, const char *to)
{
    (void)ctx;
    return rename(from, to);
}

static int px_unlink(void *ctx, const char *path)
{
    (void)ctx;
    return unlink(path);
}

static int px_fsync_dir(void *ctx, const char *dir)
{
    (void)ctx;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

const fws_agent_io fws_agent_io_posix = {
    px_open, px_write, px_fsync, px_close, px_rename, px_unlink, px_fsync_dir, NULL,
};

/* ---- power cuts ------------------------------------------------------------------------------ */

/* 1 when the operation may run, 0 when the power is off (errno EIO). */
static int power_step(fws_agent_power *p)
{
    if (p->cut) {
        errno = EIO;
        return 0;
    }
    p->ops++;
    if (p->cut_at != 0 && p->ops >= p->cut_at) {
        p->cut = 1;
        errno = EIO;
        return 0;
    }
    return 1;
}

static int pw_open(void *ctx, const char *path, int flags, unsigned mode)
{
    fws_agent_power *p = ctx;
    if (p->cut) {
        errno = EIO;
        return -1;
    }
    return px_open(NULL, path, flags, mode);
}

static ssize_t pw_write(void *ctx, int fd, const void *buf, size_t len)
{
    fws_agent_power *p = ctx;
    int was_cut = p->cut;
    if (power_step(p))
        return write(fd, buf, len);
    if (!was_cut && len > 1) {
        /* The write the power died in: half of it reached the disk. */
        ssize_t n = write(fd, buf, len / 2);
        (void)n;
    }
    errno = EIO;
    return -1;
}

static int pw_fsync(void *ctx, int fd)
{
    return power_step(ctx) ? fsync(fd) : -1;
}

static int pw_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd); /* always release the descriptor; closing writes nothing */
}

static int pw_rename(void *ctx, const char *from, const char *to)
{
    return power_step(ctx) ? rename(from, to) : -1;
}

static int pw_unlink(void *ctx, const char *path)
{
    return power_step(ctx) ? unlink(path) : -1;
}

static int pw_fsync_dir(void *ctx, const char *dir)
{
    return power_step(ctx) ? px_fsync_dir(NULL, dir) : -1;
}

void fws_agent_io_power(fws_agent_power *p, fws_agent_io *out)
{
    fws_agent_io io = {pw_open,   pw_write,  pw_fsync,     pw_close,
                       pw_rename, pw_unlink, pw_fsync_dir, p};
    *out = io;
}

/* ---- atomic replacement ------------------------------------------------------------------------
 */

static void dir_of(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, cap, ".");
    else if (slash == path)
        snprintf(dir, cap, "/");
    else
        snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

fws_err fws_agent_write_all(const fws_agent_io *io, int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = io->write(io->ctx, fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FWS_ERR_IO;
        p += n;
        len -= (size_t)n;
    }
    return FWS_OK;
}

fws_err fws_agent_write_atomic(const fws_agent_io *io, const char *path, const void *data,
                               size_t len, fws_errbuf *eb)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    if (io == NULL)
        io = &fws_agent_io_posix;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%s: path too long", path);
    dir_of(path, dir, sizeof(dir));
    int fd = io->open(io->ctx, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", tmp, strerror(errno));
    fws_err err = fws_agent_write_all(io, fd, data, len);
    if (err == FWS_OK && io->fsync(io->ctx, fd) != 0)
        err = FWS_ERR_IO;
    if (io->close(io->ctx, fd) != 0 && err == FWS_OK)
        err = FWS_ERR_IO;
    if (err == FWS_OK && io->rename(io->ctx, tmp, path) != 0)
        err = FWS_ERR_IO;
    if (err == FWS_OK && io->fsync_dir(io->ctx, dir) != 0)
        err = FWS_ERR_IO;
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: %s", path, strerror(errno));
    return FWS_OK;
}
