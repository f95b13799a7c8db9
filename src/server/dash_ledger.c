/* Ledger events for the dashboard, each with a C2SP tlog-proof against the log's current
 * signed checkpoint, and the log's key for browsers that verify them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/crypto.h"
#include "fwseal/json.h"
#include "fwseal/merkle.h"
#include "fwseal/repo.h"
#include "server/dash.h"

#define H FWS_MERKLE_HASH_LEN

fws_err dash_prover_open(dash_prover *p, const char *ledger_dir, fws_errbuf *eb)
{
    fws_note note;
    fws_checkpoint cp;
    memset(p, 0, sizeof(*p));
    p->entry = malloc(FWS_ENTRY_MAX);
    p->proof = malloc(FWS_TLOG_PROOF_MAX + 1);
    fws_err err = p->entry && p->proof ? FWS_OK : FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = fws_tile_dir_source(&p->dir, ledger_dir, &p->src, eb);
    if (err == FWS_OK)
        err = fws_tlog_open(&p->src, &fws_sha256_ops, &p->log, eb);
    if (err == FWS_OK)
        err = fws_tlog_fetch_checkpoint(p->log, p->checkpoint, sizeof(p->checkpoint),
                                        &p->checkpoint_len, eb);
    if (err == FWS_OK)
        err = fws_note_parse(p->checkpoint, p->checkpoint_len, &note, eb);
    if (err == FWS_OK)
        err = fws_checkpoint_parse(note.text, note.text_len, &cp, eb);
    if (err != FWS_OK) {
        dash_prover_close(p);
        return fws_errf(eb, err, "%s: the ledger's checkpoint", ledger_dir);
    }
    p->size = cp.size;
    memcpy(p->root, cp.root, H);
    snprintf(p->origin, sizeof(p->origin), "%.*s", (int)cp.origin_len, cp.origin);
    return FWS_OK;
}

void dash_prover_close(dash_prover *p)
{
    fws_tlog_close(p->log);
    free(p->entry);
    free(p->proof);
    memset(p, 0, sizeof(*p));
}

/* The proof of entry index (entry_len bytes in p->entry) into p->proof. */
static fws_err prove(dash_prover *p, uint64_t index, size_t entry_len, size_t *proof_len,
                     fws_errbuf *eb)
{
    uint8_t path[FWS_MERKLE_MAX_PROOF][H], leaf[H];
    size_t n = 0;
    fws_err err =
        fws_tlog_inclusion_proof(p->log, index, p->size, path, FWS_MERKLE_MAX_PROOF, &n, eb);
    if (err == FWS_OK)
        err = fws_merkle_leaf_hash(&fws_sha256_ops, p->entry, entry_len, leaf);
    if (err == FWS_OK &&
        fws_merkle_verify_inclusion(&fws_sha256_ops, index, p->size, leaf,
                                    (const uint8_t(*)[H])path, n, p->root) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_PROOF,
                       "the ledger's tiles do not prove entry %llu under its checkpoint",
                       (unsigned long long)index);
    if (err == FWS_OK)
        err = fws_tlog_proof_create(index, (const uint8_t(*)[H])path, n, p->checkpoint,
                                    p->checkpoint_len, NULL, 0, p->proof, FWS_TLOG_PROOF_MAX + 1,
                                    proof_len, eb);
    return err;
}

fws_err dash_event(dash_prover *p, uint64_t index, json_t **out, fws_errbuf *eb)
{
    size_t len = 0, proof_len = 0;
    fws_ledger_status st;
    uint64_t size = p->size;
    /* An entry past the signed checkpoint is durable but not provable yet: read it from the
     * tree the tiles hold now. */
    if (index >= size && fws_ledger_info(p->dir.root, &st, NULL) == FWS_OK)
        size = st.size;
    if (index >= size)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "entry %llu is not in the ledger",
                        (unsigned long long)index);
    fws_err err = fws_tlog_entry(p->log, index, size, p->entry, FWS_ENTRY_MAX, &len, eb);
    if (err == FWS_OK && index < p->size)
        err = prove(p, index, len, &proof_len, eb);
    if (err != FWS_OK)
        return err;
    json_t *rec = NULL;
    if (fws_json_parse(p->entry, len, 0, NULL, &rec, NULL) != FWS_OK)
        rec = NULL; /* the canonical form writes control characters raw: jansson alone refuses */
    const char *type = json_string_value(json_object_get(rec, "type"));
    const char *when = json_string_value(json_object_get(rec, "time"));
    json_t *j = json_pack("{s:I,s:s,s:s,s:O?,s:s%,s:o}", "index", (json_int_t)index, "type",
                          type ? type : "", "time", when ? when : "", "record", rec, "entry",
                          (const char *)p->entry, len, "proof",
                          index < p->size ? json_stringn(p->proof, proof_len) : json_null());
    json_decref(rec);
    if (j == NULL)
        return fws_errf(eb, FWS_ERR_FORMAT, "ledger entry %llu is not a JSON record",
                        (unsigned long long)index);
    *out = j;
    return FWS_OK;
}

fws_err dash_log_json(const char *ledger_dir, json_t **out, fws_errbuf *eb)
{
    fws_ledger_status st;
    dash_prover p;
    fws_err err = fws_ledger_info(ledger_dir, &st, eb);
    if (err == FWS_OK)
        err = dash_prover_open(&p, ledger_dir, eb);
    if (err != FWS_OK)
        return err;
    json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:s%}", "origin", p.origin, "vkey", st.vkey, "size",
                          (json_int_t)p.size, "durableSize", (json_int_t)st.size, "checkpoint",
                          p.checkpoint, p.checkpoint_len);
    dash_prover_close(&p);
    if (j == NULL)
        return FWS_ERR_NOMEM;
    *out = j;
    return FWS_OK;
}

fws_err dash_ledger_dir(const char *deploy, char *out, size_t cap, fws_errbuf *eb)
{
    fws_deploy *d = NULL;
    char buf[4096];
    fws_err err = fws_deploy_open(deploy, &d, eb);
    if (err != FWS_OK)
        return err;
    const char *dir = fws_deploy_ledger_dir(d);
    if (dir[0] == '/' || realpath(dir, buf) == NULL)
        snprintf(buf, sizeof(buf), "%s", dir[0] == '/' ? dir : "");
    if (buf[0] == '\0')
        snprintf(buf, sizeof(buf), "%s/ledger", deploy);
    fws_deploy_close(d);
    if (strlen(buf) >= cap)
        return fws_errf(eb, FWS_ERR_ARG, "%s: path too long", buf);
    memcpy(out, buf, strlen(buf) + 1);
    return FWS_OK;
}
