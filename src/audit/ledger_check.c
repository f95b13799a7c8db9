/* The ledger phase (continued): which key, the signed checkpoint, witnesses, the checkpoint of
 * the previous audit, and the tile audit running beside the entry scan. */
#include <stdlib.h>
#include <string.h>
#include "audit/internal.h"
#include "fwseal/merkle.h"
#include "fwseal/tiles.h"
#include "fwseal/util.h"

typedef struct tile_job {
    const char *dir, *url; /* each thread opens its own source: HTTP handles are not shared */
    uint64_t size;
    uint8_t root[32];
    fws_err err;
    fws_errbuf eb;
    fws_tlog_audit stats;
} tile_job;

/* A tile source over the ledger directory or URL; *h is the HTTP handle to close (or NULL). */
static fws_err open_source(const char *dir, const char *url, fws_tile_dir *td, fws_http_source **h,
                           fws_tile_source *src, fws_errbuf *eb)
{
    *h = NULL;
    if (url != NULL)
        return fws_http_source_open(url, 0, h, src, eb);
    return fws_tile_dir_source(td, dir, src, eb);
}

static void *tile_audit_thread(void *arg)
{
    tile_job *j = arg;
    fws_tlog *t = NULL;
    fws_tile_dir td;
    fws_http_source *h = NULL;
    fws_tile_source src;
    j->err = open_source(j->dir, j->url, &td, &h, &src, &j->eb);
    if (j->err == FWS_OK)
        j->err = fws_tlog_open(&src, &fws_sha256_ops, &t, &j->eb);
    if (j->err == FWS_OK)
        j->err = fws_tlog_audit_tiles(t, j->size, j->root, &j->stats, &j->eb);
    fws_tlog_close(t);
    fws_http_source_close(h);
    return NULL;
}

static fws_err pick_key(au_ctx *c, fws_note_vkey *key, fws_errbuf *eb)
{
    fws_ledger_status st;
    if (c->o->ledger_url != NULL) {
        if (c->o->log_key == NULL)
            return fws_errf(eb, FWS_ERR_ARG, "a ledger read over HTTP needs its key (--vkey)");
        *key = *c->o->log_key;
        return FWS_OK;
    }
    fws_err err = fws_ledger_info(c->ledger_dir, &st, eb);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: not a ledger", c->ledger_dir);
    if (c->o->log_key != NULL) {
        *key = *c->o->log_key;
        char claimed[FWS_NOTE_VKEY_MAX];
        if (fws_note_vkey_format(key, claimed, NULL) == FWS_OK && strcmp(claimed, st.vkey) != 0)
            au_flag(c->r, FWS_AUDIT_RED, "ledger-key", "ledger/log.json",
                    "the ledger claims the key %s, not the pinned one", st.vkey);
        return FWS_OK;
    }
    au_flag(c->r, FWS_AUDIT_NOTE, "ledger-key", "ledger/log.json",
            "ledger key taken from the deployment (pin it with --vkey)");
    return fws_note_vkey_parse(st.vkey, strlen(st.vkey), key, eb);
}

static void state_path(const au_ctx *c, const char *origin, size_t len, char *out, size_t cap)
{
    uint8_t h[32];
    char hex[65];
    fws_sha256(origin, len, h);
    fws_hex_encode(h, 8, hex);
    snprintf(out, cap, "%s/checkpoint-%s", c->o->state_dir, hex);
}

/* The checkpoint the previous audit accepted must be a prefix of today's tree. */
static void check_previous(au_ctx *c, fws_tlog *t, const fws_note_vkey *key,
                           const fws_checkpoint *now)
{
    char path[4600];
    uint8_t *old = NULL;
    size_t len = 0, n = 0;
    fws_note note;
    fws_checkpoint prev;
    fws_errbuf eb = {{0}};
    uint8_t proof[FWS_MERKLE_MAX_PROOF][FWS_MERKLE_HASH_LEN];
    state_path(c, now->origin, now->origin_len, path, sizeof(path));
    if (fws_file_read(path, FWS_NOTE_MAX, &old, &len, &eb) != FWS_OK)
        return; /* first audit of this ledger */
    if (fws_checkpoint_open((const char *)old, len, key, NULL, &note, &prev, &eb) != FWS_OK) {
        au_flag(c->r, FWS_AUDIT_WARN, "audit-state", path, "unreadable: %s", eb.msg);
    } else if (prev.size > now->size) {
        au_flag(c->r, FWS_AUDIT_RED, "ledger-fork", "ledger",
                "the tree shrank from %llu entries (previous audit) to %llu",
                (unsigned long long)prev.size, (unsigned long long)now->size);
    } else if (prev.size == now->size) {
        if (!fws_ct_eq(prev.root, now->root, 32))
            au_flag(c->r, FWS_AUDIT_RED, "ledger-fork", "ledger",
                    "the root at size %llu differs from the one the previous audit saw",
                    (unsigned long long)now->size);
    } else if (prev.size > 0 &&
               (fws_tlog_consistency_proof(t, prev.size, now->size, proof, FWS_MERKLE_MAX_PROOF, &n,
                                           &eb) != FWS_OK ||
                fws_merkle_verify_consistency(&fws_sha256_ops, prev.size, now->size, prev.root,
                                              now->root, (const uint8_t(*)[32])proof,
                                              n) != FWS_OK)) {
        au_flag(c->r, FWS_AUDIT_RED, "ledger-fork", "ledger",
                "size %llu is not consistent with the %llu entries the previous audit saw%s%s",
                (unsigned long long)now->size, (unsigned long long)prev.size, eb.msg[0] ? ": " : "",
                eb.msg);
    }
    free(old);
}

static void check_witnesses(au_ctx *c, const fws_note *note)
{
    size_t valid = 0;
    fws_errbuf eb = {{0}};
    if (c->o->n_witnesses == 0)
        return;
    size_t want = c->o->witness_threshold ? c->o->witness_threshold : c->o->n_witnesses;
    if (fws_cosig_verify_threshold(note, c->o->witnesses, c->o->n_witnesses, want, &valid, &eb) !=
        FWS_OK)
        au_flag(c->r, FWS_AUDIT_RED, "witness-cosignatures", "ledger/checkpoint",
                "%zu of %zu required witness cosignatures verify%s%s", valid, want,
                eb.msg[0] ? ": " : "", eb.msg);
}

/* Saves the checkpoint this audit accepted (only when the ledger raised no red flag). */
fws_err au_save_state(const au_ctx *c, fws_errbuf *eb)
{
    char path[4600];
    fws_checkpoint cp;
    fws_note note;
    if (c->o->state_dir == NULL || c->cp_len == 0)
        return FWS_OK;
    if (fws_note_parse(c->cp_text, c->cp_len, &note, eb) != FWS_OK ||
        fws_checkpoint_parse(note.text, note.text_len, &cp, eb) != FWS_OK)
        return FWS_ERR_FORMAT;
    fws_err err = fws_mkdirs(c->o->state_dir, 0700, eb);
    state_path(c, cp.origin, cp.origin_len, path, sizeof(path));
    return err == FWS_OK ? fws_file_write_atomic(path, c->cp_text, c->cp_len, 0600, 1, eb) : err;
}

fws_err au_phase_ledger(au_ctx *c, fws_errbuf *eb)
{
    fws_tile_dir dir;
    fws_http_source *h = NULL;
    fws_tile_source src;
    fws_tlog *t = NULL;
    fws_note_vkey key;
    fws_note note;
    fws_checkpoint cp;
    fws_errbuf why = {{0}};
    size_t len = 0;
    tile_job job = {.url = c->o->ledger_url};
    pthread_t th;
    fws_err err;
    if (c->o->deploy != NULL)
        au_path(c->ledger_dir, sizeof(c->ledger_dir), c->o->deploy, "ledger");
    job.dir = c->ledger_dir;
    if ((err = pick_key(c, &key, eb)) != FWS_OK)
        return err;
    if ((err = open_source(c->ledger_dir, c->o->ledger_url, &dir, &h, &src, eb)) != FWS_OK ||
        (err = fws_tlog_open(&src, &fws_sha256_ops, &t, eb)) != FWS_OK ||
        (err = fws_tlog_fetch_checkpoint(t, c->cp_text, sizeof(c->cp_text), &len, eb)) != FWS_OK) {
        fws_tlog_close(t);
        fws_http_source_close(h);
        return err;
    }
    if (fws_checkpoint_open(c->cp_text, len, &key, NULL, &note, &cp, &why) != FWS_OK) {
        au_flag(c->r, FWS_AUDIT_RED, "ledger-checkpoint", "ledger/checkpoint", "%s", why.msg);
        fws_tlog_close(t);
        fws_http_source_close(h);
        return FWS_OK; /* nothing in the ledger can be believed: later phases see no records */
    }
    c->cp_len = len;
    snprintf(c->r->origin, sizeof(c->r->origin), "%.*s", (int)cp.origin_len, cp.origin);
    c->ledger.tree_size = c->r->tree_size = cp.size;
    memcpy(c->ledger.root, cp.root, 32);
    check_witnesses(c, &note);
    if (c->o->state_dir != NULL)
        check_previous(c, t, &key, &cp);
    memset(&job.eb, 0, sizeof(job.eb));
    job.size = cp.size;
    memcpy(job.root, cp.root, 32);
    job.err = FWS_OK;
    int threaded = cp.size > 0 && pthread_create(&th, NULL, tile_audit_thread, &job) == 0;
    if (!threaded && cp.size > 0)
        tile_audit_thread(&job);
    err = cp.size > 0 ? au_scan_entries(c, t, cp.size, eb) : FWS_OK;
    if (threaded)
        pthread_join(th, NULL);
    fws_tlog_close(t);
    fws_http_source_close(h);
    if (job.err != FWS_OK) {
        au_flag(c->r, FWS_AUDIT_RED, "ledger-tiles", "ledger",
                "the tiles do not recompute to the signed checkpoint: %s", job.eb.msg);
        c->cp_len = 0;
        au_ledger_free(&c->ledger); /* records from unproven tiles are not used */
        return FWS_OK;
    }
    if (err != FWS_OK) {
        au_flag(c->r, FWS_AUDIT_RED, "ledger-tiles", "ledger", "entries unreadable: %s",
                eb != NULL ? eb->msg : "");
        c->cp_len = 0;
        au_ledger_free(&c->ledger);
        if (eb != NULL)
            fws_errbuf_clear(eb);
    }
    return FWS_OK;
}
