/* The HTTP response parser, the URL parser and pins, on good and bad input; feeding one byte at a
 * time must give exactly what feeding the whole buffer gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "http/internal.h"

typedef struct result {
    fws_err err;
    int heads, done;
    int status, chunked, keep_alive;
    int64_t content_length;
    char content_type[FWS_HTTP_CONTENT_TYPE_MAX];
    char location[HTTP_LOCATION_MAX];
    uint8_t body[4096];
    size_t body_len;
    char msg[FWS_ERRBUF_SIZE];
} result;

static void on_event(http_parser *p, const http_event *ev, result *r)
{
    if (ev->kind == HTTP_EV_HEAD) {
        r->heads++;
        r->status = p->status;
        r->chunked = p->chunked;
        r->keep_alive = p->keep_alive;
        r->content_length = p->content_length;
        strcpy(r->content_type, p->content_type);
        strcpy(r->location, p->location);
    } else if (ev->kind == HTTP_EV_BODY) {
        assert_true(r->body_len + ev->len <= sizeof(r->body));
        memcpy(r->body + r->body_len, ev->data, ev->len);
        r->body_len += ev->len;
    } else if (ev->kind == HTTP_EV_DONE) {
        r->done++;
    }
}

/* Feeds in[0..n) in pieces of step bytes (0: all at once); eof: then signals the end. */
static void run(const char *in, size_t n, size_t step, int eof, size_t header_max, result *r)
{
    static http_parser p; /* large: not on the stack */
    fws_errbuf eb = {""};
    memset(r, 0, sizeof(*r));
    http_parser_init(&p, header_max);
    size_t off = 0;
    while (off < n && r->err == FWS_OK && !http_parser_done(&p)) {
        size_t piece = step == 0 || step > n - off ? n - off : step, pos = 0;
        while (pos < piece && !http_parser_done(&p)) {
            http_event ev;
            size_t used = 0;
            r->err =
                http_parser_feed(&p, (const uint8_t *)in + off + pos, piece - pos, &used, &ev, &eb);
            if (r->err != FWS_OK)
                break;
            assert_true(used <= piece - pos);
            pos += used;
            on_event(&p, &ev, r);
            if (ev.kind == HTTP_EV_NONE)
                assert_int_equal(pos, piece);
        }
        off += pos;
        if (pos < piece)
            break;
    }
    while (r->err == FWS_OK && !http_parser_done(&p)) { /* events with no input left */
        http_event ev;
        size_t used = 0;
        r->err = http_parser_feed(&p, NULL, 0, &used, &ev, &eb);
        if (r->err != FWS_OK || ev.kind == HTTP_EV_NONE)
            break;
        on_event(&p, &ev, r);
    }
    if (r->err == FWS_OK && eof && !http_parser_done(&p)) {
        http_event ev;
        r->err = http_parser_eof(&p, &ev, &eb);
        if (r->err == FWS_OK)
            on_event(&p, &ev, r);
    }
    snprintf(r->msg, sizeof(r->msg), "%s", eb.msg);
}

/* Runs input whole and byte by byte (and in 7-byte pieces): the results must agree. */
static void parse(const char *in, int eof, size_t header_max, result *r)
{
    static result one, seven;
    size_t n = strlen(in);
    run(in, n, 0, eof, header_max, r);
    run(in, n, 1, eof, header_max, &one);
    run(in, n, 7, eof, header_max, &seven);
    assert_int_equal(r->err, one.err);
    assert_int_equal(r->err, seven.err);
    assert_string_equal(r->msg, one.msg);
    assert_int_equal(r->status, one.status);
    assert_int_equal(r->done, one.done);
    assert_int_equal(r->heads, one.heads);
    assert_int_equal(r->body_len, one.body_len);
    assert_memory_equal(r->body, one.body, r->body_len);
    assert_int_equal(r->body_len, seven.body_len);
    assert_memory_equal(r->body, seven.body, r->body_len);
}

static void expect_body(const char *in, int eof, int status, const char *body)
{
    static result r;
    parse(in, eof, 0, &r);
    assert_int_equal(r.err, FWS_OK);
    assert_int_equal(r.heads, 1);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.status, status);
    assert_int_equal(r.body_len, strlen(body));
    assert_memory_equal(r.body, body, r.body_len);
}

static void expect_error(const char *in, fws_err err, const char *msg)
{
    static result r;
    parse(in, 1, 0, &r);
    assert_int_equal(r.err, err);
    if (msg != NULL && strstr(r.msg, msg) == NULL)
        fail_msg("\"%s\" lacks \"%s\"", r.msg, msg);
}

/* ---- good responses ------------------------------------------------------------------------ */

static void test_content_length(void **state)
{
    (void)state;
    static result r;
    parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", 0, 0,
          &r);
    assert_int_equal(r.err, FWS_OK);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.content_length, 5);
    assert_string_equal(r.content_type, "text/plain");
    assert_int_equal(r.keep_alive, 1);
    assert_memory_equal(r.body, "hello", 5);
    /* equal duplicates, a list of equal values, and header names in any case */
    expect_body("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nCONTENT-LENGTH: 2\r\n\r\nok", 0, 200,
                "ok");
    expect_body("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", 0, 200, "ok");
    /* bytes after the body belong to the next response: not taken */
    expect_body("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnopHTTP/1.1", 0, 404, "nop");
    /* a status line without a reason phrase */
    expect_body("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 0, 200, "");
}

static void test_chunked(void **state)
{
    (void)state;
    static result r;
    const char *in = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5;name=value;x\r\nhello\r\nA \r\n, chunked!\r\n"
                     "0\r\nX-Trailer: yes\r\nOther: 2\r\n\r\n";
    parse(in, 0, 0, &r);
    assert_int_equal(r.err, FWS_OK);
    assert_int_equal(r.chunked, 1);
    assert_int_equal(r.content_length, -1);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.keep_alive, 1);
    assert_int_equal(r.body_len, 15);
    assert_memory_equal(r.body, "hello, chunked!", 15);
    expect_body("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n", 0, 200, "");
}

static void test_close_delimited(void **state)
{
    (void)state;
    static result r;
    parse("HTTP/1.1 200 OK\r\n\r\nuntil the end", 1, 0, &r);
    assert_int_equal(r.err, FWS_OK);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.keep_alive, 0);
    assert_memory_equal(r.body, "until the end", 13);
    /* without the end of the connection the response is not over */
    parse("HTTP/1.1 200 OK\r\n\r\nmore", 0, 0, &r);
    assert_int_equal(r.err, FWS_OK);
    assert_int_equal(r.done, 0);
}

static void test_interim_and_no_body(void **state)
{
    (void)state;
    static result r;
    parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
          "HTTP/1.1 201 Created\r\nLocation: /new\r\nContent-Length: 2\r\n\r\nok",
          0, 0, &r);
    assert_int_equal(r.err, FWS_OK);
    assert_int_equal(r.heads, 1); /* the 1xx heads are not reported */
    assert_int_equal(r.status, 201);
    assert_string_equal(r.location, "/new");
    expect_body("HTTP/1.1 204 No Content\r\n\r\n", 0, 204, "");
    expect_body("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", 0, 304, "");
    parse("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n", 0, 0,
          &r);
    assert_int_equal(r.keep_alive, 0);
    parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 0, &r);
    assert_int_equal(r.err, FWS_OK);
    assert_int_equal(r.keep_alive, 0);
}

/* ---- bad responses ------------------------------------------------------------------------- */

static void test_bad_status_lines(void **state)
{
    (void)state;
    expect_error("HTTP/1.1 20 OK\r\n\r\n", FWS_ERR_FORMAT, "malformed status line");
    expect_error("HTTP/2 200 OK\r\n\r\n", FWS_ERR_FORMAT, "malformed status line");
    expect_error("HTTP/1.1 200OK\r\n\r\n", FWS_ERR_FORMAT, "malformed status line");
    expect_error("HTTP/1.2 200 OK\r\n\r\n", FWS_ERR_FORMAT, "malformed status line");
    expect_error("SSH-2.0-OpenSSH\r\n", FWS_ERR_FORMAT, "malformed status line");
    expect_error("HTTP/1.1 099 Low\r\n\r\n", FWS_ERR_FORMAT, "out of range");
    expect_error("HTTP/1.1 200 O\x01K\r\n\r\n", FWS_ERR_FORMAT, "reason");
    expect_error("HTTP/1.1 200 OK\n\n", FWS_ERR_FORMAT, "CRLF");
    expect_error("HTTP/1.1 101 Switching Protocols\r\n\r\n", FWS_ERR_FORMAT, "101");
    expect_error("", FWS_ERR_IO, "closed before");
}

static void test_bad_headers(void **state)
{
    (void)state;
    expect_error("HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n", FWS_ERR_FORMAT, "folding");
    expect_error("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", FWS_ERR_FORMAT, "without a colon");
    expect_error("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", FWS_ERR_FORMAT, "header name");
    expect_error("HTTP/1.1 200 OK\r\n: x\r\n\r\n", FWS_ERR_FORMAT, "header name");
    expect_error("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", FWS_ERR_FORMAT, "CR or NUL");
    expect_error("HTTP/1.1 200 OK\r\nX: a\x7f\r\n\r\n", FWS_ERR_FORMAT, "control byte");
    expect_error("HTTP/1.1 200 OK\r\nX: ok\nY: bare LF\r\n\r\n", FWS_ERR_FORMAT, "CRLF");
    expect_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                 FWS_ERR_FORMAT, "conflicting Content-Length");
    expect_error("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", FWS_ERR_FORMAT,
                 "conflicting Content-Length");
    expect_error("HTTP/1.1 200 OK\r\nContent-Length: 5a\r\n\r\n", FWS_ERR_FORMAT,
                 "bad Content-Length");
    expect_error("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", FWS_ERR_FORMAT,
                 "bad Content-Length");
    expect_error("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", FWS_ERR_TOO_BIG,
                 "Content-Length");
    expect_error("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                 FWS_ERR_FORMAT, "both Content-Length and chunked");
    expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", FWS_ERR_UNSUPPORTED,
                 "transfer coding");
    expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", FWS_ERR_FORMAT,
                 "after chunked");
}

static void test_header_nul(void **state)
{
    (void)state;
    static const char in[] = "HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 0\r\n\r\n";
    static result r, one;
    run(in, sizeof(in) - 1, 0, 1, 0, &r);
    run(in, sizeof(in) - 1, 1, 1, 0, &one);
    assert_int_equal(r.err, FWS_ERR_FORMAT);
    assert_int_equal(one.err, FWS_ERR_FORMAT);
    assert_non_null(strstr(r.msg, "CR or NUL"));
}

static void test_header_cap(void **state)
{
    (void)state;
    static result r;
    static char big[40000];
    const char *in = "HTTP/1.1 200 OK\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
                     "Content-Length: 0\r\n\r\n";
    parse(in, 0, 64, &r);
    assert_int_equal(r.err, FWS_ERR_TOO_BIG);
    assert_non_null(strstr(r.msg, "header block over 64 bytes"));
    parse(in, 0, strlen(in), &r);
    assert_int_equal(r.err, FWS_OK);
    /* many small headers over the default 32 KiB */
    strcpy(big, "HTTP/1.1 200 OK\r\n");
    while (strlen(big) < 33 * 1024)
        strcat(big, "X-Filler: 0123456789abcdef0123456789abcdef\r\n");
    strcat(big, "\r\n");
    parse(big, 0, 0, &r);
    assert_int_equal(r.err, FWS_ERR_TOO_BIG);
    /* the trailers have a cap too */
    strcpy(big, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n");
    while (strlen(big) < 33 * 1024)
        strcat(big, "X-Filler: 0123456789abcdef0123456789abcdef\r\n");
    strcat(big, "\r\n");
    parse(big, 0, 0, &r);
    assert_int_equal(r.err, FWS_ERR_TOO_BIG);
}

static void test_bad_chunks(void **state)
{
    (void)state;
    const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    static char in[4096];
    static const struct {
        const char *chunks;
        fws_err err;
        const char *msg;
    } cases[] = {
        {"zz\r\n", FWS_ERR_FORMAT, "bad chunk size"},
        {"\r\n", FWS_ERR_FORMAT, "bad chunk size"},
        {"5 x\r\nhello\r\n0\r\n\r\n", FWS_ERR_FORMAT, "bad chunk size"},
        {"-5\r\n", FWS_ERR_FORMAT, "bad chunk size"},
        {"0x5\r\nhello\r\n", FWS_ERR_FORMAT, "bad chunk size"},
        {"FFFFFFFFFFFFFFFFFFFF\r\n", FWS_ERR_TOO_BIG, "chunk size too big"},
        {"10000000001\r\n", FWS_ERR_TOO_BIG, "chunk size too big"},
        {"5\r\nhelloXX\r\n", FWS_ERR_FORMAT, "not followed by CRLF"},
        {"5\nhello\r\n", FWS_ERR_FORMAT, "CRLF"},
        {"5;\x01\r\nhello\r\n", FWS_ERR_FORMAT, "chunk extension"},
        {"5\r\nhello\r\n0\r\nno colon\r\n\r\n", FWS_ERR_FORMAT, "colon"},
        {"5\r\nhel", FWS_ERR_IO, "closed before"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(in, sizeof(in), "%s%s", h, cases[i].chunks);
        expect_error(in, cases[i].err, cases[i].msg);
    }
    /* a chunk-size line with endless extensions */
    snprintf(in, sizeof(in), "%s5;", h);
    while (strlen(in) < 3000)
        strcat(in, "ext=1;");
    expect_error(in, FWS_ERR_FORMAT, "chunk size line too long");
}

static void test_truncated(void **state)
{
    (void)state;
    expect_error("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", FWS_ERR_IO, "closed before");
    expect_error("HTTP/1.1 200 OK\r\nContent-Len", FWS_ERR_IO, "closed before");
}

/* ---- URLs ---------------------------------------------------------------------------------- */

static void test_url_good(void **state)
{
    (void)state;
    static http_url u;
    char buf[FWS_HTTP_URL_MAX + 64];
    assert_int_equal(http_url_parse("http://example.com", &u, NULL), FWS_OK);
    assert_string_equal(u.host, "example.com");
    assert_int_equal(u.port, 80);
    assert_int_equal(u.tls, 0);
    assert_int_equal(u.ip, 0);
    assert_string_equal(u.target, "/");
    assert_int_equal(http_url_parse("HTTPS://Example.COM:8443/a/b?x=1&y=%20#frag", &u, NULL),
                     FWS_OK);
    assert_int_equal(u.tls, 1);
    assert_string_equal(u.host, "example.com");
    assert_int_equal(u.port, 8443);
    assert_int_equal(u.default_port, 0);
    assert_string_equal(u.target, "/a/b?x=1&y=%20");
    assert_int_equal(http_url_format(&u, buf, sizeof(buf)), FWS_OK);
    assert_string_equal(buf, "https://example.com:8443/a/b?x=1&y=%20");
    assert_int_equal(http_url_parse("https://h:443/", &u, NULL), FWS_OK);
    assert_int_equal(u.default_port, 1);
    assert_int_equal(http_url_parse("http://[::1]:8080/x", &u, NULL), FWS_OK);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.ipv6, 1);
    assert_int_equal(u.port, 8080);
    assert_int_equal(http_url_format(&u, buf, sizeof(buf)), FWS_OK);
    assert_string_equal(buf, "http://[::1]:8080/x");
    assert_int_equal(http_url_parse("http://127.0.0.1?q", &u, NULL), FWS_OK);
    assert_int_equal(u.ip, 1);
    assert_string_equal(u.target, "/?q");
    assert_int_equal(http_url_parse("http://my_host.local:65535", &u, NULL), FWS_OK);
    assert_int_equal(u.port, 65535);
}

static void test_url_bad(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        fws_err err;
    } cases[] = {
        {"ftp://h/", FWS_ERR_UNSUPPORTED}, {"file:///etc/passwd", FWS_ERR_UNSUPPORTED},
        {"http:/h/", FWS_ERR_UNSUPPORTED}, {"http://user@h/", FWS_ERR_ARG},
        {"http://u:p@h/", FWS_ERR_ARG},    {"http://h:0/", FWS_ERR_ARG},
        {"http://h:65536/", FWS_ERR_ARG},  {"http://h:/", FWS_ERR_ARG},
        {"http://h:8a/", FWS_ERR_ARG},     {"http://h:123456/", FWS_ERR_ARG},
        {"http:// h/", FWS_ERR_ARG},       {"http://h/a b", FWS_ERR_ARG},
        {"http://h/\x01", FWS_ERR_ARG},    {"http://h/\x7f", FWS_ERR_ARG},
        {"http://", FWS_ERR_ARG},          {"http:///path", FWS_ERR_ARG},
        {"http://[::1/", FWS_ERR_ARG},     {"http://[zz]/", FWS_ERR_ARG},
        {"http://[]/", FWS_ERR_ARG},       {"http://h\xc3\xa9/", FWS_ERR_ARG},
        {"http://h%41/", FWS_ERR_ARG},     {"http://h\\x/", FWS_ERR_ARG},
        {"http://[::1]x/", FWS_ERR_ARG},   {"", FWS_ERR_UNSUPPORTED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        http_url u;
        fws_errbuf eb = {""};
        fws_err err = http_url_parse(cases[i].url, &u, &eb);
        if (err != cases[i].err)
            fail_msg("%s: got %d (%s), want %d", cases[i].url, err, eb.msg, cases[i].err);
        assert_true(eb.msg[0] != '\0');
    }
    static char longer[FWS_HTTP_URL_MAX + 16];
    strcpy(longer, "http://h/");
    memset(longer + 9, 'a', FWS_HTTP_URL_MAX);
    assert_int_equal(http_url_parse(longer, &(http_url){0}, NULL), FWS_ERR_ARG);
    assert_int_equal(http_url_parse(NULL, &(http_url){0}, NULL), FWS_ERR_ARG);
}

static void resolve(const char *base, const char *loc, const char *want)
{
    static http_url b, u;
    char buf[FWS_HTTP_URL_MAX + 64];
    assert_int_equal(http_url_parse(base, &b, NULL), FWS_OK);
    assert_int_equal(http_url_resolve(&b, loc, &u, NULL), FWS_OK);
    assert_int_equal(http_url_format(&u, buf, sizeof(buf)), FWS_OK);
    assert_string_equal(buf, want);
}

static void test_url_resolve(void **state)
{
    (void)state;
    const char *base = "https://a.example:8443/dir/file?x=1";
    static http_url b, u;
    resolve(base, "/abs/path", "https://a.example:8443/abs/path");
    resolve(base, "rel", "https://a.example:8443/dir/rel");
    resolve(base, "sub/x?y", "https://a.example:8443/dir/sub/x?y");
    resolve(base, "?y=2", "https://a.example:8443/dir/file?y=2");
    resolve(base, "//b.example/p", "https://b.example/p");
    resolve(base, "http://c.example:81/p#f", "http://c.example:81/p");
    resolve(base, "HTTPS://d.example", "https://d.example/");
    resolve("http://h", "x", "http://h/x");
    assert_int_equal(http_url_parse(base, &b, NULL), FWS_OK);
    assert_int_equal(http_url_resolve(&b, "ftp://x/", &u, NULL), FWS_ERR_UNSUPPORTED);
    assert_int_equal(http_url_resolve(&b, "", &u, NULL), FWS_ERR_FORMAT);
    assert_int_equal(http_url_resolve(&b, "/a b", &u, NULL), FWS_ERR_ARG);
    assert_int_equal(http_url_resolve(&b, "//user@evil/", &u, NULL), FWS_ERR_ARG);
}

/* ---- pins ---------------------------------------------------------------------------------- */

static void test_pins(void **state)
{
    (void)state;
    const char *a = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const char *b = "sha256//BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=";
    char two[200];
    size_t n = 0;
    snprintf(two, sizeof(two), "%s;%s", a, b);
    assert_int_equal(http_pins_check(a, &n, NULL), FWS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(http_pins_check(two, &n, NULL), FWS_OK);
    assert_int_equal(n, 2);
    assert_true(http_pins_match(two, b + 8));
    assert_true(http_pins_match(two, a + 8));
    assert_false(http_pins_match(a, b + 8));
    assert_int_equal(http_pins_check("sha1//AAAA", &n, NULL), FWS_ERR_ARG);
    assert_int_equal(http_pins_check("sha256//short", &n, NULL), FWS_ERR_ARG);
    snprintf(two, sizeof(two), "%s,%s", a, b);
    assert_int_equal(http_pins_check(two, &n, NULL), FWS_ERR_ARG);
    snprintf(two, sizeof(two), "%s;", a);
    assert_int_equal(http_pins_check(two, &n, NULL), FWS_ERR_ARG);
    snprintf(two, sizeof(two), "%sX", a);
    assert_int_equal(http_pins_check(two, &n, NULL), FWS_ERR_ARG);
}

/* The buffer collector: a 2xx body up to its cap; error pages dropped unless kept. */
static void test_collect(void **state)
{
    (void)state;
    uint8_t buf[8];
    fws_http_response ok = {.status = 200}, missing = {.status = 404};
    fws_http_collect c = {.data = buf, .cap = sizeof(buf)};
    assert_int_equal(fws_http_collect_head(&c, &ok), FWS_OK);
    assert_int_equal(fws_http_collect_sink(&c, (const uint8_t *)"abcde", 5), FWS_OK);
    assert_int_equal(fws_http_collect_sink(&c, (const uint8_t *)"fgh", 3), FWS_OK);
    assert_int_equal(c.len, 8);
    assert_memory_equal(buf, "abcdefgh", 8);
    assert_int_equal(fws_http_collect_sink(&c, (const uint8_t *)"i", 1), FWS_ERR_TOO_BIG);
    fws_http_collect e = {.data = buf, .cap = sizeof(buf)};
    assert_int_equal(fws_http_collect_head(&e, &missing), FWS_OK);
    assert_int_equal(fws_http_collect_sink(&e, (const uint8_t *)"not found page", 14), FWS_OK);
    assert_int_equal(e.len, 0);
    assert_int_equal(e.status, 404);
    e.keep_errors = 1;
    assert_int_equal(fws_http_collect_sink(&e, (const uint8_t *)"gone", 4), FWS_OK);
    assert_int_equal(e.len, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length),   cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_close_delimited),  cmocka_unit_test(test_interim_and_no_body),
        cmocka_unit_test(test_bad_status_lines), cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_header_nul),       cmocka_unit_test(test_header_cap),
        cmocka_unit_test(test_bad_chunks),       cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_url_good),         cmocka_unit_test(test_url_bad),
        cmocka_unit_test(test_url_resolve),      cmocka_unit_test(test_pins),
        cmocka_unit_test(test_collect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
