/* Assignments (signature, device, nonce, replayed sequence) and encrypted payloads (chunked
 * AES-256-GCM decrypted while streaming into the slot, content keys wrapped with X25519 and
 * P-256). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fwseal/dsse.h"
#include "agent/internal.h"
#include "test_agent_util.h"

static char *assignment(const fws_signer *s, const char *dev, const char *nonce, int seq,
                        const char *target, size_t *len)
{
    char payload[512];
    snprintf(payload, sizeof(payload),
             "{\"device\":\"%s\",\"nonce\":\"%s\",\"sequence\":%d,\"target\":\"%s\"}", dev, nonce,
             seq, target);
    const fws_signer *signers[1] = {s};
    char *env = NULL;
    assert_int_equal(fws_dsse_sign(FWS_ASSIGNMENT_PAYLOAD_TYPE, (const uint8_t *)payload,
                                   strlen(payload), signers, 1, &env, len, NULL),
                     FWS_OK);
    return env;
}

static void assignments(void **state)
{
    (void)state;
    fws_key *k = NULL, *pub = NULL, *other = NULL;
    fws_signer s, os;
    assert_int_equal(fws_key_generate(FWS_KEY_ED25519, &k), FWS_OK);
    assert_int_equal(fws_key_public_dup(k, &pub), FWS_OK);
    assert_int_equal(fws_signer_from_key(k, &s), FWS_OK);
    assert_int_equal(fws_key_generate(FWS_KEY_P256, &other), FWS_OK);
    assert_int_equal(fws_signer_from_key(other, &os), FWS_OK);
    const char *nonce = "00112233445566778899aabbccddeeff";
    size_t len = 0;
    fws_assignment a;
    fws_errbuf eb = {{0}};

    char *env = assignment(&s, "dev-1", nonce, 7, "hub/1.1.0/fw.bin", &len);
    assert_int_equal(fws_assignment_check((uint8_t *)env, len, pub, "dev-1", nonce, 6, &a, &eb),
                     FWS_OK);
    assert_int_equal(a.sequence, 7);
    assert_string_equal(a.target, "hub/1.1.0/fw.bin");
    /* Replayed: the same answer again, once its sequence was accepted. */
    assert_int_equal(fws_assignment_check((uint8_t *)env, len, pub, "dev-1", nonce, 7, &a, &eb),
                     FWS_ERR_ROLLBACK);
    assert_non_null(strstr(eb.msg, "replayed"));
    /* An answer to another request (old nonce). */
    fws_errbuf_clear(&eb);
    assert_int_equal(fws_assignment_check((uint8_t *)env, len, pub, "dev-1",
                                          "ffeeddccbbaa99887766554433221100", 0, &a, &eb),
                     FWS_ERR_ROLLBACK);
    assert_non_null(strstr(eb.msg, "nonce"));
    /* Another device's. */
    assert_int_equal(fws_assignment_check((uint8_t *)env, len, pub, "dev-2", nonce, 0, &a, NULL),
                     FWS_ERR_KEY_MISMATCH);
    /* A flipped byte in the signed payload. */
    char *p = strstr(env, "\"payload\"");
    assert_non_null(p);
    p = strchr(p + strlen("\"payload\""), '"');
    assert_non_null(p);
    p[20] = p[20] == 'A' ? 'B' : 'A';
    assert_int_not_equal(
        fws_assignment_check((uint8_t *)env, len, pub, "dev-1", nonce, 0, &a, NULL), FWS_OK);
    free(env);
    /* Signed by a key that is not the assignment key. */
    env = assignment(&os, "dev-1", nonce, 9, "x", &len);
    assert_int_not_equal(
        fws_assignment_check((uint8_t *)env, len, pub, "dev-1", nonce, 0, &a, NULL), FWS_OK);
    free(env);
    fws_signer_free(&s);
    fws_signer_free(&os);
    fws_key_free(pub);
}

static void wrap_roundtrip(const char *type)
{
    device d;
    device_make(&d);
    char priv[700], pub[700];
    snprintf(priv, sizeof(priv), "%s/wrap.key", d.root);
    snprintf(pub, sizeof(pub), "%s/wrap.pub", d.root);
    assert_int_equal(fws_enc_key_generate(type, priv, pub, NULL), FWS_OK);
    fws_enc_key *kpriv = NULL, *kpub = NULL;
    assert_int_equal(fws_enc_key_load(priv, &kpriv, NULL), FWS_OK);
    assert_int_equal(fws_enc_key_load(pub, &kpub, NULL), FWS_OK);
    uint8_t key[32], back[32];
    assert_int_equal(fws_random(key, sizeof(key)), FWS_OK);
    char *json = NULL;
    assert_int_equal(fws_enc_wrap_key(kpub, key, &json, NULL), FWS_OK);
    assert_int_equal(fws_enc_unwrap_key(kpriv, json, back, NULL), FWS_OK);
    assert_memory_equal(key, back, 32);
    /* Another device cannot unwrap it. */
    char priv2[720], pub2[720];
    snprintf(priv2, sizeof(priv2), "%s2", priv);
    snprintf(pub2, sizeof(pub2), "%s2", pub);
    assert_int_equal(fws_enc_key_generate(type, priv2, pub2, NULL), FWS_OK);
    fws_enc_key *k2 = NULL;
    assert_int_equal(fws_enc_key_load(priv2, &k2, NULL), FWS_OK);
    assert_int_equal(fws_enc_unwrap_key(k2, json, back, NULL), FWS_ERR_SIGNATURE);
    fws_enc_key_free(k2);
    free(json);

    /* An encrypted payload installs: the slot receives the plaintext. */
    char enc[700];
    snprintf(enc, sizeof(enc), "%s/v2.enc", d.root);
    assert_int_equal(fws_enc_encrypt_file(d.v2_path, enc, key, 65536, NULL), FWS_OK);
    uint8_t sha[32];
    uint64_t len = 0;
    assert_int_equal(fws_hash_file(enc, 1u << 30, sha, NULL, &len, NULL), FWS_OK);
    assert_int_equal(len, fws_enc_length(V2_LEN, 65536));
    fws_slot_backend *b = NULL;
    fws_agent *a = NULL;
    fws_slot_config sc = {"file", d.slots, NULL, NULL, NULL, NULL};
    assert_int_equal(fws_slot_open(&sc, &b, NULL), FWS_OK);
    fws_agent_config ac;
    memset(&ac, 0, sizeof(ac));
    ac.state_dir = d.state;
    ac.slots = b;
    ac.device_id = "enc";
    ac.wrap_key = kpriv;
    fws_agent_first first = {"hub", "1.0.0", d.v1_sha};
    assert_int_equal(fws_agent_open(&ac, &first, &a, NULL), FWS_OK);
    fws_agent_target t;
    device_target(&d, &t);
    snprintf(t.url, sizeof(t.url), "%s", enc);
    memcpy(t.sha256, sha, 32);
    t.length = len;
    assert_int_equal(fws_enc_wrap_key(kpub, key, &json, NULL), FWS_OK);
    snprintf(t.wrapped_key, sizeof(t.wrapped_key), "%s", json);
    free(json);
    assert_int_equal(fws_agent_install(a, &t, &fws_agent_file_source, NULL), FWS_OK);
    char img[700];
    snprintf(img, sizeof(img), "%s/slot-B.img", d.slots);
    assert_true(file_equals(img, d.v2, V2_LEN));
    fws_agent_status st;
    fws_agent_get_status(a, &st);
    assert_memory_equal(st.slot_sha256, d.v2_sha, 32);

    fws_agent_close(a);
    fws_slot_close(b);
    device_free(&d);
    fws_enc_key_free(kpriv);
    fws_enc_key_free(kpub);
}

static void wrap_x25519(void **state)
{
    (void)state;
    wrap_roundtrip("x25519");
}

static void wrap_p256(void **state)
{
    (void)state;
    wrap_roundtrip("p256");
}

typedef struct collect {
    uint8_t *buf;
    size_t len;
} collect;

static fws_err collect_out(void *ctx, const uint8_t *data, size_t len)
{
    collect *c = ctx;
    memcpy(c->buf + c->len, data, len);
    c->len += len;
    return FWS_OK;
}

/* Every single-bit flip of a small encrypted payload is refused; the plaintext released before
 * the flipped chunk is exactly the chunks that authenticated. */
static void enc_bit_flips(void **state)
{
    (void)state;
    device d;
    device_make(&d);
    char small[700], enc[700];
    snprintf(small, sizeof(small), "%s/small", d.root);
    snprintf(enc, sizeof(enc), "%s/small.enc", d.root);
    assert_int_equal(fws_file_write_atomic(small, d.v1, 100, 0644, 1, NULL), FWS_OK);
    uint8_t key[32] = {1, 2, 3};
    assert_int_equal(fws_enc_encrypt_file(small, enc, key, 40, NULL), FWS_OK);
    uint8_t *ct = NULL;
    size_t n = 0;
    assert_int_equal(fws_file_read(enc, 4096, &ct, &n, NULL), FWS_OK);
    assert_int_equal(n, fws_enc_length(100, 40));
    uint8_t out[256];
    for (size_t bit = 0; bit <= n * 8; bit++) {
        if (bit < n * 8)
            ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        fws_enc_stream *s = NULL;
        assert_int_equal(fws_enc_stream_new(key, &s, NULL), FWS_OK);
        collect c = {out, 0};
        fws_err err = fws_enc_stream_update(s, ct, n, collect_out, &c, NULL);
        if (err == FWS_OK)
            err = fws_enc_stream_final(s, NULL);
        if (bit < n * 8) {
            assert_int_not_equal(err, FWS_OK);
            assert_true(c.len % 40 == 0 && c.len < 100);
            ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        } else {
            assert_int_equal(err, FWS_OK);
            assert_int_equal(c.len, 100);
            assert_memory_equal(out, d.v1, 100);
        }
        fws_enc_stream_free(s);
    }
    /* Cut short, and with a byte too many. */
    fws_enc_stream *s = NULL;
    collect c = {out, 0};
    assert_int_equal(fws_enc_stream_new(key, &s, NULL), FWS_OK);
    assert_int_equal(fws_enc_stream_update(s, ct, n - 1, collect_out, &c, NULL), FWS_OK);
    assert_int_equal(fws_enc_stream_final(s, NULL), FWS_ERR_LENGTH);
    uint8_t extra = 0;
    assert_int_equal(fws_enc_stream_update(s, ct + n - 1, 1, collect_out, &c, NULL), FWS_OK);
    assert_int_equal(fws_enc_stream_update(s, &extra, 1, collect_out, &c, NULL), FWS_ERR_LENGTH);
    fws_enc_stream_free(s);
    free(ct);
    device_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(assignments),
        cmocka_unit_test(wrap_x25519),
        cmocka_unit_test(wrap_p256),
        cmocka_unit_test(enc_bit_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
