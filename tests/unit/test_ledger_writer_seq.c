/* The sequencer: many threads append at once; each gets its own index once its batch is
 * durable, the log holds exactly what was acknowledged, and a checkpoint covers it all. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>

#include "test_ledger_writer_util.h"

#define THREADS 4
#define PER_THREAD 150

typedef struct worker {
    fws_sequencer *s;
    unsigned id;
    uint64_t idx[PER_THREAD];
    fws_err err;
} worker;

static void *run(void *arg)
{
    worker *w = arg;
    char rec[600];
    for (unsigned i = 0; i < PER_THREAD && w->err == FWS_OK; i++) {
        size_t len = tw_install(rec, sizeof(rec), w->id * PER_THREAD + i);
        w->err = fws_sequencer_append(w->s, (uint8_t *)rec, len, &w->idx[i], NULL);
    }
    return NULL;
}

static void test_concurrent_appends(void **state)
{
    (void)state;
    char dir[256], log[300];
    fws_note_vkey vkey;
    worker w[THREADS];
    pthread_t th[THREADS];
    fws_sequencer *s = NULL;
    fws_sequencer_options o = {64, 2, 200, 100};
    tw_tmpdir(dir);
    snprintf(log, sizeof(log), "%s/log", dir);
    fws_signer signer = tw_make_log(log, "example.com/seq", 0, &vkey);
    fws_ledger *l = tw_open(log, &signer);
    assert_int_equal(fws_sequencer_start(l, &o, &s, NULL), FWS_OK);
    for (unsigned t = 0; t < THREADS; t++) {
        memset(&w[t], 0, sizeof(w[t]));
        w[t].s = s;
        w[t].id = t;
        assert_int_equal(pthread_create(&th[t], NULL, run, &w[t]), 0);
    }
    for (unsigned t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(w[t].err, FWS_OK);
    }
    /* a record already in the log keeps its index; a bad one is refused in the caller */
    char rec[600];
    uint64_t again = 0;
    size_t len = tw_install(rec, sizeof(rec), 5);
    assert_int_equal(fws_sequencer_append(s, (uint8_t *)rec, len, &again, NULL), FWS_OK);
    assert_true(again == w[0].idx[5]);
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_sequencer_append(s, (const uint8_t *)"{}", 2, &again, &eb),
                     FWS_ERR_SCHEMA);
    double mean = -1, max = -1;
    fws_sequencer_latency(s, &mean, &max);
    assert_true(mean >= 0 && max >= mean);
    assert_int_equal(fws_sequencer_stop(s, NULL), FWS_OK);

    /* every index 0..N-1 was handed out exactly once */
    const uint64_t total = THREADS * PER_THREAD;
    uint8_t *seen = calloc(total, 1);
    for (unsigned t = 0; t < THREADS; t++) {
        for (unsigned i = 0; i < PER_THREAD; i++) {
            assert_true(w[t].idx[i] < total);
            assert_int_equal(seen[w[t].idx[i]], 0);
            seen[w[t].idx[i]] = 1;
        }
    }
    free(seen);
    fws_ledger_status st;
    fws_ledger_get_status(l, &st);
    assert_true(st.size == total && st.signed_size == total);
    fws_ledger_close(l);

    /* each acknowledged index holds exactly that thread's record (canonical form) */
    tw_reader *r = tw_reader_open(log);
    uint8_t buf[1024];
    for (unsigned t = 0; t < THREADS; t++) {
        for (unsigned i = 0; i < PER_THREAD; i += 7) {
            char *canon = NULL;
            size_t clen = 0, got = 0;
            len = tw_install(rec, sizeof(rec), t * PER_THREAD + i);
            assert_int_equal(fws_record_validate((uint8_t *)rec, len, &canon, &clen, NULL, NULL),
                             FWS_OK);
            assert_int_equal(fws_tlog_entry(r->t, w[t].idx[i], total, buf, sizeof(buf), &got, NULL),
                             FWS_OK);
            assert_int_equal(got, clen);
            assert_memory_equal(buf, canon, clen);
            free(canon);
        }
    }
    /* and the published checkpoint is the tiles' root */
    char path[400];
    size_t n = 0;
    fws_note note;
    fws_checkpoint cp;
    uint8_t root[32];
    snprintf(path, sizeof(path), "%s/checkpoint", log);
    char *text = tw_slurp(path, &n);
    assert_int_equal(fws_checkpoint_open(text, n, &vkey, NULL, &note, &cp, NULL), FWS_OK);
    assert_true(cp.size == total);
    assert_int_equal(fws_tlog_root(r->t, total, root, NULL), FWS_OK);
    assert_memory_equal(root, cp.root, 32);
    free(text);
    tw_reader_close(r);
    fws_signer_free(&signer);
    tw_rmtree(dir);
}

static void test_needs_a_signer(void **state)
{
    (void)state;
    char dir[256], log[300];
    fws_sequencer *s = NULL;
    tw_tmpdir(dir);
    snprintf(log, sizeof(log), "%s/log", dir);
    fws_signer signer = tw_make_log(log, "example.com/seq", 1, NULL);
    fws_ledger *l = tw_open(log, NULL);
    assert_int_equal(fws_sequencer_start(l, NULL, &s, NULL), FWS_ERR_STATE);
    assert_int_equal(fws_ledger_set_signer(l, &signer, NULL), FWS_OK);
    assert_int_equal(fws_sequencer_start(l, NULL, &s, NULL), FWS_OK);
    uint64_t idx = 9;
    assert_int_equal(fws_sequencer_append(s, (const uint8_t *)"raw bytes", 9, &idx, NULL), FWS_OK);
    assert_true(idx == 0);
    assert_int_equal(fws_sequencer_stop(s, NULL), FWS_OK);
    assert_int_equal(fws_ledger_unsigned(l), 0);
    fws_ledger_close(l);
    fws_signer_free(&signer);
    tw_rmtree(dir);
}

typedef struct seen {
    pthread_mutex_t mu;
    uint64_t last, calls;
    int decreasing;
} seen;

static void on_publish(void *ctx, uint64_t size, uint64_t when_ms)
{
    seen *s = ctx;
    (void)when_ms;
    pthread_mutex_lock(&s->mu);
    if (size < s->last)
        s->decreasing = 1;
    s->last = size;
    s->calls++;
    pthread_mutex_unlock(&s->mu);
}

/* The publishing thread signs what becomes durable without being asked, never goes back, and
 * an explicit publish can run beside it. */
static void test_autopublish(void **state)
{
    (void)state;
    char dir[256], log[300];
    fws_ledger_options o = {0, 1}; /* a 1 ms interval */
    fws_ledger *l = NULL;
    seen sn = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    tw_tmpdir(dir);
    snprintf(log, sizeof(log), "%s/log", dir);
    fws_signer signer = tw_make_log(log, "example.com/auto", 1, NULL);
    assert_int_equal(fws_ledger_open(log, &o, &l, NULL), FWS_OK);
    assert_int_equal(fws_ledger_autopublish_start(l, NULL), FWS_ERR_STATE); /* no key yet */
    assert_int_equal(fws_ledger_set_signer(l, &signer, NULL), FWS_OK);
    fws_ledger_on_publish(l, on_publish, &sn);
    assert_int_equal(fws_ledger_autopublish_start(l, NULL), FWS_OK);
    for (unsigned i = 0; i < 40; i++) {
        char e[16];
        fws_ledger_entry en = {(uint8_t *)e, (size_t)snprintf(e, sizeof(e), "e%u", i)};
        uint64_t idx;
        assert_int_equal(fws_ledger_append(l, &en, 1, &idx, NULL, NULL), FWS_OK);
        if (i == 20)
            assert_int_equal(fws_ledger_publish(l, NULL), FWS_OK);
    }
    /* wait (boundedly) for the thread to catch up on its own */
    for (int k = 0; k < 2000 && fws_ledger_unsigned(l); k++)
        usleep(5000);
    assert_int_equal(fws_ledger_unsigned(l), 0);
    assert_int_equal(fws_ledger_autopublish_stop(l, NULL), FWS_OK);
    fws_ledger_on_publish(l, NULL, NULL);
    pthread_mutex_lock(&sn.mu);
    assert_true(sn.last == 40 && sn.calls >= 2 && !sn.decreasing);
    pthread_mutex_unlock(&sn.mu);
    fws_ledger_close(l);
    fws_signer_free(&signer);
    tw_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_appends),
        cmocka_unit_test(test_needs_a_signer),
        cmocka_unit_test(test_autopublish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
