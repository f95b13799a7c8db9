/* Downloads over HTTPS with libcurl: the server's key pinned, resumes with Range requests,
 * a hard cap, exponential backoff, no retry on a definitive 4xx, stall detection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include "agent/internal.h"

#define ERROR_BODY_MAX 4096

struct fws_agent_http {
    CURL *curl;
    fws_agent_http_opts o;
    char *pin, *ca_file, *cert_file, *key_file, *key_pass;
    fws_agent_http_stats stats;
};

static char *dup_opt(const char *s, int *fail)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *fail = 1;
    return d;
}

fws_err fws_agent_http_new(const fws_agent_http_opts *opts, fws_agent_http **out, fws_errbuf *eb)
{
    static const fws_agent_http_opts none;
    fws_agent_http *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return FWS_ERR_NOMEM;
    h->o = opts ? *opts : none;
    int fail = 0;
    h->pin = dup_opt(h->o.pin, &fail);
    h->ca_file = dup_opt(h->o.ca_file, &fail);
    h->cert_file = dup_opt(h->o.cert_file, &fail);
    h->key_file = dup_opt(h->o.key_file, &fail);
    h->key_pass = dup_opt(h->o.key_pass, &fail);
    h->o.attempts = h->o.attempts ? h->o.attempts : 6;
    h->o.backoff_ms = h->o.backoff_ms ? h->o.backoff_ms : 250;
    h->o.backoff_max_ms = h->o.backoff_max_ms ? h->o.backoff_max_ms : 30000;
    h->o.min_rate = h->o.min_rate ? h->o.min_rate : 1024;
    h->o.stall_s = h->o.stall_s ? h->o.stall_s : 30;
    h->o.connect_timeout_s = h->o.connect_timeout_s ? h->o.connect_timeout_s : 10;
    h->curl = fail ? NULL : curl_easy_init();
    if (h->curl == NULL) {
        fws_agent_http_free(h);
        return fws_errf(eb, FWS_ERR_NOMEM, "cannot start libcurl");
    }
    *out = h;
    return FWS_OK;
}

void fws_agent_http_free(fws_agent_http *h)
{
    if (h == NULL)
        return;
    curl_easy_cleanup(h->curl);
    if (h->key_pass != NULL)
        fws_wipe(h->key_pass, strlen(h->key_pass));
    free(h->pin);
    free(h->ca_file);
    free(h->cert_file);
    free(h->key_file);
    free(h->key_pass);
    free(h);
}

void fws_agent_http_get_stats(const fws_agent_http *h, fws_agent_http_stats *out)
{
    *out = h->stats;
}

/* The options every request shares: TLS with the pin, client certificate, no redirects. */
static void common_opts(fws_agent_http *h, const char *url, char *errbuf)
{
    CURL *c = h->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h->o.connect_timeout_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, h->o.min_rate);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->o.stall_s);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "fwseal-agent/" FWS_VERSION);
    if (h->pin != NULL)
        curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, h->pin);
    if (h->ca_file != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
    } else if (h->pin != NULL) {
        /* The pin alone authenticates the server (a device knows no CA). */
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (h->cert_file != NULL)
        curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert_file);
    if (h->key_file != NULL)
        curl_easy_setopt(c, CURLOPT_SSLKEY, h->key_file);
    if (h->key_pass != NULL)
        curl_easy_setopt(c, CURLOPT_KEYPASSWD, h->key_pass);
}

/* ---- downloads ---------------------------------------------------------------------------------
 */

typedef struct dl {
    fws_agent_http *h;
    uint64_t got;  /* bytes delivered to the sink, offset included */
    uint64_t skip; /* bytes to drop: a server that ignored the Range sends them again */
    uint64_t max_len;
    int started; /* the status line is known */
    long code;
    fws_agent_sink_fn sink;
    void *ctx;
    fws_err sink_err;
} dl;

static size_t dl_write(char *p, size_t size, size_t n, void *ud)
{
    dl *d = ud;
    size_t len = size * n;
    if (!d->started) {
        d->started = 1;
        curl_easy_getinfo(d->h->curl, CURLINFO_RESPONSE_CODE, &d->code);
        d->skip = d->code == 200 ? d->got : 0;
    }
    if (d->code != 200 && d->code != 206)
        return len; /* an error page: not part of the payload */
    const uint8_t *data = (const uint8_t *)p;
    size_t rest = len;
    if (d->skip > 0) {
        size_t drop = d->skip < rest ? (size_t)d->skip : rest;
        d->skip -= drop;
        data += drop;
        rest -= drop;
    }
    if (rest == 0)
        return len;
    if (d->got + rest > d->max_len) {
        d->sink_err = FWS_ERR_LENGTH; /* endless data */
        return 0;
    }
    fws_err err = d->sink(d->ctx, data, rest);
    if (err != FWS_OK) {
        d->sink_err = err;
        return 0;
    }
    d->got += rest;
    return len;
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

/* One request. 1 when the download is complete or must stop (*err says how), 0 to retry. */
static int attempt_once(fws_agent_http *h, const char *url, dl *d, fws_err *err, char *why,
                        size_t why_cap)
{
    char errbuf[CURL_ERROR_SIZE] = "", range[48];
    common_opts(h, url, errbuf);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, dl_write);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, d);
    if (d->got > 0) {
        snprintf(range, sizeof(range), "%llu-", (unsigned long long)d->got);
        curl_easy_setopt(h->curl, CURLOPT_RANGE, range);
    }
    d->started = 0;
    d->code = 0;
    d->sink_err = FWS_OK;
    h->stats.attempts++;
    CURLcode rc = curl_easy_perform(h->curl);
    if (!d->started)
        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &d->code);
    if (d->sink_err != FWS_OK) {
        *err = d->sink_err;
        snprintf(why, why_cap, "%s",
                 d->sink_err == FWS_ERR_LENGTH ? "more bytes than the signed length (endless data)"
                                               : "the data was refused");
        return 1;
    }
    if (rc == CURLE_OK && (d->code == 200 || d->code == 206)) {
        *err = FWS_OK;
        return 1;
    }
    if (rc == CURLE_OK && d->code == 416 && d->got == d->max_len) {
        *err = FWS_OK; /* everything had arrived before the drop */
        return 1;
    }
    if (rc == CURLE_OK && d->code >= 400 && d->code < 500 && d->code != 408 && d->code != 429) {
        *err = d->code == 404 || d->code == 410 ? FWS_ERR_NOT_FOUND : FWS_ERR_STATE;
        snprintf(why, why_cap, "HTTP %ld", d->code);
        return 1;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        h->stats.stalls++;
        snprintf(why, why_cap, "stalled below %ld bytes/s for %ld s after %llu bytes",
                 h->o.min_rate, h->o.stall_s, (unsigned long long)d->got);
    } else if (rc != CURLE_OK) {
        snprintf(why, why_cap, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    } else {
        snprintf(why, why_cap, "HTTP %ld", d->code);
    }
    *err = FWS_ERR_IO;
    return 0;
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

static size_t mem_write(char *p, size_t size, size_t n, void *ud)
{
    membuf *m = ud;
    size_t len = size * n;
    if (m->len + len > m->max) {
        m->over = 1;
        return 0;
    }
    if (m->len + len + 1 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 4096;
        while (cap < m->len + len + 1)
            cap *= 2;
        uint8_t *d = realloc(m->data, cap);
        if (d == NULL)
            return 0;
        m->data = d;
        m->cap = cap;
    }
    memcpy(m->data + m->len, p, len);
    m->len += len;
    m->data[m->len] = 0;
    return len;
}

fws_err fws_agent_http_request(fws_agent_http *h, const char *url, const char *content_type,
                               const uint8_t *body, size_t body_len, size_t max_len, long *status,
                               uint8_t **resp, size_t *resp_len, fws_errbuf *eb)
{
    char errbuf[CURL_ERROR_SIZE] = "", ct[128];
    membuf m = {NULL, 0, 0, max_len, 0};
    struct curl_slist *hdrs = NULL;
    common_opts(h, url, errbuf);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, mem_write);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &m);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 60L);
    if (body != NULL) {
        snprintf(ct, sizeof(ct), "Content-Type: %s",
                 content_type ? content_type : "application/json");
        hdrs = curl_slist_append(hdrs, ct);
        curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, (const char *)body);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    h->stats.attempts++;
    CURLcode rc = curl_easy_perform(h->curl);
    curl_slist_free_all(hdrs);
    long code = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
    fws_err err = FWS_OK;
    if (m.over)
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "%s: response over %zu bytes", url, max_len);
    else if (rc != CURLE_OK)
        err = fws_errf(eb, FWS_ERR_IO, "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    if (err != FWS_OK) {
        free(m.data);
        return err;
    }
    if (m.data == NULL && (m.data = calloc(1, 1)) == NULL)
        return FWS_ERR_NOMEM;
    *status = code;
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
