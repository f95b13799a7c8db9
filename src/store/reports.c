/* Device reports: accepted once per body (keyed by the body's SHA-256), then sequenced into the
 * ledger by the one leader, which records the ledger index it got. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/crypto.h"
#include "store/internal.h"

static fws_err read_report(const store_row *r, fws_store_report *out, fws_errbuf *eb)
{
    fws_store_report v;
    int kind = 0;
    fws_err err;
    memset(&v, 0, sizeof(v));
    v.id = row_int(r, 0);
    if ((err = row_copy(r, 1, v.device_id, sizeof(v.device_id), "device id", eb)) != FWS_OK ||
        (err = row_enum(r, 2, enum_report_kind, &kind, "report kind", eb)) != FWS_OK ||
        (err = row_digest(r, 3, v.body_sha256, 0, "report digest", eb)) != FWS_OK)
        return err;
    v.kind = (fws_store_report_kind)kind;
    v.received_at = row_int(r, 4);
    v.ledger_index = row_null(r, 5) ? -1 : row_int(r, 5);
    *out = v;
    return FWS_OK;
}

typedef struct existing {
    int64_t id;
    char device_id[FWS_STORE_ID_MAX + 1];
    int kind;
} existing;

static fws_err existing_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    existing *e = ctx;
    fws_err err;
    e->id = row_int(r, 0);
    if ((err = row_copy(r, 1, e->device_id, sizeof(e->device_id), "device id", eb)) != FWS_OK ||
        (err = row_enum(r, 2, enum_report_kind, &e->kind, "report kind", eb)) != FWS_OK)
        return err;
    return FWS_OK;
}

static fws_err add_report(fws_store *s, const char *device_id, fws_store_report_kind kind,
                          const uint8_t *body, size_t len, const char *digest, int64_t received_at,
                          int64_t *id, int *created, fws_errbuf *eb)
{
    fws_store_device dev;
    existing e = {0};
    int64_t new_id = 0;
    fws_err err = fws_store_device_get(s, device_id, &dev, eb);
    if (err != FWS_OK)
        return err;
    store_arg a[] = {ARG_T(device_id), ARG_T(fws_store_report_kind_name(kind)), ARG_T(digest),
                     ARG_B(body, len), ARG_I(received_at)};
    if ((err = store_run(s, ST_REPORT_INSERT, a, 5, row_get_int, &new_id, NULL, eb)) != FWS_OK)
        return err;
    if (new_id > 0) {
        store_arg b[] = {ARG_T(device_id), ARG_I(received_at)};
        *id = new_id;
        *created = 1;
        return store_run(s, ST_DEVICE_REPORTED, b, 2, NULL, NULL, NULL, eb);
    }
    /* The same body was accepted before: the same report, unless it came another way. */
    store_arg c[] = {ARG_T(digest)};
    if ((err = store_one(s, ST_REPORT_BY_DIGEST, c, 1, existing_row, &e, "report", eb)) != FWS_OK)
        return err;
    if (strcmp(e.device_id, device_id) != 0 || e.kind != (int)kind)
        return fws_errf(eb, FWS_ERR_EXISTS,
                        "report %lld has the same body but was recorded as %s from device %s",
                        (long long)e.id, fws_store_report_kind_name(e.kind), e.device_id);
    *id = e.id;
    *created = 0;
    return FWS_OK;
}

fws_err fws_store_report_add(fws_store *s, const char *device_id, fws_store_report_kind kind,
                             const uint8_t *body, size_t body_len, int64_t received_at, int64_t *id,
                             int *created, fws_errbuf *eb)
{
    uint8_t hash[32];
    char digest[65];
    int64_t new_id = 0;
    int made = 0;
    fws_err err;
    if (s == NULL || id == NULL || body == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "report: missing argument");
    if ((err = chk_str("device id", device_id, FWS_STORE_ID_MAX, CHK_ID, eb)) != FWS_OK ||
        (err = chk_time("report time", received_at, eb)) != FWS_OK)
        return err;
    if (fws_store_report_kind_name(kind) == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "report: unknown kind %d", (int)kind);
    if (body_len == 0)
        return fws_errf(eb, FWS_ERR_ARG, "report: empty body");
    if (body_len > FWS_STORE_REPORT_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "report: body longer than %u bytes",
                        FWS_STORE_REPORT_MAX);
    fws_sha256(body, body_len, hash);
    hex32(hash, digest);
    if ((err = store_op_begin(s, eb)) != FWS_OK)
        return err;
    err = add_report(s, device_id, kind, body, body_len, digest, received_at, &new_id, &made, eb);
    if ((err = store_op_end(s, err, eb)) != FWS_OK)
        return err;
    *id = new_id;
    if (created != NULL)
        *created = made;
    return FWS_OK;
}

typedef struct report_get {
    fws_store_report r;
    uint8_t *body;
    size_t len;
    int want_body;
} report_get;

static fws_err report_get_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    report_get *g = ctx;
    fws_err err = read_report(r, &g->r, eb);
    if (err != FWS_OK || !g->want_body)
        return err;
    return r->eng->col_blob(r, 6, FWS_STORE_REPORT_MAX, &g->body, &g->len, eb);
}

fws_err fws_store_report_get(fws_store *s, int64_t id, fws_store_report *out, uint8_t **body,
                             size_t *body_len, fws_errbuf *eb)
{
    char what[48];
    if (s == NULL || out == NULL || (body != NULL && body_len == NULL))
        return fws_errf(eb, FWS_ERR_ARG, "report: missing argument");
    report_get g = {.want_body = body != NULL};
    snprintf(what, sizeof(what), "report %lld", (long long)id);
    store_arg a[] = {ARG_I(id)};
    fws_err err = store_one(s, ST_REPORT_GET, a, 1, report_get_row, &g, what, eb);
    if (err != FWS_OK) {
        free(g.body);
        return err;
    }
    *out = g.r;
    if (body != NULL) {
        *body = g.body;
        *body_len = g.len;
    }
    return FWS_OK;
}

fws_err fws_store_report_sequenced(fws_store *s, int64_t id, int64_t ledger_index, fws_errbuf *eb)
{
    fws_store_report r;
    int64_t changes = 0;
    fws_err err;
    if (s == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "report: missing argument");
    if (ledger_index < 0)
        return fws_errf(eb, FWS_ERR_ARG, "report %lld: negative ledger index", (long long)id);
    store_arg a[] = {ARG_I(id), ARG_I(ledger_index)};
    if ((err = store_run(s, ST_REPORT_SEQUENCE, a, 2, NULL, NULL, &changes, eb)) != FWS_OK)
        return err;
    if (changes == 1)
        return FWS_OK;
    if ((err = fws_store_report_get(s, id, &r, NULL, NULL, eb)) != FWS_OK)
        return err;
    if (r.ledger_index == ledger_index)
        return FWS_OK;
    return fws_errf(eb, FWS_ERR_STATE, "report %lld is already at ledger index %lld", (long long)id,
                    (long long)r.ledger_index);
}

static fws_err chk_report_limit(size_t limit, fws_errbuf *eb)
{
    if (limit == 0 || limit > FWS_STORE_REPORT_LIST_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "report list limit %zu is not within 1..%d", limit,
                        FWS_STORE_REPORT_LIST_MAX);
    return FWS_OK;
}

typedef struct report_list {
    fws_store_report_fn fn;
    void *ctx;
} report_list;

static fws_err report_list_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    report_list *l = ctx;
    fws_store_report v;
    uint8_t *body = NULL;
    size_t len = 0;
    fws_err err = read_report(r, &v, eb);
    if (err == FWS_OK)
        err = r->eng->col_blob(r, 6, FWS_STORE_REPORT_MAX, &body, &len, eb);
    if (err == FWS_OK)
        err = l->fn(l->ctx, &v, body, len);
    free(body);
    return err;
}

fws_err fws_store_report_unsequenced(fws_store *s, int64_t after_id, size_t limit,
                                     fws_store_report_fn fn, void *ctx, fws_errbuf *eb)
{
    fws_err err;
    if (s == NULL || fn == NULL || after_id < 0)
        return fws_errf(eb, FWS_ERR_ARG, "unsequenced reports: bad argument");
    if ((err = chk_report_limit(limit, eb)) != FWS_OK)
        return err;
    report_list l = {fn, ctx};
    store_arg a[] = {ARG_I(after_id), ARG_I(limit)};
    return store_run(s, ST_REPORT_UNSEQUENCED, a, 2, report_list_row, &l, NULL, eb);
}

fws_err fws_store_report_list(fws_store *s, const char *device_id, const fws_store_page *page,
                              fws_store_report_fn fn, void *ctx, fws_errbuf *eb)
{
    fws_err err;
    if (s == NULL || fn == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "report list: missing argument");
    if ((err = chk_str("device id", device_id, FWS_STORE_ID_MAX, CHK_ID, eb)) != FWS_OK ||
        (err = chk_page(page, eb)) != FWS_OK || (err = chk_report_limit(page->limit, eb)) != FWS_OK)
        return err;
    report_list l = {fn, ctx};
    store_arg a[] = {ARG_I(page->after), ARG_I(page->limit), ARG_T(device_id)};
    return store_run(s, page->newest_first ? ST_REPORT_LIST_DESC : ST_REPORT_LIST, a, 3,
                     report_list_row, &l, NULL, eb);
}

fws_err fws_store_report_range(fws_store *s, const char *after_device, int64_t after_id,
                               const char *last_device, size_t limit, fws_store_report_fn fn,
                               void *ctx, fws_errbuf *eb)
{
    fws_err err;
    if (s == NULL || fn == NULL || after_device == NULL || last_device == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "report range: missing argument");
    if (strlen(after_device) > FWS_STORE_ID_MAX || strlen(last_device) > FWS_STORE_ID_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "report range: device ID over %d bytes", FWS_STORE_ID_MAX);
    if ((err = chk_report_limit(limit, eb)) != FWS_OK)
        return err;
    report_list l = {fn, ctx};
    store_arg a[] = {ARG_T(after_device), ARG_I(after_id), ARG_T(last_device), ARG_I(limit)};
    return store_run(s, ST_REPORT_RANGE, a, 4, report_list_row, &l, NULL, eb);
}
