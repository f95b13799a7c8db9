/* The TUF client workflow (specification section 5) up to the top-level targets. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "client_internal.h"
#include "fwseal/util.h"

const fws_tuf_client_config fws_tuf_client_defaults = {
    .root_max = 512000,
    .timestamp_max = 16384,
    .snapshot_max = 2000000,
    .targets_max = 5000000,
    .max_root_rotations = 256,
    .max_delegations = 32,
    .prefix_targets_with_hash = 1,
    .fixed_now = 0,
};

#define NAME_MAX_BYTES 1024 /* an encoded metadata file name */

static char *path_in(const char *dir, const char *name)
{
    return tuf_url_join(dir, name);
}

fws_err tuf_fetch_meta(fws_tuf_client *c, const char *name, uint64_t max, tuf_buf *out,
                       fws_errbuf *eb)
{
    tuf_buf b = {NULL, 0, 0, (size_t)max};
    char *url = tuf_url_join(c->url, name);
    if (url == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = c->fetcher->fetch(c->fetcher->impl, url, max, tuf_buf_sink, &b, eb);
    if (err == FWS_ERR_NOT_FOUND)
        fws_errf(eb, err, "%.300s: not found", url);
    else if (err == FWS_ERR_TOO_BIG)
        fws_errf(eb, err, "%.300s: over the %" PRIu64 "-byte cap", url, max);
    free(url);
    if (err != FWS_OK) {
        tuf_buf_free(&b);
        return err;
    }
    *out = b;
    return FWS_OK;
}

fws_err tuf_persist(fws_tuf_client *c, const char *name, const uint8_t *data, size_t len,
                    fws_errbuf *eb)
{
    char *p = path_in(c->dir, name);
    if (p == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = fws_file_write_atomic(p, data, len, 0644, 1, eb);
    free(p);
    return err;
}

/* Reads metadata_dir/name; FWS_ERR_NOT_FOUND when missing. */
fws_err tuf_read_local(fws_tuf_client *c, const char *name, uint64_t max, uint8_t **data,
                       size_t *len)
{
    char *p = path_in(c->dir, name);
    if (p == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = fws_file_read(p, (size_t)max, data, len, NULL);
    free(p);
    return err;
}

static void drop_local(fws_tuf_client *c, const char *name)
{
    char *p = path_in(c->dir, name);
    if (p != NULL && unlink(p) == 0 && fws_dir_sync(c->dir, NULL) != FWS_OK)
        p[0] = '\0'; /* the unlink stands; a failed directory sync only delays it */
    free(p);
}

/* Parses bytes as kind and checks the signatures of role (from ring). */
fws_err tuf_parse_verified(const uint8_t *data, size_t len, uint64_t max, fws_tuf_kind kind,
                           const fws_tuf_keyring *ring, const fws_tuf_role *role, const char *what,
                           fws_tuf_md *out, fws_errbuf *eb)
{
    fws_tuf_md m;
    fws_err err = fws_tuf_md_parse(data, len, (size_t)max, kind, &m, eb);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s", what);
    err = fws_tuf_verify_role(m.doc, m.signed_bytes, m.signed_len, ring, role, what, eb);
    if (err != FWS_OK) {
        fws_tuf_md_free(&m);
        return err;
    }
    *out = m;
    return FWS_OK;
}

fws_err tuf_check_expiry(fws_tuf_client *c, const fws_tuf_md *m, const char *what, fws_errbuf *eb)
{
    char when[FWS_TUF_TIME_LEN] = "?";
    if (m->expires > c->now)
        return FWS_OK;
    if (fws_tuf_time_format(m->expires, when) != FWS_OK)
        strcpy(when, "?");
    return fws_errf(eb, FWS_ERR_EXPIRED, "%s expired at %s (freeze attack?)", what, when);
}

/* ---- root ---------------------------------------------------------------------------------- */

static fws_err load_trusted_root(fws_tuf_client *c, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_tuf_md m;
    fws_tuf_root r;
    fws_err err = tuf_read_local(c, "root.json", c->cfg.root_max, &data, &len);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%.300s/root.json: no trusted root (run init)", c->dir);
    err = fws_tuf_md_parse(data, len, (size_t)c->cfg.root_max, FWS_TUF_ROOT, &m, eb);
    free(data);
    if (err != FWS_OK)
        return fws_errf(eb, err, "trusted root.json");
    if ((err = fws_tuf_root_load(&m, &r, eb)) != FWS_OK) {
        fws_tuf_md_free(&m);
        return fws_errf(eb, err, "trusted root.json");
    }
    err = fws_tuf_verify_role(m.doc, m.signed_bytes, m.signed_len, r.keys, &r.roles[FWS_TUF_ROOT],
                              "trusted root.json", eb);
    if (err != FWS_OK) {
        fws_tuf_root_free(&r);
        fws_tuf_md_free(&m);
        return err;
    }
    c->md[FWS_TUF_ROOT] = m;
    c->root = r;
    return FWS_OK;
}

/* Verifies version N+1 against the trusted root N and itself; on success it becomes trusted. */
static fws_err accept_root(fws_tuf_client *c, const tuf_buf *b, const char *name, int *rotated,
                           fws_errbuf *eb)
{
    fws_tuf_md m;
    fws_tuf_root r;
    int64_t want = c->md[FWS_TUF_ROOT].version + 1;
    fws_err err = tuf_parse_verified(b->data, b->len, c->cfg.root_max, FWS_TUF_ROOT, c->root.keys,
                                     &c->root.roles[FWS_TUF_ROOT], name, &m, eb);
    if (err != FWS_OK)
        return err;
    if ((err = fws_tuf_root_load(&m, &r, eb)) != FWS_OK) {
        fws_tuf_md_free(&m);
        return fws_errf(eb, err, "%s", name);
    }
    err = fws_tuf_verify_role(m.doc, m.signed_bytes, m.signed_len, r.keys, &r.roles[FWS_TUF_ROOT],
                              name, eb);
    if (err == FWS_OK && m.version < want)
        err = fws_errf(eb, FWS_ERR_ROLLBACK, "%s holds version %" PRId64 " (rollback)", name,
                       m.version);
    if (err == FWS_OK && m.version != want)
        err = fws_errf(eb, FWS_ERR_INCONSISTENT, "%s holds version %" PRId64, name, m.version);
    if (err == FWS_OK)
        err = tuf_persist(c, "root.json", b->data, b->len, eb);
    if (err != FWS_OK) {
        fws_tuf_root_free(&r);
        fws_tuf_md_free(&m);
        return err;
    }
    *rotated |= fws_tuf_root_role_changed(&c->root, &r, FWS_TUF_TIMESTAMP) ||
                fws_tuf_root_role_changed(&c->root, &r, FWS_TUF_SNAPSHOT);
    fws_tuf_root_free(&c->root);
    fws_tuf_md_free(&c->md[FWS_TUF_ROOT]);
    c->root = r;
    c->md[FWS_TUF_ROOT] = m;
    return FWS_OK;
}

static fws_err update_root(fws_tuf_client *c, fws_errbuf *eb)
{
    char name[64];
    int rotated = 0;
    fws_err err = FWS_OK;

    for (unsigned i = 0; i < c->cfg.max_root_rotations; i++) {
        tuf_buf b;
        snprintf(name, sizeof(name), "%" PRId64 ".root.json", c->md[FWS_TUF_ROOT].version + 1);
        fws_errbuf quiet = {{0}};
        err = tuf_fetch_meta(c, name, c->cfg.root_max, &b, &quiet);
        if (err == FWS_ERR_NOT_FOUND) {
            err = FWS_OK;
            break;
        }
        if (err != FWS_OK)
            return fws_errf(eb, err, "%s", quiet.msg);
        err = accept_root(c, &b, name, &rotated, eb);
        tuf_buf_free(&b);
        if (err != FWS_OK)
            return err;
    }
    if ((err = tuf_check_expiry(c, &c->md[FWS_TUF_ROOT], "root", eb)) != FWS_OK)
        return err;
    if (rotated) {
        /* Fast-forward recovery: versions signed by the old keys must not block new ones. */
        drop_local(c, "timestamp.json");
        drop_local(c, "snapshot.json");
    }
    return FWS_OK;
}

/* ---- timestamp ----------------------------------------------------------------------------- */

static const fws_tuf_role *root_role(fws_tuf_client *c, fws_tuf_kind k)
{
    return &c->root.roles[k];
}

/* A local timestamp or snapshot that still verifies under the trusted root (expired or not),
 * kept for rollback checks. */
static void load_local(fws_tuf_client *c, fws_tuf_kind kind, uint64_t max, fws_tuf_md *out)
{
    uint8_t *data = NULL;
    size_t len = 0;
    char name[32];
    snprintf(name, sizeof(name), "%s.json", fws_tuf_kind_name(kind));
    memset(out, 0, sizeof(*out));
    if (tuf_read_local(c, name, max, &data, &len) != FWS_OK)
        return;
    if (tuf_parse_verified(data, len, max, kind, c->root.keys, root_role(c, kind), name, out,
                           NULL) != FWS_OK)
        memset(out, 0, sizeof(*out));
    free(data);
}

static fws_err snapshot_version_of(const fws_tuf_md *ts, int64_t *v, fws_errbuf *eb)
{
    fws_tuf_metafile mf;
    fws_err err = fws_tuf_metafile_get(ts, "snapshot.json", &mf, eb);
    if (err != FWS_OK)
        return fws_errf(eb, err == FWS_ERR_NOT_FOUND ? FWS_ERR_SCHEMA : err,
                        "timestamp.json names no snapshot.json");
    *v = mf.version;
    return FWS_OK;
}

/* Checks a new, signed timestamp against the trusted one. *keep_old is set when the versions
 * are equal: the new file is discarded and the trusted one stays. */
static fws_err timestamp_rollback(const fws_tuf_md *old, const fws_tuf_md *new_ts, int *keep_old,
                                  fws_errbuf *eb)
{
    int64_t vnew = 0, vold = 0;
    fws_err err = snapshot_version_of(new_ts, &vnew, eb);
    *keep_old = 0;
    if (err != FWS_OK || old->doc == NULL)
        return err;
    if (new_ts->version < old->version)
        return fws_errf(eb, FWS_ERR_ROLLBACK,
                        "timestamp.json version %" PRId64 " is below the trusted %" PRId64,
                        new_ts->version, old->version);
    if (new_ts->version == old->version) {
        *keep_old = 1;
        return FWS_OK;
    }
    if ((err = snapshot_version_of(old, &vold, eb)) != FWS_OK)
        return err;
    if (vnew < vold)
        return fws_errf(eb, FWS_ERR_ROLLBACK,
                        "timestamp.json names snapshot version %" PRId64
                        ", below the trusted %" PRId64,
                        vnew, vold);
    return FWS_OK;
}

static fws_err update_timestamp(fws_tuf_client *c, fws_errbuf *eb)
{
    fws_tuf_md old, m;
    tuf_buf b;
    int keep_old = 0;
    fws_err err;

    load_local(c, FWS_TUF_TIMESTAMP, c->cfg.timestamp_max, &old);
    if ((err = tuf_fetch_meta(c, "timestamp.json", c->cfg.timestamp_max, &b, eb)) != FWS_OK)
        goto out;
    err = tuf_parse_verified(b.data, b.len, c->cfg.timestamp_max, FWS_TUF_TIMESTAMP, c->root.keys,
                             root_role(c, FWS_TUF_TIMESTAMP), "timestamp.json", &m, eb);
    if (err == FWS_OK) {
        err = timestamp_rollback(&old, &m, &keep_old, eb);
        if (err == FWS_OK && !keep_old &&
            (err = tuf_check_expiry(c, &m, "timestamp.json", eb)) == FWS_OK)
            err = tuf_persist(c, "timestamp.json", b.data, b.len, eb);
        if (err == FWS_OK && !keep_old) {
            fws_tuf_md_free(&old);
            old = m;
        } else {
            fws_tuf_md_free(&m);
        }
    }
    tuf_buf_free(&b);
    if (err == FWS_OK)
        err = tuf_check_expiry(c, &old, "timestamp.json", eb);
out:
    if (err == FWS_OK)
        c->md[FWS_TUF_TIMESTAMP] = old;
    else
        fws_tuf_md_free(&old);
    return err;
}

/* ---- snapshot ------------------------------------------------------------------------------ */

/* Every targets file the old snapshot lists must stay listed, at no lower version. */
static fws_err snapshot_rollback(const fws_tuf_md *old, const fws_tuf_md *new_snap, fws_errbuf *eb)
{
    const char *name;
    json_t *v;
    if (old->doc == NULL)
        return FWS_OK;
    json_object_foreach(json_object_get(old->signed_obj, "meta"), name, v)
    {
        fws_tuf_metafile a, b;
        if (fws_tuf_metafile_get(old, name, &a, NULL) != FWS_OK)
            continue;
        fws_err err = fws_tuf_metafile_get(new_snap, name, &b, eb);
        if (err == FWS_ERR_NOT_FOUND)
            return fws_errf(eb, FWS_ERR_ROLLBACK, "snapshot.json no longer lists %.300s", name);
        if (err != FWS_OK)
            return err;
        if (b.version < a.version)
            return fws_errf(eb, FWS_ERR_ROLLBACK,
                            "snapshot.json lists %.300s at version %" PRId64
                            ", below the trusted %" PRId64,
                            name, b.version, a.version);
    }
    return FWS_OK;
}

fws_err tuf_check_metafile(const fws_tuf_metafile *mf, const tuf_buf *b, const char *what,
                           fws_errbuf *eb)
{
    if (mf->length >= 0 && (uint64_t)mf->length != b->len)
        return fws_errf(eb, FWS_ERR_LENGTH, "%s: %zu bytes, the signed length is %" PRId64, what,
                        b->len, mf->length);
    if (mf->hashes != NULL)
        return fws_tuf_hashes_check(mf->hashes, b->data, b->len, what, eb);
    return FWS_OK;
}

static fws_err download_snapshot(fws_tuf_client *c, const fws_tuf_metafile *mf,
                                 const fws_tuf_md *old, fws_tuf_md *out, fws_errbuf *eb)
{
    char name[64];
    uint64_t max = mf->length >= 0 ? (uint64_t)mf->length : c->cfg.snapshot_max;
    tuf_buf b;
    fws_tuf_md m;
    fws_err err;

    if (c->root.consistent_snapshot)
        snprintf(name, sizeof(name), "%" PRId64 ".snapshot.json", mf->version);
    else
        snprintf(name, sizeof(name), "snapshot.json");
    if ((err = tuf_fetch_meta(c, name, max, &b, eb)) != FWS_OK)
        return err;
    if ((err = tuf_check_metafile(mf, &b, name, eb)) == FWS_OK &&
        (err = tuf_parse_verified(b.data, b.len, max, FWS_TUF_SNAPSHOT, c->root.keys,
                                  root_role(c, FWS_TUF_SNAPSHOT), name, &m, eb)) == FWS_OK) {
        if (m.version != mf->version)
            err = fws_errf(eb, FWS_ERR_INCONSISTENT,
                           "%s holds version %" PRId64 ", timestamp.json says %" PRId64, name,
                           m.version, mf->version);
        if (err == FWS_OK)
            err = snapshot_rollback(old, &m, eb);
        if (err == FWS_OK)
            err = tuf_check_expiry(c, &m, name, eb);
        if (err == FWS_OK)
            err = tuf_persist(c, "snapshot.json", b.data, b.len, eb);
        if (err == FWS_OK)
            *out = m;
        else
            fws_tuf_md_free(&m);
    }
    tuf_buf_free(&b);
    return err;
}

static fws_err update_snapshot(fws_tuf_client *c, fws_errbuf *eb)
{
    fws_tuf_metafile mf;
    fws_tuf_md old, m;
    fws_err err = fws_tuf_metafile_get(&c->md[FWS_TUF_TIMESTAMP], "snapshot.json", &mf, eb);
    if (err != FWS_OK)
        return err;
    /* The local copy is read under the larger cap, so a small signed length cannot hide it. */
    load_local(c, FWS_TUF_SNAPSHOT,
               mf.length > (int64_t)c->cfg.snapshot_max ? (uint64_t)mf.length : c->cfg.snapshot_max,
               &old);
    if (old.doc != NULL && old.version == mf.version && old.expires > c->now) {
        c->md[FWS_TUF_SNAPSHOT] = old; /* the trusted copy is current */
        return FWS_OK;
    }
    err = download_snapshot(c, &mf, &old, &m, eb);
    fws_tuf_md_free(&old);
    if (err == FWS_OK)
        c->md[FWS_TUF_SNAPSHOT] = m;
    return err;
}

/* ---- the client ---------------------------------------------------------------------------- */

fws_err fws_tuf_client_init_dir(const char *metadata_dir, const uint8_t *root, size_t len,
                                fws_errbuf *eb)
{
    fws_tuf_md m;
    if (metadata_dir == NULL || (root == NULL && len > 0))
        return FWS_ERR_ARG;
    fws_err err =
        fws_tuf_md_parse(root, len, fws_tuf_client_defaults.root_max, FWS_TUF_ROOT, &m, eb);
    if (err != FWS_OK)
        return fws_errf(eb, err, "trusted root");
    fws_tuf_md_free(&m);
    if ((err = fws_mkdirs(metadata_dir, 0755, eb)) != FWS_OK)
        return err;
    char *p = path_in(metadata_dir, "root.json");
    if (p == NULL)
        return FWS_ERR_NOMEM;
    err = fws_file_write_atomic(p, root, len, 0644, 1, eb);
    free(p);
    return err;
}

fws_err fws_tuf_client_new(const char *metadata_dir, const char *metadata_url,
                           const fws_tuf_client_config *cfg, const fws_tuf_fetcher *fetcher,
                           fws_tuf_client **out, fws_errbuf *eb)
{
    fws_tuf_client *c;
    if (metadata_dir == NULL || metadata_url == NULL || fetcher == NULL || fetcher->fetch == NULL ||
        out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "a metadata directory, URL and fetcher are needed");
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return FWS_ERR_NOMEM;
    c->cfg = cfg != NULL ? *cfg : fws_tuf_client_defaults;
    c->fetcher = fetcher;
    c->dir = strdup(metadata_dir);
    c->url = strdup(metadata_url);
    if (c->dir == NULL || c->url == NULL) {
        fws_tuf_client_free(c);
        return FWS_ERR_NOMEM;
    }
    *out = c;
    return FWS_OK;
}

static void clear_trusted(fws_tuf_client *c)
{
    tuf_search_free(c);
    for (unsigned k = 0; k < FWS_TUF_KIND_COUNT; k++)
        fws_tuf_md_free(&c->md[k]);
    fws_tuf_root_free(&c->root);
    c->refreshed = 0;
}

void fws_tuf_client_free(fws_tuf_client *c)
{
    if (c == NULL)
        return;
    clear_trusted(c);
    free(c->dir);
    free(c->url);
    free(c);
}

fws_err fws_tuf_client_refresh(fws_tuf_client *c, fws_errbuf *eb)
{
    fws_err err;
    if (c == NULL)
        return FWS_ERR_ARG;
    clear_trusted(c);
    c->now = c->cfg.fixed_now != 0 ? c->cfg.fixed_now : (int64_t)time(NULL);
    if ((err = load_trusted_root(c, eb)) != FWS_OK || (err = update_root(c, eb)) != FWS_OK ||
        (err = update_timestamp(c, eb)) != FWS_OK || (err = update_snapshot(c, eb)) != FWS_OK ||
        (err = tuf_load_targets(c, "targets", c->root.keys, root_role(c, FWS_TUF_TARGETS),
                                &c->md[FWS_TUF_TARGETS], eb)) != FWS_OK)
        return err;
    c->refreshed = 1;
    return FWS_OK;
}

int64_t fws_tuf_client_version(const fws_tuf_client *c, fws_tuf_kind kind)
{
    if (c == NULL || (unsigned)kind >= FWS_TUF_KIND_COUNT || c->md[kind].doc == NULL)
        return 0;
    return c->md[kind].version;
}
