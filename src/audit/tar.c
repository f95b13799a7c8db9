/* ustar, one strict profile: regular files only, fixed header fields, zero padding, two zero
 * blocks at the end and nothing after. A header is accepted only when it is byte for byte the
 * header fws_tar_header_make writes for the same name and size, so an archive has exactly one
 * encoding and any altered header byte is refused. Parsing never allocates. */
#include <string.h>
#include "fwseal/audit.h"

/* Field offsets and sizes (POSIX.1-1988 ustar). */
enum {
    F_NAME = 0,
    F_MODE = 100,
    F_UID = 108,
    F_GID = 116,
    F_SIZE = 124,
    F_MTIME = 136,
    F_CHKSUM = 148,
    F_TYPE = 156,
    F_LINK = 157,
    F_MAGIC = 257,
    F_VERSION = 263,
    F_UNAME = 265,
    F_GNAME = 297,
    F_DEVMAJOR = 329,
    F_DEVMINOR = 337,
    F_PREFIX = 345,
    F_END = 500,
    NAME_LEN = 100,
    PREFIX_LEN = 155,
};

static const struct {
    int at;
    const char *name;
} fields[] = {
    {F_NAME, "name"},     {F_MODE, "mode"},         {F_UID, "uid"},           {F_GID, "gid"},
    {F_SIZE, "size"},     {F_MTIME, "mtime"},       {F_CHKSUM, "chksum"},     {F_TYPE, "typeflag"},
    {F_LINK, "linkname"}, {F_MAGIC, "magic"},       {F_VERSION, "version"},   {F_UNAME, "uname"},
    {F_GNAME, "gname"},   {F_DEVMAJOR, "devmajor"}, {F_DEVMINOR, "devminor"}, {F_PREFIX, "prefix"},
    {F_END, "padding"},
};

static const char *field_at(size_t off)
{
    const char *name = "name";
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if ((size_t)fields[i].at <= off)
            name = fields[i].name;
    }
    return name;
}

static int name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("._+~=@,:%-", c) != NULL;
}

/* Where the name splits into prefix '/' name: -1 when it fits the name field, -2 when no split
 * works. The split is at the first '/' that leaves at most 100 bytes for the name field. */
static long split_at(const char *name, size_t len)
{
    if (len <= NAME_LEN)
        return -1;
    for (size_t i = len - NAME_LEN - 1; i < len && i <= PREFIX_LEN; i++) {
        if (name[i] == '/')
            return (long)i;
    }
    return -2;
}

static int component_ok(const char *c, size_t n)
{
    if (n == 0 || c[0] == '.' || c[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!name_char_ok(c[i]))
            return 0;
    }
    return 1;
}

int fws_tar_name_ok(const char *name, size_t len)
{
    if (name == NULL || len == 0 || len > FWS_TAR_NAME_MAX)
        return 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || name[i] == '/') {
            if (!component_ok(name + start, i - start))
                return 0;
            start = i + 1;
        }
    }
    return split_at(name, len) != -2;
}

static void octal(uint8_t *field, size_t digits, uint64_t v)
{
    for (size_t i = digits; i > 0; i--) {
        field[i - 1] = (uint8_t)('0' + (v & 7));
        v >>= 3;
    }
    field[digits] = 0;
}

static unsigned checksum(const uint8_t b[FWS_TAR_BLOCK])
{
    unsigned sum = 0;
    for (size_t i = 0; i < FWS_TAR_BLOCK; i++)
        sum += (i >= F_CHKSUM && i < F_CHKSUM + 8) ? (unsigned)' ' : b[i];
    return sum;
}

fws_err fws_tar_header_make(const char *name, uint64_t size, uint8_t block[FWS_TAR_BLOCK],
                            fws_errbuf *eb)
{
    size_t len = name != NULL ? strnlen(name, FWS_TAR_NAME_MAX + 1) : 0;
    if (!fws_tar_name_ok(name, len))
        return fws_errf(eb, FWS_ERR_ARG, "archive member name \"%.80s\" is not allowed",
                        name != NULL ? name : "");
    if (size > FWS_TAR_MEMBER_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%s: over %llu bytes", name,
                        (unsigned long long)FWS_TAR_MEMBER_MAX);
    memset(block, 0, FWS_TAR_BLOCK);
    long at = split_at(name, len);
    if (at < 0) {
        memcpy(block + F_NAME, name, len);
    } else {
        memcpy(block + F_PREFIX, name, (size_t)at);
        memcpy(block + F_NAME, name + at + 1, len - (size_t)at - 1);
    }
    memcpy(block + F_MODE, "0000644", 8);
    memcpy(block + F_UID, "0000000", 8);
    memcpy(block + F_GID, "0000000", 8);
    octal(block + F_SIZE, 11, size);
    octal(block + F_MTIME, 11, 0);
    block[F_TYPE] = '0';
    memcpy(block + F_MAGIC, "ustar", 6);
    memcpy(block + F_VERSION, "00", 2);
    memcpy(block + F_DEVMAJOR, "0000000", 8);
    memcpy(block + F_DEVMINOR, "0000000", 8);
    octal(block + F_CHKSUM, 6, checksum(block));
    block[F_CHKSUM + 7] = ' ';
    return FWS_OK;
}

static int parse_octal(const uint8_t *f, size_t digits, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < digits; i++) {
        if (f[i] < '0' || f[i] > '7')
            return 0;
        v = (v << 3) | (uint64_t)(f[i] - '0');
    }
    if (f[digits] != 0)
        return 0;
    *out = v;
    return 1;
}

fws_err fws_tar_header_parse(const uint8_t unverified[FWS_TAR_BLOCK], fws_tar_header *out,
                             fws_errbuf *eb)
{
    fws_tar_header h;
    uint8_t want[FWS_TAR_BLOCK];
    uint64_t sum = 0;
    if (!parse_octal(unverified + F_CHKSUM, 6, &sum) || unverified[F_CHKSUM + 7] != ' ' ||
        sum != checksum(unverified))
        return fws_errf(eb, FWS_ERR_FORMAT, "bad header checksum");
    if (unverified[F_TYPE] != '0')
        return fws_errf(eb, FWS_ERR_FORMAT, "not a regular file (typeflag 0x%02x)",
                        unverified[F_TYPE]);
    if (!parse_octal(unverified + F_SIZE, 11, &h.size))
        return fws_errf(eb, FWS_ERR_FORMAT, "bad size field");
    size_t plen = strnlen((const char *)unverified + F_PREFIX, PREFIX_LEN);
    size_t nlen = strnlen((const char *)unverified + F_NAME, NAME_LEN);
    size_t at = 0;
    if (plen > 0) {
        memcpy(h.name, unverified + F_PREFIX, plen);
        h.name[plen] = '/';
        at = plen + 1;
    }
    memcpy(h.name + at, unverified + F_NAME, nlen);
    h.name[at + nlen] = '\0';
    if (fws_tar_header_make(h.name, h.size, want, NULL) != FWS_OK)
        return fws_errf(eb, FWS_ERR_FORMAT, "member name \"%.80s\" is not allowed", h.name);
    for (size_t i = 0; i < FWS_TAR_BLOCK; i++) {
        if (want[i] != unverified[i])
            return fws_errf(eb, FWS_ERR_FORMAT, "%s: header field %s differs from the profile",
                            h.name, field_at(i));
    }
    *out = h;
    return FWS_OK;
}

static int is_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

void fws_tar_reader_init(fws_tar_reader *r, const uint8_t *unverified, size_t len,
                         size_t max_members)
{
    memset(r, 0, sizeof(*r));
    r->data = unverified;
    r->len = len;
    r->max_members = max_members != 0 ? max_members : FWS_TAR_MEMBERS_MAX;
}

static fws_err read_end(fws_tar_reader *r, fws_errbuf *eb)
{
    size_t at = r->pos;
    if (r->len - at < 2 * FWS_TAR_BLOCK || !is_zero(r->data + at + FWS_TAR_BLOCK, FWS_TAR_BLOCK))
        return fws_errf(eb, FWS_ERR_LENGTH, "offset %zu: the archive ends without two zero blocks",
                        at);
    if (r->len - at != 2 * FWS_TAR_BLOCK)
        return fws_errf(eb, FWS_ERR_FORMAT, "offset %zu: bytes after the end of the archive",
                        at + 2 * FWS_TAR_BLOCK);
    r->done = 1;
    return FWS_ERR_NOT_FOUND;
}

fws_err fws_tar_next(fws_tar_reader *r, fws_tar_member *out, fws_errbuf *eb)
{
    fws_tar_header h;
    fws_err err;
    if (r->done)
        return FWS_ERR_NOT_FOUND;
    if (r->pos > r->len || r->len - r->pos < FWS_TAR_BLOCK)
        return fws_errf(eb, FWS_ERR_LENGTH, "offset %zu: the archive is truncated", r->pos);
    const uint8_t *block = r->data + r->pos;
    if (is_zero(block, FWS_TAR_BLOCK))
        return read_end(r, eb);
    if ((err = fws_tar_header_parse(block, &h, eb)) != FWS_OK)
        return fws_errf(eb, err, "offset %zu: bad header", r->pos);
    if (r->members >= r->max_members)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "more than %zu members", r->max_members);
    size_t room = r->len - r->pos - FWS_TAR_BLOCK;
    if (h.size > room)
        return fws_errf(eb, FWS_ERR_LENGTH, "%s: truncated (%llu bytes, %zu left)", h.name,
                        (unsigned long long)h.size, room);
    size_t pad = (size_t)((FWS_TAR_BLOCK - h.size % FWS_TAR_BLOCK) % FWS_TAR_BLOCK);
    if (room - (size_t)h.size < pad)
        return fws_errf(eb, FWS_ERR_LENGTH, "%s: truncated padding", h.name);
    const uint8_t *data = block + FWS_TAR_BLOCK;
    if (!is_zero(data + h.size, pad))
        return fws_errf(eb, FWS_ERR_FORMAT, "%s: padding is not zero", h.name);
    out->h = h;
    out->data = data;
    out->offset = r->pos;
    r->pos += FWS_TAR_BLOCK + (size_t)h.size + pad;
    r->members++;
    return FWS_OK;
}
