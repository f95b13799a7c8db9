/* Strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF, no truncated sequences. */
#include "internal.h"

static int is_cont(uint8_t c)
{
    return (c & 0xC0) == 0x80;
}

size_t fwsj_utf8_seq(const uint8_t *s, size_t avail)
{
    if (avail == 0)
        return 0;
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2) /* a continuation byte, or an overlong two-byte form (C0, C1) */
        return 0;
    if (c < 0xE0)
        return (avail >= 2 && is_cont(s[1])) ? 2 : 0;
    if (c < 0xF0) {
        uint8_t lo = (c == 0xE0) ? 0xA0 : 0x80; /* E0 80..9F would be overlong */
        uint8_t hi = (c == 0xED) ? 0x9F : 0xBF; /* ED A0..BF would be a surrogate */
        if (avail < 3 || s[1] < lo || s[1] > hi || !is_cont(s[2]))
            return 0;
        return 3;
    }
    if (c < 0xF5) {
        uint8_t lo = (c == 0xF0) ? 0x90 : 0x80; /* F0 80..8F would be overlong */
        uint8_t hi = (c == 0xF4) ? 0x8F : 0xBF; /* F4 90.. would pass U+10FFFF */
        if (avail < 4 || s[1] < lo || s[1] > hi || !is_cont(s[2]) || !is_cont(s[3]))
            return 0;
        return 4;
    }
    return 0;
}

int fws_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t n = fwsj_utf8_seq(s + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}
