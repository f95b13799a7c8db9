/* The pre-scan: validates the grammar and enforces every cap (size, depth, string length,
 * members) over the raw bytes before jansson allocates anything. Its only state is a fixed
 * stack of FWS_JSON_MAX_DEPTH entries. */
#include <string.h>
#include "internal.h"

enum expect {
    EX_VALUE,          /* a value (top level, after ':' or after ',' in an array) */
    EX_VALUE_OR_CLOSE, /* right after '[' */
    EX_KEY,            /* after ',' in an object */
    EX_KEY_OR_CLOSE,   /* right after '{' */
    EX_COLON,
    EX_COMMA_OR_CLOSE,
    EX_END
};

struct scan {
    const fws_json_limits *lim;
    unsigned max_depth; /* lim->max_depth, at most FWS_JSON_MAX_DEPTH */
    int reject_reals;
    unsigned depth;
    enum expect expect;
    unsigned char is_object[FWS_JSON_MAX_DEPTH];
    size_t members[FWS_JSON_MAX_DEPTH];
};

static void after_value(struct scan *sc)
{
    sc->expect = sc->depth == 0 ? EX_END : EX_COMMA_OR_CLOSE;
}

static fws_err count_member(struct scan *sc, const struct fwsj_token *tok, fws_errbuf *eb)
{
    unsigned top = sc->depth - 1;
    if (++sc->members[top] > sc->lim->max_members)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "byte %zu: more than %zu %s", tok->start,
                        sc->lim->max_members,
                        sc->is_object[top] ? "members in one object" : "elements in one array");
    return FWS_OK;
}

static fws_err open_container(struct scan *sc, const struct fwsj_token *tok, fws_errbuf *eb)
{
    if (sc->depth >= sc->max_depth)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "byte %zu: nesting deeper than %u levels", tok->start,
                        sc->max_depth);
    sc->is_object[sc->depth] = tok->type == FWSJ_LBRACE;
    sc->members[sc->depth] = 0;
    sc->depth++;
    sc->expect = tok->type == FWSJ_LBRACE ? EX_KEY_OR_CLOSE : EX_VALUE_OR_CLOSE;
    return FWS_OK;
}

static fws_err unexpected(const struct fwsj_token *tok, const char *wanted, fws_errbuf *eb)
{
    if (tok->type == FWSJ_EOF)
        return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: unexpected end of input, expected %s",
                        tok->start, wanted);
    return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: expected %s", tok->start, wanted);
}

static fws_err on_value(struct scan *sc, const struct fwsj_token *tok, fws_errbuf *eb)
{
    fws_err err;
    if (sc->expect == EX_VALUE_OR_CLOSE && tok->type == FWSJ_RBRACKET) {
        sc->depth--;
        after_value(sc);
        return FWS_OK;
    }
    if (sc->depth > 0 && !sc->is_object[sc->depth - 1] &&
        (err = count_member(sc, tok, eb)) != FWS_OK)
        return err;
    switch (tok->type) {
    case FWSJ_LBRACE:
    case FWSJ_LBRACKET:
        return open_container(sc, tok, eb);
    case FWSJ_REAL:
        if (sc->reject_reals)
            return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: real number not allowed (integers only)",
                            tok->start);
        after_value(sc);
        return FWS_OK;
    case FWSJ_STRING:
    case FWSJ_INT:
    case FWSJ_LITERAL:
        after_value(sc);
        return FWS_OK;
    default:
        return unexpected(tok, "a value", eb);
    }
}

static fws_err on_key(struct scan *sc, const struct fwsj_token *tok, fws_errbuf *eb)
{
    if (sc->expect == EX_KEY_OR_CLOSE && tok->type == FWSJ_RBRACE) {
        sc->depth--;
        after_value(sc);
        return FWS_OK;
    }
    if (tok->type != FWSJ_STRING)
        return unexpected(tok, "a string key", eb);
    sc->expect = EX_COLON;
    return count_member(sc, tok, eb);
}

static fws_err on_comma_or_close(struct scan *sc, const struct fwsj_token *tok, fws_errbuf *eb)
{
    int obj = sc->is_object[sc->depth - 1];
    if (tok->type == FWSJ_COMMA) {
        sc->expect = obj ? EX_KEY : EX_VALUE;
        return FWS_OK;
    }
    if (tok->type == (obj ? FWSJ_RBRACE : FWSJ_RBRACKET)) {
        sc->depth--;
        after_value(sc);
        return FWS_OK;
    }
    return unexpected(tok, obj ? "',' or '}'" : "',' or ']'", eb);
}

static fws_err step(struct scan *sc, const struct fwsj_token *tok, fws_errbuf *eb)
{
    switch (sc->expect) {
    case EX_VALUE:
    case EX_VALUE_OR_CLOSE:
        return on_value(sc, tok, eb);
    case EX_KEY:
    case EX_KEY_OR_CLOSE:
        return on_key(sc, tok, eb);
    case EX_COLON:
        if (tok->type != FWSJ_COLON)
            return unexpected(tok, "':'", eb);
        sc->expect = EX_VALUE;
        return FWS_OK;
    case EX_COMMA_OR_CLOSE:
        return on_comma_or_close(sc, tok, eb);
    case EX_END:
    default:
        return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: trailing data after the JSON value",
                        tok->start);
    }
}

fws_err fwsj_scan(const uint8_t *s, size_t len, const fws_json_limits *lim, int reject_reals,
                  fws_errbuf *eb)
{
    struct fwsj_lexer lx = {s, len, 0, lim->max_string};
    struct fwsj_token tok;
    struct scan sc;
    fws_err err;

    if (len > lim->max_bytes)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "document is %zu bytes, over the %zu byte limit", len,
                        lim->max_bytes);
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "byte 0: byte order mark not allowed");
    memset(&sc, 0, sizeof(sc));
    sc.lim = lim;
    sc.max_depth = lim->max_depth < FWS_JSON_MAX_DEPTH ? lim->max_depth : FWS_JSON_MAX_DEPTH;
    sc.reject_reals = reject_reals;
    sc.expect = EX_VALUE;
    while (sc.expect != EX_END) {
        if ((err = fwsj_lex_next(&lx, &tok, eb)) != FWS_OK)
            return err;
        if ((err = step(&sc, &tok, eb)) != FWS_OK)
            return err;
    }
    while (lx.pos < len && strchr(" \t\n\r", s[lx.pos]) != NULL && s[lx.pos] != '\0')
        lx.pos++;
    if (lx.pos < len)
        return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: trailing data after the JSON value", lx.pos);
    return FWS_OK;
}

int fwsj_string_before(const uint8_t *s, size_t len, size_t end, size_t *tok_start, size_t *tok_end)
{
    struct fwsj_lexer lx = {s, len, 0, SIZE_MAX};
    struct fwsj_token tok;
    int found = 0;
    while (fwsj_lex_next(&lx, &tok, NULL) == FWS_OK && tok.type != FWSJ_EOF && tok.end <= end) {
        if (tok.type == FWSJ_STRING) {
            *tok_start = tok.start;
            *tok_end = tok.end;
            found = 1;
        }
    }
    return found;
}
