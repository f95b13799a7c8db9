/* fws_mirror_pull: a verified copy of a remote ledger in a C2SP tlog-tiles directory. Every pull
 * checks the remote checkpoint, proves it consistent with the mirror's (a fork or a shrinking
 * tree is refused before anything is written), fetches the tiles and bundles the mirror lacks,
 * recomputes the whole tree from the mirror's own files against the new checkpoint, and only
 * then replaces the mirror's checkpoint. On a failure the files it fetched are removed. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "audit/internal.h"
#include "audit/tilescopy.h"
#include "fwseal/merkle.h"
#include "fwseal/util.h"

typedef struct pull {
    fws_tlog *remote;
    const char *dir;
    uint64_t size;
    uint8_t *buf;
    char **fetched;
    size_t n_fetched, cap_fetched;
} pull;

static fws_err fetch_tile(void *ctx, const fws_tile_id *id, fws_errbuf *eb)
{
    pull *p = ctx;
    char rel[FWS_TILE_PATH_MAX], path[4300], dir[4300];
    size_t rl = 0, len = 0;
    fws_err err = fws_tile_path(id, rel, &rl);
    snprintf(path, sizeof(path), "%s/%s", p->dir, rel);
    if (err != FWS_OK || access(path, F_OK) == 0)
        return err; /* tiles of a width never change: the tree check below covers them */
    if ((err = au_tile_bytes(p->remote, p->size, id, p->buf, FWS_BUNDLE_MAX, &len, eb)) != FWS_OK)
        return err;
    snprintf(dir, sizeof(dir), "%s", path);
    *strrchr(dir, '/') = '\0';
    if ((err = fws_mkdirs(dir, 0755, eb)) != FWS_OK ||
        (err = fws_file_write_atomic(path, p->buf, len, 0644, 0, eb)) != FWS_OK)
        return err;
    if (p->n_fetched == p->cap_fetched) {
        size_t cap = p->cap_fetched ? p->cap_fetched * 2 : 64;
        char **n = realloc(p->fetched, cap * sizeof(*n));
        if (n == NULL)
            return FWS_ERR_NOMEM;
        p->fetched = n;
        p->cap_fetched = cap;
    }
    if ((p->fetched[p->n_fetched] = strdup(path)) == NULL)
        return FWS_ERR_NOMEM;
    p->n_fetched++;
    return FWS_OK;
}

/* The mirror's last checkpoint, verified; size 0 when it has none. */
static fws_err local_checkpoint(const char *dir, const fws_note_vkey *key, fws_checkpoint *cp,
                                char *buf, size_t cap, fws_errbuf *eb)
{
    char path[4300];
    uint8_t *data = NULL;
    size_t len = 0;
    fws_note note;
    snprintf(path, sizeof(path), "%s/checkpoint", dir);
    memset(cp, 0, sizeof(*cp));
    fws_err err = fws_file_read(path, FWS_NOTE_MAX, &data, &len, NULL);
    if (err == FWS_ERR_NOT_FOUND)
        return FWS_OK;
    if (err != FWS_OK || len >= cap)
        return fws_errf(eb, FWS_ERR_IO, "%s: unreadable", path);
    memcpy(buf, data, len);
    free(data);
    if ((err = fws_checkpoint_open(buf, len, key, NULL, &note, cp, eb)) != FWS_OK)
        return fws_errf(eb, FWS_ERR_STATE, "%s: the mirror's own checkpoint does not verify", path);
    return FWS_OK;
}

static fws_err consistent(fws_tlog *remote, const fws_checkpoint *old, const fws_checkpoint *now,
                          fws_errbuf *eb)
{
    uint8_t proof[FWS_MERKLE_MAX_PROOF][FWS_MERKLE_HASH_LEN];
    size_t n = 0;
    if (now->size < old->size)
        return fws_errf(eb, FWS_ERR_ROLLBACK, "the remote tree has %llu entries, the mirror %llu",
                        (unsigned long long)now->size, (unsigned long long)old->size);
    if (now->size == old->size) {
        if (!fws_ct_eq(now->root, old->root, 32))
            return fws_errf(eb, FWS_ERR_INCONSISTENT,
                            "fork: the remote root at size %llu is not the mirror's",
                            (unsigned long long)now->size);
        return FWS_OK;
    }
    if (old->size == 0)
        return FWS_OK;
    fws_errbuf why = {{0}};
    if (fws_tlog_consistency_proof(remote, old->size, now->size, proof, FWS_MERKLE_MAX_PROOF, &n,
                                   &why) != FWS_OK ||
        fws_merkle_verify_consistency(&fws_sha256_ops, old->size, now->size, old->root, now->root,
                                      (const uint8_t(*)[32])proof, n) != FWS_OK)
        return fws_errf(
            eb, FWS_ERR_INCONSISTENT,
            "fork: the remote tree of %llu entries does not extend the mirror's %llu%s%s",
            (unsigned long long)now->size, (unsigned long long)old->size, why.msg[0] ? ": " : "",
            why.msg);
    return FWS_OK;
}

static fws_err verify_local(const char *dir, const fws_checkpoint *cp, fws_errbuf *eb)
{
    fws_tile_dir td;
    fws_tile_source src;
    fws_tlog *t = NULL;
    fws_err err = fws_tile_dir_source(&td, dir, &src, eb);
    if (err == FWS_OK)
        err = fws_tlog_open(&src, &fws_sha256_ops, &t, eb);
    if (err == FWS_OK && cp->size > 0)
        err = fws_tlog_audit_tiles(t, cp->size, cp->root, NULL, eb);
    fws_tlog_close(t);
    if (err != FWS_OK)
        return fws_errf(eb, FWS_ERR_INCONSISTENT,
                        "fork: the mirrored tiles do not recompute to the remote checkpoint");
    return FWS_OK;
}

fws_err fws_mirror_pull(const struct fws_tile_source *src, const fws_note_vkey *log_key,
                        const fws_note_vkey *witnesses, size_t n_witnesses, size_t threshold,
                        const char *dir, fws_mirror_result *res, fws_errbuf *eb)
{
    char *remote_cp = malloc(FWS_NOTE_MAX), *local_cp = malloc(FWS_NOTE_MAX), path[4300];
    fws_checkpoint now, old;
    fws_note note;
    size_t len = 0, valid = 0;
    pull p = {.dir = dir};
    fws_err err = remote_cp && local_cp ? fws_mkdirs(dir, 0755, eb) : FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = fws_tlog_open(src, &fws_sha256_ops, &p.remote, eb);
    if (err == FWS_OK)
        err = fws_tlog_fetch_checkpoint(p.remote, remote_cp, FWS_NOTE_MAX, &len, eb);
    if (err == FWS_OK &&
        (err = fws_checkpoint_open(remote_cp, len, log_key, NULL, &note, &now, eb)) != FWS_OK)
        err = fws_errf(eb, err, "the remote checkpoint");
    if (err == FWS_OK && n_witnesses > 0)
        err = fws_cosig_verify_threshold(&note, witnesses, n_witnesses,
                                         threshold ? threshold : n_witnesses, &valid, eb);
    if (err == FWS_OK)
        err = local_checkpoint(dir, log_key, &old, local_cp, FWS_NOTE_MAX, eb);
    if (err == FWS_OK)
        err = consistent(p.remote, &old, &now, eb);
    p.size = now.size;
    if (err == FWS_OK && (p.buf = malloc(FWS_BUNDLE_MAX)) == NULL)
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = au_tiles_each(now.size, fetch_tile, &p, eb);
    if (err == FWS_OK)
        err = verify_local(dir, &now, eb);
    snprintf(path, sizeof(path), "%s/checkpoint", dir);
    if (err == FWS_OK)
        err = fws_file_write_atomic(path, remote_cp, len, 0644, 1, eb);
    for (size_t i = 0; i < p.n_fetched; i++) {
        if (err != FWS_OK)
            unlink(p.fetched[i]);
        free(p.fetched[i]);
    }
    if (err == FWS_OK && res != NULL) {
        res->old_size = old.size;
        res->new_size = now.size;
        res->fetched = p.n_fetched;
        res->first_sight = old.size == 0 && old.origin == NULL;
    }
    fws_tlog_close(p.remote);
    free(p.fetched);
    free(p.buf);
    free(remote_cp);
    free(local_cp);
    return err;
}
