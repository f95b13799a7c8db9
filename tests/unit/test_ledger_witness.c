/* The witness and the monitor: cosign only what is consistent with what was seen before,
 * refuse forks and rollbacks, recompute the tree from the entries, and keep the state
 * untouched when a check fails. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_ledger_writer_util.h"

typedef struct fixture {
    char dir[256];
    char log[300], fork[300], state[300], mstate[300];
    fws_signer signer, w1, w2;
    fws_note_vkey vkey, w1key, w2key;
} fixture;

static void witness_vkey(const fws_signer *s, const char *name, fws_note_vkey *v)
{
    fws_key *pub = NULL;
    assert_int_equal(s->public_key(s->impl, &pub), FWS_OK);
    assert_int_equal(fws_note_vkey_from_key(name, FWS_NOTE_TYPE_COSIG_V1, pub, v, NULL), FWS_OK);
    fws_key_free(pub);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tw_tmpdir(f->dir);
    snprintf(f->log, sizeof(f->log), "%s/log", f->dir);
    snprintf(f->fork, sizeof(f->fork), "%s/fork", f->dir);
    snprintf(f->state, sizeof(f->state), "%s/wstate", f->dir);
    snprintf(f->mstate, sizeof(f->mstate), "%s/mstate", f->dir);
    f->signer = tw_make_log(f->log, "example.com/witnessed", 1, &f->vkey);
    /* the same key and origin, another history: a fork */
    fws_ledger_config cfg = {"example.com/witnessed", "/k.pem", 1};
    assert_int_equal(fws_ledger_create(f->fork, &cfg, &f->signer, NULL, NULL), FWS_OK);
    f->w1 = tw_signer();
    f->w2 = tw_signer();
    witness_vkey(&f->w1, "w1.example", &f->w1key);
    witness_vkey(&f->w2, "w2.example", &f->w2key);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fws_signer_free(&f->signer);
    fws_signer_free(&f->w1);
    fws_signer_free(&f->w2);
    tw_rmtree(f->dir);
    free(f);
    return 0;
}

static void grow(const fixture *f, const char *log, const char *prefix, unsigned from, unsigned to)
{
    enum { BATCH = 8192 };
    char(*buf)[32] = calloc(BATCH, 32);
    fws_ledger_entry *e = calloc(BATCH, sizeof(*e));
    uint64_t *idx = calloc(BATCH, sizeof(*idx));
    fws_ledger *l = tw_open(log, &f->signer);
    for (unsigned i = from; i < to; i += BATCH) {
        unsigned n = to - i < BATCH ? to - i : BATCH;
        for (unsigned k = 0; k < n; k++) {
            e[k].len = (size_t)snprintf(buf[k], sizeof(buf[k]), "%s-%u", prefix, i + k);
            e[k].data = (const uint8_t *)buf[k];
        }
        assert_int_equal(fws_ledger_append(l, e, n, idx, NULL, NULL), FWS_OK);
    }
    assert_int_equal(fws_ledger_publish(l, NULL), FWS_OK);
    fws_ledger_close(l);
    free(buf);
    free(e);
    free(idx);
}

static fws_err cosign(const fixture *f, const char *log, const fws_signer *w, const char *name,
                      char *out, size_t cap, fws_follow_result *res, char *msg)
{
    fws_tile_dir d;
    fws_tile_source src;
    size_t len = 0;
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_tile_dir_source(&d, log, &src, NULL), FWS_OK);
    fws_err err =
        fws_witness_cosign(&src, &f->vkey, f->state, name, w, 1700000000, out, cap, &len, res, &eb);
    if (msg != NULL)
        snprintf(msg, FWS_ERRBUF_SIZE, "%s", eb.msg);
    return err;
}

static fws_err monitor(const fixture *f, const char *log, int records, fws_follow_result *res,
                       char *msg)
{
    fws_tile_dir d;
    fws_tile_source src;
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_tile_dir_source(&d, log, &src, NULL), FWS_OK);
    fws_err err = fws_monitor_check(&src, &f->vkey, f->mstate, records, res, &eb);
    if (msg != NULL)
        snprintf(msg, FWS_ERRBUF_SIZE, "%s", eb.msg);
    return err;
}

static void test_witness_follows_and_cosigns(void **state)
{
    fixture *f = *state;
    char out[FWS_NOTE_MAX], msg[FWS_ERRBUF_SIZE];
    fws_follow_result r;
    fws_note note;
    fws_checkpoint cp;
    uint64_t ts = 0;

    grow(f, f->log, "a", 0, 300);
    assert_int_equal(cosign(f, f->log, &f->w1, "w1.example", out, sizeof(out), &r, msg), FWS_OK);
    assert_true(r.first_sight && r.new_size == 300);
    assert_int_equal(fws_checkpoint_open(out, strlen(out), &f->vkey, NULL, &note, &cp, NULL),
                     FWS_OK);
    assert_int_equal(fws_cosig_verify(&note, &f->w1key, &ts, NULL), FWS_OK);
    assert_true(ts == 1700000000);

    grow(f, f->log, "a", 300, 1000);
    if (cosign(f, f->log, &f->w1, "w1.example", out, sizeof(out), &r, msg) != FWS_OK)
        fail_msg("%s", msg);
    assert_true(!r.first_sight && r.old_size == 300 && r.new_size == 1000);
    /* the same checkpoint again is fine (same root at the same size) */
    assert_int_equal(cosign(f, f->log, &f->w1, "w1.example", out, sizeof(out), &r, msg), FWS_OK);

    /* k of n: two witnesses cosign, merged into the log's checkpoint */
    assert_int_equal(fws_ledger_add_cosignatures(f->log, out, strlen(out), NULL), FWS_OK);
    assert_int_equal(cosign(f, f->log, &f->w2, "w2.example", out, sizeof(out), &r, msg), FWS_OK);
    assert_int_equal(fws_ledger_add_cosignatures(f->log, out, strlen(out), NULL), FWS_OK);
    char path[400];
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/checkpoint", f->log);
    char *text = tw_slurp(path, &len);
    assert_int_equal(fws_checkpoint_open(text, len, &f->vkey, NULL, &note, &cp, NULL), FWS_OK);
    fws_note_vkey both[2] = {f->w1key, f->w2key};
    size_t valid = 0;
    assert_int_equal(fws_cosig_verify_threshold(&note, both, 2, 2, &valid, NULL), FWS_OK);
    assert_int_equal(valid, 2);
    free(text);
}

static void test_witness_refuses_fork(void **state)
{
    fixture *f = *state;
    char out[FWS_NOTE_MAX], msg[FWS_ERRBUF_SIZE], path[400];
    fws_follow_result r;
    size_t before_len = 0, after_len = 0;

    grow(f, f->log, "a", 0, 500);
    grow(f, f->fork, "b", 0, 700);
    assert_int_equal(cosign(f, f->log, &f->w1, "w1.example", out, sizeof(out), &r, msg), FWS_OK);
    snprintf(path, sizeof(path), "%s/example.com%%2Fwitnessed.checkpoint", f->state);
    char *before = tw_slurp(path, &before_len);
    assert_non_null(before);
    assert_int_equal(cosign(f, f->fork, &f->w1, "w1.example", out, sizeof(out), &r, msg),
                     FWS_ERR_INCONSISTENT);
    assert_non_null(strstr(msg, "fork: checkpoint at size 700 has root"));
    assert_non_null(strstr(msg, "not the root"));
    char *after = tw_slurp(path, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);

    /* the same size with another root is a fork too */
    grow(f, f->log, "a", 500, 700);
    assert_int_equal(cosign(f, f->log, &f->w1, "w1.example", out, sizeof(out), &r, msg), FWS_OK);
    assert_int_equal(cosign(f, f->fork, &f->w1, "w1.example", out, sizeof(out), &r, msg),
                     FWS_ERR_INCONSISTENT);
    assert_non_null(strstr(msg, "fork: checkpoint at size 700"));
    /* and a smaller tree is refused as a rollback */
    char fork2[320];
    snprintf(fork2, sizeof(fork2), "%s/small", f->dir);
    fws_ledger_config cfg = {"example.com/witnessed", "/k.pem", 1};
    assert_int_equal(fws_ledger_create(fork2, &cfg, &f->signer, NULL, NULL), FWS_OK);
    grow(f, fork2, "a", 0, 10);
    assert_int_equal(cosign(f, fork2, &f->w1, "w1.example", out, sizeof(out), &r, msg),
                     FWS_ERR_ROLLBACK);
    assert_non_null(strstr(msg, "older than the size 700"));
    free(before);
    free(after);
}

static void test_witness_refuses_other_key(void **state)
{
    fixture *f = *state;
    char out[FWS_NOTE_MAX], msg[FWS_ERRBUF_SIZE], other[320];
    fws_follow_result r;
    snprintf(other, sizeof(other), "%s/other", f->dir);
    fws_signer s = tw_make_log(other, "example.com/witnessed", 1, NULL);
    assert_int_equal(cosign(f, other, &f->w1, "w1.example", out, sizeof(out), &r, msg),
                     FWS_ERR_KEY_MISMATCH);
    assert_non_null(strstr(msg, "not signed by the log key"));
    fws_signer_free(&s);
}

static void test_monitor_recomputes(void **state)
{
    fixture *f = *state;
    char msg[FWS_ERRBUF_SIZE];
    fws_follow_result r;
    grow(f, f->log, "a", 0, 600);
    if (monitor(f, f->log, 0, &r, msg) != FWS_OK)
        fail_msg("%s", msg);
    assert_true(r.first_sight && r.entries == 600);
    assert_int_equal(monitor(f, f->log, 0, &r, msg), FWS_OK);
    assert_true(r.entries == 0 && r.new_size == 600);
    grow(f, f->log, "a", 600, 66000);
    if (monitor(f, f->log, 0, &r, msg) != FWS_OK)
        fail_msg("%s", msg);
    assert_true(r.old_size == 600 && r.new_size == 66000 && r.entries == 65400);
    /* an any-entries log does not hold records */
    assert_int_equal(monitor(f, f->log, 1, &r, msg), FWS_OK); /* nothing new to check */
    grow(f, f->log, "a", 66000, 66001);
    assert_int_equal(monitor(f, f->log, 1, &r, msg), FWS_ERR_SCHEMA);
    assert_non_null(strstr(msg, "entry 66000 is not a valid record"));
}

static void test_monitor_catches_bad_tiles_and_forks(void **state)
{
    fixture *f = *state;
    char msg[FWS_ERRBUF_SIZE], path[400], saved[400];
    fws_follow_result r;
    size_t len = 0, slen = 0;
    grow(f, f->log, "a", 0, 300);
    assert_int_equal(monitor(f, f->log, 0, &r, msg), FWS_OK);
    snprintf(saved, sizeof(saved), "%s/example.com%%2Fwitnessed.checkpoint", f->mstate);
    char *before = tw_slurp(saved, &slen);
    grow(f, f->log, "a", 300, 800);
    /* a new entry changed in a full bundle: its leaf no longer matches the tile */
    snprintf(path, sizeof(path), "%s/tile/entries/002", f->log);
    char *b = tw_slurp(path, &len);
    b[5] ^= 1;
    tw_write(path, b, len);
    assert_int_equal(monitor(f, f->log, 0, &r, msg), FWS_ERR_INCONSISTENT);
    assert_non_null(strstr(msg, "tile 0/2 disagrees with the entries at hash 0"));
    b[5] ^= 1;
    tw_write(path, b, len);
    free(b);
    /* an entry verified before, changed: */
    snprintf(path, sizeof(path), "%s/tile/entries/001", f->log);
    b = tw_slurp(path, &len);
    b[5] ^= 1;
    tw_write(path, b, len);
    assert_int_equal(monitor(f, f->log, 0, &r, msg), FWS_ERR_INCONSISTENT);
    assert_non_null(strstr(msg, "entry 256 changed"));
    /* the state did not move */
    size_t alen = 0;
    char *after = tw_slurp(saved, &alen);
    assert_int_equal(alen, slen);
    assert_memory_equal(after, before, slen);
    b[5] ^= 1;
    tw_write(path, b, len);
    free(b);
    free(after);
    /* a fork is caught by the consistency check */
    grow(f, f->fork, "b", 0, 900);
    assert_int_equal(monitor(f, f->fork, 0, &r, msg), FWS_ERR_INCONSISTENT);
    assert_non_null(strstr(msg, "fork: checkpoint at size 900"));
    assert_int_equal(monitor(f, f->log, 0, &r, msg), FWS_OK);
    assert_true(r.old_size == 300 && r.new_size == 800);
    free(before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_witness_follows_and_cosigns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_witness_refuses_fork, setup, teardown),
        cmocka_unit_test_setup_teardown(test_witness_refuses_other_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_monitor_recomputes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_monitor_catches_bad_tiles_and_forks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
