/* fwseal log init | append | checkpoint: the write side of the ledger. */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"
#include "fwseal/util.h"

/* ---- init ---------------------------------------------------------------------------------- */

static void init_usage(FILE *f)
{
    fprintf(f, "usage: fwseal log init --dir LOG --origin ORIGIN --key LOGKEY.pem [--any-entries]\n"
               "                       [--passphrase-file F] [--json]\n"
               "\n"
               "Creates a log in LOG (new or empty): log.json, the tree state, the index and a\n"
               "signed checkpoint of size 0. ORIGIN names the log (e.g. example.com/firmware) and\n"
               "its Ed25519 key (LOGKEY.pem, whose path is kept in log.json). Prints the log's\n"
               "vkey, which verifiers need. A log accepts only valid records (docs/FORMATS.md)\n"
               "unless --any-entries makes it a plain transparency log of any bytes.\n");
}

int cmd_log_init(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"origin", required_argument, NULL, 'o'},
        {"key", required_argument, NULL, 'k'},
        {"any-entries", no_argument, NULL, 'a'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *passfile = NULL, *key = NULL;
    fws_ledger_config cfg = {NULL, NULL, 0};
    char keyref[PATH_MAX], vkey[FWS_NOTE_VKEY_MAX];
    fws_signer signer;
    fws_errbuf eb = {{0}};
    int c, json = 0;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'o')
            cfg.origin = optarg;
        else if (c == 'k')
            key = optarg;
        else if (c == 'a')
            cfg.any_entries = 1;
        else if (c == 'p')
            passfile = optarg;
        else if (c == 'j')
            json = 1;
        else if (c == 'h') {
            init_usage(stdout);
            return CLI_OK;
        } else
            return cli_usage_error("log init", "unknown option");
    }
    if (optind != argc || dir == NULL || cfg.origin == NULL || key == NULL)
        return cli_usage_error("log init", "--dir, --origin and --key are required");
    if (realpath(key, keyref) == NULL)
        return cli_usage_error("log init", "--key: %s: no such file", key);
    cfg.key_ref = keyref;
    fws_err err = cli_log_load_signer(key, passfile, &signer, &eb);
    if (err != FWS_OK)
        return cli_report("log init", err, &eb);
    err = fws_ledger_create(dir, &cfg, &signer, vkey, &eb);
    fws_signer_free(&signer);
    if (err != FWS_OK)
        return cli_report("log init", err, &eb);
    if (json)
        return cli_print_json(json_pack("{s:s, s:s, s:s, s:b}", "dir", dir, "origin", cfg.origin,
                                        "vkey", vkey, "anyEntries", cfg.any_entries));
    printf("%s\n", vkey);
    return CLI_OK;
}

/* ---- shared: open a log with its key ----------------------------------------------------------
 */

typedef struct log_handle {
    fws_ledger *l;
    fws_signer signer;
    int have_signer;
} log_handle;

static void handle_close(log_handle *h)
{
    fws_ledger_close(h->l);
    if (h->have_signer)
        fws_signer_free(&h->signer);
    memset(h, 0, sizeof(*h));
}

static fws_err handle_key(log_handle *h, const char *key, const char *passfile, fws_errbuf *eb)
{
    fws_ledger_status st;
    fws_ledger_get_status(h->l, &st);
    fws_err err = cli_log_load_signer(key ? key : st.key_ref, passfile, &h->signer, eb);
    if (err != FWS_OK)
        return err;
    h->have_signer = 1;
    return fws_ledger_set_signer(h->l, &h->signer, eb);
}

/* ---- append -----------------------------------------------------------------------------------
 */

static void append_usage(FILE *f)
{
    fprintf(f,
            "usage: fwseal log append --dir LOG [RECORD.json | -] [--lines] [--batch N]\n"
            "                         [--key LOGKEY.pem] [--passphrase-file F] [--no-checkpoint]\n"
            "                         [--wait SECONDS] [--json]\n"
            "\n"
            "Appends one record (a file, or - for standard input) and prints its index once it\n"
            "is durable. With --lines every non-empty line of the input is one entry (bulk\n"
            "import), appended in batches of N lines (default 4096); after each durable batch\n"
            "one output line gives its indexes, \"FIRST..LAST\" (or one index per line when the\n"
            "batch held duplicates). A record already in the log keeps its index. A record log\n"
            "stores each record's canonical JSON and rejects invalid records (the whole batch);\n"
            "the cap is 65535 bytes per entry (entry bundles store 16-bit lengths). A checkpoint\n"
            "is signed at least every second while batches arrive and at the end, with the key\n"
            "named in log.json (or --key). --wait: how long to wait for another appender.\n");
}

typedef struct append_opts {
    const char *dir, *input, *key, *passfile;
    int lines, json, no_checkpoint;
    size_t batch;
    unsigned wait_ms;
} append_opts;

static int append_parse(int argc, char **argv, append_opts *o)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"lines", no_argument, NULL, 'l'},
        {"batch", required_argument, NULL, 'b'},
        {"key", required_argument, NULL, 'k'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"no-checkpoint", no_argument, NULL, 'n'},
        {"wait", required_argument, NULL, 'w'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    uint64_t v;
    int c;
    memset(o, 0, sizeof(*o));
    o->batch = 4096;
    o->wait_ms = 60000;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->dir = optarg;
            break;
        case 'l':
            o->lines = 1;
            break;
        case 'b':
            if (cli_parse_size(optarg, &v) != FWS_OK || v == 0 || v > FWS_LEDGER_BATCH_MAX)
                return cli_usage_error("log append", "--batch: 1 to %d", FWS_LEDGER_BATCH_MAX);
            o->batch = (size_t)v;
            break;
        case 'k':
            o->key = optarg;
            break;
        case 'p':
            o->passfile = optarg;
            break;
        case 'n':
            o->no_checkpoint = 1;
            break;
        case 'w':
            if (cli_parse_size(optarg, &v) != FWS_OK || v > 86400)
                return cli_usage_error("log append", "--wait: seconds, at most 86400");
            o->wait_ms = (unsigned)v * 1000u;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            append_usage(stdout);
            return -1;
        default:
            return cli_usage_error("log append", "unknown option");
        }
    }
    if (optind < argc)
        o->input = argv[optind++];
    if (optind != argc || o->dir == NULL)
        return cli_usage_error("log append", "--dir and at most one input are required");
    if (o->input == NULL)
        o->input = "-";
    return CLI_OK;
}

static fws_err read_one(const char *input, size_t cap, uint8_t **data, size_t *len, fws_errbuf *eb)
{
    if (strcmp(input, "-") == 0)
        return fws_stdin_read(cap, data, len, eb);
    return fws_file_read(input, cap, data, len, eb);
}

static int append_one(log_handle *h, const append_opts *o)
{
    fws_errbuf eb = {{0}};
    uint8_t *data = NULL, dup = 0;
    size_t len = 0;
    uint64_t index = 0;

    fws_err err = read_one(o->input, CLI_LOG_READ_MAX, &data, &len, &eb);
    if (err == FWS_OK) {
        fws_ledger_entry e = {data, len};
        err = fws_ledger_append(h->l, &e, 1, &index, &dup, &eb);
    }
    free(data);
    if (err == FWS_OK && !o->no_checkpoint)
        err = fws_ledger_publish(h->l, &eb);
    if (err != FWS_OK)
        return cli_report("log append", err, &eb);
    if (o->json)
        return cli_print_json(
            json_pack("{s:I, s:b}", "index", (json_int_t)index, "duplicate", dup));
    printf("%llu\n", (unsigned long long)index);
    return CLI_OK;
}

int cmd_log_append(int argc, char **argv)
{
    append_opts o;
    log_handle h;
    fws_errbuf eb = {{0}};
    fws_ledger_options lo = {0, 0};
    int rc = append_parse(argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;

    memset(&h, 0, sizeof(h));
    lo.lock_wait_ms = o.wait_ms;
    fws_err err = fws_ledger_open(o.dir, &lo, &h.l, &eb);
    if (err == FWS_OK && !o.no_checkpoint)
        err = handle_key(&h, o.key, o.passfile, &eb);
    if (err != FWS_OK) {
        handle_close(&h);
        return cli_report("log append", err, &eb);
    }
    if (o.lines) {
        cli_log_lines_opts lopts = {o.input, o.batch, o.json, o.no_checkpoint};
        rc = cli_log_append_lines(h.l, &lopts);
    } else {
        rc = append_one(&h, &o);
    }
    handle_close(&h);
    return rc;
}

/* ---- checkpoint -------------------------------------------------------------------------------
 */

static void checkpoint_usage(FILE *f)
{
    fprintf(f, "usage: fwseal log checkpoint --dir LOG [--key LOGKEY.pem] [--passphrase-file F]\n"
               "                             [--json]\n"
               "\n"
               "Prints the log's current signed checkpoint (with any witness cosignatures). When\n"
               "durable entries are not covered by it yet, first signs and publishes a new one\n"
               "with the key named in log.json (or --key).\n");
}

int cmd_log_checkpoint(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"key", required_argument, NULL, 'k'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *key = NULL, *passfile = NULL;
    fws_ledger_options lo = {60000, 0};
    fws_ledger_status st;
    fws_errbuf eb = {{0}};
    log_handle h;
    char *buf = NULL;
    size_t len = 0;
    int c, json = 0;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'k')
            key = optarg;
        else if (c == 'p')
            passfile = optarg;
        else if (c == 'j')
            json = 1;
        else if (c == 'h') {
            checkpoint_usage(stdout);
            return CLI_OK;
        } else
            return cli_usage_error("log checkpoint", "unknown option");
    }
    if (optind != argc || dir == NULL)
        return cli_usage_error("log checkpoint", "--dir is required");
    memset(&h, 0, sizeof(h));
    fws_err err = fws_ledger_open(dir, &lo, &h.l, &eb);
    if (err == FWS_OK && fws_ledger_unsigned(h.l))
        err = handle_key(&h, key, passfile, &eb);
    if (err == FWS_OK)
        err = fws_ledger_publish(h.l, &eb);
    buf = malloc(FWS_NOTE_MAX + 1);
    if (err == FWS_OK)
        err = buf ? fws_ledger_checkpoint(h.l, buf, FWS_NOTE_MAX + 1, &len, &eb) : FWS_ERR_NOMEM;
    if (err == FWS_OK)
        fws_ledger_get_status(h.l, &st);
    handle_close(&h);
    if (err != FWS_OK) {
        free(buf);
        return cli_report("log checkpoint", err, &eb);
    }
    if (json) {
        char root[48];
        fws_base64_encode(st.root, sizeof(st.root), root);
        json_t *j = json_pack("{s:s, s:I, s:s, s:s%}", "origin", st.origin, "size",
                              (json_int_t)st.signed_size, "root", root, "checkpoint", buf, len);
        free(buf);
        return cli_print_json(j);
    }
    fwrite(buf, 1, len, stdout);
    free(buf);
    return CLI_OK;
}
