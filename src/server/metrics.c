/* Metrics: registered counters and gauges plus the engine's own, in the Prometheus text
 * exposition format (version 0.0.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/internal.h"

const double srv_duration_le[SRV_DURATION_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   1.0,   5.0};

static int name_ok(const char *name, char base[96])
{
    size_t n = strcspn(name, "{");
    if (n == 0 || n >= 96 || strlen(name) >= 160)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9')))
            return 0;
    }
    if (name[n] == '{' && name[strlen(name) - 1] != '}')
        return 0;
    memcpy(base, name, n);
    base[n] = '\0';
    return 1;
}

static fws_err add_metric(fws_server *srv, const char *name, const char *help, int gauge,
                          fws_metric **out, fws_errbuf *eb)
{
    char base[96];
    if (srv->listening)
        return fws_errf(eb, FWS_ERR_STATE, "metric %s registered after listen", name);
    if (!name_ok(name, base))
        return fws_errf(eb, FWS_ERR_ARG, "bad metric name %s", name);
    srv_metrics *m = &srv->metrics;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->items[i].name, name) == 0)
            return fws_errf(eb, FWS_ERR_EXISTS, "metric %s registered twice", name);
    if (m->n == FWS_SERVER_METRICS_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "more than %d metrics", FWS_SERVER_METRICS_MAX);
    fws_metric *it = &m->items[m->n++];
    snprintf(it->name, sizeof(it->name), "%s", name);
    memcpy(it->base, base, sizeof(base));
    it->help = help ? help : "";
    it->gauge = gauge;
    atomic_store(&it->value, 0);
    *out = it;
    return FWS_OK;
}

fws_err fws_server_counter(fws_server *srv, const char *name, const char *help, fws_metric **out,
                           fws_errbuf *eb)
{
    return add_metric(srv, name, help, 0, out, eb);
}

fws_err fws_server_gauge(fws_server *srv, const char *name, const char *help, fws_metric **out,
                         fws_errbuf *eb)
{
    return add_metric(srv, name, help, 1, out, eb);
}

void fws_metric_add(fws_metric *m, int64_t delta)
{
    atomic_fetch_add_explicit(&m->value, delta, memory_order_relaxed);
}

void fws_metric_set(fws_metric *m, int64_t value)
{
    atomic_store_explicit(&m->value, value, memory_order_relaxed);
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

static void builtin(FILE *f, fws_server *srv)
{
    srv_counters *c = &srv->counters;
    fprintf(f, "# HELP fwseal_http_requests_total HTTP requests answered, by status class.\n"
               "# TYPE fwseal_http_requests_total counter\n");
    for (int i = 1; i <= 5; i++)
        fprintf(f, "fwseal_http_requests_total{code=\"%dxx\"} %llu\n", i,
                (unsigned long long)LOAD(c->requests[i]));
    fprintf(f, "# HELP fwseal_http_request_duration_seconds Time from a complete request to "
               "its response.\n# TYPE fwseal_http_request_duration_seconds histogram\n");
    uint64_t total = 0;
    for (int i = 0; i < SRV_DURATION_BUCKETS; i++) {
        total += LOAD(c->duration_buckets[i]);
        fprintf(f, "fwseal_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                srv_duration_le[i], (unsigned long long)total);
    }
    total += LOAD(c->duration_buckets[SRV_DURATION_BUCKETS]);
    fprintf(f,
            "fwseal_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
            "fwseal_http_request_duration_seconds_sum %.6f\n"
            "fwseal_http_request_duration_seconds_count %llu\n",
            (unsigned long long)total, (double)LOAD(c->duration_sum_us) / 1e6,
            (unsigned long long)total);
    fprintf(f,
            "# HELP fwseal_connections_open TLS connections open now.\n"
            "# TYPE fwseal_connections_open gauge\nfwseal_connections_open %lld\n"
            "# HELP fwseal_connections_total Connections accepted.\n"
            "# TYPE fwseal_connections_total counter\nfwseal_connections_total %llu\n"
            "# HELP fwseal_connections_refused_total Connections closed at once (over the cap "
            "or shutting down).\n# TYPE fwseal_connections_refused_total counter\n"
            "fwseal_connections_refused_total %llu\n"
            "# HELP fwseal_tls_handshake_failures_total TLS handshakes that failed.\n"
            "# TYPE fwseal_tls_handshake_failures_total counter\n"
            "fwseal_tls_handshake_failures_total %llu\n"
            "# HELP fwseal_timeouts_total Connections dropped for idle or slow clients.\n"
            "# TYPE fwseal_timeouts_total counter\nfwseal_timeouts_total %llu\n"
            "# HELP fwseal_rate_limited_total Requests refused with 429.\n"
            "# TYPE fwseal_rate_limited_total counter\nfwseal_rate_limited_total %llu\n"
            "# HELP fwseal_ledger_held 1 when this process holds the ledger.\n"
            "# TYPE fwseal_ledger_held gauge\nfwseal_ledger_held %d\n"
            "# HELP fwseal_uptime_seconds Seconds since the server started.\n"
            "# TYPE fwseal_uptime_seconds gauge\nfwseal_uptime_seconds %llu\n",
            (long long)LOAD(c->connections_open), (unsigned long long)LOAD(c->connections_total),
            (unsigned long long)LOAD(c->connections_refused),
            (unsigned long long)LOAD(c->tls_failures), (unsigned long long)LOAD(c->timeouts),
            (unsigned long long)LOAD(c->rate_limited), fws_server_ledger_held(srv),
            (unsigned long long)((srv_now_ms() - srv->started_ms) / 1000));
}

/* Series of one family are written together, in registration order. */
static void registered(FILE *f, fws_server *srv)
{
    const srv_metrics *m = &srv->metrics;
    for (size_t i = 0; i < m->n; i++) {
        const fws_metric *it = &m->items[i];
        int first = 1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->items[j].base, it->base) == 0)
                first = 0;
        if (!first)
            continue;
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", it->base, it->help, it->base,
                it->gauge ? "gauge" : "counter");
        for (size_t j = i; j < m->n; j++)
            if (strcmp(m->items[j].base, it->base) == 0)
                fprintf(f, "%s %lld\n", m->items[j].name, (long long)LOAD(m->items[j].value));
    }
}

int srv_metrics_render(fws_server *srv, char **out, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (f == NULL)
        return -1;
    builtin(f, srv);
    registered(f, srv);
    if (fclose(f) != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}
