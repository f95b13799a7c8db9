/* Delegations of a targets document: listed roles with paths or hash prefixes, or TAP 15
 * succinct hash bins. */
#include <string.h>
#include "internal.h"
#include "fwseal/json.h"

/* Checks one entry of "roles"; names must be unique among the first i entries. */
static fws_err check_role(const json_t *roles, size_t i, fws_errbuf *eb)
{
    const json_t *r = json_array_get(roles, i);
    const json_t *paths, *prefixes, *term;
    const char *name;
    fws_tuf_role role;
    fws_err err;

    if ((err = fws_json_get_string(r, "name", &name, eb)) != FWS_OK)
        return fws_errf(eb, err, "delegated role %zu", i);
    if (strlen(name) == 0 || strlen(name) > FWS_TUF_ROLENAME_MAX || fws_tuf_is_top_level_name(name))
        return fws_errf(eb, FWS_ERR_SCHEMA, "delegated role name \"%.64s\" is not allowed", name);
    for (size_t j = 0; j < i; j++) {
        if (strcmp(name, json_string_value(json_object_get(json_array_get(roles, j), "name"))) == 0)
            return fws_errf(eb, FWS_ERR_SCHEMA, "delegated role \"%.64s\" listed twice", name);
    }
    if ((err = fws_tuf_role_parse(r, &role, eb)) != FWS_OK)
        return fws_errf(eb, err, "delegated role \"%.64s\"", name);
    term = json_object_get(r, "terminating");
    if (!json_is_boolean(term))
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "delegated role \"%.64s\": terminating must be a boolean", name);
    paths = json_object_get(r, "paths");
    prefixes = json_object_get(r, "path_hash_prefixes");
    if (paths != NULL && prefixes != NULL)
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "delegated role \"%.64s\": both paths and path_hash_prefixes", name);
    const json_t *list = paths != NULL ? paths : prefixes;
    if (list == NULL)
        return FWS_OK;
    if (!json_is_array(list))
        return fws_errf(eb, FWS_ERR_SCHEMA, "delegated role \"%.64s\": paths must be an array",
                        name);
    for (size_t k = 0; k < json_array_size(list); k++) {
        const json_t *p = json_array_get(list, k);
        if (!json_is_string(p) || strlen(json_string_value(p)) != json_string_length(p))
            return fws_errf(eb, FWS_ERR_SCHEMA, "delegated role \"%.64s\": bad path entry", name);
    }
    return FWS_OK;
}

static fws_err load_succinct(const json_t *s, fws_tuf_delegations *d, fws_errbuf *eb)
{
    int64_t bits = 0;
    fws_err err;
    if ((err = fws_tuf_role_parse(s, &d->succinct_role, eb)) != FWS_OK ||
        (err = fws_json_get_int(s, "bit_length", &bits, eb)) != FWS_OK ||
        (err = fws_json_get_string(s, "name_prefix", &d->name_prefix, eb)) != FWS_OK)
        return fws_errf(eb, err, "succinct_roles");
    if (bits < 1 || bits > 32)
        return fws_errf(eb, FWS_ERR_SCHEMA, "succinct_roles: bit_length must be 1 to 32");
    /* The longest bin name must still be a valid role name. */
    if (strlen(d->name_prefix) + 1 + 8 > FWS_TUF_ROLENAME_MAX)
        return fws_errf(eb, FWS_ERR_SCHEMA, "succinct_roles: name_prefix too long");
    d->succinct = 1;
    d->bit_length = (unsigned)bits;
    return FWS_OK;
}

fws_err fws_tuf_delegations_load(const fws_tuf_md *targets, fws_tuf_delegations *out, int *present,
                                 fws_errbuf *eb)
{
    const json_t *dobj, *roles, *succinct;
    fws_tuf_delegations d;
    fws_err err;

    if (targets == NULL || out == NULL || present == NULL || targets->kind != FWS_TUF_TARGETS)
        return FWS_ERR_ARG;
    dobj = json_object_get(targets->signed_obj, "delegations");
    if (dobj == NULL) {
        *present = 0;
        return FWS_OK;
    }
    memset(&d, 0, sizeof(d));
    roles = json_object_get(dobj, "roles");
    succinct = json_object_get(dobj, "succinct_roles");
    if ((roles == NULL) == (succinct == NULL))
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "delegations need exactly one of \"roles\" and \"succinct_roles\"");
    if (roles != NULL) {
        if (!json_is_array(roles))
            return fws_errf(eb, FWS_ERR_SCHEMA, "delegations: roles must be an array");
        if (json_array_size(roles) > FWS_TUF_DELEGATIONS_MAX)
            return fws_errf(eb, FWS_ERR_TOO_BIG, "delegations: more than %d roles",
                            FWS_TUF_DELEGATIONS_MAX);
        for (size_t i = 0; i < json_array_size(roles); i++) {
            if ((err = check_role(roles, i, eb)) != FWS_OK)
                return err;
        }
        d.roles = roles;
    } else if ((err = load_succinct(succinct, &d, eb)) != FWS_OK) {
        return err;
    }
    if ((err = fws_tuf_keyring_new(json_object_get(dobj, "keys"), &d.keys, eb)) != FWS_OK)
        return fws_errf(eb, err, "delegations");
    *out = d;
    *present = 1;
    return FWS_OK;
}

void fws_tuf_delegations_free(fws_tuf_delegations *d)
{
    if (d == NULL)
        return;
    fws_tuf_keyring_free(d->keys);
    memset(d, 0, sizeof(*d));
}

/* 1 when the listed role r is trusted for path. A role with neither list delegates nothing. */
static int role_covers(const json_t *r, const char *path)
{
    const json_t *paths = json_object_get(r, "paths");
    const json_t *prefixes = json_object_get(r, "path_hash_prefixes");
    for (size_t i = 0; i < json_array_size(paths); i++) {
        if (fws_tuf_path_match(json_string_value(json_array_get(paths, i)), path))
            return 1;
    }
    for (size_t i = 0; i < json_array_size(prefixes); i++) {
        if (fws_tuf_path_hash_match(json_string_value(json_array_get(prefixes, i)), path))
            return 1;
    }
    return 0;
}

fws_err fws_tuf_delegations_next(const fws_tuf_delegations *d, const char *path, size_t *cursor,
                                 fws_tuf_delegation *out)
{
    if (d == NULL || path == NULL || cursor == NULL || out == NULL)
        return FWS_ERR_ARG;
    if (d->succinct) {
        if (*cursor > 0)
            return FWS_ERR_NOT_FOUND;
        *cursor = 1;
        fws_err err =
            fws_tuf_bin_name(d->name_prefix, d->bit_length, fws_tuf_bin_index(d->bit_length, path),
                             out->name, sizeof(out->name));
        if (err != FWS_OK)
            return err;
        out->role = d->succinct_role;
        out->terminating = 1;
        return FWS_OK;
    }
    while (*cursor < json_array_size(d->roles)) {
        const json_t *r = json_array_get(d->roles, (*cursor)++);
        if (!role_covers(r, path))
            continue;
        const char *name = json_string_value(json_object_get(r, "name"));
        memcpy(out->name, name, strlen(name) + 1);
        if (fws_tuf_role_parse(r, &out->role, NULL) != FWS_OK)
            return FWS_ERR_SCHEMA;
        out->terminating = json_is_true(json_object_get(r, "terminating"));
        return FWS_OK;
    }
    return FWS_ERR_NOT_FOUND;
}
