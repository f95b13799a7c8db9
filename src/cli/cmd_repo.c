/* fwseal repo refresh|status: keeping a deployment's metadata fresh, and looking at it. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"

typedef struct repo_cli {
    const char *dir, *passfile;
    cli_repo_refs keys;
    int force, root, json;
} repo_cli;

static int parse(const char *what, void (*usage)(FILE *), int argc, char **argv, repo_cli *c)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"force", no_argument, NULL, 'f'},
        {"root", no_argument, NULL, 'r'},
        {"key", required_argument, NULL, 'k'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    memset(c, 0, sizeof(*c));
    optind = 0;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            c->dir = optarg;
            break;
        case 'f':
            c->force = 1;
            break;
        case 'r':
            c->root = 1;
            break;
        case 'k':
            if (cli_repo_add_ref(&c->keys, optarg) != 0)
                return cli_usage_error(what, "too many --key options");
            break;
        case 'p':
            c->passfile = optarg;
            break;
        case 'j':
            c->json = 1;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return cli_usage_error(what, "unknown option");
        }
    }
    if (optind != argc)
        return cli_usage_error(what, "unexpected argument '%s'", argv[optind]);
    if (c->dir == NULL)
        return cli_usage_error(what, "--dir is required");
    return CLI_OK;
}

static void refresh_usage(FILE *f)
{
    fprintf(f, "usage: fwseal repo refresh --dir DEPLOY [--force] [--root] [--key REF]...\n"
               "                           [--passphrase-file F] [--json]\n"
               "\n"
               "Re-signs every role whose metadata has less than half of its expiry period left\n"
               "(or has expired): targets and hashed bins, then snapshot, then timestamp.json,\n"
               "which is replaced last. --force re-signs the timestamp in any case. Root is\n"
               "re-signed (same keys, version N+1) only with --root, as its keys are usually\n"
               "offline (--key names them); without it a root that is due is reported. Run it\n"
               "from a timer more often than the timestamp period (1 day by default).\n");
}

static int refresh_report(const repo_cli *c, const fws_refresh_result *res)
{
    char when[FWS_TUF_TIME_LEN];
    json_t *roles = json_object();
    for (int k = 0; k < FWS_TUF_KIND_COUNT; k++) {
        if (fws_tuf_time_format(res->expires[k], when) != FWS_OK)
            snprintf(when, sizeof(when), "?");
        json_object_set_new(roles, fws_tuf_kind_name((fws_tuf_kind)k),
                            json_pack("{s:b, s:s}", "resigned", res->resigned[k], "expires", when));
    }
    if (res->root_due)
        fprintf(stderr,
                "fwseal repo refresh: warning: root metadata expires on %s; re-sign it "
                "with --root (root keys needed)\n",
                json_string_value(json_object_get(json_object_get(roles, "root"), "expires")));
    if (c->json)
        return cli_print_json(json_pack("{s:o, s:I, s:b}", "roles", roles, "binsResigned",
                                        (json_int_t)res->bins_resigned, "rootDue", res->root_due));
    static const fws_tuf_kind order[] = {FWS_TUF_ROOT, FWS_TUF_TARGETS, FWS_TUF_SNAPSHOT,
                                         FWS_TUF_TIMESTAMP};
    for (size_t i = 0; i < 4; i++) {
        json_t *r = json_object_get(roles, fws_tuf_kind_name(order[i]));
        printf("%-10s %-9s expires %s\n", fws_tuf_kind_name(order[i]),
               json_is_true(json_object_get(r, "resigned")) ? "re-signed" : "kept",
               json_string_value(json_object_get(r, "expires")));
    }
    if (res->bins_resigned > 0)
        printf("%zu hashed bins re-signed\n", res->bins_resigned);
    json_decref(roles);
    return CLI_OK;
}

static int repo_refresh(int argc, char **argv)
{
    repo_cli c;
    fws_errbuf eb = {{0}};
    fws_passphrase pp;
    fws_deploy *d = NULL;
    fws_refresh_result res;
    int rc = parse("repo refresh", refresh_usage, argc, argv, &c);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    memset(&pp, 0, sizeof(pp));
    fws_err err = fws_deploy_open(c.dir, &d, &eb);
    if (err == FWS_OK)
        err = cli_repo_passphrase(c.passfile, 0, &pp, &eb);
    if (err == FWS_OK) {
        fws_refresh_req r = {.force = c.force,
                             .include_root = c.root,
                             .pp = &pp,
                             .extra_keys = {c.keys.refs, c.keys.n},
                             .now = cli_repo_now()};
        err = fws_repo_refresh(d, &r, &res, &eb);
    }
    fws_passphrase_wipe(&pp);
    fws_deploy_close(d);
    return err == FWS_OK ? refresh_report(&c, &res) : cli_report("repo refresh", err, &eb);
}

static void status_usage(FILE *f)
{
    fprintf(f, "usage: fwseal repo status --dir DEPLOY [--json]\n"
               "\n"
               "Prints the published version, expiry, keys and threshold of every role.\n");
}

static int repo_status(int argc, char **argv)
{
    repo_cli c;
    fws_errbuf eb = {{0}};
    fws_deploy *d = NULL;
    json_t *s = NULL;
    int rc = parse("repo status", status_usage, argc, argv, &c);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    fws_err err = fws_deploy_open(c.dir, &d, &eb);
    if (err == FWS_OK)
        err = fws_repo_status(d, cli_repo_now(), &s, &eb);
    fws_deploy_close(d);
    if (err != FWS_OK)
        return cli_report("repo status", err, &eb);
    if (c.json)
        return cli_print_json(s);
    printf("origin %s\n", json_string_value(json_object_get(s, "origin")));
    static const char *order[] = {"root", "targets", "snapshot", "timestamp"};
    for (size_t i = 0; i < 4; i++) {
        json_t *r = json_object_get(json_object_get(s, "roles"), order[i]);
        printf("%-10s v%-5lld expires %s%s  %zu key(s), threshold %lld\n", order[i],
               (long long)json_integer_value(json_object_get(r, "version")),
               json_string_value(json_object_get(r, "expires")),
               json_is_true(json_object_get(r, "expired")) ? " (EXPIRED)" : "",
               json_array_size(json_object_get(r, "keyids")),
               (long long)json_integer_value(json_object_get(r, "threshold")));
    }
    json_t *bins = json_object_get(s, "hashedBins");
    if (bins != NULL)
        printf("hashed bins: %lld (%s-*)\n",
               (long long)json_integer_value(json_object_get(bins, "bins")),
               json_string_value(json_object_get(bins, "namePrefix")));
    json_decref(s);
    return CLI_OK;
}

int cmd_repo(int argc, char **argv)
{
    static const cli_cmd cmds[] = {
        {"refresh", "re-sign the timestamp (and whatever is close to expiry)", repo_refresh},
        {"status", "versions, expiries and keys of the published metadata", repo_status},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("repo", cmds, argc, argv);
}
