/* Device identity: a CA hierarchy per environment, device certificates issued from PKCS#10
 * requests, the inventory of devices and their certificates, revocation and CRLs, and the EST
 * (RFC 7030) request handlers. See docs/PKI.md for the profiles and the file layout.
 *
 * State lives under DEPLOY/pki/:
 *   models               hardware models this deployment issues identities for, one a line
 *   inventory.sqlite     devices, their certificates and refused requests
 *   <env>/ca.json        the environment's CA: key references and certificate digests
 *   <env>/root.crt|.key  the offline root (key: encrypted PKCS#8; move it offline after init)
 *   <env>/intermediate.crt|.key   the online issuing CA
 *   <env>/crl.pem        the issuing CA's CRL, regenerated at every revocation
 *   <env>/root-crl.pem   the root's CRL (empty; issued at init)
 */
#ifndef FWSEAL_PKI_H
#define FWSEAL_PKI_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"
#include "fwseal/crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- environments and limits -------------------------------------------------------------- */

typedef enum fws_pki_env {
    FWS_ENV_DEV = 1,
    FWS_ENV_STAGING = 2,
    FWS_ENV_PROD = 3,
} fws_pki_env;

const char *fws_pki_env_name(fws_pki_env env); /* "dev", "staging", "prod"; NULL if unknown */
fws_err fws_pki_env_parse(const char *name, fws_pki_env *out) FWS_MUST_CHECK;

#define FWS_PKI_CSR_MAX 16384      /* a PKCS#10 request, PEM or DER */
#define FWS_PKI_CERT_MAX 4096      /* a certificate fwseal issues or reads from a peer */
#define FWS_PKI_CHAIN_MAX 4        /* certificates in a client chain */
#define FWS_PKI_FIELD_MAX 64       /* serial, model, batch, BOM version, station, operator */
#define FWS_PKI_ID_LEN 33          /* device ID: 32 lowercase hex digits and a NUL */
#define FWS_PKI_SERIAL_HEX_LEN 33  /* certificate serial: 16 bytes in hex and a NUL */
#define FWS_PKI_HWCHECKS_MAX 4096  /* hardware-check results as canonical JSON */
#define FWS_PKI_FACTORY_DAYS 7300  /* factory identity: 20 years, used only to enroll */
#define FWS_PKI_OPERATIONAL_DAYS 7 /* operational certificates */
#define FWS_PKI_BATCH_MAX 100000   /* rows in one batch file */
#define FWS_PKI_ISSUED_MAX 1024    /* a device certificate fwseal issues */

/* ---- building blocks (no deployment needed) ------------------------------------------------ */

/* Makes a PKCS#10 request signed by s (a file key, a PKCS#11 token, a TPM: any fws_signer of
 * type P-256 or Ed25519). The subject is CN=common_name (and serialNumber=serial when not NULL).
 * *der is malloc'd. Used on the device side and by the bench for keys made in a token. */
fws_err fws_pki_csr_create(const fws_signer *s, const char *common_name, const char *serial,
                           uint8_t **der, size_t *len, fws_errbuf *eb) FWS_MUST_CHECK;

/* A signer over a P-256 key in a PKCS#11 token named by an RFC 7512 URI (the forms, PIN and
 * module rules of include/fwseal/pkcs11.h), for example
 *   pkcs11:token=LABEL;object=KEYLABEL?module-path=/path/module.so&pin-value=PIN
 * With generate_key, a new P-256 key pair is made in the token under that label first
 * (FWS_ERR_EXISTS if taken; the private key is sensitive and not extractable); otherwise the
 * existing key is opened. The key never leaves the token. Free with fws_signer_free. */
fws_err fws_pki_pkcs11_signer(const char *uri, int generate_key, fws_signer *out,
                              fws_errbuf *eb) FWS_MUST_CHECK;

/* A signer over the device's identity key in a TPM 2.0 (tpm2-tss ESAPI): an ECDSA P-256 key
 * created as a primary key of the owner hierarchy from fwseal's fixed template, so the same TPM
 * always derives the same key and no key blob is stored. tcti is a tpm2-tss TCTI configuration
 * ("swtpm:host=127.0.0.1,port=2321", "device:/dev/tpmrm0"; NULL: the library's default). Each
 * signature is verified with the key's public half before it is returned. The handle is
 * flushed by fws_signer_free. */
fws_err fws_pki_tpm_signer(const char *tcti, fws_signer *out, fws_errbuf *eb) FWS_MUST_CHECK;

/* Checks a PKCS#10 request (PEM or DER, at most FWS_PKI_CSR_MAX bytes): well formed, a P-256
 * key, signed with ecdsa-with-SHA256 by that key (proof of possession). On success spki
 * (malloc'd) receives the request's SubjectPublicKeyInfo DER. Errors: FWS_ERR_FORMAT,
 * FWS_ERR_KEY_TYPE (a key or signature algorithm we do not issue for), FWS_ERR_SIGNATURE. */
fws_err fws_pki_csr_check(const uint8_t *unverified, size_t len, uint8_t **spki, size_t *spki_len,
                          fws_errbuf *eb) FWS_MUST_CHECK;

/* Wraps DER certificates into a degenerate PKCS#7 SignedData (certs-only, RFC 7030 4.1.3),
 * DER, malloc'd. */
fws_err fws_pki_certs_only(const uint8_t *const *certs, const size_t *lens, size_t n, uint8_t **der,
                           size_t *len) FWS_MUST_CHECK;

/* Turns PEM ("CERTIFICATE") or DER into DER; *der is malloc'd. */
fws_err fws_pki_cert_der(const uint8_t *unverified, size_t len, uint8_t **der, size_t *der_len,
                         fws_errbuf *eb) FWS_MUST_CHECK;

/* The validity of a DER certificate (no other check): Unix seconds. */
fws_err fws_pki_cert_validity(const uint8_t *der, size_t len, int64_t *not_before,
                              int64_t *not_after) FWS_MUST_CHECK;

/* ---- CA hierarchy -------------------------------------------------------------------------- */

typedef struct fws_pki_ca_opts {
    fws_pki_env env;
    fws_key_type key_type;      /* 0 means FWS_KEY_P256 */
    const fws_passphrase *pp;   /* encrypts the CA key files */
    unsigned root_days;         /* 0 means 25 years */
    unsigned intermediate_days; /* 0 means 10 years */
    const char *organization;   /* O= in the CA names; NULL means "fwseal" */
    /* CA keys in a PKCS#11 token (P-256): <object>-<env>-root and <object>-<env>-intermediate
     * are generated there; ca.json keeps the URIs without any pin-value. NULL: key files. */
    const char *pkcs11_uri;
} fws_pki_ca_opts;

typedef struct fws_pki_ca_info {
    fws_pki_env env;
    char root_sha256[65]; /* SHA-256 of the certificates' DER, hex */
    char intermediate_sha256[65];
    char root_keyid[FWS_KEYID_LEN];
    char intermediate_keyid[FWS_KEYID_LEN];
    int64_t root_not_after, intermediate_not_after;
} fws_pki_ca_info;

/* Creates DEPLOY/pki/<env>/: a fresh root and issuing intermediate, each with its own new key,
 * and an empty CRL for each. FWS_ERR_EXISTS when the environment already has a CA. */
fws_err fws_pki_ca_init(const char *deploy, const fws_pki_ca_opts *o, fws_pki_ca_info *info,
                        fws_errbuf *eb) FWS_MUST_CHECK;

/* Copies root.crt, intermediate.crt and crl.pem of an environment into out_dir (created). */
fws_err fws_pki_ca_export(const char *deploy, fws_pki_env env, const char *out_dir,
                          fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- the deployment's PKI ------------------------------------------------------------------ */

typedef struct fws_pki fws_pki; /* opaque: inventory, models, the environments' CAs */

/* Opens DEPLOY/pki (the inventory is created when missing). Loads the public half of every
 * environment's CA that exists. */
fws_err fws_pki_open(const char *deploy, fws_pki **out, fws_errbuf *eb) FWS_MUST_CHECK;
void fws_pki_close(fws_pki *p); /* NULL is fine; wipes and frees loaded issuer keys */

/* Loads an environment's issuing key (the intermediate's), needed to issue and to sign CRLs.
 * FWS_ERR_NOT_FOUND when that environment has no CA, FWS_ERR_PASSPHRASE. */
fws_err fws_pki_load_issuer(fws_pki *p, fws_pki_env env, const fws_passphrase *pp,
                            fws_errbuf *eb) FWS_MUST_CHECK;
/* 1 when the environment has a CA. */
int fws_pki_has_env(const fws_pki *p, fws_pki_env env);
/* The environment's root and intermediate certificates (DER, borrowed from p). */
fws_err fws_pki_ca_certs(const fws_pki *p, fws_pki_env env, const uint8_t **root, size_t *root_len,
                         const uint8_t **inter, size_t *inter_len) FWS_MUST_CHECK;

/* The ledger the PKI records into: DEPLOY/ledger by default. Records are appended when the
 * directory holds a log; with required set, its absence is an error (FWS_ERR_NOT_FOUND).
 * pp unlocks the log's signing key so that a checkpoint covering new records is published. */
fws_err fws_pki_set_ledger(fws_pki *p, const char *ledger_dir, int required,
                           const fws_passphrase *pp, fws_errbuf *eb) FWS_MUST_CHECK;

/* Models: "a model unknown to the deployment" is refused. Names: [A-Za-z0-9._-], 1-64. */
fws_err fws_pki_model_add(fws_pki *p, const char *model, fws_errbuf *eb) FWS_MUST_CHECK;
int fws_pki_model_known(const fws_pki *p, const char *model);
size_t fws_pki_model_count(const fws_pki *p);
const char *fws_pki_model_at(const fws_pki *p, size_t i);

/* ---- provisioning -------------------------------------------------------------------------- */

typedef struct fws_pki_provision_req {
    fws_pki_env env;
    const char *serial;            /* [A-Za-z0-9.-], 1-64 (a PrintableString) */
    const char *model;             /* a known model */
    const char *batch;             /* lot: [A-Za-z0-9._-], 1-64 */
    const char *bom_version;       /* optional, 1-64 printable ASCII */
    const char *station;           /* optional, as above */
    const char *operator_name;     /* optional, as above */
    json_t *hw_checks;             /* optional object: check name -> result string (borrowed) */
    const uint8_t *unverified_csr; /* PKCS#10, PEM or DER */
    size_t csr_len;
    const char *key_origin; /* "csr", "pkcs11", "tpm" or "file": recorded; NULL means "csr" */
    unsigned validity_days; /* 0 means FWS_PKI_FACTORY_DAYS */
    int reprovision;        /* allow a serial that is already provisioned */
} fws_pki_provision_req;

typedef struct fws_pki_issued {
    char device_id[FWS_PKI_ID_LEN];
    char cert_serial[FWS_PKI_SERIAL_HEX_LEN];
    char cert_sha256[65];
    int64_t not_before, not_after;
    int reprovisioned;
    int in_ledger; /* 1 when a record was appended; ledger_index is its index */
    uint64_t ledger_index;
    size_t der_len;
    uint8_t der[FWS_PKI_ISSUED_MAX];
} fws_pki_issued;

/* Checks everything about a request without issuing: the fields, the model, the serial (not
 * provisioned, unless reprovision), the CSR and its proof of possession, the issuer is loaded.
 * The refusal is also recorded in the inventory's refusal log. */
fws_err fws_pki_provision_check(fws_pki *p, const fws_pki_provision_req *r,
                                fws_errbuf *eb) FWS_MUST_CHECK;

/* Issues the factory identity for one device: checks the request, issues, stores the device and
 * its certificate, appends a provision record (with "reprovision": true for a reprovision).
 * Nothing is stored when any step fails. */
fws_err fws_pki_provision(fws_pki *p, const fws_pki_provision_req *r, fws_pki_issued *out,
                          fws_errbuf *eb) FWS_MUST_CHECK;

/* Progress callback for batches: done of total. */
typedef void (*fws_pki_progress_fn)(void *ctx, size_t done, size_t total);

/* Provisions n devices all or nothing: every request is checked first (duplicates inside the
 * batch included); the first bad one is reported as "row K: ..." (K = rows[i] when rows is not
 * NULL, else i + 1) and nothing is issued. Then all are issued in one inventory transaction and
 * one ledger batch. out receives n results (caller-allocated). */
fws_err fws_pki_provision_batch(fws_pki *p, const fws_pki_provision_req *reqs, const size_t *rows,
                                size_t n, fws_pki_issued *out, fws_pki_progress_fn progress,
                                void *progress_ctx, fws_errbuf *eb) FWS_MUST_CHECK;

/* A batch file (CSV, RFC 4180 without embedded newlines). Header row required; columns:
 * serial, model, batch (required), bom_version, station, operator, csr (a path relative to the
 * CSV file's folder), and any number of hw:<check> columns holding hardware-check results. */
typedef struct fws_pki_batch fws_pki_batch;
fws_err fws_pki_batch_load(const char *csv_path, fws_pki_env env, int reprovision,
                           fws_pki_batch **out, fws_errbuf *eb) FWS_MUST_CHECK;
size_t fws_pki_batch_count(const fws_pki_batch *b);
const fws_pki_provision_req *fws_pki_batch_reqs(const fws_pki_batch *b);
const size_t *fws_pki_batch_rows(const fws_pki_batch *b); /* file line of each request */
void fws_pki_batch_free(fws_pki_batch *b);

/* What fws_pki_write_bundle found to copy. */
typedef struct fws_pki_bundle_report {
    int root_json;   /* DEPLOY/repo/metadata/root.json (TUF root) */
    int ledger_vkey; /* the ledger's verifier key */
    int server_pin;  /* the update server's pinned public key */
    int assignment;  /* the key that signs the server's assignments (assignment.pub) */
    int device_key;  /* device.key was written */
} fws_pki_bundle_report;

/* Writes the device bundle into dir (created): device.crt, chain.pem (intermediate then root),
 * device.key when dev_key is given (a development device whose key was made into a file;
 * encrypted with pp), and the trust anchors that exist: root.json, ledger.vkey, server.pin,
 * assignment.pub.
 * With durable = 0 the files are not fsynced (a batch calls fws_pki_sync_dir once at the end). */
fws_err fws_pki_write_bundle(fws_pki *p, fws_pki_env env, const fws_pki_issued *iss,
                             const fws_key *dev_key, const fws_passphrase *pp, const char *dir,
                             int durable, fws_pki_bundle_report *rep,
                             fws_errbuf *eb) FWS_MUST_CHECK;
/* Flushes the filesystem holding dir (after non-durable bundle writes). */
fws_err fws_pki_sync_dir(const char *dir, fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- inventory ----------------------------------------------------------------------------- */

typedef enum fws_pki_status {
    FWS_DEVICE_PROVISIONED = 1,   /* factory identity issued */
    FWS_DEVICE_ACTIVE = 2,        /* holds an operational certificate from EST */
    FWS_DEVICE_REVOKED = 3,       /* identity revoked: no renewal */
    FWS_DEVICE_DECOMMISSIONED = 4 /* final disposition */
} fws_pki_status;
const char *fws_pki_status_name(fws_pki_status s);

typedef enum fws_pki_cert_kind {
    FWS_CERT_FACTORY = 1,
    FWS_CERT_OPERATIONAL = 2,
} fws_pki_cert_kind;
const char *fws_pki_cert_kind_name(fws_pki_cert_kind k);

typedef enum fws_pki_cert_status {
    FWS_CERT_VALID = 1,
    FWS_CERT_SUPERSEDED = 2, /* replaced by a newer one of the same kind; not revoked */
    FWS_CERT_REVOKED = 3,
} fws_pki_cert_status;
const char *fws_pki_cert_status_name(fws_pki_cert_status s);

typedef struct fws_pki_device {
    char id[FWS_PKI_ID_LEN];
    char serial[FWS_PKI_FIELD_MAX + 1];
    char model[FWS_PKI_FIELD_MAX + 1];
    char batch[FWS_PKI_FIELD_MAX + 1];
    char bom_version[FWS_PKI_FIELD_MAX + 1];
    char station[FWS_PKI_FIELD_MAX + 1];
    char operator_name[FWS_PKI_FIELD_MAX + 1];
    char key_origin[16];
    char hw_checks[FWS_PKI_HWCHECKS_MAX]; /* canonical JSON object, "{}" when none */
    fws_pki_env env;
    fws_pki_status status;
    int64_t provisioned_at, updated_at;
    unsigned reprovisions;
    char reason[32]; /* revocation reason, or "" */
    int64_t expires; /* notAfter of its latest valid certificate; 0 when none is valid */
} fws_pki_device;

typedef struct fws_pki_cert {
    char serial[FWS_PKI_SERIAL_HEX_LEN];
    char device_id[FWS_PKI_ID_LEN];
    char sha256[65];
    char spki_sha256[65]; /* SHA-256 of the certified key's SubjectPublicKeyInfo */
    fws_pki_env env;
    fws_pki_cert_kind kind;
    fws_pki_cert_status status;
    int64_t not_before, not_after, revoked_at;
    int reason; /* RFC 5280 CRLReason when revoked */
} fws_pki_cert;

/* A device by ID or by serial number. FWS_ERR_NOT_FOUND. */
fws_err fws_pki_device_get(fws_pki *p, const char *id_or_serial, fws_pki_device *out,
                           fws_errbuf *eb) FWS_MUST_CHECK;

typedef struct fws_pki_filter {
    fws_pki_env env;       /* 0: any */
    fws_pki_status status; /* 0: any */
    const char *batch;     /* NULL: any */
    const char *model;     /* NULL: any */
} fws_pki_filter;
typedef int (*fws_pki_device_fn)(void *ctx, const fws_pki_device *d); /* non-zero stops */
typedef int (*fws_pki_cert_fn)(void *ctx, const fws_pki_cert *c);
fws_err fws_pki_device_list(fws_pki *p, const fws_pki_filter *f, fws_pki_device_fn fn, void *ctx,
                            fws_errbuf *eb) FWS_MUST_CHECK;
/* A device's certificates, newest first. */
fws_err fws_pki_device_certs(fws_pki *p, const char *device_id, fws_pki_cert_fn fn, void *ctx,
                             fws_errbuf *eb) FWS_MUST_CHECK;

/* A refused request, as kept in the inventory's refusal log. */
typedef struct fws_pki_refusal {
    int64_t time;
    char action[32]; /* "provision", "simpleenroll", ... */
    char env[16];
    char subject[128]; /* serial, device ID or certificate serial the request named */
    char reason[FWS_ERRBUF_SIZE];
} fws_pki_refusal;
typedef int (*fws_pki_refusal_fn)(void *ctx, const fws_pki_refusal *r);
fws_err fws_pki_refusals(fws_pki *p, fws_pki_refusal_fn fn, void *ctx,
                         fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- revocation ---------------------------------------------------------------------------- */

/* RFC 5280 CRLReason values fwseal issues. */
typedef enum fws_pki_reason {
    FWS_REASON_UNSPECIFIED = 0,
    FWS_REASON_KEY_COMPROMISE = 1,
    FWS_REASON_AFFILIATION_CHANGED = 3,
    FWS_REASON_SUPERSEDED = 4,
    FWS_REASON_CESSATION = 5,
    FWS_REASON_PRIVILEGE_WITHDRAWN = 9,
} fws_pki_reason;
/* "keyCompromise" or "key-compromise" (any case) and so on. */
fws_err fws_pki_reason_parse(const char *name, fws_pki_reason *out) FWS_MUST_CHECK;
const char *fws_pki_reason_name(fws_pki_reason r); /* "keyCompromise", ... */

/* Revokes every certificate of the device that is not revoked yet, marks it revoked (no more
 * renewal), appends a revoke record and regenerates its environment's CRL (the issuer must be
 * loaded). FWS_ERR_STATE when it is already revoked or decommissioned. */
fws_err fws_pki_revoke(fws_pki *p, const char *id_or_serial, fws_pki_reason reason,
                       fws_pki_issued *record, fws_errbuf *eb) FWS_MUST_CHECK;
/* Final disposition: revokes what is still valid (cessationOfOperation), marks the device
 * decommissioned and appends a decommission record. */
fws_err fws_pki_decommission(fws_pki *p, const char *id_or_serial, fws_pki_issued *record,
                             fws_errbuf *eb) FWS_MUST_CHECK;
/* Regenerates an environment's CRL from the inventory (issuer loaded). next_days: 0 means 7. */
fws_err fws_pki_crl_update(fws_pki *p, fws_pki_env env, unsigned next_days,
                           fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- identity checks ----------------------------------------------------------------------- */

typedef struct fws_pki_identity {
    char device_id[FWS_PKI_ID_LEN];
    char cert_serial[FWS_PKI_SERIAL_HEX_LEN];
    fws_pki_env env;
    fws_pki_cert_kind kind;
    fws_pki_cert_status cert_status; /* valid, or superseded by a newer one (still usable) */
    fws_pki_status device_status;
    int64_t not_before, not_after;
} fws_pki_identity;

/* Judges a device certificate (DER) presented at time now for environment env: issued by that
 * environment's intermediate (FWS_ERR_KEY_MISMATCH naming the environment that did issue it, if
 * any), inside its validity (FWS_ERR_EXPIRED), known to the inventory with the same digest,
 * neither it nor its device revoked or decommissioned (FWS_ERR_STATE, "revoked ..."). */
fws_err fws_pki_check_identity(fws_pki *p, fws_pki_env env, const uint8_t *unverified_der,
                               size_t len, int64_t now, fws_pki_identity *out,
                               fws_errbuf *eb) FWS_MUST_CHECK;

/* ---- EST (RFC 7030) ------------------------------------------------------------------------ */

typedef enum fws_est_op {
    FWS_EST_CACERTS = 1,
    FWS_EST_SIMPLEENROLL = 2,
    FWS_EST_SIMPLEREENROLL = 3,
} fws_est_op;

/* Maps a request path to an operation: /.well-known/est/<op> or /.well-known/est/<env>/<op>
 * (the environment as the RFC 7030 CA label; env receives 0 when there is no label).
 * FWS_ERR_NOT_FOUND for any other path. */
fws_err fws_est_parse_path(const char *path, fws_est_op *op, fws_pki_env *env) FWS_MUST_CHECK;

typedef struct fws_est_response {
    int status;                            /* HTTP status: 200, 400, 401, 403, 404, 500 */
    const char *content_type;              /* static string */
    const char *content_transfer_encoding; /* "base64" for PKCS#7 bodies, else NULL */
    uint8_t *body; /* malloc'd: base64 PKCS#7 certs-only, or one line of text */
    size_t body_len;
    fws_err result; /* FWS_OK, or why the request was refused */
} fws_est_response;

/* Handles one EST request for environment env. body is the request body (simpleenroll and
 * simplereenroll: a base64 PKCS#10, "application/pkcs10"); client_chain[0] is the client's
 * TLS certificate (DER) as the TLS layer authenticated it, the rest optional. simpleenroll needs
 * a factory identity, simplereenroll a current operational certificate of the same device: both
 * are judged by fws_pki_check_identity. Refusals are recorded in the refusal log, issued
 * operational certificates in the inventory. Returns FWS_OK when out holds a response (check
 * out->result), an error only when no response could be made. */
fws_err fws_est_handle(fws_pki *p, fws_pki_env env, fws_est_op op, const uint8_t *unverified_body,
                       size_t body_len, const uint8_t *const *client_chain,
                       const size_t *client_chain_lens, size_t chain_n, int64_t now,
                       fws_est_response *out) FWS_MUST_CHECK;
void fws_est_response_free(fws_est_response *r); /* NULL is fine */

/* Operational validity (days) of certificates issued over EST: 0 means
 * FWS_PKI_OPERATIONAL_DAYS. */
void fws_pki_set_operational_days(fws_pki *p, unsigned days);

/* ---- EST client (HTTP) ------------------------------------------------------------------- */

typedef struct fws_est_client {
    const char *server; /* https://host[:port] (http only for tests on loopback) */
    const char *label;  /* CA label (the environment), or NULL */
    const char *cert;   /* the client certificate, PEM file (NULL for cacerts) */
    const char *key;    /* its private key, PEM file (encrypted PKCS#8 unlocked by pp) */
    const fws_passphrase *pp;
    const char *ca_file; /* CA certificates that verify the server, or NULL */
    const char *pin;     /* the server's pinned key, "sha256//BASE64", or NULL */
    unsigned timeout_ms; /* 0 means 30000 */
} fws_est_client;

#define FWS_EST_RESPONSE_MAX (256u * 1024)

/* Runs one EST operation against a server. The server must be pinned or verified (ca_file):
 * with only a pin, the pin alone authenticates it. simpleenroll and simplereenroll send csr
 * (DER) base64-encoded as application/pkcs10 and authenticate with cert and key. On success the
 * response's certificates (DER, each malloc'd) fill certs[0..n-1], at most cap. Errors:
 * FWS_ERR_IO (connection, TLS, pin mismatch: eb says which), FWS_ERR_STATE (the server refused:
 * eb holds its reason), FWS_ERR_FORMAT (a response that is not a base64 certs-only PKCS#7). */
fws_err fws_est_request(const fws_est_client *c, fws_est_op op, const uint8_t *csr, size_t csr_len,
                        uint8_t **certs, size_t *lens, size_t cap, size_t *n,
                        fws_errbuf *eb) FWS_MUST_CHECK;

/* SPKI pin of a PEM or DER certificate or public key file, in curl's form
 * "sha256//BASE64" (FWS_PKI_PIN_LEN bytes with the NUL). */
#define FWS_PKI_PIN_LEN 54
fws_err fws_pki_pin_of_cert(const uint8_t *der, size_t len,
                            char pin[FWS_PKI_PIN_LEN]) FWS_MUST_CHECK;

/* When a client should renew a certificate valid from not_before to not_after: at two thirds
 * of its lifetime. */
int64_t fws_est_renew_at(int64_t not_before, int64_t not_after);

#ifdef __cplusplus
}
#endif
#endif
