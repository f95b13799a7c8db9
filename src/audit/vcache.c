/* The auditor's memory of report signatures already checked, kept in its state directory
 * (--state): a report whose exact bytes verified under a certified key in an earlier audit is
 * not verified again, which makes periodic audits of a large fleet cost little more than the
 * reports that arrived since. Each entry is a 16-byte tag, SHA-256(secret || key SPKI digest ||
 * body digest) cut to 16 bytes, with a 32-byte secret that never leaves the state directory: a
 * cache file planted or edited by someone without that secret names no report. Entries are
 * kept sorted; an audit writes back only the entries it used or added, so reports that left
 * the store leave the cache too. A damaged file is ignored (everything is verified again). */
#include <stdlib.h>
#include <string.h>
#include "audit/fleet.h"
#include "fwseal/util.h"

#define MAGIC "FWSRVC1\n"
#define HEADER 16
#define ENTRIES_MAX (16u << 20) /* 256 MiB of tags */

struct au_vcache {
    uint8_t secret[32];
    uint8_t (*tags)[AU_TAG_LEN]; /* sorted, from the file */
    size_t n;
    uint64_t *used; /* one bit per tag */
    pthread_mutex_t lock;
    uint8_t (*fresh)[AU_TAG_LEN]; /* verified in this audit */
    size_t n_fresh, cap_fresh;
    char path[4096];
    uint64_t hits;
};

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int tag_cmp(const void *a, const void *b)
{
    return memcmp(a, b, AU_TAG_LEN);
}

static fws_err load_secret(au_vcache *v, const char *dir, fws_errbuf *eb)
{
    char path[4096];
    uint8_t *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/report-cache.key", dir);
    fws_err err = fws_file_read(path, 64, &data, &len, eb);
    if (err == FWS_OK && len == sizeof(v->secret)) {
        memcpy(v->secret, data, len);
        fws_wipe(data, len);
        free(data);
        return FWS_OK;
    }
    if (data != NULL) {
        fws_wipe(data, len);
        free(data);
    }
    if (err != FWS_OK && err != FWS_ERR_NOT_FOUND)
        return err; /* a key of the wrong size is replaced below, and the cache starts over */
    if ((err = fws_random(v->secret, sizeof(v->secret))) != FWS_OK)
        return fws_errf(eb, err, "no randomness for the report cache key");
    return fws_file_write_atomic(path, v->secret, sizeof(v->secret), 0600, 1, eb);
}

/* Loads the entries; a missing, damaged or unsorted file leaves the cache empty. */
static void load_tags(au_vcache *v)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_errbuf ignore = {{0}};
    if (fws_file_read(v->path, HEADER + (size_t)ENTRIES_MAX * AU_TAG_LEN, &data, &len, &ignore) !=
        FWS_OK)
        return;
    uint64_t n = len >= HEADER ? get_le64(data + 8) : 0;
    int ok = len >= HEADER && memcmp(data, MAGIC, 8) == 0 && n <= ENTRIES_MAX &&
             len == HEADER + n * AU_TAG_LEN;
    for (uint64_t i = 1; ok && i < n; i++)
        ok = memcmp(data + HEADER + (i - 1) * AU_TAG_LEN, data + HEADER + i * AU_TAG_LEN,
                    AU_TAG_LEN) < 0;
    if (ok && n > 0 && (v->tags = malloc(n * AU_TAG_LEN)) != NULL &&
        (v->used = calloc((n + 63) / 64, sizeof(uint64_t))) != NULL) {
        memcpy(v->tags, data + HEADER, n * AU_TAG_LEN);
        v->n = n;
    }
    free(data);
}

fws_err au_vcache_open(const char *state_dir, const char *origin, au_vcache **out, fws_errbuf *eb)
{
    uint8_t h[32];
    char hex[17];
    au_vcache *v = calloc(1, sizeof(*v));
    if (v == NULL)
        return FWS_ERR_NOMEM;
    pthread_mutex_init(&v->lock, NULL);
    fws_err err = fws_mkdirs(state_dir, 0700, eb);
    if (err == FWS_OK)
        err = load_secret(v, state_dir, eb);
    if (err != FWS_OK) {
        au_vcache_free(v);
        return fws_errf(eb, err, "report cache in %s", state_dir);
    }
    fws_sha256(origin, strlen(origin), h);
    fws_hex_encode(h, 8, hex);
    snprintf(v->path, sizeof(v->path), "%s/reports-%s", state_dir, hex);
    load_tags(v);
    *out = v;
    return FWS_OK;
}

void au_vcache_tag(const au_vcache *v, const uint8_t spki_sha256[32], const uint8_t body_sha256[32],
                   uint8_t tag[AU_TAG_LEN])
{
    uint8_t in[96], h[32];
    memcpy(in, v->secret, 32);
    memcpy(in + 32, spki_sha256, 32);
    memcpy(in + 64, body_sha256, 32);
    fws_sha256(in, sizeof(in), h);
    memcpy(tag, h, AU_TAG_LEN);
    fws_wipe(in, sizeof(in));
}

int au_vcache_hit(au_vcache *v, const uint8_t tag[AU_TAG_LEN])
{
    const uint8_t(*t)[AU_TAG_LEN] = v->n ? bsearch(tag, v->tags, v->n, AU_TAG_LEN, tag_cmp) : NULL;
    if (t == NULL)
        return 0;
    size_t i = (size_t)(t - (const uint8_t(*)[AU_TAG_LEN])v->tags);
    __atomic_fetch_or(&v->used[i / 64], (uint64_t)1 << (i % 64), __ATOMIC_RELAXED);
    __atomic_add_fetch(&v->hits, 1, __ATOMIC_RELAXED);
    return 1;
}

void au_vcache_add(au_vcache *v, const uint8_t tag[AU_TAG_LEN])
{
    pthread_mutex_lock(&v->lock);
    if (v->n_fresh == v->cap_fresh && v->n_fresh < ENTRIES_MAX) {
        size_t cap = v->cap_fresh ? v->cap_fresh * 2 : 4096;
        void *p = realloc(v->fresh, cap * AU_TAG_LEN);
        if (p != NULL) {
            v->fresh = p;
            v->cap_fresh = cap;
        }
    }
    if (v->n_fresh < v->cap_fresh) /* out of memory: the report is just verified again later */
        memcpy(v->fresh[v->n_fresh++], tag, AU_TAG_LEN);
    pthread_mutex_unlock(&v->lock);
}

uint64_t au_vcache_hits(const au_vcache *v)
{
    return v->hits;
}

fws_err au_vcache_save(au_vcache *v, fws_errbuf *eb)
{
    size_t n = v->n_fresh;
    for (size_t i = 0; i < v->n; i++)
        n += (v->used[i / 64] >> (i % 64)) & 1;
    if (n > ENTRIES_MAX)
        n = ENTRIES_MAX;
    uint8_t *buf = malloc(HEADER + n * AU_TAG_LEN);
    if (buf == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "report cache: %zu entries", n);
    uint8_t(*e)[AU_TAG_LEN] = (uint8_t(*)[AU_TAG_LEN])(buf + HEADER);
    size_t k = 0;
    for (size_t i = 0; i < v->n_fresh && k < n; i++)
        memcpy(e[k++], v->fresh[i], AU_TAG_LEN);
    for (size_t i = 0; i < v->n && k < n; i++) {
        if ((v->used[i / 64] >> (i % 64)) & 1)
            memcpy(e[k++], v->tags[i], AU_TAG_LEN);
    }
    qsort(e, k, AU_TAG_LEN, tag_cmp);
    size_t w = 0; /* a report verified twice (two stored copies) is one entry */
    for (size_t i = 0; i < k; i++) {
        if (w == 0 || memcmp(e[w - 1], e[i], AU_TAG_LEN) != 0)
            memmove(e[w++], e[i], AU_TAG_LEN);
    }
    memcpy(buf, MAGIC, 8);
    put_le64(buf + 8, w);
    fws_err err = fws_file_write_atomic(v->path, buf, HEADER + w * AU_TAG_LEN, 0600, 1, eb);
    free(buf);
    return err;
}

void au_vcache_free(au_vcache *v)
{
    if (v == NULL)
        return;
    fws_wipe(v->secret, sizeof(v->secret));
    pthread_mutex_destroy(&v->lock);
    free(v->tags);
    free(v->used);
    free(v->fresh);
    free(v);
}
