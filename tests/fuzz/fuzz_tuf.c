/* libFuzzer target for TUF metadata parsing. The first byte picks the kind (root, timestamp,
 * snapshot, targets); the rest is the document. Whatever parses is run through every view the
 * client uses: the root view and its role comparison, meta entries, targets and their hashes,
 * delegations and the roles they trust for a few paths, and threshold verification against the
 * document's own keys. Properties: no crash, no leak, and a document's canonical "signed" bytes
 * re-parse to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "fwseal/tuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_signed_bytes(const fws_tuf_md *m)
{
    json_t *again = NULL;
    if (fws_json_parse(m->signed_bytes, m->signed_len, FWS_JSON_CANONICAL, NULL, &again, NULL) !=
        FWS_OK)
        abort();
    json_decref(again);
}

static void exercise_root(const fws_tuf_md *m)
{
    fws_tuf_root r;
    if (fws_tuf_root_load(m, &r, NULL) != FWS_OK)
        return;
    for (unsigned k = 0; k < FWS_TUF_KIND_COUNT; k++) {
        if (fws_tuf_root_role_changed(&r, &r, (fws_tuf_kind)k))
            abort(); /* a root never differs from itself */
    }
    (void)fws_tuf_verify_role(m->doc, m->signed_bytes, m->signed_len, r.keys,
                              &r.roles[FWS_TUF_ROOT], "root", NULL);
    fws_tuf_root_free(&r);
}

static void exercise_meta(const fws_tuf_md *m)
{
    const char *name;
    json_t *v;
    json_object_foreach(json_object_get(m->signed_obj, "meta"), name, v)
    {
        fws_tuf_metafile mf;
        if (fws_tuf_metafile_get(m, name, &mf, NULL) == FWS_OK && mf.hashes != NULL)
            (void)fws_tuf_hashes_check(mf.hashes, (const uint8_t *)name, strlen(name), name, NULL);
    }
}

static void exercise_targets(const fws_tuf_md *m)
{
    static const char *paths[] = {"a", "a/b.bin", "fw/image-3.bin", ""};
    const char *name;
    json_t *v;
    fws_tuf_delegations d;
    int present = 0;
    json_object_foreach(json_object_get(m->signed_obj, "targets"), name, v)
    {
        fws_tuf_target t;
        if (fws_tuf_target_get(m, name, &t, NULL) == FWS_OK && strcmp(t.path, name) != 0)
            abort();
    }
    if (fws_tuf_delegations_load(m, &d, &present, NULL) != FWS_OK || !present)
        return;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        size_t cursor = 0, n = 0;
        fws_tuf_delegation del;
        while (fws_tuf_delegations_next(&d, paths[i], &cursor, &del) == FWS_OK) {
            if (++n > FWS_TUF_DELEGATIONS_MAX || del.role.threshold < 1)
                abort();
            (void)fws_tuf_verify_role(m->doc, m->signed_bytes, m->signed_len, d.keys, &del.role,
                                      del.name, NULL);
        }
    }
    fws_tuf_delegations_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fws_tuf_md m;
    if (size < 1)
        return 0;
    fws_tuf_kind kind = (fws_tuf_kind)(data[0] % FWS_TUF_KIND_COUNT);
    if (fws_tuf_md_parse(data + 1, size - 1, 1 << 16, kind, &m, NULL) != FWS_OK)
        return 0;
    if (m.kind != kind || m.version < 1)
        abort();
    check_signed_bytes(&m);
    if (kind == FWS_TUF_ROOT)
        exercise_root(&m);
    else if (kind == FWS_TUF_TARGETS)
        exercise_targets(&m);
    else
        exercise_meta(&m);
    fws_tuf_md_free(&m);
    return 0;
}
