/* Audits of a running server (audit.h, "audits of a running server"): the snapshot is streamed
 * over HTTPS with fwseal's HTTP client into a file of a private temporary directory, restored
 * there by fws_backup_restore, audited, and the directory removed whatever happened. The report
 * and every message name the server, never the temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "audit/internal.h"
#include "fwseal/core.h"
#include "fwseal/http.h"
#include "fwseal/json.h"

#define ERROR_BODY_MAX (16u * 1024) /* a refusal's JSON body */
#define SERVER_MESSAGE_MAX 300
#define TIMEOUT_DEFAULT_S (6u * 3600)
#define TIMEOUT_MAX_S (30u * 86400)
/* The server sends nothing while it builds the snapshot: a stall is a quarter of an hour below
 * one byte a second. */
#define STALL_S 900
#define AUTH_PREFIX "Authorization: Bearer "

typedef struct fetch {
    int fd;
    int status;
    int bad_type;
    int write_errno;
    uint64_t got;
    char content_type[FWS_HTTP_CONTENT_TYPE_MAX];
    uint8_t err_body[ERROR_BODY_MAX];
    size_t err_len;
} fetch;

static fws_err on_head(void *ctx, const fws_http_response *h)
{
    fetch *f = ctx;
    f->status = h->status;
    snprintf(f->content_type, sizeof(f->content_type), "%s", h->content_type);
    if (h->status == 200 && strncasecmp(h->content_type, "application/x-tar", 17) != 0) {
        f->bad_type = 1;
        return FWS_ERR_FORMAT;
    }
    return FWS_OK;
}

static fws_err sink(void *ctx, const uint8_t *p, size_t n)
{
    fetch *f = ctx;
    if (f->status != 200) {
        size_t room = sizeof(f->err_body) - f->err_len, k = n < room ? n : room;
        memcpy(f->err_body + f->err_len, p, k);
        f->err_len += k;
        return FWS_OK;
    }
    while (n > 0) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            f->write_errno = w < 0 ? errno : ENOSPC;
            return FWS_ERR_IO;
        }
        p += w;
        n -= (size_t)w;
        f->got += (uint64_t)w;
    }
    return FWS_OK;
}

/* The "message" of the server's JSON error body, printable, or "HTTP N". */
static void server_message(const fetch *f, char *out, size_t cap)
{
    json_t *doc = NULL;
    const char *msg = NULL;
    if (f->err_len > 0 && fws_json_parse(f->err_body, f->err_len, 0, NULL, &doc, NULL) == FWS_OK)
        msg = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
    if (msg != NULL)
        snprintf(out, cap, "%.*s", SERVER_MESSAGE_MAX, msg);
    else
        snprintf(out, cap, "HTTP %d", f->status);
    for (char *c = out; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    }
    json_decref(doc);
}

static fws_err refused(const fetch *f, const char *url, fws_errbuf *eb)
{
    char msg[SERVER_MESSAGE_MAX + 32];
    server_message(f, msg, sizeof(msg));
    switch (f->status) {
    case 401:
    case 403:
        return fws_errf(eb, FWS_ERR_PASSPHRASE, "the server refused the token: %s", msg);
    case 429:
        return fws_errf(eb, FWS_ERR_STATE, "the server is making another snapshot, try later: %s",
                        msg);
    case 501:
        return fws_errf(eb, FWS_ERR_UNSUPPORTED, "the server cannot make a snapshot: %s", msg);
    default:
        return fws_errf(eb, FWS_ERR_IO, "%s answered HTTP %d: %s", url, f->status, msg);
    }
}

static fws_err check_opts(const fws_audit_remote_opts *ro, char *url, size_t cap, fws_errbuf *eb)
{
    if (ro == NULL || ro->server == NULL || ro->token == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "remote audit: a server and a token are needed");
    if (strncasecmp(ro->server, "https://", 8) != 0)
        return fws_errf(eb, FWS_ERR_ARG, "%.300s: the server must be an https:// URL", ro->server);
    size_t n = strlen(ro->server), t = strlen(ro->token);
    while (n > 8 && ro->server[n - 1] == '/')
        n--;
    if (n + sizeof(FWS_AUDIT_SNAPSHOT_PATH) > cap || n > FWS_HTTP_URL_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "the server URL is too long");
    if (t == 0 || t > FWS_AUDIT_TOKEN_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "the token must be 1 to %d characters",
                        FWS_AUDIT_TOKEN_MAX);
    for (size_t i = 0; i < t; i++) {
        if ((unsigned char)ro->token[i] <= 0x20 || (unsigned char)ro->token[i] >= 0x7f)
            return fws_errf(eb, FWS_ERR_ARG, "the token holds a space or a control character");
    }
    memcpy(url, ro->server, n);
    memcpy(url + n, FWS_AUDIT_SNAPSHOT_PATH, sizeof(FWS_AUDIT_SNAPSHOT_PATH));
    return FWS_OK;
}

/* One GET with the token; the body goes to f. */
static fws_err get(const fws_audit_remote_opts *ro, const char *url, fetch *f, fws_errbuf *eb)
{
    char auth[sizeof(AUTH_PREFIX) + FWS_AUDIT_TOKEN_MAX];
    const char *headers[] = {auth, NULL};
    unsigned timeout = ro->timeout_s ? ro->timeout_s : TIMEOUT_DEFAULT_S;
    uint64_t max = ro->max_snapshot ? ro->max_snapshot : FWS_AUDIT_SNAPSHOT_MAX_DEFAULT;
    fws_http_opts ho = {.timeout_ms = (timeout < TIMEOUT_MAX_S ? timeout : TIMEOUT_MAX_S) * 1000u,
                        .min_rate = 1,
                        .stall_s = STALL_S,
                        .ca_file = ro->ca_file,
                        .body_max = max};
    fws_http_request rq = {.method = "GET",
                           .url = url,
                           .headers = headers,
                           .body_max = max,
                           .error_body_max = ERROR_BODY_MAX,
                           .on_head = on_head,
                           .sink = sink,
                           .ctx = f};
    fws_http_client *c = NULL;
    fws_errbuf local = {{0}};
    snprintf(auth, sizeof(auth), AUTH_PREFIX "%s", ro->token);
    fws_err err = fws_http_client_new(&ho, &c, &local);
    if (err == FWS_OK)
        err = fws_http_do(c, &rq, NULL, &local);
    fws_http_client_free(c);
    fws_wipe(auth, sizeof(auth));
    if (err == FWS_OK)
        return f->status == 200 ? FWS_OK : refused(f, url, eb);
    if (f->bad_type)
        return fws_errf(eb, FWS_ERR_FORMAT, "%s: not a snapshot (Content-Type \"%.100s\")", url,
                        f->content_type);
    if (f->write_errno != 0)
        return fws_errf(eb, FWS_ERR_IO, "writing the snapshot: %s", strerror(f->write_errno));
    if (err == FWS_ERR_TOO_BIG && (f->status == 200 || f->status == 0))
        return fws_errf(eb, err, "the snapshot is over the cap of %llu bytes: %s",
                        (unsigned long long)max, local.msg);
    return fws_errf(eb, err, "%s", local.msg[0] ? local.msg : fws_strerror(err));
}

fws_err fws_audit_fetch_snapshot(const fws_audit_remote_opts *ro, const char *path, uint64_t *size,
                                 fws_errbuf *eb)
{
    char url[FWS_HTTP_URL_MAX + sizeof(FWS_AUDIT_SNAPSHOT_PATH)];
    fws_err err = check_opts(ro, url, sizeof(url), eb);
    if (err != FWS_OK)
        return err;
    if (path == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "remote audit: no snapshot path");
    fetch *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return FWS_ERR_NOMEM;
    f->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (f->fd < 0) {
        err = fws_errf(eb, errno == EEXIST ? FWS_ERR_EXISTS : FWS_ERR_IO, "%s: %s", path,
                       strerror(errno));
        free(f);
        return err;
    }
    err = get(ro, url, f, eb);
    if (close(f->fd) != 0 && err == FWS_OK)
        err = fws_errf(eb, FWS_ERR_IO, "%s: %s", path, strerror(errno));
    if (err != FWS_OK)
        unlink(path);
    else if (size != NULL)
        *size = f->got;
    free(f);
    return err;
}

/* ---- fetch, restore, audit ----------------------------------------------------------------- */

/* Replaces every occurrence of from in s (NUL-terminated, cap bytes) by to, cutting at cap. */
static void replace_all(char *s, size_t cap, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to);
    char *p = s;
    while (fl > 0 && (p = strstr(p, from)) != NULL) {
        size_t tail = strlen(p + fl);
        size_t room = cap - (size_t)(p - s) - 1; /* bytes available from p on, NUL excluded */
        size_t put = tl < room ? tl : room;
        size_t keep = tail < room - put ? tail : room - put;
        memmove(p + put, p + fl, keep);
        p[put + keep] = '\0';
        memcpy(p, to, put);
        p += put;
    }
}

static void scrub_report(fws_audit_report *r, const char *dir, const char *label)
{
    for (size_t i = 0; i < r->n_findings; i++) {
        replace_all(r->findings[i].subject, sizeof(r->findings[i].subject), dir, label);
        replace_all(r->findings[i].detail, sizeof(r->findings[i].detail), dir, label);
    }
}

static fws_err temp_dir(const fws_audit_remote_opts *ro, char *dir, size_t cap, fws_errbuf *eb)
{
    const char *base = ro->tmp_dir ? ro->tmp_dir : getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    int n = snprintf(dir, cap, "%s/fwseal-remote-audit.XXXXXX", base);
    if (n < 0 || (size_t)n >= cap)
        return fws_errf(eb, FWS_ERR_ARG, "%.200s: temporary directory path too long", base);
    if (mkdtemp(dir) == NULL)
        return fws_errf(eb, FWS_ERR_IO, "%s: cannot make a temporary directory: %s", base,
                        strerror(errno));
    return FWS_OK;
}

/* Restores the fetched snapshot into deploy; a snapshot that does not restore is malformed
 * input (FWS_ERR_FORMAT), whatever check refused it. */
static fws_err restore(const fws_audit_remote_opts *ro, const fws_audit_opts *o, const char *tar,
                       const char *dir, const char *deploy, fws_errbuf *eb)
{
    fws_restore_opts rop = {.backup = tar, .dir = deploy, .log_key = o->log_key};
    fws_errbuf local = {{0}};
    fws_err err = fws_backup_restore(&rop, NULL, &local);
    unlink(tar);
    if (err == FWS_OK)
        return FWS_OK;
    replace_all(local.msg, sizeof(local.msg), dir, "snapshot");
    return fws_errf(eb, err == FWS_ERR_NOMEM ? err : FWS_ERR_FORMAT,
                    "the snapshot from %s does not restore: %s", ro->server,
                    local.msg[0] ? local.msg : fws_strerror(err));
}

static fws_err fetch_and_audit(const fws_audit_remote_opts *ro, const fws_audit_opts *o,
                               const char *dir, fws_audit_report **out, fws_errbuf *eb)
{
    char tar[4200], deploy[4200];
    fws_audit_opts ao = *o;
    fws_errbuf local = {{0}};
    fws_audit_report *r = NULL;
    snprintf(tar, sizeof(tar), "%s/snapshot.tar", dir);
    snprintf(deploy, sizeof(deploy), "%s/deploy", dir);
    fws_err err = fws_audit_fetch_snapshot(ro, tar, NULL, eb);
    if (err == FWS_OK)
        err = restore(ro, o, tar, dir, deploy, eb);
    if (err != FWS_OK)
        return err;
    ao.deploy = deploy;
    ao.label = o->label ? o->label : ro->server;
    err = fws_audit_run(&ao, &r, &local);
    if (err != FWS_OK) {
        replace_all(local.msg, sizeof(local.msg), deploy, ao.label);
        return fws_errf(eb, err, "%s", local.msg[0] ? local.msg : fws_strerror(err));
    }
    scrub_report(r, deploy, ao.label);
    *out = r;
    return FWS_OK;
}

fws_err fws_audit_remote(const fws_audit_remote_opts *ro, const fws_audit_opts *o,
                         fws_audit_report **out, fws_errbuf *eb)
{
    char dir[4096];
    if (ro == NULL || o == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "remote audit: missing argument");
    if (o->deploy != NULL || o->store != NULL || o->ledger_url != NULL)
        return fws_errf(eb, FWS_ERR_ARG,
                        "remote audit: the deployment, store and ledger come from the server");
    fws_err err = temp_dir(ro, dir, sizeof(dir), eb);
    if (err != FWS_OK)
        return err;
    err = fetch_and_audit(ro, o, dir, out, eb);
    au_rmtree(dir);
    return err;
}
