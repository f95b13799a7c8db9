/* Target entries, wherever they live: in the top-level targets role, or (TAP 15 succinct hashed
 * bins) in the bin that the first bits of SHA-256(target name) select. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "repo_internal.h"

static size_t bin_of(const repo_state *st, const char *name)
{
    return (size_t)fws_tuf_bin_index(st->bit_length, name);
}

/* The "targets" object that lists (or would list) name, and the role it belongs to. */
static fws_err holder(fws_deploy *d, repo_state *st, const char *name, repo_doc **doc,
                      json_t **targets, fws_errbuf *eb)
{
    repo_doc *dc = &st->docs[FWS_TUF_TARGETS];
    if (st->bins != NULL) {
        size_t i = bin_of(st, name);
        fws_err err = repo_bin_load(d, st, i, eb);
        if (err != FWS_OK)
            return err;
        dc = &st->bins[i];
    }
    json_t *t = json_object_get(dc->signed_obj, "targets");
    if (!json_is_object(t))
        return fws_errf(eb, FWS_ERR_SCHEMA, "published targets metadata has no targets object");
    *doc = dc;
    *targets = t;
    return FWS_OK;
}

fws_err repo_target_get(fws_deploy *d, repo_state *st, const char *name, json_t **entry, char *role,
                        size_t role_cap, fws_errbuf *eb)
{
    repo_doc *doc = NULL;
    json_t *targets = NULL;
    fws_err err = holder(d, st, name, &doc, &targets, eb);
    if (err != FWS_OK)
        return err;
    json_t *e = json_object_get(targets, name);
    if (e == NULL)
        return FWS_ERR_NOT_FOUND;
    if (role != NULL && st->bins != NULL) {
        if (repo_bin_name(st, bin_of(st, name), role, role_cap) != FWS_OK)
            return FWS_ERR_TOO_BIG;
    } else if (role != NULL) {
        snprintf(role, role_cap, "targets");
    }
    *entry = e;
    return FWS_OK;
}

fws_err repo_target_put(fws_deploy *d, repo_state *st, const char *name, json_t *entry,
                        fws_errbuf *eb)
{
    repo_doc *doc = NULL;
    json_t *targets = NULL;
    fws_err err = holder(d, st, name, &doc, &targets, eb);
    if (err != FWS_OK) {
        json_decref(entry);
        return err;
    }
    if (json_object_set_new(targets, name, entry) != 0)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    doc->dirty = 1;
    return repo_bins_maybe_enable(d, st, eb);
}

fws_err repo_target_remove(fws_deploy *d, repo_state *st, const char *name, fws_errbuf *eb)
{
    repo_doc *doc = NULL;
    json_t *targets = NULL;
    fws_err err = holder(d, st, name, &doc, &targets, eb);
    if (err != FWS_OK)
        return err;
    if (json_object_del(targets, name) != 0)
        return FWS_ERR_NOT_FOUND;
    doc->dirty = 1;
    return FWS_OK;
}

/* The delegation to the bins, from the targets role in root. */
static json_t *delegation(const repo_state *st)
{
    json_t *root = st->docs[FWS_TUF_ROOT].signed_obj;
    json_t *role = json_object_get(json_object_get(root, "roles"), "targets");
    json_t *ids = json_object_get(role, "keyids");
    json_t *keys = json_object();
    for (size_t i = 0; keys != NULL && i < json_array_size(ids); i++) {
        const char *id = json_string_value(json_array_get(ids, i));
        json_t *k = json_object_get(json_object_get(root, "keys"), id);
        if (id == NULL || k == NULL || json_object_set_new(keys, id, json_deep_copy(k)) != 0) {
            json_decref(keys);
            return NULL;
        }
    }
    return json_pack("{s:o, s:{s:O, s:O, s:i, s:s}}", "keys", keys, "succinct_roles", "keyids", ids,
                     "threshold", json_object_get(role, "threshold"), "bit_length",
                     (int)st->bit_length, "name_prefix", st->prefix);
}

fws_err repo_bins_redelegate(fws_deploy *d, repo_state *st, fws_errbuf *eb)
{
    repo_doc *targets = &st->docs[FWS_TUF_TARGETS];
    json_t *del = delegation(st);
    if (del == NULL || json_object_set_new(targets->signed_obj, "delegations", del) != 0)
        return fws_errf(eb, FWS_ERR_SCHEMA, "root lists no usable keys for the targets role");
    targets->dirty = 1;
    for (size_t i = 0; i < st->n_bins; i++) {
        fws_err err = repo_bin_load(d, st, i, eb);
        if (err != FWS_OK)
            return err;
        st->bins[i].dirty = 1;
    }
    return FWS_OK;
}

/* Creates the empty bins (version 0: written as version 1 at commit). */
static fws_err create_bins(fws_deploy *d, repo_state *st, fws_errbuf *eb)
{
    st->bit_length = d->bins_bit_length;
    st->n_bins = (size_t)1 << st->bit_length;
    snprintf(st->prefix, sizeof(st->prefix), "%s", REPO_BINS_PREFIX);
    st->bins = calloc(st->n_bins, sizeof(*st->bins));
    if (st->bins == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < st->n_bins; i++) {
        json_t *s = repo_signed_new("targets");
        if (s == NULL || json_object_set_new(s, "targets", json_object()) != 0) {
            json_decref(s);
            return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
        }
        st->bins[i].signed_obj = s;
        st->bins[i].dirty = 1;
    }
    return FWS_OK;
}

fws_err repo_bins_maybe_enable(fws_deploy *d, repo_state *st, fws_errbuf *eb)
{
    repo_doc *top = &st->docs[FWS_TUF_TARGETS];
    json_t *targets = json_object_get(top->signed_obj, "targets");
    const char *name;
    json_t *entry;
    fws_err err;

    if (st->bins != NULL || json_object_size(targets) <= d->bins_threshold)
        return FWS_OK;
    if ((err = create_bins(d, st, eb)) != FWS_OK)
        return err;
    json_object_foreach(targets, name, entry)
    {
        json_t *bin = json_object_get(st->bins[bin_of(st, name)].signed_obj, "targets");
        if (json_object_set(bin, name, entry) != 0)
            return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    }
    if (json_object_set_new(top->signed_obj, "targets", json_object()) != 0)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    return repo_bins_redelegate(d, st, eb);
}
