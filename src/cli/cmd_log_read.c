/* fwseal log verify | prove | verify-proof | consistency: the read side of the ledger. Everything
 * here works from a log's published tiles (a directory or a URL) and the log's vkey. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"
#include "fwseal/merkle.h"
#include "fwseal/note.h"
#include "fwseal/tiles.h"
#include "fwseal/tlogproof.h"
#include "fwseal/util.h"

#define MAX_WITNESSES 16
#define H FWS_MERKLE_HASH_LEN

typedef struct read_opts {
    const char *vkey, *dir, *url, *origin, *out, *proof, *checkpoint, *entry_out, *file;
    const char *witness[MAX_WITNESSES];
    size_t n_witness;
    long long threshold; /* -1: every witness given */
    uint64_t index, size, from, to;
    int has_index, has_size, has_from, has_to, json, force;
} read_opts;

enum {
    O_VKEY = 1000,
    O_DIR,
    O_URL,
    O_ORIGIN,
    O_OUT,
    O_PROOF,
    O_CHECKPOINT,
    O_ENTRY_OUT,
    O_WITNESS,
    O_THRESHOLD,
    O_INDEX,
    O_SIZE,
    O_FROM,
    O_TO,
    O_JSON,
    O_FORCE,
    O_HELP,
};

static const struct option all_opts[] = {
    {"vkey", required_argument, NULL, O_VKEY},
    {"dir", required_argument, NULL, O_DIR},
    {"url", required_argument, NULL, O_URL},
    {"origin", required_argument, NULL, O_ORIGIN},
    {"out", required_argument, NULL, O_OUT},
    {"proof", required_argument, NULL, O_PROOF},
    {"checkpoint", required_argument, NULL, O_CHECKPOINT},
    {"entry-out", required_argument, NULL, O_ENTRY_OUT},
    {"witness", required_argument, NULL, O_WITNESS},
    {"threshold", required_argument, NULL, O_THRESHOLD},
    {"index", required_argument, NULL, O_INDEX},
    {"size", required_argument, NULL, O_SIZE},
    {"from", required_argument, NULL, O_FROM},
    {"to", required_argument, NULL, O_TO},
    {"json", no_argument, NULL, O_JSON},
    {"force", no_argument, NULL, O_FORCE},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

static int parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* Parses the options of one command; allowed lists the option codes it takes. Returns CLI_OK,
 * -1 after --help, or CLI_ERROR. */
static int parse(const char *what, int argc, char **argv, const int *allowed, int needs_log,
                 void (*usage)(void), read_opts *o)
{
    int c;
    memset(o, 0, sizeof *o);
    o->threshold = -1;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", all_opts, NULL)) != -1) {
        int ok = c == O_HELP || c == O_JSON;
        for (const int *a = allowed; *a != 0 && !ok; a++)
            ok = *a == c;
        if (!ok)
            return cli_usage_error(what, "unknown option");
        uint64_t v = 0;
        if ((c == O_INDEX || c == O_SIZE || c == O_FROM || c == O_TO || c == O_THRESHOLD) &&
            parse_u64(optarg, &v) != 0)
            return cli_usage_error(what, "not a number: '%s'", optarg);
        switch (c) {
        case O_VKEY:
            o->vkey = optarg;
            break;
        case O_DIR:
            o->dir = optarg;
            break;
        case O_URL:
            o->url = optarg;
            break;
        case O_ORIGIN:
            o->origin = optarg;
            break;
        case O_OUT:
            o->out = optarg;
            break;
        case O_PROOF:
            o->proof = optarg;
            break;
        case O_CHECKPOINT:
            o->checkpoint = optarg;
            break;
        case O_ENTRY_OUT:
            o->entry_out = optarg;
            break;
        case O_WITNESS:
            if (o->n_witness == MAX_WITNESSES)
                return cli_usage_error(what, "at most %d --witness keys", MAX_WITNESSES);
            o->witness[o->n_witness++] = optarg;
            break;
        case O_THRESHOLD:
            o->threshold = (long long)(v > MAX_WITNESSES ? MAX_WITNESSES + 1 : v);
            break;
        case O_INDEX:
            o->index = v, o->has_index = 1;
            break;
        case O_SIZE:
            o->size = v, o->has_size = 1;
            break;
        case O_FROM:
            o->from = v, o->has_from = 1;
            break;
        case O_TO:
            o->to = v, o->has_to = 1;
            break;
        case O_JSON:
            o->json = 1;
            break;
        case O_FORCE:
            o->force = 1;
            break;
        default:
            usage();
            return -1;
        }
    }
    if (optind < argc)
        o->file = argv[optind++];
    if (optind < argc)
        return cli_usage_error(what, "unexpected argument '%s'", argv[optind]);
    if (needs_log && (o->dir == NULL) == (o->url == NULL))
        return cli_usage_error(what, "give exactly one of --dir and --url");
    return CLI_OK;
}

static void b64(const uint8_t h[H], char out[FWS_BASE64_LEN(H) + 1])
{
    fws_base64_encode(h, H, out);
}

/* Loads the witness vkeys and the threshold into a policy. */
static fws_err load_witnesses(const read_opts *o, fws_note_vkey *w, size_t *threshold,
                              fws_errbuf *eb)
{
    for (size_t i = 0; i < o->n_witness; i++) {
        fws_err err = cli_log_load_vkey(o->witness[i], &w[i], eb);
        if (err != FWS_OK)
            return err;
    }
    *threshold = o->threshold < 0 ? o->n_witness : (size_t)o->threshold;
    if (*threshold > o->n_witness)
        return fws_errf(eb, FWS_ERR_USAGE, "--threshold %zu but only %zu --witness keys",
                        *threshold, o->n_witness);
    return FWS_OK;
}

/* Opens the log, then fetches its checkpoint and verifies it with the log key. */
typedef struct opened {
    cli_log_source src;
    fws_tlog *log;
    fws_note_vkey key, witnesses[MAX_WITNESSES];
    size_t threshold;
    char cp_text[FWS_NOTE_MAX + 1];
    size_t cp_len;
    fws_note note;
    fws_checkpoint cp;
} opened;

static fws_err open_log(const read_opts *o, opened *x, fws_errbuf *eb)
{
    fws_err err = cli_log_source_open(&x->src, o->dir, o->url, eb);
    if (err == FWS_OK)
        err = fws_tlog_open(&x->src.src, &fws_sha256_ops, &x->log, eb);
    return err;
}

static void close_log(opened *x)
{
    fws_tlog_close(x->log);
    cli_log_source_close(&x->src);
    free(x);
}

static fws_err open_checkpoint(const read_opts *o, opened *x, fws_errbuf *eb)
{
    fws_err err = cli_log_load_vkey(o->vkey, &x->key, eb);
    if (err == FWS_OK)
        err = load_witnesses(o, x->witnesses, &x->threshold, eb);
    if (err == FWS_OK)
        err = fws_tlog_fetch_checkpoint(x->log, x->cp_text, sizeof x->cp_text, &x->cp_len, eb);
    if (err == FWS_OK)
        err = fws_checkpoint_open(x->cp_text, x->cp_len, &x->key, o->origin, &x->note, &x->cp, eb);
    if (err == FWS_OK && x->threshold > 0)
        err = fws_cosig_verify_threshold(&x->note, x->witnesses, o->n_witness, x->threshold, NULL,
                                         eb);
    return err;
}

static int fail_json(int json, const char *what, fws_err err, const fws_errbuf *eb)
{
    if (json)
        cli_print_json(json_pack("{s:b, s:s}", "verified", 0, "error",
                                 eb->msg[0] ? eb->msg : fws_strerror(err)));
    return cli_report(what, err, eb);
}

/* ---- fwseal log verify --------------------------------------------------------------------- */

static void verify_usage(void)
{
    printf("usage: fwseal log verify --vkey VKEY (--dir LOG | --url URL) [--origin ORIGIN]\n"
           "                        [--witness VKEY]... [--threshold K] [--json]\n"
           "\n"
           "Verifies a whole tile-based log: the checkpoint's signature (and origin, the key's\n"
           "name unless --origin), witness cosignatures when --witness keys are given, every\n"
           "entry bundle against its level-0 tile, every higher tile against the tiles below\n"
           "it, and the root recomputed from the entries against the checkpoint. --vkey takes\n"
           "the vkey text or a file holding it. Exit 0 when all hold, 1 naming the first\n"
           "problem, 2 on usage or I/O errors.\n");
}

int cmd_log_verify(int argc, char **argv)
{
    static const int allowed[] = {O_DIR, O_URL, O_VKEY, O_ORIGIN, O_WITNESS, O_THRESHOLD, 0};
    read_opts o;
    fws_errbuf eb = {{0}};
    fws_tlog_audit a;
    char root[FWS_BASE64_LEN(H) + 1];
    int rc = parse("log verify", argc, argv, allowed, 1, verify_usage, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (o.vkey == NULL || o.file != NULL)
        return cli_usage_error("log verify", "--vkey is required and takes no file argument");
    opened *x = calloc(1, sizeof *x);
    fws_err err = x != NULL ? open_log(&o, x, &eb) : FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = open_checkpoint(&o, x, &eb);
    if (err == FWS_OK)
        err = fws_tlog_audit_tiles(x->log, x->cp.size, x->cp.root, &a, &eb);
    if (err != FWS_OK) {
        if (x != NULL)
            close_log(x);
        return fail_json(o.json, "log verify", err, &eb);
    }
    b64(x->cp.root, root);
    if (o.json)
        rc = cli_print_json(json_pack(
            "{s:b, s:s%, s:I, s:s, s:I, s:I, s:I, s:i, s:I}", "verified", 1, "origin", x->cp.origin,
            x->cp.origin_len, "size", (json_int_t)x->cp.size, "root", root, "entries",
            (json_int_t)a.entries, "bundles", (json_int_t)a.bundles, "tiles", (json_int_t)a.tiles,
            "levels", (int)a.levels, "cosignatures_required", (json_int_t)x->threshold));
    else
        printf("OK %.*s: %llu entries checked, %llu tiles on %u levels, root %s\n",
               (int)x->cp.origin_len, x->cp.origin, (unsigned long long)a.entries,
               (unsigned long long)a.tiles, a.levels, root);
    close_log(x);
    return rc;
}

/* ---- fwseal log prove ---------------------------------------------------------------------- */

static void prove_usage(void)
{
    printf("usage: fwseal log prove (--dir LOG | --url URL) --index N --out E.tlog-proof\n"
           "                       [--size S] [--checkpoint FILE] [--vkey VKEY]\n"
           "                       [--entry-out FILE] [--force] [--json]\n"
           "\n"
           "Writes a C2SP tlog-proof for entry N: its inclusion proof, computed from the tiles,\n"
           "and the log's signed checkpoint. The checkpoint is the log's current one, or the\n"
           "one in FILE, or checkpoint.S in the log when --size S names an older size. The\n"
           "proof is checked against the checkpoint's root before it is written (atomically;\n"
           "an existing file is kept unless --force). With --vkey the checkpoint's signature\n"
           "is checked too. --entry-out writes the entry's bytes.\n");
}

/* The signed checkpoint the proof will carry: --checkpoint FILE, else the log's current one,
 * else (for --size S of an older tree) checkpoint.S beside it. */
static fws_err prove_checkpoint_text(const read_opts *o, opened *x, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    char rel[64];
    fws_note note;
    fws_checkpoint cp;

    if (o->checkpoint != NULL) {
        fws_err err = fws_file_read(o->checkpoint, FWS_NOTE_MAX, &data, &len, eb);
        if (err != FWS_OK)
            return err;
        memcpy(x->cp_text, data, len + 1);
        x->cp_len = len;
        free(data);
        return FWS_OK;
    }
    fws_err err = fws_tlog_fetch_checkpoint(x->log, x->cp_text, sizeof x->cp_text, &x->cp_len, eb);
    if (err != FWS_OK || !o->has_size)
        return err;
    if (fws_note_parse(x->cp_text, x->cp_len, &note, NULL) == FWS_OK &&
        fws_checkpoint_parse(note.text, note.text_len, &cp, NULL) == FWS_OK && cp.size == o->size)
        return FWS_OK;
    snprintf(rel, sizeof rel, "checkpoint.%llu", (unsigned long long)o->size);
    fws_errbuf why = {{0}};
    err = x->src.src.fetch(x->src.src.ctx, rel, (uint8_t *)x->cp_text, sizeof x->cp_text - 1,
                           &x->cp_len, &why);
    if (err == FWS_ERR_NOT_FOUND)
        return fws_errf(eb, err,
                        "the log has no signed checkpoint of size %llu (give "
                        "--checkpoint FILE)",
                        (unsigned long long)o->size);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s", why.msg);
    x->cp_text[x->cp_len] = '\0';
    return FWS_OK;
}

/* Parses the carried checkpoint, checking its signature when --vkey is given. */
static fws_err prove_checkpoint(const read_opts *o, opened *x, fws_errbuf *eb)
{
    fws_err err = prove_checkpoint_text(o, x, eb);
    if (err != FWS_OK)
        return err;
    if (o->vkey != NULL) {
        err = cli_log_load_vkey(o->vkey, &x->key, eb);
        if (err == FWS_OK)
            err = fws_checkpoint_open(x->cp_text, x->cp_len, &x->key, o->origin, &x->note, &x->cp,
                                      eb);
        return err;
    }
    err = fws_note_parse(x->cp_text, x->cp_len, &x->note, eb);
    if (err == FWS_OK)
        err = fws_checkpoint_parse(x->note.text, x->note.text_len, &x->cp, eb);
    return err;
}

static fws_err prove(const read_opts *o, opened *x, char *out, size_t *out_len, size_t *n,
                     fws_errbuf *eb)
{
    uint8_t proof[FWS_MERKLE_MAX_PROOF][H], leaf[H], *entry = malloc(FWS_ENTRY_MAX);
    size_t entry_len = 0;
    fws_err err = entry != NULL ? prove_checkpoint(o, x, eb) : FWS_ERR_NOMEM;
    if (err == FWS_OK && o->has_size && x->cp.size != o->size)
        err = fws_errf(eb, FWS_ERR_ARG, "the checkpoint is for size %llu, not %llu",
                       (unsigned long long)x->cp.size, (unsigned long long)o->size);
    if (err == FWS_OK && o->index >= x->cp.size)
        err = fws_errf(eb, FWS_ERR_NOT_FOUND, "entry %llu is not in the tree of %llu",
                       (unsigned long long)o->index, (unsigned long long)x->cp.size);
    if (err == FWS_OK)
        err = fws_tlog_entry(x->log, o->index, x->cp.size, entry, FWS_ENTRY_MAX, &entry_len, eb);
    if (err == FWS_OK)
        err = fws_tlog_inclusion_proof(x->log, o->index, x->cp.size, proof, FWS_MERKLE_MAX_PROOF, n,
                                       eb);
    if (err == FWS_OK)
        err = fws_merkle_leaf_hash(&fws_sha256_ops, entry, entry_len, leaf);
    if (err == FWS_OK &&
        fws_merkle_verify_inclusion(&fws_sha256_ops, o->index, x->cp.size, leaf,
                                    (const uint8_t(*)[H])proof, *n, x->cp.root) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_PROOF,
                       "the tiles do not prove entry %llu under the "
                       "checkpoint's root",
                       (unsigned long long)o->index);
    if (err == FWS_OK)
        err = fws_tlog_proof_create(o->index, (const uint8_t(*)[H])proof, *n, x->cp_text, x->cp_len,
                                    NULL, 0, out, FWS_TLOG_PROOF_MAX + 1, out_len, eb);
    if (err == FWS_OK)
        err = fws_file_write_atomic(o->out, out, *out_len, 0644, o->force, eb);
    if (err == FWS_OK && o->entry_out != NULL)
        err = fws_file_write_atomic(o->entry_out, entry, entry_len, 0644, o->force, eb);
    free(entry);
    return err;
}

int cmd_log_prove(int argc, char **argv)
{
    static const int allowed[] = {O_DIR,  O_URL,    O_INDEX,     O_SIZE,  O_OUT, O_CHECKPOINT,
                                  O_VKEY, O_ORIGIN, O_ENTRY_OUT, O_FORCE, 0};
    read_opts o;
    fws_errbuf eb = {{0}};
    size_t len = 0, n = 0;
    int rc = parse("log prove", argc, argv, allowed, 1, prove_usage, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (!o.has_index || o.out == NULL || o.file != NULL)
        return cli_usage_error("log prove", "--index and --out are required");
    opened *x = calloc(1, sizeof *x);
    char *out = malloc(FWS_TLOG_PROOF_MAX + 1);
    fws_err err = x != NULL && out != NULL ? open_log(&o, x, &eb) : FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = prove(&o, x, out, &len, &n, &eb);
    free(out);
    if (err != FWS_OK) {
        if (x != NULL)
            close_log(x);
        return cli_report("log prove", err, &eb);
    }
    if (o.json)
        rc = cli_print_json(json_pack("{s:s, s:I, s:I, s:I}", "proof", o.out, "index",
                                      (json_int_t)o.index, "size", (json_int_t)x->cp.size, "hashes",
                                      (json_int_t)n));
    else
        printf("wrote %s: entry %llu of %llu, %zu proof hashes\n", o.out,
               (unsigned long long)o.index, (unsigned long long)x->cp.size, n);
    close_log(x);
    return rc;
}

/* ---- fwseal log verify-proof ---------------------------------------------------------------- */

static void verify_proof_usage(void)
{
    printf("usage: fwseal log verify-proof --vkey VKEY --proof E.tlog-proof [--origin ORIGIN]\n"
           "                              [--witness VKEY]... [--threshold K] [--json] ENTRY\n"
           "\n"
           "Verifies offline that the bytes of ENTRY (for a record, its canonical JSON file)\n"
           "are in the log: the proof's checkpoint is signed by VKEY for the log's origin,\n"
           "cosigned by K of the --witness keys when given, and its inclusion proof leads\n"
           "from ENTRY's leaf hash to the checkpoint's root. Exit 0 when all hold, 1 when a\n"
           "check fails, 2 on usage or I/O errors.\n");
}

int cmd_log_verify_proof(int argc, char **argv)
{
    static const int allowed[] = {O_VKEY, O_PROOF, O_ORIGIN, O_WITNESS, O_THRESHOLD, 0};
    read_opts o;
    fws_errbuf eb = {{0}};
    uint8_t *proof = NULL, *entry = NULL;
    size_t proof_len = 0, entry_len = 0;
    fws_checkpoint cp;
    int rc = parse("log verify-proof", argc, argv, allowed, 0, verify_proof_usage, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (o.vkey == NULL || o.proof == NULL || o.file == NULL)
        return cli_usage_error("log verify-proof", "--vkey, --proof and an ENTRY file are "
                                                   "required");
    opened *x = calloc(1, sizeof *x);
    fws_err err = x != NULL ? cli_log_load_vkey(o.vkey, &x->key, &eb) : FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = load_witnesses(&o, x->witnesses, &x->threshold, &eb);
    if (err == FWS_OK)
        err = fws_file_read(o.proof, FWS_TLOG_PROOF_MAX, &proof, &proof_len, &eb);
    if (err == FWS_OK)
        err = fws_file_read(o.file, FWS_ENTRY_MAX, &entry, &entry_len, &eb);
    if (err == FWS_OK) {
        fws_tlog_policy pol = {&x->key, o.origin, x->witnesses, o.n_witness, x->threshold};
        err =
            fws_tlog_proof_verify((const char *)proof, proof_len, entry, entry_len, &pol, &cp, &eb);
    }
    free(x);
    free(entry);
    if (err != FWS_OK) {
        free(proof);
        return fail_json(o.json, "log verify-proof", err, &eb);
    }
    char root[FWS_BASE64_LEN(H) + 1];
    fws_tlog_proof parsed;
    b64(cp.root, root);
    if (fws_tlog_proof_parse((const char *)proof, proof_len, &parsed, NULL) != FWS_OK)
        parsed.index = 0;
    if (o.json)
        rc = cli_print_json(json_pack("{s:b, s:s, s:s%, s:I, s:I, s:s}", "verified", 1, "entry",
                                      o.file, "origin", cp.origin, cp.origin_len, "index",
                                      (json_int_t)parsed.index, "size", (json_int_t)cp.size, "root",
                                      root));
    else
        printf("OK %s is entry %llu of %.*s (tree size %llu)\n", o.file,
               (unsigned long long)parsed.index, (int)cp.origin_len, cp.origin,
               (unsigned long long)cp.size);
    free(proof);
    return rc;
}

/* ---- fwseal log consistency ---------------------------------------------------------------- */

static void consistency_usage(void)
{
    printf("usage: fwseal log consistency (--dir LOG | --url URL) --from A [--to B] [--json]\n"
           "\n"
           "Prints the consistency proof from tree size A to tree size B (default: the size of\n"
           "the log's current checkpoint), computed from the tiles: base64 hashes, one per\n"
           "line (none when A is 0 or equal to B). The proof is checked against the roots the\n"
           "tiles give for A and B before it is printed.\n");
}

static fws_err consistency(const read_opts *o, opened *x, uint64_t to, uint8_t r1[H], uint8_t r2[H],
                           uint8_t proof[][H], size_t *n, fws_errbuf *eb)
{
    if (o->from > to)
        return fws_errf(eb, FWS_ERR_USAGE, "--from %llu is larger than --to %llu",
                        (unsigned long long)o->from, (unsigned long long)to);
    fws_err err = fws_tlog_root(x->log, o->from, r1, eb);
    if (err == FWS_OK)
        err = fws_tlog_root(x->log, to, r2, eb);
    if (err == FWS_OK)
        err = fws_tlog_consistency_proof(x->log, o->from, to, proof, FWS_MERKLE_MAX_PROOF, n, eb);
    if (err == FWS_OK && o->from > 0 &&
        fws_merkle_verify_consistency(&fws_sha256_ops, o->from, to, r1, r2,
                                      (const uint8_t(*)[H])proof, *n) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_INCONSISTENT,
                       "the tiles' trees of %llu and %llu are not "
                       "consistent",
                       (unsigned long long)o->from, (unsigned long long)to);
    return err;
}

int cmd_log_consistency(int argc, char **argv)
{
    static const int allowed[] = {O_DIR, O_URL, O_FROM, O_TO, 0};
    read_opts o;
    fws_errbuf eb = {{0}};
    uint8_t proof[FWS_MERKLE_MAX_PROOF][H], r1[H], r2[H];
    size_t n = 0;
    char h[FWS_BASE64_LEN(H) + 1];
    int rc = parse("log consistency", argc, argv, allowed, 1, consistency_usage, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (!o.has_from || o.file != NULL)
        return cli_usage_error("log consistency", "--from is required");
    opened *x = calloc(1, sizeof *x);
    fws_err err = x != NULL ? open_log(&o, x, &eb) : FWS_ERR_NOMEM;
    uint64_t to = o.to;
    if (err == FWS_OK && !o.has_to) {
        err = fws_tlog_fetch_checkpoint(x->log, x->cp_text, sizeof x->cp_text, &x->cp_len, &eb);
        if (err == FWS_OK)
            err = fws_note_parse(x->cp_text, x->cp_len, &x->note, &eb);
        if (err == FWS_OK)
            err = fws_checkpoint_parse(x->note.text, x->note.text_len, &x->cp, &eb);
        to = x->cp.size;
    }
    if (err == FWS_OK)
        err = consistency(&o, x, to, r1, r2, proof, &n, &eb);
    if (err != FWS_OK) {
        if (x != NULL)
            close_log(x);
        return cli_report("log consistency", err, &eb);
    }
    json_t *arr = o.json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        b64(proof[i], h);
        if (arr != NULL)
            json_array_append_new(arr, json_string(h));
        else
            printf("%s\n", h);
    }
    if (arr != NULL) {
        char a[FWS_BASE64_LEN(H) + 1], b[FWS_BASE64_LEN(H) + 1];
        b64(r1, a);
        b64(r2, b);
        rc = cli_print_json(json_pack("{s:I, s:I, s:s, s:s, s:o}", "from", (json_int_t)o.from, "to",
                                      (json_int_t)to, "root_from", a, "root_to", b, "proof", arr));
    }
    close_log(x);
    return rc;
}
