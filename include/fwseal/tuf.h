/* TUF 1.0: the metadata model that the repository side and the client share, and the client.
 *
 * Metadata is handled as jansson trees (include/fwseal/json.h) with small typed views over
 * them. Signatures cover the canonical JSON (OLPC rules) of the "signed" object. Key IDs are
 * whatever the metadata says (they are not recomputed when verifying); a role counts each key
 * ID once and each distinct public key once, however many IDs it is listed under.
 *
 * Supported keys (keytype / scheme / keyval.public):
 *   ed25519 / ed25519 / 64 hex digits (or an SPKI PEM)
 *   ecdsa or ecdsa-sha2-nistp256 / ecdsa-sha2-nistp256 / SPKI PEM (or the hex of the
 *     65-byte uncompressed point); the signature is the hex of a DER ECDSA signature over
 *     SHA-256 of the message
 *   rsa / rsassa-pss-sha256 / SPKI PEM; RSASSA-PSS with SHA-256 and MGF1-SHA-256, any salt
 *     length (digest-length and maximum-length salts both verify)
 * A key of another type is kept in a keyring as unusable: its signatures never count.
 *
 * Everything named unverified_* is attacker-controlled until a function here says otherwise.
 */
#ifndef FWSEAL_TUF_H
#define FWSEAL_TUF_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"
#include "fwseal/crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- constants ---------------------------------------------------------------------------- */

#define FWS_TUF_SPEC_VERSION "1.0.31" /* what fwseal writes; it reads any 1.x.y */
#define FWS_TUF_KEYID_MAX 128         /* longest key ID accepted, in bytes */
#define FWS_TUF_ROLENAME_MAX 255      /* longest delegated role name, in bytes */
#define FWS_TUF_KEYS_MAX 1024         /* keys in one "keys" object */
#define FWS_TUF_ROLE_KEYS_MAX 256     /* key IDs listed for one role */
#define FWS_TUF_SIGS_MAX 256          /* signatures on one document */
#define FWS_TUF_DELEGATIONS_MAX 4096  /* entries of one delegations "roles" array */
#define FWS_TUF_TIME_LEN 21           /* "YYYY-MM-DDTHH:MM:SSZ" and a NUL */
#define FWS_TUF_KEYID_HEX_LEN 65      /* a computed key ID: 64 hex digits and a NUL */
#define FWS_TUF_SIG_HEX_MAX 2048      /* hex digits of one signature (RSA up to 8192 bits) */

typedef enum fws_tuf_kind {
    FWS_TUF_ROOT = 0,
    FWS_TUF_TIMESTAMP = 1,
    FWS_TUF_SNAPSHOT = 2,
    FWS_TUF_TARGETS = 3,
    FWS_TUF_KIND_COUNT
} fws_tuf_kind;

/* "root", "timestamp", "snapshot", "targets" (the _type values and top-level role names). */
const char *fws_tuf_kind_name(fws_tuf_kind kind);
/* 1 when name is one of the four top-level role names. */
int fws_tuf_is_top_level_name(const char *name);

/* ---- time --------------------------------------------------------------------------------- */

/* Parses an expiry "YYYY-MM-DDTHH:MM:SSZ" (exactly that form, UTC) into seconds since the epoch.
 * FWS_ERR_FORMAT for anything else, including impossible dates. */
fws_err fws_tuf_time_parse(const char *text, int64_t *out) FWS_MUST_CHECK;
/* Formats seconds since the epoch the same way. FWS_ERR_ARG outside years 1970..9999. */
fws_err fws_tuf_time_format(int64_t t, char out[FWS_TUF_TIME_LEN]) FWS_MUST_CHECK;

/* ---- keys --------------------------------------------------------------------------------- */

typedef enum fws_tuf_keytype {
    FWS_TUF_KEY_UNUSABLE = 0, /* unknown type or scheme, or a value that does not parse */
    FWS_TUF_KEY_ED25519 = 1,
    FWS_TUF_KEY_ECDSA_P256 = 2,
    FWS_TUF_KEY_RSA_PSS_SHA256 = 3,
} fws_tuf_keytype;

typedef struct fws_tuf_key fws_tuf_key; /* opaque, public only */

/* Builds a key from a TUF key object {"keytype", "scheme", "keyval": {"public"}}.
 * FWS_ERR_SCHEMA when the object's shape is wrong (eb names the field), FWS_ERR_KEY_TYPE or
 * FWS_ERR_UNSUPPORTED for a type or scheme fwseal does not verify, FWS_ERR_FORMAT for a public
 * value that does not parse. */
fws_err fws_tuf_key_from_json(const json_t *key, fws_tuf_key **out, fws_errbuf *eb) FWS_MUST_CHECK;
void fws_tuf_key_free(fws_tuf_key *k);
fws_tuf_keytype fws_tuf_key_type(const fws_tuf_key *k);
/* SHA-256 of the key's SubjectPublicKeyInfo DER: equal for the same public key however it was
 * written (hex or PEM) and under whatever key ID. */
void fws_tuf_key_fingerprint(const fws_tuf_key *k, uint8_t out[FWS_SHA256_LEN]);
/* Verifies a raw (already hex-decoded) signature over msg. FWS_ERR_SIGNATURE when it does not
 * verify (any malformed signature included). */
fws_err fws_tuf_key_verify(const fws_tuf_key *k, const uint8_t *msg, size_t len, const uint8_t *sig,
                           size_t sig_len) FWS_MUST_CHECK;

/* The TUF key object for an fwseal public key: Ed25519 as {"keytype": "ed25519", "scheme":
 * "ed25519", "keyval": {"public": hex}}, P-256 as {"keytype": "ecdsa", "scheme":
 * "ecdsa-sha2-nistp256", "keyval": {"public": SPKI PEM}}. *out is a new reference. */
fws_err fws_tuf_key_to_json(const fws_key *pub, json_t **out) FWS_MUST_CHECK;
/* The conventional key ID of a key object: hex SHA-256 of its canonical JSON. */
fws_err fws_tuf_keyid(const json_t *key, char id[FWS_TUF_KEYID_HEX_LEN]) FWS_MUST_CHECK;

/* A set of keys by ID, built from a TUF "keys" object (root "keys" or delegations "keys"). */
typedef struct fws_tuf_keyring fws_tuf_keyring;

/* FWS_ERR_SCHEMA when keys is not an object of key objects, FWS_ERR_TOO_BIG past
 * FWS_TUF_KEYS_MAX. A key whose type is unknown or whose value does not parse is kept as
 * unusable (its signatures never count) rather than failing the whole document. */
fws_err fws_tuf_keyring_new(const json_t *keys, fws_tuf_keyring **out,
                            fws_errbuf *eb) FWS_MUST_CHECK;
void fws_tuf_keyring_free(fws_tuf_keyring *r);
/* The usable key with that ID, or NULL. */
const fws_tuf_key *fws_tuf_keyring_get(const fws_tuf_keyring *r, const char *keyid);

/* ---- roles and signatures ----------------------------------------------------------------- */

/* Who may sign for a role: a view borrowed from the role object. */
typedef struct fws_tuf_role {
    const json_t *keyids; /* array of distinct strings */
    uint32_t threshold;   /* at least 1 */
} fws_tuf_role;

/* Checks {"keyids": [distinct strings], "threshold": integer >= 1} (other members allowed).
 * FWS_ERR_SCHEMA otherwise; FWS_ERR_TOO_BIG past FWS_TUF_ROLE_KEYS_MAX key IDs. */
fws_err fws_tuf_role_parse(const json_t *role, fws_tuf_role *out, fws_errbuf *eb) FWS_MUST_CHECK;

/* The canonical JSON of md["signed"] into a malloc'd buffer. */
fws_err fws_tuf_signed_bytes(const json_t *md, char **out, size_t *len,
                             fws_errbuf *eb) FWS_MUST_CHECK;

/* Succeeds when at least role->threshold signatures in unverified_md["signatures"] verify over
 * signed_bytes (the canonical "signed"), each by a key the role lists and ring holds. A key ID
 * counts once, and a public key counts once even when listed under several IDs. what names the
 * role in messages. FWS_ERR_THRESHOLD (eb says how many of how many) when too few verify;
 * FWS_ERR_SCHEMA for a malformed signatures array (a key ID appearing twice included). */
fws_err fws_tuf_verify_role(const json_t *unverified_md, const uint8_t *signed_bytes, size_t len,
                            const fws_tuf_keyring *ring, const fws_tuf_role *role, const char *what,
                            fws_errbuf *eb) FWS_MUST_CHECK;

/* Signs md["signed"] (canonical JSON) with signer and appends {"keyid", "sig": hex} to
 * md["signatures"] (created when missing), replacing an earlier signature with that key ID.
 * keyid is the ID the metadata lists the signer's key under. */
fws_err fws_tuf_sign(json_t *md, const fws_signer *signer, const char *keyid,
                     fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- metadata documents ------------------------------------------------------------------- */

/* A parsed metadata document. Its signatures are not checked by parsing. */
typedef struct fws_tuf_md {
    json_t *doc;           /* the whole document (owned) */
    json_t *signed_obj;    /* doc["signed"] (borrowed from doc) */
    fws_tuf_kind kind;     /* from "_type" */
    int64_t version;       /* >= 1 */
    int64_t expires;       /* seconds since the epoch */
    uint8_t *signed_bytes; /* canonical JSON of "signed" (owned) */
    size_t signed_len;
} fws_tuf_md;

/* Parses a metadata file: {"signatures": [{"keyid", "sig"}...], "signed": {"_type",
 * "spec_version" 1.x.y, "version" >= 1, "expires", ...}} with "_type" equal to want's name, and
 * the fields that kind requires (root: keys, roles with the four top-level roles; timestamp and
 * snapshot: meta; targets: targets, optional delegations). Other members are allowed (they are
 * signed like the rest). Input is capped at max_len bytes. FWS_ERR_TOO_BIG, FWS_ERR_FORMAT,
 * FWS_ERR_SCHEMA with eb naming the field. */
fws_err fws_tuf_md_parse(const uint8_t *unverified, size_t len, size_t max_len, fws_tuf_kind want,
                         fws_tuf_md *out, fws_errbuf *eb) FWS_MUST_CHECK;
void fws_tuf_md_free(fws_tuf_md *m);

/* The trusted view of a root document (after its signatures are checked). */
typedef struct fws_tuf_root {
    fws_tuf_keyring *keys;
    fws_tuf_role roles[FWS_TUF_KIND_COUNT]; /* indexed by fws_tuf_kind; borrowed from md */
    int consistent_snapshot;
} fws_tuf_root;

fws_err fws_tuf_root_load(const fws_tuf_md *md, fws_tuf_root *out, fws_errbuf *eb) FWS_MUST_CHECK;
void fws_tuf_root_free(fws_tuf_root *r);
/* 1 when role kind has a different threshold or a different set of public keys in b than in a
 * (used to delete the trusted timestamp and snapshot after a key rotation). */
int fws_tuf_root_role_changed(const fws_tuf_root *a, const fws_tuf_root *b, fws_tuf_kind kind);

/* An entry of timestamp or snapshot "meta". */
typedef struct fws_tuf_metafile {
    int64_t version;      /* >= 1 */
    int64_t length;       /* -1 when absent */
    const json_t *hashes; /* non-empty object of hex strings, or NULL when absent */
} fws_tuf_metafile;

/* meta[name] of a timestamp or snapshot document. FWS_ERR_NOT_FOUND when absent,
 * FWS_ERR_SCHEMA when malformed. */
fws_err fws_tuf_metafile_get(const fws_tuf_md *md, const char *name, fws_tuf_metafile *out,
                             fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- hashes --------------------------------------------------------------------------------- */

/* Streams bytes through every hash a TUF "hashes" object lists (sha256, sha512) and compares at
 * the end, in constant time. A listed algorithm fwseal does not know fails the check
 * (FWS_ERR_UNSUPPORTED): a file is accepted only when every listed hash matches. */
typedef struct fws_tuf_hasher {
    fws_sha256_ctx sha256;
    fws_sha512_ctx sha512;
    uint8_t want256[FWS_SHA256_LEN], want512[FWS_SHA512_LEN];
    int use256, use512;
} fws_tuf_hasher;

fws_err fws_tuf_hasher_init(fws_tuf_hasher *h, const json_t *hashes, fws_errbuf *eb) FWS_MUST_CHECK;
void fws_tuf_hasher_update(fws_tuf_hasher *h, const void *data, size_t len);
/* FWS_ERR_DIGEST naming the algorithm on a mismatch. */
fws_err fws_tuf_hasher_final(fws_tuf_hasher *h, const char *what, fws_errbuf *eb) FWS_MUST_CHECK;
/* One shot. */
fws_err fws_tuf_hashes_check(const json_t *hashes, const uint8_t *data, size_t len,
                             const char *what, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- targets and delegations -------------------------------------------------------------- */

typedef struct fws_tuf_target {
    const char *path;     /* borrowed from the targets document */
    uint64_t length;      /* exact length in bytes */
    const json_t *hashes; /* non-empty object */
    const json_t *custom; /* NULL when absent */
} fws_tuf_target;

/* targets[path] of a targets document. FWS_ERR_NOT_FOUND when absent. */
fws_err fws_tuf_target_get(const fws_tuf_md *targets, const char *path, fws_tuf_target *out,
                           fws_errbuf *eb) FWS_MUST_CHECK;

/* The delegations of a targets document: either a list of roles, each with "paths" or
 * "path_hash_prefixes", or (TAP 15) "succinct_roles": 2^bit_length terminating hash bins named
 * NAME_PREFIX-HEX that share keyids and threshold. */
typedef struct fws_tuf_delegations {
    fws_tuf_keyring *keys;
    const json_t *roles; /* array, or NULL for succinct roles */
    int succinct;
    unsigned bit_length;     /* 1..32 */
    const char *name_prefix; /* borrowed */
    fws_tuf_role succinct_role;
} fws_tuf_delegations;

/* *present is 0 (and *out untouched) when the document delegates nothing. Checks every role:
 * a name (1..FWS_TUF_ROLENAME_MAX bytes, not a top-level name, unique), keyids, threshold,
 * "terminating", and at most one of "paths" / "path_hash_prefixes". */
fws_err fws_tuf_delegations_load(const fws_tuf_md *targets, fws_tuf_delegations *out, int *present,
                                 fws_errbuf *eb) FWS_MUST_CHECK;
void fws_tuf_delegations_free(fws_tuf_delegations *d);

/* One delegated role that is trusted for a path. */
typedef struct fws_tuf_delegation {
    char name[FWS_TUF_ROLENAME_MAX + 1];
    fws_tuf_role role;
    int terminating;
} fws_tuf_delegation;

/* Iterates, in order of appearance, over the roles trusted for path; start with *cursor = 0.
 * FWS_OK with the next one, FWS_ERR_NOT_FOUND when there are no more. */
fws_err fws_tuf_delegations_next(const fws_tuf_delegations *d, const char *path, size_t *cursor,
                                 fws_tuf_delegation *out) FWS_MUST_CHECK;

/* Shell-style match of a target path against a PATHPATTERN, one '/'-separated component at a
 * time (both must have the same number of components): '*' any run of characters, '?' one
 * character, [abc], [a-z] and [!abc] one character of (or not of) a set. 1 on a match. */
int fws_tuf_path_match(const char *pattern, const char *path);
/* 1 when the hex SHA-256 of path starts with prefix. */
int fws_tuf_path_hash_match(const char *prefix, const char *path);

/* TAP 15 hash bins: the bin of a target path is the first bit_length bits of SHA-256(path);
 * its role name is prefix, '-', and the bin number in lower-case hex zero-padded to the width of
 * 2^bit_length - 1. FWS_ERR_ARG for bit_length outside 1..32, FWS_ERR_TOO_BIG when out is too
 * small. */
uint32_t fws_tuf_bin_index(unsigned bit_length, const char *path);
fws_err fws_tuf_bin_name(const char *prefix, unsigned bit_length, uint32_t index, char *out,
                         size_t cap) FWS_MUST_CHECK;

/* Percent-encodes a role name or target path into a single file-name component: every byte
 * but [A-Za-z0-9_.~-] becomes %XX, and so does a leading '.', so the result is never ".", ".."
 * or hidden. FWS_ERR_TOO_BIG when out (cap bytes with the NUL) is too small. */
fws_err fws_tuf_name_encode(const char *name, char *out, size_t cap) FWS_MUST_CHECK;

/* ---- fetching ------------------------------------------------------------------------------- */

/* Receives downloaded bytes as they arrive; a non-zero return aborts the transfer with it. */
typedef fws_err (*fws_tuf_sink)(void *ctx, const uint8_t *data, size_t len);

/* How the client fetches. fetch streams url into sink and fails with FWS_ERR_TOO_BIG as soon
 * as more than max_len bytes arrive (endless data), FWS_ERR_NOT_FOUND when the server says the
 * file does not exist (HTTP 403/404, a missing file), FWS_ERR_IO for any other failure. */
typedef struct fws_tuf_fetcher {
    fws_err (*fetch)(void *impl, const char *url, uint64_t max_len, fws_tuf_sink sink, void *ctx,
                     fws_errbuf *eb);
    void (*destroy)(void *impl);
    void *impl;
} fws_tuf_fetcher;

typedef struct fws_tuf_http_opts {
    long connect_timeout_s; /* 0: 10 s */
    long total_timeout_s;   /* 0: 300 s for one file */
    long min_rate;          /* bytes per second below which a transfer counts as stalled; 0: 64 */
    long stall_s;           /* seconds below min_rate before giving up; 0: 20 s */
    const char *user_agent; /* NULL: "fwseal/VERSION"; must outlive the fetcher */
} fws_tuf_http_opts;

/* A fetcher for http://, https:// (fwseal's HTTP client, one reused connection, at most 3
 * redirects that stay on http or https) and file:// URLs. opts may be NULL for the defaults. */
fws_err fws_tuf_fetcher_new(const fws_tuf_http_opts *opts, fws_tuf_fetcher *out,
                            fws_errbuf *eb) FWS_MUST_CHECK;
void fws_tuf_fetcher_free(fws_tuf_fetcher *f);

/* ---- the client ----------------------------------------------------------------------------- */

typedef struct fws_tuf_client_config {
    uint64_t root_max;            /* bytes of one root file */
    uint64_t timestamp_max;       /* bytes of timestamp.json */
    uint64_t snapshot_max;        /* bytes of snapshot when the timestamp gives no length */
    uint64_t targets_max;         /* bytes of a targets file when the snapshot gives no length */
    unsigned max_root_rotations;  /* new root versions fetched in one refresh */
    unsigned max_delegations;     /* targets roles visited in one target search */
    int prefix_targets_with_hash; /* fetch HASH.NAME targets when consistent snapshots are on */
    int64_t fixed_now;            /* 0: take time(NULL) once when refresh starts */
} fws_tuf_client_config;

/* 512,000 / 16,384 / 2,000,000 / 5,000,000 bytes, 256 root rotations, 32 delegations,
 * hash-prefixed targets, the real clock. */
extern const fws_tuf_client_config fws_tuf_client_defaults;

typedef struct fws_tuf_client fws_tuf_client;

/* Installs a first trusted root in metadata_dir (created when missing) as root.json, byte for
 * byte, after checking that it parses as root metadata. Nothing is fetched. */
fws_err fws_tuf_client_init_dir(const char *metadata_dir, const uint8_t *root, size_t len,
                                fws_errbuf *eb) FWS_MUST_CHECK;

/* A client over metadata_dir (which must hold root.json) and metadata_url (the URL of the
 * repository's metadata directory). The client uses fetcher without owning it. cfg NULL means
 * fws_tuf_client_defaults. */
fws_err fws_tuf_client_new(const char *metadata_dir, const char *metadata_url,
                           const fws_tuf_client_config *cfg, const fws_tuf_fetcher *fetcher,
                           fws_tuf_client **out, fws_errbuf *eb) FWS_MUST_CHECK;
void fws_tuf_client_free(fws_tuf_client *c);

/* The TUF client workflow up to and including the top-level targets (specification section 5:
 * fixed start time, root chain, timestamp, snapshot, targets). Verified files are written to
 * metadata_dir under unversioned names, byte for byte as downloaded, each atomically; nothing
 * is written before it is verified. Local files that no longer verify are ignored. Errors:
 * FWS_ERR_THRESHOLD, FWS_ERR_ROLLBACK, FWS_ERR_EXPIRED, FWS_ERR_DIGEST, FWS_ERR_LENGTH,
 * FWS_ERR_TOO_BIG, FWS_ERR_SCHEMA/FORMAT for bad metadata, FWS_ERR_IO and FWS_ERR_NOT_FOUND
 * when a required file cannot be fetched. */
fws_err fws_tuf_client_refresh(fws_tuf_client *c, fws_errbuf *eb) FWS_MUST_CHECK;

/* Finds the target's signed description by a pre-order depth-first search of the delegations
 * (terminating roles stop the search; at most cfg.max_delegations roles are visited),
 * refreshing first if refresh has not run. Delegated metadata is fetched, verified and stored
 * as metadata_dir/ENCODED_NAME.json. *out borrows from the client and stays valid until the
 * next refresh or until the client is freed. FWS_ERR_NOT_FOUND when no trusted role lists the
 * target. */
fws_err fws_tuf_client_find_target(fws_tuf_client *c, const char *path, fws_tuf_target *out,
                                   fws_errbuf *eb) FWS_MUST_CHECK;

/* Where a target is stored in target_dir: target_dir/ENCODED_PATH (see fws_tuf_name_encode),
 * malloc'd. */
fws_err fws_tuf_target_local_path(const char *target_dir, const fws_tuf_target *t, char **out,
                                  fws_errbuf *eb) FWS_MUST_CHECK;

/* Makes sure target_dir holds the target: when the stored file already has the signed length
 * and hashes, nothing is fetched (*fetched = 0); otherwise it is fetched from target_base_url
 * (as DIR/HASH.NAME when consistent snapshots are on), at most t->length bytes, checked, and
 * renamed into place (*fetched = 1). fetched may be NULL. */
fws_err fws_tuf_client_download_target(fws_tuf_client *c, const fws_tuf_target *t,
                                       const char *target_base_url, const char *target_dir,
                                       int *fetched, fws_errbuf *eb) FWS_MUST_CHECK;

/* Version of a trusted top-level role after refresh (0 when not loaded). */
int64_t fws_tuf_client_version(const fws_tuf_client *c, fws_tuf_kind kind);

#ifdef __cplusplus
}
#endif
#endif
