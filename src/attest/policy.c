/* The attestation policy, "fwseal-attest-policy/v1": which stages are measured into which PCR,
 * where their reference values come from, how fresh a passing result must be, the least
 * assurance accepted, what an unexpected reboot means, and the recovery releases. */
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "attest/internal.h"

#define POLICY_FORMAT "fwseal-attest-policy/v1"

static int name_char(char c, int version)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return strchr(version ? "._+~-" : "._:@/+-", c) != NULL;
}

static fws_err copy_name(const char *s, char *out, size_t cap, int version, const char *what,
                         fws_errbuf *eb)
{
    size_t n = strlen(s);
    int ok = n >= 1 && n < cap;
    for (size_t i = 0; ok && i < n; i++)
        ok = name_char(s[i], version);
    if (!ok)
        return fws_errf(eb, FWS_ERR_SCHEMA, "%s \"%.64s\" is not a valid %s", what, s,
                        version ? "version" : "name");
    memcpy(out, s, n + 1);
    return FWS_OK;
}

static fws_err stage_digests(const json_t *st, size_t i, fws_attest_stage_policy *sp,
                             fws_errbuf *eb)
{
    json_t *d = json_object_get(st, "digests");
    if (d == NULL)
        return FWS_OK;
    if (!json_is_array(d) || json_array_size(d) > FWS_ATTEST_POLICY_DIGESTS)
        return fws_errf(eb, FWS_ERR_SCHEMA, "stages[%zu].digests must be an array of at most %d", i,
                        FWS_ATTEST_POLICY_DIGESTS);
    for (size_t k = 0; k < json_array_size(d); k++) {
        if (att_unhex32(json_string_value(json_array_get(d, k)), sp->digests[k]) != FWS_OK)
            return fws_errf(eb, FWS_ERR_SCHEMA,
                            "stages[%zu].digests[%zu] must be 64 lower-case hex digits", i, k);
    }
    sp->n_digests = json_array_size(d);
    return FWS_OK;
}

static fws_err parse_stage(const json_t *st, size_t i, fws_attest_policy *p, fws_errbuf *eb)
{
    static const char *const keys[] = {"name", "pcr", "digests", "ledgerProduct", NULL};
    fws_attest_stage_policy *sp = &p->stages[i];
    const char *name = NULL, *product = NULL;
    int64_t pcr = -1;
    fws_errbuf why = {{0}};
    fws_err err;
    if ((err = fws_json_only_keys(st, keys, &why)) != FWS_OK ||
        (err = fws_json_get_string(st, "name", &name, &why)) != FWS_OK ||
        (err = fws_json_get_int(st, "pcr", &pcr, &why)) != FWS_OK)
        return fws_errf(eb, err, "stages[%zu]: %s", i, why.msg);
    if (!fws_attest_stage_valid(name))
        return fws_errf(eb, FWS_ERR_SCHEMA, "stages[%zu].name must be 1..32 of [a-z0-9._-]", i);
    if (pcr < 0 || pcr >= FWS_ATTEST_PCRS)
        return fws_errf(eb, FWS_ERR_SCHEMA, "stages[%zu].pcr must be 0..23", i);
    memcpy(sp->name, name, strlen(name) + 1);
    sp->pcr = (unsigned)pcr;
    if (json_object_get(st, "ledgerProduct") != NULL) {
        if ((err = fws_json_get_string(st, "ledgerProduct", &product, &why)) != FWS_OK)
            return fws_errf(eb, err, "stages[%zu]: %s", i, why.msg);
        if ((err = copy_name(product, sp->ledger_product, sizeof(sp->ledger_product), 0,
                             "ledgerProduct", eb)) != FWS_OK)
            return err;
    }
    if ((err = stage_digests(st, i, sp, eb)) != FWS_OK)
        return err;
    if (sp->n_digests == 0 && sp->ledger_product[0] == '\0')
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "stages[%zu] (%s) needs reference values: \"digests\" or \"ledgerProduct\"",
                        i, name);
    for (size_t k = 0; k < i; k++) {
        if (strcmp(p->stages[k].name, sp->name) == 0 || p->stages[k].pcr == sp->pcr)
            return fws_errf(eb, FWS_ERR_SCHEMA,
                            "stages[%zu] (%s) repeats the name or PCR of stages[%zu]", i, name, k);
    }
    return FWS_OK;
}

static fws_err parse_stages(const json_t *o, fws_attest_policy *p, fws_errbuf *eb)
{
    json_t *a = NULL;
    fws_err err = fws_json_get_array(o, "stages", &a, eb);
    if (err != FWS_OK)
        return err;
    if (json_array_size(a) == 0 || json_array_size(a) > FWS_ATTEST_STAGES_MAX)
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"stages\" must list 1..%d stages",
                        FWS_ATTEST_STAGES_MAX);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *st = json_array_get(a, i);
        if (!json_is_object(st))
            return fws_errf(eb, FWS_ERR_SCHEMA, "stages[%zu] must be an object", i);
        if ((err = parse_stage(st, i, p, eb)) != FWS_OK)
            return err;
    }
    p->n_stages = json_array_size(a);
    return FWS_OK;
}

static fws_err parse_recovery(const json_t *o, fws_attest_policy *p, fws_errbuf *eb)
{
    static const char *const keys[] = {"product", "version", NULL};
    json_t *a = json_object_get(o, "recovery");
    if (a == NULL)
        return FWS_OK;
    if (!json_is_array(a) || json_array_size(a) > FWS_ATTEST_RECOVERY_MAX)
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"recovery\" must be an array of at most %d",
                        FWS_ATTEST_RECOVERY_MAX);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *r = json_array_get(a, i);
        const char *product = NULL, *version = NULL;
        fws_errbuf why = {{0}};
        fws_err err;
        if ((err = fws_json_only_keys(r, keys, &why)) != FWS_OK ||
            (err = fws_json_get_string(r, "product", &product, &why)) != FWS_OK ||
            (err = fws_json_get_string(r, "version", &version, &why)) != FWS_OK)
            return fws_errf(eb, err, "recovery[%zu]: %s", i, why.msg);
        if ((err = copy_name(product, p->recovery_product[i], FWS_ATTEST_PRODUCT_MAX + 1, 0,
                             "recovery product", eb)) != FWS_OK ||
            (err = copy_name(version, p->recovery_version[i], FWS_ATTEST_VERSION_MAX + 1, 1,
                             "recovery version", eb)) != FWS_OK)
            return err;
    }
    p->n_recovery = json_array_size(a);
    return FWS_OK;
}

static fws_err parse_reboot(const json_t *o, fws_attest_policy *p, fws_errbuf *eb)
{
    static const char *const names[] = {"flag", "deny", "quarantine"};
    const char *s = NULL;
    if (json_object_get(o, "unexpectedReboot") == NULL)
        return FWS_OK;
    fws_err err = fws_json_get_string(o, "unexpectedReboot", &s, eb);
    if (err != FWS_OK)
        return err;
    for (unsigned i = 0; i < 3; i++) {
        if (strcmp(s, names[i]) == 0) {
            p->on_reboot = (fws_attest_reboot_action)i;
            return FWS_OK;
        }
    }
    return fws_errf(eb, FWS_ERR_SCHEMA,
                    "field \"unexpectedReboot\" must be \"flag\", \"deny\" or \"quarantine\"");
}

static fws_err parse_header(const json_t *o, fws_attest_policy *p, fws_errbuf *eb)
{
    static const char *const keys[] = {
        "format",        "maxAgeSeconds", "minAssurance", "unexpectedReboot",
        "minTrustScore", "stages",        "recovery",     NULL};
    const char *format = NULL, *assurance = NULL;
    int64_t score = 0;
    fws_err err;
    if ((err = fws_json_only_keys(o, keys, eb)) != FWS_OK ||
        (err = fws_json_get_string(o, "format", &format, eb)) != FWS_OK)
        return err;
    if (strcmp(format, POLICY_FORMAT) != 0)
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"format\" must be \"%s\"", POLICY_FORMAT);
    if ((err = fws_json_get_int(o, "maxAgeSeconds", &p->max_age, eb)) != FWS_OK)
        return err;
    if (p->max_age <= 0 || p->max_age > 366LL * 86400)
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"maxAgeSeconds\" must be 1..31622400");
    if ((err = fws_json_get_string(o, "minAssurance", &assurance, eb)) != FWS_OK)
        return err;
    if (fws_attest_assurance_parse(assurance, &p->min_assurance) != FWS_OK ||
        p->min_assurance == FWS_ASSURANCE_NONE)
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "field \"minAssurance\" must be \"tpm\" or \"software\"");
    if (json_object_get(o, "minTrustScore") != NULL) {
        if ((err = fws_json_get_int(o, "minTrustScore", &score, eb)) != FWS_OK)
            return err;
        if (score < 0 || score > 100)
            return fws_errf(eb, FWS_ERR_SCHEMA, "field \"minTrustScore\" must be 0..100");
        p->min_score = (unsigned)score;
    }
    return parse_reboot(o, p, eb);
}

fws_err fws_attest_policy_parse(const uint8_t *unverified, size_t len, fws_attest_policy *out,
                                fws_errbuf *eb)
{
    static const fws_json_limits limits = {FWS_ATTEST_POLICY_MAX, 8, 4096, 256};
    fws_attest_policy *p = NULL;
    json_t *o = NULL;
    fws_errbuf why = {{0}};
    if (out == NULL || (unverified == NULL && len > 0))
        return FWS_ERR_ARG;
    if (len > FWS_ATTEST_POLICY_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "policy: %zu bytes (at most %d)", len,
                        FWS_ATTEST_POLICY_MAX);
    fws_err err = fws_json_parse(unverified, len, FWS_JSON_NO_FLOATS, &limits, &o, &why);
    if (err == FWS_OK && !json_is_object(o))
        err = fws_errf(&why, FWS_ERR_SCHEMA, "the policy must be a JSON object");
    if (err == FWS_OK) {
        p = calloc(1, sizeof(*p));
        if (p == NULL)
            err = FWS_ERR_NOMEM;
    }
    if (err == FWS_OK && (err = parse_header(o, p, &why)) == FWS_OK &&
        (err = parse_stages(o, p, &why)) == FWS_OK)
        err = parse_recovery(o, p, &why);
    if (err == FWS_OK)
        memcpy(out, p, sizeof(*p));
    else
        err = fws_errf(eb, err, "policy: %s", why.msg[0] ? why.msg : fws_strerror(err));
    free(p);
    json_decref(o);
    return err;
}

fws_err fws_attest_policy_load(const char *path, fws_attest_policy *out, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_errbuf why = {{0}};
    fws_err err = fws_file_read(path, FWS_ATTEST_POLICY_MAX, &data, &len, &why);
    if (err == FWS_OK)
        err = fws_attest_policy_parse(data, len, out, &why);
    free(data);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: %s", path, why.msg[0] ? why.msg : fws_strerror(err));
    return FWS_OK;
}

uint32_t fws_attest_policy_pcrs(const fws_attest_policy *p)
{
    uint32_t mask = 0;
    for (size_t i = 0; p != NULL && i < p->n_stages && i < FWS_ATTEST_STAGES_MAX; i++)
        mask |= 1u << p->stages[i].pcr;
    return mask;
}
