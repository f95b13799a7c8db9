/* libFuzzer target for target-path handling: PATHPATTERN matching (split at the first NUL into
 * pattern and path), hash-prefix matching, TAP 15 bins and file-name encoding. Properties: no
 * crash; a pattern with no special characters matches exactly itself; the encoding is a single
 * path component that is never "." or "..", and it is injective on the inputs seen together. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/tuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[1024], enc1[3 * 1024 + 1], enc2[3 * 1024 + 1], bin[64];
    if (size >= sizeof(buf))
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *pattern = buf;
    const char *path = strlen(buf) < size ? buf + strlen(buf) + 1 : "";
    int m = fws_tuf_path_match(pattern, path);
    if (strpbrk(pattern, "*?[") == NULL && m != (strcmp(pattern, path) == 0))
        abort();
    (void)fws_tuf_path_hash_match(path, pattern);
    unsigned bits = size > 0 ? (unsigned)(data[0] % 32) + 1 : 1;
    uint32_t idx = fws_tuf_bin_index(bits, path);
    if (bits < 32 && idx >= (1u << bits))
        abort();
    if (fws_tuf_bin_name(pattern, bits, idx, bin, sizeof(bin)) != FWS_OK && strlen(pattern) < 40)
        abort();
    if (fws_tuf_name_encode(pattern, enc1, sizeof(enc1)) != FWS_OK ||
        fws_tuf_name_encode(path, enc2, sizeof(enc2)) != FWS_OK)
        abort();
    if (strchr(enc1, '/') != NULL || strcmp(enc1, ".") == 0 || strcmp(enc1, "..") == 0 ||
        enc1[0] == '.')
        abort();
    if ((strcmp(enc1, enc2) == 0) != (strcmp(pattern, path) == 0))
        abort();
    return 0;
}
