/* Targets roles: loading them against the snapshot, and the pre-order depth-first search of
 * the delegation graph (specification 5.6.7). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client_internal.h"

#define PATH_MAX_BYTES 4096 /* longest target path searched for */

/* Checks a targets document already verified by signature against its snapshot entry. */
static fws_err check_against_snapshot(fws_tuf_client *c, const fws_tuf_md *m,
                                      const fws_tuf_metafile *mf, const char *what, fws_errbuf *eb)
{
    if (m->version != mf->version)
        return fws_errf(eb, FWS_ERR_INCONSISTENT,
                        "%s holds version %" PRId64 ", snapshot.json says %" PRId64, what,
                        m->version, mf->version);
    return tuf_check_expiry(c, m, what, eb);
}

/* Verifies bytes as the targets role described by mf, ring and role. */
static fws_err verify_targets(fws_tuf_client *c, const tuf_buf *b, uint64_t max,
                              const fws_tuf_metafile *mf, const fws_tuf_keyring *ring,
                              const fws_tuf_role *role, const char *what, fws_tuf_md *out,
                              fws_errbuf *eb)
{
    fws_tuf_md m;
    fws_err err = tuf_check_metafile(mf, b, what, eb);
    if (err == FWS_OK)
        err = tuf_parse_verified(b->data, b->len, max, FWS_TUF_TARGETS, ring, role, what, &m, eb);
    if (err != FWS_OK)
        return err;
    if ((err = check_against_snapshot(c, &m, mf, what, eb)) != FWS_OK) {
        fws_tuf_md_free(&m);
        return err;
    }
    *out = m;
    return FWS_OK;
}

fws_err tuf_load_targets(fws_tuf_client *c, const char *name, const fws_tuf_keyring *ring,
                         const fws_tuf_role *role, fws_tuf_md *out, fws_errbuf *eb)
{
    char meta_name[FWS_TUF_ROLENAME_MAX + 8], enc[3 * FWS_TUF_ROLENAME_MAX + 1];
    char local[sizeof(enc) + 8], remote[sizeof(enc) + 32];
    fws_tuf_metafile mf;
    tuf_buf b = {NULL, 0, 0, 0};
    fws_err err;

    if (strlen(name) > FWS_TUF_ROLENAME_MAX ||
        fws_tuf_name_encode(name, enc, sizeof(enc)) != FWS_OK)
        return fws_errf(eb, FWS_ERR_SCHEMA, "role name too long");
    snprintf(meta_name, sizeof(meta_name), "%s.json", name);
    snprintf(local, sizeof(local), "%s.json", enc);
    err = fws_tuf_metafile_get(&c->md[FWS_TUF_SNAPSHOT], meta_name, &mf, NULL);
    if (err == FWS_ERR_NOT_FOUND)
        return fws_errf(eb, FWS_ERR_INCONSISTENT, "snapshot.json does not list %.300s", meta_name);
    if (err != FWS_OK)
        return fws_tuf_metafile_get(&c->md[FWS_TUF_SNAPSHOT], meta_name, &mf, eb);
    uint64_t max = mf.length >= 0 ? (uint64_t)mf.length : c->cfg.targets_max;

    /* The stored copy is used when it still is exactly what the snapshot names. */
    if (tuf_read_local(c, local, max, &b.data, &b.len) == FWS_OK) {
        err = verify_targets(c, &b, max, &mf, ring, role, local, out, NULL);
        tuf_buf_free(&b);
        if (err == FWS_OK)
            return FWS_OK;
    }
    if (c->root.consistent_snapshot)
        snprintf(remote, sizeof(remote), "%" PRId64 ".%s.json", mf.version, enc);
    else
        snprintf(remote, sizeof(remote), "%s.json", enc);
    if ((err = tuf_fetch_meta(c, remote, max, &b, eb)) != FWS_OK)
        return err;
    err = verify_targets(c, &b, max, &mf, ring, role, remote, out, eb);
    if (err == FWS_OK && (err = tuf_persist(c, local, b.data, b.len, eb)) != FWS_OK)
        fws_tuf_md_free(out);
    tuf_buf_free(&b);
    return err;
}

/* ---- the loaded roles ------------------------------------------------------------------------ */

static fws_err add_role(fws_tuf_client *c, const char *name, fws_tuf_md *md, int owns, size_t *idx,
                        fws_errbuf *eb)
{
    loaded_role r;
    memset(&r, 0, sizeof(r));
    if (c->n_roles == c->cap_roles) {
        size_t ncap = c->cap_roles ? 2 * c->cap_roles : 8;
        loaded_role *p = realloc(c->roles, ncap * sizeof(*p));
        if (p == NULL)
            return FWS_ERR_NOMEM;
        c->roles = p;
        c->cap_roles = ncap;
    }
    fws_err err = fws_tuf_delegations_load(md, &r.deleg, &r.has_deleg, eb);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%.300s", name);
    if ((r.name = strdup(name)) == NULL) {
        fws_tuf_delegations_free(&r.deleg);
        return FWS_ERR_NOMEM;
    }
    r.md = *md;
    r.owns_md = owns;
    c->roles[c->n_roles] = r;
    *idx = c->n_roles++;
    return FWS_OK;
}

void tuf_search_free(fws_tuf_client *c)
{
    for (size_t i = 0; i < c->n_roles; i++) {
        free(c->roles[i].name);
        fws_tuf_delegations_free(&c->roles[i].deleg);
        if (c->roles[i].owns_md)
            fws_tuf_md_free(&c->roles[i].md);
    }
    free(c->roles);
    c->roles = NULL;
    c->n_roles = c->cap_roles = 0;
}

static int find_role(const fws_tuf_client *c, const char *name, size_t *idx)
{
    for (size_t i = 0; i < c->n_roles; i++) {
        if (strcmp(c->roles[i].name, name) == 0) {
            *idx = i;
            return 1;
        }
    }
    return 0;
}

/* ---- the search ------------------------------------------------------------------------------ */

/* A delegation still to visit: the parent role and the delegation's cursor position in it. */
typedef struct pending {
    size_t parent;
    size_t index;
} pending;

typedef struct stack {
    pending *items;
    size_t n, cap, max;
} stack;

static fws_err push(stack *s, pending p)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? 2 * s->cap : 64;
        if (s->cap >= s->max)
            return FWS_ERR_TOO_BIG;
        pending *q = realloc(s->items, ncap * sizeof(*q));
        if (q == NULL)
            return FWS_ERR_NOMEM;
        s->items = q;
        s->cap = ncap;
    }
    s->items[s->n++] = p;
    return FWS_OK;
}

/* Resolves a pending delegation to a loaded role (loading and verifying it if needed). */
static fws_err resolve(fws_tuf_client *c, const char *path, pending p, size_t *idx, fws_errbuf *eb)
{
    fws_tuf_delegation d;
    fws_tuf_md md;
    size_t cursor = p.index;
    const fws_tuf_delegations *pd = &c->roles[p.parent].deleg;
    fws_err err = fws_tuf_delegations_next(pd, path, &cursor, &d);
    if (err != FWS_OK)
        return fws_errf(eb, FWS_ERR_STATE, "delegation vanished");
    if (find_role(c, d.name, idx))
        return FWS_OK;
    if ((err = tuf_load_targets(c, d.name, pd->keys, &d.role, &md, eb)) != FWS_OK)
        return err;
    if ((err = add_role(c, d.name, &md, 1, idx, eb)) != FWS_OK)
        fws_tuf_md_free(&md);
    return err;
}

/* Pushes the role's delegations trusted for path, so the first is popped first. A terminating
 * delegation discards everything still pending (5.6.7.2.1). */
static fws_err push_children(fws_tuf_client *c, size_t idx, const char *path, stack *s)
{
    const loaded_role *r = &c->roles[idx];
    fws_tuf_delegation d;
    size_t cursor = 0, start = s->n;
    fws_err err = FWS_OK;

    if (!r->has_deleg)
        return FWS_OK;
    for (;;) {
        size_t at = cursor;
        if (fws_tuf_delegations_next(&r->deleg, path, &cursor, &d) != FWS_OK)
            break;
        if (d.terminating) {
            /* Keep only this role's children found so far, then this one. */
            memmove(s->items, s->items + start, (s->n - start) * sizeof(pending));
            s->n -= start;
            start = 0;
        }
        if ((err = push(s, (pending){idx, r->deleg.succinct ? 0 : at})) != FWS_OK)
            return err;
        if (d.terminating)
            break;
    }
    /* Reverse this role's children so the first delegation is on top. */
    for (size_t i = start, j = s->n; i + 1 < j; i++, j--) {
        pending t = s->items[i];
        s->items[i] = s->items[j - 1];
        s->items[j - 1] = t;
    }
    return FWS_OK;
}

static fws_err search(fws_tuf_client *c, const char *path, fws_tuf_target *out, fws_errbuf *eb)
{
    stack s = {NULL, 0, 0, (size_t)c->cfg.max_delegations * FWS_TUF_DELEGATIONS_MAX + 64};
    unsigned visited = 0;
    fws_err err = FWS_ERR_NOT_FOUND;

    c->search_gen++;
    if ((err = push(&s, (pending){SIZE_MAX, 0})) != FWS_OK)
        return err;
    err = FWS_ERR_NOT_FOUND;
    while (visited < c->cfg.max_delegations && s.n > 0) {
        pending p = s.items[--s.n];
        size_t idx = 0;
        if (p.parent != SIZE_MAX && (err = resolve(c, path, p, &idx, eb)) != FWS_OK)
            break;
        err = FWS_ERR_NOT_FOUND;
        if (c->roles[idx].visited_gen == c->search_gen)
            continue; /* already visited: a cycle */
        err = fws_tuf_target_get(&c->roles[idx].md, path, out, eb);
        if (err != FWS_ERR_NOT_FOUND)
            break;
        c->roles[idx].visited_gen = c->search_gen;
        visited++;
        if ((err = push_children(c, idx, path, &s)) != FWS_OK)
            break;
        err = FWS_ERR_NOT_FOUND;
    }
    free(s.items);
    if (err == FWS_ERR_NOT_FOUND)
        return fws_errf(eb, err, "no trusted targets role lists %.300s", path);
    return err;
}

fws_err fws_tuf_client_find_target(fws_tuf_client *c, const char *path, fws_tuf_target *out,
                                   fws_errbuf *eb)
{
    fws_err err;
    if (c == NULL || path == NULL || out == NULL)
        return FWS_ERR_ARG;
    if (path[0] == '\0' || strlen(path) > PATH_MAX_BYTES)
        return fws_errf(eb, FWS_ERR_ARG, "target path must be 1 to %d bytes", PATH_MAX_BYTES);
    if (!c->refreshed && (err = fws_tuf_client_refresh(c, eb)) != FWS_OK)
        return err;
    if (c->n_roles == 0) {
        size_t idx = 0;
        err = add_role(c, "targets", &c->md[FWS_TUF_TARGETS], 0, &idx, eb);
        if (err != FWS_OK)
            return err;
    }
    return search(c, path, out, eb);
}
