/* Lookups over what the ledger and the inventory said, the DER walk that finds a certificate's
 * public key without allocating, and small file helpers. */
#include <stdlib.h>
#include <string.h>
#include "audit/internal.h"
#include "fwseal/json.h"
#include "fwseal/util.h"

void au_device_key(const char *id, uint8_t key[AU_KEY_LEN])
{
    uint8_t h[32];
    fws_sha256(id, strlen(id), h);
    memcpy(key, h, AU_KEY_LEN);
}

void au_ledger_free(au_ledger *l)
{
    free(l->rel);
    free(l->dev);
    free(l->inst);
    l->rel = NULL;
    l->dev = NULL;
    l->inst = NULL;
    l->n_rel = l->n_dev = l->n_inst = 0;
    l->cap_rel = l->cap_dev = l->cap_inst = 0;
}

const au_release *au_release_by_digest(const au_ledger *l, const uint8_t sha256[32])
{
    size_t lo = 0, hi = l->n_rel;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(l->rel[mid].sha256, sha256, 32);
        if (c == 0)
            return &l->rel[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const au_devrec *au_devrec_find(const au_ledger *l, const uint8_t key[AU_KEY_LEN])
{
    size_t lo = 0, hi = l->n_dev;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(l->dev[mid].key, key, AU_KEY_LEN);
        if (c == 0)
            return &l->dev[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const au_install *au_install_at(const au_ledger *l, uint64_t index)
{
    size_t lo = 0, hi = l->n_inst; /* indexes ascend: the scan goes in ledger order */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->inst[mid].index == index)
            return &l->inst[mid];
        if (l->inst[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void au_inventory_free(au_inventory *inv)
{
    free(inv->certs);
    memset(inv, 0, sizeof(*inv));
}

void au_inventory_device(const au_inventory *inv, const uint8_t key[AU_KEY_LEN],
                         const au_cert **first, size_t *n)
{
    size_t lo = 0, hi = inv->n;
    while (lo < hi) { /* the first certificate with this key */
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(inv->certs[mid].key, key, AU_KEY_LEN) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < inv->n && memcmp(inv->certs[end].key, key, AU_KEY_LEN) == 0)
        end++;
    *first = end > lo ? &inv->certs[lo] : NULL;
    *n = end - lo;
}

/* ---- DER: just enough to find a certificate's SubjectPublicKeyInfo ---------------------- */

/* Reads one TLV at *p (definite lengths, at most 4 length bytes); *body and *blen describe the
 * contents, *p moves past it. */
static int tlv(const uint8_t **p, const uint8_t *end, uint8_t *tag, const uint8_t **body,
               size_t *blen)
{
    const uint8_t *q = *p;
    if (end - q < 2)
        return 0;
    *tag = *q++;
    size_t len = *q++;
    if (len & 0x80) {
        size_t nb = len & 0x7f;
        if (nb == 0 || nb > 4 || (size_t)(end - q) < nb)
            return 0;
        len = 0;
        for (size_t i = 0; i < nb; i++)
            len = (len << 8) | *q++;
    }
    if ((size_t)(end - q) < len)
        return 0;
    *body = q;
    *blen = len;
    *p = q + len;
    return 1;
}

fws_err au_cert_spki(const uint8_t *der, size_t len, const uint8_t **spki, size_t *spki_len)
{
    const uint8_t *p = der, *end = der + len, *body, *tbs, *start;
    size_t blen, tlen;
    uint8_t tag;
    if (!tlv(&p, end, &tag, &body, &blen) || tag != 0x30)
        return FWS_ERR_FORMAT;
    p = body;
    end = body + blen;
    if (!tlv(&p, end, &tag, &tbs, &tlen) || tag != 0x30)
        return FWS_ERR_FORMAT;
    p = tbs;
    end = tbs + tlen;
    /* [0] version (optional), serial, signature, issuer, validity, subject, then the SPKI */
    int skip = 5;
    if (p < end && *p == 0xa0)
        skip = 6;
    for (int i = 0; i < skip; i++) {
        if (!tlv(&p, end, &tag, &body, &blen))
            return FWS_ERR_FORMAT;
    }
    start = p;
    if (!tlv(&p, end, &tag, &body, &blen) || tag != 0x30)
        return FWS_ERR_FORMAT;
    *spki = start;
    *spki_len = (size_t)(p - start);
    return FWS_OK;
}

static const uint8_t p256_prefix[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                      0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                      0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
static const uint8_t ed25519_prefix[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                         0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

int au_spki_raw(const uint8_t *spki, size_t len, uint8_t *pub, uint8_t *pub_len, uint8_t *type)
{
    if (len == sizeof(p256_prefix) + 65 && memcmp(spki, p256_prefix, sizeof(p256_prefix)) == 0 &&
        spki[sizeof(p256_prefix)] == 0x04) {
        memcpy(pub, spki + sizeof(p256_prefix), 65);
        *pub_len = 65;
        *type = FWS_KEY_P256;
        return 1;
    }
    if (len == sizeof(ed25519_prefix) + 32 &&
        memcmp(spki, ed25519_prefix, sizeof(ed25519_prefix)) == 0) {
        memcpy(pub, spki + sizeof(ed25519_prefix), 32);
        *pub_len = 32;
        *type = FWS_KEY_ED25519;
        return 1;
    }
    return 0;
}

/* ---- files ------------------------------------------------------------------------------------
 */

int au_path(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s/%s", a, b);
    return n > 0 && (size_t)n < cap;
}

fws_err au_json_file(const char *path, size_t max, json_t **out, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_err err = fws_file_read(path, max, &data, &len, eb);
    if (err == FWS_OK)
        err = fws_json_parse(data, len, 0, NULL, out, eb);
    free(data);
    return err;
}
