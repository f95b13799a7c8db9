/* The TUF 1.0 repository side of a deployment: `fwseal init`, releases, revocation, key
 * rotation and timestamp refresh.
 *
 * A deployment is a directory (docs/DEPLOYMENT.md describes it):
 *   fwseal.json          configuration: origin, roles with key references, thresholds, expiries,
 *                        hashed-bin settings, the ledger key
 *   keys/                encrypted PKCS#8 private keys (root keys may live elsewhere)
 *   repo/metadata/       N.root.json, root.json, N.targets.json, N.snapshot.json, timestamp.json,
 *                        and N.<bin>.json for TAP 15 succinct hashed bins
 *   repo/targets/        <dir>/<sha256>.<name> and <dir>/<sha512>.<name> (consistent snapshots)
 *   ledger/              the transparency ledger (written through fws_repo_ledger)
 *   releases.json        the release index: every release ever made, revoked ones included
 *
 * Publishing is atomic: new versioned files are written first under names nothing refers to yet,
 * and timestamp.json is replaced last, so a crash leaves the previous consistent snapshot served.
 * The keys that sign a role are the ones the newest root metadata names for it; the config only
 * says where each key lives. Every function that changes the deployment takes the lock on
 * fwseal.lock (fws_deploy_open), so two commands never publish at once.
 */
#ifndef FWSEAL_REPO_H
#define FWSEAL_REPO_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "fwseal/crypto.h"
#include "fwseal/tuf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FWS_REPO_MAX_KEYS 16                      /* keys of one role */
#define FWS_REPO_MAX_METADATA (32u * 1024 * 1024) /* bytes of one metadata file we read */
#define FWS_REPO_MAX_TARGET_NAME 512              /* bytes of a target name */
#define FWS_REPO_MAX_FIELD 128                    /* product, version, file name component */
#define FWS_REPO_MAX_CHANGELOG 4096u              /* bytes of a changelog (a ledger text) */
#define FWS_REPO_MAX_SBOM (16u * 1024 * 1024)     /* bytes of an SBOM */
#define FWS_REPO_MAX_BIT_LENGTH 14                /* at most 16384 hashed bins */
#define FWS_REPO_MAX_REFS 16                      /* extra key references on a command line */

/* Default expiry periods, in seconds. */
#define FWS_REPO_EXPIRES_ROOT (365 * 86400)
#define FWS_REPO_EXPIRES_TARGETS (90 * 86400)
#define FWS_REPO_EXPIRES_SNAPSHOT (7 * 86400)
#define FWS_REPO_EXPIRES_TIMESTAMP (86400)
/* Hashed bins: switched on when the top-level targets role would list more targets than this. */
#define FWS_REPO_BINS_THRESHOLD 1024
#define FWS_REPO_BINS_BIT_LENGTH 8

/* Roles are named by fws_tuf_kind (tuf.h). Parses "root", "targets", "snapshot" or
 * "timestamp"; FWS_ERR_ARG for anything else. */
fws_err fws_repo_kind_parse(const char *name, fws_tuf_kind *out) FWS_MUST_CHECK;

/* Durations: a positive integer with a unit s, h, d, w or y (365 days), e.g. "90d". */
fws_err fws_repo_duration_parse(const char *text, int64_t *seconds) FWS_MUST_CHECK;

/* The one place a key reference becomes a signer: a file path (relative ones are taken from
 * base_dir) holding an encrypted PKCS#8 key, opened with pp; or an RFC 7512 "pkcs11:" URI,
 * opened in its token (include/fwseal/pkcs11.h: module and PIN from the URI or the
 * environment). */
fws_err fws_repo_signer_open(const char *ref, const char *base_dir, const fws_passphrase *pp,
                             fws_signer *out, fws_errbuf *eb) FWS_MUST_CHECK;

/* How the repository reaches the ledger. The command line binds these to the ledger writer;
 * tests bind them to their own log. Records are canonical JSON objects with "type" and
 * "schema". */
typedef struct fws_repo_ledger {
    /* Creates an empty ledger in dir, named origin, signed with key (only `fwseal init`);
     * key_ref is where the key lives, relative to the deployment directory. */
    fws_err (*init)(void *ctx, const char *dir, const char *origin, const fws_signer *key,
                    const char *key_ref, fws_errbuf *eb);
    /* Appends one record durably and returns its index. */
    fws_err (*append)(void *ctx, const uint8_t *record, size_t len, uint64_t *index,
                      fws_errbuf *eb);
    void *ctx;
} fws_repo_ledger;

/* ---- the deployment ---------------------------------------------------------------------- */

typedef struct fws_deploy fws_deploy; /* an open, locked deployment */

typedef struct fws_deploy_init_opts {
    const char *dir;          /* created; must not exist or be an empty directory */
    const char *origin;       /* the ledger origin and repository name, e.g. "example.com/fw" */
    unsigned root_keys;       /* 0 means 1 */
    unsigned root_threshold;  /* 0 means 1; at most root_keys */
    fws_key_type key_type;    /* 0 means Ed25519 */
    const char *root_key_dir; /* where root private keys go (offline media); NULL: DIR/keys */
    int64_t expires[FWS_TUF_KIND_COUNT]; /* seconds; 0 means the default */
    uint64_t bins_threshold;             /* 0 means FWS_REPO_BINS_THRESHOLD */
    unsigned bins_bit_length;            /* 0 means FWS_REPO_BINS_BIT_LENGTH */
    const fws_passphrase *pp;            /* encrypts every private key */
    int64_t now;                         /* seconds since the epoch */
} fws_deploy_init_opts;

/* Creates the deployment (built in a temporary sibling directory and renamed into place, so a
 * failure leaves nothing behind except root keys already written to root_key_dir), its keys,
 * version 1 of every role, and the ledger through ledger->init. On success *root_out (if not
 * NULL) receives a copy of 1.root.json's bytes, malloc'd. */
fws_err fws_deploy_init(const fws_deploy_init_opts *o, const fws_repo_ledger *ledger,
                        char **root_out, size_t *root_len, fws_errbuf *eb) FWS_MUST_CHECK;

/* Opens and locks a deployment (FWS_ERR_STATE when another command holds the lock). */
fws_err fws_deploy_open(const char *dir, fws_deploy **out, fws_errbuf *eb) FWS_MUST_CHECK;
void fws_deploy_close(fws_deploy *d);

const char *fws_deploy_dir(const fws_deploy *d);
const char *fws_deploy_origin(const fws_deploy *d);
const char *fws_deploy_ledger_dir(const fws_deploy *d); /* absolute or relative to the cwd */
/* Opens the ledger key (for binding the ledger writer). */
fws_err fws_deploy_ledger_signer(const fws_deploy *d, const fws_passphrase *pp, fws_signer *out,
                                 fws_errbuf *eb) FWS_MUST_CHECK;

/* Extra key references tried for any key the metadata names (e.g. root keys on media that
 * is mounted elsewhere today). */
typedef struct fws_repo_keyrefs {
    const char *const *refs;
    size_t n;
} fws_repo_keyrefs;

/* ---- releases ---------------------------------------------------------------------------- */

/* Checks an SBOM's bytes; returns FWS_ERR_SCHEMA (or FWS_ERR_FORMAT) with eb saying why. */
typedef fws_err (*fws_sbom_check_fn)(const uint8_t *unverified, size_t len, fws_errbuf *eb);

/* The built-in check used when no validator is given: a JSON object with bomFormat
 * "CycloneDX" and specVersion "1.6" (structure only, not the whole schema). */
fws_err fws_release_sbom_check_basic(const uint8_t *unverified, size_t len,
                                     fws_errbuf *eb) FWS_MUST_CHECK;

/* Checks a provenance envelope given with a release against the image's SHA-256; returns
 * FWS_ERR_DIGEST when the image is not its subject, FWS_ERR_SCHEMA (or FWS_ERR_SIGNATURE) when
 * the envelope is not acceptable, with eb saying why. */
typedef fws_err (*fws_provenance_check_fn)(const char *path, const uint8_t *unverified, size_t len,
                                           const uint8_t sha256[FWS_SHA256_LEN], fws_errbuf *eb);

/* The built-in check used when no other is given: a DSSE envelope with at least one signature
 * (not verified: the builder's key is not the deployment's) over an in-toto Statement v1 that
 * has the image's SHA-256 as a subject and predicate type https://slsa.dev/provenance/v1. */
fws_err fws_release_provenance_check_basic(const char *path, const uint8_t *unverified, size_t len,
                                           const uint8_t sha256[FWS_SHA256_LEN],
                                           fws_errbuf *eb) FWS_MUST_CHECK;

typedef struct fws_release_req {
    const char *image;             /* path of the image */
    const char *product, *version; /* [A-Za-z0-9._+~-], no "..", not starting with '.' */
    const char *const *hardware;   /* 1..FWS_POLICY_MAX_LIST models */
    size_t n_hardware;
    const char *const *regions; /* 0..FWS_POLICY_MAX_LIST regions; none means any */
    size_t n_regions;
    uint64_t security_counter;                /* not lower than the product's last one */
    const char *changelog;                    /* path of a UTF-8 text file, or NULL */
    const char *sbom;                         /* path of a CycloneDX 1.6 JSON SBOM, or NULL */
    const char *provenance;                   /* path of a DSSE envelope, or NULL to generate one */
    fws_sbom_check_fn sbom_check;             /* NULL: fws_release_sbom_check_basic */
    fws_provenance_check_fn provenance_check; /* NULL: fws_release_provenance_check_basic */
    uint64_t max_image_size;                  /* 0 means 2 GiB */
    const fws_passphrase *pp;
    fws_repo_keyrefs extra_keys;
    int64_t now;
} fws_release_req;

typedef struct fws_release_result {
    char target[FWS_REPO_MAX_TARGET_NAME + 1];
    char sha256[2 * FWS_SHA256_LEN + 1];
    char sha512[2 * FWS_SHA512_LEN + 1];
    uint64_t length;
    uint64_t ledger_index;
    int64_t targets_version, snapshot_version, timestamp_version;
    char delegated_role[64]; /* the hashed bin that lists the target, or "targets" */
} fws_release_result;

typedef struct fws_release_plan fws_release_plan;

/* Everything that can be judged before anything is written: names, the SBOM, the provenance
 * given, duplicates, the security counter, expiry of the published metadata, the image's
 * hashes and the signing keys. Writes nothing. */
fws_err fws_release_prepare(fws_deploy *d, const fws_release_req *req, fws_release_plan **out,
                            fws_errbuf *eb) FWS_MUST_CHECK;
/* Copies the image into the repository while hashing it again (FWS_ERR_DIGEST if it changed
 * since fws_release_prepare), appends the `release` record to the ledger, publishes the target
 * and re-signs targets (or its bin), snapshot and timestamp, then records the release in the
 * index. Before the ledger append every failure leaves the deployment as it was. */
fws_err fws_release_publish(fws_deploy *d, fws_release_plan *plan, const fws_repo_ledger *ledger,
                            fws_release_result *out, fws_errbuf *eb) FWS_MUST_CHECK;
void fws_release_plan_free(fws_release_plan *plan);
/* prepare + publish. */
fws_err fws_release_add(fws_deploy *d, const fws_release_req *req, const fws_repo_ledger *ledger,
                        fws_release_result *out, fws_errbuf *eb) FWS_MUST_CHECK;

/* The release index as a JSON array (new reference), oldest first; product may be NULL. */
fws_err fws_release_list(fws_deploy *d, const char *product, json_t **out,
                         fws_errbuf *eb) FWS_MUST_CHECK;
/* One release: its index entry with, while it is published, "published" holding the TUF target
 * entry and the role that lists it. FWS_ERR_NOT_FOUND when there is no such release. */
fws_err fws_release_show(fws_deploy *d, const char *product, const char *version, json_t **out,
                         fws_errbuf *eb) FWS_MUST_CHECK;

typedef struct fws_revoke_req {
    const char *product, *version;
    const char *reason; /* may be NULL */
    const fws_passphrase *pp;
    fws_repo_keyrefs extra_keys;
    int64_t now;
} fws_revoke_req;

/* Appends a `revoke` record, removes the release's targets (image, SBOM, provenance) from the
 * metadata and re-signs. FWS_ERR_NOT_FOUND for an unknown release, FWS_ERR_STATE for one
 * already revoked. The target files stay on disk: older snapshots still name them. */
fws_err fws_release_revoke(fws_deploy *d, const fws_revoke_req *req, const fws_repo_ledger *ledger,
                           uint64_t *ledger_index, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- keys and freshness ------------------------------------------------------------------- */

typedef struct fws_rotate_req {
    fws_tuf_kind role;
    /* Existing keys (paths or PKCS#11 URIs) to give the role instead of new ones. */
    fws_repo_keyrefs use;
    unsigned n_keys;     /* 0: as many as the role has now */
    unsigned threshold;  /* 0: the role's current threshold (at most n_keys) */
    const char *key_dir; /* where new private keys go; NULL: DIR/keys (root: where they were) */
    const fws_passphrase *pp;
    fws_repo_keyrefs extra_keys; /* e.g. the old root keys on offline media */
    int64_t now;
    /* Where the rotation is recorded: a `key` record per key the role gains ("add") and per key
     * it loses ("revoke"), appended before anything is published. NULL: no records. */
    const fws_repo_ledger *ledger;
} fws_rotate_req;

#define FWS_REPO_MAX_RECORDS (2 * FWS_REPO_MAX_KEYS) /* key records of one rotation */

typedef struct fws_rotate_record {
    uint64_t index;            /* ledger index of the `key` record */
    char keyid[FWS_KEYID_LEN]; /* fwseal key ID: hex SHA-256 of the SubjectPublicKeyInfo DER */
    int added;                 /* 1: "add", 0: "revoke" */
} fws_rotate_record;

typedef struct fws_rotate_result {
    int64_t root_version; /* the new root version, N+1 */
    size_t n_keys;
    char keyids[FWS_REPO_MAX_KEYS][FWS_KEYID_LEN];
    size_t n_records; /* key records appended (0 without a ledger) */
    fws_rotate_record records[FWS_REPO_MAX_RECORDS];
} fws_rotate_result;

/* Replaces a role's keys: new keys are written, N+1.root.json is signed by the threshold of the
 * old root keys and (for root) of the new ones, the `key` records go to req->ledger, the roles
 * signed by the new keys are re-signed, and timestamp.json is replaced last. A rotation
 * interrupted after its keys were recorded is completed with those keys by running it again
 * (its key records are appended again if the first run got that far). */
fws_err fws_repo_rotate(fws_deploy *d, const fws_rotate_req *req, fws_rotate_result *out,
                        fws_errbuf *eb) FWS_MUST_CHECK;

typedef struct fws_refresh_req {
    int force;        /* re-sign the timestamp even when it is far from expiry */
    int include_root; /* also re-sign root (same keys, version N+1) when due */
    const fws_passphrase *pp;
    fws_repo_keyrefs extra_keys;
    int64_t now;
} fws_refresh_req;

typedef struct fws_refresh_result {
    int resigned[FWS_TUF_KIND_COUNT]; /* 1 for each role given a new version */
    size_t bins_resigned;
    int64_t expires[FWS_TUF_KIND_COUNT]; /* expiry of each role after the refresh */
    int root_due;                        /* root is due and was not re-signed */
} fws_refresh_result;

/* Re-signs every role whose metadata has less than half of its period left (or has expired),
 * the timestamp always when force is set: targets and bins, then snapshot, then timestamp.
 * Root only with include_root. Meant for a timer. */
fws_err fws_repo_refresh(fws_deploy *d, const fws_refresh_req *req, fws_refresh_result *out,
                         fws_errbuf *eb) FWS_MUST_CHECK;

/* Versions, expiries, keys and thresholds of the published metadata (new reference). */
fws_err fws_repo_status(fws_deploy *d, int64_t now, json_t **out, fws_errbuf *eb) FWS_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
