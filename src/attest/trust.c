/* The trust score: 0..100 from six factors, each listed with its points and why. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "fwseal/json.h"
#include "attest/internal.h"

#define W_ATTEST 35
#define W_ASSURANCE 15
#define W_CERT 15
#define W_PROVISION 10
#define W_BATCH 10
#define W_HISTORY 15
#define PROVISION_MAX (64u * 1024)

static void factor(fws_attest_trust_factor *f, const char *name, int points, int max,
                   const char *fmt, ...) FWS_PRINTF(5, 6);

static void factor(fws_attest_trust_factor *f, const char *name, int points, int max,
                   const char *fmt, ...)
{
    va_list ap;
    f->name = name;
    f->points = points < 0 ? 0 : points > max ? max : points;
    f->max = max;
    va_start(ap, fmt);
    vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
    va_end(ap);
}

static void rate_attestation(const fws_attest_trust_input *in, int64_t horizon,
                             fws_attest_trust_factor *f)
{
    const fws_attest_result *r = in->last;
    if (r == NULL) {
        factor(f, "attestation", 0, W_ATTEST, "never attested");
        return;
    }
    if (!r->pass) {
        factor(f, "attestation", 0, W_ATTEST, "the last attestation failed");
        return;
    }
    int64_t age = in->now - r->time;
    if (age < 0)
        factor(f, "attestation", 0, W_ATTEST, "the last attestation is dated in the future");
    else if (age <= horizon)
        factor(f, "attestation", W_ATTEST, W_ATTEST, "passed %lld s ago", (long long)age);
    else if (age <= 7 * horizon)
        factor(f, "attestation", 15, W_ATTEST, "passed %lld s ago (stale)", (long long)age);
    else
        factor(f, "attestation", 5, W_ATTEST, "passed %lld s ago (long stale)", (long long)age);
}

static void rate_assurance(const fws_attest_trust_input *in, fws_attest_trust_factor *f)
{
    const fws_attest_result *r = in->last;
    if (r == NULL || !r->pass)
        factor(f, "assurance", 0, W_ASSURANCE, "no passing attestation");
    else if (r->assurance == FWS_ASSURANCE_TPM)
        factor(f, "assurance", W_ASSURANCE, W_ASSURANCE, "TPM attestation key");
    else
        factor(f, "assurance", 5, W_ASSURANCE, "software attestation key (low assurance)");
}

static void rate_cert(fws_attest_cert_state s, fws_attest_trust_factor *f)
{
    switch (s) {
    case FWS_TRUST_CERT_VALID:
        factor(f, "certificate", W_CERT, W_CERT, "valid");
        break;
    case FWS_TRUST_CERT_EXPIRING:
        factor(f, "certificate", 10, W_CERT, "valid, due for renewal");
        break;
    case FWS_TRUST_CERT_EXPIRED:
        factor(f, "certificate", 0, W_CERT, "expired");
        break;
    case FWS_TRUST_CERT_REVOKED:
        factor(f, "certificate", 0, W_CERT, "revoked");
        break;
    default:
        factor(f, "certificate", 0, W_CERT, "unknown");
        break;
    }
}

static int failed_check(const json_t *checks)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)checks, k, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), "fail") == 0)
            return 1;
    }
    return 0;
}

/* Six points for a provision record with its required fields, one for each optional field
 * (bomVersion, station, operator, checks); the checks point is lost when a check failed. */
static void rate_provision(const fws_attest_trust_input *in, fws_attest_trust_factor *f)
{
    static const char *const required[] = {"device", "serial",      "model",
                                           "batch",  "environment", "certificate"};
    static const char *const optional[] = {"bomVersion", "station", "operator"};
    json_t *o = NULL;
    if (in->provision_record == NULL ||
        fws_json_parse((const uint8_t *)in->provision_record, in->provision_len, FWS_JSON_NO_FLOATS,
                       NULL, &o, NULL) != FWS_OK ||
        !json_is_object(o) || !json_is_string(json_object_get(o, "type")) ||
        strcmp(json_string_value(json_object_get(o, "type")), "provision") != 0) {
        json_decref(o);
        factor(f, "provisioning", 0, W_PROVISION, "no provision record");
        return;
    }
    int points = 6, missing = 0;
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        missing += json_object_get(o, required[i]) == NULL;
    for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++)
        points += json_object_get(o, optional[i]) != NULL;
    json_t *checks = json_object_get(o, "checks");
    int bad_check = json_is_object(checks) && failed_check(checks);
    points += json_is_object(checks) && !bad_check;
    if (missing > 0)
        factor(f, "provisioning", 0, W_PROVISION, "the provision record lacks %d required fields",
               missing);
    else
        factor(f, "provisioning", points, W_PROVISION, "%d of 10 record fields%s", points,
               bad_check ? "; a hardware check failed" : "");
    json_decref(o);
}

static void rate_history(const fws_attest_trust_input *in, fws_attest_trust_factor *f)
{
    unsigned total = in->history_pass + in->history_fail;
    if (total == 0) {
        factor(f, "history", 8, W_HISTORY, "no earlier attestation");
        return;
    }
    int points = (int)((uint64_t)W_HISTORY * in->history_pass / total);
    points -= 3 * (int)(in->history_flagged > 5 ? 5 : in->history_flagged);
    factor(f, "history", points, W_HISTORY, "%u passed, %u failed, %u flagged", in->history_pass,
           in->history_fail, in->history_flagged);
}

void fws_attest_trust_score(const fws_attest_trust_input *in, fws_attest_trust *out)
{
    fws_attest_trust t;
    if (out == NULL)
        return;
    memset(&t, 0, sizeof(t));
    if (in == NULL) {
        *out = t;
        return;
    }
    int64_t horizon = in->max_age > 0 ? in->max_age : 86400;
    rate_attestation(in, horizon, &t.factors[0]);
    rate_assurance(in, &t.factors[1]);
    rate_cert(in->cert, &t.factors[2]);
    rate_provision(in, &t.factors[3]);
    if (in->batch_flagged)
        factor(&t.factors[4], "batch", 0, W_BATCH, "the device's batch is flagged");
    else
        factor(&t.factors[4], "batch", W_BATCH, W_BATCH, "the batch is not flagged");
    rate_history(in, &t.factors[5]);
    for (int i = 0; i < FWS_TRUST_FACTORS; i++)
        t.score += t.factors[i].points;
    *out = t;
}

fws_err fws_attest_trust_json(const fws_attest_trust *t, json_t **out)
{
    if (t == NULL || out == NULL)
        return FWS_ERR_ARG;
    json_t *a = json_array();
    for (int i = 0; a != NULL && i < FWS_TRUST_FACTORS; i++) {
        const fws_attest_trust_factor *f = &t->factors[i];
        if (json_array_append_new(a,
                                  json_pack("{s:s, s:i, s:i, s:s}", "name", f->name ? f->name : "",
                                            "points", (json_int_t)f->points, "max",
                                            (json_int_t)f->max, "detail", f->detail)) != 0) {
            json_decref(a);
            return FWS_ERR_NOMEM;
        }
    }
    json_t *o = json_pack("{s:i, s:o}", "score", (json_int_t)t->score, "factors", a);
    if (o == NULL)
        return FWS_ERR_NOMEM;
    *out = o;
    return FWS_OK;
}
