/* C2SP tlog-proof: an offline-verifiable proof that an entry is in a transparency log.
 *
 *   c2sp.org/tlog-proof@v1
 *   extra <base64 opaque data>          (optional, never trusted)
 *   index <decimal, no leading zeros>
 *   <base64 hash>                        (zero or more: the RFC 6962 inclusion proof)
 *                                        (an empty line)
 *   <the log's signed checkpoint, verbatim, cosignatures included>
 *
 * Verification needs only the entry bytes, the proof file and the log's vkey (plus, when a
 * witness policy is wanted, the witnesses' vkeys and a threshold). Files use the extension
 * .tlog-proof.
 */
#ifndef FWSEAL_TLOGPROOF_H
#define FWSEAL_TLOGPROOF_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"
#include "fwseal/merkle.h"
#include "fwseal/note.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FWS_TLOG_PROOF_HEADER "c2sp.org/tlog-proof@v1"
#define FWS_TLOG_PROOF_EXTRA_MAX 4096 /* decoded bytes of extra data */
/* Whole file: header, extra, index, 64 hash lines, the checkpoint note. */
#define FWS_TLOG_PROOF_MAX (FWS_NOTE_MAX + 16384)

/* A parsed proof, pointing into the caller's buffer (no allocation). */
typedef struct fws_tlog_proof {
    const char *extra_b64; /* NULL when absent; base64 as in the file (checked, <= cap) */
    size_t extra_b64_len;
    uint64_t index;
    size_t n_hashes;
    uint8_t hashes[FWS_MERKLE_MAX_PROOF][FWS_MERKLE_HASH_LEN];
    const char *checkpoint; /* the signed checkpoint note verbatim (not verified here) */
    size_t checkpoint_len;
} fws_tlog_proof;

/* Parses a proof file. Strict: exact header, optional extra line, canonical index, hash lines
 * of exactly 32 bytes in base64 (at most FWS_MERKLE_MAX_PROOF), one empty line, then a
 * checkpoint that must parse as a signed note. FWS_ERR_FORMAT names the line. */
fws_err fws_tlog_proof_parse(const char *unverified, size_t len, fws_tlog_proof *out,
                             fws_errbuf *eb) FWS_MUST_CHECK;

/* Writes a parsed (or assembled) proof back into out (NUL-terminated; *len excludes it). */
fws_err fws_tlog_proof_format(const fws_tlog_proof *p, char *out, size_t cap, size_t *len,
                              fws_errbuf *eb) FWS_MUST_CHECK;

/* Assembles a proof file from its parts: the index, the inclusion proof hashes, the signed
 * checkpoint note and optional extra data (extra may be NULL). The checkpoint is checked to
 * parse but not verified. Output as fws_tlog_proof_format. */
fws_err fws_tlog_proof_create(uint64_t index, const uint8_t hashes[][FWS_MERKLE_HASH_LEN],
                              size_t n_hashes, const char *checkpoint, size_t checkpoint_len,
                              const uint8_t *extra, size_t extra_len, char *out, size_t cap,
                              size_t *len, fws_errbuf *eb) FWS_MUST_CHECK;

/* What a verifier trusts. */
typedef struct fws_tlog_policy {
    const fws_note_vkey *log_key;   /* required, type 0x01 */
    const char *origin;             /* expected origin; NULL means log_key's name */
    const fws_note_vkey *witnesses; /* type 0x04 keys; may be NULL when n_witnesses is 0 */
    size_t n_witnesses;
    size_t witness_threshold; /* cosignatures required (0: none) */
} fws_tlog_policy;

/* Verifies that entry (its raw bytes; hashed here as an RFC 6962 leaf) is in the log:
 * parses the proof, verifies the checkpoint with the log key and origin, the witness
 * threshold, index < size, and the inclusion proof against the checkpoint's root.
 * cp (optional) receives the checkpoint, pointing into unverified_proof. Errors:
 * FWS_ERR_FORMAT (the file), FWS_ERR_SIGNATURE / FWS_ERR_KEY_MISMATCH (checkpoint),
 * FWS_ERR_THRESHOLD (witnesses), FWS_ERR_PROOF (the entry is not proven). */
fws_err fws_tlog_proof_verify(const char *unverified_proof, size_t len, const uint8_t *entry,
                              size_t entry_len, const fws_tlog_policy *policy, fws_checkpoint *cp,
                              fws_errbuf *eb) FWS_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
