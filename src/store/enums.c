/* Enumerations: their stored names, parsers, and the device and rollout transition tables. */
#include <string.h>
#include "store/internal.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const role_names[] = {NULL, "admin", "release", "factory", "auditor"};
static const char *const status_names[] = {NULL,          "provisioned", "active",
                                           "quarantined", "revoked",     "decommissioned"};
static const char *const attest_names[] = {NULL, "none", "pass", "fail"};
static const char *const state_names[] = {NULL,     "pending",   "running",
                                          "paused", "completed", "cancelled"};
static const char *const outcome_names[] = {NULL, "pending", "succeeded", "failed"};
static const char *const kind_names[] = {NULL, "install", "rollback", "verification-failure",
                                         "attestation"};

static const char *name_of(const char *const *names, size_t n, int v)
{
    return v > 0 && (size_t)v < n ? names[v] : NULL;
}

static fws_err parse_of(const char *const *names, size_t n, const char *s, int *out)
{
    if (s == NULL)
        return FWS_ERR_ARG;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return FWS_OK;
        }
    }
    return FWS_ERR_ARG;
}

static fws_err parse_named(const char *const *names, size_t n, const char *s, int *out,
                           const char *what, fws_errbuf *eb)
{
    if (parse_of(names, n, s, out) != FWS_OK)
        return fws_errf(eb, FWS_ERR_ARG, "unknown %s \"%.64s\"", what, s ? s : "(null)");
    return FWS_OK;
}

/* Public names and parsers. */
#define ENUM_FUNCS(type, fn, names, what)                                                          \
    const char *fws_store_##fn##_name(type v)                                                      \
    {                                                                                              \
        return name_of(names, COUNT(names), (int)v);                                               \
    }                                                                                              \
    fws_err fws_store_##fn##_parse(const char *s, type *out, fws_errbuf *eb)                       \
    {                                                                                              \
        int v = 0;                                                                                 \
        fws_err err = parse_named(names, COUNT(names), s, &v, what, eb);                           \
        if (err == FWS_OK)                                                                         \
            *out = (type)v;                                                                        \
        return err;                                                                                \
    }                                                                                              \
    fws_err enum_##fn(const char *s, int *out)                                                     \
    {                                                                                              \
        return parse_of(names, COUNT(names), s, out);                                              \
    }

ENUM_FUNCS(fws_store_role, role, role_names, "role")
ENUM_FUNCS(fws_store_device_status, device_status, status_names, "device status")
ENUM_FUNCS(fws_store_attest, attest, attest_names, "attestation result")
ENUM_FUNCS(fws_store_rollout_state, rollout_state, state_names, "rollout state")
ENUM_FUNCS(fws_store_outcome, outcome, outcome_names, "outcome")
ENUM_FUNCS(fws_store_report_kind, report_kind, kind_names, "report kind")

/* ---- transition tables: allowed[from] is a bit set of the states `to` ------------------ */

#define B(x) (1u << (x))

static const unsigned device_moves[] = {
    [FWS_STORE_DEV_PROVISIONED] = B(FWS_STORE_DEV_ACTIVE) | B(FWS_STORE_DEV_QUARANTINED) |
                                  B(FWS_STORE_DEV_REVOKED) | B(FWS_STORE_DEV_DECOMMISSIONED),
    [FWS_STORE_DEV_ACTIVE] =
        B(FWS_STORE_DEV_QUARANTINED) | B(FWS_STORE_DEV_REVOKED) | B(FWS_STORE_DEV_DECOMMISSIONED),
    [FWS_STORE_DEV_QUARANTINED] =
        B(FWS_STORE_DEV_ACTIVE) | B(FWS_STORE_DEV_REVOKED) | B(FWS_STORE_DEV_DECOMMISSIONED),
    [FWS_STORE_DEV_REVOKED] = B(FWS_STORE_DEV_DECOMMISSIONED),
    [FWS_STORE_DEV_DECOMMISSIONED] = 0,
};

static const unsigned rollout_moves[] = {
    [FWS_STORE_ROLLOUT_PENDING] = B(FWS_STORE_ROLLOUT_RUNNING) | B(FWS_STORE_ROLLOUT_CANCELLED),
    [FWS_STORE_ROLLOUT_RUNNING] = B(FWS_STORE_ROLLOUT_PAUSED) | B(FWS_STORE_ROLLOUT_COMPLETED) |
                                  B(FWS_STORE_ROLLOUT_CANCELLED),
    [FWS_STORE_ROLLOUT_PAUSED] = B(FWS_STORE_ROLLOUT_RUNNING) | B(FWS_STORE_ROLLOUT_CANCELLED),
    [FWS_STORE_ROLLOUT_COMPLETED] = 0,
    [FWS_STORE_ROLLOUT_CANCELLED] = 0,
};

_Static_assert(COUNT(device_moves) == COUNT(status_names), "a row per device status");
_Static_assert(COUNT(rollout_moves) == COUNT(state_names), "a row per rollout state");

static int move_ok(const unsigned *moves, size_t n, int from, int to)
{
    if (from <= 0 || to <= 0 || (size_t)from >= n || (size_t)to >= n)
        return 0;
    return from == to || (moves[from] & B(to)) != 0;
}

int fws_store_device_transition_ok(fws_store_device_status from, fws_store_device_status to)
{
    return move_ok(device_moves, COUNT(device_moves), (int)from, (int)to);
}

int fws_store_rollout_transition_ok(fws_store_rollout_state from, fws_store_rollout_state to)
{
    return move_ok(rollout_moves, COUNT(rollout_moves), (int)from, (int)to);
}
