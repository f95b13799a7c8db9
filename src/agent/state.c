/* The persisted state: state_dir/state.json, canonical JSON, replaced atomically. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "agent/internal.h"

#define STATE_FORMAT "fwseal-agent-state/v1"

fws_err fws_agent_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return FWS_ERR_TOO_BIG;
    memcpy(dst, src, n + 1);
    return FWS_OK;
}

static json_t *hex_json(const uint8_t *b, size_t n)
{
    char hex[2 * FWS_SHA256_LEN + 1];
    fws_hex_encode(b, n, hex);
    return json_string(hex);
}

static json_t *target_json(const fws_agent_target *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "product", json_string(t->product));
    json_object_set_new(o, "version", json_string(t->version));
    json_object_set_new(o, "path", json_string(t->path));
    json_object_set_new(o, "url", json_string(t->url));
    json_object_set_new(o, "length", json_integer((json_int_t)t->length));
    json_object_set_new(o, "sha256", hex_json(t->sha256, FWS_SHA256_LEN));
    json_object_set_new(o, "securityCounter", json_integer((json_int_t)t->security_counter));
    if (t->wrapped_key[0] != '\0')
        json_object_set_new(o, "wrappedKey", json_string(t->wrapped_key));
    return o;
}

fws_err fws_agent_status_json(const fws_agent_status *st, json_t **out)
{
    json_t *o = json_object();
    if (o == NULL)
        return FWS_ERR_NOMEM;
    json_object_set_new(o, "format", json_string(STATE_FORMAT));
    json_object_set_new(o, "state", json_string(fws_agent_state_name(st->state)));
    json_object_set_new(o, "product", json_string(st->product));
    json_object_set_new(o, "installedVersion", json_string(st->installed_version));
    json_object_set_new(o, "installedSha256", hex_json(st->installed_sha256, FWS_SHA256_LEN));
    json_object_set_new(o, "activeSlot", json_string(fws_slot_name(st->active_slot)));
    if (st->target_slot >= 0)
        json_object_set_new(o, "targetSlot", json_string(fws_slot_name(st->target_slot)));
    if (st->state != FWS_AGENT_IDLE) {
        json_object_set_new(o, "target", target_json(&st->target));
        json_object_set_new(o, "fromVersion", json_string(st->from_version));
        json_object_set_new(o, "written", json_integer((json_int_t)st->written));
        json_object_set_new(o, "slotSha256", hex_json(st->slot_sha256, FWS_SHA256_LEN));
    }
    json_object_set_new(o, "reason", json_string(st->reason));
    json_object_set_new(o, "assignmentSeq", json_integer((json_int_t)st->assignment_seq));
    json_object_set_new(o, "reportSeq", json_integer((json_int_t)st->report_seq));
    json_object_set_new(o, "securityCounter", json_integer((json_int_t)st->security_counter));
    json_object_set_new(o, "updatedAt", json_integer(st->updated_at));
    json_object_set_new(o, "failedSha256", hex_json(st->failed_sha256, FWS_SHA256_LEN));
    *out = o;
    return FWS_OK;
}

static fws_err get_str(const json_t *o, const char *key, char *dst, size_t cap, fws_errbuf *eb)
{
    const char *s = NULL;
    fws_err err = fws_json_get_string(o, key, &s, eb);
    if (err == FWS_OK && fws_agent_copy(dst, cap, s) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "field \"%s\" is too long", key);
    return err;
}

static fws_err get_u64(const json_t *o, const char *key, uint64_t *out, fws_errbuf *eb)
{
    int64_t v = 0;
    fws_err err = fws_json_get_int(o, key, &v, eb);
    if (err == FWS_OK && v < 0)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "field \"%s\" is negative", key);
    if (err == FWS_OK)
        *out = (uint64_t)v;
    return err;
}

static fws_err get_hash(const json_t *o, const char *key, uint8_t out[FWS_SHA256_LEN],
                        fws_errbuf *eb)
{
    const char *s = NULL;
    size_t n = 0;
    fws_err err = fws_json_get_string(o, key, &s, eb);
    if (err == FWS_OK && (strlen(s) != 2 * FWS_SHA256_LEN ||
                          fws_hex_decode(s, strlen(s), out, FWS_SHA256_LEN, &n) != FWS_OK))
        err = fws_errf(eb, FWS_ERR_SCHEMA, "field \"%s\" must be 64 hex digits", key);
    return err;
}

static fws_err get_slot(const json_t *o, const char *key, int *slot, fws_errbuf *eb)
{
    const char *s = NULL;
    fws_err err = fws_json_get_string(o, key, &s, eb);
    if (err == FWS_OK && fws_slot_parse(s, slot) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "field \"%s\" must be A or B", key);
    return err;
}

static fws_err target_from_json(const json_t *o, fws_agent_target *t, fws_errbuf *eb)
{
    fws_err err = get_str(o, "product", t->product, sizeof(t->product), eb);
    if (err == FWS_OK)
        err = get_str(o, "version", t->version, sizeof(t->version), eb);
    if (err == FWS_OK)
        err = get_str(o, "path", t->path, sizeof(t->path), eb);
    if (err == FWS_OK)
        err = get_str(o, "url", t->url, sizeof(t->url), eb);
    if (err == FWS_OK)
        err = get_u64(o, "length", &t->length, eb);
    if (err == FWS_OK)
        err = get_hash(o, "sha256", t->sha256, eb);
    if (err == FWS_OK)
        err = get_u64(o, "securityCounter", &t->security_counter, eb);
    if (err == FWS_OK && json_object_get(o, "wrappedKey") != NULL)
        err = get_str(o, "wrappedKey", t->wrapped_key, sizeof(t->wrapped_key), eb);
    return err;
}

static fws_err status_fields(const json_t *doc, fws_agent_status *st, fws_errbuf *eb)
{
    char name[32];
    fws_err err = get_str(doc, "state", name, sizeof(name), eb);
    if (err == FWS_OK && fws_agent_state_parse(name, &st->state) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "unknown state \"%s\"", name);
    if (err == FWS_OK)
        err = get_str(doc, "product", st->product, sizeof(st->product), eb);
    if (err == FWS_OK)
        err = get_str(doc, "installedVersion", st->installed_version, sizeof(st->installed_version),
                      eb);
    if (err == FWS_OK)
        err = get_hash(doc, "installedSha256", st->installed_sha256, eb);
    if (err == FWS_OK)
        err = get_slot(doc, "activeSlot", &st->active_slot, eb);
    st->target_slot = -1;
    if (err == FWS_OK && json_object_get(doc, "targetSlot") != NULL)
        err = get_slot(doc, "targetSlot", &st->target_slot, eb);
    if (err == FWS_OK && st->state != FWS_AGENT_IDLE) {
        json_t *t = NULL;
        err = fws_json_get_object(doc, "target", &t, eb);
        if (err == FWS_OK)
            err = target_from_json(t, &st->target, eb);
        if (err == FWS_OK)
            err = get_str(doc, "fromVersion", st->from_version, sizeof(st->from_version), eb);
        if (err == FWS_OK)
            err = get_u64(doc, "written", &st->written, eb);
        if (err == FWS_OK)
            err = get_hash(doc, "slotSha256", st->slot_sha256, eb);
        if (err == FWS_OK && st->target_slot < 0)
            err = fws_errf(eb, FWS_ERR_SCHEMA, "state %s needs a target slot",
                           fws_agent_state_name(st->state));
    }
    return err;
}

fws_err fws_agent_status_from_json(const json_t *doc, fws_agent_status *out, fws_errbuf *eb)
{
    fws_agent_status st;
    memset(&st, 0, sizeof(st));
    const char *format = NULL;
    fws_err err = fws_json_get_string(doc, "format", &format, eb);
    if (err == FWS_OK && strcmp(format, STATE_FORMAT) != 0)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "unknown state format \"%s\"", format);
    if (err == FWS_OK)
        err = status_fields(doc, &st, eb);
    if (err == FWS_OK)
        err = get_str(doc, "reason", st.reason, sizeof(st.reason), eb);
    if (err == FWS_OK)
        err = get_u64(doc, "assignmentSeq", &st.assignment_seq, eb);
    if (err == FWS_OK)
        err = get_u64(doc, "reportSeq", &st.report_seq, eb);
    if (err == FWS_OK)
        err = get_u64(doc, "securityCounter", &st.security_counter, eb);
    if (err == FWS_OK)
        err = fws_json_get_int(doc, "updatedAt", &st.updated_at, eb);
    if (err == FWS_OK)
        err = get_hash(doc, "failedSha256", st.failed_sha256, eb);
    if (err == FWS_OK)
        *out = st;
    return err;
}

fws_err fws_agent_status_save(const fws_agent_io *io, const char *state_dir,
                              const fws_agent_status *st, fws_errbuf *eb)
{
    char path[PATH_MAX];
    json_t *doc = NULL;
    char *text = NULL;
    size_t len = 0;
    if (snprintf(path, sizeof(path), "%s/state.json", state_dir) >= (int)sizeof(path))
        return fws_errf(eb, FWS_ERR_TOO_BIG, "state directory path too long");
    fws_err err = fws_agent_status_json(st, &doc);
    if (err == FWS_OK)
        err = fws_json_canonical(doc, &text, &len);
    if (err == FWS_OK)
        err = fws_agent_write_atomic(io, path, text, len, eb);
    json_decref(doc);
    free(text);
    return err;
}

fws_err fws_agent_status_read(const char *state_dir, fws_agent_status *out, fws_errbuf *eb)
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *doc = NULL;
    if (snprintf(path, sizeof(path), "%s/state.json", state_dir) >= (int)sizeof(path))
        return fws_errf(eb, FWS_ERR_TOO_BIG, "state directory path too long");
    fws_err err = fws_file_read(path, FWS_AGENT_STATE_MAX, &data, &len, NULL);
    if (err == FWS_ERR_NOT_FOUND)
        return err;
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: unreadable", path);
    if (err == FWS_OK)
        err = fws_json_parse(data, len, FWS_JSON_NO_FLOATS, NULL, &doc, eb);
    if (err == FWS_OK)
        err = fws_agent_status_from_json(doc, out, eb);
    if (err != FWS_OK && err != FWS_ERR_NOT_FOUND)
        err = fws_errf(eb, err, "%s", path);
    json_decref(doc);
    free(data);
    return err;
}
