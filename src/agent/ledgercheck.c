/* The release must be in the ledger: its record, proven included in a signed checkpoint that is
 * consistent with the last checkpoint this device accepted. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "fwseal/merkle.h"
#include "fwseal/note.h"
#include "fwseal/tiles.h"
#include "fwseal/util.h"
#include "agent/ledgerint.h"

static fws_err load_saved(const char *state_dir, char **text, size_t *len)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/checkpoint", state_dir);
    return fws_file_read(path, FWS_NOTE_MAX, (uint8_t **)text, len, NULL);
}

/* old -> new must be an append-only extension. */
static fws_err consistent(fws_tlog *t, const fws_checkpoint *old, const fws_checkpoint *cp,
                          fws_errbuf *eb)
{
    if (cp->size < old->size)
        return fws_errf(eb, FWS_ERR_ROLLBACK,
                        "ledger checkpoint went back from size %" PRIu64 " to %" PRIu64, old->size,
                        cp->size);
    if (old->size == 0)
        return FWS_OK;
    uint8_t proof[FWS_MERKLE_MAX_PROOF][FWS_MERKLE_HASH_LEN];
    size_t n = 0;
    fws_err err = FWS_OK;
    if (cp->size > old->size)
        err =
            fws_tlog_consistency_proof(t, old->size, cp->size, proof, FWS_MERKLE_MAX_PROOF, &n, eb);
    if (err == FWS_OK)
        err = fws_merkle_verify_consistency(&fws_sha256_ops, old->size, cp->size, old->root,
                                            cp->root, proof, n);
    if (err != FWS_OK)
        return fws_errf(eb, FWS_ERR_INCONSISTENT,
                        "forked ledger: the checkpoint of size %" PRIu64 " is not consistent "
                        "with the one of size %" PRIu64 " this device saw",
                        cp->size, old->size);
    return FWS_OK;
}

/* The record at the index the target names must describe this very image. */
static fws_err record_matches(const uint8_t *entry, size_t len, const fws_ledger_want *w,
                              fws_errbuf *eb)
{
    json_t *o = NULL, *img = NULL;
    const char *type = NULL, *product = NULL, *version = NULL, *sha = NULL;
    int64_t size = 0;
    char hex[2 * FWS_SHA256_LEN + 1];
    fws_hex_encode(w->sha256, FWS_SHA256_LEN, hex);
    fws_err err = fws_json_parse(entry, len, FWS_JSON_NO_FLOATS, NULL, &o, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(o, "type", &type, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(o, "product", &product, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(o, "version", &version, eb);
    if (err == FWS_OK)
        err = fws_json_get_object(o, "image", &img, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(img, "sha256", &sha, eb);
    if (err == FWS_OK)
        err = fws_json_get_int(img, "size", &size, eb);
    if (err == FWS_OK && (strcmp(type, "release") != 0 || strcmp(product, w->product) != 0 ||
                          strcmp(version, w->version) != 0 || strcmp(sha, hex) != 0 || size < 0 ||
                          (uint64_t)size != w->length))
        err = fws_errf(eb, FWS_ERR_PROOF,
                       "ledger entry %" PRIu64 " is not the release record of %s %s "
                       "with this image",
                       w->index, w->product, w->version);
    json_decref(o);
    return err;
}

static fws_err included(fws_tlog *t, const fws_checkpoint *cp, const fws_ledger_want *w,
                        fws_errbuf *eb)
{
    if (w->index >= cp->size)
        return fws_errf(eb, FWS_ERR_PROOF,
                        "release %s %s (ledger index %" PRIu64 ") is missing from the ledger "
                        "(size %" PRIu64 ")",
                        w->product, w->version, w->index, cp->size);
    uint8_t *entry = malloc(FWS_ENTRY_MAX);
    uint8_t leaf[FWS_MERKLE_HASH_LEN], proof[FWS_MERKLE_MAX_PROOF][FWS_MERKLE_HASH_LEN];
    size_t len = 0, n = 0;
    fws_err err = entry ? FWS_OK : FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = fws_tlog_entry(t, w->index, cp->size, entry, FWS_ENTRY_MAX, &len, eb);
    if (err == FWS_OK)
        err = fws_merkle_leaf_hash(&fws_sha256_ops, entry, len, leaf);
    if (err == FWS_OK)
        err = fws_tlog_inclusion_proof(t, w->index, cp->size, proof, FWS_MERKLE_MAX_PROOF, &n, eb);
    if (err == FWS_OK && fws_merkle_verify_inclusion(&fws_sha256_ops, w->index, cp->size, leaf,
                                                     proof, n, cp->root) != FWS_OK)
        err =
            fws_errf(eb, FWS_ERR_PROOF,
                     "ledger entry %" PRIu64 " is not included in the signed checkpoint", w->index);
    if (err == FWS_OK)
        err = record_matches(entry, len, w, eb);
    free(entry);
    return err;
}

/* Fetches the log's checkpoint into buf (FWS_NOTE_MAX + 1 bytes) and verifies it. */
static fws_err open_checkpoint(fws_tlog *t, const fws_note_vkey *log_key, char *buf, size_t *len,
                               fws_checkpoint *cp, fws_errbuf *eb)
{
    fws_note note;
    fws_err err = fws_tlog_fetch_checkpoint(t, buf, FWS_NOTE_MAX + 1, len, eb);
    if (err == FWS_OK)
        err = fws_checkpoint_open(buf, *len, log_key, NULL, &note, cp, eb);
    return err;
}

fws_err fws_agent_ledger_verify(const fws_tile_source *src, const fws_note_vkey *log_key,
                                const fws_ledger_want *w, fws_ledger_seen *seen, fws_errbuf *eb)
{
    fws_tlog *t = NULL;
    char *buf = malloc(FWS_NOTE_MAX + 1);
    size_t len = 0;
    fws_checkpoint cp;
    fws_err err = buf ? fws_tlog_open(src, &fws_sha256_ops, &t, eb) : FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = open_checkpoint(t, log_key, buf, &len, &cp, eb);
    if (err == FWS_OK)
        err = included(t, &cp, w, eb);
    if (err == FWS_OK && seen != NULL) {
        seen->size = cp.size;
        memcpy(seen->root, cp.root, sizeof(seen->root));
    }
    fws_tlog_close(t);
    free(buf);
    return err;
}

fws_err fws_agent_ledger_check(const fws_tile_source *src, const fws_note_vkey *log_key,
                               const char *state_dir, const fws_agent_io *io,
                               const fws_ledger_want *w, fws_errbuf *eb)
{
    fws_tlog *t = NULL;
    char *buf = malloc(FWS_NOTE_MAX + 1), *old_text = NULL;
    size_t len = 0, old_len = 0;
    fws_note old_note;
    fws_checkpoint cp, old = {NULL, 0, 0, {0}, NULL, 0};
    fws_err err = buf ? fws_tlog_open(src, &fws_sha256_ops, &t, eb) : FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = open_checkpoint(t, log_key, buf, &len, &cp, eb);
    if (err == FWS_OK && load_saved(state_dir, &old_text, &old_len) == FWS_OK &&
        fws_checkpoint_open(old_text, old_len, log_key, NULL, &old_note, &old, NULL) != FWS_OK)
        old.size = 0; /* a saved checkpoint that no longer verifies (key change) is dropped */
    if (err == FWS_OK)
        err = consistent(t, &old, &cp, eb);
    if (err == FWS_OK)
        err = included(t, &cp, w, eb);
    if (err == FWS_OK && cp.size > old.size) {
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/checkpoint", state_dir);
        err = fws_agent_write_atomic(io, path, buf, len, eb);
    }
    fws_tlog_close(t);
    free(buf);
    free(old_text);
    return err;
}
