/* Internals of the DSSE module. Not a public API. */
#ifndef FWSEAL_DSSE_INTERNAL_H
#define FWSEAL_DSSE_INTERNAL_H

#include "fwseal/dsse.h"

/* The fast path of fws_dsse_parse: 1 and *env filled (payload malloc'd) when the input is an
 * envelope in fwseal's compact form, else 0 with nothing allocated. */
int dsse_parse_compact(const uint8_t *unverified, size_t len, fws_dsse_envelope *env);

#endif
