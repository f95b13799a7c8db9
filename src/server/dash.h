/* The dashboard module of `fwseal serve` (src/server/dash*.c): the JSON endpoints web/ needs
 * (fleet overview, devices and their ledger history with a tlog-proof for each event,
 * releases with their notes, the log's key) and the alert engine (alert*.c).
 * docs/DASHBOARD.md describes the endpoints. */
#ifndef FWSEAL_SERVER_DASH_H
#define FWSEAL_SERVER_DASH_H

#include <stdint.h>
#include <jansson.h>
#include "fwseal/server.h"
#include "fwseal/ledger.h"
#include "fwseal/tiles.h"
#include "fwseal/tlogproof.h"
#include "server/alert.h"

#define DASH_HISTORY_MAX 512          /* ledger events on one device page */
#define DASH_SCAN_MAX 200000          /* devices the overview counts */
#define DASH_VERSIONS_MAX 64          /* distinct versions listed (the rest are "other") */
#define DASH_RELEASES_MAX (16u << 20) /* releases.json */

typedef struct dash {
    fws_server *srv;
    alert_engine *alerts;
    char deploy[4096];
    char ledger_dir[4200];
    fws_ratelimit *public_limit; /* public dashboard routes, per client address */
} dash;

/* The registration function (server.h, "Modules"): the dashboard's routes and the alert
 * engine. */
fws_err fws_dash_register(fws_server *srv, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- the ledger (dash_ledger.c) ---- */

/* Reads the log's current signed checkpoint and opens its tiles, to prove entries. */
typedef struct dash_prover {
    fws_tile_dir dir;
    fws_tile_source src;
    fws_tlog *log;
    char checkpoint[FWS_NOTE_MAX + 1];
    size_t checkpoint_len;
    uint64_t size; /* the signed checkpoint's tree size */
    uint8_t root[32];
    char origin[FWS_CHECKPOINT_ORIGIN_MAX + 1];
    uint8_t *entry; /* FWS_ENTRY_MAX bytes */
    char *proof;    /* FWS_TLOG_PROOF_MAX + 1 bytes */
} dash_prover;

fws_err dash_prover_open(dash_prover *p, const char *ledger_dir, fws_errbuf *eb) FWS_MUST_CHECK;
void dash_prover_close(dash_prover *p);
/* {"index", "type", "time", "record" (object), "entry" (the exact bytes as a string),
 * "proof" (a c2sp.org/tlog-proof@v1 file for the signed checkpoint, or null when the entry
 * is newer than it)}; the tiles' proof is checked against the checkpoint's root first. */
fws_err dash_event(dash_prover *p, uint64_t index, json_t **out, fws_errbuf *eb) FWS_MUST_CHECK;
/* The deployment's ledger directory, as `fwseal serve` finds it. */
fws_err dash_ledger_dir(const char *deploy, char *out, size_t cap, fws_errbuf *eb) FWS_MUST_CHECK;
/* {"origin", "vkey", "size", "checkpoint"}: what a browser needs to verify proofs. */
fws_err dash_log_json(const char *ledger_dir, json_t **out, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- routes ---- */
fws_err dash_api_routes(dash *d, fws_errbuf *eb) FWS_MUST_CHECK;     /* dash_api.c */
fws_err dash_device_routes(dash *d, fws_errbuf *eb) FWS_MUST_CHECK;  /* dash_device.c */
fws_err dash_release_routes(dash *d, fws_errbuf *eb) FWS_MUST_CHECK; /* dash_release.c */

/* ?name=N within min..max into *out (left alone when absent). */
fws_err dash_query_int(const fws_req *req, const char *name, int64_t min, int64_t max, int64_t *out,
                       fws_errbuf *eb) FWS_MUST_CHECK;

#endif
