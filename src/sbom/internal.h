/* Internals of the SBOM module: a JSON Schema (draft-07) evaluator for the keywords the
 * CycloneDX 1.6 schema files use, compiled once from jansson values into a graph of nodes. */
#ifndef FWSEAL_SBOM_INTERNAL_H
#define FWSEAL_SBOM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <regex.h>
#include <locale.h>
#include <jansson.h>
#include "fwseal/sbom.h"

/* ---- regular expressions (regex.c) --------------------------------------------------------- */

/* Longest ECMA-262 pattern accepted, and longest POSIX translation of it. */
#define SBOM_PATTERN_MAX 1024
#define SBOM_POSIX_MAX 8192

/* Rewrites an ECMA-262 pattern (as JSON Schema and ajv's "u" mode read it) into a POSIX ERE
 * with the same meaning over UTF-8 bytes, for the subset fwseal supports: literals, anchors,
 * groups, alternation, greedy quantifiers, positive ASCII bracket expressions, '.', \d and
 * escaped punctuation. FWS_ERR_UNSUPPORTED (eb says which construct) for anything else. */
fws_err sbom_regex_translate(const char *ecma, char *posix, size_t cap,
                             fws_errbuf *eb) FWS_MUST_CHECK;

typedef struct sbom_regex {
    regex_t re;
    int compiled;
} sbom_regex;

/* Translates and compiles in the "C" locale (byte semantics whatever the process locale). */
fws_err sbom_regex_compile(sbom_regex *r, const char *ecma, locale_t c_locale,
                           fws_errbuf *eb) FWS_MUST_CHECK;
/* 1 when the pattern matches somewhere in s[0..len) (which may hold NUL bytes), else 0. */
int sbom_regex_search(const sbom_regex *r, const char *s, size_t len, locale_t c_locale);
void sbom_regex_free(sbom_regex *r);

/* ---- formats (format.c) -------------------------------------------------------------------- */

typedef enum sbom_format {
    SBOM_FMT_NONE = 0,
    SBOM_FMT_DATE_TIME,     /* RFC 3339 section 5.6 date-time */
    SBOM_FMT_URI,           /* RFC 3986 URI (absolute, with scheme) */
    SBOM_FMT_IRI_REFERENCE, /* RFC 3987 IRI-reference: characters and escapes only */
    SBOM_FMT_IDN_EMAIL,     /* RFC 6531 mailbox: dot-atom or quoted local part, domain */
} sbom_format;

/* FWS_OK and the format for a name the evaluator implements, else FWS_ERR_UNSUPPORTED. */
fws_err sbom_format_lookup(const char *name, sbom_format *out) FWS_MUST_CHECK;
const char *sbom_format_name(sbom_format f);
/* 1 when the UTF-8 string s[0..len) is valid for the format. */
int sbom_format_check(sbom_format f, const char *s, size_t len);

/* ---- JSON values (value.c) ----------------------------------------------------------------- */

/* JSON Schema equality: numbers by value (1 equals 1.0), objects regardless of member order. */
int sbom_json_equal(const json_t *a, const json_t *b);
/* A hash consistent with sbom_json_equal. */
uint64_t sbom_json_hash(const json_t *v);
/* For uniqueItems: 1 and the indices of the first equal pair (i < j), else 0. FWS_ERR_NOMEM
 * through *err. */
int sbom_json_find_duplicate(const json_t *array, size_t *i, size_t *j, fws_err *err);
/* Characters (Unicode code points) in a valid UTF-8 string. */
size_t sbom_utf8_length(const char *s, size_t len);

/* ---- the compiled schema (compile.c) ------------------------------------------------------- */

enum sbom_type_bit {
    SBOM_T_NULL = 1u << 0,
    SBOM_T_BOOLEAN = 1u << 1,
    SBOM_T_OBJECT = 1u << 2,
    SBOM_T_ARRAY = 1u << 3,
    SBOM_T_NUMBER = 1u << 4,
    SBOM_T_STRING = 1u << 5,
    SBOM_T_INTEGER = 1u << 6,
};

typedef struct sbom_node sbom_node;

typedef struct sbom_prop {
    const char *name; /* borrowed from the schema document */
    sbom_node *schema;
} sbom_prop;

typedef struct sbom_list {
    sbom_node **v;
    size_t n;
} sbom_list;

enum sbom_kind {
    SBOM_NODE_SCHEMA = 0, /* an object schema */
    SBOM_NODE_TRUE,       /* the boolean schema true: everything is valid */
    SBOM_NODE_FALSE,      /* the boolean schema false: nothing is */
};

/* One schema object. Keyword fields are "absent" when their has_* flag is 0 (or pointer NULL). */
struct sbom_node {
    enum sbom_kind kind;
    const char *where; /* "file#/json/pointer" of this schema, for diagnostics */
    sbom_node *ref;    /* $ref: in draft-07 it replaces every sibling keyword */

    unsigned types; /* sbom_type_bit mask; 0 = no "type" keyword */
    const json_t *enum_values;
    const json_t *const_value;

    int has_min_length, has_max_length;
    size_t min_length, max_length;
    int pattern; /* index into the schema's regex table, -1 for none */
    const char *pattern_text;
    sbom_format format;

    int has_minimum, has_maximum;
    double minimum, maximum;

    sbom_prop *props; /* sorted by name (strcmp) */
    size_t n_props;
    const char **required;
    size_t n_required;
    sbom_node *additional_props; /* NULL: absent */

    sbom_node *items;      /* single-schema form */
    sbom_list items_tuple; /* array form (n > 0) */
    int items_is_tuple;
    sbom_node *additional_items;
    int has_min_items, has_max_items;
    size_t min_items, max_items;
    int unique_items;

    sbom_list all_of, any_of, one_of;
    sbom_node *if_, *then_;
};

#define SBOM_MAX_DOCS 8
#define SBOM_MAX_REGEX 64

typedef struct sbom_doc {
    char name[128]; /* file name in the cyclonedx directory */
    json_t *root;
} sbom_doc;

struct fws_sbom_schema {
    sbom_doc docs[SBOM_MAX_DOCS];
    size_t n_docs;
    sbom_node *root;
    sbom_node **nodes; /* every node, for freeing */
    size_t n_nodes, cap_nodes;
    char **strings; /* every "where" string, for freeing */
    size_t n_strings, cap_strings;
    sbom_regex regex[SBOM_MAX_REGEX];
    const char *regex_text[SBOM_MAX_REGEX];
    size_t n_regex;
    locale_t c_locale;
};

/* Reads <dir>/<name> as JSON into a new document slot (or finds it already loaded). */
fws_err sbom_schema_doc(fws_sbom_schema *s, const char *dir, const char *name, size_t *index,
                        fws_errbuf *eb) FWS_MUST_CHECK;
/* Compiles the root of document 0 (and everything it reaches, loading referenced files from
 * dir) into s->root. */
fws_err sbom_schema_compile(fws_sbom_schema *s, const char *dir, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- evaluation (validate.c) ---------------------------------------------------------------- */

/* Validates instance against node: FWS_ERR_SCHEMA with "<JSON pointer>: <what> (<keyword>)"
 * for the first failure in eb; FWS_ERR_TOO_BIG past the evaluator's own nesting backstop. */
fws_err sbom_eval(const fws_sbom_schema *s, const sbom_node *node, const json_t *instance,
                  fws_errbuf *eb) FWS_MUST_CHECK;

#endif
