/* Streaming image verification: exact length, then SHA-256 compared in constant time. */
#include <stddef.h>
#include <stdint.h>
#include "fwseal/core.h"

_Static_assert(sizeof(fws_image_verifier) <= 4096, "a verifier must fit in 4 KiB of state");

enum {
    VERIFIER_UNUSED = 0,
    VERIFIER_RUNNING = 1,
    VERIFIER_FAILED = 2,
    VERIFIER_FINISHED = 3,
};

static int ops_fit(const fws_hash_ops *ops)
{
    return ops != NULL && ops->init != NULL && ops->update != NULL && ops->final != NULL &&
           ops->state_size > 0 && ops->state_size <= FWS_HASH_STATE_MAX &&
           ops->digest_len == FWS_SHA256_LEN;
}

/* Clears the whole context and leaves it in the given terminal state. */
static void verifier_stop(fws_image_verifier *v, uint32_t state)
{
    fws_wipe(v->hash_state, sizeof v->hash_state);
    v->state = state;
}

/* Returns err after leaving the verifier failed for good. */
static fws_err verifier_fail(fws_image_verifier *v, fws_err err)
{
    verifier_stop(v, VERIFIER_FAILED);
    return err;
}

fws_err fws_image_verify_init(fws_image_verifier *v, const fws_hash_ops *ops, uint64_t expected_len,
                              const uint8_t expected_sha256[FWS_SHA256_LEN])
{
    if (v == NULL)
        return FWS_ERR_ARG;
    fws_wipe(v, sizeof *v);
    if (!ops_fit(ops) || expected_sha256 == NULL)
        return verifier_fail(v, FWS_ERR_ARG);
    for (size_t i = 0; i < FWS_SHA256_LEN; i++)
        v->expected_sha256[i] = expected_sha256[i];
    v->expected_len = expected_len;
    v->seen = 0;
    v->ops = ops;
    ops->init(v->hash_state);
    v->state = VERIFIER_RUNNING;
    return FWS_OK;
}

fws_err fws_image_verify_update(fws_image_verifier *v, const uint8_t *data, size_t len)
{
    if (v == NULL)
        return FWS_ERR_ARG;
    if (v->state != VERIFIER_RUNNING)
        return FWS_ERR_STATE;
    if (data == NULL && len > 0)
        return verifier_fail(v, FWS_ERR_ARG);
    /* seen <= expected_len holds while running; checking it first keeps a context restored
     * from damaged storage from wrapping the subtraction. */
    if (v->seen > v->expected_len || (uint64_t)len > v->expected_len - v->seen)
        return verifier_fail(v, FWS_ERR_LENGTH);
    if (len > 0)
        v->ops->update(v->hash_state, data, len);
    v->seen += (uint64_t)len;
    return FWS_OK;
}

fws_err fws_image_verify_final(fws_image_verifier *v, uint8_t *digest_out)
{
    uint8_t computed[FWS_SHA256_LEN];

    if (v == NULL)
        return FWS_ERR_ARG;
    if (v->state != VERIFIER_RUNNING)
        return FWS_ERR_STATE;
    if (v->seen != v->expected_len)
        return verifier_fail(v, FWS_ERR_LENGTH);
    v->ops->final(v->hash_state, computed);
    if (digest_out != NULL) {
        for (size_t i = 0; i < FWS_SHA256_LEN; i++)
            digest_out[i] = computed[i];
    }
    if (!fws_ct_eq(computed, v->expected_sha256, FWS_SHA256_LEN))
        return verifier_fail(v, FWS_ERR_DIGEST);
    verifier_stop(v, VERIFIER_FINISHED);
    return FWS_OK;
}
