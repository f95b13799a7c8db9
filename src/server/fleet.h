/* Internals of the fleet module (src/server/fleet*.c, rollout*.c, assign*.c, report*.c,
 * sequencer*.c). */
#ifndef FWSEAL_SERVER_FLEET_H
#define FWSEAL_SERVER_FLEET_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "fwseal/attest.h"
#include "fwseal/fleet.h"
#include "fwseal/server.h"

#define FLEET_PATH_MAX 4352
#define FLEET_SKIP_MAX 4096   /* reports the sequencer set aside (their record is already in) */
#define FLEET_PAGE 128        /* reports the sequencer reads at once */
#define FLEET_TICK_MS 200     /* the sequencer's pause between passes when idle */
#define FLEET_CONTROL_MS 1000 /* how often the leader runs the rollout controller */
#define FLEET_DEVICES_MS 5000 /* how often it imports new devices from the PKI inventory */

#define FLEET_ATTEST_NONCES 1024   /* attestation nonces outstanding at once */
#define FLEET_ATTEST_NONCE_TTL 300 /* seconds an attestation nonce stays good */
#define FLEET_ATTEST_REASON_MAX 256

/* One issued attestation nonce (single use). */
typedef struct fleet_nonce {
    char device[FWS_STORE_ID_MAX + 1]; /* "" when the slot is free */
    uint8_t nonce[FWS_ATTEST_NONCE_LEN];
    int64_t expires;
} fleet_nonce;

/* DEPLOY/attestation.json (docs/ATTESTATION.md, "Server gating"). */
typedef struct fleet_attest {
    int configured; /* the file exists */
    int require;    /* requireForUpdates */
    fws_attest_policy policy;
    pthread_mutex_t mu; /* nonces */
    fleet_nonce nonces[FLEET_ATTEST_NONCES];
} fleet_attest;

typedef struct fleet_metrics {
    fws_metric *assignments, *assign_targets, *reports_new, *reports_dup, *reports_refused;
    fws_metric *sequenced, *leader, *rollout_moves;
} fleet_metrics;

typedef struct fleet {
    fws_server *srv;
    char deploy[4096];
    char store_url[FWS_STORE_PATH_MAX];
    fws_fleet_config cfg;
    int have_signer;
    fws_signer signer; /* the assignment key */
    fleet_metrics m;
    fleet_attest *attest; /* never NULL once set up */

    pthread_mutex_t mu; /* index, index_mtime */
    json_t *index;      /* releases.json's list */
    struct timespec index_mtime;

    /* the sequencer thread */
    pthread_t thread;
    _Atomic int started;
    _Atomic int stop;
    fws_store *own; /* PostgreSQL: its own handle (leadership lives on it) */
    int leader;
    int64_t skip[FLEET_SKIP_MAX];
    size_t n_skip;
    uint64_t last_control_ms, last_devices_ms;
    struct fleet *next; /* the list of live modules */
} fleet;

/* fleet_config.c */
int fleet_config_is_recovery(const fws_fleet_config *c, const char *product, const char *version);
fws_err fleet_releases_read(const char *deploy, json_t **out, fws_errbuf *eb) FWS_MUST_CHECK;
int fleet_release_fits(const json_t *index, const char *target, const char *model);

/* fleet.c: the release index (reloaded when releases.json changes); a new reference. */
json_t *fleet_index(fleet *f);
/* The calling device's store record, registered from the PKI inventory the first time. */
fws_err fleet_device_load(fleet *f, fws_req *req, fws_store_device *out,
                          fws_errbuf *eb) FWS_MUST_CHECK;
/* The calling device's public key, from its verified client certificate. */
fws_err fleet_device_key(const fws_req *req, fws_key **out, fws_errbuf *eb) FWS_MUST_CHECK;
/* Answers an error with a precise code: status, short code, message. */
fws_err fleet_fail(fws_resp *resp, int status, const char *code, fws_err err, const fws_errbuf *eb);

/* assign.c, report.c, fleet_api.c, rollout_api.c: route registration. */
fws_err fleet_assign_routes(fleet *f, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fleet_report_routes(fleet *f, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fleet_api_routes(fleet *f, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fleet_rollout_routes(fleet *f, fws_errbuf *eb) FWS_MUST_CHECK;

/* assign.c: what a device should run, decided in the store (membership taken when new).
 * target receives "" for "stay". */
fws_err fleet_decide(fleet *f, fws_store *s, const fws_store_device *d, int64_t now,
                     char target[FWS_STORE_TARGET_MAX + 1], uint64_t *seq,
                     fws_errbuf *eb) FWS_MUST_CHECK;

/* assign.c: 1 when a device in this status may be given rollouts. */
int fleet_device_eligible(const fws_store_device *d);

/* fleet_attest.c: the policy (a missing file: attestation not configured) and the routes. */
fws_err fleet_attest_setup(fleet *f, fws_errbuf *eb) FWS_MUST_CHECK;
void fleet_attest_free(fleet *f);
fws_err fleet_attest_routes(fleet *f, fws_errbuf *eb) FWS_MUST_CHECK;
/* fleet_attest_gate.c: the device's latest attestation report as a result; *found = 0 when
 * none is among its recent reports. */
fws_err fleet_attest_last(fws_store *s, const char *device_id, fws_attest_result *out, int *found,
                          fws_errbuf *eb) FWS_MUST_CHECK;
/* When the policy requires attestation for updates: *blocked = 1 and reason filled when the
 * device (active or provisioned) may not be offered a normal update now. */
fws_err fleet_attest_gate(fleet *f, fws_store *s, const fws_store_device *d, int64_t now,
                          int *blocked, char reason[FLEET_ATTEST_REASON_MAX],
                          fws_errbuf *eb) FWS_MUST_CHECK;

/* sequencer.c */
void fleet_sequencer_start(fleet *f);
void fleet_sequencer_stop(fleet *f);
/* One pass: sequences the reports waiting (up to a few pages); *done receives how many. */
fws_err fleet_sequence_pass(fleet *f, size_t *done, fws_errbuf *eb) FWS_MUST_CHECK;

/* fleet_device.c: a ledger record appended through the server (this process must be able to
 * take the ledger). */
fws_err fleet_ledger_append(fleet *f, const char *record, size_t len, uint64_t *index,
                            fws_errbuf *eb) FWS_MUST_CHECK;

#endif
