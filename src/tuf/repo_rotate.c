/* `fwseal key rotate ROLE`: new keys for a role, root N+1 signed by the previous root keys (and,
 * for root, by the new ones), and every role the new keys sign re-signed. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "repo_internal.h"
#include "repo_keylog.h"

static json_t *root_role(const repo_state *st, fws_tuf_kind kind)
{
    json_t *roles = json_object_get(st->docs[FWS_TUF_ROOT].signed_obj, "roles");
    return json_object_get(roles, fws_tuf_kind_name(kind));
}

/* 1 when the config's keys for the role are the keys root names for it. */
static int same_keys(const json_t *cfg_keys, const json_t *keyids)
{
    if (json_array_size(cfg_keys) != json_array_size(keyids))
        return 0;
    for (size_t i = 0; i < json_array_size(cfg_keys); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(cfg_keys, i), "keyid"));
        int found = 0;
        for (size_t j = 0; id != NULL && j < json_array_size(keyids); j++)
            found |= strcmp(id, json_string_value(json_array_get(keyids, j))) == 0;
        if (!found)
            return 0;
    }
    return 1;
}

/* Where new root keys go by default: beside the current first root key when that one is
 * kept outside the deployment. */
static fws_err default_key_dir(fws_deploy *d, fws_tuf_kind kind, char dir[PATH_MAX])
{
    const char *ref = json_string_value(
        json_object_get(json_array_get(repo_config_role_keys(d, kind), 0), "ref"));
    char copy[PATH_MAX];
    dir[0] = '\0';
    if (kind != FWS_TUF_ROOT || ref == NULL || ref[0] != '/')
        return FWS_OK;
    snprintf(copy, sizeof(copy), "%s", ref);
    return repo_path(dir, NULL, "%s", dirname(copy));
}

/* New keys, adopted by kr; config entries in *entries. */
static fws_err new_keys(fws_deploy *d, const fws_rotate_req *r, unsigned n, repo_keyring *kr,
                        json_t **entries, repo_undo *undo, fws_errbuf *eb)
{
    char dir[PATH_MAX], id[FWS_TUF_KEYID_HEX_LEN];
    const char *name = fws_tuf_kind_name(r->role);
    fws_err err = default_key_dir(d, r->role, dir);
    json_t *list = json_array();
    if (err != FWS_OK || list == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    const char *key_dir = r->key_dir ? r->key_dir : (dir[0] ? dir : NULL);
    for (unsigned i = 0; i < n && err == FWS_OK; i++) {
        json_t *entry = NULL;
        err = repo_key_create(kr, name, d->key_type, key_dir, &entry, id, undo, eb);
        if (err == FWS_OK)
            json_array_append_new(list, entry);
    }
    if (err != FWS_OK) {
        json_decref(list);
        return err;
    }
    *entries = list;
    return FWS_OK;
}

/* Existing keys named by reference (a token's keys): opened now, so that they are known to
 * work, and recorded by reference. */
static fws_err use_keys(const fws_rotate_req *r, repo_keyring *kr, json_t **entries, fws_errbuf *eb)
{
    char id[FWS_TUF_KEYID_HEX_LEN];
    json_t *list = json_array();
    fws_err err = list == NULL ? FWS_ERR_NOMEM : FWS_OK;
    for (size_t i = 0; i < r->use.n && err == FWS_OK; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(r->use.refs[i], r->use.refs[j]) == 0)
                err = fws_errf(eb, FWS_ERR_ARG, "%s is named twice", r->use.refs[i]);
        }
        if (err == FWS_OK && (err = repo_keyring_open(kr, r->use.refs[i], id, eb)) == FWS_OK &&
            json_array_append_new(list,
                                  json_pack("{s:s, s:s}", "keyid", id, "ref", r->use.refs[i])) != 0)
            err = fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    }
    if (err != FWS_OK) {
        json_decref(list);
        return err;
    }
    *entries = list;
    return FWS_OK;
}

/* Key objects of the new keys (opened in kr) into root.keys; the role lists them. */
static fws_err set_root_role(repo_state *st, fws_tuf_kind kind, const json_t *entries,
                             unsigned threshold, repo_keyring *kr, fws_errbuf *eb)
{
    json_t *root = st->docs[FWS_TUF_ROOT].signed_obj, *keys = json_object_get(root, "keys");
    json_t *ids = json_array();
    for (size_t i = 0; ids != NULL && i < json_array_size(entries); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(entries, i), "keyid"));
        repo_signer_set set;
        json_t *one = json_pack("{s:[s], s:i}", "keyids", id, "threshold", 1), *obj = NULL;
        fws_key *pub = NULL;
        char check[FWS_TUF_KEYID_HEX_LEN];
        fws_err err = one == NULL ? FWS_ERR_NOMEM : repo_keyring_role(kr, one, "new key", &set, eb);
        json_decref(one);
        if (err == FWS_OK && (err = set.s[0]->public_key(set.s[0]->impl, &pub)) == FWS_OK)
            err = repo_key_object(pub, &obj, check, eb);
        fws_key_free(pub);
        if (err != FWS_OK || json_object_set_new(keys, id, obj) != 0 ||
            json_array_append_new(ids, json_string(id)) != 0) {
            json_decref(ids);
            return fws_errf(eb, err ? err : FWS_ERR_NOMEM, "cannot add key %.16s to root", id);
        }
    }
    json_t *role = json_pack("{s:o, s:i}", "keyids", ids, "threshold", (int)threshold);
    if (role == NULL ||
        json_object_set_new(json_object_get(root, "roles"), fws_tuf_kind_name(kind), role) != 0)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    /* Drop keys no role lists any more. */
    const char *id;
    json_t *v, *tmp;
    json_object_foreach_safe(keys, tmp, id, v)
    {
        int used = 0;
        for (int k = 0; k < FWS_TUF_KIND_COUNT; k++) {
            json_t *l = json_object_get(root_role(st, (fws_tuf_kind)k), "keyids");
            for (size_t j = 0; j < json_array_size(l); j++)
                used |= strcmp(id, json_string_value(json_array_get(l, j))) == 0;
        }
        if (!used)
            json_object_del(keys, id);
    }
    return FWS_OK;
}

/* Marks what the role's new keys must re-sign. */
static fws_err mark_dirty(fws_deploy *d, repo_state *st, fws_tuf_kind kind, fws_errbuf *eb)
{
    st->docs[FWS_TUF_ROOT].dirty = 1;
    if (kind == FWS_TUF_SNAPSHOT)
        st->docs[FWS_TUF_SNAPSHOT].dirty = 1;
    if (kind != FWS_TUF_TARGETS)
        return FWS_OK;
    st->docs[FWS_TUF_TARGETS].dirty = 1;
    return st->bins != NULL ? repo_bins_redelegate(d, st, eb) : FWS_OK;
}

static fws_err rotate(fws_deploy *d, const fws_rotate_req *r, repo_state *st, repo_keyring *kr,
                      repo_undo *undo, fws_errbuf *eb)
{
    json_t *role = root_role(st, r->role), *entries = NULL;
    json_t *cfg_keys = repo_config_role_keys(d, r->role);
    int pending = !same_keys(cfg_keys, json_object_get(role, "keyids"));
    size_t cur = json_array_size(json_object_get(role, "keyids"));
    unsigned n = r->use.n    ? (unsigned)r->use.n
                 : r->n_keys ? r->n_keys
                             : (unsigned)(pending ? json_array_size(cfg_keys) : cur);
    unsigned k = r->threshold ? r->threshold
                              : (unsigned)json_integer_value(json_object_get(role, "threshold"));
    fws_err err;
    if (!r->threshold && k > n)
        k = n;
    if (n == 0 || n > FWS_REPO_MAX_KEYS || k == 0 || k > n)
        return fws_errf(eb, FWS_ERR_ARG, "%s needs 1..%d keys and a threshold of 1..keys",
                        fws_tuf_kind_name(r->role), FWS_REPO_MAX_KEYS);
    st->old_root = json_deep_copy(root_role(st, FWS_TUF_ROOT));
    if (st->old_root == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    if (r->use.n > 0) {
        if ((err = use_keys(r, kr, &entries, eb)) != FWS_OK)
            return err;
    } else if (pending && !r->n_keys) { /* finish a rotation whose keys were recorded */
        entries = json_deep_copy(cfg_keys);
    } else if ((err = new_keys(d, r, n, kr, &entries, undo, eb)) != FWS_OK) {
        return err;
    }
    if (entries == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    err = set_root_role(st, r->role, entries, k, kr, eb);
    if (err == FWS_OK)
        err = mark_dirty(d, st, r->role, eb);
    if (err == FWS_OK) /* every key the commit needs, before the config changes */
        err = repo_commit_check_keys(d, st, kr, eb);
    json_t *role_cfg =
        json_object_get(json_object_get(d->config, "roles"), fws_tuf_kind_name(r->role));
    if (err == FWS_OK && json_object_set_new(role_cfg, "threshold", json_integer(k)) != 0)
        err = fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    if (err == FWS_OK)
        err = repo_config_set_role_keys(d, r->role, entries, eb);
    else
        json_decref(entries);
    return err == FWS_OK ? repo_config_save(d, eb) : err;
}

/* The config now names the new keys (from here on the key files must stay): record the change
 * in the ledger, then publish. */
static fws_err record_and_publish(fws_deploy *d, const fws_rotate_req *r, repo_state *st,
                                  const json_t *old_root, repo_keyring *kr, repo_undo *undo,
                                  fws_rotate_result *res, fws_errbuf *eb)
{
    fws_errbuf e = {{0}};
    fws_err err = repo_key_records(old_root, st->docs[FWS_TUF_ROOT].signed_obj, r->role, r->now,
                                   r->ledger, res, &e);
    const char *step = "recording the key change in the ledger";
    if (err == FWS_OK) {
        err = repo_commit(d, st, kr, r->now, undo, &e);
        step = "publishing";
    }
    if (err != FWS_OK)
        return fws_errf(eb, err,
                        "the new keys are in fwseal.json, but %s failed (run `fwseal key rotate "
                        "%s` again to finish): %s",
                        step, fws_tuf_kind_name(r->role), e.msg);
    return FWS_OK;
}

fws_err fws_repo_rotate(fws_deploy *d, const fws_rotate_req *r, fws_rotate_result *out,
                        fws_errbuf *eb)
{
    repo_state st;
    repo_keyring kr;
    repo_undo undo = {0};
    fws_rotate_result res;
    json_t *old_root = NULL;
    fws_err err;
    if (d == NULL || r == NULL || (int)r->role < 0 || r->role >= FWS_TUF_KIND_COUNT)
        return FWS_ERR_ARG;
    memset(&res, 0, sizeof(res));
    repo_keyring_init(&kr, d, r->pp, &r->extra_keys);
    if ((err = repo_state_load(d, &st, eb)) != FWS_OK)
        return err;
    old_root = json_deep_copy(st.docs[FWS_TUF_ROOT].signed_obj);
    if (old_root == NULL)
        err = fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    if (err == FWS_OK && (err = rotate(d, r, &st, &kr, &undo, eb)) == FWS_OK) {
        repo_undo_clear(&undo);
        err = record_and_publish(d, r, &st, old_root, &kr, &undo, &res, eb);
    }
    repo_undo_rollback(&undo);
    if (err == FWS_OK && out != NULL) {
        json_t *ids = json_object_get(root_role(&st, r->role), "keyids");
        res.root_version = st.docs[FWS_TUF_ROOT].version;
        for (size_t i = 0; i < json_array_size(ids) && i < FWS_REPO_MAX_KEYS; i++)
            snprintf(res.keyids[res.n_keys++], FWS_KEYID_LEN, "%s",
                     json_string_value(json_array_get(ids, i)));
        *out = res;
    }
    json_decref(old_root);
    repo_keyring_free(&kr);
    repo_state_free(&st);
    return err;
}
