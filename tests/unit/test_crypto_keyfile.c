/* Key files: encrypted PKCS#8 round trips, the PBES2 parameters on disk, key IDs, and a precise
 * error for every way a key file can be wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "fwseal/crypto.h"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    unsetenv("FWSEAL_PASSPHRASE");
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/fws-test-keyfile-XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *path_of(const char *name)
{
    static char buf[16][256]; /* a ring: enough for the paths one test holds at once */
    static int next;
    char *p = buf[next++ % 16];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static void make_pp(fws_passphrase *pp, const char *text)
{
    memset(pp, 0, sizeof(*pp));
    pp->len = strlen(text);
    memcpy(pp->text, text, pp->len);
}

static void write_text(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 70000);
    assert_non_null(f);
    assert_non_null(buf);
    *len = fread(buf, 1, 69999, f);
    fclose(f);
    return buf;
}

/* Asserts the code, that eb mentions want, and that OpenSSL's error queue was left empty. */
static void expect_err(fws_err got, fws_errbuf *eb, fws_err want, const char *mentions)
{
    if (got != want || strstr(eb->msg, mentions) == NULL)
        print_error("got %d (%s), want %d mentioning '%s'\n", got, eb->msg, want, mentions);
    assert_int_equal(got, want);
    assert_non_null(strstr(eb->msg, mentions));
    assert_int_equal(ERR_peek_error(), 0);
    fws_errbuf_clear(eb);
}

static void round_trip(fws_key_type type, const char *priv_name, const char *pub_name)
{
    const char *priv = path_of(priv_name), *pub = path_of(pub_name);
    fws_passphrase pp;
    fws_key *k = NULL, *loaded = NULL, *lpub = NULL, *any = NULL;
    fws_errbuf eb = {{0}};
    char id[FWS_KEYID_LEN], id2[FWS_KEYID_LEN];
    uint8_t sig[FWS_SIG_MAX];
    size_t sig_len = 0, len = 0;
    struct stat st;
    char *text;
    int is_private = -1;

    make_pp(&pp, "correct horse battery staple");
    assert_int_equal(fws_key_generate(type, &k), FWS_OK);
    fws_key_id(k, id);
    assert_int_equal(fws_key_save_private(k, priv, &pp, 0, &eb), FWS_OK);
    assert_int_equal(fws_key_save_public(k, pub, 0, &eb), FWS_OK);

    assert_int_equal(stat(priv, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    text = read_text(priv, &len);
    assert_true(strncmp(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----\n", 38) == 0);
    free(text);
    text = read_text(pub, &len);
    assert_true(strncmp(text, "-----BEGIN PUBLIC KEY-----\n", 27) == 0);
    free(text);

    assert_int_equal(fws_key_file_kind(priv, &is_private, &eb), FWS_OK);
    assert_int_equal(is_private, 1);
    assert_int_equal(fws_key_file_kind(pub, &is_private, &eb), FWS_OK);
    assert_int_equal(is_private, 0);

    /* The key ID survives the trip, and the private and public halves share it. */
    assert_int_equal(fws_key_load_private(priv, &pp, &loaded, &eb), FWS_OK);
    assert_true(fws_key_is_private(loaded));
    assert_int_equal(fws_key_get_type(loaded), type);
    fws_key_id(loaded, id2);
    assert_string_equal(id, id2);
    assert_int_equal(fws_key_load_public(pub, &lpub, &eb), FWS_OK);
    assert_false(fws_key_is_private(lpub));
    fws_key_id(lpub, id2);
    assert_string_equal(id, id2);
    assert_int_equal(fws_key_load(pub, NULL, &any, &eb), FWS_OK);
    assert_false(fws_key_is_private(any));
    fws_key_free(any);
    assert_int_equal(fws_key_load(priv, &pp, &any, &eb), FWS_OK);
    assert_true(fws_key_is_private(any));
    fws_key_free(any);

    /* The loaded private key is the same key: its signature verifies under the public file. */
    assert_int_equal(fws_key_sign(loaded, (const uint8_t *)"x", 1, sig, sizeof(sig), &sig_len),
                     FWS_OK);
    assert_int_equal(fws_key_verify(lpub, (const uint8_t *)"x", 1, sig, sig_len), FWS_OK);

    /* Existing files are not overwritten unless asked. */
    expect_err(fws_key_save_private(k, priv, &pp, 0, &eb), &eb, FWS_ERR_EXISTS, priv_name);
    expect_err(fws_key_save_public(k, pub, 0, &eb), &eb, FWS_ERR_EXISTS, pub_name);
    assert_int_equal(fws_key_save_private(k, priv, &pp, 1, &eb), FWS_OK);
    fws_key_free(k);
    fws_key_free(loaded);
    fws_key_free(lpub);
}

static void test_round_trip_ed25519(void **state)
{
    (void)state;
    round_trip(FWS_KEY_ED25519, "ed.key", "ed.pub");
}

static void test_round_trip_p256(void **state)
{
    (void)state;
    round_trip(FWS_KEY_P256, "p256.key", "p256.pub");
}

/* The file on disk is PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, as promised. */
static void test_pbes2_parameters(void **state)
{
    const char *priv = path_of("params.key");
    fws_passphrase pp;
    fws_key *k = NULL;
    fws_errbuf eb = {{0}};
    BIO *bio;
    X509_SIG *p8;
    const X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *obj = NULL;
    const void *param = NULL;
    int ptype = 0;
    PBE2PARAM *pbe2;
    PBKDF2PARAM *kdf;
    (void)state;

    make_pp(&pp, "pw");
    assert_int_equal(fws_key_generate(FWS_KEY_ED25519, &k), FWS_OK);
    assert_int_equal(fws_key_save_private(k, priv, &pp, 0, &eb), FWS_OK);
    fws_key_free(k);

    bio = BIO_new_file(priv, "r");
    assert_non_null(bio);
    p8 = PEM_read_bio_PKCS8(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(p8);
    X509_SIG_get0(p8, &alg, NULL);
    X509_ALGOR_get0(&obj, &ptype, &param, alg);
    assert_int_equal(OBJ_obj2nid(obj), NID_pbes2);
    pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
    assert_non_null(pbe2);
    assert_int_equal(OBJ_obj2nid(pbe2->keyfunc->algorithm), NID_id_pbkdf2);
    assert_int_equal(OBJ_obj2nid(pbe2->encryption->algorithm), NID_aes_256_cbc);
    kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), pbe2->keyfunc->parameter);
    assert_non_null(kdf);
    assert_non_null(kdf->prf);
    assert_int_equal(OBJ_obj2nid(kdf->prf->algorithm), NID_hmacWithSHA256);
    assert_true(ASN1_INTEGER_get(kdf->iter) >= 100000);
    assert_int_equal(kdf->salt->type, V_ASN1_OCTET_STRING);
    assert_true(kdf->salt->value.octet_string->length >= 16);
    PBKDF2PARAM_free(kdf);
    PBE2PARAM_free(pbe2);
    X509_SIG_free(p8);
}

static void test_known_key_id(void **state)
{
    /* RFC 8032 TEST 1; the ID is SHA-256 over its 44-byte SPKI DER (302a300506032b6570032100
     * followed by the 32-byte key), computed independently. */
    static const char pub_hex[] =
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    uint8_t pub[32], *der = NULL, digest[32];
    size_t len = 0;
    fws_key *k = NULL;
    char id[FWS_KEYID_LEN], hex[65];
    (void)state;

    assert_int_equal(fws_hex_decode(pub_hex, 64, pub, sizeof(pub), &len), FWS_OK);
    assert_int_equal(fws_key_from_raw_public(FWS_KEY_ED25519, pub, 32, &k), FWS_OK);
    fws_key_id(k, id);
    assert_string_equal(id, "06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9");
    assert_int_equal(fws_key_spki_der(k, &der, &len), FWS_OK);
    assert_int_equal(len, 44);
    assert_memory_equal(der + 12, pub, 32);
    fws_sha256(der, len, digest);
    fws_hex_encode(digest, sizeof(digest), hex);
    assert_string_equal(hex, id);
    free(der);
    fws_key_free(k);
}

static void test_public_pem_memory(void **state)
{
    fws_key *k = NULL, *back = NULL, *dup = NULL;
    fws_errbuf eb = {{0}};
    char *pem = NULL, id[FWS_KEYID_LEN], id2[FWS_KEYID_LEN];
    uint8_t *der = NULL;
    size_t der_len = 0;
    (void)state;

    assert_int_equal(fws_key_generate(FWS_KEY_P256, &k), FWS_OK);
    fws_key_id(k, id);
    assert_int_equal(fws_key_public_pem(k, &pem), FWS_OK);
    assert_int_equal(fws_key_from_public_pem(pem, strlen(pem), &back, &eb), FWS_OK);
    fws_key_id(back, id2);
    assert_string_equal(id, id2);
    assert_int_equal(fws_key_spki_der(k, &der, &der_len), FWS_OK);
    assert_int_equal(fws_key_from_spki_der(der, der_len, &dup, &eb), FWS_OK);
    fws_key_id(dup, id2);
    assert_string_equal(id, id2);
    fws_key_free(dup);
    dup = NULL;
    expect_err(fws_key_from_spki_der(der, der_len - 1, &dup, &eb), &eb, FWS_ERR_FORMAT,
               "SubjectPublicKeyInfo");
    assert_null(dup);
    /* A truncated PEM in memory. */
    expect_err(fws_key_from_public_pem(pem, strlen(pem) - 30, &dup, &eb), &eb, FWS_ERR_FORMAT,
               "truncated");
    expect_err(fws_key_from_public_pem("", 0, &dup, &eb), &eb, FWS_ERR_FORMAT, "empty");
    assert_null(dup);
    free(der);
    free(pem);
    fws_key_free(k);
    fws_key_free(back);
}

/* One saved pair shared by the error tests. */
static void saved_pair(const char *priv, const char *pub, fws_passphrase *pp)
{
    fws_key *k = NULL;
    fws_errbuf eb = {{0}};
    make_pp(pp, "s3cret");
    assert_int_equal(fws_key_generate(FWS_KEY_ED25519, &k), FWS_OK);
    assert_int_equal(fws_key_save_private(k, priv, pp, 1, &eb), FWS_OK);
    assert_int_equal(fws_key_save_public(k, pub, 1, &eb), FWS_OK);
    fws_key_free(k);
}

static void test_wrong_passphrase(void **state)
{
    const char *priv = path_of("wp.key"), *pub = path_of("wp.pub");
    fws_passphrase pp, wrong;
    fws_key *k = NULL;
    fws_errbuf eb = {{0}};
    (void)state;

    saved_pair(priv, pub, &pp);
    make_pp(&wrong, "s3cres");
    expect_err(fws_key_load_private(priv, &wrong, &k, &eb), &eb, FWS_ERR_PASSPHRASE,
               "wrong passphrase or corrupted key");
    assert_null(k);
    make_pp(&wrong, "s3cret ");
    expect_err(fws_key_load_private(priv, &wrong, &k, &eb), &eb, FWS_ERR_PASSPHRASE,
               "wrong passphrase");
    expect_err(fws_key_load_private(priv, NULL, &k, &eb), &eb, FWS_ERR_PASSPHRASE,
               "needs a passphrase");
    make_pp(&wrong, "");
    expect_err(fws_key_load_private(priv, &wrong, &k, &eb), &eb, FWS_ERR_PASSPHRASE, "empty");
    assert_null(k);
    /* The right one still works after all that. */
    assert_int_equal(fws_key_load_private(priv, &pp, &k, &eb), FWS_OK);
    fws_key_free(k);
}

static void test_bad_files(void **state)
{
    const char *priv = path_of("bf.key"), *pub = path_of("bf.pub"), *bad = path_of("bad.pem");
    fws_passphrase pp;
    fws_key *k = NULL;
    fws_errbuf eb = {{0}};
    size_t len = 0;
    char *text;
    int is_private = 7;
    (void)state;

    saved_pair(priv, pub, &pp);
    expect_err(fws_key_load_private(path_of("nope.key"), &pp, &k, &eb), &eb, FWS_ERR_NOT_FOUND,
               "nope.key");
    expect_err(fws_key_load_public(path_of("nope.pub"), &k, &eb), &eb, FWS_ERR_NOT_FOUND,
               "nope.pub");

    write_text(bad, "", 0);
    expect_err(fws_key_load_private(bad, &pp, &k, &eb), &eb, FWS_ERR_FORMAT, "empty");
    expect_err(fws_key_file_kind(bad, &is_private, &eb), &eb, FWS_ERR_FORMAT, "empty");
    assert_int_equal(is_private, 7);

    write_text(bad, "hello\n", 6);
    expect_err(fws_key_load_public(bad, &k, &eb), &eb, FWS_ERR_FORMAT, "not a PEM");

    /* Truncated: every cut that loses the END line. */
    text = read_text(priv, &len);
    for (size_t cut = 1; cut < len - 2; cut += 37) {
        write_text(bad, text, cut);
        expect_err(fws_key_load_private(bad, &pp, &k, &eb), &eb, FWS_ERR_FORMAT, "bad.pem");
    }
    write_text(bad, text, len / 2);
    expect_err(fws_key_load_private(bad, &pp, &k, &eb), &eb, FWS_ERR_FORMAT, "truncated");
    /* A corrupted body: a character outside base64. */
    text[45] = '!';
    write_text(bad, text, len);
    expect_err(fws_key_load_private(bad, &pp, &k, &eb), &eb, FWS_ERR_FORMAT, "corrupted");
    free(text);

    /* The wrong kind of PEM, saying what was found. */
    expect_err(fws_key_load_private(pub, &pp, &k, &eb), &eb, FWS_ERR_FORMAT,
               "holds a public key (PUBLIC KEY), not a private key");
    expect_err(fws_key_load_public(priv, &k, &eb), &eb, FWS_ERR_FORMAT,
               "holds an encrypted private key (ENCRYPTED PRIVATE KEY), not a public key");
    {
        static const char cert[] = "-----BEGIN CERTIFICATE-----\nMIIBAjCBraADAgECAgEB\n"
                                   "-----END CERTIFICATE-----\n";
        write_text(bad, cert, strlen(cert));
        expect_err(fws_key_load_private(bad, &pp, &k, &eb), &eb, FWS_ERR_FORMAT,
                   "holds a CERTIFICATE PEM block, not a private key");
        expect_err(fws_key_load_public(bad, &k, &eb), &eb, FWS_ERR_FORMAT, "CERTIFICATE");
        expect_err(fws_key_load(bad, &pp, &k, &eb), &eb, FWS_ERR_FORMAT, "CERTIFICATE");
        expect_err(fws_key_file_kind(bad, &is_private, &eb), &eb, FWS_ERR_FORMAT, "CERTIFICATE");
    }
    /* Two blocks in one file. */
    {
        char *two = read_text(pub, &len), *both = malloc(2 * len);
        assert_non_null(both);
        memcpy(both, two, len);
        memcpy(both + len, two, len);
        write_text(bad, both, 2 * len);
        expect_err(fws_key_load_public(bad, &k, &eb), &eb, FWS_ERR_FORMAT, "more than one");
        free(two);
        free(both);
    }
    /* Over the 64 KiB cap. */
    {
        char *big = malloc(FWS_KEYFILE_MAX + 1);
        assert_non_null(big);
        memset(big, 'A', FWS_KEYFILE_MAX + 1);
        write_text(bad, big, FWS_KEYFILE_MAX + 1);
        expect_err(fws_key_load_public(bad, &k, &eb), &eb, FWS_ERR_TOO_BIG, "bad.pem");
        free(big);
    }
    assert_null(k);
}

/* Writes pkey with OpenSSL itself: encrypted PKCS#8 (with pp) or unencrypted, and SPKI. */
static void openssl_write(EVP_PKEY *pkey, const char *priv, const char *pub,
                          const fws_passphrase *pp)
{
    BIO *b = BIO_new_file(priv, "w");
    assert_non_null(b);
    if (pp != NULL)
        assert_int_equal(PEM_write_bio_PKCS8PrivateKey(b, pkey, EVP_aes_128_cbc(), pp->text,
                                                       (int)pp->len, NULL, NULL),
                         1);
    else
        assert_int_equal(PEM_write_bio_PKCS8PrivateKey(b, pkey, NULL, NULL, 0, NULL, NULL), 1);
    BIO_free(b);
    b = BIO_new_file(pub, "w");
    assert_non_null(b);
    assert_int_equal(PEM_write_bio_PUBKEY(b, pkey), 1);
    BIO_free(b);
}

static void test_unsupported_key_types(void **state)
{
    const char *priv = path_of("other.key"), *pub = path_of("other.pub");
    fws_passphrase pp;
    fws_key *k = NULL;
    fws_errbuf eb = {{0}};
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    (void)state;

    make_pp(&pp, "pw");
    assert_non_null(rsa);
    assert_non_null(p384);
    openssl_write(rsa, priv, pub, &pp);
    expect_err(fws_key_load_private(priv, &pp, &k, &eb), &eb, FWS_ERR_KEY_TYPE, "RSA");
    expect_err(fws_key_load_public(pub, &k, &eb), &eb, FWS_ERR_KEY_TYPE, "RSA");
    openssl_write(p384, priv, pub, &pp);
    expect_err(fws_key_load_private(priv, &pp, &k, &eb), &eb, FWS_ERR_KEY_TYPE, "secp384r1");
    expect_err(fws_key_load_public(pub, &k, &eb), &eb, FWS_ERR_KEY_TYPE, "secp384r1");
    {
        char *pem = NULL;
        size_t len = 0;
        FILE *f = fopen(pub, "rb");
        assert_non_null(f);
        pem = calloc(1, 4096);
        len = fread(pem, 1, 4095, f);
        fclose(f);
        expect_err(fws_key_from_public_pem(pem, len, &k, &eb), &eb, FWS_ERR_KEY_TYPE,
                   "not supported");
        free(pem);
    }
    assert_null(k);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(p384);
}

/* Keys written by OpenSSL: an unencrypted PKCS#8 loads without a passphrase; an encrypted one
 * with OpenSSL's own defaults (AES-128, 2048 iterations) loads with it. */
static void test_openssl_written_keys(void **state)
{
    const char *priv = path_of("plain.key"), *pub = path_of("plain.pub");
    fws_passphrase pp;
    fws_key *k = NULL, *p = NULL;
    fws_errbuf eb = {{0}};
    char id[FWS_KEYID_LEN], id2[FWS_KEYID_LEN];
    int is_private = 0;
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    (void)state;

    assert_non_null(ed);
    openssl_write(ed, priv, pub, NULL);
    assert_int_equal(fws_key_file_kind(priv, &is_private, &eb), FWS_OK);
    assert_int_equal(is_private, 1);
    assert_int_equal(fws_key_load_private(priv, NULL, &k, &eb), FWS_OK);
    assert_int_equal(fws_key_load_public(pub, &p, &eb), FWS_OK);
    fws_key_id(k, id);
    fws_key_id(p, id2);
    assert_string_equal(id, id2);
    fws_key_free(k);
    fws_key_free(p);

    make_pp(&pp, "openssl-pw");
    openssl_write(ed, priv, pub, &pp);
    assert_int_equal(fws_key_load_private(priv, &pp, &k, &eb), FWS_OK);
    fws_key_id(k, id2);
    assert_string_equal(id, id2);
    fws_key_free(k);
    EVP_PKEY_free(ed);
}

static void test_save_refusals(void **state)
{
    fws_passphrase pp;
    fws_key *k = NULL, *pub = NULL;
    fws_errbuf eb = {{0}};
    struct stat st;
    (void)state;

    assert_int_equal(fws_key_generate(FWS_KEY_ED25519, &k), FWS_OK);
    make_pp(&pp, "");
    expect_err(fws_key_save_private(k, path_of("e.key"), &pp, 0, &eb), &eb, FWS_ERR_PASSPHRASE,
               "empty");
    expect_err(fws_key_save_private(k, path_of("e.key"), NULL, 0, &eb), &eb, FWS_ERR_PASSPHRASE,
               "empty");
    assert_int_not_equal(stat(path_of("e.key"), &st), 0);
    assert_int_equal(fws_key_public_dup(k, &pub), FWS_OK);
    make_pp(&pp, "pw");
    expect_err(fws_key_save_private(pub, path_of("e.key"), &pp, 0, &eb), &eb, FWS_ERR_ARG,
               "no private half");
    expect_err(fws_key_save_private(k, path_of("no/such/dir/e.key"), &pp, 0, &eb), &eb, FWS_ERR_IO,
               "no/such/dir");
    fws_key_free(k);
    fws_key_free(pub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_ed25519),
        cmocka_unit_test(test_round_trip_p256),
        cmocka_unit_test(test_pbes2_parameters),
        cmocka_unit_test(test_known_key_id),
        cmocka_unit_test(test_public_pem_memory),
        cmocka_unit_test(test_wrong_passphrase),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_unsupported_key_types),
        cmocka_unit_test(test_openssl_written_keys),
        cmocka_unit_test(test_save_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
