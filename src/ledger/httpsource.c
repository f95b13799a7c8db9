/* A tile source over HTTP(S) with fwseal's HTTP client: GET BASE/<path>, capped, with timeouts,
 * no redirects, http and https only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/http.h"
#include "writer_internal.h"

#define URL_MAX 2048

struct fws_http_source {
    fws_http_client *http;
    char base[URL_MAX];
};

static fws_err http_fetch(void *ctx, const char *path, uint8_t *buf, size_t cap, size_t *len,
                          fws_errbuf *eb)
{
    fws_http_source *h = ctx;
    char url[URL_MAX + FWS_TILE_PATH_MAX + 2];
    fws_http_collect s = {.data = buf, .cap = cap};
    fws_errbuf local = {""};

    snprintf(url, sizeof(url), "%s/%s", h->base, path);
    fws_http_request req = {
        .url = url,
        .body_max = cap ? cap : 1,
        .on_head = fws_http_collect_head,
        .sink = fws_http_collect_sink,
        .ctx = &s,
    };
    fws_err err = fws_http_do(h->http, &req, NULL, &local);
    if (err == FWS_ERR_TOO_BIG && s.status == 200)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%s: larger than %zu bytes", url, cap);
    if (err != FWS_OK)
        return fws_errf(eb, FWS_ERR_IO, "%s", local.msg[0] ? local.msg : url);
    if (s.status == 404)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "%s: not found (HTTP 404)", url);
    if (s.status != 200)
        return fws_errf(eb, FWS_ERR_IO, "%s: HTTP status %d", url, s.status);
    *len = s.len;
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
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    memcpy(h->base, base_url, n);
    timeout_ms = timeout_ms ? timeout_ms : 10000;
    fws_http_opts o = {.connect_timeout_ms = timeout_ms, .timeout_ms = timeout_ms};
    fws_err err = fws_http_client_new(&o, &h->http, eb);
    if (err != FWS_OK) {
        free(h);
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
    fws_http_client_free(h->http);
    free(h);
}
