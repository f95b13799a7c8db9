/* A device's page: its store record, rollouts and reports, and its whole history from the
 * ledger with a tlog-proof for each event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/crypto.h"
#include "server/dash.h"

#define MEMBERSHIPS_MAX 20
#define REPORTS_MAX 20

static int id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > FWS_STORE_ID_MAX)
        return 0;
    return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

static json_t *device_json(const fws_store_device *d)
{
    char sha[65] = "";
    static const uint8_t zero[32];
    if (memcmp(d->installed_sha256, zero, 32) != 0)
        fws_hex_encode(d->installed_sha256, 32, sha);
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:s,s:I,s:I}", "id", d->id, "environment",
        d->environment, "model", d->model, "region", d->region, "group", d->group, "status",
        fws_store_device_status_name(d->status), "version", d->installed_version, "sha256", sha,
        "lastSeen", (json_int_t)d->last_seen, "lastReport", (json_int_t)d->last_report, "seq",
        (json_int_t)d->seq, "attestedAt", (json_int_t)d->attested_at, "attestation",
        fws_store_attest_name(d->attest_result ? d->attest_result : FWS_STORE_ATTEST_NONE),
        "createdAt", (json_int_t)d->created_at, "updatedAt", (json_int_t)d->updated_at);
}

static fws_err member_row(void *ctx, const fws_store_member *m)
{
    json_t *j =
        json_pack("{s:I,s:I,s:s,s:I,s:I}", "rollout", (json_int_t)m->rollout_id, "stage",
                  (json_int_t)m->stage, "outcome", fws_store_outcome_name(m->outcome), "assignedAt",
                  (json_int_t)m->assigned_at, "updatedAt", (json_int_t)m->updated_at);
    return json_array_append_new(ctx, j) == 0 ? FWS_OK : FWS_ERR_NOMEM;
}

static fws_err report_row(void *ctx, const fws_store_report *r, const uint8_t *body, size_t len)
{
    char sha[65];
    (void)body;
    fws_hex_encode(r->body_sha256, 32, sha);
    json_t *j = json_pack("{s:I,s:s,s:I,s:I,s:s,s:I}", "id", (json_int_t)r->id, "kind",
                          fws_store_report_kind_name(r->kind), "receivedAt",
                          (json_int_t)r->received_at, "ledgerIndex", (json_int_t)r->ledger_index,
                          "sha256", sha, "size", (json_int_t)len);
    return json_array_append_new(ctx, j) == 0 ? FWS_OK : FWS_ERR_NOMEM;
}

/* The device's ledger events (newest last), each with its proof. */
static fws_err history(dash *d, const char *id, json_t *arr, int *truncated, fws_errbuf *eb)
{
    uint64_t *idx = malloc(sizeof(uint64_t) * (DASH_HISTORY_MAX + 1));
    size_t n = 0;
    fws_ledger_query q = {.device = id};
    dash_prover p;
    fws_err err =
        idx ? fws_ledger_search(d->ledger_dir, &q, UINT64_MAX, idx, DASH_HISTORY_MAX + 1, &n, eb)
            : FWS_ERR_NOMEM;
    *truncated = n > DASH_HISTORY_MAX;
    if (n > DASH_HISTORY_MAX)
        n = DASH_HISTORY_MAX;
    if (err == FWS_OK && n > 0) {
        err = dash_prover_open(&p, d->ledger_dir, eb);
        for (size_t i = 0; err == FWS_OK && i < n; i++) {
            json_t *ev = NULL;
            err = dash_event(&p, idx[i], &ev, eb);
            if (err == FWS_OK && json_array_append_new(arr, ev) != 0)
                err = FWS_ERR_NOMEM;
        }
        if (p.log != NULL)
            dash_prover_close(&p);
    }
    free(idx);
    return err;
}

/* GET /api/v1/dashboard/devices/ID */
static fws_err device_page(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    dash *d = ctx;
    fws_store_device dev;
    if (!id_ok(req->rest))
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "no such device: %s", req->rest);
    fws_err err = fws_store_device_get(req->store, req->rest, &dev, eb);
    int known = err == FWS_OK;
    if (err == FWS_ERR_NOT_FOUND) {
        fws_errbuf_clear(eb);
        err = FWS_OK;
    }
    json_t *members = json_array(), *reports = json_array(), *events = json_array();
    int truncated = 0;
    if (err == FWS_OK && (members == NULL || reports == NULL || events == NULL))
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK && known)
        err = fws_store_device_rollouts(req->store, req->rest, MEMBERSHIPS_MAX, member_row, members,
                                        eb);
    fws_store_page page = {.after = 0, .limit = REPORTS_MAX, .newest_first = 1};
    if (err == FWS_OK && known)
        err = fws_store_report_list(req->store, req->rest, &page, report_row, reports, eb);
    if (err == FWS_OK)
        err = history(d, req->rest, events, &truncated, eb);
    if (err == FWS_OK && !known && json_array_size(events) == 0)
        err = fws_errf(eb, FWS_ERR_NOT_FOUND, "no such device: %s", req->rest);
    if (err != FWS_OK) {
        json_decref(members);
        json_decref(reports);
        json_decref(events);
        return err;
    }
    return fws_resp_json(resp, 200,
                         json_pack("{s:s,s:o,s:o,s:o,s:o,s:b}", "id", req->rest, "device",
                                   known ? device_json(&dev) : json_null(), "rollouts", members,
                                   "reports", reports, "history", events, "truncated", truncated));
}

fws_err dash_device_routes(dash *d, fws_errbuf *eb)
{
    const fws_route routes[] = {
        {.method = "GET",
         .path = "/api/v1/dashboard/devices/",
         .match = FWS_MATCH_PREFIX,
         .auth = FWS_AUTH_TOKEN,
         .roles = FWS_ROLES_READ,
         .fn = device_page,
         .ctx = d},
    };
    return fws_server_add_routes(d->srv, routes, sizeof(routes) / sizeof(routes[0]), eb);
}
