/* The HTTP/1.1 request-head parser (RFC 9112): no allocation, parses in place. */
#ifndef FWSEAL_SERVER_HTTP_H
#define FWSEAL_SERVER_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/server.h"

typedef struct http_field {
    const char *name;  /* as sent (compare case-insensitively) */
    const char *value; /* leading and trailing whitespace removed */
} http_field;

typedef struct http_head {
    const char *method;
    const char *target; /* the request target as sent */
    int minor;          /* HTTP/1.<minor> */
    http_field fields[FWS_SERVER_HEADERS_MAX];
    size_t n_fields;
    /* What the framing headers say. */
    int has_length;
    uint64_t content_length;
    int chunked;    /* Transfer-Encoding present (chunked or anything else) */
    int keep_alive; /* after this request, per version and Connection */
    int expect_continue;
} http_head;

/* Why a head was refused: status and a message. */
typedef struct http_error {
    int status; /* 400, 414, 431, 501, 505 */
    const char *message;
} http_error;

/* Parses a request head: buf holds len bytes ending with the blank line (CRLF CRLF; bare LF
 * line ends are accepted). buf is modified (tokens are NUL-terminated in place) and must
 * outlive out. Returns 0, or -1 with err filled. */
int http_parse_head(char *buf, size_t len, http_head *out, http_error *err);

/* The value of a field (last one wins), or NULL. */
const char *http_field_get(const http_head *h, const char *name);

/* Splits target into a decoded, normalised path (into path, cap bytes) and the raw query.
 * Refuses anything but origin-form, bad escapes, NUL, control bytes, "//", "." and ".."
 * segments. Returns 0 or -1 with err (400 or 414). */
int http_target_split(const char *target, char *path, size_t cap, const char **query,
                      http_error *err);

/* Percent-decodes n bytes of s ('+' stays '+' unless plus_space) into out (cap with the NUL).
 * Returns the length, or -1 for a bad escape, -2 when it does not fit. */
long http_pct_decode(const char *s, size_t n, int plus_space, char *out, size_t cap);

/* The reason phrase of a status ("OK"); "Unknown" for others. */
const char *http_reason(int status);

#endif
