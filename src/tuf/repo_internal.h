/* Internals of the repository side (repo*.c, deploy*.c, release*.c). Nothing outside src/tuf
 * includes this. */
#ifndef FWSEAL_TUF_REPO_INTERNAL_H
#define FWSEAL_TUF_REPO_INTERNAL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "fwseal/repo.h"

#define REPO_CONFIG_FORMAT "fwseal-deployment/v1"
#define REPO_INDEX_FORMAT "fwseal-releases/v1"
#define REPO_CONFIG_MAX (1u * 1024 * 1024)
#define REPO_INDEX_MAX (64u * 1024 * 1024)
#define REPO_BINS_PREFIX "bins"
#define REPO_HEX256 (2 * FWS_SHA256_LEN + 1)
#define REPO_HEX512 (2 * FWS_SHA512_LEN + 1)
#define REPO_MAX_SIGNERS 64 /* keys open at once in one operation */

struct fws_deploy {
    char dir[PATH_MAX];
    char config_path[PATH_MAX];
    char meta_dir[PATH_MAX];
    char targets_dir[PATH_MAX];
    char ledger_dir[PATH_MAX];
    char index_path[PATH_MAX];
    json_t *config; /* fwseal.json */
    const char *origin;
    fws_key_type key_type;
    int64_t expires[FWS_TUF_KIND_COUNT];
    uint64_t bins_threshold;
    unsigned bins_bit_length;
    int lock_fd;
};

/* ---- repo_util.c ------------------------------------------------------------------------- */

/* snprintf into a PATH_MAX buffer; FWS_ERR_ARG when it does not fit. */
fws_err repo_path(char out[PATH_MAX], fws_errbuf *eb, const char *fmt, ...) FWS_PRINTF(3, 4);
/* Resolves a key reference against the deployment directory (absolute refs as they are). */
fws_err repo_ref_path(const char *base_dir, const char *ref, char out[PATH_MAX], fws_errbuf *eb);
/* 1 when every byte of s is in [A-Za-z0-9] or in extra. */
int repo_chars_ok(const char *s, const char *extra);
/* A product, version or file name: 1..max bytes of [A-Za-z0-9] and extra, no "..", not starting
 * with '.' or '-'. FWS_ERR_ARG naming what. */
fws_err repo_check_name(const char *what, const char *s, size_t max, const char *extra,
                        fws_errbuf *eb);
/* A target name: '/'-separated components, each a valid name, no "..", no leading '/'. */
fws_err repo_check_target_name(const char *name, fws_errbuf *eb);
/* Random bytes as lower-case hex (2*n+1 bytes in out). */
fws_err repo_random_hex(size_t n, char *out) FWS_MUST_CHECK;
/* Formats a duration back as the largest unit that divides it ("90d"). */
void repo_duration_format(int64_t seconds, char *out, size_t cap);
/* Makes directory path (and parents) recording the ones created into undo. */
struct repo_undo;
fws_err repo_mkdirs_undo(const char *path, struct repo_undo *undo, fws_errbuf *eb);

/* A list of paths this operation created, removed in reverse order when it fails. */
typedef struct repo_undo {
    char **paths;
    unsigned char *is_dir;
    size_t n, cap;
} repo_undo;

fws_err repo_undo_add(repo_undo *u, const char *path, int is_dir) FWS_MUST_CHECK;
void repo_undo_rollback(repo_undo *u); /* removes everything recorded, newest first */
void repo_undo_clear(repo_undo *u);    /* forgets (keeps the files) and frees */

/* ---- repo_keys.c ------------------------------------------------------------------------- */

/* The TUF key object and its key ID for a public key. */
fws_err repo_key_object(const fws_key *pub, json_t **obj, char keyid[FWS_TUF_KEYID_HEX_LEN],
                        fws_errbuf *eb) FWS_MUST_CHECK;

/* The signing keys one operation has opened, found by TUF key ID. Key references come from the
 * config (any role, retired keys included) and from extra references. */
typedef struct repo_keyring {
    fws_deploy *d;
    const fws_passphrase *pp;
    fws_repo_keyrefs extra;
    int extra_opened;
    size_t n;
    fws_signer signers[REPO_MAX_SIGNERS];
    char keyids[REPO_MAX_SIGNERS][FWS_TUF_KEYID_HEX_LEN];
    char first_error[FWS_ERRBUF_SIZE]; /* why the first key that would not open did not */
    fws_err first_code;
} repo_keyring;

void repo_keyring_init(repo_keyring *kr, fws_deploy *d, const fws_passphrase *pp,
                       const fws_repo_keyrefs *extra);
void repo_keyring_free(repo_keyring *kr);
/* Opens a key reference (path or PKCS#11 URI) and adds it under the TUF key ID of the key it
 * holds, which is returned. */
fws_err repo_keyring_open(repo_keyring *kr, const char *ref, char keyid[FWS_TUF_KEYID_HEX_LEN],
                          fws_errbuf *eb) FWS_MUST_CHECK;
/* Adds a signer the keyring takes ownership of (a key made in this operation). */
fws_err repo_keyring_adopt(repo_keyring *kr, fws_signer *s, const char *keyid,
                           fws_errbuf *eb) FWS_MUST_CHECK;
/* The signers of a role {"keyids", "threshold"}: every listed key that can be opened; when fewer
 * than the threshold open, fails with the error of the first key that would not (a missing
 * file, a wrong passphrase...) or FWS_ERR_NOT_FOUND when no reference names it. out holds borrowed
 * pointers and the key IDs they sign under. */
typedef struct repo_signer_set {
    size_t n;
    const fws_signer *s[FWS_REPO_MAX_KEYS * 2];
    const char *keyid[FWS_REPO_MAX_KEYS * 2];
} repo_signer_set;
fws_err repo_keyring_role(repo_keyring *kr, const json_t *role, const char *what,
                          repo_signer_set *out, fws_errbuf *eb) FWS_MUST_CHECK;

/* Generates a key for role, saves it (encrypted with kr->pp) as KEY_DIR/<role>-<id>.pem and its
 * public half beside it (.pub), adds its signer to kr, and returns the config entry
 * {"keyid", "ref"} (new reference). key_dir NULL: DIR/keys, referenced as "keys/...". */
fws_err repo_key_create(repo_keyring *kr, const char *role, fws_key_type type, const char *key_dir,
                        json_t **entry, char keyid[FWS_TUF_KEYID_HEX_LEN], repo_undo *undo,
                        fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- repo_config.c ----------------------------------------------------------------------- */

/* Reads and checks fwseal.json into d (paths, origin, expiries, bins). */
fws_err repo_config_load(fws_deploy *d, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err repo_config_save(fws_deploy *d, fws_errbuf *eb) FWS_MUST_CHECK;
/* Fills the path fields of d from d->dir. */
fws_err repo_deploy_paths(fws_deploy *d, fws_errbuf *eb) FWS_MUST_CHECK;
/* The reference of the key with that TUF key ID in the config, or NULL. */
const char *repo_config_find_ref(const fws_deploy *d, const char *keyid);
/* The config's current keys of a role (array of {"keyid", "ref"}), borrowed. */
json_t *repo_config_role_keys(const fws_deploy *d, fws_tuf_kind kind);
/* Replaces a role's keys: the old ones move to "retiredKeys". keys is stolen. */
fws_err repo_config_set_role_keys(fws_deploy *d, fws_tuf_kind kind, json_t *keys,
                                  fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- repo_state.c: the published metadata, loaded and changed in memory ------------------- */

typedef struct repo_doc {
    json_t *signed_obj; /* owned; NULL when not loaded */
    int64_t version;    /* published version (0: not published yet) */
    int dirty;          /* give it a new version at commit */
    size_t len;         /* bytes of the published file (after commit: of the new one) */
    uint8_t sha256[FWS_SHA256_LEN];
} repo_doc;

typedef struct repo_state {
    repo_doc docs[FWS_TUF_KIND_COUNT]; /* indexed by fws_tuf_kind */
    int root_rotated; /* the commit must sign root N+1 with the old root keys too */
    json_t *old_root; /* root role {"keyids", "threshold"} of version N (owned) */
    repo_doc *bins;   /* 2^bit_length entries when hashed bins are on, else NULL */
    size_t n_bins;
    unsigned bit_length;
    char prefix[32];
} repo_state;

/* Loads the newest root (following N+1.root.json), timestamp, snapshot and targets, checking
 * that each file is the one the role above names (version, length, hash). */
fws_err repo_state_load(fws_deploy *d, repo_state *st, fws_errbuf *eb) FWS_MUST_CHECK;
void repo_state_free(repo_state *st);
/* FWS_ERR_EXPIRED naming the first top-level role whose metadata expired at or before now, and
 * the command that fixes it. */
fws_err repo_state_check_fresh(const repo_state *st, int64_t now, fws_errbuf *eb) FWS_MUST_CHECK;
/* Expiry of a loaded document (seconds), or 0 when it has none. */
int64_t repo_doc_expires(const repo_doc *doc);
/* Loads hashed bin i when not loaded yet. */
fws_err repo_bin_load(fws_deploy *d, repo_state *st, size_t i, fws_errbuf *eb) FWS_MUST_CHECK;
/* The name of bin i ("bins-3f"). */
fws_err repo_bin_name(const repo_state *st, size_t i, char *out, size_t cap) FWS_MUST_CHECK;
/* A new signed object: {"_type", "spec_version", "version": 0, "expires": ""} plus body. */
json_t *repo_signed_new(const char *type);

/* ---- repo_targets.c: target entries across targets and bins --------------------------------- */

/* The entry for name (borrowed) and the role that lists it, or FWS_ERR_NOT_FOUND. */
fws_err repo_target_get(fws_deploy *d, repo_state *st, const char *name, json_t **entry, char *role,
                        size_t role_cap, fws_errbuf *eb) FWS_MUST_CHECK;
/* Adds or replaces (steals entry) and marks the role dirty. */
fws_err repo_target_put(fws_deploy *d, repo_state *st, const char *name, json_t *entry,
                        fws_errbuf *eb) FWS_MUST_CHECK;
fws_err repo_target_remove(fws_deploy *d, repo_state *st, const char *name,
                           fws_errbuf *eb) FWS_MUST_CHECK;
/* Switches to hashed bins when the top-level targets role lists more than the threshold:
 * creates every bin, moves the targets into them and delegates to them from targets. */
fws_err repo_bins_maybe_enable(fws_deploy *d, repo_state *st, fws_errbuf *eb) FWS_MUST_CHECK;
/* Writes the delegation (keys, keyids, threshold of the targets role in root) into targets
 * and marks every bin dirty (after a rotation of the targets keys). */
fws_err repo_bins_redelegate(fws_deploy *d, repo_state *st, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- repo_commit.c ----------------------------------------------------------------------- */

/* Gives every dirty document a new version and expiry, signs it, writes the versioned files
 * (bins, targets, snapshot, root), then timestamp.json last. Files created are recorded in
 * undo until root is written. */
fws_err repo_commit(fws_deploy *d, repo_state *st, repo_keyring *kr, int64_t now, repo_undo *undo,
                    fws_errbuf *eb) FWS_MUST_CHECK;
/* Opens the signers every dirty document will need, so that a missing key fails before
 * anything is written. */
fws_err repo_commit_check_keys(fws_deploy *d, repo_state *st, repo_keyring *kr,
                               fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- release_index.c ---------------------------------------------------------------------- */

fws_err repo_index_load(fws_deploy *d, json_t **out, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err repo_index_save(fws_deploy *d, json_t *index, fws_errbuf *eb) FWS_MUST_CHECK;
/* The entry of a release (borrowed), or NULL. */
json_t *repo_index_find(json_t *index, const char *product, const char *version);
/* The highest security counter of a product's releases; 0 when it has none (*found 0). */
uint64_t repo_index_max_counter(json_t *index, const char *product, int *found);

/* ---- release_add.c / release_publish.c ---------------------------------------------------- */

struct fws_release_plan {
    fws_release_req req;
    char target[FWS_REPO_MAX_TARGET_NAME + 1];
    char dir[PATH_MAX]; /* targets/<product>/<version> */
    uint8_t sha256[FWS_SHA256_LEN], sha512[FWS_SHA512_LEN];
    uint64_t length;
    char *changelog;
    uint8_t *sbom, *prov;
    size_t sbom_len, prov_len;
    char nonce[33];
    repo_state st;
    repo_keyring kr;
    repo_signer_set targets_signers;
    json_t *index;
};

/* ---- release_check.c ---------------------------------------------------------------------- */

#define RELEASE_PRODUCT_MAX 63 /* so that "product/version" fits a ledger identifier */
#define RELEASE_VERSION_MAX 64

/* Checks names and lists and builds the target name "<product>/<version>/<image file name>". */
fws_err release_check_request(const fws_release_req *r, char target[FWS_REPO_MAX_TARGET_NAME + 1],
                              fws_errbuf *eb) FWS_MUST_CHECK;
/* Reads a changelog: 1..FWS_REPO_MAX_CHANGELOG bytes of UTF-8, no control characters but
 * newline and tab. */
fws_err release_read_changelog(const char *path, char **out, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- release_provenance.c ----------------------------------------------------------------- */

/* An in-toto Statement v1 about the image (subject: the target name and SHA-256) with an SLSA
 * Provenance v1 predicate describing this manual release, in a DSSE envelope signed by set. */
fws_err release_make_provenance(const fws_release_req *r, const char *target,
                                const uint8_t sha256[FWS_SHA256_LEN], const char *origin,
                                const repo_signer_set *set, char **out, size_t *len,
                                fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- release_files.c ---------------------------------------------------------------------- */

/* Copies src into a new temporary file in dir while hashing what it copies (the bytes that
 * will be published), at most max bytes; the temporary file is recorded in undo. */
fws_err release_stage_copy(const char *src, const char *dir, uint64_t max, char tmp[PATH_MAX],
                           uint8_t sha256[FWS_SHA256_LEN], uint8_t sha512[FWS_SHA512_LEN],
                           uint64_t *len, repo_undo *undo, fws_errbuf *eb) FWS_MUST_CHECK;
/* Writes bytes to a new temporary file in dir (recorded in undo). */
fws_err release_stage_bytes(const void *data, size_t len, const char *dir, char tmp[PATH_MAX],
                            repo_undo *undo, fws_errbuf *eb) FWS_MUST_CHECK;
/* Gives a staged file its consistent-snapshot names in dir, <sha256>.<name> and
 * <sha512>.<name> (hard links; names already present are kept), then removes the temporary
 * name. New names are recorded in undo. */
fws_err release_place(const char *tmp, const char *dir, const char *name,
                      const uint8_t sha256[FWS_SHA256_LEN], const uint8_t sha512[FWS_SHA512_LEN],
                      repo_undo *undo, fws_errbuf *eb) FWS_MUST_CHECK;

#endif
