/* The alert engine's configuration: DEPLOY/alerts.json ("fwseal-alerts/v1"), every field
 * optional (docs/DASHBOARD.md, "Alerts"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "server/alert.h"

#define YEAR (365LL * 86400)

static const char *const kind_names[ALERT_KIND_COUNT] = {
    "certificate-expiry", "verification-failure-spike",
    "rollback-spike",     "update-size",
    "unexpected-reboot",  "log-fork",
    "attestation-failed", "other",
};

const char *alert_kind_name(alert_kind k)
{
    return (unsigned)k < ALERT_KIND_COUNT ? kind_names[k] : "other";
}

alert_kind alert_kind_of(const char *name)
{
    for (int k = 0; k < ALERT_OTHER; k++)
        if (strcmp(kind_names[k], name) == 0)
            return (alert_kind)k;
    return ALERT_OTHER;
}

int alert_kind_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > FWS_STORE_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '-'))
            return 0;
    return 1;
}

void alert_config_defaults(alert_config *c)
{
    memset(c, 0, sizeof(*c));
    c->interval = 30;
    c->cert_enabled = 1;
    c->cert_warn = 30 * 86400;
    c->verify = (alert_spike_rule){.enabled = 1, .window = 3600, .threshold = 5, .factor = 3};
    c->rollback = (alert_spike_rule){.enabled = 1, .window = 3600, .threshold = 3, .factor = 3};
    c->reboot = (alert_spike_rule){.enabled = 1, .window = 3600, .threshold = 1, .factor = 0};
    c->size_enabled = 1;
    c->size_factor = 3;
    c->size_history = 5;
    c->fork_enabled = 1;
    c->attest_enabled = 1;
    c->backfill = 100000;
    c->timeout_ms = 5000;
}

fws_err alert_duration_parse(const char *s, int64_t *out)
{
    char *end = NULL;
    if (s[0] < '0' || s[0] > '9')
        return FWS_ERR_FORMAT;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || v <= 0)
        return FWS_ERR_FORMAT;
    long long unit = 1;
    if (*end != '\0') {
        const char *units = "smhd";
        const long long mult[] = {1, 60, 3600, 86400};
        const char *u = strchr(units, *end);
        if (u == NULL || end[1] != '\0')
            return FWS_ERR_FORMAT;
        unit = mult[u - units];
    }
    if (v > 100 * YEAR / unit)
        return FWS_ERR_FORMAT;
    *out = v * unit;
    return FWS_OK;
}

/* A duration field: a string ("1h") or an integer of seconds. */
static fws_err get_duration(const json_t *o, const char *key, int64_t *out, fws_errbuf *eb)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL)
        return FWS_OK;
    int64_t d = 0;
    fws_err err = FWS_ERR_FORMAT;
    if (json_is_string(v))
        err = alert_duration_parse(json_string_value(v), &d);
    else if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) <= 100 * YEAR)
        err = FWS_OK, d = json_integer_value(v);
    if (err != FWS_OK)
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "field \"%s\" must be a duration such as \"90s\", \"15m\", \"2h\" or "
                        "\"30d\"",
                        key);
    *out = d;
    return FWS_OK;
}

static fws_err get_uint(const json_t *o, const char *key, uint64_t max, uint64_t *out,
                        fws_errbuf *eb)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL)
        return FWS_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"%s\" must be an integer from 0 to %llu", key,
                        (unsigned long long)max);
    *out = (uint64_t)json_integer_value(v);
    return FWS_OK;
}

static fws_err get_bool(const json_t *o, const char *key, int *out, fws_errbuf *eb)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL)
        return FWS_OK;
    if (!json_is_boolean(v))
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"%s\" must be true or false", key);
    *out = json_is_true(v);
    return FWS_OK;
}

static fws_err get_text(const json_t *o, const char *key, char *out, size_t cap, fws_errbuf *eb)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL)
        return FWS_OK;
    const char *s = json_string_value(v);
    if (s == NULL || strlen(s) >= cap || strpbrk(s, "\r\n") != NULL)
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"%s\" must be a line of at most %zu bytes", key,
                        cap - 1);
    snprintf(out, cap, "%s", s);
    return FWS_OK;
}

/* A rule object: {"enabled", "window", "threshold", "factor"} as the rule has them. */
static fws_err parse_spike(const json_t *rules, const char *name, alert_spike_rule *r,
                           fws_errbuf *eb)
{
    static const char *const keys[] = {"enabled", "window", "threshold", "factor", NULL};
    const json_t *o = json_object_get(rules, name);
    uint64_t threshold = r->threshold, factor = r->factor;
    fws_errbuf why = {{0}};
    if (o == NULL)
        return FWS_OK;
    fws_err err = fws_json_only_keys(o, keys, &why);
    if (err == FWS_OK)
        err = get_bool(o, "enabled", &r->enabled, &why);
    if (err == FWS_OK)
        err = get_duration(o, "window", &r->window, &why);
    if (err == FWS_OK)
        err = get_uint(o, "threshold", 1000000, &threshold, &why);
    if (err == FWS_OK)
        err = get_uint(o, "factor", 1000, &factor, &why);
    if (err == FWS_OK && threshold == 0)
        err = fws_errf(&why, FWS_ERR_SCHEMA, "field \"threshold\" must be at least 1");
    if (err != FWS_OK)
        return fws_errf(eb, err, "rules.%s: %s", name, why.msg);
    r->threshold = (uint32_t)threshold;
    r->factor = (uint32_t)factor;
    return FWS_OK;
}

static fws_err parse_simple(const json_t *rules, const char *name, const char *const *keys,
                            int *enabled, json_t **obj, fws_errbuf *eb)
{
    json_t *o = json_object_get(rules, name);
    fws_errbuf why = {{0}};
    *obj = o;
    if (o == NULL)
        return FWS_OK;
    fws_err err = fws_json_only_keys(o, keys, &why);
    if (err == FWS_OK)
        err = get_bool(o, "enabled", enabled, &why);
    return err == FWS_OK ? FWS_OK : fws_errf(eb, err, "rules.%s: %s", name, why.msg);
}

static fws_err parse_rules(const json_t *rules, alert_config *c, fws_errbuf *eb)
{
    static const char *const names[] = {
        "certificateExpiry", "verificationFailures", "rollbacks", "updateSize", "unexpectedReboots",
        "logFork",           "attestation",          NULL};
    static const char *const cert_keys[] = {"enabled", "warn", NULL};
    static const char *const size_keys[] = {"enabled", "factor", "history", NULL};
    static const char *const plain_keys[] = {"enabled", NULL};
    json_t *o = NULL;
    uint64_t factor = c->size_factor, history = c->size_history;
    if (!json_is_object(rules))
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"rules\" must be an object");
    fws_err err = fws_json_only_keys(rules, names, eb);
    if (err == FWS_OK)
        err = parse_simple(rules, "certificateExpiry", cert_keys, &c->cert_enabled, &o, eb);
    if (err == FWS_OK && o != NULL && get_duration(o, "warn", &c->cert_warn, NULL) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_SCHEMA,
                       "rules.certificateExpiry: field \"warn\" must be a duration such as "
                       "\"30d\"");
    if (err == FWS_OK)
        err = parse_spike(rules, "verificationFailures", &c->verify, eb);
    if (err == FWS_OK)
        err = parse_spike(rules, "rollbacks", &c->rollback, eb);
    if (err == FWS_OK)
        err = parse_spike(rules, "unexpectedReboots", &c->reboot, eb);
    if (err == FWS_OK)
        err = parse_simple(rules, "updateSize", size_keys, &c->size_enabled, &o, eb);
    if (err == FWS_OK && o != NULL &&
        (get_uint(o, "factor", 1000, &factor, NULL) != FWS_OK ||
         get_uint(o, "history", 100, &history, NULL) != FWS_OK || factor < 2 || history < 1))
        err = fws_errf(eb, FWS_ERR_SCHEMA,
                       "rules.updateSize: \"factor\" must be an integer from 2 to 1000 and "
                       "\"history\" from 1 to 100");
    c->size_factor = (uint32_t)factor;
    c->size_history = (uint32_t)history;
    if (err == FWS_OK)
        err = parse_simple(rules, "logFork", plain_keys, &c->fork_enabled, &o, eb);
    if (err == FWS_OK)
        err = parse_simple(rules, "attestation", plain_keys, &c->attest_enabled, &o, eb);
    return err;
}

static fws_err parse_webhook(const json_t *w, alert_config *c, fws_errbuf *eb)
{
    static const char *const keys[] = {"url", "authorization", "caFile", NULL};
    fws_errbuf why = {{0}};
    fws_err err = json_is_object(w) ? fws_json_only_keys(w, keys, &why)
                                    : fws_errf(&why, FWS_ERR_SCHEMA, "must be an object");
    if (err == FWS_OK)
        err = get_text(w, "url", c->webhook, sizeof(c->webhook), &why);
    if (err == FWS_OK && strncmp(c->webhook, "http://", 7) != 0 &&
        strncmp(c->webhook, "https://", 8) != 0)
        err = fws_errf(&why, FWS_ERR_SCHEMA, "field \"url\" must be an http:// or https:// URL");
    if (err == FWS_OK)
        err = get_text(w, "authorization", c->webhook_auth, sizeof(c->webhook_auth), &why);
    if (err == FWS_OK)
        err = get_text(w, "caFile", c->webhook_ca, sizeof(c->webhook_ca), &why);
    return err == FWS_OK ? FWS_OK : fws_errf(eb, err, "webhook: %s", why.msg);
}

static fws_err parse_command(const json_t *a, alert_config *c, fws_errbuf *eb)
{
    size_t n = json_is_array(a) ? json_array_size(a) : 0;
    if (n == 0 || n > ALERT_ARGV_MAX)
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "field \"command\" must be an array of 1 to %d strings (the program "
                        "and its arguments)",
                        ALERT_ARGV_MAX);
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (s == NULL || s[0] == '\0' || strlen(s) >= ALERT_ARG_MAX)
            return fws_errf(eb, FWS_ERR_SCHEMA, "command[%zu] must be a non-empty string", i);
        snprintf(c->command[i], ALERT_ARG_MAX, "%s", s);
    }
    if (c->command[0][0] != '/')
        return fws_errf(eb, FWS_ERR_SCHEMA, "command[0] must be an absolute path");
    c->n_command = n;
    return FWS_OK;
}

fws_err alert_config_parse(const char *text, size_t len, alert_config *out, fws_errbuf *eb)
{
    static const char *const keys[] = {"format",  "interval", "timeout", "backfill",
                                       "webhook", "command",  "rules",   NULL};
    json_t *doc = NULL;
    const char *format = NULL;
    alert_config c = *out;
    uint64_t backfill = c.backfill;
    int64_t timeout = c.timeout_ms / 1000;
    fws_err err = fws_json_parse((const uint8_t *)text, len, 0, NULL, &doc, eb);
    if (err == FWS_OK)
        err = fws_json_only_keys(doc, keys, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(doc, "format", &format, eb);
    if (err == FWS_OK && strcmp(format, "fwseal-alerts/v1") != 0)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "field \"format\" must be \"fwseal-alerts/v1\"");
    if (err == FWS_OK)
        err = get_duration(doc, "interval", &c.interval, eb);
    if (err == FWS_OK)
        err = get_duration(doc, "timeout", &timeout, eb);
    if (err == FWS_OK && timeout > 300)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "field \"timeout\" must be at most 5 minutes");
    if (err == FWS_OK)
        err = get_uint(doc, "backfill", 100000000, &backfill, eb);
    if (err == FWS_OK && json_object_get(doc, "webhook") != NULL)
        err = parse_webhook(json_object_get(doc, "webhook"), &c, eb);
    if (err == FWS_OK && json_object_get(doc, "command") != NULL)
        err = parse_command(json_object_get(doc, "command"), &c, eb);
    if (err == FWS_OK && json_object_get(doc, "rules") != NULL)
        err = parse_rules(json_object_get(doc, "rules"), &c, eb);
    json_decref(doc);
    if (err != FWS_OK)
        return err;
    c.backfill = backfill;
    c.timeout_ms = timeout * 1000;
    *out = c;
    return FWS_OK;
}

fws_err alert_config_load(const char *deploy, alert_config *out, fws_errbuf *eb)
{
    char path[4200];
    uint8_t *text = NULL;
    size_t len = 0;
    alert_config c;
    alert_config_defaults(&c);
    snprintf(path, sizeof(path), "%s/alerts.json", deploy);
    fws_errbuf why = {{0}};
    fws_err err = fws_file_read(path, ALERT_CONFIG_MAX, &text, &len, &why);
    if (err == FWS_ERR_NOT_FOUND) {
        *out = c;
        return FWS_OK;
    }
    if (err == FWS_OK)
        err = alert_config_parse((const char *)text, len, &c, &why);
    free(text);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: %s", path, why.msg[0] ? why.msg : fws_strerror(err));
    *out = c;
    return FWS_OK;
}

static json_t *spike_json(const alert_spike_rule *r)
{
    return json_pack("{s:b,s:I,s:I,s:I}", "enabled", r->enabled, "window", (json_int_t)r->window,
                     "threshold", (json_int_t)r->threshold, "factor", (json_int_t)r->factor);
}

json_t *alert_config_json(const alert_config *c)
{
    json_t *cmd = json_array();
    for (size_t i = 0; cmd != NULL && i < c->n_command && i < 1; i++)
        json_array_append_new(cmd, json_string(c->command[i]));
    return json_pack(
        "{s:I,s:{s:{s:b,s:I},s:o,s:o,s:o,s:{s:b,s:I,s:I},s:{s:b},s:{s:b}},s:b,s:o}", "interval",
        (json_int_t)c->interval, "rules", "certificateExpiry", "enabled", c->cert_enabled, "warn",
        (json_int_t)c->cert_warn, "verificationFailures", spike_json(&c->verify), "rollbacks",
        spike_json(&c->rollback), "unexpectedReboots", spike_json(&c->reboot), "updateSize",
        "enabled", c->size_enabled, "factor", (json_int_t)c->size_factor, "history",
        (json_int_t)c->size_history, "logFork", "enabled", c->fork_enabled, "attestation",
        "enabled", c->attest_enabled, "webhook", c->webhook[0] != '\0', "command", cmd);
}
