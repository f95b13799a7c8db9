/* Publishing: every changed document gets a new version and expiry and is signed; the new
 * versioned files are written under names nothing refers to yet (bins, targets, snapshot),
 * then root N+1 when root changed, and timestamp.json last, atomically. Until timestamp.json is
 * replaced, clients keep being served the previous consistent snapshot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "repo_internal.h"

static json_t *role_of(const repo_state *st, fws_tuf_kind kind)
{
    json_t *roles = json_object_get(st->docs[FWS_TUF_ROOT].signed_obj, "roles");
    return json_object_get(roles, fws_tuf_kind_name(kind));
}

static json_t *bins_role(const repo_state *st)
{
    json_t *del = json_object_get(st->docs[FWS_TUF_TARGETS].signed_obj, "delegations");
    return json_object_get(del, "succinct_roles");
}

static int snapshot_needed(const repo_state *st)
{
    int dirty = st->docs[FWS_TUF_SNAPSHOT].dirty || st->docs[FWS_TUF_TARGETS].dirty;
    for (size_t i = 0; i < st->n_bins && !dirty; i++)
        dirty = st->bins[i].dirty;
    return dirty;
}

fws_err repo_commit_check_keys(fws_deploy *d, repo_state *st, repo_keyring *kr, fws_errbuf *eb)
{
    repo_signer_set set;
    int bins_dirty = 0;
    fws_err err = FWS_OK;
    (void)d;
    for (size_t i = 0; i < st->n_bins; i++)
        bins_dirty |= st->bins[i].dirty;
    if (bins_dirty)
        err = repo_keyring_role(kr, bins_role(st), "hashed bins", &set, eb);
    if (err == FWS_OK && st->docs[FWS_TUF_TARGETS].dirty)
        err = repo_keyring_role(kr, role_of(st, FWS_TUF_TARGETS), "targets", &set, eb);
    if (err == FWS_OK && snapshot_needed(st))
        err = repo_keyring_role(kr, role_of(st, FWS_TUF_SNAPSHOT), "snapshot", &set, eb);
    if (err == FWS_OK && st->docs[FWS_TUF_ROOT].dirty)
        err = repo_keyring_role(kr, role_of(st, FWS_TUF_ROOT), "root", &set, eb);
    if (err == FWS_OK && st->docs[FWS_TUF_ROOT].dirty && st->old_root != NULL)
        err = repo_keyring_role(kr, st->old_root, "root (previous keys)", &set, eb);
    if (err == FWS_OK)
        err = repo_keyring_role(kr, role_of(st, FWS_TUF_TIMESTAMP), "timestamp", &set, eb);
    return err;
}

/* The bytes of a metadata file: compact JSON with sorted keys. Signatures cover the canonical
 * form of "signed", which writes control characters raw; the file escapes them (a changelog's
 * newlines) so that every JSON parser reads it. Without control characters the two agree. */
static fws_err encode(const json_t *md, char **out, size_t *len)
{
    char *text = json_dumps(md, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL)
        return FWS_ERR_FORMAT;
    *out = text;
    *len = strlen(text);
    return FWS_OK;
}

/* Bumps the version, sets the expiry, signs with each set, and encodes canonically. */
static fws_err sign_doc(repo_doc *doc, int64_t expires, const repo_signer_set *a,
                        const repo_signer_set *b, char **out, size_t *len, fws_errbuf *eb)
{
    char when[FWS_TUF_TIME_LEN];
    fws_err err = fws_tuf_time_format(expires, when);
    if (err != FWS_OK)
        return fws_errf(eb, err, "expiry out of range");
    if (json_object_set_new(doc->signed_obj, "version", json_integer(doc->version + 1)) != 0 ||
        json_object_set_new(doc->signed_obj, "expires", json_string(when)) != 0)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    json_t *md = json_pack("{s:[], s:O}", "signatures", "signed", doc->signed_obj);
    if (md == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; err == FWS_OK && i < a->n; i++)
        err = fws_tuf_sign(md, a->s[i], a->keyid[i], eb);
    for (size_t i = 0; err == FWS_OK && b != NULL && i < b->n; i++)
        err = fws_tuf_sign(md, b->s[i], b->keyid[i], eb);
    if (err == FWS_OK && (err = encode(md, out, len)) != FWS_OK)
        err = fws_errf(eb, err, "cannot encode metadata");
    json_decref(md);
    if (err != FWS_OK)
        return err;
    doc->version++;
    doc->len = *len;
    fws_sha256(*out, *len, doc->sha256);
    doc->dirty = 0;
    return FWS_OK;
}

/* Writes metadata/<file>, recording it in undo when it is new. */
static fws_err write_meta(fws_deploy *d, const char *file, const char *data, size_t len,
                          int overwrite, repo_undo *undo, fws_errbuf *eb)
{
    char path[PATH_MAX];
    struct stat sb;
    fws_err err = repo_path(path, eb, "%s/%s", d->meta_dir, file);
    if (err != FWS_OK)
        return err;
    int existed = lstat(path, &sb) == 0;
    if ((err = fws_file_write_atomic(path, data, len, 0644, overwrite, eb)) != FWS_OK)
        return err;
    if (!existed && repo_undo_add(undo, path, 0) != FWS_OK)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    return FWS_OK;
}

/* Signs and writes N.<name>.json and records it in the snapshot's meta. */
static fws_err publish_targets_doc(fws_deploy *d, repo_state *st, repo_doc *doc, const char *name,
                                   const repo_signer_set *set, int64_t now, repo_undo *undo,
                                   fws_errbuf *eb)
{
    char file[128], key[128];
    char *data = NULL;
    size_t len = 0;
    fws_err err = sign_doc(doc, now + d->expires[FWS_TUF_TARGETS], set, NULL, &data, &len, eb);
    if (err != FWS_OK)
        return err;
    snprintf(file, sizeof(file), "%lld.%s.json", (long long)doc->version, name);
    snprintf(key, sizeof(key), "%s.json", name);
    err = write_meta(d, file, data, len, 1, undo, eb);
    free(data);
    if (err != FWS_OK)
        return err;
    json_t *meta = json_object_get(st->docs[FWS_TUF_SNAPSHOT].signed_obj, "meta");
    json_t *entry = json_pack("{s:I, s:I}", "version", (json_int_t)doc->version, "length",
                              (json_int_t)doc->len);
    if (entry == NULL || json_object_set_new(meta, key, entry) != 0)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    st->docs[FWS_TUF_SNAPSHOT].dirty = 1;
    return FWS_OK;
}

static fws_err commit_targets(fws_deploy *d, repo_state *st, repo_keyring *kr, int64_t now,
                              repo_undo *undo, fws_errbuf *eb)
{
    repo_signer_set set;
    char name[64];
    fws_err err = FWS_OK;
    for (size_t i = 0; i < st->n_bins && err == FWS_OK; i++) {
        if (!st->bins[i].dirty)
            continue;
        if ((err = repo_keyring_role(kr, bins_role(st), "hashed bins", &set, eb)) != FWS_OK)
            return err;
        if (repo_bin_name(st, i, name, sizeof(name)) != FWS_OK)
            return fws_errf(eb, FWS_ERR_ARG, "bin name too long");
        err = publish_targets_doc(d, st, &st->bins[i], name, &set, now, undo, eb);
    }
    if (err != FWS_OK || !st->docs[FWS_TUF_TARGETS].dirty)
        return err;
    if ((err = repo_keyring_role(kr, role_of(st, FWS_TUF_TARGETS), "targets", &set, eb)) != FWS_OK)
        return err;
    return publish_targets_doc(d, st, &st->docs[FWS_TUF_TARGETS], "targets", &set, now, undo, eb);
}

static fws_err commit_snapshot(fws_deploy *d, repo_state *st, repo_keyring *kr, int64_t now,
                               repo_undo *undo, fws_errbuf *eb)
{
    repo_signer_set set;
    repo_doc *doc = &st->docs[FWS_TUF_SNAPSHOT];
    char file[64];
    char *data = NULL;
    size_t len = 0;
    fws_err err;
    if (!snapshot_needed(st))
        return FWS_OK;
    if ((err = repo_keyring_role(kr, role_of(st, FWS_TUF_SNAPSHOT), "snapshot", &set, eb)) !=
            FWS_OK ||
        (err = sign_doc(doc, now + d->expires[FWS_TUF_SNAPSHOT], &set, NULL, &data, &len, eb)) !=
            FWS_OK)
        return err;
    snprintf(file, sizeof(file), "%lld.snapshot.json", (long long)doc->version);
    err = write_meta(d, file, data, len, 1, undo, eb);
    free(data);
    return err;
}

static fws_err commit_root(fws_deploy *d, repo_state *st, repo_keyring *kr, int64_t now,
                           repo_undo *undo, fws_errbuf *eb)
{
    repo_signer_set set, old;
    repo_doc *doc = &st->docs[FWS_TUF_ROOT];
    char file[64];
    char *data = NULL;
    size_t len = 0;
    fws_err err;
    if (!doc->dirty)
        return FWS_OK;
    memset(&old, 0, sizeof(old));
    if ((err = repo_keyring_role(kr, role_of(st, FWS_TUF_ROOT), "root", &set, eb)) != FWS_OK ||
        (st->old_root != NULL &&
         (err = repo_keyring_role(kr, st->old_root, "root (previous keys)", &old, eb)) != FWS_OK))
        return err;
    if ((err = sign_doc(doc, now + d->expires[FWS_TUF_ROOT], &set, &old, &data, &len, eb)) !=
        FWS_OK)
        return err;
    snprintf(file, sizeof(file), "%lld.root.json", (long long)doc->version);
    err = write_meta(d, file, data, len, 0, undo, eb);
    /* From here on, root N+1 is published: it stays even if what follows fails. */
    if (err == FWS_OK) {
        repo_undo_clear(undo);
        err = write_meta(d, "root.json", data, len, 1, NULL, eb);
    }
    free(data);
    return err;
}

static fws_err commit_timestamp(fws_deploy *d, repo_state *st, repo_keyring *kr, int64_t now,
                                fws_errbuf *eb)
{
    repo_signer_set set;
    repo_doc *doc = &st->docs[FWS_TUF_TIMESTAMP], *sn = &st->docs[FWS_TUF_SNAPSHOT];
    char hex[REPO_HEX256];
    char *data = NULL;
    size_t len = 0;
    fws_err err;
    fws_hex_encode(sn->sha256, FWS_SHA256_LEN, hex);
    json_t *meta =
        json_pack("{s:{s:I, s:I, s:{s:s}}}", "snapshot.json", "version", (json_int_t)sn->version,
                  "length", (json_int_t)sn->len, "hashes", "sha256", hex);
    if (meta == NULL || json_object_set_new(doc->signed_obj, "meta", meta) != 0)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    if ((err = repo_keyring_role(kr, role_of(st, FWS_TUF_TIMESTAMP), "timestamp", &set, eb)) !=
            FWS_OK ||
        (err = sign_doc(doc, now + d->expires[FWS_TUF_TIMESTAMP], &set, NULL, &data, &len, eb)) !=
            FWS_OK)
        return err;
    err = write_meta(d, "timestamp.json", data, len, 1, NULL, eb);
    free(data);
    return err;
}

fws_err repo_commit(fws_deploy *d, repo_state *st, repo_keyring *kr, int64_t now, repo_undo *undo,
                    fws_errbuf *eb)
{
    fws_err err;
    if ((err = repo_commit_check_keys(d, st, kr, eb)) != FWS_OK ||
        (err = commit_targets(d, st, kr, now, undo, eb)) != FWS_OK ||
        (err = commit_snapshot(d, st, kr, now, undo, eb)) != FWS_OK ||
        (err = commit_root(d, st, kr, now, undo, eb)) != FWS_OK)
        return err;
    return commit_timestamp(d, st, kr, now, eb);
}
