/* The attestation report (JSON) and the ledger record for a failed attestation. */
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "fwseal/ledger.h"
#include "attest/internal.h"

#define REPORT_FORMAT "fwseal-attest-report/v1"
#define QUARANTINE_REASON_MAX 4096

static json_t *hexstr(const uint8_t *b, size_t n)
{
    char hex[2 * 64 + 1];
    if (n > 64)
        return NULL;
    att_hex(b, n, hex);
    return json_string(hex);
}

static json_t *stages_json(const fws_attest_result *res)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < res->n_stages && i < FWS_ATTEST_STAGES_MAX; i++) {
        const fws_attest_stage_result *s = &res->stages[i];
        json_t *o =
            json_pack("{s:s, s:i, s:b, s:b, s:s}", "name", s->name, "pcr", (json_int_t)s->pcr,
                      "measured", s->measured, "matched", s->matched, "reference", s->source);
        if (o != NULL && s->measured)
            json_object_set_new(o, "digest", hexstr(s->digest, FWS_SHA256_LEN));
        if (o == NULL || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *reasons_json(const fws_attest_result *res, int flags)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < res->n_reasons && i < FWS_ATTEST_REASONS_MAX; i++) {
        if ((res->reasons[i].code == FWS_OK) != flags)
            continue;
        if (json_array_append_new(a, json_string(res->reasons[i].text)) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

fws_err fws_attest_report_json(const fws_attest_result *res, json_t **out)
{
    if (res == NULL || out == NULL)
        return FWS_ERR_ARG;
    json_t *flags = json_array();
    if (flags != NULL && (res->flags & FWS_ATTEST_FLAG_REBOOT))
        json_array_append_new(flags, json_string("unexpected-reboot"));
    if (flags != NULL && (res->flags & FWS_ATTEST_FLAG_RESTART))
        json_array_append_new(flags, json_string("unexpected-restart"));
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:{s:I, s:I, s:I, s:b}, s:o, s:o, s:o, s:o, s:o, s:o}", "format",
        REPORT_FORMAT, "result", res->pass ? "pass" : "fail", "device", res->device, "assurance",
        fws_attest_assurance_name(res->assurance), "time", (json_int_t)res->time, "clock", "clock",
        (json_int_t)(res->clock.clock & INT64_MAX), "resetCount",
        (json_int_t)res->clock.reset_count, "restartCount", (json_int_t)res->clock.restart_count,
        "safe", res->clock.safe, "flags", flags, "stages", stages_json(res), "reasons",
        reasons_json(res, 0), "notes", reasons_json(res, 1), "akName",
        hexstr(res->ak_name, FWS_ATTEST_NAME_LEN), "quoteSha256",
        hexstr(res->evidence_sha256, FWS_SHA256_LEN));
    if (o == NULL)
        return FWS_ERR_NOMEM;
    *out = o;
    return FWS_OK;
}

fws_err fws_attest_quarantine_record(const fws_attest_result *res, const char *time_rfc3339,
                                     char **record, size_t *len, fws_errbuf *eb)
{
    char *reason = NULL, *text = NULL;
    size_t used = 0, text_len = 0;
    json_t *o = NULL;
    fws_err err = FWS_ERR_NOMEM;
    if (res == NULL || time_rfc3339 == NULL || record == NULL || len == NULL)
        return FWS_ERR_ARG;
    if (res->pass)
        return fws_errf(eb, FWS_ERR_STATE, "the attestation passed: nothing to quarantine");
    if (res->device[0] == '\0')
        return fws_errf(eb, FWS_ERR_STATE,
                        "the attestation names no device (its AK certificate "
                        "was not accepted): quarantine by the device's ID");
    reason = malloc(QUARANTINE_REASON_MAX);
    if (reason == NULL)
        goto out;
    used = (size_t)snprintf(reason, QUARANTINE_REASON_MAX, "attestation failed");
    for (size_t i = 0; i < res->n_reasons && used < QUARANTINE_REASON_MAX; i++) {
        if (res->reasons[i].code != FWS_OK)
            used += (size_t)snprintf(reason + used, QUARANTINE_REASON_MAX - used, "; %s",
                                     res->reasons[i].text);
    }
    o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "type", "quarantine", "schema",
                  FWS_RECORD_SCHEMA, "time", time_rfc3339, "device", res->device, "reason", reason,
                  "action", "begin");
    if (o == NULL || (err = fws_json_canonical(o, &text, &text_len)) != FWS_OK)
        goto out;
    err = fws_record_validate((const uint8_t *)text, text_len, record, len, NULL, eb);
out:
    free(reason);
    free(text);
    json_decref(o);
    return err;
}

fws_err fws_attest_ledger_record(const fws_attest_result *res, const char *time_rfc3339,
                                 char **record, size_t *len, fws_errbuf *eb)
{
    char hex[2 * FWS_SHA256_LEN + 1], *text = NULL;
    size_t text_len = 0;
    if (res == NULL || time_rfc3339 == NULL || record == NULL || len == NULL)
        return FWS_ERR_ARG;
    if (res->device[0] == '\0' || res->assurance == FWS_ASSURANCE_NONE)
        return fws_errf(eb, FWS_ERR_STATE,
                        "the attestation names no device or no assurance level: no record");
    fws_hex_encode(res->evidence_sha256, FWS_SHA256_LEN, hex);
    json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:{s:s}}", "type", "attestation",
                          "schema", FWS_RECORD_SCHEMA, "time", time_rfc3339, "device", res->device,
                          "result", res->pass ? "pass" : "fail", "assurance",
                          fws_attest_assurance_name(res->assurance), "evidence", "sha256", hex);
    if (o != NULL && !res->pass && res->n_reasons > 0)
        json_object_set_new(o, "reason", json_string(res->reasons[0].text));
    fws_err err = o == NULL ? FWS_ERR_NOMEM : fws_json_canonical(o, &text, &text_len);
    if (err == FWS_OK)
        err = fws_record_validate((const uint8_t *)text, text_len, record, len, NULL, eb);
    free(text);
    json_decref(o);
    return err;
}
