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

#define AU_PAYLOAD_MAX 16384
/* Checks a report's envelope and signature; payload (AU_PAYLOAD_MAX bytes) receives the signed
 * payload on success. Thread-safe. */
au_check au_report_check(const au_job *j, uint8_t *payload, size_t *payload_len);

fws_err au_pool_start(au_ctx *c, unsigned threads, au_pool **out);
/* Takes ownership of j; blocks while the queue is full. */
void au_pool_submit(au_pool *p, au_job *j);
/* Waits for every job, stops the threads, frees the pool; returns how many signatures verified. */
uint64_t au_pool_finish(au_pool *p);
void au_job_free(au_job *j);

#endif
