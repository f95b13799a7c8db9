/* The operator API's core: who am I, tokens, the audit trail (and its snapshot route,
 * routes_audit.c), and POST /log/add. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/core.h"
#include "fwseal/json.h"
#include "server/internal.h"
#include "server/routes_audit.h"

#define API_LIST_DEFAULT 100

static json_t *token_json(const fws_store_token *t)
{
    return json_pack("{s:I,s:s,s:s,s:I,s:I,s:I}", "id", (json_int_t)t->id, "name", t->name, "role",
                     fws_store_role_name(t->role), "created_at", (json_int_t)t->created_at,
                     "expires_at", (json_int_t)t->expires_at, "revoked_at",
                     (json_int_t)t->revoked_at);
}

static fws_err whoami(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    (void)ctx;
    (void)eb;
    return fws_resp_json(resp, 200,
                         json_pack("{s:I,s:s,s:s}", "id", (json_int_t)req->token_id, "name",
                                   req->token_name, "role", fws_store_role_name(req->role)));
}

/* GET /device/v1/whoami: what the server knows of the calling device from its certificate
 * (rate-limited per device, like every device route that does work). */
static fws_err device_whoami(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    const uint8_t *const *certs = NULL;
    const size_t *lens = NULL;
    size_t n = 0;
    int verified = 0;
    int64_t nb = 0, na = 0;
    (void)ctx;
    fws_req_client_chain(req, &certs, &lens, &n, &verified);
    if (n == 0 || fws_pki_cert_validity(certs[0], lens[0], &nb, &na) != FWS_OK)
        return fws_errf(eb, FWS_ERR_STATE, "no client certificate");
    return fws_resp_json(resp, 200,
                         json_pack("{s:s,s:s,s:I}", "device", req->device_id, "env",
                                   fws_pki_env_name(req->env), "not_after", (json_int_t)na));
}

/* ?after=N&limit=N into a page. */
static fws_err page_of(const fws_req *req, fws_store_page *page, int newest_first, fws_errbuf *eb)
{
    char buf[32];
    page->after = 0;
    page->limit = API_LIST_DEFAULT;
    page->newest_first = newest_first;
    const char *names[2] = {"after", "limit"};
    for (int i = 0; i < 2; i++) {
        fws_err err = fws_req_query(req, names[i], buf, sizeof(buf));
        if (err == FWS_ERR_NOT_FOUND)
            continue;
        char *end = NULL;
        errno = 0;
        long long v = err == FWS_OK ? strtoll(buf, &end, 10) : -1;
        if (err != FWS_OK || buf[0] == '\0' || *end != '\0' || errno != 0 || v < 0 ||
            (i == 1 && (v < 1 || v > FWS_STORE_LIST_MAX)))
            return fws_errf(eb, FWS_ERR_ARG, "query parameter %s: %s", names[i],
                            i == 1 ? "an integer from 1 to 10000" : "a non-negative integer");
        if (i == 0)
            page->after = v;
        else
            page->limit = (size_t)v;
    }
    return FWS_OK;
}

static fws_err add_token(void *ctx, const fws_store_token *t)
{
    return json_array_append_new(ctx, token_json(t)) == 0 ? FWS_OK : FWS_ERR_NOMEM;
}

static fws_err tokens_list(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fws_store_page page;
    (void)ctx;
    fws_err err = page_of(req, &page, 0, eb);
    json_t *arr = json_array();
    if (err == FWS_OK && arr == NULL)
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = fws_store_token_list(req->store, 1, &page, add_token, arr, eb);
    if (err != FWS_OK) {
        json_decref(arr);
        return err;
    }
    return fws_resp_json(resp, 200, json_pack("{s:o}", "tokens", arr));
}

static fws_err tokens_create(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    json_t *body = NULL;
    const char *name = NULL, *role_name = NULL;
    fws_store_role role;
    int64_t expires_in = 0;
    (void)ctx;
    fws_err err = fws_req_json(req, &body, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(body, "name", &name, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(body, "role", &role_name, eb);
    if (err == FWS_OK && fws_store_role_parse(role_name, &role, NULL) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_SCHEMA,
                       "field \"role\" must be admin, release, factory or auditor, not \"%s\"",
                       role_name);
    if (err == FWS_OK && json_object_get(body, "expires_in") != NULL) {
        err = fws_json_get_int(body, "expires_in", &expires_in, eb);
        if (err == FWS_OK && (expires_in <= 0 || expires_in > 100LL * 365 * 86400))
            err = fws_errf(eb, FWS_ERR_SCHEMA,
                           "field \"expires_in\" must be 1 to 3153600000 "
                           "seconds");
    }
    char token[FWS_STORE_TOKEN_SIZE];
    fws_store_token t;
    if (err == FWS_OK)
        err = fws_store_token_create(req->store, name, role, req->now,
                                     expires_in ? req->now + expires_in : 0, token, &t, eb);
    json_decref(body);
    if (err != FWS_OK)
        return err;
    json_t *j = token_json(&t);
    if (j != NULL)
        json_object_set_new(j, "token", json_string(token));
    fws_wipe(token, sizeof(token));
    fws_resp_audit(resp, "token %lld (%s) for %s", (long long)t.id, fws_store_role_name(role),
                   t.name);
    err = fws_resp_json(resp, 201, j);
    return err;
}

static fws_err tokens_revoke(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    char *end = NULL;
    (void)ctx;
    errno = 0;
    long long id = strtoll(req->rest, &end, 10);
    if (req->rest[0] < '1' || req->rest[0] > '9' || *end != '\0' || errno != 0)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "no such token: %s", req->rest);
    fws_err err = fws_store_token_revoke(req->store, id, req->now, eb);
    fws_store_token t;
    if (err == FWS_OK)
        err = fws_store_token_get(req->store, id, &t, eb);
    if (err != FWS_OK)
        return err;
    fws_resp_audit(resp, "token %lld (%s)", id, t.name);
    return fws_resp_json(resp, 200, token_json(&t));
}

static fws_err add_audit(void *ctx, const fws_store_audit *a)
{
    json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:I}", "id", (json_int_t)a->id, "token_id",
                          (json_int_t)a->token_id, "actor", a->actor, "action", a->action, "target",
                          a->target, "detail", a->detail, "time", (json_int_t)a->time);
    return json_array_append_new(ctx, j) == 0 ? FWS_OK : FWS_ERR_NOMEM;
}

static fws_err audit_list(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fws_store_page page;
    (void)ctx;
    fws_err err = page_of(req, &page, 1, eb);
    json_t *arr = json_array();
    if (err == FWS_OK && arr == NULL)
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = fws_store_audit_list(req->store, &page, add_audit, arr, eb);
    if (err != FWS_OK) {
        json_decref(arr);
        return err;
    }
    return fws_resp_json(resp, 200, json_pack("{s:o}", "audit", arr));
}

/* POST /log/add: one typed record (ledger.h); answers its index once it is durable. */
static fws_err log_add(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fws_server *srv = ctx;
    uint64_t index = 0;
    if (req->body_len == 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "request body is empty: a ledger record is expected");
    fws_err err = fws_server_ledger_append(srv, req->body, req->body_len, &index, eb);
    if (err == FWS_ERR_STATE)
        return fws_resp_error(resp, 503, "ledger_unavailable", "%s", eb->msg);
    if (err != FWS_OK)
        return err;
    fws_resp_audit(resp, "ledger index %llu", (unsigned long long)index);
    return fws_resp_json(resp, 200, json_pack("{s:I}", "index", (json_int_t)index));
}

fws_err srv_routes_api(fws_server *srv, fws_errbuf *eb)
{
    const unsigned writers = FWS_ROLE_BIT(FWS_STORE_ROLE_ADMIN) |
                             FWS_ROLE_BIT(FWS_STORE_ROLE_RELEASE) |
                             FWS_ROLE_BIT(FWS_STORE_ROLE_FACTORY);
    const unsigned auditors = FWS_ROLES_ADMIN | FWS_ROLE_BIT(FWS_STORE_ROLE_AUDITOR);
    const fws_route routes[] = {
        {.method = "GET",
         .path = "/device/v1/whoami",
         .auth = FWS_AUTH_DEVICE,
         .on_loop = 1,
         .limit = fws_server_device_limit(srv),
         .fn = device_whoami},
        {.method = "GET",
         .path = "/api/v1/whoami",
         .auth = FWS_AUTH_TOKEN,
         .roles = FWS_ROLES_ANY,
         .fn = whoami},
        {.method = "GET",
         .path = "/api/v1/tokens",
         .auth = FWS_AUTH_TOKEN,
         .roles = FWS_ROLES_ADMIN,
         .fn = tokens_list},
        {.method = "POST",
         .path = "/api/v1/tokens",
         .auth = FWS_AUTH_TOKEN,
         .roles = FWS_ROLES_ADMIN,
         .action = "token.create",
         .fn = tokens_create},
        {.method = "DELETE",
         .path = "/api/v1/tokens/",
         .match = FWS_MATCH_PREFIX,
         .auth = FWS_AUTH_TOKEN,
         .roles = FWS_ROLES_ADMIN,
         .action = "token.revoke",
         .fn = tokens_revoke},
        {.method = "GET",
         .path = "/api/v1/audit",
         .auth = FWS_AUTH_TOKEN,
         .roles = auditors,
         .fn = audit_list},
        {.method = "GET",
         .path = "/api/v1/audit/snapshot",
         .auth = FWS_AUTH_TOKEN,
         .roles = auditors,
         .action = "audit.snapshot",
         .fn = srv_audit_snapshot,
         .ctx = srv},
        {.method = "POST",
         .path = "/log/add",
         .auth = FWS_AUTH_TOKEN,
         .roles = writers,
         .action = "log.add",
         .body_max = FWS_RECORD_MAX,
         .fn = log_add,
         .ctx = srv},
    };
    return fws_server_add_routes(srv, routes, sizeof(routes) / sizeof(routes[0]), eb);
}
