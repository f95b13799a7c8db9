/* The fleet phase's pieces: report jobs and the verification pool. */
#ifndef FWSEAL_AUDIT_FLEET_H
#define FWSEAL_AUDIT_FLEET_H

#include "audit/internal.h"

#define AU_POOL_MAX 64
#define AU_JOB_KEYS 8 /* device keys tried for one report */

typedef struct au_job {
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
} au_job;

typedef struct au_pool au_pool;

fws_err au_pool_start(au_ctx *c, unsigned threads, au_pool **out);
/* Takes ownership of j; blocks while the queue is full. */
void au_pool_submit(au_pool *p, au_job *j);
/* Waits for every job, stops the threads, frees the pool; returns how many signatures verified. */
uint64_t au_pool_finish(au_pool *p);
void au_job_free(au_job *j);

#endif
