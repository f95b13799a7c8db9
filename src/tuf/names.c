/* Target paths: pattern matching, hash prefixes, TAP 15 bins, file-name encoding, URLs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

/* Matches a bracket expression at p (just after '[') against c; sets *end past the ']'.
 * Returns -1 when the bracket is not closed (then '[' is an ordinary character). */
static int bracket(const char *p, const char *pend, char c, const char **end)
{
    int negate = 0, match = 0;
    const char *q = p;
    if (q < pend && *q == '!') {
        negate = 1;
        q++;
    }
    const char *first = q;
    while (q < pend && (*q != ']' || q == first)) {
        if (q + 2 < pend && q[1] == '-' && q[2] != ']') {
            if ((unsigned char)c >= (unsigned char)q[0] && (unsigned char)c <= (unsigned char)q[2])
                match = 1;
            q += 3;
        } else {
            if (*q == c)
                match = 1;
            q++;
        }
    }
    if (q >= pend)
        return -1;
    *end = q + 1;
    return match != negate;
}

/* Glob match of one component [p, pend) against [s, send), iterative with one backtrack point. */
static int component_match(const char *p, const char *pend, const char *s, const char *send)
{
    const char *star_p = NULL, *star_s = NULL;
    while (s < send) {
        if (p < pend && *p == '*') {
            star_p = ++p;
            star_s = s;
            continue;
        }
        if (p < pend && *p == '[') {
            const char *end = NULL;
            int m = bracket(p + 1, pend, *s, &end);
            if (m == 1) {
                p = end;
                s++;
                continue;
            }
            if (m == -1 && *s == '[') {
                p++;
                s++;
                continue;
            }
        } else if (p < pend && (*p == '?' || *p == *s)) {
            p++;
            s++;
            continue;
        }
        if (star_p == NULL)
            return 0;
        p = star_p;
        s = ++star_s;
    }
    while (p < pend && *p == '*')
        p++;
    return p == pend;
}

int fws_tuf_path_match(const char *pattern, const char *path)
{
    if (pattern == NULL || path == NULL)
        return 0;
    for (;;) {
        const char *pe = strchr(pattern, '/'), *se = strchr(path, '/');
        const char *pend = pe ? pe : pattern + strlen(pattern);
        const char *send = se ? se : path + strlen(path);
        if (!component_match(pattern, pend, path, send))
            return 0;
        if ((pe == NULL) != (se == NULL))
            return 0; /* different numbers of components */
        if (pe == NULL)
            return 1;
        pattern = pe + 1;
        path = se + 1;
    }
}

int fws_tuf_path_hash_match(const char *prefix, const char *path)
{
    uint8_t d[FWS_SHA256_LEN];
    char hex[2 * FWS_SHA256_LEN + 1];
    size_t n = strlen(prefix);
    if (n > 2 * FWS_SHA256_LEN)
        return 0;
    fws_sha256(path, strlen(path), d);
    fws_hex_encode(d, sizeof(d), hex);
    return strncmp(hex, prefix, n) == 0;
}

uint32_t fws_tuf_bin_index(unsigned bit_length, const char *path)
{
    uint8_t d[FWS_SHA256_LEN];
    if (bit_length < 1 || bit_length > 32 || path == NULL)
        return 0;
    fws_sha256(path, strlen(path), d);
    uint32_t v = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
    return bit_length == 32 ? v : v >> (32 - bit_length);
}

fws_err fws_tuf_bin_name(const char *prefix, unsigned bit_length, uint32_t index, char *out,
                         size_t cap)
{
    if (prefix == NULL || out == NULL || bit_length < 1 || bit_length > 32)
        return FWS_ERR_ARG;
    if (bit_length < 32 && index >= (1u << bit_length))
        return FWS_ERR_ARG;
    uint32_t last = bit_length == 32 ? UINT32_MAX : (1u << bit_length) - 1;
    int width = 1;
    while (width < 8 && (last >> (4 * width)) != 0)
        width++;
    int n = snprintf(out, cap, "%s-%0*x", prefix, width, (unsigned)index);
    if (n < 0 || (size_t)n >= cap)
        return FWS_ERR_TOO_BIG;
    return FWS_OK;
}

static int plain(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-' || c == '~';
}

fws_err fws_tuf_name_encode(const char *name, char *out, size_t cap)
{
    static const char hexd[] = "0123456789ABCDEF";
    size_t o = 0;
    if (name == NULL || out == NULL)
        return FWS_ERR_ARG;
    for (size_t i = 0; name[i] != '\0'; i++) {
        unsigned char c = (unsigned char)name[i];
        int keep = plain(c) && !(i == 0 && c == '.');
        size_t need = keep ? 1 : 3;
        if (o + need >= cap)
            return FWS_ERR_TOO_BIG;
        if (keep) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hexd[c >> 4];
            out[o++] = hexd[c & 15];
        }
    }
    if (o >= cap)
        return FWS_ERR_TOO_BIG;
    out[o] = '\0';
    return FWS_OK;
}

char *tuf_url_join(const char *base, const char *name)
{
    size_t bl = strlen(base), nl = strlen(name);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    char *u = malloc(bl + 1 + nl + 1);
    if (u == NULL)
        return NULL;
    memcpy(u, base, bl);
    u[bl] = '/';
    memcpy(u + bl + 1, name, nl + 1);
    return u;
}

fws_err tuf_buf_sink(void *ctx, const uint8_t *data, size_t len)
{
    tuf_buf *b = ctx;
    if (len > b->max - b->len)
        return FWS_ERR_TOO_BIG;
    if (b->len + len > b->cap) {
        size_t ncap = b->cap ? b->cap : 16384;
        while (ncap < b->len + len)
            ncap *= 2;
        if (ncap > b->max + 1)
            ncap = b->max + 1;
        uint8_t *p = realloc(b->data, ncap);
        if (p == NULL)
            return FWS_ERR_NOMEM;
        b->data = p;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return FWS_OK;
}

void tuf_buf_free(tuf_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}
