/* PEM blocks (RFC 7468) in key files: find the one block, name its label, decode its body. */
#include <stdio.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "internal.h"

static const char pem_begin[] = "-----BEGIN ";
static const char pem_dashes[] = "-----";

/* First occurrence of needle in hay[0..len), or NULL. Bounded: the input may hold NUL bytes. */
static const char *find(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n <= len && i <= len - n; i++) {
        if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
            return hay + i;
    }
    return NULL;
}

/* A "-----BEGIN " at the start of a line, searching from p. */
static const char *find_begin(const char *text, const char *p, const char *end)
{
    while (p < end) {
        const char *b = find(p, (size_t)(end - p), pem_begin);
        if (b == NULL)
            return NULL;
        if (b == text || b[-1] == '\n')
            return b;
        p = b + 1;
    }
    return NULL;
}

static int label_char_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == '-';
}

static crypto_pem_kind kind_of(const char *label)
{
    if (strcmp(label, "PUBLIC KEY") == 0)
        return CRYPTO_PEM_PUBLIC;
    if (strcmp(label, "PRIVATE KEY") == 0)
        return CRYPTO_PEM_PRIVATE;
    if (strcmp(label, "ENCRYPTED PRIVATE KEY") == 0)
        return CRYPTO_PEM_ENCRYPTED_PRIVATE;
    return CRYPTO_PEM_OTHER;
}

/* Reads the label of the BEGIN line at b into label; returns the end of that line's dashes. */
static const char *read_label(const char *b, const char *end, char label[CRYPTO_PEM_LABEL_MAX])
{
    const char *p = b + strlen(pem_begin);
    size_t n = 0;

    while (p < end && n < CRYPTO_PEM_LABEL_MAX - 1 && label_char_ok(*p)) {
        if (*p == '-' && (size_t)(end - p) >= 5 && memcmp(p, pem_dashes, 5) == 0)
            break;
        label[n++] = *p++;
    }
    label[n] = '\0';
    if (n == 0 || (size_t)(end - p) < 5 || memcmp(p, pem_dashes, 5) != 0)
        return NULL;
    return p + 5;
}

fws_err crypto_pem_scan(const char *text, size_t len, const char *what, crypto_pem *out,
                        const char **block, size_t *block_len, fws_errbuf *eb)
{
    const char *end = text + len;
    const char *b, *after, *e;
    char end_line[CRYPTO_PEM_LABEL_MAX + 16];
    crypto_pem pem;

    if (len == 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "%s: empty file", what);
    b = find_begin(text, text, end);
    if (b == NULL)
        return fws_errf(eb, FWS_ERR_FORMAT, "%s: not a PEM file (no BEGIN line)", what);
    memset(&pem, 0, sizeof(pem));
    after = read_label(b, end, pem.label);
    if (after == NULL)
        return fws_errf(eb, FWS_ERR_FORMAT, "%s: malformed PEM BEGIN line", what);
    snprintf(end_line, sizeof(end_line), "-----END %s-----", pem.label);
    e = find(after, (size_t)(end - after), end_line);
    if (e == NULL)
        return fws_errf(eb, FWS_ERR_FORMAT, "%s: truncated PEM %s (no END line)", what, pem.label);
    e += strlen(end_line);
    if (e < end && *e == '\r')
        e++;
    if (e < end && *e == '\n')
        e++;
    if (find_begin(text, e, end) != NULL)
        return fws_errf(eb, FWS_ERR_FORMAT, "%s: more than one PEM block", what);
    pem.kind = kind_of(pem.label);
    *out = pem;
    *block = b;
    *block_len = (size_t)(e - b);
    return FWS_OK;
}

fws_err crypto_pem_decode(const char *text, size_t len, const char *what, crypto_pem *out,
                          fws_errbuf *eb)
{
    crypto_pem pem;
    const char *block = NULL;
    size_t block_len = 0;
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long data_len = 0;
    BIO *mem;
    fws_err err;

    err = crypto_pem_scan(text, len, what, &pem, &block, &block_len, eb);
    if (err != FWS_OK)
        return err;
    if (block_len > (size_t)FWS_KEYFILE_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%s: PEM block too large", what);
    mem = BIO_new_mem_buf(block, (int)block_len);
    if (mem == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "%s: out of memory", what);
    /* Only a base64 body: RFC 7468 keys carry no "Proc-Type" headers. */
    if (PEM_read_bio_ex(mem, &name, &header, &data, &data_len, PEM_FLAG_ONLY_B64) != 1 ||
        data_len <= 0) {
        err =
            fws_errf(eb, FWS_ERR_FORMAT, "%s: corrupted PEM %s (bad base64 body)", what, pem.label);
        goto out;
    }
    pem.der = data;
    pem.der_len = (size_t)data_len;
    data = NULL;
    *out = pem;
out:
    BIO_free(mem);
    OPENSSL_free(name);
    OPENSSL_free(header);
    if (data != NULL)
        OPENSSL_clear_free(data, (size_t)(data_len > 0 ? data_len : 0));
    if (err != FWS_OK)
        ERR_clear_error();
    return err;
}

const char *crypto_pem_describe(const crypto_pem *p, char *buf, size_t cap)
{
    switch (p->kind) {
    case CRYPTO_PEM_PUBLIC:
        return "a public key (PUBLIC KEY)";
    case CRYPTO_PEM_PRIVATE:
        return "an unencrypted private key (PRIVATE KEY)";
    case CRYPTO_PEM_ENCRYPTED_PRIVATE:
        return "an encrypted private key (ENCRYPTED PRIVATE KEY)";
    case CRYPTO_PEM_OTHER:
        break;
    }
    snprintf(buf, cap, "a %s PEM block", p->label);
    return buf;
}

void crypto_pem_free(crypto_pem *p)
{
    if (p == NULL)
        return;
    if (p->der != NULL)
        OPENSSL_clear_free(p->der, p->der_len);
    p->der = NULL;
    p->der_len = 0;
}

fws_err fws_key_from_public_pem(const char *pem, size_t len, fws_key **out, fws_errbuf *eb)
{
    crypto_pem blk;
    fws_err err;

    if ((pem == NULL && len > 0) || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no public key");
    if (len > (size_t)FWS_KEYFILE_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "public key PEM: over the %d-byte limit",
                        FWS_KEYFILE_MAX);
    err = crypto_pem_decode(pem, len, "public key PEM", &blk, eb);
    if (err != FWS_OK)
        return err;
    if (blk.kind != CRYPTO_PEM_PUBLIC) {
        char desc[CRYPTO_PEM_LABEL_MAX + 16];
        err = fws_errf(eb, FWS_ERR_FORMAT, "public key PEM: holds %s, not a public key",
                       crypto_pem_describe(&blk, desc, sizeof(desc)));
        goto out;
    }
    err = crypto_key_from_spki(blk.der, blk.der_len, "public key PEM", out, eb);
out:
    crypto_pem_free(&blk);
    return err;
}
