/* The tessera log: a real 15-entry tlog-tiles log written by another implementation. Every
 * checkpoint verifies, every root is recomputed from the tiles, every pair of sizes is proven
 * consistent and every entry included; mutations of the log are rejected. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fwseal/crypto.h"
#include "fwseal/merkle.h"
#include "fwseal/note.h"
#include "fwseal/tiles.h"
#include "test_ledger_build.h"
#include "test_ledger_util.h"

#define VKEY "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"
#define H 32

typedef struct tess {
    char dir[4096];
    fws_tile_dir td;
    fws_tile_source src;
    fws_tlog *log;
    fws_note_vkey key;
    char cp_text[16][512];
    size_t cp_len[16];
    fws_checkpoint cp[16];
} tess;

static void open_log(tess *t, const char *dir)
{
    snprintf(t->dir, sizeof t->dir, "%s", dir);
    assert_int_equal(fws_note_vkey_parse(VKEY, strlen(VKEY), &t->key, NULL), FWS_OK);
    assert_int_equal(fws_tile_dir_source(&t->td, t->dir, &t->src, NULL), FWS_OK);
    assert_int_equal(fws_tlog_open(&t->src, &fws_sha256_ops, &t->log, NULL), FWS_OK);
}

/* Reads and verifies checkpoint.n through the tile source. */
static fws_err load_checkpoint(tess *t, int n, fws_errbuf *eb)
{
    char path[32];
    size_t len = 0;
    fws_note note;
    snprintf(path, sizeof path, "checkpoint.%d", n);
    fws_err err = t->src.fetch(t->src.ctx, path, (uint8_t *)t->cp_text[n], sizeof t->cp_text[n] - 1,
                               &len, eb);
    if (err != FWS_OK)
        return err;
    t->cp_len[n] = len;
    return fws_checkpoint_open(t->cp_text[n], len, &t->key, NULL, &note, &t->cp[n], eb);
}

static int setup(void **state)
{
    tess *t = calloc(1, sizeof *t);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tessera-log", tl_testdata());
    open_log(t, dir);
    for (int n = 0; n <= 15; n++) {
        fws_errbuf eb = {{0}};
        if (load_checkpoint(t, n, &eb) != FWS_OK)
            fail_msg("checkpoint.%d: %s", n, eb.msg);
    }
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    tess *t = *state;
    fws_tlog_close(t->log);
    free(t);
    return 0;
}

static void test_checkpoints_and_roots(void **state)
{
    tess *t = *state;
    char latest[512];
    size_t len = 0;
    fws_note note;
    fws_checkpoint cp;
    assert_int_equal(fws_tlog_fetch_checkpoint(t->log, latest, sizeof latest, &len, NULL), FWS_OK);
    assert_int_equal(fws_checkpoint_open(latest, len, &t->key, NULL, &note, &cp, NULL), FWS_OK);
    assert_int_equal(cp.size, 15);
    for (int n = 0; n <= 15; n++) {
        uint8_t root[H];
        fws_errbuf eb = {{0}};
        assert_int_equal(t->cp[n].size, (uint64_t)n);
        if (fws_tlog_root(t->log, (uint64_t)n, root, &eb) != FWS_OK)
            fail_msg("root of %d: %s", n, eb.msg);
        assert_memory_equal(root, t->cp[n].root, H);
        fws_tlog_audit a;
        if (fws_tlog_audit_tiles(t->log, (uint64_t)n, t->cp[n].root, &a, &eb) != FWS_OK)
            fail_msg("audit of %d: %s", n, eb.msg);
        assert_int_equal(a.entries, (uint64_t)n);
        assert_int_equal(a.levels, n > 0 ? 1 : 0);
    }
}

static void test_entries(void **state)
{
    tess *t = *state;
    uint8_t e[64];
    size_t len = 0;
    assert_int_equal(fws_tlog_entry(t->log, 0, 15, e, sizeof e, &len, NULL), FWS_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(e, "one", 3);
    assert_int_equal(fws_tlog_entry(t->log, 2, 3, e, sizeof e, &len, NULL), FWS_OK);
    assert_memory_equal(e, "three", 5);
    assert_int_equal(fws_tlog_entry(t->log, 15, 15, e, sizeof e, &len, NULL), FWS_ERR_NOT_FOUND);
}

static void test_consistency_all_pairs(void **state)
{
    tess *t = *state;
    size_t checked = 0;
    for (int n = 1; n <= 15; n++) {
        for (int m = 0; m < n; m++) {
            uint8_t proof[FWS_MERKLE_MAX_PROOF][H];
            size_t k = 0;
            fws_errbuf eb = {{0}};
            if (fws_tlog_consistency_proof(t->log, (uint64_t)m, (uint64_t)n, proof,
                                           FWS_MERKLE_MAX_PROOF, &k, &eb) != FWS_OK)
                fail_msg("consistency %d -> %d: %s", m, n, eb.msg);
            if (m == 0) {
                /* From the empty tree there is nothing to prove. */
                assert_int_equal(k, 0);
                continue;
            }
            const uint8_t(*p)[H] = (const uint8_t(*)[H])proof;
            assert_int_equal(fws_merkle_verify_consistency(&fws_sha256_ops, (uint64_t)m,
                                                           (uint64_t)n, t->cp[m].root,
                                                           t->cp[n].root, p, k),
                             FWS_OK);
            /* The same proof against another tree's root fails. */
            int other = n == 15 ? 14 : n + 1;
            assert_int_equal(fws_merkle_verify_consistency(&fws_sha256_ops, (uint64_t)m,
                                                           (uint64_t)n, t->cp[m].root,
                                                           t->cp[other].root, p, k),
                             FWS_ERR_PROOF);
            checked++;
        }
    }
    printf("tessera: %zu consistency pairs verified\n", checked);
    assert_int_equal(checked, 15 * 14 / 2);
}

static void test_inclusion_every_entry(void **state)
{
    tess *t = *state;
    size_t checked = 0;
    for (int n = 1; n <= 15; n++) {
        for (int i = 0; i < n; i++) {
            uint8_t proof[FWS_MERKLE_MAX_PROOF][H], leaf[H], e[64];
            size_t k = 0, len = 0;
            assert_int_equal(
                fws_tlog_entry(t->log, (uint64_t)i, (uint64_t)n, e, sizeof e, &len, NULL), FWS_OK);
            assert_int_equal(fws_merkle_leaf_hash(&fws_sha256_ops, e, len, leaf), FWS_OK);
            assert_int_equal(fws_tlog_inclusion_proof(t->log, (uint64_t)i, (uint64_t)n, proof,
                                                      FWS_MERKLE_MAX_PROOF, &k, NULL),
                             FWS_OK);
            assert_int_equal(fws_merkle_verify_inclusion(&fws_sha256_ops, (uint64_t)i, (uint64_t)n,
                                                         leaf, (const uint8_t(*)[H])proof, k,
                                                         t->cp[n].root),
                             FWS_OK);
            checked++;
        }
    }
    printf("tessera: %zu inclusion proofs verified\n", checked);
    assert_int_equal(checked, 15 * 16 / 2);
}

/* ---- mutations on a writable copy ------------------------------------------------------------ */

static void copy_log(char *dir, size_t cap)
{
    char cmd[8400];
    assert_non_null(tb_tmpdir(dir, cap));
    snprintf(cmd, sizeof cmd, "cp -r '%s/tessera-log/.' '%s/' && chmod -R u+w '%s'", tl_testdata(),
             dir, dir);
    assert_int_equal(system(cmd), 0);
}

static void rewrite(const char *dir, const char *rel, const void *data, size_t len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    assert_int_equal(tl_write_file(path, data, len), 0);
}

static uint8_t *slurp(const char *dir, const char *rel, size_t *len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    uint8_t *d = tl_read_file(path, len);
    assert_non_null(d);
    return d;
}

/* Opens the mutated copy and returns the error of auditing size 15 against the real root. */
static fws_err audit_copy(const char *dir, const uint8_t root[H], fws_errbuf *eb)
{
    tess *t = calloc(1, sizeof *t);
    open_log(t, dir);
    fws_err err = fws_tlog_audit_tiles(t->log, 15, root, NULL, eb);
    fws_tlog_close(t->log);
    free(t);
    return err;
}

static void test_mutated_checkpoints(void **state)
{
    tess *t = *state;
    char dir[4096];
    size_t len = 0;
    fws_note note;
    fws_checkpoint cp;
    copy_log(dir, sizeof dir);
    char *text = (char *)slurp(dir, "checkpoint", &len);

    /* A flipped bit in the root hash line: the signature no longer verifies. */
    text[strlen("example.com/log/testdata\n15\n") + 3] ^= 0x01;
    assert_int_equal(fws_checkpoint_open(text, len, &t->key, NULL, &note, &cp, NULL),
                     FWS_ERR_SIGNATURE);
    text[strlen("example.com/log/testdata\n15\n") + 3] ^= 0x01;

    /* Signed by another key under the same name: no signature from the log's key. */
    fws_signer other;
    fws_note_vkey ok;
    char forged[1024];
    size_t fl = 0;
    assert_int_equal(tb_signer("example.com/log/testdata", FWS_NOTE_TYPE_ED25519, &other, &ok), 0);
    assert_int_equal(fws_note_parse(text, len, &note, NULL), FWS_OK);
    assert_int_equal(fws_note_sign(note.text, note.text_len, "example.com/log/testdata", &other,
                                   forged, sizeof forged, &fl, NULL),
                     FWS_OK);
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_checkpoint_open(forged, fl, &t->key, NULL, &note, &cp, &eb),
                     FWS_ERR_KEY_MISMATCH);
    assert_non_null(strstr(eb.msg, "no signature from key"));
    /* The other key does accept it: the rejection is about the key, not the format. */
    assert_int_equal(fws_checkpoint_open(forged, fl, &ok, NULL, &note, &cp, NULL), FWS_OK);
    fws_signer_free(&other);
    free(text);
    tb_rmrf(dir);
}

static void test_mutated_tiles(void **state)
{
    tess *t = *state;
    const uint8_t *root = t->cp[15].root;
    char dir[4096];
    size_t len = 0;
    fws_errbuf eb = {{0}};
    copy_log(dir, sizeof dir);
    uint8_t *tile = slurp(dir, "tile/0/000.p/15", &len);
    assert_int_equal(len, 15 * H);
    assert_int_equal(audit_copy(dir, root, NULL), FWS_OK);

    /* Truncated by one byte. */
    rewrite(dir, "tile/0/000.p/15", tile, len - 1);
    assert_int_equal(audit_copy(dir, root, &eb), FWS_ERR_LENGTH);
    assert_non_null(strstr(eb.msg, "tile/0/000.p/15"));

    /* One hash too many: the wrong width for a tree of 15. */
    uint8_t wide[16 * H];
    memcpy(wide, tile, len);
    memcpy(wide + len, tile, H);
    rewrite(dir, "tile/0/000.p/15", wide, sizeof wide);
    fws_errbuf_clear(&eb);
    assert_int_equal(audit_copy(dir, root, &eb), FWS_ERR_LENGTH);

    /* Right width, one flipped bit: the entry's hash disagrees with the tile. */
    tile[5 * H + 7] ^= 0x10;
    rewrite(dir, "tile/0/000.p/15", tile, len);
    fws_errbuf_clear(&eb);
    assert_int_equal(audit_copy(dir, root, &eb), FWS_ERR_DIGEST);
    assert_non_null(strstr(eb.msg, "entry 5"));
    tile[5 * H + 7] ^= 0x10;
    rewrite(dir, "tile/0/000.p/15", tile, len);
    assert_int_equal(audit_copy(dir, root, NULL), FWS_OK);

    /* The tile is gone: not found (and no full tile to fall back on). */
    char path[4200];
    snprintf(path, sizeof path, "%s/tile/0/000.p/15", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(audit_copy(dir, root, NULL), FWS_ERR_NOT_FOUND);
    free(tile);
    tb_rmrf(dir);
}

static void test_mutated_bundles(void **state)
{
    tess *t = *state;
    const uint8_t *root = t->cp[15].root;
    char dir[4096];
    size_t len = 0;
    fws_errbuf eb = {{0}};
    copy_log(dir, sizeof dir);
    uint8_t *b = slurp(dir, "tile/entries/000.p/15", &len);
    uint8_t *more = malloc(len + 3);
    memcpy(more, b, len);

    /* Trailing bytes after the 15 entries. */
    more[len] = 0;
    rewrite(dir, "tile/entries/000.p/15", more, len + 1);
    assert_int_equal(audit_copy(dir, root, &eb), FWS_ERR_LENGTH);
    /* A 16th entry. */
    more[len] = 0, more[len + 1] = 1, more[len + 2] = 'x';
    rewrite(dir, "tile/entries/000.p/15", more, len + 3);
    assert_int_equal(audit_copy(dir, root, NULL), FWS_ERR_LENGTH);
    /* The last entry cut short: its length runs past the end. */
    rewrite(dir, "tile/entries/000.p/15", b, len - 1);
    assert_int_equal(audit_copy(dir, root, NULL), FWS_ERR_FORMAT);
    /* One byte of an entry changed: its leaf hash no longer matches tile 0. */
    b[3] ^= 0x20; /* "one" -> "One" */
    rewrite(dir, "tile/entries/000.p/15", b, len);
    fws_errbuf_clear(&eb);
    assert_int_equal(audit_copy(dir, root, &eb), FWS_ERR_DIGEST);
    assert_non_null(strstr(eb.msg, "entry 0"));
    free(more);
    free(b);
    tb_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoints_and_roots), cmocka_unit_test(test_entries),
        cmocka_unit_test(test_consistency_all_pairs), cmocka_unit_test(test_inclusion_every_entry),
        cmocka_unit_test(test_mutated_checkpoints),   cmocka_unit_test(test_mutated_tiles),
        cmocka_unit_test(test_mutated_bundles),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
