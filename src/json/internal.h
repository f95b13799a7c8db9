/* Internals of the canonical JSON module: the non-allocating lexer and pre-scan, the UTF-8
 * decoder and message helpers shared by the files in src/json. Not a public API. */
#ifndef FWSEAL_JSON_INTERNAL_H
#define FWSEAL_JSON_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/json.h"

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0 when it is invalid or truncated. */
size_t fwsj_utf8_seq(const uint8_t *s, size_t avail);

enum fwsj_tok {
    FWSJ_EOF,
    FWSJ_LBRACE,
    FWSJ_RBRACE,
    FWSJ_LBRACKET,
    FWSJ_RBRACKET,
    FWSJ_COLON,
    FWSJ_COMMA,
    FWSJ_STRING,
    FWSJ_INT,
    FWSJ_REAL,
    FWSJ_LITERAL /* true, false, null */
};

struct fwsj_lexer {
    const uint8_t *s;
    size_t len;
    size_t pos;
    size_t max_string; /* cap on a string's unescaped length */
};

struct fwsj_token {
    enum fwsj_tok type;
    size_t start;   /* offset of the first byte */
    size_t end;     /* offset one past the last byte */
    size_t str_len; /* FWSJ_STRING: bytes after unescaping */
};

/* Reads the next token, skipping JSON whitespace. Never allocates. Errors: FWS_ERR_FORMAT
 * (bad token, invalid UTF-8, integer beyond 64 bits), FWS_ERR_TOO_BIG (string over the cap). */
fws_err fwsj_lex_next(struct fwsj_lexer *lx, struct fwsj_token *tok, fws_errbuf *eb);

/* The pre-scan: checks the whole grammar and every cap of lim (already clamped) without
 * allocating. reject_reals makes a fraction or exponent an FWS_ERR_FORMAT. */
fws_err fwsj_scan(const uint8_t *s, size_t len, const fws_json_limits *lim, int reject_reals,
                  fws_errbuf *eb);

/* Finds the last string token that ends at or before offset end, for error messages.
 * Returns 1 and its bounds (quotes included) when found. The input must have passed the scan. */
int fwsj_string_before(const uint8_t *s, size_t len, size_t end, size_t *tok_start,
                       size_t *tok_end);

/* Copies at most 64 bytes of s into out (NUL-terminated) for a one-line message: control
 * bytes become '?', a cut never splits a UTF-8 sequence, and "..." marks a cut. */
void fwsj_msg_text(const uint8_t *s, size_t n, char *out, size_t cap);

/* Describes one byte for a message: 'x' when printable ASCII, else 0xNN. */
void fwsj_msg_byte(uint8_t c, char out[8]);

#endif
