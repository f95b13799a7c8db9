/* libFuzzer target for the server's request parsing: the HTTP/1.1 head parser, the request
 * target's path normalisation and query decoding. Properties checked:
 *  - a head either parses or is refused with a 4xx/5xx status and a message;
 *  - every field name and value of a parsed head lies inside the input buffer, with no CR or
 *    LF in it; the framing agrees with the fields;
 *  - an accepted path starts with '/', holds no NUL, control byte, backslash, "//", "." or ".."
 *    segment, and splitting it again gives the same path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "server/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *path)
{
    if (path[0] != '/' || strstr(path, "//") != NULL || strstr(path, "/./") != NULL ||
        strstr(path, "/../") != NULL || strchr(path, '\\') != NULL)
        abort();
    size_t n = strlen(path);
    if ((n >= 2 && strcmp(path + n - 2, "/.") == 0) || (n >= 3 && strcmp(path + n - 3, "/..") == 0))
        abort();
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            abort();
}

static void check_target(const char *target)
{
    char path[FWS_SERVER_URI_MAX + 1], again[FWS_SERVER_URI_MAX + 1];
    const char *query = NULL, *q2 = NULL;
    http_error e;
    if (http_target_split(target, path, sizeof(path), &query, &e) != 0) {
        if (e.status != 400 && e.status != 414)
            abort();
        return;
    }
    check_path(path);
    /* An accepted, decoded path without '%' or '?' is accepted again unchanged. */
    if (strchr(path, '%') == NULL && strchr(path, '?') == NULL) {
        if (http_target_split(path, again, sizeof(again), &q2, &e) != 0 || strcmp(path, again))
            abort();
    }
    char buf[64];
    (void)http_pct_decode(query, strlen(query), 1, buf, sizeof(buf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FWS_SERVER_HEADER_MAX)
        return 0;
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    http_head h;
    http_error e;
    if (http_parse_head(buf, size, &h, &e) != 0) {
        if (e.status < 400 || e.status > 599 || e.message == NULL)
            abort();
        free(buf);
        return 0;
    }
    if (h.n_fields > FWS_SERVER_HEADERS_MAX || h.method[0] == '\0' || h.target[0] == '\0')
        abort();
    for (size_t i = 0; i < h.n_fields; i++) {
        const char *nm = h.fields[i].name, *v = h.fields[i].value;
        if (nm < buf || nm >= buf + size || v < buf || v > buf + size)
            abort();
        if (strpbrk(nm, "\r\n:") != NULL || strpbrk(v, "\r\n") != NULL)
            abort();
    }
    if (h.chunked || (h.has_length && http_field_get(&h, "Content-Length") == NULL))
        abort();
    check_target(h.target);
    free(buf);
    return 0;
}
