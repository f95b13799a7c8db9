/* C2SP tlog-cosignature v1: timestamped Ed25519 witness cosignatures (type 0x04). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/note.h"
#include "fwseal/crypto.h"
#include "noteint.h"

#define COSIG_TS_MAX ((uint64_t)INT64_MAX)

/* Builds "cosignature/v1\ntime <ts>\n" || text in a malloc'd buffer. */
static fws_err cosig_message(const fws_note *note, uint64_t ts, uint8_t **msg, size_t *len)
{
    char head[64];
    int n = snprintf(head, sizeof head, "cosignature/v1\ntime %llu\n", (unsigned long long)ts);
    if (n < 0 || (size_t)n >= sizeof head)
        return FWS_ERR_ARG;
    uint8_t *m = malloc((size_t)n + note->text_len);
    if (m == NULL)
        return FWS_ERR_NOMEM;
    memcpy(m, head, (size_t)n);
    memcpy(m + n, note->text, note->text_len);
    *msg = m;
    *len = (size_t)n + note->text_len;
    return FWS_OK;
}

fws_err fws_cosig_sign_line(const fws_note *note, const char *name, const fws_signer *signer,
                            uint64_t timestamp, char line[FWS_NOTE_SIG_LINE_MAX], size_t *line_len,
                            fws_errbuf *eb)
{
    uint8_t pub[32], sig[FWS_COSIG_SIG_LEN + 8];
    uint8_t *msg = NULL;
    size_t msg_len = 0, sig_len = 0;
    uint32_t id = 0;

    if (note == NULL || note->text == NULL || name == NULL || line == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "cosign: missing note, name or output");
    if (timestamp > COSIG_TS_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "cosign: timestamp over 2^63-1");
    fws_err err = fws_note_name_check(name, strlen(name), eb);
    if (err == FWS_OK)
        err = note_signer_pub(signer, pub, eb);
    if (err == FWS_OK)
        err = fws_note_key_id(name, strlen(name), FWS_NOTE_TYPE_COSIG_V1, pub, 32, &id);
    if (err == FWS_OK)
        err = cosig_message(note, timestamp, &msg, &msg_len);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cosign: preparing the message failed");
    for (int i = 0; i < 8; i++)
        sig[i] = (uint8_t)(timestamp >> (56 - 8 * i));
    err = fws_signer_sign(signer, msg, msg_len, sig + 8, sizeof sig - 8, &sig_len);
    free(msg);
    if (err != FWS_OK || sig_len != FWS_NOTE_ED25519_SIG_LEN)
        return fws_errf(eb, err != FWS_OK ? err : FWS_ERR_CRYPTO, "cosign: signing failed");
    err = note_format_line(name, strlen(name), id, sig, FWS_COSIG_SIG_LEN, line,
                           FWS_NOTE_SIG_LINE_MAX, line_len);
    return err == FWS_OK ? FWS_OK : fws_errf(eb, err, "cosign: signature line too long");
}

fws_err fws_cosig_verify(const fws_note *note, const fws_note_vkey *witness, uint64_t *timestamp,
                         fws_errbuf *eb)
{
    uint8_t sig[FWS_COSIG_SIG_LEN];
    uint8_t *msg = NULL;
    size_t i = 0, sig_len = 0, msg_len = 0;

    if (note == NULL || witness == NULL || note->text == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "cosignature: no note or key");
    if (witness->type != FWS_NOTE_TYPE_COSIG_V1)
        return fws_errf(eb, FWS_ERR_KEY_TYPE,
                        "cosignature: key %s is not a cosignature (0x04) "
                        "key",
                        witness->name);
    fws_err err = note_find_sig(note, witness, &i, eb);
    if (err == FWS_OK)
        err = note_sig_bytes(note, i, sig, sizeof sig, &sig_len, eb);
    if (err != FWS_OK)
        return err;
    uint64_t ts = 0;
    for (int k = 0; k < 8 && sig_len == FWS_COSIG_SIG_LEN; k++)
        ts = (ts << 8) | sig[k];
    if (sig_len != FWS_COSIG_SIG_LEN || ts > COSIG_TS_MAX)
        return fws_errf(eb, FWS_ERR_SIGNATURE,
                        "cosignature from %s: malformed timestamped "
                        "signature",
                        witness->name);
    err = cosig_message(note, ts, &msg, &msg_len);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cosignature: preparing the message failed");
    err = note_ed25519_verify(witness->pub, msg, msg_len, sig + 8, FWS_NOTE_ED25519_SIG_LEN);
    free(msg);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cosignature from %s+%08x does not verify", witness->name,
                        (unsigned)witness->key_id);
    if (timestamp != NULL)
        *timestamp = ts;
    return FWS_OK;
}

static int same_key(const fws_note_vkey *a, const fws_note_vkey *b)
{
    return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0 &&
           a->key_id == b->key_id;
}

fws_err fws_cosig_verify_threshold(const fws_note *note, const fws_note_vkey *witnesses,
                                   size_t n_witnesses, size_t threshold, size_t *valid,
                                   fws_errbuf *eb)
{
    size_t ok = 0;

    if (note == NULL || (witnesses == NULL && n_witnesses > 0))
        return fws_errf(eb, FWS_ERR_ARG, "cosignatures: no note or witnesses");
    for (size_t i = 0; i < n_witnesses; i++) {
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = same_key(&witnesses[i], &witnesses[j]);
        if (dup)
            continue; /* a witness listed twice counts once */
        fws_errbuf one = {{0}};
        fws_err err = fws_cosig_verify(note, &witnesses[i], NULL, &one);
        if (err == FWS_OK)
            ok++;
        else if (err != FWS_ERR_KEY_MISMATCH)
            fws_errf(eb, err, "%s", one.msg);
    }
    if (valid != NULL)
        *valid = ok;
    if (ok < threshold)
        return fws_errf(eb, FWS_ERR_THRESHOLD,
                        "%zu of %zu witness cosignatures verify, %zu "
                        "needed",
                        ok, n_witnesses, threshold);
    return FWS_OK;
}
