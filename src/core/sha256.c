/* A portable SHA-256 (FIPS 180-4) for the freestanding core.
 *
 * The state is a plain struct of bytes with an explicit layout: the chaining value as eight
 * big-endian words, the message length in bytes as a big-endian 64-bit number, the partial
 * block and its fill level. Only byte lvalues touch it, so it can live in any caller buffer
 * (such as fws_image_verifier.hash_state) whatever its alignment or declared type, and it
 * means the same thing on every platform when it is copied or stored byte for byte. Words are
 * loaded into locals once per update and stored back once, so the layout costs little.
 *
 * The message length is kept in bytes; FIPS 180-4 limits a message to 2^64 - 1 bits, which is
 * far beyond anything the core hashes.
 *
 * final wipes the state and its own copy of the chaining value. The per-block message schedule
 * on the stack is not wiped: the core hashes public data (images, log leaves), and wiping 256
 * bytes per block would cost a microcontroller a large share of its throughput.
 */
#include <stddef.h>
#include <stdint.h>
#include "fwseal/core.h"

#define SHA256_BLOCK 64

typedef struct sha256_state {
    uint8_t h[32];             /* H0..H7, big-endian */
    uint8_t total[8];          /* bytes hashed so far, big-endian */
    uint8_t buf[SHA256_BLOCK]; /* the partial block */
    uint8_t buf_len;           /* 0..63 bytes in buf */
} sha256_state;

_Static_assert(sizeof(sha256_state) <= FWS_HASH_STATE_MAX,
               "portable SHA-256 state must fit FWS_HASH_STATE_MAX");
_Static_assert(sizeof(sha256_state) == 105, "portable SHA-256 state layout is fixed");

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t H0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/* ---- fixed-endian helpers ------------------------------------------------------------------ */

static uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint64_t load_be64(const uint8_t *p)
{
    return ((uint64_t)load_be32(p) << 32) | load_be32(p + 4);
}

static void store_be64(uint8_t *p, uint64_t v)
{
    store_be32(p, (uint32_t)(v >> 32));
    store_be32(p + 4, (uint32_t)v);
}

static void load_h(uint32_t h[8], const sha256_state *st)
{
    for (int i = 0; i < 8; i++)
        h[i] = load_be32(st->h + 4 * i);
}

static void store_h(sha256_state *st, const uint32_t h[8])
{
    for (int i = 0; i < 8; i++)
        store_be32(st->h + 4 * i, h[i]);
}

/* ---- the compression function (FIPS 180-4 section 6.2.2) ------------------------------------ */

static uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32u - n));
}

static void compress(uint32_t h[8], const uint8_t block[SHA256_BLOCK])
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = load_be32(block + 4 * t);
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    uint32_t e = h[4], f = h[5], g = h[6], k = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 =
            k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
}

/* ---- the provider table ------------------------------------------------------------------- */

static void sha256_init(void *state)
{
    sha256_state *st = state;
    fws_wipe(st, sizeof *st);
    store_h(st, H0);
}

static void sha256_update(void *state, const uint8_t *data, size_t len)
{
    sha256_state *st = state;
    uint32_t h[8];
    size_t fill = st->buf_len;

    if (len == 0)
        return;
    store_be64(st->total, load_be64(st->total) + (uint64_t)len);
    load_h(h, st);
    if (fill > 0) {
        while (fill < SHA256_BLOCK && len > 0) {
            st->buf[fill++] = *data++;
            len--;
        }
        if (fill == SHA256_BLOCK) {
            compress(h, st->buf);
            fill = 0;
        }
    }
    for (; len >= SHA256_BLOCK; len -= SHA256_BLOCK, data += SHA256_BLOCK)
        compress(h, data);
    while (len > 0) {
        st->buf[fill++] = *data++;
        len--;
    }
    st->buf_len = (uint8_t)fill;
    store_h(st, h);
}

static void sha256_final(void *state, uint8_t *digest)
{
    sha256_state *st = state;
    uint32_t h[8];
    size_t fill = st->buf_len;
    uint64_t bits = load_be64(st->total) << 3;

    load_h(h, st);
    st->buf[fill++] = 0x80;
    if (fill > SHA256_BLOCK - 8) {
        while (fill < SHA256_BLOCK)
            st->buf[fill++] = 0;
        compress(h, st->buf);
        fill = 0;
    }
    while (fill < SHA256_BLOCK - 8)
        st->buf[fill++] = 0;
    store_be64(st->buf + SHA256_BLOCK - 8, bits);
    compress(h, st->buf);
    for (int i = 0; i < 8; i++)
        store_be32(digest + 4 * i, h[i]);
    fws_wipe(h, sizeof h);
    fws_wipe(st, sizeof *st);
}

const fws_hash_ops fws_sha256_portable_ops = {
    .state_size = sizeof(sha256_state),
    .digest_len = FWS_SHA256_LEN,
    .init = sha256_init,
    .update = sha256_update,
    .final = sha256_final,
};
