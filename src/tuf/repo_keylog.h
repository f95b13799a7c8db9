/* Internal to the repository side: the ledger records of a key rotation (repo_keylog.c). */
#ifndef FWSEAL_TUF_REPO_KEYLOG_H
#define FWSEAL_TUF_REPO_KEYLOG_H

#include <jansson.h>
#include "fwseal/repo.h"

/* Compares the role's public keys in two root "signed" objects and appends one `key` record
 * per key added ("add") and per key removed ("revoke") through ledger, filling out->records
 * and out->n_records. Nothing is appended when ledger is NULL. */
fws_err repo_key_records(const json_t *old_root, const json_t *new_root, fws_tuf_kind kind,
                         int64_t now, const fws_repo_ledger *ledger, fws_rotate_result *out,
                         fws_errbuf *eb) FWS_MUST_CHECK;

#endif
