/* The freestanding verifier core.
 *
 * No heap, no I/O, no OpenSSL types: everything here builds with -ffreestanding so the same code
 * can run on a microcontroller. Callers own every context; contexts are plain structs with no
 * interior pointers (they may be copied or stored byte for byte). Cryptography reaches the core
 * through small tables of function pointers (fws_hash_ops, fws_sig_ops).
 */
#ifndef FWSEAL_CORE_H
#define FWSEAL_CORE_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FWS_SHA256_LEN 32
#define FWS_SHA512_LEN 64

/* ---- constant time and wiping ---------------------------------------------------------- */

/* 1 when the n bytes at a and b are equal, 0 otherwise; time depends only on n.
 * The one helper through which fwseal compares digests, MACs and tokens. */
int fws_ct_eq(const void *a, const void *b, size_t n);

/* Overwrites n bytes at p with zeros in a way the compiler cannot elide. */
void fws_wipe(void *p, size_t n);

/* ---- hashing through a provider table ---------------------------------------------------- */

/* Room reserved inside core contexts for a provider's hash state. A provider's state must fit
 * (checked at init) and must be a plain struct that can live in this buffer. */
#define FWS_HASH_STATE_MAX 224
/* Longest digest a provider may produce (fws_hash_buf refuses providers claiming more). */
#define FWS_HASH_DIGEST_MAX FWS_SHA512_LEN

typedef struct fws_hash_ops {
    size_t state_size; /* bytes of state the provider needs (<= FWS_HASH_STATE_MAX) */
    size_t digest_len; /* 32 for SHA-256 */
    void (*init)(void *state);
    void (*update)(void *state, const uint8_t *data, size_t len);
    void (*final)(void *state, uint8_t *digest);
} fws_hash_ops;

/* A portable, freestanding SHA-256 (FIPS 180-4) for platforms with no better provider. Its state
 * is bytes only with a fixed big-endian layout, so it may live in any buffer of state_size bytes
 * (no alignment needed) and be stored byte for byte. final wipes the state. */
extern const fws_hash_ops fws_sha256_portable_ops;

/* One-shot helper over any provider: writes ops->digest_len bytes to digest. FWS_ERR_ARG when
 * ops is NULL, incomplete, needs more than FWS_HASH_STATE_MAX bytes of state or claims a digest
 * longer than FWS_HASH_DIGEST_MAX, when digest is NULL, or when data is NULL with len > 0. */
fws_err fws_hash_buf(const fws_hash_ops *ops, const uint8_t *data, size_t len,
                     uint8_t *digest) FWS_MUST_CHECK;

/* ---- signatures through a provider table ------------------------------------------------- */

typedef enum fws_sig_alg {
    FWS_SIG_ED25519 = 1,    /* pubkey: 32 raw bytes; sig: 64 bytes */
    FWS_SIG_ECDSA_P256 = 2, /* pubkey: 65-byte uncompressed point; sig: DER, SHA-256 */
} fws_sig_alg;

typedef struct fws_sig_ops {
    /* Returns FWS_OK when sig is a valid signature of msg under pub, FWS_ERR_SIGNATURE when it is
     * not, another code on malformed keys or provider failure. Must not keep pointers. */
    fws_err (*verify)(fws_sig_alg alg, const uint8_t *pub, size_t pub_len, const uint8_t *msg,
                      size_t msg_len, const uint8_t *sig, size_t sig_len);
} fws_sig_ops;

/* ---- streaming image verification -------------------------------------------------------- */

typedef struct fws_image_verifier {
    _Alignas(16) uint8_t hash_state[FWS_HASH_STATE_MAX];
    uint8_t expected_sha256[FWS_SHA256_LEN];
    uint64_t expected_len;
    uint64_t seen;
    const fws_hash_ops *ops; /* points at a static provider table, never into this struct */
    uint32_t state;          /* internal: 0 unused, 1 running, 2 failed, 3 finished */
} fws_image_verifier;

/* Starts verifying an image that must be exactly expected_len bytes with the given SHA-256.
 * Any previous content of *v is discarded. FWS_ERR_ARG when v or expected_sha256 is NULL, or ops
 * is NULL, incomplete, needs more than FWS_HASH_STATE_MAX bytes of state or does not produce a
 * 32-byte digest; a non-NULL v is then left failed, so later calls return FWS_ERR_STATE. */
fws_err fws_image_verify_init(fws_image_verifier *v, const fws_hash_ops *ops, uint64_t expected_len,
                              const uint8_t expected_sha256[FWS_SHA256_LEN]) FWS_MUST_CHECK;

/* Feeds bytes. Returns FWS_ERR_LENGTH as soon as more bytes arrive than expected (endless data);
 * after any error the verifier stays failed. FWS_ERR_STATE when the verifier is not running
 * (never initialised, failed or finished). data may be NULL only when len is 0. */
fws_err fws_image_verify_update(fws_image_verifier *v, const uint8_t *data,
                                size_t len) FWS_MUST_CHECK;

/* Checks the length, then the digest in constant time. FWS_OK only when both match.
 * If digest_out is not NULL it receives the computed digest (also on a digest mismatch, but not
 * on a length mismatch, where no digest is computed). Returns FWS_ERR_LENGTH when fewer bytes
 * than expected arrived, FWS_ERR_DIGEST on a mismatch, FWS_ERR_STATE when the verifier is not
 * running. The hash state is wiped; afterwards every call but init returns FWS_ERR_STATE. */
fws_err fws_image_verify_final(fws_image_verifier *v, uint8_t *digest_out) FWS_MUST_CHECK;

/* ---- target policy and anti-rollback ----------------------------------------------------- */

#define FWS_POLICY_MAX_LIST 32 /* most hardware models or regions a target may name */
#define FWS_POLICY_MAX_NAME 64 /* longest hardware model or region name, in bytes */

/* What a signed target claims (already authenticated by the caller, e.g. from TUF custom). */
typedef struct fws_target_claims {
    const char *const *hardware; /* models this image is built for; n_hardware >= 1 */
    size_t n_hardware;
    const char *const *regions; /* regions it may be installed in; n_regions == 0 means any */
    size_t n_regions;
    uint64_t security_counter;
    int64_t expires; /* seconds since the epoch; the metadata's expiry */
} fws_target_claims;

/* Anti-rollback counter storage, read and written through callbacks. */
typedef struct fws_counter_store {
    fws_err (*read)(void *ctx, uint64_t *value);
    fws_err (*write)(void *ctx, uint64_t value);
    void *ctx;
} fws_counter_store;

/* What the device knows about itself. */
typedef struct fws_device_facts {
    const char *hardware; /* this device's model */
    const char *region;   /* this device's region, or NULL when it has none */
    int64_t trusted_time; /* seconds since the epoch, from a trusted source */
    const fws_counter_store *counter;
} fws_device_facts;

/* Checks, in this order: expiry (trusted_time < expires), hardware model, region, and security
 * counter not lower than the stored one. Returns the first failing check's code
 * (FWS_ERR_EXPIRED, FWS_ERR_HARDWARE, FWS_ERR_REGION, FWS_ERR_ROLLBACK). The counter is read
 * only when the earlier checks pass; a read error is returned as is.
 * Names compare exactly, byte for byte, reading at most FWS_POLICY_MAX_NAME + 1 bytes of each;
 * a claimed name longer than FWS_POLICY_MAX_NAME matches nothing. When the target names
 * regions, a device without a region fails with FWS_ERR_REGION.
 * FWS_ERR_ARG (before any check) when: target, device, device->counter or its read callback is
 * NULL; n_hardware is not 1..FWS_POLICY_MAX_LIST or n_regions not 0..FWS_POLICY_MAX_LIST; a
 * list or one of its entries is NULL; device->hardware is NULL, empty or longer than
 * FWS_POLICY_MAX_NAME; device->region is not NULL and empty or longer than that. */
fws_err fws_policy_check(const fws_target_claims *target,
                         const fws_device_facts *device) FWS_MUST_CHECK;

/* Raises the stored counter to value (never lowers it). Called only after an install is
 * confirmed. Returns FWS_ERR_ROLLBACK if value is lower than the stored counter; writes nothing
 * when it is equal. Read and write errors are returned as is. FWS_ERR_ARG when store or one of
 * its callbacks is NULL. */
fws_err fws_counter_raise(const fws_counter_store *store, uint64_t value) FWS_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
