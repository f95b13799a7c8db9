/* fwseal backup and fwseal restore. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "fwseal/audit.h"
#include "fwseal/json.h"

static json_t *info_json(const fws_backup_info *i)
{
    return json_pack("{s:I, s:I, s:I, s:b, s:b, s:b}", "members", (json_int_t)i->members, "bytes",
                     (json_int_t)i->bytes, "treeSize", (json_int_t)i->tree_size, "store", i->store,
                     "inventory", i->inventory, "keys", i->keys);
}

static void info_text(const char *what, const char *path, const fws_backup_info *i)
{
    printf("%s %s: %llu members, %llu bytes, ledger of %llu entries; store %s, inventory %s, "
           "keys %s\n",
           what, path, (unsigned long long)i->members, (unsigned long long)i->bytes,
           (unsigned long long)i->tree_size, i->store ? "yes" : "no", i->inventory ? "yes" : "no",
           i->keys ? "yes (sealed)" : "no");
}

int cmd_backup(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},    {"out", required_argument, NULL, 'o'},
        {"include-keys", no_argument, NULL, 'k'}, {"passphrase-file", required_argument, NULL, 'p'},
        {"store", required_argument, NULL, 's'},  {"no-store", no_argument, NULL, 'n'},
        {"force", no_argument, NULL, 'f'},        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    fws_backup_opts o = {0};
    fws_backup_info info;
    fws_passphrase pp;
    fws_errbuf eb = {{0}};
    const char *passfile = NULL;
    int c, json = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o.deploy = optarg;
            break;
        case 'o':
            o.out = optarg;
            break;
        case 'k':
            o.include_keys = 1;
            break;
        case 'p':
            passfile = optarg;
            break;
        case 's':
            o.store = optarg;
            break;
        case 'n':
            o.skip_store = 1;
            break;
        case 'f':
            o.overwrite = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            printf("usage: fwseal backup --dir DEPLOY --out FILE [--include-keys]\n"
                   "                     [--passphrase-file F] [--store STORE | --no-store]\n"
                   "                     [--force] [--json]\n"
                   "A consistent online snapshot of a deployment in one archive with a SHA-256\n"
                   "for every member: the databases through SQLite's online backup, then the\n"
                   "repository and PKI files, then the ledger. Private keys only with\n"
                   "--include-keys, sealed with a passphrase (AES-256-GCM, scrypt). A PostgreSQL\n"
                   "store is refused: dump it with pg_dump and use --no-store.\n");
            return CLI_OK;
        default:
            return CLI_ERROR;
        }
    }
    if (optind != argc)
        return cli_usage_error("backup", "unexpected argument \"%s\"", argv[optind]);
    if (o.deploy == NULL || o.out == NULL)
        return cli_usage_error("backup", "--dir and --out are required");
    if (o.include_keys) {
        fws_err err = cli_repo_passphrase(passfile, 1, &pp, &eb);
        if (err != FWS_OK)
            return cli_report("backup", err, &eb);
        o.pp = &pp;
    }
    o.now = (int64_t)time(NULL);
    fws_err err = fws_backup_create(&o, &info, &eb);
    if (o.pp != NULL)
        fws_passphrase_wipe(&pp);
    if (err != FWS_OK)
        return cli_report("backup", err, &eb);
    if (json)
        return cli_print_json(info_json(&info));
    info_text("backup", o.out, &info);
    return CLI_OK;
}

int cmd_restore(int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'F'}, {"dir", required_argument, NULL, 'd'},
        {"keys", no_argument, NULL, 'k'},       {"passphrase-file", required_argument, NULL, 'p'},
        {"vkey", required_argument, NULL, 'v'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    fws_restore_opts o = {0};
    fws_backup_info info;
    fws_passphrase pp;
    fws_note_vkey key;
    fws_errbuf eb = {{0}};
    const char *passfile = NULL;
    int c, json = 0, keys = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'F':
            o.backup = optarg;
            break;
        case 'd':
            o.dir = optarg;
            break;
        case 'k':
            keys = 1;
            break;
        case 'p':
            passfile = optarg;
            break;
        case 'v':
            if (cli_log_load_vkey(optarg, &key, &eb) != FWS_OK)
                return cli_report("restore", FWS_ERR_ARG, &eb);
            o.log_key = &key;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            printf("usage: fwseal restore --from FILE --dir NEW_DEPLOY [--keys]\n"
                   "                      [--passphrase-file F] [--vkey VKEY] [--json]\n"
                   "Restores a backup into a new directory. Every member is checked against the\n"
                   "backup's checksums, the ledger is recomputed from its tiles against its\n"
                   "signed checkpoint (pinned with --vkey) and the databases' integrity is\n"
                   "checked before anything is put in place: a corrupted or truncated backup is\n"
                   "refused (exit 1) and leaves nothing. --keys unseals the keys.\n");
            return CLI_OK;
        default:
            return CLI_ERROR;
        }
    }
    if (optind != argc)
        return cli_usage_error("restore", "unexpected argument \"%s\"", argv[optind]);
    if (o.backup == NULL || o.dir == NULL)
        return cli_usage_error("restore", "--from and --dir are required");
    if (keys) {
        fws_err err = cli_repo_passphrase(passfile, 0, &pp, &eb);
        if (err != FWS_OK)
            return cli_report("restore", err, &eb);
        o.pp = &pp;
    }
    fws_err err = fws_backup_restore(&o, &info, &eb);
    if (o.pp != NULL)
        fws_passphrase_wipe(&pp);
    if (err != FWS_OK) {
        int rc = cli_report("restore", err, &eb);
        /* a backup that fails its checks is a verification failure, whatever the check */
        return err == FWS_ERR_IO || err == FWS_ERR_NOMEM || err == FWS_ERR_ARG ||
                       err == FWS_ERR_EXISTS || err == FWS_ERR_NOT_FOUND
                   ? rc
                   : CLI_FAILED;
    }
    if (json)
        return cli_print_json(info_json(&info));
    info_text("restored", o.dir, &info);
    return CLI_OK;
}
