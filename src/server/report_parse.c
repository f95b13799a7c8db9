/* Device reports: the payload the agent signs (docs/AGENT.md, "Reports"), checked field by
 * field, and the ledger record each report becomes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/dsse.h"
#include "fwseal/json.h"
#include "fwseal/ledger.h"
#include "fwseal/tuf.h"
#include "fwseal/fleet.h"

static fws_err copy_str(const json_t *o, const char *key, int required, char *out, size_t cap,
                        fws_errbuf *eb)
{
    const char *v = NULL;
    out[0] = '\0';
    if (!required && json_object_get(o, key) == NULL)
        return FWS_OK;
    fws_err err = fws_json_get_string(o, key, &v, eb);
    if (err != FWS_OK)
        return err;
    if (strlen(v) >= cap)
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"%s\" is longer than %zu bytes", key, cap - 1);
    memcpy(out, v, strlen(v) + 1);
    return FWS_OK;
}

static fws_err kind_of(const char *type, fws_store_report_kind *out, fws_errbuf *eb)
{
    if (strcmp(type, "attestation") != 0 && fws_store_report_kind_parse(type, out, NULL) == FWS_OK)
        return FWS_OK;
    return fws_errf(eb, FWS_ERR_SCHEMA,
                    "field \"type\" must be install, rollback or verification-failure, not "
                    "\"%.64s\"",
                    type);
}

static fws_err image_of(const json_t *o, fws_fleet_report *r, fws_errbuf *eb)
{
    static const char *const allowed[] = {"sha256", "length", NULL};
    json_t *img = NULL;
    const char *hex = NULL;
    int64_t length = 0;
    size_t n = 0;
    fws_err err = fws_json_get_object(o, "image", &img, eb);
    if (err == FWS_OK)
        err = fws_json_only_keys(img, allowed, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(img, "sha256", &hex, eb);
    if (err == FWS_OK &&
        (strlen(hex) != 64 || fws_hex_decode(hex, 64, r->sha256, 32, &n) != FWS_OK))
        err = fws_errf(eb, FWS_ERR_SCHEMA, "field \"image.sha256\" must be 64 hex digits");
    if (err == FWS_OK)
        err = fws_json_get_int(img, "length", &length, eb);
    if (err == FWS_OK && length < 0)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "field \"image.length\" must not be negative");
    if (err == FWS_OK)
        r->length = (uint64_t)length;
    return err;
}

static fws_err header(const json_t *o, fws_fleet_report *r, fws_errbuf *eb)
{
    const char *type = NULL, *result = NULL;
    int64_t schema = 0, seq = 0, t = 0;
    fws_err err = fws_json_get_string(o, "type", &type, eb);
    if (err == FWS_OK)
        err = kind_of(type, &r->kind, eb);
    if (err == FWS_OK)
        err = fws_json_get_int(o, "schema", &schema, eb);
    if (err == FWS_OK && schema != 1)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "field \"schema\" must be 1");
    if (err == FWS_OK)
        err = copy_str(o, "id", 1, r->id, sizeof(r->id), eb);
    if (err == FWS_OK)
        err = fws_json_get_int(o, "seq", &seq, eb);
    if (err == FWS_OK && seq < 1)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "field \"seq\" must be a positive integer");
    if (err == FWS_OK)
        err = fws_json_get_string(o, "result", &result, eb);
    if (err == FWS_OK && strcmp(result, "success") != 0 && strcmp(result, "failure") != 0)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "field \"result\" must be success or failure");
    if (err == FWS_OK)
        err = copy_str(o, "time", 1, r->time, sizeof(r->time), eb);
    if (err == FWS_OK && fws_tuf_time_parse(r->time, &t) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_SCHEMA,
                       "field \"time\" must be a UTC time like "
                       "2027-01-15T08:00:00Z");
    if (err == FWS_OK) {
        r->seq = (uint64_t)seq;
        r->success = strcmp(result, "success") == 0;
    }
    return err;
}

fws_err fws_fleet_report_parse(const uint8_t *unverified, size_t len, fws_fleet_report *out,
                               fws_errbuf *eb)
{
    static const char *const allowed[] = {
        "type",   "schema", "id",    "seq",    "device", "product", "fromVersion", "toVersion",
        "target", "url",    "image", "result", "reason", "slot",    "time",        NULL};
    fws_fleet_report r;
    json_t *o = NULL;
    char url[2048], slot[8];
    memset(&r, 0, sizeof(r));
    fws_err err = fws_json_parse(unverified, len, FWS_JSON_NO_FLOATS, NULL, &o, eb);
    if (err == FWS_OK && !json_is_object(o))
        err = fws_errf(eb, FWS_ERR_SCHEMA, "a report payload must be a JSON object");
    if (err == FWS_OK)
        err = fws_json_only_keys(o, allowed, eb);
    if (err == FWS_OK)
        err = header(o, &r, eb);
    if (err == FWS_OK)
        err = copy_str(o, "device", 1, r.device, sizeof(r.device), eb);
    if (err == FWS_OK)
        err = copy_str(o, "product", 1, r.product, sizeof(r.product), eb);
    if (err == FWS_OK)
        err = copy_str(o, "fromVersion", 1, r.from_version, sizeof(r.from_version), eb);
    if (err == FWS_OK)
        err = copy_str(o, "toVersion", 1, r.to_version, sizeof(r.to_version), eb);
    if (err == FWS_OK)
        err = copy_str(o, "target", 1, r.target, sizeof(r.target), eb);
    if (err == FWS_OK)
        err = copy_str(o, "url", 0, url, sizeof(url), eb);
    if (err == FWS_OK)
        err = copy_str(o, "reason", 0, r.reason, sizeof(r.reason), eb);
    if (err == FWS_OK)
        err = copy_str(o, "slot", 0, slot, sizeof(slot), eb);
    if (err == FWS_OK)
        err = image_of(o, &r, eb);
    json_decref(o);
    if (err != FWS_OK)
        return fws_errf(eb, err, "report payload");
    *out = r;
    return FWS_OK;
}

static json_t *record_json(const fws_fleet_report *r)
{
    char hex[2 * FWS_SHA256_LEN + 1];
    fws_hex_encode(r->sha256, FWS_SHA256_LEN, hex);
    if (r->kind == FWS_STORE_REPORT_ROLLBACK)
        return json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s}", "type", "rollback", "schema",
                         FWS_RECORD_SCHEMA, "time", r->time, "device", r->device, "product",
                         r->product, "fromVersion", r->from_version, "toVersion", r->to_version,
                         "reason", r->reason[0] ? r->reason : "no reason given");
    int ok = r->kind == FWS_STORE_REPORT_INSTALL && r->success;
    return json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:{s:s},s:s}", "type", "install", "schema",
                     FWS_RECORD_SCHEMA, "time", r->time, "device", r->device, "product", r->product,
                     "fromVersion", r->from_version, "toVersion", r->to_version, "image", "sha256",
                     hex, "result", ok ? "success" : "failure");
}

fws_err fws_fleet_report_record(const fws_fleet_report *r, char **record, size_t *len,
                                fws_errbuf *eb)
{
    char *text = NULL;
    size_t n = 0;
    json_t *o = record_json(r);
    fws_err err = o != NULL ? fws_json_canonical(o, &text, &n) : FWS_ERR_NOMEM;
    json_decref(o);
    if (err == FWS_OK)
        err = fws_record_validate((const uint8_t *)text, n, record, len, NULL, eb);
    free(text);
    if (err != FWS_OK)
        return fws_errf(eb, err, "the report cannot become a ledger record");
    return FWS_OK;
}

fws_err fws_fleet_report_open(const uint8_t *unverified, size_t len, const fws_key *device_pub,
                              fws_fleet_report *out, fws_errbuf *eb)
{
    fws_dsse_envelope env;
    memset(&env, 0, sizeof(env));
    if (len > FWS_FLEET_REPORT_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "a report envelope is at most %u bytes",
                        FWS_FLEET_REPORT_MAX);
    fws_err err = fws_dsse_parse(unverified, len, &env, eb);
    if (err == FWS_OK && strcmp(env.payload_type, FWS_FLEET_REPORT_TYPE) != 0)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "payload type \"%s\" is not %s", env.payload_type,
                       FWS_FLEET_REPORT_TYPE);
    const fws_key *keys[1] = {device_pub};
    if (err == FWS_OK && device_pub != NULL)
        err = fws_dsse_verify(&env, keys, 1, 1, eb);
    if (err == FWS_OK)
        err = fws_fleet_report_parse(env.unverified_payload, env.payload_len, out, eb);
    fws_dsse_envelope_free(&env);
    return err;
}
