/* DSSE envelopes and in-toto statements: PAE, round trips, strict parsing, tampering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fwseal/dsse.h"

static void test_pae_known_answer(void **state)
{
    (void)state;
    /* The example from the DSSE protocol description. */
    const char *want = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
    uint8_t *pae = NULL;
    size_t len = 0;
    assert_int_equal(fws_dsse_pae("http://example.com/HelloWorld", (const uint8_t *)"hello world",
                                  11, &pae, &len),
                     FWS_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(pae, want, len);
    free(pae);
    assert_int_equal(fws_dsse_pae("t", NULL, 0, &pae, &len), FWS_OK);
    assert_int_equal(len, strlen("DSSEv1 1 t 0 "));
    assert_memory_equal(pae, "DSSEv1 1 t 0 ", len);
    free(pae);
}

typedef struct fixture {
    fws_signer signer;
    fws_key *pub;
    char *env;
    size_t env_len;
} fixture;

static const char payload[] = "{\"_type\":\"https://in-toto.io/Statement/v1\"}";

static void make(fixture *f, fws_key_type type)
{
    fws_key *k = NULL;
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_key_generate(type, &k), FWS_OK);
    assert_int_equal(fws_signer_from_key(k, &f->signer), FWS_OK);
    assert_int_equal(f->signer.public_key(f->signer.impl, &f->pub), FWS_OK);
    const fws_signer *signers[1] = {&f->signer};
    assert_int_equal(fws_dsse_sign(FWS_INTOTO_PAYLOAD_TYPE, (const uint8_t *)payload,
                                   strlen(payload), signers, 1, &f->env, &f->env_len, &eb),
                     FWS_OK);
}

static void unmake(fixture *f)
{
    fws_signer_free(&f->signer);
    fws_key_free(f->pub);
    free(f->env);
}

static fws_err check(const char *text, size_t len, const fws_key *pub)
{
    fws_dsse_envelope env;
    fws_errbuf eb = {{0}};
    const fws_key *keys[1] = {pub};
    fws_err err = fws_dsse_parse((const uint8_t *)text, len, &env, &eb);
    if (err != FWS_OK)
        return err;
    err = fws_dsse_verify(&env, keys, 1, 1, &eb);
    fws_dsse_envelope_free(&env);
    return err;
}

static void round_trip(fws_key_type type)
{
    fixture f = {0};
    make(&f, type);
    fws_dsse_envelope env;
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_dsse_parse((const uint8_t *)f.env, f.env_len, &env, &eb), FWS_OK);
    assert_string_equal(env.payload_type, FWS_INTOTO_PAYLOAD_TYPE);
    assert_int_equal(env.payload_len, strlen(payload));
    assert_memory_equal(env.unverified_payload, payload, env.payload_len);
    assert_int_equal(env.n_sigs, 1);
    assert_string_equal(env.sigs[0].keyid, f.signer.keyid);
    fws_dsse_envelope_free(&env);
    assert_int_equal(check(f.env, f.env_len, f.pub), FWS_OK);

    /* A key that did not sign. */
    fixture other = {0};
    make(&other, type);
    assert_int_equal(check(f.env, f.env_len, other.pub), FWS_ERR_KEY_MISMATCH);
    unmake(&other);
    unmake(&f);
}

static void test_round_trip_ed25519(void **state)
{
    (void)state;
    round_trip(FWS_KEY_ED25519);
}

static void test_round_trip_p256(void **state)
{
    (void)state;
    round_trip(FWS_KEY_P256);
}

/* Every single-bit flip of the envelope's bytes is rejected, at parse or at verify. */
static void test_every_bit_flip_rejected(void **state)
{
    (void)state;
    fixture f = {0};
    make(&f, FWS_KEY_ED25519);
    char *copy = malloc(f.env_len);
    size_t flips = 0;
    for (size_t bit = 0; bit < f.env_len * 8; bit++) {
        memcpy(copy, f.env, f.env_len);
        copy[bit / 8] ^= (char)(1u << (bit % 8));
        if (check(copy, f.env_len, f.pub) == FWS_OK)
            fail_msg("flip of bit %zu (byte %zu) was accepted", bit, bit / 8);
        flips++;
    }
    print_message("rejected all %zu single-bit flips of a %zu-byte envelope\n", flips, f.env_len);
    free(copy);
    unmake(&f);
}

static void expect_parse(const char *json, fws_err want)
{
    fws_dsse_envelope env;
    fws_errbuf eb = {{0}};
    fws_err err = fws_dsse_parse((const uint8_t *)json, strlen(json), &env, &eb);
    if (err == FWS_OK)
        fws_dsse_envelope_free(&env);
    if (err != want)
        fail_msg("%s: got %d (%s), want %d", json, err, eb.msg, want);
    if (want != FWS_OK)
        assert_true(eb.msg[0] != '\0');
}

static void test_strict_parse(void **state)
{
    (void)state;
    const char *sig = "\"sig\":\"AAAA\"";
    char buf[512];
    snprintf(buf, sizeof(buf), "{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{%s}]}",
             sig);
    expect_parse(buf, FWS_OK);
    /* extra, missing and duplicated fields */
    expect_parse("{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AAAA\"}],"
                 "\"x\":1}",
                 FWS_ERR_SCHEMA);
    expect_parse("{\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AAAA\"}]}", FWS_ERR_SCHEMA);
    expect_parse("{\"payload\":\"e30=\",\"signatures\":[{\"sig\":\"AAAA\"}]}", FWS_ERR_SCHEMA);
    expect_parse("{\"payload\":\"e30=\",\"payloadType\":\"t\"}", FWS_ERR_SCHEMA);
    expect_parse("{\"payload\":\"e30=\",\"payload\":\"e30=\",\"payloadType\":\"t\","
                 "\"signatures\":[{\"sig\":\"AAAA\"}]}",
                 FWS_ERR_FORMAT);
    expect_parse("{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AAAA\","
                 "\"other\":\"x\"}]}",
                 FWS_ERR_SCHEMA);
    /* wrong types, empty lists, bad base64 */
    expect_parse("{\"payload\":1,\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AAAA\"}]}",
                 FWS_ERR_SCHEMA);
    expect_parse("{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[]}", FWS_ERR_SCHEMA);
    expect_parse("{\"payload\":\"e30\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AAAA\"}]}",
                 FWS_ERR_FORMAT);
    expect_parse("{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"A A=\"}]}",
                 FWS_ERR_FORMAT);
    expect_parse("[]", FWS_ERR_SCHEMA);
    expect_parse("", FWS_ERR_FORMAT);
    expect_parse("{\"payload\":\"e30=\"", FWS_ERR_FORMAT);
}

/* The compact fast path and the general parser agree: each input is parsed as given and with a
 * space after its first byte (which only the general parser reads); both must accept or
 * reject alike, with the same fields. */
static void same_as_general(const char *json)
{
    fws_dsse_envelope a, b;
    fws_errbuf eb = {{0}};
    size_t n = strlen(json);
    char *spaced = malloc(n + 2);
    assert_non_null(spaced);
    spaced[0] = json[0];
    spaced[1] = ' ';
    memcpy(spaced + 2, json + 1, n);
    fws_err ea = fws_dsse_parse((const uint8_t *)json, n, &a, &eb);
    fws_err eb2 = fws_dsse_parse((const uint8_t *)spaced, n + 1, &b, &eb);
    free(spaced);
    if ((ea == FWS_OK) != (eb2 == FWS_OK))
        fail_msg("%s: compact %d, general %d", json, ea, eb2);
    if (ea != FWS_OK)
        return;
    assert_string_equal(a.payload_type, b.payload_type);
    assert_int_equal(a.payload_len, b.payload_len);
    assert_memory_equal(a.unverified_payload, b.unverified_payload, a.payload_len);
    assert_int_equal(a.n_sigs, b.n_sigs);
    for (size_t i = 0; i < a.n_sigs; i++) {
        assert_string_equal(a.sigs[i].keyid, b.sigs[i].keyid);
        assert_int_equal(a.sigs[i].sig_len, b.sigs[i].sig_len);
        assert_memory_equal(a.sigs[i].sig, b.sigs[i].sig, a.sigs[i].sig_len);
    }
    fws_dsse_envelope_free(&a);
    fws_dsse_envelope_free(&b);
}

static void test_compact_path(void **state)
{
    (void)state;
    fixture f = {0};
    make(&f, FWS_KEY_P256);
    char *copy = malloc(f.env_len + 1);
    memcpy(copy, f.env, f.env_len);
    copy[f.env_len] = 0;
    same_as_general(copy);
    free(copy);
    unmake(&f);
    static const char *const cases[] = {
        "{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AAAA\"}]}",
        "{\"payload\":\"\",\"payloadType\":\"t\",\"signatures\":[{\"keyid\":\"\",\"sig\":\"\"}]}",
        "{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"keyid\":\"k1\",\"sig\":"
        "\"AAAA\"},{\"sig\":\"AAE=\"}]}",
        /* what the fast path leaves to the general one, and what both refuse */
        "{\"payload\":\"e3\\u0030=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AAAA\"}]}",
        "{\"payloadType\":\"t\",\"payload\":\"e30=\",\"signatures\":[{\"sig\":\"AAAA\"}]}",
        "{\"payload\":\"e30=\",\"payloadType\":\"\",\"signatures\":[{\"sig\":\"AAAA\"}]}",
        "{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[]}",
        "{\"payload\":\"e30\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AAAA\"}]}",
        "{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AAA=\"}]}",
        "{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AAAA\"}]}x",
        "{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AAAA\"}]}\n",
        "{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AAAA\"}]} \r\n\tx",
        "{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AAAA\"},]}",
        "{\"payload\":\"e30=\",\"payloadType\":\"t\u00e9\",\"signatures\":[{\"sig\":\"AAAA\"}]}",
        "{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"keyid\":"
        "\"0123456789012345678901234567890123456789012345678901234567890123456789\",\"sig\":"
        "\"AAAA\"}]}",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        same_as_general(cases[i]);
    /* seventeen signatures: over the cap on both paths */
    char many[1024] = "{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[";
    for (int i = 0; i < 17; i++)
        strcat(many, i ? ",{\"sig\":\"AAAA\"}" : "{\"sig\":\"AAAA\"}");
    strcat(many, "]}");
    same_as_general(many);
    expect_parse(many, FWS_ERR_SCHEMA);
}

static void test_statement_subject(void **state)
{
    (void)state;
    uint8_t sha[FWS_SHA256_LEN], other[FWS_SHA256_LEN];
    char *st = NULL, name[64];
    size_t len = 0;
    fws_errbuf eb = {{0}};
    fws_sha256("firmware", 8, sha);
    fws_sha256("other", 5, other);
    assert_int_equal(
        fws_intoto_statement("fw.bin", sha, "https://example.com/p", json_object(), &st, &len, &eb),
        FWS_OK);
    assert_int_equal(
        fws_intoto_match_subject((const uint8_t *)st, len, sha, name, sizeof(name), &eb), FWS_OK);
    assert_string_equal(name, "fw.bin");
    assert_int_equal(fws_intoto_match_subject((const uint8_t *)st, len, other, NULL, 0, &eb),
                     FWS_ERR_DIGEST);
    free(st);
    const char *bad = "{\"_type\":\"https://in-toto.io/Statement/v0.1\",\"subject\":[],"
                      "\"predicateType\":\"x\"}";
    eb.msg[0] = 0;
    assert_int_equal(fws_intoto_match_subject((const uint8_t *)bad, strlen(bad), sha, NULL, 0, &eb),
                     FWS_ERR_SCHEMA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pae_known_answer),  cmocka_unit_test(test_round_trip_ed25519),
        cmocka_unit_test(test_round_trip_p256),   cmocka_unit_test(test_every_bit_flip_rejected),
        cmocka_unit_test(test_strict_parse),      cmocka_unit_test(test_compact_path),
        cmocka_unit_test(test_statement_subject),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
