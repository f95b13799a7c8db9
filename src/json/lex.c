/* The JSON lexer behind the pre-scan: one token at a time over raw bytes, no allocation.
 * Strings are measured as they would be after unescaping, so the string cap is exact. */
#include <string.h>
#include "internal.h"

static int is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads "\uXXXX" at pos; returns the code unit or -1. */
static long read_u_escape(const struct fwsj_lexer *lx, size_t pos)
{
    if (lx->len - pos < 6 || lx->s[pos] != '\\' || lx->s[pos + 1] != 'u')
        return -1;
    long v = 0;
    for (size_t i = 2; i < 6; i++) {
        int h = hex_value(lx->s[pos + i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* A \u escape at pos (the backslash): adds its UTF-8 length to *n, advances *pos. */
static fws_err lex_u_escape(const struct fwsj_lexer *lx, size_t *pos, size_t *n, fws_errbuf *eb)
{
    long cu = read_u_escape(lx, *pos);
    if (cu < 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: invalid \\u escape", *pos);
    if (cu >= 0xDC00 && cu <= 0xDFFF)
        return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: unpaired surrogate in \\u escape", *pos);
    if (cu >= 0xD800 && cu <= 0xDBFF) {
        long lo = read_u_escape(lx, *pos + 6);
        if (lo < 0xDC00 || lo > 0xDFFF)
            return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: unpaired surrogate in \\u escape", *pos);
        *n += 4;
        *pos += 12;
        return FWS_OK;
    }
    *n += (cu < 0x80) ? 1 : (cu < 0x800) ? 2 : 3;
    *pos += 6;
    return FWS_OK;
}

/* One escape sequence at pos (the backslash). */
static fws_err lex_escape(const struct fwsj_lexer *lx, size_t *pos, size_t *n, fws_errbuf *eb)
{
    if (lx->len - *pos < 2)
        return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: unterminated string", *pos);
    uint8_t e = lx->s[*pos + 1];
    if (e == 'u')
        return lex_u_escape(lx, pos, n, eb);
    if (strchr("\"\\/bfnrt", e) == NULL || e == '\0') {
        char d[8];
        fwsj_msg_byte(e, d);
        return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: invalid escape \\%s", *pos, d);
    }
    *n += 1;
    *pos += 2;
    return FWS_OK;
}

/* A string starting at tok->start (the opening quote). Raw control bytes are accepted: the
 * canonical form writes them unescaped. */
static fws_err lex_string(struct fwsj_lexer *lx, struct fwsj_token *tok, fws_errbuf *eb)
{
    size_t pos = tok->start + 1, n = 0;
    fws_err err;
    for (;;) {
        if (pos >= lx->len)
            return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: unterminated string", tok->start);
        uint8_t c = lx->s[pos];
        if (c == '"')
            break;
        if (c == '\\') {
            if ((err = lex_escape(lx, &pos, &n, eb)) != FWS_OK)
                return err;
        } else if (c < 0x80) {
            n++;
            pos++;
        } else {
            size_t k = fwsj_utf8_seq(lx->s + pos, lx->len - pos);
            if (k == 0)
                return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: invalid UTF-8", pos);
            n += k;
            pos += k;
        }
        if (n > lx->max_string)
            return fws_errf(eb, FWS_ERR_TOO_BIG, "byte %zu: string longer than %zu bytes",
                            tok->start, lx->max_string);
    }
    tok->type = FWSJ_STRING;
    tok->end = pos + 1;
    tok->str_len = n;
    return FWS_OK;
}

static size_t skip_digits(const struct fwsj_lexer *lx, size_t pos)
{
    while (pos < lx->len && is_digit(lx->s[pos]))
        pos++;
    return pos;
}

/* 1 when the decimal digits d[0..n) (no sign, no leading zero) fit in int64_t. */
static int int64_fits(const uint8_t *d, size_t n, int negative)
{
    const char *limit = negative ? "9223372036854775808" : "9223372036854775807";
    if (n != 19)
        return n < 19;
    return memcmp(d, limit, 19) <= 0;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static fws_err lex_number(struct fwsj_lexer *lx, struct fwsj_token *tok, fws_errbuf *eb)
{
    size_t pos = tok->start, digits;
    int negative = lx->s[pos] == '-', real = 0;
    if (negative)
        pos++;
    digits = pos;
    if (pos >= lx->len || !is_digit(lx->s[pos]))
        return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: invalid number", tok->start);
    if (lx->s[pos] == '0' && pos + 1 < lx->len && is_digit(lx->s[pos + 1]))
        return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: number with a leading zero", tok->start);
    pos = skip_digits(lx, pos);
    size_t ndigits = pos - digits;
    if (pos < lx->len && lx->s[pos] == '.') {
        real = 1;
        if (skip_digits(lx, pos + 1) == pos + 1)
            return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: invalid number", tok->start);
        pos = skip_digits(lx, pos + 1);
    }
    if (pos < lx->len && (lx->s[pos] == 'e' || lx->s[pos] == 'E')) {
        real = 1;
        pos++;
        if (pos < lx->len && (lx->s[pos] == '+' || lx->s[pos] == '-'))
            pos++;
        if (skip_digits(lx, pos) == pos)
            return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: invalid number", tok->start);
        pos = skip_digits(lx, pos);
    }
    if (!real && !int64_fits(lx->s + digits, ndigits, negative))
        return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: integer beyond 64 bits", tok->start);
    tok->type = real ? FWSJ_REAL : FWSJ_INT;
    tok->end = pos;
    return FWS_OK;
}

static fws_err lex_literal(struct fwsj_lexer *lx, struct fwsj_token *tok, fws_errbuf *eb)
{
    static const char *const words[] = {"true", "false", "null"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t n = strlen(words[i]);
        if (lx->len - tok->start >= n && memcmp(lx->s + tok->start, words[i], n) == 0) {
            tok->type = FWSJ_LITERAL;
            tok->end = tok->start + n;
            return FWS_OK;
        }
    }
    return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: invalid literal", tok->start);
}

static int single_char_token(uint8_t c, enum fwsj_tok *type)
{
    switch (c) {
    case '{':
        *type = FWSJ_LBRACE;
        return 1;
    case '}':
        *type = FWSJ_RBRACE;
        return 1;
    case '[':
        *type = FWSJ_LBRACKET;
        return 1;
    case ']':
        *type = FWSJ_RBRACKET;
        return 1;
    case ':':
        *type = FWSJ_COLON;
        return 1;
    case ',':
        *type = FWSJ_COMMA;
        return 1;
    default:
        return 0;
    }
}

fws_err fwsj_lex_next(struct fwsj_lexer *lx, struct fwsj_token *tok, fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    while (lx->pos < lx->len && is_ws(lx->s[lx->pos]))
        lx->pos++;
    tok->start = lx->pos;
    tok->end = lx->pos;
    tok->str_len = 0;
    if (lx->pos >= lx->len) {
        tok->type = FWSJ_EOF;
        return FWS_OK;
    }
    uint8_t c = lx->s[lx->pos];
    if (single_char_token(c, &tok->type)) {
        tok->end = lx->pos + 1;
    } else if (c == '"') {
        err = lex_string(lx, tok, eb);
    } else if (c == '-' || is_digit(c)) {
        err = lex_number(lx, tok, eb);
    } else if (c == 't' || c == 'f' || c == 'n') {
        err = lex_literal(lx, tok, eb);
    } else {
        char d[8];
        fwsj_msg_byte(c, d);
        return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: unexpected %s", lx->pos, d);
    }
    if (err == FWS_OK)
        lx->pos = tok->end;
    return err;
}
