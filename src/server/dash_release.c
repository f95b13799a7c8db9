/* Releases for the dashboard and for homeowners (public, like the TUF repository they come
 * from): the release index, the store's view (quarantine, revocation), the ledger's release
 * record with its changelog and a tlog-proof. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "server/dash.h"

static fws_err read_index(const dash *d, json_t **doc, fws_errbuf *eb)
{
    char path[4200];
    uint8_t *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/releases.json", d->deploy);
    fws_err err = fws_file_read(path, DASH_RELEASES_MAX, &text, &len, eb);
    if (err == FWS_ERR_NOT_FOUND) {
        fws_errbuf_clear(eb);
        *doc = json_pack("{s:s,s:[]}", "format", "fwseal-releases/v1", "releases");
        return *doc ? FWS_OK : FWS_ERR_NOMEM;
    }
    if (err == FWS_OK)
        err = fws_json_parse(text, len, 0, NULL, doc, eb);
    free(text);
    if (err == FWS_OK && !json_is_array(json_object_get(*doc, "releases"))) {
        json_decref(*doc);
        err = fws_errf(eb, FWS_ERR_SCHEMA, "no \"releases\" array");
    }
    return err == FWS_OK ? FWS_OK : fws_errf(eb, err, "%s", path);
}

/* The index entry plus the store's state of the release (when the fleet imported it). */
static json_t *summary(fws_store *st, const json_t *r, int64_t now)
{
    fws_store_release sr;
    const char *target = json_string_value(json_object_get(r, "target"));
    json_t *j = json_deep_copy(r);
    if (j == NULL)
        return NULL;
    json_object_del(j, "nonce");
    int have = target != NULL && fws_store_release_find(st, target, &sr, NULL) == FWS_OK;
    json_object_set_new(j, "quarantined",
                        json_boolean(have && sr.quarantine_until > now && !sr.revoked));
    json_object_set_new(j, "quarantineUntil", json_integer(have ? sr.quarantine_until : 0));
    json_object_set_new(j, "recovery", json_boolean(have && sr.recovery));
    if (have && sr.revoked && json_object_get(j, "revoked") == NULL)
        json_object_set_new(j, "revoked", json_pack("{s:s}", "reason", "revoked in the store"));
    return j;
}

/* GET /api/v1/dashboard/releases?product=P: newest first. */
static fws_err releases(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    dash *d = ctx;
    json_t *doc = NULL, *arr = json_array();
    char product[FWS_STORE_NAME_MAX + 1] = "";
    fws_err err = fws_req_query(req, "product", product, sizeof(product));
    if (err != FWS_OK && err != FWS_ERR_NOT_FOUND)
        err = fws_errf(eb, FWS_ERR_ARG, "query parameter product is too long");
    else
        err = arr ? read_index(d, &doc, eb) : FWS_ERR_NOMEM;
    const json_t *list = json_object_get(doc, "releases");
    for (size_t i = json_array_size(list); err == FWS_OK && i-- > 0;) {
        const json_t *r = json_array_get(list, i);
        const char *p = json_string_value(json_object_get(r, "product"));
        if (product[0] != '\0' && (p == NULL || strcmp(p, product) != 0))
            continue;
        if (json_array_append_new(arr, summary(req->store, r, req->now)) != 0)
            err = FWS_ERR_NOMEM;
    }
    json_decref(doc);
    if (err != FWS_OK) {
        json_decref(arr);
        return err;
    }
    return fws_resp_json(resp, 200, json_pack("{s:o}", "releases", arr));
}

/* The product's release before position i (for the security counter's change), or NULL. */
static const json_t *previous(const json_t *list, size_t i, const char *product)
{
    while (i-- > 0) {
        const json_t *r = json_array_get(list, i);
        const char *p = json_string_value(json_object_get(r, "product"));
        if (p != NULL && strcmp(p, product) == 0)
            return r;
    }
    return NULL;
}

static fws_err detail(dash *d, fws_store *st, const json_t *list, size_t i, int64_t now,
                      json_t **out, fws_errbuf *eb)
{
    const json_t *r = json_array_get(list, i);
    const char *product = json_string_value(json_object_get(r, "product"));
    json_t *j = summary(st, r, now), *ev = NULL;
    const json_t *prev = previous(list, i, product ? product : "");
    json_int_t index = json_integer_value(json_object_get(r, "ledgerIndex"));
    dash_prover p;
    fws_err err = j ? FWS_OK : FWS_ERR_NOMEM;
    if (err == FWS_OK && json_is_integer(json_object_get(r, "ledgerIndex")) && index >= 0) {
        err = dash_prover_open(&p, d->ledger_dir, eb);
        if (err == FWS_OK) {
            err = dash_event(&p, (uint64_t)index, &ev, eb);
            dash_prover_close(&p);
        }
    }
    if (err != FWS_OK) {
        json_decref(j);
        return err;
    }
    const json_t *rec = json_object_get(ev, "record");
    const char *changelog = json_string_value(json_object_get(rec, "changelog"));
    json_object_set_new(j, "changelog", json_string(changelog ? changelog : ""));
    json_object_set_new(j, "event", ev ? ev : json_null());
    json_object_set_new(j, "previous",
                        prev
                            ? json_pack("{s:O?,s:O?}", "version", json_object_get(prev, "version"),
                                        "securityCounter", json_object_get(prev, "securityCounter"))
                            : json_null());
    *out = j;
    return FWS_OK;
}

/* GET /api/v1/dashboard/releases/PRODUCT/VERSION */
static fws_err release_page(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    dash *d = ctx;
    json_t *doc = NULL, *j = NULL;
    const char *slash = strchr(req->rest, '/');
    if (slash == NULL || slash == req->rest || slash[1] == '\0' || strchr(slash + 1, '/'))
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "no such release: %s (PRODUCT/VERSION)", req->rest);
    size_t plen = (size_t)(slash - req->rest);
    fws_err err = read_index(d, &doc, eb);
    const json_t *list = json_object_get(doc, "releases");
    size_t found = SIZE_MAX;
    for (size_t i = 0; err == FWS_OK && i < json_array_size(list); i++) {
        const json_t *r = json_array_get(list, i);
        const char *p = json_string_value(json_object_get(r, "product"));
        const char *v = json_string_value(json_object_get(r, "version"));
        if (p != NULL && v != NULL && strlen(p) == plen && strncmp(p, req->rest, plen) == 0 &&
            strcmp(v, slash + 1) == 0)
            found = i;
    }
    if (err == FWS_OK && found == SIZE_MAX)
        err = fws_errf(eb, FWS_ERR_NOT_FOUND, "no such release: %s", req->rest);
    if (err == FWS_OK)
        err = detail(d, req->store, list, found, req->now, &j, eb);
    json_decref(doc);
    if (err != FWS_OK)
        return err;
    return fws_resp_json(resp, 200, j);
}

fws_err dash_release_routes(dash *d, fws_errbuf *eb)
{
    const fws_route routes[] = {
        {.method = "GET",
         .path = "/api/v1/dashboard/releases",
         .limit = d->public_limit,
         .fn = releases,
         .ctx = d},
        {.method = "GET",
         .path = "/api/v1/dashboard/releases/",
         .match = FWS_MATCH_PREFIX,
         .limit = d->public_limit,
         .fn = release_page,
         .ctx = d},
    };
    return fws_server_add_routes(d->srv, routes, sizeof(routes) / sizeof(routes[0]), eb);
}
