/* The rollout state machine: one table of transitions, and the pure decision of which event is
 * due from a rollout's counters. Nothing else decides where a rollout goes. */
#include <stdio.h>
#include <string.h>
#include "fwseal/fleet.h"

typedef struct sm_row {
    fws_store_rollout_state from;
    fws_rollout_event event;
    fws_store_rollout_state to;
    fws_rollout_action action;
    int alert;
} sm_row;

#define S_PENDING FWS_STORE_ROLLOUT_PENDING
#define S_RUNNING FWS_STORE_ROLLOUT_RUNNING
#define S_PAUSED FWS_STORE_ROLLOUT_PAUSED
#define S_DONE FWS_STORE_ROLLOUT_COMPLETED
#define S_CANCELLED FWS_STORE_ROLLOUT_CANCELLED

static const sm_row table[] = {
    {S_PENDING, FWS_ROLLOUT_EV_START, S_RUNNING, FWS_ROLLOUT_ACT_STATE, 0},
    {S_PENDING, FWS_ROLLOUT_EV_CANCEL, S_CANCELLED, FWS_ROLLOUT_ACT_STATE, 0},
    {S_PENDING, FWS_ROLLOUT_EV_REVOKED, S_CANCELLED, FWS_ROLLOUT_ACT_STATE, 1},
    {S_RUNNING, FWS_ROLLOUT_EV_ADVANCE, S_RUNNING, FWS_ROLLOUT_ACT_ADVANCE, 0},
    {S_RUNNING, FWS_ROLLOUT_EV_COMPLETE, S_DONE, FWS_ROLLOUT_ACT_STATE, 0},
    {S_RUNNING, FWS_ROLLOUT_EV_AUTO_PAUSE, S_PAUSED, FWS_ROLLOUT_ACT_STATE, 1},
    {S_RUNNING, FWS_ROLLOUT_EV_PAUSE, S_PAUSED, FWS_ROLLOUT_ACT_STATE, 0},
    {S_RUNNING, FWS_ROLLOUT_EV_CANCEL, S_CANCELLED, FWS_ROLLOUT_ACT_STATE, 0},
    {S_RUNNING, FWS_ROLLOUT_EV_REVOKED, S_CANCELLED, FWS_ROLLOUT_ACT_STATE, 1},
    {S_PAUSED, FWS_ROLLOUT_EV_RESUME, S_RUNNING, FWS_ROLLOUT_ACT_STATE, 0},
    {S_PAUSED, FWS_ROLLOUT_EV_CANCEL, S_CANCELLED, FWS_ROLLOUT_ACT_STATE, 0},
    {S_PAUSED, FWS_ROLLOUT_EV_REVOKED, S_CANCELLED, FWS_ROLLOUT_ACT_STATE, 1},
};

static const char *const event_names[FWS_ROLLOUT_EV_COUNT] = {
    "none", "start", "advance", "complete", "auto-pause", "pause", "resume", "cancel", "revoked",
};

const char *fws_rollout_event_name(fws_rollout_event e)
{
    return (unsigned)e < FWS_ROLLOUT_EV_COUNT ? event_names[e] : NULL;
}

fws_err fws_rollout_transition(fws_store_rollout_state s, fws_rollout_event e,
                               fws_rollout_step *out)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (table[i].from == s && table[i].event == e) {
            out->to = table[i].to;
            out->action = table[i].action;
            out->alert = table[i].alert;
            return FWS_OK;
        }
    }
    return FWS_ERR_STATE;
}

/* ---- deciding ---------------------------------------------------------------------------- */

#define SAY(why, cap, ...)                                                                         \
    do {                                                                                           \
        if ((why) != NULL && (cap) > 0)                                                            \
            snprintf((why), (cap), __VA_ARGS__);                                                   \
    } while (0)

/* 1 when some stage up to the current one has failed * 100 > threshold * its size. */
static int failures_over(const fws_rollout_view *v, char *why, size_t cap)
{
    const fws_store_rollout *r = v->r;
    for (uint32_t i = 0; i <= r->current_stage && i < r->n_stages; i++) {
        const fws_store_rollout_stage *st = &r->stages[i];
        uint64_t size = v->target[i] > st->assigned ? v->target[i] : st->assigned;
        if (size == 0)
            size = 1;
        if ((uint64_t)st->failed * 100 > (uint64_t)r->failure_threshold * size) {
            SAY(why, cap, "stage %u: %u of %llu devices failed", i + 1, st->failed,
                (unsigned long long)size);
            return 1;
        }
    }
    return 0;
}

static int all_decided(const fws_rollout_view *v)
{
    const fws_store_rollout *r = v->r;
    for (uint32_t i = 0; i < r->n_stages; i++) {
        uint64_t done = (uint64_t)r->stages[i].succeeded + r->stages[i].failed;
        if (done < v->target[i])
            return 0;
    }
    return 1;
}

static fws_rollout_event decide_running(const fws_rollout_view *v, char *why, size_t cap)
{
    const fws_store_rollout *r = v->r;
    if (v->fresh_failures > 0 && failures_over(v, why, cap))
        return FWS_ROLLOUT_EV_AUTO_PAUSE;
    uint32_t cur = r->current_stage;
    if (cur + 1 >= r->n_stages) {
        if (!all_decided(v))
            return FWS_ROLLOUT_EV_NONE;
        SAY(why, cap, "every selected device has an outcome");
        return FWS_ROLLOUT_EV_COMPLETE;
    }
    const fws_store_rollout_stage *st = &r->stages[cur];
    if ((uint64_t)st->succeeded * 100 < (uint64_t)r->success_threshold * v->target[cur])
        return FWS_ROLLOUT_EV_NONE;
    SAY(why, cap, "stage %u: %u of %llu devices succeeded", cur + 1, st->succeeded,
        (unsigned long long)v->target[cur]);
    return FWS_ROLLOUT_EV_ADVANCE;
}

fws_rollout_event fws_rollout_decide(const fws_rollout_view *v, char *why, size_t cap)
{
    if (why != NULL && cap > 0)
        why[0] = '\0';
    switch (v->r->state) {
    case FWS_STORE_ROLLOUT_PENDING:
        if (v->release_revoked) {
            SAY(why, cap, "the release was revoked");
            return FWS_ROLLOUT_EV_REVOKED;
        }
        if (v->now < v->quarantine_until)
            return FWS_ROLLOUT_EV_NONE;
        SAY(why, cap, "the release's quarantine period ended");
        return FWS_ROLLOUT_EV_START;
    case FWS_STORE_ROLLOUT_RUNNING:
        if (v->release_revoked) {
            SAY(why, cap, "the release was revoked");
            return FWS_ROLLOUT_EV_REVOKED;
        }
        return decide_running(v, why, cap);
    case FWS_STORE_ROLLOUT_PAUSED:
        if (v->release_revoked) {
            SAY(why, cap, "the release was revoked");
            return FWS_ROLLOUT_EV_REVOKED;
        }
        return FWS_ROLLOUT_EV_NONE;
    default:
        return FWS_ROLLOUT_EV_NONE;
    }
}

/* ---- buckets ------------------------------------------------------------------------------- */

int fws_rollout_stage_of(const fws_store_rollout *r, const char *device_id)
{
    static const char tag[] = "fwseal-rollout";
    uint8_t id8[8], digest[FWS_SHA256_LEN];
    uint64_t id = (uint64_t)r->id;
    for (int i = 0; i < 8; i++)
        id8[i] = (uint8_t)(id >> (56 - 8 * i));
    fws_sha256_ctx c;
    fws_sha256_init(&c);
    fws_sha256_update(&c, tag, sizeof(tag)); /* the NUL separates the tag */
    fws_sha256_update(&c, id8, sizeof(id8));
    fws_sha256_update(&c, device_id, strlen(device_id));
    fws_sha256_final(&c, digest);
    uint32_t word = (uint32_t)digest[0] << 24 | (uint32_t)digest[1] << 16 |
                    (uint32_t)digest[2] << 8 | digest[3];
    uint32_t bucket = word % 10000u;
    for (uint32_t i = 0; i < r->n_stages && i < FWS_STORE_MAX_STAGES; i++) {
        if (bucket < r->stages[i].percent * 100u)
            return (int)i;
    }
    return -1;
}
