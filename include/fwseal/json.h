/* Canonical JSON (the OLPC rules TUF signs) on top of jansson.
 *
 * Canonical form: objects with keys sorted by their UTF-8 bytes, no insignificant whitespace,
 * integers only (no fractions, no exponents, no -0), strings escape only '"' and '\' and every
 * other byte (control characters included) is written as is, UTF-8 validated; true, false, null.
 *
 * Parsing is capped: total size, nesting depth, string length and member count are checked by a
 * non-allocating pre-scan before jansson sees a byte; duplicate keys are rejected.
 */
#ifndef FWSEAL_JSON_H
#define FWSEAL_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hard ceiling on nesting: a max_depth above it is treated as this value (the pre-scan keeps a
 * fixed stack of this many levels), and the encoders refuse deeper trees. */
#define FWS_JSON_MAX_DEPTH 256u

/* Hard ceiling on the output of fws_json_canonical (bytes, NUL excluded). */
#define FWS_JSON_ENCODE_MAX ((size_t)1 << 28)

typedef struct fws_json_limits {
    size_t max_bytes;   /* whole document */
    unsigned max_depth; /* nesting of arrays and objects (at most FWS_JSON_MAX_DEPTH) */
    size_t max_string;  /* bytes in one string (keys included), after unescaping */
    size_t max_members; /* elements in one array or members in one object */
} fws_json_limits;

/* Defaults: 16 MiB, depth 32, 1 MiB strings, 1,000,000 members. */
extern const fws_json_limits fws_json_default_limits;

enum {
    FWS_JSON_CANONICAL = 1u << 0, /* reject input that is not byte-for-byte canonical */
    FWS_JSON_NO_FLOATS = 1u << 1, /* reject numbers with fractions or exponents */
};

/* Parses unverified bytes (RFC 8259 JSON; any value at the top level; no byte order mark). On
 * success *out is a new reference. limits NULL means fws_json_default_limits. Raw control bytes
 * inside strings are accepted, because the canonical form writes them unescaped; strings may
 * hold U+0000 (object keys may not). Integers must fit in int64_t. FWS_JSON_CANONICAL implies
 * FWS_JSON_NO_FLOATS. Errors: FWS_ERR_TOO_BIG (a cap), FWS_ERR_FORMAT (syntax, invalid UTF-8,
 * duplicate key, integer beyond 64 bits, a real with FWS_JSON_NO_FLOATS; eb names the byte
 * offset), FWS_ERR_NOT_CANONICAL (valid JSON but not canonical, with FWS_JSON_CANONICAL: eb
 * names the first byte that differs from the canonical encoding), FWS_ERR_ARG. */
fws_err fws_json_parse(const uint8_t *unverified, size_t len, unsigned flags,
                       const fws_json_limits *limits, json_t **out, fws_errbuf *eb) FWS_MUST_CHECK;

/* Encodes a value canonically into a malloc'd buffer (NUL-terminated, len excludes the NUL;
 * strings holding U+0000 put a raw NUL byte in the output, so use len). FWS_ERR_FORMAT for a
 * real number or a string or key that is not valid UTF-8; FWS_ERR_TOO_BIG past
 * FWS_JSON_ENCODE_MAX bytes or FWS_JSON_MAX_DEPTH levels. */
fws_err fws_json_canonical(const json_t *value, char **out, size_t *len) FWS_MUST_CHECK;

/* Pretty, deterministic output for people (sorted keys, 2-space indent, trailing newline;
 * reals are allowed here). FWS_ERR_FORMAT when jansson cannot encode the value. */
fws_err fws_json_pretty(const json_t *value, char **out, size_t *len) FWS_MUST_CHECK;

/* 1 if the bytes are valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int fws_utf8_valid(const uint8_t *s, size_t len);

/* Typed accessors: FWS_ERR_SCHEMA with eb naming the field when obj is not an object, the field
 * is missing ("missing field \"x\"") or of the wrong type ("field \"x\" must be a string").
 * Returned objects, arrays and strings are borrowed from obj. get_string refuses a string that
 * holds U+0000 (C would see it cut short); get_int refuses reals. */
fws_err fws_json_get_string(const json_t *obj, const char *key, const char **out,
                            fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_json_get_int(const json_t *obj, const char *key, int64_t *out,
                         fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_json_get_object(const json_t *obj, const char *key, json_t **out,
                            fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_json_get_array(const json_t *obj, const char *key, json_t **out,
                           fws_errbuf *eb) FWS_MUST_CHECK;
/* FWS_ERR_SCHEMA naming the first key of obj not in the NULL-terminated list allowed. */
fws_err fws_json_only_keys(const json_t *obj, const char *const *allowed,
                           fws_errbuf *eb) FWS_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
