#include <stdarg.h>
#include <stdio.h>
#include "fwseal/errbuf.h"

fws_err fws_errf(fws_errbuf *eb, fws_err err, const char *fmt, ...)
{
    if (eb == NULL || eb->msg[0] != '\0')
        return err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
    va_end(ap);
    return err;
}

void fws_errbuf_clear(fws_errbuf *eb)
{
    if (eb != NULL)
        eb->msg[0] = '\0';
}
