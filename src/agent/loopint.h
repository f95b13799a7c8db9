/* Internal: what one pass of the loop works with. */
#ifndef FWSEAL_AGENT_LOOPINT_H
#define FWSEAL_AGENT_LOOPINT_H

#include "fwseal/note.h"
#include "fwseal/tiles.h"
#include "fwseal/tuf.h"
#include "agent/internal.h"

typedef struct fws_pass_env {
    const fws_agent_loop_config *cfg;
    int is_file; /* a deployment directory instead of a server */
    char base[FWS_AGENT_URL_MAX + 1];
    char metadata_url[FWS_AGENT_URL_MAX + 32];
    char targets_url[FWS_AGENT_URL_MAX + 32];
    char ledger[FWS_AGENT_URL_MAX + 32];
    fws_agent_http *http;
    fws_tuf_fetcher fetcher;
    fws_tuf_client *tuf;
    fws_tile_dir tile_dir;
    fws_tile_source tiles;
    fws_note_vkey log_key;
    fws_key *assign_key; /* NULL when the bundle has none */
    fws_agent_source source;
} fws_pass_env;

fws_err fws_pass_env_open(fws_agent *a, const fws_agent_loop_config *c, fws_pass_env *env,
                          fws_errbuf *eb) FWS_MUST_CHECK;
void fws_pass_env_close(fws_pass_env *env);
/* Sends queued reports; failures leave them queued for the next pass. */
void fws_pass_send_reports(fws_agent *a, fws_pass_env *env);
/* Asks the server for this device's assignment with a fresh nonce and checks it. */
fws_err fws_pass_assignment(fws_agent *a, fws_pass_env *env, fws_assignment *out,
                            fws_errbuf *eb) FWS_MUST_CHECK;
/* Expiry of the verified targets metadata. */
fws_err fws_pass_targets_expires(const fws_agent *a, int64_t *out, fws_errbuf *eb) FWS_MUST_CHECK;

fws_err fws_agent_target_url(const char *targets_base, const fws_agent_target *t, char *out,
                             size_t cap) FWS_MUST_CHECK;

#endif
