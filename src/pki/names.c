/* Names of environments, states and reasons; field syntax; small conversions. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "pki/internal.h"

static const char *const env_names[PKI_ENV_COUNT] = {NULL, "dev", "staging", "prod"};

const char *fws_pki_env_name(fws_pki_env env)
{
    return (env >= FWS_ENV_DEV && env <= FWS_ENV_PROD) ? env_names[env] : NULL;
}

fws_err fws_pki_env_parse(const char *name, fws_pki_env *out)
{
    for (int i = FWS_ENV_DEV; i <= FWS_ENV_PROD; i++) {
        if (name != NULL && strcmp(name, env_names[i]) == 0) {
            *out = (fws_pki_env)i;
            return FWS_OK;
        }
    }
    return FWS_ERR_ARG;
}

const char *fws_pki_status_name(fws_pki_status s)
{
    switch (s) {
    case FWS_DEVICE_PROVISIONED:
        return "provisioned";
    case FWS_DEVICE_ACTIVE:
        return "active";
    case FWS_DEVICE_REVOKED:
        return "revoked";
    case FWS_DEVICE_DECOMMISSIONED:
        return "decommissioned";
    }
    return "unknown";
}

const char *fws_pki_cert_kind_name(fws_pki_cert_kind k)
{
    return k == FWS_CERT_FACTORY       ? "factory"
           : k == FWS_CERT_OPERATIONAL ? "operational"
                                       : "unknown";
}

const char *fws_pki_cert_status_name(fws_pki_cert_status s)
{
    switch (s) {
    case FWS_CERT_VALID:
        return "valid";
    case FWS_CERT_SUPERSEDED:
        return "superseded";
    case FWS_CERT_REVOKED:
        return "revoked";
    }
    return "unknown";
}

static const struct {
    fws_pki_reason reason;
    const char *name;
} reasons[] = {
    {FWS_REASON_UNSPECIFIED, "unspecified"},
    {FWS_REASON_KEY_COMPROMISE, "keyCompromise"},
    {FWS_REASON_AFFILIATION_CHANGED, "affiliationChanged"},
    {FWS_REASON_SUPERSEDED, "superseded"},
    {FWS_REASON_CESSATION, "cessationOfOperation"},
    {FWS_REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn"},
};

const char *fws_pki_reason_name(fws_pki_reason r)
{
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (reasons[i].reason == r)
            return reasons[i].name;
    }
    return "unknown";
}

fws_err fws_pki_reason_parse(const char *name, fws_pki_reason *out)
{
    char folded[40];
    size_t n = 0;
    if (name == NULL)
        return FWS_ERR_ARG;
    for (const char *c = name; *c != '\0'; c++) {
        if (*c == '-' || *c == '_')
            continue;
        if (n + 1 >= sizeof(folded))
            return FWS_ERR_ARG;
        folded[n++] = *c;
    }
    folded[n] = '\0';
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (strcasecmp(folded, reasons[i].name) == 0) {
            *out = reasons[i].reason;
            return FWS_OK;
        }
    }
    return FWS_ERR_ARG;
}

fws_err pki_check_field(const char *name, const char *value, int required, const char *charset,
                        fws_errbuf *eb)
{
    if (value == NULL || value[0] == '\0') {
        if (required)
            return fws_errf(eb, FWS_ERR_ARG, "%s is required", name);
        return FWS_OK;
    }
    size_t len = strlen(value);
    if (len > FWS_PKI_FIELD_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "%s is longer than %d characters", name,
                        FWS_PKI_FIELD_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        int okc = charset != NULL ? (strchr(charset, c) != NULL) : (c >= 0x20 && c < 0x7f);
        if (!okc || c == '\0')
            return fws_errf(eb, FWS_ERR_ARG, "%s '%s': character %u is not allowed", name, value,
                            (unsigned)i + 1);
    }
    return FWS_OK;
}

void pki_time_rfc3339(int64_t t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (gmtime_r(&tt, &tm) == NULL) {
        snprintf(out, 32, "1970-01-01T00:00:00Z");
        return;
    }
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void pki_sha256_hex(const uint8_t *data, size_t len, char out[65])
{
    uint8_t d[FWS_SHA256_LEN];
    fws_sha256(data, len, d);
    fws_hex_encode(d, sizeof(d), out);
}

int64_t fws_est_renew_at(int64_t not_before, int64_t not_after)
{
    if (not_after <= not_before)
        return not_before;
    return not_before + (not_after - not_before) / 3 * 2 + ((not_after - not_before) % 3) * 2 / 3;
}
