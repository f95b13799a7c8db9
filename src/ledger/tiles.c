/* C2SP tlog-tiles: entry bundles and tile hashes. */
#include <string.h>
#include "fwseal/tiles.h"
#include "fwseal/merkle.h"

fws_err fws_tile_hash(const fws_hash_ops *ops, const uint8_t *hashes, size_t width,
                      uint8_t out[FWS_MERKLE_HASH_LEN])
{
    fws_merkle_range r;

    if (hashes == NULL || out == NULL || width == 0 || width > FWS_TILE_WIDTH)
        return FWS_ERR_ARG;
    fws_merkle_range_init(&r);
    for (size_t i = 0; i < width; i++) {
        fws_err err = fws_merkle_range_append(&r, ops, hashes + i * FWS_MERKLE_HASH_LEN);
        if (err != FWS_OK)
            return err;
    }
    return fws_merkle_range_root(&r, ops, out);
}

fws_err fws_bundle_parse(const uint8_t *unverified, size_t len, size_t want,
                         fws_bundle_entry out[FWS_TILE_WIDTH], fws_errbuf *eb)
{
    fws_bundle_entry e[FWS_TILE_WIDTH];
    size_t pos = 0, n = 0;

    if ((unverified == NULL && len > 0) || out == NULL || want == 0 || want > FWS_TILE_WIDTH)
        return fws_errf(eb, FWS_ERR_ARG, "bundle: bad arguments");
    while (pos < len) {
        if (n == want)
            return fws_errf(eb, FWS_ERR_LENGTH, "bundle: %zu trailing bytes after %zu entries",
                            len - pos, want);
        if (len - pos < 2)
            return fws_errf(eb, FWS_ERR_FORMAT, "bundle: entry %zu: truncated length", n);
        size_t l = ((size_t)unverified[pos] << 8) | unverified[pos + 1];
        pos += 2;
        if (l > len - pos)
            return fws_errf(eb, FWS_ERR_FORMAT, "bundle: entry %zu: %zu bytes run past the end", n,
                            l);
        e[n].data = unverified + pos;
        e[n].len = l;
        n++;
        pos += l;
    }
    if (n != want)
        return fws_errf(eb, FWS_ERR_LENGTH, "bundle: %zu entries, expected %zu", n, want);
    memcpy(out, e, n * sizeof e[0]);
    return FWS_OK;
}

fws_err fws_bundle_append(uint8_t *buf, size_t cap, size_t *len, const uint8_t *entry,
                          size_t entry_len)
{
    if (buf == NULL || len == NULL || (entry == NULL && entry_len > 0) || *len > cap)
        return FWS_ERR_ARG;
    if (entry_len > FWS_ENTRY_MAX || cap - *len < 2 || cap - *len - 2 < entry_len)
        return FWS_ERR_TOO_BIG;
    buf[*len] = (uint8_t)(entry_len >> 8);
    buf[*len + 1] = (uint8_t)entry_len;
    if (entry_len > 0)
        memcpy(buf + *len + 2, entry, entry_len);
    *len += 2 + entry_len;
    return FWS_OK;
}
