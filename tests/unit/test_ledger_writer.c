/* The log writer: tiles that the read side accepts and that give the reference root at every
 * size, durable state across reopen, recovery from a batch cut short, deduplication, and
 * bad input refused without losing anything. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_ledger_writer_util.h"

typedef struct fixture {
    char dir[256];
    char log[300];
    fws_signer signer;
    fws_note_vkey vkey;
} fixture;

static int setup_any(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tw_tmpdir(f->dir);
    snprintf(f->log, sizeof(f->log), "%s/log", f->dir);
    f->signer = tw_make_log(f->log, "example.com/test-log", 1, &f->vkey);
    *state = f;
    return 0;
}

static int setup_records(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tw_tmpdir(f->dir);
    snprintf(f->log, sizeof(f->log), "%s/log", f->dir);
    f->signer = tw_make_log(f->log, "example.com/records", 0, &f->vkey);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fws_signer_free(&f->signer);
    tw_rmtree(f->dir);
    free(f);
    return 0;
}

/* Entries the tests append to any-entries logs: distinct, of varied lengths. */
typedef struct corpus {
    uint8_t **e;
    size_t *len;
    uint64_t n, cap;
} corpus;

static void corpus_add(corpus *c, const char *prefix, uint64_t i)
{
    char buf[128];
    int n = snprintf(buf, sizeof(buf), "%s %llu", prefix, (unsigned long long)i);
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->e = realloc(c->e, c->cap * sizeof(*c->e));
        c->len = realloc(c->len, c->cap * sizeof(*c->len));
        assert_non_null(c->e);
        assert_non_null(c->len);
    }
    c->e[c->n] = malloc((size_t)n + (i % 7));
    memcpy(c->e[c->n], buf, (size_t)n);
    memset(c->e[c->n] + n, 'x', i % 7);
    c->len[c->n] = (size_t)n + (i % 7);
    c->n++;
}

static void corpus_free(corpus *c)
{
    for (uint64_t i = 0; i < c->n; i++)
        free(c->e[i]);
    free(c->e);
    free(c->len);
}

/* Appends c->e[from, to) in one batch and checks the indexes. */
static void append_range(fws_ledger *l, const corpus *c, uint64_t from, uint64_t to)
{
    size_t n = (size_t)(to - from);
    fws_ledger_entry *e = calloc(n, sizeof(*e));
    uint64_t *idx = calloc(n, sizeof(*idx));
    fws_errbuf eb = {{0}};
    for (size_t i = 0; i < n; i++) {
        e[i].data = c->e[from + i];
        e[i].len = c->len[from + i];
    }
    if (fws_ledger_append(l, e, n, idx, NULL, &eb) != FWS_OK)
        fail_msg("append: %s", eb.msg);
    for (size_t i = 0; i < n; i++)
        assert_true(idx[i] == from + i);
    free(e);
    free(idx);
}

/* The tiles give the reference root at size, and the published checkpoint verifies. */
static void check_log(const fixture *f, const corpus *c, uint64_t size)
{
    tw_reader *r = tw_reader_open(f->log);
    uint8_t want[32], got[32];
    fws_errbuf eb = {{0}};
    tw_ref_root(c->e, c->len, size, want);
    if (fws_tlog_root(r->t, size, got, &eb) != FWS_OK)
        fail_msg("root: %s", eb.msg);
    assert_memory_equal(got, want, 32);
    tw_reader_close(r);
}

static void check_checkpoint(const fixture *f, uint64_t size, const uint8_t root[32])
{
    char path[400];
    size_t len = 0;
    fws_note note;
    fws_checkpoint cp;
    snprintf(path, sizeof(path), "%s/checkpoint", f->log);
    char *text = tw_slurp(path, &len);
    assert_non_null(text);
    assert_int_equal(fws_checkpoint_open(text, len, &f->vkey, NULL, &note, &cp, NULL), FWS_OK);
    assert_true(cp.size == size);
    assert_memory_equal(cp.root, root, 32);
    free(text);
}

static void test_empty_log(void **state)
{
    fixture *f = *state;
    uint8_t empty[32];
    fws_ledger_status st;
    fws_ledger *l = tw_open(f->log, NULL);
    fws_ledger_get_status(l, &st);
    assert_true(st.size == 0 && st.signed_size == 0);
    assert_int_equal(st.any_entries, 1);
    assert_string_equal(st.origin, "example.com/test-log");
    assert_int_equal(fws_merkle_empty_root(&fws_sha256_ops, empty), FWS_OK);
    check_checkpoint(f, 0, empty);
    assert_int_equal(fws_ledger_unsigned(l), 0);
    fws_ledger_close(l);
}

/* Batches of many shapes across tile and level boundaries (65536 = one full level-1 tile). */
static void test_tile_boundaries(void **state)
{
    fixture *f = *state;
    static const uint64_t cuts[] = {1,    2,     255,   256,   257,   511,  512,
                                    1000, 65535, 65536, 65537, 66000, 66049};
    corpus c = {0};
    uint64_t done = 0;
    for (uint64_t i = 0; i < 66049; i++)
        corpus_add(&c, "entry", i);
    fws_ledger *l = tw_open(f->log, &f->signer);
    for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
        uint64_t to = cuts[k];
        while (done < to) {
            uint64_t step = to - done > FWS_LEDGER_BATCH_MAX ? FWS_LEDGER_BATCH_MAX : to - done;
            append_range(l, &c, done, done + step);
            done += step;
        }
        assert_int_equal(fws_ledger_publish(l, NULL), FWS_OK);
        check_log(f, &c, done);
        if (k == 4) { /* reopen in the middle: the state comes back from disk */
            fws_ledger_close(l);
            l = tw_open(f->log, &f->signer);
        }
    }
    fws_ledger_status st;
    fws_ledger_get_status(l, &st);
    check_checkpoint(f, 66049, st.root);
    fws_ledger_close(l);

    /* every entry reads back exactly, and proves its inclusion */
    tw_reader *r = tw_reader_open(f->log);
    uint8_t buf[256], proof[64][32], leaf[32];
    for (uint64_t i = 0; i < c.n; i += 97) {
        size_t len = 0, n = 0;
        assert_int_equal(fws_tlog_entry(r->t, i, c.n, buf, sizeof(buf), &len, NULL), FWS_OK);
        assert_int_equal(len, c.len[i]);
        assert_memory_equal(buf, c.e[i], len);
        assert_int_equal(fws_tlog_inclusion_proof(r->t, i, c.n, proof, 64, &n, NULL), FWS_OK);
        assert_int_equal(fws_merkle_leaf_hash(&fws_sha256_ops, buf, len, leaf), FWS_OK);
        assert_int_equal(fws_merkle_verify_inclusion(&fws_sha256_ops, i, c.n, leaf,
                                                     (const uint8_t(*)[32])proof, n, st.root),
                         FWS_OK);
    }
    tw_reader_close(r);
    corpus_free(&c);
}

/* A batch whose tiles were written but whose tree state was not (a crash between the two):
 * the log reopens at the durable size and the next batch overwrites what was left. */
static void test_recovery_after_torn_batch(void **state)
{
    fixture *f = *state;
    corpus c = {0}, other = {0};
    char path[400];
    size_t state_len = 0;
    for (uint64_t i = 0; i < 900; i++)
        corpus_add(&c, "kept", i);
    for (uint64_t i = 0; i < 900; i++)
        corpus_add(&other, i < 300 ? "kept" : "lost", i);

    fws_ledger *l = tw_open(f->log, &f->signer);
    append_range(l, &c, 0, 300);
    assert_int_equal(fws_ledger_publish(l, NULL), FWS_OK);
    snprintf(path, sizeof(path), "%s/tree-state", f->log);
    char *saved = tw_slurp(path, &state_len);
    append_range(l, &other, 300, 700); /* "lost": its tree state is rolled back below */
    fws_ledger_close(l);
    tw_write(path, saved, state_len);
    free(saved);

    l = tw_open(f->log, &f->signer);
    fws_ledger_status st;
    fws_ledger_get_status(l, &st);
    assert_true(st.size == 300);
    append_range(l, &c, 300, 900);
    assert_int_equal(fws_ledger_publish(l, NULL), FWS_OK);
    fws_ledger_close(l);
    check_log(f, &c, 900);
    corpus_free(&c);
    corpus_free(&other);
}

static void test_dedup(void **state)
{
    fixture *f = *state;
    char a[512], b[512];
    size_t alen = tw_install(a, sizeof(a), 1), blen = tw_install(b, sizeof(b), 2);
    /* the same record spelled differently is the same entry */
    char a2[600];
    snprintf(a2, sizeof(a2), "  %s\n", a);
    fws_ledger_entry e[4] = {{(uint8_t *)a, alen},
                             {(uint8_t *)b, blen},
                             {(uint8_t *)a2, strlen(a2)},
                             {(uint8_t *)b, blen}};
    uint64_t idx[4];
    uint8_t dup[4];
    fws_ledger *l = tw_open(f->log, &f->signer);
    assert_int_equal(fws_ledger_append(l, e, 4, idx, dup, NULL), FWS_OK);
    assert_true(idx[0] == 0 && idx[1] == 1 && idx[2] == 0 && idx[3] == 1);
    assert_true(!dup[0] && !dup[1] && dup[2] && dup[3]);
    assert_int_equal(fws_ledger_append(l, &e[1], 1, idx, dup, NULL), FWS_OK);
    assert_true(idx[0] == 1 && dup[0]);
    fws_ledger_status st;
    fws_ledger_get_status(l, &st);
    assert_true(st.size == 2);
    fws_ledger_close(l);
    /* after a reopen the index still knows them */
    l = tw_open(f->log, &f->signer);
    assert_int_equal(fws_ledger_append(l, &e[2], 1, idx, dup, NULL), FWS_OK);
    assert_true(idx[0] == 0 && dup[0]);
    fws_ledger_close(l);
}

static void test_bad_record_appends_nothing(void **state)
{
    fixture *f = *state;
    char a[512], msg[FWS_ERRBUF_SIZE];
    size_t alen = tw_install(a, sizeof(a), 5);
    const char *bad = "{\"type\":\"install\",\"schema\":1}";
    fws_ledger_entry e[2] = {{(uint8_t *)a, alen}, {(const uint8_t *)bad, strlen(bad)}};
    uint64_t idx[2];
    size_t at = 99;
    fws_errbuf eb = {{0}};
    fws_ledger *l = tw_open(f->log, &f->signer);
    assert_int_equal(fws_ledger_append(l, e, 2, idx, NULL, &eb), FWS_ERR_SCHEMA);
    assert_non_null(strstr(eb.msg, "entry 2: install record: missing field \"time\""));
    fws_errbuf_clear(&eb);
    assert_int_equal(fws_ledger_append_at(l, e, 2, idx, NULL, &at, &eb), FWS_ERR_SCHEMA);
    assert_int_equal(at, 1);
    snprintf(msg, sizeof(msg), "%s", eb.msg);
    assert_true(strncmp(msg, "install record:", 15) == 0);
    fws_ledger_status st;
    fws_ledger_get_status(l, &st);
    assert_true(st.size == 0);
    /* and an unknown type alone */
    const char *unknown = "{\"type\":\"firmware\",\"schema\":1,\"time\":\"2024-05-01T12:00:00Z\"}";
    fws_ledger_entry u = {(const uint8_t *)unknown, strlen(unknown)};
    fws_errbuf_clear(&eb);
    assert_int_equal(fws_ledger_append(l, &u, 1, idx, NULL, &eb), FWS_ERR_SCHEMA);
    assert_non_null(strstr(eb.msg, "unknown type \"firmware\""));
    fws_ledger_close(l);
}

static void test_any_entries_cap(void **state)
{
    fixture *f = *state;
    uint8_t *big = calloc(1, FWS_ENTRY_MAX + 1);
    fws_ledger_entry e = {big, FWS_ENTRY_MAX + 1};
    uint64_t idx;
    fws_errbuf eb = {{0}};
    fws_ledger *l = tw_open(f->log, &f->signer);
    assert_int_equal(fws_ledger_append(l, &e, 1, &idx, NULL, &eb), FWS_ERR_TOO_BIG);
    assert_non_null(strstr(eb.msg, "65535"));
    e.len = FWS_ENTRY_MAX; /* the largest entry fits */
    assert_int_equal(fws_ledger_append(l, &e, 1, &idx, NULL, NULL), FWS_OK);
    e.len = 0; /* so does an empty one */
    assert_int_equal(fws_ledger_append(l, &e, 1, &idx, NULL, NULL), FWS_OK);
    assert_true(idx == 1);
    assert_int_equal(fws_ledger_publish(l, NULL), FWS_OK);
    fws_ledger_close(l);
    tw_reader *r = tw_reader_open(f->log);
    size_t len = 99;
    assert_int_equal(fws_tlog_entry(r->t, 0, 2, big, FWS_ENTRY_MAX + 1, &len, NULL), FWS_OK);
    assert_int_equal(len, FWS_ENTRY_MAX);
    assert_int_equal(fws_tlog_entry(r->t, 1, 2, big, FWS_ENTRY_MAX + 1, &len, NULL), FWS_OK);
    assert_int_equal(len, 0);
    tw_reader_close(r);
    free(big);
}

static void test_lock_and_keys(void **state)
{
    fixture *f = *state;
    fws_ledger *l = tw_open(f->log, NULL), *l2 = NULL;
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_ledger_open(f->log, NULL, &l2, &eb), FWS_ERR_STATE);
    assert_non_null(strstr(eb.msg, "locked by another appender"));
    assert_null(l2);
    /* another key cannot sign for this log */
    fws_signer other = tw_signer();
    fws_errbuf_clear(&eb);
    assert_int_equal(fws_ledger_set_signer(l, &other, &eb), FWS_ERR_KEY_MISMATCH);
    fws_signer_free(&other);
    /* nothing to sign without entries; with entries and no key, publishing says so */
    uint8_t x = 'x';
    fws_ledger_entry e = {&x, 1};
    uint64_t idx;
    assert_int_equal(fws_ledger_publish(l, NULL), FWS_OK);
    assert_int_equal(fws_ledger_append(l, &e, 1, &idx, NULL, NULL), FWS_OK);
    assert_int_equal(fws_ledger_unsigned(l), 1);
    fws_errbuf_clear(&eb);
    assert_int_equal(fws_ledger_publish(l, &eb), FWS_ERR_STATE);
    assert_non_null(strstr(eb.msg, "no signing key"));
    fws_ledger_close(l);
}

static void replace_file(const fixture *f, const char *name, const void *data, size_t len)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/%s", f->log, name);
    tw_write(path, data, len);
}

static fws_err try_open(const fixture *f, char *msg)
{
    fws_ledger *l = NULL;
    fws_errbuf eb = {{0}};
    fws_err err = fws_ledger_open(f->log, NULL, &l, &eb);
    fws_ledger_close(l);
    snprintf(msg, FWS_ERRBUF_SIZE, "%s", eb.msg);
    return err;
}

static void fill(const fixture *f, uint64_t n)
{
    corpus c = {0};
    for (uint64_t i = 0; i < n; i++)
        corpus_add(&c, "e", i);
    fws_ledger *l = tw_open(f->log, &f->signer);
    append_range(l, &c, 0, n);
    assert_int_equal(fws_ledger_publish(l, NULL), FWS_OK);
    fws_ledger_close(l);
    corpus_free(&c);
}

static void test_checkpoint_from_another_key(void **state)
{
    fixture *f = *state;
    char msg[FWS_ERRBUF_SIZE], text[256], note[1024];
    size_t tlen = 0, nlen = 0;
    fill(f, 5);
    fws_signer other = tw_signer();
    fws_checkpoint cp = {"example.com/test-log", 20, 5, {0}, NULL, 0};
    assert_int_equal(fws_checkpoint_format(&cp, text, sizeof(text), &tlen, NULL), FWS_OK);
    assert_int_equal(
        fws_note_sign(text, tlen, "example.com/test-log", &other, note, sizeof(note), &nlen, NULL),
        FWS_OK);
    fws_signer_free(&other);
    replace_file(f, "checkpoint", note, nlen);
    assert_int_equal(try_open(f, msg), FWS_ERR_KEY_MISMATCH);
    assert_non_null(strstr(msg, "checkpoint: not signed by this log's key"));
}

static void test_tiles_disagree(void **state)
{
    fixture *f = *state;
    char msg[FWS_ERRBUF_SIZE], path[400];
    size_t len = 0;
    fill(f, 5);
    /* flip one bit of the partial level-0 tile: tiles no longer give the durable root */
    snprintf(path, sizeof(path), "%s/tile/0/000.p/5", f->log);
    uint8_t *t = (uint8_t *)tw_slurp(path, &len);
    assert_int_equal(len, 5 * 32);
    t[40] ^= 1;
    tw_write(path, t, len);
    assert_int_equal(try_open(f, msg), FWS_ERR_INCONSISTENT);
    assert_non_null(strstr(msg, "entry 1 in entry bundle 0 does not match tile 0/0"));
    /* a tile of the wrong width */
    tw_write(path, t, 4 * 32);
    assert_int_equal(try_open(f, msg), FWS_ERR_LENGTH);
    t[40] ^= 1;
    tw_write(path, t, len);
    assert_int_equal(try_open(f, msg), FWS_OK);
    free(t);
    /* a tree state whose root the tiles do not give */
    char st[256], b64[48];
    uint8_t root[32] = {1, 2, 3};
    fws_base64_encode(root, 32, b64);
    snprintf(st, sizeof(st), "fwseal-tree-state/1\n5\n%s\n", b64);
    replace_file(f, "tree-state", st, strlen(st));
    assert_int_equal(try_open(f, msg), FWS_ERR_INCONSISTENT);
    assert_non_null(strstr(msg, "the tiles disagree with the tree state"));
}

/* The checkpoint covers 5 entries, the tree 9: a tile only the checkpoint's size uses is
 * damaged, so the tiles no longer give the checkpoint's root. */
static void test_tiles_disagree_with_checkpoint(void **state)
{
    fixture *f = *state;
    char msg[FWS_ERRBUF_SIZE], path[400];
    size_t len = 0;
    fill(f, 5);
    fws_ledger *l = tw_open(f->log, NULL);
    uint8_t x[4] = {'m', 'o', 'r', 'e'};
    fws_ledger_entry e[4] = {{x, 1}, {x, 2}, {x, 3}, {x, 4}};
    uint64_t idx[4];
    assert_int_equal(fws_ledger_append(l, e, 4, idx, NULL, NULL), FWS_OK);
    fws_ledger_close(l); /* no signer: the checkpoint stays at 5 */
    assert_int_equal(try_open(f, msg), FWS_OK);
    snprintf(path, sizeof(path), "%s/tile/0/000.p/5", f->log);
    uint8_t *t = (uint8_t *)tw_slurp(path, &len);
    t[100] ^= 1;
    tw_write(path, t, len);
    free(t);
    assert_int_equal(try_open(f, msg), FWS_ERR_INCONSISTENT);
    assert_non_null(strstr(msg, "the tiles disagree with the checkpoint: at size 5"));
}

static void test_checkpoint_ahead_of_state(void **state)
{
    fixture *f = *state;
    char msg[FWS_ERRBUF_SIZE], path[400];
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/tree-state", f->log);
    char *empty_state = tw_slurp(path, &len);
    fill(f, 3);
    tw_write(path, empty_state, len);
    free(empty_state);
    assert_int_equal(try_open(f, msg), FWS_ERR_INCONSISTENT);
    assert_non_null(strstr(msg, "ahead of the durable tree state"));
}

static void test_cosignature_merge(void **state)
{
    fixture *f = *state;
    char path[400], line[FWS_NOTE_SIG_LINE_MAX], cosigned[4096];
    size_t len = 0, line_len = 0;
    fws_note note;
    fws_errbuf eb = {{0}};
    fill(f, 3);
    snprintf(path, sizeof(path), "%s/checkpoint", f->log);
    char *cp = tw_slurp(path, &len);
    assert_int_equal(fws_note_parse(cp, len, &note, NULL), FWS_OK);
    fws_signer w = tw_signer();
    assert_int_equal(
        fws_cosig_sign_line(&note, "w1.example", &w, 1700000000, line, &line_len, NULL), FWS_OK);
    snprintf(cosigned, sizeof(cosigned), "%s%s", cp, line);
    assert_int_equal(fws_ledger_add_cosignatures(f->log, cosigned, strlen(cosigned), &eb), FWS_OK);
    char *merged = tw_slurp(path, &len);
    assert_string_equal(merged, cosigned);
    /* the writer still opens it, and a new checkpoint replaces it */
    fws_ledger *l = tw_open(f->log, &f->signer);
    uint8_t x = 'z';
    fws_ledger_entry e = {&x, 1};
    uint64_t idx;
    assert_int_equal(fws_ledger_append(l, &e, 1, &idx, NULL, NULL), FWS_OK);
    assert_int_equal(fws_ledger_publish(l, NULL), FWS_OK);
    char buf[FWS_NOTE_MAX];
    assert_int_equal(fws_ledger_checkpoint(l, buf, sizeof(buf), &len, NULL), FWS_OK);
    assert_null(strstr(buf, "w1.example"));
    fws_ledger_close(l);
    /* a cosignature for the old checkpoint is refused now */
    assert_int_equal(fws_ledger_add_cosignatures(f->log, cosigned, strlen(cosigned), &eb),
                     FWS_ERR_STATE);
    assert_non_null(strstr(eb.msg, "another checkpoint"));
    fws_signer_free(&w);
    free(cp);
    free(merged);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_log, setup_any, teardown),
        cmocka_unit_test_setup_teardown(test_tile_boundaries, setup_any, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_after_torn_batch, setup_any, teardown),
        cmocka_unit_test_setup_teardown(test_dedup, setup_records, teardown),
        cmocka_unit_test_setup_teardown(test_bad_record_appends_nothing, setup_records, teardown),
        cmocka_unit_test_setup_teardown(test_any_entries_cap, setup_any, teardown),
        cmocka_unit_test_setup_teardown(test_lock_and_keys, setup_any, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_from_another_key, setup_any, teardown),
        cmocka_unit_test_setup_teardown(test_tiles_disagree, setup_any, teardown),
        cmocka_unit_test_setup_teardown(test_tiles_disagree_with_checkpoint, setup_any, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_ahead_of_state, setup_any, teardown),
        cmocka_unit_test_setup_teardown(test_cosignature_merge, setup_any, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
