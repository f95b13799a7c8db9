/* Event statistics from the ledger: install successes and failures, rollbacks and quarantines,
 * by product, in minute buckets (48 hours, for the spike rules) and hour buckets (30 days, for
 * the dashboard's chart). The follower reads the log's entry bundles from its directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fwseal/crypto.h"
#include "fwseal/json.h"
#include "fwseal/ledger.h"
#include "fwseal/tiles.h"
#include "server/alert.h"

#define FUTURE_SLACK 300

alert_stats *alert_stats_new(void)
{
    alert_stats *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    for (size_t p = 0; p < ALERT_PRODUCTS_MAX; p++) {
        for (size_t i = 0; i < ALERT_MINUTES; i++)
            s->series[p].minute_stamp[i] = -1;
        for (size_t i = 0; i < ALERT_HOURS; i++)
            s->series[p].hour_stamp[i] = -1;
    }
    return s;
}

void alert_stats_free(alert_stats *s)
{
    if (s == NULL)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* With s->mu held. The last series takes every product beyond the cap. */
static alert_series *series_of(alert_stats *s, const char *product)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->series[i].product, product) == 0)
            return &s->series[i];
    if (s->n == ALERT_PRODUCTS_MAX) {
        alert_series *last = &s->series[ALERT_PRODUCTS_MAX - 1];
        snprintf(last->product, sizeof(last->product), "%s", "(other products)");
        return last;
    }
    alert_series *a = &s->series[s->n++];
    snprintf(a->product, sizeof(a->product), "%s", product);
    return a;
}

/* Counts ev in the bucket of unit when it is within the ring's reach of now_unit. */
static void bump(int64_t *stamps, uint32_t (*buckets)[ALERT_EV_COUNT], size_t n, int64_t unit,
                 int64_t now_unit, alert_event ev)
{
    if (unit <= now_unit - (int64_t)n)
        return;
    size_t slot = (size_t)(unit % (int64_t)n);
    if (stamps[slot] != unit) {
        if (stamps[slot] > unit)
            return; /* older than what the ring holds */
        stamps[slot] = unit;
        memset(buckets[slot], 0, sizeof(buckets[slot]));
    }
    buckets[slot][ev]++;
}

void alert_stats_add(alert_stats *s, const char *product, alert_event ev, int64_t t, int64_t now)
{
    if ((unsigned)ev >= ALERT_EV_COUNT || t < 0)
        return;
    if (t > now + FUTURE_SLACK)
        t = now;
    pthread_mutex_lock(&s->mu);
    alert_series *a = series_of(s, product[0] ? product : "(none)");
    a->total[ev]++;
    bump(a->minute_stamp, a->minute, ALERT_MINUTES, t / 60, now / 60, ev);
    bump(a->hour_stamp, a->hour, ALERT_HOURS, t / 3600, now / 3600, ev);
    pthread_mutex_unlock(&s->mu);
}

static uint64_t series_count(const alert_series *a, alert_event ev, int64_t from, int64_t to)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < ALERT_MINUTES; i++) {
        int64_t m = a->minute_stamp[i];
        if (m >= 0 && m * 60 >= from && m * 60 < to)
            sum += a->minute[i][ev];
    }
    return sum;
}

uint64_t alert_stats_count(alert_stats *s, const char *product, alert_event ev, int64_t from,
                           int64_t to)
{
    uint64_t sum = 0;
    if ((unsigned)ev >= ALERT_EV_COUNT)
        return 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++)
        if (product == NULL || strcmp(s->series[i].product, product) == 0)
            sum += series_count(&s->series[i], ev, from, to);
    pthread_mutex_unlock(&s->mu);
    return sum;
}

/* "2026-11-21T06:00:00Z", fractions of a second allowed and ignored. -1 when not a time. */
static int64_t parse_time(const char *t)
{
    struct tm tm;
    int n = 0;
    memset(&tm, 0, sizeof(tm));
    if (strlen(t) < 20 ||
        sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != 19)
        return -1;
    const char *end = t + 19;
    if (*end == '.')
        for (end++; *end >= '0' && *end <= '9'; end++)
            ;
    if (strcmp(end, "Z") != 0 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t v = timegm(&tm);
    return v < 0 ? -1 : (int64_t)v;
}

void alert_stats_record(alert_stats *s, const uint8_t *rec, size_t len, int64_t now)
{
    json_t *j = NULL;
    if (fws_json_parse(rec, len, 0, NULL, &j, NULL) != FWS_OK)
        return;
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *product = json_string_value(json_object_get(j, "product"));
    const char *when = json_string_value(json_object_get(j, "time"));
    fws_record_type rt;
    if (type != NULL && fws_record_type_parse(type, &rt) == FWS_OK) {
        pthread_mutex_lock(&s->mu);
        s->by_type[rt]++;
        pthread_mutex_unlock(&s->mu);
    }
    int64_t t = when ? parse_time(when) : -1;
    alert_event ev = ALERT_EV_COUNT;
    if (type != NULL && strcmp(type, "install") == 0) {
        const char *result = json_string_value(json_object_get(j, "result"));
        ev = result && strcmp(result, "success") == 0 ? ALERT_EV_INSTALL_OK : ALERT_EV_INSTALL_FAIL;
    } else if (type != NULL && strcmp(type, "rollback") == 0) {
        ev = ALERT_EV_ROLLBACK;
    } else if (type != NULL && strcmp(type, "quarantine") == 0) {
        const char *action = json_string_value(json_object_get(j, "action"));
        if (action != NULL && strcmp(action, "begin") == 0)
            ev = ALERT_EV_QUARANTINE;
        product = "";
    }
    if (ev != ALERT_EV_COUNT && t >= 0)
        alert_stats_add(s, product ? product : "", ev, t, now);
    json_decref(j);
}

typedef struct follow {
    fws_tile_dir dir;
    fws_tile_source src;
    fws_tlog *log;
    uint8_t *buf;
} follow;

static fws_err read_bundle(alert_stats *s, follow *f, uint64_t tile, uint64_t size, int64_t now,
                           size_t *read, fws_errbuf *eb)
{
    fws_bundle_entry entries[FWS_TILE_WIDTH];
    size_t n = 0;
    fws_err err =
        fws_tlog_fetch_bundle(f->log, tile, size, f->buf, FWS_BUNDLE_MAX, entries, &n, eb);
    if (err != FWS_OK)
        return err;
    for (size_t i = 0; i < n; i++) {
        uint64_t index = tile * FWS_TILE_WIDTH + i;
        if (index < s->next_index)
            continue;
        alert_stats_record(s, entries[i].data, entries[i].len, now);
        pthread_mutex_lock(&s->mu);
        s->next_index = index + 1;
        pthread_mutex_unlock(&s->mu);
        (*read)++;
    }
    return FWS_OK;
}

fws_err alert_stats_follow(alert_stats *s, const char *dir, uint64_t backfill, size_t max,
                           int64_t now, size_t *read, fws_errbuf *eb)
{
    fws_ledger_status st;
    follow f = {.log = NULL, .buf = NULL};
    *read = 0;
    fws_err err = fws_ledger_info(dir, &st, eb);
    if (err != FWS_OK)
        return err;
    pthread_mutex_lock(&s->mu);
    s->ledger_size = st.size;
    if (s->next_index == 0 && s->last_read == 0 && st.size > backfill)
        s->next_index = st.size - backfill;
    pthread_mutex_unlock(&s->mu);
    if (s->next_index >= st.size) {
        s->last_read = now;
        return FWS_OK;
    }
    err = fws_tile_dir_source(&f.dir, dir, &f.src, eb);
    if (err == FWS_OK)
        err = fws_tlog_open(&f.src, &fws_sha256_ops, &f.log, eb);
    if (err == FWS_OK && (f.buf = malloc(FWS_BUNDLE_MAX)) == NULL)
        err = FWS_ERR_NOMEM;
    while (err == FWS_OK && s->next_index < st.size && *read < max)
        err = read_bundle(s, &f, s->next_index / FWS_TILE_WIDTH, st.size, now, read, eb);
    if (err == FWS_OK && s->next_index >= st.size)
        s->last_read = now;
    free(f.buf);
    fws_tlog_close(f.log);
    return err;
}

json_t *alert_stats_json(alert_stats *s, unsigned hours, int64_t now)
{
    if (hours == 0 || hours > ALERT_HOURS)
        hours = ALERT_HOURS;
    json_t *arr = json_array(), *products = json_array();
    uint64_t totals[ALERT_EV_COUNT] = {0};
    int64_t last = now / 3600;
    pthread_mutex_lock(&s->mu);
    for (int64_t h = last - (int64_t)hours + 1; arr != NULL && h <= last; h++) {
        uint64_t c[ALERT_EV_COUNT] = {0};
        size_t slot = (size_t)(h % ALERT_HOURS);
        for (size_t i = 0; i < s->n; i++)
            if (s->series[i].hour_stamp[slot] == h)
                for (int e = 0; e < ALERT_EV_COUNT; e++)
                    c[e] += s->series[i].hour[slot][e];
        json_array_append_new(arr, json_pack("{s:I,s:I,s:I,s:I,s:I}", "t", (json_int_t)(h * 3600),
                                             "installs", (json_int_t)c[ALERT_EV_INSTALL_OK],
                                             "failures", (json_int_t)c[ALERT_EV_INSTALL_FAIL],
                                             "rollbacks", (json_int_t)c[ALERT_EV_ROLLBACK],
                                             "quarantines", (json_int_t)c[ALERT_EV_QUARANTINE]));
    }
    for (size_t i = 0; i < s->n; i++) {
        for (int e = 0; e < ALERT_EV_COUNT; e++)
            totals[e] += s->series[i].total[e];
        if (products != NULL && strcmp(s->series[i].product, "(none)") != 0)
            json_array_append_new(products, json_string(s->series[i].product));
    }
    json_t *j = json_pack(
        "{s:o,s:o,s:{s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I}}", "hours", arr, "products", products,
        "totals", "installs", (json_int_t)totals[ALERT_EV_INSTALL_OK], "failures",
        (json_int_t)totals[ALERT_EV_INSTALL_FAIL], "rollbacks",
        (json_int_t)totals[ALERT_EV_ROLLBACK], "quarantines",
        (json_int_t)totals[ALERT_EV_QUARANTINE], "ledger", "size", (json_int_t)s->ledger_size,
        "read", (json_int_t)s->next_index, "releases", (json_int_t)s->by_type[FWS_RECORD_RELEASE],
        "provisions", (json_int_t)s->by_type[FWS_RECORD_PROVISION]);
    pthread_mutex_unlock(&s->mu);
    return j;
}
