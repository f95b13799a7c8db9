/* The ledger phase: the checkpoint and its cosignatures, consistency with the checkpoint of the
 * previous audit, the whole tree recomputed from its tiles (on a second thread), and one pass
 * over the entries that indexes what the later phases need: releases, revocations, provisioned
 * devices and installs. */
#include <stdlib.h>
#include <string.h>
#include "audit/internal.h"
#include "fwseal/tiles.h"
#include "fwseal/util.h"

int au_hex32(const char *hex, size_t len, uint8_t out[32])
{
    size_t n = 0;
    return len == 64 && fws_hex_decode(hex, len, out, 32, &n) == FWS_OK && n == 32;
}

/* A string field of a record copied into out (cap bytes with the NUL); 0 when absent. */
static int field_str(const char *rec, size_t len, const char *key, char *out, size_t cap)
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

/* obj.sha256 of an object field. */
static int field_digest(const char *rec, size_t len, const char *key, uint8_t out[32])
{
    const char *v, *h;
    size_t vl, hl;
    int str = 0;
    if (fws_audit_json_field(rec, len, key, &v, &vl, &str) != FWS_OK || str)
        return 0;
    if (fws_audit_json_field(v, vl, "sha256", &h, &hl, &str) != FWS_OK || !str)
        return 0;
    return au_hex32(h, hl, out);
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 1;
    size_t c = *cap ? *cap * 2 : 256;
    void *p = realloc(*arr, c * elem);
    if (p == NULL)
        return 0;
    *arr = p;
    *cap = c;
    return 1;
}

typedef struct revoke_list {
    char (*ids)[FWS_RECORD_ID_MAX + 1];
    size_t n, cap;
} revoke_list;

static fws_err index_record(au_ctx *c, revoke_list *rv, uint64_t index, const char *rec, size_t len)
{
    au_ledger *l = &c->ledger;
    char type[24], dev[FWS_RECORD_ID_MAX + 1], schema[8];
    const char *sv;
    size_t sl;
    int str = 0;
    if (!field_str(rec, len, "type", type, sizeof(type)))
        return FWS_OK; /* not a record (an any-entries log) */
    c->r->records++;
    if (fws_audit_json_field(rec, len, "schema", &sv, &sl, &str) != FWS_OK || str || sl != 1 ||
        sv[0] != '1') {
        snprintf(schema, sizeof(schema), "%.*s", (int)(sl < 6 ? sl : 6), sv);
        au_flag(c->r, FWS_AUDIT_WARN, "record-schema", type,
                "entry %llu: schema %s is not one this build interprets", (unsigned long long)index,
                schema);
        return FWS_OK;
    }
    if (strcmp(type, "release") == 0) {
        if (!grow((void **)&l->rel, &l->cap_rel, l->n_rel, sizeof(*l->rel)))
            return FWS_ERR_NOMEM;
        au_release *x = &l->rel[l->n_rel];
        memset(x, 0, sizeof(*x));
        x->index = index;
        if (!field_str(rec, len, "product", x->product, sizeof(x->product)) ||
            !field_str(rec, len, "version", x->version, sizeof(x->version)) ||
            !field_digest(rec, len, "image", x->sha256)) {
            au_flag(c->r, FWS_AUDIT_RED, "ledger-record", "release",
                    "entry %llu: a release record without product, version or image digest",
                    (unsigned long long)index);
            return FWS_OK;
        }
        x->has_sbom = field_digest(rec, len, "sbom", x->sbom);
        x->has_prov = field_digest(rec, len, "provenance", x->prov);
        l->n_rel++;
    } else if (strcmp(type, "provision") == 0 && field_str(rec, len, "device", dev, sizeof(dev))) {
        if (!grow((void **)&l->dev, &l->cap_dev, l->n_dev, sizeof(*l->dev)))
            return FWS_ERR_NOMEM;
        au_devrec *d = &l->dev[l->n_dev];
        memset(d, 0, sizeof(*d));
        au_device_key(dev, d->key);
        d->index = index;
        if (field_digest(rec, len, "certificate", d->cert))
            l->n_dev++;
    } else if (strcmp(type, "install") == 0 && field_str(rec, len, "device", dev, sizeof(dev))) {
        if (!grow((void **)&l->inst, &l->cap_inst, l->n_inst, sizeof(*l->inst)))
            return FWS_ERR_NOMEM;
        au_install *x = &l->inst[l->n_inst];
        au_device_key(dev, x->key);
        x->index = index;
        if (field_digest(rec, len, "image", x->image))
            l->n_inst++;
    } else if (strcmp(type, "revoke") == 0) {
        if (!grow((void **)&rv->ids, &rv->cap, rv->n, sizeof(*rv->ids)))
            return FWS_ERR_NOMEM;
        char subject[16];
        if (field_str(rec, len, "subject", subject, sizeof(subject)) &&
            field_str(rec, len, "id", rv->ids[rv->n] + 1, sizeof(rv->ids[0]) - 1)) {
            rv->ids[rv->n][0] = subject[0]; /* 'r'elease, 'd'evice, 'k'ey */
            rv->n++;
        }
    }
    return FWS_OK;
}

static int cmp_rel(const void *a, const void *b)
{
    return memcmp(((const au_release *)a)->sha256, ((const au_release *)b)->sha256, 32);
}

static int cmp_dev(const void *a, const void *b)
{
    const au_devrec *x = a, *y = b;
    int c = memcmp(x->key, y->key, AU_KEY_LEN);
    return c != 0 ? c : (x->index < y->index ? -1 : x->index > y->index);
}

static void finish_index(au_ledger *l, const revoke_list *rv)
{
    for (size_t i = 0; i < rv->n; i++) {
        const char *id = rv->ids[i] + 1;
        for (size_t k = 0; rv->ids[i][0] == 'r' && k < l->n_rel; k++) {
            size_t pl = strlen(l->rel[k].product);
            if (strncmp(id, l->rel[k].product, pl) == 0 && id[pl] == '/' &&
                strcmp(id + pl + 1, l->rel[k].version) == 0)
                l->rel[k].revoked = 1;
        }
    }
    if (l->n_rel > 1)
        qsort(l->rel, l->n_rel, sizeof(*l->rel), cmp_rel);
    if (l->n_dev > 1)
        qsort(l->dev, l->n_dev, sizeof(*l->dev), cmp_dev);
    size_t w = 0; /* keep the latest provision record of each device */
    for (size_t i = 0; i < l->n_dev; i++) {
        if (w > 0 && memcmp(l->dev[w - 1].key, l->dev[i].key, AU_KEY_LEN) == 0)
            w--;
        l->dev[w++] = l->dev[i];
    }
    l->n_dev = w;
    for (size_t i = 0; i < rv->n; i++) {
        if (rv->ids[i][0] != 'd')
            continue;
        au_devrec probe;
        au_device_key(rv->ids[i] + 1, probe.key);
        au_devrec *d = (au_devrec *)au_devrec_find(l, probe.key);
        if (d != NULL)
            d->revoked = 1;
    }
}

fws_err au_scan_entries(au_ctx *c, fws_tlog *t, uint64_t size, fws_errbuf *eb)
{
    fws_bundle_entry entries[FWS_TILE_WIDTH];
    revoke_list rv = {0};
    uint64_t nb = (size + FWS_TILE_WIDTH - 1) / FWS_TILE_WIDTH;
    fws_err err = FWS_OK;
    uint8_t *buf = malloc(FWS_BUNDLE_MAX);
    if (buf == NULL)
        return FWS_ERR_NOMEM;
    for (uint64_t b = 0; err == FWS_OK && b < nb; b++) {
        size_t n = 0;
        err = fws_tlog_fetch_bundle(t, b, size, buf, FWS_BUNDLE_MAX, entries, &n, eb);
        for (size_t i = 0; err == FWS_OK && i < n; i++)
            err = index_record(c, &rv, b * FWS_TILE_WIDTH + i, (const char *)entries[i].data,
                               entries[i].len);
        if (c->o->progress != NULL && (b % 64 == 0 || b + 1 == nb))
            c->o->progress(c->o->progress_ctx, "ledger", b + 1, nb);
    }
    if (err == FWS_OK)
        finish_index(&c->ledger, &rv);
    free(rv.ids);
    free(buf);
    return err;
}
