/* Small helpers shared by the ledger unit tests (header-only, test code only). */
#ifndef TEST_LEDGER_UTIL_H
#define TEST_LEDGER_UTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The shared test data directory (FWS_TESTDATA, set by ctest). */
static inline const char *tl_testdata(void)
{
    const char *d = getenv("FWS_TESTDATA");
    return d != NULL ? d : "/work/shared/testdata";
}

/* An independent base64 decoder (RFC 4648 with padding) so the tests do not trust the code they
 * test. Returns the decoded length, or -1 on malformed input or when out is too small. */
static inline int tl_b64_val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static inline long tl_b64_decode(const char *in, uint8_t *out, size_t cap)
{
    size_t n = strlen(in), o = 0;
    if (n % 4 != 0)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            if (in[i + j] == '=' && i + 4 == n && j >= 2) {
                v[j] = 0;
                pad++;
            } else {
                if (pad)
                    return -1;
                v[j] = tl_b64_val((unsigned char)in[i + j]);
                if (v[j] < 0)
                    return -1;
            }
        }
        uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) |
                     (uint32_t)v[3];
        uint8_t b[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
        for (int j = 0; j < 3 - pad; j++) {
            if (o >= cap)
                return -1;
            out[o++] = b[j];
        }
    }
    return (long)o;
}

static inline void tl_b64_encode(const uint8_t *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            w |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            w |= in[i + 2];
        out[o++] = tab[(w >> 18) & 63];
        out[o++] = tab[(w >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(w >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[w & 63] : '=';
    }
    out[o] = '\0';
}

static inline int tl_hex_decode(const char *in, uint8_t *out, size_t cap)
{
    size_t n = strlen(in);
    if (n % 2 != 0 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(in + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return (int)(n / 2);
}

/* Reads a whole file into a malloc'd, NUL-terminated buffer; NULL on failure. */
static inline uint8_t *tl_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long sz = ftell(f);
    rewind(f);
    uint8_t *buf = sz >= 0 ? malloc((size_t)sz + 1) : NULL;
    if (buf != NULL && fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL) {
        buf[sz] = 0;
        *len = (size_t)sz;
    }
    return buf;
}

static inline int tl_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

/* Calls fn(path, ctx) for every regular file under dir whose name ends in suffix, recursively,
 * in sorted order. Returns the number of files visited. */
typedef void (*tl_visit_fn)(const char *path, void *ctx);

static inline int tl_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline size_t tl_walk(const char *dir, const char *suffix, tl_visit_fn fn, void *ctx)
{
    DIR *d = opendir(dir);
    char *names[1024];
    size_t n = 0, visited = 0;
    if (d == NULL)
        return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < 1024;)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], tl_cmp_str);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            visited += tl_walk(path, suffix, fn, ctx);
        } else {
            size_t ln = strlen(names[i]), ls = strlen(suffix);
            if (ln >= ls && strcmp(names[i] + ln - ls, suffix) == 0) {
                fn(path, ctx);
                visited++;
            }
        }
        free(names[i]);
    }
    return visited;
}

#endif
