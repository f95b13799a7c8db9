/* The sequencer: group commit on one thread. Appenders validate their entry in their own
 * thread, queue it and sleep; the sequencer takes up to max_batch entries (waiting up to
 * max_delay_ms after the first for more), appends them as one durable batch, wakes their
 * appenders, and publishes a checkpoint whenever the interval has passed with entries unsigned. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "writer_internal.h"

typedef struct seq_req {
    wr_prepared p;
    uint64_t index;
    uint64_t submitted_ms;
    fws_err err;
    fws_errbuf eb;
    int done;
    struct seq_req *next;
} seq_req;

struct fws_sequencer {
    fws_ledger *l;
    fws_sequencer_options o;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work, done, space;
    seq_req *head, *tail;
    size_t queued;
    int stopping;
    fws_err fatal;
    fws_errbuf fatal_eb;
    /* latency from submission to the checkpoint covering an entry (sequencer thread only) */
    uint64_t unsigned_count, unsigned_sum_ms, oldest_unsigned_ms;
    double lat_sum_ms, lat_max_ms;
    uint64_t lat_count;
};

static void deadline_in(struct timespec *ts, uint64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void note_fatal(fws_sequencer *s, fws_err err, const fws_errbuf *eb)
{
    if (s->fatal == FWS_OK) {
        s->fatal = err;
        s->fatal_eb = *eb;
    }
}

/* Called by the thread without the mutex. */
static void publish(fws_sequencer *s)
{
    fws_errbuf eb = {{0}};
    if (!fws_ledger_unsigned(s->l))
        return;
    fws_err err = fws_ledger_publish(s->l, &eb);
    if (err != FWS_OK) {
        pthread_mutex_lock(&s->mu);
        note_fatal(s, err, &eb);
        pthread_mutex_unlock(&s->mu);
        return;
    }
    uint64_t now = fws_ledger_now_ms();
    pthread_mutex_lock(&s->mu);
    if (s->unsigned_count > 0) {
        s->lat_sum_ms += (double)(s->unsigned_count * now - s->unsigned_sum_ms);
        s->lat_count += s->unsigned_count;
        if ((double)(now - s->oldest_unsigned_ms) > s->lat_max_ms)
            s->lat_max_ms = (double)(now - s->oldest_unsigned_ms);
    }
    s->unsigned_count = s->unsigned_sum_ms = 0;
    pthread_mutex_unlock(&s->mu);
}

/* Appends one batch (the requests are already off the queue). */
static void run_batch(fws_sequencer *s, seq_req *batch, size_t n)
{
    wr_prepared *p = calloc(n, sizeof(*p));
    uint64_t *idx = calloc(n, sizeof(*idx));
    fws_errbuf eb = {{0}};
    fws_err err = p && idx ? FWS_OK : fws_errf(&eb, FWS_ERR_NOMEM, "out of memory");
    size_t i = 0;

    for (seq_req *r = batch; r != NULL && p != NULL; r = r->next)
        p[i++] = r->p;
    if (err == FWS_OK)
        err = wr_append_prepared(s->l, p, n, idx, NULL, &eb);
    pthread_mutex_lock(&s->mu);
    i = 0;
    for (seq_req *r = batch, *next; r != NULL; r = next, i++) {
        next = r->next;
        if (err == FWS_OK && s->unsigned_count++ == 0)
            s->oldest_unsigned_ms = r->submitted_ms;
        if (err == FWS_OK)
            s->unsigned_sum_ms += r->submitted_ms;
        r->err = err;
        r->eb = eb;
        if (err == FWS_OK)
            r->index = idx[i];
        r->done = 1; /* r may be gone as soon as the mutex is released */
    }
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->mu);
    free(p);
    free(idx);
    if (fws_ledger_publish_due(s->l, fws_ledger_now_ms()))
        publish(s);
}

/* With the mutex held: waits for the batch to fill or its delay to pass, then detaches it. */
static seq_req *take_batch(fws_sequencer *s, size_t *n)
{
    struct timespec until;
    seq_req *batch = s->head, *last = NULL;
    size_t k = 0;

    deadline_in(&until, s->o.max_delay_ms);
    while (s->queued < s->o.max_batch && !s->stopping) {
        if (pthread_cond_timedwait(&s->work, &s->mu, &until) == ETIMEDOUT)
            break;
    }
    batch = s->head;
    for (seq_req *r = batch; r != NULL && k < s->o.max_batch; r = r->next) {
        last = r;
        k++;
    }
    s->head = last->next;
    if (s->head == NULL)
        s->tail = NULL;
    last->next = NULL;
    s->queued -= k;
    pthread_cond_broadcast(&s->space);
    *n = k;
    return batch;
}

static void wait_for_work(fws_sequencer *s)
{
    struct timespec until;
    uint64_t now = fws_ledger_now_ms();
    if (!fws_ledger_unsigned(s->l)) {
        pthread_cond_wait(&s->work, &s->mu);
        return;
    }
    uint64_t next = s->l->last_publish_ms + s->l->interval_ms;
    deadline_in(&until, next > now ? next - now : 0);
    pthread_cond_timedwait(&s->work, &s->mu, &until);
}

static void *seq_main(void *arg)
{
    fws_sequencer *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (s->head != NULL) {
            size_t n = 0;
            seq_req *batch = take_batch(s, &n);
            pthread_mutex_unlock(&s->mu);
            run_batch(s, batch, n);
            pthread_mutex_lock(&s->mu);
        } else if (fws_ledger_publish_due(s->l, fws_ledger_now_ms())) {
            pthread_mutex_unlock(&s->mu);
            publish(s);
            pthread_mutex_lock(&s->mu);
        } else if (s->stopping) {
            break;
        } else {
            wait_for_work(s);
        }
    }
    pthread_mutex_unlock(&s->mu);
    publish(s);
    return NULL;
}

fws_err fws_sequencer_start(fws_ledger *l, const fws_sequencer_options *opts, fws_sequencer **out,
                            fws_errbuf *eb)
{
    pthread_condattr_t ca;
    fws_sequencer *s;
    if (l == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no ledger");
    if (l->signer == NULL)
        return fws_errf(eb, FWS_ERR_STATE, "the sequencer needs the log's signing key");
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    s->l = l;
    if (opts != NULL)
        s->o = *opts;
    s->o.max_batch = s->o.max_batch ? s->o.max_batch : 4096;
    if (s->o.max_batch > FWS_LEDGER_BATCH_MAX)
        s->o.max_batch = FWS_LEDGER_BATCH_MAX;
    s->o.max_delay_ms = s->o.max_delay_ms ? s->o.max_delay_ms : 5;
    s->o.max_queue = s->o.max_queue ? s->o.max_queue : 65536;
    if (s->o.checkpoint_interval_ms)
        l->interval_ms = s->o.checkpoint_interval_ms;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->work, &ca);
    pthread_cond_init(&s->done, &ca);
    pthread_cond_init(&s->space, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&s->thread, NULL, seq_main, s) != 0) {
        pthread_cond_destroy(&s->work);
        pthread_cond_destroy(&s->done);
        pthread_cond_destroy(&s->space);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return fws_errf(eb, FWS_ERR_IO, "cannot start the sequencer thread");
    }
    *out = s;
    return FWS_OK;
}

static fws_err enqueue_and_wait(fws_sequencer *s, seq_req *r, fws_errbuf *eb)
{
    pthread_mutex_lock(&s->mu);
    while (s->queued >= s->o.max_queue && !s->stopping && s->fatal == FWS_OK)
        pthread_cond_wait(&s->space, &s->mu);
    if (s->stopping || s->fatal != FWS_OK) {
        fws_err err = s->fatal != FWS_OK ? s->fatal : FWS_ERR_STATE;
        fws_errbuf why = s->fatal_eb;
        pthread_mutex_unlock(&s->mu);
        return fws_errf(eb, err, "the sequencer has stopped%s%s", why.msg[0] ? ": " : "", why.msg);
    }
    r->submitted_ms = fws_ledger_now_ms();
    if (s->tail != NULL)
        s->tail->next = r;
    else
        s->head = r;
    s->tail = r;
    s->queued++;
    pthread_cond_signal(&s->work);
    while (!r->done)
        pthread_cond_wait(&s->done, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (r->err != FWS_OK)
        return fws_errf(eb, r->err, "%s", r->eb.msg[0] ? r->eb.msg : fws_strerror(r->err));
    return FWS_OK;
}

fws_err fws_sequencer_append(fws_sequencer *s, const uint8_t *entry, size_t len, uint64_t *index,
                             fws_errbuf *eb)
{
    seq_req r;
    if (s == NULL || index == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no sequencer");
    memset(&r, 0, sizeof(r));
    fws_err err = wr_prepare(s->l, entry, len, &r.p, eb);
    if (err != FWS_OK)
        return err;
    err = enqueue_and_wait(s, &r, eb);
    wr_prepared_free(&r.p);
    if (err == FWS_OK)
        *index = r.index;
    return err;
}

void fws_sequencer_latency(fws_sequencer *s, double *mean_ms, double *max_ms)
{
    pthread_mutex_lock(&s->mu);
    *mean_ms = s->lat_count ? s->lat_sum_ms / (double)s->lat_count : 0.0;
    *max_ms = s->lat_max_ms;
    pthread_mutex_unlock(&s->mu);
}

fws_err fws_sequencer_stop(fws_sequencer *s, fws_errbuf *eb)
{
    fws_err err;
    if (s == NULL)
        return FWS_OK;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->work);
    pthread_cond_broadcast(&s->space);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    err = s->fatal;
    if (err != FWS_OK)
        (void)fws_errf(eb, err, "%s", s->fatal_eb.msg[0] ? s->fatal_eb.msg : fws_strerror(err));
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->done);
    pthread_cond_destroy(&s->space);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return err;
}
