/* Backups: shared pieces of backup.c, restore.c and seal.c. */
#ifndef FWSEAL_AUDIT_BACKUP_H
#define FWSEAL_AUDIT_BACKUP_H

#include "audit/bundle.h"

#define AU_BACKUP_MANIFEST "BACKUP.json"
#define AU_BACKUP_KEYS "keys.sealed"
#define AU_BACKUP_STORE "store/fwseal.sqlite"
#define AU_BACKUP_PREFIX "deploy/"

/* Seals bytes with a passphrase (AES-256-GCM under an scrypt key); *out is malloc'd. */
fws_err au_seal(const fws_passphrase *pp, const uint8_t *in, size_t len, uint8_t **out,
                size_t *out_len);
/* FWS_ERR_PASSPHRASE for a wrong passphrase or damaged bytes. */
fws_err au_unseal(const fws_passphrase *pp, const uint8_t *in, size_t len, uint8_t **out,
                  size_t *out_len, fws_errbuf *eb);

/* Copies an SQLite database with the online backup API into dest (a new file). */
fws_err au_sqlite_snapshot(const char *src, const char *dest, fws_errbuf *eb);
/* PRAGMA integrity_check. */
fws_err au_sqlite_check(const char *path, fws_errbuf *eb);

#endif
