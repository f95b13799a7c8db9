/* The repository phase: the TUF chain as a device would walk it (from 1.root.json, with the
 * audit's time), and every release record of the ledger against the release index, the
 * published target, its SBOM and its provenance. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "audit/internal.h"
#include "fwseal/dsse.h"
#include "fwseal/json.h"
#include "fwseal/tuf.h"
#include "fwseal/util.h"

#define INDEX_MAX (64u << 20)
#define ATTACH_MAX (16u << 20)

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void au_rmtree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

typedef struct tuf_view {
    fws_tuf_client *client;
    fws_tuf_fetcher fetcher;
    char tmp[64];
    int ok;
} tuf_view;

static void tuf_open(au_ctx *c, tuf_view *v)
{
    char meta[4200], root1[4300], url[4400], abs[4096];
    uint8_t *root = NULL;
    size_t len = 0;
    fws_errbuf eb = {{0}};
    memset(v, 0, sizeof(*v));
    snprintf(meta, sizeof(meta), "%s/repo/metadata", c->o->deploy);
    snprintf(root1, sizeof(root1), "%s/1.root.json", meta);
    if (access(root1, F_OK) != 0)
        return;
    snprintf(v->tmp, sizeof(v->tmp), "/tmp/fwseal-audit-tuf.XXXXXX");
    if (realpath(meta, abs) == NULL || mkdtemp(v->tmp) == NULL) {
        v->tmp[0] = '\0';
        return;
    }
    snprintf(url, sizeof(url), "file://%s", abs);
    fws_tuf_client_config cfg = fws_tuf_client_defaults;
    cfg.fixed_now = c->o->now;
    if (fws_file_read(root1, (32u << 20), &root, &len, &eb) != FWS_OK ||
        fws_tuf_client_init_dir(v->tmp, root, len, &eb) != FWS_OK ||
        fws_tuf_fetcher_new(NULL, &v->fetcher, &eb) != FWS_OK ||
        fws_tuf_client_new(v->tmp, url, &cfg, &v->fetcher, &v->client, &eb) != FWS_OK ||
        fws_tuf_client_refresh(v->client, &eb) != FWS_OK)
        au_flag(c->r, FWS_AUDIT_RED, "tuf-metadata", "repo/metadata", "%s", eb.msg);
    else
        v->ok = 1;
    free(root);
}

static void tuf_close(tuf_view *v)
{
    fws_tuf_client_free(v->client);
    if (v->fetcher.destroy != NULL)
        fws_tuf_fetcher_free(&v->fetcher);
    if (v->tmp[0] != '\0')
        au_rmtree(v->tmp);
}

/* The file of an attachment stored under its SHA-256: repo/targets/P/V/<hex>.<name>. */
static fws_err read_attachment(au_ctx *c, const char *target, const uint8_t digest[32],
                               uint8_t **data, size_t *len)
{
    char hex[65], path[4600];
    const char *slash = strrchr(target, '/');
    if (slash == NULL)
        return FWS_ERR_FORMAT;
    fws_hex_encode(digest, 32, hex);
    snprintf(path, sizeof(path), "%s/repo/targets/%.*s/%s.%s", c->o->deploy, (int)(slash - target),
             target, hex, slash + 1);
    fws_err err = fws_file_read(path, ATTACH_MAX, data, len, NULL);
    if (err != FWS_OK)
        return err;
    uint8_t got[32];
    fws_sha256(*data, *len, got);
    if (!fws_ct_eq(got, digest, 32)) {
        free(*data);
        return FWS_ERR_DIGEST;
    }
    return FWS_OK;
}

static void check_attachments(au_ctx *c, const au_release *rel, json_t *entry, const char *pv)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_errbuf eb = {{0}};
    json_t *sbom = json_object_get(entry, "sbom"), *prov = json_object_get(entry, "provenance");
    const char *st = json_string_value(json_object_get(sbom, "target"));
    const char *pt = json_string_value(json_object_get(prov, "target"));
    if (rel->has_sbom) {
        fws_err err =
            st != NULL ? read_attachment(c, st, rel->sbom, &data, &len) : FWS_ERR_NOT_FOUND;
        if (err != FWS_OK)
            au_flag(c->r, FWS_AUDIT_RED, "sbom-mismatch", pv,
                    "the SBOM the release record names is %s in the repository",
                    err == FWS_ERR_DIGEST ? "different" : "missing");
        free(data);
        data = NULL;
    }
    if (!rel->has_prov)
        return;
    fws_err err = pt != NULL ? read_attachment(c, pt, rel->prov, &data, &len) : FWS_ERR_NOT_FOUND;
    fws_dsse_envelope env;
    char name[256];
    memset(&env, 0, sizeof(env));
    if (err != FWS_OK)
        au_flag(c->r, FWS_AUDIT_RED, "provenance-mismatch", pv,
                "the provenance the release record names is %s in the repository",
                err == FWS_ERR_DIGEST ? "different" : "missing");
    else if (fws_dsse_parse(data, len, &env, &eb) != FWS_OK ||
             fws_intoto_match_subject(env.unverified_payload, env.payload_len, rel->sha256, name,
                                      sizeof(name), &eb) != FWS_OK)
        au_flag(c->r, FWS_AUDIT_RED, "provenance-mismatch", pv,
                "the provenance is not about this image: %s", eb.msg);
    fws_dsse_envelope_free(&env);
    free(data);
}

static json_t *find_entry(json_t *list, const char *product, const char *version)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *p = json_string_value(json_object_get(e, "product"));
        const char *v = json_string_value(json_object_get(e, "version"));
        if (p != NULL && v != NULL && strcmp(p, product) == 0 && strcmp(v, version) == 0)
            return e;
    }
    return NULL;
}

static void check_published(au_ctx *c, tuf_view *v, const au_release *rel, json_t *entry,
                            const char *pv)
{
    fws_tuf_target t;
    fws_errbuf eb = {{0}};
    const char *target = json_string_value(json_object_get(entry, "target"));
    if (!v->ok || target == NULL)
        return;
    fws_err err = fws_tuf_client_find_target(v->client, target, &t, &eb);
    if (rel->revoked) {
        if (err == FWS_OK)
            au_flag(c->r, FWS_AUDIT_RED, "revoked-still-published", pv,
                    "revoked, but TUF still offers %s", target);
        return;
    }
    if (err != FWS_OK) {
        au_flag(c->r, FWS_AUDIT_RED, "release-not-published", pv, "%s: %s", target, eb.msg);
        return;
    }
    const char *h = json_string_value(json_object_get(t.hashes, "sha256"));
    uint8_t d[32];
    json_t *li = json_object_get(json_object_get(t.custom, "fwseal"), "ledgerIndex");
    if (h == NULL || !au_hex32(h, strlen(h), d) || !fws_ct_eq(d, rel->sha256, 32) ||
        !json_is_integer(li) || (uint64_t)json_integer_value(li) != rel->index)
        au_flag(c->r, FWS_AUDIT_RED, "release-mismatch", pv,
                "the signed target %s does not match ledger entry %llu", target,
                (unsigned long long)rel->index);
}

fws_err au_phase_releases(au_ctx *c, fws_errbuf *eb)
{
    char path[4200];
    json_t *idx = NULL, *list = NULL;
    tuf_view v;
    (void)eb;
    au_path(path, sizeof(path), c->o->deploy, "releases.json");
    if (access(path, F_OK) == 0 && au_json_file(path, INDEX_MAX, &idx, NULL) != FWS_OK)
        au_flag(c->r, FWS_AUDIT_RED, "release-index", "releases.json", "unreadable");
    list = json_object_get(idx, "releases");
    tuf_open(c, &v);
    c->r->releases = c->ledger.n_rel;
    for (size_t i = 0; i < c->ledger.n_rel; i++) {
        const au_release *rel = &c->ledger.rel[i];
        char pv[FWS_RECORD_ID_MAX + FWS_RECORD_VERSION_MAX + 2];
        snprintf(pv, sizeof(pv), "%s/%s", rel->product, rel->version);
        if (!rel->has_sbom)
            au_flag(c->r, FWS_AUDIT_RED, "release-no-sbom", pv,
                    "ledger entry %llu: released without an SBOM", (unsigned long long)rel->index);
        if (!rel->has_prov)
            au_flag(c->r, FWS_AUDIT_RED, "release-no-provenance", pv,
                    "ledger entry %llu: released without provenance",
                    (unsigned long long)rel->index);
        json_t *entry = find_entry(list, rel->product, rel->version);
        if (entry == NULL)
            continue;
        check_attachments(c, rel, entry, pv);
        check_published(c, &v, rel, entry, pv);
    }
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *p = json_string_value(json_object_get(e, "product"));
        const char *ver = json_string_value(json_object_get(e, "version"));
        const char *h = json_string_value(json_object_get(e, "sha256"));
        uint8_t d[32];
        if (c->cp_len > 0 && (h == NULL || !au_hex32(h, strlen(h), d) ||
                              au_release_by_digest(&c->ledger, d) == NULL))
            au_flag(c->r, FWS_AUDIT_RED, "release-not-in-ledger", p ? p : "?",
                    "release %s/%s is in the index but no release record names its image",
                    p ? p : "?", ver ? ver : "?");
    }
    tuf_close(&v);
    json_decref(idx);
    return FWS_OK;
}
