/* Internals shared by the PKI module's files. Nothing outside src/pki includes this. */
#ifndef FWSEAL_PKI_INTERNAL_H
#define FWSEAL_PKI_INTERNAL_H

#include <limits.h>
#include <openssl/x509.h>
#include "fwseal/pki.h"
#include "fwseal/json.h"
#include "fwseal/ledger.h"
#include "pki/der.h"
#include "pki/store.h"

#define PKI_ENV_COUNT 4 /* indexes 1..3 are used */
#define PKI_NAME_MAX 512
#define PKI_SKI_LEN 20
#define PKI_SERIAL_LEN 16
#define PKI_MODELS_MAX 4096

/* One environment's CA as loaded from DEPLOY/pki/<env>/. */
typedef struct pki_env_ca {
    int present;
    uint8_t *root_der, *inter_der;
    size_t root_len, inter_len;
    X509 *root, *inter;
    uint8_t inter_name[PKI_NAME_MAX]; /* the intermediate's subject: device certs' issuer */
    size_t inter_name_len;
    uint8_t inter_ski[PKI_SKI_LEN];
    int has_issuer;
    fws_signer issuer;
} pki_env_ca;

/* Trust anchors copied into every bundle, read once per handle (bundle.c). */
typedef struct pki_anchors {
    int loaded;
    uint8_t *root_json, *vkey, *pin, *assignment;
    size_t root_json_len, vkey_len, pin_len, assignment_len;
    /* Batches: files identical in every bundle are written once here and hard-linked. */
    char shared[PATH_MAX];
    int shared_env[PKI_ENV_COUNT];
} pki_anchors;
void pki_anchors_free(pki_anchors *a);

struct fws_pki {
    char deploy[PATH_MAX];
    char dir[PATH_MAX]; /* DEPLOY/pki */
    pki_store *store;
    char **models;
    size_t n_models;
    pki_env_ca ca[PKI_ENV_COUNT];
    fws_ledger *ledger;
    char ledger_dir[PATH_MAX];
    int has_ledger_signer;
    fws_signer ledger_signer;
    unsigned operational_days;
    pki_anchors anchors;
};

/* ---- certificates (cert.c) ---------------------------------------------------------------- */

typedef enum pki_profile {
    PKI_PROFILE_ROOT = 1,
    PKI_PROFILE_INTERMEDIATE,
    PKI_PROFILE_DEVICE,
} pki_profile;

typedef struct pki_cert_spec {
    pki_profile profile;
    const uint8_t *issuer_name;
    size_t issuer_name_len;
    const uint8_t *subject_name;
    size_t subject_name_len;
    const uint8_t *spki;
    size_t spki_len;
    const uint8_t *aki; /* issuer's key identifier (PKI_SKI_LEN bytes) or NULL */
    uint8_t serial[PKI_SERIAL_LEN];
    int64_t not_before, not_after;
    const char *san_uri; /* devices */
} pki_cert_spec;

/* An RDN attribute for pki_name. */
typedef struct pki_attr {
    const char *oid; /* content octets */
    size_t oid_len;
    uint8_t tag; /* DER_UTF8_STRING or DER_PRINTABLE_STRING */
    const char *value;
} pki_attr;

extern const char pki_oid_cn[3], pki_oid_serial_number[3], pki_oid_org[3], pki_oid_ou[3];
#define PKI_ATTR(oid, tag, value)                                                                  \
    {                                                                                              \
        (oid), sizeof(oid), (tag), (value)                                                         \
    }

/* A Name (one attribute per RDN, in order) into out. */
fws_err pki_name(const pki_attr *attrs, size_t n, uint8_t *out, size_t cap, size_t *len);
/* The key identifier of an SPKI: the first 20 bytes of SHA-256 of its subjectPublicKey bits
 * (RFC 7093 method 1). */
fws_err pki_ski(const uint8_t *spki, size_t len, uint8_t out[PKI_SKI_LEN]);
/* AlgorithmIdentifier of the signature a signer makes. */
void pki_sig_alg(der_w *w, fws_key_type type);
/* Signs tbs with s and writes SEQUENCE { tbs, alg, BIT STRING sig } into out. */
fws_err pki_sign_wrap(const fws_signer *s, const uint8_t *tbs, size_t tbs_len, uint8_t *out,
                      size_t cap, size_t *len);
/* Builds and signs a certificate. */
fws_err pki_cert_issue(const pki_cert_spec *spec, const fws_signer *s, uint8_t *out, size_t cap,
                       size_t *len, fws_errbuf *eb);
/* A fresh positive 16-byte serial. */
fws_err pki_serial_new(uint8_t serial[PKI_SERIAL_LEN]);

/* ---- CRL (crl.c) -------------------------------------------------------------------------- */

typedef struct pki_crl_entry {
    uint8_t serial[PKI_SERIAL_LEN];
    int64_t revoked_at;
    int reason;
} pki_crl_entry;

/* A v2 CRL (DER, malloc'd) signed by s for issuer. */
fws_err pki_crl_build(const fws_signer *s, const uint8_t *issuer_name, size_t issuer_name_len,
                      const uint8_t aki[PKI_SKI_LEN], uint64_t number, int64_t this_update,
                      int64_t next_update, const pki_crl_entry *entries, size_t n, uint8_t **der,
                      size_t *len, fws_errbuf *eb);
/* PEM armour (malloc'd, NUL-terminated). */
fws_err pki_pem(const char *label, const uint8_t *der, size_t len, char **pem, size_t *pem_len);

/* ---- device certificates (provision.c) ---- */

typedef struct pki_device_id {
    const char *id, *serial, *model;
} pki_device_id;

/* Issues a device certificate (subject OU=model, serialNumber, CN=id; SAN urn:fwseal:device:id)
 * for spki, valid days from now (never past the issuer), signed by env's loaded issuer. Fills
 * out's certificate fields and device_id. */
fws_err pki_issue_device(fws_pki *p, fws_pki_env env, const pki_device_id *dev, const uint8_t *spki,
                         size_t spki_len, unsigned days, int64_t now, fws_pki_issued *out,
                         fws_errbuf *eb);

/* A PKCS#11 URI with suffix appended to its object= label and, with strip_pin, without its
 * pin-value (for storing). */
fws_err pki_p11_uri_derive(const char *uri, const char *suffix, int strip_pin, char *out,
                           size_t cap);

/* FWS_ERR_EXISTS when another device than device_id already has a certificate for this key
 * (unique key material for every unit); spki_sha256 receives the key's digest. */
fws_err pki_key_unique(fws_pki *p, const uint8_t *spki, size_t len, const char *device_id,
                       char spki_sha256[65], fws_errbuf *eb);

/* Splits one CSV line (NUL-terminated, no newline) into at most cap fields in place, undoing
 * RFC 4180 quoting. FWS_ERR_FORMAT with eb for bad quoting or too many fields. */
fws_err pki_csv_split(char *line, char **fields, size_t cap, size_t *n, fws_errbuf *eb);

/* ---- the rest ------------------------------------------------------------------------------ */

/* Field syntax checks: FWS_ERR_ARG with eb naming the field. */
fws_err pki_check_field(const char *name, const char *value, int required, const char *charset,
                        fws_errbuf *eb);
#define PKI_CHARSET_SERIAL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-"
#define PKI_CHARSET_NAME "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
#define PKI_CHARSET_VERSION "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+~-"
#define PKI_BACKDATE 300 /* certificates start a little in the past: clocks differ */
#define PKI_DAY 86400

/* DEPLOY/pki/<env>/<file> into buf. */
fws_err pki_env_path(const fws_pki *p, fws_pki_env env, const char *file, char *buf, size_t cap);
/* Loads an environment's CA certificates (public half). */
fws_err pki_ca_load(fws_pki *p, fws_pki_env env, fws_errbuf *eb);
void pki_ca_unload(pki_env_ca *ca);
/* The first occurrence of a string in bytes, or NULL. */
const uint8_t *pki_find(const uint8_t *hay, size_t len, const char *needle);
/* Parses DER into an OpenSSL certificate (every byte). */
fws_err pki_x509_parse(const uint8_t *der, size_t len, X509 **out);
/* notBefore and notAfter in Unix seconds. */
fws_err pki_x509_validity(const X509 *x, int64_t *not_before, int64_t *not_after);

/* Records a refused request in the refusal log (best effort: a failure to record is reported
 * on nothing; the refusal itself is what the caller returns). */
void pki_refusal(fws_pki *p, const char *action, fws_pki_env env, const char *subject,
                 const char *reason);

/* Appends records to the deployment's ledger (when one is set) and publishes a checkpoint when
 * a signer is there. indexes may be NULL. With no ledger, *appended = 0. */
fws_err pki_ledger_append(fws_pki *p, char *const *records, const size_t *lens, size_t n,
                          uint64_t *indexes, int *appended, fws_errbuf *eb);

/* Canonical JSON records (record.c). */
fws_err pki_record_provision(const fws_pki_provision_req *r, const fws_pki_issued *iss,
                             int64_t when, char **text, size_t *len);
/* type "revoke" (subject device) or "decommission". */
fws_err pki_record_device_event(const char *type, const char *device_id, const char *reason,
                                int64_t when, char **text, size_t *len);

/* RFC 3339 UTC time. */
void pki_time_rfc3339(int64_t t, char out[32]);

/* Lowercase hex SHA-256 of data. */
void pki_sha256_hex(const uint8_t *data, size_t len, char out[65]);

#endif
