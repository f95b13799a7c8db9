/* Static files: content types, validators (ETag, Last-Modified), single byte ranges. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "server/internal.h"

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".ico", "image/x-icon"},
    {".webp", "image/webp"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
    {".txt", "text/plain; charset=utf-8"},
    {".pem", "application/x-pem-file"},
    {".crl", "application/pkix-crl"},
    {".wasm", "application/wasm"},
};

const char *srv_content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *slash = strrchr(name, '/');
    if (dot == NULL || (slash != NULL && dot < slash))
        return "application/octet-stream";
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcasecmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* "bytes=A-B", "bytes=A-" or "bytes=-N" against size. 1: range set; 0: ignore the header
 * (not a single byte range); -1: not satisfiable. */
static int parse_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
    if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
        return 0;
    const char *p = h + 6;
    char *end;
    if (*p == '-') {
        errno = 0;
        unsigned long long n = strtoull(p + 1, &end, 10);
        if (p[1] < '0' || p[1] > '9' || *end != '\0' || errno)
            return 0;
        if (n == 0 || size == 0)
            return -1;
        if (n > size)
            n = size;
        *off = size - n;
        *len = n;
        return 1;
    }
    if (*p < '0' || *p > '9')
        return 0;
    errno = 0;
    unsigned long long a = strtoull(p, &end, 10);
    if (*end != '-' || errno)
        return 0;
    unsigned long long b = size ? size - 1 : 0;
    if (end[1] != '\0') {
        const char *q = end + 1;
        if (*q < '0' || *q > '9')
            return 0;
        b = strtoull(q, &end, 10);
        if (*end != '\0' || errno || b < a)
            return 0;
        if (b >= size)
            b = size - 1;
    }
    if (a >= size)
        return -1;
    *off = a;
    *len = b - a + 1;
    return 1;
}

static void validators(fws_resp *resp, const struct stat *st, char etag[64])
{
    char lm[64];
    struct tm tm;
    snprintf(etag, 64, "\"%llx-%llx-%lx\"", (unsigned long long)st->st_ino,
             (unsigned long long)st->st_size, (long)st->st_mtim.tv_sec);
    gmtime_r(&st->st_mtim.tv_sec, &tm);
    strftime(lm, sizeof(lm), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    fws_resp_header(resp, "ETag", etag);
    fws_resp_header(resp, "Last-Modified", lm);
}

fws_err srv_serve_file(fws_server *srv, const fws_req *req, fws_resp *resp, const char *root,
                       const char *rel, const char *content_type, const char *cache_control)
{
    char path[SRV_PATH_MAX * 2];
    (void)srv;
    int n = snprintf(path, sizeof(path), "%s/%s", root, rel);
    if (n < 0 || (size_t)n >= sizeof(path))
        return fws_resp_error(resp, 414, "bad_request", "path too long");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return fws_resp_error(resp, 404, "not_found", "no such file: %s", req->path);
    }
    char etag[64];
    validators(resp, &st, etag);
    fws_resp_header(resp, "Accept-Ranges", "bytes");
    if (cache_control != NULL)
        fws_resp_header(resp, "Cache-Control", cache_control);
    const char *inm = fws_req_header(req, "If-None-Match");
    if (inm != NULL && strstr(inm, etag) != NULL) {
        close(fd);
        resp->status = 304;
        resp->content_type = NULL;
        return FWS_OK;
    }
    uint64_t size = (uint64_t)st.st_size, off = 0, len = size;
    const char *range = fws_req_header(req, "Range");
    int r = range ? parse_range(range, size, &off, &len) : 0;
    if (r < 0) {
        char cr[48];
        close(fd);
        snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
        fws_resp_header(resp, "Content-Range", cr);
        return fws_resp_error(resp, 416, "range_not_satisfiable", "range outside the file");
    }
    if (r > 0) {
        char cr[80];
        snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)off,
                 (unsigned long long)(off + len - 1), (unsigned long long)size);
        fws_resp_header(resp, "Content-Range", cr);
        if (lseek(fd, (off_t)off, SEEK_SET) < 0) {
            close(fd);
            return fws_resp_error(resp, 500, "internal", "cannot seek");
        }
    }
    resp->status = r > 0 ? 206 : 200;
    snprintf(resp->owned_type, sizeof(resp->owned_type), "%s",
             content_type ? content_type : srv_content_type(rel));
    resp->content_type = resp->owned_type;
    resp->file_fd = fd;
    resp->file_off = off;
    resp->file_len = len;
    return FWS_OK;
}
