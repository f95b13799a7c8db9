/* Role names and the expiry time format ("YYYY-MM-DDTHH:MM:SSZ", UTC). */
#include <string.h>
#include "fwseal/tuf.h"

static const char *const kind_names[FWS_TUF_KIND_COUNT] = {"root", "timestamp", "snapshot",
                                                           "targets"};

const char *fws_tuf_kind_name(fws_tuf_kind kind)
{
    if ((unsigned)kind >= FWS_TUF_KIND_COUNT)
        return "?";
    return kind_names[kind];
}

int fws_tuf_is_top_level_name(const char *name)
{
    for (unsigned i = 0; i < FWS_TUF_KIND_COUNT; i++) {
        if (strcmp(name, kind_names[i]) == 0)
            return 1;
    }
    return 0;
}

/* Days from 1970-01-01 to the given civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads n decimal digits at s; -1 if any is not a digit. */
static int digits(const char *s, unsigned n)
{
    int v = 0;
    for (unsigned i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

fws_err fws_tuf_time_parse(const char *text, int64_t *out)
{
    if (text == NULL || out == NULL)
        return FWS_ERR_ARG;
    if (strlen(text) != FWS_TUF_TIME_LEN - 1 || text[4] != '-' || text[7] != '-' ||
        text[10] != 'T' || text[13] != ':' || text[16] != ':' || text[19] != 'Z')
        return FWS_ERR_FORMAT;
    int y = digits(text, 4), mo = digits(text + 5, 2), d = digits(text + 8, 2);
    int h = digits(text + 11, 2), mi = digits(text + 14, 2), s = digits(text + 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 ||
        s > 59)
        return FWS_ERR_FORMAT;
    if ((unsigned)d > days_in_month(y, (unsigned)mo))
        return FWS_ERR_FORMAT;
    *out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s;
    return FWS_OK;
}

fws_err fws_tuf_time_format(int64_t t, char out[FWS_TUF_TIME_LEN])
{
    /* 253402300799 is 9999-12-31T23:59:59Z. */
    if (out == NULL || t < 0 || t > 253402300799LL)
        return FWS_ERR_ARG;
    int64_t days = t / 86400, rem = t % 86400;
    /* civil_from_days */
    int64_t z = days + 719468;
    int64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    int hh = (int)(rem / 3600), mm = (int)(rem % 3600 / 60), ss = (int)(rem % 60);
    /* Every field is bounded above, so the output is exactly 20 characters. */
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = 'T';
    out[11] = (char)('0' + hh / 10);
    out[12] = (char)('0' + hh % 10);
    out[13] = ':';
    out[14] = (char)('0' + mm / 10);
    out[15] = (char)('0' + mm % 10);
    out[16] = ':';
    out[17] = (char)('0' + ss / 10);
    out[18] = (char)('0' + ss % 10);
    out[19] = 'Z';
    out[20] = '\0';
    return FWS_OK;
}
