/* `fwseal init`: a new deployment with keys for every role, version 1 of every role's metadata,
 * an empty release index and an empty ledger. Everything is built in a temporary sibling
 * directory that is renamed into place at the end, so a failure leaves nothing half made. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "repo_internal.h"

#define ORIGIN_MAX 255

static fws_err check_opts(const fws_deploy_init_opts *o, fws_errbuf *eb)
{
    unsigned n = o->root_keys ? o->root_keys : 1, k = o->root_threshold ? o->root_threshold : 1;
    if (o->dir == NULL || o->dir[0] == '\0')
        return fws_errf(eb, FWS_ERR_ARG, "no deployment directory given");
    if (o->origin == NULL || o->origin[0] == '\0' || strlen(o->origin) > ORIGIN_MAX ||
        !repo_chars_ok(o->origin, "._/:-"))
        return fws_errf(eb, FWS_ERR_ARG,
                        "origin must be 1 to %d letters, digits or \"._/:-\" (like "
                        "\"example.com/firmware\")",
                        ORIGIN_MAX);
    if (n > FWS_REPO_MAX_KEYS || k > n)
        return fws_errf(eb, FWS_ERR_ARG,
                        "root needs 1..%d keys and a threshold of 1..keys (%u of %u)",
                        FWS_REPO_MAX_KEYS, k, n);
    if (o->bins_bit_length > FWS_REPO_MAX_BIT_LENGTH)
        return fws_errf(eb, FWS_ERR_ARG, "hashed bins: bit length 1..%d", FWS_REPO_MAX_BIT_LENGTH);
    for (int r = 0; r < FWS_TUF_KIND_COUNT; r++) {
        if (o->expires[r] < 0 || o->expires[r] > 100LL * 365 * 86400)
            return fws_errf(eb, FWS_ERR_ARG, "%s expiry out of range",
                            fws_tuf_kind_name((fws_tuf_kind)r));
    }
    if (o->pp == NULL)
        return fws_errf(eb, FWS_ERR_PASSPHRASE, "a passphrase is needed to encrypt the keys");
    return FWS_OK;
}

/* dir must not exist, or be an empty directory. */
static fws_err check_target_dir(const char *dir, int *exists, fws_errbuf *eb)
{
    struct stat sb;
    struct dirent *e;
    int entries = 0;
    *exists = 0;
    if (lstat(dir, &sb) != 0)
        return errno == ENOENT ? FWS_OK : fws_errf(eb, FWS_ERR_IO, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return fws_errf(eb, FWS_ERR_EXISTS, "%s: exists and is not a directory", dir);
    DIR *dh = opendir(dir);
    if (dh == NULL)
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", dir, strerror(errno));
    while ((e = readdir(dh)) != NULL)
        entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(dh);
    if (entries != 0)
        return fws_errf(eb, FWS_ERR_EXISTS, "%s: exists and is not empty (refusing to overwrite)",
                        dir);
    *exists = 1;
    return FWS_OK;
}

static json_t *role_config(int64_t expires, unsigned threshold, json_t *keys)
{
    char dur[32];
    repo_duration_format(expires, dur, sizeof(dur));
    return json_pack("{s:s, s:i, s:o}", "expires", dur, "threshold", (int)threshold, "keys", keys);
}

/* Makes the keys of every role, the root metadata's "keys" and "roles", and the config. */
static fws_err make_keys(fws_deploy *d, const fws_deploy_init_opts *o, repo_keyring *kr,
                         json_t *root, repo_undo *undo, fws_errbuf *eb)
{
    json_t *roles_cfg = json_object_get(d->config, "roles");
    json_t *keys = json_object_get(root, "keys"), *roles = json_object_get(root, "roles");
    fws_key_type type = o->key_type ? o->key_type : FWS_KEY_ED25519;
    for (int r = 0; r < FWS_TUF_KIND_COUNT; r++) {
        const char *name = fws_tuf_kind_name((fws_tuf_kind)r);
        unsigned n = r == FWS_TUF_ROOT && o->root_keys ? o->root_keys : 1;
        unsigned k = r == FWS_TUF_ROOT && o->root_threshold ? o->root_threshold : 1;
        const char *dir = r == FWS_TUF_ROOT ? o->root_key_dir : NULL;
        json_t *cfg_keys = json_array(), *ids = json_array();
        json_t *role = json_pack("{s:o, s:i}", "keyids", ids, "threshold", (int)k);
        if (cfg_keys == NULL || role == NULL || json_object_set_new(roles, name, role) != 0 ||
            json_object_set_new(roles_cfg, name, role_config(d->expires[r], k, cfg_keys)) != 0)
            return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
        for (unsigned i = 0; i < n; i++) {
            char id[FWS_TUF_KEYID_HEX_LEN];
            json_t *entry = NULL, *obj = NULL;
            const fws_signer *s;
            fws_key *pub = NULL;
            fws_err err = repo_key_create(kr, name, type, dir, &entry, id, undo, eb);
            if (err != FWS_OK)
                return err;
            json_array_append_new(cfg_keys, entry);
            json_array_append_new(ids, json_string(id));
            s = &kr->signers[kr->n - 1];
            if ((err = s->public_key(s->impl, &pub)) != FWS_OK ||
                (err = repo_key_object(pub, &obj, id, eb)) != FWS_OK) {
                fws_key_free(pub);
                return fws_errf(eb, err, "cannot describe the new %s key", name);
            }
            fws_key_free(pub);
            json_object_set_new(keys, id, obj);
        }
    }
    return FWS_OK;
}

static fws_err make_ledger_key(fws_deploy *d, const fws_deploy_init_opts *o, fws_signer *out,
                               fws_errbuf *eb)
{
    char id[FWS_KEYID_LEN], path[PATH_MAX], ref[96];
    fws_key *k = NULL;
    fws_err err = fws_key_generate(FWS_KEY_ED25519, &k);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot generate the ledger key");
    fws_key_id(k, id);
    snprintf(ref, sizeof(ref), "keys/ledger-%.16s.pem", id);
    if ((err = repo_path(path, eb, "%s/%s", d->dir, ref)) != FWS_OK ||
        (err = fws_key_save_private(k, path, o->pp, 0, eb)) != FWS_OK)
        goto out;
    json_t *ledger = json_pack("{s:{s:s, s:s}}", "key", "keyid", id, "ref", ref);
    if (ledger == NULL || json_object_set_new(d->config, "ledger", ledger) != 0) {
        err = fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
        goto out;
    }
    err = fws_signer_from_key(k, out);
    if (err == FWS_OK)
        k = NULL;
out:
    fws_key_free(k);
    return err;
}

static json_t *initial_config(const fws_deploy_init_opts *o, const fws_deploy *d)
{
    fws_key_type type = o->key_type ? o->key_type : FWS_KEY_ED25519;
    return json_pack("{s:s, s:s, s:s, s:{}, s:[], s:{s:I, s:i}}", "format", REPO_CONFIG_FORMAT,
                     "origin", o->origin, "keyType", fws_key_type_name(type), "roles",
                     "retiredKeys", "hashedBins", "threshold", (json_int_t)d->bins_threshold,
                     "bitLength", (int)d->bins_bit_length);
}

/* Version 1 of every role, signed and written. */
static fws_err make_metadata(fws_deploy *d, const fws_deploy_init_opts *o, repo_keyring *kr,
                             repo_undo *undo, fws_errbuf *eb)
{
    repo_state st;
    fws_err err;
    memset(&st, 0, sizeof(st));
    st.docs[FWS_TUF_ROOT].signed_obj = repo_signed_new("root");
    st.docs[FWS_TUF_TARGETS].signed_obj = repo_signed_new("targets");
    st.docs[FWS_TUF_SNAPSHOT].signed_obj = repo_signed_new("snapshot");
    st.docs[FWS_TUF_TIMESTAMP].signed_obj = repo_signed_new("timestamp");
    for (int r = 0; r < FWS_TUF_KIND_COUNT; r++)
        st.docs[r].dirty = 1;
    json_t *root = st.docs[FWS_TUF_ROOT].signed_obj;
    if (root == NULL || st.docs[FWS_TUF_TARGETS].signed_obj == NULL ||
        st.docs[FWS_TUF_SNAPSHOT].signed_obj == NULL ||
        st.docs[FWS_TUF_TIMESTAMP].signed_obj == NULL ||
        json_object_set_new(root, "consistent_snapshot", json_true()) != 0 ||
        json_object_set_new(root, "keys", json_object()) != 0 ||
        json_object_set_new(root, "roles", json_object()) != 0 ||
        json_object_set_new(st.docs[FWS_TUF_TARGETS].signed_obj, "targets", json_object()) != 0 ||
        json_object_set_new(st.docs[FWS_TUF_SNAPSHOT].signed_obj, "meta", json_object()) != 0) {
        err = fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((err = make_keys(d, o, kr, root, undo, eb)) != FWS_OK ||
        (err = repo_config_save(d, eb)) != FWS_OK || (err = repo_config_load(d, eb)) != FWS_OK)
        goto out;
    err = repo_commit(d, &st, kr, o->now, NULL, eb);
out:
    repo_state_free(&st);
    return err;
}

static fws_err make_files(fws_deploy *d, fws_errbuf *eb)
{
    static const char index[] =
        "{\n  \"format\": \"" REPO_INDEX_FORMAT "\",\n  \"releases\": []\n}\n";
    char path[PATH_MAX];
    fws_err err;
    if ((err = fws_file_write_atomic(d->index_path, index, sizeof(index) - 1, 0644, 0, eb)) !=
            FWS_OK ||
        (err = repo_path(path, eb, "%s/fwseal.lock", d->dir)) != FWS_OK)
        return err;
    return fws_file_write_atomic(path, "", 0, 0644, 0, eb);
}

static fws_err build(fws_deploy *d, const fws_deploy_init_opts *o, const fws_repo_ledger *ledger,
                     repo_undo *undo, fws_errbuf *eb)
{
    repo_keyring kr;
    fws_signer lkey;
    char path[PATH_MAX];
    fws_err err;

    memset(&lkey, 0, sizeof(lkey));
    repo_keyring_init(&kr, d, o->pp, NULL);
    d->expires[FWS_TUF_ROOT] =
        o->expires[FWS_TUF_ROOT] ? o->expires[FWS_TUF_ROOT] : FWS_REPO_EXPIRES_ROOT;
    d->expires[FWS_TUF_TARGETS] =
        o->expires[FWS_TUF_TARGETS] ? o->expires[FWS_TUF_TARGETS] : FWS_REPO_EXPIRES_TARGETS;
    d->expires[FWS_TUF_SNAPSHOT] =
        o->expires[FWS_TUF_SNAPSHOT] ? o->expires[FWS_TUF_SNAPSHOT] : FWS_REPO_EXPIRES_SNAPSHOT;
    d->expires[FWS_TUF_TIMESTAMP] =
        o->expires[FWS_TUF_TIMESTAMP] ? o->expires[FWS_TUF_TIMESTAMP] : FWS_REPO_EXPIRES_TIMESTAMP;
    d->bins_threshold = o->bins_threshold ? o->bins_threshold : FWS_REPO_BINS_THRESHOLD;
    d->bins_bit_length = o->bins_bit_length ? o->bins_bit_length : FWS_REPO_BINS_BIT_LENGTH;
    d->config = initial_config(o, d);
    if (d->config == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    if ((err = repo_path(path, eb, "%s/keys", d->dir)) != FWS_OK ||
        (err = fws_mkdirs(path, 0700, eb)) != FWS_OK ||
        (err = fws_mkdirs(d->meta_dir, 0755, eb)) != FWS_OK ||
        (err = fws_mkdirs(d->targets_dir, 0755, eb)) != FWS_OK ||
        (err = make_ledger_key(d, o, &lkey, eb)) != FWS_OK ||
        (err = make_metadata(d, o, &kr, undo, eb)) != FWS_OK || (err = make_files(d, eb)) != FWS_OK)
        goto out;
    if (ledger != NULL && ledger->init != NULL)
        err =
            ledger->init(ledger->ctx, d->ledger_dir, o->origin, &lkey,
                         json_string_value(json_object_get(
                             json_object_get(json_object_get(d->config, "ledger"), "key"), "ref")),
                         eb);
    else
        err = fws_mkdirs(d->ledger_dir, 0755, eb);
out:
    fws_signer_free(&lkey);
    repo_keyring_free(&kr);
    return err;
}

static void remove_tree(const char *path);

fws_err fws_deploy_init(const fws_deploy_init_opts *o, const fws_repo_ledger *ledger,
                        char **root_out, size_t *root_len, fws_errbuf *eb)
{
    fws_deploy d;
    repo_undo undo;
    char tmp[PATH_MAX], path[PATH_MAX];
    int existed = 0;
    fws_err err;

    if (o == NULL)
        return FWS_ERR_ARG;
    memset(&d, 0, sizeof(d));
    memset(&undo, 0, sizeof(undo));
    d.lock_fd = -1;
    if ((err = check_opts(o, eb)) != FWS_OK || (err = check_target_dir(o->dir, &existed, eb)) ||
        (err = repo_path(tmp, eb, "%s.init-XXXXXX", o->dir)) != FWS_OK)
        return err;
    if (mkdtemp(tmp) == NULL)
        return fws_errf(eb, FWS_ERR_IO, "%s: cannot create a directory: %s", tmp, strerror(errno));
    if ((err = repo_path(d.dir, eb, "%s", tmp)) == FWS_OK &&
        (err = repo_deploy_paths(&d, eb)) == FWS_OK)
        err = build(&d, o, ledger, &undo, eb);
    json_decref(d.config);
    if (err == FWS_OK && existed && rmdir(o->dir) != 0)
        err = fws_errf(eb, FWS_ERR_EXISTS, "%s: no longer empty", o->dir);
    if (err == FWS_OK && rename(tmp, o->dir) != 0)
        err = fws_errf(eb, FWS_ERR_IO, "%s: rename: %s", o->dir, strerror(errno));
    if (err != FWS_OK) {
        repo_undo_rollback(&undo); /* root keys written outside the deployment */
        remove_tree(tmp);
        return err;
    }
    repo_undo_clear(&undo);
    if (root_out != NULL && root_len != NULL) {
        uint8_t *data = NULL;
        if ((err = repo_path(path, eb, "%s/repo/metadata/1.root.json", o->dir)) != FWS_OK ||
            (err = fws_file_read(path, FWS_REPO_MAX_METADATA, &data, root_len, eb)) != FWS_OK)
            return err;
        *root_out = (char *)data;
    }
    return FWS_OK;
}

/* rm -r of a directory this call created (no symlinks are followed). */
static void remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (!S_ISDIR(sb.st_mode)) {
        (void)unlink(path);
        return;
    }
    DIR *dir = opendir(path);
    struct dirent *e;
    while (dir != NULL && (e = readdir(dir)) != NULL) {
        char child[PATH_MAX];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(child, sizeof(child), "%s/%s", path, e->d_name) < (int)sizeof(child))
            remove_tree(child);
    }
    if (dir != NULL)
        closedir(dir);
    (void)rmdir(path);
}
