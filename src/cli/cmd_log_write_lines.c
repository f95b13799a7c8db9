/* fwseal log append --lines: bulk import, one entry per line, in durable batches.
 *
 * Two threads: a reader fills a batch from the input and validates it
 * (fws_ledger_batch_prepare) while the main thread appends the previous one; two batch buffers
 * alternate between them. Output, checkpoints and errors stay on the main thread, in order. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"

#define ARENA_MAX ((size_t)64 << 20) /* bytes of lines held for one batch */

/* ---- reading lines ----------------------------------------------------------------------------
 */

/* A capped line reader: a line longer than max is an error, never a huge allocation. */
typedef struct line_reader {
    FILE *f;
    char *buf;
    size_t cap, start, end, max;
    int eof;
    uint64_t lineno;
} line_reader;

/* 1 with a line (no newline), 0 at the end, -1 for a line over the cap, -2 on a read error. */
static int next_line(line_reader *r, const char **line, size_t *len)
{
    for (;;) {
        char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
        if (nl != NULL || (r->eof && r->end > r->start)) {
            size_t n = nl ? (size_t)(nl - (r->buf + r->start)) : r->end - r->start;
            *line = r->buf + r->start;
            *len = n;
            r->start += n + (nl != NULL);
            r->lineno++;
            return n > r->max ? -1 : 1;
        }
        if (r->eof)
            return 0;
        if (r->end - r->start > r->max) {
            r->lineno++;
            return -1;
        }
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
        size_t got = fread(r->buf + r->end, 1, r->cap - r->end, r->f);
        r->end += got;
        if (got == 0 && ferror(r->f))
            return -2;
        if (got == 0)
            r->eof = 1;
    }
}

/* ---- batches ------------------------------------------------------------------------------------
 */

typedef struct batch {
    fws_ledger_entry *e;
    uint64_t *line; /* each entry's line number, for messages */
    uint64_t *idx;
    uint8_t *dup;
    char *arena;
    size_t n, arena_len, arena_cap;
    fws_ledger_batch *prepared;
    uint64_t ready_ms; /* when the batch was read: "append" time for the latency figures */
    fws_err err;       /* reading or validating it failed */
    fws_errbuf eb;
    int last;  /* no batch follows */
    int state; /* 0: the reader's to fill; 1: ready for the main thread */
} batch;

static fws_err batch_alloc(batch *b, size_t cap)
{
    memset(b, 0, sizeof(*b));
    b->e = calloc(cap, sizeof(*b->e));
    b->line = calloc(cap, sizeof(*b->line));
    b->idx = calloc(cap, sizeof(*b->idx));
    b->dup = calloc(cap, 1);
    return b->e && b->line && b->idx && b->dup ? FWS_OK : FWS_ERR_NOMEM;
}

static void batch_release(batch *b)
{
    fws_ledger_batch_free(b->prepared);
    free(b->e);
    free(b->line);
    free(b->idx);
    free(b->dup);
    free(b->arena);
}

static fws_err batch_add(batch *b, const char *line, size_t len, uint64_t lineno, fws_errbuf *eb)
{
    if (b->arena_len + len > ARENA_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "line %llu: the batch is over %zu bytes",
                        (unsigned long long)lineno, ARENA_MAX);
    if (b->arena_len + len > b->arena_cap) {
        size_t ncap = b->arena_cap ? b->arena_cap : 1 << 20;
        while (ncap < b->arena_len + len)
            ncap *= 2;
        char *na = realloc(b->arena, ncap);
        if (na == NULL)
            return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
        b->arena = na;
        b->arena_cap = ncap;
    }
    memcpy(b->arena + b->arena_len, line, len);
    b->arena_len += len;
    b->e[b->n].len = len;
    b->line[b->n] = lineno;
    b->n++;
    return FWS_OK;
}

/* ---- the reader thread
 * --------------------------------------------------------------------------- */

typedef struct pipeline {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch b[2];
    int stop; /* the main thread gave up */
    line_reader r;
    fws_ledger *l;
    const cli_log_lines_opts *o;
} pipeline;

/* Fills b with up to o->batch lines; sets b->last at the end of the input. */
static fws_err fill(pipeline *p, batch *b)
{
    const char *line;
    size_t len;
    while (b->n < p->o->batch && b->arena_len < ARENA_MAX / 4) {
        int got = next_line(&p->r, &line, &len);
        if (got == 0) {
            b->last = 1;
            return FWS_OK;
        }
        if (got == -1)
            return fws_errf(&b->eb, FWS_ERR_TOO_BIG, "line %llu: longer than %zu bytes",
                            (unsigned long long)p->r.lineno, p->r.max);
        if (got == -2)
            return fws_errf(&b->eb, FWS_ERR_IO, "%s: read error: %s", p->o->input, strerror(errno));
        if (len == 0)
            continue;
        fws_err err = batch_add(b, line, len, p->r.lineno, &b->eb);
        if (err != FWS_OK)
            return err;
    }
    return FWS_OK;
}

static fws_err prepare(pipeline *p, batch *b)
{
    fws_errbuf why = {{0}};
    size_t bad = b->n;
    if (b->n == 0)
        return FWS_OK;
    for (size_t i = 0, off = 0; i < b->n; off += b->e[i].len, i++)
        b->e[i].data = (const uint8_t *)b->arena + off;
    fws_err err = fws_ledger_batch_prepare(p->l, b->e, b->n, &b->prepared, &bad, &why);
    if (err != FWS_OK && bad < b->n)
        return fws_errf(&b->eb, err, "line %llu: %s", (unsigned long long)b->line[bad], why.msg);
    if (err != FWS_OK)
        return fws_errf(&b->eb, err, "%s", why.msg);
    return FWS_OK;
}

static void *reader_main(void *arg)
{
    pipeline *p = arg;
    for (unsigned k = 0;; k ^= 1) {
        batch *b = &p->b[k];
        pthread_mutex_lock(&p->mu);
        while (b->state != 0 && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        int stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            return NULL;
        b->n = b->arena_len = 0;
        b->err = fill(p, b);
        if (b->err == FWS_OK)
            b->err = prepare(p, b);
        b->ready_ms = fws_ledger_now_ms();
        pthread_mutex_lock(&p->mu);
        b->state = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        if (b->err != FWS_OK || b->last)
            return NULL;
    }
}

/* ---- the main thread: append, print, publish
 * ------------------------------------------------------- */

/* What the import did, for --json. Batches are recorded by the main thread, checkpoints by
 * the publishing thread; latencies are worked out at the end. */
typedef struct batch_rec {
    uint64_t size, ready_ms, n; /* tree size after the batch, when it was read, new entries */
} batch_rec;
typedef struct pub_rec {
    uint64_t size, when_ms;
} pub_rec;

typedef struct stats {
    pthread_mutex_t mu;
    uint64_t first, last, appended, duplicates, batches;
    int any;
    uint64_t start_ms;
    batch_rec *b;
    size_t nb, cap_b;
    pub_rec *p;
    size_t np, cap_p;
} stats;

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 1;
    size_t ncap = *cap ? *cap * 2 : 256;
    void *na = realloc(*arr, ncap * elem);
    if (na == NULL)
        return 0;
    *arr = na;
    *cap = ncap;
    return 1;
}

static void on_publish(void *ctx, uint64_t size, uint64_t when_ms)
{
    stats *s = ctx;
    pthread_mutex_lock(&s->mu);
    if (grow((void **)&s->p, &s->cap_p, s->np, sizeof(*s->p)))
        s->p[s->np++] = (pub_rec){size, when_ms};
    pthread_mutex_unlock(&s->mu);
}

static void print_batch(const batch *b)
{
    int contiguous = 1;
    for (size_t i = 1; i < b->n && contiguous; i++)
        contiguous = b->idx[i] == b->idx[0] + i;
    if (contiguous && b->n > 1)
        printf("%llu..%llu\n", (unsigned long long)b->idx[0], (unsigned long long)b->idx[b->n - 1]);
    for (size_t i = 0; i < b->n && (!contiguous || b->n == 1); i++)
        printf("%llu\n", (unsigned long long)b->idx[i]);
    fflush(stdout);
}

static void count(fws_ledger *l, const batch *b, stats *s)
{
    fws_ledger_status st;
    uint64_t n = 0;
    fws_ledger_get_status(l, &st);
    for (size_t i = 0; i < b->n; i++) {
        if (b->dup[i]) {
            s->duplicates++;
            continue;
        }
        if (!s->any)
            s->first = b->idx[i];
        s->any = 1;
        s->last = b->idx[i];
        s->appended++;
        n++;
    }
    s->batches++;
    pthread_mutex_lock(&s->mu);
    if (n > 0 && grow((void **)&s->b, &s->cap_b, s->nb, sizeof(*s->b)))
        s->b[s->nb++] = (batch_rec){st.size, b->ready_ms, n};
    pthread_mutex_unlock(&s->mu);
}

static fws_err append_batch(fws_ledger *l, batch *b, stats *s, const cli_log_lines_opts *o,
                            fws_errbuf *eb)
{
    if (b->err != FWS_OK)
        return fws_errf(eb, b->err, "%s", b->eb.msg);
    if (b->n == 0)
        return FWS_OK;
    fws_err err = fws_ledger_batch_append(l, b->prepared, b->idx, b->dup, eb);
    fws_ledger_batch_free(b->prepared);
    b->prepared = NULL;
    if (err != FWS_OK)
        return err;
    count(l, b, s);
    if (!o->json)
        print_batch(b);
    return FWS_OK;
}

static fws_err run(pipeline *p, stats *s, fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    for (unsigned k = 0; err == FWS_OK; k ^= 1) {
        batch *b = &p->b[k];
        pthread_mutex_lock(&p->mu);
        while (b->state != 1)
            pthread_cond_wait(&p->cv, &p->mu);
        pthread_mutex_unlock(&p->mu);
        err = append_batch(p->l, b, s, p->o, eb);
        int last = b->last;
        pthread_mutex_lock(&p->mu);
        b->state = 0;
        if (err != FWS_OK)
            p->stop = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        if (last)
            break;
    }
    return err;
}

/* Mean and largest time from a batch being read to the first checkpoint covering it (per
 * entry), and the longest time between two checkpoints (from the start for the first). */
static void latencies(const stats *s, double *mean, double *max, double *gap)
{
    double sum = 0, n = 0;
    size_t j = 0;
    *mean = *max = *gap = 0;
    for (size_t i = 0; i < s->nb; i++) {
        while (j < s->np && s->p[j].size < s->b[i].size)
            j++;
        if (j == s->np)
            break;
        double d = (double)(s->p[j].when_ms - s->b[i].ready_ms);
        sum += d * (double)s->b[i].n;
        n += (double)s->b[i].n;
        if (d > *max)
            *max = d;
    }
    for (size_t k = 0; k < s->np; k++) {
        uint64_t prev = k ? s->p[k - 1].when_ms : s->start_ms;
        if ((double)(s->p[k].when_ms - prev) > *gap)
            *gap = (double)(s->p[k].when_ms - prev);
    }
    *mean = n > 0 ? sum / n : 0;
}

static int print_stats(fws_ledger *l, const stats *s)
{
    fws_ledger_status st;
    double secs = (double)(fws_ledger_now_ms() - s->start_ms) / 1000.0, mean, max, gap;
    fws_ledger_get_status(l, &st);
    latencies(s, &mean, &max, &gap);
    json_t *j = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:{s:f, s:f}, s:{s:f}, s:I, s:I}", "appended",
        (json_int_t)s->appended, "duplicates", (json_int_t)s->duplicates, "batches",
        (json_int_t)s->batches, "checkpoints", (json_int_t)s->np, "size", (json_int_t)st.size,
        "seconds", secs, "perSecond", secs > 0 ? (double)(s->appended + s->duplicates) / secs : 0.0,
        "checkpointLatencyMs", "mean", mean, "max", max, "checkpointGapMs", "max", gap, "first",
        (json_int_t)s->first, "last", (json_int_t)s->last);
    if (!s->any) {
        json_object_set_new(j, "first", json_null());
        json_object_set_new(j, "last", json_null());
    }
    return cli_print_json(j);
}

static fws_err start(pipeline *p, fws_ledger *l, const cli_log_lines_opts *o, fws_errbuf *eb)
{
    p->l = l;
    p->o = o;
    p->r.max = CLI_LOG_READ_MAX;
    p->r.cap = 2 * p->r.max + 1;
    p->r.f = strcmp(o->input, "-") == 0 ? stdin : fopen(o->input, "rb");
    if (p->r.f == NULL)
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", o->input, strerror(errno));
    p->r.buf = malloc(p->r.cap);
    if (p->r.buf == NULL || batch_alloc(&p->b[0], o->batch) != FWS_OK ||
        batch_alloc(&p->b[1], o->batch) != FWS_OK)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    return FWS_OK;
}

static void finish_pipeline(pipeline *p)
{
    if (p->r.f != NULL && p->r.f != stdin)
        fclose(p->r.f);
    free(p->r.buf);
    batch_release(&p->b[0]);
    batch_release(&p->b[1]);
}

/* Runs the reader thread and the append loop; checkpoints come from the ledger's publishing
 * thread, so a slow batch cannot delay them. */
static fws_err import(pipeline *p, fws_ledger *l, const cli_log_lines_opts *o, stats *s,
                      fws_errbuf *eb)
{
    pthread_t th;
    fws_err err = start(p, l, o, eb);
    if (err != FWS_OK)
        return err;
    if (!o->no_checkpoint)
        err = fws_ledger_autopublish_start(l, eb);
    if (err != FWS_OK)
        return err;
    if (pthread_create(&th, NULL, reader_main, p) != 0)
        err = fws_errf(eb, FWS_ERR_IO, "cannot start the reader thread");
    if (err == FWS_OK) {
        err = run(p, s, eb);
        pthread_join(th, NULL);
    }
    fws_err perr = fws_ledger_autopublish_stop(l, eb);
    return err != FWS_OK ? err : perr;
}

int cli_log_append_lines(fws_ledger *l, const cli_log_lines_opts *o)
{
    fws_errbuf eb = {{0}}, pub_eb = {{0}};
    pipeline *p = calloc(1, sizeof(*p));
    stats s;

    memset(&s, 0, sizeof(s));
    s.start_ms = fws_ledger_now_ms();
    if (p == NULL)
        return cli_report("log append", FWS_ERR_NOMEM, NULL);
    pthread_mutex_init(&s.mu, NULL);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    fws_ledger_on_publish(l, on_publish, &s);
    fws_err err = import(p, l, o, &s, &eb);
    /* what was acknowledged gets a checkpoint even when a later line failed */
    fws_err perr = o->no_checkpoint ? FWS_OK : fws_ledger_publish(l, &pub_eb);
    fws_ledger_on_publish(l, NULL, NULL);
    finish_pipeline(p);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
    int rc = CLI_OK;
    if (err == FWS_OK && perr != FWS_OK)
        rc = cli_report("log append", perr, &pub_eb);
    else if (err != FWS_OK)
        rc = cli_report("log append", err, &eb);
    else if (o->json)
        rc = print_stats(l, &s);
    pthread_mutex_destroy(&s.mu);
    free(s.b);
    free(s.p);
    return rc;
}
