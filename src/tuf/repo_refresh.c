/* `fwseal repo refresh`: re-sign what is close to expiry, for a timer; and the repository's
 * status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "repo_internal.h"

/* Less than half of the role's period left (or expired). */
static int due(const fws_deploy *d, const repo_doc *doc, fws_tuf_kind kind, int64_t now)
{
    return repo_doc_expires(doc) - now < d->expires[kind] / 2;
}

static fws_err mark_bins(fws_deploy *d, repo_state *st, int64_t now, size_t *n, fws_errbuf *eb)
{
    *n = 0;
    for (size_t i = 0; i < st->n_bins; i++) {
        fws_err err = repo_bin_load(d, st, i, eb);
        if (err != FWS_OK)
            return err;
        if (due(d, &st->bins[i], FWS_TUF_TARGETS, now)) {
            st->bins[i].dirty = 1;
            (*n)++;
        }
    }
    return FWS_OK;
}

fws_err fws_repo_refresh(fws_deploy *d, const fws_refresh_req *r, fws_refresh_result *out,
                         fws_errbuf *eb)
{
    repo_state st;
    repo_keyring kr;
    repo_undo undo = {0};
    fws_refresh_result res;
    int before[FWS_TUF_KIND_COUNT];
    fws_err err;

    if (d == NULL || r == NULL)
        return FWS_ERR_ARG;
    memset(&res, 0, sizeof(res));
    repo_keyring_init(&kr, d, r->pp, &r->extra_keys);
    if ((err = repo_state_load(d, &st, eb)) != FWS_OK)
        return err;
    if (due(d, &st.docs[FWS_TUF_ROOT], FWS_TUF_ROOT, r->now)) {
        st.docs[FWS_TUF_ROOT].dirty = r->include_root;
        res.root_due = !r->include_root;
        st.old_root = json_deep_copy(
            json_object_get(json_object_get(st.docs[FWS_TUF_ROOT].signed_obj, "roles"), "root"));
    }
    st.docs[FWS_TUF_TARGETS].dirty = due(d, &st.docs[FWS_TUF_TARGETS], FWS_TUF_TARGETS, r->now);
    st.docs[FWS_TUF_SNAPSHOT].dirty = due(d, &st.docs[FWS_TUF_SNAPSHOT], FWS_TUF_SNAPSHOT, r->now);
    if ((err = mark_bins(d, &st, r->now, &res.bins_resigned, eb)) != FWS_OK)
        goto out;
    for (int k = 0; k < FWS_TUF_KIND_COUNT; k++)
        before[k] = (int)st.docs[k].version;
    int any = st.docs[FWS_TUF_ROOT].dirty || st.docs[FWS_TUF_TARGETS].dirty ||
              st.docs[FWS_TUF_SNAPSHOT].dirty || res.bins_resigned > 0;
    if (any || r->force || due(d, &st.docs[FWS_TUF_TIMESTAMP], FWS_TUF_TIMESTAMP, r->now))
        err = repo_commit(d, &st, &kr, r->now, &undo, eb);
    if (err != FWS_OK)
        goto out;
    repo_undo_clear(&undo);
    for (int k = 0; k < FWS_TUF_KIND_COUNT; k++) {
        res.resigned[k] = st.docs[k].version != before[k];
        res.expires[k] = repo_doc_expires(&st.docs[k]);
    }
    if (out != NULL)
        *out = res;
out:
    repo_undo_rollback(&undo);
    repo_keyring_free(&kr);
    repo_state_free(&st);
    return err;
}

static json_t *role_status(const repo_state *st, fws_tuf_kind kind, int64_t now)
{
    const repo_doc *doc = &st->docs[kind];
    json_t *role = json_object_get(json_object_get(st->docs[FWS_TUF_ROOT].signed_obj, "roles"),
                                   fws_tuf_kind_name(kind));
    int64_t exp = repo_doc_expires(doc);
    return json_pack("{s:I, s:s, s:b, s:O, s:O}", "version", (json_int_t)doc->version, "expires",
                     json_string_value(json_object_get(doc->signed_obj, "expires")), "expired",
                     exp <= now, "keyids", json_object_get(role, "keyids"), "threshold",
                     json_object_get(role, "threshold"));
}

fws_err fws_repo_status(fws_deploy *d, int64_t now, json_t **out, fws_errbuf *eb)
{
    repo_state st;
    fws_err err = repo_state_load(d, &st, eb);
    if (err != FWS_OK)
        return err;
    json_t *targets = json_object_get(st.docs[FWS_TUF_TARGETS].signed_obj, "targets");
    json_t *s = json_pack("{s:s, s:{}, s:I}", "origin", d->origin, "roles", "topLevelTargets",
                          (json_int_t)json_object_size(targets));
    for (int k = 0; s != NULL && k < FWS_TUF_KIND_COUNT; k++) {
        json_t *r = role_status(&st, (fws_tuf_kind)k, now);
        if (r == NULL ||
            json_object_set_new(json_object_get(s, "roles"), fws_tuf_kind_name((fws_tuf_kind)k), r))
            err = FWS_ERR_NOMEM;
    }
    if (s != NULL && err == FWS_OK && st.bins != NULL &&
        json_object_set_new(s, "hashedBins",
                            json_pack("{s:i, s:I, s:s}", "bitLength", (int)st.bit_length, "bins",
                                      (json_int_t)st.n_bins, "namePrefix", st.prefix)) != 0)
        err = FWS_ERR_NOMEM;
    repo_state_free(&st);
    if (s == NULL || err != FWS_OK) {
        json_decref(s);
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    }
    *out = s;
    return FWS_OK;
}
