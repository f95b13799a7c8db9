/* Top-level members of a JSON object written without whitespace (canonical JSON), found
 * without allocating: the audit reads millions of ledger records and needs only a few fields
 * of each. Anything that is not such an object is FWS_ERR_FORMAT; records that matter are
 * validated in full elsewhere. */
#include <string.h>
#include "fwseal/audit.h"

#define DEPTH_MAX 64

/* Skips a string whose opening quote is at p; returns the position after the closing quote. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\') {
            if (++p >= end)
                return NULL;
        } else if (*p == '"') {
            return p + 1;
        }
    }
    return NULL;
}

static int scalar_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' || c == '.' ||
           c == 'E';
}

static const char *skip_value(const char *p, const char *end)
{
    unsigned depth = 0;
    if (p >= end)
        return NULL;
    if (*p != '{' && *p != '[') {
        if (*p == '"')
            return skip_string(p, end);
        const char *s = p;
        while (p < end && scalar_char(*p))
            p++;
        return p > s ? p : NULL;
    }
    while (p < end) {
        char c = *p;
        if (c == '"') {
            if ((p = skip_string(p, end)) == NULL)
                return NULL;
            continue;
        }
        if (c == '{' || c == '[') {
            if (++depth > DEPTH_MAX)
                return NULL;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return p + 1;
        }
        p++;
    }
    return NULL;
}

fws_err fws_audit_json_field(const char *unverified, size_t len, const char *key, const char **val,
                             size_t *val_len, int *is_string)
{
    const char *p = unverified, *end = unverified + len;
    size_t klen = strlen(key);
    if (len < 2 || p[0] != '{')
        return FWS_ERR_FORMAT;
    p++;
    if (*p == '}')
        return p + 1 == end ? FWS_ERR_NOT_FOUND : FWS_ERR_FORMAT;
    for (;;) {
        if (p >= end || *p != '"')
            return FWS_ERR_FORMAT;
        const char *k = p + 1, *after = skip_string(p, end);
        if (after == NULL || after >= end || *after != ':')
            return FWS_ERR_FORMAT;
        const char *v = after + 1, *vend = skip_value(v, end);
        if (vend == NULL || vend >= end)
            return FWS_ERR_FORMAT;
        if ((size_t)(after - 1 - k) == klen && memcmp(k, key, klen) == 0) {
            int str = *v == '"';
            *val = str ? v + 1 : v;
            *val_len = (size_t)(vend - v) - (str ? 2u : 0u);
            if (is_string != NULL)
                *is_string = str;
            return FWS_OK;
        }
        if (*vend == '}')
            return vend + 1 == end ? FWS_ERR_NOT_FOUND : FWS_ERR_FORMAT;
        if (*vend != ',')
            return FWS_ERR_FORMAT;
        p = vend + 1;
    }
}
