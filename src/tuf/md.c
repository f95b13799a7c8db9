/* Metadata documents: the envelope, the common "signed" fields, and typed views. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "fwseal/json.h"

#define MD_MAX_DEPTH 32
#define MD_MAX_STRING (1u << 20)

/* "1.x" or "1.x.y" with decimal components. */
static int spec_version_ok(const char *v)
{
    unsigned parts = 0;
    if (strncmp(v, "1.", 2) != 0)
        return 0;
    for (const char *p = v; *p != '\0'; parts++) {
        if (*p < '0' || *p > '9')
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
        if (*p == '.' && p[1] != '\0')
            p++;
        else if (*p != '\0')
            return 0;
    }
    return parts == 2 || parts == 3;
}

static fws_err check_kind_fields(const json_t *s, fws_tuf_kind kind, fws_errbuf *eb)
{
    json_t *o;
    switch (kind) {
    case FWS_TUF_ROOT: {
        fws_err err = fws_json_get_object(s, "keys", &o, eb);
        if (err == FWS_OK)
            err = fws_json_get_object(s, "roles", &o, eb);
        const json_t *cs = json_object_get(s, "consistent_snapshot");
        if (err == FWS_OK && cs != NULL && !json_is_boolean(cs))
            err = fws_errf(eb, FWS_ERR_SCHEMA, "field \"consistent_snapshot\" must be a boolean");
        return err;
    }
    case FWS_TUF_TIMESTAMP:
    case FWS_TUF_SNAPSHOT:
        return fws_json_get_object(s, "meta", &o, eb);
    case FWS_TUF_TARGETS: {
        fws_err err = fws_json_get_object(s, "targets", &o, eb);
        const json_t *d = json_object_get(s, "delegations");
        if (err == FWS_OK && d != NULL && !json_is_object(d))
            err = fws_errf(eb, FWS_ERR_SCHEMA, "field \"delegations\" must be an object");
        return err;
    }
    default:
        return FWS_ERR_ARG;
    }
}

static fws_err check_signed(fws_tuf_md *m, fws_tuf_kind want, fws_errbuf *eb)
{
    const char *type, *spec, *expires;
    fws_err err;

    if ((err = fws_json_get_string(m->signed_obj, "_type", &type, eb)) != FWS_OK ||
        (err = fws_json_get_string(m->signed_obj, "spec_version", &spec, eb)) != FWS_OK ||
        (err = fws_json_get_int(m->signed_obj, "version", &m->version, eb)) != FWS_OK ||
        (err = fws_json_get_string(m->signed_obj, "expires", &expires, eb)) != FWS_OK)
        return err;
    if (strcmp(type, fws_tuf_kind_name(want)) != 0)
        return fws_errf(eb, FWS_ERR_SCHEMA, "_type is \"%.32s\", expected \"%s\"", type,
                        fws_tuf_kind_name(want));
    if (!spec_version_ok(spec))
        return fws_errf(eb, FWS_ERR_SCHEMA, "spec_version \"%.32s\" is not 1.x.y", spec);
    if (m->version < 1)
        return fws_errf(eb, FWS_ERR_SCHEMA, "version must be at least 1");
    if (fws_tuf_time_parse(expires, &m->expires) != FWS_OK)
        return fws_errf(eb, FWS_ERR_SCHEMA, "expires \"%.40s\" is not YYYY-MM-DDTHH:MM:SSZ",
                        expires);
    m->kind = want;
    return check_kind_fields(m->signed_obj, want, eb);
}

fws_err fws_tuf_md_parse(const uint8_t *unverified, size_t len, size_t max_len, fws_tuf_kind want,
                         fws_tuf_md *out, fws_errbuf *eb)
{
    fws_json_limits lim = fws_json_default_limits;
    fws_tuf_md m;
    json_t *sigs;
    char *bytes = NULL;
    fws_err err;

    if (out == NULL || (unverified == NULL && len > 0) || (unsigned)want >= FWS_TUF_KIND_COUNT)
        return FWS_ERR_ARG;
    if (len > max_len)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%s metadata: %zu bytes, over the %zu-byte cap",
                        fws_tuf_kind_name(want), len, max_len);
    memset(&m, 0, sizeof(m));
    lim.max_bytes = max_len;
    lim.max_depth = MD_MAX_DEPTH;
    lim.max_string = MD_MAX_STRING;
    err = fws_json_parse(unverified, len, FWS_JSON_NO_FLOATS, &lim, &m.doc, eb);
    if (err != FWS_OK)
        return err;
    if (!json_is_object(m.doc)) {
        err = fws_errf(eb, FWS_ERR_SCHEMA, "metadata must be a JSON object");
        goto out;
    }
    if ((err = fws_json_get_array(m.doc, "signatures", &sigs, eb)) != FWS_OK ||
        (err = fws_json_get_object(m.doc, "signed", &m.signed_obj, eb)) != FWS_OK ||
        (err = check_signed(&m, want, eb)) != FWS_OK ||
        (err = fws_tuf_signed_bytes(m.doc, &bytes, &m.signed_len, eb)) != FWS_OK)
        goto out;
    m.signed_bytes = (uint8_t *)bytes;
    *out = m;
    return FWS_OK;
out:
    json_decref(m.doc);
    return err;
}

void fws_tuf_md_free(fws_tuf_md *m)
{
    if (m == NULL)
        return;
    json_decref(m->doc);
    free(m->signed_bytes);
    memset(m, 0, sizeof(*m));
}

fws_err fws_tuf_root_load(const fws_tuf_md *md, fws_tuf_root *out, fws_errbuf *eb)
{
    fws_tuf_root r;
    json_t *roles;
    fws_err err;

    if (md == NULL || out == NULL || md->kind != FWS_TUF_ROOT || md->signed_obj == NULL)
        return FWS_ERR_ARG;
    memset(&r, 0, sizeof(r));
    if ((err = fws_json_get_object(md->signed_obj, "roles", &roles, eb)) != FWS_OK)
        return err;
    for (unsigned k = 0; k < FWS_TUF_KIND_COUNT; k++) {
        const json_t *role = json_object_get(roles, fws_tuf_kind_name((fws_tuf_kind)k));
        if (role == NULL)
            return fws_errf(eb, FWS_ERR_SCHEMA, "root: no \"%s\" role",
                            fws_tuf_kind_name((fws_tuf_kind)k));
        if ((err = fws_tuf_role_parse(role, &r.roles[k], eb)) != FWS_OK)
            return fws_errf(eb, err, "root: role \"%s\"", fws_tuf_kind_name((fws_tuf_kind)k));
    }
    err = fws_tuf_keyring_new(json_object_get(md->signed_obj, "keys"), &r.keys, eb);
    if (err != FWS_OK)
        return err;
    r.consistent_snapshot = json_is_true(json_object_get(md->signed_obj, "consistent_snapshot"));
    *out = r;
    return FWS_OK;
}

void fws_tuf_root_free(fws_tuf_root *r)
{
    if (r == NULL)
        return;
    fws_tuf_keyring_free(r->keys);
    memset(r, 0, sizeof(*r));
}

/* 1 when every usable key of role a (by fingerprint) is a key of role b. */
static int keys_within(const fws_tuf_root *a, const fws_tuf_root *b, fws_tuf_kind kind)
{
    const fws_tuf_role *ra = &a->roles[kind], *rb = &b->roles[kind];
    uint8_t fa[FWS_SHA256_LEN], fb[FWS_SHA256_LEN];
    for (size_t i = 0; i < json_array_size(ra->keyids); i++) {
        const fws_tuf_key *ka =
            fws_tuf_keyring_get(a->keys, json_string_value(json_array_get(ra->keyids, i)));
        int found = 0;
        if (ka == NULL)
            continue;
        fws_tuf_key_fingerprint(ka, fa);
        for (size_t j = 0; j < json_array_size(rb->keyids) && !found; j++) {
            const fws_tuf_key *kb =
                fws_tuf_keyring_get(b->keys, json_string_value(json_array_get(rb->keyids, j)));
            if (kb == NULL)
                continue;
            fws_tuf_key_fingerprint(kb, fb);
            found = memcmp(fa, fb, sizeof(fa)) == 0;
        }
        if (!found)
            return 0;
    }
    return 1;
}

int fws_tuf_root_role_changed(const fws_tuf_root *a, const fws_tuf_root *b, fws_tuf_kind kind)
{
    if (a == NULL || b == NULL || (unsigned)kind >= FWS_TUF_KIND_COUNT)
        return 1;
    if (a->roles[kind].threshold != b->roles[kind].threshold)
        return 1;
    return !keys_within(a, b, kind) || !keys_within(b, a, kind);
}

/* A non-empty object of hex strings. */
static fws_err check_hashes(const json_t *h, fws_errbuf *eb)
{
    const char *alg;
    json_t *v;
    if (!json_is_object(h) || json_object_size(h) == 0)
        return fws_errf(eb, FWS_ERR_SCHEMA, "\"hashes\" must be a non-empty object");
    json_object_foreach((json_t *)h, alg, v)
    {
        if (!json_is_string(v) || !tuf_is_hex(json_string_value(v)))
            return fws_errf(eb, FWS_ERR_SCHEMA, "hash \"%.32s\" must be a hex string", alg);
    }
    return FWS_OK;
}

fws_err fws_tuf_metafile_get(const fws_tuf_md *md, const char *name, fws_tuf_metafile *out,
                             fws_errbuf *eb)
{
    const json_t *meta, *e, *len, *hashes;
    fws_tuf_metafile m;
    fws_err err;

    if (md == NULL || name == NULL || out == NULL || md->signed_obj == NULL)
        return FWS_ERR_ARG;
    meta = json_object_get(md->signed_obj, "meta");
    e = json_object_get(meta, name);
    if (e == NULL)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "%s: no meta entry for %.300s",
                        fws_tuf_kind_name(md->kind), name);
    if ((err = fws_json_get_int(e, "version", &m.version, eb)) != FWS_OK)
        return err;
    if (m.version < 1)
        return fws_errf(eb, FWS_ERR_SCHEMA, "meta %.300s: version must be at least 1", name);
    m.length = -1;
    len = json_object_get(e, "length");
    if (len != NULL && (!json_is_integer(len) || json_integer_value(len) < 0))
        return fws_errf(eb, FWS_ERR_SCHEMA, "meta %.300s: bad length", name);
    if (len != NULL)
        m.length = json_integer_value(len);
    hashes = json_object_get(e, "hashes");
    if (hashes != NULL && (err = check_hashes(hashes, eb)) != FWS_OK)
        return err;
    m.hashes = hashes;
    *out = m;
    return FWS_OK;
}

fws_err fws_tuf_target_get(const fws_tuf_md *targets, const char *path, fws_tuf_target *out,
                           fws_errbuf *eb)
{
    const json_t *e, *custom;
    json_t *hashes;
    int64_t len = 0;
    fws_err err;

    if (targets == NULL || path == NULL || out == NULL || targets->kind != FWS_TUF_TARGETS)
        return FWS_ERR_ARG;
    e = json_object_get(json_object_get(targets->signed_obj, "targets"), path);
    if (e == NULL)
        return FWS_ERR_NOT_FOUND;
    if ((err = fws_json_get_int(e, "length", &len, eb)) != FWS_OK ||
        (err = fws_json_get_object(e, "hashes", &hashes, eb)) != FWS_OK ||
        (err = check_hashes(hashes, eb)) != FWS_OK)
        return fws_errf(eb, err, "target %.300s", path);
    if (len < 0)
        return fws_errf(eb, FWS_ERR_SCHEMA, "target %.300s: negative length", path);
    custom = json_object_get(e, "custom");
    if (custom != NULL && !json_is_object(custom))
        return fws_errf(eb, FWS_ERR_SCHEMA, "target %.300s: custom must be an object", path);
    /* The key string lives in the targets object, which outlives this view. */
    void *iter = json_object_iter_at(json_object_get(targets->signed_obj, "targets"), path);
    out->path = json_object_iter_key(iter);
    out->length = (uint64_t)len;
    out->hashes = hashes;
    out->custom = custom;
    return FWS_OK;
}
