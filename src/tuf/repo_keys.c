/* Key references to signers, TUF key objects, and the keys one operation has open. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/pkcs11.h"
#include "fwseal/util.h"
#include "repo_internal.h"

fws_err fws_repo_signer_open(const char *ref, const char *base_dir, const fws_passphrase *pp,
                             fws_signer *out, fws_errbuf *eb)
{
    char path[PATH_MAX];
    fws_key *k = NULL;
    fws_signer s;
    int is_private = 0;
    fws_err err;

    if (ref == NULL || out == NULL)
        return FWS_ERR_ARG;
    if (fws_pkcs11_is_uri(ref))
        return fws_pkcs11_signer(ref, out, eb);
    if ((err = repo_ref_path(base_dir, ref, path, eb)) != FWS_OK)
        return err;
    if ((err = fws_key_file_kind(path, &is_private, eb)) != FWS_OK)
        return err;
    if (!is_private)
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "%s: holds a public key; a private key is needed",
                        path);
    if ((err = fws_key_load_private(path, pp, &k, eb)) != FWS_OK)
        return err;
    if ((err = fws_signer_from_key(k, &s)) != FWS_OK) {
        fws_key_free(k);
        return fws_errf(eb, err, "%s: cannot make a signer", path);
    }
    *out = s;
    return FWS_OK;
}

fws_err repo_key_object(const fws_key *pub, json_t **obj, char keyid[FWS_TUF_KEYID_HEX_LEN],
                        fws_errbuf *eb)
{
    json_t *o = NULL;
    char id[FWS_TUF_KEYID_HEX_LEN];
    fws_err err = fws_tuf_key_to_json(pub, &o);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot describe a %s key in TUF metadata",
                        fws_key_type_name(fws_key_get_type(pub)));
    err = fws_tuf_keyid(o, id);
    if (err != FWS_OK) {
        json_decref(o);
        return fws_errf(eb, err, "cannot compute a key ID");
    }
    if (obj != NULL)
        *obj = o;
    else
        json_decref(o);
    memcpy(keyid, id, sizeof(id));
    return FWS_OK;
}

/* The TUF key ID of a signer's public key. */
static fws_err signer_keyid(const fws_signer *s, char keyid[FWS_TUF_KEYID_HEX_LEN], fws_errbuf *eb)
{
    fws_key *pub = NULL;
    fws_err err = s->public_key(s->impl, &pub);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot read a signer's public key");
    err = repo_key_object(pub, NULL, keyid, eb);
    fws_key_free(pub);
    return err;
}

void repo_keyring_init(repo_keyring *kr, fws_deploy *d, const fws_passphrase *pp,
                       const fws_repo_keyrefs *extra)
{
    memset(kr, 0, sizeof(*kr));
    kr->d = d;
    kr->pp = pp;
    if (extra != NULL)
        kr->extra = *extra;
}

void repo_keyring_free(repo_keyring *kr)
{
    for (size_t i = 0; i < kr->n; i++)
        fws_signer_free(&kr->signers[i]);
    kr->n = 0;
}

static const fws_signer *keyring_find(const repo_keyring *kr, const char *keyid)
{
    for (size_t i = 0; i < kr->n; i++) {
        if (strcmp(kr->keyids[i], keyid) == 0)
            return &kr->signers[i];
    }
    return NULL;
}

fws_err repo_keyring_adopt(repo_keyring *kr, fws_signer *s, const char *keyid, fws_errbuf *eb)
{
    if (keyring_find(kr, keyid) != NULL) {
        fws_signer_free(s);
        return FWS_OK;
    }
    if (kr->n == REPO_MAX_SIGNERS) {
        fws_signer_free(s);
        return fws_errf(eb, FWS_ERR_TOO_BIG, "more than %d keys in one operation",
                        REPO_MAX_SIGNERS);
    }
    kr->signers[kr->n] = *s;
    snprintf(kr->keyids[kr->n], FWS_TUF_KEYID_HEX_LEN, "%s", keyid);
    kr->n++;
    memset(s, 0, sizeof(*s));
    return FWS_OK;
}

/* Opens a reference and adds it under the key ID of the key it really holds. */
fws_err repo_keyring_open(repo_keyring *kr, const char *ref, char keyid[FWS_TUF_KEYID_HEX_LEN],
                          fws_errbuf *eb)
{
    fws_signer s;
    fws_err err = fws_repo_signer_open(ref, kr->d->dir, kr->pp, &s, eb);
    if (err != FWS_OK)
        return err;
    if ((err = signer_keyid(&s, keyid, eb)) != FWS_OK) {
        fws_signer_free(&s);
        return err;
    }
    return repo_keyring_adopt(kr, &s, keyid, eb);
}

static void note_error(repo_keyring *kr, fws_err err, const fws_errbuf *e)
{
    if (kr->first_error[0] != '\0')
        return;
    snprintf(kr->first_error, sizeof(kr->first_error), "%s",
             e->msg[0] != '\0' ? e->msg : fws_strerror(err));
    kr->first_code = err;
}

/* Opens every extra reference once; failures are remembered, not fatal. */
static void keyring_open_extra(repo_keyring *kr)
{
    char id[FWS_TUF_KEYID_HEX_LEN];
    if (kr->extra_opened)
        return;
    kr->extra_opened = 1;
    for (size_t i = 0; i < kr->extra.n; i++) {
        fws_errbuf e = {{0}};
        fws_err err = repo_keyring_open(kr, kr->extra.refs[i], id, &e);
        if (err != FWS_OK)
            note_error(kr, err, &e);
    }
}

/* The signer for keyid: already open, from the config's reference, or from an extra one. */
static const fws_signer *keyring_get(repo_keyring *kr, const char *keyid)
{
    char id[FWS_TUF_KEYID_HEX_LEN];
    const fws_signer *s = keyring_find(kr, keyid);
    const char *ref = repo_config_find_ref(kr->d, keyid);
    if (s == NULL && ref != NULL) {
        fws_errbuf e = {{0}};
        fws_err err = repo_keyring_open(kr, ref, id, &e);
        if (err != FWS_OK)
            note_error(kr, err, &e);
        else if (strcmp(id, keyid) != 0) {
            fws_errbuf m = {{0}};
            fws_errf(&m, FWS_ERR_KEY_MISMATCH,
                     "%s holds key %.16s..., but the config names it as key %.16s...", ref, id,
                     keyid);
            note_error(kr, FWS_ERR_KEY_MISMATCH, &m);
        }
        s = keyring_find(kr, keyid);
    }
    if (s == NULL) {
        keyring_open_extra(kr);
        s = keyring_find(kr, keyid);
    }
    return s;
}

fws_err repo_keyring_role(repo_keyring *kr, const json_t *role, const char *what,
                          repo_signer_set *out, fws_errbuf *eb)
{
    fws_tuf_role r;
    repo_signer_set set;
    fws_err err = fws_tuf_role_parse(role, &r, eb);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: bad role in the published metadata", what);
    memset(&set, 0, sizeof(set));
    kr->first_error[0] = '\0';
    kr->first_code = FWS_ERR_NOT_FOUND;
    for (size_t i = 0; i < json_array_size(r.keyids); i++) {
        const char *keyid = json_string_value(json_array_get(r.keyids, i));
        const fws_signer *s = keyring_get(kr, keyid);
        if (s == NULL || set.n == sizeof(set.s) / sizeof(set.s[0]))
            continue;
        set.s[set.n] = s;
        set.keyid[set.n] = keyid;
        set.n++;
    }
    if (set.n < r.threshold) {
        if (kr->first_error[0] != '\0')
            return fws_errf(eb, kr->first_code, "%s: %zu of the %u keys needed could open: %s",
                            what, set.n, r.threshold, kr->first_error);
        return fws_errf(eb, FWS_ERR_NOT_FOUND,
                        "%s: %zu of the %u keys needed could open (no key reference for the "
                        "others: pass them with --key)",
                        what, set.n, r.threshold);
    }
    *out = set;
    return FWS_OK;
}

/* Where a new key of the deployment goes: KEY_DIR (made absolute) or DIR/keys as "keys/". */
static fws_err key_location(const fws_deploy *d, const char *key_dir, const char *file,
                            char path[PATH_MAX], char ref[PATH_MAX], fws_errbuf *eb)
{
    char abs[PATH_MAX];
    fws_err err;
    if (key_dir == NULL) {
        if ((err = repo_path(ref, eb, "keys/%s", file)) != FWS_OK)
            return err;
        return repo_path(path, eb, "%s/keys/%s", d->dir, file);
    }
    if ((err = fws_mkdirs(key_dir, 0700, eb)) != FWS_OK)
        return err;
    if (realpath(key_dir, abs) == NULL)
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", key_dir, strerror(errno));
    if ((err = repo_path(path, eb, "%s/%s", abs, file)) != FWS_OK)
        return err;
    return repo_path(ref, eb, "%s", path);
}

fws_err repo_key_create(repo_keyring *kr, const char *role, fws_key_type type, const char *key_dir,
                        json_t **entry, char keyid[FWS_TUF_KEYID_HEX_LEN], repo_undo *undo,
                        fws_errbuf *eb)
{
    char path[PATH_MAX], ref[PATH_MAX], pub_path[PATH_MAX], file[96];
    fws_key *k = NULL;
    fws_signer s;
    fws_err err = fws_key_generate(type, &k);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot generate a %s key", fws_key_type_name(type));
    if ((err = repo_key_object(k, NULL, keyid, eb)) != FWS_OK)
        goto out;
    snprintf(file, sizeof(file), "%s-%.16s.pem", role, keyid);
    if ((err = key_location(kr->d, key_dir, file, path, ref, eb)) != FWS_OK ||
        (err = repo_path(pub_path, eb, "%.*s.pub", (int)(strlen(path) - 4), path)) != FWS_OK ||
        (err = fws_key_save_private(k, path, kr->pp, 0, eb)) != FWS_OK)
        goto out;
    if (repo_undo_add(undo, path, 0) != FWS_OK ||
        (err = fws_key_save_public(k, pub_path, 0, eb)) != FWS_OK ||
        repo_undo_add(undo, pub_path, 0) != FWS_OK) {
        err = fws_errf(eb, err ? err : FWS_ERR_NOMEM, "%s: cannot save the public key", pub_path);
        goto out;
    }
    *entry = json_pack("{s:s, s:s}", "keyid", keyid, "ref", ref);
    if (*entry == NULL) {
        err = fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((err = fws_signer_from_key(k, &s)) != FWS_OK) {
        json_decref(*entry);
        goto out;
    }
    k = NULL;
    err = repo_keyring_adopt(kr, &s, keyid, eb);
    if (err != FWS_OK)
        json_decref(*entry);
out:
    fws_key_free(k);
    return err;
}
