/* fwseal verify IMAGE --repo DIR|URL --target NAME: checks an image as a device would: the TUF
 * chain, the target's length and hashes, its custom policy in the verifier core, and the
 * release's record proven included in the ledger's signed checkpoint. The device-side pieces
 * are the agent's (fws_agent_describe, fws_agent_ledger_verify) and the core's
 * (fws_policy_check, fws_image_verify_*). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "cli.h"
#include "cmd_verify_repo.h"
#include "fwseal/json.h"
#include "fwseal/util.h"

#define VR "verify"

static void usage(FILE *f)
{
    fprintf(
        f, "usage: fwseal verify IMAGE --repo DIR|URL --target NAME [--root ROOT.json]\n"
           "                     [--hardware H] [--region R] [--installed-counter N]\n"
           "                     [--metadata-dir D] [--ledger DIR|URL] [--ledger-vkey VKEY]\n"
           "                     [--now TIME] [--json]\n"
           "\n"
           "Checks IMAGE as a device would, and names every check it made:\n"
           "  tuf     the TUF chain (root versions one by one, timestamp, snapshot, targets:\n"
           "          signatures, thresholds, versions, hashes, expiry at the reference time)\n"
           "  target  NAME is listed by a trusted role and carries custom.fwseal\n"
           "  policy  the verifier core's policy: expiry, hardware model (--hardware), region\n"
           "          (--region), security counter not below --installed-counter (default 0);\n"
           "          without --hardware or --region those two are skipped, and said so\n"
           "  image   IMAGE streamed through the core's verifier: the signed length and\n"
           "          SHA-256, and every other hash the target lists\n"
           "  ledger  the entry at the target's ledgerIndex is the release record of this\n"
           "          image, proven included in the ledger's checkpoint signed by its key\n"
           "DIR is a deployment (DIR/repo/metadata, DIR/ledger); the first trusted root is\n"
           "DIR/repo/metadata/1.root.json unless --root pins one, and the ledger's key comes\n"
           "from DIR/ledger/log.json unless --ledger-vkey gives it. A URL is a server's base\n"
           "(URL/repo/metadata, URL/log) and needs --root and --ledger-vkey. --metadata-dir\n"
           "keeps the client's trusted metadata between runs (default: a temporary directory);\n"
           "once it holds a root.json, that root is the trust anchor. --now (YYYY-MM-DDTHH:MM:SSZ\n"
           "or Unix seconds) sets the reference time. Exit 0 when every check passes, 1 when one\n"
           "fails (stderr names it), 2 on usage or I/O errors.\n"
           "fwseal verify --pub PUB.pem --sig FILE.dsse.json FILE checks a DSSE envelope instead\n"
           "(fwseal verify --pub X --help).\n");
}

static int parse_name(const char *what, const char *text, const char **out)
{
    size_t n = strlen(text);
    if (n == 0 || n > FWS_POLICY_MAX_NAME)
        return cli_usage_error(VR, "%s: 1 to %d bytes", what, FWS_POLICY_MAX_NAME);
    *out = text;
    return CLI_OK;
}

static int parse_now(const char *text, int64_t *out)
{
    char *end = NULL;
    if (fws_tuf_time_parse(text, out) == FWS_OK)
        return CLI_OK;
    long long v = strtoll(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || v <= 0)
        return cli_usage_error(VR, "--now: YYYY-MM-DDTHH:MM:SSZ or Unix seconds, not '%s'", text);
    *out = (int64_t)v;
    return CLI_OK;
}

static int parse_counter(const char *text, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno == ERANGE)
        return cli_usage_error(VR, "--installed-counter: not a number: '%s'", text);
    *out = (uint64_t)v;
    return CLI_OK;
}

static int parse_opt(int c, vr_opts *o)
{
    switch (c) {
    case 'r':
        o->repo = optarg;
        return CLI_OK;
    case 't':
        o->target = optarg;
        return CLI_OK;
    case 'R':
        o->root = optarg;
        return CLI_OK;
    case 'H':
        return parse_name("--hardware", optarg, &o->hardware);
    case 'g':
        return parse_name("--region", optarg, &o->region);
    case 'c':
        return parse_counter(optarg, &o->installed_counter);
    case 'm':
        o->metadata_dir = optarg;
        return CLI_OK;
    case 'l':
        o->ledger = optarg;
        return CLI_OK;
    case 'k':
        o->ledger_vkey = optarg;
        return CLI_OK;
    case 'n':
        o->have_now = 1;
        return parse_now(optarg, &o->now);
    case 'j':
        o->json = 1;
        return CLI_OK;
    case 'h':
        usage(stdout);
        return -1;
    default:
        return cli_usage_error(VR, "unknown option (see fwseal verify --repo X --help)");
    }
}

static int is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static int parse(int argc, char **argv, vr_opts *o)
{
    static const struct option longopts[] = {
        {"repo", required_argument, NULL, 'r'},
        {"target", required_argument, NULL, 't'},
        {"root", required_argument, NULL, 'R'},
        {"hardware", required_argument, NULL, 'H'},
        {"region", required_argument, NULL, 'g'},
        {"installed-counter", required_argument, NULL, 'c'},
        {"metadata-dir", required_argument, NULL, 'm'},
        {"ledger", required_argument, NULL, 'l'},
        {"ledger-vkey", required_argument, NULL, 'k'},
        {"now", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc;
    memset(o, 0, sizeof(*o));
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if ((rc = parse_opt(c, o)) != CLI_OK)
            return rc;
    }
    if (optind != argc - 1)
        return cli_usage_error(VR, "exactly one IMAGE to verify is needed");
    o->image = argv[optind];
    if (o->repo == NULL || o->target == NULL)
        return cli_usage_error(VR, "--repo and --target are required");
    o->is_url = is_url(o->repo);
    if (o->is_url && o->root == NULL)
        return cli_usage_error(VR, "--repo URL needs --root ROOT.json (the first trusted root)");
    if ((o->is_url || (o->ledger != NULL && is_url(o->ledger))) && o->ledger_vkey == NULL)
        return cli_usage_error(VR, "a ledger read over HTTP needs --ledger-vkey VKEY");
    if (!o->have_now)
        o->now = (int64_t)time(NULL);
    return CLI_OK;
}

/* ---- results ----------------------------------------------------------------------------------
 */

static const char *const check_names[VR_COUNT] = {"tuf", "target", "policy", "image", "ledger"};
static const char *const result_names[] = {"not run", "ok", "failed", "error"};

/* Judged and failed (exit 1), or could not be judged (exit 2). */
static vr_result judge(fws_err err)
{
    if (err == FWS_OK)
        return VR_OK;
    if (fws_err_is_verification(err) || err == FWS_ERR_SCHEMA || err == FWS_ERR_FORMAT ||
        err == FWS_ERR_TOO_BIG || err == FWS_ERR_UNSUPPORTED || err == FWS_ERR_KEY_TYPE)
        return VR_FAILED;
    return VR_ERROR;
}

void vr_set(vr_run *r, vr_check k, vr_result res, fws_err err, const char *fmt, ...)
{
    va_list ap;
    r->c[k].result = res;
    r->c[k].err = err;
    va_start(ap, fmt);
    vsnprintf(r->c[k].detail, sizeof(r->c[k].detail), fmt, ap);
    va_end(ap);
}

void vr_set_err(vr_run *r, vr_check k, fws_err err, const fws_errbuf *eb)
{
    vr_set(r, k, judge(err), err, "%s", eb->msg[0] ? eb->msg : fws_strerror(err));
}

static int exit_code(const vr_run *r, vr_check *first)
{
    int failed = 0, error = 0;
    for (int k = 0; k < VR_COUNT; k++) {
        if (r->c[k].result == VR_FAILED && !failed++ && !error)
            *first = (vr_check)k;
        if (r->c[k].result == VR_ERROR && !error++ && !failed)
            *first = (vr_check)k;
    }
    return failed ? CLI_FAILED : error ? CLI_ERROR : CLI_OK;
}

static int print_result(const vr_run *r)
{
    vr_check first = VR_TUF;
    int rc = exit_code(r, &first);
    if (r->o->json) {
        json_t *checks = json_array();
        for (int k = 0; k < VR_COUNT; k++)
            json_array_append_new(checks, json_pack("{s:s, s:s, s:s}", "check", check_names[k],
                                                    "result", result_names[r->c[k].result],
                                                    "detail", r->c[k].detail));
        json_t *skipped = json_array();
        if (r->o->hardware == NULL)
            json_array_append_new(skipped, json_string("hardware"));
        if (r->o->region == NULL)
            json_array_append_new(skipped, json_string("region"));
        cli_print_json(json_pack("{s:b, s:s, s:s, s:s, s:s, s:o, s:o}", "verified", rc == CLI_OK,
                                 "image", r->o->image, "target", r->o->target, "repo", r->o->repo,
                                 "trust", r->anchor, "checks", checks, "skipped", skipped));
    } else {
        printf("%s as %s from %s\n  trust   %s\n", r->o->image, r->o->target, r->o->repo,
               r->anchor);
        for (int k = 0; k < VR_COUNT; k++)
            printf("  %-7s %-7s %s\n", check_names[k], result_names[r->c[k].result],
                   r->c[k].detail);
        printf("%s\n", rc == CLI_OK ? "verified" : "NOT verified");
    }
    if (rc != CLI_OK)
        fprintf(stderr, "fwseal verify: %s: %s\n", check_names[first], r->c[first].detail);
    return rc;
}

/* ---- the checks ------------------------------------------------------------------------------ */

static void check_tuf(vr_run *r)
{
    fws_errbuf eb = {{0}};
    char when[FWS_TUF_TIME_LEN] = "?";
    fws_err err = vr_tuf_open(r, &eb);
    if (err == FWS_OK)
        err = fws_tuf_client_refresh(r->client, &eb);
    if (err != FWS_OK) {
        vr_set_err(r, VR_TUF, err, &eb);
        return;
    }
    if (fws_tuf_time_format(r->o->now, when) != FWS_OK)
        snprintf(when, sizeof(when), "%lld", (long long)r->o->now);
    vr_set(r, VR_TUF, VR_OK, FWS_OK,
           "root v%lld, timestamp v%lld, snapshot v%lld, targets v%lld, at %s",
           (long long)fws_tuf_client_version(r->client, FWS_TUF_ROOT),
           (long long)fws_tuf_client_version(r->client, FWS_TUF_TIMESTAMP),
           (long long)fws_tuf_client_version(r->client, FWS_TUF_SNAPSHOT),
           (long long)fws_tuf_client_version(r->client, FWS_TUF_TARGETS), when);
}

static void check_target(vr_run *r)
{
    fws_errbuf eb = {{0}};
    fws_err err = fws_tuf_client_find_target(r->client, r->o->target, &r->tt, &eb);
    if (err == FWS_ERR_NOT_FOUND) {
        vr_set(r, VR_TARGET, VR_FAILED, err,
               "%s is not a target of the repository (no trusted "
               "role lists it)",
               r->o->target);
        return;
    }
    if (err == FWS_OK)
        err = fws_agent_describe(&r->tt, &r->t, &r->v, &eb);
    if (err == FWS_OK)
        err = vr_targets_expires(r, &eb);
    if (err != FWS_OK) {
        vr_set_err(r, VR_TARGET, err, &eb);
        return;
    }
    vr_set(r, VR_TARGET, VR_OK, FWS_OK,
           "%s %s, %llu bytes, security counter %llu, ledger index %llu", r->t.product,
           r->t.version, (unsigned long long)r->t.length, (unsigned long long)r->t.security_counter,
           (unsigned long long)r->v.ledger_index);
}

int cmd_verify_repo(int argc, char **argv)
{
    vr_opts o;
    vr_run r;
    int rc = parse(argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    memset(&r, 0, sizeof(r));
    r.o = &o;
    snprintf(r.anchor, sizeof(r.anchor), "(none)");
    check_tuf(&r);
    if (r.c[VR_TUF].result == VR_OK)
        check_target(&r);
    if (r.c[VR_TARGET].result == VR_OK) {
        vr_check_policy(&r);
        vr_check_image(&r);
        vr_check_ledger(&r);
    }
    rc = print_result(&r);
    vr_tuf_close(&r);
    return rc;
}
