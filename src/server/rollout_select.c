/* Rollout selectors: which devices a rollout is for (models, regions, groups, device IDs). */
#include <stdlib.h>
#include <string.h>
#include "fwseal/fleet.h"
#include "fwseal/json.h"

static fws_err take_list(json_t *doc, const char *key, const char ***out, size_t *n, fws_errbuf *eb)
{
    json_t *arr = json_object_get(doc, key);
    *out = NULL;
    *n = 0;
    if (arr == NULL)
        return FWS_OK;
    if (!json_is_array(arr) || json_array_size(arr) > FWS_STORE_SELECTOR_LIST_MAX)
        return fws_errf(eb, FWS_ERR_SCHEMA, "selector: \"%s\" must be a list of at most %d names",
                        key, FWS_STORE_SELECTOR_LIST_MAX);
    size_t count = json_array_size(arr);
    if (count == 0)
        return FWS_OK;
    const char **list = calloc(count, sizeof(*list));
    if (list == NULL)
        return FWS_ERR_NOMEM;
    for (size_t i = 0; i < count; i++) {
        list[i] = json_string_value(json_array_get(arr, i));
        if (list[i] == NULL) {
            free(list);
            return fws_errf(eb, FWS_ERR_SCHEMA, "selector: \"%s\" holds a non-string", key);
        }
    }
    *out = list;
    *n = count;
    return FWS_OK;
}

fws_err fws_fleet_selector_parse(const char *canonical, fws_fleet_selector *out, fws_errbuf *eb)
{
    static const char *const allowed[] = {"models", "regions", "groups", "devices", NULL};
    fws_fleet_selector s;
    memset(&s, 0, sizeof(s));
    const char *text = canonical != NULL ? canonical : "{}";
    fws_err err =
        fws_json_parse((const uint8_t *)text, strlen(text), FWS_JSON_NO_FLOATS, NULL, &s.doc, eb);
    if (err == FWS_OK && !json_is_object(s.doc))
        err = fws_errf(eb, FWS_ERR_SCHEMA, "a selector must be a JSON object");
    if (err == FWS_OK)
        err = fws_json_only_keys(s.doc, allowed, eb);
    if (err == FWS_OK)
        err = take_list(s.doc, "models", &s.models, &s.n_models, eb);
    if (err == FWS_OK)
        err = take_list(s.doc, "regions", &s.regions, &s.n_regions, eb);
    if (err == FWS_OK)
        err = take_list(s.doc, "groups", &s.groups, &s.n_groups, eb);
    if (err == FWS_OK)
        err = take_list(s.doc, "devices", &s.devices, &s.n_devices, eb);
    if (err != FWS_OK) {
        fws_fleet_selector_free(&s);
        return err;
    }
    *out = s;
    return FWS_OK;
}

void fws_fleet_selector_free(fws_fleet_selector *s)
{
    if (s == NULL)
        return;
    free(s->models);
    free(s->regions);
    free(s->groups);
    free(s->devices);
    json_decref(s->doc);
    memset(s, 0, sizeof(*s));
}

static int in_list(const char *const *list, size_t n, const char *v)
{
    if (n == 0)
        return 1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], v) == 0)
            return 1;
    }
    return 0;
}

int fws_fleet_selector_match(const fws_fleet_selector *s, const fws_store_device *d)
{
    return in_list(s->models, s->n_models, d->model) &&
           in_list(s->regions, s->n_regions, d->region) &&
           in_list(s->groups, s->n_groups, d->group) && in_list(s->devices, s->n_devices, d->id);
}
