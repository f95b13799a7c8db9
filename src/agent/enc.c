/* fwseal-enc/v1: AES-256-GCM in authenticated chunks, decrypted while streaming. */
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "agent/internal.h"

#define ENC_MAGIC "FWSENC1"      /* and a NUL: 8 bytes */
#define ENC_CHUNK_MAX (1u << 20) /* largest chunk a device accepts */
#define ENC_NONCE_LEN 12

struct fws_enc_stream {
    uint8_t key[FWS_ENC_KEY_LEN];
    uint8_t header[FWS_ENC_HEADER_LEN];
    size_t header_got;
    uint32_t chunk;
    uint64_t plain_len;
    uint64_t n_chunks;
    uint64_t index; /* chunk being gathered */
    uint8_t *buf;   /* chunk + tag */
    size_t buf_got;
    uint8_t *plain; /* decrypted chunk */
    int done;
    EVP_CIPHER_CTX *cipher;
};

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t chunks_of(uint64_t plain_len, uint32_t chunk)
{
    return plain_len == 0 ? 1 : (plain_len + chunk - 1) / chunk;
}

uint64_t fws_enc_length(uint64_t plaintext_len, uint32_t chunk)
{
    if (chunk == 0)
        return 0;
    return FWS_ENC_HEADER_LEN + plaintext_len + chunks_of(plaintext_len, chunk) * FWS_ENC_TAG_LEN;
}

static size_t chunk_plain_len(const fws_enc_stream *s, uint64_t index)
{
    uint64_t start = index * s->chunk;
    uint64_t rest = s->plain_len - start;
    return rest < s->chunk ? (size_t)rest : s->chunk;
}

/* One chunk through AES-256-GCM: encrypt (enc 1) or decrypt and authenticate (enc 0). */
static fws_err gcm_chunk(EVP_CIPHER_CTX *c, int enc, const uint8_t key[FWS_ENC_KEY_LEN],
                         const uint8_t header[FWS_ENC_HEADER_LEN], uint64_t index, int last,
                         const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[FWS_ENC_TAG_LEN])
{
    uint8_t nonce[ENC_NONCE_LEN], flag = (uint8_t)(last ? 1 : 0);
    memcpy(nonce, header + 20, 8);
    put_be32(nonce + 8, (uint32_t)index);
    int n = 0, ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
                    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, ENC_NONCE_LEN, NULL) == 1 &&
                    EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) == 1 &&
                    EVP_CipherUpdate(c, NULL, &n, header, FWS_ENC_HEADER_LEN) == 1 &&
                    EVP_CipherUpdate(c, NULL, &n, &flag, 1) == 1;
    if (ok && len > 0)
        ok = EVP_CipherUpdate(c, out, &n, in, (int)len) == 1;
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, FWS_ENC_TAG_LEN, tag) == 1;
    if (ok)
        ok = EVP_CipherFinal_ex(c, out + len, &n) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, FWS_ENC_TAG_LEN, tag) == 1;
    return ok ? FWS_OK : enc ? FWS_ERR_CRYPTO : FWS_ERR_SIGNATURE;
}

fws_err fws_enc_stream_new(const uint8_t key[FWS_ENC_KEY_LEN], fws_enc_stream **out, fws_errbuf *eb)
{
    fws_enc_stream *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->cipher = EVP_CIPHER_CTX_new()) == NULL) {
        free(s);
        return fws_errf(eb, FWS_ERR_NOMEM, "no memory for a decryption context");
    }
    memcpy(s->key, key, FWS_ENC_KEY_LEN);
    *out = s;
    return FWS_OK;
}

void fws_enc_stream_free(fws_enc_stream *s)
{
    if (s == NULL)
        return;
    EVP_CIPHER_CTX_free(s->cipher);
    if (s->plain != NULL)
        fws_wipe(s->plain, s->chunk);
    free(s->plain);
    free(s->buf);
    fws_wipe(s, sizeof(*s));
    free(s);
}

static fws_err take_header(fws_enc_stream *s, fws_errbuf *eb)
{
    if (memcmp(s->header, ENC_MAGIC, 8) != 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "not an fwseal-enc/v1 payload");
    s->chunk = (uint32_t)get_be(s->header + 8, 4);
    s->plain_len = get_be(s->header + 12, 8);
    if (s->chunk == 0 || s->chunk > ENC_CHUNK_MAX || get_be(s->header + 28, 4) != 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "encrypted payload: bad chunk size or header");
    if (s->plain_len > ((uint64_t)1 << 50))
        return fws_errf(eb, FWS_ERR_TOO_BIG, "encrypted payload: plaintext length");
    s->n_chunks = chunks_of(s->plain_len, s->chunk);
    if (s->n_chunks > UINT32_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "encrypted payload: too many chunks");
    s->buf = malloc((size_t)s->chunk + FWS_ENC_TAG_LEN);
    s->plain = malloc((size_t)s->chunk + 16);
    if (s->buf == NULL || s->plain == NULL)
        return FWS_ERR_NOMEM;
    return FWS_OK;
}

static fws_err open_chunk(fws_enc_stream *s, fws_enc_out_fn out, void *ctx, fws_errbuf *eb)
{
    size_t len = chunk_plain_len(s, s->index);
    int last = s->index + 1 == s->n_chunks;
    fws_err err = gcm_chunk(s->cipher, 0, s->key, s->header, s->index, last, s->buf, len, s->plain,
                            s->buf + len);
    if (err != FWS_OK)
        return fws_errf(eb, err, "encrypted payload: chunk %llu does not authenticate",
                        (unsigned long long)s->index);
    err = len > 0 ? out(ctx, s->plain, len) : FWS_OK;
    fws_wipe(s->plain, len);
    s->index++;
    s->buf_got = 0;
    s->done = last;
    return err;
}

fws_err fws_enc_stream_update(fws_enc_stream *s, const uint8_t *data, size_t len,
                              fws_enc_out_fn out, void *ctx, fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    while (err == FWS_OK && len > 0) {
        if (s->done)
            return fws_errf(eb, FWS_ERR_LENGTH, "encrypted payload: bytes after the last chunk");
        if (s->header_got < FWS_ENC_HEADER_LEN) {
            size_t n = FWS_ENC_HEADER_LEN - s->header_got;
            n = n < len ? n : len;
            memcpy(s->header + s->header_got, data, n);
            s->header_got += n;
            data += n;
            len -= n;
            if (s->header_got == FWS_ENC_HEADER_LEN)
                err = take_header(s, eb);
            continue;
        }
        size_t want = chunk_plain_len(s, s->index) + FWS_ENC_TAG_LEN - s->buf_got;
        size_t n = want < len ? want : len;
        memcpy(s->buf + s->buf_got, data, n);
        s->buf_got += n;
        data += n;
        len -= n;
        if (n == want)
            err = open_chunk(s, out, ctx, eb);
    }
    return err;
}

fws_err fws_enc_stream_final(fws_enc_stream *s, fws_errbuf *eb)
{
    if (!s->done)
        return fws_errf(eb, FWS_ERR_LENGTH, "encrypted payload: cut short before its last chunk");
    return FWS_OK;
}

/* ---- encrypting (servers and tests) ------------------------------------------------------------
 */

static fws_err enc_write(FILE *f, const void *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, f) == n ? FWS_OK : FWS_ERR_IO;
}

fws_err fws_enc_encrypt_file(const char *in, const char *out, const uint8_t key[FWS_ENC_KEY_LEN],
                             uint32_t chunk, fws_errbuf *eb)
{
    if (chunk == 0 || chunk > ENC_CHUNK_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "chunk size must be 1..%u", ENC_CHUNK_MAX);
    FILE *fi = fopen(in, "rb"), *fo = fi ? fopen(out, "wb") : NULL;
    uint8_t header[FWS_ENC_HEADER_LEN] = {0}, tag[FWS_ENC_TAG_LEN];
    uint8_t *pbuf = malloc(chunk), *cbuf = malloc((size_t)chunk + 16);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    fws_err err = fi && fo ? FWS_OK : fws_errf(eb, FWS_ERR_IO, "cannot open %s or %s", in, out);
    if (err == FWS_OK && (!pbuf || !cbuf || !c))
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK && (fseeko(fi, 0, SEEK_END) != 0 || ftello(fi) < 0))
        err = fws_errf(eb, FWS_ERR_IO, "%s: not seekable", in);
    uint64_t total = err == FWS_OK ? (uint64_t)ftello(fi) : 0;
    if (err == FWS_OK && (fseeko(fi, 0, SEEK_SET) != 0 || fws_random(header + 20, 8) != FWS_OK))
        err = FWS_ERR_IO;
    memcpy(header, ENC_MAGIC, 8);
    put_be32(header + 8, chunk);
    put_be64(header + 12, total);
    if (err == FWS_OK)
        err = enc_write(fo, header, sizeof(header));
    uint64_t n_chunks = chunks_of(total, chunk);
    for (uint64_t i = 0; err == FWS_OK && i < n_chunks; i++) {
        size_t len = total - i * chunk < chunk ? (size_t)(total - i * chunk) : chunk;
        if (len > 0 && fread(pbuf, 1, len, fi) != len)
            err = fws_errf(eb, FWS_ERR_IO, "%s: short read", in);
        if (err == FWS_OK)
            err = gcm_chunk(c, 1, key, header, i, i + 1 == n_chunks, pbuf, len, cbuf, tag);
        if (err == FWS_OK)
            err = enc_write(fo, cbuf, len);
        if (err == FWS_OK)
            err = enc_write(fo, tag, sizeof(tag));
    }
    if (fo != NULL && fclose(fo) != 0 && err == FWS_OK)
        err = fws_errf(eb, FWS_ERR_IO, "%s: write failed", out);
    if (fi != NULL)
        fclose(fi);
    if (pbuf != NULL)
        fws_wipe(pbuf, chunk);
    free(pbuf);
    free(cbuf);
    EVP_CIPHER_CTX_free(c);
    return err;
}
