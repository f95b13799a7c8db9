/* tlog-tiles: paths, widths, bundles, and logs written by the test writer and read back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "fwseal/crypto.h"
#include "fwseal/merkle.h"
#include "fwseal/note.h"
#include "fwseal/tiles.h"
#include "test_ledger_build.h"
#include "test_ledger_util.h"

#define H 32

/* ---- paths ---------------------------------------------------------------------------------- */

static void test_path_examples(void **state)
{
    (void)state;
    static const struct {
        fws_tile_id id;
        const char *path;
    } cases[] = {
        {{0, 0, 1234067, 256}, "tile/0/x001/x234/067"},
        {{0, 0, 0, 256}, "tile/0/000"},
        {{0, 0, 0, 1}, "tile/0/000.p/1"},
        {{0, 1, 999, 17}, "tile/1/999.p/17"},
        {{0, 2, 1000, 255}, "tile/2/x001/000.p/255"},
        {{0, 63, 5, 256}, "tile/63/005"},
        {{1, 0, 0, 15}, "tile/entries/000.p/15"},
        {{1, 0, 1234067, 256}, "tile/entries/x001/x234/067"},
        {{0, 0, UINT64_MAX, 256}, "tile/0/x018/x446/x744/x073/x709/x551/615"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[FWS_TILE_PATH_MAX];
        size_t len = 0;
        fws_tile_id back;
        assert_int_equal(fws_tile_path(&cases[i].id, out, &len), FWS_OK);
        assert_string_equal(out, cases[i].path);
        assert_int_equal(len, strlen(out));
        assert_int_equal(fws_tile_path_parse(out, len, &back), FWS_OK);
        assert_int_equal(back.entries, cases[i].id.entries);
        assert_int_equal(back.level, cases[i].id.level);
        assert_true(back.index == cases[i].id.index);
        assert_int_equal(back.width, cases[i].id.width);
    }
    /* Round trips over many indexes and widths. */
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        fws_tile_id id = {i % 5 == 0, i % 5 == 0 ? 0u : (unsigned)(x % 64), x >> (unsigned)(i % 64),
                          (unsigned)(x % 256) + 1};
        char out[FWS_TILE_PATH_MAX];
        size_t len = 0;
        fws_tile_id back;
        assert_int_equal(fws_tile_path(&id, out, &len), FWS_OK);
        assert_int_equal(fws_tile_path_parse(out, len, &back), FWS_OK);
        assert_int_equal(back.entries, id.entries);
        assert_int_equal(back.level, id.level);
        assert_true(back.index == id.index);
        assert_int_equal(back.width, id.width);
    }
}

static void test_path_rejects(void **state)
{
    (void)state;
    static const char *bad[] = {
        "tile/00/000",
        "tile/64/000",
        "tile/0/x000/001",
        "tile/0/1",
        "tile/0/0001",
        "tile/0/01",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/012",
        "tile/0/000/",
        "tile/entries/x001",
        "tile/0/x001",
        "tile/0/000.p/",
        "tile/-1/000",
        "tile/0/000.p/1/",
        "tile/entries/1/000",
        "tile/0/X001/000",
        "tile//000",
        "tiles/0/000",
        "tile/0/000.q/5",
        "tile/0/x018/x446/x744/x073/x709/x551/616", /* 2^64 */
        "tile/0/x001/x000/x000/x000/x000/x000/x000/000",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fws_tile_id id;
        if (fws_tile_path_parse(bad[i], strlen(bad[i]), &id) != FWS_ERR_FORMAT)
            fail_msg("path \"%s\" accepted", bad[i]);
    }
    char out[FWS_TILE_PATH_MAX];
    fws_tile_id bad_id = {0, 64, 0, 256};
    assert_int_equal(fws_tile_path(&bad_id, out, NULL), FWS_ERR_ARG);
    bad_id = (fws_tile_id){0, 0, 0, 0};
    assert_int_equal(fws_tile_path(&bad_id, out, NULL), FWS_ERR_ARG);
    bad_id = (fws_tile_id){1, 1, 0, 256};
    assert_int_equal(fws_tile_path(&bad_id, out, NULL), FWS_ERR_ARG);
}

static void test_widths(void **state)
{
    (void)state;
    /* The tlog-tiles example: a tree of 70,000 leaves. */
    assert_int_equal(fws_tile_width(0, 272, 70000), 256);
    assert_int_equal(fws_tile_width(0, 273, 70000), 112);
    assert_int_equal(fws_tile_width(0, 274, 70000), 0);
    assert_int_equal(fws_tile_width(1, 0, 70000), 256);
    assert_int_equal(fws_tile_width(1, 1, 70000), 17);
    assert_int_equal(fws_tile_width(2, 0, 70000), 1);
    assert_int_equal(fws_tile_width(3, 0, 70000), 0);
    /* A tree of 256: one full level-0 tile and a level-1 tile of width 1. */
    assert_int_equal(fws_tile_width(0, 0, 256), 256);
    assert_int_equal(fws_tile_width(0, 1, 256), 0);
    assert_int_equal(fws_tile_width(1, 0, 256), 1);
    assert_int_equal(fws_tile_width(0, 0, 0), 0);
    assert_int_equal(fws_tile_width(7, 0, UINT64_MAX), 255);
    assert_int_equal(fws_tile_width(64, 0, UINT64_MAX), 0);
}

/* ---- bundles ----------------------------------------------------------------------------------
 */

static void test_bundles(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t len = 0;
    fws_bundle_entry e[FWS_TILE_WIDTH];
    assert_int_equal(fws_bundle_append(buf, sizeof buf, &len, (const uint8_t *)"one", 3), FWS_OK);
    assert_int_equal(fws_bundle_append(buf, sizeof buf, &len, NULL, 0), FWS_OK);
    assert_int_equal(fws_bundle_append(buf, sizeof buf, &len, (const uint8_t *)"three", 5), FWS_OK);
    assert_int_equal(len, 2 + 3 + 2 + 2 + 5);
    assert_memory_equal(buf, "\0\3one\0\0\0\5three", len);
    assert_int_equal(fws_bundle_parse(buf, len, 3, e, NULL), FWS_OK);
    assert_int_equal(e[0].len, 3);
    assert_int_equal(e[1].len, 0);
    assert_memory_equal(e[2].data, "three", 5);
    assert_int_equal(fws_bundle_parse(buf, len, 2, e, NULL), FWS_ERR_LENGTH);
    assert_int_equal(fws_bundle_parse(buf, len, 4, e, NULL), FWS_ERR_LENGTH);
    assert_int_equal(fws_bundle_parse(buf, len - 1, 3, e, NULL), FWS_ERR_FORMAT);
    assert_int_equal(fws_bundle_parse(buf, len + 1, 3, e, NULL), FWS_ERR_LENGTH);
    buf[len] = 0;
    assert_int_equal(fws_bundle_parse(buf, len + 1, 4, e, NULL), FWS_ERR_FORMAT);
    assert_int_equal(fws_bundle_parse(buf, len, 0, e, NULL), FWS_ERR_ARG);
    /* Entries over 65535 bytes and full buffers are refused. */
    static uint8_t big[70000], entry[65536];
    size_t blen = 0;
    assert_int_equal(fws_bundle_append(big, sizeof big, &blen, entry, 65536), FWS_ERR_TOO_BIG);
    assert_int_equal(fws_bundle_append(big, sizeof big, &blen, entry, 65535), FWS_OK);
    assert_int_equal(fws_bundle_append(big, sizeof big, &blen, entry, 70000 - 65537 - 1),
                     FWS_ERR_TOO_BIG);
}

/* ---- logs written by the test writer ----------------------------------------------------- */

typedef struct logdir {
    char dir[4096];
    fws_tile_dir td;
    fws_tile_source src;
    fws_tlog *log;
    fws_signer signer;
    fws_note_vkey key;
} logdir;

static void ld_open(logdir *l)
{
    assert_int_equal(fws_tile_dir_source(&l->td, l->dir, &l->src, NULL), FWS_OK);
    assert_int_equal(fws_tlog_open(&l->src, &fws_sha256_ops, &l->log, NULL), FWS_OK);
}

/* Writes the log at size, then reads its checkpoint back and verifies it. */
static void ld_write(logdir *l, uint64_t size, fws_checkpoint *cp, char *text, size_t cap)
{
    size_t len = 0;
    fws_note note;
    assert_int_equal(tb_write_log(l->dir, "example.com/fwseal-test", &l->signer, size), 0);
    fws_tlog_close(l->log);
    ld_open(l);
    assert_int_equal(fws_tlog_fetch_checkpoint(l->log, text, cap, &len, NULL), FWS_OK);
    assert_int_equal(fws_checkpoint_open(text, len, &l->key, NULL, &note, cp, NULL), FWS_OK);
    assert_int_equal(cp->size, size);
}

static int ld_setup(void **state)
{
    logdir *l = calloc(1, sizeof *l);
    if (l == NULL || tb_tmpdir(l->dir, sizeof l->dir) == NULL ||
        tb_signer("example.com/fwseal-test", FWS_NOTE_TYPE_ED25519, &l->signer, &l->key) != 0)
        return -1;
    *state = l;
    return 0;
}

static int ld_teardown(void **state)
{
    logdir *l = *state;
    fws_tlog_close(l->log);
    fws_signer_free(&l->signer);
    tb_rmrf(l->dir);
    free(l);
    return 0;
}

static void check_inclusion(logdir *l, uint64_t i, uint64_t size, const uint8_t root[H])
{
    uint8_t proof[FWS_MERKLE_MAX_PROOF][H], leaf[H], e[64], want[64];
    size_t n = 0, len = 0;
    fws_errbuf eb = {{0}};
    if (fws_tlog_entry(l->log, i, size, e, sizeof e, &len, &eb) != FWS_OK)
        fail_msg("entry %llu of %llu: %s", (unsigned long long)i, (unsigned long long)size, eb.msg);
    size_t wl = tb_entry(i, want, sizeof want);
    assert_int_equal(len, wl);
    assert_memory_equal(e, want, wl);
    assert_int_equal(fws_merkle_leaf_hash(&fws_sha256_ops, e, len, leaf), FWS_OK);
    assert_int_equal(
        fws_tlog_inclusion_proof(l->log, i, size, proof, FWS_MERKLE_MAX_PROOF, &n, NULL), FWS_OK);
    assert_int_equal(fws_merkle_verify_inclusion(&fws_sha256_ops, i, size, leaf,
                                                 (const uint8_t(*)[H])proof, n, root),
                     FWS_OK);
}

static void test_growing_log(void **state)
{
    logdir *l = *state;
    static const uint64_t sizes[] = {1, 2, 255, 256, 257, 300, 511, 512, 700, 65536, 65836};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    fws_checkpoint cp[NS];
    static char text[NS][1024];
    for (size_t s = 0; s < NS; s++) {
        fws_tlog_audit a;
        uint8_t root[H];
        fws_errbuf eb = {{0}};
        ld_write(l, sizes[s], &cp[s], text[s], sizeof text[s]);
        if (fws_tlog_audit_tiles(l->log, sizes[s], cp[s].root, &a, &eb) != FWS_OK)
            fail_msg("audit at %llu: %s", (unsigned long long)sizes[s], eb.msg);
        assert_int_equal(a.entries, sizes[s]);
        assert_int_equal(a.levels, sizes[s] >= 65536 ? 3 : sizes[s] >= 256 ? 2 : 1);
        /* Every earlier size: its root from the tiles of the bigger tree (the partial tiles of
         * the earlier size are still on disk), and consistency up to this size. */
        for (size_t r = 0; r <= s; r++) {
            uint8_t proof[FWS_MERKLE_MAX_PROOF][H];
            size_t n = 0;
            assert_int_equal(fws_tlog_root(l->log, sizes[r], root, NULL), FWS_OK);
            assert_memory_equal(root, cp[r].root, H);
            assert_int_equal(fws_tlog_consistency_proof(l->log, sizes[r], sizes[s], proof,
                                                        FWS_MERKLE_MAX_PROOF, &n, NULL),
                             FWS_OK);
            assert_int_equal(fws_merkle_verify_consistency(&fws_sha256_ops, sizes[r], sizes[s],
                                                           cp[r].root, cp[s].root,
                                                           (const uint8_t(*)[H])proof, n),
                             FWS_OK);
        }
        /* Inclusion of a spread of entries (all of them for the small sizes). */
        uint64_t step = sizes[s] > 600 ? sizes[s] / 97 : 1;
        for (uint64_t i = 0; i < sizes[s]; i += step)
            check_inclusion(l, i, sizes[s], cp[s].root);
        check_inclusion(l, sizes[s] - 1, sizes[s], cp[s].root);
    }
}

static void test_partial_tile_fallback(void **state)
{
    logdir *l = *state;
    fws_checkpoint a, b;
    char ta[1024], tb[1024];
    uint8_t root[H];
    ld_write(l, 300, &a, ta, sizeof ta);
    ld_write(l, 600, &b, tb, sizeof tb);
    /* Size 300 needs tile 0/001.p/44; once it is gone the full tile 0/001 serves instead. */
    char path[4200];
    snprintf(path, sizeof path, "%s/tile/0/001.p/44", l->dir);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof path, "%s/tile/entries/001.p/44", l->dir);
    assert_int_equal(unlink(path), 0);
    fws_tlog_close(l->log);
    ld_open(l);
    assert_int_equal(fws_tlog_root(l->log, 300, root, NULL), FWS_OK);
    assert_memory_equal(root, a.root, H);
    assert_int_equal(fws_tlog_audit_tiles(l->log, 300, a.root, NULL, NULL), FWS_OK);
    check_inclusion(l, 299, 300, a.root);
    /* Size 301 was never published, but the full tile covers it too. */
    assert_int_equal(fws_tlog_root(l->log, 301, root, NULL), FWS_OK);
    /* Past the full tiles, a size whose tiles were never written is reported as missing. */
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_tlog_root(l->log, 700, root, &eb), FWS_ERR_NOT_FOUND);
    assert_non_null(strstr(eb.msg, "tile/0/002.p/188"));
    /* Nodes outside the tree are refused. */
    assert_int_equal(fws_tlog_node(l->log, 600, 0, 600, root, NULL), FWS_ERR_ARG);
    assert_int_equal(fws_tlog_node(l->log, 600, 9, 1, root, NULL), FWS_ERR_ARG);
    assert_int_equal(fws_tlog_node(l->log, 600, 9, 0, root, NULL), FWS_OK);
}

static void test_dir_source(void **state)
{
    logdir *l = *state;
    fws_checkpoint cp;
    char text[1024];
    uint8_t buf[16];
    size_t len = 0;
    ld_write(l, 3, &cp, text, sizeof text);
    assert_int_equal(l->src.fetch(l->src.ctx, "../etc/passwd", buf, sizeof buf, &len, NULL),
                     FWS_ERR_ARG);
    assert_int_equal(l->src.fetch(l->src.ctx, "/etc/passwd", buf, sizeof buf, &len, NULL),
                     FWS_ERR_ARG);
    assert_int_equal(l->src.fetch(l->src.ctx, "tile/0/../0/000.p/3", buf, sizeof buf, &len, NULL),
                     FWS_ERR_ARG);
    assert_int_equal(l->src.fetch(l->src.ctx, "nothing-here", buf, sizeof buf, &len, NULL),
                     FWS_ERR_NOT_FOUND);
    assert_int_equal(l->src.fetch(l->src.ctx, "checkpoint", buf, sizeof buf, &len, NULL),
                     FWS_ERR_TOO_BIG);
    assert_int_equal(l->src.fetch(l->src.ctx, "tile", buf, sizeof buf, &len, NULL), FWS_ERR_IO);
    fws_tile_dir d;
    fws_tile_source s;
    assert_int_equal(fws_tile_dir_source(&d, "/nonexistent/fwseal", &s, NULL), FWS_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_examples),
        cmocka_unit_test(test_path_rejects),
        cmocka_unit_test(test_widths),
        cmocka_unit_test(test_bundles),
        cmocka_unit_test_setup_teardown(test_growing_log, ld_setup, ld_teardown),
        cmocka_unit_test_setup_teardown(test_partial_tile_fallback, ld_setup, ld_teardown),
        cmocka_unit_test_setup_teardown(test_dir_source, ld_setup, ld_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
