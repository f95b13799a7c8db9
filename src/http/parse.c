/* The HTTP/1.1 response parser (RFC 9112): a state machine fed bytes in any pieces, returning
 * one event at a time. It never allocates and never reads past the bytes it is given. */
#include <string.h>
#include "http/internal.h"

enum {
    S_STATUS,       /* the status line */
    S_HEADER,       /* header lines up to the empty one */
    S_BODY_LEN,     /* remaining bytes of a Content-Length body */
    S_BODY_CLOSE,   /* everything up to the end of the connection */
    S_CHUNK_SIZE,   /* a chunk-size line */
    S_CHUNK_DATA,   /* remaining bytes of a chunk */
    S_CHUNK_END,    /* the CRLF after a chunk's data */
    S_TRAILER,      /* trailer lines up to the empty one */
    S_DONE_PENDING, /* the body is over: the next call returns HTTP_EV_DONE */
    S_DONE
};

#define CHUNK_LINE_MAX 1024 /* a chunk size with its extensions */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Field content: visible ASCII, space, tab and obs-text; no other control byte. */
static int is_field_byte(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int ieq(const char *a, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (n != k)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (lower((unsigned char)a[i]) != lit[i])
            return 0;
    }
    return 1;
}

static fws_err bad(fws_errbuf *eb, const char *what)
{
    return fws_errf(eb, FWS_ERR_FORMAT, "HTTP response: %s", what);
}

static void reset_head(http_parser *p)
{
    p->version_minor = 0;
    p->status = 0;
    p->content_length = -1;
    p->chunked = p->te_other = p->conn_close = p->keep_alive = p->no_body = 0;
    p->content_type[0] = p->content_range[0] = p->location[0] = '\0';
}

void http_parser_init(http_parser *p, size_t header_max)
{
    p->state = S_STATUS;
    p->header_max = header_max ? header_max : FWS_HTTP_HEADER_MAX_DEFAULT;
    p->header_used = p->line_len = 0;
    p->remaining = 0;
    p->saw_cr = 0;
    reset_head(p);
    p->line[0] = '\0';
}

int http_parser_done(const http_parser *p)
{
    return p->state == S_DONE;
}

int http_parser_has_head(const http_parser *p)
{
    return p->state != S_STATUS && p->state != S_HEADER;
}

/* ---- lines ------------------------------------------------------------------------------ */

/* Gathers one CRLF-terminated line into p->line (without the CRLF, NUL-terminated). *done is 1
 * when the line is complete. counted: the bytes go against the header block cap. */
static fws_err take_line(http_parser *p, const uint8_t *in, size_t n, size_t *used, int *done,
                         size_t max, int counted, fws_errbuf *eb)
{
    const uint8_t *lf = memchr(in, '\n', n);
    size_t take = lf ? (size_t)(lf - in) + 1 : n;
    if (counted && take > p->header_max - p->header_used)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "HTTP response: header block over %zu bytes",
                        p->header_max);
    if (counted)
        p->header_used += take;
    size_t body = lf ? take - 1 : take;
    if (body > max - p->line_len)
        return counted ? fws_errf(eb, FWS_ERR_TOO_BIG, "HTTP response: header line too long")
                       : bad(eb, "chunk size line too long");
    memcpy(p->line + p->line_len, in, body);
    p->line_len += body;
    *used = take;
    *done = lf != NULL;
    if (lf == NULL)
        return FWS_OK;
    if (p->line_len == 0 || p->line[p->line_len - 1] != '\r')
        return bad(eb, "line not ended by CRLF");
    p->line_len--;
    if (memchr(p->line, '\r', p->line_len) != NULL || memchr(p->line, '\0', p->line_len) != NULL)
        return bad(eb, "CR or NUL inside a line");
    p->line[p->line_len] = '\0';
    return FWS_OK;
}

/* ---- the head --------------------------------------------------------------------------- */

static fws_err parse_status(http_parser *p, fws_errbuf *eb)
{
    const char *l = p->line;
    size_t n = p->line_len;
    if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') || l[8] != ' ')
        return bad(eb, "malformed status line");
    for (int i = 9; i < 12; i++) {
        if (l[i] < '0' || l[i] > '9')
            return bad(eb, "malformed status line");
    }
    if (n > 12 && l[12] != ' ')
        return bad(eb, "malformed status line");
    for (size_t i = 13; i < n; i++) {
        if (!is_field_byte((unsigned char)l[i]))
            return bad(eb, "control byte in the reason phrase");
    }
    p->version_minor = l[7] - '0';
    p->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    if (p->status < 100 || p->status > 599)
        return bad(eb, "status code out of range");
    return FWS_OK;
}

/* One Content-Length value (possibly a list of equal values). */
static fws_err parse_length(http_parser *p, const char *v, size_t n, fws_errbuf *eb)
{
    size_t i = 0;
    while (i < n) {
        uint64_t x = 0;
        size_t start = i;
        while (i < n && v[i] >= '0' && v[i] <= '9') {
            x = x * 10 + (uint64_t)(v[i] - '0');
            if (x > HTTP_LENGTH_MAX)
                return fws_errf(eb, FWS_ERR_TOO_BIG, "HTTP response: Content-Length too big");
            i++;
        }
        if (i == start)
            return bad(eb, "bad Content-Length");
        if (p->content_length >= 0 && (uint64_t)p->content_length != x)
            return bad(eb, "conflicting Content-Length values");
        p->content_length = (int64_t)x;
        while (i < n && is_ows((unsigned char)v[i]))
            i++;
        if (i < n && v[i++] != ',')
            return bad(eb, "bad Content-Length");
        while (i < n && is_ows((unsigned char)v[i]))
            i++;
    }
    return FWS_OK;
}

/* Calls fn on each comma-separated token of v (trimmed, maybe empty). */
static fws_err each_token(http_parser *p, const char *v, size_t n,
                          fws_err (*fn)(http_parser *p, const char *t, size_t k, fws_errbuf *eb),
                          fws_errbuf *eb)
{
    size_t i = 0;
    while (i <= n) {
        size_t start = i, end;
        while (i < n && v[i] != ',')
            i++;
        end = i;
        while (start < end && is_ows((unsigned char)v[start]))
            start++;
        while (end > start && is_ows((unsigned char)v[end - 1]))
            end--;
        fws_err err = end > start ? fn(p, v + start, end - start, eb) : FWS_OK;
        if (err != FWS_OK)
            return err;
        i++;
    }
    return FWS_OK;
}

static fws_err te_token(http_parser *p, const char *t, size_t k, fws_errbuf *eb)
{
    if (p->chunked)
        return bad(eb, "a transfer coding after chunked");
    if (ieq(t, k, "chunked"))
        p->chunked = 1;
    else
        p->te_other = 1;
    return FWS_OK;
}

static fws_err conn_token(http_parser *p, const char *t, size_t k, fws_errbuf *eb)
{
    (void)eb;
    if (ieq(t, k, "close"))
        p->conn_close = 1;
    return FWS_OK;
}

static fws_err copy_value(char *dst, size_t cap, const char *v, size_t n, const char *name,
                          fws_errbuf *eb)
{
    if (n >= cap)
        return fws_errf(eb, FWS_ERR_FORMAT, "HTTP response: %s too long", name);
    memcpy(dst, v, n);
    dst[n] = '\0';
    return FWS_OK;
}

static fws_err header_value(http_parser *p, const char *name, size_t nn, const char *v, size_t n,
                            fws_errbuf *eb)
{
    if (ieq(name, nn, "content-length"))
        return parse_length(p, v, n, eb);
    if (ieq(name, nn, "transfer-encoding"))
        return each_token(p, v, n, te_token, eb);
    if (ieq(name, nn, "connection"))
        return each_token(p, v, n, conn_token, eb);
    if (ieq(name, nn, "content-type"))
        return copy_value(p->content_type, sizeof(p->content_type), v, n, "Content-Type", eb);
    if (ieq(name, nn, "content-range"))
        return copy_value(p->content_range, sizeof(p->content_range), v, n, "Content-Range", eb);
    if (ieq(name, nn, "location"))
        return copy_value(p->location, sizeof(p->location), v, n, "Location", eb);
    return FWS_OK;
}

/* Splits a header (or trailer) line; interpret: record the fields the client reads. */
static fws_err parse_field(http_parser *p, int interpret, fws_errbuf *eb)
{
    const char *l = p->line;
    size_t n = p->line_len, i = 0;
    if (is_ows((unsigned char)l[0]))
        return bad(eb, "obsolete line folding");
    if (memchr(l, ':', n) == NULL)
        return bad(eb, "header line without a colon");
    while (i < n && is_tchar((unsigned char)l[i]))
        i++;
    if (i == 0 || l[i] != ':')
        return bad(eb, "bad header name");
    size_t vs = i + 1, ve = n;
    while (vs < ve && is_ows((unsigned char)l[vs]))
        vs++;
    while (ve > vs && is_ows((unsigned char)l[ve - 1]))
        ve--;
    for (size_t k = vs; k < ve; k++) {
        if (!is_field_byte((unsigned char)l[k]))
            return bad(eb, "control byte in a header value");
    }
    return interpret ? header_value(p, l, i, l + vs, ve - vs, eb) : FWS_OK;
}

/* The empty line after the headers: decide how the body is framed. */
static fws_err end_of_head(http_parser *p, http_event *ev, fws_errbuf *eb)
{
    if (p->status == 101)
        return bad(eb, "unexpected protocol switch (101)");
    if (p->status < 200) { /* 1xx: skipped, the real head follows */
        reset_head(p);
        p->state = S_STATUS;
        return FWS_OK;
    }
    if (p->te_other)
        return fws_errf(eb, FWS_ERR_UNSUPPORTED,
                        "HTTP response: transfer coding other than "
                        "chunked");
    if (p->chunked && p->content_length >= 0)
        return bad(eb, "both Content-Length and chunked");
    p->keep_alive = p->version_minor == 1 && !p->conn_close;
    p->no_body = p->status == 204 || p->status == 304;
    if (p->no_body || (!p->chunked && p->content_length == 0)) {
        p->state = S_DONE_PENDING;
    } else if (p->chunked) {
        p->state = S_CHUNK_SIZE;
    } else if (p->content_length > 0) {
        p->remaining = (uint64_t)p->content_length;
        p->state = S_BODY_LEN;
    } else {
        p->keep_alive = 0;
        p->state = S_BODY_CLOSE;
    }
    ev->kind = HTTP_EV_HEAD;
    return FWS_OK;
}

static fws_err head_line(http_parser *p, http_event *ev, fws_errbuf *eb)
{
    if (p->state == S_STATUS) {
        fws_err err = parse_status(p, eb);
        if (err == FWS_OK)
            p->state = S_HEADER;
        return err;
    }
    if (p->line_len == 0)
        return end_of_head(p, ev, eb);
    return parse_field(p, 1, eb);
}

/* ---- chunks ----------------------------------------------------------------------------- */

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static fws_err chunk_size_line(http_parser *p, fws_errbuf *eb)
{
    uint64_t size = 0;
    size_t i = 0;
    int d;
    while (i < p->line_len && (d = hex_value((unsigned char)p->line[i])) >= 0) {
        if (size > (HTTP_CHUNK_MAX >> 4))
            return fws_errf(eb, FWS_ERR_TOO_BIG, "HTTP response: chunk size too big");
        size = size * 16 + (uint64_t)d;
        i++;
    }
    if (i == 0)
        return bad(eb, "bad chunk size");
    while (i < p->line_len && is_ows((unsigned char)p->line[i]))
        i++;
    if (i < p->line_len && p->line[i] != ';')
        return bad(eb, "bad chunk size");
    for (; i < p->line_len; i++) {
        if (!is_field_byte((unsigned char)p->line[i]))
            return bad(eb, "control byte in a chunk extension");
    }
    if (size > HTTP_CHUNK_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "HTTP response: chunk size too big");
    p->remaining = size;
    if (size > 0) {
        p->state = S_CHUNK_DATA;
    } else {
        p->header_used = 0; /* the trailer section has its own cap */
        p->state = S_TRAILER;
    }
    return FWS_OK;
}

static fws_err chunk_line(http_parser *p, fws_errbuf *eb)
{
    if (p->state == S_CHUNK_SIZE)
        return chunk_size_line(p, eb);
    if (p->state == S_CHUNK_END) {
        if (p->line_len != 0)
            return bad(eb, "chunk data not followed by CRLF");
        p->state = S_CHUNK_SIZE;
        return FWS_OK;
    }
    if (p->line_len == 0) { /* end of the trailers */
        p->state = S_DONE_PENDING;
        return FWS_OK;
    }
    return parse_field(p, 0, eb);
}

/* ---- feeding ---------------------------------------------------------------------------- */

static fws_err feed_line(http_parser *p, const uint8_t *in, size_t n, size_t *used, http_event *ev,
                         fws_errbuf *eb)
{
    int head = p->state == S_STATUS || p->state == S_HEADER;
    int counted = head || p->state == S_TRAILER;
    size_t max = counted ? sizeof(p->line) - 1 : CHUNK_LINE_MAX;
    int done = 0;
    fws_err err = take_line(p, in, n, used, &done, max, counted, eb);
    if (err != FWS_OK || !done)
        return err;
    err = head ? head_line(p, ev, eb) : chunk_line(p, eb);
    p->line_len = 0;
    return err;
}

static void feed_body(http_parser *p, const uint8_t *in, size_t n, size_t *used, http_event *ev)
{
    size_t take = n;
    if (p->state != S_BODY_CLOSE && p->remaining < take)
        take = (size_t)p->remaining;
    if (p->state != S_BODY_CLOSE)
        p->remaining -= take;
    if (p->remaining == 0 && p->state == S_BODY_LEN)
        p->state = S_DONE_PENDING;
    else if (p->remaining == 0 && p->state == S_CHUNK_DATA)
        p->state = S_CHUNK_END;
    ev->kind = HTTP_EV_BODY;
    ev->data = in;
    ev->len = take;
    *used = take;
}

fws_err http_parser_feed(http_parser *p, const uint8_t *in, size_t n, size_t *used, http_event *ev,
                         fws_errbuf *eb)
{
    size_t off = 0;
    ev->kind = HTTP_EV_NONE;
    ev->data = NULL;
    ev->len = 0;
    while (ev->kind == HTTP_EV_NONE) {
        size_t k = 0;
        if (p->state == S_DONE_PENDING) {
            p->state = S_DONE;
            ev->kind = HTTP_EV_DONE;
            break;
        }
        if (p->state == S_DONE || off == n)
            break;
        if (p->state == S_BODY_LEN || p->state == S_BODY_CLOSE || p->state == S_CHUNK_DATA) {
            feed_body(p, in + off, n - off, &k, ev);
        } else {
            fws_err err = feed_line(p, in + off, n - off, &k, ev, eb);
            if (err != FWS_OK)
                return err;
        }
        off += k;
    }
    *used = off;
    return FWS_OK;
}

fws_err http_parser_eof(http_parser *p, http_event *ev, fws_errbuf *eb)
{
    ev->kind = HTTP_EV_NONE;
    ev->data = NULL;
    ev->len = 0;
    if (p->state == S_BODY_CLOSE || p->state == S_DONE_PENDING) {
        p->state = S_DONE;
        ev->kind = HTTP_EV_DONE;
        return FWS_OK;
    }
    if (p->state == S_DONE)
        return FWS_OK;
    return fws_errf(eb, FWS_ERR_IO, "connection closed before the end of the response");
}
