/* JSON values as JSON Schema compares them: equality for enum, const and uniqueItems. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static int is_number(const json_t *v)
{
    return json_is_integer(v) || json_is_real(v);
}

static double number_value(const json_t *v)
{
    return json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v);
}

static int numbers_equal(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    return number_value(a) == number_value(b);
}

static int strings_equal(const json_t *a, const json_t *b)
{
    size_t n = json_string_length(a);
    return n == json_string_length(b) && memcmp(json_string_value(a), json_string_value(b), n) == 0;
}

static int arrays_equal(const json_t *a, const json_t *b)
{
    size_t n = json_array_size(a);
    if (n != json_array_size(b))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!sbom_json_equal(json_array_get(a, i), json_array_get(b, i)))
            return 0;
    }
    return 1;
}

static int objects_equal(const json_t *a, const json_t *b)
{
    const char *key;
    json_t *va;
    if (json_object_size(a) != json_object_size(b))
        return 0;
    json_object_foreach((json_t *)a, key, va)
    {
        const json_t *vb = json_object_get(b, key);
        if (vb == NULL || !sbom_json_equal(va, vb))
            return 0;
    }
    return 1;
}

int sbom_json_equal(const json_t *a, const json_t *b)
{
    if (is_number(a) && is_number(b))
        return numbers_equal(a, b);
    if (json_typeof(a) != json_typeof(b))
        return 0;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return strings_equal(a, b);
    case JSON_ARRAY:
        return arrays_equal(a, b);
    case JSON_OBJECT:
        return objects_equal(a, b);
    default: /* null, true, false */
        return 1;
    }
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_bytes(const void *p, size_t n, uint64_t seed)
{
    const uint8_t *s = p;
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ull;
    }
    return mix(h ^ n);
}

static uint64_t hash_number(const json_t *v)
{
    double d = number_value(v);
    uint64_t bits;
    if (d == 0)
        d = 0; /* -0 and 0 are equal */
    memcpy(&bits, &d, sizeof bits);
    return mix(bits ^ 0x6e756d626572ull);
}

uint64_t sbom_json_hash(const json_t *v)
{
    const char *key;
    json_t *m;
    uint64_t h;
    switch (json_typeof(v)) {
    case JSON_INTEGER:
    case JSON_REAL:
        return hash_number(v);
    case JSON_STRING:
        return hash_bytes(json_string_value(v), json_string_length(v), 1);
    case JSON_ARRAY:
        h = mix(2);
        for (size_t i = 0; i < json_array_size(v); i++)
            h = mix(h * 31 + sbom_json_hash(json_array_get(v, i)));
        return h;
    case JSON_OBJECT:
        h = mix(3);
        json_object_foreach((json_t *)v, key, m)
        {
            /* members in any order: an order-free sum of per-member hashes */
            h += mix(hash_bytes(key, strlen(key), 4) ^ (sbom_json_hash(m) * 0x9e3779b97f4a7c15ull));
        }
        return mix(h);
    default:
        return mix(10 + (uint64_t)json_typeof(v));
    }
}

typedef struct hashed {
    uint64_t h;
    size_t i;
} hashed;

static int cmp_hashed(const void *pa, const void *pb)
{
    const hashed *a = pa, *b = pb;
    if (a->h != b->h)
        return a->h < b->h ? -1 : 1;
    return a->i < b->i ? -1 : (a->i > b->i);
}

/* Keeps the pair with the smallest second index, then the smallest first. */
static void keep_pair(size_t a, size_t b, size_t *bi, size_t *bj, int *found)
{
    if (!*found || b < *bj || (b == *bj && a < *bi)) {
        *bi = a;
        *bj = b;
        *found = 1;
    }
}

static int small_duplicate(const json_t *array, size_t n, size_t *i, size_t *j)
{
    for (size_t b = 1; b < n; b++) {
        for (size_t a = 0; a < b; a++) {
            if (sbom_json_equal(json_array_get(array, a), json_array_get(array, b))) {
                *i = a;
                *j = b;
                return 1;
            }
        }
    }
    return 0;
}

/* Items with the same hash are compared with one representative of each class of equal items
 * seen so far, so n equal items cost n comparisons. Only items that collide without being
 * equal cost more; SBOM_UNIQUE_BUDGET bounds that work. */
#define SBOM_UNIQUE_BUDGET 20000000u

static int scan_run(const json_t *array, const hashed *t, size_t run, size_t end, size_t *reps,
                    size_t *budget, size_t *i, size_t *j, int *found)
{
    size_t n_reps = 0;
    for (size_t b = run; b < end; b++) {
        int dup = 0;
        for (size_t r = 0; r < n_reps && !dup; r++) {
            if (*budget == 0)
                return -1;
            (*budget)--;
            if (sbom_json_equal(json_array_get(array, reps[r]), json_array_get(array, t[b].i))) {
                keep_pair(reps[r], t[b].i, i, j, found);
                dup = 1;
            }
        }
        if (!dup)
            reps[n_reps++] = t[b].i;
    }
    return 0;
}

int sbom_json_find_duplicate(const json_t *array, size_t *i, size_t *j, fws_err *err)
{
    size_t n = json_array_size(array);
    *err = FWS_OK;
    if (n <= 16)
        return small_duplicate(array, n, i, j);
    hashed *t = calloc(n, sizeof *t);
    size_t *reps = calloc(n, sizeof *reps);
    int found = 0;
    size_t budget = SBOM_UNIQUE_BUDGET;
    if (t == NULL || reps == NULL) {
        *err = FWS_ERR_NOMEM;
        goto out;
    }
    for (size_t k = 0; k < n; k++) {
        t[k].h = sbom_json_hash(json_array_get(array, k));
        t[k].i = k;
    }
    qsort(t, n, sizeof *t, cmp_hashed);
    for (size_t run = 0; run < n;) {
        size_t end = run + 1;
        while (end < n && t[end].h == t[run].h)
            end++;
        if (end - run > 1 && scan_run(array, t, run, end, reps, &budget, i, j, &found) != 0) {
            *err = FWS_ERR_TOO_BIG;
            found = 0;
            goto out;
        }
        run = end;
    }
out:
    free(reps);
    free(t);
    return found;
}

size_t sbom_utf8_length(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t k = 0; k < len; k++) {
        if (((unsigned char)s[k] & 0xc0) != 0x80)
            n++;
    }
    return n;
}
