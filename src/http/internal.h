/* Internals of the HTTP client: the URL parser, the response parser (a pure incremental state
 * machine: bytes in, events out, no I/O, no allocation) and the connection layer. */
#ifndef FWSEAL_HTTP_INTERNAL_H
#define FWSEAL_HTTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/http.h"

/* ---- URLs ----------------------------------------------------------------------------------- */

#define HTTP_HOST_MAX 256 /* a DNS name is at most 253 bytes; an IPv6 literal fits too */

typedef struct http_url {
    int tls;                           /* https */
    char host[HTTP_HOST_MAX];          /* without the brackets of an IPv6 literal */
    int ipv6;                          /* host is an IPv6 literal */
    int ip;                            /* host is an IPv4 or IPv6 literal */
    unsigned port;                     /* explicit or 80/443 */
    int default_port;                  /* no port was written, or the scheme's own */
    char target[FWS_HTTP_URL_MAX + 1]; /* path?query, starting with '/', no fragment */
} http_url;

/* Parses an absolute http:// or https:// URL: scheme (case-insensitive), host (a name, an
 * IPv4 address or an IPv6 literal in []), optional port 1-65535, path and query; the fragment
 * is dropped. Refuses userinfo, spaces, control and non-ASCII bytes, empty hosts, bad ports.
 * FWS_ERR_ARG (eb says why) or FWS_ERR_UNSUPPORTED (another scheme). */
fws_err http_url_parse(const char *url, http_url *out, fws_errbuf *eb) FWS_MUST_CHECK;

/* Resolves a Location value against base: an absolute http(s) URL, "//host/..." (base's
 * scheme), "/path" or a path relative to base's directory. Writes the absolute URL. */
fws_err http_url_resolve(const http_url *base, const char *location, http_url *out,
                         fws_errbuf *eb) FWS_MUST_CHECK;

/* Writes scheme://host[:port]target into buf (cap bytes). FWS_ERR_TOO_BIG when it does not fit. */
fws_err http_url_format(const http_url *u, char *buf, size_t cap);

/* ---- the response parser ---------------------------------------------------------------- */

#define HTTP_LINE_MAX 8192     /* one status, header or chunk-size line */
#define HTTP_LOCATION_MAX 4096 /* a Location value */
#define HTTP_CHUNK_MAX ((uint64_t)1 << 40)
#define HTTP_LENGTH_MAX ((uint64_t)1 << 62)

typedef enum http_event_kind {
    HTTP_EV_NONE = 0, /* the input is used up, more is needed */
    HTTP_EV_HEAD,     /* the final (non-1xx) head is complete: see the parser's fields */
    HTTP_EV_BODY,     /* ev.data/ev.len: body bytes (pointing into the input) */
    HTTP_EV_DONE      /* the response is complete */
} http_event_kind;

typedef struct http_event {
    http_event_kind kind;
    const uint8_t *data;
    size_t len;
} http_event;

typedef struct http_parser {
    int state;
    size_t header_max, header_used; /* bytes of the current head or trailer block */
    size_t line_len;
    uint64_t remaining; /* body bytes left (Content-Length or the current chunk) */
    int saw_cr;
    /* the head */
    int version_minor; /* HTTP/1.0 or HTTP/1.1 */
    int status;
    int64_t content_length; /* -1: none */
    int chunked;
    int te_other; /* a transfer coding other than chunked */
    int conn_close;
    int keep_alive; /* the connection may carry another request */
    int no_body;    /* 204, 304 */
    char content_type[FWS_HTTP_CONTENT_TYPE_MAX];
    char content_range[128];
    char location[HTTP_LOCATION_MAX];
    char line[HTTP_LINE_MAX];
} http_parser;

/* header_max 0 means FWS_HTTP_HEADER_MAX_DEFAULT. */
void http_parser_init(http_parser *p, size_t header_max);

/* Consumes input up to and including the next event; *used says how many bytes were taken.
 * Call again with the rest. After HTTP_EV_DONE the parser takes no more bytes (*used 0).
 * Errors: FWS_ERR_FORMAT (eb: "HTTP response: ..."), FWS_ERR_TOO_BIG (header block),
 * FWS_ERR_UNSUPPORTED (transfer coding). */
fws_err http_parser_feed(http_parser *p, const uint8_t *in, size_t n, size_t *used, http_event *ev,
                         fws_errbuf *eb) FWS_MUST_CHECK;

/* The peer closed the connection: HTTP_EV_DONE for a close-delimited body, else FWS_ERR_IO
 * ("connection closed before the end of the response"). */
fws_err http_parser_eof(http_parser *p, http_event *ev, fws_errbuf *eb) FWS_MUST_CHECK;

/* 1 once HTTP_EV_DONE has been returned. */
int http_parser_done(const http_parser *p);
/* 1 once the final head has been returned. */
int http_parser_has_head(const http_parser *p);

/* ---- pins ------------------------------------------------------------------------------- */

#define HTTP_PIN_B64_LEN 44 /* base64 of a SHA-256 digest */
#define HTTP_PINS_MAX 8

/* Checks "sha256//B64[;sha256//B64...]" and counts the pins. */
fws_err http_pins_check(const char *pins, size_t *count, fws_errbuf *eb) FWS_MUST_CHECK;
/* 1 when spki_b64 (HTTP_PIN_B64_LEN chars) is one of the pins (compared with fws_ct_eq). */
int http_pins_match(const char *pins, const char *spki_b64);

/* ---- time limits ------------------------------------------------------------------------- */

typedef struct http_timer {
    int64_t deadline_ms; /* monotonic */
    unsigned timeout_ms;
    long min_rate, stall_s;   /* stall detection (min_rate 0: off) */
    int64_t window_start;     /* the current stall window */
    uint64_t window_bytes;    /* bytes moved in it */
    fws_http_failure failure; /* why the last wait failed */
} http_timer;

int64_t http_now_ms(void);
void http_timer_start(http_timer *t, unsigned timeout_ms, long min_rate, long stall_s);
/* Counts bytes moved (sent or received) for stall detection. */
void http_timer_progress(http_timer *t, size_t n);
/* Waits until fd is ready for events (POLLIN/POLLOUT) within the limits; limit_ms, if not -1,
 * is an extra absolute deadline (connect). FWS_ERR_IO with "timed out after N s" or "stalled:
 * ..." (t->failure says which); 1 in *limit_hit when limit_ms ran out first. */
fws_err http_timer_wait(http_timer *t, int fd, short events, int64_t limit_ms, int *limit_hit,
                        const char *what, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- connections ------------------------------------------------------------------------- */

typedef struct http_tls http_tls; /* one SSL_CTX and its settings */

typedef struct http_conn {
    int fd;    /* -1 when closed */
    void *ssl; /* SSL *, or NULL for plain http */
    int tls;
    char host[HTTP_HOST_MAX];
    unsigned port;
    unsigned requests; /* responses read on it */
} http_conn;

void http_conn_init(http_conn *c);
/* Resolves u's host, connects to each address in turn (connect_ms each) and, for https, runs
 * the TLS handshake with verification and pins. what: the URL, for messages. */
fws_err http_conn_open(http_conn *c, const http_url *u, http_tls *tls, unsigned connect_ms,
                       http_timer *t, const char *what, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err http_conn_write(http_conn *c, const uint8_t *p, size_t n, http_timer *t, const char *what,
                        fws_errbuf *eb) FWS_MUST_CHECK;
/* Reads what is there (waiting for at least one byte); *got 0 means the peer closed. */
fws_err http_conn_read(http_conn *c, uint8_t *buf, size_t cap, size_t *got, http_timer *t,
                       const char *what, fws_errbuf *eb) FWS_MUST_CHECK;
/* 1 when an idle kept-alive connection was closed by the peer or has unexpected bytes. */
int http_conn_stale(const http_conn *c);
void http_conn_close(http_conn *c);

/* ---- TLS --------------------------------------------------------------------------------- */

/* Builds the SSL_CTX from the options (CA file or default paths, TLS 1.2 minimum, client
 * certificate and key). key_pass may be NULL. */
fws_err http_tls_new(const fws_http_opts *o, const char *key_pass, http_tls **out,
                     fws_errbuf *eb) FWS_MUST_CHECK;
void http_tls_free(http_tls *t);
/* Handshake on c->fd for host u (SNI for names, name or IP verification), then the pin check. */
fws_err http_tls_connect(http_tls *tls, http_conn *c, const http_url *u, http_timer *t,
                         const char *what, fws_errbuf *eb) FWS_MUST_CHECK;
/* TLS reads and writes on a connected c (same contracts as http_conn_read/write). */
fws_err http_tls_read(http_conn *c, uint8_t *buf, size_t cap, size_t *got, http_timer *t,
                      const char *what, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err http_tls_write(http_conn *c, const uint8_t *p, size_t n, http_timer *t, const char *what,
                       fws_errbuf *eb) FWS_MUST_CHECK;
void http_tls_close(http_conn *c);

#endif
