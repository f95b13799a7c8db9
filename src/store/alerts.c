/* Alerts raised by the server (rollout thresholds, attestation failures, ...), acknowledged once
 * by an operator. */
#include <stdio.h>
#include <string.h>
#include "store/internal.h"

static fws_err read_alert(const store_row *r, fws_store_alert *out, fws_errbuf *eb)
{
    fws_store_alert a;
    fws_err err;
    memset(&a, 0, sizeof(a));
    a.id = row_int(r, 0);
    if ((err = row_copy(r, 1, a.kind, sizeof(a.kind), "alert kind", eb)) != FWS_OK ||
        (err = row_copy(r, 2, a.subject, sizeof(a.subject), "alert subject", eb)) != FWS_OK ||
        (err = row_copy(r, 3, a.message, sizeof(a.message), "alert message", eb)) != FWS_OK)
        return err;
    a.time = row_int(r, 4);
    a.acked_at = row_int(r, 5);
    a.acked_by = row_int(r, 6);
    *out = a;
    return FWS_OK;
}

static fws_err alert_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    return read_alert(r, ctx, eb);
}

fws_err fws_store_alert_add(fws_store *s, const fws_store_alert *a, int64_t *id, fws_errbuf *eb)
{
    int64_t new_id = 0;
    fws_err err;
    if (s == NULL || a == NULL || id == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "alert: missing argument");
    if ((err = chk_field("alert kind", a->kind, sizeof(a->kind), CHK_ID, eb)) != FWS_OK ||
        (err = chk_field("alert subject", a->subject, sizeof(a->subject), CHK_TEXT, eb)) !=
            FWS_OK ||
        (err = chk_field("alert message", a->message, sizeof(a->message), CHK_LABEL, eb)) !=
            FWS_OK ||
        (err = chk_time("alert time", a->time, eb)) != FWS_OK)
        return err;
    store_arg v[] = {ARG_T(a->kind), ARG_T(a->subject), ARG_T(a->message), ARG_I(a->time)};
    if ((err = store_one(s, ST_ALERT_INSERT, v, 4, row_get_int, &new_id, "new alert", eb)) ==
        FWS_OK)
        *id = new_id;
    return err;
}

fws_err fws_store_alert_get(fws_store *s, int64_t id, fws_store_alert *out, fws_errbuf *eb)
{
    char what[48];
    fws_store_alert a;
    if (s == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "alert: missing argument");
    snprintf(what, sizeof(what), "alert %lld", (long long)id);
    store_arg v[] = {ARG_I(id)};
    fws_err err = store_one(s, ST_ALERT_GET, v, 1, alert_row, &a, what, eb);
    if (err == FWS_OK)
        *out = a;
    return err;
}

fws_err fws_store_alert_ack(fws_store *s, int64_t id, int64_t token_id, int64_t now, fws_errbuf *eb)
{
    fws_store_alert a;
    int64_t changes = 0;
    fws_err err;
    if (s == NULL || token_id < 0)
        return fws_errf(eb, FWS_ERR_ARG, "alert: bad argument");
    if ((err = chk_time("acknowledgement time", now, eb)) != FWS_OK)
        return err;
    if (now == 0)
        return fws_errf(eb, FWS_ERR_ARG, "alert %lld: acknowledgement time 0", (long long)id);
    store_arg v[] = {ARG_I(id), ARG_I(now), ARG_I(token_id)};
    if ((err = store_run(s, ST_ALERT_ACK, v, 3, NULL, NULL, &changes, eb)) != FWS_OK)
        return err;
    if (changes == 0) /* unknown, or acknowledged before (which is fine) */
        return fws_store_alert_get(s, id, &a, eb);
    return FWS_OK;
}

typedef struct alert_list {
    fws_store_alert_fn fn;
    void *ctx;
} alert_list;

static fws_err alert_list_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    alert_list *l = ctx;
    fws_store_alert a;
    fws_err err = read_alert(r, &a, eb);
    return err != FWS_OK ? err : l->fn(l->ctx, &a);
}

fws_err fws_store_alert_list(fws_store *s, int unacked_only, const fws_store_page *page,
                             fws_store_alert_fn fn, void *ctx, fws_errbuf *eb)
{
    fws_err err;
    if (s == NULL || fn == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "alert list: missing argument");
    if ((err = chk_page(page, eb)) != FWS_OK)
        return err;
    alert_list l = {fn, ctx};
    store_arg v[] = {ARG_I(page->after), ARG_I(page->limit), ARG_I(unacked_only ? 1 : 0)};
    return store_run(s, page->newest_first ? ST_ALERT_LIST_DESC : ST_ALERT_LIST, v, 3,
                     alert_list_row, &l, NULL, eb);
}

fws_err fws_store_alert_undelivered(fws_store *s, int64_t after_id, size_t limit,
                                    fws_store_alert_fn fn, void *ctx, fws_errbuf *eb)
{
    if (s == NULL || fn == NULL || after_id < 0 || limit == 0 || limit > FWS_STORE_LIST_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "undelivered alerts: bad argument");
    alert_list l = {fn, ctx};
    store_arg v[] = {ARG_I(after_id), ARG_I(limit)};
    return store_run(s, ST_ALERT_UNDELIVERED, v, 2, alert_list_row, &l, NULL, eb);
}

fws_err fws_store_alert_delivered(fws_store *s, int64_t id, int64_t when, fws_errbuf *eb)
{
    fws_store_alert a;
    int64_t changes = 0;
    fws_err err;
    if (s == NULL || id <= 0 || (when <= 0 && when != -1))
        return fws_errf(eb, FWS_ERR_ARG, "alert %lld: bad delivery mark", (long long)id);
    store_arg v[] = {ARG_I(id), ARG_I(when)};
    if ((err = store_run(s, ST_ALERT_DELIVERED, v, 2, NULL, NULL, &changes, eb)) != FWS_OK)
        return err;
    if (changes == 0) /* unknown, or marked before (which is fine) */
        return fws_store_alert_get(s, id, &a, eb);
    return FWS_OK;
}
