/* Compiling JSON Schema (draft-07) documents into sbom_node graphs.
 *
 * Every keyword of every reachable schema object must be one this evaluator implements or a
 * pure annotation: anything else fails the load with FWS_ERR_UNSUPPORTED, so a new schema that
 * needs more is noticed at once instead of being half checked. Following draft-07, a schema
 * with "$ref" is that reference alone: its sibling keywords are not evaluated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#define DRAFT07 "http://json-schema.org/draft-07/schema#"
#define COMPILE_DEPTH_MAX 2000
#define WHERE_MAX 1024

/* Schema object -> compiled node, so that shared and recursive schemas compile once. */
typedef struct memo {
    const json_t **keys;
    sbom_node **vals;
    size_t cap, n;
} memo;

typedef struct cc {
    fws_sbom_schema *s;
    const char *dir;
    memo m;
    unsigned depth;
    fws_errbuf *eb;
} cc;

static size_t memo_slot(const memo *m, const json_t *key)
{
    uintptr_t h = (uintptr_t)key;
    h ^= h >> 17;
    h *= (uintptr_t)0x9e3779b97f4a7c15ull;
    size_t i = (size_t)h & (m->cap - 1);
    while (m->keys[i] != NULL && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static sbom_node *memo_get(const memo *m, const json_t *key)
{
    if (m->cap == 0)
        return NULL;
    size_t i = memo_slot(m, key);
    return m->keys[i] == key ? m->vals[i] : NULL;
}

static fws_err memo_put(memo *m, const json_t *key, sbom_node *val)
{
    if (2 * (m->n + 1) > m->cap) {
        memo bigger = {.cap = m->cap ? 2 * m->cap : 256};
        bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
        bigger.vals = calloc(bigger.cap, sizeof *bigger.vals);
        if (bigger.keys == NULL || bigger.vals == NULL) {
            free(bigger.keys);
            free(bigger.vals);
            return FWS_ERR_NOMEM;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (m->keys[i] != NULL) {
                size_t j = memo_slot(&bigger, m->keys[i]);
                bigger.keys[j] = m->keys[i];
                bigger.vals[j] = m->vals[i];
            }
        }
        bigger.n = m->n;
        free(m->keys);
        free(m->vals);
        *m = bigger;
    }
    size_t i = memo_slot(m, key);
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return FWS_OK;
}

static fws_err grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return FWS_OK;
    size_t c = *cap ? 2 * *cap : 64;
    void *p = realloc(*v, c * size);
    if (p == NULL)
        return FWS_ERR_NOMEM;
    *v = p;
    *cap = c;
    return FWS_OK;
}

static fws_err new_where(cc *c, const char *parent, const char *seg, const char **out)
{
    char buf[WHERE_MAX];
    snprintf(buf, sizeof buf, *seg != '\0' ? "%s/%s" : "%s", parent, seg);
    fws_sbom_schema *s = c->s;
    if (grow((void **)&s->strings, &s->cap_strings, s->n_strings, sizeof *s->strings) != FWS_OK)
        return FWS_ERR_NOMEM;
    char *copy = strdup(buf);
    if (copy == NULL)
        return FWS_ERR_NOMEM;
    s->strings[s->n_strings++] = copy;
    *out = copy;
    return FWS_OK;
}

static fws_err new_node(cc *c, const json_t *js, const char *where, enum sbom_kind kind,
                        sbom_node **out)
{
    fws_sbom_schema *s = c->s;
    if (grow((void **)&s->nodes, &s->cap_nodes, s->n_nodes, sizeof *s->nodes) != FWS_OK)
        return FWS_ERR_NOMEM;
    sbom_node *n = calloc(1, sizeof *n);
    if (n == NULL)
        return FWS_ERR_NOMEM;
    s->nodes[s->n_nodes++] = n;
    n->kind = kind;
    n->where = where;
    n->pattern = -1;
    *out = n;
    return js != NULL ? memo_put(&c->m, js, n) : FWS_OK;
}

static fws_err compile(cc *c, size_t doc, const json_t *js, const char *where, sbom_node **out);

static fws_err bad(cc *c, const char *where, const char *kw, const char *what)
{
    return fws_errf(c->eb, FWS_ERR_UNSUPPORTED, "%s: \"%s\" %s", where, kw, what);
}

/* ---- $ref ---------------------------------------------------------------------------------- */

static int hexval(char h)
{
    return h >= '0' && h <= '9'   ? h - '0'
           : h >= 'a' && h <= 'f' ? h - 'a' + 10
           : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                  : -1;
}

/* One reference token of a JSON pointer in a URI fragment: %XX, then ~1 and ~0. */
static int pointer_token(const char *p, size_t n, char *tok, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '%') {
            if (i + 2 >= n || hexval(p[i + 1]) < 0 || hexval(p[i + 2]) < 0)
                return 0;
            ch = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
            i += 2;
        } else if (ch == '~') {
            if (i + 1 >= n || (p[i + 1] != '0' && p[i + 1] != '1'))
                return 0;
            ch = p[i + 1] == '0' ? '~' : '/';
            i++;
        }
        if (ch == '\0' || k + 1 >= cap)
            return 0;
        tok[k++] = ch;
    }
    tok[k] = '\0';
    return 1;
}

static const json_t *pointer_walk(const json_t *v, const char *frag)
{
    char tok[256];
    while (v != NULL && *frag == '/') {
        const char *seg = frag + 1, *end = strchr(seg, '/');
        size_t n = end != NULL ? (size_t)(end - seg) : strlen(seg);
        if (!pointer_token(seg, n, tok, sizeof tok))
            return NULL;
        if (json_is_object(v)) {
            v = json_object_get(v, tok);
        } else if (json_is_array(v)) {
            char *e = NULL;
            unsigned long i = strtoul(tok, &e, 10);
            v = (*e == '\0' && tok[0] >= '0' && tok[0] <= '9') ? json_array_get(v, i) : NULL;
        } else {
            v = NULL;
        }
        frag = seg + n;
    }
    return *frag == '\0' ? v : NULL;
}

static fws_err compile_ref(cc *c, size_t doc, const json_t *val, const char *where, sbom_node *node)
{
    char file[128];
    if (!json_is_string(val))
        return bad(c, where, "$ref", "must be a string");
    const char *ref = json_string_value(val), *hash = strchr(ref, '#');
    size_t flen = hash != NULL ? (size_t)(hash - ref) : strlen(ref);
    const char *frag = hash != NULL ? hash + 1 : "";
    size_t target_doc = doc;
    if (flen >= sizeof file)
        return bad(c, where, "$ref", "names a file with too long a name");
    if (flen > 0) {
        memcpy(file, ref, flen);
        file[flen] = '\0';
        fws_err err = sbom_schema_doc(c->s, c->dir, file, &target_doc, c->eb);
        if (err != FWS_OK)
            return fws_errf(c->eb, err, "%s: $ref \"%s\"", where, ref);
    }
    if (*frag != '\0' && *frag != '/')
        return bad(c, where, "$ref", "uses a plain-name fragment");
    const json_t *target = pointer_walk(c->s->docs[target_doc].root, frag);
    if (target == NULL)
        return fws_errf(c->eb, FWS_ERR_SCHEMA, "%s: $ref \"%s\" does not resolve", where, ref);
    char twhere[WHERE_MAX];
    snprintf(twhere, sizeof twhere, "%s#%s", c->s->docs[target_doc].name, frag);
    const char *w = NULL;
    fws_err err = new_where(c, twhere, "", &w);
    if (err == FWS_OK)
        err = compile(c, target_doc, target, w, &node->ref);
    return err;
}

/* ---- keyword values ------------------------------------------------------------------------ */

static fws_err get_count(cc *c, const json_t *v, const char *where, const char *kw, size_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return bad(c, where, kw, "must be a non-negative integer");
    *out = (size_t)json_integer_value(v);
    return FWS_OK;
}

static fws_err get_number(cc *c, const json_t *v, const char *where, const char *kw, double *out)
{
    if (!json_is_number(v))
        return bad(c, where, kw, "must be a number");
    *out = json_number_value(v);
    return FWS_OK;
}

static fws_err type_bit(const char *name, unsigned *bit)
{
    static const char *const names[] = {"null",   "boolean", "object", "array",
                                        "number", "string",  "integer"};
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(names[i], name) == 0) {
            *bit = 1u << i;
            return FWS_OK;
        }
    }
    return FWS_ERR_UNSUPPORTED;
}

static fws_err kw_type(cc *c, const json_t *v, const char *where, sbom_node *node)
{
    unsigned bit = 0;
    if (json_is_string(v)) {
        if (type_bit(json_string_value(v), &bit) != FWS_OK)
            return bad(c, where, "type", "names an unknown type");
        node->types = bit;
        return FWS_OK;
    }
    if (!json_is_array(v) || json_array_size(v) == 0)
        return bad(c, where, "type", "must be a type name or a list of them");
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *t = json_array_get(v, i);
        if (!json_is_string(t) || type_bit(json_string_value(t), &bit) != FWS_OK)
            return bad(c, where, "type", "names an unknown type");
        node->types |= bit;
    }
    return FWS_OK;
}

static fws_err kw_pattern(cc *c, const json_t *v, const char *where, sbom_node *node)
{
    fws_sbom_schema *s = c->s;
    if (!json_is_string(v))
        return bad(c, where, "pattern", "must be a string");
    const char *text = json_string_value(v);
    for (size_t i = 0; i < s->n_regex; i++) {
        if (strcmp(s->regex_text[i], text) == 0) {
            node->pattern = (int)i;
            node->pattern_text = s->regex_text[i];
            return FWS_OK;
        }
    }
    if (s->n_regex == SBOM_MAX_REGEX)
        return bad(c, where, "pattern", "one too many distinct patterns");
    fws_err err = sbom_regex_compile(&s->regex[s->n_regex], text, s->c_locale, c->eb);
    if (err != FWS_OK)
        return fws_errf(c->eb, err, "%s: pattern", where);
    s->regex_text[s->n_regex] = text;
    node->pattern = (int)s->n_regex++;
    node->pattern_text = text;
    return FWS_OK;
}

static fws_err kw_format(cc *c, const json_t *v, const char *where, sbom_node *node)
{
    if (!json_is_string(v) || sbom_format_lookup(json_string_value(v), &node->format) != FWS_OK)
        return bad(c, where, "format", "names a format this validator does not implement");
    return FWS_OK;
}

static fws_err kw_required(cc *c, const json_t *v, const char *where, sbom_node *node)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 0;
    if (!json_is_array(v))
        return bad(c, where, "required", "must be an array of strings");
    node->required = calloc(n ? n : 1, sizeof *node->required);
    if (node->required == NULL)
        return FWS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *name = json_array_get(v, i);
        if (!json_is_string(name))
            return bad(c, where, "required", "must be an array of strings");
        node->required[i] = json_string_value(name);
    }
    node->n_required = n;
    return FWS_OK;
}

static int cmp_prop(const void *a, const void *b)
{
    return strcmp(((const sbom_prop *)a)->name, ((const sbom_prop *)b)->name);
}

static fws_err kw_properties(cc *c, size_t doc, const json_t *v, const char *where, sbom_node *node)
{
    const char *key;
    json_t *sub;
    size_t i = 0;
    if (!json_is_object(v))
        return bad(c, where, "properties", "must be an object");
    node->props = calloc(json_object_size(v) + 1, sizeof *node->props);
    if (node->props == NULL)
        return FWS_ERR_NOMEM;
    json_object_foreach((json_t *)v, key, sub)
    {
        const char *w = NULL;
        char seg[WHERE_MAX];
        snprintf(seg, sizeof seg, "properties/%s", key);
        fws_err err = new_where(c, where, seg, &w);
        if (err == FWS_OK)
            err = compile(c, doc, sub, w, &node->props[i].schema);
        if (err != FWS_OK)
            return err;
        node->props[i++].name = key;
        node->n_props = i;
    }
    qsort(node->props, node->n_props, sizeof *node->props, cmp_prop);
    return FWS_OK;
}

static fws_err sub_schema(cc *c, size_t doc, const json_t *v, const char *where, const char *kw,
                          sbom_node **out)
{
    const char *w = NULL;
    fws_err err = new_where(c, where, kw, &w);
    return err != FWS_OK ? err : compile(c, doc, v, w, out);
}

static fws_err sub_list(cc *c, size_t doc, const json_t *v, const char *where, const char *kw,
                        sbom_list *out)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 0;
    if (n == 0)
        return bad(c, where, kw, "must be a non-empty array of schemas");
    out->v = calloc(n, sizeof *out->v);
    if (out->v == NULL)
        return FWS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        char seg[64];
        snprintf(seg, sizeof seg, "%s/%zu", kw, i);
        fws_err err = sub_schema(c, doc, json_array_get(v, i), where, seg, &out->v[i]);
        if (err != FWS_OK)
            return err;
        out->n = i + 1;
    }
    return FWS_OK;
}

/* ---- one keyword --------------------------------------------------------------------------- */

static int is_annotation(const char *kw)
{
    static const char *const names[] = {"title",   "description", "$comment",  "examples",
                                        "default", "deprecated",  "meta:enum", "definitions",
                                        "$schema", "$id"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(names[i], kw) == 0)
            return 1;
    }
    return 0;
}

/* $schema and $id are accepted only at the root of a file, $schema only for draft-07. */
static fws_err check_annotation(cc *c, const char *kw, const json_t *v, const char *where,
                                int is_root)
{
    if ((strcmp(kw, "$id") == 0 || strcmp(kw, "$schema") == 0) && !is_root)
        return bad(c, where, kw, "below the root of a file (base URI changes are not supported)");
    if (strcmp(kw, "$schema") == 0 && (!json_is_string(v) || strcmp(json_string_value(v), DRAFT07)))
        return bad(c, where, kw, "is not " DRAFT07);
    return FWS_OK;
}

static fws_err keyword(cc *c, size_t doc, const char *kw, const json_t *v, const char *where,
                       sbom_node *n)
{
    if (strcmp(kw, "type") == 0)
        return kw_type(c, v, where, n);
    if (strcmp(kw, "enum") == 0) {
        if (!json_is_array(v) || json_array_size(v) == 0)
            return bad(c, where, kw, "must be a non-empty array");
        n->enum_values = v;
        return FWS_OK;
    }
    if (strcmp(kw, "const") == 0) {
        n->const_value = v;
        return FWS_OK;
    }
    if (strcmp(kw, "minLength") == 0) {
        n->has_min_length = 1;
        return get_count(c, v, where, kw, &n->min_length);
    }
    if (strcmp(kw, "maxLength") == 0) {
        n->has_max_length = 1;
        return get_count(c, v, where, kw, &n->max_length);
    }
    if (strcmp(kw, "minItems") == 0) {
        n->has_min_items = 1;
        return get_count(c, v, where, kw, &n->min_items);
    }
    if (strcmp(kw, "maxItems") == 0) {
        n->has_max_items = 1;
        return get_count(c, v, where, kw, &n->max_items);
    }
    if (strcmp(kw, "minimum") == 0) {
        n->has_minimum = 1;
        return get_number(c, v, where, kw, &n->minimum);
    }
    if (strcmp(kw, "maximum") == 0) {
        n->has_maximum = 1;
        return get_number(c, v, where, kw, &n->maximum);
    }
    if (strcmp(kw, "pattern") == 0)
        return kw_pattern(c, v, where, n);
    if (strcmp(kw, "format") == 0)
        return kw_format(c, v, where, n);
    if (strcmp(kw, "required") == 0)
        return kw_required(c, v, where, n);
    if (strcmp(kw, "properties") == 0)
        return kw_properties(c, doc, v, where, n);
    if (strcmp(kw, "additionalProperties") == 0)
        return sub_schema(c, doc, v, where, kw, &n->additional_props);
    if (strcmp(kw, "additionalItems") == 0)
        return sub_schema(c, doc, v, where, kw, &n->additional_items);
    if (strcmp(kw, "items") == 0 && json_is_array(v)) {
        n->items_is_tuple = 1;
        return sub_list(c, doc, v, where, kw, &n->items_tuple);
    }
    if (strcmp(kw, "items") == 0)
        return sub_schema(c, doc, v, where, kw, &n->items);
    if (strcmp(kw, "uniqueItems") == 0) {
        if (!json_is_boolean(v))
            return bad(c, where, kw, "must be a boolean");
        n->unique_items = json_is_true(v);
        return FWS_OK;
    }
    if (strcmp(kw, "allOf") == 0)
        return sub_list(c, doc, v, where, kw, &n->all_of);
    if (strcmp(kw, "anyOf") == 0)
        return sub_list(c, doc, v, where, kw, &n->any_of);
    if (strcmp(kw, "oneOf") == 0)
        return sub_list(c, doc, v, where, kw, &n->one_of);
    if (strcmp(kw, "if") == 0)
        return sub_schema(c, doc, v, where, kw, &n->if_);
    if (strcmp(kw, "then") == 0)
        return sub_schema(c, doc, v, where, kw, &n->then_);
    return bad(c, where, kw, "is a keyword this validator does not implement");
}

/* ---- one schema ---------------------------------------------------------------------------- */

static fws_err compile_object(cc *c, size_t doc, const json_t *js, const char *where, sbom_node *n)
{
    const char *kw;
    json_t *v;
    int is_root = js == c->s->docs[doc].root;
    const json_t *ref = json_object_get(js, "$ref");
    if (ref != NULL)
        return compile_ref(c, doc, ref, where, n);
    json_object_foreach((json_t *)js, kw, v)
    {
        fws_err err = is_annotation(kw) ? check_annotation(c, kw, v, where, is_root)
                                        : keyword(c, doc, kw, v, where, n);
        if (err != FWS_OK)
            return err;
    }
    if (n->then_ != NULL && n->if_ == NULL)
        return bad(c, where, "then", "without \"if\"");
    return FWS_OK;
}

static fws_err compile(cc *c, size_t doc, const json_t *js, const char *where, sbom_node **out)
{
    sbom_node *n = memo_get(&c->m, js);
    if (n != NULL) {
        *out = n;
        return FWS_OK;
    }
    if (json_is_boolean(js)) /* jansson's true and false are shared: never memoized */
        return new_node(c, NULL, where, json_is_true(js) ? SBOM_NODE_TRUE : SBOM_NODE_FALSE, out);
    if (!json_is_object(js))
        return fws_errf(c->eb, FWS_ERR_SCHEMA, "%s: a schema must be an object or a boolean",
                        where);
    if (c->depth >= COMPILE_DEPTH_MAX)
        return fws_errf(c->eb, FWS_ERR_TOO_BIG, "%s: schema nested too deeply", where);
    fws_err err = new_node(c, js, where, SBOM_NODE_SCHEMA, &n);
    if (err != FWS_OK)
        return err;
    c->depth++;
    err = compile_object(c, doc, js, where, n);
    c->depth--;
    if (err == FWS_OK)
        *out = n;
    return err;
}

fws_err sbom_schema_compile(fws_sbom_schema *s, const char *dir, fws_errbuf *eb)
{
    cc c = {.s = s, .dir = dir, .eb = eb};
    char where[WHERE_MAX];
    const char *w = NULL;
    snprintf(where, sizeof where, "%s#", s->docs[0].name);
    fws_err err = new_where(&c, where, "", &w);
    if (err == FWS_OK)
        err = compile(&c, 0, s->docs[0].root, w, &s->root);
    free(c.m.keys);
    free(c.m.vals);
    if (err == FWS_ERR_NOMEM)
        fws_errf(eb, err, "sbom schema: out of memory");
    return err;
}
