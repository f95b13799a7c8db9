/* The measured-boot event log: one event per measured stage (PCR, stage name, SHA-256 digest),
 * replayed by the verifier to explain the quoted PCR values. */
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "attest/internal.h"

#define LOG_FILE_MAX (64u * 1024)

int fws_attest_stage_valid(const char *name)
{
    if (name == NULL)
        return 0;
    size_t n = strnlen(name, FWS_ATTEST_STAGE_MAX + 1);
    if (n == 0 || n > FWS_ATTEST_STAGE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

fws_err fws_attest_log_add(fws_attest_log *log, unsigned pcr, const char *stage,
                           const uint8_t digest[FWS_SHA256_LEN])
{
    if (log == NULL || digest == NULL || pcr >= FWS_ATTEST_PCRS || !fws_attest_stage_valid(stage))
        return FWS_ERR_ARG;
    if (log->n >= FWS_ATTEST_EVENTS_MAX)
        return FWS_ERR_TOO_BIG;
    fws_attest_event *e = &log->ev[log->n];
    memset(e, 0, sizeof(*e));
    e->pcr = (uint8_t)pcr;
    memcpy(e->stage, stage, strlen(stage));
    memcpy(e->digest, digest, FWS_SHA256_LEN);
    log->n++;
    return FWS_OK;
}

void fws_attest_log_replay(const fws_attest_log *log, uint8_t pcrs[FWS_ATTEST_PCRS][FWS_SHA256_LEN],
                           uint32_t *touched)
{
    uint32_t mask = 0;
    memset(pcrs, 0, FWS_ATTEST_PCRS * FWS_SHA256_LEN);
    for (size_t i = 0; log != NULL && i < log->n && i < FWS_ATTEST_EVENTS_MAX; i++) {
        const fws_attest_event *e = &log->ev[i];
        if (e->pcr >= FWS_ATTEST_PCRS)
            continue;
        fws_sha256_ctx c;
        fws_sha256_init(&c);
        fws_sha256_update(&c, pcrs[e->pcr], FWS_SHA256_LEN);
        fws_sha256_update(&c, e->digest, FWS_SHA256_LEN);
        fws_sha256_final(&c, pcrs[e->pcr]);
        mask |= 1u << e->pcr;
    }
    if (touched != NULL)
        *touched = mask;
}

fws_err fws_attest_log_to_json(const fws_attest_log *log, json_t **out)
{
    char hex[2 * FWS_SHA256_LEN + 1];
    json_t *a = json_array();
    if (log == NULL || out == NULL || a == NULL) {
        json_decref(a);
        return a == NULL ? FWS_ERR_NOMEM : FWS_ERR_ARG;
    }
    for (size_t i = 0; i < log->n && i < FWS_ATTEST_EVENTS_MAX; i++) {
        att_hex(log->ev[i].digest, FWS_SHA256_LEN, hex);
        json_t *e = json_pack("{s:i, s:s, s:s}", "pcr", (json_int_t)log->ev[i].pcr, "stage",
                              log->ev[i].stage, "digest", hex);
        if (e == NULL || json_array_append_new(a, e) != 0) {
            json_decref(a);
            return FWS_ERR_NOMEM;
        }
    }
    *out = a;
    return FWS_OK;
}

static fws_err event_from_json(const json_t *e, size_t i, fws_attest_event *ev, fws_errbuf *eb)
{
    static const char *const keys[] = {"pcr", "stage", "digest", NULL};
    const char *stage = NULL, *digest = NULL;
    int64_t pcr = 0;
    fws_errbuf why = {{0}};
    fws_err err;
    if (!json_is_object(e))
        return fws_errf(eb, FWS_ERR_SCHEMA, "eventLog[%zu] must be an object", i);
    if ((err = fws_json_only_keys(e, keys, &why)) != FWS_OK ||
        (err = fws_json_get_int(e, "pcr", &pcr, &why)) != FWS_OK ||
        (err = fws_json_get_string(e, "stage", &stage, &why)) != FWS_OK ||
        (err = fws_json_get_string(e, "digest", &digest, &why)) != FWS_OK)
        return fws_errf(eb, err, "eventLog[%zu]: %s", i, why.msg);
    if (pcr < 0 || pcr >= FWS_ATTEST_PCRS)
        return fws_errf(eb, FWS_ERR_SCHEMA, "eventLog[%zu].pcr must be 0..23", i);
    if (!fws_attest_stage_valid(stage))
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "eventLog[%zu].stage must be 1..32 characters of [a-z0-9._-]", i);
    if (att_unhex32(digest, ev->digest) != FWS_OK)
        return fws_errf(eb, FWS_ERR_SCHEMA, "eventLog[%zu].digest must be 64 lower-case hex digits",
                        i);
    ev->pcr = (uint8_t)pcr;
    memset(ev->stage, 0, sizeof(ev->stage));
    memcpy(ev->stage, stage, strlen(stage));
    return FWS_OK;
}

fws_err fws_attest_log_from_json(const json_t *unverified, fws_attest_log *out, fws_errbuf *eb)
{
    fws_attest_log *log;
    if (out == NULL)
        return FWS_ERR_ARG;
    if (!json_is_array(unverified))
        return fws_errf(eb, FWS_ERR_SCHEMA, "eventLog must be an array");
    if (json_array_size(unverified) > FWS_ATTEST_EVENTS_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "eventLog holds %zu events (at most %d)",
                        json_array_size(unverified), FWS_ATTEST_EVENTS_MAX);
    log = calloc(1, sizeof(*log));
    if (log == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = FWS_OK;
    for (size_t i = 0; i < json_array_size(unverified) && err == FWS_OK; i++)
        err = event_from_json(json_array_get(unverified, i), i, &log->ev[i], eb);
    if (err == FWS_OK) {
        log->n = json_array_size(unverified);
        memcpy(out, log, sizeof(*log));
    }
    free(log);
    return err;
}

fws_err fws_attest_log_save(const fws_attest_log *log, const char *path, fws_errbuf *eb)
{
    json_t *a = NULL;
    char *text = NULL;
    size_t len = 0;
    fws_err err = fws_attest_log_to_json(log, &a);
    if (err == FWS_OK)
        err = fws_json_canonical(a, &text, &len);
    if (err == FWS_OK)
        err = fws_file_write_atomic(path, text, len, 0644, 1, eb);
    json_decref(a);
    free(text);
    if (err != FWS_OK)
        return fws_errf(eb, err, "event log %s: cannot write", path);
    return FWS_OK;
}

fws_err fws_attest_log_load(const char *path, int missing_ok, fws_attest_log *out, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *a = NULL;
    fws_err err = fws_file_read(path, LOG_FILE_MAX, &data, &len, eb);
    if (err == FWS_ERR_NOT_FOUND && missing_ok) {
        fws_errbuf_clear(eb);
        memset(out, 0, sizeof(*out));
        return FWS_OK;
    }
    if (err == FWS_OK)
        err = fws_json_parse(data, len, FWS_JSON_NO_FLOATS, NULL, &a, eb);
    if (err == FWS_OK)
        err = fws_attest_log_from_json(a, out, eb);
    json_decref(a);
    free(data);
    if (err != FWS_OK)
        return fws_errf(eb, err, "event log %s", path);
    return FWS_OK;
}
