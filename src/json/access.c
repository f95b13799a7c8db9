/* Typed field accessors with precise messages for schema errors. */
#include <string.h>
#include "internal.h"

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
    default:
        return "null";
    }
}

static fws_err field(const json_t *obj, const char *key, json_t **v, fws_errbuf *eb)
{
    if (key == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no field name given");
    if (obj == NULL || !json_is_object(obj))
        return fws_errf(eb, FWS_ERR_SCHEMA, "expected an object holding field \"%s\", found %s",
                        key, obj == NULL ? "nothing" : type_name(obj));
    *v = json_object_get(obj, key);
    if (*v == NULL)
        return fws_errf(eb, FWS_ERR_SCHEMA, "missing field \"%s\"", key);
    return FWS_OK;
}

static fws_err wrong_type(const char *key, const char *want, const json_t *v, fws_errbuf *eb)
{
    return fws_errf(eb, FWS_ERR_SCHEMA, "field \"%s\" must be %s, not %s", key, want, type_name(v));
}

fws_err fws_json_get_string(const json_t *obj, const char *key, const char **out, fws_errbuf *eb)
{
    json_t *v;
    fws_err err = field(obj, key, &v, eb);
    if (err != FWS_OK)
        return err;
    if (!json_is_string(v))
        return wrong_type(key, "a string", v, eb);
    if (memchr(json_string_value(v), '\0', json_string_length(v)) != NULL)
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"%s\" holds a NUL character", key);
    *out = json_string_value(v);
    return FWS_OK;
}

fws_err fws_json_get_int(const json_t *obj, const char *key, int64_t *out, fws_errbuf *eb)
{
    json_t *v;
    fws_err err = field(obj, key, &v, eb);
    if (err != FWS_OK)
        return err;
    if (!json_is_integer(v))
        return wrong_type(key, "an integer", v, eb);
    *out = (int64_t)json_integer_value(v);
    return FWS_OK;
}

fws_err fws_json_get_object(const json_t *obj, const char *key, json_t **out, fws_errbuf *eb)
{
    json_t *v;
    fws_err err = field(obj, key, &v, eb);
    if (err != FWS_OK)
        return err;
    if (!json_is_object(v))
        return wrong_type(key, "an object", v, eb);
    *out = v;
    return FWS_OK;
}

fws_err fws_json_get_array(const json_t *obj, const char *key, json_t **out, fws_errbuf *eb)
{
    json_t *v;
    fws_err err = field(obj, key, &v, eb);
    if (err != FWS_OK)
        return err;
    if (!json_is_array(v))
        return wrong_type(key, "an array", v, eb);
    *out = v;
    return FWS_OK;
}

static int allowed_key(const char *key, size_t len, const char *const *allowed)
{
    for (; *allowed != NULL; allowed++) {
        if (strlen(*allowed) == len && memcmp(*allowed, key, len) == 0)
            return 1;
    }
    return 0;
}

fws_err fws_json_only_keys(const json_t *obj, const char *const *allowed, fws_errbuf *eb)
{
    if (allowed == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no list of allowed fields given");
    if (obj == NULL || !json_is_object(obj))
        return fws_errf(eb, FWS_ERR_SCHEMA, "expected an object, found %s",
                        obj == NULL ? "nothing" : type_name(obj));
    for (void *it = json_object_iter((json_t *)obj); it != NULL;
         it = json_object_iter_next((json_t *)obj, it)) {
        const char *key = json_object_iter_key(it);
        size_t len = json_object_iter_key_len(it);
        if (!allowed_key(key, len, allowed)) {
            char shown[80];
            fwsj_msg_text((const uint8_t *)key, len, shown, sizeof(shown));
            return fws_errf(eb, FWS_ERR_SCHEMA, "unknown field \"%s\"", shown);
        }
    }
    return FWS_OK;
}
