/* Evaluating a compiled schema over a jansson value (JSON Schema draft-07 semantics).
 *
 * Keywords of one schema are checked in a fixed order (type, const, enum, string, number,
 * object, array, then the combinators) and evaluation stops at the first failure, so the error
 * reported is deterministic. Object members are checked in document order. When no branch of
 * a oneOf/anyOf matches, the failure reported is the one that got deepest into the instance
 * (the likeliest intended branch), or the combinator itself when none got further than it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#define PATH_MAX_SEGS (FWS_SBOM_MAX_DEPTH + 8)
#define EVAL_DEPTH_MAX 1024
#define PTR_MAX 240

typedef struct seg {
    const char *key; /* NULL for an array index */
    size_t index;
} seg;

typedef struct verr {
    unsigned depth;    /* how deep into the instance evaluation got before failing */
    char ptr[PTR_MAX]; /* JSON pointer, "(root)" for the document */
    char msg[340];
} verr;

typedef struct vctx {
    const fws_sbom_schema *s;
    seg path[PATH_MAX_SEGS];
    unsigned n_path;
    unsigned eval_depth;
    verr *err;
} vctx;

static fws_err eval(vctx *v, const sbom_node *node, const json_t *inst);

/* ---- paths and messages -------------------------------------------------------------------- */

static size_t put(char *buf, size_t cap, size_t k, const char *s, size_t n)
{
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[k++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c; /* one line, always */
    }
    buf[k < cap ? k : cap - 1] = '\0';
    return k;
}

static void format_pointer(const vctx *v, char *buf, size_t cap)
{
    size_t k = 0;
    buf[0] = '\0';
    if (v->n_path == 0) {
        put(buf, cap, 0, "(root)", 6);
        return;
    }
    for (unsigned i = 0; i < v->n_path && k + 1 < cap; i++) {
        k = put(buf, cap, k, "/", 1);
        if (v->path[i].key == NULL) {
            char num[24];
            int n = snprintf(num, sizeof num, "%zu", v->path[i].index);
            k = put(buf, cap, k, num, (size_t)n);
            continue;
        }
        for (const char *p = v->path[i].key; *p != '\0'; p++) {
            const char *esc = *p == '~' ? "~0" : *p == '/' ? "~1" : NULL;
            k = esc != NULL ? put(buf, cap, k, esc, 2) : put(buf, cap, k, p, 1);
        }
    }
    if (k + 1 >= cap && cap > 4)
        memcpy(buf + cap - 4, "...", 4);
}

static fws_err fail(vctx *v, const char *kw, const char *fmt, ...) FWS_PRINTF(3, 4);

static fws_err fail(vctx *v, const char *kw, const char *fmt, ...)
{
    if (v->err == NULL)
        return FWS_ERR_SCHEMA;
    char text[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    v->err->depth = v->n_path;
    format_pointer(v, v->err->ptr, sizeof v->err->ptr);
    snprintf(v->err->msg, sizeof v->err->msg, "%s (%s)", text, kw);
    return FWS_ERR_SCHEMA;
}

/* A member or item that may not exist at all: the pointer names it, but the failure belongs to
 * its container, which is as far as evaluation got (this ranks oneOf/anyOf branches). */
static fws_err fail_at_parent(vctx *v, const char *kw, const char *what)
{
    fws_err err = fail(v, kw, "%s", what);
    if (v->err != NULL && v->err->depth > 0)
        v->err->depth--;
    return err;
}

static fws_err push_key(vctx *v, const char *key)
{
    if (v->n_path == PATH_MAX_SEGS)
        return FWS_ERR_TOO_BIG;
    v->path[v->n_path].key = key;
    v->path[v->n_path++].index = 0;
    return FWS_OK;
}

static fws_err push_index(vctx *v, size_t i)
{
    if (v->n_path == PATH_MAX_SEGS)
        return FWS_ERR_TOO_BIG;
    v->path[v->n_path].key = NULL;
    v->path[v->n_path++].index = i;
    return FWS_OK;
}

/* ---- type, const, enum --------------------------------------------------------------------- */

static int is_integral(const json_t *inst)
{
    if (json_is_integer(inst))
        return 1;
    double d = json_real_value(inst);
    return json_is_real(inst) && d == (double)(long long)d && d > -9.3e18 && d < 9.3e18;
}

static unsigned type_mask(const json_t *inst)
{
    switch (json_typeof(inst)) {
    case JSON_OBJECT:
        return SBOM_T_OBJECT;
    case JSON_ARRAY:
        return SBOM_T_ARRAY;
    case JSON_STRING:
        return SBOM_T_STRING;
    case JSON_INTEGER:
    case JSON_REAL:
        return SBOM_T_NUMBER | (is_integral(inst) ? SBOM_T_INTEGER : 0);
    case JSON_TRUE:
    case JSON_FALSE:
        return SBOM_T_BOOLEAN;
    default:
        return SBOM_T_NULL;
    }
}

static void type_names(unsigned mask, char *buf, size_t cap)
{
    static const char *const names[] = {"null",     "a boolean", "an object", "an array",
                                        "a number", "a string",  "an integer"};
    size_t k = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < 7; i++) {
        if (!(mask & (1u << i)))
            continue;
        int n = snprintf(buf + k, cap - k, "%s%s", k ? " or " : "", names[i]);
        if (n < 0 || (size_t)n >= cap - k)
            return;
        k += (size_t)n;
    }
}

static fws_err check_type(vctx *v, const sbom_node *n, const json_t *inst)
{
    char names[96];
    if (n->types == 0 || (type_mask(inst) & n->types) != 0)
        return FWS_OK;
    type_names(n->types, names, sizeof names);
    return fail(v, "type", "must be %s", names);
}

static fws_err check_values(vctx *v, const sbom_node *n, const json_t *inst)
{
    if (n->const_value != NULL && !sbom_json_equal(n->const_value, inst)) {
        if (json_is_string(n->const_value))
            return fail(v, "const", "must be \"%s\"", json_string_value(n->const_value));
        return fail(v, "const", "must be the constant value");
    }
    if (n->enum_values != NULL) {
        for (size_t i = 0; i < json_array_size(n->enum_values); i++) {
            if (sbom_json_equal(json_array_get(n->enum_values, i), inst))
                return FWS_OK;
        }
        return fail(v, "enum", "not one of the allowed values");
    }
    return FWS_OK;
}

/* ---- strings and numbers ------------------------------------------------------------------- */

static fws_err check_string(vctx *v, const sbom_node *n, const json_t *inst)
{
    const char *s = json_string_value(inst);
    size_t len = json_string_length(inst);
    if (n->has_min_length || n->has_max_length) {
        size_t chars = sbom_utf8_length(s, len);
        if (n->has_min_length && chars < n->min_length)
            return fail(v, "minLength", "shorter than the minimum length %zu", n->min_length);
        if (n->has_max_length && chars > n->max_length)
            return fail(v, "maxLength", "longer than the maximum length %zu", n->max_length);
    }
    if (n->pattern >= 0 && !sbom_regex_search(&v->s->regex[n->pattern], s, len, v->s->c_locale))
        return fail(v, "pattern", "does not match %s", n->pattern_text);
    if (n->format != SBOM_FMT_NONE && !sbom_format_check(n->format, s, len))
        return fail(v, "format", "not a valid %s", sbom_format_name(n->format));
    return FWS_OK;
}

static fws_err check_number(vctx *v, const sbom_node *n, const json_t *inst)
{
    double d = json_number_value(inst);
    if (n->has_minimum && d < n->minimum)
        return fail(v, "minimum", "less than the minimum %g", n->minimum);
    if (n->has_maximum && d > n->maximum)
        return fail(v, "maximum", "greater than the maximum %g", n->maximum);
    return FWS_OK;
}

/* ---- objects -------------------------------------------------------------------------------- */

static const sbom_node *find_prop(const sbom_node *n, const char *key)
{
    size_t lo = 0, hi = n->n_props;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, n->props[mid].name);
        if (c == 0)
            return n->props[mid].schema;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static fws_err check_member(vctx *v, const sbom_node *n, const char *key, const json_t *val)
{
    const sbom_node *sub = find_prop(n, key);
    int additional = sub == NULL;
    if (additional)
        sub = n->additional_props;
    if (sub == NULL)
        return FWS_OK;
    fws_err err = push_key(v, key);
    if (err != FWS_OK)
        return err;
    if (sub->kind == SBOM_NODE_FALSE && additional)
        err = fail_at_parent(v, "additionalProperties", "property not allowed");
    else
        err = eval(v, sub, val);
    v->n_path--;
    return err;
}

static fws_err check_object(vctx *v, const sbom_node *n, const json_t *inst)
{
    const char *key;
    json_t *val;
    for (size_t i = 0; i < n->n_required; i++) {
        if (json_object_get(inst, n->required[i]) == NULL)
            return fail(v, "required", "missing required property \"%s\"", n->required[i]);
    }
    if (n->n_props == 0 && n->additional_props == NULL)
        return FWS_OK;
    json_object_foreach((json_t *)inst, key, val)
    {
        fws_err err = check_member(v, n, key, val);
        if (err != FWS_OK)
            return err;
    }
    return FWS_OK;
}

/* ---- arrays -------------------------------------------------------------------------------- */

static const sbom_node *item_schema(const sbom_node *n, size_t i)
{
    if (!n->items_is_tuple)
        return n->items;
    return i < n->items_tuple.n ? n->items_tuple.v[i] : n->additional_items;
}

static fws_err check_items(vctx *v, const sbom_node *n, const json_t *inst)
{
    for (size_t i = 0; i < json_array_size(inst); i++) {
        const sbom_node *sub = item_schema(n, i);
        if (sub == NULL)
            continue;
        fws_err err = push_index(v, i);
        if (err != FWS_OK)
            return err;
        if (sub->kind == SBOM_NODE_FALSE && n->items_is_tuple && i >= n->items_tuple.n)
            err = fail_at_parent(v, "additionalItems", "item not allowed");
        else
            err = eval(v, sub, json_array_get(inst, i));
        v->n_path--;
        if (err != FWS_OK)
            return err;
    }
    return FWS_OK;
}

static fws_err check_array(vctx *v, const sbom_node *n, const json_t *inst)
{
    size_t size = json_array_size(inst), a = 0, b = 0;
    if (n->has_min_items && size < n->min_items)
        return fail(v, "minItems", "fewer items than the minimum %zu", n->min_items);
    if (n->has_max_items && size > n->max_items)
        return fail(v, "maxItems", "more items than the maximum %zu", n->max_items);
    fws_err err = check_items(v, n, inst);
    if (err != FWS_OK || !n->unique_items)
        return err;
    if (sbom_json_find_duplicate(inst, &a, &b, &err))
        return fail(v, "uniqueItems", "items %zu and %zu are equal", a, b);
    return err;
}

/* ---- combinators --------------------------------------------------------------------------- */

/* Evaluates node into a private error record (NULL: no record wanted). */
static fws_err eval_quiet(vctx *v, const sbom_node *node, const json_t *inst, verr *rec)
{
    verr *saved = v->err;
    v->err = rec;
    fws_err err = eval(v, node, inst);
    v->err = saved;
    return err;
}

static void keep_deepest(verr *best, int *have, const verr *e)
{
    if (!*have || e->depth > best->depth) {
        *best = *e;
        *have = 1;
    }
}

static fws_err report_branches(vctx *v, const char *kw, const verr *best, int have)
{
    if (have && best->depth > v->n_path && v->err != NULL) {
        *v->err = *best;
        return FWS_ERR_SCHEMA;
    }
    if (have) {
        char here[PTR_MAX];
        format_pointer(v, here, sizeof here);
        if (strcmp(here, best->ptr) != 0)
            return fail(v, kw, "no alternative matches; the first: %s: %s", best->ptr, best->msg);
        return fail(v, kw, "no alternative matches; the first: %s", best->msg);
    }
    return fail(v, kw, "no alternative matches");
}

static fws_err check_any_of(vctx *v, const sbom_list *l, const json_t *inst)
{
    verr best = {0}, e;
    int have = 0;
    for (size_t i = 0; i < l->n; i++) {
        fws_err err = eval_quiet(v, l->v[i], inst, v->err ? &e : NULL);
        if (err == FWS_OK)
            return FWS_OK;
        if (err != FWS_ERR_SCHEMA)
            return err;
        if (v->err != NULL)
            keep_deepest(&best, &have, &e);
    }
    return report_branches(v, "anyOf", &best, have);
}

static fws_err check_one_of(vctx *v, const sbom_list *l, const json_t *inst)
{
    verr best = {0}, e;
    int have = 0;
    size_t matched = 0, first = 0;
    for (size_t i = 0; i < l->n; i++) {
        fws_err err = eval_quiet(v, l->v[i], inst, v->err ? &e : NULL);
        if (err == FWS_OK) {
            if (matched++ > 0)
                return fail(v, "oneOf", "matches alternatives %zu and %zu, only one may match",
                            first, i);
            first = i;
        } else if (err != FWS_ERR_SCHEMA) {
            return err;
        } else if (v->err != NULL) {
            keep_deepest(&best, &have, &e);
        }
    }
    return matched == 1 ? FWS_OK : report_branches(v, "oneOf", &best, have);
}

static fws_err check_combinators(vctx *v, const sbom_node *n, const json_t *inst)
{
    fws_err err = FWS_OK;
    for (size_t i = 0; i < n->all_of.n && err == FWS_OK; i++)
        err = eval(v, n->all_of.v[i], inst);
    if (err == FWS_OK && n->any_of.n > 0)
        err = check_any_of(v, &n->any_of, inst);
    if (err == FWS_OK && n->one_of.n > 0)
        err = check_one_of(v, &n->one_of, inst);
    if (err == FWS_OK && n->if_ != NULL && n->then_ != NULL) {
        err = eval_quiet(v, n->if_, inst, NULL);
        if (err == FWS_OK)
            err = eval(v, n->then_, inst);
        else if (err == FWS_ERR_SCHEMA)
            err = FWS_OK;
    }
    return err;
}

/* ---- one schema ---------------------------------------------------------------------------- */

static fws_err eval_node(vctx *v, const sbom_node *n, const json_t *inst)
{
    if (n->kind == SBOM_NODE_TRUE)
        return FWS_OK;
    if (n->kind == SBOM_NODE_FALSE)
        return fail(v, "false", "no value is allowed here");
    if (n->ref != NULL)
        return eval(v, n->ref, inst);
    fws_err err = check_type(v, n, inst);
    if (err == FWS_OK)
        err = check_values(v, n, inst);
    if (err == FWS_OK && json_is_string(inst))
        err = check_string(v, n, inst);
    if (err == FWS_OK && json_is_number(inst))
        err = check_number(v, n, inst);
    if (err == FWS_OK && json_is_object(inst))
        err = check_object(v, n, inst);
    if (err == FWS_OK && json_is_array(inst))
        err = check_array(v, n, inst);
    if (err == FWS_OK)
        err = check_combinators(v, n, inst);
    return err;
}

static fws_err eval(vctx *v, const sbom_node *node, const json_t *inst)
{
    if (v->eval_depth >= EVAL_DEPTH_MAX)
        return FWS_ERR_TOO_BIG;
    v->eval_depth++;
    fws_err err = eval_node(v, node, inst);
    v->eval_depth--;
    return err;
}

fws_err sbom_eval(const fws_sbom_schema *s, const sbom_node *node, const json_t *instance,
                  fws_errbuf *eb)
{
    verr e;
    vctx *v = calloc(1, sizeof *v);
    if (v == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "sbom: out of memory");
    v->s = s;
    v->err = &e;
    fws_err err = eval(v, node, instance);
    free(v);
    if (err == FWS_ERR_SCHEMA)
        return fws_errf(eb, err, "%s: %s", e.ptr, e.msg);
    if (err == FWS_ERR_TOO_BIG)
        return fws_errf(eb, err, "sbom: nested beyond what fwseal evaluates");
    if (err == FWS_ERR_NOMEM)
        return fws_errf(eb, err, "sbom: out of memory");
    return err;
}
