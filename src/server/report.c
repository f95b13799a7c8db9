/* POST /api/v1/device/report: a report envelope signed by the calling device's key. It is
 * checked (signature, device, payload, release, the ledger record it will become), stored
 * durably with the rollout outcome it carries, and only then acknowledged; the sequencer moves
 * it into the ledger later. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "fwseal/tuf.h"
#include "server/fleet.h"

#define REPORT_MEMBERSHIPS 16

typedef struct outcome_ctx {
    fws_store_member m[REPORT_MEMBERSHIPS];
    size_t n;
} outcome_ctx;

static fws_err add_member(void *ctx, const fws_store_member *m)
{
    outcome_ctx *o = ctx;
    if (o->n < REPORT_MEMBERSHIPS && m->outcome == FWS_STORE_OUTCOME_PENDING)
        o->m[o->n++] = *m;
    return FWS_OK;
}

/* The outcome the report gives the device's pending membership in a rollout of its release. */
static fws_err count_outcome(fws_store *s, const fws_fleet_report *r, int64_t now, fws_errbuf *eb)
{
    outcome_ctx o = {.n = 0};
    fws_err err = fws_store_device_rollouts(s, r->device, REPORT_MEMBERSHIPS, add_member, &o, eb);
    for (size_t i = 0; err == FWS_OK && i < o.n; i++) {
        fws_store_rollout ro;
        fws_store_release rel;
        err = fws_store_rollout_get(s, o.m[i].rollout_id, &ro, NULL, eb);
        if (err == FWS_OK)
            err = fws_store_release_get(s, ro.release_id, &rel, eb);
        if (err != FWS_OK || strcmp(rel.target, r->target) != 0)
            continue;
        int ok = r->kind == FWS_STORE_REPORT_INSTALL && r->success;
        err = fws_store_rollout_outcome(s, ro.id, r->device,
                                        ok ? FWS_STORE_OUTCOME_SUCCEEDED : FWS_STORE_OUTCOME_FAILED,
                                        now, eb);
        if (err == FWS_ERR_STATE) { /* an outcome was recorded before: the first one stands */
            fws_errbuf_clear(eb);
            err = FWS_OK;
        }
    }
    return err;
}

/* Stores the report, its outcome and what the device now runs, in one transaction. */
static fws_err store_report(fws_store *s, const fws_fleet_report *r, const fws_req *req,
                            int64_t *id, int *created, fws_errbuf *eb)
{
    fws_err err = fws_store_begin(s, eb);
    if (err != FWS_OK)
        return err;
    err = fws_store_report_add(s, r->device, r->kind, req->body, req->body_len, req->now, id,
                               created, eb);
    if (err == FWS_OK && *created)
        err = count_outcome(s, r, req->now, eb);
    if (err == FWS_OK && *created && r->kind == FWS_STORE_REPORT_INSTALL && r->success) {
        int64_t t = 0;
        if (fws_tuf_time_parse(r->time, &t) != FWS_OK || t > req->now)
            t = req->now;
        err = fws_store_device_set_installed(s, r->device, r->to_version, r->sha256, t, eb);
    }
    if (err != FWS_OK) {
        fws_store_rollback(s);
        return err;
    }
    return fws_store_commit(s, eb);
}

/* Everything that judges the report before it is stored; answers the refusal itself. */
static fws_err judge(fleet *f, fws_req *req, fws_resp *resp, fws_fleet_report *r, fws_errbuf *eb)
{
    fws_key *key = NULL;
    fws_store_device d;
    fws_store_release rel;
    char *record = NULL;
    size_t rlen = 0;
    fws_err err = fleet_device_key(req, &key, eb);
    if (err != FWS_OK)
        return fleet_fail(resp, 401, "unauthenticated", err, eb);
    err = fws_fleet_report_open(req->body, req->body_len, key, r, eb);
    fws_key_free(key);
    if (err == FWS_ERR_KEY_MISMATCH || err == FWS_ERR_SIGNATURE || err == FWS_ERR_THRESHOLD) {
        fws_resp_error(resp, 403, "wrong_signer",
                       "the report is not signed by device %s's key (%s)", req->device_id,
                       eb->msg[0] ? eb->msg : fws_strerror(err));
        return err;
    }
    if (err == FWS_ERR_TOO_BIG)
        return fleet_fail(resp, 413, "too_large", err, eb);
    if (err != FWS_OK)
        return fleet_fail(resp, 400, "bad_report", err, eb);
    if (strcmp(r->device, req->device_id) != 0) {
        fws_resp_error(resp, 403, "wrong_device",
                       "the report is about device %s, but it comes from device %s", r->device,
                       req->device_id);
        return FWS_ERR_KEY_MISMATCH;
    }
    err = fleet_device_load(f, req, &d, eb);
    if (err != FWS_OK)
        return err;
    if (r->kind != FWS_STORE_REPORT_VERIFY_FAILURE) {
        err = fws_store_release_find(req->store, r->target, &rel, NULL);
        if (err == FWS_ERR_NOT_FOUND) { /* published a moment ago, not imported yet? */
            err = fws_fleet_sync_releases(req->store, f->deploy, &f->cfg, NULL, eb);
            if (err == FWS_OK)
                err = fws_store_release_find(req->store, r->target, &rel, NULL);
        }
        if (err == FWS_ERR_NOT_FOUND) {
            fws_resp_error(resp, 422, "unknown_release",
                           "the report is about release %s, which does not exist", r->target);
            return err;
        }
        if (err != FWS_OK)
            return err;
    }
    err = fws_fleet_report_record(r, &record, &rlen, eb);
    free(record);
    if (err != FWS_OK)
        return fleet_fail(resp, 422, "bad_report", err, eb);
    return FWS_OK;
}

static fws_err post_report(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fleet *f = ctx;
    fws_fleet_report r;
    int64_t id = 0;
    int created = 0;
    fws_err err = judge(f, req, resp, &r, eb);
    if (err == FWS_OK)
        err = store_report(req->store, &r, req, &id, &created, eb);
    if (err != FWS_OK)
        fws_metric_add(f->m.reports_refused, 1);
    if (err == FWS_ERR_EXISTS) {
        fws_resp_error(resp, 409, "conflict",
                       "this report body was already accepted from another device or as another "
                       "kind");
        return err;
    }
    if (err != FWS_OK) {
        if (fws_server_status_for(err) == 500)
            fws_resp_error(resp, 503, "store_unavailable", "the report was not stored: %s",
                           eb->msg[0] ? eb->msg : fws_strerror(err));
        return err;
    }
    fws_metric_add(created ? f->m.reports_new : f->m.reports_dup, 1);
    return fws_resp_json(resp, created ? 201 : 200,
                         json_pack("{s:I,s:s,s:b,s:I}", "id", (json_int_t)id, "report", r.id,
                                   "duplicate", !created, "seq", (json_int_t)r.seq));
}

fws_err fleet_report_routes(fleet *f, fws_errbuf *eb)
{
    const fws_route routes[] = {
        {.method = "POST",
         .path = "/api/v1/device/report",
         .auth = FWS_AUTH_DEVICE,
         .body_max = FWS_FLEET_REPORT_MAX,
         .limit = fws_server_device_limit(f->srv),
         .fn = post_report,
         .ctx = f},
    };
    return fws_server_add_routes(f->srv, routes, 1, eb);
}
