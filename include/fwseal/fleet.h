/* The fleet: what each device should run (assignments), what devices report, staged rollouts,
 * device quarantine, and the sequencer that moves accepted reports into the ledger. It is an
 * endpoint module of `fwseal serve` (server.h, "Modules") and a small library the command line
 * uses on the store directly. docs/FLEET.md describes the protocol, the rollout state machine
 * and the failover of the sequencer.
 *
 * Files of a deployment the fleet uses:
 *   DEPLOY/fleet.json          optional configuration (fws_fleet_config)
 *   DEPLOY/keys/assignment.pem the assignment key (encrypted PKCS#8, the deployment passphrase);
 *   DEPLOY/keys/assignment.pub its public half, copied into device bundles as assignment.pub
 *   DEPLOY/releases.json       the release index, imported into the store
 */
#ifndef FWSEAL_FLEET_H
#define FWSEAL_FLEET_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"
#include "fwseal/crypto.h"
#include "fwseal/store.h"

#ifdef __cplusplus
extern "C" {
#endif

struct fws_server;

#define FWS_FLEET_RECOVERY_MAX 16         /* recovery releases named in fleet.json */
#define FWS_FLEET_CONFIG_MAX (64u * 1024) /* fleet.json */
#define FWS_FLEET_NONCE_MIN 16            /* hex digits of an assignment nonce */
#define FWS_FLEET_NONCE_MAX 128
#define FWS_FLEET_REPORT_MAX (16u * 1024) /* one report envelope (the agent's FWS_REPORT_MAX) */
#define FWS_FLEET_ASSIGNMENT_TYPE "application/vnd.fwseal.assignment+json"
#define FWS_FLEET_REPORT_TYPE "application/vnd.fwseal.report+json"
#define FWS_FLEET_LEADER "sequencer" /* the store leadership the sequencing server holds */

/* ---- configuration (DEPLOY/fleet.json) ------------------------------------------------------ */

typedef struct fws_fleet_config {
    int64_t release_quarantine; /* seconds a new release waits before a rollout of it starts */
    uint32_t success_threshold; /* defaults for new rollouts, percent */
    uint32_t failure_threshold;
    size_t n_recovery; /* "P/V" of releases quarantined devices may be offered */
    char recovery[FWS_FLEET_RECOVERY_MAX][FWS_STORE_NAME_MAX + FWS_STORE_VERSION_MAX + 2];
} fws_fleet_config;

/* {"format": "fwseal-fleet/v1", "releaseQuarantine": "1h", "successThreshold": 95,
 *  "failureThreshold": 5, "recovery": ["hub/1.0.1"]}, every field optional. A missing file
 * gives the defaults: a one-hour quarantine, 95 and 5 percent, no recovery release.
 * FWS_ERR_FORMAT / FWS_ERR_SCHEMA naming the field. */
fws_err fws_fleet_config_load(const char *deploy, fws_fleet_config *out,
                              fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- the rollout state machine (a table: docs/FLEET.md) ------------------------------------ */

typedef enum fws_rollout_event {
    FWS_ROLLOUT_EV_NONE = 0,
    FWS_ROLLOUT_EV_START,      /* the release's quarantine period is over */
    FWS_ROLLOUT_EV_ADVANCE,    /* the current stage reached the success threshold */
    FWS_ROLLOUT_EV_COMPLETE,   /* the last stage: every selected device has an outcome */
    FWS_ROLLOUT_EV_AUTO_PAUSE, /* failures passed the failure threshold */
    FWS_ROLLOUT_EV_PAUSE,      /* an operator paused it */
    FWS_ROLLOUT_EV_RESUME,     /* an operator resumed it */
    FWS_ROLLOUT_EV_CANCEL,     /* an operator cancelled it */
    FWS_ROLLOUT_EV_REVOKED,    /* its release was revoked */
    FWS_ROLLOUT_EV_COUNT
} fws_rollout_event;

typedef enum fws_rollout_action {
    FWS_ROLLOUT_ACT_STATE = 1,   /* change the state */
    FWS_ROLLOUT_ACT_ADVANCE = 2, /* move to the next stage (state unchanged) */
} fws_rollout_action;

typedef struct fws_rollout_step {
    fws_store_rollout_state to;
    fws_rollout_action action;
    int alert; /* 1: raise an alert about it */
} fws_rollout_step;

const char *fws_rollout_event_name(fws_rollout_event e);
/* The table's transition for event e in state s; FWS_ERR_STATE when the table has none. */
fws_err fws_rollout_transition(fws_store_rollout_state s, fws_rollout_event e,
                               fws_rollout_step *out) FWS_MUST_CHECK;

/* What the controller knows about a rollout at one moment. target[i] is the number of selected,
 * eligible devices whose bucket falls in stage i; fresh_failures the failures recorded since
 * the rollout last changed state or stage (an operator's resume forgives the older ones). */
typedef struct fws_rollout_view {
    const fws_store_rollout *r;
    uint64_t target[FWS_STORE_MAX_STAGES];
    uint64_t fresh_failures;
    int64_t quarantine_until; /* of its release */
    int release_revoked;
    int64_t now;
} fws_rollout_view;

/* The event the controller should apply now (FWS_ROLLOUT_EV_NONE when nothing is due), by
 * priority: revoked release, end of the quarantine period, failures over the threshold, the
 * last stage complete, the current stage over the success threshold. *why (optional, cap
 * bytes) says why in one line. */
fws_rollout_event fws_rollout_decide(const fws_rollout_view *v, char *why, size_t cap);

/* The stage (0-based) a device falls in for a rollout: its bucket is the first 32 bits of
 * SHA-256("fwseal-rollout\0" || rollout ID as 8 big-endian bytes || device ID) modulo 10000,
 * and it belongs to the first stage whose percent * 100 is above it. -1 when it falls beyond
 * the last stage. */
int fws_rollout_stage_of(const fws_store_rollout *r, const char *device_id);

/* A parsed rollout selector: each list NULL-free, sorted; a list with n == 0 is absent (any). */
typedef struct fws_fleet_selector {
    json_t *doc; /* owns the strings below */
    const char **models, **regions, **groups, **devices;
    size_t n_models, n_regions, n_groups, n_devices;
} fws_fleet_selector;
fws_err fws_fleet_selector_parse(const char *canonical, fws_fleet_selector *out,
                                 fws_errbuf *eb) FWS_MUST_CHECK;
void fws_fleet_selector_free(fws_fleet_selector *s);
/* 1 when the device matches every list present. */
int fws_fleet_selector_match(const fws_fleet_selector *s, const fws_store_device *d);

/* ---- reports ------------------------------------------------------------------------------- */

/* A device report's payload (docs/AGENT.md "Reports"), checked. */
typedef struct fws_fleet_report {
    fws_store_report_kind kind;
    char id[FWS_STORE_ID_MAX + 32];
    uint64_t seq;
    char device[FWS_STORE_ID_MAX + 1];
    char product[FWS_STORE_NAME_MAX + 1];
    char from_version[FWS_STORE_VERSION_MAX + 1];
    char to_version[FWS_STORE_VERSION_MAX + 1];
    char target[FWS_STORE_TARGET_MAX + 1];
    uint8_t sha256[32];
    uint64_t length;
    int success; /* result "success" */
    char reason[4097];
    char time[32];
} fws_fleet_report;

/* Parses and checks a report payload (JSON text, unverified): every field the agent writes,
 * no unknown field, the right types and caps. FWS_ERR_FORMAT, FWS_ERR_SCHEMA naming the field. */
fws_err fws_fleet_report_parse(const uint8_t *unverified, size_t len, fws_fleet_report *out,
                               fws_errbuf *eb) FWS_MUST_CHECK;
/* The ledger record a report becomes (canonical JSON, malloc'd, validated with
 * fws_record_validate): install -> "install" (result success), rollback -> "rollback",
 * verification-failure -> "install" with result "failure". The record is a function of the
 * report alone, so sequencing it again after a crash gives the same bytes (and the ledger
 * returns the index it already has). */
fws_err fws_fleet_report_record(const fws_fleet_report *r, char **record, size_t *len,
                                fws_errbuf *eb) FWS_MUST_CHECK;
/* Verifies a report envelope with the device's public key and parses its payload (device_pub
 * NULL: no signature check, for bodies the store accepted after checking them). Errors:
 * FWS_ERR_FORMAT / FWS_ERR_SCHEMA (the envelope or payload), FWS_ERR_KEY_MISMATCH /
 * FWS_ERR_SIGNATURE (not signed by this key). */
fws_err fws_fleet_report_open(const uint8_t *unverified, size_t len, const fws_key *device_pub,
                              fws_fleet_report *out, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- releases ------------------------------------------------------------------------------ */

/* Imports DEPLOY/releases.json into the store: releases not known yet are added with
 * quarantine_until = their publication time + cfg->release_quarantine and recovery set when
 * cfg names them; releases revoked in the index are revoked in the store. *added (optional)
 * receives how many were added. */
fws_err fws_fleet_sync_releases(fws_store *s, const char *deploy, const fws_fleet_config *cfg,
                                size_t *added, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- rollouts (operator actions, shared by the API and the command line) -------------------- */

typedef struct fws_fleet_rollout_req {
    const char *release;     /* "P/V" or the release's target path */
    const uint32_t *percent; /* n_stages strictly increasing percentages, 1..100 */
    size_t n_stages;
    uint32_t success_threshold; /* percent */
    uint32_t failure_threshold;
    const char *selector; /* JSON object (models, regions, groups, devices), NULL: everyone */
    int64_t quarantine;   /* >= 0: the release's quarantine ends this many seconds after its
                             publication (an operator's override); -1: keep it */
} fws_fleet_rollout_req;

/* Creates a pending rollout (it starts when its release's quarantine period is over).
 * FWS_ERR_NOT_FOUND for an unknown release, FWS_ERR_STATE for a revoked one, FWS_ERR_ARG /
 * FWS_ERR_SCHEMA for bad stages, thresholds or selector. */
fws_err fws_fleet_rollout_create(fws_store *s, const fws_fleet_rollout_req *req, int64_t now,
                                 int64_t *id, fws_errbuf *eb) FWS_MUST_CHECK;
/* An operator's pause, resume or cancel, through the table. FWS_ERR_STATE when the table
 * forbids it ("rollout 3 is completed: cannot resume"), FWS_ERR_NOT_FOUND. */
fws_err fws_fleet_rollout_act(fws_store *s, int64_t id, fws_rollout_event e, int64_t now,
                              fws_errbuf *eb) FWS_MUST_CHECK;
/* A rollout as JSON (new reference): id, release, state, stages with counters, thresholds,
 * selector, times. */
fws_err fws_fleet_rollout_json(fws_store *s, int64_t id, json_t **out,
                               fws_errbuf *eb) FWS_MUST_CHECK;
/* One controller pass over every pending, running and paused rollout: applies
 * fws_rollout_decide's event to each, raising an alert for automatic pauses and cancellations.
 * deploy (optional) gives the release index, so that devices whose model the release does not
 * name are not counted. *changed (optional) receives how many rollouts moved. */
fws_err fws_fleet_rollouts_tick(fws_store *s, const char *deploy, int64_t now, size_t *changed,
                                fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- devices ------------------------------------------------------------------------------- */

/* Adds a device the PKI inventory knows (p, with its lock held by the caller) to the store,
 * when the store does not know it yet (its first contact with a server does the same). */
struct fws_pki;
fws_err fws_fleet_device_register(fws_store *s, struct fws_pki *p, const char *device_id,
                                  int64_t now, fws_errbuf *eb) FWS_MUST_CHECK;

/* Adds every device of environment env (0: all) that the PKI inventory knows and the store does
 * not, in one transaction, so that rollouts count devices that have not called in yet.
 * *added (optional) receives how many were added. */
fws_err fws_fleet_sync_devices(fws_store *s, struct fws_pki *p, int env, int64_t now, size_t *added,
                               fws_errbuf *eb) FWS_MUST_CHECK;

/* Quarantines a device (quarantine = 1) or releases it (0): its status changes through the
 * store's table and *record receives the ledger's "quarantine" record (action begin or end,
 * reason, canonical JSON, malloc'd) for the caller to append. FWS_ERR_STATE when the status
 * cannot change that way, FWS_ERR_NOT_FOUND. */
fws_err fws_fleet_device_quarantine(fws_store *s, const char *device_id, int quarantine,
                                    const char *reason, int64_t now, char **record, size_t *len,
                                    fws_errbuf *eb) FWS_MUST_CHECK;

/* Appends one record to the deployment's ledger from outside the server: opens the ledger
 * (waiting up to 10 s for its lock, which a running server gives back when idle), signs and
 * publishes a checkpoint. pp unlocks the ledger key. */
fws_err fws_fleet_ledger_append_local(const char *deploy, const fws_passphrase *pp,
                                      const char *record, size_t len, uint64_t *index,
                                      fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- the server module ---------------------------------------------------------------------- */

/* Registers the fleet's routes and starts its sequencer with the server (server.h, Modules). */
fws_err fws_fleet_register(struct fws_server *srv, fws_errbuf *eb) FWS_MUST_CHECK;

/* Makes the assignment key when it is missing (keys/assignment.pem, encrypted with pp, and
 * keys/assignment.pub); *created (optional) is set to 1 when it was made. */
fws_err fws_fleet_assignment_key_ensure(const char *deploy, const fws_passphrase *pp, int *created,
                                        fws_errbuf *eb) FWS_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
