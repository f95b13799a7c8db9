/* The device bundle: what the bench writes for one device. */
#define _GNU_SOURCE /* syncfs */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "pki/internal.h"

#define ANCHOR_MAX (4u << 20)

typedef enum put_mode {
    PUT_DURABLE, /* temporary name, fsync, rename, directory fsync */
    PUT_REPLACE, /* temporary name and rename, no fsync (the batch syncs once at the end) */
    PUT_FRESH,   /* straight into a directory nobody else sees yet */
} put_mode;

static fws_err write_fd(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FWS_ERR_IO;
        p += n;
        len -= (size_t)n;
    }
    return FWS_OK;
}

static fws_err put_file(const char *dir, const char *name, const void *data, size_t len,
                        unsigned mode, put_mode how, fws_errbuf *eb)
{
    char path[PATH_MAX + 64], tmp[PATH_MAX + 80];
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%s: path too long", dir);
    if (how == PUT_DURABLE)
        return fws_file_write_atomic(path, data, len, mode, 1, eb);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    const char *target = how == PUT_FRESH ? path : tmp;
    int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", target, strerror(errno));
    fws_err err = write_fd(fd, data, len);
    int saved = errno;
    if (close(fd) != 0 && err == FWS_OK) {
        saved = errno;
        err = FWS_ERR_IO;
    }
    if (err == FWS_OK && how == PUT_REPLACE && rename(tmp, path) != 0) {
        saved = errno;
        err = FWS_ERR_IO;
    }
    if (err != FWS_OK) {
        unlink(target);
        return fws_errf(eb, err, "%s: %s", path, strerror(saved));
    }
    return FWS_OK;
}

static fws_err put_pem(const char *dir, const char *name, const uint8_t *const *ders,
                       const size_t *lens, size_t n, put_mode how, fws_errbuf *eb)
{
    char *all = NULL;
    size_t all_len = 0;
    fws_err err = FWS_OK;
    for (size_t i = 0; i < n && err == FWS_OK; i++) {
        char *pem = NULL;
        size_t pem_len = 0;
        err = pki_pem("CERTIFICATE", ders[i], lens[i], &pem, &pem_len);
        if (err != FWS_OK)
            break;
        char *grown = realloc(all, all_len + pem_len);
        if (grown == NULL) {
            free(pem);
            err = FWS_ERR_NOMEM;
            break;
        }
        memcpy(grown + all_len, pem, pem_len);
        all = grown;
        all_len += pem_len;
        free(pem);
    }
    if (err == FWS_OK)
        err = put_file(dir, name, all, all_len, 0644, how, eb);
    free(all);
    return err;
}

/* ---- trust anchors, read once per handle -------------------------------------------------- */

static fws_err read_anchor(const char *path, uint8_t **data, size_t *len, fws_errbuf *eb)
{
    fws_err err = fws_file_read(path, ANCHOR_MAX, data, len, NULL);
    if (err == FWS_ERR_NOT_FOUND) {
        *data = NULL;
        *len = 0;
        return FWS_OK;
    }
    return err == FWS_OK ? FWS_OK : fws_errf(eb, err, "%s: cannot read", path);
}

/* The ledger's verifier key, from the vkey field of DEPLOY/ledger/log.json. */
static fws_err read_vkey(const fws_pki *p, pki_anchors *a, fws_errbuf *eb)
{
    char path[PATH_MAX + 64];
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *doc = NULL;
    const char *vkey = NULL;
    snprintf(path, sizeof(path), "%s/ledger/log.json", p->deploy);
    fws_err err = read_anchor(path, &data, &len, eb);
    if (err != FWS_OK || data == NULL)
        return err;
    err = fws_json_parse(data, len, 0, NULL, &doc, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(doc, "vkey", &vkey, eb);
    if (err == FWS_OK && strlen(vkey) >= FWS_NOTE_VKEY_MAX)
        err = FWS_ERR_TOO_BIG;
    if (err == FWS_OK) {
        a->vkey_len = strlen(vkey) + 1;
        a->vkey = malloc(a->vkey_len + 1); /* the line, its newline and a NUL */
        if (a->vkey == NULL)
            err = FWS_ERR_NOMEM;
        else
            snprintf((char *)a->vkey, a->vkey_len + 1, "%s\n", vkey);
    } else {
        err = fws_errf(eb, err, "%s: no usable vkey", path);
    }
    json_decref(doc);
    free(data);
    return err;
}

static fws_err load_anchors(fws_pki *p, fws_errbuf *eb)
{
    char path[PATH_MAX + 64];
    pki_anchors *a = &p->anchors;
    if (a->loaded)
        return FWS_OK;
    snprintf(path, sizeof(path), "%s/repo/metadata/root.json", p->deploy);
    fws_err err = read_anchor(path, &a->root_json, &a->root_json_len, eb);
    if (err == FWS_OK)
        err = read_vkey(p, a, eb);
    if (err == FWS_OK) {
        snprintf(path, sizeof(path), "%s/server/pin", p->deploy);
        err = read_anchor(path, &a->pin, &a->pin_len, eb);
    }
    if (err == FWS_OK) {
        snprintf(path, sizeof(path), "%s/keys/assignment.pub", p->deploy);
        err = read_anchor(path, &a->assignment, &a->assignment_len, eb);
    }
    a->loaded = err == FWS_OK;
    return err;
}

void pki_anchors_free(pki_anchors *a)
{
    free(a->root_json);
    free(a->vkey);
    free(a->pin);
    free(a->assignment);
    memset(a, 0, sizeof(*a));
}

static void put_anchors_report(const pki_anchors *a, fws_pki_bundle_report *rep)
{
    rep->root_json = a->root_json != NULL;
    rep->ledger_vkey = a->vkey != NULL;
    rep->server_pin = a->pin != NULL;
    rep->assignment = a->assignment != NULL;
}

static fws_err put_anchors(const pki_anchors *a, const char *dir, put_mode how,
                           fws_pki_bundle_report *rep, fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    if (a->root_json != NULL)
        err = put_file(dir, "root.json", a->root_json, a->root_json_len, 0644, how, eb);
    if (err == FWS_OK && a->vkey != NULL)
        err = put_file(dir, "ledger.vkey", a->vkey, a->vkey_len, 0644, how, eb);
    if (err == FWS_OK && a->pin != NULL)
        err = put_file(dir, "server.pin", a->pin, a->pin_len, 0644, how, eb);
    if (err == FWS_OK && a->assignment != NULL)
        err = put_file(dir, "assignment.pub", a->assignment, a->assignment_len, 0644, how, eb);
    put_anchors_report(a, rep);
    return err;
}

/* ---- the bundle --------------------------------------------------------------------------- */

static fws_err put_common(fws_pki *p, fws_pki_env env, const char *dir, put_mode how,
                          fws_pki_bundle_report *r, fws_errbuf *eb)
{
    const pki_env_ca *ca = &p->ca[env];
    const uint8_t *chain[2] = {ca->inter_der, ca->root_der};
    size_t chain_len[2] = {ca->inter_len, ca->root_len};
    fws_err err = put_pem(dir, "chain.pem", chain, chain_len, 2, how, eb);
    if (err == FWS_OK)
        err = put_anchors(&p->anchors, dir, how, r, eb);
    return err;
}

/* The files every bundle of a batch shares, written once into a folder beside the bundles
 * (DIR/../.fwseal-shared/ENV) and hard-linked into each: fewer inodes, fewer writes. */
static fws_err link_common(fws_pki *p, fws_pki_env env, const char *bundle_parent, const char *dir,
                           fws_pki_bundle_report *r, fws_errbuf *eb)
{
    static const char *const names[] = {"chain.pem", "root.json", "ledger.vkey", "server.pin",
                                        "assignment.pub"};
    char shared[PATH_MAX + 64], from[PATH_MAX + 96], to[PATH_MAX + 96];
    pki_anchors *a = &p->anchors;
    if (snprintf(shared, sizeof(shared), "%s/.fwseal-shared/%s", bundle_parent,
                 fws_pki_env_name(env)) >= (int)sizeof(shared))
        return FWS_ERR_TOO_BIG;
    if (strcmp(a->shared, bundle_parent) != 0) {
        memset(a->shared_env, 0, sizeof(a->shared_env));
        snprintf(a->shared, sizeof(a->shared), "%s", bundle_parent);
    }
    fws_err err = FWS_OK;
    if (!a->shared_env[env]) {
        err = fws_mkdirs(shared, 0755, eb);
        if (err == FWS_OK)
            err = put_common(p, env, shared, PUT_REPLACE, r, eb);
        a->shared_env[env] = err == FWS_OK;
    }
    put_anchors_report(a, r);
    for (size_t i = 0; err == FWS_OK && i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(from, sizeof(from), "%s/%s", shared, names[i]);
        snprintf(to, sizeof(to), "%s/%s", dir, names[i]);
        if (link(from, to) != 0 && errno != ENOENT)
            err = FWS_ERR_IO; /* the caller falls back to copies */
    }
    return err;
}

static fws_err put_all(fws_pki *p, fws_pki_env env, const fws_pki_issued *iss,
                       const fws_key *dev_key, const fws_passphrase *pp, const char *dir,
                       put_mode how, const char *parent, fws_pki_bundle_report *r, fws_errbuf *eb)
{
    const uint8_t *leaf[1] = {iss->der};
    size_t leaf_len[1] = {iss->der_len};
    fws_err err = put_pem(dir, "device.crt", leaf, leaf_len, 1, how, eb);
    if (err == FWS_OK && dev_key != NULL) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof(path), "%s/device.key", dir);
        err = fws_key_save_private(dev_key, path, pp, 1, eb);
        r->device_key = err == FWS_OK;
    }
    if (err == FWS_OK && (parent == NULL || link_common(p, env, parent, dir, r, NULL) != FWS_OK))
        err = put_common(p, env, dir, how, r, eb);
    return err;
}

/* A new bundle directory appears whole: written under a temporary name, then renamed. */
static fws_err put_fresh(fws_pki *p, fws_pki_env env, const fws_pki_issued *iss,
                         const fws_key *dev_key, const fws_passphrase *pp, const char *dir,
                         fws_pki_bundle_report *r, fws_errbuf *eb)
{
    char tmp[PATH_MAX + 64], parent[PATH_MAX];
    const char *slash = strrchr(dir, '/');
    if (snprintf(tmp, sizeof(tmp), "%s.partial-%ld", dir, (long)getpid()) >= (int)sizeof(tmp))
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%s: path too long", dir);
    snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - dir) : 1, slash ? dir : ".");
    if (mkdir(tmp, 0755) != 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", tmp, strerror(errno));
    fws_err err = put_all(p, env, iss, dev_key, pp, tmp, PUT_FRESH, parent, r, eb);
    if (err == FWS_OK && rename(tmp, dir) != 0)
        err = fws_errf(eb, FWS_ERR_IO, "%s: %s", dir, strerror(errno));
    return err;
}

fws_err fws_pki_write_bundle(fws_pki *p, fws_pki_env env, const fws_pki_issued *iss,
                             const fws_key *dev_key, const fws_passphrase *pp, const char *dir,
                             int durable, fws_pki_bundle_report *rep, fws_errbuf *eb)
{
    fws_pki_bundle_report r;
    struct stat st;
    memset(&r, 0, sizeof(r));
    if (!fws_pki_has_env(p, env))
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "no CA for that environment");
    fws_err err = load_anchors(p, eb);
    if (err == FWS_OK && durable) {
        err = fws_mkdirs(dir, 0755, eb);
        if (err == FWS_OK)
            err = put_all(p, env, iss, dev_key, pp, dir, PUT_DURABLE, NULL, &r, eb);
    } else if (err == FWS_OK && stat(dir, &st) == 0) {
        err = put_all(p, env, iss, dev_key, pp, dir, PUT_REPLACE, NULL, &r, eb);
    } else if (err == FWS_OK) {
        err = put_fresh(p, env, iss, dev_key, pp, dir, &r, eb);
    }
    if (err == FWS_OK && rep != NULL)
        *rep = r;
    return err;
}

fws_err fws_pki_sync_dir(const char *dir, fws_errbuf *eb)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", dir, strerror(errno));
    int rc = syncfs(fd);
    int saved = errno;
    close(fd);
    if (rc != 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: syncfs: %s", dir, strerror(saved));
    return FWS_OK;
}
