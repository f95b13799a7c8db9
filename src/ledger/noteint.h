/* Internal helpers shared by the signed-note, checkpoint, cosignature and tlog-proof code. */
#ifndef FWSEAL_LEDGER_NOTEINT_H
#define FWSEAL_LEDGER_NOTEINT_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/note.h"

/* The em dash (U+2014) and space that open a signature line. */
#define NOTE_SIG_PREFIX "\xe2\x80\x94 "
#define NOTE_SIG_PREFIX_LEN 4

/* Largest decoded signature (key ID included) accepted in a note. */
#define NOTE_SIG_BYTES_MAX 6144

/* Checks UTF-8 and that no control character other than newline appears. line_out (optional)
 * receives the 1-based line of the first problem. */
fws_err note_utf8_check(const char *s, size_t len, size_t *line_out);

/* Finds the one signature line of note matching key (name and key ID). FWS_ERR_KEY_MISMATCH
 * when none does, FWS_ERR_FORMAT when two do. */
fws_err note_find_sig(const fws_note *note, const fws_note_vkey *key, size_t *index,
                      fws_errbuf *eb);

/* Decodes signature line i into buf: *len receives the bytes after the 4-byte key ID. */
fws_err note_sig_bytes(const fws_note *note, size_t i, uint8_t *buf, size_t cap, size_t *len,
                       fws_errbuf *eb);

/* Verifies an Ed25519 signature over msg with a 32-byte raw public key. */
fws_err note_ed25519_verify(const uint8_t pub[32], const uint8_t *msg, size_t len,
                            const uint8_t *sig, size_t sig_len);

/* Builds "\u2014 <name> <base64(key ID || sig)>\n" (NUL-terminated) into line. */
fws_err note_format_line(const char *name, size_t name_len, uint32_t key_id, const uint8_t *sig,
                         size_t sig_len, char *line, size_t cap, size_t *line_len);

/* The Ed25519 public key of a signer (32 bytes), checking its type. */
fws_err note_signer_pub(const fws_signer *signer, uint8_t pub[32], fws_errbuf *eb);

/* Parses a decimal with no leading zeros (unless "0") that fits 64 bits. */
fws_err note_parse_u64(const char *s, size_t len, uint64_t *out);

#endif
