/* fws_json_parse: the pre-scan, then jansson, then (optionally) the canonical comparison. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

const fws_json_limits fws_json_default_limits = {
    .max_bytes = 16u << 20,
    .max_depth = 32,
    .max_string = 1u << 20,
    .max_members = 1000000,
};

/* jansson refuses raw control bytes inside strings, which the canonical form allows: the feed
 * hands jansson the input with each of them rewritten as a \u00XX escape. The input has passed
 * the pre-scan, so tracking "inside a string" needs only quotes and backslashes. */
struct feed {
    const uint8_t *s;
    size_t len;
    size_t pos;
    int in_string;
    int escaped;
    char pending[6];
    size_t pending_len;
    size_t pending_pos;
};

static int needs_rewrite(int in_string, int escaped, uint8_t c)
{
    return in_string && !escaped && c < 0x20;
}

static void track(int *in_string, int *escaped, uint8_t c)
{
    if (!*in_string)
        *in_string = c == '"';
    else if (*escaped)
        *escaped = 0;
    else if (c == '\\')
        *escaped = 1;
    else if (c == '"')
        *in_string = 0;
}

static size_t feed_read(void *buffer, size_t buflen, void *data)
{
    static const char hex[] = "0123456789abcdef";
    struct feed *f = data;
    char *out = buffer;
    size_t w = 0;
    while (w < buflen) {
        if (f->pending_pos < f->pending_len) {
            out[w++] = f->pending[f->pending_pos++];
            continue;
        }
        if (f->pos >= f->len)
            break;
        uint8_t c = f->s[f->pos++];
        if (needs_rewrite(f->in_string, f->escaped, c)) {
            memcpy(f->pending, "\\u00", 4);
            f->pending[4] = hex[c >> 4];
            f->pending[5] = hex[c & 15];
            f->pending_len = 6;
            f->pending_pos = 0;
            continue;
        }
        track(&f->in_string, &f->escaped, c);
        out[w++] = (char)c;
    }
    return w;
}

/* Maps a position in the stream jansson read back to an offset in the caller's bytes. */
static size_t raw_offset(const uint8_t *s, size_t len, size_t fed_pos)
{
    size_t fed = 0;
    int in_string = 0, escaped = 0;
    for (size_t i = 0; i < len; i++) {
        size_t width = needs_rewrite(in_string, escaped, s[i]) ? 6 : 1;
        if (fed + width > fed_pos)
            return i;
        fed += width;
        track(&in_string, &escaped, s[i]);
    }
    return len;
}

static fws_err jansson_error(const uint8_t *s, size_t len, const json_error_t *je, fws_errbuf *eb)
{
    size_t pos = raw_offset(s, len, je->position < 0 ? 0 : (size_t)je->position);
    size_t ks, ke;
    char text[sizeof(je->text)], *near;

    if (json_error_code(je) == json_error_out_of_memory)
        return fws_errf(eb, FWS_ERR_NOMEM, "byte %zu: out of memory while parsing JSON", pos);
    if (json_error_code(je) == json_error_duplicate_key &&
        fwsj_string_before(s, len, pos, &ks, &ke)) {
        char key[80];
        fwsj_msg_text(s + ks + 1, ke - ks - 2, key, sizeof(key));
        return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: duplicate key \"%s\"", ks, key);
    }
    memcpy(text, je->text, sizeof(text));
    text[sizeof(text) - 1] = '\0';
    if ((near = strstr(text, " near ")) != NULL)
        *near = '\0';
    return fws_errf(eb, FWS_ERR_FORMAT, "byte %zu: %s", pos, text);
}

static fws_err load(const uint8_t *s, size_t len, json_t **out, fws_errbuf *eb)
{
    struct feed f;
    json_error_t je;
    memset(&f, 0, sizeof(f));
    f.s = s;
    f.len = len;
    json_t *v = json_load_callback(feed_read, &f,
                                   JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (v == NULL)
        return jansson_error(s, len, &je, eb);
    *out = v;
    return FWS_OK;
}

static fws_err check_canonical(const uint8_t *s, size_t len, const json_t *v, fws_errbuf *eb)
{
    char *c = NULL, what[8];
    size_t clen = 0, i = 0;
    fws_err err = fws_json_canonical(v, &c, &clen);
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot encode the document canonically");
    while (i < len && i < clen && s[i] == (uint8_t)c[i])
        i++;
    if (i == len && i == clen)
        goto out;
    if (i < clen) {
        fwsj_msg_byte((uint8_t)c[i], what);
        err = fws_errf(eb, FWS_ERR_NOT_CANONICAL, "byte %zu: not canonical JSON (expected %s)", i,
                       what);
    } else {
        err = fws_errf(eb, FWS_ERR_NOT_CANONICAL,
                       "byte %zu: not canonical JSON (expected the end of the document)", i);
    }
out:
    free(c);
    return err;
}

fws_err fws_json_parse(const uint8_t *unverified, size_t len, unsigned flags,
                       const fws_json_limits *limits, json_t **out, fws_errbuf *eb)
{
    const unsigned known = FWS_JSON_CANONICAL | FWS_JSON_NO_FLOATS;
    json_t *v = NULL;
    fws_err err;

    if ((unverified == NULL && len != 0) || out == NULL || (flags & ~known) != 0)
        return fws_errf(eb, FWS_ERR_ARG, "fws_json_parse: invalid argument");
    if (limits == NULL)
        limits = &fws_json_default_limits;
    if (unverified == NULL)
        unverified = (const uint8_t *)"";
    err = fwsj_scan(unverified, len, limits, (flags & known) != 0, eb);
    if (err != FWS_OK)
        return err;
    if ((err = load(unverified, len, &v, eb)) != FWS_OK)
        return err;
    if ((flags & FWS_JSON_CANONICAL) && (err = check_canonical(unverified, len, v, eb)) != FWS_OK)
        goto out;
    *out = v;
    v = NULL;
out:
    json_decref(v);
    return err;
}
