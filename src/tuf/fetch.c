/* Fetchers: http(s) on fwseal's HTTP client with a hard cap, timeouts and stall detection;
 * file:// URLs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fwseal/http.h"
#include "internal.h"

#define FILE_CHUNK 65536

typedef struct fetch_impl {
    fws_http_client *http;
} fetch_impl;

/* What one transfer has received: the status decides whether bytes go to the sink. */
typedef struct transfer {
    fws_tuf_sink sink;
    void *ctx;
    int status;
    uint64_t got, max;
    fws_err sink_err;
} transfer;

/* The body of an error response is read and dropped (so the connection can be reused), up to
 * this many bytes. */
#define ERROR_BODY_MAX 65536

static fws_err on_head(void *ctx, const fws_http_response *head)
{
    transfer *t = ctx;
    t->status = head->status;
    return FWS_OK;
}

static fws_err on_data(void *ctx, const uint8_t *p, size_t n)
{
    transfer *t = ctx;
    if (t->status != 200)
        return FWS_OK;
    if (n > t->max - t->got)
        return FWS_ERR_TOO_BIG; /* endless data: stop reading at once */
    t->got += n;
    t->sink_err = t->sink(t->ctx, p, n);
    return t->sink_err;
}

static fws_err fetch_file(const char *path, uint64_t max_len, fws_tuf_sink sink, void *ctx,
                          fws_errbuf *eb)
{
    uint8_t *buf = NULL;
    uint64_t got = 0;
    struct stat st;
    fws_err err = FWS_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return errno == ENOENT ? FWS_ERR_NOT_FOUND
                               : fws_errf(eb, FWS_ERR_IO, "%.300s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fws_errf(eb, FWS_ERR_IO, "%.300s: not a regular file", path);
    }
    if ((buf = malloc(FILE_CHUNK)) == NULL) {
        close(fd);
        return FWS_ERR_NOMEM;
    }
    for (;;) {
        ssize_t n = read(fd, buf, FILE_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = fws_errf(eb, FWS_ERR_IO, "%.300s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if ((uint64_t)n > max_len - got) {
            err = fws_errf(eb, FWS_ERR_TOO_BIG, "%.300s: more than %llu bytes", path,
                           (unsigned long long)max_len);
            break;
        }
        got += (uint64_t)n;
        if ((err = sink(ctx, buf, (size_t)n)) != FWS_OK)
            break;
    }
    free(buf);
    close(fd);
    return err;
}

static fws_err fetch_http(fetch_impl *f, const char *url, uint64_t max_len, fws_tuf_sink sink,
                          void *ctx, fws_errbuf *eb)
{
    transfer t = {sink, ctx, 0, 0, max_len, FWS_OK};
    fws_errbuf local = {""};
    fws_http_request req = {.url = url,
                            .body_max = max_len ? max_len : 1,
                            .error_body_max = ERROR_BODY_MAX,
                            .on_head = on_head,
                            .sink = on_data,
                            .ctx = &t};
    fws_err err = fws_http_do(f->http, &req, NULL, &local);
    if (t.sink_err != FWS_OK)
        return t.sink_err;
    if (t.status == 403 || t.status == 404)
        return FWS_ERR_NOT_FOUND;
    if (err == FWS_ERR_TOO_BIG && t.status == 200)
        return local.msg[0] ? fws_errf(eb, FWS_ERR_TOO_BIG, "%s", local.msg)
                            : fws_errf(eb, FWS_ERR_TOO_BIG, "%.300s: more than %llu bytes", url,
                                       (unsigned long long)max_len);
    if (err != FWS_OK)
        return fws_errf(eb, FWS_ERR_IO, "%s", local.msg);
    if (t.status != 200)
        return fws_errf(eb, FWS_ERR_IO, "%.300s: HTTP status %d", url, t.status);
    return FWS_OK;
}

static fws_err fetch_any(void *impl, const char *url, uint64_t max_len, fws_tuf_sink sink,
                         void *ctx, fws_errbuf *eb)
{
    fetch_impl *f = impl;
    if (url == NULL || sink == NULL)
        return FWS_ERR_ARG;
    if (strncmp(url, "file://", 7) == 0)
        return fetch_file(url + 7, max_len, sink, ctx, eb);
    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)
        return fetch_http(f, url, max_len, sink, ctx, eb);
    return fws_errf(eb, FWS_ERR_ARG, "%.300s: only http, https and file URLs are supported", url);
}

static void fetch_destroy(void *impl)
{
    fetch_impl *f = impl;
    if (f == NULL)
        return;
    fws_http_client_free(f->http);
    free(f);
}

/* Seconds to milliseconds for the HTTP client, 0 and negatives left to its default. */
static unsigned to_ms(long s, long dflt)
{
    long v = s > 0 ? s : dflt;
    return v > 4000000 ? 4000000000u : (unsigned)v * 1000u;
}

fws_err fws_tuf_fetcher_new(const fws_tuf_http_opts *opts, fws_tuf_fetcher *out, fws_errbuf *eb)
{
    static const fws_tuf_http_opts none;
    const fws_tuf_http_opts *o = opts ? opts : &none;
    char ua[64];
    if (out == NULL)
        return FWS_ERR_ARG;
    snprintf(ua, sizeof(ua), "fwseal/%s", FWS_VERSION);
    fws_http_opts h = {.connect_timeout_ms = to_ms(o->connect_timeout_s, 10),
                       .timeout_ms = to_ms(o->total_timeout_s, 300),
                       .min_rate = o->min_rate > 0 ? o->min_rate : 64,
                       .stall_s = o->stall_s > 0 ? o->stall_s : 20,
                       .user_agent = o->user_agent ? o->user_agent : ua,
                       .max_redirects = 3};
    fetch_impl *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "HTTP fetcher: out of memory");
    fws_err err = fws_http_client_new(&h, &f->http, eb);
    if (err != FWS_OK) {
        free(f);
        return err;
    }
    out->fetch = fetch_any;
    out->destroy = fetch_destroy;
    out->impl = f;
    return FWS_OK;
}

void fws_tuf_fetcher_free(fws_tuf_fetcher *f)
{
    if (f == NULL || f->destroy == NULL)
        return;
    f->destroy(f->impl);
    memset(f, 0, sizeof(*f));
}
