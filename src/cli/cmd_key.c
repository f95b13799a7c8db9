/* fwseal key: generate signing keys and show what a key file holds. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "cli.h"
#include "fwseal/crypto.h"

static void gen_usage(FILE *f)
{
    fprintf(f, "usage: fwseal key gen --type ed25519|p256 --out KEY.pem [--pub PUB.pem]\n"
               "                      [--passphrase-file F] [--force] [--json]\n"
               "\n"
               "Generates a key pair. The private key is written to KEY.pem as encrypted PKCS#8\n"
               "(PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC; mode 0600), the public key to PUB.pem as\n"
               "SubjectPublicKeyInfo PEM when --pub is given. The passphrase comes from\n"
               "FWSEAL_PASSPHRASE, else the first line of --passphrase-file, else the terminal\n"
               "(asked twice); it may not be empty. Existing files are kept unless --force.\n"
               "Prints the key type and key ID (hex SHA-256 of the SubjectPublicKeyInfo DER).\n");
}

static void show_usage(FILE *f)
{
    fprintf(f, "usage: fwseal key show KEY.pem|PUB.pem [--passphrase-file F] [--json]\n"
               "\n"
               "Prints a key file's type, key ID and public key (PEM). A private key file is\n"
               "decrypted to do so and needs its passphrase (FWSEAL_PASSPHRASE, --passphrase-file\n"
               "or the terminal); a public key file does not.\n");
}

typedef struct key_opts {
    const char *type, *out, *pub, *passfile, *file;
    int force, json;
} key_opts;

/* CLI_OK to go on, -1 after --help, CLI_ERROR on a usage error. */
static int parse(const char *what, int argc, char **argv, key_opts *o, void (*usage)(FILE *))
{
    static const struct option longopts[] = {
        {"type", required_argument, NULL, 't'}, {"out", required_argument, NULL, 'o'},
        {"pub", required_argument, NULL, 'P'},  {"passphrase-file", required_argument, NULL, 'p'},
        {"force", no_argument, NULL, 'f'},      {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof(*o));
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            o->type = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'P':
            o->pub = optarg;
            break;
        case 'p':
            o->passfile = optarg;
            break;
        case 'f':
            o->force = 1;
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
    return CLI_OK;
}

static int gen_check(const key_opts *o, int argc, fws_key_type *type)
{
    if (optind != argc)
        return cli_usage_error("key gen", "unexpected argument '%s'", o->file);
    if (o->type == NULL || o->out == NULL)
        return cli_usage_error("key gen", "--type and --out are required");
    if (fws_key_type_parse(o->type, type) != FWS_OK)
        return cli_usage_error("key gen", "unknown key type '%s' (ed25519 or p256)", o->type);
    if (o->pub != NULL && strcmp(o->pub, o->out) == 0)
        return cli_usage_error("key gen", "--out and --pub name the same file");
    return CLI_OK;
}

/* Refuses existing outputs before asking for a passphrase or generating anything. */
static fws_err check_outputs(const key_opts *o, fws_errbuf *eb)
{
    struct stat st;
    if (o->force)
        return FWS_OK;
    if (lstat(o->out, &st) == 0)
        return fws_errf(eb, FWS_ERR_EXISTS, "%s: already exists (use --force to overwrite)",
                        o->out);
    if (o->pub != NULL && lstat(o->pub, &st) == 0)
        return fws_errf(eb, FWS_ERR_EXISTS, "%s: already exists (use --force to overwrite)",
                        o->pub);
    return FWS_OK;
}

static fws_err gen_write(const key_opts *o, const fws_key *k, const fws_passphrase *pp,
                         fws_errbuf *eb)
{
    fws_err err = fws_key_save_private(k, o->out, pp, o->force, eb);
    if (err != FWS_OK || o->pub == NULL)
        return err;
    err = fws_key_save_public(k, o->pub, o->force, eb);
    if (err != FWS_OK)
        unlink(o->out); /* no private key left behind without the public key asked for */
    return err;
}

static int gen_report(const key_opts *o, const fws_key *k)
{
    char id[FWS_KEYID_LEN];
    const char *type = fws_key_type_name(fws_key_get_type(k));
    fws_key_id(k, id);
    if (o->json)
        return cli_print_json(json_pack("{s:s, s:s, s:s, s:s?}", "type", type, "keyid", id,
                                        "private", o->out, "public", o->pub));
    printf("key %s %s\nprivate %s\n", type, id, o->out);
    if (o->pub != NULL)
        printf("public %s\n", o->pub);
    return CLI_OK;
}

static int key_gen(int argc, char **argv)
{
    key_opts o;
    fws_key_type type;
    fws_passphrase pp;
    fws_errbuf eb = {{0}};
    fws_key *k = NULL;
    fws_err err;
    int rc = parse("key gen", argc, argv, &o, gen_usage);

    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    o.file = optind < argc ? argv[optind] : NULL;
    rc = gen_check(&o, argc, &type);
    if (rc != CLI_OK)
        return rc;
    err = check_outputs(&o, &eb);
    if (err != FWS_OK)
        return cli_report("key gen", err, &eb);
    err = fws_passphrase_get(o.passfile, 1, "passphrase for the new key: ", &pp, &eb);
    if (err != FWS_OK)
        return cli_report("key gen", err, &eb);
    err = fws_key_generate(type, &k);
    if (err != FWS_OK)
        fws_errf(&eb, err, "cannot generate a %s key", o.type);
    if (err == FWS_OK)
        err = gen_write(&o, k, &pp, &eb);
    fws_passphrase_wipe(&pp);
    rc = err == FWS_OK ? gen_report(&o, k) : cli_report("key gen", err, &eb);
    fws_key_free(k);
    return rc;
}

static fws_err show_load(const key_opts *o, fws_key **out, fws_errbuf *eb)
{
    char prompt[256];
    fws_passphrase pp;
    int is_private = 0;
    fws_err err = fws_key_file_kind(o->file, &is_private, eb);

    if (err != FWS_OK)
        return err;
    if (!is_private)
        return fws_key_load_public(o->file, out, eb);
    snprintf(prompt, sizeof(prompt), "passphrase for %s: ", o->file);
    err = fws_passphrase_get(o->passfile, 0, prompt, &pp, eb);
    if (err != FWS_OK)
        return err;
    err = fws_key_load_private(o->file, &pp, out, eb);
    fws_passphrase_wipe(&pp);
    return err;
}

static int show_report(const key_opts *o, const fws_key *k, const char *pem)
{
    char id[FWS_KEYID_LEN];
    const char *type = fws_key_type_name(fws_key_get_type(k));
    int priv = fws_key_is_private(k);
    fws_key_id(k, id);
    if (o->json)
        return cli_print_json(json_pack("{s:s, s:s, s:s, s:b, s:s}", "file", o->file, "type", type,
                                        "keyid", id, "private", priv, "public_pem", pem));
    printf("file %s\ntype %s\nkeyid %s\nprivate %s\n%s", o->file, type, id, priv ? "yes" : "no",
           pem);
    return CLI_OK;
}

static int key_show(int argc, char **argv)
{
    key_opts o;
    fws_errbuf eb = {{0}};
    fws_key *k = NULL;
    char *pem = NULL;
    fws_err err;
    int rc = parse("key show", argc, argv, &o, show_usage);

    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (o.type != NULL || o.out != NULL || o.pub != NULL || o.force)
        return cli_usage_error("key show", "only --passphrase-file and --json apply to show");
    if (optind != argc - 1)
        return cli_usage_error("key show", "exactly one key file is needed");
    o.file = argv[optind];
    err = show_load(&o, &k, &eb);
    if (err == FWS_OK) {
        err = fws_key_public_pem(k, &pem);
        if (err != FWS_OK)
            fws_errf(&eb, err, "%s: cannot encode the public key", o.file);
    }
    rc = err == FWS_OK ? show_report(&o, k, pem) : cli_report("key show", err, &eb);
    free(pem);
    fws_key_free(k);
    return rc;
}

int cmd_key(int argc, char **argv)
{
    static const cli_cmd cmds[] = {
        {"gen", "generate a key pair (encrypted private key, public key)", key_gen},
        {"show", "print a key file's type, key ID and public key", key_show},
        {"rotate", "replace a deployment's TUF role keys (fwseal key rotate --help)",
         cmd_key_rotate},
        {"pkcs11-gen", "generate a key pair inside a PKCS#11 token", cmd_key_pkcs11_gen},
        {"export-pub", "write the public key of a key file or PKCS#11 key as PEM",
         cmd_key_export_pub},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("key", cmds, argc, argv);
}
