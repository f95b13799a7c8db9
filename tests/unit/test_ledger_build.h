/* A minimal tlog-tiles writer for the ledger read-side tests: it writes the tiles, entry bundles
 * and a signed checkpoint of a tree of n entries into a directory (test code only). */
#ifndef TEST_LEDGER_BUILD_H
#define TEST_LEDGER_BUILD_H

#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwseal/crypto.h"
#include "fwseal/merkle.h"
#include "fwseal/note.h"
#include "fwseal/tiles.h"
#include "fwseal/util.h"
#include "test_ledger_util.h"

/* Writes data to dir/rel, creating directories. Returns 0 on success. */
static inline int tb_put(const char *dir, const char *rel, const void *data, size_t len)
{
    char path[4096], parent[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    snprintf(parent, sizeof parent, "%s", path);
    if (fws_mkdirs(dirname(parent), 0755, NULL) != FWS_OK)
        return -1;
    return tl_write_file(path, data, len);
}

/* The entry of index i used by the tests: "entry <i>" followed by i % 7 bytes of 'x'. */
static inline size_t tb_entry(uint64_t i, uint8_t *out, size_t cap)
{
    int n = snprintf((char *)out, cap, "entry %llu", (unsigned long long)i);
    size_t len = (size_t)n;
    for (uint64_t k = 0; k < i % 7 && len + 1 < cap; k++)
        out[len++] = 'x';
    return len;
}

/* Writes every tile and bundle (partial ones at width size) and a checkpoint signed by signer
 * for the tree of the first size test entries. Returns 0 on success. */
static inline int tb_write_log(const char *dir, const char *origin, const fws_signer *signer,
                               uint64_t size)
{
    uint8_t(*level)[32] = malloc((size_t)(size + 1) * 32);
    uint8_t *bundle = malloc(FWS_BUNDLE_MAX);
    const fws_hash_ops *ops = &fws_sha256_ops;
    int rc = -1;
    if (level == NULL || bundle == NULL)
        goto out;
    /* Level 0: leaf hashes and bundles. */
    for (uint64_t t = 0; t * 256 < size; t++) {
        size_t blen = 0;
        unsigned w = fws_tile_width(0, t, size);
        for (unsigned j = 0; j < w; j++) {
            uint8_t e[64];
            size_t el = tb_entry(t * 256 + j, e, sizeof e);
            if (fws_bundle_append(bundle, FWS_BUNDLE_MAX, &blen, e, el) != FWS_OK ||
                fws_merkle_leaf_hash(ops, e, el, level[t * 256 + j]) != FWS_OK)
                goto out;
        }
        char path[FWS_TILE_PATH_MAX];
        fws_tile_id id = {1, 0, t, w};
        if (fws_tile_path(&id, path, NULL) != FWS_OK || tb_put(dir, path, bundle, blen) != 0)
            goto out;
    }
    /* Every level: write its tiles, then hash full tiles into the level above. */
    uint64_t nodes = size;
    for (unsigned l = 0; nodes > 0; l++) {
        for (uint64_t t = 0; t * 256 < nodes; t++) {
            unsigned w = fws_tile_width(l, t, size);
            char path[FWS_TILE_PATH_MAX];
            fws_tile_id id = {0, l, t, w};
            if (fws_tile_path(&id, path, NULL) != FWS_OK ||
                tb_put(dir, path, level[t * 256], (size_t)w * 32) != 0)
                goto out;
        }
        uint64_t up = nodes / 256;
        for (uint64_t k = 0; k < up; k++)
            if (fws_tile_hash(ops, level[k * 256], 256, level[k]) != FWS_OK)
                goto out;
        nodes = up;
    }
    /* The checkpoint, with the root from a compact range over the entries. */
    fws_merkle_range cr;
    fws_merkle_range_init(&cr);
    for (uint64_t i = 0; i < size; i++) {
        uint8_t e[64], h[32];
        size_t el = tb_entry(i, e, sizeof e);
        if (fws_merkle_leaf_hash(ops, e, el, h) != FWS_OK ||
            fws_merkle_range_append(&cr, ops, h) != FWS_OK)
            goto out;
    }
    fws_checkpoint cp = {origin, strlen(origin), size, {0}, NULL, 0};
    char text[2048], note[4096];
    size_t tl = 0, nl = 0;
    if (fws_merkle_range_root(&cr, ops, cp.root) != FWS_OK ||
        fws_checkpoint_format(&cp, text, sizeof text, &tl, NULL) != FWS_OK ||
        fws_note_sign(text, tl, origin, signer, note, sizeof note, &nl, NULL) != FWS_OK ||
        tb_put(dir, "checkpoint", note, nl) != 0)
        goto out;
    rc = 0;
out:
    free(level);
    free(bundle);
    return rc;
}

/* A new Ed25519 signer and its vkey under name. */
static inline int tb_signer(const char *name, uint8_t type, fws_signer *s, fws_note_vkey *vk)
{
    fws_key *k = NULL;
    if (fws_key_generate(FWS_KEY_ED25519, &k) != FWS_OK)
        return -1;
    if (fws_note_vkey_from_key(name, type, k, vk, NULL) != FWS_OK) {
        fws_key_free(k);
        return -1;
    }
    return fws_signer_from_key(k, s) == FWS_OK ? 0 : -1;
}

/* A fresh temporary directory (mkdtemp); removed by tb_rmrf. */
static inline char *tb_tmpdir(char *buf, size_t cap)
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, cap, "%s/fwseal-ledger-XXXXXX", base != NULL ? base : "/tmp");
    return mkdtemp(buf);
}

static inline void tb_rmrf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

#endif
