/* The alerts API: list, acknowledge, raise (for monitors running elsewhere), configuration. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "server/alert.h"

#define LIST_DEFAULT 100

static json_t *row_json(const fws_store_alert *a)
{
    json_t *j = alert_json(a);
    if (j != NULL) {
        json_object_set_new(j, "ackedAt", json_integer(a->acked_at));
        json_object_set_new(j, "ackedBy", json_integer(a->acked_by));
    }
    return j;
}

static fws_err add_row(void *ctx, const fws_store_alert *a)
{
    return json_array_append_new(ctx, row_json(a)) == 0 ? FWS_OK : FWS_ERR_NOMEM;
}

static fws_err query_int(const fws_req *req, const char *name, int64_t min, int64_t max,
                         int64_t *out, fws_errbuf *eb)
{
    char buf[32], *end = NULL;
    fws_err err = fws_req_query(req, name, buf, sizeof(buf));
    if (err == FWS_ERR_NOT_FOUND)
        return FWS_OK;
    errno = 0;
    long long v = err == FWS_OK ? strtoll(buf, &end, 10) : 0;
    if (err != FWS_OK || buf[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
        return fws_errf(eb, FWS_ERR_ARG, "query parameter %s: an integer from %lld to %lld", name,
                        (long long)min, (long long)max);
    *out = v;
    return FWS_OK;
}

/* GET /api/v1/alerts?state=open|all&after=ID&limit=N: newest first. */
static fws_err alerts_list(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    char state[8] = "all";
    int64_t after = 0, limit = LIST_DEFAULT;
    (void)ctx;
    fws_err err = fws_req_query(req, "state", state, sizeof(state));
    if (err == FWS_ERR_NOT_FOUND)
        err = FWS_OK;
    if (err != FWS_OK || (strcmp(state, "open") != 0 && strcmp(state, "all") != 0))
        return fws_errf(eb, FWS_ERR_ARG, "query parameter state: open or all");
    err = query_int(req, "after", 0, INT64_MAX, &after, eb);
    if (err == FWS_OK)
        err = query_int(req, "limit", 1, 1000, &limit, eb);
    json_t *arr = json_array();
    if (err == FWS_OK && arr == NULL)
        err = FWS_ERR_NOMEM;
    fws_store_page page = {.after = after, .limit = (size_t)limit, .newest_first = 1};
    if (err == FWS_OK)
        err = fws_store_alert_list(req->store, strcmp(state, "open") == 0, &page, add_row, arr, eb);
    if (err != FWS_OK) {
        json_decref(arr);
        return err;
    }
    return fws_resp_json(resp, 200, json_pack("{s:o,s:s}", "alerts", arr, "state", state));
}

/* POST /api/v1/alerts/ID/ack */
static fws_err alerts_ack(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    alert_engine *e = ctx;
    char *end = NULL;
    errno = 0;
    long long id = strtoll(req->rest, &end, 10);
    if (req->rest[0] < '1' || req->rest[0] > '9' || strcmp(end, "/ack") != 0 || errno != 0)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "no such alert action: %s", req->path);
    fws_store_alert a;
    fws_err err = fws_store_alert_ack(req->store, id, req->token_id, req->now, eb);
    if (err == FWS_OK)
        err = fws_store_alert_get(req->store, id, &a, eb);
    if (err != FWS_OK)
        return err;
    fws_resp_audit(resp, "alert %lld (%s, %s)", id, a.kind, a.subject);
    alert_engine_poke(e);
    return fws_resp_json(resp, 200, row_json(&a));
}

static fws_err text_field(const json_t *body, const char *key, char *out, size_t cap,
                          fws_errbuf *eb)
{
    const char *s = NULL;
    fws_err err = fws_json_get_string(body, key, &s, eb);
    if (err != FWS_OK)
        return err;
    if (s[0] == '\0' || strlen(s) >= cap)
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"%s\" must have 1 to %zu bytes", key, cap - 1);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return fws_errf(eb, FWS_ERR_SCHEMA, "field \"%s\" holds a control character", key);
    memcpy(out, s, strlen(s) + 1);
    return FWS_OK;
}

/* POST /api/v1/alerts {"kind", "subject", "message"}: a monitor, witness or auditor running
 * elsewhere raises an alert; it is stored, shown and delivered like the engine's own. */
static fws_err alerts_raise(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    static const char *const keys[] = {"kind", "subject", "message", NULL};
    alert_engine *e = ctx;
    json_t *body = NULL;
    fws_store_alert a;
    int64_t id = 0;
    memset(&a, 0, sizeof(a));
    fws_err err = fws_req_json(req, &body, eb);
    if (err == FWS_OK)
        err = fws_json_only_keys(body, keys, eb);
    if (err == FWS_OK)
        err = text_field(body, "kind", a.kind, sizeof(a.kind), eb);
    if (err == FWS_OK && !alert_kind_valid(a.kind))
        err = fws_errf(eb, FWS_ERR_SCHEMA,
                       "field \"kind\" must be lowercase letters, digits and "
                       "dashes (for example \"log-fork\")");
    if (err == FWS_OK)
        err = text_field(body, "subject", a.subject, sizeof(a.subject), eb);
    if (err == FWS_OK)
        err = text_field(body, "message", a.message, sizeof(a.message), eb);
    json_decref(body);
    a.time = req->now;
    if (err == FWS_OK)
        err = fws_store_alert_add(req->store, &a, &id, eb);
    if (err != FWS_OK)
        return err;
    a.id = id;
    fws_resp_audit(resp, "alert %lld (%s, %s)", (long long)id, a.kind, a.subject);
    alert_engine_poke(e);
    return fws_resp_json(resp, 201, row_json(&a));
}

static fws_err alerts_config(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    (void)req;
    (void)eb;
    return fws_resp_json(resp, 200, alert_config_json(alert_engine_config(ctx)));
}

fws_err alert_api_routes(fws_server *srv, alert_engine *e, fws_errbuf *eb)
{
    const unsigned operators = FWS_ROLE_BIT(FWS_STORE_ROLE_ADMIN) |
                               FWS_ROLE_BIT(FWS_STORE_ROLE_RELEASE) |
                               FWS_ROLE_BIT(FWS_STORE_ROLE_FACTORY);
    const unsigned raisers = FWS_ROLES_ADMIN | FWS_ROLE_BIT(FWS_STORE_ROLE_AUDITOR);
    const fws_route routes[] = {
        {.method = "GET",
         .path = "/api/v1/alerts",
         .auth = FWS_AUTH_TOKEN,
         .roles = FWS_ROLES_READ,
         .fn = alerts_list},
        {.method = "GET",
         .path = "/api/v1/alerts/config",
         .auth = FWS_AUTH_TOKEN,
         .roles = FWS_ROLES_READ,
         .fn = alerts_config,
         .ctx = e},
        {.method = "POST",
         .path = "/api/v1/alerts/",
         .match = FWS_MATCH_PREFIX,
         .auth = FWS_AUTH_TOKEN,
         .roles = operators,
         .action = "alert.ack",
         .fn = alerts_ack,
         .ctx = e},
        {.method = "POST",
         .path = "/api/v1/alerts",
         .auth = FWS_AUTH_TOKEN,
         .roles = raisers,
         .action = "alert.raise",
         .body_max = 8192,
         .fn = alerts_raise,
         .ctx = e},
    };
    return fws_server_add_routes(srv, routes, sizeof(routes) / sizeof(routes[0]), eb);
}
