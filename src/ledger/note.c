/* C2SP signed notes: strict, non-allocating parsing and formatting. */
#include <string.h>
#include "fwseal/note.h"
#include "fwseal/crypto.h"
#include "noteint.h"

/* Decodes one UTF-8 sequence at s[i]; returns its length (0 when invalid) and the code point. */
static size_t utf8_next(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    unsigned char c = s[i];
    size_t n;
    uint32_t v, min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, v = c & 0x1fu, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, v = c & 0x0fu, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, v = c & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (len - i < n)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[i + k] & 0xc0u) != 0x80u)
            return 0;
        v = (v << 6) | (s[i + k] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

fws_err note_utf8_check(const char *s, size_t len, size_t *line_out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t line = 1;

    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_next(u, len, i, &cp);
        if (n == 0 || (cp < 0x20 && cp != '\n')) {
            if (line_out != NULL)
                *line_out = line;
            return FWS_ERR_FORMAT;
        }
        if (cp == '\n')
            line++;
        i += n;
    }
    return FWS_OK;
}

/* Unicode White_Space, which key names must not contain. */
static int is_unicode_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
           cp == 0x205f || cp == 0x3000;
}

fws_err fws_note_name_check(const char *name, size_t len, fws_errbuf *eb)
{
    const unsigned char *u = (const unsigned char *)name;

    if (name == NULL || len == 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "key name is empty");
    if (len > FWS_NOTE_NAME_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "key name longer than %d bytes", FWS_NOTE_NAME_MAX);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_next(u, len, i, &cp);
        if (n == 0)
            return fws_errf(eb, FWS_ERR_FORMAT, "key name is not valid UTF-8");
        if (cp < 0x20 || cp == 0x7f || is_unicode_space(cp) || cp == '+')
            return fws_errf(eb, FWS_ERR_FORMAT, "key name contains a space, '+' or control");
        i += n;
    }
    return FWS_OK;
}

fws_err fws_note_text_check(const char *text, size_t len, fws_errbuf *eb)
{
    size_t line = 0;

    if (text == NULL || len == 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "note text is empty");
    if (len > FWS_NOTE_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "note text over %d bytes", FWS_NOTE_MAX);
    if (note_utf8_check(text, len, &line) != FWS_OK)
        return fws_errf(eb, FWS_ERR_FORMAT,
                        "note text line %zu: invalid UTF-8 or a control character", line);
    if (text[len - 1] != '\n')
        return fws_errf(eb, FWS_ERR_FORMAT, "note text does not end in a newline");
    return FWS_OK;
}

/* Parses one signature line s[0..len) (without its newline) into sig. */
static fws_err parse_sig_line(const char *s, size_t len, size_t line, fws_note_sig *sig,
                              fws_errbuf *eb)
{
    uint8_t buf[NOTE_SIG_BYTES_MAX];
    size_t n = 0;

    if (len < NOTE_SIG_PREFIX_LEN || memcmp(s, NOTE_SIG_PREFIX, NOTE_SIG_PREFIX_LEN) != 0)
        return fws_errf(eb, FWS_ERR_FORMAT,
                        "note line %zu: signature line must start with "
                        "an em dash and a space",
                        line);
    const char *name = s + NOTE_SIG_PREFIX_LEN;
    const char *end = s + len;
    const char *sp = memchr(name, ' ', (size_t)(end - name));
    if (sp == NULL)
        return fws_errf(eb, FWS_ERR_FORMAT, "note line %zu: no space after the key name", line);
    if (fws_note_name_check(name, (size_t)(sp - name), NULL) != FWS_OK)
        return fws_errf(eb, FWS_ERR_FORMAT, "note line %zu: invalid key name", line);
    const char *b64 = sp + 1;
    size_t b64_len = (size_t)(end - b64);
    if (b64_len > FWS_NOTE_SIG_B64_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "note line %zu: signature over %d characters", line,
                        FWS_NOTE_SIG_B64_MAX);
    if (fws_base64_decode(b64, b64_len, buf, sizeof buf, &n) != FWS_OK || n < 5)
        return fws_errf(eb, FWS_ERR_FORMAT,
                        "note line %zu: signature is not base64 of at "
                        "least 5 bytes",
                        line);
    sig->name = name;
    sig->name_len = (size_t)(sp - name);
    sig->key_id = ((uint32_t)buf[0] << 24) | ((uint32_t)buf[1] << 16) | ((uint32_t)buf[2] << 8) |
                  (uint32_t)buf[3];
    sig->sig_b64 = b64;
    sig->sig_b64_len = b64_len;
    return FWS_OK;
}

/* Index just past the last "\n\n" separator's first newline, or 0 when there is none. */
static size_t find_split(const char *s, size_t len)
{
    for (size_t i = len - 1; i > 0; i--)
        if (s[i] == '\n' && s[i - 1] == '\n')
            return i;
    return 0;
}

static size_t count_lines(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '\n';
    return n;
}

fws_err fws_note_parse(const char *unverified, size_t len, fws_note *out, fws_errbuf *eb)
{
    size_t line = 0;

    if (unverified == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "note: no input");
    if (len > FWS_NOTE_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "note over %d bytes", FWS_NOTE_MAX);
    if (len == 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "note is empty");
    if (note_utf8_check(unverified, len, &line) != FWS_OK)
        return fws_errf(eb, FWS_ERR_FORMAT, "note line %zu: invalid UTF-8 or a control character",
                        line);
    if (unverified[len - 1] != '\n')
        return fws_errf(eb, FWS_ERR_FORMAT, "note does not end in a newline");
    size_t split = find_split(unverified, len);
    if (split == 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "note has no blank line before its signatures");

    size_t n_sigs = 0;
    size_t lineno = count_lines(unverified, split) + 1;
    for (size_t pos = split + 1; pos < len; lineno++) {
        const char *nl = memchr(unverified + pos, '\n', len - pos);
        size_t l = (size_t)(nl - (unverified + pos));
        if (n_sigs == FWS_NOTE_MAX_SIGS)
            return fws_errf(eb, FWS_ERR_TOO_BIG, "note has more than %d signatures",
                            FWS_NOTE_MAX_SIGS);
        fws_err err = parse_sig_line(unverified + pos, l, lineno, &out->sigs[n_sigs], eb);
        if (err != FWS_OK)
            return err;
        n_sigs++;
        pos += l + 1;
    }
    if (n_sigs == 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "note has no signature lines");
    out->text = unverified;
    out->text_len = split;
    out->n_sigs = n_sigs;
    return FWS_OK;
}

fws_err fws_note_format(const fws_note *note, char *out, size_t cap, size_t *len, fws_errbuf *eb)
{
    size_t need, pos = 0;

    if (note == NULL || out == NULL || note->text == NULL || note->n_sigs == 0 ||
        note->n_sigs > FWS_NOTE_MAX_SIGS)
        return fws_errf(eb, FWS_ERR_ARG, "note format: no text or signatures");
    need = note->text_len + 1;
    for (size_t i = 0; i < note->n_sigs; i++)
        need += NOTE_SIG_PREFIX_LEN + note->sigs[i].name_len + 1 + note->sigs[i].sig_b64_len + 1;
    if (need + 1 > cap)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "note format: needs %zu bytes", need + 1);
    memcpy(out, note->text, note->text_len);
    pos = note->text_len;
    out[pos++] = '\n';
    for (size_t i = 0; i < note->n_sigs; i++) {
        const fws_note_sig *s = &note->sigs[i];
        memcpy(out + pos, NOTE_SIG_PREFIX, NOTE_SIG_PREFIX_LEN);
        pos += NOTE_SIG_PREFIX_LEN;
        memcpy(out + pos, s->name, s->name_len);
        pos += s->name_len;
        out[pos++] = ' ';
        memcpy(out + pos, s->sig_b64, s->sig_b64_len);
        pos += s->sig_b64_len;
        out[pos++] = '\n';
    }
    out[pos] = '\0';
    if (len != NULL)
        *len = pos;
    return FWS_OK;
}

fws_err note_parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
        return FWS_ERR_FORMAT;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return FWS_ERR_FORMAT;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return FWS_ERR_FORMAT;
        v = v * 10 + d;
    }
    *out = v;
    return FWS_OK;
}
