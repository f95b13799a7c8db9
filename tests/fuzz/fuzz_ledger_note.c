/* libFuzzer target for the signed-note, checkpoint, vkey and tile-path parsers.
 * Properties checked on every input that parses:
 *  - a signed note formats back to exactly the input bytes, and that re-parses to the same
 *    text and signature lines;
 *  - a checkpoint (the input itself, or a parsed note's text) formats back to the same bytes;
 *  - a vkey formats to a string that parses to the same key;
 *  - a tile path formats back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/note.h"
#include "fwseal/tiles.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char out[FWS_NOTE_MAX + 2];

static void check_checkpoint(const char *text, size_t len)
{
    fws_checkpoint cp, again;
    size_t olen = 0;
    if (fws_checkpoint_parse(text, len, &cp, NULL) != FWS_OK)
        return;
    if (fws_checkpoint_format(&cp, out, sizeof out, &olen, NULL) != FWS_OK)
        abort();
    if (olen != len || memcmp(out, text, len) != 0)
        abort();
    if (fws_checkpoint_parse(out, olen, &again, NULL) != FWS_OK || again.size != cp.size ||
        memcmp(again.root, cp.root, sizeof cp.root) != 0 || again.ext_len != cp.ext_len)
        abort();
}

static void check_note(const char *in, size_t len)
{
    static fws_note note, again;
    size_t olen = 0;
    if (fws_note_parse(in, len, &note, NULL) != FWS_OK)
        return;
    if (fws_note_format(&note, out, sizeof out, &olen, NULL) != FWS_OK)
        abort();
    if (olen != len || memcmp(out, in, len) != 0)
        abort();
    if (fws_note_parse(out, olen, &again, NULL) != FWS_OK || again.n_sigs != note.n_sigs ||
        again.text_len != note.text_len)
        abort();
    for (size_t i = 0; i < note.n_sigs; i++)
        if (again.sigs[i].key_id != note.sigs[i].key_id ||
            again.sigs[i].name_len != note.sigs[i].name_len ||
            again.sigs[i].sig_b64_len != note.sigs[i].sig_b64_len)
            abort();
    check_checkpoint(note.text, note.text_len);
}

static void check_vkey(const char *in, size_t len)
{
    fws_note_vkey k, again;
    char s[FWS_NOTE_VKEY_MAX];
    size_t slen = 0;
    if (fws_note_vkey_parse(in, len, &k, NULL) != FWS_OK)
        return;
    if (fws_note_vkey_format(&k, s, &slen) != FWS_OK)
        abort();
    if (fws_note_vkey_parse(s, slen, &again, NULL) != FWS_OK || again.key_id != k.key_id ||
        again.type != k.type || again.name_len != k.name_len ||
        memcmp(again.pub, k.pub, sizeof k.pub) != 0 || strcmp(again.name, k.name) != 0)
        abort();
}

static void check_tile_path(const char *in, size_t len)
{
    fws_tile_id id;
    char p[FWS_TILE_PATH_MAX];
    size_t plen = 0;
    if (fws_tile_path_parse(in, len, &id) != FWS_OK)
        return;
    if (fws_tile_path(&id, p, &plen) != FWS_OK || plen != len || memcmp(p, in, len) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    check_note(in, size);
    check_checkpoint(in, size);
    check_vkey(in, size);
    check_tile_path(in, size);
    return 0;
}
