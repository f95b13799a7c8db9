/* The backwards DER writer (see der.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "pki/der.h"

void der_init(der_w *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = 0;
}

size_t der_mark(const der_w *w)
{
    return w->len;
}

const uint8_t *der_data(const der_w *w)
{
    return w->overflow ? NULL : w->buf + w->cap - w->len;
}

fws_err der_status(const der_w *w)
{
    return w->overflow ? FWS_ERR_TOO_BIG : FWS_OK;
}

size_t der_take(der_w *w)
{
    if (w->overflow)
        return 0;
    memmove(w->buf, w->buf + w->cap - w->len, w->len);
    return w->len;
}

void der_raw(der_w *w, const void *data, size_t len)
{
    if (w->overflow || len > w->cap - w->len) {
        w->overflow = 1;
        return;
    }
    w->len += len;
    if (len > 0)
        memmove(w->buf + w->cap - w->len, data, len);
}

static void put_header(der_w *w, uint8_t tag, size_t len)
{
    uint8_t h[1 + 1 + sizeof(size_t)];
    size_t n = 0;
    h[n++] = tag;
    if (len < 0x80) {
        h[n++] = (uint8_t)len;
    } else {
        uint8_t be[sizeof(size_t)];
        size_t k = 0;
        for (size_t v = len; v != 0; v >>= 8)
            be[k++] = (uint8_t)(v & 0xff);
        h[n++] = (uint8_t)(0x80 | k);
        while (k > 0)
            h[n++] = be[--k];
    }
    der_raw(w, h, n);
}

void der_wrap(der_w *w, uint8_t tag, size_t mark)
{
    if (w->overflow)
        return;
    put_header(w, tag, w->len - mark);
}

void der_tlv(der_w *w, uint8_t tag, const void *data, size_t len)
{
    size_t m = der_mark(w);
    der_raw(w, data, len);
    der_wrap(w, tag, m);
}

void der_uint_bytes(der_w *w, const uint8_t *be, size_t len)
{
    size_t m = der_mark(w);
    while (len > 1 && be[0] == 0) {
        be++;
        len--;
    }
    if (len == 0) {
        static const uint8_t zero = 0;
        der_raw(w, &zero, 1);
    } else {
        der_raw(w, be, len);
        if (be[0] & 0x80) {
            static const uint8_t pad = 0;
            der_raw(w, &pad, 1);
        }
    }
    der_wrap(w, DER_INTEGER, m);
}

void der_uint(der_w *w, uint64_t v)
{
    uint8_t be[8];
    for (int i = 7; i >= 0; i--) {
        be[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
    der_uint_bytes(w, be, sizeof(be));
}

void der_bool_true(der_w *w)
{
    static const uint8_t t = 0xff;
    der_tlv(w, DER_BOOLEAN, &t, 1);
}

void der_oid(der_w *w, const uint8_t *oid, size_t len)
{
    der_tlv(w, DER_OID, oid, len);
}

void der_time(der_w *w, int64_t unix_seconds)
{
    struct tm tm;
    time_t t = (time_t)unix_seconds;
    char text[32];
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
        w->overflow = 1;
        return;
    }
    int year = tm.tm_year + 1900;
    int n;
    if (year >= 1950 && year < 2050) {
        n = snprintf(text, sizeof(text), "%02d%02d%02d%02d%02d%02dZ", year % 100, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        der_tlv(w, DER_UTC_TIME, text, (size_t)n);
    } else {
        n = snprintf(text, sizeof(text), "%04d%02d%02d%02d%02d%02dZ", year, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        der_tlv(w, DER_GENERALIZED_TIME, text, (size_t)n);
    }
}

void der_bits(der_w *w, const uint8_t *data, size_t len)
{
    static const uint8_t unused = 0;
    size_t m = der_mark(w);
    der_raw(w, data, len);
    der_raw(w, &unused, 1);
    der_wrap(w, DER_BIT_STRING, m);
}

fws_err der_read_header(const uint8_t *p, size_t len, uint8_t *tag, size_t *hdr, size_t *body)
{
    size_t n, h;
    if (len < 2)
        return FWS_ERR_FORMAT;
    if ((p[0] & 0x1f) == 0x1f)
        return FWS_ERR_FORMAT; /* high tag numbers are not used by anything we read */
    if (p[1] < 0x80) {
        n = p[1];
        h = 2;
    } else {
        size_t k = p[1] & 0x7f;
        if (k == 0 || k > 4 || len < 2 + k)
            return FWS_ERR_FORMAT;
        n = 0;
        for (size_t i = 0; i < k; i++)
            n = (n << 8) | p[2 + i];
        h = 2 + k;
    }
    if (n > len - h)
        return FWS_ERR_LENGTH;
    *tag = p[0];
    *hdr = h;
    *body = n;
    return FWS_OK;
}
