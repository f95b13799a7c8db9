/* fwseal.json: the deployment's configuration, and opening (locking) a deployment. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "repo_internal.h"

fws_err repo_deploy_paths(fws_deploy *d, fws_errbuf *eb)
{
    fws_err err;
    if ((err = repo_path(d->config_path, eb, "%s/fwseal.json", d->dir)) != FWS_OK ||
        (err = repo_path(d->meta_dir, eb, "%s/repo/metadata", d->dir)) != FWS_OK ||
        (err = repo_path(d->targets_dir, eb, "%s/repo/targets", d->dir)) != FWS_OK ||
        (err = repo_path(d->ledger_dir, eb, "%s/ledger", d->dir)) != FWS_OK ||
        (err = repo_path(d->index_path, eb, "%s/releases.json", d->dir)) != FWS_OK)
        return err;
    return FWS_OK;
}

/* Checks {"keyid", "ref"} entries of a key list. */
static fws_err check_key_list(const json_t *keys, const char *what, fws_errbuf *eb)
{
    static const char *const allowed[] = {"keyid", "ref", "role", "retired", NULL};
    if (!json_is_array(keys) || json_array_size(keys) > 4096)
        return fws_errf(eb, FWS_ERR_SCHEMA, "fwseal.json: %s must be an array of keys", what);
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const json_t *k = json_array_get(keys, i);
        const char *s = NULL;
        fws_errbuf e = {{0}};
        fws_err err;
        if ((err = fws_json_get_string(k, "keyid", &s, &e)) != FWS_OK ||
            (err = fws_json_get_string(k, "ref", &s, &e)) != FWS_OK ||
            (err = fws_json_only_keys(k, allowed, &e)) != FWS_OK)
            return fws_errf(eb, err, "fwseal.json: %s[%zu]: %s", what, i, e.msg);
        if (s[0] == '\0')
            return fws_errf(eb, FWS_ERR_SCHEMA, "fwseal.json: %s[%zu]: empty ref", what, i);
    }
    return FWS_OK;
}

static fws_err load_role(fws_deploy *d, const json_t *roles, fws_tuf_kind kind, fws_errbuf *eb)
{
    const char *name = fws_tuf_kind_name(kind), *expires = NULL;
    json_t *role = NULL, *keys = NULL;
    int64_t threshold = 0;
    fws_errbuf e = {{0}};
    fws_err err;
    if ((err = fws_json_get_object(roles, name, &role, &e)) != FWS_OK ||
        (err = fws_json_get_string(role, "expires", &expires, &e)) != FWS_OK ||
        (err = fws_json_get_int(role, "threshold", &threshold, &e)) != FWS_OK ||
        (err = fws_json_get_array(role, "keys", &keys, &e)) != FWS_OK)
        return fws_errf(eb, err, "fwseal.json: roles.%s: %s", name, e.msg);
    if (fws_repo_duration_parse(expires, &d->expires[kind]) != FWS_OK)
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "fwseal.json: roles.%s.expires \"%s\" is not a duration like \"90d\"", name,
                        expires);
    size_t n = json_array_size(keys);
    if (n == 0 || n > FWS_REPO_MAX_KEYS || threshold < 1 || (size_t)threshold > n)
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "fwseal.json: roles.%s needs 1..%d keys and a threshold of 1..keys", name,
                        FWS_REPO_MAX_KEYS);
    return check_key_list(keys, name, eb);
}

static fws_err load_bins(fws_deploy *d, const json_t *cfg, fws_errbuf *eb)
{
    json_t *bins = NULL;
    int64_t threshold = 0, bits = 0;
    fws_errbuf e = {{0}};
    fws_err err;
    if ((err = fws_json_get_object(cfg, "hashedBins", &bins, &e)) != FWS_OK ||
        (err = fws_json_get_int(bins, "threshold", &threshold, &e)) != FWS_OK ||
        (err = fws_json_get_int(bins, "bitLength", &bits, &e)) != FWS_OK)
        return fws_errf(eb, err, "fwseal.json: hashedBins: %s", e.msg);
    if (threshold < 0 || bits < 1 || bits > FWS_REPO_MAX_BIT_LENGTH)
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "fwseal.json: hashedBins needs threshold >= 0 and bitLength 1..%d",
                        FWS_REPO_MAX_BIT_LENGTH);
    d->bins_threshold = (uint64_t)threshold;
    d->bins_bit_length = (unsigned)bits;
    return FWS_OK;
}

static fws_err check_config(fws_deploy *d, const json_t *cfg, fws_errbuf *eb)
{
    const char *format = NULL, *origin = NULL, *keytype = NULL;
    json_t *roles = NULL, *retired = NULL, *ledger = NULL, *lkey = NULL;
    fws_errbuf e = {{0}};
    fws_err err;
    if ((err = fws_json_get_string(cfg, "format", &format, &e)) != FWS_OK)
        return fws_errf(eb, err, "fwseal.json: not a deployment configuration: %s", e.msg);
    if (strcmp(format, REPO_CONFIG_FORMAT) != 0)
        return fws_errf(eb, FWS_ERR_SCHEMA, "fwseal.json: format \"%s\", expected \"%s\"", format,
                        REPO_CONFIG_FORMAT);
    if ((err = fws_json_get_string(cfg, "origin", &origin, &e)) != FWS_OK ||
        (err = fws_json_get_string(cfg, "keyType", &keytype, &e)) != FWS_OK ||
        (err = fws_json_get_object(cfg, "roles", &roles, &e)) != FWS_OK ||
        (err = fws_json_get_array(cfg, "retiredKeys", &retired, &e)) != FWS_OK ||
        (err = fws_json_get_object(cfg, "ledger", &ledger, &e)) != FWS_OK ||
        (err = fws_json_get_object(ledger, "key", &lkey, &e)) != FWS_OK)
        return fws_errf(eb, err, "fwseal.json: %s", e.msg);
    if (fws_key_type_parse(keytype, &d->key_type) != FWS_OK)
        return fws_errf(eb, FWS_ERR_SCHEMA, "fwseal.json: unknown keyType \"%s\"", keytype);
    for (int k = 0; k < FWS_TUF_KIND_COUNT; k++) {
        if ((err = load_role(d, roles, (fws_tuf_kind)k, eb)) != FWS_OK)
            return err;
    }
    if ((err = check_key_list(retired, "retiredKeys", eb)) != FWS_OK)
        return err;
    json_t *one = json_pack("[O]", lkey);
    err = one == NULL ? FWS_ERR_NOMEM : check_key_list(one, "ledger.key", eb);
    json_decref(one);
    if (err != FWS_OK)
        return err;
    d->origin = origin;
    return load_bins(d, cfg, eb);
}

fws_err repo_config_load(fws_deploy *d, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *cfg = NULL;
    fws_err err = fws_file_read(d->config_path, REPO_CONFIG_MAX, &data, &len, eb);
    if (err == FWS_ERR_NOT_FOUND)
        return fws_errf(eb, err, "%s: not a deployment (no fwseal.json; run fwseal init)", d->dir);
    if (err != FWS_OK)
        return err;
    err = fws_json_parse(data, len, FWS_JSON_NO_FLOATS, NULL, &cfg, eb);
    free(data);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: not valid JSON", d->config_path);
    if ((err = check_config(d, cfg, eb)) != FWS_OK) {
        json_decref(cfg);
        return err;
    }
    json_decref(d->config);
    d->config = cfg;
    return FWS_OK;
}

fws_err repo_config_save(fws_deploy *d, fws_errbuf *eb)
{
    char *text = NULL;
    size_t len = 0;
    fws_err err = fws_json_pretty(d->config, &text, &len);
    if (err != FWS_OK)
        return fws_errf(eb, err, "fwseal.json: cannot encode");
    err = fws_file_write_atomic(d->config_path, text, len, 0644, 1, eb);
    free(text);
    return err;
}

/* Searches one key list for keyid. */
static const char *find_in(const json_t *keys, const char *keyid)
{
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const json_t *k = json_array_get(keys, i);
        if (strcmp(json_string_value(json_object_get(k, "keyid")), keyid) == 0)
            return json_string_value(json_object_get(k, "ref"));
    }
    return NULL;
}

const char *repo_config_find_ref(const fws_deploy *d, const char *keyid)
{
    const char *ref = NULL;
    for (int k = 0; k < FWS_TUF_KIND_COUNT && ref == NULL; k++)
        ref = find_in(repo_config_role_keys(d, (fws_tuf_kind)k), keyid);
    if (ref == NULL)
        ref = find_in(json_object_get(d->config, "retiredKeys"), keyid);
    return ref;
}

json_t *repo_config_role_keys(const fws_deploy *d, fws_tuf_kind kind)
{
    json_t *roles = json_object_get(d->config, "roles");
    return json_object_get(json_object_get(roles, fws_tuf_kind_name(kind)), "keys");
}

fws_err repo_config_set_role_keys(fws_deploy *d, fws_tuf_kind kind, json_t *keys, fws_errbuf *eb)
{
    json_t *role = json_object_get(json_object_get(d->config, "roles"), fws_tuf_kind_name(kind));
    json_t *old = json_object_get(role, "keys");
    json_t *retired = json_object_get(d->config, "retiredKeys");
    for (size_t i = 0; i < json_array_size(old); i++) {
        json_t *k = json_deep_copy(json_array_get(old, i));
        const char *id = json_string_value(json_object_get(k, "keyid"));
        int present = 0;
        for (size_t j = 0; id != NULL && j < json_array_size(keys); j++)
            present |=
                strcmp(id, json_string_value(json_object_get(json_array_get(keys, j), "keyid"))) ==
                0;
        if (k == NULL || json_object_set_new(k, "role", json_string(fws_tuf_kind_name(kind))) ||
            (!present && json_array_append(retired, k) != 0)) {
            json_decref(k);
            json_decref(keys);
            return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
        }
        json_decref(k);
    }
    if (json_object_set_new(role, "keys", keys) != 0)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    return FWS_OK;
}

static fws_err take_lock(fws_deploy *d, fws_errbuf *eb)
{
    char path[PATH_MAX];
    fws_err err = repo_path(path, eb, "%s/fwseal.lock", d->dir);
    if (err != FWS_OK)
        return err;
    d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (d->lock_fd < 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", path, strerror(errno));
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int saved = errno;
        close(d->lock_fd);
        d->lock_fd = -1;
        if (saved == EWOULDBLOCK)
            return fws_errf(eb, FWS_ERR_STATE,
                            "%s: another fwseal command is using this "
                            "deployment",
                            d->dir);
        return fws_errf(eb, FWS_ERR_IO, "%s: flock: %s", path, strerror(saved));
    }
    return FWS_OK;
}

fws_err fws_deploy_open(const char *dir, fws_deploy **out, fws_errbuf *eb)
{
    fws_err err;
    if (dir == NULL || out == NULL)
        return FWS_ERR_ARG;
    fws_deploy *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    d->lock_fd = -1;
    /* The config is read before the lock (so that no lock file is made in a directory that
     * is not a deployment) and again under it. */
    if ((err = repo_path(d->dir, eb, "%s", dir)) != FWS_OK ||
        (err = repo_deploy_paths(d, eb)) != FWS_OK || (err = repo_config_load(d, eb)) != FWS_OK ||
        (err = take_lock(d, eb)) != FWS_OK || (err = repo_config_load(d, eb)) != FWS_OK) {
        fws_deploy_close(d);
        return err;
    }
    *out = d;
    return FWS_OK;
}

void fws_deploy_close(fws_deploy *d)
{
    if (d == NULL)
        return;
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    json_decref(d->config);
    free(d);
}

const char *fws_deploy_dir(const fws_deploy *d)
{
    return d->dir;
}

const char *fws_deploy_origin(const fws_deploy *d)
{
    return d->origin;
}

const char *fws_deploy_ledger_dir(const fws_deploy *d)
{
    return d->ledger_dir;
}

fws_err fws_deploy_ledger_signer(const fws_deploy *d, const fws_passphrase *pp, fws_signer *out,
                                 fws_errbuf *eb)
{
    json_t *key = json_object_get(json_object_get(d->config, "ledger"), "key");
    return fws_repo_signer_open(json_string_value(json_object_get(key, "ref")), d->dir, pp, out,
                                eb);
}
