/* Durable writes for the log directory: many files per batch, synced together, one rename
 * pass and one fsync per directory; single files; capped reads; flock-based locks. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "writer_internal.h"

#define WS_MAX_DIRS 64 /* directories one batch may touch (a batch spans few tile paths) */

typedef struct dir_list {
    char names[WS_MAX_DIRS][FWS_TILE_PATH_MAX];
    size_t n;
} dir_list;

fws_err ws_add(write_set *ws, const char *path, const uint8_t *data, size_t len, fws_errbuf *eb)
{
    if (ws->n == ws->cap) {
        size_t ncap = ws->cap ? ws->cap * 2 : 64;
        ws_file *nf = realloc(ws->files, ncap * sizeof(*nf));
        if (nf == NULL)
            return fws_errf(eb, FWS_ERR_NOMEM, "out of memory for the write set");
        ws->files = nf;
        ws->cap = ncap;
    }
    ws_file *f = &ws->files[ws->n];
    if (strlen(path) >= sizeof(f->path))
        return fws_errf(eb, FWS_ERR_ARG, "%s: path too long", path);
    f->data = malloc(len ? len : 1);
    if (f->data == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory for %s", path);
    memcpy(f->data, data, len);
    snprintf(f->path, sizeof(f->path), "%s", path);
    f->len = len;
    ws->n++;
    ws->bytes += len;
    return FWS_OK;
}

void ws_clear(write_set *ws)
{
    for (size_t i = 0; i < ws->n; i++)
        free(ws->files[i].data);
    ws->n = 0;
    ws->bytes = 0;
}

void ws_free(write_set *ws)
{
    ws_clear(ws);
    free(ws->files);
    ws->files = NULL;
    ws->cap = 0;
}

static fws_err note_dir(dir_list *d, const char *dir, fws_errbuf *eb)
{
    for (size_t i = 0; i < d->n; i++) {
        if (strcmp(d->names[i], dir) == 0)
            return FWS_OK;
    }
    if (d->n == WS_MAX_DIRS)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "a batch touches more than %d directories",
                        WS_MAX_DIRS);
    snprintf(d->names[d->n++], FWS_TILE_PATH_MAX, "%s", dir);
    return FWS_OK;
}

/* "a/b/c" -> "a/b"; "c" -> "." */
static void parent_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(out, cap, ".");
    else
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

/* mkdir -p of path's parent below dirfd; every directory created puts its parent in d. */
static fws_err make_parents(int dirfd, const char *dirname, const char *path, dir_list *d,
                            fws_errbuf *eb)
{
    char part[FWS_TILE_PATH_MAX], up[FWS_TILE_PATH_MAX];
    for (const char *p = strchr(path, '/'); p != NULL; p = strchr(p + 1, '/')) {
        snprintf(part, sizeof(part), "%.*s", (int)(p - path), path);
        if (mkdirat(dirfd, part, 0755) == 0) {
            parent_of(part, up, sizeof(up));
            fws_err err = note_dir(d, up, eb);
            if (err != FWS_OK)
                return err;
        } else if (errno != EEXIST) {
            return fws_errf(eb, FWS_ERR_IO, "%s/%s: cannot create directory: %s", dirname, part,
                            strerror(errno));
        }
    }
    return FWS_OK;
}

static void tmp_name(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(out, cap, ".%s.tmp", path);
    else
        snprintf(out, cap, "%.*s/.%s.tmp", (int)(slash - path), path, slash + 1);
}

/* Writes data to a temporary file; the descriptor stays open for sync_all. */
static fws_err write_tmp(int dirfd, const char *dirname, const char *tmp, const uint8_t *data,
                         size_t len, int *out, fws_errbuf *eb)
{
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fws_errf(eb, FWS_ERR_IO, "%s/%s: %s", dirname, tmp, strerror(errno));
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int saved = errno;
            close(fd);
            return fws_errf(eb, FWS_ERR_IO, "%s/%s: write: %s", dirname, tmp, strerror(saved));
        }
        data += w;
        len -= (size_t)w;
    }
    *out = fd;
    return FWS_OK;
}

/* ---- syncing many descriptors at once ----------------------------------------------------
 * Each fsync waits for a journal commit; issued together they share commits, so a batch of
 * files costs about as much as one. */

#define SYNC_THREADS 16

typedef struct sync_job {
    const int *fds;
    size_t n;
    int data_only; /* fdatasync (files) or fsync (directories) */
    atomic_size_t next;
    atomic_int failed_errno;
} sync_job;

static void *sync_worker(void *arg)
{
    sync_job *j = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n)
            return NULL;
        int rc = j->data_only ? fdatasync(j->fds[i]) : fsync(j->fds[i]);
        if (rc != 0) {
            int expected = 0;
            atomic_compare_exchange_strong(&j->failed_errno, &expected, errno ? errno : EIO);
        }
    }
}

static int sync_all(const int *fds, size_t n, int data_only)
{
    pthread_t th[SYNC_THREADS];
    size_t started = 0;
    sync_job j;
    j.fds = fds;
    j.n = n;
    j.data_only = data_only;
    atomic_init(&j.next, 0);
    atomic_init(&j.failed_errno, 0);
    while (started + 1 < SYNC_THREADS && started + 1 < n &&
           pthread_create(&th[started], NULL, sync_worker, &j) == 0)
        started++;
    sync_worker(&j);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    return atomic_load(&j.failed_errno);
}

static void close_all(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

static fws_err sync_dirs(int dirfd, const char *dirname, const dir_list *d, fws_errbuf *eb)
{
    int fds[WS_MAX_DIRS];
    fws_err err = FWS_OK;
    size_t n = 0;
    for (; n < d->n; n++) {
        fds[n] = openat(dirfd, d->names[n], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fds[n] < 0) {
            err = fws_errf(eb, FWS_ERR_IO, "%s/%s: %s", dirname, d->names[n], strerror(errno));
            break;
        }
    }
    int e = err == FWS_OK ? sync_all(fds, n, 0) : 0;
    if (e != 0)
        err = fws_errf(eb, FWS_ERR_IO, "%s: fsync of a directory: %s", dirname, strerror(e));
    close_all(fds, n);
    return err;
}

static fws_err sync_dir(int dirfd, const char *dirname, const char *dir, fws_errbuf *eb)
{
    int fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fws_errf(eb, FWS_ERR_IO, "%s/%s: %s", dirname, dir, strerror(errno));
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    if (rc != 0)
        return fws_errf(eb, FWS_ERR_IO, "%s/%s: fsync: %s", dirname, dir, strerror(saved));
    return FWS_OK;
}

/* make_parents, skipping the mkdir calls for a parent this set created or found before. */
static fws_err ensure_parents(write_set *ws, int dirfd, const char *dirname, const char *path,
                              dir_list *d, fws_errbuf *eb)
{
    char parent[FWS_TILE_PATH_MAX];
    parent_of(path, parent, sizeof(parent));
    for (unsigned i = 0; i < WS_KNOWN_DIRS; i++) {
        if (strcmp(ws->known[i], parent) == 0)
            return FWS_OK;
    }
    fws_err err = make_parents(dirfd, dirname, path, d, eb);
    if (err == FWS_OK) {
        snprintf(ws->known[ws->known_next], FWS_TILE_PATH_MAX, "%s", parent);
        ws->known_next = (ws->known_next + 1) % WS_KNOWN_DIRS;
    }
    return err;
}

/* Writes files [from, to) of the set to temporary names and syncs them all. */
static fws_err write_chunk(write_set *ws, size_t from, size_t to, int dirfd, const char *dirname,
                           dir_list *dirs, int *fds, fws_errbuf *eb)
{
    char tmp[FWS_TILE_PATH_MAX + 8];
    fws_err err = FWS_OK;
    size_t n = 0;
    for (size_t i = from; i < to && err == FWS_OK; i++, n++) {
        ws_file *f = &ws->files[i];
        fds[n] = -1;
        err = ensure_parents(ws, dirfd, dirname, f->path, dirs, eb);
        tmp_name(f->path, tmp, sizeof(tmp));
        if (err == FWS_OK)
            err = write_tmp(dirfd, dirname, tmp, f->data, f->len, &fds[n], eb);
    }
    int e = err == FWS_OK ? sync_all(fds, n, 1) : 0;
    if (e != 0)
        err = fws_errf(eb, FWS_ERR_IO, "%s: fsync of a tile: %s", dirname, strerror(e));
    close_all(fds, n);
    return err;
}

#define WS_CHUNK 256 /* files open at once */

fws_err ws_commit(write_set *ws, int dirfd, const char *dirname, fws_errbuf *eb)
{
    char tmp[FWS_TILE_PATH_MAX + 8], dir[FWS_TILE_PATH_MAX];
    dir_list *dirs = calloc(1, sizeof(*dirs));
    int *fds = malloc(WS_CHUNK * sizeof(int));
    fws_err err = dirs && fds ? FWS_OK : fws_errf(eb, FWS_ERR_NOMEM, "out of memory");

    for (size_t i = 0; i < ws->n && err == FWS_OK; i += WS_CHUNK)
        err = write_chunk(ws, i, ws->n - i < WS_CHUNK ? ws->n : i + WS_CHUNK, dirfd, dirname, dirs,
                          fds, eb);
    for (size_t i = 0; i < ws->n && err == FWS_OK; i++) {
        ws_file *f = &ws->files[i];
        tmp_name(f->path, tmp, sizeof(tmp));
        if (renameat(dirfd, tmp, dirfd, f->path) != 0)
            err = fws_errf(eb, FWS_ERR_IO, "%s/%s: rename: %s", dirname, f->path, strerror(errno));
        parent_of(f->path, dir, sizeof(dir));
        if (err == FWS_OK)
            err = note_dir(dirs, dir, eb);
    }
    if (err == FWS_OK)
        err = sync_dirs(dirfd, dirname, dirs, eb);
    free(dirs);
    free(fds);
    return err;
}

fws_err wr_write_durable(int dirfd, const char *dirname, const char *name, const void *data,
                         size_t len, fws_errbuf *eb)
{
    char tmp[FWS_TILE_PATH_MAX + 8];
    if (strlen(name) >= FWS_TILE_PATH_MAX || strchr(name, '/') != NULL)
        return fws_errf(eb, FWS_ERR_ARG, "%s: not a plain file name", name);
    tmp_name(name, tmp, sizeof(tmp));
    int fd = -1;
    fws_err err = write_tmp(dirfd, dirname, tmp, data, len, &fd, eb);
    if (err != FWS_OK)
        return err;
    int rc = fdatasync(fd), saved = errno;
    close(fd);
    if (rc != 0)
        return fws_errf(eb, FWS_ERR_IO, "%s/%s: fsync: %s", dirname, tmp, strerror(saved));
    if (renameat(dirfd, tmp, dirfd, name) != 0)
        return fws_errf(eb, FWS_ERR_IO, "%s/%s: rename: %s", dirname, name, strerror(errno));
    return sync_dir(dirfd, dirname, ".", eb);
}

fws_err wr_read_file(int dirfd, const char *dirname, const char *name, size_t cap, char **out,
                     size_t *len, fws_errbuf *eb)
{
    struct stat st;
    size_t used = 0;
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "%s/%s: missing", dirname, name);
    if (fd < 0)
        return fws_errf(eb, FWS_ERR_IO, "%s/%s: %s", dirname, name, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fws_errf(eb, FWS_ERR_IO, "%s/%s: not a regular file", dirname, name);
    }
    if ((uint64_t)st.st_size > cap) {
        close(fd);
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%s/%s: larger than %zu bytes", dirname, name, cap);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory reading %s/%s", dirname, name);
    }
    while (used < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + used, (size_t)st.st_size - used);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        used += (size_t)r;
    }
    close(fd);
    if (used != (size_t)st.st_size) {
        free(buf);
        return fws_errf(eb, FWS_ERR_IO, "%s/%s: short read", dirname, name);
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    return FWS_OK;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

fws_err wr_lock(int dirfd, const char *dirname, const char *name, unsigned wait_ms, int *out,
                fws_errbuf *eb)
{
    unsigned waited = 0;
    int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return fws_errf(eb, FWS_ERR_IO, "%s/%s: %s", dirname, name, strerror(errno));
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK || waited >= wait_ms) {
            int saved = errno;
            close(fd);
            if (saved == EWOULDBLOCK)
                return fws_errf(eb, FWS_ERR_STATE, "%s: locked by another appender (%s/%s is held)",
                                dirname, dirname, name);
            return fws_errf(eb, FWS_ERR_IO, "%s/%s: flock: %s", dirname, name, strerror(saved));
        }
        sleep_ms(10);
        waited += 10;
    }
    *out = fd;
    return FWS_OK;
}

void wr_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}
