/* fwseal attest trust: a device's trust score, with each factor, from its last attestation
 * report and what the operator knows of it (certificate state, provision record, batch flag,
 * earlier results). The server computes the same score with fws_attest_trust_score. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "cmd_attest.h"
#include "fwseal/json.h"
#include "fwseal/util.h"

#define DOC_MAX (256u * 1024)

static void trust_usage(FILE *f)
{
    fprintf(f,
            "usage: fwseal attest trust [--report REPORT.json] [--policy P.json]\n"
            "                           [--cert valid|expiring|expired|revoked|unknown]\n"
            "                           [--provision-record RECORD.json] [--batch-flagged]\n"
            "                           [--history PASSED,FAILED,FLAGGED] [--now UNIX] [--json]\n"
            "\n"
            "Rates a device from 0 to 100 and lists each factor: attestation result and\n"
            "freshness (35; the policy's maxAgeSeconds is the horizon, one day without a\n"
            "policy), assurance (15), certificate state (15), provision record completeness\n"
            "(10), batch status (10) and the history of earlier results (15). With --policy\n"
            "it also prints the update decision (allow, deny or quarantine).\n");
}

typedef struct trust_opts {
    const char *report, *policy, *cert, *record, *history, *now;
    int batch_flagged, json;
} trust_opts;

static int trust_parse(int argc, char **argv, trust_opts *o)
{
    static const struct option longopts[] = {
        {"report", required_argument, NULL, 'r'},
        {"policy", required_argument, NULL, 'p'},
        {"cert", required_argument, NULL, 'c'},
        {"provision-record", required_argument, NULL, 'P'},
        {"history", required_argument, NULL, 'H'},
        {"now", required_argument, NULL, 'n'},
        {"batch-flagged", no_argument, NULL, 'b'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof(*o));
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            o->report = optarg;
            break;
        case 'p':
            o->policy = optarg;
            break;
        case 'c':
            o->cert = optarg;
            break;
        case 'P':
            o->record = optarg;
            break;
        case 'H':
            o->history = optarg;
            break;
        case 'n':
            o->now = optarg;
            break;
        case 'b':
            o->batch_flagged = 1;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            trust_usage(stdout);
            return -1;
        default:
            return cli_usage_error("attest trust", "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error("attest trust", "unexpected argument '%s'", argv[optind]);
    return 0;
}

static int cert_state(const char *s, fws_attest_cert_state *out)
{
    static const char *const names[] = {"unknown", "valid", "expiring", "expired", "revoked"};
    for (unsigned i = 0; i < 5; i++) {
        if (s == NULL || strcmp(s, names[i]) == 0) {
            *out = s == NULL ? FWS_TRUST_CERT_UNKNOWN : (fws_attest_cert_state)i;
            return 0;
        }
    }
    return -1;
}

static int inputs(const trust_opts *o, fws_attest_trust_input *in)
{
    unsigned a = 0, b = 0, c = 0;
    char extra;
    if (cert_state(o->cert, &in->cert) != 0)
        return cli_usage_error("attest trust", "--cert: valid, expiring, expired, revoked or "
                                               "unknown");
    if (o->history != NULL && sscanf(o->history, "%u,%u,%u%c", &a, &b, &c, &extra) != 3)
        return cli_usage_error("attest trust", "--history: PASSED,FAILED,FLAGGED");
    in->history_pass = a;
    in->history_fail = b;
    in->history_flagged = c;
    in->batch_flagged = o->batch_flagged;
    in->now = (int64_t)time(NULL);
    if (o->now != NULL) {
        char *end = NULL;
        long long v = strtoll(o->now, &end, 10);
        if (*o->now == '\0' || *end != '\0' || v < 0)
            return cli_usage_error("attest trust", "--now: seconds since the epoch");
        in->now = (int64_t)v;
    }
    return 0;
}

static fws_err read_json(const char *path, json_t **out, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_err err = fws_file_read(path, DOC_MAX, &data, &len, eb);
    if (err == FWS_OK)
        err = fws_json_parse(data, len, FWS_JSON_NO_FLOATS, NULL, out, eb);
    free(data);
    return err;
}

static fws_err load_docs(const trust_opts *o, fws_attest_result *last, fws_attest_policy *policy,
                         uint8_t **record, size_t *record_len, fws_errbuf *eb)
{
    json_t *report = NULL;
    fws_err err = FWS_OK;
    if (o->report != NULL && (err = read_json(o->report, &report, eb)) == FWS_OK)
        err = fws_attest_report_parse(report, last, eb);
    json_decref(report);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: not an attestation report", o->report);
    if (o->policy != NULL && (err = fws_attest_policy_load(o->policy, policy, eb)) != FWS_OK)
        return err;
    if (o->record != NULL)
        err = fws_file_read(o->record, DOC_MAX, record, record_len, eb);
    return err;
}

static int print(const trust_opts *o, const fws_attest_trust *t, const fws_attest_decision *d)
{
    json_t *j = NULL;
    if (o->json) {
        if (fws_attest_trust_json(t, &j) != FWS_OK)
            return cli_report("attest trust", FWS_ERR_NOMEM, NULL);
        if (d != NULL)
            json_object_set_new(j, "decision",
                                json_pack("{s:s}", "action", fws_attest_action_name(d->action)));
        return cli_print_json(j);
    }
    printf("trust score: %d/100\n", t->score);
    for (int i = 0; i < FWS_TRUST_FACTORS; i++)
        printf("  %-13s %2d/%-2d  %s\n", t->factors[i].name, t->factors[i].points,
               t->factors[i].max, t->factors[i].detail);
    if (d != NULL) {
        printf("decision: %s\n", fws_attest_action_name(d->action));
        for (size_t i = 0; i < d->n_reasons; i++)
            printf("  %s\n", d->reasons[i]);
    }
    return CLI_OK;
}

int cmd_attest_trust(int argc, char **argv)
{
    trust_opts o;
    fws_attest_trust_input in;
    fws_attest_trust t;
    fws_attest_decision d;
    fws_attest_result *last = calloc(1, sizeof(*last));
    fws_attest_policy *policy = calloc(1, sizeof(*policy));
    uint8_t *record = NULL;
    size_t record_len = 0;
    fws_errbuf eb = {{0}};
    int rc = last != NULL && policy != NULL ? trust_parse(argc, argv, &o) : CLI_ERROR;
    memset(&in, 0, sizeof(in));
    if (rc == 0)
        rc = inputs(&o, &in);
    if (rc != 0) {
        rc = rc < 0 ? CLI_OK : rc;
        goto out;
    }
    fws_err err = load_docs(&o, last, policy, &record, &record_len, &eb);
    if (err != FWS_OK) {
        rc = cli_report("attest trust", err, &eb);
        goto out;
    }
    in.last = o.report != NULL ? last : NULL;
    in.max_age = o.policy != NULL ? policy->max_age : 0;
    in.provision_record = (const char *)record;
    in.provision_len = record_len;
    fws_attest_trust_score(&in, &t);
    if (o.policy != NULL)
        fws_attest_decide(policy, in.last, t.score, in.now, &d);
    rc = print(&o, &t, o.policy != NULL ? &d : NULL);
out:
    free(record);
    free(last);
    free(policy);
    return rc;
}
