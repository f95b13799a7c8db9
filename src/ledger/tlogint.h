/* Internal accessors of the tile-log reader. */
#ifndef FWSEAL_LEDGER_TLOGINT_H
#define FWSEAL_LEDGER_TLOGINT_H

#include "fwseal/tiles.h"

/* The hash provider the reader was opened with. */
const fws_hash_ops *tlog_ops(const fws_tlog *t);

#endif
