/* Report signatures are the audit's heaviest work (one public-key verification per report), so
 * they run on a pool of threads fed through a bounded queue while the main thread reads the
 * store. Each job is judged on its own; findings go to the report, which is thread-safe. */
#include <stdlib.h>
#include <string.h>
#include "audit/fleet.h"
#include "fwseal/json.h"

#define QUEUE_CAP 64
#define BATCH 64

struct au_pool {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    au_job *q[QUEUE_CAP];
    size_t head, n;
    int closing;
    pthread_t th[AU_POOL_MAX];
    unsigned n_threads;
    au_ctx *c;
    uint64_t verified;
    au_job *pending; /* the producer's batch, not queued yet */
    size_t n_pending;
};

void au_job_free(au_job *j)
{
    if (j != NULL) {
        free(j->body);
        free(j);
    }
}

/* A string field of a canonical payload, or of any JSON layout through jansson. */
static int payload_str(json_t *doc, const uint8_t *p, size_t len, const char *key, char *out,
                       size_t cap)
{
    const char *v;
    size_t vl;
    int str = 0;
    if (doc != NULL) {
        const char *s = json_string_value(json_object_get(doc, key));
        return s != NULL && strlen(s) < cap && snprintf(out, cap, "%s", s) >= 0;
    }
    if (fws_audit_json_field((const char *)p, len, key, &v, &vl, &str) != FWS_OK || !str ||
        vl >= cap || memchr(v, '\\', vl) != NULL)
        return 0;
    memcpy(out, v, vl);
    out[vl] = '\0';
    return 1;
}

static int payload_digest(json_t *doc, const uint8_t *p, size_t len, uint8_t out[32])
{
    const char *v, *h;
    size_t vl, hl;
    int str = 0;
    if (doc != NULL) {
        h = json_string_value(json_object_get(json_object_get(doc, "image"), "sha256"));
        return h != NULL && au_hex32(h, strlen(h), out);
    }
    return fws_audit_json_field((const char *)p, len, "image", &v, &vl, &str) == FWS_OK && !str &&
           fws_audit_json_field(v, vl, "sha256", &h, &hl, &str) == FWS_OK && str &&
           au_hex32(h, hl, out);
}

static void judge_install(au_ctx *c, const au_job *j, const uint8_t digest[32])
{
    char hex[65];
    if (c->cp_len == 0)
        return;
    if (au_release_by_digest(&c->ledger, digest) == NULL) {
        fws_hex_encode(digest, 32, hex);
        au_flag(c->r, FWS_AUDIT_RED, "unknown-firmware", j->device,
                "report %lld: installed %.16s…, which no release record names", (long long)j->id,
                hex);
    }
    if (j->ledger_index >= 0 && (uint64_t)j->ledger_index >= c->ledger.tree_size) {
        /* sequenced after the checkpoint this audit verified (a running server publishes its
         * checkpoint after the entries): the next audit judges it */
        au_flag(c->r, FWS_AUDIT_NOTE, "report-past-checkpoint", j->device,
                "report %lld: ledger entry %lld is past the audited checkpoint (%llu entries)",
                (long long)j->id, (long long)j->ledger_index,
                (unsigned long long)c->ledger.tree_size);
    } else if (j->ledger_index >= 0) {
        const au_install *in = au_install_at(&c->ledger, (uint64_t)j->ledger_index);
        if (in == NULL || memcmp(in->key, j->key, AU_KEY_LEN) != 0 ||
            memcmp(in->image, digest, 32) != 0)
            au_flag(c->r, FWS_AUDIT_RED, "report-not-in-ledger", j->device,
                    "report %lld: ledger entry %lld is not its install record", (long long)j->id,
                    (long long)j->ledger_index);
    }
}

static void judge_payload(au_ctx *c, const au_job *j, const uint8_t *payload, size_t len)
{
    char dev[FWS_AUDIT_SUBJECT_MAX], type[32];
    uint8_t digest[32];
    json_t *doc = NULL;
    /* canonical payloads (what the agent writes) are read without a parse */
    if (!payload_str(NULL, payload, len, "device", dev, sizeof(dev)) &&
        fws_json_parse(payload, len, 0, NULL, &doc, NULL) != FWS_OK) {
        au_flag(c->r, FWS_AUDIT_RED, "report-malformed", j->device,
                "report %lld: the payload is not JSON", (long long)j->id);
        return;
    }
    if (!payload_str(doc, payload, len, "device", dev, sizeof(dev)) ||
        !payload_str(doc, payload, len, "type", type, sizeof(type))) {
        au_flag(c->r, FWS_AUDIT_RED, "report-malformed", j->device,
                "report %lld: no device or type", (long long)j->id);
    } else if (strcmp(dev, j->device) != 0 || strcmp(type, j->kind) != 0) {
        au_flag(c->r, FWS_AUDIT_RED, "report-device-mismatch", j->device,
                "report %lld says %.32s about device %.64s, but was stored as %s from this device",
                (long long)j->id, type, dev, j->kind);
    } else if (strcmp(type, "install") == 0) {
        if (payload_digest(doc, payload, len, digest))
            judge_install(c, j, digest);
        else
            au_flag(c->r, FWS_AUDIT_RED, "report-malformed", j->device,
                    "report %lld: no image digest", (long long)j->id);
    }
    json_decref(doc);
}

static void judge(au_pool *pool, au_job *j)
{
    static _Thread_local uint8_t payload[AU_PAYLOAD_MAX];
    au_ctx *c = pool->c;
    size_t len = 0;
    if (j->revoked_at > 0 && j->received_at > j->revoked_at)
        au_flag(c->r, FWS_AUDIT_RED, "revoked-still-reporting", j->device,
                "report %lld arrived %lld s after the device's certificates were revoked",
                (long long)j->id, (long long)(j->received_at - j->revoked_at));
    switch (au_report_check(j, c->vcache, payload, &len)) {
    case AU_REPORT_OK:
        __atomic_add_fetch(&pool->verified, 1, __ATOMIC_RELAXED);
        judge_payload(c, j, payload, len);
        break;
    case AU_REPORT_MALFORMED:
        au_flag(c->r, FWS_AUDIT_RED, "forged-report", j->device,
                "report %lld: not a valid report envelope", (long long)j->id);
        break;
    case AU_REPORT_NO_KEY:
        au_flag(c->r, FWS_AUDIT_RED, "report-unverifiable", j->device,
                "report %lld: the inventory holds no key for this device", (long long)j->id);
        break;
    case AU_REPORT_BAD_SIGNATURE:
        au_flag(c->r, FWS_AUDIT_RED, "forged-report", j->device,
                "report %lld: not signed by any of the device's certified keys", (long long)j->id);
        break;
    }
}

static void *worker(void *arg)
{
    au_pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->n == 0 && !p->closing)
            pthread_cond_wait(&p->not_empty, &p->lock);
        if (p->n == 0) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        au_job *j = p->q[p->head];
        p->head = (p->head + 1) % QUEUE_CAP;
        p->n--;
        pthread_cond_signal(&p->not_full);
        pthread_mutex_unlock(&p->lock);
        while (j != NULL) { /* a batch, linked */
            au_job *next = j->next;
            judge(p, j);
            au_job_free(j);
            j = next;
        }
    }
}

fws_err au_pool_start(au_ctx *c, unsigned threads, au_pool **out)
{
    au_pool *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return FWS_ERR_NOMEM;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->not_empty, NULL);
    pthread_cond_init(&p->not_full, NULL);
    p->c = c;
    if (threads > AU_POOL_MAX)
        threads = AU_POOL_MAX;
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&p->th[p->n_threads], NULL, worker, p) == 0)
            p->n_threads++;
    }
    *out = p;
    return FWS_OK;
}

static void enqueue(au_pool *p)
{
    if (p->pending == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    while (p->n == QUEUE_CAP)
        pthread_cond_wait(&p->not_full, &p->lock);
    p->q[(p->head + p->n) % QUEUE_CAP] = p->pending;
    p->n++;
    pthread_cond_signal(&p->not_empty);
    pthread_mutex_unlock(&p->lock);
    p->pending = NULL;
    p->n_pending = 0;
}

void au_pool_submit(au_pool *p, au_job *j)
{
    if (p->n_threads == 0) { /* no thread could start: judge here */
        judge(p, j);
        au_job_free(j);
        return;
    }
    /* jobs travel in batches: one lock and one wake-up for BATCH reports */
    j->next = p->pending;
    p->pending = j;
    if (++p->n_pending == BATCH)
        enqueue(p);
}

uint64_t au_pool_finish(au_pool *p)
{
    enqueue(p);
    pthread_mutex_lock(&p->lock);
    p->closing = 1;
    pthread_cond_broadcast(&p->not_empty);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->n_threads; i++)
        pthread_join(p->th[i], NULL);
    uint64_t v = p->verified;
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->not_empty);
    pthread_cond_destroy(&p->not_full);
    free(p);
    return v;
}
