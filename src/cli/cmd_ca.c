/* fwseal ca: the CA hierarchy of an environment (init, export, crl). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "cli.h"
#include "fwseal/pki.h"

typedef struct ca_opts {
    const char *dir, *env_name, *out, *passfile, *pkcs11, *org, *key_type;
    unsigned next_days;
    int json;
    fws_pki_env env;
} ca_opts;

static void usage(FILE *f)
{
    fprintf(
        f, "usage: fwseal ca init   --dir DEPLOY --env dev|staging|prod [--key-type p256|ed25519]\n"
           "                        [--org NAME] [--pkcs11 URI] [--passphrase-file F] [--json]\n"
           "       fwseal ca export --dir DEPLOY --env ENV --out DIR [--json]\n"
           "       fwseal ca crl    --dir DEPLOY --env ENV [--next-days N] [--passphrase-file F]\n"
           "\n"
           "init creates the environment's offline root and online issuing intermediate, each\n"
           "with a new key (P-256 by default) encrypted with the passphrase (FWSEAL_PASSPHRASE,\n"
           "--passphrase-file or the terminal), under DEPLOY/pki/ENV/. No key is shared between\n"
           "environments. Move root.key offline once init is done: only the intermediate signs\n"
           "day to day.\n"
           "export copies root.crt, intermediate.crt and crl.pem into DIR.\n"
           "crl regenerates the issuing CA's CRL (valid --next-days, default 7).\n");
}

static int parse(const char *what, int argc, char **argv, ca_opts *o)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"env", required_argument, NULL, 'e'},
        {"out", required_argument, NULL, 'o'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"pkcs11", required_argument, NULL, 'k'},
        {"org", required_argument, NULL, 'g'},
        {"key-type", required_argument, NULL, 't'},
        {"next-days", required_argument, NULL, 'n'},
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
        case 'e':
            o->env_name = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'p':
            o->passfile = optarg;
            break;
        case 'k':
            o->pkcs11 = optarg;
            break;
        case 'g':
            o->org = optarg;
            break;
        case 't':
            o->key_type = optarg;
            break;
        case 'n':
            o->next_days = (unsigned)strtoul(optarg, NULL, 10);
            if (o->next_days == 0 || o->next_days > 366)
                return cli_usage_error(what, "--next-days: 1 to 366");
            break;
        case 'j':
            o->json = 1;
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
    if (o->dir == NULL || o->env_name == NULL)
        return cli_usage_error(what, "--dir and --env are required");
    if (fws_pki_env_parse(o->env_name, &o->env) != FWS_OK)
        return cli_usage_error(what, "--env: dev, staging or prod, not '%s'", o->env_name);
    return CLI_OK;
}

static int ca_init(int argc, char **argv)
{
    ca_opts o;
    fws_errbuf eb = {{0}};
    fws_passphrase pp;
    fws_pki_ca_info info;
    fws_pki_ca_opts co;
    int rc = parse("ca init", argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    memset(&co, 0, sizeof(co));
    co.env = o.env;
    co.organization = o.org;
    if (o.key_type != NULL && fws_key_type_parse(o.key_type, &co.key_type) != FWS_OK)
        return cli_usage_error("ca init", "--key-type: p256 or ed25519, not '%s'", o.key_type);
    co.pkcs11_uri = o.pkcs11;
    fws_err err = fws_passphrase_get(o.passfile, 1, "passphrase for the CA keys: ", &pp, &eb);
    if (err != FWS_OK)
        return cli_report("ca init", err, &eb);
    co.pp = &pp;
    err = fws_pki_ca_init(o.dir, &co, &info, &eb);
    fws_passphrase_wipe(&pp);
    if (err != FWS_OK)
        return cli_report("ca init", err, &eb);
    if (o.json)
        return cli_print_json(
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "env", o.env_name, "root_sha256",
                      info.root_sha256, "intermediate_sha256", info.intermediate_sha256,
                      "root_keyid", info.root_keyid, "intermediate_keyid", info.intermediate_keyid,
                      "root_not_after", (json_int_t)info.root_not_after, "intermediate_not_after",
                      (json_int_t)info.intermediate_not_after));
    printf("created the %s CA in %s/pki/%s\n  root          sha256 %s\n  intermediate  sha256 "
           "%s\n",
           o.env_name, o.dir, o.env_name, info.root_sha256, info.intermediate_sha256);
    return CLI_OK;
}

static int ca_export(int argc, char **argv)
{
    ca_opts o;
    fws_errbuf eb = {{0}};
    int rc = parse("ca export", argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (o.out == NULL)
        return cli_usage_error("ca export", "--out is required");
    fws_err err = fws_pki_ca_export(o.dir, o.env, o.out, &eb);
    if (err != FWS_OK)
        return cli_report("ca export", err, &eb);
    if (o.json)
        return cli_print_json(json_pack("{s:s, s:s, s:[s,s,s]}", "env", o.env_name, "out", o.out,
                                        "files", "root.crt", "intermediate.crt", "crl.pem"));
    printf("exported the %s CA to %s: root.crt intermediate.crt crl.pem\n", o.env_name, o.out);
    return CLI_OK;
}

static int ca_crl(int argc, char **argv)
{
    ca_opts o;
    fws_errbuf eb = {{0}};
    fws_passphrase pp;
    fws_pki *p = NULL;
    int rc = parse("ca crl", argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    fws_err err = fws_pki_open(o.dir, &p, &eb);
    if (err == FWS_OK) {
        err = fws_passphrase_get(o.passfile, 0, "passphrase for the CA keys: ", &pp, &eb);
        if (err == FWS_OK)
            err = fws_pki_load_issuer(p, o.env, &pp, &eb);
        fws_passphrase_wipe(&pp);
    }
    if (err == FWS_OK)
        err = fws_pki_crl_update(p, o.env, o.next_days, &eb);
    fws_pki_close(p);
    if (err != FWS_OK)
        return cli_report("ca crl", err, &eb);
    if (o.json)
        return cli_print_json(json_pack("{s:s, s:b}", "env", o.env_name, "crl", 1));
    printf("regenerated %s/pki/%s/crl.pem\n", o.dir, o.env_name);
    return CLI_OK;
}

int cmd_ca(int argc, char **argv)
{
    static const cli_cmd cmds[] = {
        {"init", "create an environment's root and issuing CA", ca_init},
        {"export", "copy an environment's certificates and CRL", ca_export},
        {"crl", "regenerate an environment's CRL", ca_crl},
        {NULL, NULL, NULL},
    };
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return CLI_OK;
    }
    return cli_dispatch("ca", cmds, argc, argv);
}
