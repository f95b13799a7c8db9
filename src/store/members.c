/* Rollout membership: which devices a rollout assigned, at which stage and sequence number,
 * and each one's outcome, counted into the stage exactly once. */
#include <stdio.h>
#include <string.h>
#include "store/internal.h"

static fws_err read_member(const store_row *r, fws_store_member *out, fws_errbuf *eb)
{
    fws_store_member m;
    int outcome = 0;
    fws_err err;
    memset(&m, 0, sizeof(m));
    m.rollout_id = row_int(r, 0);
    if ((err = row_copy(r, 1, m.device_id, sizeof(m.device_id), "device id", eb)) != FWS_OK ||
        (err = row_u32(r, 2, &m.stage, "member stage", eb)) != FWS_OK ||
        (err = row_enum(r, 4, enum_outcome, &outcome, "outcome", eb)) != FWS_OK)
        return err;
    m.assign_seq = (uint64_t)row_int(r, 3);
    m.outcome = (fws_store_outcome)outcome;
    m.assigned_at = row_int(r, 5);
    m.updated_at = row_int(r, 6);
    *out = m;
    return FWS_OK;
}

static fws_err member_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    return read_member(r, ctx, eb);
}

static fws_err assign(fws_store *s, int64_t rollout_id, const char *device_id, uint32_t stage,
                      int64_t now, fws_store_member *m, fws_errbuf *eb)
{
    fws_store_rollout ro;
    fws_store_device dev;
    int64_t changes = 0;
    fws_err err;
    if ((err = fws_store_rollout_get(s, rollout_id, &ro, NULL, eb)) != FWS_OK)
        return err;
    if (ro.state != FWS_STORE_ROLLOUT_RUNNING)
        return fws_errf(eb, FWS_ERR_STATE, "rollout %lld is %s, not running", (long long)rollout_id,
                        fws_store_rollout_state_name(ro.state));
    if (stage > ro.current_stage)
        return fws_errf(eb, FWS_ERR_ARG, "rollout %lld: stage %u is ahead of current stage %u",
                        (long long)rollout_id, stage, ro.current_stage);
    if ((err = fws_store_device_get(s, device_id, &dev, eb)) != FWS_OK)
        return err;
    if (dev.status != FWS_STORE_DEV_PROVISIONED && dev.status != FWS_STORE_DEV_ACTIVE)
        return fws_errf(eb, FWS_ERR_STATE, "device %s is %s", device_id,
                        fws_store_device_status_name(dev.status));
    if ((err = fws_store_device_next_seq(s, device_id, &m->assign_seq, eb)) != FWS_OK)
        return err;
    store_arg a[] = {ARG_I(rollout_id), ARG_T(device_id), ARG_I(stage), ARG_I(m->assign_seq),
                     ARG_I(now)};
    if ((err = store_run(s, ST_MEMBER_INSERT, a, 5, NULL, NULL, &changes, eb)) != FWS_OK)
        return err;
    if (changes == 0)
        return fws_errf(eb, FWS_ERR_EXISTS, "device %s is already in rollout %lld", device_id,
                        (long long)rollout_id);
    store_arg b[] = {ARG_I(rollout_id), ARG_I(stage)};
    if ((err = store_run(s, ST_STAGE_ASSIGNED, b, 2, NULL, NULL, &changes, eb)) != FWS_OK)
        return err;
    if (changes != 1)
        return fws_errf(eb, FWS_ERR_SCHEMA, "rollout %lld: stage %u is not stored",
                        (long long)rollout_id, stage);
    m->rollout_id = rollout_id;
    snprintf(m->device_id, sizeof(m->device_id), "%s", device_id);
    m->stage = stage;
    m->outcome = FWS_STORE_OUTCOME_PENDING;
    m->assigned_at = now;
    m->updated_at = now;
    return FWS_OK;
}

fws_err fws_store_rollout_assign(fws_store *s, int64_t rollout_id, const char *device_id,
                                 uint32_t stage, int64_t now, fws_store_member *out, fws_errbuf *eb)
{
    fws_store_member m;
    fws_err err;
    if (s == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "rollout: missing argument");
    if ((err = chk_str("device id", device_id, FWS_STORE_ID_MAX, CHK_ID, eb)) != FWS_OK ||
        (err = chk_time("assignment time", now, eb)) != FWS_OK)
        return err;
    if (stage >= FWS_STORE_MAX_STAGES)
        return fws_errf(eb, FWS_ERR_ARG, "rollout %lld: no stage %u", (long long)rollout_id, stage);
    memset(&m, 0, sizeof(m));
    if ((err = store_op_begin(s, eb)) != FWS_OK)
        return err;
    err = store_op_end(s, assign(s, rollout_id, device_id, stage, now, &m, eb), eb);
    if (err == FWS_OK && out != NULL)
        *out = m;
    return err;
}

fws_err fws_store_member_get(fws_store *s, int64_t rollout_id, const char *device_id,
                             fws_store_member *out, fws_errbuf *eb)
{
    char what[FWS_STORE_ID_MAX + 64];
    fws_store_member m;
    fws_err err;
    if (s == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "rollout member: missing argument");
    if ((err = chk_str("device id", device_id, FWS_STORE_ID_MAX, CHK_ID, eb)) != FWS_OK)
        return err;
    snprintf(what, sizeof(what), "device %s in rollout %lld", device_id, (long long)rollout_id);
    store_arg a[] = {ARG_I(rollout_id), ARG_T(device_id)};
    if ((err = store_one(s, ST_MEMBER_GET, a, 2, member_row, &m, what, eb)) == FWS_OK)
        *out = m;
    return err;
}

static fws_err record_outcome(fws_store *s, int64_t rollout_id, const char *device_id,
                              fws_store_outcome outcome, int64_t now, fws_errbuf *eb)
{
    fws_store_member m;
    int64_t stage = -1, changes = 0;
    store_arg a[] = {ARG_I(rollout_id), ARG_T(device_id), ARG_T(fws_store_outcome_name(outcome)),
                     ARG_I(now)};
    fws_err err = store_run(s, ST_MEMBER_OUTCOME, a, 4, row_get_int, &stage, NULL, eb);
    if (err != FWS_OK)
        return err;
    if (stage < 0) { /* not pending: unknown, or decided already */
        if ((err = fws_store_member_get(s, rollout_id, device_id, &m, eb)) != FWS_OK)
            return err;
        if (m.outcome == outcome)
            return FWS_OK;
        return fws_errf(eb, FWS_ERR_STATE, "device %s in rollout %lld already %s", device_id,
                        (long long)rollout_id, fws_store_outcome_name(m.outcome));
    }
    store_arg b[] = {ARG_I(rollout_id), ARG_I(stage)};
    int st = outcome == FWS_STORE_OUTCOME_SUCCEEDED ? ST_STAGE_SUCCEEDED : ST_STAGE_FAILED;
    if ((err = store_run(s, st, b, 2, NULL, NULL, &changes, eb)) != FWS_OK)
        return err;
    if (changes != 1)
        return fws_errf(eb, FWS_ERR_SCHEMA, "rollout %lld: stage %lld is not stored",
                        (long long)rollout_id, (long long)stage);
    return FWS_OK;
}

fws_err fws_store_rollout_outcome(fws_store *s, int64_t rollout_id, const char *device_id,
                                  fws_store_outcome outcome, int64_t now, fws_errbuf *eb)
{
    fws_err err;
    if (s == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "rollout: missing argument");
    if ((err = chk_str("device id", device_id, FWS_STORE_ID_MAX, CHK_ID, eb)) != FWS_OK ||
        (err = chk_time("outcome time", now, eb)) != FWS_OK)
        return err;
    if (outcome != FWS_STORE_OUTCOME_SUCCEEDED && outcome != FWS_STORE_OUTCOME_FAILED)
        return fws_errf(eb, FWS_ERR_ARG, "rollout %lld: outcome must be succeeded or failed",
                        (long long)rollout_id);
    if ((err = store_op_begin(s, eb)) != FWS_OK)
        return err;
    return store_op_end(s, record_outcome(s, rollout_id, device_id, outcome, now, eb), eb);
}

typedef struct member_list {
    fws_store_member_fn fn;
    void *ctx;
} member_list;

static fws_err member_list_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    member_list *l = ctx;
    fws_store_member m;
    fws_err err = read_member(r, &m, eb);
    return err != FWS_OK ? err : l->fn(l->ctx, &m);
}

fws_err fws_store_member_list(fws_store *s, int64_t rollout_id, const char *after_device,
                              size_t limit, fws_store_member_fn fn, void *ctx, fws_errbuf *eb)
{
    fws_err err;
    if (s == NULL || fn == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "rollout members: missing argument");
    if (after_device == NULL)
        after_device = "";
    if ((err = chk_str("start device id", after_device, FWS_STORE_ID_MAX, CHK_NAME, eb)) !=
            FWS_OK ||
        (err = chk_limit(limit, eb)) != FWS_OK)
        return err;
    member_list l = {fn, ctx};
    store_arg a[] = {ARG_I(rollout_id), ARG_T(after_device), ARG_I(limit)};
    return store_run(s, ST_MEMBER_LIST, a, 3, member_list_row, &l, NULL, eb);
}

fws_err fws_store_device_rollouts(fws_store *s, const char *device_id, size_t limit,
                                  fws_store_member_fn fn, void *ctx, fws_errbuf *eb)
{
    fws_err err;
    if (s == NULL || fn == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "device rollouts: missing argument");
    if ((err = chk_str("device id", device_id, FWS_STORE_ID_MAX, CHK_ID, eb)) != FWS_OK ||
        (err = chk_limit(limit, eb)) != FWS_OK)
        return err;
    member_list l = {fn, ctx};
    store_arg a[] = {ARG_T(device_id), ARG_I(limit)};
    return store_run(s, ST_MEMBER_BY_DEVICE, a, 2, member_list_row, &l, NULL, eb);
}
