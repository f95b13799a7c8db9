/* Publishing a prepared release: stage the files (the image re-hashed as it is copied), append
 * the `release` record to the ledger, add the targets, sign and commit, then record the release
 * in the index. Until the ledger append every failure removes what was staged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "repo_internal.h"

/* ---- publishing ---------------------------------------------------------------------------- */

typedef struct attachment {
    const char *kind; /* "sbom", "provenance" */
    const char *suffix;
    const uint8_t *data;
    size_t len;
    uint8_t sha256[FWS_SHA256_LEN], sha512[FWS_SHA512_LEN];
    char name[FWS_REPO_MAX_FIELD + 32];         /* file name */
    char target[FWS_REPO_MAX_TARGET_NAME + 32]; /* target name */
} attachment;

static json_t *hashes(const uint8_t sha256[FWS_SHA256_LEN], const uint8_t sha512[FWS_SHA512_LEN])
{
    char h256[REPO_HEX256], h512[REPO_HEX512];
    fws_hex_encode(sha256, FWS_SHA256_LEN, h256);
    fws_hex_encode(sha512, FWS_SHA512_LEN, h512);
    return json_pack("{s:s, s:s}", "sha256", h256, "sha512", h512);
}

static fws_err stage_attachment(fws_release_plan *p, attachment *a, repo_undo *undo, fws_errbuf *eb)
{
    char tmp[PATH_MAX];
    const char *file = fws_basename(p->req.image);
    fws_err err;
    fws_sha256(a->data, a->len, a->sha256);
    fws_sha512(a->data, a->len, a->sha512);
    snprintf(a->name, sizeof(a->name), "%s.%s", file, a->suffix);
    snprintf(a->target, sizeof(a->target), "%s/%s/%s", p->req.product, p->req.version, a->name);
    if ((err = release_stage_bytes(a->data, a->len, p->dir, tmp, undo, eb)) != FWS_OK)
        return err;
    return release_place(tmp, p->dir, a->name, a->sha256, a->sha512, undo, eb);
}

/* Copies the image in while hashing it again: the bytes published are the bytes judged. */
static fws_err stage_image(fws_release_plan *p, repo_undo *undo, fws_errbuf *eb)
{
    char tmp[PATH_MAX], hex[REPO_HEX256];
    uint8_t sha256[FWS_SHA256_LEN], sha512[FWS_SHA512_LEN];
    uint64_t len = 0;
    uint64_t max = p->length; /* one byte more than judged is already a change */
    fws_err err =
        release_stage_copy(p->req.image, p->dir, max + 1, tmp, sha256, sha512, &len, undo, eb);
    if (err == FWS_ERR_TOO_BIG || (err == FWS_OK && len != p->length))
        return fws_errf(eb, FWS_ERR_DIGEST,
                        "%s changed between hashing and publishing (its length is no longer "
                        "%llu); nothing was published",
                        p->req.image, (unsigned long long)p->length);
    if (err != FWS_OK)
        return err;
    if (!fws_ct_eq(sha256, p->sha256, FWS_SHA256_LEN) ||
        !fws_ct_eq(sha512, p->sha512, FWS_SHA512_LEN)) {
        fws_hex_encode(sha256, FWS_SHA256_LEN, hex);
        return fws_errf(eb, FWS_ERR_DIGEST,
                        "%s changed between hashing and publishing (its SHA-256 is now %s); "
                        "nothing was published",
                        p->req.image, hex);
    }
    return release_place(tmp, p->dir, fws_basename(p->req.image), p->sha256, p->sha512, undo, eb);
}

static json_t *string_array(const char *const *items, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++) {
        if (json_array_append_new(a, json_string(items[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *digest_ref(const attachment *a, int with_target)
{
    char hex[REPO_HEX256];
    fws_hex_encode(a->sha256, FWS_SHA256_LEN, hex);
    if (!with_target)
        return json_pack("{s:s}", "sha256", hex);
    return json_pack("{s:s, s:s}", "sha256", hex, "target", a->target);
}

/* Adds members to obj; returns 0 on success. Steals value. */
static int set(json_t *obj, const char *key, json_t *value)
{
    return value == NULL || json_object_set_new(obj, key, value) != 0;
}

/* The ledger's `release` record (schema 1): only digests of the artifacts. */
static fws_err release_record(const fws_release_plan *p, const attachment *sbom,
                              const attachment *prov, char **out, size_t *len, fws_errbuf *eb)
{
    const fws_release_req *r = &p->req;
    char when[FWS_TUF_TIME_LEN], h256[REPO_HEX256], h512[REPO_HEX512];
    int bad = fws_tuf_time_format(r->now, when) != FWS_OK;
    fws_hex_encode(p->sha256, FWS_SHA256_LEN, h256);
    fws_hex_encode(p->sha512, FWS_SHA512_LEN, h512);
    json_t *rec = json_pack("{s:s, s:i, s:s, s:s, s:s, s:{s:s, s:s, s:I}, s:I}", "type", "release",
                            "schema", 1, "time", when, "product", r->product, "version", r->version,
                            "image", "sha256", h256, "sha512", h512, "size", (json_int_t)p->length,
                            "securityCounter", (json_int_t)r->security_counter);
    bad |= rec == NULL || set(rec, "hardware", string_array(r->hardware, r->n_hardware)) ||
           set(rec, "provenance", digest_ref(prov, 0));
    if (!bad && r->n_regions > 0)
        bad |= set(rec, "regions", string_array(r->regions, r->n_regions));
    if (!bad && sbom != NULL)
        bad |= set(rec, "sbom", digest_ref(sbom, 0));
    if (!bad && p->changelog != NULL)
        bad |= set(rec, "changelog", json_string(p->changelog));
    fws_err err = bad ? FWS_ERR_NOMEM : fws_json_canonical(rec, out, len);
    json_decref(rec);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot build the ledger record");
    return FWS_OK;
}

/* custom.fwseal of the image target. */
static json_t *image_custom(const fws_release_plan *p, const attachment *sbom,
                            const attachment *prov, uint64_t ledger_index)
{
    const fws_release_req *r = &p->req;
    json_t *c = json_pack("{s:s, s:s, s:I, s:s, s:I, s:s}", "product", r->product, "version",
                          r->version, "securityCounter", (json_int_t)r->security_counter,
                          "changelog", p->changelog ? p->changelog : "", "ledgerIndex",
                          (json_int_t)ledger_index, "nonce", p->nonce);
    if (c == NULL || set(c, "hardware", string_array(r->hardware, r->n_hardware)) ||
        set(c, "regions", string_array(r->regions, r->n_regions)) ||
        set(c, "provenance", digest_ref(prov, 1)) ||
        (sbom != NULL && set(c, "sbom", digest_ref(sbom, 1)))) {
        json_decref(c);
        return NULL;
    }
    return json_pack("{s:o}", "fwseal", c);
}

static json_t *target_entry(uint64_t length, const uint8_t sha256[FWS_SHA256_LEN],
                            const uint8_t sha512[FWS_SHA512_LEN], json_t *custom)
{
    if (custom == NULL)
        return NULL;
    return json_pack("{s:I, s:o, s:o}", "length", (json_int_t)length, "hashes",
                     hashes(sha256, sha512), "custom", custom);
}

static fws_err put_targets(fws_deploy *d, fws_release_plan *p, const attachment *sbom,
                           const attachment *prov, uint64_t ledger_index, fws_errbuf *eb)
{
    const attachment *att[2] = {prov, sbom};
    fws_err err = repo_target_put(
        d, &p->st, p->target,
        target_entry(p->length, p->sha256, p->sha512, image_custom(p, sbom, prov, ledger_index)),
        eb);
    for (int i = 0; i < 2 && err == FWS_OK; i++) {
        if (att[i] == NULL)
            continue;
        json_t *custom =
            json_pack("{s:{s:s, s:s}}", "fwseal", "attachment", att[i]->kind, "for", p->target);
        err =
            repo_target_put(d, &p->st, att[i]->target,
                            target_entry(att[i]->len, att[i]->sha256, att[i]->sha512, custom), eb);
    }
    return err;
}

static json_t *index_entry(const fws_release_plan *p, const attachment *sbom,
                           const attachment *prov, uint64_t ledger_index)
{
    const fws_release_req *r = &p->req;
    char when[FWS_TUF_TIME_LEN], h256[REPO_HEX256], h512[REPO_HEX512];
    if (fws_tuf_time_format(r->now, when) != FWS_OK)
        return NULL;
    fws_hex_encode(p->sha256, FWS_SHA256_LEN, h256);
    fws_hex_encode(p->sha512, FWS_SHA512_LEN, h512);
    json_t *e = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:I, s:s, s:s, s:b}", "product",
                          r->product, "version", r->version, "target", p->target, "length",
                          (json_int_t)p->length, "sha256", h256, "sha512", h512, "securityCounter",
                          (json_int_t)r->security_counter, "ledgerIndex", (json_int_t)ledger_index,
                          "publishedAt", when, "nonce", p->nonce, "provenanceGenerated",
                          r->provenance == NULL);
    if (e == NULL || set(e, "hardware", string_array(r->hardware, r->n_hardware)) ||
        set(e, "regions", string_array(r->regions, r->n_regions)) ||
        set(e, "provenance", digest_ref(prov, 1)) ||
        (sbom != NULL && set(e, "sbom", digest_ref(sbom, 1)))) {
        json_decref(e);
        return NULL;
    }
    return e;
}

/* Everything that can be undone: directories, the image, the provenance, the SBOM. */
static fws_err stage_all(fws_release_plan *p, attachment *sbom, attachment *prov, char **gen,
                         repo_undo *undo, fws_errbuf *eb)
{
    size_t gen_len = 0;
    fws_err err;
    if ((err = repo_mkdirs_undo(p->dir, undo, eb)) != FWS_OK ||
        (err = stage_image(p, undo, eb)) != FWS_OK)
        return err;
    prov->data = p->prov;
    prov->len = p->prov_len;
    if (p->prov == NULL) {
        err = release_make_provenance(&p->req, p->target, p->sha256, p->kr.d->origin,
                                      &p->targets_signers, gen, &gen_len, eb);
        if (err != FWS_OK)
            return err;
        prov->data = (const uint8_t *)*gen;
        prov->len = gen_len;
    }
    if ((err = stage_attachment(p, prov, undo, eb)) != FWS_OK)
        return err;
    return sbom->data == NULL ? FWS_OK : stage_attachment(p, sbom, undo, eb);
}

static void result(const fws_release_plan *p, uint64_t ledger_index, fws_release_result *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->target, sizeof(out->target), "%s", p->target);
    fws_hex_encode(p->sha256, FWS_SHA256_LEN, out->sha256);
    fws_hex_encode(p->sha512, FWS_SHA512_LEN, out->sha512);
    out->length = p->length;
    out->ledger_index = ledger_index;
    out->targets_version = p->st.docs[FWS_TUF_TARGETS].version;
    out->snapshot_version = p->st.docs[FWS_TUF_SNAPSHOT].version;
    out->timestamp_version = p->st.docs[FWS_TUF_TIMESTAMP].version;
}

/* After the ledger append: targets, commit, index. */
static fws_err publish_after_append(fws_deploy *d, fws_release_plan *p, const attachment *sbom,
                                    const attachment *prov, uint64_t ledger_index, repo_undo *undo,
                                    fws_errbuf *eb)
{
    json_t *entry = NULL;
    fws_err err;
    if ((err = put_targets(d, p, sbom, prov, ledger_index, eb)) != FWS_OK ||
        (err = repo_commit(d, &p->st, &p->kr, p->req.now, undo, eb)) != FWS_OK)
        return err;
    repo_undo_clear(undo); /* published */
    entry = index_entry(p, sbom, prov, ledger_index);
    if (entry == NULL || json_array_append_new(json_object_get(p->index, "releases"), entry))
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    return repo_index_save(d, p->index, eb);
}

fws_err fws_release_publish(fws_deploy *d, fws_release_plan *p, const fws_repo_ledger *ledger,
                            fws_release_result *out, fws_errbuf *eb)
{
    attachment sbom = {.kind = "sbom", .suffix = "sbom.cdx.json"};
    attachment prov = {.kind = "provenance", .suffix = "provenance.dsse.json"};
    repo_undo undo = {0};
    fws_errbuf e = {{0}};
    char *gen = NULL, *record = NULL;
    size_t record_len = 0;
    uint64_t index = 0;
    fws_err err;

    if (d == NULL || p == NULL || ledger == NULL || ledger->append == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no ledger to record the release in");
    sbom.data = p->sbom;
    sbom.len = p->sbom_len;
    if ((err = stage_all(p, &sbom, &prov, &gen, &undo, eb)) != FWS_OK ||
        (err = release_record(p, p->sbom ? &sbom : NULL, &prov, &record, &record_len, eb)) ||
        (err = ledger->append(ledger->ctx, (const uint8_t *)record, record_len, &index, eb)))
        goto out;
    err = publish_after_append(d, p, p->sbom ? &sbom : NULL, &prov, index, &undo, &e);
    if (err != FWS_OK)
        err = fws_errf(eb, err, "ledger record %llu was appended, but publishing failed: %s",
                       (unsigned long long)index, e.msg);
out:
    repo_undo_rollback(&undo);
    free(gen);
    free(record);
    if (err == FWS_OK && out != NULL) {
        result(p, index, out);
        char *role = out->delegated_role;
        json_t *entry = NULL;
        if (repo_target_get(d, &p->st, p->target, &entry, role, sizeof(out->delegated_role),
                            NULL) != FWS_OK)
            snprintf(role, sizeof(out->delegated_role), "targets");
    }
    return err;
}

fws_err fws_release_add(fws_deploy *d, const fws_release_req *req, const fws_repo_ledger *ledger,
                        fws_release_result *out, fws_errbuf *eb)
{
    fws_release_plan *p = NULL;
    fws_err err = fws_release_prepare(d, req, &p, eb);
    if (err != FWS_OK)
        return err;
    err = fws_release_publish(d, p, ledger, out, eb);
    fws_release_plan_free(p);
    return err;
}
