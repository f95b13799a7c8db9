/* C2SP tlog-proof bundles: creation, strict parsing, round trips, and offline verification. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fwseal/crypto.h"
#include "fwseal/merkle.h"
#include "fwseal/note.h"
#include "fwseal/tiles.h"
#include "fwseal/tlogproof.h"
#include "test_ledger_build.h"
#include "test_ledger_util.h"

#define H 32
#define ORIGIN "example.com/fwseal-proof-test"
#define SIZE 21

typedef struct fixture {
    char dir[4096];
    fws_signer signer, wsigner[2];
    fws_note_vkey key, wkey[2];
    fws_tile_dir td;
    fws_tile_source src;
    fws_tlog *log;
    char checkpoint[2048]; /* the log's checkpoint with two witness cosignatures */
    size_t checkpoint_len;
    fws_tlog_policy policy;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    fws_note note;
    char line[FWS_NOTE_SIG_LINE_MAX];
    size_t ll = 0, len = 0;
    if (f == NULL || tb_tmpdir(f->dir, sizeof f->dir) == NULL ||
        tb_signer(ORIGIN, FWS_NOTE_TYPE_ED25519, &f->signer, &f->key) != 0 ||
        tb_signer("w1.example", FWS_NOTE_TYPE_COSIG_V1, &f->wsigner[0], &f->wkey[0]) != 0 ||
        tb_signer("w2.example", FWS_NOTE_TYPE_COSIG_V1, &f->wsigner[1], &f->wkey[1]) != 0 ||
        tb_write_log(f->dir, ORIGIN, &f->signer, SIZE) != 0 ||
        fws_tile_dir_source(&f->td, f->dir, &f->src, NULL) != FWS_OK ||
        fws_tlog_open(&f->src, &fws_sha256_ops, &f->log, NULL) != FWS_OK ||
        fws_tlog_fetch_checkpoint(f->log, f->checkpoint, sizeof f->checkpoint, &len, NULL) !=
            FWS_OK ||
        fws_note_parse(f->checkpoint, len, &note, NULL) != FWS_OK)
        return -1;
    for (int i = 0; i < 2; i++) {
        if (fws_cosig_sign_line(&note, i == 0 ? "w1.example" : "w2.example", &f->wsigner[i],
                                1700000000, line, &ll, NULL) != FWS_OK)
            return -1;
        memcpy(f->checkpoint + len, line, ll + 1);
        len += ll;
    }
    f->checkpoint_len = len;
    f->policy = (fws_tlog_policy){&f->key, NULL, f->wkey, 2, 2};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fws_tlog_close(f->log);
    fws_signer_free(&f->signer);
    fws_signer_free(&f->wsigner[0]);
    fws_signer_free(&f->wsigner[1]);
    tb_rmrf(f->dir);
    free(f);
    return 0;
}

/* Builds the proof of entry index, optionally with extra data. */
static size_t make_proof(fixture *f, uint64_t index, const char *extra, char *out, size_t cap)
{
    uint8_t proof[FWS_MERKLE_MAX_PROOF][H];
    size_t n = 0, len = 0;
    assert_int_equal(
        fws_tlog_inclusion_proof(f->log, index, SIZE, proof, FWS_MERKLE_MAX_PROOF, &n, NULL),
        FWS_OK);
    assert_int_equal(fws_tlog_proof_create(index, (const uint8_t(*)[H])proof, n, f->checkpoint,
                                           f->checkpoint_len, (const uint8_t *)extra,
                                           extra != NULL ? strlen(extra) : 0, out, cap, &len, NULL),
                     FWS_OK);
    assert_int_equal(len, strlen(out));
    return len;
}

static void test_every_entry(void **state)
{
    fixture *f = *state;
    static char buf[8192];
    for (uint64_t i = 0; i < SIZE; i++) {
        uint8_t e[64], other[64];
        size_t el = tb_entry(i, e, sizeof e);
        size_t ol = tb_entry((i + 1) % SIZE, other, sizeof other);
        size_t len = make_proof(f, i, NULL, buf, sizeof buf);
        fws_checkpoint cp;
        fws_errbuf eb = {{0}};
        if (fws_tlog_proof_verify(buf, len, e, el, &f->policy, &cp, &eb) != FWS_OK)
            fail_msg("entry %llu: %s", (unsigned long long)i, eb.msg);
        assert_int_equal(cp.size, SIZE);
        assert_int_equal(fws_tlog_proof_verify(buf, len, other, ol, &f->policy, NULL, NULL),
                         FWS_ERR_PROOF);
    }
}

static void test_round_trip_and_layout(void **state)
{
    fixture *f = *state;
    static char buf[8192], out[8192];
    size_t len = make_proof(f, 5, "opaque extra", buf, sizeof buf), olen = 0;
    fws_tlog_proof p;
    assert_int_equal(fws_tlog_proof_parse(buf, len, &p, NULL), FWS_OK);
    assert_int_equal(p.index, 5);
    assert_int_equal(p.n_hashes, fws_merkle_inclusion_len(5, SIZE));
    assert_int_equal(p.checkpoint_len, f->checkpoint_len);
    assert_memory_equal(p.checkpoint, f->checkpoint, f->checkpoint_len);
    assert_int_equal(fws_tlog_proof_format(&p, out, sizeof out, &olen, NULL), FWS_OK);
    assert_int_equal(olen, len);
    assert_memory_equal(out, buf, len);
    /* The layout of the C2SP example: header, extra, index, hashes, empty line, checkpoint. */
    char want_head[128];
    char extra_b64[64];
    tl_b64_encode((const uint8_t *)"opaque extra", 12, extra_b64);
    snprintf(want_head, sizeof want_head, "c2sp.org/tlog-proof@v1\nextra %s\nindex 5\n", extra_b64);
    assert_memory_equal(buf, want_head, strlen(want_head));
    const char *blank = strstr(buf, "\n\n");
    assert_non_null(blank);
    assert_int_equal((size_t)(blank + 2 - buf) + f->checkpoint_len, len);
    /* Extra data is not authenticated but does not hurt verification. */
    uint8_t e[64];
    size_t el = tb_entry(5, e, sizeof e);
    assert_int_equal(fws_tlog_proof_verify(buf, len, e, el, &f->policy, NULL, NULL), FWS_OK);
}

static void test_wrong_hashes(void **state)
{
    fixture *f = *state;
    static char buf[8192], bad[8192];
    uint8_t e[64];
    size_t el = tb_entry(9, e, sizeof e);
    (void)make_proof(f, 9, NULL, buf, sizeof buf);
    const char *hashes = strstr(buf, "index 9\n") + strlen("index 9\n");
    size_t head = (size_t)(hashes - buf);
    const char *blank = strstr(hashes, "\n\n") + 1;

    /* An extra hash (a copy of the first) before the empty line. */
    snprintf(bad, sizeof bad, "%.*s%.45s%s", (int)head, buf, hashes, hashes);
    assert_int_equal(fws_tlog_proof_verify(bad, strlen(bad), e, el, &f->policy, NULL, NULL),
                     FWS_ERR_PROOF);
    /* The last hash missing. */
    snprintf(bad, sizeof bad, "%.*s%s", (int)(blank - buf - 45), buf, blank);
    assert_int_equal(fws_tlog_proof_verify(bad, strlen(bad), e, el, &f->policy, NULL, NULL),
                     FWS_ERR_PROOF);
    /* A wrong index. */
    snprintf(bad, sizeof bad, "%.*s8%s", (int)(head - 2), buf, buf + head - 1);
    assert_int_equal(fws_tlog_proof_verify(bad, strlen(bad), e, el, &f->policy, NULL, NULL),
                     FWS_ERR_PROOF);
    /* An index past the tree. */
    snprintf(bad, sizeof bad, "%.*s99%s", (int)(head - 2), buf, buf + head - 1);
    assert_int_equal(fws_tlog_proof_verify(bad, strlen(bad), e, el, &f->policy, NULL, NULL),
                     FWS_ERR_PROOF);
}

/* Every single-bit flip of the proof file is rejected. */
static void test_bit_flips(void **state)
{
    fixture *f = *state;
    static char buf[8192];
    uint8_t e[64];
    size_t el = tb_entry(12, e, sizeof e);
    size_t len = make_proof(f, 12, NULL, buf, sizeof buf);
    for (size_t bit = 0; bit < len * 8; bit++) {
        buf[bit / 8] ^= (char)(1u << (bit % 8));
        fws_err err = fws_tlog_proof_verify(buf, len, e, el, &f->policy, NULL, NULL);
        buf[bit / 8] ^= (char)(1u << (bit % 8));
        if (err == FWS_OK)
            fail_msg("bit %zu of %zu flipped and still accepted", bit, len * 8);
    }
    assert_int_equal(fws_tlog_proof_verify(buf, len, e, el, &f->policy, NULL, NULL), FWS_OK);
}

static void test_keys_and_witnesses(void **state)
{
    fixture *f = *state;
    static char buf[8192];
    uint8_t e[64];
    size_t el = tb_entry(0, e, sizeof e);
    size_t len = make_proof(f, 0, NULL, buf, sizeof buf);
    fws_signer s;
    fws_note_vkey other;
    assert_int_equal(tb_signer(ORIGIN, FWS_NOTE_TYPE_ED25519, &s, &other), 0);
    fws_tlog_policy p = f->policy;
    p.log_key = &other;
    assert_int_equal(fws_tlog_proof_verify(buf, len, e, el, &p, NULL, NULL), FWS_ERR_KEY_MISMATCH);
    p = f->policy;
    p.origin = "example.com/another-log";
    assert_int_equal(fws_tlog_proof_verify(buf, len, e, el, &p, NULL, NULL), FWS_ERR_KEY_MISMATCH);
    /* One known witness of two required. */
    p = f->policy;
    p.witnesses = &f->wkey[1];
    p.n_witnesses = 1;
    assert_int_equal(fws_tlog_proof_verify(buf, len, e, el, &p, NULL, NULL), FWS_ERR_THRESHOLD);
    p.witness_threshold = 1;
    assert_int_equal(fws_tlog_proof_verify(buf, len, e, el, &p, NULL, NULL), FWS_OK);
    /* No witness policy at all. */
    p = (fws_tlog_policy){&f->key, NULL, NULL, 0, 0};
    assert_int_equal(fws_tlog_proof_verify(buf, len, e, el, &p, NULL, NULL), FWS_OK);
    fws_signer_free(&s);
}

static void test_parse_rejects(void **state)
{
    fixture *f = *state;
    static char buf[16384];
    const char *h = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
    /* Each case is: text before a valid hash line, text after it; then the checkpoint. */
    static const char *heads[][2] = {
        {"c2sp.org/tlog-proof@v2\nindex 1\n", "\n"},
        {"c2sp.org/tlog-proof@v1\nindex 01\n", "\n"},
        {"c2sp.org/tlog-proof@v1\nindex -1\n", "\n"},
        {"c2sp.org/tlog-proof@v1\nindex\n", "\n"},
        {"c2sp.org/tlog-proof@v1\nextra \nindex 1\n", "\n"},
        {"c2sp.org/tlog-proof@v1\nextra !!!!\nindex 1\n", "\n"},
        {"c2sp.org/tlog-proof@v1\nindex 1\nextra AAAA\n", "\n"},
        {"c2sp.org/tlog-proof@v1\nindex 1\n", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF==\n\n"},
        {"c2sp.org/tlog-proof@v1\nindex 1\n", " 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n"},
        {"c2sp.org/tlog-proof@v1\r\nindex 1\n", "\n"},
        {"index 1\n", "\n"},
    };
    fws_tlog_proof p;
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        int n = snprintf(buf, sizeof buf, "%s%s%s", heads[i][0], h, heads[i][1]);
        memcpy(buf + n, f->checkpoint, f->checkpoint_len + 1);
        fws_errbuf eb = {{0}};
        if (fws_tlog_proof_parse(buf, (size_t)n + f->checkpoint_len, &p, &eb) == FWS_OK)
            fail_msg("bad proof %zu accepted", i);
        assert_true(eb.msg[0] != '\0');
    }
    /* No empty line, a broken checkpoint, and 65 hashes. */
    snprintf(buf, sizeof buf, "c2sp.org/tlog-proof@v1\nindex 1\n%s", h);
    assert_int_equal(fws_tlog_proof_parse(buf, strlen(buf), &p, NULL), FWS_ERR_FORMAT);
    snprintf(buf, sizeof buf, "c2sp.org/tlog-proof@v1\nindex 1\n%s\nnot a note\n", h);
    assert_int_equal(fws_tlog_proof_parse(buf, strlen(buf), &p, NULL), FWS_ERR_FORMAT);
    size_t pos = (size_t)snprintf(buf, sizeof buf, "c2sp.org/tlog-proof@v1\nindex 1\n");
    for (int i = 0; i < 65; i++)
        pos += (size_t)snprintf(buf + pos, sizeof buf - pos, "%s", h);
    pos += (size_t)snprintf(buf + pos, sizeof buf - pos, "\n%s", f->checkpoint);
    assert_int_equal(fws_tlog_proof_parse(buf, pos, &p, NULL), FWS_ERR_TOO_BIG);
    /* Too much extra data for create. */
    static uint8_t extra[FWS_TLOG_PROOF_EXTRA_MAX + 1];
    size_t len = 0;
    assert_int_equal(fws_tlog_proof_create(0, NULL, 0, f->checkpoint, f->checkpoint_len, extra,
                                           sizeof extra, buf, sizeof buf, &len, NULL),
                     FWS_ERR_TOO_BIG);
    assert_int_equal(fws_tlog_proof_create(0, NULL, 0, f->checkpoint, f->checkpoint_len, extra,
                                           sizeof extra - 1, buf, 100, &len, NULL),
                     FWS_ERR_TOO_BIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_entry),        cmocka_unit_test(test_round_trip_and_layout),
        cmocka_unit_test(test_wrong_hashes),       cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_keys_and_witnesses), cmocka_unit_test(test_parse_rejects),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
