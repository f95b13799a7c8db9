/* fws_audit_verify: an audit bundle checked with nothing but the ledger's verifier key. The
 * manifest must list exactly the members with their digests; then every member must pass the
 * check its tie names: the checkpoint its signature, tiles the recomputed tree, proofs their
 * inclusion, TUF files the chain walk, attachments and certificates the digest a ledger record
 * gives them, CAs and CRLs the signatures that link them to those certificates. */
#include <stdlib.h>
#include <string.h>
#include "audit/bundle_verify.h"
#include "fwseal/json.h"
#include "fwseal/tlogproof.h"

static int cmp_member(const void *a, const void *b)
{
    return strcmp(((const bv_member *)a)->m.h.name, ((const bv_member *)b)->m.h.name);
}

bv_member *bv_find(bv *b, const char *name)
{
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(b->m[mid].m.h.name, name);
        if (c == 0)
            return &b->m[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const bv_record *bv_record_at(const bv *b, uint64_t index)
{
    size_t lo = 0, hi = b->n_rec;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->rec[mid].index == index)
            return &b->rec[mid];
        if (b->rec[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int bv_tie_index(const char *tie, uint64_t *index)
{
    char *end = NULL;
    if (strncmp(tie, "record:", 7) != 0 || tie[7] < '0' || tie[7] > '9')
        return 0;
    unsigned long long v = strtoull(tie + 7, &end, 10);
    if (*end != '\0' || (tie[7] == '0' && tie[8] != '\0'))
        return 0;
    *index = v;
    return 1;
}

static fws_err read_members(bv *b, const uint8_t *data, size_t len, fws_errbuf *eb)
{
    fws_tar_reader r;
    fws_tar_member m;
    fws_err err;
    size_t cap = 0;
    fws_tar_reader_init(&r, data, len, 0);
    while ((err = fws_tar_next(&r, &m, eb)) == FWS_OK) {
        if (b->n == cap) {
            cap = cap ? cap * 2 : 256;
            bv_member *n = realloc(b->m, cap * sizeof(*n));
            if (n == NULL)
                return FWS_ERR_NOMEM;
            b->m = n;
        }
        memset(&b->m[b->n], 0, sizeof(b->m[0]));
        b->m[b->n].m = m;
        fws_sha256(m.data, (size_t)m.h.size, b->m[b->n].sha256);
        b->n++;
    }
    if (err != FWS_ERR_NOT_FOUND)
        return err;
    if (b->n > 1)
        qsort(b->m, b->n, sizeof(*b->m), cmp_member);
    for (size_t i = 1; i < b->n; i++) {
        if (strcmp(b->m[i - 1].m.h.name, b->m[i].m.h.name) == 0)
            return fws_errf(eb, FWS_ERR_FORMAT, "%s: twice in the bundle", b->m[i].m.h.name);
    }
    return FWS_OK;
}

static fws_err check_entry(bv *b, const char *name, json_t *v, fws_errbuf *eb)
{
    static const char *const keys[] = {"sha256", "size", "tie", NULL};
    const char *hex = NULL, *tie = NULL;
    int64_t size = 0;
    uint8_t d[32];
    bv_member *m = bv_find(b, name);
    if (m == NULL || strcmp(name, AU_MANIFEST) == 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "manifest: %.200s is not in the bundle", name);
    if (fws_json_only_keys(v, keys, eb) != FWS_OK ||
        fws_json_get_string(v, "sha256", &hex, eb) != FWS_OK ||
        fws_json_get_int(v, "size", &size, eb) != FWS_OK ||
        fws_json_get_string(v, "tie", &tie, eb) != FWS_OK || !au_hex32(hex, strlen(hex), d))
        return fws_errf(eb, FWS_ERR_SCHEMA, "manifest: %.200s: bad entry", name);
    if ((uint64_t)size != m->m.h.size || !fws_ct_eq(d, m->sha256, 32))
        return fws_errf(eb, FWS_ERR_DIGEST, "%.200s: its bytes differ from the manifest", name);
    m->tie = tie;
    return FWS_OK;
}

static fws_err check_manifest(bv *b, fws_errbuf *eb)
{
    static const char *const keys[] = {"format", "members", "origin", "treeSize", NULL};
    bv_member *m = bv_find(b, AU_MANIFEST);
    const char *format = NULL, *name;
    json_t *members = NULL, *v;
    int64_t size = 0;
    fws_err err;
    if (m == NULL)
        return fws_errf(eb, FWS_ERR_FORMAT, "no %s in the bundle", AU_MANIFEST);
    m->ok = 1;
    m->tie = "manifest";
    if ((err = fws_json_parse(m->m.data, (size_t)m->m.h.size, FWS_JSON_CANONICAL, NULL,
                              &b->manifest, eb)) != FWS_OK)
        return fws_errf(eb, err, "%s: not canonical JSON", AU_MANIFEST);
    if ((err = fws_json_only_keys(b->manifest, keys, eb)) != FWS_OK ||
        (err = fws_json_get_string(b->manifest, "format", &format, eb)) != FWS_OK ||
        (err = fws_json_get_int(b->manifest, "treeSize", &size, eb)) != FWS_OK ||
        (err = fws_json_get_object(b->manifest, "members", &members, eb)) != FWS_OK)
        return err;
    if (strcmp(format, FWS_AUDIT_BUNDLE_FORMAT) != 0)
        return fws_errf(eb, FWS_ERR_UNSUPPORTED, "bundle format \"%.64s\"", format);
    if (json_object_size(members) + 1 != b->n)
        return fws_errf(eb, FWS_ERR_FORMAT, "the manifest lists %zu members, the bundle has %zu",
                        json_object_size(members), b->n - 1);
    json_object_foreach(members, name, v)
    {
        if ((err = check_entry(b, name, v, eb)) != FWS_OK)
            return err;
    }
    b->size = (uint64_t)size;
    b->info->members = b->n;
    return FWS_OK;
}

static fws_err checkpoint(bv *b, fws_errbuf *eb)
{
    fws_note note;
    fws_checkpoint cp;
    const char *origin = NULL;
    size_t valid = 0;
    bv_member *m = bv_find(b, "ledger/checkpoint");
    fws_err err;
    if (m == NULL || strcmp(m->tie, "checkpoint") != 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "no ledger/checkpoint in the bundle");
    if ((err = fws_checkpoint_open((const char *)m->m.data, (size_t)m->m.h.size, b->o->log_key,
                                   NULL, &note, &cp, eb)) != FWS_OK)
        return fws_errf(eb, err, "ledger/checkpoint");
    if (b->o->n_witnesses > 0 &&
        (err = fws_cosig_verify_threshold(
             &note, b->o->witnesses, b->o->n_witnesses,
             b->o->witness_threshold ? b->o->witness_threshold : b->o->n_witnesses, &valid, eb)) !=
            FWS_OK)
        return fws_errf(eb, err, "ledger/checkpoint: %zu witness cosignatures", valid);
    if (fws_json_get_string(b->manifest, "origin", &origin, eb) != FWS_OK ||
        strlen(origin) != cp.origin_len || memcmp(origin, cp.origin, cp.origin_len) != 0 ||
        cp.size != b->size)
        return fws_errf(eb, FWS_ERR_INCONSISTENT,
                        "the manifest's origin or size is not the "
                        "checkpoint's");
    memcpy(b->root, cp.root, 32);
    snprintf(b->info->origin, sizeof(b->info->origin), "%.*s", (int)cp.origin_len, cp.origin);
    b->info->tree_size = cp.size;
    b->info->cosignatures = valid;
    m->ok = 1;
    return FWS_OK;
}

/* The tile source over the bundle's ledger/ members. */
static fws_err mem_fetch(void *ctx, const char *path, uint8_t *buf, size_t cap, size_t *len,
                         fws_errbuf *eb)
{
    char name[FWS_TILE_PATH_MAX + 16];
    (void)eb;
    snprintf(name, sizeof(name), "ledger/%s", path);
    bv_member *m = bv_find(ctx, name);
    if (m == NULL || strcmp(path, "checkpoint") == 0)
        return FWS_ERR_NOT_FOUND;
    if (m->m.h.size > cap)
        return FWS_ERR_TOO_BIG;
    memcpy(buf, m->m.data, (size_t)m->m.h.size);
    *len = (size_t)m->m.h.size;
    m->used = 1;
    return FWS_OK;
}

static int rec_str(const char *rec, size_t len, const char *key, char *out, size_t cap)
{
    const char *v;
    size_t vl;
    int str = 0;
    if (fws_audit_json_field(rec, len, key, &v, &vl, &str) != FWS_OK || !str || vl >= cap)
        return 0;
    memcpy(out, v, vl);
    out[vl] = '\0';
    return 1;
}

static int rec_digest(const char *rec, size_t len, const char *key, uint8_t out[32])
{
    const char *v, *h;
    size_t vl, hl;
    int str = 0;
    return fws_audit_json_field(rec, len, key, &v, &vl, &str) == FWS_OK && !str &&
           fws_audit_json_field(v, vl, "sha256", &h, &hl, &str) == FWS_OK && str &&
           au_hex32(h, hl, out);
}

/* Records are read by their own schema version: version 1 is the only one so far, and its
 * reading never changes, so a bundle made today verifies under any later build. */
static fws_err index_record(bv *b, uint64_t index, const char *rec, size_t len)
{
    char type[24], schema[8] = "";
    const char *sv;
    size_t sl;
    int str = 0;
    if (!rec_str(rec, len, "type", type, sizeof(type)))
        return FWS_OK;
    b->info->records++;
    if (fws_audit_json_field(rec, len, "schema", &sv, &sl, &str) == FWS_OK && !str && sl < 8)
        memcpy(schema, sv, sl);
    if (strcmp(schema, "1") != 0)
        return FWS_OK; /* proven by the tree; nothing is tied through it */
    int t = strcmp(type, "release") == 0 ? 1 : strcmp(type, "provision") == 0 ? 2 : 0;
    if (t == 0)
        return FWS_OK;
    if (b->n_rec == b->cap_rec) {
        size_t cap = b->cap_rec ? b->cap_rec * 2 : 64;
        bv_record *n = realloc(b->rec, cap * sizeof(*n));
        if (n == NULL)
            return FWS_ERR_NOMEM;
        b->rec = n;
        b->cap_rec = cap;
    }
    bv_record *r = &b->rec[b->n_rec];
    memset(r, 0, sizeof(*r));
    r->index = index;
    r->type = t;
    if (t == 1) {
        if (!rec_str(rec, len, "product", r->product, sizeof(r->product)) ||
            !rec_str(rec, len, "version", r->version, sizeof(r->version)) ||
            !rec_digest(rec, len, "image", r->image))
            return FWS_OK;
        r->has_sbom = rec_digest(rec, len, "sbom", r->sbom);
        r->has_prov = rec_digest(rec, len, "provenance", r->prov);
        b->info->releases++;
    } else {
        if (!rec_str(rec, len, "environment", r->env, sizeof(r->env)) ||
            !rec_digest(rec, len, "certificate", r->cert))
            return FWS_OK;
        b->info->devices++;
    }
    b->n_rec++;
    return FWS_OK;
}

static fws_err ledger(bv *b, fws_errbuf *eb)
{
    fws_tile_source src = {mem_fetch, b};
    fws_bundle_entry e[FWS_TILE_WIDTH];
    fws_err err = fws_tlog_open(&src, &fws_sha256_ops, &b->t, eb);
    if (err == FWS_OK && b->size > 0 &&
        (err = fws_tlog_audit_tiles(b->t, b->size, b->root, NULL, eb)) != FWS_OK)
        return fws_errf(eb, err, "the ledger tiles do not recompute to the checkpoint");
    uint8_t *buf = err == FWS_OK ? malloc(FWS_BUNDLE_MAX) : NULL;
    if (err == FWS_OK && buf == NULL)
        err = FWS_ERR_NOMEM;
    for (uint64_t i = 0; err == FWS_OK && i < (b->size + 255) / 256; i++) {
        size_t n = 0;
        err = fws_tlog_fetch_bundle(b->t, i, b->size, buf, FWS_BUNDLE_MAX, e, &n, eb);
        for (size_t k = 0; err == FWS_OK && k < n; k++)
            err = index_record(b, i * 256 + k, (const char *)e[k].data, e[k].len);
    }
    free(buf);
    for (size_t i = 0; err == FWS_OK && i < b->n; i++) {
        bv_member *m = &b->m[i];
        int tile = strncmp(m->m.h.name, "ledger/tile/", 12) == 0;
        if (tile && m->used && strcmp(m->tie, "tile") == 0)
            m->ok = 1;
        else if (tile || strcmp(m->tie, "tile") == 0)
            return fws_errf(eb, FWS_ERR_PROOF, "%.200s: not a tile of the signed tree",
                            m->m.h.name);
    }
    return err;
}

static fws_err proofs(bv *b, fws_errbuf *eb)
{
    fws_tlog_policy pol = {b->o->log_key, NULL, b->o->witnesses, b->o->n_witnesses,
                           b->o->witness_threshold};
    uint8_t *entry = malloc(FWS_ENTRY_MAX);
    fws_err err = entry != NULL ? FWS_OK : FWS_ERR_NOMEM;
    for (size_t i = 0; err == FWS_OK && i < b->n; i++) {
        bv_member *m = &b->m[i];
        unsigned long long idx = 0;
        char want[64];
        size_t len = 0;
        if (strcmp(m->tie, "proof") != 0)
            continue;
        if (sscanf(m->m.h.name, "proofs/%llu.tlog-proof", &idx) != 1 ||
            (snprintf(want, sizeof(want), "proofs/%llu.tlog-proof", idx),
             strcmp(want, m->m.h.name) != 0) ||
            idx >= b->size)
            return fws_errf(eb, FWS_ERR_FORMAT, "%.200s: not a proof name", m->m.h.name);
        fws_tlog_proof p;
        if ((err = fws_tlog_entry(b->t, idx, b->size, entry, FWS_ENTRY_MAX, &len, eb)) != FWS_OK ||
            (err = fws_tlog_proof_parse((const char *)m->m.data, (size_t)m->m.h.size, &p, eb)) !=
                FWS_OK)
            break;
        if (p.index != idx)
            return fws_errf(eb, FWS_ERR_PROOF, "%s: proves entry %llu", m->m.h.name,
                            (unsigned long long)p.index);
        if ((err = fws_tlog_proof_verify((const char *)m->m.data, (size_t)m->m.h.size, entry, len,
                                         &pol, NULL, eb)) != FWS_OK)
            return fws_errf(eb, err, "%s", m->m.h.name);
        m->ok = 1;
        b->info->proofs++;
    }
    free(entry);
    return err;
}

fws_err fws_audit_verify(const uint8_t *unverified, size_t len, const fws_audit_verify_opts *o,
                         fws_audit_bundle_info *info, fws_errbuf *eb)
{
    fws_audit_bundle_info inf;
    bv b;
    memset(&inf, 0, sizeof(inf));
    memset(&b, 0, sizeof(b));
    b.o = o;
    b.info = &inf;
    if (o == NULL || o->log_key == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "audit verify: the ledger key is required");
    fws_err err = read_members(&b, unverified, len, eb);
    if (err == FWS_OK)
        err = check_manifest(&b, eb);
    if (err == FWS_OK)
        err = checkpoint(&b, eb);
    if (err == FWS_OK)
        err = ledger(&b, eb);
    if (err == FWS_OK)
        err = proofs(&b, eb);
    if (err == FWS_OK)
        err = bv_tuf(&b, eb);
    if (err == FWS_OK)
        err = bv_attachments(&b, eb);
    if (err == FWS_OK)
        err = bv_pki(&b, eb);
    for (size_t i = 0; err == FWS_OK && i < b.n; i++) {
        if (!b.m[i].ok)
            err = fws_errf(eb, FWS_ERR_PROOF,
                           "%.200s (tie \"%.40s\") is not tied to the ledger "
                           "or the TUF chain",
                           b.m[i].m.h.name, b.m[i].tie ? b.m[i].tie : "");
    }
    fws_tlog_close(b.t);
    json_decref(b.manifest);
    free(b.m);
    free(b.rec);
    if (err == FWS_OK && info != NULL)
        *info = inf;
    return err;
}
