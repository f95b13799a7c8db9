/* Attestation gating of updates: DEPLOY/attestation.json (requireForUpdates and a verifier
 * policy) and the decision taken before a device is offered a normal update
 * (docs/ATTESTATION.md, "Server gating"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "server/fleet.h"

#define ATTEST_FILE "attestation.json"
#define REPORTS_LOOKED_AT 64 /* recent reports searched for the latest attestation */

/* ---- the policy file ------------------------------------------------------------------------ */

/* Splits off requireForUpdates; the rest is a verifier policy ("format" may be left out). */
static fws_err policy_from_doc(json_t *doc, fleet_attest *a, fws_errbuf *eb)
{
    json_t *req = json_object_get(doc, "requireForUpdates");
    if (req != NULL && !json_is_boolean(req))
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"requireForUpdates\" must be true or false");
    int require = req != NULL && json_is_true(req);
    json_object_del(doc, "requireForUpdates");
    if (json_object_get(doc, "format") == NULL &&
        json_object_set_new(doc, "format", json_string("fwseal-attest-policy/v1")) != 0)
        return FWS_ERR_NOMEM;
    char *text = NULL;
    size_t len = 0;
    fws_err err = fws_json_canonical(doc, &text, &len);
    if (err == FWS_OK)
        err = fws_attest_policy_parse((const uint8_t *)text, len, &a->policy, eb);
    free(text);
    if (err == FWS_OK)
        a->require = require;
    return err;
}

static fws_err policy_load(const char *deploy, fleet_attest *a, fws_errbuf *eb)
{
    char path[FLEET_PATH_MAX];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", deploy, ATTEST_FILE);
    if (stat(path, &st) != 0 && errno == ENOENT)
        return FWS_OK; /* not configured */
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *doc = NULL;
    fws_err err = fws_file_read(path, FWS_ATTEST_POLICY_MAX, &data, &len, eb);
    if (err == FWS_OK)
        err = fws_json_parse(data, len, 0, NULL, &doc, eb);
    if (err == FWS_OK && !json_is_object(doc))
        err = fws_errf(eb, FWS_ERR_SCHEMA, "not a JSON object");
    if (err == FWS_OK)
        err = policy_from_doc(doc, a, eb);
    json_decref(doc);
    free(data);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s", path);
    a->configured = 1;
    return FWS_OK;
}

fws_err fleet_attest_setup(fleet *f, fws_errbuf *eb)
{
    fleet_attest *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return FWS_ERR_NOMEM;
    pthread_mutex_init(&a->mu, NULL);
    f->attest = a;
    return policy_load(f->deploy, a, eb);
}

void fleet_attest_free(fleet *f)
{
    if (f->attest == NULL)
        return;
    pthread_mutex_destroy(&f->attest->mu);
    fws_wipe(f->attest->nonces, sizeof(f->attest->nonces));
    free(f->attest);
    f->attest = NULL;
}

/* ---- the latest result ---------------------------------------------------------------------- */

typedef struct latest {
    json_t *report;
} latest;

static fws_err take_latest(void *ctx, const fws_store_report *r, const uint8_t *body, size_t len)
{
    latest *l = ctx;
    if (l->report != NULL || r->kind != FWS_STORE_REPORT_ATTESTATION)
        return FWS_OK;
    if (fws_json_parse(body, len, 0, NULL, &l->report, NULL) != FWS_OK)
        l->report = NULL; /* the server wrote it: unreadable means skip it */
    return FWS_OK;
}

fws_err fleet_attest_last(fws_store *s, const char *device_id, fws_attest_result *out, int *found,
                          fws_errbuf *eb)
{
    latest l = {.report = NULL};
    fws_store_page page = {.after = 0, .limit = REPORTS_LOOKED_AT, .newest_first = 1};
    fws_err err = fws_store_report_list(s, device_id, &page, take_latest, &l, eb);
    *found = 0;
    if (err == FWS_OK && l.report != NULL) {
        err = fws_attest_report_parse(l.report, out, eb);
        *found = err == FWS_OK;
    }
    json_decref(l.report);
    return err;
}

/* ---- the gate ------------------------------------------------------------------------------- */

static void why(const fws_attest_policy *p, const fws_attest_result *last, int found, int64_t now,
                const fws_attest_decision *d, char reason[FLEET_ATTEST_REASON_MAX])
{
    if (!found)
        snprintf(reason, FLEET_ATTEST_REASON_MAX, "attestation required");
    else if (!last->pass || d->action == FWS_ATTEST_QUARANTINE)
        snprintf(reason, FLEET_ATTEST_REASON_MAX, "attestation failed: quarantined");
    else if (last->time > now || now - last->time > p->max_age)
        snprintf(reason, FLEET_ATTEST_REASON_MAX, "attestation stale");
    else if (last->assurance < p->min_assurance)
        snprintf(reason, FLEET_ATTEST_REASON_MAX,
                 "attestation insufficient: assurance %s, %s required",
                 fws_attest_assurance_name(last->assurance),
                 fws_attest_assurance_name(p->min_assurance));
    else
        snprintf(reason, FLEET_ATTEST_REASON_MAX, "attestation denied: %s",
                 d->n_reasons > 0 ? d->reasons[0] : "by policy");
}

fws_err fleet_attest_gate(fleet *f, fws_store *s, const fws_store_device *d, int64_t now,
                          int *blocked, char reason[FLEET_ATTEST_REASON_MAX], fws_errbuf *eb)
{
    const fleet_attest *a = f->attest;
    *blocked = 0;
    reason[0] = '\0';
    if (a == NULL || !a->configured || !a->require || !fleet_device_eligible(d))
        return FWS_OK;
    fws_attest_result last;
    int found = 0;
    memset(&last, 0, sizeof(last));
    fws_err err = fleet_attest_last(s, d->id, &last, &found, eb);
    if (err != FWS_OK)
        return err;
    fws_attest_decision dec;
    fws_attest_decide(&a->policy, found ? &last : NULL, -1, now, &dec);
    if (dec.action == FWS_ATTEST_ALLOW)
        return FWS_OK;
    why(&a->policy, &last, found, now, &dec, reason);
    *blocked = 1;
    return FWS_OK;
}
