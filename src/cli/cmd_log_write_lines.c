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

typedef struct stats {
    uint64_t first, last, appended, duplicates, batches, checkpoints;
    int any;
    uint64_t start_ms;
    /* time from a batch being read to the checkpoint covering it, per entry */
    uint64_t unsigned_count, unsigned_sum_ms, oldest_ms, lat_count;
    double lat_sum_ms, lat_max_ms;
    uint64_t last_publish_ms, max_gap_ms; /* longest time between two checkpoints */
} stats;

static fws_err publish(fws_ledger *l, stats *s, fws_errbuf *eb)
{
    if (!fws_ledger_unsigned(l))
        return FWS_OK;
    fws_err err = fws_ledger_publish(l, eb);
    if (err != FWS_OK)
        return err;
    uint64_t now = fws_ledger_now_ms();
    s->checkpoints++;
    if (now - s->last_publish_ms > s->max_gap_ms)
        s->max_gap_ms = now - s->last_publish_ms;
    s->last_publish_ms = now;
    if (s->unsigned_count > 0) {
        s->lat_sum_ms += (double)(s->unsigned_count * now - s->unsigned_sum_ms);
        s->lat_count += s->unsigned_count;
        if ((double)(now - s->oldest_ms) > s->lat_max_ms)
            s->lat_max_ms = (double)(now - s->oldest_ms);
    }
    s->unsigned_count = s->unsigned_sum_ms = 0;
    return FWS_OK;
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

static void count(const batch *b, stats *s)
{
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
        if (s->unsigned_count++ == 0)
            s->oldest_ms = b->ready_ms;
        s->unsigned_sum_ms += b->ready_ms;
    }
    s->batches++;
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
    count(b, s);
    if (!o->json)
        print_batch(b);
    if (!o->no_checkpoint && fws_ledger_publish_due(l, fws_ledger_now_ms()))
        return publish(l, s, eb);
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

static int print_stats(fws_ledger *l, const stats *s)
{
    fws_ledger_status st;
    double secs = (double)(fws_ledger_now_ms() - s->start_ms) / 1000.0;
    fws_ledger_get_status(l, &st);
    json_t *j = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:{s:f, s:f}, s:{s:f}, s:I, s:I}", "appended",
        (json_int_t)s->appended, "duplicates", (json_int_t)s->duplicates, "batches",
        (json_int_t)s->batches, "checkpoints", (json_int_t)s->checkpoints, "size",
        (json_int_t)st.size, "seconds", secs, "perSecond",
        secs > 0 ? (double)(s->appended + s->duplicates) / secs : 0.0, "checkpointLatencyMs",
        "mean", s->lat_count ? s->lat_sum_ms / (double)s->lat_count : 0.0, "max", s->lat_max_ms,
        "checkpointGapMs", "max", (double)s->max_gap_ms, "first", (json_int_t)s->first, "last",
        (json_int_t)s->last);
    if (!s->any) {
        json_object_set_new(j, "first", json_null());
        json_object_set_new(j, "last", json_null());
    }
    return cli_print_json(j);
}

static fws_err start(pipeline *p, fws_ledger *l, const cli_log_lines_opts *o, fws_errbuf *eb)
{
    memset(p, 0, sizeof(*p));
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

int cli_log_append_lines(fws_ledger *l, const cli_log_lines_opts *o)
{
    fws_errbuf eb = {{0}}, pub_eb = {{0}};
    pipeline *p = malloc(sizeof(*p));
    pthread_t th;
    stats s;

    memset(&s, 0, sizeof(s));
    s.start_ms = s.last_publish_ms = fws_ledger_now_ms();
    if (p == NULL)
        return cli_report("log append", FWS_ERR_NOMEM, NULL);
    fws_err err = start(p, l, o, &eb);
    if (err == FWS_OK) {
        pthread_mutex_init(&p->mu, NULL);
        pthread_cond_init(&p->cv, NULL);
        if (pthread_create(&th, NULL, reader_main, p) != 0)
            err = fws_errf(&eb, FWS_ERR_IO, "cannot start the reader thread");
        if (err == FWS_OK) {
            err = run(p, &s, &eb);
            pthread_join(th, NULL);
        }
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
    }
    /* what was acknowledged gets a checkpoint even when a later line failed */
    fws_err perr = o->no_checkpoint ? FWS_OK : publish(l, &s, &pub_eb);
    finish_pipeline(p);
    free(p);
    if (err == FWS_OK && perr != FWS_OK)
        return cli_report("log append", perr, &pub_eb);
    if (err != FWS_OK)
        return cli_report("log append", err, &eb);
    return o->json ? print_stats(l, &s) : CLI_OK;
}
