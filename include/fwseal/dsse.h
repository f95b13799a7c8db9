/* DSSE envelopes and in-toto Statements v1: how fwseal signs artifacts.
 *
 * The signature covers the DSSE pre-authentication encoding (PAE):
 *   "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body      (LEN in ASCII decimal)
 * so anyone with the public key and the openssl command line can check it.
 */
#ifndef FWSEAL_DSSE_H
#define FWSEAL_DSSE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "fwseal/crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FWS_DSSE_MAX_ENVELOPE (2u * 1024 * 1024) /* bytes of envelope JSON we read */
#define FWS_DSSE_MAX_PAYLOAD (1u * 1024 * 1024)  /* bytes of decoded payload */
#define FWS_DSSE_MAX_SIGS 16
#define FWS_DSSE_MAX_TYPE 256
#define FWS_INTOTO_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define FWS_INTOTO_STATEMENT_V1 "https://in-toto.io/Statement/v1"
#define FWS_INTOTO_MAX_SUBJECTS 1024

typedef struct fws_dsse_sig {
    char keyid[FWS_KEYID_LEN]; /* empty when the envelope names no key */
    uint8_t sig[FWS_SIG_MAX];
    size_t sig_len;
} fws_dsse_sig;

/* A parsed envelope. Nothing in it is trusted until fws_dsse_verify says so. */
typedef struct fws_dsse_envelope {
    char payload_type[FWS_DSSE_MAX_TYPE];
    uint8_t *unverified_payload; /* malloc'd; fws_dsse_envelope_free releases it */
    size_t payload_len;
    fws_dsse_sig sigs[FWS_DSSE_MAX_SIGS];
    size_t n_sigs;
} fws_dsse_envelope;

/* PAE bytes into a malloc'd buffer. */
fws_err fws_dsse_pae(const char *payload_type, const uint8_t *payload, size_t len, uint8_t **out,
                     size_t *out_len) FWS_MUST_CHECK;

/* Signs payload with each signer and returns the envelope as JSON text (malloc'd, with a
 * trailing newline). */
fws_err fws_dsse_sign(const char *payload_type, const uint8_t *payload, size_t len,
                      const fws_signer *const *signers, size_t n_signers, char **envelope,
                      size_t *envelope_len, fws_errbuf *eb) FWS_MUST_CHECK;

/* Strict parse: exactly the fields payload, payloadType and signatures; each signature exactly
 * sig and an optional keyid; no duplicates, no extras, standard padded base64, caps above. */
fws_err fws_dsse_parse(const uint8_t *unverified, size_t len, fws_dsse_envelope *out,
                       fws_errbuf *eb) FWS_MUST_CHECK;
void fws_dsse_envelope_free(fws_dsse_envelope *env);

/* Succeeds when at least threshold distinct keys of keys[] made valid signatures over the PAE.
 * A signature naming another key ID is not tried against a key; one naming none is tried
 * against each. Errors: FWS_ERR_KEY_MISMATCH when no signature names any of the keys,
 * FWS_ERR_SIGNATURE when a signature for a key does not verify, FWS_ERR_THRESHOLD when too few
 * keys signed. */
fws_err fws_dsse_verify(const fws_dsse_envelope *env, const fws_key *const *keys, size_t n_keys,
                        size_t threshold, fws_errbuf *eb) FWS_MUST_CHECK;

/* An in-toto Statement v1 (canonical JSON, malloc'd) with one subject {name, sha256}. The
 * statement steals the predicate reference (also on failure). */
fws_err fws_intoto_statement(const char *subject_name, const uint8_t sha256[FWS_SHA256_LEN],
                             const char *predicate_type, json_t *predicate, char **out,
                             size_t *out_len, fws_errbuf *eb) FWS_MUST_CHECK;

/* Checks that payload is an in-toto Statement v1 and finds the subject whose sha256 is digest.
 * On success the subject's name is copied to name (truncated to cap). FWS_ERR_DIGEST when no
 * subject has that digest, FWS_ERR_SCHEMA when the statement is malformed. */
fws_err fws_intoto_match_subject(const uint8_t *payload, size_t len,
                                 const uint8_t sha256[FWS_SHA256_LEN], char *name, size_t cap,
                                 fws_errbuf *eb) FWS_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
