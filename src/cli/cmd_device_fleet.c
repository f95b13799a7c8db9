/* fwseal device quarantine|release --dir DEPLOY ID: fast containment of one device. A
 * quarantined device is offered nothing but a recovery release (fleet.json "recovery"); the
 * change is made in the store (every server sees it at its next assignment), written to the
 * audit trail, and recorded in the ledger as a "quarantine" record (action begin or end). */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "fwseal/fleet.h"
#include "fwseal/pki.h"
#include "fwseal/store.h"
#include "cli.h"

typedef struct quarantine_opts {
    const char *dir, *store, *reason, *passfile, *id;
    int no_ledger, json;
} quarantine_opts;

static void usage(FILE *f, const char *verb)
{
    fprintf(f,
            "usage: fwseal device %s --dir DEPLOY ID [--reason TEXT] [--store S]\n"
            "                         [--passphrase-file F] [--no-ledger] [--json]\n"
            "\n"
            "quarantine: the device is offered nothing but a recovery release until it is\n"
            "released. release: it is active again. The ledger records both (the ledger key's\n"
            "passphrase comes from FWSEAL_PASSPHRASE, --passphrase-file or the terminal).\n",
            verb);
}

static int parse(const char *what, const char *verb, int argc, char **argv, quarantine_opts *o)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},    {"store", required_argument, NULL, 's'},
        {"reason", required_argument, NULL, 'r'}, {"passphrase-file", required_argument, NULL, 'p'},
        {"no-ledger", no_argument, NULL, 'n'},    {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->dir = optarg;
            break;
        case 's':
            o->store = optarg;
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
        case 'h':
            usage(stdout, verb);
            return -1;
        default:
            return cli_usage_error(what, "unknown option (see --help)");
        }
    }
    if (o->dir == NULL)
        return cli_usage_error(what, "--dir DEPLOY is required");
    if (optind != argc - 1)
        return cli_usage_error(what, "name one device ID");
    o->id = argv[optind];
    return 0;
}

static fws_err audit(fws_store *s, const char *action, const char *id, const char *detail,
                     fws_errbuf *eb)
{
    fws_store_audit a;
    int64_t aid = 0;
    struct passwd *pw = getpwuid(getuid());
    memset(&a, 0, sizeof(a));
    snprintf(a.actor, sizeof(a.actor), "%.40s (command line)", pw ? pw->pw_name : "unknown");
    snprintf(a.action, sizeof(a.action), "%s", action);
    snprintf(a.target, sizeof(a.target), "device %s", id);
    snprintf(a.detail, sizeof(a.detail), "%s", detail);
    a.time = (int64_t)time(NULL);
    return fws_store_audit_add(s, &a, &aid, eb);
}

/* The store change, its audit entry and the record (for the ledger). */
static fws_err change(const quarantine_opts *o, int quarantine, char **record, size_t *len,
                      fws_errbuf *eb)
{
    char url[FWS_STORE_PATH_MAX];
    fws_store *s = NULL;
    fws_pki *p = NULL;
    int64_t now = (int64_t)time(NULL);
    fws_err err = fws_store_resolve(o->store, o->dir, url, sizeof(url), eb);
    if (err == FWS_OK)
        err = fws_store_open(url, &s, eb);
    if (err == FWS_OK)
        err = fws_pki_open(o->dir, &p, eb);
    if (err == FWS_OK)
        err = fws_fleet_device_register(s, p, o->id, now, eb);
    if (err == FWS_OK)
        err = fws_fleet_device_quarantine(s, o->id, quarantine, o->reason, now, record, len, eb);
    if (err == FWS_OK)
        err = audit(s, quarantine ? "device.quarantine" : "device.release", o->id,
                    o->reason ? o->reason : "", eb);
    fws_pki_close(p);
    fws_store_close(s);
    return err;
}

static int run(int argc, char **argv, int quarantine)
{
    const char *verb = quarantine ? "quarantine" : "release";
    const char *what = quarantine ? "device quarantine" : "device release";
    quarantine_opts o;
    int rc = parse(what, verb, argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    fws_errbuf eb = {{0}};
    fws_passphrase pp;
    char *record = NULL;
    size_t len = 0;
    uint64_t index = 0;
    memset(&pp, 0, sizeof(pp));
    fws_err err = o.no_ledger ? FWS_OK : fws_passphrase_get(o.passfile, 0, NULL, &pp, &eb);
    if (err == FWS_OK)
        err = change(&o, quarantine, &record, &len, &eb);
    if (err == FWS_OK && !o.no_ledger) {
        err = fws_fleet_ledger_append_local(o.dir, &pp, record, len, &index, &eb);
        if (err != FWS_OK) {
            char inner[FWS_ERRBUF_SIZE];
            snprintf(inner, sizeof(inner), "%s", eb.msg[0] ? eb.msg : fws_strerror(err));
            fws_errbuf_clear(&eb);
            err =
                fws_errf(&eb, err, "device %s is %s, but its ledger record was not written: %.400s",
                         o.id, quarantine ? "quarantined" : "released", inner);
        }
    }
    fws_passphrase_wipe(&pp);
    free(record);
    if (err != FWS_OK)
        return cli_report(what, err, &eb);
    if (o.json) {
        json_t *j =
            json_pack("{s:s,s:s}", "device", o.id, "status", quarantine ? "quarantined" : "active");
        if (j != NULL && !o.no_ledger)
            json_object_set_new(j, "ledgerIndex", json_integer((json_int_t)index));
        return cli_print_json(j);
    }
    if (o.no_ledger)
        printf("device %s %s (no ledger record)\n", o.id, quarantine ? "quarantined" : "released");
    else
        printf("device %s %s (ledger record %llu)\n", o.id, quarantine ? "quarantined" : "released",
               (unsigned long long)index);
    return CLI_OK;
}

int cmd_device_quarantine(int argc, char **argv)
{
    return run(argc, argv, 1);
}

int cmd_device_release(int argc, char **argv)
{
    return run(argc, argv, 0);
}
