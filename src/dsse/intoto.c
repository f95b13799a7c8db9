/* in-toto Statement v1: building one for a file, and finding a file's subject in one. */
#include <stdlib.h>
#include <string.h>
#include "fwseal/dsse.h"
#include "fwseal/json.h"

fws_err fws_intoto_statement(const char *subject_name, const uint8_t sha256[FWS_SHA256_LEN],
                             const char *predicate_type, json_t *predicate, char **out,
                             size_t *out_len, fws_errbuf *eb)
{
    char hex[2 * FWS_SHA256_LEN + 1];
    fws_hex_encode(sha256, FWS_SHA256_LEN, hex);
    json_t *st = json_pack("{s:s, s:[{s:s, s:{s:s}}], s:s, s:o}", "_type", FWS_INTOTO_STATEMENT_V1,
                           "subject", "name", subject_name, "digest", "sha256", hex,
                           "predicateType", predicate_type, "predicate", predicate);
    if (st == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "statement: subject name must be valid UTF-8");
    fws_err err = fws_json_canonical(st, out, out_len);
    json_decref(st);
    if (err != FWS_OK)
        return fws_errf(eb, err, "statement: %s", fws_strerror(err));
    return FWS_OK;
}

/* 1 when subject s carries sha256 == digest (hex, compared in constant time). */
static int subject_matches(const json_t *s, const char *want_hex)
{
    json_t *digest = json_object_get(s, "digest");
    json_t *h = json_object_get(digest, "sha256");
    if (!json_is_string(h) || json_string_length(h) != 2 * FWS_SHA256_LEN)
        return 0;
    return fws_ct_eq(json_string_value(h), want_hex, 2 * FWS_SHA256_LEN);
}

static fws_err check_statement(const json_t *st, json_t **subjects, fws_errbuf *eb)
{
    const char *type = NULL, *ptype = NULL;
    fws_err err;
    if (!json_is_object(st))
        return fws_errf(eb, FWS_ERR_SCHEMA, "statement: not a JSON object");
    if ((err = fws_json_get_string(st, "_type", &type, eb)) != FWS_OK ||
        (err = fws_json_get_string(st, "predicateType", &ptype, eb)) != FWS_OK ||
        (err = fws_json_get_array(st, "subject", subjects, eb)) != FWS_OK)
        return fws_errf(eb, FWS_ERR_SCHEMA, "statement: bad fields");
    if (strcmp(type, FWS_INTOTO_STATEMENT_V1) != 0)
        return fws_errf(eb, FWS_ERR_SCHEMA, "statement: _type is \"%s\", expected \"%s\"", type,
                        FWS_INTOTO_STATEMENT_V1);
    size_t n = json_array_size(*subjects);
    if (n == 0 || n > FWS_INTOTO_MAX_SUBJECTS)
        return fws_errf(eb, FWS_ERR_SCHEMA, "statement: needs 1 to %d subjects, has %zu",
                        FWS_INTOTO_MAX_SUBJECTS, n);
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(*subjects, i);
        if (!json_is_object(s) || !json_is_object(json_object_get(s, "digest")))
            return fws_errf(eb, FWS_ERR_SCHEMA, "statement: subject[%zu] has no digest object", i);
    }
    return FWS_OK;
}

fws_err fws_intoto_match_subject(const uint8_t *payload, size_t len,
                                 const uint8_t sha256[FWS_SHA256_LEN], char *name, size_t cap,
                                 fws_errbuf *eb)
{
    fws_json_limits lim = fws_json_default_limits;
    json_t *st = NULL, *subjects = NULL;
    char hex[2 * FWS_SHA256_LEN + 1];
    fws_err err;

    lim.max_bytes = FWS_DSSE_MAX_PAYLOAD;
    err = fws_json_parse(payload, len, 0, &lim, &st, eb);
    if (err != FWS_OK)
        return fws_errf(eb, err, "statement: %s", fws_strerror(err));
    err = check_statement(st, &subjects, eb);
    if (err != FWS_OK)
        goto out;
    fws_hex_encode(sha256, FWS_SHA256_LEN, hex);
    const json_t *found = NULL;
    for (size_t i = 0; i < json_array_size(subjects) && found == NULL; i++) {
        json_t *s = json_array_get(subjects, i);
        if (subject_matches(s, hex))
            found = s;
    }
    if (found == NULL) {
        err = fws_errf(eb, FWS_ERR_DIGEST, "the file's sha256 %s is not a subject of the statement",
                       hex);
        goto out;
    }
    if (name != NULL && cap > 0) {
        const char *n = json_string_value(json_object_get(found, "name"));
        size_t l = n ? strlen(n) : 0;
        l = l < cap - 1 ? l : cap - 1;
        memcpy(name, n ? n : "", l);
        name[l] = '\0';
    }
out:
    json_decref(st);
    return err;
}
