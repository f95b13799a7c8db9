/* Internals of the audit module: the report being filled, the indexes built from the ledger and
 * the inventory, and the phases. */
#ifndef FWSEAL_AUDIT_INTERNAL_H
#define FWSEAL_AUDIT_INTERNAL_H

#include <pthread.h>
#include <stdio.h>
#include "fwseal/audit.h"
#include "fwseal/crypto.h"
#include "fwseal/ledger.h"
#include "fwseal/tiles.h"

#define AU_PHASES_MAX 8
#define AU_KEY_LEN 16 /* device keys: the first 16 bytes of SHA-256(device ID) */

typedef struct au_check_count {
    char check[FWS_AUDIT_CHECK_MAX];
    fws_audit_level level;
    uint64_t count;
} au_check_count;

typedef struct au_phase {
    char name[24];
    double seconds;
} au_phase;

/* Firmware seen in the fleet, for the report's chart. */
typedef struct au_fw_count {
    char label[FWS_AUDIT_SUBJECT_MAX];
    uint64_t devices;
} au_fw_count;

struct fws_audit_report {
    pthread_mutex_t lock;
    fws_audit_finding *findings;
    size_t n_findings, cap_findings;
    au_check_count checks[64];
    size_t n_checks;
    uint64_t level_count[3];
    au_phase phases[AU_PHASES_MAX];
    size_t n_phases;
    char deploy[512];
    char origin[FWS_CHECKPOINT_ORIGIN_MAX + 1];
    int64_t now;
    unsigned expiry_days;
    /* statistics */
    uint64_t tree_size, records, releases, devices, reports, reports_verified, certs, crls;
    uint64_t reports_remembered; /* of reports_verified: signatures the state remembered */
    uint64_t expiry_hist[13]; /* valid certificates by months until expiry (12: a year or more) */
    au_fw_count fw[16];       /* devices per firmware (15 largest, then "other") */
    size_t n_fw;
};

/* Adds a finding (thread-safe). Findings beyond FWS_AUDIT_KEEP_PER_CHECK for a check are only
 * counted. */
void au_flag(fws_audit_report *r, fws_audit_level level, const char *check, const char *subject,
             const char *fmt, ...) FWS_PRINTF(5, 6);
fws_err au_report_new(fws_audit_report **out);
void au_phase_done(fws_audit_report *r, const char *name, double seconds);
double au_clock(void);

/* ---- what the ledger says -------------------------------------------------------------------- */

typedef struct au_release {
    uint8_t sha256[32];
    char product[FWS_RECORD_ID_MAX + 1];
    char version[FWS_RECORD_VERSION_MAX + 1];
    uint64_t index;
    int revoked;
    int has_sbom, has_prov;
    uint8_t sbom[32], prov[32];
} au_release;

typedef struct au_devrec {
    uint8_t key[AU_KEY_LEN];
    uint8_t cert[32]; /* certificate SHA-256 of the latest provision record */
    uint64_t index;
    int revoked; /* a revoke record names the device */
} au_devrec;

typedef struct au_install {
    uint64_t index;
    uint8_t key[AU_KEY_LEN];
    uint8_t image[32];
} au_install;

typedef struct au_ledger {
    au_release *rel;
    size_t n_rel, cap_rel;
    au_devrec *dev;
    size_t n_dev, cap_dev;
    au_install *inst;
    size_t n_inst, cap_inst;
    uint64_t tree_size;
    uint8_t root[32];
} au_ledger;

void au_device_key(const char *id, uint8_t key[AU_KEY_LEN]);
void au_ledger_free(au_ledger *l);
const au_release *au_release_by_digest(const au_ledger *l, const uint8_t sha256[32]);
const au_devrec *au_devrec_find(const au_ledger *l, const uint8_t key[AU_KEY_LEN]);
const au_install *au_install_at(const au_ledger *l, uint64_t index);

/* Decodes 64 hex digits of a record field. */
int au_hex32(const char *hex, size_t len, uint8_t out[32]);

/* ---- device keys from the inventory -----------------------------------------------------------
 */

typedef struct au_cert {
    uint8_t key[AU_KEY_LEN]; /* the device */
    char serial[33];
    uint8_t sha256[32];
    int env, kind, status;
    int64_t not_before, not_after, revoked_at;
    uint8_t spki_sha256[32]; /* the key's ID in a DSSE signature */
    uint8_t pub[FWS_PUBKEY_MAX];
    uint8_t pub_len;
    uint8_t pub_type; /* fws_key_type, 0 when the key could not be read */
} au_cert;

typedef struct au_inventory {
    au_cert *certs; /* sorted by device key, newest first within a device */
    size_t n, cap;
    int present;
} au_inventory;

void au_inventory_free(au_inventory *inv);
/* The certificates of a device: *n of them from *first (0 when none). */
void au_inventory_device(const au_inventory *inv, const uint8_t key[AU_KEY_LEN],
                         const au_cert **first, size_t *n);

/* The SubjectPublicKeyInfo of a DER certificate, located without allocating. */
fws_err au_cert_spki(const uint8_t *der, size_t len, const uint8_t **spki, size_t *spki_len);
/* A P-256 or Ed25519 SPKI of the usual encoding: raw public key bytes and type. */
int au_spki_raw(const uint8_t *spki, size_t len, uint8_t *pub, uint8_t *pub_len, uint8_t *type);

/* ---- phases ------------------------------------------------------------------------------------
 */

typedef struct au_vcache au_vcache;

typedef struct au_ctx {
    const fws_audit_opts *o;
    fws_audit_report *r;
    au_ledger ledger;
    au_inventory inv;
    char ledger_dir[4096];
    char cp_text[FWS_NOTE_MAX]; /* the checkpoint this audit verified */
    size_t cp_len;              /* 0 when the ledger failed */
    int ledger_red;             /* the ledger phase raised a red flag */
    au_vcache *vcache;          /* remembered report signatures (with --state), or NULL */
} au_ctx;

fws_err au_phase_ledger(au_ctx *c, fws_errbuf *eb);
fws_err au_scan_entries(au_ctx *c, fws_tlog *t, uint64_t size, fws_errbuf *eb);
fws_err au_save_state(const au_ctx *c, fws_errbuf *eb);
fws_err au_phase_releases(au_ctx *c, fws_errbuf *eb);
fws_err au_phase_pki(au_ctx *c, fws_errbuf *eb);
fws_err au_phase_fleet(au_ctx *c, fws_errbuf *eb);

/* Reads a JSON file into a new reference (capped). */
fws_err au_json_file(const char *path, size_t max, json_t **out, fws_errbuf *eb);
int au_path(char *out, size_t cap, const char *a, const char *b);
/* Removes a directory tree (temporary directories only). */
void au_rmtree(const char *dir);

#endif
