/* Checking bytes against a TUF "hashes" object (every listed hash must match). */
#include <string.h>
#include "internal.h"
#include "fwseal/core.h"

fws_err fws_tuf_hasher_init(fws_tuf_hasher *h, const json_t *hashes, fws_errbuf *eb)
{
    const char *alg;
    json_t *v;
    size_t n = 0;

    if (h == NULL)
        return FWS_ERR_ARG;
    memset(h, 0, sizeof(*h));
    if (!json_is_object(hashes) || json_object_size(hashes) == 0)
        return fws_errf(eb, FWS_ERR_SCHEMA, "\"hashes\" must be a non-empty object");
    json_object_foreach((json_t *)hashes, alg, v)
    {
        const char *hex = json_string_value(v);
        size_t hex_len = json_string_length(v);
        if (hex == NULL)
            return fws_errf(eb, FWS_ERR_SCHEMA, "hash \"%.32s\" must be a string", alg);
        if (strcmp(alg, "sha256") == 0) {
            if (fws_hex_decode(hex, hex_len, h->want256, sizeof(h->want256), &n) != FWS_OK ||
                n != FWS_SHA256_LEN)
                return fws_errf(eb, FWS_ERR_SCHEMA, "sha256 hash is not 64 hex digits");
            h->use256 = 1;
        } else if (strcmp(alg, "sha512") == 0) {
            if (fws_hex_decode(hex, hex_len, h->want512, sizeof(h->want512), &n) != FWS_OK ||
                n != FWS_SHA512_LEN)
                return fws_errf(eb, FWS_ERR_SCHEMA, "sha512 hash is not 128 hex digits");
            h->use512 = 1;
        } else {
            return fws_errf(eb, FWS_ERR_UNSUPPORTED, "hash algorithm \"%.32s\" is not supported",
                            alg);
        }
    }
    if (h->use256)
        fws_sha256_init(&h->sha256);
    if (h->use512)
        fws_sha512_init(&h->sha512);
    return FWS_OK;
}

void fws_tuf_hasher_update(fws_tuf_hasher *h, const void *data, size_t len)
{
    if (h->use256)
        fws_sha256_update(&h->sha256, data, len);
    if (h->use512)
        fws_sha512_update(&h->sha512, data, len);
}

fws_err fws_tuf_hasher_final(fws_tuf_hasher *h, const char *what, fws_errbuf *eb)
{
    uint8_t d256[FWS_SHA256_LEN], d512[FWS_SHA512_LEN];
    int ok256 = 1, ok512 = 1;

    if (h->use256) {
        fws_sha256_final(&h->sha256, d256);
        ok256 = fws_ct_eq(d256, h->want256, sizeof(d256));
    }
    if (h->use512) {
        fws_sha512_final(&h->sha512, d512);
        ok512 = fws_ct_eq(d512, h->want512, sizeof(d512));
    }
    if (!ok256 || !ok512)
        return fws_errf(eb, FWS_ERR_DIGEST, "%s: %s hash does not match", what,
                        ok256 ? "sha512" : "sha256");
    return FWS_OK;
}

fws_err fws_tuf_hashes_check(const json_t *hashes, const uint8_t *data, size_t len,
                             const char *what, fws_errbuf *eb)
{
    fws_tuf_hasher h;
    fws_err err = fws_tuf_hasher_init(&h, hashes, eb);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s", what);
    fws_tuf_hasher_update(&h, data, len);
    return fws_tuf_hasher_final(&h, what, eb);
}
