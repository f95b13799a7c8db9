/* The install state machine: one table of transitions, nothing else decides where an event
 * leads. */
#include <string.h>
#include "fwseal/agent.h"

static const char *const state_names[FWS_AGENT_STATE_COUNT] = {
    "idle",       "downloading", "verifying",   "installed-pending",
    "trial-boot", "confirmed",   "rolled-back",
};

static const char *const event_names[FWS_EV_COUNT] = {
    "start",     "downloaded",  "verified",  "failed",  "booted-new",
    "health-ok", "health-fail", "fell-back", "settled",
};

typedef struct transition {
    fws_agent_state from;
    fws_agent_event event;
    fws_agent_state to;
} transition;

static const transition table[] = {
    {FWS_AGENT_IDLE, FWS_EV_START, FWS_AGENT_DOWNLOADING},
    {FWS_AGENT_DOWNLOADING, FWS_EV_DOWNLOADED, FWS_AGENT_VERIFYING},
    {FWS_AGENT_DOWNLOADING, FWS_EV_FAILED, FWS_AGENT_IDLE},
    {FWS_AGENT_VERIFYING, FWS_EV_VERIFIED, FWS_AGENT_INSTALLED_PENDING},
    {FWS_AGENT_VERIFYING, FWS_EV_FAILED, FWS_AGENT_IDLE},
    {FWS_AGENT_INSTALLED_PENDING, FWS_EV_BOOTED_NEW, FWS_AGENT_TRIAL_BOOT},
    {FWS_AGENT_INSTALLED_PENDING, FWS_EV_FELL_BACK, FWS_AGENT_ROLLED_BACK},
    {FWS_AGENT_TRIAL_BOOT, FWS_EV_HEALTH_OK, FWS_AGENT_CONFIRMED},
    {FWS_AGENT_TRIAL_BOOT, FWS_EV_HEALTH_FAIL, FWS_AGENT_ROLLED_BACK},
    {FWS_AGENT_TRIAL_BOOT, FWS_EV_FELL_BACK, FWS_AGENT_ROLLED_BACK},
    {FWS_AGENT_CONFIRMED, FWS_EV_SETTLED, FWS_AGENT_IDLE},
    {FWS_AGENT_ROLLED_BACK, FWS_EV_SETTLED, FWS_AGENT_IDLE},
};

const char *fws_agent_state_name(fws_agent_state s)
{
    return (unsigned)s < FWS_AGENT_STATE_COUNT ? state_names[s] : "unknown";
}

const char *fws_agent_event_name(fws_agent_event e)
{
    return (unsigned)e < FWS_EV_COUNT ? event_names[e] : "unknown";
}

fws_err fws_agent_state_parse(const char *name, fws_agent_state *out)
{
    for (unsigned i = 0; i < FWS_AGENT_STATE_COUNT; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *out = (fws_agent_state)i;
            return FWS_OK;
        }
    }
    return FWS_ERR_FORMAT;
}

fws_err fws_agent_transition(fws_agent_state s, fws_agent_event e, fws_agent_state *next)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (table[i].from == s && table[i].event == e) {
            *next = table[i].to;
            return FWS_OK;
        }
    }
    return FWS_ERR_STATE;
}
