/* Downloads over HTTPS with fwseal's HTTP client: the server's key pinned, resumes with Range
 * requests, a hard cap, exponential backoff, no retry on a definitive 4xx, stall detection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fwseal/http.h"
#include "agent/internal.h"

#define ERROR_BODY_MAX 65536
#define DOWNLOAD_TIMEOUT_MS (24u * 3600 * 1000) /* stall detection is the real limit */
#define REQUEST_TIMEOUT_MS 60000

struct fws_agent_http {
    fws_http_client *http;
    fws_agent_http_opts o;
    fws_agent_http_stats stats;
};

fws_err fws_agent_http_new(const fws_agent_http_opts *opts, fws_agent_http **out, fws_errbuf *eb)
{
    static const fws_agent_http_opts none;
    char ua[64];
    fws_agent_http *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return FWS_ERR_NOMEM;
    h->o = opts ? *opts : none;
    h->o.attempts = h->o.attempts ? h->o.attempts : 6;
    h->o.backoff_ms = h->o.backoff_ms ? h->o.backoff_ms : 250;
    h->o.backoff_max_ms = h->o.backoff_max_ms ? h->o.backoff_max_ms : 30000;
    h->o.min_rate = h->o.min_rate ? h->o.min_rate : 1024;
    h->o.stall_s = h->o.stall_s ? h->o.stall_s : 30;
    h->o.connect_timeout_s = h->o.connect_timeout_s ? h->o.connect_timeout_s : 10;
    snprintf(ua, sizeof(ua), "fwseal-agent/%s", FWS_VERSION);
    fws_http_opts ho = {
        .connect_timeout_ms =
            (unsigned)(h->o.connect_timeout_s > 3600 ? 3600 : h->o.connect_timeout_s) * 1000u,
        .timeout_ms = DOWNLOAD_TIMEOUT_MS,
        .min_rate = h->o.min_rate,
        .stall_s = h->o.stall_s,
        .user_agent = ua,
        .ca_file = h->o.ca_file,
        /* The pin alone authenticates the server when no CA is given (a device knows none). */
        .no_verify = h->o.ca_file == NULL && h->o.pin != NULL,
        .pin = h->o.pin,
        .cert_file = h->o.cert_file,
        .key_file = h->o.cert_file ? h->o.key_file : NULL,
        .key_pass = h->o.cert_file ? h->o.key_pass : NULL};
    fws_err err = fws_http_client_new(&ho, &h->http, eb);
    if (err != FWS_OK) {
        free(h);
        return err;
    }
    h->o.pin = h->o.ca_file = h->o.cert_file = h->o.key_file = h->o.key_pass = NULL;
    *out = h;
    return FWS_OK;
}

void fws_agent_http_free(fws_agent_http *h)
{
    if (h == NULL)
        return;
    fws_http_client_free(h->http);
    free(h);
}

void fws_agent_http_get_stats(const fws_agent_http *h, fws_agent_http_stats *out)
{
    *out = h->stats;
}

/* The client's message without the URL it starts with (the caller names the URL). */
static const char *without_url(const char *msg, const char *url)
{
    size_t n = strlen(url);
    if (strncmp(msg, url, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        return msg + n + 2;
    return msg[0] ? msg : "request failed";
}

/* ---- downloads ---------------------------------------------------------------------------------
 */

typedef struct dl {
    fws_agent_http *h;
    uint64_t got;  /* bytes delivered to the sink, offset included */
    uint64_t skip; /* bytes to drop: a server that ignored the Range sends them again */
    uint64_t max_len;
    int code; /* the response's status, once its head is in */
    fws_agent_sink_fn sink;
    void *ctx;
    fws_err sink_err;
} dl;

static fws_err dl_head(void *ctx, const fws_http_response *head)
{
    dl *d = ctx;
    d->code = head->status;
    d->skip = d->code == 200 ? d->got : 0;
    return FWS_OK;
}

static fws_err dl_write(void *ctx, const uint8_t *data, size_t len)
{
    dl *d = ctx;
    if (d->code != 200 && d->code != 206)
        return FWS_OK; /* an error page: not part of the payload */
    if (d->skip > 0) {
        size_t drop = d->skip < len ? (size_t)d->skip : len;
        d->skip -= drop;
        data += drop;
        len -= drop;
    }
    if (len == 0)
        return FWS_OK;
    if (d->got + len > d->max_len) {
        d->sink_err = FWS_ERR_LENGTH; /* endless data */
        return d->sink_err;
    }
    fws_err err = d->sink(d->ctx, data, len);
    if (err != FWS_OK) {
        d->sink_err = err;
        return err;
    }
    d->got += len;
    return FWS_OK;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static unsigned jittered(unsigned delay)
{
    uint16_t r = 0;
    if (fws_random(&r, sizeof(r)) != FWS_OK)
        return delay;
    return delay / 2 + (unsigned)((uint64_t)r * (delay / 2 + 1) / 65536u);
}

/* What a finished exchange means: 1 when the download is complete or must stop (*err says
 * how), 0 to retry. */
static int judge(fws_agent_http *h, dl *d, fws_err rc, const char *msg, fws_err *err, char *why,
                 size_t why_cap)
{
    int payload = d->code == 200 || d->code == 206;
    if (d->sink_err != FWS_OK || (rc == FWS_ERR_TOO_BIG && payload)) {
        *err = d->sink_err != FWS_OK ? d->sink_err : FWS_ERR_LENGTH;
        snprintf(why, why_cap, "%s",
                 *err == FWS_ERR_LENGTH ? "more bytes than the signed length (endless data)"
                                        : "the data was refused");
        return 1;
    }
    *err = FWS_OK;
    if (rc == FWS_OK && payload)
        return 1;
    if (rc == FWS_OK && d->code == 416 && d->got == d->max_len)
        return 1; /* everything had arrived before the drop */
    if (rc == FWS_OK && d->code >= 400 && d->code < 500 && d->code != 408 && d->code != 429) {
        *err = d->code == 404 || d->code == 410 ? FWS_ERR_NOT_FOUND : FWS_ERR_STATE;
        snprintf(why, why_cap, "HTTP %d", d->code);
        return 1;
    }
    fws_http_failure f = fws_http_last_failure(h->http);
    if (rc != FWS_OK && f == FWS_HTTP_FAIL_STALL) {
        h->stats.stalls++;
        snprintf(why, why_cap, "stalled below %ld bytes/s for %ld s after %llu bytes",
                 h->o.min_rate, h->o.stall_s, (unsigned long long)d->got);
    } else if (rc != FWS_OK) {
        h->stats.stalls += f == FWS_HTTP_FAIL_TIMEOUT;
        snprintf(why, why_cap, "%s", msg);
    } else {
        snprintf(why, why_cap, "HTTP %d", d->code);
    }
    *err = FWS_ERR_IO;
    return 0;
}

/* One request. 1 when the download is complete or must stop (*err says how), 0 to retry. */
static int attempt_once(fws_agent_http *h, const char *url, dl *d, fws_err *err, char *why,
                        size_t why_cap)
{
    char range[48];
    const char *headers[] = {range, NULL};
    fws_errbuf local = {""};
    snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)d->got);
    fws_http_request req = {.url = url,
                            .headers = d->got > 0 ? headers : NULL,
                            .body_max = d->max_len ? d->max_len : 1,
                            .error_body_max = ERROR_BODY_MAX,
                            .on_head = dl_head,
                            .sink = dl_write,
                            .ctx = d};
    d->code = 0;
    d->skip = 0;
    d->sink_err = FWS_OK;
    h->stats.attempts++;
    fws_err rc = fws_http_do(h->http, &req, NULL, &local);
    return judge(h, d, rc, without_url(local.msg, url), err, why, why_cap);
}

fws_err fws_agent_http_download(fws_agent_http *h, const char *url, uint64_t offset,
                                uint64_t max_len, fws_agent_sink_fn sink, void *ctx,
                                uint64_t *total, fws_errbuf *eb)
{
    dl d;
    memset(&d, 0, sizeof(d));
    d.h = h;
    d.got = offset;
    d.max_len = max_len;
    d.sink = sink;
    d.ctx = ctx;
    char why[256] = "no attempt";
    fws_err err = FWS_ERR_IO;
    unsigned delay = h->o.backoff_ms;
    for (unsigned i = 0; i < h->o.attempts; i++) {
        if (i > 0) {
            sleep_ms(jittered(delay));
            delay = delay * 2 > h->o.backoff_max_ms ? h->o.backoff_max_ms : delay * 2;
            if (d.got > 0)
                h->stats.resumes++;
        }
        if (attempt_once(h, url, &d, &err, why, sizeof(why)))
            break;
    }
    if (total != NULL)
        *total = d.got;
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: %s", url, why);
    return FWS_OK;
}

/* ---- small requests
 * ------------------------------------------------------------------------------ */

typedef struct membuf {
    uint8_t *data;
    size_t len, cap, max;
    int over;
} membuf;

static fws_err mem_write(void *ctx, const uint8_t *p, size_t len)
{
    membuf *m = ctx;
    if (len > m->max - m->len) {
        m->over = 1;
        return FWS_ERR_TOO_BIG;
    }
    if (m->len + len + 1 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 4096;
        while (cap < m->len + len + 1)
            cap *= 2;
        uint8_t *d = realloc(m->data, cap);
        if (d == NULL)
            return FWS_ERR_NOMEM;
        m->data = d;
        m->cap = cap;
    }
    memcpy(m->data + m->len, p, len);
    m->len += len;
    m->data[m->len] = 0;
    return FWS_OK;
}

fws_err fws_agent_http_request(fws_agent_http *h, const char *url, const char *content_type,
                               const uint8_t *body, size_t body_len, size_t max_len, long *status,
                               uint8_t **resp, size_t *resp_len, fws_errbuf *eb)
{
    char ct[128];
    const char *headers[] = {ct, NULL};
    membuf m = {NULL, 0, 0, max_len, 0};
    fws_http_response head;
    fws_errbuf local = {""};
    snprintf(ct, sizeof(ct), "Content-Type: %s", content_type ? content_type : "application/json");
    fws_http_request req = {.method = body ? "POST" : "GET",
                            .url = url,
                            .headers = body ? headers : NULL,
                            .body = body,
                            .body_len = body_len,
                            .timeout_ms = REQUEST_TIMEOUT_MS,
                            .body_max = max_len ? max_len : 1,
                            .error_body_max = max_len ? max_len : 1,
                            .sink = mem_write,
                            .ctx = &m};
    h->stats.attempts++;
    fws_err err = fws_http_do(h->http, &req, &head, &local);
    if (m.over || err == FWS_ERR_TOO_BIG)
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "%s: response over %zu bytes", url, max_len);
    else if (err != FWS_OK)
        err = fws_errf(eb, err == FWS_ERR_NOMEM ? err : FWS_ERR_IO, "%s: %s", url,
                       without_url(local.msg, url));
    if (err != FWS_OK) {
        free(m.data);
        return err;
    }
    if (m.data == NULL && (m.data = calloc(1, 1)) == NULL)
        return FWS_ERR_NOMEM;
    *status = head.status;
    *resp = m.data;
    *resp_len = m.len;
    return FWS_OK;
}

/* ---- the install source -------------------------------------------------------------------------
 */

static fws_err http_fetch(void *ctx, const fws_agent_target *t, uint64_t offset,
                          fws_agent_sink_fn sink, void *sink_ctx, fws_errbuf *eb)
{
    return fws_agent_http_download(ctx, t->url, offset, t->length, sink, sink_ctx, NULL, eb);
}

void fws_agent_http_source(fws_agent_http *h, fws_agent_source *out)
{
    out->fetch = http_fetch;
    out->ctx = h;
}
