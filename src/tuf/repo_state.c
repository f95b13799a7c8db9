/* The published metadata of a deployment, loaded for changing: the newest root, timestamp.json,
 * the snapshot it names, the targets the snapshot names, and hashed bins on demand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "repo_internal.h"

json_t *repo_signed_new(const char *type)
{
    return json_pack("{s:s, s:s, s:i, s:s}", "_type", type, "spec_version", FWS_TUF_SPEC_VERSION,
                     "version", 0, "expires", "1970-01-01T00:00:00Z");
}

int64_t repo_doc_expires(const repo_doc *doc)
{
    int64_t t = 0;
    const char *s = json_string_value(json_object_get(doc->signed_obj, "expires"));
    if (s == NULL || fws_tuf_time_parse(s, &t) != FWS_OK)
        return 0;
    return t;
}

/* Reads metadata/<file> into doc, checking its type and (when want_version > 0) version. */
static fws_err read_doc(fws_deploy *d, const char *file, const char *type, int64_t want_version,
                        repo_doc *doc, fws_errbuf *eb)
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *md = NULL, *sig = NULL;
    const char *t = NULL;
    int64_t version = 0;
    fws_errbuf e = {{0}};
    fws_err err;

    if ((err = repo_path(path, eb, "%s/%s", d->meta_dir, file)) != FWS_OK)
        return err;
    if ((err = fws_file_read(path, FWS_REPO_MAX_METADATA, &data, &len, eb)) != FWS_OK)
        return err;
    fws_json_limits lim = fws_json_default_limits;
    lim.max_bytes = FWS_REPO_MAX_METADATA;
    lim.max_members = (size_t)1 << 22;
    err = fws_json_parse(data, len, FWS_JSON_NO_FLOATS, &lim, &md, &e);
    if (err == FWS_OK && ((err = fws_json_get_object(md, "signed", &sig, &e)) != FWS_OK ||
                          (err = fws_json_get_string(sig, "_type", &t, &e)) != FWS_OK ||
                          (err = fws_json_get_int(sig, "version", &version, &e)) != FWS_OK))
        err = FWS_ERR_SCHEMA;
    if (err != FWS_OK) {
        err = fws_errf(eb, err, "%s: %s", path, e.msg);
        goto out;
    }
    if (strcmp(t, type) != 0 || version < 1 || (want_version > 0 && version != want_version)) {
        err = fws_errf(eb, FWS_ERR_INCONSISTENT,
                       "%s: expected %s version %lld, found %s version "
                       "%lld",
                       path, type, (long long)want_version, t, (long long)version);
        goto out;
    }
    json_decref(doc->signed_obj);
    doc->signed_obj = json_incref(sig);
    doc->version = version;
    doc->len = len;
    fws_sha256(data, len, doc->sha256);
out:
    json_decref(md);
    free(data);
    return err;
}

/* The version a timestamp or snapshot lists for file, after checking length and sha256 (when
 * listed) against the file that will be read. */
static fws_err meta_version(const repo_doc *parent, const char *file, int64_t *version,
                            fws_errbuf *eb)
{
    json_t *meta = json_object_get(parent->signed_obj, "meta");
    json_t *entry = json_object_get(meta, file);
    json_int_t v = json_integer_value(json_object_get(entry, "version"));
    if (!json_is_object(entry) || v < 1)
        return fws_errf(eb, FWS_ERR_INCONSISTENT, "published metadata lists no version of %s",
                        file);
    *version = v;
    return FWS_OK;
}

static fws_err check_meta_file(const repo_doc *parent, const char *file, const repo_doc *doc,
                               fws_errbuf *eb)
{
    json_t *entry = json_object_get(json_object_get(parent->signed_obj, "meta"), file);
    json_t *length = json_object_get(entry, "length");
    const char *h = json_string_value(json_object_get(json_object_get(entry, "hashes"), "sha256"));
    char hex[REPO_HEX256];
    if (length != NULL && (json_integer_value(length) < 0 ||
                           (uint64_t)json_integer_value(length) != (uint64_t)doc->len))
        return fws_errf(eb, FWS_ERR_LENGTH, "%s: %zu bytes, but %lld are published for it", file,
                        doc->len, (long long)json_integer_value(length));
    fws_hex_encode(doc->sha256, FWS_SHA256_LEN, hex);
    if (h != NULL && (strlen(h) != 2 * FWS_SHA256_LEN || !fws_ct_eq(h, hex, strlen(h))))
        return fws_errf(eb, FWS_ERR_DIGEST, "%s: its SHA-256 is not the published one", file);
    return FWS_OK;
}

static fws_err load_root(fws_deploy *d, repo_state *st, fws_errbuf *eb)
{
    char file[64];
    struct stat sb;
    repo_doc *root = &st->docs[FWS_TUF_ROOT];
    fws_err err = read_doc(d, "root.json", "root", 0, root, eb);
    for (int64_t v = root->version + 1; err == FWS_OK; v++) {
        char path[PATH_MAX];
        snprintf(file, sizeof(file), "%lld.root.json", (long long)v);
        if ((err = repo_path(path, eb, "%s/%s", d->meta_dir, file)) != FWS_OK)
            return err;
        if (lstat(path, &sb) != 0)
            break;
        err = read_doc(d, file, "root", v, root, eb);
    }
    return err;
}

static fws_err load_bins_info(repo_state *st, fws_errbuf *eb)
{
    json_t *targets = st->docs[FWS_TUF_TARGETS].signed_obj;
    json_t *succinct = json_object_get(json_object_get(targets, "delegations"), "succinct_roles");
    if (succinct == NULL)
        return FWS_OK;
    json_int_t bits = json_integer_value(json_object_get(succinct, "bit_length"));
    const char *prefix = json_string_value(json_object_get(succinct, "name_prefix"));
    if (bits < 1 || bits > FWS_REPO_MAX_BIT_LENGTH || prefix == NULL ||
        strlen(prefix) >= sizeof(st->prefix))
        return fws_errf(eb, FWS_ERR_SCHEMA, "targets: unsupported succinct_roles delegation");
    st->bit_length = (unsigned)bits;
    st->n_bins = (size_t)1 << bits;
    snprintf(st->prefix, sizeof(st->prefix), "%s", prefix);
    st->bins = calloc(st->n_bins, sizeof(*st->bins));
    if (st->bins == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    return FWS_OK;
}

fws_err repo_state_load(fws_deploy *d, repo_state *st, fws_errbuf *eb)
{
    char file[64];
    int64_t v = 0;
    repo_doc *ts = &st->docs[FWS_TUF_TIMESTAMP], *sn = &st->docs[FWS_TUF_SNAPSHOT];
    fws_err err;

    memset(st, 0, sizeof(*st));
    if ((err = load_root(d, st, eb)) != FWS_OK ||
        (err = read_doc(d, "timestamp.json", "timestamp", 0, ts, eb)) != FWS_OK ||
        (err = meta_version(ts, "snapshot.json", &v, eb)) != FWS_OK)
        goto out;
    snprintf(file, sizeof(file), "%lld.snapshot.json", (long long)v);
    if ((err = read_doc(d, file, "snapshot", v, sn, eb)) != FWS_OK ||
        (err = check_meta_file(ts, "snapshot.json", sn, eb)) != FWS_OK ||
        (err = meta_version(sn, "targets.json", &v, eb)) != FWS_OK)
        goto out;
    snprintf(file, sizeof(file), "%lld.targets.json", (long long)v);
    if ((err = read_doc(d, file, "targets", v, &st->docs[FWS_TUF_TARGETS], eb)) != FWS_OK ||
        (err = check_meta_file(sn, "targets.json", &st->docs[FWS_TUF_TARGETS], eb)) != FWS_OK)
        goto out;
    err = load_bins_info(st, eb);
out:
    if (err != FWS_OK)
        repo_state_free(st);
    return err;
}

void repo_state_free(repo_state *st)
{
    for (int k = 0; k < FWS_TUF_KIND_COUNT; k++)
        json_decref(st->docs[k].signed_obj);
    for (size_t i = 0; i < st->n_bins; i++)
        json_decref(st->bins[i].signed_obj);
    free(st->bins);
    json_decref(st->old_root);
    memset(st, 0, sizeof(*st));
}

fws_err repo_bin_name(const repo_state *st, size_t i, char *out, size_t cap)
{
    return fws_tuf_bin_name(st->prefix, st->bit_length, (uint32_t)i, out, cap);
}

fws_err repo_bin_load(fws_deploy *d, repo_state *st, size_t i, fws_errbuf *eb)
{
    char name[64], file[96];
    int64_t v = 0;
    repo_doc *sn = &st->docs[FWS_TUF_SNAPSHOT];
    fws_err err;
    if (i >= st->n_bins)
        return FWS_ERR_ARG;
    if (st->bins[i].signed_obj != NULL)
        return FWS_OK;
    if (repo_bin_name(st, i, name, sizeof(name)) != FWS_OK)
        return fws_errf(eb, FWS_ERR_ARG, "bin name too long");
    snprintf(file, sizeof(file), "%s.json", name);
    if ((err = meta_version(sn, file, &v, eb)) != FWS_OK)
        return err;
    snprintf(file, sizeof(file), "%lld.%s.json", (long long)v, name);
    if ((err = read_doc(d, file, "targets", v, &st->bins[i], eb)) != FWS_OK)
        return err;
    snprintf(file, sizeof(file), "%s.json", name);
    return check_meta_file(sn, file, &st->bins[i], eb);
}

fws_err repo_state_check_fresh(const repo_state *st, int64_t now, fws_errbuf *eb)
{
    static const fws_tuf_kind order[] = {FWS_TUF_ROOT, FWS_TUF_TARGETS, FWS_TUF_SNAPSHOT,
                                         FWS_TUF_TIMESTAMP};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const repo_doc *doc = &st->docs[order[i]];
        int64_t exp = repo_doc_expires(doc);
        if (exp > now)
            continue;
        const char *how = order[i] == FWS_TUF_ROOT ? "fwseal repo refresh --root (root keys needed)"
                                                   : "fwseal repo refresh";
        return fws_errf(eb, FWS_ERR_EXPIRED,
                        "the published %s metadata (version %lld) expired at %s; run `%s` first",
                        fws_tuf_kind_name(order[i]), (long long)doc->version,
                        json_string_value(json_object_get(doc->signed_obj, "expires")), how);
    }
    return FWS_OK;
}
