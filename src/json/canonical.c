/* The canonical encoder (OLPC canonical JSON, as TUF signs it), written over the jansson tree:
 * keys sorted by their UTF-8 bytes, no whitespace, integers only, strings that escape only '"'
 * and '\' and carry every other byte as is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

struct out {
    char *p;
    size_t len;
    size_t cap;
};

static fws_err put(struct out *o, const void *data, size_t n)
{
    if (n > FWS_JSON_ENCODE_MAX - o->len)
        return FWS_ERR_TOO_BIG;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *p = realloc(o->p, cap);
        if (p == NULL)
            return FWS_ERR_NOMEM;
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, data, n);
    o->len += n;
    o->p[o->len] = '\0';
    return FWS_OK;
}

static fws_err put_string(struct out *o, const char *s, size_t n)
{
    size_t run = 0;
    fws_err err;
    if (!fws_utf8_valid((const uint8_t *)s, n))
        return FWS_ERR_FORMAT;
    if ((err = put(o, "\"", 1)) != FWS_OK)
        return err;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '"' && s[i] != '\\')
            continue;
        if ((err = put(o, s + run, i - run)) != FWS_OK || (err = put(o, "\\", 1)) != FWS_OK)
            return err;
        run = i;
    }
    if ((err = put(o, s + run, n - run)) != FWS_OK)
        return err;
    return put(o, "\"", 1);
}

struct member {
    const char *key;
    size_t key_len;
    json_t *value;
};

static int member_cmp(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c != 0)
        return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static fws_err put_value(struct out *o, const json_t *v, unsigned depth);

static fws_err put_object(struct out *o, const json_t *v, unsigned depth)
{
    size_t n = json_object_size(v), i = 0;
    struct member *m = NULL;
    fws_err err = FWS_OK;
    if (n > 0 && (m = calloc(n, sizeof(*m))) == NULL)
        return FWS_ERR_NOMEM;
    for (void *it = json_object_iter((json_t *)v); it != NULL && i < n;
         it = json_object_iter_next((json_t *)v, it), i++) {
        m[i].key = json_object_iter_key(it);
        m[i].key_len = json_object_iter_key_len(it);
        m[i].value = json_object_iter_value(it);
    }
    if (n > 1)
        qsort(m, n, sizeof(*m), member_cmp);
    if ((err = put(o, "{", 1)) != FWS_OK)
        goto out;
    for (i = 0; i < n; i++) {
        if ((i > 0 && (err = put(o, ",", 1)) != FWS_OK) ||
            (err = put_string(o, m[i].key, m[i].key_len)) != FWS_OK ||
            (err = put(o, ":", 1)) != FWS_OK || (err = put_value(o, m[i].value, depth)) != FWS_OK)
            goto out;
    }
    err = put(o, "}", 1);
out:
    free(m);
    return err;
}

static fws_err put_array(struct out *o, const json_t *v, unsigned depth)
{
    size_t n = json_array_size(v);
    fws_err err;
    if ((err = put(o, "[", 1)) != FWS_OK)
        return err;
    for (size_t i = 0; i < n; i++) {
        if ((i > 0 && (err = put(o, ",", 1)) != FWS_OK) ||
            (err = put_value(o, json_array_get(v, i), depth)) != FWS_OK)
            return err;
    }
    return put(o, "]", 1);
}

static fws_err put_integer(struct out *o, json_int_t i)
{
    char digits[32];
    int n = snprintf(digits, sizeof(digits), "%" JSON_INTEGER_FORMAT, i);
    if (n < 0 || (size_t)n >= sizeof(digits))
        return FWS_ERR_FORMAT;
    return put(o, digits, (size_t)n);
}

static fws_err put_value(struct out *o, const json_t *v, unsigned depth)
{
    if (v == NULL)
        return FWS_ERR_ARG;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return depth >= FWS_JSON_MAX_DEPTH ? FWS_ERR_TOO_BIG : put_object(o, v, depth + 1);
    case JSON_ARRAY:
        return depth >= FWS_JSON_MAX_DEPTH ? FWS_ERR_TOO_BIG : put_array(o, v, depth + 1);
    case JSON_STRING:
        return put_string(o, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return put_integer(o, json_integer_value(v));
    case JSON_TRUE:
        return put(o, "true", 4);
    case JSON_FALSE:
        return put(o, "false", 5);
    case JSON_NULL:
        return put(o, "null", 4);
    case JSON_REAL:
    default:
        return FWS_ERR_FORMAT;
    }
}

fws_err fws_json_canonical(const json_t *value, char **out, size_t *len)
{
    struct out o = {NULL, 0, 0};
    fws_err err;
    if (value == NULL || out == NULL || len == NULL)
        return FWS_ERR_ARG;
    err = put_value(&o, value, 0);
    if (err == FWS_OK && o.p == NULL)
        err = put(&o, "", 0);
    if (err != FWS_OK) {
        free(o.p);
        return err;
    }
    *out = o.p;
    *len = o.len;
    return FWS_OK;
}
