/* The witness: verify a log's new checkpoint against the last one it cosigned (consistency
 * proof from the tiles), then add a tlog-cosignature line (type 0x04). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/crypto.h"
#include "writer_internal.h"

#define EM_DASH "\xe2\x80\x94"

static int is_key(const fws_note_sig *s, const fws_note_vkey *k)
{
    return s->key_id == k->key_id && s->name_len == k->name_len &&
           memcmp(s->name, k->name, k->name_len) == 0;
}

/* The checkpoint text, its signature lines but an older one from this witness, then line. */
static fws_err assemble(const fws_note *note, const fws_note_vkey *me, const char *line,
                        size_t line_len, char *out, size_t cap, size_t *len, fws_errbuf *eb)
{
    size_t used = 0;
    int n;
    if (note->text_len + 1 >= cap)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "cosigned checkpoint larger than the buffer");
    memcpy(out, note->text, note->text_len);
    used = note->text_len;
    out[used++] = '\n';
    for (size_t i = 0; i < note->n_sigs; i++) {
        const fws_note_sig *s = &note->sigs[i];
        if (is_key(s, me))
            continue;
        n = snprintf(out + used, cap - used, EM_DASH " %.*s %.*s\n", (int)s->name_len, s->name,
                     (int)s->sig_b64_len, s->sig_b64);
        if (n < 0 || (size_t)n >= cap - used)
            return fws_errf(eb, FWS_ERR_TOO_BIG, "cosigned checkpoint larger than the buffer");
        used += (size_t)n;
    }
    if (line_len + 1 > cap - used)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "cosigned checkpoint larger than the buffer");
    memcpy(out + used, line, line_len);
    used += line_len;
    out[used] = '\0';
    *len = used;
    return FWS_OK;
}

static fws_err witness_key(const char *name, const fws_signer *signer, fws_note_vkey *me,
                           fws_errbuf *eb)
{
    fws_key *pub = NULL;
    if (signer == NULL || signer->type != FWS_KEY_ED25519)
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "a witness key must be Ed25519");
    fws_err err = signer->public_key(signer->impl, &pub);
    if (err == FWS_OK)
        err = fws_note_vkey_from_key(name, FWS_NOTE_TYPE_COSIG_V1, pub, me, eb);
    fws_key_free(pub);
    return err;
}

static fws_err cosign(fws_tlog *t, const fws_note_vkey *log_key, const char *state_dir,
                      const char *name, const fws_signer *signer, uint64_t now, char *bufs,
                      char *out, size_t cap, size_t *out_len, fws_follow_result *res,
                      fws_errbuf *eb)
{
    char *cur = bufs, *old = bufs + FWS_NOTE_MAX + 1, *res_buf = bufs + 2 * (FWS_NOTE_MAX + 1);
    char line[FWS_NOTE_SIG_LINE_MAX];
    size_t line_len = 0, len = 0;
    fws_checkpoint cp, old_cp;
    fws_note note;
    fws_note_vkey me;
    int have = 0;

    fws_err err = witness_key(name, signer, &me, eb);
    if (err == FWS_OK)
        err = follow_fetch_checkpoint(t, log_key, cur, FWS_NOTE_MAX + 1, &note, &cp, eb);
    if (err == FWS_OK)
        err = follow_state_load(state_dir, log_key, old, FWS_NOTE_MAX + 1, &old_cp, &have, eb);
    if (err == FWS_OK && have)
        err = follow_check_consistency(t, &old_cp, &cp, eb);
    if (err == FWS_OK)
        err = fws_cosig_sign_line(&note, name, signer, now, line, &line_len, eb);
    if (err == FWS_OK)
        err = assemble(&note, &me, line, line_len, res_buf, FWS_NOTE_MAX + 1, &len, eb);
    if (err == FWS_OK && len + 1 > cap)
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "cosigned checkpoint larger than the buffer");
    if (err == FWS_OK) /* only after every check: the next run starts from here */
        err = follow_state_write(state_dir, log_key->name, res_buf, len, eb);
    if (err != FWS_OK)
        return err;
    memcpy(out, res_buf, len + 1);
    *out_len = len;
    if (res != NULL) {
        memset(res, 0, sizeof(*res));
        res->old_size = have ? old_cp.size : 0;
        res->new_size = cp.size;
        res->first_sight = !have;
    }
    return FWS_OK;
}

fws_err fws_witness_cosign(const fws_tile_source *src, const fws_note_vkey *log_key,
                           const char *state_dir, const char *name, const fws_signer *signer,
                           uint64_t now, char *out, size_t cap, size_t *out_len,
                           fws_follow_result *res, fws_errbuf *eb)
{
    fws_tlog *t = NULL;
    char *bufs;
    if (src == NULL || log_key == NULL || state_dir == NULL || name == NULL || out == NULL ||
        out_len == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "witness: missing argument");
    if (log_key->type != FWS_NOTE_TYPE_ED25519)
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "witness: the log key must be an Ed25519 vkey");
    fws_err err = fws_note_name_check(name, strlen(name), eb);
    if (err != FWS_OK)
        return err;
    bufs = malloc(3 * (FWS_NOTE_MAX + 1));
    if (bufs == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    err = fws_tlog_open(src, &fws_sha256_ops, &t, eb);
    if (err == FWS_OK)
        err = cosign(t, log_key, state_dir, name, signer, now, bufs, out, cap, out_len, res, eb);
    fws_tlog_close(t);
    free(bufs);
    return err;
}
