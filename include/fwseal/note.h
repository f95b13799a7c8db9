/* C2SP signed notes, checkpoints and witness cosignatures.
 *
 *   signed-note      text ending in "\n", a blank line, then signature lines
 *                    "\u2014 <key name> <base64(4-byte big-endian key ID || signature)>\n".
 *                    Key ID = SHA-256(name || "\n" || type || public key)[:4].
 *                    Type 0x01: Ed25519 over the note text.
 *   vkey             "<name>+<8 hex digits key ID>+<base64(type || public key)>".
 *   tlog-checkpoint  note text "<origin>\n<decimal tree size>\n<base64 root hash>\n"
 *                    followed by optional non-empty extension lines.
 *   tlog-cosignature type 0x04 (Ed25519 witness): the signature is an 8-byte big-endian POSIX
 *                    timestamp followed by an Ed25519 signature over
 *                    "cosignature/v1\ntime <timestamp>\n" || checkpoint note text.
 *
 * Parsing never allocates: a parsed note points into the caller's buffer, which must outlive
 * it. Every length is capped (see the FWS_NOTE_* constants). Text from a note must be treated
 * as unverified until fws_note_verify (or fws_checkpoint_open) has accepted it.
 *
 * Signature rules (signed-note): lines whose (name, key ID) do not match a trusted key are
 * ignored; a matching line that fails to verify rejects the whole note; two lines from the same
 * trusted key reject the note; at least one line from the trusted key must verify.
 */
#ifndef FWSEAL_NOTE_H
#define FWSEAL_NOTE_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"
#include "fwseal/crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- caps ------------------------------------------------------------------------------- */

#define FWS_NOTE_MAX 65536        /* bytes in a whole signed note */
#define FWS_NOTE_MAX_SIGS 32      /* signature lines in one note (the spec asks for >= 16) */
#define FWS_NOTE_NAME_MAX 255     /* bytes in a key name */
#define FWS_NOTE_SIG_B64_MAX 8192 /* base64 characters of one signature (room for PQ schemes) */
#define FWS_NOTE_VKEY_MAX 320     /* a formatted vkey, NUL included */
#define FWS_NOTE_SIG_LINE_MAX 400 /* a signature line fwseal writes, NUL included */
#define FWS_CHECKPOINT_ORIGIN_MAX 1024

/* Signature type bytes (signed-note). */
#define FWS_NOTE_TYPE_ED25519 0x01
#define FWS_NOTE_TYPE_COSIG_V1 0x04 /* tlog-cosignature, timestamped Ed25519 */

#define FWS_NOTE_ED25519_PUB_LEN 32
#define FWS_NOTE_ED25519_SIG_LEN 64
#define FWS_COSIG_SIG_LEN 72 /* 8-byte timestamp || Ed25519 signature */

/* ---- notes ------------------------------------------------------------------------------ */

/* One signature line, pointing into the parsed buffer. The base64 text is checked at parse
 * time (strict, 4 to 6144 decoded bytes); key_id is its first four bytes. */
typedef struct fws_note_sig {
    const char *name;
    size_t name_len;
    uint32_t key_id;
    const char *sig_b64; /* base64(key ID || signature) exactly as in the note */
    size_t sig_b64_len;
} fws_note_sig;

typedef struct fws_note {
    const char *text; /* the signed text, final newline included */
    size_t text_len;
    size_t n_sigs;
    fws_note_sig sigs[FWS_NOTE_MAX_SIGS];
} fws_note;

/* Parses a signed note (not verified). Checks: size cap, valid UTF-8, no control character
 * but newline, text ends in a newline, a blank line separates text and signatures (the last
 * one), at least one and at most FWS_NOTE_MAX_SIGS well-formed signature lines, nothing after
 * the last newline. FWS_ERR_FORMAT names the line; FWS_ERR_TOO_BIG for caps. */
fws_err fws_note_parse(const char *unverified, size_t len, fws_note *out,
                       fws_errbuf *eb) FWS_MUST_CHECK;

/* Writes the signed note back: text, a blank line, the signature lines in order. */
fws_err fws_note_format(const fws_note *note, char *out, size_t cap, size_t *len,
                        fws_errbuf *eb) FWS_MUST_CHECK;

/* Checks text alone as a note text: UTF-8, no control characters but newline, non-empty,
 * ending in a newline, capped. */
fws_err fws_note_text_check(const char *text, size_t len, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- verifier keys ---------------------------------------------------------------------- */

typedef struct fws_note_vkey {
    char name[FWS_NOTE_NAME_MAX + 1]; /* NUL-terminated */
    size_t name_len;
    uint32_t key_id;
    uint8_t type; /* FWS_NOTE_TYPE_ED25519 or FWS_NOTE_TYPE_COSIG_V1 */
    uint8_t pub[FWS_NOTE_ED25519_PUB_LEN];
} fws_note_vkey;

/* Checks a key name: 1..FWS_NOTE_NAME_MAX bytes of UTF-8, no spaces (no Unicode space), no
 * '+', no control characters. */
fws_err fws_note_name_check(const char *name, size_t len, fws_errbuf *eb) FWS_MUST_CHECK;

/* Key ID = big-endian SHA-256(name || "\n" || type || pub)[:4]. */
fws_err fws_note_key_id(const char *name, size_t name_len, uint8_t type, const uint8_t *pub,
                        size_t pub_len, uint32_t *id) FWS_MUST_CHECK;

/* Builds a vkey from a name, a type and a 32-byte Ed25519 public key (computes the key ID). */
fws_err fws_note_vkey_make(const char *name, size_t name_len, uint8_t type,
                           const uint8_t pub[FWS_NOTE_ED25519_PUB_LEN], fws_note_vkey *out,
                           fws_errbuf *eb) FWS_MUST_CHECK;

/* Same, from an Ed25519 fws_key (public or private). FWS_ERR_KEY_TYPE for other keys. */
fws_err fws_note_vkey_from_key(const char *name, uint8_t type, const fws_key *key,
                               fws_note_vkey *out, fws_errbuf *eb) FWS_MUST_CHECK;

/* Parses "<name>+<hex key ID>+<base64(type || key)>" (surrounding whitespace and a final
 * newline are tolerated). Only types 0x01 and 0x04 with 32-byte keys are supported
 * (FWS_ERR_UNSUPPORTED otherwise). The key ID must match the one computed from the key
 * (FWS_ERR_KEY_MISMATCH otherwise). */
fws_err fws_note_vkey_parse(const char *text, size_t len, fws_note_vkey *out,
                            fws_errbuf *eb) FWS_MUST_CHECK;

/* Formats a vkey (NUL-terminated); *len (optional) receives its length. */
fws_err fws_note_vkey_format(const fws_note_vkey *key, char out[FWS_NOTE_VKEY_MAX],
                             size_t *len) FWS_MUST_CHECK;

/* ---- signing and verifying (type 0x01) -------------------------------------------------- */

/* Verifies a parsed note against one Ed25519 (type 0x01) verifier key, following the
 * signature rules above. FWS_ERR_KEY_MISMATCH when no line names this key (name and ID),
 * FWS_ERR_SIGNATURE when a line from it does not verify, FWS_ERR_FORMAT for a duplicate. */
fws_err fws_note_verify(const fws_note *note, const fws_note_vkey *key,
                        fws_errbuf *eb) FWS_MUST_CHECK;

/* Produces one signature line "\u2014 <name> <base64>\n" (NUL-terminated) signing text with
 * signer (an Ed25519 signer) under key name. text must pass fws_note_text_check. */
fws_err fws_note_sign_line(const char *text, size_t text_len, const char *name,
                           const fws_signer *signer, char line[FWS_NOTE_SIG_LINE_MAX],
                           size_t *line_len, fws_errbuf *eb) FWS_MUST_CHECK;

/* Produces a whole signed note: text, a blank line, one signature line (NUL-terminated;
 * *len excludes the NUL). FWS_ERR_TOO_BIG when it does not fit cap or FWS_NOTE_MAX. */
fws_err fws_note_sign(const char *text, size_t text_len, const char *name, const fws_signer *signer,
                      char *out, size_t cap, size_t *len, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- checkpoints ------------------------------------------------------------------------ */

typedef struct fws_checkpoint {
    const char *origin; /* not NUL-terminated when parsed: use origin_len */
    size_t origin_len;
    uint64_t size;
    uint8_t root[32];
    const char *ext; /* extension lines verbatim, each non-empty and ending in "\n"; or NULL */
    size_t ext_len;
} fws_checkpoint;

/* Parses a checkpoint note text (the text of a signed note, not verified by this call):
 * origin non-empty, size in decimal without leading zeros (fits 64 bits), root in base64 of
 * exactly 32 bytes, extension lines non-empty. Points into text. */
fws_err fws_checkpoint_parse(const char *text, size_t len, fws_checkpoint *out,
                             fws_errbuf *eb) FWS_MUST_CHECK;

/* Formats a checkpoint note text (NUL-terminated; *len excludes the NUL). */
fws_err fws_checkpoint_format(const fws_checkpoint *cp, char *out, size_t cap, size_t *len,
                              fws_errbuf *eb) FWS_MUST_CHECK;

/* Parses a signed checkpoint, verifies it with the log's key (type 0x01) and checks the origin:
 * against origin when not NULL, else against the key's name (FWS_ERR_KEY_MISMATCH when it
 * differs). note and cp point into unverified and are written only on success. */
fws_err fws_checkpoint_open(const char *unverified, size_t len, const fws_note_vkey *log_key,
                            const char *origin, fws_note *note, fws_checkpoint *cp,
                            fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- witness cosignatures (tlog-cosignature, type 0x04) --------------------------------- */

/* Produces a cosignature line for the checkpoint text of note with the witness signer under
 * key name, stamped with timestamp (seconds since the epoch, at most 2^63 - 1). */
fws_err fws_cosig_sign_line(const fws_note *note, const char *name, const fws_signer *signer,
                            uint64_t timestamp, char line[FWS_NOTE_SIG_LINE_MAX], size_t *line_len,
                            fws_errbuf *eb) FWS_MUST_CHECK;

/* Verifies the cosignature of one witness (a type 0x04 vkey) on note. *timestamp (optional)
 * receives its time. Same rules and codes as fws_note_verify; a timestamp above 2^63 - 1 or a
 * signature that is not 72 bytes is FWS_ERR_SIGNATURE. */
fws_err fws_cosig_verify(const fws_note *note, const fws_note_vkey *witness, uint64_t *timestamp,
                         fws_errbuf *eb) FWS_MUST_CHECK;

/* Counts witnesses whose cosignature verifies (a witness with no line, or a bad one, does not
 * count; a bad one is reported in eb). FWS_OK when at least threshold count,
 * FWS_ERR_THRESHOLD otherwise. *valid (optional) receives the count. threshold 0 is FWS_OK. */
fws_err fws_cosig_verify_threshold(const fws_note *note, const fws_note_vkey *witnesses,
                                   size_t n_witnesses, size_t threshold, size_t *valid,
                                   fws_errbuf *eb) FWS_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
