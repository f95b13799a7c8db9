/* A tile source over HTTP(S) with libcurl: GET BASE/<path>, capped, with timeouts, no
 * redirects, http and https only. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "writer_internal.h"

#define URL_MAX 2048

struct fws_http_source {
    CURL *curl;
    char base[URL_MAX];
    unsigned timeout_ms;
};

typedef struct sink {
    uint8_t *buf;
    size_t cap, len;
    int overflow;
} sink;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void init_curl(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *ctx)
{
    sink *s = ctx;
    size_t n = size * nmemb;
    if (n > s->cap - s->len) {
        s->overflow = 1;
        return 0; /* aborts the transfer */
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    return n;
}

static fws_err http_fetch(void *ctx, const char *path, uint8_t *buf, size_t cap, size_t *len,
                          fws_errbuf *eb)
{
    fws_http_source *h = ctx;
    char url[URL_MAX + FWS_TILE_PATH_MAX + 2];
    sink s = {buf, cap, 0, 0};
    long code = 0;

    snprintf(url, sizeof(url), "%s/%s", h->base, path);
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &s);
    CURLcode rc = curl_easy_perform(h->curl);
    if (s.overflow)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%s: larger than %zu bytes", url, cap);
    if (rc != CURLE_OK)
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", url, curl_easy_strerror(rc));
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code == 404)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "%s: not found (HTTP 404)", url);
    if (code != 200)
        return fws_errf(eb, FWS_ERR_IO, "%s: HTTP status %ld", url, code);
    *len = s.len;
    return FWS_OK;
}

static fws_err setup(fws_http_source *h, fws_errbuf *eb)
{
    long timeout = (long)h->timeout_ms;
    if (curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout) != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK ||
        curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "fwseal/" FWS_VERSION) != CURLE_OK)
        return fws_errf(eb, FWS_ERR_UNSUPPORTED, "libcurl lacks a required option");
    return FWS_OK;
}

fws_err fws_http_source_open(const char *base_url, unsigned timeout_ms, fws_http_source **out,
                             fws_tile_source *src, fws_errbuf *eb)
{
    fws_http_source *h;
    size_t n;
    if (base_url == NULL || out == NULL || src == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no URL");
    n = strlen(base_url);
    while (n > 0 && base_url[n - 1] == '/')
        n--;
    if (n == 0 || n >= URL_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "URL must be 1 to %d bytes", URL_MAX - 1);
    if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0)
        return fws_errf(eb, FWS_ERR_UNSUPPORTED, "%s: only http:// and https:// URLs", base_url);
    pthread_once(&curl_once, init_curl);
    if (curl_init_rc != CURLE_OK)
        return fws_errf(eb, FWS_ERR_IO, "libcurl: %s", curl_easy_strerror(curl_init_rc));
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    memcpy(h->base, base_url, n);
    h->timeout_ms = timeout_ms ? timeout_ms : 10000;
    h->curl = curl_easy_init();
    fws_err err = h->curl ? setup(h, eb) : fws_errf(eb, FWS_ERR_IO, "libcurl: cannot start");
    if (err != FWS_OK) {
        fws_http_source_close(h);
        return err;
    }
    src->fetch = http_fetch;
    src->ctx = h;
    *out = h;
    return FWS_OK;
}

void fws_http_source_close(fws_http_source *h)
{
    if (h == NULL)
        return;
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    free(h);
}
