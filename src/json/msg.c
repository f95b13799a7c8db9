/* Small helpers that make untrusted bytes safe to print in a one-line error message. */
#include <stdio.h>
#include "internal.h"

#define MSG_TEXT_MAX 64

void fwsj_msg_byte(uint8_t c, char out[8])
{
    if (c >= 0x20 && c < 0x7F)
        snprintf(out, 8, "'%c'", (char)c);
    else
        snprintf(out, 8, "0x%02X", (unsigned)c);
}

void fwsj_msg_text(const uint8_t *s, size_t n, char *out, size_t cap)
{
    size_t i = 0, o = 0, room;
    if (cap == 0)
        return;
    room = cap - 1 < MSG_TEXT_MAX ? cap - 1 : MSG_TEXT_MAX;
    if (n > room && room >= 3)
        room -= 3; /* keep space for "..." */
    while (i < n) {
        size_t k = fwsj_utf8_seq(s + i, n - i);
        if (k == 0)
            k = 1;
        if (o + k > room)
            break;
        for (size_t j = 0; j < k; j++) {
            uint8_t c = s[i + j];
            out[o++] = (k == 1 && (c < 0x20 || c >= 0x7F)) ? '?' : (char)c;
        }
        i += k;
    }
    if (i < n && o + 3 < cap) {
        out[o++] = '.';
        out[o++] = '.';
        out[o++] = '.';
    }
    out[o] = '\0';
}
