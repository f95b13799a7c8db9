/* SHA-256 and SHA-512 as core hash providers, on OpenSSL's low-level digest functions.
 *
 * OPENSSL_SUPPRESS_DEPRECATED: OpenSSL 3.0 deprecates SHA256_Init/Update/Final in favour of
 * EVP_MD_CTX. We use them on purpose: their state is a plain struct (SHA256_CTX, SHA512_CTX)
 * with no interior pointers and no allocation, so it can live inside the caller's
 * FWS_HASH_STATE_MAX buffer in a core context, while EVP_MD_CTX is heap-allocated and opaque.
 * Both paths run the same assembly (SHA-NI / AVX2 block functions chosen at start-up), so
 * nothing is lost in speed. The define must precede every include. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/sha.h>
#include "fwseal/crypto.h"

_Static_assert(sizeof(SHA256_CTX) <= FWS_HASH_STATE_MAX, "SHA256_CTX must fit FWS_HASH_STATE_MAX");
_Static_assert(sizeof(SHA512_CTX) <= FWS_HASH_STATE_MAX, "SHA512_CTX must fit FWS_HASH_STATE_MAX");
_Static_assert(_Alignof(SHA256_CTX) <= 16 && _Alignof(SHA512_CTX) <= 16,
               "hash states must fit the 16-byte alignment of the state buffers");
_Static_assert(SHA256_DIGEST_LENGTH == FWS_SHA256_LEN, "SHA-256 digest length");
_Static_assert(SHA512_DIGEST_LENGTH == FWS_SHA512_LEN, "SHA-512 digest length");

/* The low-level functions cannot fail on valid state: they only return 1. */

static void sha256_ops_init(void *state)
{
    SHA256_Init(state);
}

static void sha256_ops_update(void *state, const uint8_t *data, size_t len)
{
    SHA256_Update(state, data, len);
}

static void sha256_ops_final(void *state, uint8_t *digest)
{
    SHA256_Final(digest, state);
    fws_wipe(state, sizeof(SHA256_CTX));
}

static void sha512_ops_init(void *state)
{
    SHA512_Init(state);
}

static void sha512_ops_update(void *state, const uint8_t *data, size_t len)
{
    SHA512_Update(state, data, len);
}

static void sha512_ops_final(void *state, uint8_t *digest)
{
    SHA512_Final(digest, state);
    fws_wipe(state, sizeof(SHA512_CTX));
}

const fws_hash_ops fws_sha256_ops = {
    .state_size = sizeof(SHA256_CTX),
    .digest_len = FWS_SHA256_LEN,
    .init = sha256_ops_init,
    .update = sha256_ops_update,
    .final = sha256_ops_final,
};

const fws_hash_ops fws_sha512_ops = {
    .state_size = sizeof(SHA512_CTX),
    .digest_len = FWS_SHA512_LEN,
    .init = sha512_ops_init,
    .update = sha512_ops_update,
    .final = sha512_ops_final,
};

void fws_sha256_init(fws_sha256_ctx *c)
{
    sha256_ops_init(c->state);
}

void fws_sha256_update(fws_sha256_ctx *c, const void *data, size_t len)
{
    if (len > 0)
        sha256_ops_update(c->state, data, len);
}

void fws_sha256_final(fws_sha256_ctx *c, uint8_t out[FWS_SHA256_LEN])
{
    sha256_ops_final(c->state, out);
}

void fws_sha256(const void *data, size_t len, uint8_t out[FWS_SHA256_LEN])
{
    fws_sha256_ctx c;
    fws_sha256_init(&c);
    fws_sha256_update(&c, data, len);
    fws_sha256_final(&c, out);
}

void fws_sha512_init(fws_sha512_ctx *c)
{
    sha512_ops_init(c->state);
}

void fws_sha512_update(fws_sha512_ctx *c, const void *data, size_t len)
{
    if (len > 0)
        sha512_ops_update(c->state, data, len);
}

void fws_sha512_final(fws_sha512_ctx *c, uint8_t out[FWS_SHA512_LEN])
{
    sha512_ops_final(c->state, out);
}

void fws_sha512(const void *data, size_t len, uint8_t out[FWS_SHA512_LEN])
{
    fws_sha512_ctx c;
    fws_sha512_init(&c);
    fws_sha512_update(&c, data, len);
    fws_sha512_final(&c, out);
}
