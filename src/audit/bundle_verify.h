/* Verifying an audit bundle: the state shared by bundle_verify.c and bundle_ties.c. */
#ifndef FWSEAL_AUDIT_BUNDLE_VERIFY_H
#define FWSEAL_AUDIT_BUNDLE_VERIFY_H

#include "audit/bundle.h"

typedef struct bv_member {
    fws_tar_member m;
    uint8_t sha256[32];
    const char *tie; /* borrowed from the manifest */
    int ok;          /* its tie was checked */
    int used;        /* the ledger reader or the TUF walk read it */
} bv_member;

/* What a record of the bundle's ledger says, by index (schema 1 records only). */
typedef struct bv_record {
    uint64_t index;
    int type; /* 1 release, 2 provision */
    char product[FWS_RECORD_ID_MAX + 1];
    char version[FWS_RECORD_VERSION_MAX + 1];
    char env[FWS_RECORD_ID_MAX + 1];
    uint8_t image[32], sbom[32], prov[32], cert[32];
    int has_sbom, has_prov;
} bv_record;

typedef struct bv {
    const fws_audit_verify_opts *o;
    fws_audit_bundle_info *info;
    bv_member *m; /* sorted by name */
    size_t n;
    json_t *manifest;
    uint64_t size;
    uint8_t root[32];
    bv_record *rec;
    size_t n_rec, cap_rec;
    fws_tlog *t;
} bv;

bv_member *bv_find(bv *b, const char *name);
const bv_record *bv_record_at(const bv *b, uint64_t index);
/* "record:N" ties: the index N. */
int bv_tie_index(const char *tie, uint64_t *index);

fws_err bv_tuf(bv *b, fws_errbuf *eb);
fws_err bv_attachments(bv *b, fws_errbuf *eb);
fws_err bv_pki(bv *b, fws_errbuf *eb);

#endif
