/* Signed-note keys: key IDs, vkeys, Ed25519 signing and verification of notes. */
#include <stdio.h>
#include <string.h>
#include "fwseal/note.h"
#include "fwseal/crypto.h"
#include "noteint.h"

fws_err fws_note_key_id(const char *name, size_t name_len, uint8_t type, const uint8_t *pub,
                        size_t pub_len, uint32_t *id)
{
    fws_sha256_ctx c;
    uint8_t d[FWS_SHA256_LEN];
    const uint8_t nl = '\n';

    if (name == NULL || pub == NULL || id == NULL)
        return FWS_ERR_ARG;
    fws_sha256_init(&c);
    fws_sha256_update(&c, name, name_len);
    fws_sha256_update(&c, &nl, 1);
    fws_sha256_update(&c, &type, 1);
    fws_sha256_update(&c, pub, pub_len);
    fws_sha256_final(&c, d);
    *id = ((uint32_t)d[0] << 24) | ((uint32_t)d[1] << 16) | ((uint32_t)d[2] << 8) | d[3];
    return FWS_OK;
}

fws_err fws_note_vkey_make(const char *name, size_t name_len, uint8_t type,
                           const uint8_t pub[FWS_NOTE_ED25519_PUB_LEN], fws_note_vkey *out,
                           fws_errbuf *eb)
{
    fws_note_vkey k;

    if (name == NULL || pub == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "vkey: missing name or key");
    fws_err err = fws_note_name_check(name, name_len, eb);
    if (err != FWS_OK)
        return err;
    if (type != FWS_NOTE_TYPE_ED25519 && type != FWS_NOTE_TYPE_COSIG_V1)
        return fws_errf(eb, FWS_ERR_UNSUPPORTED, "vkey: signature type 0x%02x not supported", type);
    memset(&k, 0, sizeof k);
    memcpy(k.name, name, name_len);
    k.name_len = name_len;
    k.type = type;
    memcpy(k.pub, pub, FWS_NOTE_ED25519_PUB_LEN);
    err = fws_note_key_id(name, name_len, type, pub, FWS_NOTE_ED25519_PUB_LEN, &k.key_id);
    if (err != FWS_OK)
        return err;
    *out = k;
    return FWS_OK;
}

fws_err fws_note_vkey_from_key(const char *name, uint8_t type, const fws_key *key,
                               fws_note_vkey *out, fws_errbuf *eb)
{
    uint8_t pub[FWS_PUBKEY_MAX];
    size_t len = 0;

    if (name == NULL || key == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "vkey: missing name or key");
    if (fws_key_get_type(key) != FWS_KEY_ED25519)
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "vkey: signed notes need an Ed25519 key");
    fws_err err = fws_key_raw_public(key, pub, sizeof pub, &len);
    if (err != FWS_OK || len != FWS_NOTE_ED25519_PUB_LEN)
        return fws_errf(eb, err != FWS_OK ? err : FWS_ERR_KEY_TYPE, "vkey: no Ed25519 public key");
    return fws_note_vkey_make(name, strlen(name), type, pub, out, eb);
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

fws_err fws_note_vkey_parse(const char *text, size_t len, fws_note_vkey *out, fws_errbuf *eb)
{
    uint8_t raw[64], idb[4];
    size_t raw_len = 0, id_len = 0;
    fws_note_vkey k;

    if (text == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "vkey: no input");
    while (len > 0 && is_ws(text[0]))
        text++, len--;
    while (len > 0 && is_ws(text[len - 1]))
        len--;
    if (len == 0 || len >= FWS_NOTE_VKEY_MAX)
        return fws_errf(eb, FWS_ERR_FORMAT, "vkey: empty or longer than %d bytes",
                        FWS_NOTE_VKEY_MAX - 1);
    const char *p1 = memchr(text, '+', len);
    if (p1 == NULL || (size_t)(text + len - p1) < 11 || p1[9] != '+')
        return fws_errf(eb, FWS_ERR_FORMAT, "vkey: expected <name>+<8 hex digits>+<base64 key>");
    size_t name_len = (size_t)(p1 - text);
    if (fws_hex_decode(p1 + 1, 8, idb, sizeof idb, &id_len) != FWS_OK || id_len != 4)
        return fws_errf(eb, FWS_ERR_FORMAT, "vkey: key ID is not 8 hex digits");
    const char *b64 = p1 + 10;
    size_t b64_len = (size_t)(text + len - b64);
    if (fws_base64_decode(b64, b64_len, raw, sizeof raw, &raw_len) != FWS_OK || raw_len < 1)
        return fws_errf(eb, FWS_ERR_FORMAT, "vkey: key is not base64");
    if ((raw[0] != FWS_NOTE_TYPE_ED25519 && raw[0] != FWS_NOTE_TYPE_COSIG_V1) ||
        raw_len != 1 + FWS_NOTE_ED25519_PUB_LEN)
        return fws_errf(eb, FWS_ERR_UNSUPPORTED,
                        "vkey: only Ed25519 keys (types 0x01 and 0x04) are supported");
    fws_err err = fws_note_vkey_make(text, name_len, raw[0], raw + 1, &k, eb);
    if (err != FWS_OK)
        return err;
    uint32_t claimed =
        ((uint32_t)idb[0] << 24) | ((uint32_t)idb[1] << 16) | ((uint32_t)idb[2] << 8) | idb[3];
    if (claimed != k.key_id)
        return fws_errf(eb, FWS_ERR_KEY_MISMATCH,
                        "vkey: key ID %08x does not match the key "
                        "(%08x)",
                        (unsigned)claimed, (unsigned)k.key_id);
    *out = k;
    return FWS_OK;
}

fws_err fws_note_vkey_format(const fws_note_vkey *key, char out[FWS_NOTE_VKEY_MAX], size_t *len)
{
    uint8_t raw[1 + FWS_NOTE_ED25519_PUB_LEN];
    char b64[FWS_BASE64_LEN(sizeof raw) + 1];

    if (key == NULL || out == NULL || key->name_len == 0 || key->name_len > FWS_NOTE_NAME_MAX)
        return FWS_ERR_ARG;
    raw[0] = key->type;
    memcpy(raw + 1, key->pub, FWS_NOTE_ED25519_PUB_LEN);
    fws_base64_encode(raw, sizeof raw, b64);
    int n = snprintf(out, FWS_NOTE_VKEY_MAX, "%.*s+%08x+%s", (int)key->name_len, key->name,
                     (unsigned)key->key_id, b64);
    if (n < 0 || n >= FWS_NOTE_VKEY_MAX)
        return FWS_ERR_TOO_BIG;
    if (len != NULL)
        *len = (size_t)n;
    return FWS_OK;
}

/* ---- helpers for verification ----------------------------------------------------------- */

fws_err note_find_sig(const fws_note *note, const fws_note_vkey *key, size_t *index, fws_errbuf *eb)
{
    size_t found = note->n_sigs;

    for (size_t i = 0; i < note->n_sigs; i++) {
        const fws_note_sig *s = &note->sigs[i];
        if (s->name_len != key->name_len || memcmp(s->name, key->name, s->name_len) != 0 ||
            s->key_id != key->key_id)
            continue;
        if (found != note->n_sigs)
            return fws_errf(eb, FWS_ERR_FORMAT, "note: two signatures from key %s+%08x", key->name,
                            (unsigned)key->key_id);
        found = i;
    }
    if (found == note->n_sigs)
        return fws_errf(eb, FWS_ERR_KEY_MISMATCH, "note: no signature from key %s+%08x", key->name,
                        (unsigned)key->key_id);
    *index = found;
    return FWS_OK;
}

fws_err note_sig_bytes(const fws_note *note, size_t i, uint8_t *buf, size_t cap, size_t *len,
                       fws_errbuf *eb)
{
    uint8_t all[NOTE_SIG_BYTES_MAX];
    size_t n = 0;
    const fws_note_sig *s = &note->sigs[i];

    if (fws_base64_decode(s->sig_b64, s->sig_b64_len, all, sizeof all, &n) != FWS_OK || n < 4)
        return fws_errf(eb, FWS_ERR_FORMAT, "note: signature %zu is not base64", i + 1);
    if (n - 4 > cap)
        return fws_errf(eb, FWS_ERR_SIGNATURE, "note: signature from %.*s has the wrong length",
                        (int)s->name_len, s->name);
    memcpy(buf, all + 4, n - 4);
    *len = n - 4;
    return FWS_OK;
}

fws_err note_ed25519_verify(const uint8_t pub[32], const uint8_t *msg, size_t len,
                            const uint8_t *sig, size_t sig_len)
{
    fws_key *k = NULL;

    if (sig_len != FWS_NOTE_ED25519_SIG_LEN)
        return FWS_ERR_SIGNATURE;
    fws_err err = fws_key_from_raw_public(FWS_KEY_ED25519, pub, 32, &k);
    if (err != FWS_OK)
        return err;
    err = fws_key_verify(k, msg, len, sig, sig_len);
    fws_key_free(k);
    return err == FWS_OK ? FWS_OK : FWS_ERR_SIGNATURE;
}

fws_err fws_note_verify(const fws_note *note, const fws_note_vkey *key, fws_errbuf *eb)
{
    uint8_t sig[FWS_NOTE_ED25519_SIG_LEN];
    size_t i = 0, sig_len = 0;

    if (note == NULL || key == NULL || note->text == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "note verify: no note or key");
    if (key->type != FWS_NOTE_TYPE_ED25519)
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "note verify: key %s is not an Ed25519 (0x01) key",
                        key->name);
    fws_err err = note_find_sig(note, key, &i, eb);
    if (err == FWS_OK)
        err = note_sig_bytes(note, i, sig, sizeof sig, &sig_len, eb);
    if (err != FWS_OK)
        return err;
    err = note_ed25519_verify(key->pub, (const uint8_t *)note->text, note->text_len, sig, sig_len);
    if (err != FWS_OK)
        return fws_errf(eb, err, "note: signature from %s+%08x does not verify", key->name,
                        (unsigned)key->key_id);
    return FWS_OK;
}

/* ---- signing ------------------------------------------------------------------------------ */

fws_err note_signer_pub(const fws_signer *signer, uint8_t pub[32], fws_errbuf *eb)
{
    fws_key *k = NULL;
    uint8_t raw[FWS_PUBKEY_MAX];
    size_t len = 0;

    if (signer == NULL || signer->type != FWS_KEY_ED25519)
        return fws_errf(eb, FWS_ERR_KEY_TYPE, "signed notes need an Ed25519 signer");
    fws_err err = fws_signer_public_key(signer, &k);
    if (err != FWS_OK)
        return fws_errf(eb, err, "signer has no public key");
    err = fws_key_raw_public(k, raw, sizeof raw, &len);
    fws_key_free(k);
    if (err != FWS_OK || len != 32)
        return fws_errf(eb, err != FWS_OK ? err : FWS_ERR_KEY_TYPE, "signer's public key");
    memcpy(pub, raw, 32);
    return FWS_OK;
}

fws_err note_format_line(const char *name, size_t name_len, uint32_t key_id, const uint8_t *sig,
                         size_t sig_len, char *line, size_t cap, size_t *line_len)
{
    uint8_t raw[4 + FWS_COSIG_SIG_LEN];
    char b64[FWS_BASE64_LEN(sizeof raw) + 1];

    if (sig_len > FWS_COSIG_SIG_LEN)
        return FWS_ERR_ARG;
    raw[0] = (uint8_t)(key_id >> 24);
    raw[1] = (uint8_t)(key_id >> 16);
    raw[2] = (uint8_t)(key_id >> 8);
    raw[3] = (uint8_t)key_id;
    memcpy(raw + 4, sig, sig_len);
    fws_base64_encode(raw, 4 + sig_len, b64);
    int n = snprintf(line, cap, "%s%.*s %s\n", NOTE_SIG_PREFIX, (int)name_len, name, b64);
    if (n < 0 || (size_t)n >= cap)
        return FWS_ERR_TOO_BIG;
    if (line_len != NULL)
        *line_len = (size_t)n;
    return FWS_OK;
}

fws_err fws_note_sign_line(const char *text, size_t text_len, const char *name,
                           const fws_signer *signer, char line[FWS_NOTE_SIG_LINE_MAX],
                           size_t *line_len, fws_errbuf *eb)
{
    uint8_t pub[32], sig[FWS_SIG_MAX];
    size_t sig_len = 0;
    uint32_t id = 0;

    if (name == NULL || line == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "note sign: missing name or output");
    fws_err err = fws_note_text_check(text, text_len, eb);
    if (err == FWS_OK)
        err = fws_note_name_check(name, strlen(name), eb);
    if (err == FWS_OK)
        err = note_signer_pub(signer, pub, eb);
    if (err == FWS_OK)
        err = fws_note_key_id(name, strlen(name), FWS_NOTE_TYPE_ED25519, pub, 32, &id);
    if (err != FWS_OK)
        return err;
    err = fws_signer_sign(signer, (const uint8_t *)text, text_len, sig, sizeof sig, &sig_len);
    if (err != FWS_OK || sig_len != FWS_NOTE_ED25519_SIG_LEN)
        return fws_errf(eb, err != FWS_OK ? err : FWS_ERR_CRYPTO, "note sign: signing failed");
    err = note_format_line(name, strlen(name), id, sig, sig_len, line, FWS_NOTE_SIG_LINE_MAX,
                           line_len);
    return err == FWS_OK ? FWS_OK : fws_errf(eb, err, "note sign: signature line too long");
}

fws_err fws_note_sign(const char *text, size_t text_len, const char *name, const fws_signer *signer,
                      char *out, size_t cap, size_t *len, fws_errbuf *eb)
{
    char line[FWS_NOTE_SIG_LINE_MAX];
    size_t line_len = 0;

    if (out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "note sign: no output buffer");
    fws_err err = fws_note_sign_line(text, text_len, name, signer, line, &line_len, eb);
    if (err != FWS_OK)
        return err;
    size_t total = text_len + 1 + line_len;
    if (total + 1 > cap || total > FWS_NOTE_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "note sign: signed note needs %zu bytes", total + 1);
    memcpy(out, text, text_len);
    out[text_len] = '\n';
    memcpy(out + text_len + 1, line, line_len);
    out[total] = '\0';
    if (len != NULL)
        *len = total;
    return FWS_OK;
}
