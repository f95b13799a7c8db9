/* The fleet audit's hot path: one device report. The DSSE envelope
 * is parsed strictly (fws_dsse_parse), a signature's key ID must be the SHA-256 of one of the
 * device's certified keys, and the signature is checked over SHA-256 of the PAE with OpenSSL's EC
 * primitives on a shared group, which is several times cheaper per report than building a
 * provider key for each one. The low-level EC API is deprecated in OpenSSL 3.0 headers (like
 * the SHA-256 context the crypto module uses), hence the define below; it is used nowhere else. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <string.h>
#include "audit/fleet.h"
#include "fwseal/crypto.h"
#include "fwseal/dsse.h"

#define PAYLOAD_TYPE "application/vnd.fwseal.report+json"
#define PAYLOAD_MAX 16384

/* One EC_KEY per thread on the shared group: a report only sets its public point. */
static EC_GROUP *p256;
static pthread_key_t key_slot;
static pthread_once_t p256_once = PTHREAD_ONCE_INIT;

static void free_key(void *k)
{
    EC_KEY_free(k);
}

static void p256_init(void)
{
    p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    if (pthread_key_create(&key_slot, free_key) != 0) {
        EC_GROUP_free(p256);
        p256 = NULL;
    }
}

static EC_KEY *thread_key(void)
{
    pthread_once(&p256_once, p256_init);
    if (p256 == NULL)
        return NULL;
    EC_KEY *k = pthread_getspecific(key_slot);
    if (k != NULL)
        return k;
    k = EC_KEY_new();
    if (k == NULL || EC_KEY_set_group(k, p256) != 1 || pthread_setspecific(key_slot, k) != 0) {
        EC_KEY_free(k);
        return NULL;
    }
    return k;
}

static int verify_p256(const uint8_t pub[65], const uint8_t digest[32], const uint8_t *sig,
                       size_t sig_len)
{
    int ok = 0;
    EC_KEY *k = thread_key();
    EC_POINT *pt = k != NULL ? EC_POINT_new(p256) : NULL;
    if (pt != NULL && EC_POINT_oct2point(p256, pt, pub, 65, NULL) == 1 &&
        EC_KEY_set_public_key(k, pt) == 1)
        ok = ECDSA_verify(0, digest, 32, sig, (int)sig_len, k) == 1;
    EC_POINT_free(pt);
    return ok;
}

static int verify_ed25519(const uint8_t pub[32], const uint8_t *msg, size_t len, const uint8_t *sig,
                          size_t sig_len)
{
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *c = k != NULL ? EVP_MD_CTX_new() : NULL;
    int ok = c != NULL && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestVerify(c, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return ok;
}

/* The PAE: "DSSEv1 <len(type)> <type> <len(body)> <body>". */
static size_t pae(const uint8_t *payload, size_t len, uint8_t *out, size_t cap)
{
    int n =
        snprintf((char *)out, cap, "DSSEv1 %zu %s %zu ", strlen(PAYLOAD_TYPE), PAYLOAD_TYPE, len);
    if (n < 0 || (size_t)n + len > cap)
        return 0;
    memcpy(out + n, payload, len);
    return (size_t)n + len;
}

/* Checks one report envelope; on success payload (PAYLOAD_MAX bytes) holds the signed payload. */
/* One signature against one certified key, through the cache when there is one. */
static int check_sig(const au_cert *c, au_vcache *vc, const uint8_t body_sha256[32],
                     const uint8_t digest[32], const uint8_t *msg, size_t mlen,
                     const fws_dsse_sig *sig)
{
    uint8_t tag[AU_TAG_LEN];
    if (vc != NULL) {
        au_vcache_tag(vc, c->spki_sha256, body_sha256, tag);
        if (au_vcache_hit(vc, tag))
            return 1;
    }
    int ok = c->pub_type == FWS_KEY_P256
                 ? verify_p256(c->pub, digest, sig->sig, sig->sig_len)
                 : verify_ed25519(c->pub, msg, mlen, sig->sig, sig->sig_len);
    if (ok && vc != NULL)
        au_vcache_add(vc, tag);
    return ok;
}

au_check au_report_check(const au_job *j, au_vcache *vc, uint8_t *payload, size_t *payload_len)
{
    static _Thread_local uint8_t msg[PAYLOAD_MAX + 128];
    static _Thread_local fws_dsse_envelope env;
    uint8_t keyid[32], digest[32], body_sha256[32];
    size_t n = 0;
    au_check res = AU_REPORT_BAD_SIGNATURE;
    memset(&env, 0, sizeof(env));
    if (fws_dsse_parse(j->body, j->len, &env, NULL) != FWS_OK ||
        strcmp(env.payload_type, PAYLOAD_TYPE) != 0 || env.n_sigs == 0 ||
        env.payload_len > PAYLOAD_MAX) {
        fws_dsse_envelope_free(&env);
        return AU_REPORT_MALFORMED;
    }
    size_t mlen = pae(env.unverified_payload, env.payload_len, msg, sizeof(msg));
    fws_sha256(msg, mlen, digest);
    if (vc != NULL)
        fws_sha256(j->body, j->len, body_sha256);
    for (size_t s = 0; s < env.n_sigs && res != AU_REPORT_OK; s++) {
        const fws_dsse_sig *sig = &env.sigs[s];
        int have_id = sig->keyid[0] != '\0';
        if (have_id &&
            (strlen(sig->keyid) != 64 || fws_hex_decode(sig->keyid, 64, keyid, 32, &n) != FWS_OK))
            continue;
        for (size_t i = 0; i < j->n_certs && res != AU_REPORT_OK; i++) {
            const au_cert *c = &j->certs[i];
            if (c->pub_type == 0 || (have_id && !fws_ct_eq(keyid, c->spki_sha256, 32)))
                continue;
            if (check_sig(c, vc, body_sha256, digest, msg, mlen, sig))
                res = AU_REPORT_OK;
        }
    }
    if (res == AU_REPORT_OK) {
        memcpy(payload, env.unverified_payload, env.payload_len);
        *payload_len = env.payload_len;
    } else if (j->n_certs == 0) {
        res = AU_REPORT_NO_KEY;
    }
    fws_dsse_envelope_free(&env);
    return res;
}
