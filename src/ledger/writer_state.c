/* The tree-state file: the durable size and root, written after the tiles of every batch.
 *   fwseal-tree-state/1\n<decimal size>\n<base64 root>\n */
#include <stdio.h>
#include <string.h>
#include "fwseal/crypto.h"
#include "writer_internal.h"

#define STATE_HEADER "fwseal-tree-state/1\n"

void wr_b64_hash(const uint8_t hash[FWS_MERKLE_HASH_LEN], char out[48])
{
    fws_base64_encode(hash, FWS_MERKLE_HASH_LEN, out);
}

fws_err wr_state_format(uint64_t size, const uint8_t root[FWS_MERKLE_HASH_LEN], char *out,
                        size_t cap, size_t *len)
{
    char b64[48];
    wr_b64_hash(root, b64);
    int n = snprintf(out, cap, STATE_HEADER "%llu\n%s\n", (unsigned long long)size, b64);
    if (n < 0 || (size_t)n >= cap)
        return FWS_ERR_TOO_BIG;
    *len = (size_t)n;
    return FWS_OK;
}

static int parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

fws_err wr_state_parse(const char *text, size_t len, uint64_t *size,
                       uint8_t root[FWS_MERKLE_HASH_LEN], fws_errbuf *eb)
{
    size_t hl = strlen(STATE_HEADER), got = 0;
    uint8_t r[FWS_MERKLE_HASH_LEN];
    uint64_t s;
    if (len < hl || memcmp(text, STATE_HEADER, hl) != 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "tree-state: bad header");
    const char *p = text + hl, *end = text + len;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL || !parse_u64(p, (size_t)(nl - p), &s))
        return fws_errf(eb, FWS_ERR_FORMAT, "tree-state: bad size line");
    p = nl + 1;
    nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL || nl + 1 != end ||
        fws_base64_decode(p, (size_t)(nl - p), r, sizeof(r), &got) != FWS_OK ||
        got != FWS_MERKLE_HASH_LEN)
        return fws_errf(eb, FWS_ERR_FORMAT, "tree-state: bad root line");
    *size = s;
    memcpy(root, r, sizeof(r));
    return FWS_OK;
}
