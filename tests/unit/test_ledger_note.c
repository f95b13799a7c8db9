/* Signed notes, vkeys, checkpoints and witness cosignatures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fwseal/crypto.h"
#include "fwseal/note.h"
#include "test_ledger_build.h"
#include "test_ledger_util.h"

#define TESSERA_VKEY                                                                               \
    "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"
#define TESSERA_ORIGIN "example.com/log/testdata"

static char *read_testdata(const char *rel, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", tl_testdata(), rel);
    char *s = (char *)tl_read_file(path, len);
    assert_non_null(s);
    return s;
}

/* ---- vkeys ---------------------------------------------------------------------------------- */

static void test_vkey_parse_format(void **state)
{
    (void)state;
    fws_note_vkey k;
    char out[FWS_NOTE_VKEY_MAX];
    size_t len = 0;
    assert_int_equal(fws_note_vkey_parse(TESSERA_VKEY "\n", strlen(TESSERA_VKEY) + 1, &k, NULL),
                     FWS_OK);
    assert_string_equal(k.name, TESSERA_ORIGIN);
    assert_int_equal(k.key_id, 0x33d7b496u);
    assert_int_equal(k.type, FWS_NOTE_TYPE_ED25519);
    assert_int_equal(fws_note_vkey_format(&k, out, &len), FWS_OK);
    assert_string_equal(out, TESSERA_VKEY);
    assert_int_equal(len, strlen(TESSERA_VKEY));
}

static void test_vkey_rejects(void **state)
{
    (void)state;
    fws_note_vkey k;
    fws_errbuf eb = {{0}};
    static const struct {
        const char *text;
        fws_err want;
    } cases[] = {
        /* key ID that does not match the key */
        {"example.com/log/testdata+33d7b497+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
         FWS_ERR_KEY_MISMATCH},
        /* another name changes the key ID */
        {"example.com/log/testdatb+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
         FWS_ERR_KEY_MISMATCH},
        {"example.com/log/testdata+33d7b49+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
         FWS_ERR_FORMAT},
        {"example.com/log/testdata+33d7b49z+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
         FWS_ERR_FORMAT},
        {"example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkk",
         FWS_ERR_FORMAT},
        /* type 0x02 (ECDSA) */
        {"example.com/log/testdata+33d7b496+AuHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
         FWS_ERR_UNSUPPORTED},
        /* a 31-byte key */
        {"example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkg==",
         FWS_ERR_UNSUPPORTED},
        {"bad name+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx", FWS_ERR_FORMAT},
        {"+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx", FWS_ERR_FORMAT},
        {"no-plus-at-all", FWS_ERR_FORMAT},
        {"", FWS_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fws_errbuf_clear(&eb);
        fws_err err = fws_note_vkey_parse(cases[i].text, strlen(cases[i].text), &k, &eb);
        if (err != cases[i].want)
            fail_msg("vkey case %zu: got %d (%s), want %d", i, err, eb.msg, cases[i].want);
        assert_true(eb.msg[0] != '\0');
    }
}

/* ---- the tessera log's checkpoints (signed by another implementation) ---------------------- */

static void test_tessera_checkpoints(void **state)
{
    (void)state;
    fws_note_vkey k;
    assert_int_equal(fws_note_vkey_parse(TESSERA_VKEY, strlen(TESSERA_VKEY), &k, NULL), FWS_OK);
    for (int n = 0; n <= 15; n++) {
        char rel[64];
        size_t len = 0;
        snprintf(rel, sizeof rel, "tessera-log/checkpoint.%d", n);
        char *text = read_testdata(rel, &len);
        fws_note note;
        fws_checkpoint cp;
        fws_errbuf eb = {{0}};
        assert_int_equal(fws_checkpoint_open(text, len, &k, NULL, &note, &cp, &eb), FWS_OK);
        assert_int_equal(cp.size, (uint64_t)n);
        assert_int_equal(cp.origin_len, strlen(TESSERA_ORIGIN));
        assert_int_equal(cp.ext_len, 0);
        /* format(parse(x)) == x for the note and for the checkpoint text. */
        char out[4096];
        size_t olen = 0;
        assert_int_equal(fws_note_format(&note, out, sizeof out, &olen, NULL), FWS_OK);
        assert_int_equal(olen, len);
        assert_memory_equal(out, text, len);
        assert_int_equal(fws_checkpoint_format(&cp, out, sizeof out, &olen, NULL), FWS_OK);
        assert_int_equal(olen, note.text_len);
        assert_memory_equal(out, note.text, olen);
        free(text);
    }
}

/* Every single-bit flip of a signed checkpoint is rejected, by the parser or the signature. */
static void test_tessera_bit_flips(void **state)
{
    (void)state;
    fws_note_vkey k;
    size_t len = 0, rejected = 0;
    assert_int_equal(fws_note_vkey_parse(TESSERA_VKEY, strlen(TESSERA_VKEY), &k, NULL), FWS_OK);
    char *text = read_testdata("tessera-log/checkpoint.7", &len);
    for (size_t bit = 0; bit < len * 8; bit++) {
        fws_note note;
        fws_checkpoint cp;
        text[bit / 8] ^= (char)(1u << (bit % 8));
        fws_err err = fws_checkpoint_open(text, len, &k, NULL, &note, &cp, NULL);
        text[bit / 8] ^= (char)(1u << (bit % 8));
        if (err == FWS_OK) {
            /* Only flips that leave the base64 of the signature decoding to the same bytes
             * can pass; there are none in canonical base64. */
            fail_msg("bit %zu flipped and still accepted", bit);
        }
        rejected++;
    }
    assert_int_equal(rejected, len * 8);
    free(text);
}

/* ---- signing, verifying, and the signature rules ------------------------------------------ */

static void test_sign_verify_rules(void **state)
{
    (void)state;
    fws_signer s1, s2, s3;
    fws_note_vkey k1, k2, k3;
    assert_int_equal(tb_signer("example.com/a", FWS_NOTE_TYPE_ED25519, &s1, &k1), 0);
    assert_int_equal(tb_signer("example.com/b", FWS_NOTE_TYPE_ED25519, &s2, &k2), 0);
    /* Same name as s1, another key: its key ID differs. */
    assert_int_equal(tb_signer("example.com/a", FWS_NOTE_TYPE_ED25519, &s3, &k3), 0);

    const char *text = "hello\n\nworld with an empty line above\n";
    char note_buf[2048], line[FWS_NOTE_SIG_LINE_MAX];
    size_t nl = 0, ll = 0;
    fws_note note;
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_note_sign(text, strlen(text), "example.com/a", &s1, note_buf,
                                   sizeof note_buf, &nl, NULL),
                     FWS_OK);
    assert_int_equal(fws_note_parse(note_buf, nl, &note, NULL), FWS_OK);
    assert_int_equal(note.text_len, strlen(text));
    assert_int_equal(fws_note_verify(&note, &k1, NULL), FWS_OK);
    assert_int_equal(fws_note_verify(&note, &k2, NULL), FWS_ERR_KEY_MISMATCH);
    assert_int_equal(fws_note_verify(&note, &k3, NULL), FWS_ERR_KEY_MISMATCH);

    /* A second signature from another key is ignored by k1 and accepted by k2. */
    assert_int_equal(fws_note_sign_line(text, strlen(text), "example.com/b", &s2, line, &ll, NULL),
                     FWS_OK);
    memcpy(note_buf + nl, line, ll + 1);
    nl += ll;
    assert_int_equal(fws_note_parse(note_buf, nl, &note, NULL), FWS_OK);
    assert_int_equal(note.n_sigs, 2);
    assert_int_equal(fws_note_verify(&note, &k1, NULL), FWS_OK);
    assert_int_equal(fws_note_verify(&note, &k2, NULL), FWS_OK);

    /* A line under k1's name and ID over other text: the note is rejected for k1. */
    const char *other = "other text\n";
    char forged[4096];
    assert_int_equal(
        fws_note_sign_line(other, strlen(other), "example.com/a", &s1, line, &ll, NULL), FWS_OK);
    snprintf(forged, sizeof forged, "%s\n%s", text, line);
    assert_int_equal(fws_note_parse(forged, strlen(forged), &note, NULL), FWS_OK);
    assert_int_equal(fws_note_verify(&note, &k1, &eb), FWS_ERR_SIGNATURE);
    assert_non_null(strstr(eb.msg, "does not verify"));

    /* Two lines from the same key are refused. */
    assert_int_equal(fws_note_sign_line(text, strlen(text), "example.com/a", &s1, line, &ll, NULL),
                     FWS_OK);
    snprintf(forged, sizeof forged, "%s\n%s%s", text, line, line);
    assert_int_equal(fws_note_parse(forged, strlen(forged), &note, NULL), FWS_OK);
    assert_int_equal(fws_note_verify(&note, &k1, NULL), FWS_ERR_FORMAT);

    /* A cosignature key cannot verify a note signature. */
    fws_note_vkey kc = k1;
    kc.type = FWS_NOTE_TYPE_COSIG_V1;
    assert_int_equal(fws_note_verify(&note, &kc, NULL), FWS_ERR_KEY_TYPE);

    fws_signer_free(&s1);
    fws_signer_free(&s2);
    fws_signer_free(&s3);
}

static void test_note_parse_rejects(void **state)
{
    (void)state;
    const char *sig = "\xe2\x80\x94 example.com/a AAAAAAA=\n"; /* 5 bytes */
    char buf[8192];
    fws_note note;
    static const char *bad[] = {
        "text\n\xe2\x80\x94 k AAAAAAA=\n",            /* no blank line */
        "text\n\n",                                   /* no signatures */
        "text\n\n\xe2\x80\x94 k AAAAAAA=",            /* no final newline */
        "te\x01xt\n\n\xe2\x80\x94 k AAAAAAA=\n",      /* control character */
        "te\xffxt\n\n\xe2\x80\x94 k AAAAAAA=\n",      /* invalid UTF-8 */
        "te\xc0\x80xt\n\n\xe2\x80\x94 k AAAAAAA=\n",  /* overlong NUL */
        "text\n\n- k AAAAAAA=\n",                     /* not an em dash */
        "text\n\n\xe2\x80\x94 k+x AAAAAAA=\n",        /* '+' in the name */
        "text\n\n\xe2\x80\x94 k\xc2\xa0x AAAAAAA=\n", /* no-break space in the name */
        "text\n\n\xe2\x80\x94  AAAAAAA=\n",           /* empty name */
        "text\n\n\xe2\x80\x94 k AAAAAA==\n",          /* only 4 bytes */
        "text\n\n\xe2\x80\x94 k AAAAAAA\n",           /* bad base64 */
        "text\n\n\xe2\x80\x94 k AAAAAAB=\n",          /* non-canonical base64 */
        "text\n\n\xe2\x80\x94 k AAAAAAA= \n",         /* trailing space */
        "text\n\n\xe2\x80\x94 k AAAAAAA=\n\n",        /* blank line after the signatures */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fws_errbuf eb = {{0}};
        fws_err err = fws_note_parse(bad[i], strlen(bad[i]), &note, &eb);
        if (err == FWS_OK)
            fail_msg("bad note %zu accepted", i);
        assert_true(eb.msg[0] != '\0');
    }
    /* 32 signatures are fine, 33 are too many. */
    size_t pos = (size_t)snprintf(buf, sizeof buf, "text\n\n");
    for (int i = 0; i < FWS_NOTE_MAX_SIGS; i++)
        pos += (size_t)snprintf(buf + pos, sizeof buf - pos, "%s", sig);
    assert_int_equal(fws_note_parse(buf, pos, &note, NULL), FWS_OK);
    assert_int_equal(note.n_sigs, FWS_NOTE_MAX_SIGS);
    pos += (size_t)snprintf(buf + pos, sizeof buf - pos, "%s", sig);
    assert_int_equal(fws_note_parse(buf, pos, &note, NULL), FWS_ERR_TOO_BIG);
    /* Over the size cap. */
    char *big = malloc(FWS_NOTE_MAX + 1);
    memset(big, 'a', FWS_NOTE_MAX + 1);
    assert_int_equal(fws_note_parse(big, FWS_NOTE_MAX + 1, &note, NULL), FWS_ERR_TOO_BIG);
    free(big);
}

/* ---- checkpoints ---------------------------------------------------------------------------- */

static void test_checkpoint_text(void **state)
{
    (void)state;
    const char *good = "example.com/log\n18446744073709551615\n"
                       "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\next two\n";
    fws_checkpoint cp;
    char out[1024];
    size_t len = 0;
    assert_int_equal(fws_checkpoint_parse(good, strlen(good), &cp, NULL), FWS_OK);
    assert_int_equal(cp.size, UINT64_MAX);
    assert_int_equal(cp.ext_len, strlen("ext one\next two\n"));
    assert_int_equal(cp.root[0], 0xe3);
    assert_int_equal(fws_checkpoint_format(&cp, out, sizeof out, &len, NULL), FWS_OK);
    assert_string_equal(out, good);

    static const char *bad[] = {
        "example.com/log\n018\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "example.com/log\n18446744073709551616\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "example.com/log\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "example.com/log\n\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "example.com/log\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSu==\n",
        "example.com/log\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n",
        "example.com/log\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\next\n",
        "\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "example.com/log\n1\n",
        "example.com/log\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fws_errbuf eb = {{0}};
        if (fws_checkpoint_parse(bad[i], strlen(bad[i]), &cp, &eb) == FWS_OK)
            fail_msg("bad checkpoint %zu accepted", i);
        assert_true(eb.msg[0] != '\0');
    }
}

static void test_checkpoint_open_origin(void **state)
{
    (void)state;
    fws_signer s;
    fws_note_vkey k;
    assert_int_equal(tb_signer("example.com/log", FWS_NOTE_TYPE_ED25519, &s, &k), 0);
    fws_checkpoint cp = {"example.com/other", 17, 5, {1, 2, 3}, NULL, 0};
    char text[512], note_buf[1024];
    size_t tl = 0, nl = 0;
    fws_note note;
    fws_checkpoint got;
    assert_int_equal(fws_checkpoint_format(&cp, text, sizeof text, &tl, NULL), FWS_OK);
    assert_int_equal(
        fws_note_sign(text, tl, "example.com/log", &s, note_buf, sizeof note_buf, &nl, NULL),
        FWS_OK);
    /* The origin must match the key name unless the caller names the origin. */
    assert_int_equal(fws_checkpoint_open(note_buf, nl, &k, NULL, &note, &got, NULL),
                     FWS_ERR_KEY_MISMATCH);
    assert_int_equal(fws_checkpoint_open(note_buf, nl, &k, "example.com/other", &note, &got, NULL),
                     FWS_OK);
    assert_int_equal(got.size, 5);
    assert_memory_equal(got.root, cp.root, 32);
    fws_signer_free(&s);
}

/* ---- cosignatures ------------------------------------------------------------------------- */

static void test_cosignatures(void **state)
{
    (void)state;
    fws_signer log, w[3];
    fws_note_vkey lk, wk[3];
    const char *names[3] = {"witness.example/1", "witness.example/2", "witness.example/3"};
    assert_int_equal(tb_signer("example.com/log", FWS_NOTE_TYPE_ED25519, &log, &lk), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(tb_signer(names[i], FWS_NOTE_TYPE_COSIG_V1, &w[i], &wk[i]), 0);

    const char *text = "example.com/log\n3\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
    char buf[4096], line[FWS_NOTE_SIG_LINE_MAX];
    size_t len = 0, ll = 0, valid = 0;
    fws_note note;
    assert_int_equal(
        fws_note_sign(text, strlen(text), "example.com/log", &log, buf, sizeof buf, &len, NULL),
        FWS_OK);
    assert_int_equal(fws_note_parse(buf, len, &note, NULL), FWS_OK);
    /* Witnesses 1 and 2 cosign. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(
            fws_cosig_sign_line(&note, names[i], &w[i], 1700000000u + (unsigned)i, line, &ll, NULL),
            FWS_OK);
        memcpy(buf + len, line, ll + 1);
        len += ll;
    }
    assert_int_equal(fws_note_parse(buf, len, &note, NULL), FWS_OK);
    assert_int_equal(note.n_sigs, 3);
    uint64_t ts = 0;
    assert_int_equal(fws_cosig_verify(&note, &wk[1], &ts, NULL), FWS_OK);
    assert_int_equal(ts, 1700000001u);
    assert_int_equal(fws_cosig_verify(&note, &wk[2], &ts, NULL), FWS_ERR_KEY_MISMATCH);
    assert_int_equal(fws_cosig_verify(&note, &lk, &ts, NULL), FWS_ERR_KEY_TYPE);
    assert_int_equal(fws_note_verify(&note, &lk, NULL), FWS_OK);
    assert_int_equal(fws_cosig_verify_threshold(&note, wk, 3, 2, &valid, NULL), FWS_OK);
    assert_int_equal(valid, 2);
    assert_int_equal(fws_cosig_verify_threshold(&note, wk, 3, 3, &valid, NULL), FWS_ERR_THRESHOLD);
    /* The same witness listed twice counts once. */
    fws_note_vkey twice[2] = {wk[0], wk[0]};
    assert_int_equal(fws_cosig_verify_threshold(&note, twice, 2, 2, &valid, NULL),
                     FWS_ERR_THRESHOLD);
    assert_int_equal(valid, 1);

    /* The signed message is exactly "cosignature/v1\ntime <t>\n" || text (checked with the
     * raw key, independently of the cosignature code). */
    uint8_t raw[128], pub[32];
    char msg[512];
    char b64[200];
    memcpy(b64, note.sigs[1].sig_b64, note.sigs[1].sig_b64_len);
    b64[note.sigs[1].sig_b64_len] = '\0';
    assert_int_equal(tl_b64_decode(b64, raw, sizeof raw), 4 + 72);
    uint64_t t = 0;
    for (int i = 0; i < 8; i++)
        t = (t << 8) | raw[4 + i];
    assert_int_equal(t, 1700000000u);
    int ml =
        snprintf(msg, sizeof msg, "cosignature/v1\ntime %llu\n%s", (unsigned long long)t, text);
    fws_key *wpub = NULL;
    memcpy(pub, wk[0].pub, 32);
    assert_int_equal(fws_key_from_raw_public(FWS_KEY_ED25519, pub, 32, &wpub), FWS_OK);
    assert_int_equal(fws_key_verify(wpub, (const uint8_t *)msg, (size_t)ml, raw + 12, 64), FWS_OK);
    fws_key_free(wpub);

    /* A cosignature moved onto another checkpoint does not verify. */
    const char *text2 = "example.com/log\n4\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
    char moved[4096];
    snprintf(moved, sizeof moved, "%s\n\xe2\x80\x94 %.*s %.*s\n", text2, (int)note.sigs[1].name_len,
             note.sigs[1].name, (int)note.sigs[1].sig_b64_len, note.sigs[1].sig_b64);
    fws_note mn;
    assert_int_equal(fws_note_parse(moved, strlen(moved), &mn, NULL), FWS_OK);
    assert_int_equal(fws_cosig_verify(&mn, &wk[0], NULL, NULL), FWS_ERR_SIGNATURE);

    /* Timestamps past 2^63 - 1 are refused. */
    assert_int_equal(
        fws_cosig_sign_line(&note, names[0], &w[0], (uint64_t)INT64_MAX + 1, line, &ll, NULL),
        FWS_ERR_ARG);
    fws_signer_free(&log);
    for (int i = 0; i < 3; i++)
        fws_signer_free(&w[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vkey_parse_format),   cmocka_unit_test(test_vkey_rejects),
        cmocka_unit_test(test_tessera_checkpoints), cmocka_unit_test(test_tessera_bit_flips),
        cmocka_unit_test(test_sign_verify_rules),   cmocka_unit_test(test_note_parse_rejects),
        cmocka_unit_test(test_checkpoint_text),     cmocka_unit_test(test_checkpoint_open_origin),
        cmocka_unit_test(test_cosignatures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
