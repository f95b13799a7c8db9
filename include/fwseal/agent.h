/* The device agent: A/B slots, the install state machine, verify-before-activate, resumable
 * downloads, signed reports and the update loop.
 *
 * Everything the agent writes during an install (slot images, the bootloader environment of the
 * file backend, the state file, the counter, the report queue) goes through an fws_agent_io
 * table, so a test can cut the power at any single write, fsync or rename and check what the
 * device finds when it boots again. See docs/AGENT.md.
 */
#ifndef FWSEAL_AGENT_H
#define FWSEAL_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"
#include "fwseal/core.h"
#include "fwseal/crypto.h"
#include "fwseal/note.h"
#include "fwseal/tiles.h"
#include "fwseal/tuf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- caps ---------------------------------------------------------------------------------- */

#define FWS_AGENT_PATH_MAX 4096
#define FWS_AGENT_PRODUCT_MAX 128 /* bytes, as the ledger's identifiers */
#define FWS_AGENT_VERSION_MAX 64
#define FWS_AGENT_TARGET_MAX 512 /* a TUF target path */
#define FWS_AGENT_URL_MAX 2048
#define FWS_AGENT_REASON_MAX 512
#define FWS_AGENT_NAME_MAX 64     /* hardware model, region (FWS_POLICY_MAX_NAME) */
#define FWS_AGENT_WRAP_MAX 1024   /* a wrapped content key, as JSON text */
#define FWS_AGENT_STATE_MAX 65536 /* the state file */
#define FWS_AGENT_CHUNK 65536     /* bytes moved per read or write while streaming */

/* A key-wrapping key of a device: X25519 or P-256, private or public only (see below). */
typedef struct fws_enc_key fws_enc_key;

/* ---- an I/O layer for everything that must survive a power cut ----------------------------- */

/* Every call that changes storage. Each returns 0 (or a byte count / descriptor) on success and
 * -1 with errno set on failure, like the POSIX call of the same name. */
typedef struct fws_agent_io {
    int (*open)(void *ctx, const char *path, int flags, unsigned mode);
    ssize_t (*write)(void *ctx, int fd, const void *buf, size_t len);
    int (*fsync)(void *ctx, int fd);
    int (*close)(void *ctx, int fd);
    int (*rename)(void *ctx, const char *from, const char *to);
    int (*unlink)(void *ctx, const char *path);
    int (*fsync_dir)(void *ctx, const char *dir);
    void *ctx;
} fws_agent_io;

/* Plain POSIX calls. */
extern const fws_agent_io fws_agent_io_posix;

/* A power cut for tests: counts every write, fsync, rename, unlink and directory fsync; the
 * operation numbered cut_at (1-based) fails, a write there storing only the first half of its
 * bytes (a torn write), and every later operation fails as if the power were gone. cut_at 0
 * never cuts (to count the operations of a whole run). */
typedef struct fws_agent_power {
    uint64_t ops;    /* operations seen so far */
    uint64_t cut_at; /* 0: never */
    int cut;         /* 1 once the power is off */
} fws_agent_power;

/* An I/O table over the POSIX calls that obeys p (which must outlive the table). */
void fws_agent_io_power(fws_agent_power *p, fws_agent_io *out);

/* Writes data to path through io: a temporary file in the same directory, fsync, rename,
 * directory fsync. Readers see the old file or the new one. */
fws_err fws_agent_write_atomic(const fws_agent_io *io, const char *path, const void *data,
                               size_t len, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- slots and the bootloader -------------------------------------------------------------- */

#define FWS_SLOT_COUNT 2
#define FWS_SLOT_TRIES 3 /* tries a confirmed slot gets */

/* What the bootloader keeps: the order it tries slots in and the tries each has left
 * (BOOT_ORDER="A B", BOOT_A_LEFT=3, BOOT_B_LEFT=0), and the slot that is running now. */
typedef struct fws_boot_state {
    int order[FWS_SLOT_COUNT]; /* slot indexes, first tried first; -1 for an empty place */
    unsigned left[FWS_SLOT_COUNT];
    int booted; /* slot running now, -1 when unknown */
} fws_boot_state;

/* "A" or "B"; NULL for anything else. */
const char *fws_slot_name(int slot);
/* FWS_ERR_FORMAT for anything but "A", "B" (either case). */
fws_err fws_slot_parse(const char *name, int *slot) FWS_MUST_CHECK;

typedef struct fws_slot_backend fws_slot_backend; /* opaque */

typedef struct fws_slot_config {
    const char *kind;       /* "file", "uboot", "grub", "script" */
    const char *slot_dir;   /* slot images slot-A.img and slot-B.img; file: also boot.env, booted */
    const char *tool;       /* uboot: fw_printenv's directory or NULL for PATH; grub: the
                             * grub-editenv program or NULL; script: the hook program */
    const char *env_file;   /* grub: the grubenv file (default slot_dir/grubenv) */
    const char *cmdline;    /* uboot, grub: file holding the kernel command line with
                             * fwseal.slot=A|B (default /proc/cmdline) */
    const fws_agent_io *io; /* NULL: fws_agent_io_posix */
} fws_slot_config;

fws_err fws_slot_open(const fws_slot_config *cfg, fws_slot_backend **out,
                      fws_errbuf *eb) FWS_MUST_CHECK;
void fws_slot_close(fws_slot_backend *b);
const char *fws_slot_kind(const fws_slot_backend *b);

/* Where the image of a slot lives (a file or a block device). */
fws_err fws_slot_image_path(const fws_slot_backend *b, int slot, char *out, size_t cap,
                            fws_errbuf *eb) FWS_MUST_CHECK;
/* The bootloader's order and tries, and the slot running now. */
fws_err fws_slot_read(fws_slot_backend *b, fws_boot_state *out, fws_errbuf *eb) FWS_MUST_CHECK;
/* Takes slot out of the boot order before its image is written. */
fws_err fws_slot_mark_bad(fws_slot_backend *b, int slot, fws_errbuf *eb) FWS_MUST_CHECK;
/* Makes slot boot next, once: first in the order with one try; the other slot stays behind it. */
fws_err fws_slot_mark_trial(fws_slot_backend *b, int slot, fws_errbuf *eb) FWS_MUST_CHECK;
/* Makes slot the one the device boots, with FWS_SLOT_TRIES tries, the other slot after it. */
fws_err fws_slot_mark_good(fws_slot_backend *b, int slot, fws_errbuf *eb) FWS_MUST_CHECK;

/* Sets up a file-backend device: slot_dir with both images, slot A holding image (len bytes)
 * and booted, confirmed, slot B empty. For tests, simulation and first installs. */
fws_err fws_slot_file_provision(const char *slot_dir, const uint8_t *image, size_t len,
                                fws_errbuf *eb) FWS_MUST_CHECK;

/* What a simulated power-on does: picks the slot the bootloader would (the first slot in the
 * order with a try left, spending the try), asks boots() whether that image comes up (NULL:
 * every image does) and falls through to the next slot when it does not, then records the
 * running slot (file: slot_dir/booted; uboot, grub: the command-line file). FWS_ERR_STATE when
 * no slot boots. *booted receives the slot. */
typedef int (*fws_boot_check_fn)(void *ctx, int slot, const char *image_path);
fws_err fws_slot_simulate_boot(fws_slot_backend *b, fws_boot_check_fn boots, void *ctx, int *booted,
                               fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- the install state machine -------------------------------------------------------------- */

typedef enum fws_agent_state {
    FWS_AGENT_IDLE = 0,
    FWS_AGENT_DOWNLOADING = 1,
    FWS_AGENT_VERIFYING = 2,
    FWS_AGENT_INSTALLED_PENDING = 3, /* verified, marked for a trial boot, not booted yet */
    FWS_AGENT_TRIAL_BOOT = 4,        /* running the new image on trial */
    FWS_AGENT_CONFIRMED = 5,         /* health check passed, slot made permanent */
    FWS_AGENT_ROLLED_BACK = 6,       /* back on the old image, with a reason */
    FWS_AGENT_STATE_COUNT
} fws_agent_state;

typedef enum fws_agent_event {
    FWS_EV_START = 0,       /* an assignment passed every check: write the inactive slot */
    FWS_EV_DOWNLOADED = 1,  /* every byte is in the slot */
    FWS_EV_VERIFIED = 2,    /* length and digest matched; slot marked for a trial */
    FWS_EV_FAILED = 3,      /* download or verification failed; nothing activated */
    FWS_EV_BOOTED_NEW = 4,  /* the device came up on the new slot */
    FWS_EV_HEALTH_OK = 5,   /* the health check passed */
    FWS_EV_HEALTH_FAIL = 6, /* the health check failed */
    FWS_EV_FELL_BACK = 7,   /* the device came up on the old slot (trial boot failed) */
    FWS_EV_SETTLED = 8,     /* the outcome is reported (queued): back to idle */
    FWS_EV_COUNT
} fws_agent_event;

const char *fws_agent_state_name(fws_agent_state s);
const char *fws_agent_event_name(fws_agent_event e);
fws_err fws_agent_state_parse(const char *name, fws_agent_state *out) FWS_MUST_CHECK;
/* The state event e leads to from s, by the transition table; FWS_ERR_STATE when the table has
 * no such transition. */
fws_err fws_agent_transition(fws_agent_state s, fws_agent_event e,
                             fws_agent_state *next) FWS_MUST_CHECK;

/* An update the agent is working on, as the signed metadata describes it. */
typedef struct fws_agent_target {
    char product[FWS_AGENT_PRODUCT_MAX + 1];
    char version[FWS_AGENT_VERSION_MAX + 1];
    char path[FWS_AGENT_TARGET_MAX + 1]; /* TUF target path */
    char url[FWS_AGENT_URL_MAX + 1];     /* where the bytes come from */
    uint64_t length;                     /* of the bytes downloaded (ciphertext when wrapped) */
    uint8_t sha256[FWS_SHA256_LEN];      /* of the bytes downloaded */
    uint64_t security_counter;
    char wrapped_key[FWS_AGENT_WRAP_MAX + 1]; /* "" unless the payload is encrypted */
} fws_agent_target;

/* The persisted state (state_dir/state.json, canonical JSON, written atomically). */
typedef struct fws_agent_status {
    fws_agent_state state;
    char product[FWS_AGENT_PRODUCT_MAX + 1];
    char installed_version[FWS_AGENT_VERSION_MAX + 1]; /* running, confirmed image */
    uint8_t installed_sha256[FWS_SHA256_LEN];
    int active_slot;                              /* slot of the confirmed image */
    int target_slot;                              /* slot being written or on trial; -1 when none */
    fws_agent_target target;                      /* valid unless state is idle */
    char from_version[FWS_AGENT_VERSION_MAX + 1]; /* installed when the update started */
    uint64_t written;                             /* bytes of the target slot known to be on disk */
    uint8_t slot_sha256[FWS_SHA256_LEN];          /* of what the slot holds once verified */
    char reason[FWS_AGENT_REASON_MAX + 1];        /* why the last update failed or rolled back */
    uint64_t assignment_seq;                      /* highest assignment sequence accepted */
    uint64_t report_seq;                          /* last report sequence number queued */
    uint64_t security_counter;                    /* mirror of the counter file, for status */
    uint8_t failed_sha256[FWS_SHA256_LEN];        /* last image rolled back: not tried again */
    int64_t updated_at;
} fws_agent_status;

typedef struct fws_agent fws_agent; /* opaque: a state directory, a slot backend, an I/O table */

typedef struct fws_agent_config {
    const char *state_dir;
    fws_slot_backend *slots;     /* borrowed */
    const fws_agent_io *io;      /* NULL: fws_agent_io_posix */
    const char *device_id;       /* written into reports */
    const fws_signer *signer;    /* signs reports; NULL: reports are queued unsigned (tests) */
    const fws_enc_key *wrap_key; /* private key that unwraps content keys, or NULL */
    const char *health_check;    /* shell command run on a trial boot; NULL: always healthy */
    int64_t (*now)(void);        /* NULL: time(NULL) */
} fws_agent_config;

/* Opens (creating when missing) the state in cfg->state_dir. A device that has no state yet is
 * idle on the slot that booted, with product and version taken from first (may be NULL). */
typedef struct fws_agent_first {
    const char *product;
    const char *version;
    const uint8_t *sha256; /* may be NULL */
} fws_agent_first;
fws_err fws_agent_open(const fws_agent_config *cfg, const fws_agent_first *first, fws_agent **out,
                       fws_errbuf *eb) FWS_MUST_CHECK;
void fws_agent_close(fws_agent *a);
/* A copy of the current state. */
void fws_agent_get_status(const fws_agent *a, fws_agent_status *out);
/* Reads a state directory without opening an agent (for `fwseal-agent status`). */
fws_err fws_agent_status_read(const char *state_dir, fws_agent_status *out,
                              fws_errbuf *eb) FWS_MUST_CHECK;
/* The state as a JSON object (a new reference), as status --json prints it. */
struct json_t;
fws_err fws_agent_status_json(const fws_agent_status *st, struct json_t **out) FWS_MUST_CHECK;

/* ---- installing ---------------------------------------------------------------------------- */

/* Receives downloaded bytes in order; a non-zero return aborts the transfer with it. */
typedef fws_err (*fws_agent_sink_fn)(void *ctx, const uint8_t *data, size_t len);

/* Where an update's bytes come from: fetch pushes the target's bytes from offset on into sink
 * (at most t->length - offset of them), returning FWS_OK when they all arrived. The download
 * layer (fws_agent_http_source) and a local file source (fws_agent_file_source) implement it. */
typedef struct fws_agent_source {
    fws_err (*fetch)(void *ctx, const fws_agent_target *t, uint64_t offset, fws_agent_sink_fn sink,
                     void *sink_ctx, fws_errbuf *eb);
    void *ctx;
} fws_agent_source;

/* A source reading t->url as a local path (a file: URL or a plain path). */
extern const fws_agent_source fws_agent_file_source;

/* Streams a payload into the inactive slot, from idle (START) or from a download that was cut
 * (resuming after the bytes already durable in the slot, which are read back through the
 * verifier; an encrypted payload starts again from its first byte). What is written is the
 * plaintext (decrypted with the unwrapped content key when the target carries one, chunk by
 * authenticated chunk); the verifier core checks the downloaded bytes' length and digest. On
 * success the slot is marked for a trial boot and the state is installed-pending. When the
 * bytes fail a check or cannot be had, the state goes back to idle with the reason, a
 * verification-failure report is queued, the slot stays out of the boot order and the active
 * slot is untouched; the check's code is returned. A local I/O failure (the power) leaves the
 * state as it was for fws_agent_recover. */
fws_err fws_agent_install(fws_agent *a, const fws_agent_target *t, const fws_agent_source *src,
                          fws_errbuf *eb) FWS_MUST_CHECK;

/* What the agent does after every power-on, before anything else: reads the bootloader state and
 * moves the machine on (a trial boot that came up runs its health check and is confirmed or
 * rolled back; a trial that fell back is rolled back; a confirmed or rolled-back install is
 * reported; an interrupted download stays to be resumed). Reaches a state where nothing is left
 * to do before the next assignment: idle, downloading (resumable), or installed-pending (waiting
 * for a reboot). *reboot (optional) is set to 1 when the device should reboot now. */
fws_err fws_agent_recover(fws_agent *a, int *reboot, fws_errbuf *eb) FWS_MUST_CHECK;

/* The anti-rollback counter kept in state_dir/counter. */
fws_err fws_agent_counter(const fws_agent *a, uint64_t *value, fws_errbuf *eb) FWS_MUST_CHECK;
/* A counter store over it (for fws_policy_check). */
void fws_agent_counter_store(fws_agent *a, fws_counter_store *out);

/* ---- payload encryption -------------------------------------------------------------------- */

/* Encrypted payloads are AES-256-GCM in chunks (docs/AGENT.md, "fwseal-enc/v1"): a 32-byte
 * header (magic, chunk size, plaintext length, nonce prefix) then each chunk's ciphertext and
 * tag; chunk i's nonce is the prefix and i, its additional data the header and a last-chunk
 * flag. The content key is wrapped for one device: ephemeral X25519 (or P-256) ECDH with the
 * device's key, HKDF-SHA256, AES-256-GCM. */
#define FWS_ENC_HEADER_LEN 32
#define FWS_ENC_TAG_LEN 16
#define FWS_ENC_CHUNK_DEFAULT 65536
#define FWS_ENC_KEY_LEN 32

/* Bytes of ciphertext for plaintext_len bytes in chunks of chunk bytes. */
uint64_t fws_enc_length(uint64_t plaintext_len, uint32_t chunk);
/* Encrypts a whole file (for servers and tests). */
fws_err fws_enc_encrypt_file(const char *in, const char *out, const uint8_t key[FWS_ENC_KEY_LEN],
                             uint32_t chunk, fws_errbuf *eb) FWS_MUST_CHECK;
/* Makes a key pair ("x25519" or "p256") as PEM files: PKCS#8 (mode 0600, unencrypted: the
 * file's mode protects it, as for an SSH host key) and SPKI. */
fws_err fws_enc_key_generate(const char *type, const char *priv_path, const char *pub_path,
                             fws_errbuf *eb) FWS_MUST_CHECK;
/* Loads a private or a public key PEM file. */
fws_err fws_enc_key_load(const char *path, fws_enc_key **out, fws_errbuf *eb) FWS_MUST_CHECK;
void fws_enc_key_free(fws_enc_key *k);
/* Wraps key for a device's public key, as one line of JSON text (malloc'd):
 * {"alg":"ECDH-ES+HKDF-SHA256+A256GCM","crv":"X25519"|"P-256","epk","nonce","ct"} (base64). */
fws_err fws_enc_wrap_key(const fws_enc_key *device_pub, const uint8_t key[FWS_ENC_KEY_LEN],
                         char **json_out, fws_errbuf *eb) FWS_MUST_CHECK;
/* Unwraps it with the device's private key. FWS_ERR_SIGNATURE when it does not authenticate. */
fws_err fws_enc_unwrap_key(const fws_enc_key *device_priv, const char *unverified_json,
                           uint8_t key[FWS_ENC_KEY_LEN], fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- downloads ------------------------------------------------------------------------------ */

typedef struct fws_agent_http_opts {
    const char *pin;         /* "sha256//BASE64" of the server's public key, or NULL */
    const char *ca_file;     /* CA bundle verifying the server, or NULL (pin alone then) */
    const char *cert_file;   /* client certificate (mutual TLS), or NULL */
    const char *key_file;    /* its private key, or NULL */
    const char *key_pass;    /* passphrase of key_file, or NULL */
    unsigned attempts;       /* tries in all; 0: 6 */
    unsigned backoff_ms;     /* first delay between tries, doubled each time; 0: 250 */
    unsigned backoff_max_ms; /* 0: 30000 */
    long min_rate;           /* bytes per second below which a transfer is stalled; 0: 1024 */
    long stall_s;            /* seconds below min_rate; 0: 30 */
    long connect_timeout_s;  /* 0: 10 */
} fws_agent_http_opts;

typedef struct fws_agent_http fws_agent_http; /* opaque: one fws_http_client */

fws_err fws_agent_http_new(const fws_agent_http_opts *opts, fws_agent_http **out,
                           fws_errbuf *eb) FWS_MUST_CHECK;
void fws_agent_http_free(fws_agent_http *h);

/* Counters of what the download layer did (for tests and status). */
typedef struct fws_agent_http_stats {
    unsigned attempts; /* requests sent */
    unsigned resumes;  /* requests that asked for a Range after bytes had arrived */
    unsigned stalls;   /* transfers cut for going below the minimum rate */
} fws_agent_http_stats;
void fws_agent_http_get_stats(const fws_agent_http *h, fws_agent_http_stats *out);

/* Downloads url from offset on, at most max_len bytes in all (offset included), into sink.
 * Resumes with a Range request after a drop, retries with exponential backoff, gives up at once
 * on a 4xx other than 408 and 429 (FWS_ERR_NOT_FOUND for 404 and 410, FWS_ERR_STATE for the
 * rest), fails with FWS_ERR_LENGTH as soon as more than max_len bytes arrive, and with
 * FWS_ERR_IO when every try failed (eb says why: stalled, refused, pin mismatch ...).
 * *total receives the bytes received (offset included). */
fws_err fws_agent_http_download(fws_agent_http *h, const char *url, uint64_t offset,
                                uint64_t max_len, fws_agent_sink_fn sink, void *ctx,
                                uint64_t *total, fws_errbuf *eb) FWS_MUST_CHECK;

/* GET or POST (body not NULL) into a malloc'd buffer of at most max_len bytes, one try.
 * *status receives the HTTP status (the body is returned for any status). */
fws_err fws_agent_http_request(fws_agent_http *h, const char *url, const char *content_type,
                               const uint8_t *body, size_t body_len, size_t max_len, long *status,
                               uint8_t **resp, size_t *resp_len, fws_errbuf *eb) FWS_MUST_CHECK;

/* A source that downloads t->url through h (resuming across calls). */
void fws_agent_http_source(fws_agent_http *h, fws_agent_source *out);

/* ---- reports -------------------------------------------------------------------------------- */

#define FWS_REPORT_MAX 16384      /* one report, envelope included */
#define FWS_REPORT_QUEUE_MAX 4096 /* reports kept on disk; the oldest go first past this */
#define FWS_REPORT_PAYLOAD_TYPE "application/vnd.fwseal.report+json"

typedef enum fws_report_kind {
    FWS_REPORT_INSTALL = 1,
    FWS_REPORT_ROLLBACK = 2,
    FWS_REPORT_VERIFY_FAIL = 3,
} fws_report_kind;

/* The number of reports waiting in state_dir/reports. */
fws_err fws_agent_reports_pending(const fws_agent *a, size_t *n, fws_errbuf *eb) FWS_MUST_CHECK;

/* Sends each queued report (oldest first) with send(); a report leaves the queue only when
 * send() says the server acknowledged it. Stops at the first failure (the rest wait for the
 * next try), except FWS_ERR_SCHEMA from send(), a definitive refusal: that report moves to
 * STATE/reports-refused/ and the others go on. *sent (optional) receives how many were
 * acknowledged. */
typedef fws_err (*fws_report_send_fn)(void *ctx, const char *id, const uint8_t *envelope,
                                      size_t len, fws_errbuf *eb);
fws_err fws_agent_reports_flush(fws_agent *a, fws_report_send_fn send, void *ctx, size_t *sent,
                                fws_errbuf *eb) FWS_MUST_CHECK;

/* Checks a report envelope with the device's public key and returns its payload as JSON text
 * (malloc'd). For servers and tests. */
fws_err fws_report_verify(const uint8_t *unverified, size_t len, const fws_key *device_pub,
                          char **payload, size_t *payload_len, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- one pass of the update loop ------------------------------------------------------------ */

#define FWS_ASSIGNMENT_PAYLOAD_TYPE "application/vnd.fwseal.assignment+json"
#define FWS_ASSIGNMENT_MAX 16384

/* What the server says a device should run: {"device", "nonce", "sequence", "target" (a TUF
 * target path, or null for "stay"), "wrappedKey" (optional)} in a DSSE envelope signed by the
 * deployment's assignment key. */
typedef struct fws_assignment {
    uint64_t sequence;
    char target[FWS_AGENT_TARGET_MAX + 1]; /* "" when the device should stay as it is */
    char wrapped_key[FWS_AGENT_WRAP_MAX + 1];
} fws_assignment;

/* Checks an assignment envelope: signed by key, for device_id, echoing nonce (hex), with a
 * sequence above last_seq (FWS_ERR_ROLLBACK for a replay). */
fws_err fws_assignment_check(const uint8_t *unverified, size_t len, const fws_key *key,
                             const char *device_id, const char *nonce, uint64_t last_seq,
                             fws_assignment *out, fws_errbuf *eb) FWS_MUST_CHECK;

typedef struct fws_agent_loop_config {
    /* http(s)://host[:port] serving /repo/metadata, /repo/targets, /log and /api/v1/device/...,
     * or file:///DEPLOY (a deployment directory: repo/metadata, repo/targets, ledger) */
    const char *server;
    const char *bundle_dir; /* root.json, ledger.vkey, server.pin, assignment.pub, device.* */
    const char *hardware;
    const char *region; /* NULL: none */
    const char *target; /* install this target path without an assignment (NULL: ask) */
    const fws_agent_http_opts *http; /* NULL: defaults with the bundle's pin */
    /* Remote attestation (NULL: none): called before the assignment is asked for, with the
     * pass's HTTPS client, the server's base URL and the device ID; it fetches a nonce from
     * the server and posts evidence (docs/AGENT.md, "Attestation"). An error ends the pass. */
    fws_err (*attest)(void *ctx, fws_agent_http *http, const char *base, const char *device_id,
                      fws_errbuf *eb);
    void *attest_ctx;
} fws_agent_loop_config;

typedef enum fws_agent_outcome {
    FWS_PASS_UP_TO_DATE = 0,  /* nothing to do */
    FWS_PASS_INSTALLED = 1,   /* a verified image waits in the inactive slot: reboot */
    FWS_PASS_CONFIRMED = 2,   /* a trial boot was confirmed */
    FWS_PASS_ROLLED_BACK = 3, /* a trial boot failed and was rolled back */
    FWS_PASS_REFUSED = 4,     /* an update failed a check before activation (reported) */
} fws_agent_outcome;

/* ---- the operational identity (EST, RFC 7030) ------------------------------------------------ */

/* The factory identity in the bundle (device.crt, device.key) only enrolls; day to day the
 * device presents an operational certificate for a key it generated itself (P-256), kept in
 * STATE/identity/operational.crt and operational.key (encrypted PKCS#8 like device.key, mode
 * 0600), renewed at two thirds of its lifetime. The EST exchange itself is bound by the
 * caller (fwseal-agent binds fws_pki_csr_create, fws_est_request and fws_est_renew_at), like
 * the repository's ledger: the agent decides, generates the key and checks the answer. */

typedef struct fws_agent_enroller {
    /* Makes a PKCS#10 request signed by s (DER, malloc'd). */
    fws_err (*csr)(void *ctx, const fws_signer *s, uint8_t **der, size_t *len, fws_errbuf *eb);
    /* Sends it over EST, authenticated by cert and key (PEM files, key encrypted with the
     * passphrase): simpleenroll (renew 0, the factory identity) or simplereenroll (renew 1, the
     * current operational identity). Returns the issued certificate (DER, malloc'd).
     * FWS_ERR_STATE when the server refused (eb: its reason), FWS_ERR_IO when it could not be
     * reached. */
    fws_err (*enroll)(void *ctx, int renew, const char *cert, const char *key, const uint8_t *csr,
                      size_t csr_len, uint8_t **der, size_t *der_len, fws_errbuf *eb);
    /* When a certificate valid from not_before to not_after is due for renewal; NULL: at two
     * thirds of its lifetime. */
    int64_t (*renew_at)(int64_t not_before, int64_t not_after);
    void *ctx;
} fws_agent_enroller;

typedef struct fws_agent_est_config {
    const fws_agent_enroller *enroller;
    const char *factory_cert; /* the bundle's device.crt (PEM) */
    const char *factory_key;  /* its key, the bundle's device.key */
    const fws_passphrase *pp; /* opens both keys and encrypts the new one */
    int64_t now;              /* the reference time; 0: the clock */
    int force;                /* renew now, before two thirds of the lifetime */
} fws_agent_est_config;

typedef enum fws_identity_action {
    FWS_IDENTITY_KEPT = 0,     /* the operational certificate is good until renew_at */
    FWS_IDENTITY_ENROLLED = 1, /* a new one through simpleenroll with the factory identity */
    FWS_IDENTITY_RENEWED = 2,  /* a new one through simplereenroll with the previous one */
} fws_identity_action;

const char *fws_identity_action_name(fws_identity_action a); /* "kept", "enrolled", "renewed" */

typedef struct fws_agent_identity {
    char cert[FWS_AGENT_PATH_MAX]; /* the certificate to present (PEM) */
    char key[FWS_AGENT_PATH_MAX];  /* its private key (encrypted PKCS#8) */
    char device_id[FWS_AGENT_PRODUCT_MAX + 1];
    int64_t not_before, not_after, renew_at;
    fws_identity_action action;
} fws_agent_identity;

/* The operational identity in state_dir, without the network: FWS_ERR_NOT_FOUND when there is
 * none, FWS_ERR_KEY_MISMATCH when the key is not the certificate's (an enrollment cut between
 * its two renames), FWS_ERR_EXPIRED outside its validity at now (0: the clock), FWS_ERR_FORMAT
 * for a damaged file, FWS_ERR_PASSPHRASE. renew_at is computed with renew_at (NULL: two
 * thirds of the lifetime). */
fws_err fws_agent_identity_load(const char *state_dir, const fws_passphrase *pp, int64_t now,
                                int64_t (*renew_at)(int64_t, int64_t), fws_agent_identity *out,
                                fws_errbuf *eb) FWS_MUST_CHECK;

/* Keeps a usable operational identity in state_dir: a current one is kept until it is due
 * (or c->force), then renewed with simplereenroll; when there is none, it expired or is
 * damaged, or the server refuses to renew it, the factory identity enrolls. The key is
 * generated here; the certificate returned must certify that key, name the factory
 * identity's device (urn:fwseal:device:ID) and be valid now, else nothing is written
 * (FWS_ERR_KEY_MISMATCH, FWS_ERR_EXPIRED). Key and certificate are written under new names and
 * then renamed into place. Errors of the exchange are the enroller's (FWS_ERR_STATE: refused). */
fws_err fws_agent_identity_update(const char *state_dir, const fws_agent_est_config *c,
                                  fws_agent_identity *out, fws_errbuf *eb) FWS_MUST_CHECK;

/* Makes signer (borrowed; it must outlive the agent or the next call) sign the reports from now
 * on, and re-signs with it the queued reports of this device signed by another key: the server
 * checks a report against the certificate of the connection that delivers it, so reports
 * queued before an identity change must follow the new key. */
fws_err fws_agent_set_signer(fws_agent *a, const fws_signer *signer, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- the release checks of a pass, for verifiers without a device ---------------------------- */

/* What custom.fwseal of an image target claims besides the fields of fws_agent_target. The
 * names borrow from the TUF target's JSON. */
typedef struct fws_target_view {
    const char *hardware[FWS_POLICY_MAX_LIST];
    size_t n_hardware;
    const char *regions[FWS_POLICY_MAX_LIST];
    size_t n_regions;
    uint64_t ledger_index;
} fws_target_view;

/* Reads an image target as a pass does: path, length, hashes.sha256 and custom.fwseal
 * (product, version, hardware, regions, securityCounter, ledgerIndex). FWS_ERR_SCHEMA naming
 * the field when one is missing or malformed, FWS_ERR_TOO_BIG for names over the caps. t->url
 * and t->wrapped_key are left empty. */
fws_err fws_agent_describe(const fws_tuf_target *tt, fws_agent_target *t, fws_target_view *v,
                           fws_errbuf *eb) FWS_MUST_CHECK;

/* The ledger record a release target names. */
typedef struct fws_ledger_want {
    uint64_t index; /* ledgerIndex from the signed target */
    const char *product;
    const char *version;
    const uint8_t *sha256;
    uint64_t length;
} fws_ledger_want;

/* The verified checkpoint a ledger check proved the record against. */
typedef struct fws_ledger_seen {
    uint64_t size;
    uint8_t root[FWS_MERKLE_HASH_LEN];
} fws_ledger_seen;

/* The ledger check of a pass without a device's memory: fetches the log's checkpoint through
 * src, verifies it with log_key (its origin must be the key's name), proves the entry at
 * w->index included in it from the tiles, and checks that the entry is the `release` record of
 * w->product and w->version with image sha256 w->sha256 and size w->length. Nothing is kept.
 * seen (optional) receives the checkpoint's size and root. Errors: FWS_ERR_KEY_MISMATCH or
 * FWS_ERR_SIGNATURE (the checkpoint is not signed by log_key), FWS_ERR_PROOF (the record is
 * missing, not included, or another record), FWS_ERR_IO / FWS_ERR_NOT_FOUND (the log cannot
 * be read). */
fws_err fws_agent_ledger_verify(const fws_tile_source *src, const fws_note_vkey *log_key,
                                const fws_ledger_want *w, fws_ledger_seen *seen,
                                fws_errbuf *eb) FWS_MUST_CHECK;

/* One pass: recovery, queued reports sent, the assignment (fresh nonce, signature, sequence),
 * TUF refresh and target lookup, the target's policy in the verifier core (model, region,
 * security counter, expiry), the release's ledger record proven included in a checkpoint that
 * is consistent with the last one this device saw, then the download into the inactive slot.
 * Refusals are reported and returned as their check's code with *out FWS_PASS_REFUSED. */
fws_err fws_agent_pass(fws_agent *a, const fws_agent_loop_config *c, fws_agent_outcome *out,
                       fws_errbuf *eb) FWS_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
