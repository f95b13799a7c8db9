/* C2SP tlog-proof bundles: strict parsing, formatting, creation and offline verification. */
#include <stdio.h>
#include <string.h>
#include "fwseal/tlogproof.h"
#include "fwseal/crypto.h"
#include "noteint.h"

#define HEADER FWS_TLOG_PROOF_HEADER
#define HEADER_LEN (sizeof HEADER - 1)
#define HASH_B64_LEN FWS_BASE64_LEN(FWS_MERKLE_HASH_LEN)

/* The line starting at *pos: its length (without the newline); -1 when there is no newline. */
static int next_line(const char *s, size_t len, size_t pos, size_t *l)
{
    const char *nl = pos < len ? memchr(s + pos, '\n', len - pos) : NULL;
    if (nl == NULL)
        return -1;
    *l = (size_t)(nl - (s + pos));
    return 0;
}

static fws_err parse_extra(const char *s, size_t l, size_t lineno, fws_tlog_proof *p,
                           fws_errbuf *eb)
{
    uint8_t buf[FWS_TLOG_PROOF_EXTRA_MAX];
    size_t n = 0;
    const char *b64 = s + 6;
    size_t b64_len = l - 6;

    if (b64_len == 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "tlog-proof line %zu: empty extra data", lineno);
    if (b64_len > FWS_BASE64_LEN(FWS_TLOG_PROOF_EXTRA_MAX))
        return fws_errf(eb, FWS_ERR_TOO_BIG, "tlog-proof line %zu: extra data over %d bytes",
                        lineno, FWS_TLOG_PROOF_EXTRA_MAX);
    if (fws_base64_decode(b64, b64_len, buf, sizeof buf, &n) != FWS_OK)
        return fws_errf(eb, FWS_ERR_FORMAT, "tlog-proof line %zu: extra data is not base64",
                        lineno);
    p->extra_b64 = b64;
    p->extra_b64_len = b64_len;
    return FWS_OK;
}

static fws_err parse_hashes(const char *s, size_t len, size_t *pos, size_t *lineno,
                            fws_tlog_proof *p, fws_errbuf *eb)
{
    size_t l = 0, n = 0;

    for (;;) {
        if (next_line(s, len, *pos, &l) != 0)
            return fws_errf(eb, FWS_ERR_FORMAT,
                            "tlog-proof line %zu: no empty line before the "
                            "checkpoint",
                            *lineno);
        if (l == 0)
            break;
        if (p->n_hashes == FWS_MERKLE_MAX_PROOF)
            return fws_errf(eb, FWS_ERR_TOO_BIG, "tlog-proof: more than %d proof hashes",
                            FWS_MERKLE_MAX_PROOF);
        if (l != HASH_B64_LEN ||
            fws_base64_decode(s + *pos, l, p->hashes[p->n_hashes], FWS_MERKLE_HASH_LEN, &n) !=
                FWS_OK ||
            n != FWS_MERKLE_HASH_LEN)
            return fws_errf(eb, FWS_ERR_FORMAT, "tlog-proof line %zu: not a base64 SHA-256 hash",
                            *lineno);
        p->n_hashes++;
        *pos += l + 1;
        (*lineno)++;
    }
    *pos += 1; /* the empty line */
    (*lineno)++;
    return FWS_OK;
}

fws_err fws_tlog_proof_parse(const char *unverified, size_t len, fws_tlog_proof *out,
                             fws_errbuf *eb)
{
    fws_tlog_proof p;
    fws_note note;
    size_t pos = 0, l = 0, lineno = 1;

    if (unverified == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "tlog-proof: no input");
    if (len > FWS_TLOG_PROOF_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "tlog-proof over %d bytes", FWS_TLOG_PROOF_MAX);
    memset(&p, 0, sizeof p);
    if (next_line(unverified, len, 0, &l) != 0 || l != HEADER_LEN ||
        memcmp(unverified, HEADER, HEADER_LEN) != 0)
        return fws_errf(eb, FWS_ERR_FORMAT, "tlog-proof line 1: expected \"%s\"", HEADER);
    pos = l + 1;
    lineno++;
    if (next_line(unverified, len, pos, &l) == 0 && l >= 6 &&
        memcmp(unverified + pos, "extra ", 6) == 0) {
        fws_err err = parse_extra(unverified + pos, l, lineno, &p, eb);
        if (err != FWS_OK)
            return err;
        pos += l + 1;
        lineno++;
    }
    if (next_line(unverified, len, pos, &l) != 0 || l < 7 ||
        memcmp(unverified + pos, "index ", 6) != 0 ||
        note_parse_u64(unverified + pos + 6, l - 6, &p.index) != FWS_OK)
        return fws_errf(eb, FWS_ERR_FORMAT, "tlog-proof line %zu: expected \"index <decimal>\"",
                        lineno);
    pos += l + 1;
    lineno++;
    fws_err err = parse_hashes(unverified, len, &pos, &lineno, &p, eb);
    if (err != FWS_OK)
        return err;
    fws_errbuf nerr = {{0}};
    err = fws_note_parse(unverified + pos, len - pos, &note, &nerr);
    if (err != FWS_OK)
        return fws_errf(eb, err, "tlog-proof line %zu: checkpoint: %s", lineno, nerr.msg);
    p.checkpoint = unverified + pos;
    p.checkpoint_len = len - pos;
    *out = p;
    return FWS_OK;
}

fws_err fws_tlog_proof_format(const fws_tlog_proof *p, char *out, size_t cap, size_t *len,
                              fws_errbuf *eb)
{
    char h[HASH_B64_LEN + 1];
    size_t pos = 0;

    if (p == NULL || out == NULL || p->checkpoint == NULL || p->n_hashes > FWS_MERKLE_MAX_PROOF ||
        (p->extra_b64 == NULL && p->extra_b64_len > 0))
        return fws_errf(eb, FWS_ERR_ARG, "tlog-proof format: incomplete proof");
    size_t need = HEADER_LEN + 1 + (p->extra_b64 != NULL ? 6 + p->extra_b64_len + 1 : 0) + 6 + 20 +
                  1 + p->n_hashes * (HASH_B64_LEN + 1) + 1 + p->checkpoint_len + 1;
    if (need > cap)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "tlog-proof format: needs up to %zu bytes", need);
    int n = p->extra_b64 != NULL ? snprintf(out, cap, "%s\nextra %.*s\n", HEADER,
                                            (int)p->extra_b64_len, p->extra_b64)
                                 : snprintf(out, cap, "%s\n", HEADER);
    pos = (size_t)n;
    pos += (size_t)snprintf(out + pos, cap - pos, "index %llu\n", (unsigned long long)p->index);
    for (size_t i = 0; i < p->n_hashes; i++) {
        fws_base64_encode(p->hashes[i], FWS_MERKLE_HASH_LEN, h);
        memcpy(out + pos, h, HASH_B64_LEN);
        pos += HASH_B64_LEN;
        out[pos++] = '\n';
    }
    out[pos++] = '\n';
    memcpy(out + pos, p->checkpoint, p->checkpoint_len);
    pos += p->checkpoint_len;
    out[pos] = '\0';
    if (len != NULL)
        *len = pos;
    return FWS_OK;
}

fws_err fws_tlog_proof_create(uint64_t index, const uint8_t hashes[][FWS_MERKLE_HASH_LEN],
                              size_t n_hashes, const char *checkpoint, size_t checkpoint_len,
                              const uint8_t *extra, size_t extra_len, char *out, size_t cap,
                              size_t *len, fws_errbuf *eb)
{
    fws_tlog_proof p;
    fws_note note;
    char extra_b64[FWS_BASE64_LEN(FWS_TLOG_PROOF_EXTRA_MAX) + 1];

    if ((hashes == NULL && n_hashes > 0) || checkpoint == NULL || (extra == NULL && extra_len > 0))
        return fws_errf(eb, FWS_ERR_ARG, "tlog-proof create: missing parts");
    if (n_hashes > FWS_MERKLE_MAX_PROOF || extra_len > FWS_TLOG_PROOF_EXTRA_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG,
                        "tlog-proof create: too many hashes or too much "
                        "extra data");
    fws_err err = fws_note_parse(checkpoint, checkpoint_len, &note, eb);
    if (err != FWS_OK)
        return err;
    memset(&p, 0, sizeof p);
    p.index = index;
    p.n_hashes = n_hashes;
    if (n_hashes > 0)
        memcpy(p.hashes, hashes, n_hashes * FWS_MERKLE_HASH_LEN);
    p.checkpoint = checkpoint;
    p.checkpoint_len = checkpoint_len;
    if (extra != NULL && extra_len > 0) {
        p.extra_b64_len = fws_base64_encode(extra, extra_len, extra_b64);
        p.extra_b64 = extra_b64;
    }
    return fws_tlog_proof_format(&p, out, cap, len, eb);
}

fws_err fws_tlog_proof_verify(const char *unverified_proof, size_t len, const uint8_t *entry,
                              size_t entry_len, const fws_tlog_policy *policy, fws_checkpoint *cp,
                              fws_errbuf *eb)
{
    fws_tlog_proof p;
    fws_note note;
    fws_checkpoint c;
    uint8_t leaf[FWS_MERKLE_HASH_LEN];

    if (policy == NULL || policy->log_key == NULL || (entry == NULL && entry_len > 0))
        return fws_errf(eb, FWS_ERR_ARG, "tlog-proof verify: no log key or entry");
    fws_err err = fws_tlog_proof_parse(unverified_proof, len, &p, eb);
    if (err == FWS_OK)
        err = fws_checkpoint_open(p.checkpoint, p.checkpoint_len, policy->log_key, policy->origin,
                                  &note, &c, eb);
    if (err == FWS_OK && policy->witness_threshold > 0)
        err = fws_cosig_verify_threshold(&note, policy->witnesses, policy->n_witnesses,
                                         policy->witness_threshold, NULL, eb);
    if (err != FWS_OK)
        return err;
    if (p.index >= c.size)
        return fws_errf(eb, FWS_ERR_PROOF, "tlog-proof: index %llu is not in a tree of %llu",
                        (unsigned long long)p.index, (unsigned long long)c.size);
    err = fws_merkle_leaf_hash(&fws_sha256_ops, entry, entry_len, leaf);
    if (err != FWS_OK)
        return fws_errf(eb, err, "tlog-proof: hashing the entry failed");
    err = fws_merkle_verify_inclusion(&fws_sha256_ops, p.index, c.size, leaf,
                                      (const uint8_t(*)[FWS_MERKLE_HASH_LEN])p.hashes, p.n_hashes,
                                      c.root);
    if (err != FWS_OK)
        return fws_errf(eb, err,
                        "tlog-proof: the entry is not proven at index %llu of the tree "
                        "of %llu",
                        (unsigned long long)p.index, (unsigned long long)c.size);
    if (cp != NULL)
        *cp = c;
    return FWS_OK;
}
