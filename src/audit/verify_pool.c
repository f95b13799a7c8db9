/* Report signatures are the audit's heaviest work (one public-key verification per report), so
 * they run on a pool of threads fed through a bounded queue while the main thread reads the
 * store. Each job is judged on its own; findings go to the report, which is thread-safe. */
#include <stdlib.h>
#include <string.h>
#include "audit/fleet.h"
#include "fwseal/dsse.h"
#include "fwseal/json.h"

#define QUEUE_CAP 2048
#define REPORT_PAYLOAD_TYPE "application/vnd.fwseal.report+json"

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
};

void au_job_free(au_job *j)
{
    if (j != NULL) {
        free(j->body);
        free(j);
    }
}

static void load_keys(const au_job *j, fws_key **keys, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < j->n_certs && *n < AU_JOB_KEYS; i++) {
        const au_cert *k = &j->certs[i];
        fws_key *key = NULL;
        if (k->pub_type != 0 &&
            fws_key_from_raw_public((fws_key_type)k->pub_type, k->pub, k->pub_len, &key) == FWS_OK)
            keys[(*n)++] = key;
    }
}

static void judge_payload(au_ctx *c, const au_job *j, const uint8_t *payload, size_t len)
{
    json_t *p = NULL;
    const char *dev = NULL, *type = NULL, *hex = NULL;
    json_t *img = NULL;
    fws_errbuf eb = {{0}};
    uint8_t digest[32];
    if (fws_json_parse(payload, len, 0, NULL, &p, &eb) != FWS_OK ||
        fws_json_get_string(p, "device", &dev, &eb) != FWS_OK ||
        fws_json_get_string(p, "type", &type, &eb) != FWS_OK) {
        au_flag(c->r, FWS_AUDIT_RED, "report-malformed", j->device, "report %lld: %s",
                (long long)j->id, eb.msg);
        goto out;
    }
    if (strcmp(dev, j->device) != 0)
        au_flag(c->r, FWS_AUDIT_RED, "report-device-mismatch", j->device,
                "report %lld is about device %.64s", (long long)j->id, dev);
    if (strcmp(type, j->kind) != 0)
        au_flag(c->r, FWS_AUDIT_RED, "report-device-mismatch", j->device,
                "report %lld says %.32s but was stored as %s", (long long)j->id, type, j->kind);
    if (strcmp(type, "install") != 0)
        goto out;
    if (fws_json_get_object(p, "image", &img, &eb) != FWS_OK ||
        fws_json_get_string(img, "sha256", &hex, &eb) != FWS_OK ||
        !au_hex32(hex, strlen(hex), digest)) {
        au_flag(c->r, FWS_AUDIT_RED, "report-malformed", j->device, "report %lld: no image digest",
                (long long)j->id);
        goto out;
    }
    if (c->cp_len > 0 && au_release_by_digest(&c->ledger, digest) == NULL)
        au_flag(c->r, FWS_AUDIT_RED, "unknown-firmware", j->device,
                "report %lld: installed %.16s…, which no release record names", (long long)j->id,
                hex);
    if (c->cp_len > 0 && j->ledger_index >= 0) {
        const au_install *in = au_install_at(&c->ledger, (uint64_t)j->ledger_index);
        if (in == NULL || memcmp(in->key, j->key, AU_KEY_LEN) != 0 ||
            memcmp(in->image, digest, 32) != 0)
            au_flag(c->r, FWS_AUDIT_RED, "report-not-in-ledger", j->device,
                    "report %lld: ledger entry %lld is not its install record", (long long)j->id,
                    (long long)j->ledger_index);
    }
out:
    json_decref(p);
}

static void judge(au_pool *pool, au_job *j)
{
    au_ctx *c = pool->c;
    fws_dsse_envelope env;
    fws_key *keys[AU_JOB_KEYS];
    size_t n = 0;
    fws_errbuf eb = {{0}};
    memset(&env, 0, sizeof(env));
    if (j->revoked_at > 0 && j->received_at > j->revoked_at)
        au_flag(c->r, FWS_AUDIT_RED, "revoked-still-reporting", j->device,
                "report %lld arrived %lld s after the device's certificates were revoked",
                (long long)j->id, (long long)(j->received_at - j->revoked_at));
    if (fws_dsse_parse(j->body, j->len, &env, &eb) != FWS_OK ||
        strcmp(env.payload_type, REPORT_PAYLOAD_TYPE) != 0) {
        au_flag(c->r, FWS_AUDIT_RED, "forged-report", j->device, "report %lld: %s",
                (long long)j->id, eb.msg[0] ? eb.msg : "not a report envelope");
        goto out;
    }
    load_keys(j, keys, &n);
    if (n == 0) {
        au_flag(c->r, FWS_AUDIT_RED, "report-unverifiable", j->device,
                "report %lld: the inventory holds no key for this device", (long long)j->id);
        goto out;
    }
    if (fws_dsse_verify(&env, (const fws_key *const *)keys, n, 1, &eb) != FWS_OK) {
        au_flag(c->r, FWS_AUDIT_RED, "forged-report", j->device,
                "report %lld: not signed by the device's key (%s)", (long long)j->id, eb.msg);
        goto out;
    }
    __atomic_add_fetch(&pool->verified, 1, __ATOMIC_RELAXED);
    judge_payload(c, j, env.unverified_payload, env.payload_len);
out:
    for (size_t i = 0; i < n; i++)
        fws_key_free(keys[i]);
    fws_dsse_envelope_free(&env);
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
        judge(p, j);
        au_job_free(j);
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

void au_pool_submit(au_pool *p, au_job *j)
{
    if (p->n_threads == 0) { /* no thread could start: judge here */
        judge(p, j);
        au_job_free(j);
        return;
    }
    pthread_mutex_lock(&p->lock);
    while (p->n == QUEUE_CAP)
        pthread_cond_wait(&p->not_full, &p->lock);
    p->q[(p->head + p->n) % QUEUE_CAP] = j;
    p->n++;
    pthread_cond_signal(&p->not_empty);
    pthread_mutex_unlock(&p->lock);
}

uint64_t au_pool_finish(au_pool *p)
{
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
