/* The JSON Schema "format" values the CycloneDX 1.6 schema files use. How strict each is:
 *
 * date-time      RFC 3339 section 5.6 exactly: YYYY-MM-DD, 'T' (or 't'), hh:mm:ss, optional
 *                fraction, then 'Z' (or 'z') or +hh:mm / -hh:mm; real calendar dates (leap
 *                years), hours 00-23, minutes 00-59, seconds 00-59, and 60 only when the
 *                time is 23:59 in UTC (a leap second). A space instead of 'T' and offsets
 *                without a colon are refused (ajv-formats accepts them).
 * uri            RFC 3986 URI: scheme ":" hier-part ["?" query] ["#" fragment], ASCII only,
 *                every character from the RFC's sets, %XX escapes well formed, an authority
 *                with userinfo, a host (reg-name, IPv6 or IPvFuture literal) and a numeric port.
 * iri-reference  RFC 3987 IRI-reference, checked for what can never appear in one: ASCII
 *                controls, space, < > " { } | \ ^ `, a '%' not followed by two hex digits, a
 *                second '#', a non-ASCII character outside ucschar/iprivate, and a ':' in the
 *                first segment of a reference without a valid scheme. Brackets and the exact
 *                place of each character are not checked. (The reference validator accepts
 *                any string here.)
 * idn-email      RFC 5321 mailbox with RFC 6531 UTF-8: a dot-atom or quoted-string local part,
 *                '@', and either a domain of at least two labels (letters, digits, non-ASCII,
 *                inner hyphens; labels at most 63 and the domain at most 253 UTF-16 units, a
 *                top-level label of at least 2) or an IPv4 address literal; at most 986 UTF-16
 *                units in all. IPv6 and general address literals are refused.
 */
#include <string.h>
#include <arpa/inet.h>
#include "internal.h"

static const struct {
    const char *name;
    sbom_format f;
} formats[] = {
    {"date-time", SBOM_FMT_DATE_TIME},
    {"uri", SBOM_FMT_URI},
    {"iri-reference", SBOM_FMT_IRI_REFERENCE},
    {"idn-email", SBOM_FMT_IDN_EMAIL},
};

fws_err sbom_format_lookup(const char *name, sbom_format *out)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (strcmp(formats[i].name, name) == 0) {
            *out = formats[i].f;
            return FWS_OK;
        }
    }
    return FWS_ERR_UNSUPPORTED;
}

const char *sbom_format_name(sbom_format f)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (formats[i].f == f)
            return formats[i].name;
    }
    return "format";
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* ---- date-time ---------------------------------------------------------------------------- */

/* n digits at s, as a number; -1 when they are not all digits. */
static int digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

static int full_date(const char *s)
{
    int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    if (y < 0 || m < 1 || m > 12 || d < 1 || s[4] != '-' || s[7] != '-')
        return 0;
    return d <= days_in_month(y, m);
}

/* s[0..n) is the whole time-offset: *minutes gets it (east positive, 0 for Z). */
static int time_offset(const char *s, size_t n, int *minutes)
{
    if (n == 1 && (s[0] == 'Z' || s[0] == 'z')) {
        *minutes = 0;
        return 1;
    }
    if (n != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':')
        return 0;
    int h = digits(s + 1, 2), m = digits(s + 4, 2);
    if (h < 0 || h > 23 || m < 0 || m > 59)
        return 0;
    *minutes = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
    return 1;
}

static int date_time(const char *s, size_t len)
{
    if (len < 20 || !full_date(s) || (s[10] != 'T' && s[10] != 't'))
        return 0;
    const char *t = s + 11;
    int hh = digits(t, 2), mm = digits(t + 3, 2), ss = digits(t + 6, 2);
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60 || t[2] != ':' || t[5] != ':')
        return 0;
    size_t k = 19;
    if (s[k] == '.') {
        size_t start = ++k;
        while (k < len && is_digit(s[k]))
            k++;
        if (k == start)
            return 0;
    }
    int offset;
    if (!time_offset(s + k, len - k, &offset))
        return 0;
    if (ss == 60) {
        int utc = ((hh * 60 + mm - offset) % 1440 + 1440) % 1440;
        return utc == 23 * 60 + 59;
    }
    return 1;
}

/* ---- uri ---------------------------------------------------------------------------------- */

static int is_unreserved(char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int is_sub_delim(char c)
{
    return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

/* Characters of s[0..n) each in the set (unreserved, sub-delims and extra) or a %XX escape. */
static int span_ok(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
                return 0;
            i += 2;
        } else if (!is_unreserved(c) && !is_sub_delim(c) && (c == '\0' || !strchr(extra, c))) {
            return 0;
        }
    }
    return 1;
}

static int scheme_ok(const char *s, size_t n)
{
    if (n == 0 || !is_alpha(s[0]))
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '+' && s[i] != '-' && s[i] != '.')
            return 0;
    }
    return 1;
}

static int ip_literal(const char *s, size_t n)
{
    if (n >= 2 && (s[0] == 'v' || s[0] == 'V')) {
        size_t i = 1;
        while (i < n && is_hex(s[i]))
            i++;
        if (i == 1 || i >= n || s[i] != '.' || i + 1 == n)
            return 0;
        for (i++; i < n; i++) {
            if (!is_unreserved(s[i]) && !is_sub_delim(s[i]) && s[i] != ':')
                return 0;
        }
        return 1;
    }
    char buf[64];
    unsigned char addr[16];
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return inet_pton(AF_INET6, buf, addr) == 1;
}

static int authority_ok(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    if (at != NULL) {
        if (!span_ok(s, (size_t)(at - s), ":"))
            return 0;
        n -= (size_t)(at + 1 - s);
        s = at + 1;
    }
    size_t host_end;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL || !ip_literal(s + 1, (size_t)(close - s - 1)))
            return 0;
        host_end = (size_t)(close - s) + 1;
    } else {
        host_end = 0;
        while (host_end < n && s[host_end] != ':')
            host_end++;
        if (!span_ok(s, host_end, ""))
            return 0;
    }
    if (host_end == n)
        return 1;
    if (s[host_end] != ':')
        return 0;
    for (size_t i = host_end + 1; i < n; i++) {
        if (!is_digit(s[i]))
            return 0;
    }
    return 1;
}

static int uri(const char *s, size_t len)
{
    const char *colon = memchr(s, ':', len);
    if (colon == NULL || !scheme_ok(s, (size_t)(colon - s)))
        return 0;
    const char *p = colon + 1, *end = s + len;
    const char *hash = memchr(p, '#', (size_t)(end - p));
    if (hash != NULL && !span_ok(hash + 1, (size_t)(end - hash - 1), ":@/?"))
        return 0;
    const char *stop = hash != NULL ? hash : end;
    const char *q = memchr(p, '?', (size_t)(stop - p));
    if (q != NULL && !span_ok(q + 1, (size_t)(stop - q - 1), ":@/?"))
        return 0;
    const char *hier_end = q != NULL ? q : stop;
    if (hier_end - p >= 2 && p[0] == '/' && p[1] == '/') {
        const char *a = p + 2, *ae = a;
        while (ae < hier_end && *ae != '/')
            ae++;
        if (!authority_ok(a, (size_t)(ae - a)))
            return 0;
        p = ae;
    }
    return span_ok(p, (size_t)(hier_end - p), ":@/");
}

/* ---- iri-reference ------------------------------------------------------------------------ */

/* Decodes one UTF-8 character (input already valid UTF-8). */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned char c = s[*i];
    int n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1fu) : n == 3 ? (c & 0x0fu) : (c & 0x07u);
    for (int k = 1; k < n && *i + (size_t)k < len; k++)
        cp = (cp << 6) | (s[*i + (size_t)k] & 0x3fu);
    *i += (size_t)n;
    return cp;
}

/* ucschar and iprivate of RFC 3987 section 2.2 (surrogates cannot occur in valid UTF-8). */
static int iri_char(uint32_t cp)
{
    if (cp < 0x10000)
        return (cp >= 0xa0 && cp <= 0xfdcf) || (cp >= 0xfdf0 && cp <= 0xffef);
    if ((cp & 0xffff) >= 0xfffe || cp > 0x10ffff)
        return 0;
    return (cp >> 16) != 0xe || (cp & 0xffff) >= 0x1000;
}

static int iri_reference(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    int hashes = 0, first_segment = 1;
    size_t i = 0, colon = 0;
    int has_colon = 0;
    while (i < len) {
        size_t at = i;
        uint32_t cp = utf8_next(s, len, &i);
        if (cp >= 0x80) {
            if (!iri_char(cp))
                return 0;
            continue;
        }
        if (cp <= 0x20 || cp == 0x7f || strchr("<>\"{}|\\^`", (int)cp) != NULL)
            return 0;
        if (cp == '%' && (at + 2 >= len || !is_hex(str[at + 1]) || !is_hex(str[at + 2])))
            return 0;
        if (cp == '#' && ++hashes > 1)
            return 0;
        if (cp == '/' || cp == '?' || cp == '#')
            first_segment = 0;
        if (cp == ':' && first_segment && !has_colon) {
            has_colon = 1;
            colon = at;
        }
    }
    return !has_colon || scheme_ok(str, colon);
}

/* ---- idn-email ---------------------------------------------------------------------------- */

/* Length in UTF-16 code units, the unit the reference implementation measures in. */
static size_t utf16_units(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = utf8_next((const unsigned char *)s, len, &i);
        n += cp >= 0x10000 ? 2 : 1;
    }
    return n;
}

static int atext(unsigned char c)
{
    return c >= 0x80 || is_alpha((char)c) || is_digit((char)c) ||
           strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int local_part(const char *s, size_t n)
{
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        for (size_t i = 1; i < n - 1; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '\\') {
                if (++i >= n - 1 || s[i] < 0x20 || s[i] > 0x7e)
                    return 0;
            } else if (c < 0x20 || c == '"' || c == 0x7f) {
                return 0;
            }
        }
        return 1;
    }
    size_t atom = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (atom == 0)
                return 0;
            atom = 0;
        } else if (s[i] != '\0' && atext((unsigned char)s[i])) {
            atom++;
        } else {
            return 0;
        }
    }
    return atom > 0;
}

static int label_char(unsigned char c)
{
    return c >= 0x80 || is_alpha((char)c) || is_digit((char)c);
}

static int ipv4_literal(const char *s, size_t n)
{
    int parts = 0;
    size_t i = 0;
    while (i < n && parts < 4) {
        size_t start = i;
        int v = 0;
        while (i < n && is_digit(s[i]) && i - start < 3)
            v = v * 10 + (s[i++] - '0');
        if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
            return 0;
        parts++;
        if (parts < 4 && (i >= n || s[i++] != '.'))
            return 0;
    }
    return parts == 4 && i == n;
}

static int domain(const char *s, size_t n)
{
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
        return ipv4_literal(s + 1, n - 2);
    if (utf16_units(s, n) > 253)
        return 0;
    size_t labels = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            if (!label_char((unsigned char)s[i]) && s[i] != '-')
                return 0;
            continue;
        }
        size_t ln = i - start;
        if (ln == 0 || s[start] == '-' || s[i - 1] == '-' || utf16_units(s + start, ln) > 63)
            return 0;
        if (i == n && utf16_units(s + start, ln) < 2)
            return 0;
        labels++;
        start = i + 1;
    }
    return labels >= 2;
}

static int idn_email(const char *s, size_t len)
{
    if (utf16_units(s, len) > 986)
        return 0;
    const char *at = NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '@')
            at = s + i;
    }
    if (at == NULL)
        return 0;
    size_t ln = (size_t)(at - s);
    return local_part(s, ln) && domain(at + 1, len - ln - 1);
}

int sbom_format_check(sbom_format f, const char *s, size_t len)
{
    switch (f) {
    case SBOM_FMT_DATE_TIME:
        return date_time(s, len);
    case SBOM_FMT_URI:
        return uri(s, len);
    case SBOM_FMT_IRI_REFERENCE:
        return iri_reference(s, len);
    case SBOM_FMT_IDN_EMAIL:
        return idn_email(s, len);
    default:
        return 1;
    }
}
