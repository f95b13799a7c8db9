/* Internal to the agent module. */
#ifndef FWSEAL_AGENT_INTERNAL_H
#define FWSEAL_AGENT_INTERNAL_H

#include <jansson.h>
#include "fwseal/agent.h"

#include <limits.h>

struct fws_agent {
    char state_dir[PATH_MAX];
    fws_slot_backend *slots;
    const fws_agent_io *io;
    fws_agent_status st;
    char device_id[FWS_AGENT_PRODUCT_MAX + 1];
    const fws_signer *signer;
    const fws_enc_key *wrap_key;
    char *health_check;
    int64_t (*now)(void);
};

/* agent.c: applies event e by the table, stamps and persists the state (restoring the old one
 * in memory when it cannot be saved). */
fws_err fws_agent_step(fws_agent *a, fws_agent_event e, fws_errbuf *eb) FWS_MUST_CHECK;
/* Persists the state as it is in memory. */
fws_err fws_agent_save(fws_agent *a, fws_errbuf *eb) FWS_MUST_CHECK;
int64_t fws_agent_now(const fws_agent *a);

/* install.c: hashes the first len bytes of a slot; FWS_ERR_LENGTH when it is shorter. */
fws_err fws_agent_slot_digest(fws_agent *a, int slot, uint64_t len, uint8_t out[FWS_SHA256_LEN],
                              fws_errbuf *eb) FWS_MUST_CHECK;

/* io.c */
fws_err fws_agent_write_all(const fws_agent_io *io, int fd, const void *data,
                            size_t len) FWS_MUST_CHECK;

/* state.c: the persisted state as JSON and back. */
fws_err fws_agent_status_from_json(const json_t *doc, fws_agent_status *out,
                                   fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_agent_status_save(const fws_agent_io *io, const char *state_dir,
                              const fws_agent_status *st, fws_errbuf *eb) FWS_MUST_CHECK;
/* Copies a string into a fixed buffer; FWS_ERR_TOO_BIG when it does not fit. */
fws_err fws_agent_copy(char *dst, size_t cap, const char *src) FWS_MUST_CHECK;

/* slots.c */
fws_err fws_slot_booted(fws_slot_backend *b, int *slot, fws_errbuf *eb) FWS_MUST_CHECK;
const fws_agent_io *fws_slot_io(const fws_slot_backend *b);

/* enc.c: streaming decryption of fwseal-enc/v1. */
typedef struct fws_enc_stream fws_enc_stream;
fws_err fws_enc_stream_new(const uint8_t key[FWS_ENC_KEY_LEN], fws_enc_stream **out,
                           fws_errbuf *eb) FWS_MUST_CHECK;
/* Feeds ciphertext; plaintext that authenticated goes to out(ctx, ...). */
typedef fws_err (*fws_enc_out_fn)(void *ctx, const uint8_t *data, size_t len);
fws_err fws_enc_stream_update(fws_enc_stream *s, const uint8_t *data, size_t len,
                              fws_enc_out_fn out, void *ctx, fws_errbuf *eb) FWS_MUST_CHECK;
/* FWS_OK only when the last chunk arrived and authenticated, and nothing followed it. */
fws_err fws_enc_stream_final(fws_enc_stream *s, fws_errbuf *eb) FWS_MUST_CHECK;
void fws_enc_stream_free(fws_enc_stream *s);

/* exec.c: runs a program (argv[0] looked up in PATH unless it holds a slash) and captures at
 * most cap - 1 bytes of its standard output, NUL-terminated (out may be NULL). *status
 * receives the exit status (or 128 + signal). FWS_ERR_IO when it cannot be started. */
fws_err fws_agent_exec(const char *const *argv, char *out, size_t cap, int *status,
                       fws_errbuf *eb) FWS_MUST_CHECK;

/* report.c */
fws_err fws_agent_report_queue(fws_agent *a, fws_report_kind kind, const char *reason,
                               fws_errbuf *eb) FWS_MUST_CHECK;

#endif
