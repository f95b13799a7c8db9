/* Integration calls: one for the server to judge what a device sent, one to read a stored
 * report back, one for the agent to answer a nonce. */
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "attest/internal.h"

fws_err fws_attest_judge(const uint8_t *unverified, size_t len, const fws_attest_verify_req *req,
                         fws_attest_result *res, fws_errbuf *eb)
{
    fws_attest_verify_req q;
    fws_errbuf why = {{0}};
    if (req == NULL || res == NULL)
        return FWS_ERR_ARG;
    fws_attest_evidence *ev = calloc(1, sizeof(*ev));
    if (ev == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = fws_attest_evidence_decode(unverified, len, ev, &why);
    if (err == FWS_OK) {
        q = *req;
        q.evidence = ev;
        err = fws_attest_verify(&q, res, eb);
    } else if (err != FWS_ERR_NOMEM && err != FWS_ERR_ARG) {
        memset(res, 0, sizeof(*res));
        res->time = req->now;
        res->n_reasons = 1;
        res->reasons[0].code = err;
        snprintf(res->reasons[0].text, sizeof(res->reasons[0].text), "%.*s",
                 (int)sizeof(res->reasons[0].text) - 1, why.msg);
        err = fws_errf(eb, err, "attestation failed: %s", why.msg);
    }
    free(ev);
    return err;
}

/* ---- reports read back -------------------------------------------------------------------------
 */

static fws_err report_clock(const json_t *report, fws_tpm_clock *c, fws_errbuf *eb)
{
    json_t *clock = NULL;
    int64_t reset = 0, restart = 0, ms = 0;
    fws_err err;
    if ((err = fws_json_get_object(report, "clock", &clock, eb)) != FWS_OK ||
        (err = fws_json_get_int(clock, "resetCount", &reset, eb)) != FWS_OK ||
        (err = fws_json_get_int(clock, "restartCount", &restart, eb)) != FWS_OK ||
        (err = fws_json_get_int(clock, "clock", &ms, eb)) != FWS_OK)
        return err;
    if (reset < 0 || reset > UINT32_MAX || restart < 0 || restart > UINT32_MAX || ms < 0)
        return fws_errf(eb, FWS_ERR_SCHEMA, "report: counters out of range");
    c->reset_count = (uint32_t)reset;
    c->restart_count = (uint32_t)restart;
    c->clock = (uint64_t)ms;
    c->safe = json_is_true(json_object_get(clock, "safe"));
    return FWS_OK;
}

static void report_reasons(const json_t *a, fws_err code, fws_attest_result *r)
{
    for (size_t i = 0; json_is_array(a) && i < json_array_size(a); i++) {
        const char *text = json_string_value(json_array_get(a, i));
        if (text == NULL || r->n_reasons >= FWS_ATTEST_REASONS_MAX)
            continue;
        r->reasons[r->n_reasons].code = code;
        snprintf(r->reasons[r->n_reasons++].text, FWS_ATTEST_REASON_LEN, "%s", text);
    }
}

static unsigned report_flags(const json_t *a)
{
    unsigned flags = 0;
    for (size_t i = 0; json_is_array(a) && i < json_array_size(a); i++) {
        const char *f = json_string_value(json_array_get(a, i));
        if (f != NULL && strcmp(f, "unexpected-reboot") == 0)
            flags |= FWS_ATTEST_FLAG_REBOOT;
        if (f != NULL && strcmp(f, "unexpected-restart") == 0)
            flags |= FWS_ATTEST_FLAG_RESTART;
    }
    return flags;
}

fws_err fws_attest_report_parse(const json_t *report, fws_attest_result *out, fws_errbuf *eb)
{
    fws_attest_result *r = NULL;
    const char *format = NULL, *result = NULL, *device = NULL, *assurance = NULL;
    fws_err err;
    if (report == NULL || out == NULL)
        return FWS_ERR_ARG;
    if ((err = fws_json_get_string(report, "format", &format, eb)) != FWS_OK ||
        (err = fws_json_get_string(report, "result", &result, eb)) != FWS_OK ||
        (err = fws_json_get_string(report, "device", &device, eb)) != FWS_OK ||
        (err = fws_json_get_string(report, "assurance", &assurance, eb)) != FWS_OK)
        return err;
    if (strcmp(format, "fwseal-attest-report/v1") != 0 ||
        (strcmp(result, "pass") != 0 && strcmp(result, "fail") != 0) ||
        strlen(device) > FWS_ATTEST_DEVICE_MAX)
        return fws_errf(eb, FWS_ERR_SCHEMA, "not an fwseal-attest-report/v1 report");
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return FWS_ERR_NOMEM;
    r->pass = strcmp(result, "pass") == 0;
    memcpy(r->device, device, strlen(device) + 1);
    if (fws_attest_assurance_parse(assurance, &r->assurance) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "report: unknown assurance \"%s\"", assurance);
    if (err == FWS_OK)
        err = fws_json_get_int(report, "time", &r->time, eb);
    if (err == FWS_OK)
        err = report_clock(report, &r->clock, eb);
    if (err == FWS_OK) {
        r->flags = report_flags(json_object_get(report, "flags"));
        report_reasons(json_object_get(report, "reasons"), FWS_ERR_INCONSISTENT, r);
        report_reasons(json_object_get(report, "notes"), FWS_OK, r);
        if (!r->pass && r->n_reasons == 0)
            err = fws_errf(eb, FWS_ERR_SCHEMA, "report: a failed result without reasons");
    }
    if (err == FWS_OK)
        memcpy(out, r, sizeof(*r));
    free(r);
    return err;
}

/* ---- the agent's answer ------------------------------------------------------------------------
 */

static fws_err device_evidence(const fws_attest_device *d, fws_attest_evidence *ev, fws_errbuf *eb)
{
    if (d->ak_cert == NULL || d->ak_cert_len == 0 || d->ak_cert_len > FWS_ATTEST_CERT_MAX ||
        d->n_chain > FWS_ATTEST_CHAIN_MAX || d->device == NULL ||
        strlen(d->device) > FWS_ATTEST_DEVICE_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "attestation: device ID and AK certificate needed");
    memcpy(ev->ak_cert, d->ak_cert, d->ak_cert_len);
    ev->ak_cert_len = d->ak_cert_len;
    for (size_t i = 0; i < d->n_chain; i++) {
        if (d->chain[i] == NULL || d->chain_len[i] == 0 || d->chain_len[i] > FWS_ATTEST_CERT_MAX)
            return fws_errf(eb, FWS_ERR_ARG, "attestation: chain certificate %zu", i);
        memcpy(ev->chain[i], d->chain[i], d->chain_len[i]);
        ev->chain_len[i] = d->chain_len[i];
    }
    ev->n_chain = d->n_chain;
    memcpy(ev->device, d->device, strlen(d->device) + 1);
    return FWS_OK;
}

fws_err fws_attest_device_quote(const fws_attest_device *d, const uint8_t *nonce, size_t nonce_len,
                                uint32_t mask, char **json, size_t *len, fws_errbuf *eb)
{
    fws_attest_tpm *t = NULL;
    fws_attest_log *log = NULL;
    fws_attest_evidence *ev = NULL;
    fws_err err = FWS_ERR_NOMEM;
    if (d == NULL || json == NULL || len == NULL || d->log_path == NULL ||
        (d->signer != NULL && d->counters == NULL))
        return FWS_ERR_ARG;
    log = malloc(sizeof(*log));
    ev = calloc(1, sizeof(*ev));
    if (log == NULL || ev == NULL)
        goto out;
    if ((err = fws_attest_log_load(d->log_path, 0, log, eb)) != FWS_OK ||
        (err = device_evidence(d, ev, eb)) != FWS_OK)
        goto out;
    if (d->signer != NULL) {
        err = fws_attest_sw_quote(d->signer, log, d->counters, nonce, nonce_len, mask, ev, eb);
    } else if ((err = fws_attest_tpm_open(d->tcti, &t, eb)) == FWS_OK &&
               (err = fws_attest_tpm_quote(t, nonce, nonce_len, mask, ev, eb)) == FWS_OK) {
        ev->log = *log;
    }
    if (err == FWS_OK)
        err = fws_attest_evidence_encode(ev, json, len);
out:
    fws_attest_tpm_close(t);
    free(log);
    free(ev);
    return err;
}
