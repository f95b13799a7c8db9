/* Token buckets per key: an open-addressing table per shard, each shard under its own lock,
 * the least recently used bucket of a full shard forgotten. */
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include "fwseal/server.h"

#define RL_SHARDS 16
#define RL_KEY_MAX 80

typedef struct rl_bucket {
    char key[RL_KEY_MAX + 1];
    int used;
    double tokens;
    uint64_t last_ms; /* last refill; also the recency for eviction */
} rl_bucket;

typedef struct rl_shard {
    pthread_mutex_t mu;
    rl_bucket *slots;
    size_t cap; /* power of two */
    size_t used;
    size_t max;
} rl_shard;

struct fws_ratelimit {
    double rate;
    double burst;
    rl_shard shards[RL_SHARDS];
};

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

fws_err fws_ratelimit_new(double rate, unsigned burst, size_t max_keys, fws_ratelimit **out)
{
    if (!(rate > 0) || burst == 0 || max_keys == 0 || max_keys > (1u << 24))
        return FWS_ERR_ARG;
    fws_ratelimit *rl = calloc(1, sizeof(*rl));
    if (rl == NULL)
        return FWS_ERR_NOMEM;
    rl->rate = rate;
    rl->burst = burst;
    size_t per = (max_keys + RL_SHARDS - 1) / RL_SHARDS;
    size_t cap = 8;
    while (cap < per * 2)
        cap *= 2;
    for (int i = 0; i < RL_SHARDS; i++) {
        rl_shard *s = &rl->shards[i];
        pthread_mutex_init(&s->mu, NULL);
        s->cap = cap;
        s->max = per;
        s->slots = calloc(cap, sizeof(rl_bucket));
        if (s->slots == NULL) {
            fws_ratelimit_free(rl);
            return FWS_ERR_NOMEM;
        }
    }
    *out = rl;
    return FWS_OK;
}

void fws_ratelimit_free(fws_ratelimit *rl)
{
    if (rl == NULL)
        return;
    for (int i = 0; i < RL_SHARDS; i++) {
        free(rl->shards[i].slots);
        pthread_mutex_destroy(&rl->shards[i].mu);
    }
    free(rl);
}

/* Removes slot i and re-seats the entries of its probe run (backward-shift deletion). */
static void shard_remove(rl_shard *s, size_t i)
{
    size_t mask = s->cap - 1;
    s->slots[i].used = 0;
    s->used--;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!s->slots[j].used)
            return;
        size_t home = hash_key(s->slots[j].key) & mask;
        /* Entry j may move to the hole i if its home is not in (i, j]. */
        int between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            s->slots[i] = s->slots[j];
            s->slots[j].used = 0;
            i = j;
        }
    }
}

static void shard_evict_oldest(rl_shard *s)
{
    size_t oldest = s->cap;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].used &&
            (oldest == s->cap || s->slots[i].last_ms < s->slots[oldest].last_ms))
            oldest = i;
    if (oldest != s->cap)
        shard_remove(s, oldest);
}

static rl_bucket *shard_find(rl_shard *s, const char *key, uint64_t h, double burst,
                             uint64_t now_ms)
{
    size_t mask = s->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        rl_bucket *b = &s->slots[i];
        if (b->used && strcmp(b->key, key) == 0)
            return b;
        if (!b->used)
            break;
    }
    if (s->used >= s->max)
        shard_evict_oldest(s);
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        rl_bucket *b = &s->slots[i];
        if (!b->used) {
            snprintf(b->key, sizeof(b->key), "%s", key);
            b->used = 1;
            b->tokens = burst;
            b->last_ms = now_ms;
            s->used++;
            return b;
        }
    }
}

int fws_ratelimit_take(fws_ratelimit *rl, const char *key, uint64_t now_ms,
                       uint64_t *retry_after_ms)
{
    char k[RL_KEY_MAX + 1];
    snprintf(k, sizeof(k), "%s", key ? key : "");
    uint64_t h = hash_key(k);
    rl_shard *s = &rl->shards[(h >> 32) % RL_SHARDS];
    pthread_mutex_lock(&s->mu);
    rl_bucket *b = shard_find(s, k, h, rl->burst, now_ms);
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * rl->rate / 1000.0;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
        b->last_ms = now_ms;
    }
    int ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    else if (retry_after_ms != NULL)
        *retry_after_ms = (uint64_t)((1.0 - b->tokens) * 1000.0 / rl->rate) + 1;
    pthread_mutex_unlock(&s->mu);
    return ok;
}
