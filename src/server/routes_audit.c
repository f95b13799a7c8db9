/* GET /api/v1/audit/snapshot: a consistent online snapshot of the deployment without keys, so
 * an auditor holding only a token can audit the whole server (fws_audit_remote).
 *
 * The snapshot is what fws_backup_create writes without keys (databases copied with SQLite's
 * online backup API, the ledger in reopenable order, BACKUP.json last), less alerts.json, whose
 * webhook credentials the API never shows. It is built into a file of a private directory under
 * $TMPDIR (or /tmp); the file is opened and removed at once, so it disappears when the answer
 * has been sent or the connection drops, and the loop streams it (application/x-tar with its
 * Content-Length). One snapshot at a time per process: a second request meanwhile is 429 with
 * Retry-After. A PostgreSQL store cannot be copied this way: 501. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fwseal/audit.h"
#include "server/internal.h"
#include "server/routes_audit.h"

#define SNAPSHOT_RETRY_AFTER "30"

static _Atomic int snapshot_busy;

static int is_postgres(const char *url)
{
    return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

/* The workers of an SQLite server share one store handle under store_mu, which a worker holds
 * while its handler runs (workers.c). Building a snapshot takes long and never touches that
 * handle (the databases are copied through their own connections), so the lock is given up
 * meanwhile and taken back before the handler returns: other requests and tasks go on. */
static void store_let_go(fws_server *srv)
{
    if (srv->workers.shared)
        pthread_mutex_unlock(&srv->workers.store_mu);
}

static void store_take_back(fws_server *srv)
{
    if (srv->workers.shared)
        pthread_mutex_lock(&srv->workers.store_mu);
}

/* Builds the snapshot and opens it; the file is gone from the file system when this returns. */
static fws_err build(fws_server *srv, int64_t now, int *fd, uint64_t *size, fws_backup_info *info,
                     fws_errbuf *eb)
{
    static const char *const exclude[] = {"alerts.json", NULL};
    const char *base = getenv("TMPDIR");
    char dir[SRV_PATH_MAX], out[SRV_PATH_MAX + 32];
    struct stat st;
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    int n = snprintf(dir, sizeof(dir), "%s/fwseal-snapshot.XXXXXX", base);
    if (n < 0 || (size_t)n >= sizeof(dir) || mkdtemp(dir) == NULL)
        return fws_errf(eb, FWS_ERR_IO, "cannot make a temporary directory under %s", base);
    snprintf(out, sizeof(out), "%s/snapshot.tar", dir);
    fws_backup_opts o = {
        .deploy = srv->deploy, .out = out, .store = srv->store_url, .now = now, .exclude = exclude};
    fws_err err = fws_backup_create(&o, info, eb);
    *fd = err == FWS_OK ? open(out, O_RDONLY | O_CLOEXEC) : -1;
    if (err == FWS_OK && (*fd < 0 || fstat(*fd, &st) != 0))
        err = fws_errf(eb, FWS_ERR_IO, "snapshot: %s", strerror(errno));
    unlink(out);
    rmdir(dir);
    if (err != FWS_OK && *fd >= 0)
        close(*fd);
    if (err == FWS_OK)
        *size = (uint64_t)st.st_size;
    return err;
}

fws_err srv_audit_snapshot(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fws_server *srv = ctx;
    fws_backup_info info;
    uint64_t size = 0;
    int fd = -1;
    if (is_postgres(srv->store_url))
        return fws_resp_error(resp, 501, "not_implemented",
                              "this server's store is PostgreSQL: a snapshot copies only SQLite "
                              "stores (audit a restored pg_dump and backup instead)");
    if (atomic_exchange(&snapshot_busy, 1)) {
        fws_resp_header(resp, "Retry-After", SNAPSHOT_RETRY_AFTER);
        fws_resp_audit(resp, "refused: another snapshot is being made");
        return fws_resp_error(resp, 429, "snapshot_busy",
                              "another snapshot is being made: retry in " SNAPSHOT_RETRY_AFTER
                              " s");
    }
    store_let_go(srv);
    fws_err err = build(srv, req->now, &fd, &size, &info, eb);
    store_take_back(srv);
    atomic_store(&snapshot_busy, 0);
    if (err != FWS_OK) {
        fws_server_log(srv, "error", "audit snapshot failed", "error", eb->msg, NULL);
        return err;
    }
    char bytes[24], tree[24];
    snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)size);
    snprintf(tree, sizeof(tree), "%llu", (unsigned long long)info.tree_size);
    fws_server_log(srv, "info", "audit snapshot", "token", req->token_name, "bytes", bytes,
                   "tree_size", tree, NULL);
    fws_resp_audit(resp, "snapshot of %llu bytes, %llu members, tree size %llu",
                   (unsigned long long)size, (unsigned long long)info.members,
                   (unsigned long long)info.tree_size);
    fws_resp_header(resp, "Cache-Control", "no-store");
    fws_resp_header(resp, "Content-Disposition", "attachment; filename=\"snapshot.tar\"");
    resp->status = 200;
    snprintf(resp->owned_type, sizeof(resp->owned_type), "application/x-tar");
    resp->content_type = resp->owned_type;
    resp->file_fd = fd;
    resp->file_off = 0;
    resp->file_len = size;
    return FWS_OK;
}
