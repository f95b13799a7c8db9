/* Remote attestation of devices with a TPM 2.0, in the RATS roles (RFC 9334):
 *
 *   attester       (device, fws_attest_tpm_* and fws_attest_sw_*) measures each boot stage into
 *                  a PCR and an event log, and answers a verifier's nonce with evidence: a TPM2
 *                  quote (TPMS_ATTEST signed by the attestation key), the PCR values, the event
 *                  log and the AK certificate, as one JSON document.
 *   verifier       (server, fws_attest_verify) parses the quote by hand, checks the nonce, the
 *                  AK's signature and certificate chain, replays the event log against the
 *                  quoted PCR digest, appraises every measured digest against reference values
 *                  (release records of the ledger, or digests in the policy) and watches the
 *                  TPM's reset and restart counters. Its output is an attestation result.
 *   relying party  (server, fws_attest_decide) turns the last result, the policy and the time
 *                  into allow, deny or quarantine; fws_attest_trust_score rates a device.
 *
 * Only the SHA-256 PCR bank and ECDSA P-256 attestation keys are supported. A device without
 * a TPM signs the same evidence with a software key; its evidence says "software" and policy
 * can refuse it. See docs/ATTESTATION.md for the formats and the profile of AK certificates.
 */
#ifndef FWSEAL_ATTEST_H
#define FWSEAL_ATTEST_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"
#include "fwseal/crypto.h"
#include "fwseal/note.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits ------------------------------------------------------------------------------- */

#define FWS_ATTEST_NONCE_LEN 32       /* nonces fws_attest_nonce makes */
#define FWS_ATTEST_NONCE_MIN 16       /* shortest nonce the verifier accepts */
#define FWS_ATTEST_NONCE_MAX 64       /* longest (a TPM2B_DATA of one SHA-512 digest) */
#define FWS_ATTEST_QUOTE_MAX 1024     /* TPMS_ATTEST bytes */
#define FWS_ATTEST_SIG_MAX 256        /* TPMT_SIGNATURE bytes */
#define FWS_ATTEST_PUB_MAX 512        /* TPMT_PUBLIC bytes */
#define FWS_ATTEST_NAME_LEN 34        /* a TPM name: nameAlg (SHA-256) and the digest */
#define FWS_ATTEST_CERT_MAX 4096      /* one DER certificate */
#define FWS_ATTEST_CHAIN_MAX 3        /* intermediates carried in evidence */
#define FWS_ATTEST_PCRS 24            /* PCR 0..23 */
#define FWS_ATTEST_EVENTS_MAX 64      /* events in one log */
#define FWS_ATTEST_STAGE_MAX 32       /* bytes of a stage name: [a-z0-9._-] */
#define FWS_ATTEST_STAGES_MAX 16      /* stages in a policy */
#define FWS_ATTEST_DEVICE_MAX 128     /* device identifier */
#define FWS_ATTEST_EVIDENCE_MAX 65536 /* evidence JSON */
#define FWS_ATTEST_POLICY_MAX 65536   /* policy JSON */
#define FWS_ATTEST_REASONS_MAX 16     /* reasons kept in a result or a decision */
#define FWS_ATTEST_REASON_LEN 192     /* bytes of one reason, NUL included */
#define FWS_ATTEST_SOURCE_LEN 240     /* where a reference value came from, NUL included */
#define FWS_ATTEST_POLICY_DIGESTS 16  /* literal reference digests per stage */
#define FWS_ATTEST_RECOVERY_MAX 8     /* recovery releases in a policy */
#define FWS_ATTEST_REFS_MAX 65536     /* reference values in one set */
#define FWS_ATTEST_PRODUCT_MAX 128    /* a product name (as a ledger record's) */
#define FWS_ATTEST_VERSION_MAX 64     /* a release version */

/* TPM constants fwseal reads and writes (TPM 2.0 Library, Part 2). */
#define FWS_TPM_GENERATED_VALUE 0xff544347u
#define FWS_TPM_ST_ATTEST_QUOTE 0x8018u
#define FWS_TPM_ALG_SHA256 0x000bu
#define FWS_TPM_ALG_ECDSA 0x0018u
#define FWS_TPM_ALG_ECC 0x0023u
#define FWS_TPM_ALG_NULL 0x0010u
#define FWS_TPM_ECC_NIST_P256 0x0003u
/* TPMA_OBJECT bits */
#define FWS_TPMA_FIXEDTPM 0x00000002u
#define FWS_TPMA_FIXEDPARENT 0x00000010u
#define FWS_TPMA_SENSITIVEDATAORIGIN 0x00000020u
#define FWS_TPMA_USERWITHAUTH 0x00000040u
#define FWS_TPMA_RESTRICTED 0x00010000u
#define FWS_TPMA_DECRYPT 0x00020000u
#define FWS_TPMA_SIGN 0x00040000u

/* ---- the TPM structures, parsed by hand (never allocating, every length checked) ----------- */

typedef struct fws_tpm_clock {
    uint64_t clock;         /* milliseconds the TPM has been powered, roughly */
    uint32_t reset_count;   /* TPM Resets (power cycles, reboots) */
    uint32_t restart_count; /* TPM Restarts and Resumes since the last Reset */
    uint8_t safe;           /* 1: clock was never set back */
} fws_tpm_clock;

typedef struct fws_tpms_attest {
    uint32_t magic; /* FWS_TPM_GENERATED_VALUE */
    uint16_t type;  /* FWS_TPM_ST_ATTEST_QUOTE */
    uint8_t signer[66];
    size_t signer_len; /* qualifiedSigner */
    uint8_t extra[66];
    size_t extra_len; /* extraData: the verifier's nonce */
    fws_tpm_clock clock;
    uint64_t firmware_version;
    uint16_t pcr_hash; /* the one bank selected: FWS_TPM_ALG_SHA256 */
    uint32_t pcr_mask; /* bit i: PCR i selected */
    uint8_t pcr_digest[64];
    size_t pcr_digest_len;
} fws_tpms_attest;

/* Parses TPMS_ATTEST (Part 2, 10.12.12) holding a quote: magic, type, qualifiedSigner,
 * extraData, clockInfo (safe must be 0 or 1), firmwareVersion, TPMS_QUOTE_INFO with exactly one
 * PCR selection (1..4 select bytes, only PCRs 0..23) and a digest; every byte consumed.
 * FWS_ERR_FORMAT (eb names the field and offset) for a wrong magic, a type other than a quote,
 * a length past the end or over a field's cap, or trailing bytes; FWS_ERR_UNSUPPORTED for
 * several banks; FWS_ERR_TOO_BIG over FWS_ATTEST_QUOTE_MAX bytes. out is written only on
 * success. */
fws_err fws_tpms_attest_parse(const uint8_t *unverified, size_t len, fws_tpms_attest *out,
                              fws_errbuf *eb) FWS_MUST_CHECK;

typedef struct fws_tpmt_signature {
    uint16_t sig_alg;  /* FWS_TPM_ALG_ECDSA */
    uint16_t hash_alg; /* FWS_TPM_ALG_SHA256 */
    uint8_t r[32], s[32];
    size_t r_len, s_len; /* 1..32 */
} fws_tpmt_signature;

/* Parses TPMT_SIGNATURE: ECDSA with SHA-256 only (FWS_ERR_UNSUPPORTED for other schemes),
 * r and s of 1..32 bytes, every byte consumed. */
fws_err fws_tpmt_signature_parse(const uint8_t *unverified, size_t len, fws_tpmt_signature *out,
                                 fws_errbuf *eb) FWS_MUST_CHECK;

typedef struct fws_tpmt_public {
    uint16_t type;     /* FWS_TPM_ALG_ECC */
    uint16_t name_alg; /* FWS_TPM_ALG_SHA256 */
    uint32_t attributes;
    uint16_t scheme;                   /* FWS_TPM_ALG_ECDSA or FWS_TPM_ALG_NULL */
    uint16_t curve;                    /* FWS_TPM_ECC_NIST_P256 */
    uint8_t point[65];                 /* uncompressed P-256 point */
    uint8_t name[FWS_ATTEST_NAME_LEN]; /* nameAlg || SHA-256(the TPMT_PUBLIC bytes) */
} fws_tpmt_public;

/* Parses TPMT_PUBLIC of an ECC P-256 signing key (no symmetric algorithm, ECDSA-SHA256 or no
 * scheme, no KDF, a 32-byte x and y) and computes its name. FWS_ERR_UNSUPPORTED for other key
 * types, curves or schemes; FWS_ERR_KEY_TYPE for a key that may decrypt or may not sign;
 * FWS_ERR_FORMAT for malformed bytes; FWS_ERR_TOO_BIG over FWS_ATTEST_PUB_MAX bytes. */
fws_err fws_tpmt_public_parse(const uint8_t *unverified, size_t len, fws_tpmt_public *out,
                              fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- event log ----------------------------------------------------------------------------- */

typedef struct fws_attest_event {
    uint8_t pcr;
    char stage[FWS_ATTEST_STAGE_MAX + 1];
    uint8_t digest[FWS_SHA256_LEN];
} fws_attest_event;

typedef struct fws_attest_log {
    size_t n;
    fws_attest_event ev[FWS_ATTEST_EVENTS_MAX];
} fws_attest_log;

/* 1 when name is a valid stage name (1..32 of [a-z0-9._-]). */
int fws_attest_stage_valid(const char *name);
/* Appends an event. FWS_ERR_ARG for a PCR over 23 or a bad stage name, FWS_ERR_TOO_BIG when
 * the log is full. */
fws_err fws_attest_log_add(fws_attest_log *log, unsigned pcr, const char *stage,
                           const uint8_t digest[FWS_SHA256_LEN]) FWS_MUST_CHECK;
/* Replays the log from all-zero PCRs: pcrs[i] = SHA-256(pcrs[i] || digest) for each event in
 * order. *touched receives the mask of PCRs the log extends. */
void fws_attest_log_replay(const fws_attest_log *log, uint8_t pcrs[FWS_ATTEST_PCRS][FWS_SHA256_LEN],
                           uint32_t *touched);
/* The log as a JSON array of {"pcr", "stage", "digest"} (new reference). */
fws_err fws_attest_log_to_json(const fws_attest_log *log, json_t **out) FWS_MUST_CHECK;
fws_err fws_attest_log_from_json(const json_t *unverified, fws_attest_log *out,
                                 fws_errbuf *eb) FWS_MUST_CHECK;
/* A log kept in a file by the attester (canonical JSON, written atomically). Loading a
 * missing file gives an empty log only when missing_ok is set. */
fws_err fws_attest_log_save(const fws_attest_log *log, const char *path,
                            fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_attest_log_load(const char *path, int missing_ok, fws_attest_log *out,
                            fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- evidence ------------------------------------------------------------------------------ */

typedef enum fws_attest_assurance {
    FWS_ASSURANCE_NONE = 0,
    FWS_ASSURANCE_SOFTWARE = 1, /* a software key: the device's own word */
    FWS_ASSURANCE_TPM = 2,      /* a restricted TPM attestation key */
} fws_attest_assurance;
const char *fws_attest_assurance_name(fws_attest_assurance a); /* "none", "software", "tpm" */
fws_err fws_attest_assurance_parse(const char *name, fws_attest_assurance *out) FWS_MUST_CHECK;

/* Evidence, as the attester builds it and the verifier decodes it (all fixed buffers). */
typedef struct fws_attest_evidence {
    char device[FWS_ATTEST_DEVICE_MAX + 1];
    fws_attest_assurance assurance;
    uint8_t nonce[FWS_ATTEST_NONCE_MAX];
    size_t nonce_len;
    uint8_t quote[FWS_ATTEST_QUOTE_MAX]; /* TPMS_ATTEST */
    size_t quote_len;
    uint8_t sig[FWS_ATTEST_SIG_MAX]; /* TPMT_SIGNATURE */
    size_t sig_len;
    uint8_t ak_public[FWS_ATTEST_PUB_MAX]; /* TPMT_PUBLIC */
    size_t ak_public_len;
    uint8_t ak_cert[FWS_ATTEST_CERT_MAX]; /* DER */
    size_t ak_cert_len;
    uint8_t chain[FWS_ATTEST_CHAIN_MAX][FWS_ATTEST_CERT_MAX]; /* intermediates, DER */
    size_t chain_len[FWS_ATTEST_CHAIN_MAX];
    size_t n_chain;
    uint32_t pcr_mask; /* the selection the attester asked for */
    uint8_t pcrs[FWS_ATTEST_PCRS][FWS_SHA256_LEN];
    fws_attest_log log;
} fws_attest_evidence;

/* Canonical JSON "fwseal-attest-evidence/v1" (docs/ATTESTATION.md); *json is malloc'd. */
fws_err fws_attest_evidence_encode(const fws_attest_evidence *e, char **json,
                                   size_t *len) FWS_MUST_CHECK;
/* Decodes evidence (any JSON spelling, at most FWS_ATTEST_EVIDENCE_MAX bytes, no unknown
 * field). FWS_ERR_FORMAT (not JSON, bad base64 or hex), FWS_ERR_SCHEMA (eb names the field),
 * FWS_ERR_TOO_BIG. Nothing in it is trusted: fws_attest_verify judges it. */
fws_err fws_attest_evidence_decode(const uint8_t *unverified, size_t len, fws_attest_evidence *out,
                                   fws_errbuf *eb) FWS_MUST_CHECK;

/* A fresh random nonce. */
fws_err fws_attest_nonce(uint8_t out[FWS_ATTEST_NONCE_LEN]) FWS_MUST_CHECK;

/* ---- attester: TPM 2.0 through tpm2-tss ESAPI --------------------------------------------- */

typedef struct fws_attest_tpm fws_attest_tpm;

/* Connects to a TPM (tcti as for Tss2_TctiLdr_Initialize: "swtpm:host=127.0.0.1,port=2321",
 * "device:/dev/tpmrm0"; NULL: the library default) and loads the attestation key: an ECDSA
 * P-256 restricted signing key created as a primary key of the endorsement hierarchy from
 * fwseal's fixed template, so the same TPM derives the same AK every time and no key blob is
 * stored. The transient handle is flushed by fws_attest_tpm_close (no resource manager is
 * assumed). */
fws_err fws_attest_tpm_open(const char *tcti, fws_attest_tpm **out, fws_errbuf *eb) FWS_MUST_CHECK;
/* Connects without loading the AK: enough to measure and read PCRs (at boot). The AK calls
 * below return FWS_ERR_STATE on such a connection. */
fws_err fws_attest_tpm_connect(const char *tcti, fws_attest_tpm **out,
                               fws_errbuf *eb) FWS_MUST_CHECK;
void fws_attest_tpm_close(fws_attest_tpm *t); /* NULL is fine */

/* The AK's TPMT_PUBLIC (what goes into evidence and provisioning), its name and public key. */
fws_err fws_attest_tpm_ak_public(const fws_attest_tpm *t, uint8_t *tpmt, size_t cap,
                                 size_t *len) FWS_MUST_CHECK;
void fws_attest_tpm_ak_name(const fws_attest_tpm *t, uint8_t name[FWS_ATTEST_NAME_LEN]);
fws_err fws_attest_tpm_ak_key(const fws_attest_tpm *t, fws_key **pub) FWS_MUST_CHECK;

/* A signer over the AK for a certificate request: the TPM hashes the message itself
 * (TPM2_Hash, which refuses data that starts like a TPM-made structure) and signs the digest
 * with its ticket, as a restricted key requires (messages up to 1024 bytes). t must outlive
 * the signer; fws_signer_free does not close t. */
fws_err fws_attest_tpm_signer(fws_attest_tpm *t, fws_signer *out, fws_errbuf *eb) FWS_MUST_CHECK;

/* Measured boot: extends digest into the SHA-256 bank of pcr and appends the event to log. */
fws_err fws_attest_tpm_measure(fws_attest_tpm *t, fws_attest_log *log, unsigned pcr,
                               const char *stage, const uint8_t digest[FWS_SHA256_LEN],
                               fws_errbuf *eb) FWS_MUST_CHECK;

/* Reads the SHA-256 bank of the PCRs in mask. */
fws_err fws_attest_tpm_pcr_read(fws_attest_tpm *t, uint32_t mask,
                                uint8_t pcrs[FWS_ATTEST_PCRS][FWS_SHA256_LEN],
                                fws_errbuf *eb) FWS_MUST_CHECK;

/* Quotes the PCRs in mask (SHA-256 bank) with the nonce as qualifying data and fills ev's
 * quote, signature, AK public area, PCR selection and values, nonce and assurance ("tpm").
 * The caller fills device, ak_cert, chain and log. The TPM's answer is checked before it is
 * returned (signature, nonce, PCR digest). */
fws_err fws_attest_tpm_quote(fws_attest_tpm *t, const uint8_t *nonce, size_t nonce_len,
                             uint32_t mask, fws_attest_evidence *ev, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- attester: a software key (no TPM) ----------------------------------------------------- */

/* The TPMT_PUBLIC fwseal writes for a software P-256 key: sign only (not restricted, not
 * fixedTPM), ECDSA-SHA256. */
fws_err fws_attest_sw_public(const fws_key *pub, uint8_t *tpmt, size_t cap,
                             size_t *len) FWS_MUST_CHECK;

/* Builds the same evidence as a TPM would, signed by signer (a P-256 key in a file or a PKCS#11
 * token): the PCR values are the replay of log, the clock fields come from counters (the
 * caller keeps them: reset_count at each boot), assurance "software", and a copy
 * of log. The caller fills device, ak_cert and chain. */
fws_err fws_attest_sw_quote(const fws_signer *signer, const fws_attest_log *log,
                            const fws_tpm_clock *counters, const uint8_t *nonce, size_t nonce_len,
                            uint32_t mask, fws_attest_evidence *ev, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- policy -------------------------------------------------------------------------------- */

typedef enum fws_attest_reboot_action {
    FWS_REBOOT_FLAG = 0,       /* report it, lower the trust score */
    FWS_REBOOT_DENY = 1,       /* no update until the next clean attestation */
    FWS_REBOOT_QUARANTINE = 2, /* quarantine the device */
} fws_attest_reboot_action;

typedef struct fws_attest_stage_policy {
    char name[FWS_ATTEST_STAGE_MAX + 1];
    unsigned pcr;
    /* Reference values: release records of this product in the ledger ("" when none) and/or
     * literal digests. */
    char ledger_product[FWS_ATTEST_PRODUCT_MAX + 1];
    size_t n_digests;
    uint8_t digests[FWS_ATTEST_POLICY_DIGESTS][FWS_SHA256_LEN];
} fws_attest_stage_policy;

typedef struct fws_attest_policy {
    int64_t max_age;                    /* seconds a passing result stays good for updates */
    fws_attest_assurance min_assurance; /* below: deny */
    fws_attest_reboot_action on_reboot; /* an unexpected reboot or restart */
    unsigned min_score;                 /* trust score below: deny (0: not checked) */
    size_t n_stages;
    fws_attest_stage_policy stages[FWS_ATTEST_STAGES_MAX];
    size_t n_recovery; /* releases a quarantined device may still be offered */
    char recovery_product[FWS_ATTEST_RECOVERY_MAX][FWS_ATTEST_PRODUCT_MAX + 1];
    char recovery_version[FWS_ATTEST_RECOVERY_MAX][FWS_ATTEST_VERSION_MAX + 1];
} fws_attest_policy;

/* Parses a policy document "fwseal-attest-policy/v1" (docs/ATTESTATION.md): every field
 * checked, no unknown field, stage names and PCRs unique. FWS_ERR_FORMAT, FWS_ERR_SCHEMA (eb
 * names the field), FWS_ERR_TOO_BIG. */
fws_err fws_attest_policy_parse(const uint8_t *unverified, size_t len, fws_attest_policy *out,
                                fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_attest_policy_load(const char *path, fws_attest_policy *out,
                               fws_errbuf *eb) FWS_MUST_CHECK;
/* The mask of PCRs the policy's stages use: what the verifier asks the attester to quote. */
uint32_t fws_attest_policy_pcrs(const fws_attest_policy *p);

/* ---- reference values ---------------------------------------------------------------------- */

typedef struct fws_attest_refs fws_attest_refs; /* opaque: (stage, digest, source) triples */

fws_err fws_attest_refs_new(fws_attest_refs **out) FWS_MUST_CHECK;
void fws_attest_refs_free(fws_attest_refs *r); /* NULL is fine */
/* Adds one known-good digest for a stage; source says where it came from ("policy",
 * "ledger 17 hub/1.2.0"). A duplicate (stage, digest) is kept once. FWS_ERR_TOO_BIG past
 * FWS_ATTEST_REFS_MAX. */
fws_err fws_attest_refs_add(fws_attest_refs *r, const char *stage,
                            const uint8_t digest[FWS_SHA256_LEN],
                            const char *source) FWS_MUST_CHECK;
/* Adds the policy's literal digests. */
fws_err fws_attest_refs_add_policy(fws_attest_refs *r, const fws_attest_policy *p) FWS_MUST_CHECK;
/* Adds, for every stage of the policy with a ledger product, the image SHA-256 of each release
 * record of that product whose hardware list names model and that no later revoke record
 * withdrew. The log in ledger_dir is read through its tiles: its checkpoint must verify with
 * log_key (NULL: the key log.json names, which only guards against corruption), and every
 * record used must be proven included in that checkpoint; records past it are not used.
 * *added (optional) receives how many digests were added. */
fws_err fws_attest_refs_add_ledger(fws_attest_refs *r, const fws_attest_policy *p,
                                   const char *ledger_dir, const fws_note_vkey *log_key,
                                   const char *model, size_t *added, fws_errbuf *eb) FWS_MUST_CHECK;
size_t fws_attest_refs_count(const fws_attest_refs *r);
/* The source of a known digest for stage, NULL when the digest is not known for it. */
const char *fws_attest_refs_find(const fws_attest_refs *r, const char *stage,
                                 const uint8_t digest[FWS_SHA256_LEN]);

/* ---- trust anchors for AK certificates ------------------------------------------------------- */

typedef struct fws_attest_anchors fws_attest_anchors; /* opaque (an X.509 store) */

fws_err fws_attest_anchors_new(fws_attest_anchors **out) FWS_MUST_CHECK;
void fws_attest_anchors_free(fws_attest_anchors *a); /* NULL is fine */
/* Adds the certificates of a PEM (one or more) or DER blob: trusted roots (trusted = 1) or
 * intermediates that chains may use (trusted = 0). */
fws_err fws_attest_anchors_add(fws_attest_anchors *a, const uint8_t *data, size_t len, int trusted,
                               fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_attest_anchors_add_file(fws_attest_anchors *a, const char *path, int trusted,
                                    fws_errbuf *eb) FWS_MUST_CHECK;
/* Adds a CRL (PEM or DER); once any CRL is present, every certificate of a chain must be
 * covered by one. */
fws_err fws_attest_anchors_add_crl(fws_attest_anchors *a, const uint8_t *data, size_t len,
                                   fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- verifier ------------------------------------------------------------------------------ */

enum {
    FWS_ATTEST_FLAG_REBOOT = 1u << 0,  /* reset count went up with no reboot expected */
    FWS_ATTEST_FLAG_RESTART = 1u << 1, /* restart count went up with no reboot expected */
};

typedef struct fws_attest_stage_result {
    char name[FWS_ATTEST_STAGE_MAX + 1];
    unsigned pcr;
    int measured; /* 1 when the log holds this stage */
    uint8_t digest[FWS_SHA256_LEN];
    int matched;                        /* 1 when digest is a reference value */
    char source[FWS_ATTEST_SOURCE_LEN]; /* the matching reference's source, or "" */
} fws_attest_stage_result;

typedef struct fws_attest_reason {
    fws_err code;
    char text[FWS_ATTEST_REASON_LEN];
} fws_attest_reason;

typedef struct fws_attest_result {
    int pass;
    fws_attest_assurance assurance; /* as established: tpm only with a certified TPM AK */
    char device[FWS_ATTEST_DEVICE_MAX + 1];
    int64_t time; /* when it was verified (the request's now) */
    fws_tpm_clock clock;
    unsigned flags; /* FWS_ATTEST_FLAG_* */
    uint8_t ak_name[FWS_ATTEST_NAME_LEN];
    uint8_t evidence_sha256[FWS_SHA256_LEN]; /* of the TPMS_ATTEST bytes */
    size_t n_stages;
    fws_attest_stage_result stages[FWS_ATTEST_STAGES_MAX];
    size_t n_reasons; /* failures first-found first; flags add a reason too */
    fws_attest_reason reasons[FWS_ATTEST_REASONS_MAX];
} fws_attest_result;

typedef struct fws_attest_verify_req {
    const fws_attest_evidence *evidence; /* decoded, unverified */
    const uint8_t *nonce;                /* the nonce this verifier issued for this request */
    size_t nonce_len;
    const fws_attest_policy *policy;
    const fws_attest_refs *refs;       /* reference values for the device's model */
    const fws_attest_anchors *anchors; /* roots (and intermediates) of the device CA */
    const char *device;                /* expected device (the AK certificate's CN), or NULL */
    const fws_tpm_clock *last;         /* counters of the device's last passing result, or NULL */
    int reboot_expected;               /* an update or a reboot was ordered since then */
    int64_t now;                       /* Unix seconds: certificate validity and result time */
} fws_attest_verify_req;

/* Judges evidence. Checks, every failure recorded as a reason: the quote parses (a quote, the
 * TPM magic), its extraData and the evidence nonce equal req->nonce (constant time), the AK
 * public area parses and its key is the AK certificate's, the certificate chains to a trusted
 * root at now (strict X.509, CRLs when given) and names the expected device, the signature
 * over the quote verifies, the quoted selection is the evidence's and covers every stage's
 * PCR, the PCR values hash to the quoted digest, the event log replays to those values and
 * explains every selected PCR, each stage is measured exactly once into its PCR with a digest
 * among the reference values, no unknown stage is measured, the counters did not go back
 * (reset count, or clock within one reset), and an increase of either without a reboot
 * expected sets a flag. Assurance "tpm" requires the evidence to claim it, a restricted
 * fixedTPM signing key and an AK certificate with the TCG AIK purpose (2.23.133.8.3); a
 * software claim gives "software". *res is always written: it is the report. Returns FWS_OK
 * when the evidence passed, else the code of the first reason (a verification error), or
 * FWS_ERR_ARG for a request missing a part. */
fws_err fws_attest_verify(const fws_attest_verify_req *req, fws_attest_result *res,
                          fws_errbuf *eb) FWS_MUST_CHECK;

/* The attestation report as JSON "fwseal-attest-report/v1" (new reference). */
fws_err fws_attest_report_json(const fws_attest_result *res, json_t **out) FWS_MUST_CHECK;

/* The ledger record for a failed result: a quarantine record (action "begin") whose reason
 * lists the result's reasons (validated with fws_record_validate; *record is malloc'd
 * canonical JSON). time_rfc3339 is the record time ("2026-01-02T03:04:05Z"). FWS_ERR_STATE for a
 * passing result. */
fws_err fws_attest_quarantine_record(const fws_attest_result *res, const char *time_rfc3339,
                                     char **record, size_t *len, fws_errbuf *eb) FWS_MUST_CHECK;

/* The ledger record of any result: an `attestation` record (device, result pass|fail,
 * assurance, the evidence's SHA-256 and, for a failure, the first reason), validated with
 * fws_record_validate; *record is malloc'd canonical JSON. FWS_ERR_STATE when the result names
 * no device or has no assurance level. */
fws_err fws_attest_ledger_record(const fws_attest_result *res, const char *time_rfc3339,
                                 char **record, size_t *len, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- relying party: gating updates ----------------------------------------------------------- */

typedef enum fws_attest_action {
    FWS_ATTEST_ALLOW = 1,      /* updates may be assigned */
    FWS_ATTEST_DENY = 2,       /* no update now (stale, missing or weak attestation) */
    FWS_ATTEST_QUARANTINE = 3, /* quarantine: offer only recovery releases, raise an alert */
} fws_attest_action;
const char *fws_attest_action_name(fws_attest_action a); /* "allow", "deny", "quarantine" */

typedef struct fws_attest_decision {
    fws_attest_action action;
    size_t n_reasons;
    char reasons[FWS_ATTEST_REASONS_MAX][FWS_ATTEST_REASON_LEN];
} fws_attest_decision;

/* Decides whether a device may be assigned an update: last is its latest attestation result
 * (NULL: never attested), trust_score its score (negative: not computed). Quarantine for a
 * failed result, or for a flagged one when policy says so; deny for no result, a result older
 * than max_age (or from the future), assurance below the minimum, a flag under "deny", or a
 * score below min_score; else allow. Every reason that applies is listed. */
void fws_attest_decide(const fws_attest_policy *p, const fws_attest_result *last, int trust_score,
                       int64_t now, fws_attest_decision *out);

/* 1 when a release may be offered under a decision: any release on allow, only the policy's
 * recovery releases on quarantine, none on deny. */
int fws_attest_may_offer(const fws_attest_decision *d, const fws_attest_policy *p,
                         const char *product, const char *version);

/* ---- trust score ------------------------------------------------------------------------------
 */

typedef enum fws_attest_cert_state {
    FWS_TRUST_CERT_UNKNOWN = 0,
    FWS_TRUST_CERT_VALID = 1,
    FWS_TRUST_CERT_EXPIRING = 2, /* valid, but past two thirds of its lifetime */
    FWS_TRUST_CERT_EXPIRED = 3,
    FWS_TRUST_CERT_REVOKED = 4,
} fws_attest_cert_state;

typedef struct fws_attest_trust_input {
    const fws_attest_result *last; /* latest result, or NULL */
    int64_t now;
    int64_t max_age; /* freshness horizon (the policy's max_age; 0 means one day) */
    fws_attest_cert_state cert;
    const char *provision_record; /* the device's provision record (JSON), or NULL */
    size_t provision_len;
    int batch_flagged;     /* the device's batch has been flagged */
    unsigned history_pass; /* past results, the latest excluded */
    unsigned history_fail;
    unsigned history_flagged; /* results that carried a flag */
} fws_attest_trust_input;

#define FWS_TRUST_FACTORS 6
typedef struct fws_attest_trust_factor {
    const char *name; /* "attestation", "assurance", "certificate", "provisioning", "batch",
                         "history" */
    int points;
    int max;
    char detail[FWS_ATTEST_REASON_LEN];
} fws_attest_trust_factor;

typedef struct fws_attest_trust {
    int score; /* 0..100, the sum of the factors */
    fws_attest_trust_factor factors[FWS_TRUST_FACTORS];
} fws_attest_trust;

/* Rates a device from 0 to 100 with each factor listed (docs/ATTESTATION.md gives the
 * weights): attestation result and freshness 35, assurance 15, certificate state 15,
 * provisioning record completeness 10, batch status 10, report history 15. */
void fws_attest_trust_score(const fws_attest_trust_input *in, fws_attest_trust *out);
/* {"score": N, "factors": [{"name", "points", "max", "detail"}...]} (new reference). */
fws_err fws_attest_trust_json(const fws_attest_trust *t, json_t **out) FWS_MUST_CHECK;

/* ---- integration: one call each for the server and the agent -------------------------------- */

/* Server: decodes the evidence bytes a device sent and judges them (req->evidence is ignored).
 * Evidence that does not decode is a failed result too, with the decoding error as its reason.
 * Same contract as fws_attest_verify: *res is always written; FWS_OK when it passed. */
fws_err fws_attest_judge(const uint8_t *unverified, size_t len, const fws_attest_verify_req *req,
                         fws_attest_result *res, fws_errbuf *eb) FWS_MUST_CHECK;

/* Server: rebuilds a result from a stored report (fws_attest_report_json) for
 * fws_attest_decide, fws_attest_trust_score and the next verification's req->last: result,
 * device, time, assurance, clock, flags and reasons (stages are not restored). */
fws_err fws_attest_report_parse(const json_t *report, fws_attest_result *out,
                                fws_errbuf *eb) FWS_MUST_CHECK;

/* Agent: what the device needs to answer an attestation request. */
typedef struct fws_attest_device {
    const char *tcti;              /* TPM: a TCTI configuration (NULL: the default) ... */
    const fws_signer *signer;      /* ... or a software key (P-256), when not NULL */
    const fws_tpm_clock *counters; /* software key only: boot counters kept by the agent */
    const char *log_path;          /* the measured-boot event log (fws_attest_log_save) */
    const char *device;            /* the device's ID (its AK certificate's CN) */
    const uint8_t *ak_cert;        /* DER */
    size_t ak_cert_len;
    const uint8_t *const *chain; /* intermediates, DER (may be NULL) */
    const size_t *chain_len;
    size_t n_chain;
} fws_attest_device;

/* Agent: answers a verifier's nonce for the PCRs in mask (the policy's, as the server sends
 * them) with canonical evidence JSON (*json malloc'd): opens the TPM, quotes, flushes and
 * closes it (or signs with the software key), adds the log and the certificates. */
fws_err fws_attest_device_quote(const fws_attest_device *d, const uint8_t *nonce, size_t nonce_len,
                                uint32_t mask, char **json, size_t *len,
                                fws_errbuf *eb) FWS_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
