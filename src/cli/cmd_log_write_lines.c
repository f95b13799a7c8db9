/* fwseal log append --lines: bulk import, one entry per line, in durable batches. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"

#define ARENA_MAX ((size_t)64 << 20) /* bytes of lines held for one batch */

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

typedef struct batch {
    fws_ledger_entry *e;
    uint64_t *line; /* each entry's line number, for messages */
    uint64_t *idx;
    uint8_t *dup;
    char *arena;
    size_t n, arena_len;
} batch;

typedef struct stats {
    uint64_t first, last, appended, duplicates, batches, checkpoints;
    int any;
    uint64_t start_ms;
    /* time from a batch's start to the checkpoint covering it, per entry */
    uint64_t unsigned_count, unsigned_sum_ms, oldest_ms, lat_count;
    double lat_sum_ms, lat_max_ms;
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

static fws_err flush_batch(fws_ledger *l, batch *b, stats *s, const cli_log_lines_opts *o,
                           fws_errbuf *eb)
{
    uint64_t started = fws_ledger_now_ms();
    if (b->n == 0)
        return FWS_OK;
    /* the arena may have moved while the batch grew: point the entries at it now */
    for (size_t i = 0, off = 0; i < b->n; off += b->e[i].len, i++)
        b->e[i].data = (const uint8_t *)b->arena + off;
    fws_errbuf why = {{0}};
    size_t bad = b->n;
    fws_err err = fws_ledger_append_at(l, b->e, b->n, b->idx, b->dup, &bad, &why);
    if (err != FWS_OK && bad < b->n)
        return fws_errf(eb, err, "line %llu: %s", (unsigned long long)b->line[bad], why.msg);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s", why.msg);
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
            s->oldest_ms = started;
        s->unsigned_sum_ms += started;
    }
    s->batches++;
    if (!o->json)
        print_batch(b);
    b->n = 0;
    b->arena_len = 0;
    if (!o->no_checkpoint && fws_ledger_publish_due(l, fws_ledger_now_ms()))
        return publish(l, s, eb);
    return FWS_OK;
}

static fws_err batch_add(batch *b, const char *line, size_t len, uint64_t lineno, fws_errbuf *eb)
{
    if (b->arena_len + len + 1 > ARENA_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "batch over %zu bytes", ARENA_MAX);
    char *na = realloc(b->arena, b->arena_len + len + 1);
    if (na == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    b->arena = na;
    memcpy(b->arena + b->arena_len, line, len);
    b->arena_len += len;
    b->e[b->n].data = NULL;
    b->e[b->n].len = len;
    b->line[b->n] = lineno;
    b->n++;
    return FWS_OK;
}

static int print_stats(fws_ledger *l, const stats *s)
{
    fws_ledger_status st;
    double secs = (double)(fws_ledger_now_ms() - s->start_ms) / 1000.0;
    fws_ledger_get_status(l, &st);
    json_t *j = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:{s:f, s:f}, s:I, s:I}", "appended",
        (json_int_t)s->appended, "duplicates", (json_int_t)s->duplicates, "batches",
        (json_int_t)s->batches, "checkpoints", (json_int_t)s->checkpoints, "size",
        (json_int_t)st.size, "seconds", secs, "perSecond",
        secs > 0 ? (double)(s->appended + s->duplicates) / secs : 0.0, "checkpointLatencyMs",
        "mean", s->lat_count ? s->lat_sum_ms / (double)s->lat_count : 0.0, "max", s->lat_max_ms,
        "first", (json_int_t)s->first, "last", (json_int_t)s->last);
    if (!s->any) {
        json_object_set_new(j, "first", json_null());
        json_object_set_new(j, "last", json_null());
    }
    return cli_print_json(j);
}

static fws_err import(fws_ledger *l, line_reader *r, batch *b, stats *s,
                      const cli_log_lines_opts *o, fws_errbuf *eb)
{
    const char *line;
    size_t len;
    int got;
    fws_err err = FWS_OK;
    while (err == FWS_OK && (got = next_line(r, &line, &len)) != 0) {
        if (got == -1)
            return fws_errf(eb, FWS_ERR_TOO_BIG, "line %llu: longer than %zu bytes",
                            (unsigned long long)r->lineno, r->max);
        if (got == -2)
            return fws_errf(eb, FWS_ERR_IO, "%s: read error: %s", o->input, strerror(errno));
        if (len == 0)
            continue;
        err = batch_add(b, line, len, r->lineno, eb);
        if (err == FWS_OK && (b->n == o->batch || b->arena_len >= ARENA_MAX / 4))
            err = flush_batch(l, b, s, o, eb);
    }
    if (err == FWS_OK)
        err = flush_batch(l, b, s, o, eb);
    return err;
}

int cli_log_append_lines(fws_ledger *l, const cli_log_lines_opts *o)
{
    fws_errbuf eb = {{0}}, pub_eb = {{0}};
    line_reader r;
    batch b;
    stats s;
    fws_err err = FWS_OK;

    memset(&r, 0, sizeof(r));
    memset(&b, 0, sizeof(b));
    memset(&s, 0, sizeof(s));
    s.start_ms = fws_ledger_now_ms();
    r.max = CLI_LOG_READ_MAX;
    r.cap = 2 * r.max + 1;
    r.f = strcmp(o->input, "-") == 0 ? stdin : fopen(o->input, "rb");
    r.buf = malloc(r.cap);
    b.e = calloc(o->batch, sizeof(*b.e));
    b.idx = calloc(o->batch, sizeof(*b.idx));
    b.line = calloc(o->batch, sizeof(*b.line));
    b.dup = calloc(o->batch, 1);
    if (r.f == NULL)
        err = fws_errf(&eb, FWS_ERR_IO, "%s: %s", o->input, strerror(errno));
    else if (r.buf == NULL || b.e == NULL || b.idx == NULL || b.line == NULL || b.dup == NULL)
        err = fws_errf(&eb, FWS_ERR_NOMEM, "out of memory");
    if (err == FWS_OK)
        err = import(l, &r, &b, &s, o, &eb);
    /* what was acknowledged gets a checkpoint even when a later line failed */
    fws_err perr = o->no_checkpoint ? FWS_OK : publish(l, &s, &pub_eb);
    if (r.f != NULL && r.f != stdin)
        fclose(r.f);
    free(r.buf);
    free(b.e);
    free(b.idx);
    free(b.line);
    free(b.dup);
    free(b.arena);
    if (err == FWS_OK && perr != FWS_OK)
        return cli_report("log append", perr, &pub_eb);
    if (err != FWS_OK)
        return cli_report("log append", err, &eb);
    return o->json ? print_stats(l, &s) : CLI_OK;
}
