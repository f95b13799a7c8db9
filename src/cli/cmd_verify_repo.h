/* fwseal verify --repo: what its two files share (cmd_verify_repo.c: options, order of the
 * checks, output; cmd_verify_repo_checks.c: the TUF client, policy, image and ledger checks). */
#ifndef FWSEAL_CLI_VERIFY_REPO_H
#define FWSEAL_CLI_VERIFY_REPO_H

#include <limits.h>
#include <stdint.h>
#include "fwseal/agent.h"
#include "fwseal/tuf.h"

typedef struct vr_opts {
    const char *image, *repo, *target, *root, *hardware, *region;
    const char *metadata_dir, *ledger, *ledger_vkey;
    uint64_t installed_counter;
    int64_t now; /* the reference time: --now, or the clock once at the start */
    int have_now, is_url, json;
} vr_opts;

typedef enum vr_check { VR_TUF, VR_TARGET, VR_POLICY, VR_IMAGE, VR_LEDGER, VR_COUNT } vr_check;

typedef enum vr_result {
    VR_NOT_RUN = 0,
    VR_OK = 1,
    VR_FAILED = 2, /* judged and failed: exit 1 */
    VR_ERROR = 3,  /* could not be judged (I/O): exit 2 */
} vr_result;

typedef struct vr_run {
    const vr_opts *o;
    struct {
        vr_result result;
        fws_err err;
        char detail[FWS_ERRBUF_SIZE];
    } c[VR_COUNT];
    char anchor[PATH_MAX + 96]; /* where the trusted root came from */
    char meta_dir[PATH_MAX];    /* the client's metadata directory */
    int temp_meta;              /* meta_dir is a temporary directory of this run */
    int have_fetcher;
    fws_tuf_fetcher fetcher;
    fws_tuf_client *client;
    fws_tuf_target tt; /* borrows from the client */
    fws_agent_target t;
    fws_target_view v;
    int64_t expires; /* of the verified targets metadata */
} vr_run;

/* Records a check's result with a message (printf-style). */
void vr_set(vr_run *r, vr_check k, vr_result res, fws_err err, const char *fmt, ...)
    FWS_PRINTF(5, 6);
/* Records a failure from a library call: judged (exit 1) or not (exit 2) by its code. */
void vr_set_err(vr_run *r, vr_check k, fws_err err, const fws_errbuf *eb);

/* The metadata directory with its trusted root, the fetcher and the client. */
fws_err vr_tuf_open(vr_run *r, fws_errbuf *eb) FWS_MUST_CHECK;
void vr_tuf_close(vr_run *r);
/* r->expires from the verified targets metadata the client stored. */
fws_err vr_targets_expires(vr_run *r, fws_errbuf *eb) FWS_MUST_CHECK;

void vr_check_policy(vr_run *r);
void vr_check_image(vr_run *r);
void vr_check_ledger(vr_run *r);

#endif
