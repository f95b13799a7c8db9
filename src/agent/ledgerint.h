/* Internal: the ledger check of an update. */
#ifndef FWSEAL_AGENT_LEDGERINT_H
#define FWSEAL_AGENT_LEDGERINT_H

#include "fwseal/note.h"
#include "fwseal/tiles.h"
#include "agent/internal.h"

/* Verifies the log's checkpoint with log_key, its consistency with state_dir/checkpoint, and the
 * inclusion of the release record w describes; then saves the newer checkpoint. Errors:
 * FWS_ERR_INCONSISTENT (a fork), FWS_ERR_ROLLBACK (an older checkpoint), FWS_ERR_PROOF (the
 * release is missing or the record is another one), FWS_ERR_SIGNATURE / KEY_MISMATCH. */
fws_err fws_agent_ledger_check(const fws_tile_source *src, const fws_note_vkey *log_key,
                               const char *state_dir, const fws_agent_io *io,
                               const fws_ledger_want *w, fws_errbuf *eb) FWS_MUST_CHECK;

#endif
