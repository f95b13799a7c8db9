/* Base64 (RFC 4648 section 4, standard alphabet, padded) and hex, strict in what they accept. */
#include "fwseal/crypto.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of a base64 character, or -1. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

size_t fws_base64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    size_t i = 0;

    for (; n - i >= 3; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

/* Checks the whole input before anything is written: length, alphabet, padding, and that the
 * bits the padding leaves over are zero (so each byte string has exactly one encoding). */
static fws_err b64_check(const char *in, size_t n, size_t *pad_out)
{
    size_t pad = 0;

    if (n % 4 != 0)
        return FWS_ERR_FORMAT;
    if (n == 0) {
        *pad_out = 0;
        return FWS_OK;
    }
    if (in[n - 1] == '=')
        pad = in[n - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < n - pad; i++) {
        if (b64_value((unsigned char)in[i]) < 0)
            return FWS_ERR_FORMAT;
    }
    /* The last data character carries 2 (one '=') or 4 (two '=') unused low bits. */
    if (pad == 1 && (b64_value((unsigned char)in[n - 2]) & 0x03) != 0)
        return FWS_ERR_NOT_CANONICAL;
    if (pad == 2 && (b64_value((unsigned char)in[n - 3]) & 0x0f) != 0)
        return FWS_ERR_NOT_CANONICAL;
    *pad_out = pad;
    return FWS_OK;
}

fws_err fws_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t pad = 0, o = 0;
    uint8_t tail[3];
    fws_err err;

    if ((in == NULL && n > 0) || out_len == NULL)
        return FWS_ERR_ARG;
    err = b64_check(in, n, &pad);
    if (err != FWS_OK)
        return err;
    if (n / 4 * 3 - pad > cap)
        return FWS_ERR_TOO_BIG;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        for (size_t j = 0; j < 4; j++) {
            int d = in[i + j] == '=' ? 0 : b64_value((unsigned char)in[i + j]);
            v = v << 6 | (uint32_t)d;
        }
        tail[0] = (uint8_t)(v >> 16);
        tail[1] = (uint8_t)(v >> 8);
        tail[2] = (uint8_t)v;
        size_t take = i + 4 == n ? 3 - pad : 3;
        for (size_t j = 0; j < take; j++)
            out[o++] = tail[j];
    }
    *out_len = o;
    return FWS_OK;
}

void fws_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

fws_err fws_hex_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    if ((in == NULL && n > 0) || out_len == NULL)
        return FWS_ERR_ARG;
    if (n % 2 != 0)
        return FWS_ERR_FORMAT;
    for (size_t i = 0; i < n; i++) {
        if (hex_value((unsigned char)in[i]) < 0)
            return FWS_ERR_FORMAT;
    }
    if (n / 2 > cap)
        return FWS_ERR_TOO_BIG;
    for (size_t i = 0; i < n / 2; i++)
        out[i] = (uint8_t)(hex_value((unsigned char)in[2 * i]) << 4 |
                           hex_value((unsigned char)in[2 * i + 1]));
    *out_len = n / 2;
    return FWS_OK;
}
