/* Audit bundles: the pieces shared by export and verify. */
#ifndef FWSEAL_AUDIT_BUNDLE_H
#define FWSEAL_AUDIT_BUNDLE_H

#include "audit/internal.h"

#define AU_MANIFEST "MANIFEST.json"

/* Serves a named metadata file (FWS_ERR_NOT_FOUND when there is none). */
typedef fws_err (*au_meta_get)(void *ctx, const char *name, const uint8_t **data, size_t *len);

typedef struct au_tuf_target {
    const char *path; /* target path, e.g. "hub/1.0.0/fw.bin.sbom.cdx.json" */
    int found;        /* the trusted targets list it */
    uint8_t sha256[32];
} au_tuf_target;

/* Walks the chain from root1 at time now, then looks every target up. */
fws_err au_tuf_walk(const uint8_t *root1, size_t root1_len, au_meta_get get, void *ctx, int64_t now,
                    au_tuf_target *targets, size_t n, fws_errbuf *eb);
/* The earliest of current (0: none yet) and the file's expiry, minus one second. */
int64_t au_tuf_clock(const uint8_t *data, size_t len, int64_t current);

/* Writes through a temporary file beside path, renamed into place by au_out_commit. */
typedef struct au_out {
    char path[4096];
    char tmp[4200];
    int fd;
} au_out;
fws_err au_out_open(au_out *o, const char *path, int overwrite, fws_errbuf *eb);
fws_err au_out_commit(au_out *o, int overwrite, fws_errbuf *eb);
void au_out_abort(au_out *o);

#endif
