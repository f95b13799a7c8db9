/* The dashboard's fleet overview, the device list and the log's key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/dash.h"

#define ROLLOUTS_MAX 100
#define DEVICE_PAGE 10000
#define LIST_DEFAULT 100

/* ---- the overview ------------------------------------------------------------------------- */

typedef struct count_name {
    char name[FWS_STORE_VERSION_MAX + 1];
    uint64_t n;
} count_name;

typedef struct fleet_scan {
    uint64_t total, status[6], attest[4], seen_day, other_versions;
    count_name versions[DASH_VERSIONS_MAX];
    size_t n_versions;
    int64_t now;
    size_t rows;
    char last[FWS_STORE_ID_MAX + 1];
} fleet_scan;

static fws_err scan_row(void *ctx, const fws_store_device *d)
{
    fleet_scan *s = ctx;
    const char *v = d->installed_version[0] ? d->installed_version : "unknown";
    size_t i = 0;
    s->rows++;
    s->total++;
    memcpy(s->last, d->id, sizeof(s->last));
    if ((unsigned)d->status < 6)
        s->status[d->status]++;
    s->attest[(unsigned)d->attest_result < 4 ? d->attest_result : 0]++;
    if (d->last_seen >= s->now - 86400)
        s->seen_day++;
    while (i < s->n_versions && strcmp(s->versions[i].name, v) != 0)
        i++;
    if (i == s->n_versions && s->n_versions == DASH_VERSIONS_MAX) {
        s->other_versions++;
        return FWS_OK;
    }
    if (i == s->n_versions) {
        snprintf(s->versions[i].name, sizeof(s->versions[i].name), "%s", v);
        s->n_versions++;
    }
    s->versions[i].n++;
    return FWS_OK;
}

static int by_count(const void *a, const void *b)
{
    const count_name *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return strcmp(x->name, y->name);
}

static json_t *scan_json(fleet_scan *s, int truncated)
{
    json_t *versions = json_array();
    qsort(s->versions, s->n_versions, sizeof(s->versions[0]), by_count);
    for (size_t i = 0; versions != NULL && i < s->n_versions; i++)
        json_array_append_new(versions, json_pack("{s:s,s:I}", "version", s->versions[i].name,
                                                  "devices", (json_int_t)s->versions[i].n));
    if (versions != NULL && s->other_versions > 0)
        json_array_append_new(versions, json_pack("{s:s,s:I}", "version", "(other versions)",
                                                  "devices", (json_int_t)s->other_versions));
    json_t *status = json_object(), *attest = json_object();
    for (int i = FWS_STORE_DEV_PROVISIONED; status != NULL && i <= FWS_STORE_DEV_DECOMMISSIONED;
         i++)
        json_object_set_new(status, fws_store_device_status_name((fws_store_device_status)i),
                            json_integer((json_int_t)s->status[i]));
    for (int i = FWS_STORE_ATTEST_NONE; attest != NULL && i <= FWS_STORE_ATTEST_FAIL; i++)
        json_object_set_new(attest, fws_store_attest_name((fws_store_attest)i),
                            json_integer((json_int_t)(s->attest[i] + (i == 1 ? s->attest[0] : 0))));
    return json_pack("{s:I,s:I,s:b,s:o,s:o,s:o}", "total", (json_int_t)s->total, "seenLastDay",
                     (json_int_t)s->seen_day, "truncated", truncated, "status", status,
                     "attestation", attest, "versions", versions);
}

static fws_err fleet_counts(fws_store *st, int64_t now, json_t **out, fws_errbuf *eb)
{
    fleet_scan *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return FWS_ERR_NOMEM;
    s->now = now;
    fws_err err = FWS_OK;
    do {
        fws_store_device_filter f = {.after_id = s->last, .limit = DEVICE_PAGE};
        s->rows = 0;
        err = fws_store_device_list(st, &f, scan_row, s, eb);
    } while (err == FWS_OK && s->rows == DEVICE_PAGE && s->total < DASH_SCAN_MAX);
    if (err == FWS_OK && (*out = scan_json(s, s->rows == DEVICE_PAGE)) == NULL)
        err = FWS_ERR_NOMEM;
    free(s);
    return err;
}

typedef struct rollouts {
    fws_store_rollout r[ROLLOUTS_MAX];
    size_t n;
} rollouts;

static fws_err rollout_row(void *ctx, const fws_store_rollout *r)
{
    rollouts *l = ctx;
    if (l->n < ROLLOUTS_MAX)
        l->r[l->n++] = *r;
    return FWS_OK;
}

static json_t *rollout_json(fws_store *st, const fws_store_rollout *r)
{
    fws_store_release rel;
    json_t *stages = json_array();
    uint64_t assigned = 0, ok = 0, failed = 0;
    for (uint32_t i = 0; stages != NULL && i < r->n_stages && i < FWS_STORE_MAX_STAGES; i++) {
        const fws_store_rollout_stage *s = &r->stages[i];
        assigned += s->assigned;
        ok += s->succeeded;
        failed += s->failed;
        json_array_append_new(stages,
                              json_pack("{s:I,s:I,s:I,s:I}", "percent", (json_int_t)s->percent,
                                        "assigned", (json_int_t)s->assigned, "succeeded",
                                        (json_int_t)s->succeeded, "failed", (json_int_t)s->failed));
    }
    int have = fws_store_release_get(st, r->release_id, &rel, NULL) == FWS_OK;
    return json_pack(
        "{s:I,s:I,s:s,s:s,s:s,s:I,s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:I}", "id", (json_int_t)r->id,
        "releaseId", (json_int_t)r->release_id, "product", have ? rel.product : "", "version",
        have ? rel.version : "", "state", fws_store_rollout_state_name(r->state), "stage",
        (json_int_t)r->current_stage, "stages", (json_int_t)r->n_stages, "stageList", stages,
        "assigned", (json_int_t)assigned, "succeeded", (json_int_t)ok, "failed", (json_int_t)failed,
        "successThreshold", (json_int_t)r->success_threshold, "failureThreshold",
        (json_int_t)r->failure_threshold, "updatedAt", (json_int_t)r->updated_at);
}

/* Pending, running and paused rollouts, newest first. */
static fws_err rollouts_json(fws_store *st, json_t **out, fws_errbuf *eb)
{
    static const fws_store_rollout_state states[] = {
        FWS_STORE_ROLLOUT_RUNNING, FWS_STORE_ROLLOUT_PAUSED, FWS_STORE_ROLLOUT_PENDING};
    rollouts *l = calloc(1, sizeof(*l));
    json_t *arr = json_array();
    fws_err err = l && arr ? FWS_OK : FWS_ERR_NOMEM;
    for (size_t i = 0; err == FWS_OK && i < 3; i++) {
        fws_store_page page = {.after = 0, .limit = ROLLOUTS_MAX, .newest_first = 1};
        l->n = 0;
        err = fws_store_rollout_list(st, states[i], &page, rollout_row, l, eb);
        for (size_t k = 0; err == FWS_OK && k < l->n; k++)
            if (json_array_append_new(arr, rollout_json(st, &l->r[k])) != 0)
                err = FWS_ERR_NOMEM;
    }
    free(l);
    if (err != FWS_OK) {
        json_decref(arr);
        return err;
    }
    *out = arr;
    return FWS_OK;
}

typedef struct open_alerts {
    uint64_t by_kind[ALERT_KIND_COUNT];
    uint64_t total;
    json_t *latest;
} open_alerts;

static fws_err open_row(void *ctx, const fws_store_alert *a)
{
    open_alerts *o = ctx;
    o->by_kind[alert_kind_of(a->kind)]++;
    o->total++;
    if (json_array_size(o->latest) < 5)
        json_array_append_new(o->latest, alert_json(a));
    return FWS_OK;
}

static fws_err alerts_json(fws_store *st, json_t **out, fws_errbuf *eb)
{
    open_alerts o = {.latest = json_array()};
    fws_store_page page = {.after = 0, .limit = FWS_STORE_LIST_MAX, .newest_first = 1};
    fws_err err = o.latest ? fws_store_alert_list(st, 1, &page, open_row, &o, eb) : FWS_ERR_NOMEM;
    json_t *kinds = json_object();
    for (int k = 0; kinds != NULL && k < ALERT_KIND_COUNT; k++)
        json_object_set_new(kinds, alert_kind_name((alert_kind)k),
                            json_integer((json_int_t)o.by_kind[k]));
    if (err != FWS_OK || kinds == NULL) {
        json_decref(o.latest);
        json_decref(kinds);
        return err != FWS_OK ? err : FWS_ERR_NOMEM;
    }
    *out = json_pack("{s:I,s:o,s:o}", "open", (json_int_t)o.total, "byKind", kinds, "latest",
                     o.latest);
    return *out ? FWS_OK : FWS_ERR_NOMEM;
}

/* GET /api/v1/dashboard/overview?hours=N */
static fws_err overview(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    dash *d = ctx;
    int64_t hours = 48;
    json_t *devices = NULL, *rolls = NULL, *alerts = NULL;
    fws_err err = dash_query_int(req, "hours", 1, ALERT_HOURS, &hours, eb);
    if (err == FWS_OK)
        err = fleet_counts(req->store, req->now, &devices, eb);
    if (err == FWS_OK)
        err = rollouts_json(req->store, &rolls, eb);
    if (err == FWS_OK)
        err = alerts_json(req->store, &alerts, eb);
    if (err != FWS_OK) {
        json_decref(devices);
        json_decref(rolls);
        return err;
    }
    alert_stats *st = alert_engine_stats(d->alerts);
    json_t *events = alert_stats_json(st, (unsigned)hours, req->now);
    uint64_t day =
        alert_stats_count(st, NULL, ALERT_EV_INSTALL_FAIL, req->now - 86400, req->now + 300);
    return fws_resp_json(resp, 200,
                         json_pack("{s:I,s:o,s:o,s:o,s:o,s:I}", "time", (json_int_t)req->now,
                                   "devices", devices, "rollouts", rolls, "alerts", alerts,
                                   "events", events, "verificationFailuresLastDay",
                                   (json_int_t)day));
}

/* ---- the device list ---------------------------------------------------------------------- */

static fws_err list_row(void *ctx, const fws_store_device *d)
{
    json_t *j = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "id", d->id, "environment", d->environment,
        "model", d->model, "region", d->region, "group", d->group, "status",
        fws_store_device_status_name(d->status), "version", d->installed_version, "lastSeen",
        (json_int_t)d->last_seen, "lastReport", (json_int_t)d->last_report, "attestation",
        fws_store_attest_name(d->attest_result ? d->attest_result : FWS_STORE_ATTEST_NONE));
    return json_array_append_new(ctx, j) == 0 ? FWS_OK : FWS_ERR_NOMEM;
}

/* GET /api/v1/dashboard/devices?after=ID&limit=N&status=S&model=M */
static fws_err devices(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    char after[FWS_STORE_ID_MAX + 1] = "", status[32] = "", model[FWS_STORE_NAME_MAX + 1] = "";
    int64_t limit = LIST_DEFAULT;
    fws_store_device_status st = 0;
    (void)ctx;
    fws_err err = dash_query_int(req, "limit", 1, 1000, &limit, eb);
    const char *names[3] = {"after", "status", "model"};
    char *bufs[3] = {after, status, model};
    size_t caps[3] = {sizeof(after), sizeof(status), sizeof(model)};
    for (int i = 0; i < 3 && err == FWS_OK; i++) {
        fws_err q = fws_req_query(req, names[i], bufs[i], caps[i]);
        if (q != FWS_OK && q != FWS_ERR_NOT_FOUND)
            err = fws_errf(eb, FWS_ERR_ARG, "query parameter %s is too long or badly escaped",
                           names[i]);
    }
    if (err == FWS_OK && status[0] != '\0')
        err = fws_store_device_status_parse(status, &st, eb);
    json_t *arr = json_array();
    if (err == FWS_OK && arr == NULL)
        err = FWS_ERR_NOMEM;
    fws_store_device_filter f = {
        .model = model, .status = st, .after_id = after, .limit = (size_t)limit};
    uint64_t count = 0;
    if (err == FWS_OK)
        err = fws_store_device_list(req->store, &f, list_row, arr, eb);
    if (err == FWS_OK)
        err = fws_store_device_count(req->store, &f, &count, eb);
    if (err != FWS_OK) {
        json_decref(arr);
        return err;
    }
    return fws_resp_json(resp, 200,
                         json_pack("{s:o,s:I}", "devices", arr, "matching", (json_int_t)count));
}

/* GET /api/v1/dashboard/log: public, like the log's checkpoint itself. */
static fws_err log_info(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    dash *d = ctx;
    json_t *j = NULL;
    (void)req;
    fws_err err = dash_log_json(d->ledger_dir, &j, eb);
    if (err != FWS_OK)
        return err;
    return fws_resp_json(resp, 200, j);
}

fws_err dash_api_routes(dash *d, fws_errbuf *eb)
{
    const fws_route routes[] = {
        {.method = "GET",
         .path = "/api/v1/dashboard/overview",
         .auth = FWS_AUTH_TOKEN,
         .roles = FWS_ROLES_READ,
         .fn = overview,
         .ctx = d},
        {.method = "GET",
         .path = "/api/v1/dashboard/devices",
         .auth = FWS_AUTH_TOKEN,
         .roles = FWS_ROLES_READ,
         .fn = devices,
         .ctx = d},
        {.method = "GET",
         .path = "/api/v1/dashboard/log",
         .limit = d->public_limit,
         .fn = log_info,
         .ctx = d},
    };
    return fws_server_add_routes(d->srv, routes, sizeof(routes) / sizeof(routes[0]), eb);
}
