/* Reading result rows: typed accessors over the engine's columns. A value that does not fit
 * what this build expects (a string past its cap, an unknown enum name, a malformed digest)
 * means the database was written by something else: FWS_ERR_SCHEMA, naming the column. */
#include <string.h>
#include "fwseal/crypto.h"
#include "store/internal.h"

int64_t row_int(const store_row *r, int col)
{
    return r->eng->col_int(r, col);
}

int row_null(const store_row *r, int col)
{
    return r->eng->is_null(r, col);
}

const char *row_text(const store_row *r, int col)
{
    return r->eng->col_text(r, col);
}

fws_err row_copy(const store_row *r, int col, char *dst, size_t cap, const char *what,
                 fws_errbuf *eb)
{
    const char *v = row_text(r, col);
    size_t len = strlen(v);
    if (len >= cap)
        return fws_errf(eb, FWS_ERR_SCHEMA, "stored %s longer than %zu bytes", what, cap - 1);
    memcpy(dst, v, len + 1);
    return FWS_OK;
}

fws_err row_u32(const store_row *r, int col, uint32_t *out, const char *what, fws_errbuf *eb)
{
    int64_t v = row_int(r, col);
    if (v < 0 || v > (int64_t)UINT32_MAX)
        return fws_errf(eb, FWS_ERR_SCHEMA, "stored %s out of range: %lld", what, (long long)v);
    *out = (uint32_t)v;
    return FWS_OK;
}

fws_err row_digest(const store_row *r, int col, uint8_t out[32], int allow_empty, const char *what,
                   fws_errbuf *eb)
{
    const char *v = row_text(r, col);
    size_t n = 0;
    if (allow_empty && v[0] == '\0') {
        memset(out, 0, 32);
        return FWS_OK;
    }
    if (strlen(v) != 64 || fws_hex_decode(v, 64, out, 32, &n) != FWS_OK || n != 32)
        return fws_errf(eb, FWS_ERR_SCHEMA, "stored %s is not a hex SHA-256", what);
    return FWS_OK;
}

fws_err row_enum(const store_row *r, int col, fws_err (*parse)(const char *, int *), int *out,
                 const char *what, fws_errbuf *eb)
{
    const char *v = row_text(r, col);
    if (parse(v, out) != FWS_OK)
        return fws_errf(eb, FWS_ERR_SCHEMA, "stored %s \"%.64s\" is unknown", what, v);
    return FWS_OK;
}
