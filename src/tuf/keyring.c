/* A set of TUF keys by key ID: a sorted array searched by binary search. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

typedef struct ring_entry {
    const char *keyid; /* borrowed from the keys object, which outlives the ring */
    fws_tuf_key *key;  /* NULL when unusable */
} ring_entry;

struct fws_tuf_keyring {
    ring_entry *entries;
    size_t n;
};

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const ring_entry *)a)->keyid, ((const ring_entry *)b)->keyid);
}

fws_err fws_tuf_keyring_new(const json_t *keys, fws_tuf_keyring **out, fws_errbuf *eb)
{
    fws_tuf_keyring *r = NULL;
    const char *id;
    json_t *v;

    if (out == NULL)
        return FWS_ERR_ARG;
    if (!json_is_object(keys))
        return fws_errf(eb, FWS_ERR_SCHEMA, "\"keys\" must be an object");
    size_t n = json_object_size(keys);
    if (n > FWS_TUF_KEYS_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "\"keys\": more than %d keys", FWS_TUF_KEYS_MAX);
    r = calloc(1, sizeof(*r));
    if (r == NULL || (n > 0 && (r->entries = calloc(n, sizeof(ring_entry))) == NULL)) {
        free(r);
        return FWS_ERR_NOMEM;
    }
    json_object_foreach((json_t *)keys, id, v)
    {
        if (!json_is_object(v) || strlen(id) == 0 || strlen(id) > FWS_TUF_KEYID_MAX) {
            fws_tuf_keyring_free(r);
            return fws_errf(eb, FWS_ERR_SCHEMA, "\"keys\": entry \"%.64s\" is not a key object",
                            id);
        }
        r->entries[r->n].keyid = id;
        /* A key fwseal cannot use stays in the ring as unusable: its signatures never count. */
        if (fws_tuf_key_from_json(v, &r->entries[r->n].key, NULL) != FWS_OK)
            r->entries[r->n].key = NULL;
        r->n++;
    }
    if (r->n > 1)
        qsort(r->entries, r->n, sizeof(ring_entry), entry_cmp);
    *out = r;
    return FWS_OK;
}

void fws_tuf_keyring_free(fws_tuf_keyring *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        fws_tuf_key_free(r->entries[i].key);
    free(r->entries);
    free(r);
}

const fws_tuf_key *fws_tuf_keyring_get(const fws_tuf_keyring *r, const char *keyid)
{
    if (r == NULL || keyid == NULL || r->n == 0)
        return NULL;
    ring_entry want = {keyid, NULL};
    const ring_entry *e = bsearch(&want, r->entries, r->n, sizeof(ring_entry), entry_cmp);
    return e == NULL ? NULL : e->key;
}
