/* A small, strict HTTP/1.1 client on sockets and OpenSSL.
 *
 * One client holds its options, one SSL_CTX (made on the first https request) and at most one
 * kept-alive connection, reused when the next request goes to the same scheme, host and port
 * and closed on any error, on `Connection: close` and on a close-delimited body. Every limit
 * is explicit: connect and total timeouts, stall detection, a cap on the response header block
 * and on the body. Bodies stream to a sink; nothing is decompressed (no Accept-Encoding is
 * sent). A client is used by one thread at a time.
 */
#ifndef FWSEAL_HTTP_H
#define FWSEAL_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FWS_HTTP_URL_MAX 4096                    /* longest URL accepted, NUL excluded */
#define FWS_HTTP_HEADER_MAX_DEFAULT (32u * 1024) /* response header block */
#define FWS_HTTP_BODY_MAX_DEFAULT (16u * 1024 * 1024)
#define FWS_HTTP_ERROR_BODY_MAX_DEFAULT (64u * 1024)
#define FWS_HTTP_CONTENT_TYPE_MAX 256

typedef struct fws_http_opts {
    unsigned connect_timeout_ms; /* per address tried; 0: 10000 */
    unsigned timeout_ms;         /* a whole request, redirects included; 0: 300000 */
    long min_rate;               /* bytes/s below which a request counts as stalled; 0: no check */
    long stall_s;                /* seconds below min_rate before giving up; 0: 30 (if min_rate) */
    const char *user_agent;      /* NULL: "fwseal/VERSION" */
    /* TLS. The server is verified against ca_file (NULL: OpenSSL's default paths) and its name
     * or IP address, unless no_verify is set, which is only allowed together with a pin. */
    const char *ca_file;
    int no_verify;
    const char *pin;        /* "sha256//BASE64" of the server's SPKI, several joined by ';' */
    const char *cert_file;  /* client certificate chain, PEM (mutual TLS), or NULL */
    const char *key_file;   /* its private key, PEM; NULL: cert_file */
    const char *key_pass;   /* passphrase of key_file, or NULL; the client's copy is wiped */
    unsigned max_redirects; /* 0: redirects are returned, not followed */
    size_t header_max;      /* response header block (and chunk trailers); 0: 32 KiB */
    uint64_t body_max;      /* default cap of a 2xx response body; 0: 16 MiB */
} fws_http_opts;

/* What the final response's head said. */
typedef struct fws_http_response {
    int status;                                   /* 200, 404 ... */
    int64_t content_length;                       /* -1 when not declared */
    int chunked;                                  /* Transfer-Encoding: chunked */
    char content_type[FWS_HTTP_CONTENT_TYPE_MAX]; /* "" when absent */
    char content_range[128];                      /* "" when absent */
} fws_http_response;

/* Receives body bytes as they arrive; a non-zero return aborts the request with it. */
typedef fws_err (*fws_http_sink)(void *ctx, const uint8_t *p, size_t n);

typedef struct fws_http_request {
    const char *method; /* "GET" or "POST"; NULL: POST when body is set, else GET */
    const char *url;    /* http:// or https:// */
    /* Extra header lines "Name: value" (NULL-terminated array, or NULL). They are not sent
     * again after a redirect to another scheme, host or port. */
    const char *const *headers;
    const uint8_t *body; /* POST body, or NULL */
    size_t body_len;
    unsigned timeout_ms;     /* 0: the client's timeout_ms */
    uint64_t body_max;       /* cap of a 2xx body; 0: the client's body_max */
    uint64_t error_body_max; /* cap of any other body; 0: 64 KiB */
    /* Called once with the final response's head, before any body byte; a non-zero return
     * aborts the request with it. May be NULL. */
    fws_err (*on_head)(void *ctx, const fws_http_response *head);
    fws_http_sink sink; /* body bytes of the final response; NULL: read and dropped */
    void *ctx;          /* passed to on_head and sink */
} fws_http_request;

typedef struct fws_http_client fws_http_client;

/* Checks the options (pin syntax, no_verify without a pin) and copies them. */
fws_err fws_http_client_new(const fws_http_opts *opts, fws_http_client **out,
                            fws_errbuf *eb) FWS_MUST_CHECK;
void fws_http_client_free(fws_http_client *c); /* NULL is fine; wipes the key passphrase */

/* Runs one request (following redirects as allowed) and streams the final body to the sink.
 * On success *resp (may be NULL) receives the final head, whatever its status. Errors:
 * FWS_ERR_ARG (bad URL or header), FWS_ERR_IO (DNS, connect, TLS, pin, timeout, stall, a
 * connection closed early), FWS_ERR_FORMAT (a malformed response), FWS_ERR_TOO_BIG (header
 * block, declared or streamed body over its cap), FWS_ERR_UNSUPPORTED (a transfer coding
 * other than chunked), FWS_ERR_STATE (too many redirects, or one to another scheme or a
 * https->http downgrade), or whatever on_head or the sink returned. */
fws_err fws_http_do(fws_http_client *c, const fws_http_request *req, fws_http_response *resp,
                    fws_errbuf *eb) FWS_MUST_CHECK;

/* Why the last fws_http_do failed, for callers that count stalls and retry. */
typedef enum fws_http_failure {
    FWS_HTTP_FAIL_NONE = 0,
    FWS_HTTP_FAIL_TIMEOUT, /* the total or connect timeout ran out */
    FWS_HTTP_FAIL_STALL,   /* below min_rate for stall_s */
    FWS_HTTP_FAIL_OTHER
} fws_http_failure;
fws_http_failure fws_http_last_failure(const fws_http_client *c);

/* A response collected into the caller's buffer: give fws_http_collect_head as on_head,
 * fws_http_collect_sink as sink and a fws_http_collect as ctx. A body longer than cap is
 * FWS_ERR_TOO_BIG; the body of a non-2xx response is kept only with keep_errors (else read and
 * dropped). status holds the final response's status. */
typedef struct fws_http_collect {
    uint8_t *data;
    size_t cap, len;
    int keep_errors;
    int status;
} fws_http_collect;
fws_err fws_http_collect_head(void *ctx, const fws_http_response *head);
fws_err fws_http_collect_sink(void *ctx, const uint8_t *p, size_t n);

/* Connections the client opened so far (for tests and statistics). */
unsigned fws_http_connections(const fws_http_client *c);

#ifdef __cplusplus
}
#endif
#endif
