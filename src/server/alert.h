/* Internals of the alert engine (src/server/alert*.c): its configuration (DEPLOY/alerts.json),
 * the event statistics it keeps by following the ledger, the rules, and the delivery of alerts
 * to a webhook or a command. docs/DASHBOARD.md describes the rules and the configuration.
 *
 * The engine runs on its own thread with its own store handle. Every second it follows the
 * ledger (new install, rollback and quarantine records feed the statistics and the spike
 * rules) and delivers the alerts it has not delivered yet; every interval it runs the slower
 * rules (certificates, update sizes, devices' attestations and reboots, the log monitor) and
 * refreshes the fwseal_alerts_active gauges. With several servers on one database only the
 * holder of the store leadership "alerts" raises and delivers. */
#ifndef FWSEAL_SERVER_ALERT_H
#define FWSEAL_SERVER_ALERT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <jansson.h>
#include "fwseal/server.h"
#include "fwseal/store.h"

/* ---- kinds -------------------------------------------------------------------------------- */

typedef enum alert_kind {
    ALERT_CERT_EXPIRY = 0, /* "certificate-expiry" */
    ALERT_VERIFY_SPIKE,    /* "verification-failure-spike" */
    ALERT_ROLLBACK_SPIKE,  /* "rollback-spike" */
    ALERT_UPDATE_SIZE,     /* "update-size" */
    ALERT_REBOOT,          /* "unexpected-reboot" */
    ALERT_LOG_FORK,        /* "log-fork" */
    ALERT_ATTEST_FAIL,     /* "attestation-failed" */
    ALERT_OTHER,           /* any other kind (rollout pauses raised by the fleet, ...) */
    ALERT_KIND_COUNT
} alert_kind;

const char *alert_kind_name(alert_kind k);
/* The kind named, or ALERT_OTHER. */
alert_kind alert_kind_of(const char *name);
/* 1 when name may be a stored alert kind: 1..64 bytes of [a-z0-9-]. */
int alert_kind_valid(const char *name);

/* ---- configuration ------------------------------------------------------------------------ */

#define ALERT_CONFIG_MAX (64u * 1024) /* alerts.json */
#define ALERT_URL_MAX 1024
#define ALERT_HEADER_MAX 1024
#define ALERT_ARGV_MAX 16
#define ALERT_ARG_MAX 1024

typedef struct alert_spike_rule {
    int enabled;
    int64_t window;     /* seconds */
    uint32_t threshold; /* events in the window that raise it at least */
    uint32_t factor;    /* and at least factor times the mean of the previous 24 windows */
} alert_spike_rule;

typedef struct alert_config {
    int64_t interval; /* seconds between passes of the slower rules */
    int cert_enabled;
    int64_t cert_warn; /* seconds before expiry */
    alert_spike_rule verify, rollback, reboot;
    int size_enabled;
    uint32_t size_factor;  /* a release more than factor times larger or smaller than */
    uint32_t size_history; /* the median of the product's previous releases (at least 1) */
    int fork_enabled, attest_enabled;
    uint64_t backfill;                   /* ledger entries read at start for the statistics */
    char webhook[ALERT_URL_MAX];         /* "" for none: http:// or https:// */
    char webhook_auth[ALERT_HEADER_MAX]; /* Authorization header value, or "" */
    char webhook_ca[ALERT_URL_MAX];      /* CA file for https, or "" for the system's */
    int64_t timeout_ms;                  /* per delivery */
    char command[ALERT_ARGV_MAX][ALERT_ARG_MAX]; /* argv; n_command 0 for none */
    size_t n_command;
} alert_config;

void alert_config_defaults(alert_config *c);
/* Parses alerts.json text over the defaults. FWS_ERR_FORMAT (not JSON), FWS_ERR_SCHEMA naming
 * the field. */
fws_err alert_config_parse(const char *text, size_t len, alert_config *out,
                           fws_errbuf *eb) FWS_MUST_CHECK;
/* DEPLOY/alerts.json; a missing file gives the defaults. */
fws_err alert_config_load(const char *deploy, alert_config *out, fws_errbuf *eb) FWS_MUST_CHECK;
/* "90s", "15m", "2h", "30d" or a number of seconds; 1 .. 100 years. */
fws_err alert_duration_parse(const char *s, int64_t *out) FWS_MUST_CHECK;
/* The configuration as JSON for the dashboard (no secrets: the webhook's credentials are
 * left out). */
json_t *alert_config_json(const alert_config *c);

/* ---- event statistics ---------------------------------------------------------------------- */

typedef enum alert_event {
    ALERT_EV_INSTALL_OK = 0,
    ALERT_EV_INSTALL_FAIL, /* an install record with result failure: a verification failure */
    ALERT_EV_ROLLBACK,
    ALERT_EV_QUARANTINE, /* a quarantine record, action begin */
    ALERT_EV_COUNT
} alert_event;

#define ALERT_PRODUCTS_MAX 32
#define ALERT_MINUTES 2880 /* minute buckets: 48 hours */
#define ALERT_HOURS 720    /* hour buckets: 30 days */

typedef struct alert_series {
    char product[FWS_STORE_NAME_MAX + 1];
    int64_t minute_stamp[ALERT_MINUTES]; /* the absolute minute a bucket holds, -1: none */
    uint32_t minute[ALERT_MINUTES][ALERT_EV_COUNT];
    int64_t hour_stamp[ALERT_HOURS];
    uint32_t hour[ALERT_HOURS][ALERT_EV_COUNT];
    uint64_t total[ALERT_EV_COUNT];
} alert_series;

typedef struct alert_stats {
    pthread_mutex_t mu;
    alert_series series[ALERT_PRODUCTS_MAX]; /* the last one takes every further product */
    size_t n;
    uint64_t next_index; /* the next ledger entry to read */
    uint64_t ledger_size;
    uint64_t by_type[9]; /* records read, by fws_record_type */
    int64_t last_read;   /* when the follower last caught up */
} alert_stats;

alert_stats *alert_stats_new(void);
void alert_stats_free(alert_stats *s);
/* Counts one event of product at time t (seconds); times more than 5 minutes ahead of now
 * count as now. */
void alert_stats_add(alert_stats *s, const char *product, alert_event ev, int64_t t, int64_t now);
/* Events of product (NULL: every product) with from <= time < to, at minute resolution
 * within the last 48 hours (older minutes are gone). */
uint64_t alert_stats_count(alert_stats *s, const char *product, alert_event ev, int64_t from,
                           int64_t to);
/* Counts one ledger record (canonical JSON); unknown shapes are ignored. */
void alert_stats_record(alert_stats *s, const uint8_t *rec, size_t len, int64_t now);
/* Reads new entries of the ledger in dir, at most max of them (starting, the first time, at
 * most backfill entries before the end). *read receives how many were read. */
fws_err alert_stats_follow(alert_stats *s, const char *dir, uint64_t backfill, size_t max,
                           int64_t now, size_t *read, fws_errbuf *eb) FWS_MUST_CHECK;
/* {"hours": [{"t", "installs", "failures", "rollbacks", "quarantines"}...] (the last `hours`
 * hours, oldest first), "products": [...], "totals": {...}, "ledger": {"size", "read"}}. */
json_t *alert_stats_json(alert_stats *s, unsigned hours, int64_t now);

/* ---- what has been raised (for de-duplication) ----------------------------------------- */

#define ALERT_SEEN_MAX 4096

typedef struct alert_seen {
    size_t n;
    struct {
        char kind[FWS_STORE_NAME_MAX + 1];
        char subject[FWS_STORE_SUBJECT_MAX + 1];
        int64_t time; /* the latest alert of this kind and subject */
        int open;     /* 1 when one of them is not acknowledged */
    } items[ALERT_SEEN_MAX];
} alert_seen;

/* Loads the latest alerts (newest first, up to ALERT_SEEN_MAX distinct kind and subject
 * pairs) and counts the open ones by kind into active (optional). */
fws_err alert_seen_load(fws_store *s, alert_seen *seen, uint64_t active[ALERT_KIND_COUNT],
                        fws_errbuf *eb) FWS_MUST_CHECK;
/* The latest alert time for kind and subject (0: none), and whether one is open. */
int64_t alert_seen_time(const alert_seen *seen, const char *kind, const char *subject, int *open);
void alert_seen_note(alert_seen *seen, const char *kind, const char *subject, int64_t time);

/* ---- rules -------------------------------------------------------------------------------- */

/* What a rule pass hands the engine: the store, what was raised, the time, and a sink. */
typedef struct alert_ctx {
    fws_store *store;
    alert_seen *seen;
    const alert_config *cfg;
    int64_t now;
    size_t raised; /* alerts raised in this pass */
} alert_ctx;

/* Raises an alert (stored with the store's alert API) unless one of the same kind and subject
 * is open, or was raised after not_before. */
fws_err alert_raise(alert_ctx *c, fws_errbuf *eb, alert_kind kind, const char *subject,
                    int64_t not_before, const char *fmt, ...) FWS_PRINTF(6, 7);

/* Spikes of verification failures and rollbacks, per product, from the statistics. */
fws_err alert_rule_spikes(alert_ctx *c, alert_stats *st, fws_errbuf *eb) FWS_MUST_CHECK;
/* The spike test alone: count in the window against the threshold and factor times the mean
 * of the previous 24 windows. */
int alert_spike(const alert_spike_rule *r, uint64_t count, uint64_t previous_24);
/* Releases of DEPLOY/releases.json whose length is far from the product's usual. */
fws_err alert_rule_sizes(alert_ctx *c, const char *deploy, fws_errbuf *eb) FWS_MUST_CHECK;
/* The size test alone: 1 when size is more than factor times above or below median. */
int alert_size_outlier(uint64_t size, uint64_t median, uint32_t factor);
/* Certificates: the server's, each environment's root and intermediate, and devices' current
 * certificates in the PKI inventory. */
fws_err alert_rule_certs(alert_ctx *c, fws_server *srv, fws_errbuf *eb) FWS_MUST_CHECK;
/* A certificate file (PEM, the first certificate) expiring within warn of now. */
fws_err alert_rule_cert_file(alert_ctx *c, const char *path, const char *what,
                             fws_errbuf *eb) FWS_MUST_CHECK;
/* The ledger's monitor: verifies the log's checkpoint and proves it consistent with the one
 * seen before (state in state_dir); a fork raises "log-fork". */
fws_err alert_rule_fork(alert_ctx *c, const char *ledger_dir, const char *state_dir,
                        fws_errbuf *eb) FWS_MUST_CHECK;
/* Devices: failed attestations (the device record) and unexpected reboots (attestation
 * reports since `since` whose flags say so). */
fws_err alert_rule_devices(alert_ctx *c, int64_t since, fws_errbuf *eb) FWS_MUST_CHECK;
/* The flags of an attestation report body (JSON, or a DSSE envelope around it): bit 0
 * unexpected reboot, bit 1 unexpected restart, bit 2 result fail. */
unsigned alert_report_flags(const uint8_t *body, size_t len);

/* ---- delivery ------------------------------------------------------------------------------- */

/* An alert as JSON: {"id", "kind", "subject", "message", "time", "server"}. */
json_t *alert_json(const fws_store_alert *a);
/* POSTs body (JSON) to the configured webhook; FWS_ERR_IO naming the status or the error. */
fws_err alert_post(const alert_config *c, const char *body, size_t len,
                   fws_errbuf *eb) FWS_MUST_CHECK;
/* Runs the configured command with body on its standard input; FWS_ERR_IO for a failure
 * to start, a non-zero exit or a timeout (the command is killed). */
fws_err alert_exec(const alert_config *c, const char *body, size_t len,
                   fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- the engine ----------------------------------------------------------------------------- */

typedef struct alert_engine alert_engine;

/* Starts the engine with the server (registers its metrics and a shutdown hook). */
fws_err alert_engine_start(fws_server *srv, const char *store_url, const char *ledger_dir,
                           alert_engine **out, fws_errbuf *eb) FWS_MUST_CHECK;
/* Asks for a pass now (an alert was raised through the API). */
void alert_engine_poke(alert_engine *e);
alert_stats *alert_engine_stats(alert_engine *e);
const alert_config *alert_engine_config(const alert_engine *e);

/* alert_api.c */
fws_err alert_api_routes(fws_server *srv, alert_engine *e, fws_errbuf *eb) FWS_MUST_CHECK;

#endif
