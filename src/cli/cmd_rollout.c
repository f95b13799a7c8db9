/* fwseal rollout create|list|show|pause|resume|cancel: staged rollouts, on the deployment's
 * store directly (the servers sharing it see the change at once). Every change is written to
 * the audit trail. */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "fwseal/fleet.h"
#include "fwseal/json.h"
#include "fwseal/pki.h"
#include "fwseal/repo.h"
#include "fwseal/store.h"
#include "cli.h"

#define SEL_MAX 64

typedef struct rollout_opts {
    const char *dir, *store, *release, *stages, *state;
    const char *models[SEL_MAX], *regions[SEL_MAX], *groups[SEL_MAX], *devices[SEL_MAX];
    size_t n_models, n_regions, n_groups, n_devices;
    long success, failure;
    int64_t quarantine;
    int json;
    const char *id;
} rollout_opts;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fwseal rollout create --dir DEPLOY --release P/V --stages 1,10,50,100\n"
            "                             [--success-threshold PCT] [--failure-threshold PCT]\n"
            "                             [--model M]... [--region R]... [--group G]...\n"
            "                             [--device ID]... [--quarantine DURATION]\n"
            "       fwseal rollout list   --dir DEPLOY [--state STATE]\n"
            "       fwseal rollout show   --dir DEPLOY ID\n"
            "       fwseal rollout pause|resume|cancel --dir DEPLOY ID\n"
            "every command also takes [--store S] [--json]\n"
            "\n"
            "A rollout offers a release to the selected devices in stages (percent of them).\n"
            "It starts when the release's quarantine period is over (fleet.json\n"
            "releaseQuarantine, or --quarantine counted from the release's publication), moves\n"
            "to the next stage when the current one reaches the success threshold, and pauses\n"
            "itself when failures pass the failure threshold. Thresholds default to fleet.json's\n"
            "(95 and 5).\n");
}

static int add_sel(const char **list, size_t *n, const char *v)
{
    if (*n == SEL_MAX)
        return -1;
    list[(*n)++] = v;
    return 0;
}

static int parse_percent(const char *text, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (text[0] == '\0' || *end != '\0' || errno != 0 || v < 0 || v > 100)
        return -1;
    *out = v;
    return 0;
}

static int parse_opts(const char *what, int argc, char **argv, rollout_opts *o, int need_id)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"store", required_argument, NULL, 's'},
        {"release", required_argument, NULL, 'r'},
        {"stages", required_argument, NULL, 'S'},
        {"success-threshold", required_argument, NULL, 'u'},
        {"failure-threshold", required_argument, NULL, 'f'},
        {"model", required_argument, NULL, 'm'},
        {"region", required_argument, NULL, 'R'},
        {"group", required_argument, NULL, 'g'},
        {"device", required_argument, NULL, 'D'},
        {"quarantine", required_argument, NULL, 'q'},
        {"state", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    o->success = o->failure = -1;
    o->quarantine = -1;
    optind = 0;
    int c, bad = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->dir = optarg;
            break;
        case 's':
            o->store = optarg;
            break;
        case 'r':
            o->release = optarg;
            break;
        case 'S':
            o->stages = optarg;
            break;
        case 't':
            o->state = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'u':
            if (parse_percent(optarg, &o->success) != 0)
                return cli_usage_error(what, "--success-threshold: a percentage (0 to 100)");
            break;
        case 'f':
            if (parse_percent(optarg, &o->failure) != 0)
                return cli_usage_error(what, "--failure-threshold: a percentage (0 to 100)");
            break;
        case 'q':
            if (strcmp(optarg, "0") == 0 || strcmp(optarg, "0s") == 0)
                o->quarantine = 0;
            else if (fws_repo_duration_parse(optarg, &o->quarantine) != FWS_OK)
                return cli_usage_error(what, "--quarantine: a duration such as 0s, 30m, 1h, 2d");
            break;
        case 'm':
            bad |= add_sel(o->models, &o->n_models, optarg);
            break;
        case 'R':
            bad |= add_sel(o->regions, &o->n_regions, optarg);
            break;
        case 'g':
            bad |= add_sel(o->groups, &o->n_groups, optarg);
            break;
        case 'D':
            bad |= add_sel(o->devices, &o->n_devices, optarg);
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return cli_usage_error(what, "unknown option (see --help)");
        }
    }
    if (bad)
        return cli_usage_error(what, "at most %d of each of --model, --region, --group, --device",
                               SEL_MAX);
    if (o->dir == NULL)
        return cli_usage_error(what, "--dir DEPLOY is required");
    if (need_id && optind != argc - 1)
        return cli_usage_error(what, "name one rollout ID");
    if (!need_id && optind != argc)
        return cli_usage_error(what, "unexpected argument %s", argv[optind]);
    if (need_id)
        o->id = argv[optind];
    return 0;
}

static fws_err open_store(const rollout_opts *o, fws_store **s, fws_errbuf *eb)
{
    char url[FWS_STORE_PATH_MAX];
    fws_err err = fws_store_resolve(o->store, o->dir, url, sizeof(url), eb);
    if (err == FWS_OK)
        err = fws_store_open(url, s, eb);
    return err;
}

static fws_err audit(fws_store *s, const char *action, const char *target, const char *detail,
                     fws_errbuf *eb)
{
    fws_store_audit a;
    int64_t id = 0;
    struct passwd *pw = getpwuid(getuid());
    memset(&a, 0, sizeof(a));
    snprintf(a.actor, sizeof(a.actor), "%.40s (command line)", pw ? pw->pw_name : "unknown");
    snprintf(a.action, sizeof(a.action), "%s", action);
    snprintf(a.target, sizeof(a.target), "%s", target);
    snprintf(a.detail, sizeof(a.detail), "%s", detail);
    a.time = (int64_t)time(NULL);
    return fws_store_audit_add(s, &a, &id, eb);
}

static int rollout_id(const char *what, const char *text, int64_t *id)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (text[0] == '\0' || *end != '\0' || errno != 0 || v <= 0)
        return cli_usage_error(what, "%s: not a rollout ID", text);
    *id = v;
    return 0;
}

static void print_rollout(const json_t *o)
{
    const json_t *rel = json_object_get(o, "release");
    printf("rollout %lld: %s/%s %s, stage %lld of %zu\n",
           (long long)json_integer_value(json_object_get(o, "id")),
           json_string_value(json_object_get(rel, "product")),
           json_string_value(json_object_get(rel, "version")),
           json_string_value(json_object_get(o, "state")),
           (long long)json_integer_value(json_object_get(o, "currentStage")),
           json_array_size(json_object_get(o, "stages")));
    const json_t *st = json_object_get(o, "stages");
    for (size_t i = 0; i < json_array_size(st); i++) {
        const json_t *s = json_array_get(st, i);
        printf("  stage %zu  %3lld%%  devices %lld  assigned %lld  succeeded %lld  failed %lld\n",
               i + 1, (long long)json_integer_value(json_object_get(s, "percent")),
               (long long)json_integer_value(json_object_get(s, "devices")),
               (long long)json_integer_value(json_object_get(s, "assigned")),
               (long long)json_integer_value(json_object_get(s, "succeeded")),
               (long long)json_integer_value(json_object_get(s, "failed")));
    }
}

static int show(const rollout_opts *o, fws_store *s, int64_t id, const char *what)
{
    json_t *j = NULL;
    fws_errbuf eb = {{0}};
    fws_err err = fws_fleet_rollout_json(s, id, &j, &eb);
    if (err != FWS_OK)
        return cli_report(what, err, &eb);
    if (o->json)
        return cli_print_json(j);
    print_rollout(j);
    json_decref(j);
    return CLI_OK;
}

/* The devices of the deployment's device environment (prod when it has a CA, else the only one
 * that has), so that the rollout counts devices that have not called in yet. */
static fws_err import_devices(const char *dir, fws_store *s, fws_errbuf *eb)
{
    fws_pki *p = NULL;
    int env = 0, found = 0;
    fws_err err = fws_pki_open(dir, &p, eb);
    for (int e = FWS_ENV_DEV; err == FWS_OK && e <= FWS_ENV_PROD; e++) {
        if (fws_pki_has_env(p, (fws_pki_env)e)) {
            env = e;
            found++;
        }
    }
    if (err == FWS_OK && fws_pki_has_env(p, FWS_ENV_PROD))
        env = FWS_ENV_PROD;
    else if (err == FWS_OK && found != 1)
        env = 0;
    if (err == FWS_OK && found > 0)
        err = fws_fleet_sync_devices(s, p, env, (int64_t)time(NULL), NULL, eb);
    fws_pki_close(p);
    return err;
}

/* ---- create ------------------------------------------------------------------------------ */

static int parse_stages(const char *what, const char *text, uint32_t *pct, size_t *n)
{
    char buf[256];
    if (text == NULL)
        return cli_usage_error(what, "--stages is required (e.g. 1,10,50,100)");
    if (strlen(text) >= sizeof(buf))
        return cli_usage_error(what, "--stages: too long");
    snprintf(buf, sizeof(buf), "%s", text);
    *n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        long v = 0;
        if (*n == FWS_STORE_MAX_STAGES || parse_percent(t, &v) != 0 || v < 1)
            return cli_usage_error(what, "--stages: up to %d percentages from 1 to 100",
                                   FWS_STORE_MAX_STAGES);
        pct[(*n)++] = (uint32_t)v;
    }
    if (*n == 0)
        return cli_usage_error(what, "--stages: at least one percentage");
    return 0;
}

static json_t *selector(const rollout_opts *o)
{
    json_t *sel = json_object();
    const char *const *lists[4] = {o->models, o->regions, o->groups, o->devices};
    const size_t ns[4] = {o->n_models, o->n_regions, o->n_groups, o->n_devices};
    static const char *const keys[4] = {"models", "regions", "groups", "devices"};
    for (int k = 0; sel != NULL && k < 4; k++) {
        if (ns[k] == 0)
            continue;
        json_t *arr = json_array();
        for (size_t i = 0; arr != NULL && i < ns[k]; i++)
            json_array_append_new(arr, json_string(lists[k][i]));
        json_object_set_new(sel, keys[k], arr);
    }
    return sel;
}

static int c_create(int argc, char **argv)
{
    const char *what = "rollout create";
    rollout_opts o;
    uint32_t pct[FWS_STORE_MAX_STAGES];
    size_t n = 0;
    int rc = parse_opts(what, argc, argv, &o, 0);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    if (o.release == NULL)
        return cli_usage_error(what, "--release P/V is required");
    if ((rc = parse_stages(what, o.stages, pct, &n)) != 0)
        return rc;
    fws_fleet_config cfg;
    fws_store *s = NULL;
    char *sel = NULL, detail[256];
    size_t sel_len = 0;
    int64_t id = 0;
    fws_errbuf eb = {{0}};
    json_t *selj = selector(&o);
    fws_err err = fws_fleet_config_load(o.dir, &cfg, &eb);
    if (err == FWS_OK)
        err = selj != NULL ? fws_json_canonical(selj, &sel, &sel_len) : FWS_ERR_NOMEM;
    json_decref(selj);
    if (err == FWS_OK)
        err = open_store(&o, &s, &eb);
    if (err == FWS_OK)
        err = fws_fleet_sync_releases(s, o.dir, &cfg, NULL, &eb);
    if (err == FWS_OK)
        err = import_devices(o.dir, s, &eb);
    fws_fleet_rollout_req q = {
        .release = o.release,
        .percent = pct,
        .n_stages = n,
        .success_threshold = o.success >= 0 ? (uint32_t)o.success : cfg.success_threshold,
        .failure_threshold = o.failure >= 0 ? (uint32_t)o.failure : cfg.failure_threshold,
        .selector = sel,
        .quarantine = o.quarantine,
    };
    if (err == FWS_OK)
        err = fws_fleet_rollout_create(s, &q, (int64_t)time(NULL), &id, &eb);
    if (err == FWS_OK) {
        snprintf(detail, sizeof(detail), "rollout %lld of %s, stages %s", (long long)id, o.release,
                 o.stages);
        err = audit(s, "rollout.create", o.release, detail, &eb);
    }
    free(sel);
    rc = err == FWS_OK ? show(&o, s, id, what) : cli_report(what, err, &eb);
    fws_store_close(s);
    return rc;
}

/* ---- list, show, pause, resume, cancel ------------------------------------------------------
 */

typedef struct id_list {
    int64_t v[1000];
    size_t n;
} id_list;

static fws_err add_id(void *ctx, const fws_store_rollout *r)
{
    id_list *l = ctx;
    if (l->n < 1000)
        l->v[l->n++] = r->id;
    return FWS_OK;
}

static int c_list(int argc, char **argv)
{
    const char *what = "rollout list";
    rollout_opts o;
    int rc = parse_opts(what, argc, argv, &o, 0);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    fws_store_rollout_state st = 0;
    fws_errbuf eb = {{0}};
    if (o.state != NULL && fws_store_rollout_state_parse(o.state, &st, &eb) != FWS_OK)
        return cli_usage_error(what, "--state: pending, running, paused, completed or cancelled");
    fws_store *s = NULL;
    static id_list l;
    fws_store_page page = {.after = 0, .limit = 1000, .newest_first = 1};
    json_t *arr = json_array();
    l.n = 0;
    fws_err err = open_store(&o, &s, &eb);
    if (err == FWS_OK)
        err = fws_store_rollout_list(s, st, &page, add_id, &l, &eb);
    for (size_t i = 0; err == FWS_OK && i < l.n; i++) {
        json_t *j = NULL;
        err = fws_fleet_rollout_json(s, l.v[i], &j, &eb);
        if (err == FWS_OK && !o.json)
            print_rollout(j);
        if (err == FWS_OK)
            json_array_append_new(arr, j);
    }
    fws_store_close(s);
    if (err != FWS_OK) {
        json_decref(arr);
        return cli_report(what, err, &eb);
    }
    if (o.json)
        return cli_print_json(json_pack("{s:o}", "rollouts", arr));
    if (l.n == 0)
        printf("no rollouts\n");
    json_decref(arr);
    return CLI_OK;
}

static int c_show(int argc, char **argv)
{
    const char *what = "rollout show";
    rollout_opts o;
    int64_t id = 0;
    int rc = parse_opts(what, argc, argv, &o, 1);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    if ((rc = rollout_id(what, o.id, &id)) != 0)
        return rc;
    fws_store *s = NULL;
    fws_errbuf eb = {{0}};
    fws_err err = open_store(&o, &s, &eb);
    if (err != FWS_OK)
        return cli_report(what, err, &eb);
    rc = show(&o, s, id, what);
    fws_store_close(s);
    return rc;
}

static int act(int argc, char **argv, const char *what, fws_rollout_event e, const char *action)
{
    rollout_opts o;
    int64_t id = 0;
    int rc = parse_opts(what, argc, argv, &o, 1);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    if ((rc = rollout_id(what, o.id, &id)) != 0)
        return rc;
    fws_store *s = NULL;
    fws_errbuf eb = {{0}};
    char target[64];
    snprintf(target, sizeof(target), "rollout %lld", (long long)id);
    fws_err err = open_store(&o, &s, &eb);
    if (err == FWS_OK)
        err = fws_fleet_rollout_act(s, id, e, (int64_t)time(NULL), &eb);
    if (err == FWS_OK)
        err = audit(s, action, target, fws_rollout_event_name(e), &eb);
    rc = err == FWS_OK ? show(&o, s, id, what) : cli_report(what, err, &eb);
    fws_store_close(s);
    return rc;
}

static int c_pause(int argc, char **argv)
{
    return act(argc, argv, "rollout pause", FWS_ROLLOUT_EV_PAUSE, "rollout.pause");
}

static int c_resume(int argc, char **argv)
{
    return act(argc, argv, "rollout resume", FWS_ROLLOUT_EV_RESUME, "rollout.resume");
}

static int c_cancel(int argc, char **argv)
{
    return act(argc, argv, "rollout cancel", FWS_ROLLOUT_EV_CANCEL, "rollout.cancel");
}

int cmd_rollout(int argc, char **argv)
{
    static const cli_cmd cmds[] = {
        {"create", "create a staged rollout of a release", c_create},
        {"list", "list rollouts, newest first", c_list},
        {"show", "one rollout with its stages and counters", c_show},
        {"pause", "stop offering the release (containment)", c_pause},
        {"resume", "resume a paused rollout", c_resume},
        {"cancel", "cancel a rollout for good", c_cancel},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("rollout", cmds, argc, argv);
}
