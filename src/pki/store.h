/* The inventory store: the small interface the PKI keeps its devices, certificates, refusals
 * and CRL numbers behind. store_sqlite.c implements it on an SQLite file; a shared store (the
 * deployment's, on PostgreSQL) can implement the same functions later. Internal to src/pki. */
#ifndef FWSEAL_PKI_STORE_H
#define FWSEAL_PKI_STORE_H

#include "fwseal/pki.h"

typedef struct pki_store pki_store;

fws_err pki_store_open(const char *path, pki_store **out, fws_errbuf *eb);
void pki_store_close(pki_store *s);

/* One transaction at a time; everything between begin and commit is all or nothing. */
fws_err pki_store_begin(pki_store *s, fws_errbuf *eb);
fws_err pki_store_commit(pki_store *s, fws_errbuf *eb);
void pki_store_rollback(pki_store *s);

/* By device ID, or else by serial number. FWS_ERR_NOT_FOUND. */
fws_err pki_store_device_get(pki_store *s, const char *id_or_serial, fws_pki_device *out,
                             fws_errbuf *eb);
/* Inserts the device, or replaces the row with the same ID. */
fws_err pki_store_device_put(pki_store *s, const fws_pki_device *d, fws_errbuf *eb);
fws_err pki_store_device_list(pki_store *s, const fws_pki_filter *f, fws_pki_device_fn fn,
                              void *ctx, fws_errbuf *eb);

fws_err pki_store_cert_put(pki_store *s, const fws_pki_cert *c, const uint8_t *der, size_t len,
                           fws_errbuf *eb);
/* Another device (not device_id) holding a certificate for the key whose SPKI has this SHA-256
 * (hex): FWS_OK with its ID, or FWS_ERR_NOT_FOUND. */
fws_err pki_store_key_owner(pki_store *s, const char *spki_sha256, const char *device_id,
                            char owner[FWS_PKI_ID_LEN], fws_errbuf *eb);
/* By certificate serial (hex). FWS_ERR_NOT_FOUND. */
fws_err pki_store_cert_get(pki_store *s, const char *serial, fws_pki_cert *out, fws_errbuf *eb);
fws_err pki_store_cert_list(pki_store *s, const char *device_id, fws_pki_cert_fn fn, void *ctx,
                            fws_errbuf *eb);
/* Marks the device's valid certificates of one kind superseded (kind 0: every kind). */
fws_err pki_store_certs_supersede(pki_store *s, const char *device_id, fws_pki_cert_kind kind,
                                  fws_errbuf *eb);
/* Revokes every certificate of the device not revoked yet; *count receives how many. */
fws_err pki_store_certs_revoke(pki_store *s, const char *device_id, int reason, int64_t when,
                               size_t *count, fws_errbuf *eb);
/* Revoked certificates of an environment that have not expired at now. */
fws_err pki_store_revoked(pki_store *s, fws_pki_env env, int64_t now, fws_pki_cert_fn fn, void *ctx,
                          fws_errbuf *eb);

fws_err pki_store_refusal_add(pki_store *s, const fws_pki_refusal *r, fws_errbuf *eb);
fws_err pki_store_refusals(pki_store *s, fws_pki_refusal_fn fn, void *ctx, fws_errbuf *eb);

/* The next CRL number of an environment (1, 2, ...), stored. */
fws_err pki_store_crl_number(pki_store *s, fws_pki_env env, uint64_t *out, fws_errbuf *eb);

#endif
