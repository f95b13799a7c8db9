/* GET /api/v1/device/assignment?nonce=HEX: what the calling device should run, decided by its
 * status (quarantine offers only a recovery release), its rollout memberships and the running
 * rollouts, signed with the assignment key and bound to the device's nonce and a fresh
 * per-device sequence number (docs/AGENT.md, "Assignments"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/core.h"
#include "fwseal/dsse.h"
#include "fwseal/json.h"
#include "fwseal/tuf.h"
#include "server/fleet.h"

#define MEMBERSHIPS_SEEN 16
#define ROLLOUTS_SEEN 256

typedef struct decision {
    char target[FWS_STORE_TARGET_MAX + 1];
    uint64_t seq; /* 0 until a sequence number was taken */
} decision;

static int runs(const fws_store_device *d, const fws_store_release *r)
{
    return fws_ct_eq(d->installed_sha256, r->sha256, sizeof(r->sha256));
}

int fleet_device_eligible(const fws_store_device *d)
{
    return d->status == FWS_STORE_DEV_PROVISIONED || d->status == FWS_STORE_DEV_ACTIVE;
}

/* ---- quarantined devices: a recovery release or nothing ------------------------------------- */

typedef struct recovery_pick {
    fleet *f;
    const fws_store_device *d;
    json_t *index;
    fws_store_release best;
    int found;
} recovery_pick;

static fws_err consider_recovery(void *ctx, const fws_store_release *r)
{
    recovery_pick *p = ctx;
    int named = r->recovery || fleet_config_is_recovery(&p->f->cfg, r->product, r->version);
    if (!named || r->revoked || !fleet_release_fits(p->index, r->target, p->d->model))
        return FWS_OK;
    if (!p->found || r->id > p->best.id) {
        p->best = *r;
        p->found = 1;
    }
    return FWS_OK;
}

static fws_err decide_quarantined(fleet *f, fws_store *s, const fws_store_device *d, decision *out,
                                  fws_errbuf *eb)
{
    recovery_pick p = {.f = f, .d = d, .index = fleet_index(f)};
    fws_store_page page = {.after = 0, .limit = FWS_STORE_LIST_MAX, .newest_first = 1};
    /* a recovery release published a moment ago is offered at once */
    fws_err err = fws_fleet_sync_releases(s, f->deploy, &f->cfg, NULL, eb);
    if (err == FWS_OK)
        err = fws_store_release_list(s, NULL, &page, consider_recovery, &p, eb);
    json_decref(p.index);
    if (err == FWS_OK && p.found && !runs(d, &p.best))
        snprintf(out->target, sizeof(out->target), "%s", p.best.target);
    return err;
}

/* ---- memberships ------------------------------------------------------------------------------
 */

typedef struct members {
    fws_store_member m[MEMBERSHIPS_SEEN];
    size_t n;
} members;

static fws_err add_member(void *ctx, const fws_store_member *m)
{
    members *ms = ctx;
    if (ms->n < MEMBERSHIPS_SEEN)
        ms->m[ms->n++] = *m;
    return FWS_OK;
}

static int is_member(const members *ms, int64_t rollout_id)
{
    for (size_t i = 0; i < ms->n; i++) {
        if (ms->m[i].rollout_id == rollout_id)
            return 1;
    }
    return 0;
}

/* The latest membership still waiting for an outcome: 1 when it decided (out filled, or "stay"
 * because its rollout is paused), 0 to look at other rollouts. */
static int decide_member(fws_store *s, const fws_store_device *d, const members *ms, int64_t now,
                         decision *out, fws_err *err, fws_errbuf *eb)
{
    const fws_store_member *m = NULL;
    for (size_t i = 0; i < ms->n && m == NULL; i++) {
        if (ms->m[i].outcome == FWS_STORE_OUTCOME_PENDING)
            m = &ms->m[i];
    }
    if (m == NULL)
        return 0;
    fws_store_rollout r;
    fws_store_release rel;
    *err = fws_store_rollout_get(s, m->rollout_id, &r, NULL, eb);
    if (*err == FWS_OK)
        *err = fws_store_release_get(s, r.release_id, &rel, eb);
    if (*err != FWS_OK)
        return 1;
    if (r.state == FWS_STORE_ROLLOUT_PAUSED)
        return 1; /* contained: stay until it is resumed or cancelled */
    if (r.state != FWS_STORE_ROLLOUT_RUNNING || rel.revoked)
        return 0;
    if (runs(d, &rel)) {
        *err = fws_store_rollout_outcome(s, r.id, d->id, FWS_STORE_OUTCOME_SUCCEEDED, now, eb);
        return 1;
    }
    snprintf(out->target, sizeof(out->target), "%s", rel.target);
    return 1;
}

/* ---- joining a running rollout -------------------------------------------------------------- */

typedef struct running {
    int64_t ids[ROLLOUTS_SEEN];
    size_t n;
} running;

static fws_err add_running(void *ctx, const fws_store_rollout *r)
{
    running *rs = ctx;
    if (rs->n < ROLLOUTS_SEEN)
        rs->ids[rs->n++] = r->id;
    return FWS_OK;
}

/* 1 when the device belongs to rollout id now (stage reached, selector, hardware). */
static fws_err fits(fleet *f, fws_store *s, const fws_store_device *d, int64_t id,
                    fws_store_rollout *r, fws_store_release *rel, int *stage, fws_errbuf *eb)
{
    char *sel = NULL;
    fws_fleet_selector fs;
    *stage = -1;
    fws_err err = fws_store_rollout_get(s, id, r, &sel, eb);
    if (err == FWS_OK)
        err = fws_store_release_get(s, r->release_id, rel, eb);
    if (err == FWS_OK && (r->state != FWS_STORE_ROLLOUT_RUNNING || rel->revoked)) {
        free(sel);
        return FWS_OK;
    }
    if (err == FWS_OK)
        err = fws_fleet_selector_parse(sel, &fs, eb);
    free(sel);
    if (err != FWS_OK)
        return err;
    json_t *index = fleet_index(f);
    int st = fws_rollout_stage_of(r, d->id);
    if (fws_fleet_selector_match(&fs, d) && fleet_release_fits(index, rel->target, d->model) &&
        st >= 0 && (uint32_t)st <= r->current_stage)
        *stage = st;
    json_decref(index);
    fws_fleet_selector_free(&fs);
    return FWS_OK;
}

static fws_err join(fleet *f, fws_store *s, const fws_store_device *d, const members *ms,
                    int64_t now, decision *out, fws_errbuf *eb)
{
    running rs = {.n = 0};
    fws_store_page page = {.after = 0, .limit = ROLLOUTS_SEEN, .newest_first = 1};
    fws_err err = fws_store_rollout_list(s, FWS_STORE_ROLLOUT_RUNNING, &page, add_running, &rs, eb);
    for (size_t i = 0; err == FWS_OK && i < rs.n; i++) {
        fws_store_rollout r;
        fws_store_release rel;
        fws_store_member m;
        int stage = -1;
        if (is_member(ms, rs.ids[i]))
            continue;
        err = fits(f, s, d, rs.ids[i], &r, &rel, &stage, eb);
        if (err != FWS_OK || stage < 0)
            continue;
        err = fws_store_rollout_assign(s, r.id, d->id, (uint32_t)stage, now, &m, eb);
        if (err == FWS_ERR_EXISTS || err == FWS_ERR_STATE) {
            fws_errbuf_clear(eb);
            err = FWS_OK;
            continue;
        }
        if (err != FWS_OK)
            break;
        out->seq = m.assign_seq;
        if (runs(d, &rel))
            return fws_store_rollout_outcome(s, r.id, d->id, FWS_STORE_OUTCOME_SUCCEEDED, now, eb);
        snprintf(out->target, sizeof(out->target), "%s", rel.target);
        return FWS_OK;
    }
    return err;
}

fws_err fleet_decide(fleet *f, fws_store *s, const fws_store_device *d, int64_t now,
                     char target[FWS_STORE_TARGET_MAX + 1], uint64_t *seq, fws_errbuf *eb)
{
    decision out;
    memset(&out, 0, sizeof(out));
    fws_err err = FWS_OK;
    if (d->status == FWS_STORE_DEV_QUARANTINED) {
        err = decide_quarantined(f, s, d, &out, eb);
    } else if (fleet_device_eligible(d)) {
        members ms = {.n = 0};
        err = fws_store_device_rollouts(s, d->id, MEMBERSHIPS_SEEN, add_member, &ms, eb);
        if (err == FWS_OK && !decide_member(s, d, &ms, now, &out, &err, eb))
            err = join(f, s, d, &ms, now, &out, eb);
    }
    if (err == FWS_OK && out.seq == 0)
        err = fws_store_device_next_seq(s, d->id, &out.seq, eb);
    if (err != FWS_OK)
        return err;
    memcpy(target, out.target, sizeof(out.target));
    *seq = out.seq;
    return FWS_OK;
}

/* ---- the route ------------------------------------------------------------------------------ */

static int nonce_ok(const char *n)
{
    size_t len = strlen(n);
    if (len < FWS_FLEET_NONCE_MIN || len > FWS_FLEET_NONCE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
            return 0;
    }
    return 1;
}

static fws_err envelope(fleet *f, const fws_store_device *d, const char *nonce, uint64_t seq,
                        const char *target, const char *reason, int64_t now, char **out,
                        size_t *len, fws_errbuf *eb)
{
    char when[FWS_TUF_TIME_LEN], *payload = NULL;
    size_t plen = 0;
    fws_err err = fws_tuf_time_format(now, when);
    json_t *o = err == FWS_OK ? json_pack("{s:s,s:s,s:s,s:I,s:o}", "device", d->id, "issuedAt",
                                          when, "nonce", nonce, "sequence", (json_int_t)seq,
                                          "target", target[0] ? json_string(target) : json_null())
                              : NULL;
    if (err == FWS_OK && o == NULL)
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK && !target[0] && reason[0] &&
        json_object_set_new(o, "reason", json_string(reason)) != 0)
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = fws_json_canonical(o, &payload, &plen);
    json_decref(o);
    const fws_signer *signers[1] = {&f->signer};
    if (err == FWS_OK)
        err = fws_dsse_sign(FWS_FLEET_ASSIGNMENT_TYPE, (const uint8_t *)payload, plen, signers, 1,
                            out, len, eb);
    free(payload);
    return err;
}

static fws_err get_assignment(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fleet *f = ctx;
    char nonce[FWS_FLEET_NONCE_MAX + 2], target[FWS_STORE_TARGET_MAX + 1];
    fws_store_device d;
    uint64_t seq = 0;
    if (!f->have_signer)
        return fws_resp_error(resp, 503, "assignments_off",
                              "assignments are off: this server was started without the "
                              "deployment's passphrase, which unlocks the assignment key");
    fws_err err = fws_req_query(req, "nonce", nonce, sizeof(nonce));
    if (err == FWS_ERR_NOT_FOUND)
        return fws_resp_error(resp, 400, "bad_request",
                              "query parameter nonce is required (%d to %d lowercase hex digits)",
                              FWS_FLEET_NONCE_MIN, FWS_FLEET_NONCE_MAX);
    if (err != FWS_OK || !nonce_ok(nonce))
        return fws_resp_error(resp, 400, "bad_request",
                              "query parameter nonce must be %d to %d lowercase hex digits",
                              FWS_FLEET_NONCE_MIN, FWS_FLEET_NONCE_MAX);
    char reason[FLEET_ATTEST_REASON_MAX] = "";
    int blocked = 0;
    err = fleet_device_load(f, req, &d, eb);
    if (err == FWS_OK)
        err = fleet_attest_gate(f, req->store, &d, req->now, &blocked, reason, eb);
    if (err == FWS_OK && blocked) {
        target[0] = '\0'; /* no normal update until the device attests (reason says why) */
        err = fws_store_device_next_seq(req->store, d.id, &seq, eb);
    } else if (err == FWS_OK) {
        err = fleet_decide(f, req->store, &d, req->now, target, &seq, eb);
        if (err == FWS_OK && d.status == FWS_STORE_DEV_QUARANTINED &&
            d.attest_result == FWS_STORE_ATTEST_FAIL)
            snprintf(reason, sizeof(reason), "attestation failed: quarantined");
    }
    char *env = NULL;
    size_t len = 0;
    if (err == FWS_OK)
        err = envelope(f, &d, nonce, seq, target, reason, req->now, &env, &len, eb);
    if (err == FWS_OK)
        err = fws_resp_body(resp, 200, "application/json", env, len);
    free(env);
    if (err == FWS_OK)
        fws_metric_add(target[0] ? f->m.assign_targets : f->m.assignments, 1);
    return err;
}

fws_err fleet_assign_routes(fleet *f, fws_errbuf *eb)
{
    const fws_route routes[] = {
        {.method = "GET",
         .path = "/api/v1/device/assignment",
         .auth = FWS_AUTH_DEVICE,
         .limit = fws_server_device_limit(f->srv),
         .fn = get_assignment,
         .ctx = f},
    };
    return fws_server_add_routes(f->srv, routes, 1, eb);
}
