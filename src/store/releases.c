/* Releases the server knows: one row per TUF target, unique by target name and by
 * (product, version). */
#include <stdio.h>
#include <string.h>
#include "store/internal.h"

static fws_err read_release(const store_row *r, fws_store_release *out, fws_errbuf *eb)
{
    fws_store_release v;
    fws_err err;
    memset(&v, 0, sizeof(v));
    v.id = row_int(r, 0);
    if ((err = row_copy(r, 1, v.product, sizeof(v.product), "product", eb)) != FWS_OK ||
        (err = row_copy(r, 2, v.version, sizeof(v.version), "release version", eb)) != FWS_OK ||
        (err = row_copy(r, 3, v.target, sizeof(v.target), "target name", eb)) != FWS_OK ||
        (err = row_digest(r, 5, v.sha256, 0, "release digest", eb)) != FWS_OK)
        return err;
    v.security_counter = (uint64_t)row_int(r, 4);
    v.size = (uint64_t)row_int(r, 6);
    v.created_at = row_int(r, 7);
    v.quarantine_until = row_int(r, 8);
    v.recovery = row_int(r, 9) != 0;
    v.revoked = row_int(r, 10) != 0;
    *out = v;
    return FWS_OK;
}

static fws_err release_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    return read_release(r, ctx, eb);
}

static fws_err check_release(const fws_store_release *r, fws_errbuf *eb)
{
    fws_err err;
    if ((err = chk_field("product", r->product, sizeof(r->product), CHK_ID, eb)) != FWS_OK ||
        (err = chk_field("release version", r->version, sizeof(r->version), CHK_VERSION, eb)) !=
            FWS_OK ||
        (err = chk_field("target name", r->target, sizeof(r->target), CHK_TARGET, eb)) != FWS_OK ||
        (err = chk_u63("security counter", r->security_counter, eb)) != FWS_OK ||
        (err = chk_u63("release size", r->size, eb)) != FWS_OK ||
        (err = chk_time("release time", r->created_at, eb)) != FWS_OK ||
        (err = chk_time("quarantine end", r->quarantine_until, eb)) != FWS_OK)
        return err;
    if ((r->recovery != 0 && r->recovery != 1) || (r->revoked != 0 && r->revoked != 1))
        return fws_errf(eb, FWS_ERR_ARG, "release %s: recovery and revoked must be 0 or 1",
                        r->target);
    return FWS_OK;
}

fws_err fws_store_release_add(fws_store *s, const fws_store_release *r, int64_t *id, fws_errbuf *eb)
{
    char digest[65];
    int64_t new_id = 0;
    fws_err err;
    if (s == NULL || r == NULL || id == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "release: missing argument");
    if ((err = check_release(r, eb)) != FWS_OK)
        return err;
    hex32(r->sha256, digest);
    store_arg a[] = {
        ARG_T(r->product),  ARG_T(r->version), ARG_T(r->target),     ARG_I(r->security_counter),
        ARG_T(digest),      ARG_I(r->size),    ARG_I(r->created_at), ARG_I(r->quarantine_until),
        ARG_I(r->recovery), ARG_I(r->revoked)};
    if ((err = store_run(s, ST_RELEASE_INSERT, a, 10, row_get_int, &new_id, NULL, eb)) != FWS_OK)
        return err;
    if (new_id <= 0)
        return fws_errf(eb, FWS_ERR_EXISTS, "release %s %s (target %s) already exists", r->product,
                        r->version, r->target);
    *id = new_id;
    return FWS_OK;
}

fws_err fws_store_release_get(fws_store *s, int64_t id, fws_store_release *out, fws_errbuf *eb)
{
    char what[48];
    fws_store_release v;
    if (s == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "release: missing argument");
    snprintf(what, sizeof(what), "release %lld", (long long)id);
    store_arg a[] = {ARG_I(id)};
    fws_err err = store_one(s, ST_RELEASE_GET, a, 1, release_row, &v, what, eb);
    if (err == FWS_OK)
        *out = v;
    return err;
}

fws_err fws_store_release_find(fws_store *s, const char *target, fws_store_release *out,
                               fws_errbuf *eb)
{
    char what[FWS_STORE_TARGET_MAX + 16];
    fws_store_release v;
    fws_err err;
    if (s == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "release: missing argument");
    if ((err = chk_str("target name", target, FWS_STORE_TARGET_MAX, CHK_TARGET, eb)) != FWS_OK)
        return err;
    snprintf(what, sizeof(what), "release %s", target);
    store_arg a[] = {ARG_T(target)};
    if ((err = store_one(s, ST_RELEASE_FIND, a, 1, release_row, &v, what, eb)) == FWS_OK)
        *out = v;
    return err;
}

static fws_err release_update(fws_store *s, int st, const store_arg *a, int n, int64_t id,
                              fws_errbuf *eb)
{
    int64_t changes = 0;
    fws_err err = store_run(s, st, a, n, NULL, NULL, &changes, eb);
    if (err == FWS_OK && changes == 0)
        err = fws_errf(eb, FWS_ERR_NOT_FOUND, "release %lld not found", (long long)id);
    return err;
}

fws_err fws_store_release_revoke(fws_store *s, int64_t id, fws_errbuf *eb)
{
    if (s == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "release: missing argument");
    store_arg a[] = {ARG_I(id)};
    return release_update(s, ST_RELEASE_REVOKE, a, 1, id, eb);
}

fws_err fws_store_release_set_quarantine(fws_store *s, int64_t id, int64_t until, fws_errbuf *eb)
{
    fws_err err;
    if (s == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "release: missing argument");
    if ((err = chk_time("quarantine end", until, eb)) != FWS_OK)
        return err;
    store_arg a[] = {ARG_I(id), ARG_I(until)};
    return release_update(s, ST_RELEASE_QUARANTINE, a, 2, id, eb);
}

typedef struct release_list {
    fws_store_release_fn fn;
    void *ctx;
} release_list;

static fws_err release_list_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    release_list *l = ctx;
    fws_store_release v;
    fws_err err = read_release(r, &v, eb);
    return err != FWS_OK ? err : l->fn(l->ctx, &v);
}

fws_err fws_store_release_list(fws_store *s, const char *product, const fws_store_page *page,
                               fws_store_release_fn fn, void *ctx, fws_errbuf *eb)
{
    fws_err err;
    if (s == NULL || fn == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "release list: missing argument");
    if (product == NULL)
        product = "";
    if ((err = chk_str("product filter", product, FWS_STORE_NAME_MAX, CHK_NAME, eb)) != FWS_OK ||
        (err = chk_page(page, eb)) != FWS_OK)
        return err;
    release_list l = {fn, ctx};
    store_arg a[] = {ARG_I(page->after), ARG_I(page->limit), ARG_T(product)};
    return store_run(s, page->newest_first ? ST_RELEASE_LIST_DESC : ST_RELEASE_LIST, a, 3,
                     release_list_row, &l, NULL, eb);
}
