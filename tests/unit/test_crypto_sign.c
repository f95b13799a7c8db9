/* Signatures: RFC 8032 section 7.1 Ed25519 vectors (exact bytes), the RFC 6979 A.2.5 P-256 key
 * and signatures, round trips, rejection of every flipped bit, malformed DER, the core provider
 * table and the signer interface. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include "fwseal/crypto.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t len = 0;
    assert_int_equal(fws_hex_decode(hex, strlen(hex), out, cap, &len), FWS_OK);
    return len;
}

/* ---- RFC 8032 section 7.1 ---------------------------------------------------------------- */

/* TEST 1024: the 1023-byte message. */
static const char test1024_msg[] =
    "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98"
    "fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8"
    "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
    "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc"
    "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe"
    "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
    "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef"
    "efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7"
    "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
    "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2"
    "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24"
    "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
    "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc"
    "2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07"
    "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
    "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a"
    "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e"
    "c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
    "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c"
    "42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8"
    "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
    "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08"
    "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649"
    "de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
    "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3"
    "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e"
    "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
    "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5"
    "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1"
    "369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
    "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c"
    "0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0";

typedef struct ed25519_vector {
    const char *name, *secret, *public_key, *message, *signature;
} ed25519_vector;

static const ed25519_vector rfc8032[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
     "1cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
     "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760"
     "984dc6594a7c15e9716ed28dc027beceea1ec40a"},
    {"TEST 1024", "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
     "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e", test1024_msg,
     "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23"
     "c436d94b5e8fcd4f681e30a6ac00a9704a188a03"},
    {"TEST SHA(abc)", "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c6"
     "6431e0303dca179c138ac17ad9bef1177331a704"},
};

static void test_ed25519_rfc8032(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rfc8032) / sizeof(rfc8032[0]); i++) {
        const ed25519_vector *v = &rfc8032[i];
        uint8_t secret[32], pub[32], want_sig[64], raw[FWS_PUBKEY_MAX], sig[FWS_SIG_MAX];
        static uint8_t msg[1024];
        size_t msg_len, raw_len = 0, sig_len = 0;
        fws_key *k = NULL, *pk = NULL;

        print_message("%s\n", v->name);
        assert_int_equal(unhex(v->secret, secret, sizeof(secret)), 32);
        assert_int_equal(unhex(v->public_key, pub, sizeof(pub)), 32);
        assert_int_equal(unhex(v->signature, want_sig, sizeof(want_sig)), 64);
        msg_len = unhex(v->message, msg, sizeof(msg));

        assert_int_equal(fws_key_from_raw_private(FWS_KEY_ED25519, secret, 32, &k), FWS_OK);
        assert_true(fws_key_is_private(k));
        assert_int_equal(fws_key_get_type(k), FWS_KEY_ED25519);
        /* The public key derived from the secret is the published one. */
        assert_int_equal(fws_key_raw_public(k, raw, sizeof(raw), &raw_len), FWS_OK);
        assert_int_equal(raw_len, 32);
        assert_memory_equal(raw, pub, 32);
        /* Ed25519 is deterministic: the exact published signature. */
        assert_int_equal(fws_key_sign(k, msg_len ? msg : NULL, msg_len, sig, sizeof(sig), &sig_len),
                         FWS_OK);
        assert_int_equal(sig_len, 64);
        assert_memory_equal(sig, want_sig, 64);
        /* And it verifies under the published public key, built from its raw bytes. */
        assert_int_equal(fws_key_from_raw_public(FWS_KEY_ED25519, pub, 32, &pk), FWS_OK);
        assert_false(fws_key_is_private(pk));
        assert_int_equal(fws_key_verify(pk, msg, msg_len, want_sig, 64), FWS_OK);
        assert_int_equal(
            fws_openssl_sig_ops.verify(FWS_SIG_ED25519, pub, 32, msg, msg_len, want_sig, 64),
            FWS_OK);
        fws_key_free(k);
        fws_key_free(pk);
    }
}

/* TEST SHA(abc)'s message is SHA-512("abc"): check our SHA-512 against the RFC's bytes too. */
static void test_ed25519_sha_abc_message(void **state)
{
    uint8_t d[FWS_SHA512_LEN], want[FWS_SHA512_LEN];
    (void)state;
    fws_sha512("abc", 3, d);
    unhex(rfc8032[4].message, want, sizeof(want));
    assert_memory_equal(d, want, sizeof(d));
}

/* ---- RFC 6979 A.2.5: the P-256 key pair and its SHA-256 signatures ----------------------- */

static const char p256_d[] = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
static const char p256_point[] = "04"
                                 "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
                                 "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";

/* DER ECDSA-Sig-Value of (r, s); s of "sample" has its top bit set, so it gains a 00 byte. */
static const char p256_sig_sample[] =
    "3046"
    "0221"
    "00efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
    "0221"
    "00f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8";
static const char p256_sig_test[] =
    "3045"
    "0221"
    "00f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367"
    "0220"
    "019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083";

static void test_p256_rfc6979(void **state)
{
    uint8_t d[32], point[65], raw[FWS_PUBKEY_MAX], sig[FWS_SIG_MAX];
    size_t raw_len = 0, sig_len;
    fws_key *k = NULL, *pk = NULL;
    (void)state;

    unhex(p256_d, d, sizeof(d));
    unhex(p256_point, point, sizeof(point));
    assert_int_equal(fws_key_from_raw_private(FWS_KEY_P256, d, 32, &k), FWS_OK);
    assert_int_equal(fws_key_get_type(k), FWS_KEY_P256);
    assert_int_equal(fws_key_raw_public(k, raw, sizeof(raw), &raw_len), FWS_OK);
    assert_int_equal(raw_len, 65);
    assert_memory_equal(raw, point, 65); /* U = dG as published */

    assert_int_equal(fws_key_from_raw_public(FWS_KEY_P256, point, 65, &pk), FWS_OK);
    sig_len = unhex(p256_sig_sample, sig, sizeof(sig));
    assert_int_equal(fws_key_verify(pk, (const uint8_t *)"sample", 6, sig, sig_len), FWS_OK);
    assert_int_equal(fws_key_verify(pk, (const uint8_t *)"sampl", 5, sig, sig_len),
                     FWS_ERR_SIGNATURE);
    assert_int_equal(fws_openssl_sig_ops.verify(FWS_SIG_ECDSA_P256, point, 65,
                                                (const uint8_t *)"sample", 6, sig, sig_len),
                     FWS_OK);
    sig_len = unhex(p256_sig_test, sig, sizeof(sig));
    assert_int_equal(fws_key_verify(pk, (const uint8_t *)"test", 4, sig, sig_len), FWS_OK);
    assert_int_equal(fws_key_verify(k, (const uint8_t *)"test", 4, sig, sig_len), FWS_OK);
    assert_int_equal(fws_key_verify(pk, (const uint8_t *)"sample", 6, sig, sig_len),
                     FWS_ERR_SIGNATURE);
    fws_key_free(k);
    fws_key_free(pk);
}

static void test_p256_raw_private_range(void **state)
{
    uint8_t d[32];
    fws_key *k = NULL;
    (void)state;
    memset(d, 0, sizeof(d));
    assert_int_equal(fws_key_from_raw_private(FWS_KEY_P256, d, 32, &k), FWS_ERR_FORMAT);
    /* n, the group order, is out of range too. */
    unhex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", d, sizeof(d));
    assert_int_equal(fws_key_from_raw_private(FWS_KEY_P256, d, 32, &k), FWS_ERR_FORMAT);
    d[31] = 0x50; /* n - 1 is fine */
    assert_int_equal(fws_key_from_raw_private(FWS_KEY_P256, d, 32, &k), FWS_OK);
    fws_key_free(k);
    assert_int_equal(fws_key_from_raw_private(FWS_KEY_P256, d, 31, &k), FWS_ERR_KEY_TYPE);
    assert_int_equal(fws_key_from_raw_private(FWS_KEY_ED25519, d, 31, &k), FWS_ERR_KEY_TYPE);
    assert_int_equal(ERR_peek_error(), 0);
}

/* ---- round trips and rejections ---------------------------------------------------------- */

static void flip_every_bit(const fws_key *pub, const uint8_t *msg, size_t msg_len,
                           const uint8_t *sig, size_t sig_len)
{
    uint8_t s[FWS_SIG_MAX], m[64];
    assert_true(msg_len <= sizeof(m));
    memcpy(s, sig, sig_len);
    memcpy(m, msg, msg_len);
    for (size_t i = 0; i < sig_len * 8; i++) {
        s[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(fws_key_verify(pub, m, msg_len, s, sig_len), FWS_ERR_SIGNATURE);
        s[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    for (size_t i = 0; i < msg_len * 8; i++) {
        m[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(fws_key_verify(pub, m, msg_len, s, sig_len), FWS_ERR_SIGNATURE);
        m[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    assert_int_equal(fws_key_verify(pub, m, msg_len, s, sig_len), FWS_OK);
    assert_int_equal(ERR_peek_error(), 0);
}

static void round_trip(fws_key_type type)
{
    static const uint8_t msg[] = "firmware image 1.2.3 for model hx-200";
    uint8_t sig[FWS_SIG_MAX], raw[FWS_PUBKEY_MAX];
    size_t sig_len = 0, raw_len = 0;
    fws_key *k = NULL, *pub = NULL, *other = NULL;
    char id1[FWS_KEYID_LEN], id2[FWS_KEYID_LEN];

    assert_int_equal(fws_key_generate(type, &k), FWS_OK);
    assert_int_equal(fws_key_get_type(k), type);
    assert_int_equal(fws_key_sign(k, msg, sizeof(msg) - 1, sig, sizeof(sig), &sig_len), FWS_OK);
    if (type == FWS_KEY_ED25519)
        assert_int_equal(sig_len, 64);
    else
        assert_true(sig_len >= 8 && sig_len <= FWS_SIG_MAX && sig[0] == 0x30);
    assert_int_equal(fws_key_public_dup(k, &pub), FWS_OK);
    assert_false(fws_key_is_private(pub));
    fws_key_id(k, id1);
    fws_key_id(pub, id2);
    assert_string_equal(id1, id2);
    assert_int_equal(fws_key_verify(pub, msg, sizeof(msg) - 1, sig, sig_len), FWS_OK);
    flip_every_bit(pub, msg, sizeof(msg) - 1, sig, sig_len);

    /* Through the core provider with raw bytes. */
    assert_int_equal(fws_key_raw_public(k, raw, sizeof(raw), &raw_len), FWS_OK);
    assert_int_equal(
        fws_openssl_sig_ops.verify(type == FWS_KEY_ED25519 ? FWS_SIG_ED25519 : FWS_SIG_ECDSA_P256,
                                   raw, raw_len, msg, sizeof(msg) - 1, sig, sig_len),
        FWS_OK);

    /* Another key of the same type does not verify it. */
    assert_int_equal(fws_key_generate(type, &other), FWS_OK);
    assert_int_equal(fws_key_verify(other, msg, sizeof(msg) - 1, sig, sig_len), FWS_ERR_SIGNATURE);
    fws_key_id(other, id2);
    assert_string_not_equal(id1, id2);

    /* A public key cannot sign; a short output buffer is refused before signing. */
    assert_int_equal(fws_key_sign(pub, msg, 3, sig, sizeof(sig), &sig_len), FWS_ERR_ARG);
    assert_int_equal(fws_key_sign(k, msg, 3, sig, FWS_SIG_MAX - 1, &sig_len), FWS_ERR_ARG);
    fws_key_free(k);
    fws_key_free(pub);
    fws_key_free(other);
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

static void test_p256_malformed_der(void **state)
{
    uint8_t point[65], good[FWS_SIG_MAX], bad[FWS_SIG_MAX + 8];
    size_t n;
    fws_key *pk = NULL;
    const uint8_t *msg = (const uint8_t *)"sample";
    (void)state;

    unhex(p256_point, point, sizeof(point));
    assert_int_equal(fws_key_from_raw_public(FWS_KEY_P256, point, 65, &pk), FWS_OK);
    n = unhex(p256_sig_sample, good, sizeof(good));
    assert_int_equal(fws_key_verify(pk, msg, 6, good, n), FWS_OK);

    /* Trailing garbage after the DER sequence. */
    memcpy(bad, good, n);
    bad[n] = 0x00;
    assert_int_equal(fws_key_verify(pk, msg, 6, bad, n + 1), FWS_ERR_SIGNATURE);
    /* Truncated. */
    assert_int_equal(fws_key_verify(pk, msg, 6, good, n - 1), FWS_ERR_SIGNATURE);
    assert_int_equal(fws_key_verify(pk, msg, 6, good, 2), FWS_ERR_SIGNATURE);
    assert_int_equal(fws_key_verify(pk, msg, 6, good, 0), FWS_ERR_SIGNATURE);
    /* Wrong outer length. */
    memcpy(bad, good, n);
    bad[1] = 0x47;
    assert_int_equal(fws_key_verify(pk, msg, 6, bad, n), FWS_ERR_SIGNATURE);
    /* Non-minimal length encoding (BER long form "30 81 45" for the 71-byte "test" signature):
     * the same integers, 72 bytes, but not DER. */
    n = unhex(p256_sig_test, good, sizeof(good));
    assert_int_equal(n, 71);
    assert_int_equal(fws_key_verify(pk, (const uint8_t *)"test", 4, good, n), FWS_OK);
    bad[0] = 0x30;
    bad[1] = 0x81;
    bad[2] = 0x45;
    memcpy(bad + 3, good + 2, n - 2);
    assert_int_equal(fws_key_verify(pk, (const uint8_t *)"test", 4, bad, n + 1), FWS_ERR_SIGNATURE);
    /* A leading zero byte added to s (positive already): not minimal, not DER. */
    memcpy(bad, good, 37); /* 30 45 02 21 00 r */
    bad[1] = 0x46;
    bad[37] = 0x02;
    bad[38] = 0x21;
    bad[39] = 0x00;
    memcpy(bad + 40, good + 39, 32); /* s */
    assert_int_equal(fws_key_verify(pk, (const uint8_t *)"test", 4, bad, 72), FWS_ERR_SIGNATURE);
    n = unhex(p256_sig_sample, good, sizeof(good));
    /* The raw r||s form (64 bytes) is not accepted for P-256. */
    memcpy(bad, good + 5, 32);
    memcpy(bad + 32, good + 40, 32);
    assert_int_equal(fws_key_verify(pk, msg, 6, bad, 64), FWS_ERR_SIGNATURE);
    /* Over the 72-byte maximum. */
    memset(bad, 0x30, sizeof(bad));
    assert_int_equal(fws_key_verify(pk, msg, 6, bad, sizeof(bad)), FWS_ERR_SIGNATURE);
    assert_int_equal(ERR_peek_error(), 0);
    fws_key_free(pk);
}

static void test_ed25519_bad_lengths(void **state)
{
    uint8_t pub[32], sig[65];
    fws_key *pk = NULL;
    (void)state;
    unhex(rfc8032[0].public_key, pub, sizeof(pub));
    unhex(rfc8032[0].signature, sig, sizeof(sig));
    assert_int_equal(fws_key_from_raw_public(FWS_KEY_ED25519, pub, 32, &pk), FWS_OK);
    assert_int_equal(fws_key_verify(pk, NULL, 0, sig, 64), FWS_OK);
    assert_int_equal(fws_key_verify(pk, NULL, 0, sig, 63), FWS_ERR_SIGNATURE);
    sig[64] = 0;
    assert_int_equal(fws_key_verify(pk, NULL, 0, sig, 65), FWS_ERR_SIGNATURE);
    assert_int_equal(fws_key_verify(pk, NULL, 0, NULL, 0), FWS_ERR_SIGNATURE);
    /* S >= L (S + L with the same value mod L) must be rejected: add L to S. */
    {
        static const uint8_t l[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                      0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};
        unsigned carry = 0;
        for (int i = 0; i < 32; i++) {
            unsigned v = sig[32 + i] + l[i] + carry;
            sig[32 + i] = (uint8_t)v;
            carry = v >> 8;
        }
        assert_int_equal(carry, 0);
        assert_int_equal(fws_key_verify(pk, NULL, 0, sig, 64), FWS_ERR_SIGNATURE);
    }
    fws_key_free(pk);
}

static void test_sig_ops_key_fit(void **state)
{
    uint8_t pub[32], point[65], sig[64];
    const uint8_t *msg = (const uint8_t *)"";
    (void)state;
    unhex(rfc8032[0].public_key, pub, sizeof(pub));
    unhex(rfc8032[0].signature, sig, sizeof(sig));
    unhex(p256_point, point, sizeof(point));
    /* A key whose length does not fit the algorithm, or an unknown algorithm. */
    assert_int_equal(fws_openssl_sig_ops.verify(FWS_SIG_ED25519, point, 65, msg, 0, sig, 64),
                     FWS_ERR_KEY_TYPE);
    assert_int_equal(fws_openssl_sig_ops.verify(FWS_SIG_ECDSA_P256, pub, 32, msg, 0, sig, 64),
                     FWS_ERR_KEY_TYPE);
    assert_int_equal(fws_openssl_sig_ops.verify((fws_sig_alg)99, pub, 32, msg, 0, sig, 64),
                     FWS_ERR_KEY_TYPE);
    /* A P-256 point off the curve, or compressed. */
    point[64] ^= 1;
    assert_int_equal(fws_openssl_sig_ops.verify(FWS_SIG_ECDSA_P256, point, 65, msg, 0, sig, 64),
                     FWS_ERR_FORMAT);
    point[64] ^= 1;
    point[0] = 0x02;
    assert_int_equal(fws_openssl_sig_ops.verify(FWS_SIG_ECDSA_P256, point, 65, msg, 0, sig, 64),
                     FWS_ERR_FORMAT);
    /* The right key, a wrong signature. */
    sig[0] ^= 0x80;
    assert_int_equal(fws_openssl_sig_ops.verify(FWS_SIG_ED25519, pub, 32, msg, 0, sig, 64),
                     FWS_ERR_SIGNATURE);
    assert_int_equal(ERR_peek_error(), 0);
}

/* The eight points of small order on edwards25519 (computed independently as [L]Q for random
 * points Q), their other sign bit, and non-canonical y = p, p + 1. A key among them would let
 * one signature verify for many messages; all are refused. */
static const char *const small_order_keys[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

static void test_ed25519_small_order_refused(void **state)
{
    uint8_t spki[44] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                        0x2b, 0x65, 0x70, 0x03, 0x21, 0x00}; /* SPKI prefix for Ed25519 */
    uint8_t zero_sig[64] = {0}, msg[32] = {0};
    fws_key *k = NULL;
    fws_errbuf eb = {{0}};
    (void)state;

    for (size_t i = 0; i < sizeof(small_order_keys) / sizeof(small_order_keys[0]); i++) {
        uint8_t pub[32];
        unhex(small_order_keys[i], pub, sizeof(pub));
        assert_int_equal(fws_key_from_raw_public(FWS_KEY_ED25519, pub, 32, &k), FWS_ERR_FORMAT);
        memcpy(spki + 12, pub, 32);
        fws_errbuf_clear(&eb);
        assert_int_equal(fws_key_from_spki_der(spki, sizeof(spki), &k, &eb), FWS_ERR_FORMAT);
        assert_non_null(strstr(eb.msg, "small order"));
        /* The all-zero "signature" under the order-4 key y = 0 is what the provider must not
         * accept, for any message. */
        for (int m = 0; m < 8; m++) {
            msg[0] = (uint8_t)m;
            assert_int_equal(fws_openssl_sig_ops.verify(FWS_SIG_ED25519, pub, 32, msg, sizeof(msg),
                                                        zero_sig, 64),
                             FWS_ERR_FORMAT);
        }
        assert_null(k);
    }
    /* A neighbour of a blocked value is an ordinary key. */
    {
        uint8_t pub[32];
        unhex(rfc8032[0].public_key, pub, sizeof(pub));
        assert_int_equal(fws_key_from_raw_public(FWS_KEY_ED25519, pub, 32, &k), FWS_OK);
        fws_key_free(k);
    }
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_verify_alg(void **state)
{
    uint8_t pub[32], sig[64];
    fws_key *pk = NULL;
    (void)state;
    unhex(rfc8032[1].public_key, pub, sizeof(pub));
    unhex(rfc8032[1].signature, sig, sizeof(sig));
    assert_int_equal(fws_key_from_raw_public(FWS_KEY_ED25519, pub, 32, &pk), FWS_OK);
    assert_int_equal(fws_key_verify_alg(pk, FWS_SIG_ED25519, (const uint8_t *)"\x72", 1, sig, 64),
                     FWS_OK);
    assert_int_equal(
        fws_key_verify_alg(pk, FWS_SIG_ECDSA_P256, (const uint8_t *)"\x72", 1, sig, 64),
        FWS_ERR_KEY_TYPE);
    fws_key_free(pk);
}

static void test_raw_public_rejects(void **state)
{
    uint8_t point[65], out[64];
    size_t len = 0;
    fws_key *k = NULL;
    (void)state;
    unhex(p256_point, point, sizeof(point));
    assert_int_equal(fws_key_from_raw_public(FWS_KEY_P256, point, 64, &k), FWS_ERR_KEY_TYPE);
    assert_int_equal(fws_key_from_raw_public(FWS_KEY_ED25519, point, 33, &k), FWS_ERR_KEY_TYPE);
    point[10] ^= 0x01;
    assert_int_equal(fws_key_from_raw_public(FWS_KEY_P256, point, 65, &k), FWS_ERR_FORMAT);
    point[10] ^= 0x01;
    assert_int_equal(fws_key_from_raw_public(FWS_KEY_P256, point, 65, &k), FWS_OK);
    /* The output buffer is bounds-checked. */
    assert_int_equal(fws_key_raw_public(k, out, sizeof(out), &len), FWS_ERR_TOO_BIG);
    fws_key_free(k);
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_signer(void **state)
{
    static const uint8_t msg[] = "release 42";
    uint8_t sig[FWS_SIG_MAX];
    size_t sig_len = 0;
    fws_key *k = NULL, *pub = NULL;
    fws_signer s;
    char id[FWS_KEYID_LEN], pub_id[FWS_KEYID_LEN];
    (void)state;

    assert_int_equal(fws_key_generate(FWS_KEY_P256, &k), FWS_OK);
    fws_key_id(k, id);
    assert_int_equal(fws_signer_from_key(k, &s), FWS_OK); /* s owns k now */
    assert_int_equal(s.type, FWS_KEY_P256);
    assert_string_equal(s.keyid, id);
    assert_int_equal(fws_signer_sign(&s, msg, sizeof(msg), sig, sizeof(sig), &sig_len), FWS_OK);
    assert_int_equal(fws_signer_public_key(&s, &pub), FWS_OK);
    assert_false(fws_key_is_private(pub));
    fws_key_id(pub, pub_id);
    assert_string_equal(pub_id, id);
    assert_int_equal(fws_key_verify(pub, msg, sizeof(msg), sig, sig_len), FWS_OK);
    fws_signer_free(&s);
    assert_null(s.impl);
    assert_null(s.sign);

    /* A public key is not a signer, and stays the caller's. */
    assert_int_equal(fws_signer_from_key(pub, &s), FWS_ERR_ARG);
    fws_key_free(pub);
    fws_signer_free(NULL);
}

static void test_key_types(void **state)
{
    fws_key_type t;
    (void)state;
    assert_string_equal(fws_key_type_name(FWS_KEY_ED25519), "ed25519");
    assert_string_equal(fws_key_type_name(FWS_KEY_P256), "p256");
    assert_int_equal(fws_key_type_parse("ed25519", &t), FWS_OK);
    assert_int_equal(t, FWS_KEY_ED25519);
    assert_int_equal(fws_key_type_parse("p256", &t), FWS_OK);
    assert_int_equal(t, FWS_KEY_P256);
    assert_int_equal(fws_key_type_parse("rsa", &t), FWS_ERR_KEY_TYPE);
    assert_int_equal(fws_key_type_parse("P256 ", &t), FWS_ERR_KEY_TYPE);
    fws_key_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519_rfc8032),
        cmocka_unit_test(test_ed25519_sha_abc_message),
        cmocka_unit_test(test_p256_rfc6979),
        cmocka_unit_test(test_p256_raw_private_range),
        cmocka_unit_test(test_round_trip_ed25519),
        cmocka_unit_test(test_round_trip_p256),
        cmocka_unit_test(test_p256_malformed_der),
        cmocka_unit_test(test_ed25519_bad_lengths),
        cmocka_unit_test(test_sig_ops_key_fit),
        cmocka_unit_test(test_ed25519_small_order_refused),
        cmocka_unit_test(test_verify_alg),
        cmocka_unit_test(test_raw_public_rejects),
        cmocka_unit_test(test_signer),
        cmocka_unit_test(test_key_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
