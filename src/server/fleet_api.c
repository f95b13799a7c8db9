/* The operator API of the fleet: devices (list, show, labels, quarantine, release), releases
 * as the store knows them. Every change is audited by the server (route action). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "server/fleet.h"

#define API_LIMIT 100
#define REASON_MAX 1024

static fws_err query_int(const fws_req *req, const char *name, int64_t min, int64_t max,
                         int64_t *out, fws_errbuf *eb)
{
    char buf[32];
    fws_err err = fws_req_query(req, name, buf, sizeof(buf));
    if (err == FWS_ERR_NOT_FOUND)
        return FWS_OK;
    char *end = NULL;
    errno = 0;
    long long v = err == FWS_OK ? strtoll(buf, &end, 10) : 0;
    if (err != FWS_OK || buf[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
        return fws_errf(eb, FWS_ERR_ARG, "query parameter %s must be an integer from %lld to %lld",
                        name, (long long)min, (long long)max);
    *out = v;
    return FWS_OK;
}

static fws_err query_str(const fws_req *req, const char *name, char *buf, size_t cap,
                         fws_errbuf *eb)
{
    buf[0] = '\0';
    fws_err err = fws_req_query(req, name, buf, cap);
    if (err == FWS_ERR_NOT_FOUND)
        return FWS_OK;
    if (err != FWS_OK)
        return fws_errf(eb, FWS_ERR_ARG, "query parameter %s is malformed or too long", name);
    return FWS_OK;
}

static json_t *device_json(const fws_store_device *d)
{
    char hex[65];
    int known = 0;
    for (size_t i = 0; i < sizeof(d->installed_sha256); i++)
        known |= d->installed_sha256[i];
    fws_hex_encode(d->installed_sha256, sizeof(d->installed_sha256), hex);
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:I,s:I,s:I,s:s,s:I}", "id", d->id, "environment",
        d->environment, "model", d->model, "region", d->region, "group", d->group, "status",
        fws_store_device_status_name(d->status), "installedVersion", d->installed_version,
        "installedSha256", known ? hex : NULL, "sequence", (json_int_t)d->seq, "lastSeen",
        (json_int_t)d->last_seen, "lastReport", (json_int_t)d->last_report, "attestation",
        fws_store_attest_name(d->attest_result), "createdAt", (json_int_t)d->created_at);
}

static fws_err add_device(void *ctx, const fws_store_device *d)
{
    return json_array_append_new(ctx, device_json(d)) == 0 ? FWS_OK : FWS_ERR_NOMEM;
}

static fws_err devices_list(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    char model[FWS_STORE_NAME_MAX + 2], region[FWS_STORE_NAME_MAX + 2],
        group[FWS_STORE_NAME_MAX + 2], status[32], after[FWS_STORE_ID_MAX + 2];
    int64_t limit = API_LIMIT;
    fws_store_device_filter f = {.limit = API_LIMIT};
    (void)ctx;
    fws_err err = query_str(req, "model", model, sizeof(model), eb);
    if (err == FWS_OK)
        err = query_str(req, "region", region, sizeof(region), eb);
    if (err == FWS_OK)
        err = query_str(req, "group", group, sizeof(group), eb);
    if (err == FWS_OK)
        err = query_str(req, "status", status, sizeof(status), eb);
    if (err == FWS_OK)
        err = query_str(req, "after", after, sizeof(after), eb);
    if (err == FWS_OK)
        err = query_int(req, "limit", 1, FWS_STORE_LIST_MAX, &limit, eb);
    if (err == FWS_OK && status[0] &&
        fws_store_device_status_parse(status, &f.status, eb) != FWS_OK)
        err = FWS_ERR_ARG;
    if (err != FWS_OK)
        return err;
    f.model = model;
    f.region = region;
    f.group = group;
    f.after_id = after;
    f.limit = (size_t)limit;
    json_t *arr = json_array();
    err = arr != NULL ? fws_store_device_list(req->store, &f, add_device, arr, eb) : FWS_ERR_NOMEM;
    if (err != FWS_OK) {
        json_decref(arr);
        return err;
    }
    return fws_resp_json(resp, 200, json_pack("{s:o}", "devices", arr));
}

static fws_err add_membership(void *ctx, const fws_store_member *m)
{
    return json_array_append_new(
               ctx,
               json_pack("{s:I,s:i,s:I,s:s,s:I,s:I}", "rollout", (json_int_t)m->rollout_id, "stage",
                         (int)m->stage + 1, "sequence", (json_int_t)m->assign_seq, "outcome",
                         fws_store_outcome_name(m->outcome), "assignedAt",
                         (json_int_t)m->assigned_at, "updatedAt", (json_int_t)m->updated_at)) == 0
               ? FWS_OK
               : FWS_ERR_NOMEM;
}

static fws_err add_report(void *ctx, const fws_store_report *r, const uint8_t *body, size_t len)
{
    char hex[65];
    (void)body;
    (void)len;
    fws_hex_encode(r->body_sha256, 32, hex);
    return json_array_append_new(ctx,
                                 json_pack("{s:I,s:s,s:s,s:I,s:I}", "id", (json_int_t)r->id, "kind",
                                           fws_store_report_kind_name(r->kind), "sha256", hex,
                                           "receivedAt", (json_int_t)r->received_at, "ledgerIndex",
                                           (json_int_t)r->ledger_index)) == 0
               ? FWS_OK
               : FWS_ERR_NOMEM;
}

static fws_err device_show(fws_req *req, fws_resp *resp, const char *id, fws_errbuf *eb)
{
    fws_store_device d;
    fws_err err = fws_store_device_get(req->store, id, &d, eb);
    if (err != FWS_OK)
        return err;
    json_t *o = device_json(&d), *ms = json_array(), *rs = json_array();
    fws_store_page page = {.after = 0, .limit = 20, .newest_first = 1};
    if (o == NULL || ms == NULL || rs == NULL)
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = fws_store_device_rollouts(req->store, id, 20, add_membership, ms, eb);
    if (err == FWS_OK)
        err = fws_store_report_list(req->store, id, &page, add_report, rs, eb);
    if (err != FWS_OK) {
        json_decref(o);
        json_decref(ms);
        json_decref(rs);
        return err;
    }
    json_object_set_new(o, "rollouts", ms);
    json_object_set_new(o, "reports", rs);
    return fws_resp_json(resp, 200, o);
}

static fws_err devices_get(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    (void)ctx;
    if (strchr(req->rest, '/') != NULL || req->rest[0] == '\0')
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "no such resource %s", req->path);
    return device_show(req, resp, req->rest, eb);
}

/* PUT /api/v1/devices/ID {"region": R, "group": G}: the labels rollouts select on. */
static fws_err devices_put(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    static const char *const allowed[] = {"region", "group", NULL};
    json_t *body = NULL;
    fws_store_device d;
    (void)ctx;
    if (strchr(req->rest, '/') != NULL || req->rest[0] == '\0')
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "no such resource %s", req->path);
    fws_err err = fws_req_json(req, &body, eb);
    if (err == FWS_OK)
        err = fws_json_only_keys(body, allowed, eb);
    if (err == FWS_OK)
        err = fws_store_device_get(req->store, req->rest, &d, eb);
    const char *keys[2] = {"region", "group"};
    char *dst[2] = {d.region, d.group};
    for (int i = 0; err == FWS_OK && i < 2; i++) {
        const char *v = NULL;
        if (json_object_get(body, keys[i]) == NULL)
            continue;
        err = fws_json_get_string(body, keys[i], &v, eb);
        if (err == FWS_OK && strlen(v) > FWS_STORE_NAME_MAX)
            err = fws_errf(eb, FWS_ERR_SCHEMA, "field \"%s\" is longer than %d bytes", keys[i],
                           FWS_STORE_NAME_MAX);
        if (err == FWS_OK)
            snprintf(dst[i], FWS_STORE_NAME_MAX + 1, "%s", v);
    }
    json_decref(body);
    if (err == FWS_OK) {
        d.updated_at = req->now;
        err = fws_store_device_put(req->store, &d, NULL, eb);
    }
    if (err != FWS_OK)
        return err;
    fws_resp_audit(resp, "device %s region \"%s\" group \"%s\"", d.id, d.region, d.group);
    return device_show(req, resp, d.id, eb);
}

/* POST /api/v1/devices/ID/quarantine and /release, {"reason": TEXT} (optional). */
static fws_err devices_post(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fleet *f = ctx;
    char id[FWS_STORE_ID_MAX + 1], reason[REASON_MAX + 1];
    const char *slash = strchr(req->rest, '/');
    if (slash == NULL || (size_t)(slash - req->rest) > FWS_STORE_ID_MAX)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "no such resource %s", req->path);
    int quarantine = strcmp(slash, "/quarantine") == 0;
    if (!quarantine && strcmp(slash, "/release") != 0)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "no such action %s (quarantine or release)", slash);
    memcpy(id, req->rest, (size_t)(slash - req->rest));
    id[slash - req->rest] = '\0';
    reason[0] = '\0';
    if (req->body_len > 0) {
        json_t *body = NULL;
        const char *r = NULL;
        static const char *const allowed[] = {"reason", NULL};
        fws_err err = fws_req_json(req, &body, eb);
        if (err == FWS_OK)
            err = fws_json_only_keys(body, allowed, eb);
        if (err == FWS_OK && json_object_get(body, "reason") != NULL)
            err = fws_json_get_string(body, "reason", &r, eb);
        if (err == FWS_OK && r != NULL && strlen(r) > REASON_MAX)
            err = fws_errf(eb, FWS_ERR_SCHEMA, "field \"reason\" is longer than %d bytes",
                           REASON_MAX);
        if (err == FWS_OK && r != NULL)
            snprintf(reason, sizeof(reason), "%s", r);
        json_decref(body);
        if (err != FWS_OK)
            return err;
    }
    char *record = NULL;
    size_t len = 0;
    uint64_t index = 0;
    fws_err err = fws_fleet_device_quarantine(req->store, id, quarantine, reason, req->now, &record,
                                              &len, eb);
    if (err != FWS_OK)
        return err;
    fws_resp_audit(resp, "%s device %s", quarantine ? "quarantine" : "release", id);
    err = fleet_ledger_append(f, record, len, &index, eb);
    free(record);
    if (err != FWS_OK)
        return fws_resp_error(resp, 503, "ledger_unavailable",
                              "device %s is %s, but its ledger record was not written (%s): "
                              "repeat the request to write it",
                              id, quarantine ? "quarantined" : "released",
                              eb->msg[0] ? eb->msg : fws_strerror(err));
    return fws_resp_json(resp, 200,
                         json_pack("{s:s,s:s,s:I}", "device", id, "status",
                                   quarantine ? "quarantined" : "active", "ledgerIndex",
                                   (json_int_t)index));
}

/* ---- releases ------------------------------------------------------------------- */

static fws_err add_release(void *ctx, const fws_store_release *r)
{
    char hex[65];
    fws_hex_encode(r->sha256, 32, hex);
    return json_array_append_new(ctx, json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:b,s:b}", "id",
                                                (json_int_t)r->id, "product", r->product, "version",
                                                r->version, "target", r->target, "sha256", hex,
                                                "size", (json_int_t)r->size, "createdAt",
                                                (json_int_t)r->created_at, "quarantineUntil",
                                                (json_int_t)r->quarantine_until, "recovery",
                                                r->recovery, "revoked", r->revoked)) == 0
               ? FWS_OK
               : FWS_ERR_NOMEM;
}

static fws_err releases_list(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fleet *f = ctx;
    fws_store_page page = {.after = 0, .limit = FWS_STORE_LIST_MAX, .newest_first = 1};
    fws_err err = fws_fleet_sync_releases(req->store, f->deploy, &f->cfg, NULL, eb);
    json_t *arr = json_array();
    if (err == FWS_OK)
        err = arr != NULL ? fws_store_release_list(req->store, NULL, &page, add_release, arr, eb)
                          : FWS_ERR_NOMEM;
    if (err != FWS_OK) {
        json_decref(arr);
        return err;
    }
    return fws_resp_json(resp, 200, json_pack("{s:o}", "releases", arr));
}

fws_err fleet_api_routes(fleet *f, fws_errbuf *eb)
{
    const unsigned ops = FWS_ROLE_BIT(FWS_STORE_ROLE_ADMIN);
    const fws_route routes[] = {
        {.method = "GET",
         .path = "/api/v1/devices",
         .auth = FWS_AUTH_TOKEN,
         .roles = FWS_ROLES_READ,
         .fn = devices_list,
         .ctx = f},
        {.method = "GET",
         .path = "/api/v1/devices/",
         .match = FWS_MATCH_PREFIX,
         .auth = FWS_AUTH_TOKEN,
         .roles = FWS_ROLES_READ,
         .fn = devices_get,
         .ctx = f},
        {.method = "PUT",
         .path = "/api/v1/devices/",
         .match = FWS_MATCH_PREFIX,
         .auth = FWS_AUTH_TOKEN,
         .roles = ops,
         .action = "device.update",
         .fn = devices_put,
         .ctx = f},
        {.method = "POST",
         .path = "/api/v1/devices/",
         .match = FWS_MATCH_PREFIX,
         .auth = FWS_AUTH_TOKEN,
         .roles = ops,
         .action = "device.quarantine",
         .fn = devices_post,
         .ctx = f},
        {.method = "GET",
         .path = "/api/v1/releases",
         .auth = FWS_AUTH_TOKEN,
         .roles = FWS_ROLES_READ,
         .fn = releases_list,
         .ctx = f},
    };
    return fws_server_add_routes(f->srv, routes, sizeof(routes) / sizeof(routes[0]), eb);
}
