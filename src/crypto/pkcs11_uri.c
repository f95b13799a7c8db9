/* RFC 7512 PKCS#11 URIs: "pkcs11:" path-attributes (";"-separated) ["?" query (&-separated)].
 * Every value is percent-decoded into a fixed buffer of the parsed struct: no allocation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "fwseal/pkcs11.h"
#include "pkcs11_internal.h"

int fws_pkcs11_is_uri(const char *ref)
{
    return ref != NULL && strncasecmp(ref, FWS_PKCS11_SCHEME, strlen(FWS_PKCS11_SCHEME)) == 0;
}

void fws_pkcs11_uri_wipe(fws_pkcs11_uri *u)
{
    if (u != NULL)
        fws_wipe(u, sizeof(*u));
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes v[0..n) into out (cap bytes); text values get a NUL and may not hold one. */
static fws_err decode(const char *name, const char *v, size_t n, uint8_t *out, size_t cap, int text,
                      size_t *out_len, fws_errbuf *eb)
{
    size_t k = 0, room = text ? cap - 1 : cap;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)v[i];
        if (c == '%') {
            if (i + 2 >= n || hex_value(v[i + 1]) < 0 || hex_value(v[i + 2]) < 0)
                return fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 URI: %s: bad %%XX escape", name);
            c = hex_value(v[i + 1]) * 16 + hex_value(v[i + 2]);
            i += 2;
        } else if (c <= 0x20 || c == 0x7f) {
            return fws_errf(eb, FWS_ERR_FORMAT,
                            "PKCS#11 URI: %s: a space or control character must be %%-escaped",
                            name);
        }
        if (text && c == 0)
            return fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 URI: %s: holds a NUL byte", name);
        if (k >= room)
            return fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 URI: %s: longer than %zu bytes", name,
                            room);
        out[k++] = (uint8_t)c;
    }
    if (text)
        out[k] = '\0';
    *out_len = k;
    return FWS_OK;
}

typedef struct attr_slot {
    const char *name;
    int query; /* 1: allowed after '?', 0: in the path */
    size_t text_off, cap, flag_off;
} attr_slot;

#define TEXT(n, q, field)                                                                          \
    {                                                                                              \
        n, q, offsetof(fws_pkcs11_uri, field), sizeof(((fws_pkcs11_uri *)0)->field),               \
            offsetof(fws_pkcs11_uri, has_##field)                                                  \
    }

static const attr_slot text_attrs[] = {
    TEXT("token", 0, token),         TEXT("manufacturer", 0, manufacturer),
    TEXT("serial", 0, serial),       TEXT("model", 0, model),
    TEXT("object", 0, object),       TEXT("module-path", 1, module_path),
    TEXT("pin-value", 1, pin_value),
};

static int *flag_at(fws_pkcs11_uri *u, size_t off)
{
    return (int *)(void *)((char *)u + off);
}

static fws_err set_flag(fws_pkcs11_uri *u, size_t off, const char *name, fws_errbuf *eb)
{
    int *flag = flag_at(u, off);
    if (*flag)
        return fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 URI: %s appears twice", name);
    *flag = 1;
    return FWS_OK;
}

static fws_err parse_slot_id(fws_pkcs11_uri *u, const char *v, size_t n, fws_errbuf *eb)
{
    char buf[32], *end = NULL;
    size_t len = 0;
    fws_err err = decode("slot-id", v, n, (uint8_t *)buf, sizeof buf, 1, &len, eb);
    if (err != FWS_OK)
        return err;
    if (len == 0 || buf[0] < '0' || buf[0] > '9')
        return fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 URI: slot-id is not a number");
    errno = 0;
    unsigned long long id = strtoull(buf, &end, 10);
    if (*end != '\0' || errno != 0 || id > (unsigned long long)(unsigned long)-1)
        return fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 URI: slot-id is not a number");
    u->slot_id = (unsigned long)id;
    return set_flag(u, offsetof(fws_pkcs11_uri, has_slot_id), "slot-id", eb);
}

static fws_err parse_type(const char *v, size_t n, fws_errbuf *eb)
{
    char buf[32];
    size_t len = 0;
    fws_err err = decode("type", v, n, (uint8_t *)buf, sizeof buf, 1, &len, eb);
    if (err != FWS_OK)
        return err;
    if (strcmp(buf, "private") != 0)
        return fws_errf(eb, FWS_ERR_FORMAT,
                        "PKCS#11 URI: type=%s: fwseal signs with private keys (type=private)", buf);
    return FWS_OK;
}

/* pin-source names a file: "file:" followed by a path ("file:///p" and "file:/p" alike), or a
 * bare path. */
static fws_err parse_pin_source(fws_pkcs11_uri *u, const char *v, size_t n, fws_errbuf *eb)
{
    char buf[FWS_PKCS11_PATH_MAX + 8];
    size_t len = 0;
    fws_err err = decode("pin-source", v, n, (uint8_t *)buf, sizeof buf, 1, &len, eb);
    if (err != FWS_OK)
        return err;
    const char *path = buf;
    if (strncasecmp(path, "file:", 5) == 0) {
        path += 5;
        if (strncmp(path, "//", 2) == 0) {
            if (path[2] != '/')
                return fws_errf(eb, FWS_ERR_FORMAT,
                                "PKCS#11 URI: pin-source: only local files (file:///path)");
            path += 2;
        }
    } else if (strchr(path, ':') != NULL && path[0] != '/' && path[0] != '.') {
        return fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 URI: pin-source: only file: is supported");
    }
    if (*path == '\0' || strlen(path) > FWS_PKCS11_PATH_MAX)
        return fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 URI: pin-source: no usable path");
    memcpy(u->pin_source, path, strlen(path) + 1);
    return set_flag(u, offsetof(fws_pkcs11_uri, has_pin_source), "pin-source", eb);
}

static fws_err parse_attr(fws_pkcs11_uri *u, const char *a, size_t n, int query, fws_errbuf *eb)
{
    const char *eq = memchr(a, '=', n);
    size_t len = 0;
    if (eq == NULL)
        return fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 URI: \"%.*s\" is not name=value", (int)n, a);
    size_t nl = (size_t)(eq - a);
    const char *v = eq + 1;
    size_t vn = n - nl - 1;
    for (size_t i = 0; i < sizeof text_attrs / sizeof text_attrs[0]; i++) {
        const attr_slot *s = &text_attrs[i];
        if (strlen(s->name) != nl || strncmp(s->name, a, nl) != 0 || s->query != query)
            continue;
        fws_err err = set_flag(u, s->flag_off, s->name, eb);
        if (err != FWS_OK)
            return err;
        return decode(s->name, v, vn, (uint8_t *)u + s->text_off, s->cap, 1, &len, eb);
    }
    if (!query && nl == 2 && strncmp(a, "id", 2) == 0) {
        fws_err err = set_flag(u, offsetof(fws_pkcs11_uri, has_id), "id", eb);
        if (err == FWS_OK)
            err = decode("id", v, vn, u->id, sizeof u->id, 0, &u->id_len, eb);
        return err;
    }
    if (!query && nl == 7 && strncmp(a, "slot-id", 7) == 0)
        return parse_slot_id(u, v, vn, eb);
    if (!query && nl == 4 && strncmp(a, "type", 4) == 0)
        return parse_type(v, vn, eb);
    if (query && nl == 10 && strncmp(a, "pin-source", 10) == 0)
        return parse_pin_source(u, v, vn, eb);
    if (query && nl == 11 && strncmp(a, "module-name", 11) == 0)
        return fws_errf(eb, FWS_ERR_FORMAT,
                        "PKCS#11 URI: module-name is not supported: give "
                        "module-path or $" FWS_PKCS11_MODULE_ENV);
    return fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 URI: %s attribute \"%.*s\" is not one fwseal uses",
                    query ? "query" : "path", (int)nl, a);
}

static fws_err parse_list(fws_pkcs11_uri *u, const char *s, size_t n, char sep, int query,
                          fws_errbuf *eb)
{
    size_t start = 0;
    if (n == 0)
        return FWS_OK;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != sep)
            continue;
        if (i == start)
            return fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 URI: empty attribute");
        fws_err err = parse_attr(u, s + start, i - start, query, eb);
        if (err != FWS_OK)
            return err;
        start = i + 1;
    }
    return FWS_OK;
}

fws_err fws_pkcs11_uri_parse(const char *uri, fws_pkcs11_uri *out, fws_errbuf *eb)
{
    fws_pkcs11_uri u;
    if (uri == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "PKCS#11 URI: no input");
    if (!fws_pkcs11_is_uri(uri))
        return fws_errf(eb, FWS_ERR_FORMAT, "not a PKCS#11 URI (pkcs11:...)");
    size_t len = strnlen(uri, FWS_PKCS11_URI_MAX + 1);
    if (len > FWS_PKCS11_URI_MAX)
        return fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 URI longer than %d bytes", FWS_PKCS11_URI_MAX);
    memset(&u, 0, sizeof(u));
    const char *path = uri + strlen(FWS_PKCS11_SCHEME);
    const char *q = strchr(path, '?');
    const char *frag = strchr(path, '#');
    fws_err err = FWS_OK;
    if (frag != NULL)
        err = fws_errf(eb, FWS_ERR_FORMAT, "PKCS#11 URI: a fragment (#) is not allowed");
    if (err == FWS_OK)
        err = parse_list(&u, path, q != NULL ? (size_t)(q - path) : strlen(path), ';', 0, eb);
    if (err == FWS_OK && q != NULL)
        err = parse_list(&u, q + 1, strlen(q + 1), '&', 1, eb);
    if (err == FWS_OK)
        *out = u;
    fws_wipe(&u, sizeof(u));
    return err;
}
