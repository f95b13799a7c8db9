/* The operator API for rollouts:
 *   GET  /api/v1/rollouts[?state=S]          list
 *   POST /api/v1/rollouts                    create {"release", "stages", "successThreshold",
 *                                            "failureThreshold", "selector"}
 *   GET  /api/v1/rollouts/ID                 one, with per-stage device counts
 *   POST /api/v1/rollouts/ID/pause|resume|cancel */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "server/fleet.h"

static fws_err parse_id(const char *text, const char **rest, int64_t *out)
{
    char *end = NULL;
    if (text[0] < '1' || text[0] > '9')
        return FWS_ERR_NOT_FOUND;
    long long v = strtoll(text, &end, 10);
    if (v <= 0)
        return FWS_ERR_NOT_FOUND;
    *out = v;
    *rest = end;
    return FWS_OK;
}

typedef struct list_ctx {
    fws_store *s;
    int64_t ids[FWS_STORE_LIST_MAX];
    size_t n;
} list_ctx;

static fws_err add_id(void *ctx, const fws_store_rollout *r)
{
    list_ctx *l = ctx;
    if (l->n < FWS_STORE_LIST_MAX)
        l->ids[l->n++] = r->id;
    return FWS_OK;
}

static fws_err rollouts_list(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    char state[32];
    fws_store_rollout_state st = 0;
    (void)ctx;
    fws_err err = fws_req_query(req, "state", state, sizeof(state));
    if (err == FWS_OK && fws_store_rollout_state_parse(state, &st, eb) != FWS_OK)
        return FWS_ERR_ARG;
    if (err != FWS_OK && err != FWS_ERR_NOT_FOUND)
        return fws_errf(eb, FWS_ERR_ARG, "query parameter state is malformed");
    list_ctx *l = calloc(1, sizeof(*l));
    json_t *arr = json_array();
    fws_store_page page = {.after = 0, .limit = 100, .newest_first = 1};
    err = l != NULL && arr != NULL ? fws_store_rollout_list(req->store, st, &page, add_id, l, eb)
                                   : FWS_ERR_NOMEM;
    for (size_t i = 0; err == FWS_OK && i < l->n; i++) {
        json_t *o = NULL;
        err = fws_fleet_rollout_json(req->store, l->ids[i], &o, eb);
        if (err == FWS_OK)
            json_array_append_new(arr, o);
    }
    free(l);
    if (err != FWS_OK) {
        json_decref(arr);
        return err;
    }
    return fws_resp_json(resp, 200, json_pack("{s:o}", "rollouts", arr));
}

static fws_err rollouts_get(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    int64_t id = 0;
    const char *rest = NULL;
    json_t *o = NULL;
    (void)ctx;
    if (parse_id(req->rest, &rest, &id) != FWS_OK || rest[0] != '\0')
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "no such rollout %s", req->path);
    fws_err err = fws_fleet_rollout_json(req->store, id, &o, eb);
    if (err != FWS_OK)
        return err;
    return fws_resp_json(resp, 200, o);
}

static fws_err stages_of(const json_t *body, uint32_t *pct, size_t *n, fws_errbuf *eb)
{
    json_t *arr = NULL;
    fws_err err = fws_json_get_array(body, "stages", &arr, eb);
    if (err != FWS_OK)
        return err;
    if (json_array_size(arr) < 1 || json_array_size(arr) > FWS_STORE_MAX_STAGES)
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"stages\" must list 1 to %d percentages",
                        FWS_STORE_MAX_STAGES);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 100)
            return fws_errf(eb, FWS_ERR_SCHEMA,
                            "field \"stages\" must hold percentages from 1 to 100");
        pct[i] = (uint32_t)json_integer_value(v);
    }
    *n = json_array_size(arr);
    return FWS_OK;
}

static fws_err threshold(const json_t *body, const char *key, uint32_t *out, fws_errbuf *eb)
{
    int64_t v = 0;
    if (json_object_get(body, key) == NULL)
        return FWS_OK;
    fws_err err = fws_json_get_int(body, key, &v, eb);
    if (err == FWS_OK && (v < 0 || v > 100))
        err = fws_errf(eb, FWS_ERR_SCHEMA, "field \"%s\" must be a percentage (0 to 100)", key);
    if (err == FWS_OK)
        *out = (uint32_t)v;
    return err;
}

static fws_err rollouts_create(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    static const char *const allowed[] = {"release",          "stages",   "successThreshold",
                                          "failureThreshold", "selector", NULL};
    fleet *f = ctx;
    json_t *body = NULL, *o = NULL;
    uint32_t pct[FWS_STORE_MAX_STAGES];
    char *sel = NULL;
    size_t sel_len = 0;
    int64_t id = 0;
    fws_fleet_rollout_req q = {.percent = pct,
                               .quarantine = -1,
                               .success_threshold = f->cfg.success_threshold,
                               .failure_threshold = f->cfg.failure_threshold};
    fws_err err = fws_req_json(req, &body, eb);
    if (err == FWS_OK)
        err = fws_json_only_keys(body, allowed, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(body, "release", &q.release, eb);
    if (err == FWS_OK)
        err = stages_of(body, pct, &q.n_stages, eb);
    if (err == FWS_OK)
        err = threshold(body, "successThreshold", &q.success_threshold, eb);
    if (err == FWS_OK)
        err = threshold(body, "failureThreshold", &q.failure_threshold, eb);
    if (err == FWS_OK && json_object_get(body, "selector") != NULL)
        err = fws_json_canonical(json_object_get(body, "selector"), &sel, &sel_len);
    q.selector = sel;
    if (err == FWS_OK)
        err = fws_fleet_sync_releases(req->store, f->deploy, &f->cfg, NULL, eb);
    if (err == FWS_OK)
        err = fws_fleet_rollout_create(req->store, &q, req->now, &id, eb);
    if (err == FWS_OK)
        fws_resp_audit(resp, "rollout %lld of %s, %zu stages", (long long)id, q.release,
                       q.n_stages);
    json_decref(body);
    free(sel);
    if (err == FWS_OK)
        err = fws_fleet_rollout_json(req->store, id, &o, eb);
    if (err != FWS_OK)
        return err;
    return fws_resp_json(resp, 201, o);
}

static fws_err rollouts_act(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    int64_t id = 0;
    const char *rest = NULL;
    json_t *o = NULL;
    fws_rollout_event e = FWS_ROLLOUT_EV_NONE;
    (void)ctx;
    if (parse_id(req->rest, &rest, &id) != FWS_OK)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "no such rollout %s", req->path);
    if (strcmp(rest, "/pause") == 0)
        e = FWS_ROLLOUT_EV_PAUSE;
    else if (strcmp(rest, "/resume") == 0)
        e = FWS_ROLLOUT_EV_RESUME;
    else if (strcmp(rest, "/cancel") == 0)
        e = FWS_ROLLOUT_EV_CANCEL;
    else
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "no such action %s (pause, resume or cancel)", rest);
    fws_resp_audit(resp, "%s rollout %lld", fws_rollout_event_name(e), (long long)id);
    fws_err err = fws_fleet_rollout_act(req->store, id, e, req->now, eb);
    if (err == FWS_OK)
        err = fws_fleet_rollout_json(req->store, id, &o, eb);
    if (err != FWS_OK)
        return err;
    return fws_resp_json(resp, 200, o);
}

fws_err fleet_rollout_routes(fleet *f, fws_errbuf *eb)
{
    const unsigned ops = FWS_ROLE_BIT(FWS_STORE_ROLE_ADMIN) | FWS_ROLE_BIT(FWS_STORE_ROLE_RELEASE);
    const fws_route routes[] = {
        {.method = "GET",
         .path = "/api/v1/rollouts",
         .auth = FWS_AUTH_TOKEN,
         .roles = FWS_ROLES_READ,
         .fn = rollouts_list,
         .ctx = f},
        {.method = "POST",
         .path = "/api/v1/rollouts",
         .auth = FWS_AUTH_TOKEN,
         .roles = ops,
         .action = "rollout.create",
         .fn = rollouts_create,
         .ctx = f},
        {.method = "GET",
         .path = "/api/v1/rollouts/",
         .match = FWS_MATCH_PREFIX,
         .auth = FWS_AUTH_TOKEN,
         .roles = FWS_ROLES_READ,
         .fn = rollouts_get,
         .ctx = f},
        {.method = "POST",
         .path = "/api/v1/rollouts/",
         .match = FWS_MATCH_PREFIX,
         .auth = FWS_AUTH_TOKEN,
         .roles = ops,
         .action = "rollout.change",
         .fn = rollouts_act,
         .ctx = f},
    };
    return fws_server_add_routes(f->srv, routes, sizeof(routes) / sizeof(routes[0]), eb);
}
