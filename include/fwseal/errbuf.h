/* One line of context to go with an fws_err, filled by the library, printed by the CLI. */
#ifndef FWSEAL_ERRBUF_H
#define FWSEAL_ERRBUF_H

#include <stddef.h>
#include "fwseal/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FWS_ERRBUF_SIZE 512

typedef struct fws_errbuf {
    char msg[FWS_ERRBUF_SIZE];
} fws_errbuf;

/* Formats one line into eb (if eb is not NULL and is still empty: the first, most specific
 * message wins) and returns err, so callers can write `return fws_errf(eb, FWS_ERR_IO, ...)`. */
fws_err fws_errf(fws_errbuf *eb, fws_err err, const char *fmt, ...) FWS_PRINTF(3, 4);

/* Clears the buffer. */
void fws_errbuf_clear(fws_errbuf *eb);

#ifdef __cplusplus
}
#endif
#endif
