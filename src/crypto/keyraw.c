/* Raw key bytes: the forms the core's fws_sig_ops and the test vectors use.
 * Ed25519: 32-byte public key, 32-byte seed. P-256: 65-byte uncompressed point 04||X||Y,
 * 32-byte big-endian private scalar. */
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include "internal.h"

#define ED25519_RAW_LEN 32
#define P256_COORD_LEN 32
#define P256_POINT_LEN 65
#define P256_SCALAR_LEN 32

static char p256_group_name[] = "prime256v1";

static fws_err p256_raw_public(const EVP_PKEY *pkey, uint8_t out[P256_POINT_LEN])
{
    BIGNUM *x = NULL, *y = NULL;
    fws_err err = FWS_ERR_CRYPTO;

    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1)
        goto out;
    out[0] = 0x04;
    if (BN_bn2binpad(x, out + 1, P256_COORD_LEN) != P256_COORD_LEN ||
        BN_bn2binpad(y, out + 1 + P256_COORD_LEN, P256_COORD_LEN) != P256_COORD_LEN)
        goto out;
    err = FWS_OK;
out:
    BN_free(x);
    BN_free(y);
    if (err != FWS_OK)
        ERR_clear_error();
    return err;
}

fws_err fws_key_raw_public(const fws_key *k, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t buf[FWS_PUBKEY_MAX];
    size_t n = ED25519_RAW_LEN;

    if (k == NULL || out == NULL || len == NULL)
        return FWS_ERR_ARG;
    if (k->type == FWS_KEY_ED25519) {
        if (EVP_PKEY_get_raw_public_key(k->pkey, buf, &n) != 1 || n != ED25519_RAW_LEN) {
            ERR_clear_error();
            return FWS_ERR_CRYPTO;
        }
    } else {
        fws_err err = p256_raw_public(k->pkey, buf);
        if (err != FWS_OK)
            return err;
        n = P256_POINT_LEN;
    }
    if (n > cap)
        return FWS_ERR_TOO_BIG;
    memcpy(out, buf, n);
    *len = n;
    return FWS_OK;
}

/* Builds a P-256 key from an uncompressed point and, when priv_native is not NULL, the private
 * scalar in native byte order (as OSSL_PARAM_BN wants it). */
static fws_err p256_fromdata(const uint8_t pub[P256_POINT_LEN], uint8_t *priv_native,
                             EVP_PKEY **out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM params[4];
    size_t n = 0;
    fws_err err = FWS_ERR_FORMAT;

    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, p256_group_name, 0);
    params[n++] =
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, P256_POINT_LEN);
    if (priv_native != NULL)
        params[n++] =
            OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, priv_native, P256_SCALAR_LEN);
    params[n] = OSSL_PARAM_construct_end();
    if (ctx == NULL) {
        err = FWS_ERR_CRYPTO;
        goto out;
    }
    /* Decoding the point checks that it lies on the curve. */
    if (EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, priv_native != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                          params) != 1)
        goto out;
    *out = pkey;
    err = FWS_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    if (err != FWS_OK)
        ERR_clear_error();
    return err;
}

/* The y coordinates (little-endian, sign bit cleared) of the 8 points of small order on
 * edwards25519, plus y = p and y = p + 1, non-canonical encodings of y = 0 and y = 1. Such a
 * public key lets one signature verify for many messages (RFC 8032 verification is
 * cofactorless), so fwseal refuses them, whichever sign bit they carry. No honestly made key
 * is among them. */
static const uint8_t ed25519_small_order_y[][32] = {
    {0x00}, /* y = 0: order 4 */
    {0x01}, /* y = 1: the identity */
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
     0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
     0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
     0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
     0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

int crypto_ed25519_small_order(const uint8_t pub[32])
{
    uint8_t y[32];
    int found = 0;

    memcpy(y, pub, sizeof(y));
    y[31] &= 0x7f;
    for (size_t i = 0; i < sizeof(ed25519_small_order_y) / sizeof(ed25519_small_order_y[0]); i++)
        found |= memcmp(y, ed25519_small_order_y[i], sizeof(y)) == 0;
    return found;
}

fws_err crypto_pkey_from_raw_public(fws_key_type type, const uint8_t *raw, size_t len,
                                    EVP_PKEY **out)
{
    if (raw == NULL || out == NULL)
        return FWS_ERR_ARG;
    if (type == FWS_KEY_ED25519) {
        EVP_PKEY *pkey;
        if (len != ED25519_RAW_LEN)
            return FWS_ERR_KEY_TYPE;
        if (crypto_ed25519_small_order(raw))
            return FWS_ERR_FORMAT;
        pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, raw, len);
        if (pkey == NULL) {
            ERR_clear_error();
            return FWS_ERR_FORMAT;
        }
        *out = pkey;
        return FWS_OK;
    }
    if (type != FWS_KEY_P256 || len != P256_POINT_LEN)
        return FWS_ERR_KEY_TYPE;
    if (raw[0] != 0x04)
        return FWS_ERR_FORMAT; /* only the uncompressed form is accepted */
    return p256_fromdata(raw, NULL, out);
}

fws_err fws_key_from_raw_public(fws_key_type type, const uint8_t *raw, size_t len, fws_key **out)
{
    EVP_PKEY *pkey = NULL;
    fws_err err;

    if (out == NULL)
        return FWS_ERR_ARG;
    err = crypto_pkey_from_raw_public(type, raw, len, &pkey);
    if (err != FWS_OK)
        return err;
    return crypto_key_wrap(pkey, 0, out, NULL);
}

/* pub = d*G as an uncompressed point; FWS_ERR_FORMAT unless 0 < d < n. */
static fws_err p256_public_from_scalar(const BIGNUM *d, uint8_t pub[P256_POINT_LEN])
{
    EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *point = NULL;
    fws_err err = FWS_ERR_CRYPTO;

    if (group == NULL)
        goto out;
    if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(group)) >= 0) {
        err = FWS_ERR_FORMAT;
        goto out;
    }
    point = EC_POINT_new(group);
    if (point == NULL || EC_POINT_mul(group, point, d, NULL, NULL, NULL) != 1)
        goto out;
    if (EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, pub, P256_POINT_LEN,
                           NULL) != P256_POINT_LEN)
        goto out;
    err = FWS_OK;
out:
    EC_POINT_free(point);
    EC_GROUP_free(group);
    return err;
}

static fws_err p256_from_raw_private(const uint8_t *raw, EVP_PKEY **out)
{
    uint8_t pub[P256_POINT_LEN];
    uint8_t native[P256_SCALAR_LEN];
    BIGNUM *d = BN_secure_new();
    fws_err err = FWS_ERR_CRYPTO;

    if (d == NULL || BN_bin2bn(raw, P256_SCALAR_LEN, d) == NULL)
        goto out;
    err = p256_public_from_scalar(d, pub);
    if (err != FWS_OK)
        goto out;
    err = FWS_ERR_CRYPTO;
    if (BN_bn2nativepad(d, native, sizeof(native)) != (int)sizeof(native))
        goto out;
    err = p256_fromdata(pub, native, out);
out:
    fws_wipe(native, sizeof(native));
    BN_clear_free(d);
    if (err != FWS_OK)
        ERR_clear_error();
    return err;
}

fws_err fws_key_from_raw_private(fws_key_type type, const uint8_t *raw, size_t len, fws_key **out)
{
    EVP_PKEY *pkey = NULL;
    fws_err err;

    if (raw == NULL || out == NULL)
        return FWS_ERR_ARG;
    if (type == FWS_KEY_ED25519) {
        if (len != ED25519_RAW_LEN)
            return FWS_ERR_KEY_TYPE;
        pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, raw, len);
        if (pkey == NULL) {
            ERR_clear_error();
            return FWS_ERR_CRYPTO;
        }
    } else if (type == FWS_KEY_P256) {
        if (len != P256_SCALAR_LEN)
            return FWS_ERR_KEY_TYPE;
        err = p256_from_raw_private(raw, &pkey);
        if (err != FWS_OK)
            return err;
    } else {
        return FWS_ERR_KEY_TYPE;
    }
    return crypto_key_wrap(pkey, 1, out, NULL);
}
