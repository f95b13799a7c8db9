/* The fleet phase's pieces: report jobs and the verification pool. */
#ifndef FWSEAL_AUDIT_FLEET_H
#define FWSEAL_AUDIT_FLEET_H

#include "audit/internal.h"

#define AU_POOL_MAX 64
#define AU_JOB_KEYS 8 /* device keys tried for one report */

typedef struct au_job au_job;
struct au_job {
    int64_t id;
    char device[FWS_AUDIT_SUBJECT_MAX];
    uint8_t key[AU_KEY_LEN];
    char kind[24];
    uint8_t *body; /* owned */
    size_t len;
    int64_t received_at;
    int64_t ledger_index;
    int64_t revoked_at;   /* 0: the device's certificates are not revoked */
    const au_cert *certs; /* borrowed from the inventory */
    size_t n_certs;
    au_job *next; /* the next job of a batch */
};

typedef struct au_pool au_pool;

typedef enum au_check {
    AU_REPORT_OK = 0,
    AU_REPORT_MALFORMED,     /* not a report envelope */
    AU_REPORT_NO_KEY,        /* the inventory holds no key for the device */
    AU_REPORT_BAD_SIGNATURE, /* no signature by one of the device's keys */
} au_check;

/* ---- the auditor's memory of verified report signatures (vcache.c) ---- */
#define AU_TAG_LEN 16
/* Opens (creating its secret when needed) the cache of the ledger named origin in state_dir. */
fws_err au_vcache_open(const char *state_dir, const char *origin, au_vcache **out, fws_errbuf *eb);
void au_vcache_tag(const au_vcache *v, const uint8_t spki_sha256[32], const uint8_t body_sha256[32],
                   uint8_t tag[AU_TAG_LEN]);
/* 1 when the tag was remembered (and marks it used). Thread-safe. */
int au_vcache_hit(au_vcache *v, const uint8_t tag[AU_TAG_LEN]);
/* Remembers a tag verified in this audit. Thread-safe. */
void au_vcache_add(au_vcache *v, const uint8_t tag[AU_TAG_LEN]);
uint64_t au_vcache_hits(const au_vcache *v);
/* Writes the used and added tags back (atomically). */
fws_err au_vcache_save(au_vcache *v, fws_errbuf *eb);
void au_vcache_free(au_vcache *v);

#define AU_PAYLOAD_MAX 16384
/* Checks a report's envelope and signature (a signature the cache vc remembers is not verified
 * again; vc may be NULL); payload (AU_PAYLOAD_MAX bytes) receives the signed payload on
 * success. Thread-safe. */
au_check au_report_check(const au_job *j, au_vcache *vc, uint8_t *payload, size_t *payload_len);

fws_err au_pool_start(au_ctx *c, unsigned threads, au_pool **out);
/* Takes ownership of j; blocks while the queue is full. */
void au_pool_submit(au_pool *p, au_job *j);
/* Waits for every job, stops the threads, frees the pool; returns how many signatures verified. */
uint64_t au_pool_finish(au_pool *p);
void au_job_free(au_job *j);

#endif
