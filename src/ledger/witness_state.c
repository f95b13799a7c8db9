/* State shared by the witness and the monitor: per origin, the last checkpoint verified, and
 * the consistency check between it and a new checkpoint. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/crypto.h"
#include "fwseal/util.h"
#include "writer_internal.h"

/* state_dir/<origin with every byte outside [A-Za-z0-9._-] as %XX>.checkpoint */
static fws_err state_path(const char *state_dir, const char *origin, char *out, size_t cap,
                          fws_errbuf *eb)
{
    size_t used = (size_t)snprintf(out, cap, "%s/", state_dir);
    for (const unsigned char *p = (const unsigned char *)origin; *p && used < cap; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-';
        used += (size_t)(plain ? snprintf(out + used, cap - used, "%c", *p)
                               : snprintf(out + used, cap - used, "%%%02X", *p));
    }
    if (used < cap)
        used += (size_t)snprintf(out + used, cap - used, ".checkpoint");
    if (used >= cap)
        return fws_errf(eb, FWS_ERR_ARG, "%s: state path too long", state_dir);
    return FWS_OK;
}

fws_err follow_state_write(const char *state_dir, const char *origin, const char *note, size_t len,
                           fws_errbuf *eb)
{
    char path[PATH_MAX];
    fws_err err = state_path(state_dir, origin, path, sizeof(path), eb);
    if (err == FWS_OK)
        err = fws_mkdirs(state_dir, 0755, eb);
    if (err == FWS_OK)
        err = fws_file_write_atomic(path, note, len, 0644, 1, eb);
    return err;
}

fws_err fws_follow_state_read(const char *state_dir, const char *origin, char *buf, size_t cap,
                              size_t *len, fws_errbuf *eb)
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t n = 0;
    if (state_dir == NULL || origin == NULL || buf == NULL || cap == 0)
        return fws_errf(eb, FWS_ERR_ARG, "no state directory or buffer");
    fws_err err = state_path(state_dir, origin, path, sizeof(path), eb);
    if (err == FWS_OK)
        err = fws_file_read(path, FWS_FOLLOW_STATE_MAX, &data, &n, eb);
    if (err == FWS_OK && n + 1 > cap)
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "%s: larger than the buffer", path);
    if (err == FWS_OK) {
        memcpy(buf, data, n);
        buf[n] = '\0';
        *len = n;
    }
    free(data);
    return err;
}

fws_err follow_state_load(const char *state_dir, const fws_note_vkey *log_key, char *buf,
                          size_t cap, fws_checkpoint *cp, int *have, fws_errbuf *eb)
{
    fws_note note;
    fws_errbuf why = {{0}};
    size_t len = 0;
    fws_err err = fws_follow_state_read(state_dir, log_key->name, buf, cap, &len, &why);
    if (err == FWS_ERR_NOT_FOUND) {
        *have = 0;
        return FWS_OK;
    }
    if (err == FWS_OK)
        err = fws_checkpoint_open(buf, len, log_key, NULL, &note, cp, &why);
    if (err != FWS_OK)
        return fws_errf(eb, err, "state for %s in %s: %s", log_key->name, state_dir, why.msg);
    *have = 1;
    return FWS_OK;
}

fws_err follow_fetch_checkpoint(fws_tlog *t, const fws_note_vkey *log_key, char *buf, size_t cap,
                                fws_note *note, fws_checkpoint *cp, fws_errbuf *eb)
{
    fws_errbuf why = {{0}};
    size_t len = 0;
    fws_err err = fws_tlog_fetch_checkpoint(t, buf, cap, &len, eb);
    if (err != FWS_OK)
        return err;
    err = fws_checkpoint_open(buf, len, log_key, NULL, note, cp, &why);
    if (err == FWS_ERR_KEY_MISMATCH)
        return fws_errf(eb, err, "checkpoint: not signed by the log key %s (%s)", log_key->name,
                        why.msg);
    if (err != FWS_OK)
        return fws_errf(eb, err, "checkpoint: %s", why.msg[0] ? why.msg : fws_strerror(err));
    return FWS_OK;
}

static fws_err diagnose(fws_tlog *t, const fws_checkpoint *old_cp, const fws_checkpoint *new_cp,
                        fws_errbuf *eb)
{
    uint8_t root[FWS_MERKLE_HASH_LEN];
    char a[48], b[48], c[48];
    fws_err err = fws_tlog_root(t, new_cp->size, root, eb);
    if (err != FWS_OK)
        return err;
    wr_b64_hash(new_cp->root, a);
    if (!fws_ct_eq(root, new_cp->root, FWS_MERKLE_HASH_LEN)) {
        wr_b64_hash(root, b);
        return fws_errf(eb, FWS_ERR_INCONSISTENT,
                        "the log's tiles disagree with its checkpoint: at size %llu the tiles "
                        "give root %s, the checkpoint says %s",
                        (unsigned long long)new_cp->size, b, a);
    }
    err = fws_tlog_root(t, old_cp->size, root, eb);
    if (err != FWS_OK)
        return err;
    wr_b64_hash(root, b);
    wr_b64_hash(old_cp->root, c);
    if (fws_ct_eq(root, old_cp->root, FWS_MERKLE_HASH_LEN))
        return fws_errf(eb, FWS_ERR_PROOF,
                        "the consistency proof from size %llu to %llu built from the log's tiles "
                        "does not verify: the tiles are damaged",
                        (unsigned long long)old_cp->size, (unsigned long long)new_cp->size);
    return fws_errf(eb, FWS_ERR_INCONSISTENT,
                    "fork: checkpoint at size %llu has root %s but its tree at size %llu has "
                    "root %s, not the root %s verified before",
                    (unsigned long long)new_cp->size, a, (unsigned long long)old_cp->size, b, c);
}

fws_err follow_check_consistency(fws_tlog *t, const fws_checkpoint *old_cp,
                                 const fws_checkpoint *new_cp, fws_errbuf *eb)
{
    uint8_t proof[FWS_MERKLE_MAX_PROOF][FWS_MERKLE_HASH_LEN];
    char a[48], b[48];
    size_t n = 0;

    if (new_cp->size < old_cp->size)
        return fws_errf(eb, FWS_ERR_ROLLBACK,
                        "checkpoint at size %llu is older than the size %llu verified before",
                        (unsigned long long)new_cp->size, (unsigned long long)old_cp->size);
    if (new_cp->size == old_cp->size) {
        if (fws_ct_eq(new_cp->root, old_cp->root, FWS_MERKLE_HASH_LEN))
            return FWS_OK;
        wr_b64_hash(new_cp->root, a);
        wr_b64_hash(old_cp->root, b);
        return fws_errf(eb, FWS_ERR_INCONSISTENT,
                        "fork: checkpoint at size %llu has root %s but the checkpoint verified "
                        "before at that size has root %s",
                        (unsigned long long)new_cp->size, a, b);
    }
    if (old_cp->size == 0) /* the empty tree is a prefix of every tree */
        return FWS_OK;
    fws_err err = fws_tlog_consistency_proof(t, old_cp->size, new_cp->size, proof,
                                             FWS_MERKLE_MAX_PROOF, &n, eb);
    if (err != FWS_OK)
        return err;
    err = fws_merkle_verify_consistency(&fws_sha256_ops, old_cp->size, new_cp->size, old_cp->root,
                                        new_cp->root, (const uint8_t(*)[FWS_MERKLE_HASH_LEN])proof,
                                        n);
    if (err == FWS_OK)
        return FWS_OK;
    return diagnose(t, old_cp, new_cp, eb);
}
