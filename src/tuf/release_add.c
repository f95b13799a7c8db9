/* `fwseal release add`: judge everything first (fws_release_prepare, which writes nothing), then
 * stage the files, re-hash the image as it is copied, append the ledger record, and publish
 * (fws_release_publish). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/dsse.h"
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "repo_internal.h"

#define IMAGE_MAX_DEFAULT (2ull * 1024 * 1024 * 1024)

void fws_release_plan_free(fws_release_plan *p)
{
    if (p == NULL)
        return;
    free(p->changelog);
    free(p->sbom);
    free(p->prov);
    repo_state_free(&p->st);
    repo_keyring_free(&p->kr);
    json_decref(p->index);
    free(p);
}

static fws_err read_inputs(fws_release_plan *p, fws_errbuf *eb)
{
    const fws_release_req *r = &p->req;
    uint64_t max = r->max_image_size ? r->max_image_size : IMAGE_MAX_DEFAULT;
    fws_err err;
    if (r->changelog != NULL && (err = release_read_changelog(r->changelog, &p->changelog, eb)))
        return err;
    if (r->sbom != NULL) {
        fws_sbom_check_fn check = r->sbom_check ? r->sbom_check : fws_release_sbom_check_basic;
        fws_errbuf e = {{0}};
        if ((err = fws_file_read(r->sbom, FWS_REPO_MAX_SBOM, &p->sbom, &p->sbom_len, eb)))
            return err;
        if ((err = check(p->sbom, p->sbom_len, &e)) != FWS_OK)
            return fws_errf(eb, err, "%s: not a valid CycloneDX 1.6 SBOM: %s", r->sbom, e.msg);
    }
    err = fws_hash_file(r->image, max, p->sha256, p->sha512, &p->length, eb);
    if (err == FWS_OK && p->length == 0)
        err = fws_errf(eb, FWS_ERR_ARG, "%s: the image is empty", r->image);
    if (err != FWS_OK || r->provenance == NULL)
        return err;
    if ((err = fws_file_read(r->provenance, FWS_DSSE_MAX_ENVELOPE, &p->prov, &p->prov_len, eb)))
        return err;
    fws_provenance_check_fn check =
        r->provenance_check ? r->provenance_check : fws_release_provenance_check_basic;
    return check(r->provenance, p->prov, p->prov_len, p->sha256, eb);
}

/* A duplicate version, a target already published, or a lower security counter. */
static fws_err check_history(fws_deploy *d, fws_release_plan *p, fws_errbuf *eb)
{
    const fws_release_req *r = &p->req;
    json_t *entry = NULL;
    int found = 0;
    fws_err err = repo_index_load(d, &p->index, eb);
    if (err != FWS_OK)
        return err;
    json_t *old = repo_index_find(p->index, r->product, r->version);
    if (old != NULL)
        return fws_errf(eb, FWS_ERR_EXISTS,
                        "%s %s was already released%s (versions are never "
                        "reused)",
                        r->product, r->version,
                        json_object_get(old, "revoked") ? " and revoked" : "");
    err = repo_target_get(d, &p->st, p->target, &entry, NULL, 0, eb);
    if (err == FWS_OK)
        return fws_errf(eb, FWS_ERR_EXISTS,
                        "target %s is already published, but not in releases.json (a release "
                        "stopped after publishing): release another version",
                        p->target);
    if (err != FWS_ERR_NOT_FOUND)
        return err;
    uint64_t last = repo_index_max_counter(p->index, r->product, &found);
    if (found && r->security_counter < last)
        return fws_errf(eb, FWS_ERR_ROLLBACK,
                        "security counter %llu is lower than %llu, the highest released for %s",
                        (unsigned long long)r->security_counter, (unsigned long long)last,
                        r->product);
    return FWS_OK;
}

static json_t *role_of(const repo_state *st, fws_tuf_kind kind)
{
    json_t *roles = json_object_get(st->docs[FWS_TUF_ROOT].signed_obj, "roles");
    return json_object_get(roles, fws_tuf_kind_name(kind));
}

/* Opens every key the publication needs, so a missing key or passphrase fails now. */
static fws_err open_keys(fws_deploy *d, fws_release_plan *p, fws_errbuf *eb)
{
    repo_signer_set set;
    json_t *bins = json_object_get(
        json_object_get(p->st.docs[FWS_TUF_TARGETS].signed_obj, "delegations"), "succinct_roles");
    fws_err err;
    repo_keyring_init(&p->kr, d, p->req.pp, &p->req.extra_keys);
    if ((err = repo_keyring_role(&p->kr, role_of(&p->st, FWS_TUF_TARGETS), "targets",
                                 &p->targets_signers, eb)) != FWS_OK ||
        (err = repo_keyring_role(&p->kr, role_of(&p->st, FWS_TUF_SNAPSHOT), "snapshot", &set,
                                 eb)) != FWS_OK ||
        (err = repo_keyring_role(&p->kr, role_of(&p->st, FWS_TUF_TIMESTAMP), "timestamp", &set,
                                 eb)) != FWS_OK)
        return err;
    if (bins != NULL)
        err = repo_keyring_role(&p->kr, bins, "hashed bins", &set, eb);
    return err;
}

fws_err fws_release_prepare(fws_deploy *d, const fws_release_req *req, fws_release_plan **out,
                            fws_errbuf *eb)
{
    fws_err err;
    if (d == NULL || req == NULL || out == NULL)
        return FWS_ERR_ARG;
    fws_release_plan *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    p->req = *req;
    if ((err = release_check_request(req, p->target, eb)) != FWS_OK ||
        (err = repo_path(p->dir, eb, "%s/%s/%s", d->targets_dir, req->product, req->version)) ||
        (err = read_inputs(p, eb)) != FWS_OK)
        goto out;
    if ((err = repo_state_load(d, &p->st, eb)) != FWS_OK)
        goto out;
    if ((err = repo_state_check_fresh(&p->st, req->now, eb)) != FWS_OK ||
        (err = check_history(d, p, eb)) != FWS_OK || (err = open_keys(d, p, eb)) != FWS_OK)
        goto out;
    if ((err = repo_random_hex(16, p->nonce)) != FWS_OK)
        err = fws_errf(eb, err, "no randomness for the update nonce");
out:
    if (err != FWS_OK) {
        fws_release_plan_free(p);
        return err;
    }
    *out = p;
    return FWS_OK;
}
