/* RFC 6962 / RFC 9162 Merkle trees for the freestanding core.
 *
 * Hashing (SHA-256 through any fws_hash_ops provider):
 *   leaf hash  = H(0x00 || entry)
 *   node hash  = H(0x01 || left || right)
 *   empty tree = H("")
 * A tree of n leaves splits at k, the largest power of two below n (RFC 9162 2.1.1).
 *
 * Nodes are named (level, index): the perfect subtree of 2^level leaves that starts at leaf
 * index << level. Level 0 nodes are leaf hashes.
 *
 * Everything here is freestanding: no heap, no I/O, no libc; hash state lives on the stack.
 * Proofs are arrays of 32-byte hashes in RFC order (from the leaf's sibling up to the root's
 * child), capped at FWS_MERKLE_MAX_PROOF hashes, which is enough for any 64-bit tree size.
 *
 * Errors: FWS_ERR_ARG for a caller mistake (NULL pointer, unusable hash provider, a buffer too
 * small), FWS_ERR_PROOF when a proof does not verify or cannot belong to the sizes given (wrong
 * length, index past the tree), FWS_ERR_TOO_BIG when a compact range would overflow 2^64 leaves.
 */
#ifndef FWSEAL_MERKLE_H
#define FWSEAL_MERKLE_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/err.h"
#include "fwseal/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FWS_MERKLE_HASH_LEN 32  /* SHA-256 */
#define FWS_MERKLE_MAX_PROOF 64 /* longest inclusion or consistency proof accepted */
#define FWS_MERKLE_MAX_LEVELS 64

/* ---- hashing ---------------------------------------------------------------------------- */

/* out = H(0x00 || entry). entry may be NULL when len is 0. */
fws_err fws_merkle_leaf_hash(const fws_hash_ops *ops, const uint8_t *entry, size_t len,
                             uint8_t out[FWS_MERKLE_HASH_LEN]) FWS_MUST_CHECK;

/* out = H(0x01 || left || right). out may alias left or right. */
fws_err fws_merkle_node_hash(const fws_hash_ops *ops, const uint8_t left[FWS_MERKLE_HASH_LEN],
                             const uint8_t right[FWS_MERKLE_HASH_LEN],
                             uint8_t out[FWS_MERKLE_HASH_LEN]) FWS_MUST_CHECK;

/* The root of the empty tree, H(""). */
fws_err fws_merkle_empty_root(const fws_hash_ops *ops,
                              uint8_t out[FWS_MERKLE_HASH_LEN]) FWS_MUST_CHECK;

/* ---- proof sizes -------------------------------------------------------------------------- */

/* Number of hashes in the inclusion proof of leaf index in a tree of size leaves
 * (0 when index >= size). */
size_t fws_merkle_inclusion_len(uint64_t index, uint64_t size);

/* Number of hashes in the consistency proof from size1 to size2 (0 when size1 is 0, equal
 * to size2, or larger than size2). */
size_t fws_merkle_consistency_len(uint64_t size1, uint64_t size2);

/* ---- verification (RFC 9162 2.1.3.2 and 2.1.4.2) ----------------------------------------- */

/* Computes the root that an inclusion proof for leaf_hash at index in a tree of size leaves
 * implies. FWS_ERR_PROOF when index >= size or n is not exactly the length such a proof has.
 * root_out is written only on success. */
fws_err fws_merkle_root_from_inclusion(const fws_hash_ops *ops, uint64_t index, uint64_t size,
                                       const uint8_t leaf_hash[FWS_MERKLE_HASH_LEN],
                                       const uint8_t proof[][FWS_MERKLE_HASH_LEN], size_t n,
                                       uint8_t root_out[FWS_MERKLE_HASH_LEN]) FWS_MUST_CHECK;

/* FWS_OK when proof shows that leaf_hash is leaf index of the tree of size leaves with the
 * given root (compared in constant time); FWS_ERR_PROOF otherwise. */
fws_err fws_merkle_verify_inclusion(const fws_hash_ops *ops, uint64_t index, uint64_t size,
                                    const uint8_t leaf_hash[FWS_MERKLE_HASH_LEN],
                                    const uint8_t proof[][FWS_MERKLE_HASH_LEN], size_t n,
                                    const uint8_t root[FWS_MERKLE_HASH_LEN]) FWS_MUST_CHECK;

/* FWS_OK when proof shows that the tree of size1 leaves with root1 is a prefix of the tree of
 * size2 leaves with root2. Follows RFC 9162 2.1.4.2, where 0 < size1: size1 == 0 is always
 * FWS_ERR_PROOF (a proof from the empty tree proves nothing; callers treat the empty tree as
 * trivially consistent themselves), size1 == size2 needs an empty proof and equal roots,
 * size1 > size2 is always rejected. FWS_ERR_PROOF on any failure. */
fws_err fws_merkle_verify_consistency(const fws_hash_ops *ops, uint64_t size1, uint64_t size2,
                                      const uint8_t root1[FWS_MERKLE_HASH_LEN],
                                      const uint8_t root2[FWS_MERKLE_HASH_LEN],
                                      const uint8_t proof[][FWS_MERKLE_HASH_LEN],
                                      size_t n) FWS_MUST_CHECK;

/* ---- generation from stored nodes -------------------------------------------------------- */

/* Supplies the hash of the perfect subtree (level, index): leaves [index << level,
 * (index + 1) << level). Generation only asks for nodes that lie wholly inside the tree size it
 * was given. Returns FWS_OK, or an error that generation passes straight back. */
typedef fws_err (*fws_merkle_node_fn)(void *ctx, unsigned level, uint64_t index,
                                      uint8_t out[FWS_MERKLE_HASH_LEN]);

/* MTH(D[start:end]) for any range that is a node of some RFC 6962 tree: start must be a
 * multiple of the largest power of two not above end - start, and start < end. Perfect parts
 * come from node(); they are combined right to left. */
fws_err fws_merkle_range_hash(const fws_hash_ops *ops, fws_merkle_node_fn node, void *ctx,
                              uint64_t start, uint64_t end,
                              uint8_t out[FWS_MERKLE_HASH_LEN]) FWS_MUST_CHECK;

/* The root of the tree of size leaves (the empty root for size 0). */
fws_err fws_merkle_root_from_nodes(const fws_hash_ops *ops, fws_merkle_node_fn node, void *ctx,
                                   uint64_t size, uint8_t out[FWS_MERKLE_HASH_LEN]) FWS_MUST_CHECK;

/* The inclusion proof of leaf index in the tree of size leaves (RFC 9162 2.1.3.1) into proof
 * (cap hashes); *n receives the count. FWS_ERR_ARG when index >= size or cap is too small. */
fws_err fws_merkle_inclusion_proof(const fws_hash_ops *ops, fws_merkle_node_fn node, void *ctx,
                                   uint64_t index, uint64_t size,
                                   uint8_t proof[][FWS_MERKLE_HASH_LEN], size_t cap,
                                   size_t *n) FWS_MUST_CHECK;

/* The consistency proof from size1 to size2 (RFC 9162 2.1.4.1); empty when size1 is 0 or
 * equal to size2. FWS_ERR_ARG when size1 > size2 or cap is too small. */
fws_err fws_merkle_consistency_proof(const fws_hash_ops *ops, fws_merkle_node_fn node, void *ctx,
                                     uint64_t size1, uint64_t size2,
                                     uint8_t proof[][FWS_MERKLE_HASH_LEN], size_t cap,
                                     size_t *n) FWS_MUST_CHECK;

/* ---- compact range: a log's right edge in O(log n) space ---------------------------------- */

/* The roots of the perfect subtrees that make up a tree of size leaves, one per set bit of
 * size, largest (leftmost) first: hashes[0 .. popcount(size)). A plain struct (no pointers):
 * it may be copied or stored byte for byte. Append leaf hashes one by one and ask for the root
 * at any point: this is how a verifier recomputes a log from its entries without the tree. */
typedef struct fws_merkle_range {
    uint64_t size;
    uint8_t hashes[FWS_MERKLE_MAX_LEVELS][FWS_MERKLE_HASH_LEN];
} fws_merkle_range;

/* An empty range (size 0). */
void fws_merkle_range_init(fws_merkle_range *r);

/* Appends one leaf hash (not the entry: hash it with fws_merkle_leaf_hash first).
 * FWS_ERR_TOO_BIG when the range already holds 2^64 - 1 leaves. */
fws_err fws_merkle_range_append(fws_merkle_range *r, const fws_hash_ops *ops,
                                const uint8_t leaf_hash[FWS_MERKLE_HASH_LEN]) FWS_MUST_CHECK;

/* Appends the root of a perfect subtree of 2^level leaves (for example a full tile's hash).
 * The range size must be a multiple of 2^level; FWS_ERR_ARG otherwise. */
fws_err fws_merkle_range_append_subtree(fws_merkle_range *r, const fws_hash_ops *ops,
                                        unsigned level,
                                        const uint8_t hash[FWS_MERKLE_HASH_LEN]) FWS_MUST_CHECK;

/* The root of the tree of r->size leaves (the empty root when the range is empty). */
fws_err fws_merkle_range_root(const fws_merkle_range *r, const fws_hash_ops *ops,
                              uint8_t out[FWS_MERKLE_HASH_LEN]) FWS_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
