/* RFC 6962 / RFC 9162 Merkle hashing, proofs and compact ranges. Freestanding: no libc. */
#include <stddef.h>
#include <stdint.h>
#include "fwseal/merkle.h"

#define HLEN FWS_MERKLE_HASH_LEN

static int ops_ok(const fws_hash_ops *ops)
{
    return ops != NULL && ops->init != NULL && ops->update != NULL && ops->final != NULL &&
           ops->state_size > 0 && ops->state_size <= FWS_HASH_STATE_MAX && ops->digest_len == HLEN;
}

static void copy_hash(uint8_t *dst, const uint8_t *src)
{
    for (size_t i = 0; i < HLEN; i++)
        dst[i] = src[i];
}

/* Number of significant bits: 0 for 0, 64 for values with the top bit set. */
static unsigned bit_len(uint64_t x)
{
    unsigned n = 0;
    while (x != 0) {
        n++;
        x >>= 1;
    }
    return n;
}

static unsigned pop_count(uint64_t x)
{
    unsigned n = 0;
    while (x != 0) {
        n += (unsigned)(x & 1u);
        x >>= 1;
    }
    return n;
}

/* Trailing zero bits of a non-zero value. */
static unsigned trailing_zeros(uint64_t x)
{
    unsigned n = 0;
    while ((x & 1u) == 0 && n < 64) {
        n++;
        x >>= 1;
    }
    return n;
}

static void leaf_hash(const fws_hash_ops *ops, const uint8_t *entry, size_t len, uint8_t *out)
{
    _Alignas(16) uint8_t state[FWS_HASH_STATE_MAX];
    const uint8_t prefix = 0x00;

    ops->init(state);
    ops->update(state, &prefix, 1);
    if (len > 0)
        ops->update(state, entry, len);
    ops->final(state, out);
}

static void node_hash(const fws_hash_ops *ops, const uint8_t *left, const uint8_t *right,
                      uint8_t *out)
{
    _Alignas(16) uint8_t state[FWS_HASH_STATE_MAX];
    const uint8_t prefix = 0x01;

    ops->init(state);
    ops->update(state, &prefix, 1);
    ops->update(state, left, HLEN);
    ops->update(state, right, HLEN);
    ops->final(state, out);
}

static void empty_root(const fws_hash_ops *ops, uint8_t *out)
{
    _Alignas(16) uint8_t state[FWS_HASH_STATE_MAX];

    ops->init(state);
    ops->final(state, out);
}

fws_err fws_merkle_leaf_hash(const fws_hash_ops *ops, const uint8_t *entry, size_t len,
                             uint8_t out[FWS_MERKLE_HASH_LEN])
{
    if (!ops_ok(ops) || out == NULL || (entry == NULL && len > 0))
        return FWS_ERR_ARG;
    leaf_hash(ops, entry, len, out);
    return FWS_OK;
}

fws_err fws_merkle_node_hash(const fws_hash_ops *ops, const uint8_t left[FWS_MERKLE_HASH_LEN],
                             const uint8_t right[FWS_MERKLE_HASH_LEN],
                             uint8_t out[FWS_MERKLE_HASH_LEN])
{
    if (!ops_ok(ops) || left == NULL || right == NULL || out == NULL)
        return FWS_ERR_ARG;
    node_hash(ops, left, right, out);
    return FWS_OK;
}

fws_err fws_merkle_empty_root(const fws_hash_ops *ops, uint8_t out[FWS_MERKLE_HASH_LEN])
{
    if (!ops_ok(ops) || out == NULL)
        return FWS_ERR_ARG;
    empty_root(ops, out);
    return FWS_OK;
}

/* ---- proof sizes ------------------------------------------------------------------------ */

size_t fws_merkle_inclusion_len(uint64_t index, uint64_t size)
{
    if (index >= size)
        return 0;
    unsigned inner = bit_len(index ^ (size - 1));
    uint64_t above = inner >= 64 ? 0 : index >> inner;
    return (size_t)inner + pop_count(above);
}

size_t fws_merkle_consistency_len(uint64_t size1, uint64_t size2)
{
    if (size1 == 0 || size1 >= size2)
        return 0;
    unsigned shift = trailing_zeros(size1);
    uint64_t idx = (size1 - 1) >> shift;
    return fws_merkle_inclusion_len(size1 - 1, size2) - shift + (idx != 0 ? 1 : 0);
}

/* ---- verification ----------------------------------------------------------------------- */

fws_err fws_merkle_root_from_inclusion(const fws_hash_ops *ops, uint64_t index, uint64_t size,
                                       const uint8_t leaf[FWS_MERKLE_HASH_LEN],
                                       const uint8_t proof[][FWS_MERKLE_HASH_LEN], size_t n,
                                       uint8_t root_out[FWS_MERKLE_HASH_LEN])
{
    uint8_t r[HLEN];

    if (!ops_ok(ops) || leaf == NULL || root_out == NULL || (proof == NULL && n > 0))
        return FWS_ERR_ARG;
    if (index >= size || n > FWS_MERKLE_MAX_PROOF || n != fws_merkle_inclusion_len(index, size))
        return FWS_ERR_PROOF;

    uint64_t fn = index, sn = size - 1;
    copy_hash(r, leaf);
    for (size_t i = 0; i < n; i++) {
        if (sn == 0)
            return FWS_ERR_PROOF;
        if ((fn & 1u) != 0 || fn == sn) {
            node_hash(ops, proof[i], r, r);
            while ((fn & 1u) == 0 && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            node_hash(ops, r, proof[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0)
        return FWS_ERR_PROOF;
    copy_hash(root_out, r);
    return FWS_OK;
}

fws_err fws_merkle_verify_inclusion(const fws_hash_ops *ops, uint64_t index, uint64_t size,
                                    const uint8_t leaf[FWS_MERKLE_HASH_LEN],
                                    const uint8_t proof[][FWS_MERKLE_HASH_LEN], size_t n,
                                    const uint8_t root[FWS_MERKLE_HASH_LEN])
{
    uint8_t got[HLEN];

    if (root == NULL)
        return FWS_ERR_ARG;
    fws_err err = fws_merkle_root_from_inclusion(ops, index, size, leaf, proof, n, got);
    if (err != FWS_OK)
        return err;
    return fws_ct_eq(got, root, HLEN) ? FWS_OK : FWS_ERR_PROOF;
}

fws_err fws_merkle_verify_consistency(const fws_hash_ops *ops, uint64_t size1, uint64_t size2,
                                      const uint8_t root1[FWS_MERKLE_HASH_LEN],
                                      const uint8_t root2[FWS_MERKLE_HASH_LEN],
                                      const uint8_t proof[][FWS_MERKLE_HASH_LEN], size_t n)
{
    uint8_t fr[HLEN], sr[HLEN];

    if (!ops_ok(ops) || root1 == NULL || root2 == NULL || (proof == NULL && n > 0))
        return FWS_ERR_ARG;
    if (size1 == 0 || size1 > size2)
        return FWS_ERR_PROOF;
    if (size1 == size2)
        return n == 0 && fws_ct_eq(root1, root2, HLEN) ? FWS_OK : FWS_ERR_PROOF;
    if (n == 0 || n > FWS_MERKLE_MAX_PROOF || n != fws_merkle_consistency_len(size1, size2))
        return FWS_ERR_PROOF;

    /* When size1 is a power of two, the old root is itself the first node of the path. */
    int prepend = (size1 & (size1 - 1)) == 0;
    const uint8_t *first = prepend ? root1 : proof[0];
    size_t next = prepend ? 0 : 1;

    uint64_t fn = size1 - 1, sn = size2 - 1;
    while ((fn & 1u) != 0) {
        fn >>= 1;
        sn >>= 1;
    }
    copy_hash(fr, first);
    copy_hash(sr, first);
    for (size_t i = next; i < n; i++) {
        if (sn == 0)
            return FWS_ERR_PROOF;
        if ((fn & 1u) != 0 || fn == sn) {
            node_hash(ops, proof[i], fr, fr);
            node_hash(ops, proof[i], sr, sr);
            while ((fn & 1u) == 0 && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            node_hash(ops, sr, proof[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0)
        return FWS_ERR_PROOF;
    int ok = fws_ct_eq(fr, root1, HLEN) & fws_ct_eq(sr, root2, HLEN);
    return ok ? FWS_OK : FWS_ERR_PROOF;
}

/* ---- generation from stored nodes ----------------------------------------------------- */

fws_err fws_merkle_range_hash(const fws_hash_ops *ops, fws_merkle_node_fn node, void *ctx,
                              uint64_t start, uint64_t end, uint8_t out[FWS_MERKLE_HASH_LEN])
{
    uint8_t acc[HLEN], h[HLEN];
    int have = 0;

    if (!ops_ok(ops) || node == NULL || out == NULL || start >= end)
        return FWS_ERR_ARG;
    uint64_t len = end - start;
    unsigned top = bit_len(len) - 1;
    if ((start & ((((uint64_t)1) << top) - 1)) != 0)
        return FWS_ERR_ARG;

    /* Perfect pieces, one per set bit of len, largest on the left; fold from the right. */
    for (unsigned b = 0; b < 64; b++) {
        if (((len >> b) & 1u) == 0)
            continue;
        uint64_t higher = b == 63 ? 0 : len & ~((((uint64_t)2) << b) - 1);
        uint64_t pos = start + higher;
        fws_err err = node(ctx, b, pos >> b, h);
        if (err != FWS_OK)
            return err;
        if (have)
            node_hash(ops, h, acc, acc);
        else
            copy_hash(acc, h);
        have = 1;
    }
    copy_hash(out, acc);
    return FWS_OK;
}

fws_err fws_merkle_root_from_nodes(const fws_hash_ops *ops, fws_merkle_node_fn node, void *ctx,
                                   uint64_t size, uint8_t out[FWS_MERKLE_HASH_LEN])
{
    if (!ops_ok(ops) || node == NULL || out == NULL)
        return FWS_ERR_ARG;
    if (size == 0) {
        empty_root(ops, out);
        return FWS_OK;
    }
    return fws_merkle_range_hash(ops, node, ctx, 0, size, out);
}

/* Appends the path of leaf index in a tree of size leaves, skipping levels below from. */
static fws_err path_from(const fws_hash_ops *ops, fws_merkle_node_fn node, void *ctx,
                         uint64_t index, uint64_t size, unsigned from,
                         uint8_t proof[][FWS_MERKLE_HASH_LEN], size_t cap, size_t *n)
{
    unsigned inner = bit_len(index ^ (size - 1));
    unsigned levels = bit_len(size - 1);
    fws_err err = FWS_OK;

    for (unsigned i = from; i < levels; i++) {
        uint64_t at = index >> i;
        if (i >= inner && (at & 1u) == 0)
            continue; /* on the right border with no left sibling: promoted */
        if (*n >= cap)
            return FWS_ERR_ARG;
        uint64_t sib = at ^ 1u;
        if (i >= inner) {
            err = node(ctx, i, sib, proof[*n]);
        } else {
            uint64_t start = sib << i;
            uint64_t len = size - start;
            uint64_t full = ((uint64_t)1) << i;
            err = fws_merkle_range_hash(ops, node, ctx, start, start + (len < full ? len : full),
                                        proof[*n]);
        }
        if (err != FWS_OK)
            return err;
        (*n)++;
    }
    return FWS_OK;
}

fws_err fws_merkle_inclusion_proof(const fws_hash_ops *ops, fws_merkle_node_fn node, void *ctx,
                                   uint64_t index, uint64_t size,
                                   uint8_t proof[][FWS_MERKLE_HASH_LEN], size_t cap, size_t *n)
{
    size_t count = 0;

    if (!ops_ok(ops) || node == NULL || n == NULL || (proof == NULL && cap > 0) || index >= size)
        return FWS_ERR_ARG;
    if (cap < fws_merkle_inclusion_len(index, size))
        return FWS_ERR_ARG;
    fws_err err = path_from(ops, node, ctx, index, size, 0, proof, cap, &count);
    if (err != FWS_OK)
        return err;
    *n = count;
    return FWS_OK;
}

fws_err fws_merkle_consistency_proof(const fws_hash_ops *ops, fws_merkle_node_fn node, void *ctx,
                                     uint64_t size1, uint64_t size2,
                                     uint8_t proof[][FWS_MERKLE_HASH_LEN], size_t cap, size_t *n)
{
    size_t count = 0;

    if (!ops_ok(ops) || node == NULL || n == NULL || (proof == NULL && cap > 0) || size1 > size2)
        return FWS_ERR_ARG;
    if (size1 == 0 || size1 == size2) {
        *n = 0;
        return FWS_OK;
    }
    if (cap < fws_merkle_consistency_len(size1, size2))
        return FWS_ERR_ARG;
    unsigned shift = trailing_zeros(size1);
    uint64_t idx = (size1 - 1) >> shift;
    if (idx != 0) {
        /* The old tree's last perfect subtree, unless the old tree is perfect itself. */
        fws_err err = node(ctx, shift, idx, proof[count]);
        if (err != FWS_OK)
            return err;
        count++;
    }
    fws_err err = path_from(ops, node, ctx, size1 - 1, size2, shift, proof, cap, &count);
    if (err != FWS_OK)
        return err;
    *n = count;
    return FWS_OK;
}

/* ---- compact range ---------------------------------------------------------------------- */

void fws_merkle_range_init(fws_merkle_range *r)
{
    if (r == NULL)
        return;
    r->size = 0;
    for (size_t i = 0; i < FWS_MERKLE_MAX_LEVELS; i++)
        for (size_t j = 0; j < HLEN; j++)
            r->hashes[i][j] = 0;
}

fws_err fws_merkle_range_append_subtree(fws_merkle_range *r, const fws_hash_ops *ops,
                                        unsigned level, const uint8_t hash[FWS_MERKLE_HASH_LEN])
{
    if (r == NULL || !ops_ok(ops) || hash == NULL || level >= 64)
        return FWS_ERR_ARG;
    uint64_t add = ((uint64_t)1) << level;
    if ((r->size & (add - 1)) != 0)
        return FWS_ERR_ARG;
    if (r->size > UINT64_MAX - add)
        return FWS_ERR_TOO_BIG;

    unsigned count = pop_count(r->size);
    copy_hash(r->hashes[count], hash);
    count++;
    for (unsigned lvl = level; lvl < 64 && ((r->size >> lvl) & 1u) != 0; lvl++) {
        node_hash(ops, r->hashes[count - 2], r->hashes[count - 1], r->hashes[count - 2]);
        for (size_t j = 0; j < HLEN; j++)
            r->hashes[count - 1][j] = 0; /* unused slots stay zero: equal ranges are equal bytes */
        count--;
    }
    r->size += add;
    return FWS_OK;
}

fws_err fws_merkle_range_append(fws_merkle_range *r, const fws_hash_ops *ops,
                                const uint8_t leaf_hash_in[FWS_MERKLE_HASH_LEN])
{
    return fws_merkle_range_append_subtree(r, ops, 0, leaf_hash_in);
}

fws_err fws_merkle_range_root(const fws_merkle_range *r, const fws_hash_ops *ops,
                              uint8_t out[FWS_MERKLE_HASH_LEN])
{
    uint8_t acc[HLEN];

    if (r == NULL || !ops_ok(ops) || out == NULL)
        return FWS_ERR_ARG;
    if (r->size == 0) {
        empty_root(ops, out);
        return FWS_OK;
    }
    unsigned count = pop_count(r->size);
    copy_hash(acc, r->hashes[count - 1]);
    for (unsigned i = count - 1; i-- > 0;)
        node_hash(ops, r->hashes[i], acc, acc);
    copy_hash(out, acc);
    return FWS_OK;
}
