/* Fetchers: http(s) on libcurl with a hard cap, timeouts and stall detection; file:// URLs. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

#define FILE_CHUNK 65536

typedef struct fetch_impl {
    CURL *curl;
    fws_tuf_http_opts opts;
    char user_agent[64];
} fetch_impl;

/* What one transfer has received, checked against its cap in the write callback. */
typedef struct transfer {
    CURL *curl;
    fws_tuf_sink sink;
    void *ctx;
    uint64_t got, max, discarded;
    fws_err err;
} transfer;

/* The body of an error response is read and dropped (so the connection can be reused), up to
 * this many bytes. */
#define ERROR_BODY_MAX 65536

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    transfer *t = userdata;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        t->discarded += n;
        return t->discarded > ERROR_BODY_MAX ? 0 : n;
    }
    if (n > t->max - t->got) {
        t->err = FWS_ERR_TOO_BIG; /* endless data: stop reading at once */
        return 0;
    }
    t->got += n;
    fws_err err = t->sink(t->ctx, (const uint8_t *)ptr, n);
    if (err != FWS_OK) {
        t->err = err;
        return 0;
    }
    return n;
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

static void set_limits(fetch_impl *f, uint64_t max_len)
{
    CURL *c = f->curl;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, f->opts.connect_timeout_s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, f->opts.total_timeout_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, f->opts.min_rate);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, f->opts.stall_s);
    curl_easy_setopt(c, CURLOPT_USERAGENT, f->opts.user_agent);
    /* A declared length over the cap fails before any body byte is read. */
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t)(max_len > (uint64_t)INT64_MAX ? INT64_MAX : max_len));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
}

static fws_err fetch_http(fetch_impl *f, const char *url, uint64_t max_len, fws_tuf_sink sink,
                          void *ctx, fws_errbuf *eb)
{
    transfer t = {f->curl, sink, ctx, 0, max_len, 0, FWS_OK};
    long status = 0;

    set_limits(f, max_len);
    curl_easy_setopt(f->curl, CURLOPT_URL, url);
    curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, &t);
    CURLcode rc = curl_easy_perform(f->curl);
    curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);
    if (t.err == FWS_ERR_TOO_BIG)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%.300s: more than %llu bytes", url,
                        (unsigned long long)max_len);
    if (status == 403 || status == 404)
        return FWS_ERR_NOT_FOUND;
    if (rc == CURLE_FILESIZE_EXCEEDED)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%.300s: declares more than %llu bytes", url,
                        (unsigned long long)max_len);
    if (t.err != FWS_OK)
        return t.err;
    if (status != 200 && status != 0)
        return fws_errf(eb, FWS_ERR_IO, "%.300s: HTTP status %ld", url, status);
    if (rc != CURLE_OK)
        return fws_errf(eb, FWS_ERR_IO, "%.300s: %s", url, curl_easy_strerror(rc));
    if (status != 200)
        return fws_errf(eb, FWS_ERR_IO, "%.300s: HTTP status %ld", url, status);
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
    curl_easy_cleanup(f->curl);
    curl_global_cleanup();
    free(f);
}

fws_err fws_tuf_fetcher_new(const fws_tuf_http_opts *opts, fws_tuf_fetcher *out, fws_errbuf *eb)
{
    fetch_impl *f;
    if (out == NULL)
        return FWS_ERR_ARG;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return fws_errf(eb, FWS_ERR_IO, "libcurl did not initialise");
    f = calloc(1, sizeof(*f));
    if (f == NULL || (f->curl = curl_easy_init()) == NULL) {
        free(f);
        curl_global_cleanup();
        return fws_errf(eb, FWS_ERR_NOMEM, "libcurl handle");
    }
    if (opts != NULL)
        f->opts = *opts;
    if (f->opts.connect_timeout_s <= 0)
        f->opts.connect_timeout_s = 10;
    if (f->opts.total_timeout_s <= 0)
        f->opts.total_timeout_s = 300;
    if (f->opts.min_rate <= 0)
        f->opts.min_rate = 64;
    if (f->opts.stall_s <= 0)
        f->opts.stall_s = 20;
    if (f->opts.user_agent == NULL) {
        snprintf(f->user_agent, sizeof(f->user_agent), "fwseal/%s", FWS_VERSION);
        f->opts.user_agent = f->user_agent;
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
