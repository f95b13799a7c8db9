/* Rollouts: creation and operator actions (the API and the command line share them), their JSON
 * form, and the controller that applies the state machine's decisions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "server/fleet.h"

/* ---- devices per stage ------------------------------------------------------------------------
 */

typedef struct count_ctx {
    const fws_store_rollout *r;
    const fws_fleet_selector *sel;
    const json_t *index; /* NULL: no hardware check */
    const char *target;
    uint64_t *counts;
    char last[FWS_STORE_ID_MAX + 1];
    size_t seen;
} count_ctx;

static fws_err count_device(void *ctx, const fws_store_device *d)
{
    count_ctx *c = ctx;
    snprintf(c->last, sizeof(c->last), "%s", d->id);
    c->seen++;
    if (!fleet_device_eligible(d) || !fws_fleet_selector_match(c->sel, d))
        return FWS_OK;
    if (c->index != NULL && !fleet_release_fits(c->index, c->target, d->model))
        return FWS_OK;
    int st = fws_rollout_stage_of(c->r, d->id);
    if (st >= 0)
        c->counts[st]++;
    return FWS_OK;
}

static fws_err count_targets(fws_store *s, const fws_store_rollout *r, const char *selector,
                             const json_t *index, uint64_t target[FWS_STORE_MAX_STAGES],
                             fws_errbuf *eb)
{
    fws_fleet_selector sel;
    fws_store_release rel;
    fws_err err = fws_fleet_selector_parse(selector, &sel, eb);
    if (err != FWS_OK)
        return err;
    err = fws_store_release_get(s, r->release_id, &rel, eb);
    count_ctx c = {.r = r, .sel = &sel, .index = index, .target = rel.target, .counts = target};
    memset(target, 0, sizeof(uint64_t) * FWS_STORE_MAX_STAGES);
    fws_store_device_filter f = {.model = sel.n_models == 1 ? sel.models[0] : NULL,
                                 .limit = FWS_STORE_LIST_MAX};
    while (err == FWS_OK) {
        c.seen = 0;
        f.after_id = c.last;
        err = fws_store_device_list(s, &f, count_device, &c, eb);
        if (c.seen < FWS_STORE_LIST_MAX)
            break;
    }
    fws_fleet_selector_free(&sel);
    return err;
}

/* ---- failures since the last change ------------------------------------------------------- */

typedef struct fresh_ctx {
    int64_t since;
    uint64_t n;
    char last[FWS_STORE_ID_MAX + 1];
    size_t seen;
} fresh_ctx;

static fws_err count_fresh(void *ctx, const fws_store_member *m)
{
    fresh_ctx *c = ctx;
    snprintf(c->last, sizeof(c->last), "%s", m->device_id);
    c->seen++;
    /* Times are whole seconds: a failure in the same second as the rollout's last change
     * (often its start) counts. Only failures strictly before an operator's resume are
     * forgiven; one in the resume's own second counts again, which errs toward pausing. */
    if (m->outcome == FWS_STORE_OUTCOME_FAILED && m->updated_at >= c->since)
        c->n++;
    return FWS_OK;
}

static fws_err fresh_failures(fws_store *s, const fws_store_rollout *r, uint64_t *out,
                              fws_errbuf *eb)
{
    fresh_ctx c = {.since = r->updated_at};
    uint64_t failed = 0;
    for (uint32_t i = 0; i < r->n_stages; i++)
        failed += r->stages[i].failed;
    *out = 0;
    if (failed == 0)
        return FWS_OK;
    fws_err err = FWS_OK;
    do {
        c.seen = 0;
        err = fws_store_member_list(s, r->id, c.last, FWS_STORE_LIST_MAX, count_fresh, &c, eb);
    } while (err == FWS_OK && c.seen == FWS_STORE_LIST_MAX);
    if (err == FWS_OK)
        *out = c.n;
    return err;
}

/* ---- the controller ----------------------------------------------------------------------- */

static fws_err raise_alert(fws_store *s, const fws_store_rollout *r, fws_rollout_event e,
                           const char *why, int64_t now, fws_errbuf *eb)
{
    fws_store_alert a;
    int64_t id = 0;
    memset(&a, 0, sizeof(a));
    snprintf(a.kind, sizeof(a.kind), "%s",
             e == FWS_ROLLOUT_EV_AUTO_PAUSE ? "rollout-failure-threshold" : "rollout-cancelled");
    snprintf(a.subject, sizeof(a.subject), "rollout %lld", (long long)r->id);
    snprintf(a.message, sizeof(a.message), "rollout %lld %s: %s", (long long)r->id,
             e == FWS_ROLLOUT_EV_AUTO_PAUSE ? "paused itself" : "was cancelled", why);
    a.time = now;
    return fws_store_alert_add(s, &a, &id, eb);
}

static fws_err apply(fws_store *s, const fws_store_rollout *r, fws_rollout_event e, const char *why,
                     int64_t now, fws_errbuf *eb)
{
    fws_rollout_step step;
    fws_err err = fws_rollout_transition(r->state, e, &step);
    if (err != FWS_OK)
        return fws_errf(eb, err, "rollout %lld is %s: cannot %s", (long long)r->id,
                        fws_store_rollout_state_name(r->state), fws_rollout_event_name(e));
    if (step.action == FWS_ROLLOUT_ACT_ADVANCE)
        err = fws_store_rollout_advance(s, r->id, r->current_stage, now, eb);
    else
        err = fws_store_rollout_set_state(s, r->id, step.to, now, eb);
    if (err == FWS_OK && step.alert)
        err = raise_alert(s, r, e, why, now, eb);
    return err;
}

static fws_err tick_one(fws_store *s, int64_t id, const json_t *index, int64_t now, size_t *changed,
                        fws_errbuf *eb)
{
    fws_store_rollout r;
    fws_store_release rel;
    char *sel = NULL, why[256];
    fws_rollout_view v;
    memset(&v, 0, sizeof(v));
    fws_err err = fws_store_rollout_get(s, id, &r, &sel, eb);
    if (err == FWS_OK)
        err = fws_store_release_get(s, r.release_id, &rel, eb);
    if (err == FWS_OK && r.state == FWS_STORE_ROLLOUT_RUNNING)
        err = count_targets(s, &r, sel, index, v.target, eb);
    if (err == FWS_OK && r.state == FWS_STORE_ROLLOUT_RUNNING)
        err = fresh_failures(s, &r, &v.fresh_failures, eb);
    free(sel);
    if (err != FWS_OK)
        return err;
    v.r = &r;
    v.quarantine_until = rel.quarantine_until;
    v.release_revoked = rel.revoked;
    v.now = now;
    fws_rollout_event e = fws_rollout_decide(&v, why, sizeof(why));
    if (e == FWS_ROLLOUT_EV_NONE)
        return FWS_OK;
    err = apply(s, &r, e, why, now, eb);
    if (err == FWS_ERR_STATE) { /* another server moved it first */
        fws_errbuf_clear(eb);
        return FWS_OK;
    }
    if (err == FWS_OK)
        (*changed)++;
    return err;
}

typedef struct ids {
    int64_t v[FWS_STORE_LIST_MAX];
    size_t n;
} ids;

static fws_err add_id(void *ctx, const fws_store_rollout *r)
{
    ids *l = ctx;
    if (l->n < FWS_STORE_LIST_MAX)
        l->v[l->n++] = r->id;
    return FWS_OK;
}

fws_err fws_fleet_rollouts_tick(fws_store *s, const char *deploy, int64_t now, size_t *changed,
                                fws_errbuf *eb)
{
    static const fws_store_rollout_state states[] = {
        FWS_STORE_ROLLOUT_PENDING, FWS_STORE_ROLLOUT_RUNNING, FWS_STORE_ROLLOUT_PAUSED};
    ids *l = calloc(1, sizeof(*l));
    json_t *index = NULL;
    size_t moved = 0;
    if (l == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = deploy != NULL ? fleet_releases_read(deploy, &index, eb) : FWS_OK;
    for (size_t k = 0; err == FWS_OK && k < 3; k++) {
        fws_store_page page = {.after = 0, .limit = FWS_STORE_LIST_MAX, .newest_first = 0};
        l->n = 0;
        err = fws_store_rollout_list(s, states[k], &page, add_id, l, eb);
        for (size_t i = 0; err == FWS_OK && i < l->n; i++)
            err = tick_one(s, l->v[i], index, now, &moved, eb);
    }
    json_decref(index);
    free(l);
    if (changed != NULL)
        *changed = moved;
    return err;
}

/* ---- operator actions ------------------------------------------------------------------------
 */

typedef struct find_pv {
    const char *version;
    fws_store_release r;
    int found;
} find_pv;

static fws_err match_version(void *ctx, const fws_store_release *r)
{
    find_pv *f = ctx;
    if (strcmp(r->version, f->version) == 0) {
        f->r = *r;
        f->found = 1;
    }
    return FWS_OK;
}

/* A release by target path or "PRODUCT/VERSION". */
static fws_err find_release(fws_store *s, const char *name, fws_store_release *out, fws_errbuf *eb)
{
    fws_errbuf inner = {{0}};
    fws_err err = fws_store_release_find(s, name, out, &inner);
    if (err != FWS_ERR_NOT_FOUND && err != FWS_ERR_ARG)
        return err == FWS_OK ? FWS_OK : fws_errf(eb, err, "%s", inner.msg);
    const char *slash = strchr(name, '/');
    char product[FWS_STORE_NAME_MAX + 1];
    if (slash == NULL || strchr(slash + 1, '/') != NULL ||
        (size_t)(slash - name) >= sizeof(product))
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "release %s does not exist", name);
    memcpy(product, name, (size_t)(slash - name));
    product[slash - name] = '\0';
    find_pv f = {.version = slash + 1};
    fws_store_page page = {.after = 0, .limit = FWS_STORE_LIST_MAX};
    err = fws_store_release_list(s, product, &page, match_version, &f, &inner);
    if (err == FWS_ERR_ARG || (err == FWS_OK && !f.found))
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "release %s does not exist", name);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s", inner.msg);
    *out = f.r;
    return FWS_OK;
}

static fws_err check_stages(const fws_fleet_rollout_req *q, fws_errbuf *eb)
{
    if (q->n_stages < 1 || q->n_stages > FWS_STORE_MAX_STAGES)
        return fws_errf(eb, FWS_ERR_ARG, "a rollout has 1 to %d stages", FWS_STORE_MAX_STAGES);
    for (size_t i = 0; i < q->n_stages; i++) {
        if (q->percent[i] < 1 || q->percent[i] > 100 ||
            (i > 0 && q->percent[i] <= q->percent[i - 1]))
            return fws_errf(eb, FWS_ERR_ARG,
                            "stage percentages must rise strictly from 1 to at most 100 "
                            "(stage %zu is %u)",
                            i + 1, q->percent[i]);
    }
    if (q->success_threshold > 100 || q->failure_threshold > 100)
        return fws_errf(eb, FWS_ERR_ARG, "thresholds are percentages (0 to 100)");
    return FWS_OK;
}

fws_err fws_fleet_rollout_create(fws_store *s, const fws_fleet_rollout_req *q, int64_t now,
                                 int64_t *id, fws_errbuf *eb)
{
    fws_store_release rel;
    fws_store_rollout r;
    if (q->release == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "a rollout needs a release");
    fws_err err = check_stages(q, eb);
    if (err == FWS_OK)
        err = find_release(s, q->release, &rel, eb);
    if (err == FWS_OK && rel.revoked)
        return fws_errf(eb, FWS_ERR_STATE, "release %s/%s is revoked", rel.product, rel.version);
    if (err == FWS_OK && q->quarantine >= 0)
        err = fws_store_release_set_quarantine(s, rel.id, rel.created_at + q->quarantine, eb);
    if (err != FWS_OK)
        return err;
    memset(&r, 0, sizeof(r));
    r.release_id = rel.id;
    r.n_stages = (uint32_t)q->n_stages;
    for (size_t i = 0; i < q->n_stages; i++)
        r.stages[i].percent = q->percent[i];
    r.success_threshold = q->success_threshold;
    r.failure_threshold = q->failure_threshold;
    r.created_at = now;
    return fws_store_rollout_create(s, &r, q->selector != NULL ? q->selector : "{}", id, eb);
}

fws_err fws_fleet_rollout_act(fws_store *s, int64_t id, fws_rollout_event e, int64_t now,
                              fws_errbuf *eb)
{
    fws_store_rollout r;
    if (e != FWS_ROLLOUT_EV_PAUSE && e != FWS_ROLLOUT_EV_RESUME && e != FWS_ROLLOUT_EV_CANCEL)
        return fws_errf(eb, FWS_ERR_ARG, "an operator may pause, resume or cancel a rollout");
    fws_err err = fws_store_rollout_get(s, id, &r, NULL, eb);
    if (err != FWS_OK)
        return err;
    return apply(s, &r, e, "operator", now, eb);
}

static json_t *stages_json(const fws_store_rollout *r, const uint64_t *target)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr != NULL && i < r->n_stages; i++) {
        const fws_store_rollout_stage *st = &r->stages[i];
        json_array_append_new(
            arr, json_pack("{s:i,s:I,s:I,s:I,s:I}", "percent", (int)st->percent, "devices",
                           (json_int_t)target[i], "assigned", (json_int_t)st->assigned, "succeeded",
                           (json_int_t)st->succeeded, "failed", (json_int_t)st->failed));
    }
    return arr;
}

fws_err fws_fleet_rollout_json(fws_store *s, int64_t id, json_t **out, fws_errbuf *eb)
{
    fws_store_rollout r;
    fws_store_release rel;
    uint64_t target[FWS_STORE_MAX_STAGES];
    char *sel = NULL;
    json_t *selj = NULL;
    fws_err err = fws_store_rollout_get(s, id, &r, &sel, eb);
    if (err == FWS_OK)
        err = fws_store_release_get(s, r.release_id, &rel, eb);
    if (err == FWS_OK)
        err = count_targets(s, &r, sel, NULL, target, eb);
    if (err == FWS_OK)
        err = fws_json_parse((const uint8_t *)sel, strlen(sel), 0, NULL, &selj, eb);
    free(sel);
    if (err != FWS_OK)
        return err;
    json_t *o = json_pack(
        "{s:I,s:{s:I,s:s,s:s,s:s,s:I,s:b},s:s,s:i,s:o,s:i,s:i,s:o,s:I,s:I}", "id", (json_int_t)r.id,
        "release", "id", (json_int_t)rel.id, "product", rel.product, "version", rel.version,
        "target", rel.target, "quarantineUntil", (json_int_t)rel.quarantine_until, "revoked",
        rel.revoked, "state", fws_store_rollout_state_name(r.state), "currentStage",
        (int)r.current_stage + 1, "stages", stages_json(&r, target), "successThreshold",
        (int)r.success_threshold, "failureThreshold", (int)r.failure_threshold, "selector", selj,
        "createdAt", (json_int_t)r.created_at, "updatedAt", (json_int_t)r.updated_at);
    if (o == NULL)
        return FWS_ERR_NOMEM;
    *out = o;
    return FWS_OK;
}
