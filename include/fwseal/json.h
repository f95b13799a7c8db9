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

typedef struct fws_json_limits {
    size_t max_bytes;   /* whole document */
    unsigned max_depth; /* nesting of arrays and objects */
    size_t max_string;  /* bytes in one string (keys included), after unescaping */
    size_t max_members; /* elements in one array or members in one object */
} fws_json_limits;

/* Defaults: 16 MiB, depth 32, 1 MiB strings, 1,000,000 members. */
extern const fws_json_limits fws_json_default_limits;

enum {
    FWS_JSON_CANONICAL = 1u << 0, /* reject input that is not byte-for-byte canonical */
    FWS_JSON_NO_FLOATS = 1u << 1, /* reject numbers with fractions or exponents */
};

/* Parses unverified bytes. On success *out is a new reference. Errors: FWS_ERR_TOO_BIG (a cap),
 * FWS_ERR_FORMAT (syntax, invalid UTF-8, duplicate key; eb names the byte offset),
 * FWS_ERR_NOT_CANONICAL (valid JSON but not canonical, with FWS_JSON_CANONICAL). */
fws_err fws_json_parse(const uint8_t *unverified, size_t len, unsigned flags,
                       const fws_json_limits *limits, json_t **out, fws_errbuf *eb) FWS_MUST_CHECK;

/* Encodes a value canonically into a malloc'd buffer (NUL-terminated, len excludes the NUL).
 * FWS_ERR_FORMAT for a real number or a string that is not valid UTF-8. */
fws_err fws_json_canonical(const json_t *value, char **out, size_t *len) FWS_MUST_CHECK;

/* Pretty, deterministic output for people (sorted keys, 2-space indent, trailing newline). */
fws_err fws_json_pretty(const json_t *value, char **out, size_t *len) FWS_MUST_CHECK;

/* 1 if the bytes are valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int fws_utf8_valid(const uint8_t *s, size_t len);

/* Typed accessors that fill eb with the path when a field is missing or of the wrong type. */
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
