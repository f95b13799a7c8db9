/* The audit trail of operator actions: append and read, never change. */
#include <string.h>
#include "store/internal.h"

static fws_err read_audit(const store_row *r, fws_store_audit *out, fws_errbuf *eb)
{
    fws_store_audit a;
    fws_err err;
    memset(&a, 0, sizeof(a));
    a.id = row_int(r, 0);
    a.token_id = row_int(r, 1);
    if ((err = row_copy(r, 2, a.actor, sizeof(a.actor), "audit actor", eb)) != FWS_OK ||
        (err = row_copy(r, 3, a.action, sizeof(a.action), "audit action", eb)) != FWS_OK ||
        (err = row_copy(r, 4, a.target, sizeof(a.target), "audit target", eb)) != FWS_OK ||
        (err = row_copy(r, 5, a.detail, sizeof(a.detail), "audit detail", eb)) != FWS_OK)
        return err;
    a.time = row_int(r, 6);
    *out = a;
    return FWS_OK;
}

fws_err fws_store_audit_add(fws_store *s, const fws_store_audit *a, int64_t *id, fws_errbuf *eb)
{
    int64_t new_id = 0;
    fws_err err;
    if (s == NULL || a == NULL || id == NULL || a->token_id < 0)
        return fws_errf(eb, FWS_ERR_ARG, "audit: bad argument");
    if ((err = chk_field("audit actor", a->actor, sizeof(a->actor), CHK_LABEL, eb)) != FWS_OK ||
        (err = chk_field("audit action", a->action, sizeof(a->action), CHK_ID, eb)) != FWS_OK ||
        (err = chk_field("audit target", a->target, sizeof(a->target), CHK_TEXT, eb)) != FWS_OK ||
        (err = chk_field("audit detail", a->detail, sizeof(a->detail), CHK_TEXT, eb)) != FWS_OK ||
        (err = chk_time("audit time", a->time, eb)) != FWS_OK)
        return err;
    store_arg v[] = {ARG_I(a->token_id), ARG_T(a->actor),  ARG_T(a->action),
                     ARG_T(a->target),   ARG_T(a->detail), ARG_I(a->time)};
    if ((err = store_one(s, ST_AUDIT_INSERT, v, 6, row_get_int, &new_id, "new audit entry", eb)) ==
        FWS_OK)
        *id = new_id;
    return err;
}

typedef struct audit_list {
    fws_store_audit_fn fn;
    void *ctx;
} audit_list;

static fws_err audit_list_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    audit_list *l = ctx;
    fws_store_audit a;
    fws_err err = read_audit(r, &a, eb);
    return err != FWS_OK ? err : l->fn(l->ctx, &a);
}

fws_err fws_store_audit_list(fws_store *s, const fws_store_page *page, fws_store_audit_fn fn,
                             void *ctx, fws_errbuf *eb)
{
    fws_err err;
    if (s == NULL || fn == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "audit list: missing argument");
    if ((err = chk_page(page, eb)) != FWS_OK)
        return err;
    audit_list l = {fn, ctx};
    store_arg v[] = {ARG_I(page->after), ARG_I(page->limit)};
    return store_run(s, page->newest_first ? ST_AUDIT_LIST_DESC : ST_AUDIT_LIST, v, 2,
                     audit_list_row, &l, NULL, eb);
}
