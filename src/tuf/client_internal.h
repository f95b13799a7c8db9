/* The client's state, shared by client.c (refresh), search.c (delegations) and target.c. */
#ifndef FWSEAL_TUF_CLIENT_INTERNAL_H
#define FWSEAL_TUF_CLIENT_INTERNAL_H

#include "internal.h"

/* A targets role loaded during a search: its document and its delegations. */
typedef struct loaded_role {
    char *name;
    fws_tuf_md md; /* for the top-level targets, a shallow copy of the client's */
    fws_tuf_delegations deleg;
    int has_deleg;
    int owns_md;
    unsigned visited_gen;
} loaded_role;

struct fws_tuf_client {
    char *dir, *url;
    fws_tuf_client_config cfg;
    const fws_tuf_fetcher *fetcher;
    int64_t now; /* the fixed update start time */
    int refreshed;
    fws_tuf_md md[FWS_TUF_KIND_COUNT]; /* trusted top-level metadata (doc NULL when absent) */
    fws_tuf_root root;
    unsigned search_gen; /* marks the roles visited by the current search */
    loaded_role *roles;  /* roles[0] is the top-level targets once a search ran */
    size_t n_roles, cap_roles;
};

/* Fetches metadata file name (under the metadata URL) into a buffer of at most max bytes. */
fws_err tuf_fetch_meta(fws_tuf_client *c, const char *name, uint64_t max, tuf_buf *out,
                       fws_errbuf *eb);

/* Reads metadata_dir/name (at most max bytes); FWS_ERR_NOT_FOUND when missing. */
fws_err tuf_read_local(fws_tuf_client *c, const char *name, uint64_t max, uint8_t **data,
                       size_t *len);

/* Parses bytes as kind and checks the signatures of role (keys from ring). */
fws_err tuf_parse_verified(const uint8_t *data, size_t len, uint64_t max, fws_tuf_kind kind,
                           const fws_tuf_keyring *ring, const fws_tuf_role *role, const char *what,
                           fws_tuf_md *out, fws_errbuf *eb);

/* FWS_ERR_EXPIRED unless m expires after the fixed start time. */
fws_err tuf_check_expiry(fws_tuf_client *c, const fws_tuf_md *m, const char *what, fws_errbuf *eb);

/* Writes verified bytes to metadata_dir/name atomically. */
fws_err tuf_persist(fws_tuf_client *c, const char *name, const uint8_t *data, size_t len,
                    fws_errbuf *eb);

/* Loads a targets role (the top-level one or a delegated one): the local copy when it still
 * matches the trusted snapshot, else a fresh download; verified against ring/role, checked
 * against the snapshot's version and hashes and the start time, then stored. */
fws_err tuf_load_targets(fws_tuf_client *c, const char *name, const fws_tuf_keyring *ring,
                         const fws_tuf_role *role, fws_tuf_md *out, fws_errbuf *eb);

/* Checks a downloaded file against the length and hashes a timestamp or snapshot entry gives. */
fws_err tuf_check_metafile(const fws_tuf_metafile *mf, const tuf_buf *b, const char *what,
                           fws_errbuf *eb);

void tuf_search_free(fws_tuf_client *c);

#endif
