/* releases.json: every release ever made (revoked ones included), for list/show, duplicate
 * versions and security counters. The TUF metadata stays the authority on what is published. */
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "repo_internal.h"

fws_err repo_index_load(fws_deploy *d, json_t **out, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *idx = NULL, *releases = NULL;
    const char *format = NULL;
    fws_errbuf e = {{0}};
    fws_err err = fws_file_read(d->index_path, REPO_INDEX_MAX, &data, &len, eb);
    if (err != FWS_OK)
        return err;
    fws_json_limits lim = fws_json_default_limits;
    lim.max_bytes = REPO_INDEX_MAX;
    lim.max_members = (size_t)1 << 22;
    err = fws_json_parse(data, len, FWS_JSON_NO_FLOATS, &lim, &idx, &e);
    free(data);
    if (err == FWS_OK && ((err = fws_json_get_string(idx, "format", &format, &e)) != FWS_OK ||
                          (err = fws_json_get_array(idx, "releases", &releases, &e)) != FWS_OK))
        err = FWS_ERR_SCHEMA;
    if (err == FWS_OK && strcmp(format, REPO_INDEX_FORMAT) != 0)
        err = fws_errf(&e, FWS_ERR_SCHEMA, "format is not \"%s\"", REPO_INDEX_FORMAT);
    for (size_t i = 0; err == FWS_OK && i < json_array_size(releases); i++) {
        json_t *r = json_array_get(releases, i);
        const char *s = NULL;
        int64_t n = 0;
        if ((err = fws_json_get_string(r, "product", &s, &e)) != FWS_OK ||
            (err = fws_json_get_string(r, "version", &s, &e)) != FWS_OK ||
            (err = fws_json_get_string(r, "target", &s, &e)) != FWS_OK ||
            (err = fws_json_get_int(r, "securityCounter", &n, &e)) != FWS_OK)
            break;
    }
    if (err != FWS_OK) {
        json_decref(idx);
        return fws_errf(eb, err, "%s: %s", d->index_path, e.msg);
    }
    *out = idx;
    return FWS_OK;
}

fws_err repo_index_save(fws_deploy *d, json_t *index, fws_errbuf *eb)
{
    char *text = NULL;
    size_t len = 0;
    fws_err err = fws_json_pretty(index, &text, &len);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: cannot encode", d->index_path);
    err = fws_file_write_atomic(d->index_path, text, len, 0644, 1, eb);
    free(text);
    return err;
}

static int is(const json_t *r, const char *key, const char *value)
{
    const char *s = json_string_value(json_object_get(r, key));
    return s != NULL && strcmp(s, value) == 0;
}

json_t *repo_index_find(json_t *index, const char *product, const char *version)
{
    json_t *releases = json_object_get(index, "releases");
    for (size_t i = 0; i < json_array_size(releases); i++) {
        json_t *r = json_array_get(releases, i);
        if (is(r, "product", product) && is(r, "version", version))
            return r;
    }
    return NULL;
}

uint64_t repo_index_max_counter(json_t *index, const char *product, int *found)
{
    json_t *releases = json_object_get(index, "releases");
    uint64_t max = 0;
    *found = 0;
    for (size_t i = 0; i < json_array_size(releases); i++) {
        json_t *r = json_array_get(releases, i);
        json_int_t c = json_integer_value(json_object_get(r, "securityCounter"));
        if (!is(r, "product", product) || c < 0)
            continue;
        if (!*found || (uint64_t)c > max)
            max = (uint64_t)c;
        *found = 1;
    }
    return max;
}

fws_err fws_release_list(fws_deploy *d, const char *product, json_t **out, fws_errbuf *eb)
{
    json_t *idx = NULL, *list = json_array();
    fws_err err = list == NULL ? FWS_ERR_NOMEM : repo_index_load(d, &idx, eb);
    json_t *releases = json_object_get(idx, "releases");
    for (size_t i = 0; err == FWS_OK && i < json_array_size(releases); i++) {
        json_t *r = json_array_get(releases, i);
        if ((product == NULL || is(r, "product", product)) && json_array_append(list, r) != 0)
            err = fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    }
    json_decref(idx);
    if (err != FWS_OK) {
        json_decref(list);
        return err;
    }
    *out = list;
    return FWS_OK;
}

fws_err fws_release_show(fws_deploy *d, const char *product, const char *version, json_t **out,
                         fws_errbuf *eb)
{
    json_t *idx = NULL, *entry = NULL, *found = NULL;
    char role[64];
    repo_state st;
    fws_err err = repo_index_load(d, &idx, eb);
    if (err != FWS_OK)
        return err;
    found = repo_index_find(idx, product, version);
    if (found == NULL) {
        json_decref(idx);
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "no release %s %s in %s", product, version, d->dir);
    }
    json_t *copy = json_deep_copy(found);
    json_decref(idx);
    if (copy == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    if ((err = repo_state_load(d, &st, eb)) != FWS_OK) {
        json_decref(copy);
        return err;
    }
    const char *target = json_string_value(json_object_get(copy, "target"));
    err = repo_target_get(d, &st, target, &entry, role, sizeof(role), eb);
    if (err == FWS_OK &&
        json_object_set_new(copy, "published",
                            json_pack("{s:s, s:O}", "role", role, "entry", entry)) != 0)
        err = fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    else if (err == FWS_ERR_NOT_FOUND)
        err = FWS_OK;
    repo_state_free(&st);
    if (err != FWS_OK) {
        json_decref(copy);
        return err;
    }
    *out = copy;
    return FWS_OK;
}
