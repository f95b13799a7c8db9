/* Rollouts: a release, a selector, stages with per-stage counters, a state machine
 * (enums.c has the table) and the current stage, moved by compare-and-set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/internal.h"

/* Columns 0..8 of a rollout row (ROLLOUT_COLS in sql.c). */
static fws_err read_rollout(const store_row *r, fws_store_rollout *out, fws_errbuf *eb)
{
    fws_store_rollout v;
    int state = 0;
    fws_err err;
    memset(&v, 0, sizeof(v));
    v.id = row_int(r, 0);
    v.release_id = row_int(r, 1);
    if ((err = row_enum(r, 2, enum_rollout_state, &state, "rollout state", eb)) != FWS_OK ||
        (err = row_u32(r, 3, &v.n_stages, "stage count", eb)) != FWS_OK ||
        (err = row_u32(r, 4, &v.current_stage, "current stage", eb)) != FWS_OK ||
        (err = row_u32(r, 5, &v.success_threshold, "success threshold", eb)) != FWS_OK ||
        (err = row_u32(r, 6, &v.failure_threshold, "failure threshold", eb)) != FWS_OK)
        return err;
    if (v.n_stages < 1 || v.n_stages > FWS_STORE_MAX_STAGES || v.current_stage >= v.n_stages)
        return fws_errf(eb, FWS_ERR_SCHEMA, "rollout %lld: stored stages out of range",
                        (long long)v.id);
    v.state = (fws_store_rollout_state)state;
    v.created_at = row_int(r, 7);
    v.updated_at = row_int(r, 8);
    *out = v;
    return FWS_OK;
}

/* One stage row at column c: stage, percent, assigned, succeeded, failed. Stages must come in
 * order 0, 1, ... (*loaded counts them). */
static fws_err read_stage(const store_row *r, int c, fws_store_rollout *ro, uint32_t *loaded,
                          fws_errbuf *eb)
{
    uint32_t stage = 0;
    fws_err err = row_u32(r, c, &stage, "stage", eb);
    if (err != FWS_OK)
        return err;
    if (stage != *loaded || stage >= ro->n_stages)
        return fws_errf(eb, FWS_ERR_SCHEMA, "rollout %lld: stored stage %u out of order",
                        (long long)ro->id, stage);
    fws_store_rollout_stage *st = &ro->stages[stage];
    if ((err = row_u32(r, c + 1, &st->percent, "stage percent", eb)) != FWS_OK ||
        (err = row_u32(r, c + 2, &st->assigned, "assigned count", eb)) != FWS_OK ||
        (err = row_u32(r, c + 3, &st->succeeded, "success count", eb)) != FWS_OK ||
        (err = row_u32(r, c + 4, &st->failed, "failure count", eb)) != FWS_OK)
        return err;
    (*loaded)++;
    return FWS_OK;
}

static fws_err check_rollout(const fws_store_rollout *r, fws_errbuf *eb)
{
    fws_err err;
    if (r->release_id <= 0)
        return fws_errf(eb, FWS_ERR_ARG, "rollout: no release");
    if (r->n_stages < 1 || r->n_stages > FWS_STORE_MAX_STAGES)
        return fws_errf(eb, FWS_ERR_ARG, "rollout: %u stages, not within 1..%d", r->n_stages,
                        FWS_STORE_MAX_STAGES);
    for (uint32_t i = 0; i < r->n_stages; i++) {
        uint32_t p = r->stages[i].percent;
        if (p < 1 || p > 100 || (i > 0 && p <= r->stages[i - 1].percent))
            return fws_errf(eb, FWS_ERR_ARG,
                            "rollout: stage %u is %u%%; stages must rise strictly within 1..100", i,
                            p);
    }
    if (r->success_threshold > 100 || r->failure_threshold > 100)
        return fws_errf(eb, FWS_ERR_ARG, "rollout: thresholds are percentages (0..100)");
    if ((err = chk_time("rollout creation", r->created_at, eb)) != FWS_OK)
        return err;
    return FWS_OK;
}

static fws_err insert_rollout(fws_store *s, const fws_store_rollout *r, const char *selector,
                              int64_t *id, fws_errbuf *eb)
{
    fws_store_release rel;
    fws_err err = fws_store_release_get(s, r->release_id, &rel, eb);
    if (err != FWS_OK)
        return err;
    if (rel.revoked)
        return fws_errf(eb, FWS_ERR_STATE, "release %lld is revoked", (long long)rel.id);
    store_arg a[] = {ARG_I(r->release_id),        ARG_T(selector),
                     ARG_I(r->n_stages),          ARG_I(r->success_threshold),
                     ARG_I(r->failure_threshold), ARG_I(r->created_at)};
    if ((err = store_one(s, ST_ROLLOUT_INSERT, a, 6, row_get_int, id, "new rollout", eb)) != FWS_OK)
        return err;
    for (uint32_t i = 0; i < r->n_stages && err == FWS_OK; i++) {
        store_arg b[] = {ARG_I(*id), ARG_I(i), ARG_I(r->stages[i].percent)};
        err = store_run(s, ST_STAGE_INSERT, b, 3, NULL, NULL, NULL, eb);
    }
    return err;
}

fws_err fws_store_rollout_create(fws_store *s, const fws_store_rollout *r, const char *selector,
                                 int64_t *id, fws_errbuf *eb)
{
    char *canon = NULL;
    size_t len = 0;
    int64_t new_id = 0;
    fws_err err;
    if (s == NULL || r == NULL || id == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "rollout: missing argument");
    if ((err = check_rollout(r, eb)) != FWS_OK ||
        (err = chk_selector(selector, &canon, &len, eb)) != FWS_OK)
        return err;
    if ((err = store_op_begin(s, eb)) == FWS_OK) {
        err = store_op_end(s, insert_rollout(s, r, canon, &new_id, eb), eb);
        if (err == FWS_OK)
            *id = new_id;
    }
    free(canon);
    return err;
}

typedef struct get_ctx {
    fws_store_rollout r;
    char **selector;
    uint32_t loaded;
} get_ctx;

static fws_err rollout_get_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    get_ctx *g = ctx;
    fws_err err = read_rollout(r, &g->r, eb);
    if (err != FWS_OK || g->selector == NULL)
        return err;
    *g->selector = strdup(row_text(r, 9));
    if (*g->selector == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "rollout: out of memory");
    return FWS_OK;
}

static fws_err stage_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    get_ctx *g = ctx;
    return read_stage(r, 0, &g->r, &g->loaded, eb);
}

fws_err fws_store_rollout_get(fws_store *s, int64_t id, fws_store_rollout *out, char **selector,
                              fws_errbuf *eb)
{
    char what[48];
    char *sel = NULL;
    get_ctx g = {.selector = selector ? &sel : NULL};
    if (s == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "rollout: missing argument");
    snprintf(what, sizeof(what), "rollout %lld", (long long)id);
    store_arg a[] = {ARG_I(id)};
    fws_err err = store_one(s, ST_ROLLOUT_GET, a, 1, rollout_get_row, &g, what, eb);
    if (err == FWS_OK)
        err = store_run(s, ST_ROLLOUT_STAGES, a, 1, stage_row, &g, NULL, eb);
    if (err == FWS_OK && g.loaded != g.r.n_stages)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "rollout %lld: %u of %u stages stored", (long long)id,
                       g.loaded, g.r.n_stages);
    if (err != FWS_OK) {
        free(sel);
        return err;
    }
    *out = g.r;
    if (selector != NULL)
        *selector = sel;
    return FWS_OK;
}

fws_err fws_store_rollout_set_state(fws_store *s, int64_t id, fws_store_rollout_state state,
                                    int64_t now, fws_errbuf *eb)
{
    fws_store_rollout cur;
    int64_t changes = 0;
    fws_err err;
    if (s == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "rollout: missing argument");
    if (fws_store_rollout_state_name(state) == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "rollout %lld: unknown state %d", (long long)id,
                        (int)state);
    if ((err = chk_time("rollout update", now, eb)) != FWS_OK ||
        (err = fws_store_rollout_get(s, id, &cur, NULL, eb)) != FWS_OK)
        return err;
    if (!fws_store_rollout_transition_ok(cur.state, state))
        return fws_errf(eb, FWS_ERR_STATE, "rollout %lld: cannot go from %s to %s", (long long)id,
                        fws_store_rollout_state_name(cur.state),
                        fws_store_rollout_state_name(state));
    store_arg a[] = {ARG_I(id), ARG_T(fws_store_rollout_state_name(state)), ARG_I(now),
                     ARG_T(fws_store_rollout_state_name(cur.state))};
    if ((err = store_run(s, ST_ROLLOUT_SET_STATE, a, 4, NULL, NULL, &changes, eb)) != FWS_OK)
        return err;
    if (changes == 0)
        return fws_errf(eb, FWS_ERR_STATE, "rollout %lld: state changed concurrently",
                        (long long)id);
    return FWS_OK;
}

fws_err fws_store_rollout_advance(fws_store *s, int64_t id, uint32_t from, int64_t now,
                                  fws_errbuf *eb)
{
    fws_store_rollout cur;
    int64_t changes = 0;
    fws_err err;
    if (s == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "rollout: missing argument");
    if ((err = chk_time("rollout update", now, eb)) != FWS_OK)
        return err;
    if (from >= FWS_STORE_MAX_STAGES)
        return fws_errf(eb, FWS_ERR_ARG, "rollout %lld: no stage %u", (long long)id, from);
    store_arg a[] = {ARG_I(id), ARG_I(from), ARG_I(from + 1), ARG_I(now)};
    if ((err = store_run(s, ST_ROLLOUT_ADVANCE, a, 4, NULL, NULL, &changes, eb)) != FWS_OK)
        return err;
    if (changes == 1)
        return FWS_OK;
    /* Say why nothing moved. */
    if ((err = fws_store_rollout_get(s, id, &cur, NULL, eb)) != FWS_OK)
        return err;
    if (cur.state != FWS_STORE_ROLLOUT_RUNNING)
        return fws_errf(eb, FWS_ERR_STATE, "rollout %lld is %s, not running", (long long)id,
                        fws_store_rollout_state_name(cur.state));
    if (cur.current_stage != from)
        return fws_errf(eb, FWS_ERR_STATE, "rollout %lld is at stage %u, not %u", (long long)id,
                        cur.current_stage, from);
    return fws_errf(eb, FWS_ERR_STATE, "rollout %lld is at its last stage", (long long)id);
}

/* ---- list: one row per stage, grouped back into rollouts --------------------------------- */

typedef struct rollout_list {
    fws_store_rollout_fn fn;
    void *ctx;
    fws_store_rollout cur;
    uint32_t loaded;
    int have;
} rollout_list;

static fws_err emit(rollout_list *l, fws_errbuf *eb)
{
    l->have = 0;
    if (l->loaded != l->cur.n_stages)
        return fws_errf(eb, FWS_ERR_SCHEMA, "rollout %lld: %u of %u stages stored",
                        (long long)l->cur.id, l->loaded, l->cur.n_stages);
    return l->fn(l->ctx, &l->cur);
}

static fws_err rollout_list_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    rollout_list *l = ctx;
    fws_err err;
    if (l->have && l->cur.id != row_int(r, 0) && (err = emit(l, eb)) != FWS_OK)
        return err;
    if (!l->have) {
        if ((err = read_rollout(r, &l->cur, eb)) != FWS_OK)
            return err;
        l->have = 1;
        l->loaded = 0;
    }
    return read_stage(r, 9, &l->cur, &l->loaded, eb);
}

fws_err fws_store_rollout_list(fws_store *s, fws_store_rollout_state state,
                               const fws_store_page *page, fws_store_rollout_fn fn, void *ctx,
                               fws_errbuf *eb)
{
    fws_err err;
    if (s == NULL || fn == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "rollout list: missing argument");
    if (state != 0 && fws_store_rollout_state_name(state) == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "rollout list: unknown state %d", (int)state);
    if ((err = chk_page(page, eb)) != FWS_OK)
        return err;
    rollout_list l = {.fn = fn, .ctx = ctx};
    store_arg a[] = {ARG_I(page->after), ARG_I(page->limit),
                     ARG_T(state ? fws_store_rollout_state_name(state) : "")};
    err = store_run(s, page->newest_first ? ST_ROLLOUT_LIST_DESC : ST_ROLLOUT_LIST, a, 3,
                    rollout_list_row, &l, NULL, eb);
    if (err == FWS_OK && l.have)
        err = emit(&l, eb);
    return err;
}
