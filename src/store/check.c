/* Validation of everything a caller hands the store: strings against their caps and character
 * sets, times, integers that must fit a signed 64-bit column, pages, rollout selectors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/crypto.h"
#include "fwseal/json.h"
#include "store/internal.h"

static int id_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
}

static int version_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '+' || c == '_' || c == '~' || c == '-';
}

static int target_char(unsigned char c)
{
    return version_char(c) || c == '/';
}

/* Target paths: no empty, "." or ".." segment, no leading or trailing '/'. */
static fws_err check_segments(const char *what, const char *s, size_t len, fws_errbuf *eb)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '/')
            continue;
        size_t n = i - start;
        if (n == 0 || (n == 1 && s[start] == '.') ||
            (n == 2 && s[start] == '.' && s[start + 1] == '.'))
            return fws_errf(eb, FWS_ERR_ARG, "%s: empty, \".\" or \"..\" path segment at byte %zu",
                            what, start);
        start = i + 1;
    }
    return FWS_OK;
}

static fws_err check_text(const char *what, const char *s, size_t len, fws_errbuf *eb)
{
    if (!fws_utf8_valid((const uint8_t *)s, len))
        return fws_errf(eb, FWS_ERR_ARG, "%s: not valid UTF-8", what);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return fws_errf(eb, FWS_ERR_ARG, "%s: control character 0x%02x at byte %zu", what, c,
                            i);
    }
    return FWS_OK;
}

fws_err chk_str(const char *what, const char *s, size_t max, int kind, fws_errbuf *eb)
{
    if (s == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "%s: missing", what);
    size_t len = strnlen(s, max + 1);
    if (len > max)
        return fws_errf(eb, FWS_ERR_ARG, "%s: too long (at most %zu bytes)", what, max);
    if (len == 0 && kind != CHK_NAME && kind != CHK_TEXT)
        return fws_errf(eb, FWS_ERR_ARG, "%s: empty", what);
    if (kind == CHK_TEXT || kind == CHK_LABEL)
        return check_text(what, s, len, eb);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = kind == CHK_VERSION  ? version_char(c)
                 : kind == CHK_TARGET ? target_char(c)
                                      : id_char(c);
        if (!ok)
            return fws_errf(eb, FWS_ERR_ARG, "%s: character 0x%02x not allowed at byte %zu", what,
                            c, i);
    }
    return kind == CHK_TARGET ? check_segments(what, s, len, eb) : FWS_OK;
}

fws_err chk_field(const char *what, const char *field, size_t cap, int kind, fws_errbuf *eb)
{
    if (memchr(field, '\0', cap) == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "%s: too long (at most %zu bytes)", what, cap - 1);
    return chk_str(what, field, cap - 1, kind, eb);
}

fws_err chk_time(const char *what, int64_t t, fws_errbuf *eb)
{
    if (t < 0)
        return fws_errf(eb, FWS_ERR_ARG, "%s: negative time %lld", what, (long long)t);
    return FWS_OK;
}

fws_err chk_u63(const char *what, uint64_t v, fws_errbuf *eb)
{
    if (v > (uint64_t)INT64_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "%s: %llu is above 2^63-1", what, (unsigned long long)v);
    return FWS_OK;
}

fws_err chk_limit(size_t limit, fws_errbuf *eb)
{
    if (limit == 0 || limit > FWS_STORE_LIST_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "list limit %zu is not within 1..%d", limit,
                        FWS_STORE_LIST_MAX);
    return FWS_OK;
}

fws_err chk_page(const fws_store_page *p, fws_errbuf *eb)
{
    if (p == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "missing page");
    if (p->after < 0)
        return fws_errf(eb, FWS_ERR_ARG, "page: negative start ID");
    return chk_limit(p->limit, eb);
}

fws_err chk_leader_name(const char *name, fws_errbuf *eb)
{
    if (name == NULL || name[0] == '\0')
        return fws_errf(eb, FWS_ERR_ARG, "leader name: empty");
    size_t len = strnlen(name, FWS_STORE_LEADER_NAME_MAX + 1);
    if (len > FWS_STORE_LEADER_NAME_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "leader name: too long (at most %d bytes)",
                        FWS_STORE_LEADER_NAME_MAX);
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return fws_errf(eb, FWS_ERR_ARG, "leader name: character 0x%02x not allowed",
                            (unsigned char)c);
    }
    return FWS_OK;
}

/* ---- rollout selectors ------------------------------------------------------------------- */

static fws_err check_list(const json_t *obj, const char *key, int kind, fws_errbuf *eb)
{
    json_t *arr = json_object_get(obj, key);
    if (arr == NULL)
        return FWS_OK;
    if (!json_is_array(arr))
        return fws_errf(eb, FWS_ERR_SCHEMA, "selector: \"%s\" must be an array", key);
    if (json_array_size(arr) > FWS_STORE_SELECTOR_LIST_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "selector: \"%s\" has more than %d entries", key,
                        FWS_STORE_SELECTOR_LIST_MAX);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        char what[48];
        snprintf(what, sizeof(what), "selector: %s[%zu]", key, i);
        if (!json_is_string(v))
            return fws_errf(eb, FWS_ERR_SCHEMA, "%s must be a string", what);
        if (strlen(json_string_value(v)) != json_string_length(v) ||
            chk_str(what, json_string_value(v),
                    kind == CHK_ID ? FWS_STORE_ID_MAX : FWS_STORE_NAME_MAX, kind, eb) != FWS_OK)
            return fws_errf(eb, FWS_ERR_SCHEMA, "%s is not a valid name", what);
    }
    return FWS_OK;
}

fws_err chk_selector(const char *selector, char **canonical, size_t *len, fws_errbuf *eb)
{
    static const char *const keys[] = {"models", "regions", "groups", "devices", NULL};
    static const fws_json_limits limits = {FWS_STORE_SELECTOR_MAX, 4, FWS_STORE_ID_MAX * 4,
                                           FWS_STORE_SELECTOR_LIST_MAX};
    json_t *doc = NULL;
    fws_err err;
    if (selector == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "selector: missing");
    size_t n = strnlen(selector, FWS_STORE_SELECTOR_MAX + 1);
    if (n > FWS_STORE_SELECTOR_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "selector: longer than %u bytes",
                        FWS_STORE_SELECTOR_MAX);
    err = fws_json_parse((const uint8_t *)selector, n, FWS_JSON_NO_FLOATS, &limits, &doc, eb);
    if (err != FWS_OK)
        goto out;
    if (!json_is_object(doc)) {
        err = fws_errf(eb, FWS_ERR_SCHEMA, "selector: must be a JSON object");
        goto out;
    }
    if ((err = fws_json_only_keys(doc, keys, eb)) != FWS_OK ||
        (err = check_list(doc, "models", CHK_NAME, eb)) != FWS_OK ||
        (err = check_list(doc, "regions", CHK_NAME, eb)) != FWS_OK ||
        (err = check_list(doc, "groups", CHK_NAME, eb)) != FWS_OK ||
        (err = check_list(doc, "devices", CHK_ID, eb)) != FWS_OK)
        goto out;
    err = fws_json_canonical(doc, canonical, len);
    if (err == FWS_OK && *len > FWS_STORE_SELECTOR_MAX) {
        free(*canonical);
        *canonical = NULL;
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "selector: canonical form too long");
    }
out:
    json_decref(doc);
    return err;
}

/* ---- small helpers ----------------------------------------------------------------------- */

void hex32(const uint8_t d[32], char out[65])
{
    fws_hex_encode(d, 32, out);
}

int64_t store_lock_key(const char *kind, const char *ns, const char *name)
{
    uint8_t d[FWS_SHA256_LEN];
    fws_sha256_ctx c;
    fws_sha256_init(&c);
    fws_sha256_update(&c, "fwseal lock\n", 12);
    fws_sha256_update(&c, kind, strlen(kind) + 1);
    fws_sha256_update(&c, ns, strlen(ns) + 1);
    fws_sha256_update(&c, name, strlen(name));
    fws_sha256_final(&c, d);
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k = (k << 8) | d[i];
    int64_t key;
    memcpy(&key, &k, sizeof(key));
    return key;
}
