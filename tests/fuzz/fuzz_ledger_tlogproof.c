/* libFuzzer target for the tlog-proof and entry-bundle parsers.
 * Properties checked on every input that parses:
 *  - a tlog-proof formats back to exactly the input bytes and re-parses to the same index,
 *    hashes and checkpoint;
 *  - an entry bundle's entries lie inside the input, in order, and re-encode to the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/tiles.h"
#include "fwseal/tlogproof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char out[FWS_TLOG_PROOF_MAX + 64];
static uint8_t bundle[FWS_BUNDLE_MAX];

static void check_proof(const char *in, size_t len)
{
    static fws_tlog_proof p, again;
    size_t olen = 0;
    if (fws_tlog_proof_parse(in, len, &p, NULL) != FWS_OK)
        return;
    if (fws_tlog_proof_format(&p, out, sizeof out, &olen, NULL) != FWS_OK)
        abort();
    if (olen != len || memcmp(out, in, len) != 0)
        abort();
    if (fws_tlog_proof_parse(out, olen, &again, NULL) != FWS_OK || again.index != p.index ||
        again.n_hashes != p.n_hashes ||
        memcmp(again.hashes, p.hashes, p.n_hashes * sizeof p.hashes[0]) != 0 ||
        again.checkpoint_len != p.checkpoint_len || again.extra_b64_len != p.extra_b64_len)
        abort();
}

static void check_bundle(const uint8_t *data, size_t size)
{
    fws_bundle_entry e[FWS_TILE_WIDTH];
    size_t want = size > 0 ? (size_t)data[0] + 1 : 1;
    size_t len = 0;
    if (size == 0 || fws_bundle_parse(data + 1, size - 1, want, e, NULL) != FWS_OK)
        return;
    for (size_t i = 0; i < want; i++)
        if (fws_bundle_append(bundle, sizeof bundle, &len, e[i].data, e[i].len) != FWS_OK)
            abort();
    if (len != size - 1 || memcmp(bundle, data + 1, len) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_proof((const char *)data, size);
    check_bundle(data, size);
    return 0;
}
