/* Creating and opening a log directory, with recovery: the tree-state is the durable size; the
 * tiles must agree with it and with the published checkpoint; the index catches up. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fwseal/crypto.h"
#include "fwseal/util.h"
#include "writer_internal.h"

static fws_err signer_vkey(const char *origin, const fws_signer *signer, fws_note_vkey *v,
                           fws_errbuf *eb)
{
    fws_key *pub = NULL;
    if (signer == NULL || signer->type != FWS_KEY_ED25519)
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "a log key must be Ed25519");
    fws_err err = signer->public_key(signer->impl, &pub);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot get the log key's public half");
    err = fws_note_vkey_from_key(origin, FWS_NOTE_TYPE_ED25519, pub, v, eb);
    fws_key_free(pub);
    return err;
}

static fws_err check_empty_dir(const char *dir, fws_errbuf *eb)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    if (d == NULL)
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            closedir(d);
            return fws_errf(eb, FWS_ERR_EXISTS, "%s: not empty (refusing to create a log there)",
                            dir);
        }
    }
    closedir(d);
    return FWS_OK;
}

static fws_err open_dir(const char *dir, int *fd, fws_errbuf *eb)
{
    if (strlen(dir) >= FWS_TILE_DIR_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "%s: path too long", dir);
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0 && errno == ENOENT)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "%s: no such directory", dir);
    if (*fd < 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", dir, strerror(errno));
    return FWS_OK;
}

static fws_err write_initial(int dirfd, const char *dir, const wr_config *cfg,
                             const fws_signer *signer, fws_errbuf *eb)
{
    char state[WR_TREE_STATE_MAX], ixpath[FWS_TILE_DIR_MAX + 32];
    uint8_t root[FWS_MERKLE_HASH_LEN];
    char *cp = NULL, *conf = NULL;
    size_t n = 0, cp_len = 0, conf_len = 0;
    ledger_index *ix = NULL;

    fws_err err = fws_merkle_empty_root(&fws_sha256_ops, root);
    if (err == FWS_OK)
        err = wr_state_format(0, root, state, sizeof(state), &n);
    if (err == FWS_OK)
        err = wr_write_durable(dirfd, dir, WR_TREE_STATE, state, n, eb);
    snprintf(ixpath, sizeof(ixpath), "%s/%s", dir, WR_INDEX);
    if (err == FWS_OK)
        err = ix_open(ixpath, 0, &ix, eb);
    ix_close(ix);
    if (err == FWS_OK)
        err = wr_sign_checkpoint(cfg->origin, 0, root, signer, &cp, &cp_len, eb);
    if (err == FWS_OK)
        err = wr_write_durable(dirfd, dir, WR_CHECKPOINT, cp, cp_len, eb);
    if (err == FWS_OK)
        err = wr_config_format(cfg, &conf, &conf_len, eb);
    if (err == FWS_OK) /* last: a directory without log.json is not a log */
        err = wr_write_durable(dirfd, dir, WR_CONFIG, conf, conf_len, eb);
    free(cp);
    free(conf);
    return err;
}

fws_err fws_ledger_create(const char *dir, const fws_ledger_config *cfg, const fws_signer *signer,
                          char vkey[FWS_NOTE_VKEY_MAX], fws_errbuf *eb)
{
    wr_config c;
    fws_note_vkey v;
    int dirfd = -1, lockfd = -1;
    fws_err err;

    if (dir == NULL || cfg == NULL || cfg->origin == NULL || cfg->key_ref == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "log directory, origin and key are required");
    memset(&c, 0, sizeof(c));
    if (strlen(cfg->origin) > FWS_CHECKPOINT_ORIGIN_MAX || strlen(cfg->origin) == 0)
        return fws_errf(eb, FWS_ERR_ARG, "origin must be 1 to %d bytes", FWS_CHECKPOINT_ORIGIN_MAX);
    if (strlen(cfg->key_ref) == 0 || strlen(cfg->key_ref) >= sizeof(c.key_ref))
        return fws_errf(eb, FWS_ERR_ARG, "key reference must be 1 to %zu bytes",
                        sizeof(c.key_ref) - 1);
    fws_errbuf why = {{0}};
    err = fws_note_name_check(cfg->origin, strlen(cfg->origin), &why);
    if (err != FWS_OK)
        return fws_errf(eb, err, "origin \"%.200s\" cannot name the log key: %s", cfg->origin,
                        why.msg);
    err = signer_vkey(cfg->origin, signer, &v, eb);
    if (err == FWS_OK)
        err = fws_note_vkey_format(&v, c.vkey, NULL);
    if (err != FWS_OK)
        return err;
    snprintf(c.origin, sizeof(c.origin), "%s", cfg->origin);
    snprintf(c.key_ref, sizeof(c.key_ref), "%s", cfg->key_ref);
    c.any_entries = cfg->any_entries != 0;

    err = fws_mkdirs(dir, 0755, eb);
    if (err == FWS_OK)
        err = check_empty_dir(dir, eb);
    if (err == FWS_OK)
        err = open_dir(dir, &dirfd, eb);
    if (err == FWS_OK)
        err = wr_lock(dirfd, dir, WR_LOCK, 0, &lockfd, eb);
    if (err == FWS_OK)
        err = write_initial(dirfd, dir, &c, signer, eb);
    wr_unlock(lockfd);
    if (dirfd >= 0)
        close(dirfd);
    if (err == FWS_OK && vkey != NULL)
        memcpy(vkey, c.vkey, FWS_NOTE_VKEY_MAX);
    return err;
}

/* ---- opening ------------------------------------------------------------------------------ */

static fws_err read_config(fws_ledger *l, fws_errbuf *eb)
{
    char *text = NULL;
    size_t len = 0;
    fws_err err = wr_read_file(l->dirfd, l->dir, WR_CONFIG, WR_CONFIG_MAX, &text, &len, eb);
    if (err == FWS_ERR_NOT_FOUND)
        return fws_errf(eb, err, "%s: not a fwseal log directory (no log.json)", l->dir);
    if (err == FWS_OK)
        err = wr_config_parse(text, len, &l->cfg, eb);
    free(text);
    if (err == FWS_OK)
        err = fws_note_vkey_parse(l->cfg.vkey, strlen(l->cfg.vkey), &l->vkey, eb);
    if (err == FWS_OK && strcmp(l->vkey.name, l->cfg.origin) != 0)
        err = fws_errf(eb, FWS_ERR_KEY_MISMATCH, "%s/log.json: vkey name \"%s\" is not the origin",
                       l->dir, l->vkey.name);
    return err;
}

static fws_err read_tree_state(fws_ledger *l, fws_errbuf *eb)
{
    char *text = NULL;
    size_t len = 0;
    fws_err err = wr_read_file(l->dirfd, l->dir, WR_TREE_STATE, WR_TREE_STATE_MAX, &text, &len, eb);
    if (err == FWS_OK)
        err = wr_state_parse(text, len, &l->size, l->root, eb);
    free(text);
    return err;
}

static fws_err read_checkpoint(fws_ledger *l, fws_checkpoint *cp, fws_errbuf *eb)
{
    fws_note note;
    fws_errbuf why = {{0}};
    fws_err err = wr_read_file(l->dirfd, l->dir, WR_CHECKPOINT, FWS_NOTE_MAX, &l->checkpoint,
                               &l->checkpoint_len, eb);
    if (err != FWS_OK)
        return err;
    err = fws_checkpoint_open(l->checkpoint, l->checkpoint_len, &l->vkey, l->cfg.origin, &note, cp,
                              &why);
    if (err == FWS_ERR_KEY_MISMATCH)
        return fws_errf(eb, err, "%s/checkpoint: not signed by this log's key %s (%s)", l->dir,
                        l->cfg.vkey, why.msg[0] ? why.msg : fws_strerror(err));
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s/checkpoint: %s", l->dir,
                        why.msg[0] ? why.msg : fws_strerror(err));
    if (cp->size > l->size)
        return fws_errf(eb, FWS_ERR_INCONSISTENT,
                        "%s/checkpoint: size %llu is ahead of the durable tree state (%llu): the "
                        "log directory is damaged",
                        l->dir, (unsigned long long)cp->size, (unsigned long long)l->size);
    return FWS_OK;
}

/* The published checkpoint's root must be what the tiles give at its size. */
static fws_err check_checkpoint_root(fws_ledger *l, const fws_checkpoint *cp, fws_errbuf *eb)
{
    fws_tile_dir *d = malloc(sizeof(*d));
    fws_tile_source src;
    fws_tlog *t = NULL;
    uint8_t root[FWS_MERKLE_HASH_LEN];
    char want[48], got[48];
    fws_err err = d ? FWS_OK : fws_errf(eb, FWS_ERR_NOMEM, "out of memory");

    if (err == FWS_OK)
        err = fws_tile_dir_source(d, l->dir, &src, eb);
    if (err == FWS_OK)
        err = fws_tlog_open(&src, &fws_sha256_ops, &t, eb);
    if (err == FWS_OK)
        err = fws_tlog_root(t, cp->size, root, eb);
    if (err == FWS_OK && !fws_ct_eq(root, cp->root, FWS_MERKLE_HASH_LEN)) {
        wr_b64_hash(cp->root, want);
        wr_b64_hash(root, got);
        err = fws_errf(eb, FWS_ERR_INCONSISTENT,
                       "%s: the tiles disagree with the checkpoint: at size %llu they give root "
                       "%s, the checkpoint says %s",
                       l->dir, (unsigned long long)cp->size, got, want);
    }
    fws_tlog_close(t);
    free(d);
    return err;
}

static fws_err open_index(fws_ledger *l, fws_errbuf *eb)
{
    char path[FWS_TILE_DIR_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", l->dir, WR_INDEX);
    fws_err err = ix_open(path, 0, &l->ix, eb);
    if (err == FWS_OK)
        err = wr_index_catch_up(l, eb);
    return err;
}

static fws_err recover(fws_ledger *l, fws_errbuf *eb)
{
    fws_checkpoint cp;
    fws_err err = read_config(l, eb);
    if (err == FWS_OK)
        err = read_tree_state(l, eb);
    if (err == FWS_OK)
        err = read_checkpoint(l, &cp, eb);
    if (err == FWS_OK)
        err = wr_reload(l, eb);
    if (err == FWS_OK)
        err = check_checkpoint_root(l, &cp, eb);
    if (err != FWS_OK)
        return err;
    l->signed_size = cp.size;
    return open_index(l, eb);
}

fws_err fws_ledger_open(const char *dir, const fws_ledger_options *opts, fws_ledger **out,
                        fws_errbuf *eb)
{
    fws_ledger *l;
    fws_err err;

    if (dir == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no log directory");
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    l->dirfd = -1;
    l->lockfd = -1;
    wr_pub_init(l);
    l->interval_ms = opts && opts->checkpoint_interval_ms ? opts->checkpoint_interval_ms : 1000;
    snprintf(l->dir, sizeof(l->dir), "%s", dir);
    l->tb = malloc(sizeof(*l->tb));
    err = l->tb ? open_dir(dir, &l->dirfd, eb) : fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    if (err == FWS_OK)
        err = wr_lock(l->dirfd, l->dir, WR_LOCK, opts ? opts->lock_wait_ms : 0, &l->lockfd, eb);
    if (err == FWS_OK)
        err = recover(l, eb);
    if (err != FWS_OK) {
        fws_ledger_close(l);
        return err;
    }
    l->last_publish_ms = fws_ledger_now_ms();
    wr_pub_snapshot(l);
    *out = l;
    return FWS_OK;
}

void fws_ledger_close(fws_ledger *l)
{
    if (l == NULL)
        return;
    wr_pub_destroy(l);
    ix_close(l->ix);
    ws_free(&l->ws);
    free(l->tb);
    free(l->bundle);
    free(l->checkpoint);
    wr_unlock(l->lockfd);
    if (l->dirfd >= 0)
        close(l->dirfd);
    free(l);
}

fws_err fws_ledger_set_signer(fws_ledger *l, const fws_signer *signer, fws_errbuf *eb)
{
    fws_note_vkey v;
    fws_err err = signer_vkey(l->cfg.origin, signer, &v, eb);
    if (err != FWS_OK)
        return err;
    if (v.key_id != l->vkey.key_id || !fws_ct_eq(v.pub, l->vkey.pub, sizeof(v.pub)))
        return fws_errf(eb, FWS_ERR_KEY_MISMATCH, "the signing key is not this log's key (%s)",
                        l->cfg.vkey);
    l->signer = signer;
    return FWS_OK;
}

void fws_ledger_get_status(const fws_ledger *l, fws_ledger_status *st)
{
    fws_ledger *m = (fws_ledger *)l; /* the mutex is not part of the logical state */
    memset(st, 0, sizeof(*st));
    st->size = l->size;
    pthread_mutex_lock(&m->pub_mu);
    st->signed_size = m->signed_size;
    pthread_mutex_unlock(&m->pub_mu);
    memcpy(st->root, l->root, sizeof(st->root));
    st->any_entries = l->cfg.any_entries;
    snprintf(st->origin, sizeof(st->origin), "%s", l->cfg.origin);
    snprintf(st->vkey, sizeof(st->vkey), "%s", l->cfg.vkey);
    snprintf(st->key_ref, sizeof(st->key_ref), "%s", l->cfg.key_ref);
}

fws_err fws_ledger_info(const char *dir, fws_ledger_status *st, fws_errbuf *eb)
{
    fws_ledger *l = calloc(1, sizeof(*l));
    fws_checkpoint cp;
    fws_note note;
    fws_err err = l ? FWS_OK : fws_errf(eb, FWS_ERR_NOMEM, "out of memory");

    if (err == FWS_OK) {
        l->dirfd = -1;
        l->lockfd = -1;
        wr_pub_init(l);
        snprintf(l->dir, sizeof(l->dir), "%s", dir);
        err = open_dir(dir, &l->dirfd, eb);
    }
    if (err == FWS_OK)
        err = read_config(l, eb);
    if (err == FWS_OK)
        err = read_tree_state(l, eb);
    if (err == FWS_OK)
        err = wr_read_file(l->dirfd, l->dir, WR_CHECKPOINT, FWS_NOTE_MAX, &l->checkpoint,
                           &l->checkpoint_len, eb);
    if (err == FWS_OK && fws_note_parse(l->checkpoint, l->checkpoint_len, &note, NULL) == FWS_OK &&
        fws_checkpoint_parse(note.text, note.text_len, &cp, NULL) == FWS_OK)
        l->signed_size = cp.size;
    if (err == FWS_OK)
        fws_ledger_get_status(l, st);
    fws_ledger_close(l);
    return err;
}
