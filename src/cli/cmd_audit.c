/* fwseal audit: check a deployment (exit 1 on red flags), and audit bundles (export, verify). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "fwseal/audit.h"
#include "fwseal/core.h"
#include "fwseal/json.h"
#include "fwseal/util.h"

#define MAX_WITNESSES 16

static void usage(void)
{
    printf("usage: fwseal audit --dir DEPLOY [--store STORE] [--vkey VKEY] [--witness VKEY]...\n"
           "                    [--threshold K] [--state DIR] [--expiry-days N]\n"
           "                    [--attest-days N] [--baseline FILE] [--advisories FILE]\n"
           "                    [--threads N] [--now SECONDS] [--json] [--html REPORT.html]\n"
           "       fwseal audit --url LEDGER_URL --vkey VKEY [--dir DEPLOY] [options]\n"
           "       fwseal audit --server URL --token-file FILE [--cacert CA.pem]\n"
           "                    [--max-snapshot BYTES] [--vkey VKEY] [--state DIR] [options]\n"
           "       fwseal audit export --dir DEPLOY --out BUNDLE.tar [--force]\n"
           "       fwseal audit verify BUNDLE.tar --vkey VKEY [--witness VKEY]...\n"
           "                    [--threshold K] [--root ROOT.json] [--json]\n"
           "Recomputes the ledger from its tiles and checks its checkpoint and cosignatures,\n"
           "every release against its record, SBOM and provenance, the CA chains, CRLs and\n"
           "certificates, every device's firmware against the release records and every\n"
           "report's device signature. --state DIR (the auditor's own directory) keeps the\n"
           "checkpoint this audit accepted and the report signatures it verified, so the\n"
           "next audit checks consistency and verifies only new reports. --url reads the\n"
           "ledger from a server (BASE/checkpoint, BASE/tile/...) instead of DEPLOY/ledger.\n"
           "--server audits a running fwseal serve completely: its snapshot (no keys) is\n"
           "downloaded over HTTPS with the token of FILE (role auditor or admin), checked by\n"
           "--cacert (default: the system's CAs), capped by --max-snapshot (default 64 GiB),\n"
           "restored and audited in a private temporary directory, which is then removed.\n"
           "Exit status 1 when red flags were found.\n");
}

typedef struct audit_args {
    fws_audit_opts o;
    fws_audit_remote_opts ro;
    const char *token_file;
    fws_note_vkey vkey, witnesses[MAX_WITNESSES];
    const char *html;
    int json;
} audit_args;

static int parse_uint(const char *what, const char *text, unsigned max, unsigned *out)
{
    char *end = NULL;
    unsigned long v = strtoul(text, &end, 10);
    if (end == text || *end != '\0' || v > max)
        return cli_usage_error("audit", "%s: a number from 0 to %u", what, max);
    *out = (unsigned)v;
    return CLI_OK;
}

static int parse_bytes(const char *text, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || end == text || *end != '\0' || errno != 0 || v == 0)
        return cli_usage_error("audit", "--max-snapshot: a number of bytes above 0");
    *out = (uint64_t)v;
    return CLI_OK;
}

/* --server and its options go together, and without a deployment, store or ledger URL. */
static int check_remote(const audit_args *a)
{
    if (a->ro.server == NULL) {
        if (a->token_file != NULL || a->ro.ca_file != NULL || a->ro.max_snapshot != 0)
            return cli_usage_error("audit", "--token-file, --cacert and --max-snapshot go with "
                                            "--server");
        return CLI_OK;
    }
    if (a->o.deploy != NULL || a->o.store != NULL || a->o.ledger_url != NULL)
        return cli_usage_error("audit", "--server audits the server's own snapshot: no --dir, "
                                        "--store or --url with it");
    if (a->token_file == NULL)
        return cli_usage_error("audit", "--server needs --token-file FILE");
    return CLI_OK;
}

static int parse_args(int argc, char **argv, audit_args *a)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"store", required_argument, NULL, 's'},
        {"url", required_argument, NULL, 'u'},
        {"vkey", required_argument, NULL, 'k'},
        {"witness", required_argument, NULL, 'w'},
        {"threshold", required_argument, NULL, 't'},
        {"state", required_argument, NULL, 'S'},
        {"expiry-days", required_argument, NULL, 'e'},
        {"attest-days", required_argument, NULL, 'a'},
        {"baseline", required_argument, NULL, 'b'},
        {"advisories", required_argument, NULL, 'A'},
        {"threads", required_argument, NULL, 'T'},
        {"now", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"html", required_argument, NULL, 'H'},
        {"server", required_argument, NULL, 'R'},
        {"token-file", required_argument, NULL, 'F'},
        {"cacert", required_argument, NULL, 'C'},
        {"max-snapshot", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    fws_errbuf eb = {{0}};
    unsigned u = 0;
    int c, rc = CLI_OK;
    optind = 0;
    while (rc == CLI_OK && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            a->o.deploy = optarg;
            break;
        case 's':
            a->o.store = optarg;
            break;
        case 'u':
            a->o.ledger_url = optarg;
            break;
        case 'k':
            if (cli_log_load_vkey(optarg, &a->vkey, &eb) != FWS_OK)
                return cli_report("audit", FWS_ERR_ARG, &eb);
            a->o.log_key = &a->vkey;
            break;
        case 'w':
            if (a->o.n_witnesses == MAX_WITNESSES)
                return cli_usage_error("audit", "at most %d witnesses", MAX_WITNESSES);
            if (cli_log_load_vkey(optarg, &a->witnesses[a->o.n_witnesses], &eb) != FWS_OK)
                return cli_report("audit", FWS_ERR_ARG, &eb);
            a->o.n_witnesses++;
            a->o.witnesses = a->witnesses;
            break;
        case 't':
            rc = parse_uint("--threshold", optarg, MAX_WITNESSES, &u);
            a->o.witness_threshold = u;
            break;
        case 'S':
            a->o.state_dir = optarg;
            break;
        case 'e':
            rc = parse_uint("--expiry-days", optarg, 36500, &a->o.expiry_days);
            break;
        case 'a':
            rc = parse_uint("--attest-days", optarg, 36500, &a->o.attest_days);
            break;
        case 'b':
            a->o.baseline = optarg;
            break;
        case 'A':
            a->o.advisories = optarg;
            break;
        case 'T':
            rc = parse_uint("--threads", optarg, 64, &a->o.threads);
            break;
        case 'n':
            a->o.now = strtoll(optarg, NULL, 10);
            break;
        case 'j':
            a->json = 1;
            break;
        case 'H':
            a->html = optarg;
            break;
        case 'R':
            a->ro.server = optarg;
            break;
        case 'F':
            a->token_file = optarg;
            break;
        case 'C':
            a->ro.ca_file = optarg;
            break;
        case 'M':
            rc = parse_bytes(optarg, &a->ro.max_snapshot);
            break;
        case 'h':
            usage();
            return -1;
        default:
            return CLI_ERROR;
        }
    }
    if (rc != CLI_OK)
        return rc;
    if (optind != argc)
        return cli_usage_error("audit", "unexpected argument \"%s\"", argv[optind]);
    if ((rc = check_remote(a)) != CLI_OK)
        return rc;
    if (a->o.deploy == NULL && a->o.ledger_url == NULL && a->ro.server == NULL)
        return cli_usage_error("audit", "--dir DEPLOY is required");
    if (a->o.ledger_url != NULL && a->o.log_key == NULL)
        return cli_usage_error("audit", "--url needs --vkey");
    if (a->o.witness_threshold > a->o.n_witnesses)
        return cli_usage_error("audit", "--threshold is above the number of witnesses");
    if (a->o.now == 0)
        a->o.now = (int64_t)time(NULL);
    return CLI_OK;
}

static void progress(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
    (void)ctx;
    unsigned pct = total ? (unsigned)(done * 100 / total) : 0, fill = pct / 4;
    char bar[26];
    for (unsigned i = 0; i < 25; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[25] = '\0';
    fprintf(stderr, "\r%-9s [%s] %3u%% %llu/%llu ", phase, bar, pct, (unsigned long long)done,
            (unsigned long long)total);
    if (done == total)
        fputc('\n', stderr);
}

static int write_html(const fws_audit_report *r, const char *path)
{
    char *html = NULL;
    size_t len = 0;
    fws_errbuf eb = {{0}};
    fws_err err = fws_audit_report_html(r, &html, &len);
    if (err == FWS_OK)
        err = fws_file_write_atomic(path, html, len, 0644, 1, &eb);
    free(html);
    return err == FWS_OK ? CLI_OK : cli_report("audit --html", err, &eb);
}

static int print_report(const fws_audit_report *r, int json)
{
    if (json) {
        json_t *o = NULL;
        if (fws_audit_report_json(r, &o) != FWS_OK)
            return cli_report("audit", FWS_ERR_NOMEM, NULL);
        return cli_print_json(o);
    }
    char *text = NULL;
    size_t len = 0;
    if (fws_audit_report_text(r, 5, &text, &len) != FWS_OK)
        return cli_report("audit", FWS_ERR_NOMEM, NULL);
    fwrite(text, 1, len, stdout);
    free(text);
    return CLI_OK;
}

/* The token: the file's first line, without surrounding white space. */
static int read_token(const char *path, char tok[FWS_AUDIT_TOKEN_MAX + 1])
{
    uint8_t *data = NULL;
    size_t len = 0, start = 0;
    fws_errbuf eb = {{0}};
    fws_err err = fws_file_read(path, FWS_AUDIT_TOKEN_MAX + 64, &data, &len, &eb);
    if (err != FWS_OK)
        return cli_report("audit --token-file", err, &eb);
    while (start < len && (data[start] == ' ' || data[start] == '\t'))
        start++;
    size_t end = start;
    while (end < len && data[end] != '\n' && data[end] != '\r')
        end++;
    while (end > start && (data[end - 1] == ' ' || data[end - 1] == '\t'))
        end--;
    int ok = end > start && end - start <= FWS_AUDIT_TOKEN_MAX;
    if (ok) {
        memcpy(tok, data + start, end - start);
        tok[end - start] = '\0';
    }
    fws_wipe(data, len);
    free(data);
    if (!ok)
        return cli_usage_error("audit", "%s: no token on its first line", path);
    return CLI_OK;
}

static fws_err run_remote(audit_args *a, fws_audit_report **r, fws_errbuf *eb)
{
    char tok[FWS_AUDIT_TOKEN_MAX + 1];
    if (read_token(a->token_file, tok) != CLI_OK)
        return FWS_ERR_USAGE;
    a->ro.token = tok;
    fws_err err = fws_audit_remote(&a->ro, &a->o, r, eb);
    fws_wipe(tok, sizeof(tok));
    a->ro.token = NULL;
    return err;
}

int cmd_audit_export(int argc, char **argv);
int cmd_audit_verify(int argc, char **argv);

int cmd_audit(int argc, char **argv)
{
    audit_args a;
    fws_audit_report *r = NULL;
    fws_errbuf eb = {{0}};
    if (argc >= 2 && strcmp(argv[1], "export") == 0)
        return cmd_audit_export(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "verify") == 0)
        return cmd_audit_verify(argc - 1, argv + 1);
    memset(&a, 0, sizeof(a));
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (!a.json && isatty(STDERR_FILENO))
        a.o.progress = progress;
    fws_err err = a.ro.server != NULL ? run_remote(&a, &r, &eb) : fws_audit_run(&a.o, &r, &eb);
    if (err == FWS_ERR_USAGE)
        return CLI_ERROR;
    if (err != FWS_OK)
        return cli_report(a.ro.server != NULL ? "audit --server" : "audit", err, &eb);
    rc = a.html != NULL ? write_html(r, a.html) : CLI_OK;
    if (rc == CLI_OK)
        rc = print_report(r, a.json);
    if (rc == CLI_OK && fws_audit_report_count(r, FWS_AUDIT_RED) > 0) {
        fprintf(stderr, "fwseal audit: %llu red flags\n",
                (unsigned long long)fws_audit_report_count(r, FWS_AUDIT_RED));
        rc = CLI_FAILED;
    }
    fws_audit_report_free(r);
    return rc;
}
