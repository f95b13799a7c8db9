/* fwseal device: the inventory (list, show), revocation, decommissioning, models, refusals. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "cli.h"
#include "fwseal/pki.h"

typedef struct dev_opts {
    const char *dir, *passfile, *reason, *id;
    fws_pki_filter filter;
    int json, no_ledger;
    char **rest;
    int nrest;
} dev_opts;

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: fwseal device list   --dir DEPLOY [--env ENV] [--status S] [--batch B]\n"
        "                            [--model M] [--json]\n"
        "       fwseal device show   --dir DEPLOY ID|SERIAL [--json]\n"
        "       fwseal device revoke --dir DEPLOY ID|SERIAL --reason R [--no-ledger]\n"
        "       fwseal device decommission --dir DEPLOY ID|SERIAL [--no-ledger]\n"
        "       fwseal device model add --dir DEPLOY MODEL...\n"
        "       fwseal device model list --dir DEPLOY [--json]\n"
        "       fwseal device refusals --dir DEPLOY [--json]\n"
        "\n"
        "States: provisioned (factory identity issued), active (holds an operational\n"
        "certificate), revoked, decommissioned. revoke revokes every certificate of the device,\n"
        "records a revoke record in the ledger, regenerates the CRL and stops renewal; reasons:\n"
        "unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation,\n"
        "privilegeWithdrawn. decommission is the final disposition. Models listed by\n"
        "'model add' are the only ones provisioning accepts. refusals lists refused requests.\n");
}

static int parse(const char *what, int argc, char **argv, dev_opts *o)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"env", required_argument, NULL, 'e'},
        {"status", required_argument, NULL, 's'},
        {"batch", required_argument, NULL, 'b'},
        {"model", required_argument, NULL, 'm'},
        {"reason", required_argument, NULL, 'r'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"no-ledger", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof(*o));
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->dir = optarg;
            break;
        case 'b':
            o->filter.batch = optarg;
            break;
        case 'm':
            o->filter.model = optarg;
            break;
        case 'r':
            o->reason = optarg;
            break;
        case 'p':
            o->passfile = optarg;
            break;
        case 'n':
            o->no_ledger = 1;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'e':
            if (fws_pki_env_parse(optarg, &o->filter.env) != FWS_OK)
                return cli_usage_error(what, "--env: dev, staging or prod");
            break;
        case 's':
            for (int s = FWS_DEVICE_PROVISIONED; s <= FWS_DEVICE_DECOMMISSIONED; s++) {
                if (strcmp(optarg, fws_pki_status_name((fws_pki_status)s)) == 0)
                    o->filter.status = (fws_pki_status)s;
            }
            if (o->filter.status == 0)
                return cli_usage_error(what, "--status: provisioned, active, revoked or"
                                             " decommissioned");
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return cli_usage_error(what, "unknown option");
        }
    }
    if (o->dir == NULL)
        return cli_usage_error(what, "--dir is required");
    o->rest = argv + optind;
    o->nrest = argc - optind;
    return CLI_OK;
}

static int parse_one(const char *what, int argc, char **argv, dev_opts *o)
{
    int rc = parse(what, argc, argv, o);
    if (rc != CLI_OK)
        return rc;
    if (o->nrest != 1)
        return cli_usage_error(what, "one device ID or serial is needed");
    o->id = o->rest[0];
    return CLI_OK;
}

static const char *when(int64_t t, char buf[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t == 0 || gmtime_r(&tt, &tm) == NULL)
        return "-";
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static json_t *device_json(const fws_pki_device *d)
{
    char a[32], b[32];
    json_error_t jerr;
    json_t *checks = json_loads(d->hw_checks, 0, &jerr);
    char e[32];
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:s, "
                     "s:s, s:s}",
                     "id", d->id, "serial", d->serial, "model", d->model, "batch", d->batch,
                     "bom_version", d->bom_version, "station", d->station, "operator",
                     d->operator_name, "env", fws_pki_env_name(d->env), "status",
                     fws_pki_status_name(d->status), "provisioned_at", when(d->provisioned_at, a),
                     "updated_at", when(d->updated_at, b), "reprovisions", (int)d->reprovisions,
                     "hw_checks", checks ? checks : json_object(), "key_origin", d->key_origin,
                     "reason", d->reason, "expires", when(d->expires, e));
}

typedef struct list_ctx {
    json_t *arr;
    size_t n;
} list_ctx;

static int list_one(void *ctx, const fws_pki_device *d)
{
    list_ctx *l = ctx;
    char a[32], e[32];
    l->n++;
    if (l->arr != NULL)
        return json_array_append_new(l->arr, device_json(d));
    printf("%-32s  %-16s  %-12s  %-8s  %-15s  %-12s  %-20s  %s\n", d->id, d->serial, d->model,
           fws_pki_env_name(d->env), fws_pki_status_name(d->status), d->batch,
           when(d->provisioned_at, a), when(d->expires, e));
    return 0;
}

static fws_err dev_list(fws_pki *p, const dev_opts *o, fws_errbuf *eb)
{
    list_ctx l = {o->json ? json_array() : NULL, 0};
    if (!o->json)
        printf("%-32s  %-16s  %-12s  %-8s  %-15s  %-12s  %-20s  %s\n", "ID", "SERIAL", "MODEL",
               "ENV", "STATUS", "BATCH", "PROVISIONED", "EXPIRES");
    fws_err err = fws_pki_device_list(p, &o->filter, list_one, &l, eb);
    if (err == FWS_OK && o->json)
        cli_print_json(json_pack("{s:I, s:o}", "count", (json_int_t)l.n, "devices", l.arr));
    else
        json_decref(l.arr);
    return err;
}

static int cert_one(void *ctx, const fws_pki_cert *c)
{
    json_t *arr = ctx;
    char a[32], b[32], r[32];
    if (arr != NULL)
        return json_array_append_new(
            arr, json_pack(
                     "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "serial", c->serial, "kind",
                     fws_pki_cert_kind_name(c->kind), "status", fws_pki_cert_status_name(c->status),
                     "sha256", c->sha256, "not_before", when(c->not_before, a), "not_after",
                     when(c->not_after, b), "revoked_at", when(c->revoked_at, r), "reason",
                     c->status == FWS_CERT_REVOKED ? fws_pki_reason_name((fws_pki_reason)c->reason)
                                                   : ""));
    printf("  %-11s %s  %-10s  expires %s%s%s\n", fws_pki_cert_kind_name(c->kind), c->serial,
           fws_pki_cert_status_name(c->status), when(c->not_after, b),
           c->status == FWS_CERT_REVOKED ? "  revoked " : "",
           c->status == FWS_CERT_REVOKED ? when(c->revoked_at, r) : "");
    return 0;
}

static fws_err dev_show(fws_pki *p, const dev_opts *o, fws_errbuf *eb)
{
    fws_pki_device *d = malloc(sizeof(*d));
    char a[32], e[32];
    if (d == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = fws_pki_device_get(p, o->id, d, eb);
    if (err == FWS_OK && o->json) {
        json_t *doc = device_json(d), *certs = json_array();
        err = fws_pki_device_certs(p, d->id, cert_one, certs, eb);
        json_object_set_new(doc, "certificates", certs);
        if (err == FWS_OK)
            cli_print_json(doc);
        else
            json_decref(doc);
    } else if (err == FWS_OK) {
        printf("device %s\n  serial       %s\n  model        %s\n  environment  %s\n"
               "  status       %s%s%s\n  batch        %s\n  BOM version  %s\n  station      %s\n"
               "  operator     %s\n  key origin   %s\n  hw checks    %s\n  expires      %s\n"
               "  provisioned  %s"
               " (reprovisioned %u times)\ncertificates (newest first):\n",
               d->id, d->serial, d->model, fws_pki_env_name(d->env), fws_pki_status_name(d->status),
               d->reason[0] ? " - " : "", d->reason, d->batch, d->bom_version, d->station,
               d->operator_name, d->key_origin, d->hw_checks, when(d->expires, e),
               when(d->provisioned_at, a), d->reprovisions);
        err = fws_pki_device_certs(p, d->id, cert_one, NULL, eb);
    }
    free(d);
    return err;
}

/* Loads the device's environment issuer and the ledger, for revoke and decommission. */
static fws_err open_for_change(fws_pki *p, const dev_opts *o, fws_errbuf *eb)
{
    fws_passphrase pp;
    fws_pki_device *d = malloc(sizeof(*d));
    memset(&pp, 0, sizeof(pp));
    if (d == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = fws_pki_device_get(p, o->id, d, eb);
    if (err == FWS_OK)
        err = fws_passphrase_get(o->passfile, 0, "passphrase for the CA keys: ", &pp, eb);
    if (err == FWS_OK)
        err = fws_pki_load_issuer(p, d->env, &pp, eb);
    if (err == FWS_OK && !o->no_ledger)
        err = fws_pki_set_ledger(p, NULL, 1, &pp, eb);
    fws_passphrase_wipe(&pp);
    free(d);
    return err;
}

static void print_change(const dev_opts *o, const char *what, const fws_pki_issued *rec)
{
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s}", "device", rec->device_id, "action", what);
        if (rec->in_ledger)
            json_object_set_new(j, "ledger_index", json_integer((json_int_t)rec->ledger_index));
        cli_print_json(j);
        return;
    }
    printf("%s device %s\n", what, rec->device_id);
    if (rec->in_ledger)
        printf("  ledger  index %llu\n", (unsigned long long)rec->ledger_index);
}

static fws_err dev_revoke(fws_pki *p, const dev_opts *o, fws_errbuf *eb)
{
    fws_pki_reason reason;
    fws_pki_issued *rec = malloc(sizeof(*rec));
    fws_err err = rec ? FWS_OK : FWS_ERR_NOMEM;
    if (err == FWS_OK && (o->reason == NULL || fws_pki_reason_parse(o->reason, &reason) != FWS_OK))
        err = fws_errf(eb, FWS_ERR_USAGE,
                       "--reason: unspecified, keyCompromise,"
                       " affiliationChanged, superseded, cessationOfOperation or"
                       " privilegeWithdrawn");
    if (err == FWS_OK)
        err = open_for_change(p, o, eb);
    if (err == FWS_OK)
        err = fws_pki_revoke(p, o->id, reason, rec, eb);
    if (err == FWS_OK)
        print_change(o, "revoked", rec);
    free(rec);
    return err;
}

static fws_err dev_decommission(fws_pki *p, const dev_opts *o, fws_errbuf *eb)
{
    fws_pki_issued *rec = malloc(sizeof(*rec));
    fws_err err = rec ? open_for_change(p, o, eb) : FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = fws_pki_decommission(p, o->id, rec, eb);
    if (err == FWS_OK)
        print_change(o, "decommissioned", rec);
    free(rec);
    return err;
}

static fws_err dev_model(fws_pki *p, const dev_opts *o, fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    if (o->nrest >= 2 && strcmp(o->rest[0], "add") == 0) {
        for (int i = 1; i < o->nrest && err == FWS_OK; i++)
            err = fws_pki_model_add(p, o->rest[i], eb);
        if (err == FWS_OK && !o->json)
            printf("%zu models known\n", fws_pki_model_count(p));
        if (err != FWS_OK || !o->json)
            return err;
    } else if (o->nrest != 1 || strcmp(o->rest[0], "list") != 0) {
        return fws_errf(eb, FWS_ERR_USAGE, "model add MODEL... or model list");
    }
    json_t *arr = o->json ? json_array() : NULL;
    for (size_t i = 0; i < fws_pki_model_count(p); i++) {
        if (arr != NULL)
            json_array_append_new(arr, json_string(fws_pki_model_at(p, i)));
        else
            printf("%s\n", fws_pki_model_at(p, i));
    }
    if (arr != NULL)
        cli_print_json(json_pack("{s:o}", "models", arr));
    return FWS_OK;
}

static int refusal_one(void *ctx, const fws_pki_refusal *r)
{
    json_t *arr = ctx;
    char a[32];
    if (arr != NULL)
        return json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "time", when(r->time, a), "action",
                           r->action, "env", r->env, "subject", r->subject, "reason", r->reason));
    printf("%s  %-14s %-8s %-20s %s\n", when(r->time, a), r->action, r->env, r->subject, r->reason);
    return 0;
}

static fws_err dev_refusals(fws_pki *p, const dev_opts *o, fws_errbuf *eb)
{
    json_t *arr = o->json ? json_array() : NULL;
    fws_err err = fws_pki_refusals(p, refusal_one, arr, eb);
    if (err == FWS_OK && arr != NULL)
        cli_print_json(json_pack("{s:o}", "refusals", arr));
    else
        json_decref(arr);
    return err;
}

typedef fws_err (*dev_fn)(fws_pki *p, const dev_opts *o, fws_errbuf *eb);

static int run(const char *what, dev_fn fn, int one, int argc, char **argv)
{
    dev_opts o;
    fws_errbuf eb = {{0}};
    fws_pki *p = NULL;
    int rc = one ? parse_one(what, argc, argv, &o) : parse(what, argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (!one && fn != dev_model && o.nrest != 0)
        return cli_usage_error(what, "unexpected argument '%s'", o.rest[0]);
    fws_err err = fws_pki_open(o.dir, &p, &eb);
    if (err == FWS_OK)
        err = fn(p, &o, &eb);
    fws_pki_close(p);
    if (err == FWS_ERR_USAGE)
        return cli_usage_error(what, "%s", eb.msg);
    return err == FWS_OK ? CLI_OK : cli_report(what, err, &eb);
}

static int c_list(int argc, char **argv)
{
    return run("device list", dev_list, 0, argc, argv);
}
static int c_show(int argc, char **argv)
{
    return run("device show", dev_show, 1, argc, argv);
}
static int c_revoke(int argc, char **argv)
{
    return run("device revoke", dev_revoke, 1, argc, argv);
}
static int c_decommission(int argc, char **argv)
{
    return run("device decommission", dev_decommission, 1, argc, argv);
}
static int c_model(int argc, char **argv)
{
    return run("device model", dev_model, 0, argc, argv);
}
static int c_refusals(int argc, char **argv)
{
    return run("device refusals", dev_refusals, 0, argc, argv);
}

int cmd_device(int argc, char **argv)
{
    static const cli_cmd cmds[] = {
        {"list", "list devices from the inventory", c_list},
        {"show", "one device and its certificates", c_show},
        {"revoke", "revoke a device's identity", c_revoke},
        {"decommission", "record a device's final disposition", c_decommission},
        {"quarantine", "offer a device nothing but a recovery release", cmd_device_quarantine},
        {"release", "end a device's quarantine", cmd_device_release},
        {"model", "hardware models the deployment provisions (add, list)", c_model},
        {"refusals", "requests that were refused, and why", c_refusals},
        {NULL, NULL, NULL},
    };
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return CLI_OK;
    }
    return cli_dispatch("device", cmds, argc, argv);
}
