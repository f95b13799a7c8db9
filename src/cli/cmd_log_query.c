/* fwseal log get | search: read entries (each checked against the signed checkpoint by an
 * inclusion proof) and find records through the index. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"
#include "fwseal/crypto.h"
#include "fwseal/merkle.h"

/* ---- get ------------------------------------------------------------------------------------ */

static void get_usage(FILE *f)
{
    fprintf(f,
            "usage: fwseal log get --dir LOG [--vkey VKEY] INDEX | FIRST..LAST [--json]\n"
            "\n"
            "Prints entries, each followed by a newline. The checkpoint is verified with VKEY\n"
            "(default: the vkey in LOG/log.json) and every entry printed is proven to be at\n"
            "its index by an inclusion proof built from the tiles. Exit 1 when a check fails.\n");
}

static int parse_range(const char *arg, uint64_t *first, uint64_t *last)
{
    char *end = NULL;
    if (arg[0] < '0' || arg[0] > '9')
        return 0;
    errno = 0;
    *first = strtoull(arg, &end, 10);
    if (errno != 0)
        return 0;
    if (*end == '\0') {
        *last = *first;
        return 1;
    }
    if (strncmp(end, "..", 2) != 0 || end[2] < '0' || end[2] > '9')
        return 0;
    *last = strtoull(end + 2, &end, 10);
    return errno == 0 && *end == '\0' && *last >= *first;
}

typedef struct get_ctx {
    fws_tlog *t;
    fws_checkpoint cp;
    uint8_t *bundle;
    json_t *out; /* --json: array of entries */
} get_ctx;

static fws_err prove_entry(get_ctx *g, uint64_t index, const uint8_t *data, size_t len,
                           fws_errbuf *eb)
{
    uint8_t proof[FWS_MERKLE_MAX_PROOF][FWS_MERKLE_HASH_LEN], leaf[FWS_MERKLE_HASH_LEN];
    size_t n = 0;
    fws_err err =
        fws_tlog_inclusion_proof(g->t, index, g->cp.size, proof, FWS_MERKLE_MAX_PROOF, &n, eb);
    if (err == FWS_OK)
        err = fws_merkle_leaf_hash(&fws_sha256_ops, data, len, leaf);
    if (err == FWS_OK)
        err = fws_merkle_verify_inclusion(&fws_sha256_ops, index, g->cp.size, leaf,
                                          (const uint8_t(*)[FWS_MERKLE_HASH_LEN])proof, n,
                                          g->cp.root);
    if (err != FWS_OK)
        return fws_errf(eb, err, "entry %llu is not proven by the checkpoint",
                        (unsigned long long)index);
    return FWS_OK;
}

static fws_err emit_entry(get_ctx *g, uint64_t index, const uint8_t *data, size_t len)
{
    if (g->out == NULL) {
        fwrite(data, 1, len, stdout);
        fputc('\n', stdout);
        return FWS_OK;
    }
    char *b64 = malloc(FWS_BASE64_LEN(len) + 1);
    uint8_t sha[FWS_SHA256_LEN];
    char hex[2 * FWS_SHA256_LEN + 1];
    if (b64 == NULL)
        return FWS_ERR_NOMEM;
    fws_base64_encode(data, len, b64);
    fws_sha256(data, len, sha);
    fws_hex_encode(sha, sizeof(sha), hex);
    json_array_append_new(g->out, json_pack("{s:I, s:s, s:s}", "index", (json_int_t)index, "sha256",
                                            hex, "base64", b64));
    free(b64);
    return FWS_OK;
}

static fws_err get_range(get_ctx *g, uint64_t first, uint64_t last, fws_errbuf *eb)
{
    fws_bundle_entry e[FWS_TILE_WIDTH];
    fws_err err = FWS_OK;
    if (last >= g->cp.size)
        return fws_errf(eb, FWS_ERR_NOT_FOUND,
                        "index %llu is not in the log (checkpoint size %llu)",
                        (unsigned long long)last, (unsigned long long)g->cp.size);
    for (uint64_t tile = first / FWS_TILE_WIDTH; err == FWS_OK && tile <= last / FWS_TILE_WIDTH;
         tile++) {
        size_t n = 0;
        err = fws_tlog_fetch_bundle(g->t, tile, g->cp.size, g->bundle, FWS_BUNDLE_MAX, e, &n, eb);
        for (size_t i = 0; i < n && err == FWS_OK; i++) {
            uint64_t idx = tile * FWS_TILE_WIDTH + i;
            if (idx < first || idx > last)
                continue;
            err = prove_entry(g, idx, e[i].data, e[i].len, eb);
            if (err == FWS_OK)
                err = emit_entry(g, idx, e[i].data, e[i].len);
        }
    }
    return err;
}

static fws_err get_open(get_ctx *g, const cli_log_source *src, const char *dir,
                        const char *vkey_arg, char *cpbuf, fws_errbuf *eb)
{
    fws_note_vkey vkey;
    fws_ledger_status st;
    fws_note note;
    size_t len = 0;
    fws_err err;
    if (vkey_arg != NULL) {
        err = cli_log_load_vkey(vkey_arg, &vkey, eb);
    } else {
        err = fws_ledger_info(dir, &st, eb);
        if (err == FWS_OK)
            err = fws_note_vkey_parse(st.vkey, strlen(st.vkey), &vkey, eb);
    }
    if (err == FWS_OK)
        err = fws_tlog_open(&src->src, &fws_sha256_ops, &g->t, eb);
    if (err == FWS_OK)
        err = fws_tlog_fetch_checkpoint(g->t, cpbuf, FWS_NOTE_MAX + 1, &len, eb);
    if (err == FWS_OK)
        err = fws_checkpoint_open(cpbuf, len, &vkey, NULL, &note, &g->cp, eb);
    return err;
}

int cmd_log_get(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"vkey", required_argument, NULL, 'v'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *vkey = NULL;
    uint64_t first = 0, last = 0;
    cli_log_source src;
    fws_errbuf eb = {{0}};
    get_ctx g;
    int c, json = 0;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'd') {
            dir = optarg;
        } else if (c == 'v') {
            vkey = optarg;
        } else if (c == 'j') {
            json = 1;
        } else if (c == 'h') {
            get_usage(stdout);
            return CLI_OK;
        } else {
            return cli_usage_error("log get", "unknown option");
        }
    }
    if (dir == NULL || optind != argc - 1 || !parse_range(argv[optind], &first, &last))
        return cli_usage_error("log get", "--dir and one INDEX or FIRST..LAST are required");
    memset(&g, 0, sizeof(g));
    memset(&src, 0, sizeof(src));
    char *cpbuf = malloc(FWS_NOTE_MAX + 1);
    g.bundle = malloc(FWS_BUNDLE_MAX);
    g.out = json ? json_array() : NULL;
    fws_err err = cpbuf && g.bundle ? cli_log_source_open(&src, dir, NULL, &eb) : FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = get_open(&g, &src, dir, vkey, cpbuf, &eb);
    if (err == FWS_OK)
        err = get_range(&g, first, last, &eb);
    fws_tlog_close(g.t);
    cli_log_source_close(&src);
    free(cpbuf);
    free(g.bundle);
    if (err != FWS_OK) {
        json_decref(g.out);
        return cli_report("log get", err, &eb);
    }
    return json ? cli_print_json(g.out) : CLI_OK;
}

/* ---- search --------------------------------------------------------------------------------- */

static void search_usage(FILE *f)
{
    fprintf(f, "usage: fwseal log search --dir LOG [--type TYPE] [--device ID] [--product P]\n"
               "                         [--version V] [--limit N] [--json]\n"
               "\n"
               "Prints the indexes of the records that match every filter given, in order, from\n"
               "the log's index (which sees what appenders have committed; after a crash it\n"
               "catches up at the next append). --version matches a release's version and the\n"
               "toVersion of install and rollback records. Default limit 1000.\n");
}

int cmd_log_search(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"type", required_argument, NULL, 't'},
        {"device", required_argument, NULL, 'D'},
        {"product", required_argument, NULL, 'p'},
        {"version", required_argument, NULL, 'v'},
        {"limit", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    fws_ledger_query q = {0, NULL, NULL, NULL};
    const char *dir = NULL;
    uint64_t limit = 1000, *out;
    fws_errbuf eb = {{0}};
    size_t n = 0;
    int c, json = 0;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 't':
            if (fws_record_type_parse(optarg, &q.type) != FWS_OK)
                return cli_usage_error("log search", "--type: unknown record type '%s'", optarg);
            break;
        case 'D':
            q.device = optarg;
            break;
        case 'p':
            q.product = optarg;
            break;
        case 'v':
            q.version = optarg;
            break;
        case 'l':
            if (cli_parse_size(optarg, &limit) != FWS_OK || limit == 0 || limit > 10000000)
                return cli_usage_error("log search", "--limit: 1 to 10000000");
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            search_usage(stdout);
            return CLI_OK;
        default:
            return cli_usage_error("log search", "unknown option");
        }
    }
    if (dir == NULL || optind != argc)
        return cli_usage_error("log search", "--dir is required");
    out = calloc((size_t)limit, sizeof(*out));
    fws_err err =
        out ? fws_ledger_search(dir, &q, UINT64_MAX, out, (size_t)limit, &n, &eb) : FWS_ERR_NOMEM;
    if (err != FWS_OK) {
        free(out);
        return cli_report("log search", err, &eb);
    }
    json_t *arr = json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        if (arr != NULL)
            json_array_append_new(arr, json_integer((json_int_t)out[i]));
        else
            printf("%llu\n", (unsigned long long)out[i]);
    }
    free(out);
    return arr != NULL ? cli_print_json(json_pack("{s:o}", "indexes", arr)) : CLI_OK;
}
