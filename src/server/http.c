/* HTTP/1.1 request heads, request targets and reason phrases. */
#include <string.h>
#include <strings.h>
#include "server/http.h"

static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int head_fail(http_error *err, int status, const char *message)
{
    err->status = status;
    err->message = message;
    return -1;
}

/* Cuts the next line out of [*p, end): returns its start, NUL-terminates it, advances *p. */
static char *next_line(char **p, char *end)
{
    char *s = *p;
    char *nl = memchr(s, '\n', (size_t)(end - s));
    if (nl == NULL)
        return NULL;
    *p = nl + 1;
    if (nl > s && nl[-1] == '\r')
        nl--;
    *nl = '\0';
    return s;
}

static int parse_request_line(char *line, http_head *h, http_error *err)
{
    char *sp1 = strchr(line, ' ');
    if (sp1 == NULL)
        return head_fail(err, 400, "malformed request line");
    *sp1 = '\0';
    char *target = sp1 + 1;
    char *sp2 = strchr(target, ' ');
    if (sp2 == NULL)
        return head_fail(err, 400, "malformed request line");
    *sp2 = '\0';
    const char *version = sp2 + 1;
    if (line[0] == '\0' || target[0] == '\0')
        return head_fail(err, 400, "malformed request line");
    for (const char *c = line; *c; c++)
        if (!is_tchar((unsigned char)*c))
            return head_fail(err, 400, "bad character in the method");
    if (strlen(target) > FWS_SERVER_URI_MAX)
        return head_fail(err, 414, "request target longer than 4096 bytes");
    for (const char *c = target; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c == 0x7f)
            return head_fail(err, 400, "bad character in the request target");
    if (strncmp(version, "HTTP/1.", 7) != 0 || version[7] < '0' || version[7] > '9' ||
        version[8] != '\0') {
        if (strncmp(version, "HTTP/", 5) == 0)
            return head_fail(err, 505, "only HTTP/1.x is supported");
        return head_fail(err, 400, "malformed HTTP version");
    }
    h->method = line;
    h->target = target;
    h->minor = version[7] - '0';
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

static int parse_field(char *line, http_head *h, http_error *err)
{
    if (line[0] == ' ' || line[0] == '\t')
        return head_fail(err, 400, "obsolete header line folding");
    char *colon = strchr(line, ':');
    if (colon == NULL || colon == line)
        return head_fail(err, 400, "malformed header field");
    *colon = '\0';
    for (const char *c = line; *c; c++)
        if (!is_tchar((unsigned char)*c))
            return head_fail(err, 400, "bad character in a header name");
    char *value = trim(colon + 1);
    for (const char *c = value; *c; c++)
        if (((unsigned char)*c < 0x20 && *c != '\t') || (unsigned char)*c == 0x7f)
            return head_fail(err, 400, "bad character in a header value");
    if (h->n_fields == FWS_SERVER_HEADERS_MAX)
        return head_fail(err, 431, "more than 64 header fields");
    h->fields[h->n_fields].name = line;
    h->fields[h->n_fields].value = value;
    h->n_fields++;
    return 0;
}

/* Does a comma-separated list contain token (case-insensitive)? */
static int list_has(const char *list, const char *token)
{
    size_t tl = strlen(token);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == tl && strncasecmp(p, token, tl) == 0)
            return 1;
        p = e;
    }
    return 0;
}

static int parse_length(const char *v, uint64_t *out)
{
    uint64_t n = 0;
    if (*v == '\0')
        return -1;
    for (; *v; v++) {
        if (*v < '0' || *v > '9' || n > (UINT64_MAX - 9) / 10)
            return -1;
        n = n * 10 + (uint64_t)(*v - '0');
    }
    *out = n;
    return 0;
}

static int framing(http_head *h, http_error *err)
{
    h->keep_alive = h->minor >= 1;
    for (size_t i = 0; i < h->n_fields; i++) {
        const http_field *f = &h->fields[i];
        if (strcasecmp(f->name, "Content-Length") == 0) {
            uint64_t n;
            if (parse_length(f->value, &n) != 0)
                return head_fail(err, 400, "bad Content-Length");
            if (h->has_length && n != h->content_length)
                return head_fail(err, 400, "conflicting Content-Length fields");
            h->has_length = 1;
            h->content_length = n;
        } else if (strcasecmp(f->name, "Transfer-Encoding") == 0) {
            h->chunked = 1;
        } else if (strcasecmp(f->name, "Connection") == 0) {
            if (list_has(f->value, "close"))
                h->keep_alive = 0;
            else if (list_has(f->value, "keep-alive"))
                h->keep_alive = 1;
        } else if (strcasecmp(f->name, "Expect") == 0) {
            if (strcasecmp(f->value, "100-continue") != 0)
                return head_fail(err, 400, "unsupported Expect value");
            h->expect_continue = 1;
        }
    }
    if (h->chunked && h->has_length)
        return head_fail(err, 400, "both Transfer-Encoding and Content-Length");
    if (h->chunked)
        return head_fail(err, 501,
                         "Transfer-Encoding in requests is not supported: send "
                         "Content-Length");
    return 0;
}

int http_parse_head(char *buf, size_t len, http_head *out, http_error *err)
{
    memset(out, 0, sizeof(*out));
    char *p = buf, *end = buf + len;
    if (memchr(buf, '\0', len) != NULL)
        return head_fail(err, 400, "NUL byte in the request head");
    char *line = next_line(&p, end);
    /* A client may send empty lines before a request (RFC 9112 2.2). */
    for (int skipped = 0; line != NULL && line[0] == '\0' && skipped < 4; skipped++)
        line = next_line(&p, end);
    if (line == NULL || line[0] == '\0')
        return head_fail(err, 400, "empty request");
    if (parse_request_line(line, out, err) != 0)
        return -1;
    for (;;) {
        line = next_line(&p, end);
        if (line == NULL)
            return head_fail(err, 400, "request head not terminated");
        if (line[0] == '\0')
            break;
        if (parse_field(line, out, err) != 0)
            return -1;
    }
    if (out->minor >= 1 && http_field_get(out, "Host") == NULL)
        return head_fail(err, 400, "HTTP/1.1 request without Host");
    return framing(out, err);
}

const char *http_field_get(const http_head *h, const char *name)
{
    for (size_t i = h->n_fields; i > 0; i--)
        if (strcasecmp(h->fields[i - 1].name, name) == 0)
            return h->fields[i - 1].value;
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long http_pct_decode(const char *s, size_t n, int plus_space, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        if (o + 1 >= cap)
            return -2;
        out[o++] = c;
    }
    if (cap == 0)
        return -2;
    out[o] = '\0';
    return (long)o;
}

static int path_ok(const char *path)
{
    if (path[0] != '/')
        return 0;
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f || *c == '\\')
            return 0;
    /* Segments: none empty (except a trailing slash), none "." or "..". */
    const char *seg = path + 1;
    while (*seg) {
        const char *e = strchr(seg, '/');
        size_t n = e ? (size_t)(e - seg) : strlen(seg);
        if (n == 0 && e != NULL)
            return 0;
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return 0;
        if (e == NULL)
            break;
        seg = e + 1;
    }
    return 1;
}

int http_target_split(const char *target, char *path, size_t cap, const char **query,
                      http_error *err)
{
    if (target[0] != '/')
        return head_fail(err, 400, "request target must be an absolute path");
    const char *q = strchr(target, '?');
    size_t n = q ? (size_t)(q - target) : strlen(target);
    long r = http_pct_decode(target, n, 0, path, cap);
    if (r == -2)
        return head_fail(err, 414, "request path too long");
    if (r < 0 || memchr(path, '\0', (size_t)r) != NULL)
        return head_fail(err, 400, "bad percent-escape in the request path");
    if (!path_ok(path))
        return head_fail(err, 400,
                         "bad request path (empty, '.' or '..' segment, or control "
                         "character)");
    *query = q ? q + 1 : "";
    return 0;
}

const char *http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}
