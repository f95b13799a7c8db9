/* C2SP tlog-checkpoint: the note text of a log's signed tree head. */
#include <stdio.h>
#include <string.h>
#include "fwseal/note.h"
#include "fwseal/crypto.h"
#include "noteint.h"

/* Length of the line starting at s (up to, not including, its newline); SIZE_MAX when the
 * line has no newline before end. */
static size_t line_len(const char *s, const char *end)
{
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    return nl == NULL ? SIZE_MAX : (size_t)(nl - s);
}

static fws_err check_ext(const char *ext, size_t len, fws_errbuf *eb)
{
    const char *end = ext + len;
    size_t lineno = 4;

    for (const char *p = ext; p < end; lineno++) {
        size_t l = line_len(p, end);
        if (l == SIZE_MAX)
            return fws_errf(eb, FWS_ERR_FORMAT, "checkpoint line %zu: no final newline", lineno);
        if (l == 0)
            return fws_errf(eb, FWS_ERR_FORMAT, "checkpoint line %zu: empty extension line",
                            lineno);
        p += l + 1;
    }
    return FWS_OK;
}

fws_err fws_checkpoint_parse(const char *text, size_t len, fws_checkpoint *out, fws_errbuf *eb)
{
    fws_checkpoint cp;
    size_t n = 0;

    if (text == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "checkpoint: no input");
    fws_err err = fws_note_text_check(text, len, eb);
    if (err != FWS_OK)
        return err;
    const char *end = text + len;
    size_t l1 = line_len(text, end);
    if (l1 == 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "checkpoint line 1: empty origin");
    if (l1 == SIZE_MAX || l1 > FWS_CHECKPOINT_ORIGIN_MAX)
        return fws_errf(eb, FWS_ERR_FORMAT, "checkpoint line 1: origin missing or over %d bytes",
                        FWS_CHECKPOINT_ORIGIN_MAX);
    const char *s2 = text + l1 + 1;
    size_t l2 = s2 < end ? line_len(s2, end) : SIZE_MAX;
    if (l2 == SIZE_MAX || note_parse_u64(s2, l2, &cp.size) != FWS_OK)
        return fws_errf(eb, FWS_ERR_FORMAT,
                        "checkpoint line 2: tree size is not a canonical "
                        "decimal");
    const char *s3 = s2 + l2 + 1;
    size_t l3 = s3 < end ? line_len(s3, end) : SIZE_MAX;
    if (l3 != FWS_BASE64_LEN(32) ||
        fws_base64_decode(s3, l3, cp.root, sizeof cp.root, &n) != FWS_OK || n != 32)
        return fws_errf(eb, FWS_ERR_FORMAT,
                        "checkpoint line 3: root hash is not base64 of "
                        "32 bytes");
    const char *ext = s3 + l3 + 1;
    err = check_ext(ext, (size_t)(end - ext), eb);
    if (err != FWS_OK)
        return err;
    cp.origin = text;
    cp.origin_len = l1;
    cp.ext = ext < end ? ext : NULL;
    cp.ext_len = (size_t)(end - ext);
    *out = cp;
    return FWS_OK;
}

fws_err fws_checkpoint_format(const fws_checkpoint *cp, char *out, size_t cap, size_t *len,
                              fws_errbuf *eb)
{
    char root[FWS_BASE64_LEN(32) + 1];

    if (cp == NULL || out == NULL || cp->origin == NULL || (cp->ext == NULL && cp->ext_len > 0))
        return fws_errf(eb, FWS_ERR_ARG, "checkpoint format: missing origin");
    if (cp->origin_len == 0 || cp->origin_len > FWS_CHECKPOINT_ORIGIN_MAX ||
        memchr(cp->origin, '\n', cp->origin_len) != NULL)
        return fws_errf(eb, FWS_ERR_FORMAT,
                        "checkpoint format: origin empty, too long or "
                        "multi-line");
    if (cp->ext_len > 0) {
        fws_err err = check_ext(cp->ext, cp->ext_len, eb);
        if (err != FWS_OK)
            return err;
    }
    fws_base64_encode(cp->root, 32, root);
    int n = snprintf(out, cap, "%.*s\n%llu\n%s\n%.*s", (int)cp->origin_len, cp->origin,
                     (unsigned long long)cp->size, root, (int)cp->ext_len,
                     cp->ext_len > 0 ? cp->ext : "");
    if (n < 0 || (size_t)n >= cap)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "checkpoint format: output buffer too small");
    fws_err err = fws_note_text_check(out, (size_t)n, eb);
    if (err != FWS_OK)
        return err;
    if (len != NULL)
        *len = (size_t)n;
    return FWS_OK;
}

fws_err fws_checkpoint_open(const char *unverified, size_t len, const fws_note_vkey *log_key,
                            const char *origin, fws_note *note, fws_checkpoint *cp, fws_errbuf *eb)
{
    fws_note n;
    fws_checkpoint c;

    if (log_key == NULL || note == NULL || cp == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "checkpoint: missing key or output");
    fws_err err = fws_note_parse(unverified, len, &n, eb);
    if (err == FWS_OK)
        err = fws_note_verify(&n, log_key, eb);
    if (err == FWS_OK)
        err = fws_checkpoint_parse(n.text, n.text_len, &c, eb);
    if (err != FWS_OK)
        return err;
    const char *want = origin != NULL ? origin : log_key->name;
    if (strlen(want) != c.origin_len || memcmp(want, c.origin, c.origin_len) != 0)
        return fws_errf(eb, FWS_ERR_KEY_MISMATCH, "checkpoint origin \"%.*s\" is not \"%s\"",
                        (int)(c.origin_len > 200 ? 200 : c.origin_len), c.origin, want);
    *note = n;
    *cp = c;
    return FWS_OK;
}
