/* log.json: what a log directory is (origin, vkey, signing key, entry kind). */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "fwseal/json.h"
#include "writer_internal.h"

#define CONFIG_FORMAT "fwseal-log/1"

fws_err wr_config_format(const wr_config *c, char **out, size_t *len, fws_errbuf *eb)
{
    json_t *o = json_object();
    char *text = NULL;
    size_t n = 0;
    fws_err err = FWS_OK;

    if (o == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    if (json_object_set_new(o, "format", json_string(CONFIG_FORMAT)) != 0 ||
        json_object_set_new(o, "origin", json_string(c->origin)) != 0 ||
        json_object_set_new(o, "vkey", json_string(c->vkey)) != 0 ||
        json_object_set_new(o, "key", json_string(c->key_ref)) != 0 ||
        json_object_set_new(o, "anyEntries", json_boolean(c->any_entries)) != 0 ||
        (!c->any_entries &&
         json_object_set_new(o, "recordSchema", json_integer(FWS_RECORD_SCHEMA)) != 0))
        err = fws_errf(eb, FWS_ERR_FORMAT, "log.json: a field is not valid UTF-8");
    if (err == FWS_OK)
        err = fws_json_pretty(o, &text, &n);
    json_decref(o);
    if (err != FWS_OK)
        return fws_errf(eb, err, "log.json: cannot encode");
    *out = text;
    *len = n;
    return FWS_OK;
}

static fws_err copy_field(const json_t *o, const char *key, char *dst, size_t cap, fws_errbuf *eb)
{
    const char *s = NULL;
    fws_err err = fws_json_get_string(o, key, &s, eb);
    if (err != FWS_OK)
        return err;
    if (strlen(s) >= cap)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "log.json: field \"%s\" is too long", key);
    memcpy(dst, s, strlen(s) + 1);
    return FWS_OK;
}

fws_err wr_config_parse(const char *text, size_t len, wr_config *c, fws_errbuf *eb)
{
    static const char *const keys[] = {"format",     "origin",       "vkey", "key",
                                       "anyEntries", "recordSchema", NULL};
    json_t *o = NULL, *any, *schema;
    const char *format = NULL;
    wr_config tmp;
    fws_err err = fws_json_parse((const uint8_t *)text, len, FWS_JSON_NO_FLOATS, NULL, &o, eb);
    if (err != FWS_OK)
        return fws_errf(eb, err, "log.json: not valid JSON");
    memset(&tmp, 0, sizeof(tmp));
    err = fws_json_only_keys(o, keys, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(o, "format", &format, eb);
    if (err == FWS_OK && strcmp(format, CONFIG_FORMAT) != 0)
        err = fws_errf(eb, FWS_ERR_UNSUPPORTED, "log.json: format \"%.40s\" is not %s", format,
                       CONFIG_FORMAT);
    if (err == FWS_OK)
        err = copy_field(o, "origin", tmp.origin, sizeof(tmp.origin), eb);
    if (err == FWS_OK)
        err = copy_field(o, "vkey", tmp.vkey, sizeof(tmp.vkey), eb);
    if (err == FWS_OK)
        err = copy_field(o, "key", tmp.key_ref, sizeof(tmp.key_ref), eb);
    any = json_object_get(o, "anyEntries");
    schema = json_object_get(o, "recordSchema");
    if (err == FWS_OK && !json_is_boolean(any))
        err = fws_errf(eb, FWS_ERR_SCHEMA, "log.json: field \"anyEntries\" must be a boolean");
    if (err == FWS_OK && !json_is_true(any) &&
        (!json_is_integer(schema) || json_integer_value(schema) != FWS_RECORD_SCHEMA))
        err = fws_errf(eb, FWS_ERR_UNSUPPORTED,
                       "log.json: record schema must be %d for a record log", FWS_RECORD_SCHEMA);
    tmp.any_entries = json_is_true(any);
    json_decref(o);
    if (err == FWS_OK)
        *c = tmp;
    return err;
}
