/* The alert rules: raising with de-duplication, spikes, update sizes, the log monitor. The
 * certificate and device rules are in alert_devices.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fwseal/crypto.h"
#include "fwseal/json.h"
#include "fwseal/ledger.h"
#include "fwseal/util.h"
#include "server/alert.h"

#define SEEN_SCAN_MAX 20000 /* alerts read, newest first, to know what was raised */
#define ACTIVE_SCAN_MAX 1000000
#define RELEASES_MAX (16u << 20)

/* ---- what was raised ------------------------------------------------------------------------ */

typedef struct seen_load {
    alert_seen *seen;
    uint64_t *active;
    size_t rows;
    int64_t last_id;
} seen_load;

static fws_err seen_row(void *ctx, const fws_store_alert *a)
{
    seen_load *l = ctx;
    alert_seen *seen = l->seen;
    l->rows++;
    l->last_id = a->id;
    size_t i = 0;
    while (i < seen->n && !(strcmp(seen->items[i].kind, a->kind) == 0 &&
                            strcmp(seen->items[i].subject, a->subject) == 0))
        i++;
    if (i == seen->n) {
        if (seen->n == ALERT_SEEN_MAX)
            return FWS_OK;
        seen->n++;
        snprintf(seen->items[i].kind, sizeof(seen->items[i].kind), "%s", a->kind);
        snprintf(seen->items[i].subject, sizeof(seen->items[i].subject), "%s", a->subject);
        seen->items[i].time = 0;
        seen->items[i].open = 0;
    }
    if (a->time > seen->items[i].time)
        seen->items[i].time = a->time;
    if (a->acked_at == 0)
        seen->items[i].open = 1;
    return FWS_OK;
}

static fws_err active_row(void *ctx, const fws_store_alert *a)
{
    seen_load *l = ctx;
    l->rows++;
    l->last_id = a->id;
    l->active[alert_kind_of(a->kind)]++;
    return FWS_OK;
}

fws_err alert_seen_load(fws_store *s, alert_seen *seen, uint64_t active[ALERT_KIND_COUNT],
                        fws_errbuf *eb)
{
    seen->n = 0;
    seen_load l = {.seen = seen, .active = active};
    fws_store_page page = {.after = 0, .limit = 1000, .newest_first = 1};
    fws_err err = FWS_OK;
    for (size_t total = 0; err == FWS_OK && total < SEEN_SCAN_MAX; total += l.rows) {
        l.rows = 0;
        err = fws_store_alert_list(s, 0, &page, seen_row, &l, eb);
        if (l.rows < page.limit)
            break;
        page.after = l.last_id;
    }
    if (err != FWS_OK || active == NULL)
        return err;
    memset(active, 0, sizeof(uint64_t) * ALERT_KIND_COUNT);
    page = (fws_store_page){.after = 0, .limit = 1000, .newest_first = 0};
    for (size_t total = 0; err == FWS_OK && total < ACTIVE_SCAN_MAX; total += l.rows) {
        l.rows = 0;
        err = fws_store_alert_list(s, 1, &page, active_row, &l, eb);
        if (l.rows < page.limit)
            break;
        page.after = l.last_id;
    }
    return err;
}

int64_t alert_seen_time(const alert_seen *seen, const char *kind, const char *subject, int *open)
{
    *open = 0;
    for (size_t i = 0; i < seen->n; i++)
        if (strcmp(seen->items[i].kind, kind) == 0 &&
            strcmp(seen->items[i].subject, subject) == 0) {
            *open = seen->items[i].open;
            return seen->items[i].time;
        }
    return 0;
}

void alert_seen_note(alert_seen *seen, const char *kind, const char *subject, int64_t time)
{
    size_t i = 0;
    while (i < seen->n && !(strcmp(seen->items[i].kind, kind) == 0 &&
                            strcmp(seen->items[i].subject, subject) == 0))
        i++;
    if (i == seen->n) {
        if (seen->n == ALERT_SEEN_MAX)
            i = seen->n - 1; /* the oldest pair gives way */
        else
            seen->n++;
        snprintf(seen->items[i].kind, sizeof(seen->items[i].kind), "%s", kind);
        snprintf(seen->items[i].subject, sizeof(seen->items[i].subject), "%s", subject);
        seen->items[i].time = 0;
    }
    if (time > seen->items[i].time)
        seen->items[i].time = time;
    seen->items[i].open = 1;
}

/* Cuts s to fit cap bytes (NUL included) on a UTF-8 boundary, control characters made spaces. */
static void clean_text(char *s, size_t cap)
{
    size_t n = strlen(s);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        s[n] = '\0';
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            s[i] = ' ';
}

fws_err alert_raise(alert_ctx *c, fws_errbuf *eb, alert_kind kind, const char *subject,
                    int64_t not_before, const char *fmt, ...)
{
    const char *name = alert_kind_name(kind);
    fws_store_alert a;
    int open = 0;
    memset(&a, 0, sizeof(a));
    snprintf(a.kind, sizeof(a.kind), "%s", name);
    snprintf(a.subject, sizeof(a.subject), "%s", subject);
    clean_text(a.subject, sizeof(a.subject));
    int64_t last = alert_seen_time(c->seen, a.kind, a.subject, &open);
    if (open || (last != 0 && last >= not_before))
        return FWS_OK;
    char msg[FWS_STORE_TEXT_MAX * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    clean_text(msg, sizeof(a.message));
    memcpy(a.message, msg, strlen(msg) + 1);
    a.time = c->now;
    int64_t id = 0;
    fws_err err = fws_store_alert_add(c->store, &a, &id, eb);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot store a %s alert", name);
    alert_seen_note(c->seen, a.kind, a.subject, a.time);
    c->raised++;
    return FWS_OK;
}

/* ---- spikes -------------------------------------------------------------------------------- */

int alert_spike(const alert_spike_rule *r, uint64_t count, uint64_t previous_24)
{
    if (!r->enabled || count < r->threshold)
        return 0;
    /* count >= factor * (previous_24 / 24), without the division */
    return r->factor == 0 || count * 24 >= (uint64_t)r->factor * previous_24;
}

static void window_text(int64_t w, char *out, size_t cap)
{
    if (w % 86400 == 0)
        snprintf(out, cap, "%lld day%s", (long long)(w / 86400), w == 86400 ? "" : "s");
    else if (w % 3600 == 0)
        snprintf(out, cap, "%lld hour%s", (long long)(w / 3600), w == 3600 ? "" : "s");
    else if (w % 60 == 0)
        snprintf(out, cap, "%lld minutes", (long long)(w / 60));
    else
        snprintf(out, cap, "%lld seconds", (long long)w);
}

static fws_err spike_one(alert_ctx *c, alert_stats *st, const char *product, alert_kind kind,
                         alert_event ev, const alert_spike_rule *r, fws_errbuf *eb)
{
    int64_t w = r->window < 60 ? 60 : r->window;
    uint64_t count = alert_stats_count(st, product, ev, c->now - w, c->now + 301);
    uint64_t prev = alert_stats_count(st, product, ev, c->now - 25 * w, c->now - w);
    if (!alert_spike(r, count, prev))
        return FWS_OK;
    char subject[FWS_STORE_SUBJECT_MAX + 1], wt[32];
    snprintf(subject, sizeof(subject), "product %s", product);
    window_text(w, wt, sizeof(wt));
    const char *what = kind == ALERT_VERIFY_SPIKE ? "verification failure" : "rollback";
    return alert_raise(c, eb, kind, subject, c->now - w,
                       "%llu %s%s of %s in the last %s (%.1f on average in the 24 before; "
                       "threshold %u)",
                       (unsigned long long)count, what, count == 1 ? "" : "s", product, wt,
                       (double)prev / 24.0, r->threshold);
}

fws_err alert_rule_spikes(alert_ctx *c, alert_stats *st, fws_errbuf *eb)
{
    char products[ALERT_PRODUCTS_MAX][FWS_STORE_NAME_MAX + 1];
    size_t n = 0;
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->n; i++)
        memcpy(products[n++], st->series[i].product, sizeof(products[0]));
    pthread_mutex_unlock(&st->mu);
    fws_err err = FWS_OK;
    for (size_t i = 0; i < n && err == FWS_OK; i++) {
        if (strcmp(products[i], "(none)") == 0)
            continue;
        err = spike_one(c, st, products[i], ALERT_VERIFY_SPIKE, ALERT_EV_INSTALL_FAIL,
                        &c->cfg->verify, eb);
        if (err == FWS_OK)
            err = spike_one(c, st, products[i], ALERT_ROLLBACK_SPIKE, ALERT_EV_ROLLBACK,
                            &c->cfg->rollback, eb);
    }
    return err;
}

/* ---- update sizes ------------------------------------------------------------------------- */

int alert_size_outlier(uint64_t size, uint64_t median, uint32_t factor)
{
    if (median == 0 || factor < 2)
        return 0;
    /* size > median * factor or size * factor < median, without overflow */
    int over = size / factor > median || (size / factor == median && size % factor != 0);
    return over || size < median / factor + (median % factor != 0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

#define SIZE_HISTORY_MAX 100

/* The median of the last `history` lengths of product among the first `upto` releases. */
static uint64_t product_median(const json_t *list, size_t upto, const char *product,
                               uint32_t history, size_t *n_out)
{
    uint64_t v[SIZE_HISTORY_MAX];
    size_t n = 0;
    for (size_t i = upto; i-- > 0 && n < history && n < SIZE_HISTORY_MAX;) {
        const json_t *r = json_array_get(list, i);
        const char *p = json_string_value(json_object_get(r, "product"));
        json_int_t len = json_integer_value(json_object_get(r, "length"));
        if (p != NULL && strcmp(p, product) == 0 && len > 0 &&
            json_object_get(r, "revoked") == NULL)
            v[n++] = (uint64_t)len;
    }
    *n_out = n;
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(v[0]), cmp_u64);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

fws_err alert_rule_sizes(alert_ctx *c, const char *deploy, fws_errbuf *eb)
{
    char path[4200];
    uint8_t *text = NULL;
    size_t len = 0;
    json_t *doc = NULL;
    snprintf(path, sizeof(path), "%s/releases.json", deploy);
    fws_errbuf why = {{0}};
    fws_err err = fws_file_read(path, RELEASES_MAX, &text, &len, &why);
    if (err == FWS_ERR_NOT_FOUND)
        return FWS_OK;
    if (err == FWS_OK)
        err = fws_json_parse(text, len, 0, NULL, &doc, &why);
    free(text);
    const json_t *list = json_object_get(doc, "releases");
    if (err == FWS_OK && !json_is_array(list))
        err = fws_errf(&why, FWS_ERR_SCHEMA, "no \"releases\" array");
    for (size_t i = 0; err == FWS_OK && i < json_array_size(list); i++) {
        const json_t *r = json_array_get(list, i);
        const char *p = json_string_value(json_object_get(r, "product"));
        const char *v = json_string_value(json_object_get(r, "version"));
        json_int_t size = json_integer_value(json_object_get(r, "length"));
        size_t n = 0;
        if (p == NULL || v == NULL || size <= 0 || json_object_get(r, "revoked") != NULL)
            continue;
        uint64_t median = product_median(list, i, p, c->cfg->size_history, &n);
        if (!alert_size_outlier((uint64_t)size, median, c->cfg->size_factor))
            continue;
        char subject[FWS_STORE_SUBJECT_MAX + 1];
        snprintf(subject, sizeof(subject), "release %s/%s", p, v);
        err =
            alert_raise(c, eb, ALERT_UPDATE_SIZE, subject, 0,
                        "%s %s is %llu bytes, %s %u times the median of the product's last %zu "
                        "release%s (%llu bytes)",
                        p, v, (unsigned long long)size, (uint64_t)size > median ? "over" : "under",
                        c->cfg->size_factor, n, n == 1 ? "" : "s", (unsigned long long)median);
    }
    json_decref(doc);
    if (err != FWS_OK && why.msg[0] != '\0')
        return fws_errf(eb, err, "%s: %s", path, why.msg);
    return err;
}

/* ---- the log monitor ----------------------------------------------------------------------- */

fws_err alert_rule_fork(alert_ctx *c, const char *ledger_dir, const char *state_dir, fws_errbuf *eb)
{
    fws_ledger_status st;
    fws_note_vkey key;
    fws_tile_dir dir;
    fws_tile_source src;
    fws_follow_result res;
    fws_errbuf why = {{0}};
    fws_err err = fws_ledger_info(ledger_dir, &st, eb);
    if (err == FWS_OK)
        err = fws_note_vkey_parse(st.vkey, strlen(st.vkey), &key, eb);
    if (err == FWS_OK)
        err = fws_mkdirs(state_dir, 0700, eb);
    if (err == FWS_OK)
        err = fws_tile_dir_source(&dir, ledger_dir, &src, eb);
    if (err != FWS_OK)
        return err;
    err = fws_monitor_check(&src, &key, state_dir, 0, &res, &why);
    if (err == FWS_OK || !fws_err_is_verification(err))
        return err == FWS_OK ? FWS_OK : fws_errf(eb, err, "log monitor: %s", why.msg);
    char subject[FWS_STORE_SUBJECT_MAX + 1];
    snprintf(subject, sizeof(subject), "ledger %.200s", st.origin);
    return alert_raise(c, eb, ALERT_LOG_FORK, subject, c->now - 86400,
                       "the log monitor refused the ledger's checkpoint (%s): %s",
                       fws_strerror(err), why.msg[0] ? why.msg : "no detail");
}
