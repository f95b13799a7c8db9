/* ECMA-262 patterns (JSON Schema "pattern") on POSIX regcomp/regexec.
 *
 * JSON Schema patterns are ECMA-262 regular expressions, which ajv compiles with the "u" flag.
 * POSIX EREs agree with them on the subset below once three things are taken care of:
 * - '.' in ECMA-262 is one code point other than a line terminator (LF, CR, U+2028, U+2029);
 *   POSIX (in the C locale fwseal forces) sees bytes, so '.' becomes an alternation that
 *   consumes exactly one UTF-8 character and refuses the four terminators;
 * - \d becomes [0-9] and an escaped syntax character becomes a POSIX-escaped literal;
 * - the C locale makes [a-z] mean bytes 'a' to 'z' whatever the process locale is.
 * Leftmost-longest (POSIX) and leftmost-first (ECMA) matching find a match in the same strings,
 * and fwseal only asks whether there is one. Anything outside the subset (lookaround, lazy
 * quantifiers, back references, negated or non-ASCII classes, \w, \s, \b, \u escapes, flags
 * groups, non-ASCII literals) is refused when the schema is loaded, never guessed at.
 */
#include <stdio.h>
#include <string.h>
#include "internal.h"

/* One UTF-8 character (input is valid UTF-8) that is not LF, CR, U+2028 or U+2029. */
static const char utf8_dot[] = "([^\n\r\x80-\xFF]|[\xC2-\xDF][\x80-\xBF]"
                               "|[\xE0\xE1\xE3-\xEF][\x80-\xBF]{2}|\xE2[\x81-\xBF][\x80-\xBF]"
                               "|\xE2\x80[\x80-\xA7\xAA-\xBF]|[\xF0-\xF4][\x80-\xBF]{3})";

enum { QUANT_MAX = 1000 };

typedef struct xl {
    const char *p;   /* next pattern byte */
    const char *pat; /* whole pattern, for offsets in messages */
    char *out;
    size_t cap, len;
    int quantifiable; /* the last thing emitted was an atom */
    int depth;        /* open groups */
    int empty;        /* nothing since the last '(' or '|' (or the start) */
    fws_errbuf *eb;
} xl;

static fws_err unsupported(xl *x, const char *what)
{
    return fws_errf(x->eb, FWS_ERR_UNSUPPORTED, "pattern \"%s\": %s at offset %zu", x->pat, what,
                    (size_t)(x->p - x->pat));
}

static fws_err emit(xl *x, const char *s, size_t n)
{
    if (n >= x->cap - x->len)
        return fws_errf(x->eb, FWS_ERR_TOO_BIG, "pattern \"%s\": translation too long", x->pat);
    memcpy(x->out + x->len, s, n);
    x->len += n;
    x->out[x->len] = '\0';
    return FWS_OK;
}

static int is_ascii_print(unsigned char c)
{
    return c >= 0x20 && c < 0x7f;
}

static int is_syntax_char(char c)
{
    return c != '\0' && strchr("^$\\.*+?()[]{}|/", c) != NULL;
}

/* A member of a class: one printable ASCII character other than '\', '[', ']', '^'. */
static int class_char(char c)
{
    return is_ascii_print((unsigned char)c) && c != '\\' && c != '[' && c != ']' && c != '^';
}

/* [ ... ]: positive, ASCII, single characters and ranges; '-' literal only first or last. */
static fws_err xl_class(xl *x)
{
    char buf[300];
    size_t n = 0;
    int dash = 0;
    x->p++; /* '[' */
    if (*x->p == '^')
        return unsupported(x, "negated character class");
    if (*x->p == ']')
        return unsupported(x, "empty character class");
    if (*x->p == '-') {
        dash = 1;
        x->p++;
    }
    while (*x->p != ']') {
        char lo = *x->p;
        if (lo == '-' && x->p[1] == ']') {
            dash = 1;
            x->p++;
            break;
        }
        if (!class_char(lo) || lo == '-')
            return unsupported(x, "character class member");
        char hi = lo;
        if (x->p[1] == '-' && x->p[2] != ']') {
            hi = x->p[2];
            if (!class_char(hi) || hi == '-' || hi < lo)
                return unsupported(x, "character class range");
            x->p += 2;
        }
        x->p++;
        if (n + 4 >= sizeof buf)
            return unsupported(x, "character class too long");
        buf[n++] = lo;
        if (hi != lo) {
            buf[n++] = '-';
            buf[n++] = hi;
        }
    }
    x->p++; /* ']' */
    if (dash)
        buf[n++] = '-';
    fws_err err = emit(x, "[", 1);
    if (err == FWS_OK)
        err = emit(x, buf, n);
    if (err == FWS_OK)
        err = emit(x, "]", 1);
    return err;
}

static fws_err xl_escape(xl *x)
{
    char c = x->p[1];
    if (c == 'd') {
        x->p += 2;
        return emit(x, "[0-9]", 5);
    }
    if (!is_syntax_char(c))
        return unsupported(x, "escape sequence");
    x->p += 2;
    if (c == '/')
        return emit(x, "/", 1);
    char lit[2] = {'\\', c};
    return emit(x, lit, 2);
}

static int parse_uint(const char **p, unsigned *out)
{
    unsigned v = 0;
    const char *s = *p;
    if (*s < '0' || *s > '9')
        return 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (unsigned)(*s - '0');
        if (v > QUANT_MAX)
            return 0;
        s++;
    }
    *p = s;
    *out = v;
    return 1;
}

/* {n}, {n,} or {n,m} with n <= m <= QUANT_MAX. */
static fws_err xl_braces(xl *x)
{
    const char *s = x->p + 1;
    unsigned lo = 0, hi = 0;
    if (!parse_uint(&s, &lo))
        return unsupported(x, "'{' that is not a quantifier");
    if (*s == ',') {
        s++;
        if (*s != '}' && (!parse_uint(&s, &hi) || hi < lo))
            return unsupported(x, "quantifier bounds");
    }
    if (*s != '}')
        return unsupported(x, "'{' that is not a quantifier");
    fws_err err = emit(x, x->p, (size_t)(s + 1 - x->p));
    x->p = s + 1;
    return err;
}

static fws_err xl_quantifier(xl *x)
{
    if (!x->quantifiable)
        return unsupported(x, "quantifier without an atom");
    fws_err err = *x->p == '{' ? xl_braces(x) : emit(x, x->p++, 1);
    if (err != FWS_OK)
        return err;
    if (*x->p == '?')
        return unsupported(x, "lazy quantifier");
    x->quantifiable = 0;
    return FWS_OK;
}

static fws_err xl_group(xl *x)
{
    char c = *x->p;
    if (c == '(') {
        if (x->p[1] == '?')
            return unsupported(x, "group modifier (lookaround or non-capturing group)");
        x->depth++;
        x->empty = 1;
        x->quantifiable = 0;
        return emit(x, x->p++, 1);
    }
    if (x->empty)
        return unsupported(x, "empty alternative");
    if (c == '|') {
        x->empty = 1;
        x->quantifiable = 0;
        return emit(x, x->p++, 1);
    }
    if (x->depth == 0)
        return unsupported(x, "unbalanced ')'");
    x->depth--;
    x->quantifiable = 1;
    return emit(x, x->p++, 1);
}

static fws_err xl_atom(xl *x)
{
    char c = *x->p;
    fws_err err;
    if (c == '[')
        err = xl_class(x);
    else if (c == '\\')
        err = xl_escape(x);
    else if (c == '.') {
        x->p++;
        err = emit(x, utf8_dot, sizeof utf8_dot - 1);
    } else if (c == ']' || c == '}')
        return unsupported(x, "unbalanced bracket");
    else if (!is_ascii_print((unsigned char)c))
        return unsupported(x, "character outside printable ASCII");
    else
        err = emit(x, x->p++, 1);
    x->quantifiable = 1;
    x->empty = 0;
    return err;
}

static fws_err xl_step(xl *x)
{
    char c = *x->p;
    if (c == '*' || c == '+' || c == '?' || c == '{')
        return xl_quantifier(x);
    if (c == '(' || c == ')' || c == '|')
        return xl_group(x);
    if (c == '^' || c == '$') {
        x->quantifiable = 0;
        x->empty = 0;
        return emit(x, x->p++, 1);
    }
    return xl_atom(x);
}

fws_err sbom_regex_translate(const char *ecma, char *posix, size_t cap, fws_errbuf *eb)
{
    if (ecma == NULL || posix == NULL || cap == 0)
        return fws_errf(eb, FWS_ERR_ARG, "pattern: no input or output");
    if (strlen(ecma) > SBOM_PATTERN_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "pattern longer than %d bytes", SBOM_PATTERN_MAX);
    xl x = {.p = ecma, .pat = ecma, .out = posix, .cap = cap, .empty = 1, .eb = eb};
    posix[0] = '\0';
    while (*x.p != '\0') {
        fws_err err = xl_step(&x);
        if (err != FWS_OK)
            return err;
    }
    if (x.depth != 0)
        return unsupported(&x, "unbalanced '('");
    if (x.empty && x.len > 0)
        return unsupported(&x, "empty alternative");
    return FWS_OK;
}

fws_err sbom_regex_compile(sbom_regex *r, const char *ecma, locale_t c_locale, fws_errbuf *eb)
{
    char posix[SBOM_POSIX_MAX];
    fws_err err = sbom_regex_translate(ecma, posix, sizeof posix, eb);
    if (err != FWS_OK)
        return err;
    locale_t old = uselocale(c_locale);
    int rc = regcomp(&r->re, posix, REG_EXTENDED | REG_NOSUB);
    uselocale(old);
    if (rc != 0) {
        char msg[128];
        regerror(rc, &r->re, msg, sizeof msg);
        return fws_errf(eb, FWS_ERR_UNSUPPORTED, "pattern \"%s\": regcomp: %s", ecma, msg);
    }
    r->compiled = 1;
    return FWS_OK;
}

int sbom_regex_search(const sbom_regex *r, const char *s, size_t len, locale_t c_locale)
{
    regmatch_t m[1];
    m[0].rm_so = 0;
    m[0].rm_eo = (regoff_t)len;
    locale_t old = uselocale(c_locale);
    int rc = regexec(&r->re, s, 1, m, REG_STARTEND);
    uselocale(old);
    return rc == 0;
}

void sbom_regex_free(sbom_regex *r)
{
    if (r != NULL && r->compiled) {
        regfree(&r->re);
        r->compiled = 0;
    }
}
