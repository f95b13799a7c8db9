/* fwseal attest verify-batch: judges recorded quotes (fwseal attest record) on several threads
 * and prints how many verifications per second the verifier sustains. Each verification
 * decodes the evidence JSON and runs every check of fwseal attest verify. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "cmd_attest.h"
#include "fwseal/json.h"
#include "fwseal/util.h"

#define RECORDS_MAX ((size_t)1 << 30)
#define THREADS_MAX 64

typedef struct record {
    uint8_t nonce[FWS_ATTEST_NONCE_MAX];
    size_t nonce_len;
    char *evidence;
    size_t len;
} record;

typedef struct batch {
    const att_cli_verifier *v;
    record *recs;
    size_t n;
    unsigned threads;
    int64_t now;
} batch;

typedef struct worker {
    const batch *b;
    unsigned index;
    size_t passed, failed;
    fws_err first;
    size_t first_at;
    char why[FWS_ERRBUF_SIZE];
} worker;

static void batch_usage(FILE *f)
{
    fprintf(f,
            "usage: fwseal attest verify-batch --in RECORDS.jsonl --policy P.json --ca ROOT.pem\n"
            "                                  [--ledger DIR --model M] [--threads N] [--json]\n"
            "\n"
            "Judges every recorded quote ({\"nonce\": HEX, \"evidence\": {...}} per line) with\n"
            "the same checks as fwseal attest verify, on N threads (default 2), and prints the\n"
            "rate. Exit 0 when all pass, 1 when any fails.\n"
            "\n" ATT_CLI_VERIFIER_USAGE);
}

static void *work(void *arg)
{
    worker *w = arg;
    const batch *b = w->b;
    fws_attest_evidence *ev = malloc(sizeof(*ev));
    fws_attest_result *res = malloc(sizeof(*res));
    for (size_t i = w->index; ev != NULL && res != NULL && i < b->n; i += b->threads) {
        fws_errbuf eb = {{0}};
        fws_err err = fws_attest_evidence_decode((const uint8_t *)b->recs[i].evidence,
                                                 b->recs[i].len, ev, &eb);
        if (err == FWS_OK) {
            fws_attest_verify_req q = {ev,
                                       b->recs[i].nonce,
                                       b->recs[i].nonce_len,
                                       b->v->policy,
                                       b->v->refs,
                                       b->v->anchors,
                                       b->v->device,
                                       NULL,
                                       0,
                                       b->now};
            err = fws_attest_verify(&q, res, &eb);
        }
        if (err == FWS_OK) {
            w->passed++;
            continue;
        }
        if (w->failed++ == 0) {
            w->first = err;
            w->first_at = i;
            snprintf(w->why, sizeof(w->why), "%s", eb.msg);
        }
    }
    if (ev == NULL || res == NULL)
        w->failed = b->n;
    free(ev);
    free(res);
    return NULL;
}

static fws_err load_line(const char *line, size_t len, record *r, fws_errbuf *eb)
{
    json_t *o = NULL, *ev = NULL;
    const char *nonce = NULL;
    fws_err err = fws_json_parse((const uint8_t *)line, len, FWS_JSON_NO_FLOATS, NULL, &o, eb);
    if (err == FWS_OK && ((err = fws_json_get_string(o, "nonce", &nonce, eb)) != FWS_OK ||
                          (err = fws_json_get_object(o, "evidence", &ev, eb)) != FWS_OK))
        goto out;
    if (err == FWS_OK && att_cli_nonce(nonce, r->nonce, &r->nonce_len) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_FORMAT, "bad nonce");
    if (err == FWS_OK)
        err = fws_json_canonical(ev, &r->evidence, &r->len);
out:
    json_decref(o);
    return err;
}

static fws_err load_records(const char *path, batch *b, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0, cap = 0;
    fws_err err = fws_file_read(path, RECORDS_MAX, &data, &len, eb);
    char *p = (char *)data, *end = p + len;
    while (err == FWS_OK && p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        if (n > 0) {
            if (b->n == cap) {
                cap = cap ? cap * 2 : 1024;
                record *r = realloc(b->recs, cap * sizeof(*r));
                if (r == NULL) {
                    err = FWS_ERR_NOMEM;
                    break;
                }
                b->recs = r;
            }
            memset(&b->recs[b->n], 0, sizeof(b->recs[0]));
            if ((err = load_line(p, n, &b->recs[b->n], eb)) != FWS_OK)
                err = fws_errf(eb, err, "%s: record %zu is malformed", path, b->n + 1);
            else
                b->n++;
        }
        p += n + 1;
    }
    free(data);
    if (err == FWS_OK && b->n == 0)
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: no records", path);
    return err;
}

static double seconds(const struct timespec *a, const struct timespec *z)
{
    return (double)(z->tv_sec - a->tv_sec) + (double)(z->tv_nsec - a->tv_nsec) / 1e9;
}

static int run(batch *b, int json)
{
    pthread_t tid[THREADS_MAX];
    worker w[THREADS_MAX];
    struct timespec t0, t1, c0, c1;
    size_t passed = 0, failed = 0;
    memset(w, 0, sizeof(w));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    for (unsigned i = 0; i < b->threads; i++) {
        w[i].b = b;
        w[i].index = i;
        if (pthread_create(&tid[i], NULL, work, &w[i]) != 0) {
            for (unsigned k = 0; k < i; k++)
                pthread_join(tid[k], NULL);
            return cli_report("attest verify-batch", FWS_ERR_NOMEM, NULL);
        }
    }
    for (unsigned i = 0; i < b->threads; i++) {
        pthread_join(tid[i], NULL);
        passed += w[i].passed;
        failed += w[i].failed;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double s = seconds(&t0, &t1), cpu = seconds(&c0, &c1);
    double rate = s > 0 ? (double)b->n / s : 0;
    double cpu_us = 1e6 * cpu / (double)b->n;
    if (json)
        cli_print_json(json_pack("{s:I, s:I, s:I, s:i, s:I, s:I, s:I}", "quotes", (json_int_t)b->n,
                                 "passed", (json_int_t)passed, "failed", (json_int_t)failed,
                                 "threads", (json_int_t)b->threads, "microseconds",
                                 (json_int_t)(s * 1e6), "perSecond", (json_int_t)rate,
                                 "cpuMicrosecondsEach", (json_int_t)cpu_us));
    else
        printf("verified %zu quotes in %.3f s on %u threads: %.0f verifications per second, "
               "%.0f us of CPU each (%zu passed, %zu failed)\n",
               b->n, s, b->threads, rate, cpu_us, passed, failed);
    for (unsigned i = 0; i < b->threads && failed > 0; i++) {
        if (w[i].failed > 0) {
            fprintf(stderr, "fwseal attest verify-batch: record %zu: %s\n", w[i].first_at + 1,
                    w[i].why);
            return CLI_FAILED;
        }
    }
    return CLI_OK;
}

int cmd_attest_verify_batch(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"in", required_argument, NULL, 'i'},
        {"threads", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        ATT_CLI_VERIFIER_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    att_cli_verifier v;
    batch b;
    const char *in = NULL;
    int json = 0, c, rc = CLI_ERROR;
    fws_errbuf eb = {{0}};
    memset(&v, 0, sizeof(v));
    memset(&b, 0, sizeof(b));
    b.threads = 2;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        int r = att_cli_verifier_opt(&v, c, optarg, "attest verify-batch");
        if (r < 0)
            return CLI_ERROR;
        if (r > 0)
            continue;
        if (c == 'i') {
            in = optarg;
        } else if (c == 't') {
            b.threads = (unsigned)atoi(optarg);
            if (b.threads < 1 || b.threads > THREADS_MAX)
                return cli_usage_error("attest verify-batch", "--threads: 1..%d", THREADS_MAX);
        } else if (c == 'j') {
            json = 1;
        } else if (c == 'h') {
            batch_usage(stdout);
            return CLI_OK;
        } else {
            return cli_usage_error("attest verify-batch", "unknown option");
        }
    }
    if (in == NULL || optind < argc)
        return cli_usage_error("attest verify-batch", "--in RECORDS.jsonl is required");
    fws_err err = att_cli_verifier_load(&v, &eb);
    if (err == FWS_OK)
        err = load_records(in, &b, &eb);
    if (err == FWS_ERR_USAGE)
        rc = cli_usage_error("attest verify-batch", "%s", eb.msg);
    else if (err != FWS_OK)
        rc = cli_report("attest verify-batch", err, &eb);
    else {
        b.v = &v;
        b.now = (int64_t)time(NULL);
        rc = run(&b, json);
    }
    for (size_t i = 0; i < b.n; i++)
        free(b.recs[i].evidence);
    free(b.recs);
    att_cli_verifier_free(&v);
    return rc;
}
