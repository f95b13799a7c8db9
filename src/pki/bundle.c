/* The device bundle: what the bench writes for one device. */
#define _GNU_SOURCE /* syncfs */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "pki/internal.h"

#define ANCHOR_MAX (4u << 20)

/* Writes a file through a temporary name and a rename; fsyncs only when durable. */
static fws_err put_file(const char *dir, const char *name, const void *data, size_t len,
                        unsigned mode, int durable, fws_errbuf *eb)
{
    char path[PATH_MAX + 64], tmp[PATH_MAX + 80];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (durable)
        return fws_file_write_atomic(path, data, len, mode, 1, eb);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", tmp, strerror(errno));
    const uint8_t *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int saved = errno;
            close(fd);
            unlink(tmp);
            return fws_errf(eb, FWS_ERR_IO, "%s: %s", tmp, strerror(saved));
        }
        p += n;
        left -= (size_t)n;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", path, strerror(errno));
    }
    return FWS_OK;
}

static fws_err put_pem(const char *dir, const char *name, const uint8_t *const *ders,
                       const size_t *lens, size_t n, int durable, fws_errbuf *eb)
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
        err = put_file(dir, name, all, all_len, 0644, durable, eb);
    free(all);
    return err;
}

/* Copies a trust anchor when it exists; *found says whether it did. */
static fws_err copy_anchor(const char *from, const char *dir, const char *name, int durable,
                           int *found, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    *found = 0;
    fws_err err = fws_file_read(from, ANCHOR_MAX, &data, &len, NULL);
    if (err == FWS_ERR_NOT_FOUND)
        return FWS_OK;
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: cannot read", from);
    err = put_file(dir, name, data, len, 0644, durable, eb);
    free(data);
    *found = err == FWS_OK;
    return err;
}

/* The ledger's verifier key, from the vkey field of DEPLOY/ledger/log.json. */
static fws_err copy_vkey(const fws_pki *p, const char *dir, int durable, int *found, fws_errbuf *eb)
{
    char path[PATH_MAX + 64], line[FWS_NOTE_VKEY_MAX + 2];
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *doc = NULL;
    const char *vkey = NULL;
    *found = 0;
    snprintf(path, sizeof(path), "%s/ledger/log.json", p->deploy);
    fws_err err = fws_file_read(path, 1u << 20, &data, &len, NULL);
    if (err == FWS_ERR_NOT_FOUND)
        return FWS_OK;
    if (err == FWS_OK)
        err = fws_json_parse(data, len, 0, NULL, &doc, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(doc, "vkey", &vkey, eb);
    if (err == FWS_OK && strlen(vkey) >= FWS_NOTE_VKEY_MAX)
        err = FWS_ERR_TOO_BIG;
    if (err == FWS_OK) {
        int n = snprintf(line, sizeof(line), "%s\n", vkey);
        err = put_file(dir, "ledger.vkey", line, (size_t)n, 0644, durable, eb);
        *found = err == FWS_OK;
    } else {
        err = fws_errf(eb, err, "%s: no usable vkey", path);
    }
    json_decref(doc);
    free(data);
    return err;
}

static fws_err put_anchors(const fws_pki *p, const char *dir, int durable,
                           fws_pki_bundle_report *rep, fws_errbuf *eb)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/repo/metadata/root.json", p->deploy);
    fws_err err = copy_anchor(path, dir, "root.json", durable, &rep->root_json, eb);
    if (err == FWS_OK)
        err = copy_vkey(p, dir, durable, &rep->ledger_vkey, eb);
    if (err == FWS_OK) {
        snprintf(path, sizeof(path), "%s/server/pin", p->deploy);
        err = copy_anchor(path, dir, "server.pin", durable, &rep->server_pin, eb);
    }
    return err;
}

fws_err fws_pki_write_bundle(fws_pki *p, fws_pki_env env, const fws_pki_issued *iss,
                             const fws_key *dev_key, const fws_passphrase *pp, const char *dir,
                             int durable, fws_pki_bundle_report *rep, fws_errbuf *eb)
{
    fws_pki_bundle_report r;
    memset(&r, 0, sizeof(r));
    if (!fws_pki_has_env(p, env))
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "no CA for that environment");
    const pki_env_ca *ca = &p->ca[env];
    fws_err err = fws_mkdirs(dir, 0755, eb);
    const uint8_t *leaf[1] = {iss->der};
    size_t leaf_len[1] = {iss->der_len};
    const uint8_t *chain[2] = {ca->inter_der, ca->root_der};
    size_t chain_len[2] = {ca->inter_len, ca->root_len};
    if (err == FWS_OK)
        err = put_pem(dir, "device.crt", leaf, leaf_len, 1, durable, eb);
    if (err == FWS_OK)
        err = put_pem(dir, "chain.pem", chain, chain_len, 2, durable, eb);
    if (err == FWS_OK && dev_key != NULL) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof(path), "%s/device.key", dir);
        err = fws_key_save_private(dev_key, path, pp, 1, eb);
        r.device_key = err == FWS_OK;
    }
    if (err == FWS_OK)
        err = put_anchors(p, dir, durable, &r, eb);
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
