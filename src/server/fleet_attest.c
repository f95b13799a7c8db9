/* Device attestation routes (docs/ATTESTATION.md, "Server gating"):
 *   GET  /api/v1/device/attestation/nonce  a single-use nonce and the PCRs the policy wants
 *   POST /api/v1/device/attestation        evidence, judged against the ledger's release
 *                                          records and the environment's CA; a failure
 *                                          quarantines the device, writes a quarantine record
 *                                          to the ledger and raises an alert. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fwseal/core.h"
#include "fwseal/json.h"
#include "fwseal/tuf.h"
#include "fwseal/util.h"
#include "server/fleet.h"
#include "server/internal.h"

/* ---- nonces (single use, in this process) ---------------------------------------------------- */

static fws_err nonce_issue(fleet_attest *a, const char *device, int64_t now,
                           uint8_t out[FWS_ATTEST_NONCE_LEN])
{
    uint8_t n[FWS_ATTEST_NONCE_LEN];
    fws_err err = fws_attest_nonce(n);
    if (err != FWS_OK)
        return err;
    pthread_mutex_lock(&a->mu);
    fleet_nonce *slot = NULL;
    for (size_t i = 0; i < FLEET_ATTEST_NONCES && slot == NULL; i++) {
        fleet_nonce *e = &a->nonces[i];
        if (e->device[0] == '\0' || e->expires < now || strcmp(e->device, device) == 0)
            slot = e;
    }
    if (slot == NULL) { /* all in use: the one closest to expiry goes */
        slot = &a->nonces[0];
        for (size_t i = 1; i < FLEET_ATTEST_NONCES; i++) {
            if (a->nonces[i].expires < slot->expires)
                slot = &a->nonces[i];
        }
    }
    snprintf(slot->device, sizeof(slot->device), "%s", device);
    memcpy(slot->nonce, n, sizeof(n));
    slot->expires = now + FLEET_ATTEST_NONCE_TTL;
    pthread_mutex_unlock(&a->mu);
    memcpy(out, n, sizeof(n));
    return FWS_OK;
}

/* Takes the device's outstanding nonce (it is gone afterwards). 0 when there is none. */
static int nonce_take(fleet_attest *a, const char *device, int64_t now,
                      uint8_t out[FWS_ATTEST_NONCE_LEN])
{
    int found = 0;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < FLEET_ATTEST_NONCES; i++) {
        fleet_nonce *e = &a->nonces[i];
        if (e->device[0] == '\0' || strcmp(e->device, device) != 0)
            continue;
        found = e->expires >= now;
        if (found)
            memcpy(out, e->nonce, FWS_ATTEST_NONCE_LEN);
        fws_wipe(e, sizeof(*e));
        break;
    }
    pthread_mutex_unlock(&a->mu);
    return found;
}

static fws_err not_configured(fws_resp *resp)
{
    return fws_resp_error(resp, 404, "attestation_off",
                          "attestation is not configured: the deployment has no attestation.json");
}

static fws_err get_nonce(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fleet *f = ctx;
    fleet_attest *a = f->attest;
    (void)eb;
    if (!a->configured)
        return not_configured(resp);
    uint8_t n[FWS_ATTEST_NONCE_LEN];
    char hex[2 * FWS_ATTEST_NONCE_LEN + 1];
    fws_err err = nonce_issue(a, req->device_id, req->now, n);
    if (err != FWS_OK)
        return err;
    fws_hex_encode(n, sizeof(n), hex);
    json_t *pcrs = json_array();
    uint32_t mask = fws_attest_policy_pcrs(&a->policy);
    for (unsigned i = 0; pcrs != NULL && i < FWS_ATTEST_PCRS; i++) {
        if ((mask & (1u << i)) && json_array_append_new(pcrs, json_integer(i)) != 0)
            return FWS_ERR_NOMEM;
    }
    if (pcrs == NULL)
        return FWS_ERR_NOMEM;
    return fws_resp_json(resp, 200,
                         json_pack("{s:s,s:o,s:I}", "nonce", hex, "pcrs", pcrs, "expiresIn",
                                   (json_int_t)FLEET_ATTEST_NONCE_TTL));
}

/* ---- judging evidence ------------------------------------------------------------------------ */

static fws_err anchors_load(fleet *f, fws_attest_anchors **out, fws_errbuf *eb)
{
    char path[FLEET_PATH_MAX];
    const char *env = fws_pki_env_name(fws_server_env(f->srv));
    fws_attest_anchors *a = NULL;
    fws_err err = fws_attest_anchors_new(&a);
    snprintf(path, sizeof(path), "%s/pki/%s/root.crt", f->deploy, env);
    if (err == FWS_OK)
        err = fws_attest_anchors_add_file(a, path, 1, eb);
    snprintf(path, sizeof(path), "%s/pki/%s/intermediate.crt", f->deploy, env);
    if (err == FWS_OK && access(path, F_OK) == 0)
        err = fws_attest_anchors_add_file(a, path, 0, eb);
    /* the issuing CA's CRL and the root's (once one is given, each link needs one) */
    static const char *const crls[] = {"crl.pem", "root-crl.pem"};
    for (size_t i = 0; err == FWS_OK && i < 2; i++) {
        uint8_t *crl = NULL;
        size_t len = 0;
        snprintf(path, sizeof(path), "%s/pki/%s/%s", f->deploy, env, crls[i]);
        if (access(path, F_OK) != 0)
            continue;
        err = fws_file_read(path, 16u << 20, &crl, &len, eb);
        if (err == FWS_OK)
            err = fws_attest_anchors_add_crl(a, crl, len, eb);
        free(crl);
    }
    if (err != FWS_OK) {
        fws_attest_anchors_free(a);
        return err;
    }
    *out = a;
    return FWS_OK;
}

static fws_err refs_load(fleet *f, const char *model, fws_attest_refs **out, fws_errbuf *eb)
{
    fws_attest_refs *r = NULL;
    fws_err err = fws_attest_refs_new(&r);
    if (err == FWS_OK)
        err = fws_attest_refs_add_policy(r, &f->attest->policy);
    if (err == FWS_OK)
        err = fws_attest_refs_add_ledger(r, &f->attest->policy, f->srv->ledger.dir, NULL, model,
                                         NULL, eb);
    if (err != FWS_OK) {
        fws_attest_refs_free(r);
        return err;
    }
    *out = r;
    return FWS_OK;
}

typedef struct outcome {
    int quarantined;
    int64_t report_id;
    int64_t ledger_index; /* -1: not written */
    char ledger_error[FWS_ERRBUF_SIZE];
} outcome;

static fws_err store_result(fws_store *s, const fws_attest_result *res, const char *device,
                            int64_t now, outcome *o, fws_errbuf *eb)
{
    json_t *rep = NULL;
    char *text = NULL;
    size_t len = 0;
    fws_err err = fws_attest_report_json(res, &rep);
    if (err == FWS_OK)
        err = fws_json_canonical(rep, &text, &len);
    json_decref(rep);
    if (err == FWS_OK)
        err = fws_store_report_add(s, device, FWS_STORE_REPORT_ATTESTATION, (const uint8_t *)text,
                                   len, now, &o->report_id, NULL, eb);
    free(text);
    if (err == FWS_OK)
        err = fws_store_device_set_attestation(
            s, device, res->time, res->pass ? FWS_STORE_ATTEST_PASS : FWS_STORE_ATTEST_FAIL, eb);
    return err;
}

static fws_err raise_alert(fws_store *s, const fws_attest_result *res, const char *device,
                           const char *model, int64_t now, fws_errbuf *eb)
{
    fws_store_alert al;
    memset(&al, 0, sizeof(al));
    snprintf(al.kind, sizeof(al.kind), "attestation-failed");
    snprintf(al.subject, sizeof(al.subject), "device %s", device);
    snprintf(al.message, sizeof(al.message),
             "device %s (%s) failed attestation and is quarantined: %s", device, model,
             res->n_reasons > 0 ? res->reasons[0].text : "no reason given");
    al.time = now;
    int64_t id = 0;
    return fws_store_alert_add(s, &al, &id, eb);
}

typedef fws_err (*record_fn)(const fws_attest_result *res, const char *time_rfc3339, char **record,
                             size_t *len, fws_errbuf *eb);

/* Appends the result's ledger record (make) and marks the stored report sequenced at it. A
 * ledger that cannot be written is logged and said in the answer; the result stands. */
static void record_result(fleet *f, fws_req *req, const fws_store_device *d,
                          const fws_attest_result *res, outcome *o, record_fn make,
                          const char *what)
{
    char when[FWS_TUF_TIME_LEN], *rec = NULL;
    size_t len = 0;
    uint64_t index = 0;
    fws_errbuf lb = {{0}};
    fws_err le = fws_tuf_time_format(req->now, when);
    if (le == FWS_OK)
        le = make(res, when, &rec, &len, &lb);
    if (le == FWS_OK)
        le = fleet_ledger_append(f, rec, len, &index, &lb);
    free(rec);
    if (le == FWS_OK) {
        o->ledger_index = (int64_t)index;
        le = fws_store_report_sequenced(req->store, o->report_id, o->ledger_index, &lb);
    }
    if (le != FWS_OK) {
        snprintf(o->ledger_error, sizeof(o->ledger_error), "%s",
                 lb.msg[0] ? lb.msg : fws_strerror(le));
        fws_server_log(f->srv, "warn", what, "device", d->id, "error", o->ledger_error, NULL);
    }
}

/* Quarantine (the fleet's path), the ledger record (the server's ledger) and an alert. */
static fws_err on_failure(fleet *f, fws_req *req, const fws_store_device *d,
                          const fws_attest_result *res, outcome *o, fws_errbuf *eb)
{
    char reason[FLEET_ATTEST_REASON_MAX];
    char *fleet_rec = NULL;
    size_t len = 0;
    snprintf(reason, sizeof(reason), "attestation failed: %s",
             res->n_reasons > 0 ? res->reasons[0].text : "no reason given");
    fws_err err = FWS_OK;
    if (d->status != FWS_STORE_DEV_QUARANTINED) {
        err = fws_fleet_device_quarantine(req->store, d->id, 1, reason, req->now, &fleet_rec, &len,
                                          eb);
        free(fleet_rec);
    }
    if (err == FWS_OK)
        err = raise_alert(req->store, res, d->id, d->model, req->now, eb);
    if (err != FWS_OK)
        return err;
    o->quarantined = 1;
    record_result(f, req, d, res, o, fws_attest_quarantine_record, "attestation quarantine");
    return FWS_OK;
}

static fws_err judge(fleet *f, fws_req *req, const fws_store_device *d,
                     const uint8_t nonce[FWS_ATTEST_NONCE_LEN], fws_attest_result *res,
                     fws_errbuf *eb)
{
    fws_attest_anchors *anchors = NULL;
    fws_attest_refs *refs = NULL;
    fws_attest_result last;
    int have_last = 0;
    fws_err err = fleet_attest_last(req->store, d->id, &last, &have_last, eb);
    if (err == FWS_OK)
        err = anchors_load(f, &anchors, eb);
    if (err == FWS_OK)
        err = refs_load(f, d->model, &refs, eb);
    if (err == FWS_OK) {
        fws_attest_verify_req vr = {
            .nonce = nonce,
            .nonce_len = FWS_ATTEST_NONCE_LEN,
            .policy = &f->attest->policy,
            .refs = refs,
            .anchors = anchors,
            .device = d->id,
            .last = have_last && last.pass ? &last.clock : NULL,
            /* an install reported since the last attestation means the device rebooted */
            .reboot_expected = have_last && d->last_report > last.time,
            .now = req->now,
        };
        fws_errbuf jb = {{0}};
        /* res is always written: it is the verdict, a failure is not an error of the request */
        fws_err verdict = fws_attest_judge(req->body, req->body_len, &vr, res, &jb);
        if (verdict == FWS_ERR_ARG)
            err = fws_errf(eb, verdict, "attestation: %s", jb.msg);
    }
    fws_attest_refs_free(refs);
    fws_attest_anchors_free(anchors);
    return err;
}

static json_t *answer(const fws_attest_result *res, const outcome *o)
{
    json_t *reasons = json_array();
    for (size_t i = 0; reasons != NULL && i < res->n_reasons; i++)
        json_array_append_new(reasons, json_string(res->reasons[i].text));
    json_t *j = json_pack("{s:s,s:s,s:o,s:I,s:b}", "result", res->pass ? "pass" : "fail",
                          "assurance", fws_attest_assurance_name(res->assurance), "reasons",
                          reasons ? reasons : json_array(), "report", (json_int_t)o->report_id,
                          "quarantined", o->quarantined);
    if (j != NULL && o->ledger_index >= 0)
        json_object_set_new(j, "ledgerIndex", json_integer(o->ledger_index));
    if (j != NULL && o->ledger_error[0])
        json_object_set_new(j, "ledgerError", json_string(o->ledger_error));
    return j;
}

static fws_err post_evidence(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fleet *f = ctx;
    uint8_t nonce[FWS_ATTEST_NONCE_LEN];
    fws_store_device d;
    if (!f->attest->configured)
        return not_configured(resp);
    if (!nonce_take(f->attest, req->device_id, req->now, nonce))
        return fws_resp_error(resp, 409, "no_nonce",
                              "no attestation nonce outstanding for device %s (GET "
                              "/api/v1/device/attestation/nonce first; a nonce is good once, "
                              "for %d seconds)",
                              req->device_id, FLEET_ATTEST_NONCE_TTL);
    fws_err err = fleet_device_load(f, req, &d, eb);
    fws_attest_result res;
    outcome o = {.quarantined = 0, .report_id = 0, .ledger_index = -1, .ledger_error = ""};
    if (err == FWS_OK)
        err = judge(f, req, &d, nonce, &res, eb);
    fws_wipe(nonce, sizeof(nonce));
    if (err == FWS_OK)
        err = store_result(req->store, &res, d.id, req->now, &o, eb);
    if (err == FWS_OK && !res.pass)
        err = on_failure(f, req, &d, &res, &o, eb);
    if (err == FWS_OK && res.pass)
        record_result(f, req, &d, &res, &o, fws_attest_ledger_record, "attestation record");
    if (err != FWS_OK)
        return err;
    return fws_resp_json(resp, 200, answer(&res, &o));
}

fws_err fleet_attest_routes(fleet *f, fws_errbuf *eb)
{
    const fws_route routes[] = {
        {.method = "GET",
         .path = "/api/v1/device/attestation/nonce",
         .auth = FWS_AUTH_DEVICE,
         .limit = fws_server_device_limit(f->srv),
         .fn = get_nonce,
         .ctx = f},
        {.method = "POST",
         .path = "/api/v1/device/attestation",
         .auth = FWS_AUTH_DEVICE,
         .limit = fws_server_device_limit(f->srv),
         .body_max = FWS_ATTEST_EVIDENCE_MAX,
         .fn = post_evidence,
         .ctx = f},
    };
    return fws_server_add_routes(f->srv, routes, 2, eb);
}
