/* Signing and publishing checkpoints, and merging witness cosignatures into them.
 * The checkpoint file is replaced only under checkpoint.lock, so the writer (publishing a new
 * checkpoint) and a witness (adding its cosignature) never overwrite each other. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "writer_internal.h"

uint64_t fws_ledger_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

fws_err wr_sign_checkpoint(const char *origin, uint64_t size,
                           const uint8_t root[FWS_MERKLE_HASH_LEN], const fws_signer *signer,
                           char **out, size_t *len, fws_errbuf *eb)
{
    fws_checkpoint cp;
    char *text = malloc(FWS_NOTE_MAX), *note = malloc(FWS_NOTE_MAX);
    size_t text_len = 0, note_len = 0;
    fws_err err = text && note ? FWS_OK : fws_errf(eb, FWS_ERR_NOMEM, "out of memory");

    memset(&cp, 0, sizeof(cp));
    cp.origin = origin;
    cp.origin_len = strlen(origin);
    cp.size = size;
    memcpy(cp.root, root, sizeof(cp.root));
    if (err == FWS_OK)
        err = fws_checkpoint_format(&cp, text, FWS_NOTE_MAX, &text_len, eb);
    if (err == FWS_OK)
        err = fws_note_sign(text, text_len, origin, signer, note, FWS_NOTE_MAX, &note_len, eb);
    free(text);
    if (err != FWS_OK) {
        free(note);
        return err;
    }
    *out = note;
    *len = note_len;
    return FWS_OK;
}

/* ---- publishing ------------------------------------------------------------------------------ */

void wr_pub_init(fws_ledger *l)
{
    pthread_condattr_t ca;
    pthread_mutex_init(&l->pub_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->pub_cv, &ca);
    pthread_condattr_destroy(&ca);
    l->pub_init = 1;
}

void wr_pub_destroy(fws_ledger *l)
{
    if (!l->pub_init)
        return;
    (void)fws_ledger_autopublish_stop(l, NULL);
    pthread_cond_destroy(&l->pub_cv);
    pthread_mutex_destroy(&l->pub_mu);
    l->pub_init = 0;
}

void wr_pub_snapshot(fws_ledger *l)
{
    pthread_mutex_lock(&l->pub_mu);
    l->snap_size = l->size;
    memcpy(l->snap_root, l->root, sizeof(l->snap_root));
    pthread_cond_broadcast(&l->pub_cv);
    pthread_mutex_unlock(&l->pub_mu);
}

/* With pub_mu held: signs and publishes the last durable size, if it is new. */
static fws_err publish_locked(fws_ledger *l, fws_errbuf *eb)
{
    char *note = NULL;
    size_t note_len = 0;
    int lockfd = -1;

    if (l->snap_size < l->signed_size) /* cannot happen: the tree state never shrinks */
        return fws_errf(eb, FWS_ERR_INCONSISTENT, "%s: refusing to sign size %llu below %llu",
                        l->dir, (unsigned long long)l->snap_size,
                        (unsigned long long)l->signed_size);
    if (l->snap_size == l->signed_size)
        return FWS_OK;
    if (l->signer == NULL)
        return fws_errf(eb, FWS_ERR_STATE, "%s: no signing key to sign a checkpoint", l->dir);
    fws_err err = wr_sign_checkpoint(l->cfg.origin, l->snap_size, l->snap_root, l->signer, &note,
                                     &note_len, eb);
    if (err == FWS_OK)
        err = wr_lock(l->dirfd, l->dir, WR_CHECKPOINT_LOCK, 10000, &lockfd, eb);
    if (err == FWS_OK)
        err = wr_write_durable(l->dirfd, l->dir, WR_CHECKPOINT, note, note_len, eb);
    wr_unlock(lockfd);
    if (err != FWS_OK) {
        free(note);
        return err;
    }
    free(l->checkpoint);
    l->checkpoint = note;
    l->checkpoint_len = note_len;
    l->signed_size = l->snap_size;
    l->last_publish_ms = fws_ledger_now_ms();
    if (l->on_publish != NULL)
        l->on_publish(l->on_publish_ctx, l->signed_size, l->last_publish_ms);
    return FWS_OK;
}

fws_err fws_ledger_publish(fws_ledger *l, fws_errbuf *eb)
{
    if (l->failed)
        return fws_errf(eb, FWS_ERR_STATE, "%s: an earlier append failed; reopen the log", l->dir);
    pthread_mutex_lock(&l->pub_mu);
    fws_err err = publish_locked(l, eb);
    pthread_mutex_unlock(&l->pub_mu);
    return err;
}

int fws_ledger_unsigned(const fws_ledger *l)
{
    fws_ledger *m = (fws_ledger *)l; /* the mutex is not part of the logical state */
    pthread_mutex_lock(&m->pub_mu);
    int u = m->snap_size > m->signed_size;
    pthread_mutex_unlock(&m->pub_mu);
    return u;
}

/* Due a little early: one more batch must not carry the gap between checkpoints past the
 * interval. */
int fws_ledger_publish_due(const fws_ledger *l, uint64_t now_ms)
{
    fws_ledger *m = (fws_ledger *)l;
    uint64_t lead = l->last_batch_ms < l->interval_ms / 2 ? l->last_batch_ms : l->interval_ms / 2;
    pthread_mutex_lock(&m->pub_mu);
    int due = m->snap_size > m->signed_size && now_ms + lead - m->last_publish_ms >= m->interval_ms;
    pthread_mutex_unlock(&m->pub_mu);
    return due;
}

void fws_ledger_on_publish(fws_ledger *l, fws_ledger_publish_fn fn, void *ctx)
{
    pthread_mutex_lock(&l->pub_mu);
    l->on_publish = fn;
    l->on_publish_ctx = ctx;
    pthread_mutex_unlock(&l->pub_mu);
}

static void deadline_at(struct timespec *ts, uint64_t at_ms)
{
    uint64_t now = fws_ledger_now_ms(), wait = at_ms > now ? at_ms - now : 0;
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(wait / 1000);
    ts->tv_nsec += (long)(wait % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *publisher_main(void *arg)
{
    fws_ledger *l = arg;
    struct timespec until;
    pthread_mutex_lock(&l->pub_mu);
    while (!l->pub_stop) {
        /* a tenth early: signing and writing take time too, and the interval is a bound */
        uint64_t due_at = l->last_publish_ms + l->interval_ms - l->interval_ms / 10;
        if (l->snap_size > l->signed_size && fws_ledger_now_ms() >= due_at) {
            fws_errbuf eb = {{0}};
            fws_err err = publish_locked(l, &eb);
            if (err != FWS_OK && l->pub_err == FWS_OK) {
                l->pub_err = err;
                l->pub_eb = eb;
            }
            if (err != FWS_OK) /* do not spin on a failing disk: try again an interval later */
                l->last_publish_ms = fws_ledger_now_ms();
            continue;
        }
        if (l->snap_size > l->signed_size)
            deadline_at(&until, due_at);
        else
            deadline_at(&until, fws_ledger_now_ms() + l->interval_ms);
        pthread_cond_timedwait(&l->pub_cv, &l->pub_mu, &until);
    }
    pthread_mutex_unlock(&l->pub_mu);
    return NULL;
}

fws_err fws_ledger_autopublish_start(fws_ledger *l, fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    pthread_mutex_lock(&l->pub_mu);
    if (l->pub_running)
        err = fws_errf(eb, FWS_ERR_STATE, "%s: already publishing", l->dir);
    else if (l->signer == NULL)
        err = fws_errf(eb, FWS_ERR_STATE, "%s: no signing key to sign checkpoints", l->dir);
    l->pub_stop = 0;
    if (err == FWS_OK && pthread_create(&l->pub_thread, NULL, publisher_main, l) != 0)
        err = fws_errf(eb, FWS_ERR_IO, "cannot start the publishing thread");
    l->pub_running = err == FWS_OK;
    pthread_mutex_unlock(&l->pub_mu);
    return err;
}

fws_err fws_ledger_autopublish_stop(fws_ledger *l, fws_errbuf *eb)
{
    pthread_mutex_lock(&l->pub_mu);
    int running = l->pub_running;
    l->pub_stop = 1;
    pthread_cond_broadcast(&l->pub_cv);
    pthread_mutex_unlock(&l->pub_mu);
    if (!running)
        return FWS_OK;
    pthread_join(l->pub_thread, NULL);
    pthread_mutex_lock(&l->pub_mu);
    l->pub_running = 0;
    fws_err err = l->pub_err;
    fws_errbuf why = l->pub_eb;
    l->pub_err = FWS_OK;
    pthread_mutex_unlock(&l->pub_mu);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s", why.msg[0] ? why.msg : fws_strerror(err));
    return FWS_OK;
}

fws_err fws_ledger_checkpoint(const fws_ledger *l, char *buf, size_t cap, size_t *len,
                              fws_errbuf *eb)
{
    char *text = NULL;
    size_t n = 0;
    int lockfd = -1;
    /* Re-read: witnesses may have merged cosignatures since we wrote it. */
    fws_err err = wr_lock(l->dirfd, l->dir, WR_CHECKPOINT_LOCK, 10000, &lockfd, eb);
    if (err == FWS_OK)
        err = wr_read_file(l->dirfd, l->dir, WR_CHECKPOINT, FWS_NOTE_MAX, &text, &n, eb);
    wr_unlock(lockfd);
    if (err == FWS_OK && n + 1 > cap)
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "checkpoint larger than the buffer");
    if (err == FWS_OK) {
        memcpy(buf, text, n + 1);
        *len = n;
    }
    free(text);
    return err;
}

/* ---- cosignatures -----------------------------------------------------------------------------
 */

static int same_key(const fws_note_sig *a, const fws_note_sig *b)
{
    return a->key_id == b->key_id && a->name_len == b->name_len &&
           memcmp(a->name, b->name, a->name_len) == 0;
}

/* Signature lines of cur, each replaced by add's line from the same key, then add's new ones. */
static fws_err merge_sigs(const fws_note *cur, const fws_note *add, fws_note *out, fws_errbuf *eb)
{
    *out = *cur;
    for (size_t i = 0; i < add->n_sigs; i++) {
        size_t j = 0;
        while (j < out->n_sigs && !same_key(&out->sigs[j], &add->sigs[i]))
            j++;
        if (j == out->n_sigs && out->n_sigs == FWS_NOTE_MAX_SIGS)
            return fws_errf(eb, FWS_ERR_TOO_BIG, "checkpoint: more than %d signatures",
                            FWS_NOTE_MAX_SIGS);
        if (j == out->n_sigs)
            out->n_sigs++;
        out->sigs[j] = add->sigs[i];
    }
    return FWS_OK;
}

static fws_err merge_into(int dirfd, const char *dir, const fws_note *add, fws_errbuf *eb)
{
    fws_note cur, merged;
    char *text = NULL, *out = malloc(FWS_NOTE_MAX);
    size_t n = 0, out_len = 0;
    fws_err err = out ? FWS_OK : fws_errf(eb, FWS_ERR_NOMEM, "out of memory");

    if (err == FWS_OK)
        err = wr_read_file(dirfd, dir, WR_CHECKPOINT, FWS_NOTE_MAX, &text, &n, eb);
    if (err == FWS_OK)
        err = fws_note_parse(text, n, &cur, eb);
    if (err == FWS_OK &&
        (cur.text_len != add->text_len || memcmp(cur.text, add->text, cur.text_len) != 0))
        err = fws_errf(eb, FWS_ERR_STATE,
                       "%s/checkpoint: the log has published another checkpoint; the "
                       "cosignature is for an older one",
                       dir);
    if (err == FWS_OK)
        err = merge_sigs(&cur, add, &merged, eb);
    if (err == FWS_OK)
        err = fws_note_format(&merged, out, FWS_NOTE_MAX, &out_len, eb);
    if (err == FWS_OK)
        err = wr_write_durable(dirfd, dir, WR_CHECKPOINT, out, out_len, eb);
    free(text);
    free(out);
    return err;
}

fws_err fws_ledger_add_cosignatures(const char *dir, const char *cosigned, size_t len,
                                    fws_errbuf *eb)
{
    fws_note add;
    int dirfd, lockfd = -1;
    if (dir == NULL || cosigned == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no log directory or checkpoint");
    fws_err err = fws_note_parse(cosigned, len, &add, eb);
    if (err != FWS_OK)
        return err;
    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: cannot open the log directory", dir);
    err = wr_lock(dirfd, dir, WR_CHECKPOINT_LOCK, 10000, &lockfd, eb);
    if (err == FWS_OK)
        err = merge_into(dirfd, dir, &add, eb);
    wr_unlock(lockfd);
    close(dirfd);
    return err;
}
