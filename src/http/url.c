/* URLs for the HTTP client: absolute http(s) URLs, Location resolution, formatting. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "http/internal.h"

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Printable ASCII without the space: the only bytes allowed anywhere in a URL. */
static int url_byte_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

static int host_byte_ok(int c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static fws_err parse_scheme(const char *s, http_url *u, size_t *skip, fws_errbuf *eb)
{
    static const char http[] = "http://", https[] = "https://";
    size_t i = 0;
    while (i < 8 && s[i] != '\0' && lower((unsigned char)s[i]) == https[i])
        i++;
    if (i == 8) {
        u->tls = 1;
        *skip = 8;
        return FWS_OK;
    }
    for (i = 0; i < 7 && s[i] != '\0' && lower((unsigned char)s[i]) == http[i]; i++) {
    }
    if (i == 7) {
        u->tls = 0;
        *skip = 7;
        return FWS_OK;
    }
    return fws_errf(eb, FWS_ERR_UNSUPPORTED, "URL: only http:// and https:// are supported");
}

static fws_err parse_port(const char *s, size_t n, unsigned *port, fws_errbuf *eb)
{
    unsigned v = 0;
    if (n == 0 || n > 5)
        return fws_errf(eb, FWS_ERR_ARG, "URL: bad port");
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((unsigned char)s[i]))
            return fws_errf(eb, FWS_ERR_ARG, "URL: bad port");
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return fws_errf(eb, FWS_ERR_ARG, "URL: port out of range");
    *port = v;
    return FWS_OK;
}

static fws_err parse_ipv6(const char *s, size_t n, http_url *u, size_t *used, fws_errbuf *eb)
{
    unsigned char addr[16];
    const char *end = memchr(s, ']', n);
    size_t len = end ? (size_t)(end - s) - 1 : 0;
    if (end == NULL || len == 0 || len >= sizeof(u->host))
        return fws_errf(eb, FWS_ERR_ARG, "URL: bad IPv6 literal");
    memcpy(u->host, s + 1, len);
    u->host[len] = '\0';
    if (inet_pton(AF_INET6, u->host, addr) != 1)
        return fws_errf(eb, FWS_ERR_ARG, "URL: bad IPv6 literal");
    u->ipv6 = u->ip = 1;
    *used = len + 2;
    return FWS_OK;
}

static fws_err parse_host(const char *s, size_t n, http_url *u, size_t *used, fws_errbuf *eb)
{
    unsigned char addr[4];
    size_t i = 0;
    if (n > 0 && s[0] == '[')
        return parse_ipv6(s, n, u, used, eb);
    while (i < n && host_byte_ok((unsigned char)s[i]))
        i++;
    if (i == 0)
        return fws_errf(eb, FWS_ERR_ARG, "URL: empty host");
    if (i < n && s[i] != ':')
        return fws_errf(eb, FWS_ERR_ARG, "URL: bad character in host");
    if (i >= sizeof(u->host))
        return fws_errf(eb, FWS_ERR_ARG, "URL: host name too long");
    for (size_t k = 0; k < i; k++)
        u->host[k] = (char)lower((unsigned char)s[k]);
    u->host[i] = '\0';
    u->ip = inet_pton(AF_INET, u->host, addr) == 1;
    *used = i;
    return FWS_OK;
}

/* host[:port] in s[0..n). */
static fws_err parse_authority(const char *s, size_t n, http_url *u, fws_errbuf *eb)
{
    size_t used = 0;
    if (memchr(s, '@', n) != NULL)
        return fws_errf(eb, FWS_ERR_ARG, "URL: user information is not allowed");
    fws_err err = parse_host(s, n, u, &used, eb);
    if (err != FWS_OK)
        return err;
    u->port = u->tls ? 443 : 80;
    u->default_port = 1;
    if (used == n)
        return FWS_OK;
    if (s[used] != ':')
        return fws_errf(eb, FWS_ERR_ARG, "URL: bad character after host");
    if ((err = parse_port(s + used + 1, n - used - 1, &u->port, eb)) != FWS_OK)
        return err;
    u->default_port = u->port == (u->tls ? 443u : 80u);
    return FWS_OK;
}

/* The path and query (up to a '#'), or "/" when empty. */
static fws_err set_target(http_url *u, const char *s, fws_errbuf *eb)
{
    size_t n = strcspn(s, "#");
    size_t off = (n == 0 || s[0] != '/') ? 1 : 0;
    if (n > 0 && s[0] != '/' && s[0] != '?')
        return fws_errf(eb, FWS_ERR_ARG, "URL: bad character after host");
    if (n + off > FWS_HTTP_URL_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "URL: longer than %d bytes", FWS_HTTP_URL_MAX);
    u->target[0] = '/';
    memcpy(u->target + off, s, n);
    u->target[n + off] = '\0';
    return FWS_OK;
}

fws_err http_url_parse(const char *url, http_url *out, fws_errbuf *eb)
{
    http_url u;
    size_t skip = 0;
    if (url == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "URL: none");
    size_t len = strnlen(url, FWS_HTTP_URL_MAX + 1);
    if (len > FWS_HTTP_URL_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "URL: longer than %d bytes", FWS_HTTP_URL_MAX);
    for (size_t i = 0; i < len; i++) {
        if (!url_byte_ok((unsigned char)url[i]))
            return fws_errf(eb, FWS_ERR_ARG, "URL: space, control or non-ASCII byte");
    }
    memset(&u, 0, sizeof(u));
    fws_err err = parse_scheme(url, &u, &skip, eb);
    if (err != FWS_OK)
        return err;
    const char *auth = url + skip;
    size_t alen = strcspn(auth, "/?#");
    if ((err = parse_authority(auth, alen, &u, eb)) != FWS_OK)
        return err;
    if ((err = set_target(&u, auth + alen, eb)) != FWS_OK)
        return err;
    *out = u;
    return FWS_OK;
}

fws_err http_url_format(const http_url *u, char *buf, size_t cap)
{
    char port[8] = "";
    if (!u->default_port)
        snprintf(port, sizeof(port), ":%u", u->port);
    int n = snprintf(buf, cap, "%s://%s%s%s%s%s", u->tls ? "https" : "http", u->ipv6 ? "[" : "",
                     u->host, u->ipv6 ? "]" : "", port, u->target);
    return n < 0 || (size_t)n >= cap ? FWS_ERR_TOO_BIG : FWS_OK;
}

/* Joins base's origin with a path: an absolute one, or one relative to base's directory. */
static fws_err resolve_path(const http_url *base, const char *loc, http_url *out, fws_errbuf *eb)
{
    char buf[FWS_HTTP_URL_MAX + 1];
    size_t dir = 0;
    if (loc[0] != '/' && loc[0] != '?') {
        size_t path_len = strcspn(base->target, "?");
        for (size_t i = 0; i < path_len; i++) {
            if (base->target[i] == '/')
                dir = i + 1;
        }
    } else if (loc[0] == '?') {
        dir = strcspn(base->target, "?");
    }
    size_t n = strlen(loc);
    if (n > FWS_HTTP_URL_MAX - dir)
        return fws_errf(eb, FWS_ERR_ARG, "redirect: Location too long");
    memcpy(buf, base->target, dir);
    memcpy(buf + dir, loc, n + 1);
    for (size_t i = 0; buf[i] != '\0'; i++) {
        if (!url_byte_ok((unsigned char)buf[i]))
            return fws_errf(eb, FWS_ERR_ARG, "redirect: bad byte in Location");
    }
    http_url u = *base;
    fws_err err = set_target(&u, buf, eb);
    if (err == FWS_OK)
        *out = u;
    return err;
}

fws_err http_url_resolve(const http_url *base, const char *location, http_url *out, fws_errbuf *eb)
{
    char buf[FWS_HTTP_URL_MAX + 1];
    size_t i = 0;
    if (location == NULL || location[0] == '\0')
        return fws_errf(eb, FWS_ERR_FORMAT, "redirect without a Location");
    if (location[0] == '/' && location[1] == '/') {
        int n = snprintf(buf, sizeof(buf), "%s:%s", base->tls ? "https" : "http", location);
        if (n < 0 || (size_t)n >= sizeof(buf))
            return fws_errf(eb, FWS_ERR_ARG, "redirect: Location too long");
        return http_url_parse(buf, out, eb);
    }
    while (is_alpha((unsigned char)location[i]) || is_digit((unsigned char)location[i]) ||
           location[i] == '+' || location[i] == '-' || location[i] == '.')
        i++;
    if (i > 0 && location[i] == ':' && is_alpha((unsigned char)location[0]))
        return http_url_parse(location, out, eb); /* absolute: refuses other schemes */
    return resolve_path(base, location, out, eb);
}
