/* One-shot hashing over any provider table. */
#include <stddef.h>
#include <stdint.h>
#include "fwseal/core.h"

static int ops_usable(const fws_hash_ops *ops)
{
    return ops != NULL && ops->init != NULL && ops->update != NULL && ops->final != NULL &&
           ops->state_size > 0 && ops->state_size <= FWS_HASH_STATE_MAX && ops->digest_len > 0 &&
           ops->digest_len <= FWS_HASH_DIGEST_MAX;
}

fws_err fws_hash_buf(const fws_hash_ops *ops, const uint8_t *data, size_t len, uint8_t *digest)
{
    _Alignas(16) uint8_t state[FWS_HASH_STATE_MAX];

    if (!ops_usable(ops) || digest == NULL || (data == NULL && len > 0))
        return FWS_ERR_ARG;
    ops->init(state);
    if (len > 0)
        ops->update(state, data, len);
    ops->final(state, digest);
    fws_wipe(state, sizeof state);
    return FWS_OK;
}
