/* The monitor: follow a log, prove each new checkpoint consistent with the last one verified,
 * and recompute the tree from the entries: every leaf, every hash tile and the root. The state
 * moves forward only after all of that passed, so a crash never skips entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/crypto.h"
#include "writer_internal.h"

typedef struct mon {
    fws_tlog *t;
    uint64_t size; /* the new checkpoint's size */
    uint8_t *bundle;
    uint8_t tile[FWS_TILE_BYTES];
    tile_builder tb;
} mon;

/* Every tile the builder completes (or leaves partial at the end) must be the log's. */
static fws_err compare_tile(void *ctx, unsigned level, uint64_t index, unsigned width,
                            const uint8_t *hashes, fws_errbuf *eb)
{
    mon *m = ctx;
    unsigned got = 0;
    fws_err err = fws_tlog_fetch_tile(m->t, level, index, m->size, m->tile, &got, eb);
    if (err != FWS_OK)
        return err;
    if (got != width)
        return fws_errf(eb, FWS_ERR_LENGTH, "tile %u/%llu holds %u hashes, expected %u", level,
                        (unsigned long long)index, got, width);
    for (unsigned i = 0; i < width; i++) {
        if (!fws_ct_eq(m->tile + i * FWS_MERKLE_HASH_LEN, hashes + i * FWS_MERKLE_HASH_LEN,
                       FWS_MERKLE_HASH_LEN))
            return fws_errf(eb, FWS_ERR_INCONSISTENT,
                            "tile %u/%llu disagrees with the entries at hash %u", level,
                            (unsigned long long)index, i);
    }
    return FWS_OK;
}

static fws_err check_bundle(mon *m, uint64_t tile, uint64_t from, int check_records, fws_errbuf *eb)
{
    fws_bundle_entry e[FWS_TILE_WIDTH];
    uint8_t leaf[FWS_MERKLE_HASH_LEN];
    size_t n = 0;
    fws_err err = fws_tlog_fetch_bundle(m->t, tile, m->size, m->bundle, FWS_BUNDLE_MAX, e, &n, eb);
    for (size_t i = 0; i < n && err == FWS_OK; i++) {
        uint64_t idx = tile * FWS_TILE_WIDTH + i;
        err = fws_merkle_leaf_hash(&fws_sha256_ops, e[i].data, e[i].len, leaf);
        if (err == FWS_OK && idx < from &&
            !fws_ct_eq(leaf, m->tb.tile[0] + i * FWS_MERKLE_HASH_LEN, FWS_MERKLE_HASH_LEN))
            return fws_errf(eb, FWS_ERR_INCONSISTENT,
                            "entry %llu changed: its bundle no longer matches the tree verified "
                            "before",
                            (unsigned long long)idx);
        if (err != FWS_OK || idx < from)
            continue;
        if (check_records) {
            fws_record_info info;
            if (!wr_entry_info(e[i].data, e[i].len, &info))
                return fws_errf(eb, FWS_ERR_SCHEMA, "entry %llu is not a valid record",
                                (unsigned long long)idx);
        }
        err = tb_add_leaf(&m->tb, leaf, eb);
    }
    return err;
}

static fws_err check_root(const tile_builder *tb, const uint8_t want[FWS_MERKLE_HASH_LEN],
                          const char *what, fws_errbuf *eb)
{
    uint8_t root[FWS_MERKLE_HASH_LEN];
    char a[48], b[48];
    fws_err err = tb_root(tb, root);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot compute a root");
    if (fws_ct_eq(root, want, FWS_MERKLE_HASH_LEN))
        return FWS_OK;
    wr_b64_hash(root, a);
    wr_b64_hash(want, b);
    return fws_errf(eb, FWS_ERR_INCONSISTENT, "at size %llu the log's tiles give root %s, %s %s",
                    (unsigned long long)tb_size(tb), a, what, b);
}

/* Rebuilds [old_size, size) from the entry bundles on top of the verified right edge. */
static fws_err recompute(mon *m, const fws_checkpoint *old_cp, const fws_checkpoint *cp,
                         int check_records, fws_errbuf *eb)
{
    fws_err err;
    tb_init(&m->tb, compare_tile, m);
    err = tb_load(&m->tb, m->t, old_cp->size, eb);
    if (err == FWS_OK)
        err = check_root(&m->tb, old_cp->root, "not the root verified before:", eb);
    for (uint64_t tile = old_cp->size / FWS_TILE_WIDTH;
         err == FWS_OK && tile * FWS_TILE_WIDTH < cp->size; tile++)
        err = check_bundle(m, tile, old_cp->size, check_records, eb);
    if (err == FWS_OK)
        err = tb_flush(&m->tb, eb);
    if (err == FWS_OK)
        err = check_root(&m->tb, cp->root, "the checkpoint says", eb);
    return err;
}

static fws_err monitor_pass(mon *m, const fws_note_vkey *log_key, const char *state_dir,
                            int check_records, char *bufs, fws_follow_result *res, fws_errbuf *eb)
{
    char *cur = bufs, *old = bufs + FWS_NOTE_MAX + 1;
    fws_checkpoint cp, old_cp;
    fws_note note;
    int have = 0;

    fws_err err = follow_fetch_checkpoint(m->t, log_key, cur, FWS_NOTE_MAX + 1, &note, &cp, eb);
    if (err == FWS_OK)
        err = follow_state_load(state_dir, log_key, old, FWS_NOTE_MAX + 1, &old_cp, &have, eb);
    if (err == FWS_OK && !have) {
        memset(&old_cp, 0, sizeof(old_cp));
        err = fws_merkle_empty_root(&fws_sha256_ops, old_cp.root);
    }
    if (err == FWS_OK)
        err = follow_check_consistency(m->t, &old_cp, &cp, eb);
    m->size = cp.size;
    if (err == FWS_OK)
        err = recompute(m, &old_cp, &cp, check_records, eb);
    if (err == FWS_OK && (!have || cp.size != old_cp.size))
        err = follow_state_write(state_dir, log_key->name, cur, strlen(cur), eb);
    if (err == FWS_OK && res != NULL) {
        memset(res, 0, sizeof(*res));
        res->old_size = old_cp.size;
        res->new_size = cp.size;
        res->first_sight = !have;
        res->entries = cp.size - old_cp.size;
    }
    return err;
}

fws_err fws_monitor_check(const fws_tile_source *src, const fws_note_vkey *log_key,
                          const char *state_dir, int check_records, fws_follow_result *res,
                          fws_errbuf *eb)
{
    mon *m;
    char *bufs;
    if (src == NULL || log_key == NULL || state_dir == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "monitor: missing argument");
    m = calloc(1, sizeof(*m));
    bufs = malloc(2 * (FWS_NOTE_MAX + 1));
    fws_err err = m && bufs ? FWS_OK : fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    if (err == FWS_OK && (m->bundle = malloc(FWS_BUNDLE_MAX)) == NULL)
        err = fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    if (err == FWS_OK)
        err = fws_tlog_open(src, &fws_sha256_ops, &m->t, eb);
    if (err == FWS_OK)
        err = monitor_pass(m, log_key, state_dir, check_records, bufs, res, eb);
    if (m != NULL) {
        fws_tlog_close(m->t);
        free(m->bundle);
    }
    free(m);
    free(bufs);
    return err;
}
