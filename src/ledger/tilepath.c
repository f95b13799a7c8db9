/* C2SP tlog-tiles paths: tile/<L>/<N>[.p/<W>] and tile/entries/<N>[.p/<W>]. */
#include <string.h>
#include "fwseal/tiles.h"

fws_err fws_tile_path(const fws_tile_id *id, char out[FWS_TILE_PATH_MAX], size_t *len)
{
    char groups[8][4];
    size_t ng = 0, pos = 0;

    if (id == NULL || out == NULL || id->level > FWS_TILE_MAX_LEVEL || id->width < 1 ||
        id->width > FWS_TILE_WIDTH || (id->entries && id->level != 0))
        return FWS_ERR_ARG;
    uint64_t n = id->index;
    do {
        unsigned g = (unsigned)(n % 1000);
        groups[ng][0] = (char)('0' + g / 100);
        groups[ng][1] = (char)('0' + g / 10 % 10);
        groups[ng][2] = (char)('0' + g % 10);
        groups[ng][3] = '\0';
        ng++;
        n /= 1000;
    } while (n > 0);

    memcpy(out, "tile/", 5);
    pos = 5;
    if (id->entries) {
        memcpy(out + pos, "entries", 7);
        pos += 7;
    } else {
        if (id->level >= 10)
            out[pos++] = (char)('0' + id->level / 10);
        out[pos++] = (char)('0' + id->level % 10);
    }
    for (size_t i = ng; i-- > 0;) {
        out[pos++] = '/';
        if (i > 0)
            out[pos++] = 'x';
        memcpy(out + pos, groups[i], 3);
        pos += 3;
    }
    if (id->width < FWS_TILE_WIDTH) {
        memcpy(out + pos, ".p/", 3);
        pos += 3;
        if (id->width >= 100)
            out[pos++] = (char)('0' + id->width / 100);
        if (id->width >= 10)
            out[pos++] = (char)('0' + id->width / 10 % 10);
        out[pos++] = (char)('0' + id->width % 10);
    }
    out[pos] = '\0';
    if (len != NULL)
        *len = pos;
    return FWS_OK;
}

/* Reads a canonical decimal of at most max_digits starting at *p, no leading zeros. */
static int read_small(const char **p, const char *end, unsigned max_digits, unsigned *out)
{
    const char *s = *p;
    unsigned v = 0, n = 0;

    while (s < end && *s >= '0' && *s <= '9' && n <= max_digits) {
        v = v * 10 + (unsigned)(*s - '0');
        s++;
        n++;
    }
    if (n == 0 || n > max_digits || (n > 1 && **p == '0'))
        return -1;
    *p = s;
    *out = v;
    return 0;
}

static int read_group(const char *s, const char *end, unsigned *out)
{
    if (end - s < 3)
        return -1;
    for (int i = 0; i < 3; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    *out = (unsigned)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
    return 0;
}

/* Parses the index groups starting at *p. */
static int read_index(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    int first = 1;

    for (;;) {
        int x = s < end && *s == 'x';
        unsigned g;
        if (read_group(s + x, end, &g) != 0)
            return -1;
        if (x && first && g == 0)
            return -1; /* a leading x000 group is never written */
        if (v > (UINT64_MAX - g) / 1000)
            return -1;
        v = v * 1000 + g;
        s += x + 3;
        first = 0;
        if (!x)
            break;
        if (s >= end || *s != '/')
            return -1;
        s++;
    }
    *p = s;
    *out = v;
    return 0;
}

fws_err fws_tile_path_parse(const char *path, size_t len, fws_tile_id *out)
{
    fws_tile_id id = {0, 0, 0, FWS_TILE_WIDTH};

    if (path == NULL || out == NULL)
        return FWS_ERR_ARG;
    const char *p = path, *end = path + len;
    if (len < 5 || memcmp(p, "tile/", 5) != 0)
        return FWS_ERR_FORMAT;
    p += 5;
    if ((size_t)(end - p) >= 8 && memcmp(p, "entries/", 8) == 0) {
        id.entries = 1;
        p += 8;
    } else {
        if (read_small(&p, end, 2, &id.level) != 0 || id.level > FWS_TILE_MAX_LEVEL || p >= end ||
            *p != '/')
            return FWS_ERR_FORMAT;
        p++;
    }
    if (read_index(&p, end, &id.index) != 0)
        return FWS_ERR_FORMAT;
    if (p < end) {
        if (end - p < 4 || memcmp(p, ".p/", 3) != 0)
            return FWS_ERR_FORMAT;
        p += 3;
        if (read_small(&p, end, 3, &id.width) != 0 || id.width < 1 || id.width >= FWS_TILE_WIDTH)
            return FWS_ERR_FORMAT;
    }
    if (p != end)
        return FWS_ERR_FORMAT;
    *out = id;
    return FWS_OK;
}

unsigned fws_tile_width(unsigned level, uint64_t index, uint64_t tree_size)
{
    if (level > FWS_TILE_MAX_LEVEL)
        return 0;
    unsigned shift = FWS_TILE_HEIGHT * level;
    uint64_t nodes = shift >= 64 ? 0 : tree_size >> shift; /* complete nodes at level 8L */
    uint64_t full = nodes / FWS_TILE_WIDTH;
    if (index < full)
        return FWS_TILE_WIDTH;
    if (index == full)
        return (unsigned)(nodes % FWS_TILE_WIDTH); /* 0: no such tile */
    return 0;
}
