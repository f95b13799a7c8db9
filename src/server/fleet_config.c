/* DEPLOY/fleet.json, and the release index (DEPLOY/releases.json) imported into the store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/fleet.h"
#include "fwseal/json.h"
#include "fwseal/repo.h"
#include "fwseal/tuf.h"
#include "fwseal/util.h"
#include "server/fleet.h"

#define RELEASES_MAX (64u * 1024 * 1024)

static fws_err duration(const json_t *o, const char *key, int64_t *out, fws_errbuf *eb)
{
    const char *text = NULL;
    if (json_object_get(o, key) == NULL)
        return FWS_OK;
    fws_err err = fws_json_get_string(o, key, &text, eb);
    if (err != FWS_OK)
        return err;
    if (strcmp(text, "0") == 0 || strcmp(text, "0s") == 0) {
        *out = 0;
        return FWS_OK;
    }
    if (fws_repo_duration_parse(text, out) != FWS_OK)
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "field \"%s\" must be a duration such as 30m, 1h or 2d, not \"%s\"", key,
                        text);
    return FWS_OK;
}

static fws_err percent(const json_t *o, const char *key, uint32_t *out, fws_errbuf *eb)
{
    int64_t v = 0;
    if (json_object_get(o, key) == NULL)
        return FWS_OK;
    fws_err err = fws_json_get_int(o, key, &v, eb);
    if (err == FWS_OK && (v < 0 || v > 100))
        err = fws_errf(eb, FWS_ERR_SCHEMA, "field \"%s\" must be a percentage (0 to 100)", key);
    if (err == FWS_OK)
        *out = (uint32_t)v;
    return err;
}

static fws_err recovery(const json_t *o, fws_fleet_config *c, fws_errbuf *eb)
{
    json_t *arr = NULL;
    if (json_object_get(o, "recovery") == NULL)
        return FWS_OK;
    fws_err err = fws_json_get_array(o, "recovery", &arr, eb);
    if (err != FWS_OK)
        return err;
    if (json_array_size(arr) > FWS_FLEET_RECOVERY_MAX)
        return fws_errf(eb, FWS_ERR_SCHEMA, "field \"recovery\" names more than %d releases",
                        FWS_FLEET_RECOVERY_MAX);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *pv = json_string_value(json_array_get(arr, i));
        if (pv == NULL || strchr(pv, '/') == NULL || strlen(pv) >= sizeof(c->recovery[0]))
            return fws_errf(eb, FWS_ERR_SCHEMA,
                            "field \"recovery\" must list releases as \"PRODUCT/VERSION\"");
        snprintf(c->recovery[c->n_recovery++], sizeof(c->recovery[0]), "%s", pv);
    }
    return FWS_OK;
}

fws_err fws_fleet_config_load(const char *deploy, fws_fleet_config *out, fws_errbuf *eb)
{
    static const char *const allowed[] = {
        "format", "releaseQuarantine", "successThreshold", "failureThreshold", "recovery", NULL};
    char path[FLEET_PATH_MAX];
    fws_fleet_config c;
    memset(&c, 0, sizeof(c));
    c.release_quarantine = 3600;
    c.success_threshold = 95;
    c.failure_threshold = 5;
    snprintf(path, sizeof(path), "%s/fleet.json", deploy);
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *o = NULL;
    const char *format = NULL;
    fws_err err = fws_file_read(path, FWS_FLEET_CONFIG_MAX, &data, &len, eb);
    if (err == FWS_ERR_NOT_FOUND) {
        fws_errbuf_clear(eb);
        *out = c;
        return FWS_OK;
    }
    if (err == FWS_OK)
        err = fws_json_parse(data, len, FWS_JSON_NO_FLOATS, NULL, &o, eb);
    if (err == FWS_OK && !json_is_object(o))
        err = fws_errf(eb, FWS_ERR_SCHEMA, "not a JSON object");
    if (err == FWS_OK)
        err = fws_json_only_keys(o, allowed, eb);
    if (err == FWS_OK && json_object_get(o, "format") != NULL) {
        err = fws_json_get_string(o, "format", &format, eb);
        if (err == FWS_OK && strcmp(format, "fwseal-fleet/v1") != 0)
            err = fws_errf(eb, FWS_ERR_SCHEMA, "format \"%s\" is not fwseal-fleet/v1", format);
    }
    if (err == FWS_OK)
        err = duration(o, "releaseQuarantine", &c.release_quarantine, eb);
    if (err == FWS_OK)
        err = percent(o, "successThreshold", &c.success_threshold, eb);
    if (err == FWS_OK)
        err = percent(o, "failureThreshold", &c.failure_threshold, eb);
    if (err == FWS_OK)
        err = recovery(o, &c, eb);
    json_decref(o);
    free(data);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s", path);
    *out = c;
    return FWS_OK;
}

int fleet_config_is_recovery(const fws_fleet_config *c, const char *product, const char *version)
{
    char pv[FWS_STORE_NAME_MAX + FWS_STORE_VERSION_MAX + 2];
    snprintf(pv, sizeof(pv), "%s/%s", product, version);
    for (size_t i = 0; i < c->n_recovery; i++) {
        if (strcmp(c->recovery[i], pv) == 0)
            return 1;
    }
    return 0;
}

/* ---- the release index -------------------------------------------------------------------- */

fws_err fleet_releases_read(const char *deploy, json_t **out, fws_errbuf *eb)
{
    char path[FLEET_PATH_MAX];
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *o = NULL, *arr = NULL;
    snprintf(path, sizeof(path), "%s/releases.json", deploy);
    fws_err err = fws_file_read(path, RELEASES_MAX, &data, &len, eb);
    if (err == FWS_ERR_NOT_FOUND) {
        fws_errbuf_clear(eb);
        *out = json_array();
        return *out != NULL ? FWS_OK : FWS_ERR_NOMEM;
    }
    if (err == FWS_OK)
        err = fws_json_parse(data, len, FWS_JSON_NO_FLOATS, NULL, &o, eb);
    if (err == FWS_OK)
        err = fws_json_get_array(o, "releases", &arr, eb);
    free(data);
    if (err != FWS_OK) {
        json_decref(o);
        return fws_errf(eb, err, "%s", path);
    }
    *out = json_incref(arr);
    json_decref(o);
    return FWS_OK;
}

/* One index entry as a store release. */
static fws_err entry_release(const json_t *e, const fws_fleet_config *cfg, fws_store_release *r,
                             fws_errbuf *eb)
{
    const char *product = NULL, *version = NULL, *target = NULL, *sha = NULL, *when = NULL;
    int64_t length = 0, counter = 0, published = 0;
    size_t n = 0;
    fws_err err = fws_json_get_string(e, "product", &product, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(e, "version", &version, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(e, "target", &target, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(e, "sha256", &sha, eb);
    if (err == FWS_OK)
        err = fws_json_get_int(e, "length", &length, eb);
    if (err == FWS_OK)
        err = fws_json_get_int(e, "securityCounter", &counter, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(e, "publishedAt", &when, eb);
    if (err == FWS_OK && fws_tuf_time_parse(when, &published) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "bad publishedAt \"%s\"", when);
    if (err == FWS_OK && (length < 0 || counter < 0 || published < 0))
        err = fws_errf(eb, FWS_ERR_SCHEMA, "negative length, counter or time");
    if (err != FWS_OK)
        return err;
    memset(r, 0, sizeof(*r));
    if (snprintf(r->product, sizeof(r->product), "%s", product) >= (int)sizeof(r->product) ||
        snprintf(r->version, sizeof(r->version), "%s", version) >= (int)sizeof(r->version) ||
        snprintf(r->target, sizeof(r->target), "%s", target) >= (int)sizeof(r->target) ||
        strlen(sha) != 64 || fws_hex_decode(sha, 64, r->sha256, 32, &n) != FWS_OK)
        return fws_errf(eb, FWS_ERR_SCHEMA, "release %s/%s: a field is too long or malformed",
                        product, version);
    r->size = (uint64_t)length;
    r->security_counter = (uint64_t)counter;
    r->created_at = published;
    r->quarantine_until = cfg->release_quarantine > 0 ? published + cfg->release_quarantine : 0;
    r->recovery = fleet_config_is_recovery(cfg, product, version);
    r->revoked = json_object_get(e, "revoked") != NULL;
    return FWS_OK;
}

static fws_err sync_one(fws_store *s, const json_t *e, const fws_fleet_config *cfg, size_t *added,
                        fws_errbuf *eb)
{
    fws_store_release r, have;
    fws_err err = entry_release(e, cfg, &r, eb);
    if (err != FWS_OK)
        return err;
    err = fws_store_release_find(s, r.target, &have, eb);
    if (err == FWS_ERR_NOT_FOUND) {
        int64_t id = 0;
        fws_errbuf_clear(eb);
        int revoked = r.revoked;
        r.revoked = 0;
        err = fws_store_release_add(s, &r, &id, eb);
        if (err == FWS_OK)
            (*added)++;
        if (err == FWS_OK && revoked)
            err = fws_store_release_revoke(s, id, eb);
        return err;
    }
    if (err == FWS_OK && r.revoked && !have.revoked)
        err = fws_store_release_revoke(s, have.id, eb);
    return err;
}

fws_err fws_fleet_sync_releases(fws_store *s, const char *deploy, const fws_fleet_config *cfg,
                                size_t *added, fws_errbuf *eb)
{
    json_t *arr = NULL;
    size_t n = 0;
    fws_err err = fleet_releases_read(deploy, &arr, eb);
    for (size_t i = 0; err == FWS_OK && i < json_array_size(arr); i++) {
        err = sync_one(s, json_array_get(arr, i), cfg, &n, eb);
        if (err != FWS_OK)
            err = fws_errf(eb, err, "releases.json entry %zu", i + 1);
    }
    json_decref(arr);
    if (err == FWS_OK && added != NULL)
        *added = n;
    return err;
}

/* 1 when the index entry for target lists model among its hardware. */
int fleet_release_fits(const json_t *index, const char *target, const char *model)
{
    for (size_t i = 0; i < json_array_size(index); i++) {
        const json_t *e = json_array_get(index, i);
        const char *t = json_string_value(json_object_get(e, "target"));
        if (t == NULL || strcmp(t, target) != 0)
            continue;
        const json_t *hw = json_object_get(e, "hardware");
        for (size_t k = 0; k < json_array_size(hw); k++) {
            const char *m = json_string_value(json_array_get(hw, k));
            if (m != NULL && strcmp(m, model) == 0)
                return 1;
        }
        return 0;
    }
    return 0;
}
