/* The route table, request accessors, and running a handler: token authentication and roles,
 * error mapping, the audit trail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "fwseal/core.h"
#include "fwseal/json.h"
#include "server/internal.h"

static int route_matches(const fws_route *r, const char *path, const char **rest)
{
    size_t n = strlen(r->path);
    if (r->match == FWS_MATCH_EXACT) {
        if (strcmp(r->path, path) != 0)
            return 0;
        *rest = path + n;
        return 1;
    }
    if (strncmp(r->path, path, n) != 0)
        return 0;
    *rest = path + n;
    return 1;
}

const fws_route *srv_route_find(const srv_router *rt, const char *method, const char *path,
                                const char **rest, int *status, char *allow, size_t allow_cap)
{
    const fws_route *best = NULL;
    size_t best_len = 0;
    int exact_best = 0;
    const char *best_rest = NULL;
    size_t path_best_len = 0; /* the best match by path alone, any method */
    int path_exact = 0;
    for (size_t i = 0; i < rt->n; i++) {
        const fws_route *r = &rt->routes[i];
        const char *rs;
        if (!route_matches(r, path, &rs))
            continue;
        size_t len = strlen(r->path);
        int exact = r->match == FWS_MATCH_EXACT;
        if (exact > path_exact || (exact == path_exact && len > path_best_len)) {
            path_best_len = len;
            path_exact = exact;
        }
        if (strcmp(r->method, method) != 0)
            continue;
        if (best == NULL || exact > exact_best || (exact == exact_best && len > best_len)) {
            best = r;
            best_len = len;
            exact_best = exact;
            best_rest = rs;
        }
    }
    if (best != NULL && best_len == path_best_len && exact_best == path_exact) {
        *rest = best_rest;
        return best;
    }
    if (path_best_len == 0) {
        *status = 404;
        return NULL;
    }
    /* The path is routed, but not for this method: list the methods of the same route. */
    allow[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < rt->n; i++) {
        const fws_route *r = &rt->routes[i];
        const char *rs;
        if (!route_matches(r, path, &rs) || strlen(r->path) != path_best_len ||
            (r->match == FWS_MATCH_EXACT) != path_exact)
            continue;
        int n = snprintf(allow + used, allow_cap - used, "%s%s%s", used ? ", " : "", r->method,
                         strcmp(r->method, "GET") == 0 ? ", HEAD" : "");
        if (n < 0 || (size_t)n >= allow_cap - used)
            break;
        used += (size_t)n;
    }
    *status = 405;
    return NULL;
}

fws_err fws_server_add_routes(fws_server *srv, const fws_route *routes, size_t n, fws_errbuf *eb)
{
    srv_router *rt = &srv->router;
    if (srv->listening)
        return fws_errf(eb, FWS_ERR_STATE, "routes must be added before the server listens");
    for (size_t i = 0; i < n; i++) {
        const fws_route *r = &routes[i];
        if (r->method == NULL || r->path == NULL || r->path[0] != '/' || r->fn == NULL)
            return fws_errf(eb, FWS_ERR_ARG, "route %zu: method, path and handler are required", i);
        if (r->auth == FWS_AUTH_TOKEN && (r->on_loop || (r->roles & FWS_ROLES_ANY) == 0))
            return fws_errf(eb, FWS_ERR_ARG,
                            "route %s %s: token routes run on a worker and need a role set",
                            r->method, r->path);
        if (r->body_max > FWS_SERVER_BODY_LIMIT)
            return fws_errf(eb, FWS_ERR_ARG, "route %s %s: body cap over %u bytes", r->method,
                            r->path, FWS_SERVER_BODY_LIMIT);
        for (size_t k = 0; k < rt->n; k++)
            if (strcmp(rt->routes[k].method, r->method) == 0 &&
                strcmp(rt->routes[k].path, r->path) == 0 && rt->routes[k].match == r->match)
                return fws_errf(eb, FWS_ERR_EXISTS, "route %s %s is already taken", r->method,
                                r->path);
        if (rt->n == FWS_SERVER_ROUTES_MAX)
            return fws_errf(eb, FWS_ERR_TOO_BIG, "more than %d routes", FWS_SERVER_ROUTES_MAX);
        rt->routes[rt->n++] = *r;
    }
    return FWS_OK;
}

/* ---- request accessors ---------------------------------------------------------------------- */

const char *fws_req_header(const fws_req *req, const char *name)
{
    const srv_request *rq = req->internal;
    return http_field_get(&rq->head, name);
}

fws_err fws_req_query(const fws_req *req, const char *name, char *buf, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = req->query;
    while (p != NULL && *p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t kl = eq ? (size_t)(eq - p) : len;
        if (kl == nl && strncmp(p, name, nl) == 0) {
            const char *v = eq ? eq + 1 : p + len;
            size_t vl = eq ? len - kl - 1 : 0;
            long r = http_pct_decode(v, vl, 1, buf, cap);
            if (r == -2)
                return FWS_ERR_TOO_BIG;
            if (r < 0 || memchr(buf, '\0', (size_t)r) != NULL)
                return FWS_ERR_FORMAT;
            return FWS_OK;
        }
        p = amp ? amp + 1 : NULL;
    }
    return FWS_ERR_NOT_FOUND;
}

fws_err fws_req_json(const fws_req *req, json_t **out, fws_errbuf *eb)
{
    json_t *j = NULL;
    if (req->body_len == 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "request body is empty: a JSON object is expected");
    fws_errbuf inner = {{0}};
    fws_err err = fws_json_parse(req->body, req->body_len, 0, NULL, &j, &inner);
    if (err != FWS_OK)
        return fws_errf(eb, err == FWS_ERR_TOO_BIG ? err : FWS_ERR_FORMAT,
                        "request body is not valid JSON: %s",
                        inner.msg[0] ? inner.msg : fws_strerror(err));
    if (!json_is_object(j)) {
        json_decref(j);
        return fws_errf(eb, FWS_ERR_FORMAT, "request body must be a JSON object");
    }
    *out = j;
    return FWS_OK;
}

/* ---- running a handler ---------------------------------------------------------------------- */

static int token_fail(fws_resp *resp, int status, const char *code, const char *msg)
{
    if (status == 401)
        fws_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"fwseal\"");
    fws_resp_error(resp, status, code, "%s", msg);
    return 0;
}

static const char *role_list(unsigned roles, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int r = FWS_STORE_ROLE_ADMIN; r <= FWS_STORE_ROLE_AUDITOR; r++) {
        if (!(roles & FWS_ROLE_BIT(r)))
            continue;
        int n = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "",
                         fws_store_role_name((fws_store_role)r));
        if (n < 0 || (size_t)n >= cap - used)
            break;
        used += (size_t)n;
    }
    return buf;
}

/* Authenticates the bearer token and checks its role. 0: answered already. */
static int token_ok(fws_server *srv, srv_request *rq, fws_store *store)
{
    fws_resp *resp = &rq->resp;
    const char *h = fws_req_header(&rq->pub, "Authorization");
    if (h == NULL)
        return token_fail(resp, 401, "unauthenticated",
                          "this endpoint needs an operator token (Authorization: Bearer ...)");
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return token_fail(resp, 401, "unauthenticated",
                          "Authorization must be \"Bearer\" and an operator token");
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    fws_store_token t;
    fws_errbuf eb = {{0}};
    fws_err err = fws_store_token_auth(store, tok, rq->pub.now, &t, &eb);
    switch (err) {
    case FWS_OK:
        break;
    case FWS_ERR_FORMAT:
        return token_fail(resp, 401, "bad_token", "malformed operator token");
    case FWS_ERR_NOT_FOUND:
        return token_fail(resp, 401, "bad_token", "unknown operator token");
    case FWS_ERR_STATE:
        return token_fail(resp, 401, "bad_token", "operator token revoked");
    case FWS_ERR_EXPIRED:
        return token_fail(resp, 401, "bad_token", "operator token expired");
    default:
        fws_server_log(srv, "error", "token check failed", "error", eb.msg, NULL);
        fws_resp_error(resp, 503, "store_unavailable", "cannot check the token: %s",
                       eb.msg[0] ? eb.msg : fws_strerror(err));
        return 0;
    }
    rq->pub.token_id = t.id;
    rq->pub.role = t.role;
    snprintf(rq->pub.token_name, sizeof(rq->pub.token_name), "%s", t.name);
    if (!(rq->route->roles & FWS_ROLE_BIT(t.role))) {
        char need[64];
        fws_resp_error(resp, 403, "forbidden",
                       "token role \"%s\" may not %s %s (roles allowed: %s)",
                       fws_store_role_name(t.role), rq->pub.method, rq->pub.path,
                       role_list(rq->route->roles, need, sizeof(need)));
        return 0;
    }
    return 1;
}

static void audit(fws_server *srv, srv_request *rq, fws_store *store)
{
    fws_store_audit a;
    memset(&a, 0, sizeof(a));
    a.token_id = rq->pub.token_id;
    snprintf(a.actor, sizeof(a.actor), "%s", rq->pub.token_name);
    snprintf(a.action, sizeof(a.action), "%s", rq->route->action);
    snprintf(a.target, sizeof(a.target), "%s %s", rq->pub.method, rq->pub.path);
    int status = rq->resp.status ? rq->resp.status : 200;
    snprintf(a.detail, sizeof(a.detail), "status %d%s%.1000s", status,
             rq->resp.audit[0] ? "; " : "", rq->resp.audit);
    for (char *c = a.detail; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = ' ';
    a.time = rq->pub.now;
    fws_errbuf eb = {{0}};
    int64_t id;
    if (fws_store_audit_add(store, &a, &id, &eb) != FWS_OK)
        fws_server_log(srv, "error", "audit trail write failed", "action", a.action, "error",
                       eb.msg, NULL);
}

void srv_run_handler(fws_server *srv, srv_request *rq, fws_store *store)
{
    fws_req *req = &rq->pub;
    const fws_route *r = rq->route;
    req->store = store;
    if (r->auth == FWS_AUTH_TOKEN) {
        if (!token_ok(srv, rq, store)) {
            if (r->action != NULL && req->token_id != 0)
                audit(srv, rq, store);
            return;
        }
        char key[32];
        uint64_t wait = 0;
        snprintf(key, sizeof(key), "token:%lld", (long long)req->token_id);
        if (r->limit != NULL && !fws_ratelimit_take(r->limit, key, srv_now_ms(), &wait)) {
            char secs[24];
            snprintf(secs, sizeof(secs), "%llu", (unsigned long long)((wait + 999) / 1000));
            fws_resp_header(&rq->resp, "Retry-After", secs);
            atomic_fetch_add(&srv->counters.rate_limited, 1);
            fws_resp_error(&rq->resp, 429, "rate_limited", "rate limit exceeded: retry in %s s",
                           secs);
            return;
        }
    }
    fws_errbuf_clear(&rq->eb);
    fws_err err = r->fn(req, &rq->resp, r->ctx, &rq->eb);
    if (err != FWS_OK && rq->resp.status == 0)
        fws_resp_error(&rq->resp, fws_server_status_for(err), fws_server_code_for(err), "%s",
                       rq->eb.msg[0] ? rq->eb.msg : fws_strerror(err));
    else if (err != FWS_OK && rq->resp.body == NULL && rq->resp.file_fd < 0)
        fws_resp_error(&rq->resp, rq->resp.status, fws_server_code_for(err), "%s",
                       rq->eb.msg[0] ? rq->eb.msg : fws_strerror(err));
    if (r->auth == FWS_AUTH_TOKEN && r->action != NULL)
        audit(srv, rq, store);
}
