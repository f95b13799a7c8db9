/* fwseal log witness: check a log's new checkpoint against the last one this witness cosigned
 * and add a tlog-cosignature. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "cli.h"
#include "fwseal/util.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fwseal log witness --key WKEY.pem --state DIR --vkey VKEY\n"
            "                          (--dir LOG | --url URL) [--name NAME] [--out FILE]\n"
            "                          [--no-merge] [--passphrase-file F] [--json]\n"
            "       fwseal log witness --key WKEY.pem [--name NAME] --show-vkey\n"
            "\n"
            "Fetches the log's checkpoint, verifies it with the log's VKEY (a file or the vkey\n"
            "text), and compares it with the last checkpoint this witness cosigned for that\n"
            "origin (kept in DIR): a smaller size or another root at the same size is refused,\n"
            "a larger size needs a consistency proof from the log's tiles that verifies. Then it\n"
            "adds a C2SP tlog-cosignature (Ed25519, type 0x04) as witness NAME (default\n"
            "witness-<first 8 hex digits of the key ID>), saves the state, prints the cosigned\n"
            "checkpoint (or writes it to FILE) and, with --dir, merges the cosignature into\n"
            "LOG/checkpoint unless --no-merge. Exit 1 on a fork or a bad signature.\n"
            "--show-vkey prints the witness's vkey, which verifiers need.\n");
}

typedef struct witness_opts {
    const char *key, *state, *vkey, *dir, *url, *name, *out, *passfile;
    int no_merge, json, show_vkey;
} witness_opts;

static int parse(int argc, char **argv, witness_opts *o)
{
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'},
        {"state", required_argument, NULL, 's'},
        {"vkey", required_argument, NULL, 'v'},
        {"dir", required_argument, NULL, 'd'},
        {"url", required_argument, NULL, 'u'},
        {"name", required_argument, NULL, 'n'},
        {"out", required_argument, NULL, 'o'},
        {"no-merge", no_argument, NULL, 'm'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"show-vkey", no_argument, NULL, 'V'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof(*o));
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            o->key = optarg;
            break;
        case 's':
            o->state = optarg;
            break;
        case 'v':
            o->vkey = optarg;
            break;
        case 'd':
            o->dir = optarg;
            break;
        case 'u':
            o->url = optarg;
            break;
        case 'n':
            o->name = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'm':
            o->no_merge = 1;
            break;
        case 'p':
            o->passfile = optarg;
            break;
        case 'V':
            o->show_vkey = 1;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return cli_usage_error("log witness", "unknown option");
        }
    }
    if (optind != argc || o->key == NULL)
        return cli_usage_error("log witness", "--key is required");
    if (!o->show_vkey &&
        (o->state == NULL || o->vkey == NULL || (o->dir == NULL) == (o->url == NULL)))
        return cli_usage_error("log witness",
                               "--state, --vkey and one of --dir or --url are required");
    return CLI_OK;
}

static fws_err witness_vkey(const fws_signer *s, const char *name, char vkey[FWS_NOTE_VKEY_MAX],
                            fws_errbuf *eb)
{
    fws_key *pub = NULL;
    fws_note_vkey v;
    fws_err err = s->public_key(s->impl, &pub);
    if (err == FWS_OK)
        err = fws_note_vkey_from_key(name, FWS_NOTE_TYPE_COSIG_V1, pub, &v, eb);
    if (err == FWS_OK)
        err = fws_note_vkey_format(&v, vkey, NULL);
    fws_key_free(pub);
    return err;
}

static int report(const witness_opts *o, const fws_follow_result *r, const char *vkey,
                  const char *out, size_t len, int merged)
{
    if (o->out != NULL) {
        fws_errbuf eb = {{0}};
        fws_err err = fws_file_write_atomic(o->out, out, len, 0644, 1, &eb);
        if (err != FWS_OK)
            return cli_report("log witness", err, &eb);
    }
    if (o->json)
        return cli_print_json(json_pack("{s:I, s:I, s:b, s:s, s:s%, s:b}", "oldSize",
                                        (json_int_t)r->old_size, "newSize", (json_int_t)r->new_size,
                                        "firstSight", r->first_sight, "witnessVkey", vkey,
                                        "checkpoint", out, len, "merged", merged));
    if (o->out == NULL)
        fwrite(out, 1, len, stdout);
    return CLI_OK;
}

static int run(const witness_opts *o, const fws_signer *signer, const char *name, const char *vkey)
{
    fws_errbuf eb = {{0}};
    fws_note_vkey log_key;
    fws_follow_result r;
    cli_log_source src;
    char *out = malloc(FWS_NOTE_MAX + 1);
    size_t len = 0;
    int merged = 0, rc;

    memset(&src, 0, sizeof(src));
    fws_err err = out ? cli_log_load_vkey(o->vkey, &log_key, &eb) : FWS_ERR_NOMEM;
    if (err == FWS_OK)
        err = cli_log_source_open(&src, o->dir, o->url, &eb);
    if (err == FWS_OK)
        err = fws_witness_cosign(&src.src, &log_key, o->state, name, signer, (uint64_t)time(NULL),
                                 out, FWS_NOTE_MAX + 1, &len, &r, &eb);
    cli_log_source_close(&src);
    if (err == FWS_OK && o->dir != NULL && !o->no_merge) {
        fws_errbuf why = {{0}};
        fws_err merr = fws_ledger_add_cosignatures(o->dir, out, len, &why);
        merged = merr == FWS_OK;
        if (merr != FWS_OK)
            fprintf(stderr, "fwseal log witness: not merged into %s/checkpoint: %s\n", o->dir,
                    why.msg[0] ? why.msg : fws_strerror(merr));
    }
    rc =
        err == FWS_OK ? report(o, &r, vkey, out, len, merged) : cli_report("log witness", err, &eb);
    free(out);
    return rc;
}

int cmd_log_witness(int argc, char **argv)
{
    witness_opts o;
    fws_signer signer;
    fws_errbuf eb = {{0}};
    char name[64], vkey[FWS_NOTE_VKEY_MAX];
    int rc = parse(argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    fws_err err = cli_log_load_signer(o.key, o.passfile, &signer, &eb);
    if (err != FWS_OK)
        return cli_report("log witness", err, &eb);
    snprintf(name, sizeof(name), "witness-%.8s", signer.keyid);
    err = witness_vkey(&signer, o.name ? o.name : name, vkey, &eb);
    if (err != FWS_OK)
        rc = cli_report("log witness", err, &eb);
    else if (o.show_vkey)
        printf("%s\n", vkey);
    else
        rc = run(&o, &signer, o.name ? o.name : name, vkey);
    fws_signer_free(&signer);
    return rc;
}
