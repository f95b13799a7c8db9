/* fwseal key pkcs11-gen and fwseal key export-pub: keys that live in a PKCS#11 token. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"
#include "fwseal/pkcs11.h"

static void pkcs11_gen_usage(FILE *f)
{
    fprintf(f,
            "usage: fwseal key pkcs11-gen --key URI --type ed25519|p256 [--pub PUB.pem] [--force]\n"
            "                             [--json]\n"
            "\n"
            "Generates a key pair inside the PKCS#11 token the URI names (RFC 7512, e.g.\n"
            "pkcs11:token=fwseal;object=release-1?module-path=/usr/lib/softhsm/libsofthsm2.so).\n"
            "The private key is sensitive and never leaves the token. The URI must name the key\n"
            "(object= and/or id=; a random id is chosen when none is given); the module comes\n"
            "from module-path or $" FWS_PKCS11_MODULE_ENV ", the user PIN from pin-value,\n"
            "pin-source or $" FWS_PKCS11_PIN_ENV ". Prints the key type, key ID and a URI\n"
            "naming the new key (without the PIN); writes the public key to PUB.pem if asked.\n");
}

static void export_usage(FILE *f)
{
    fprintf(f, "usage: fwseal key export-pub --key URI|KEY.pem --out PUB.pem [--force] [--json]\n"
               "                             [--passphrase-file F]\n"
               "\n"
               "Writes the public key of a PKCS#11 key (no PIN needed for a public key object) or\n"
               "of a key file as SubjectPublicKeyInfo PEM, for `fwseal verify --pub`.\n");
}

typedef struct p11_opts {
    const char *key, *type, *out, *passfile;
    int force, json;
} p11_opts;

static int parse(const char *what, int argc, char **argv, p11_opts *o, void (*usage)(FILE *))
{
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'},
        {"type", required_argument, NULL, 't'},
        {"pub", required_argument, NULL, 'o'},
        {"out", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {"passphrase-file", required_argument, NULL, 'p'},
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
        case 't':
            o->type = optarg;
            break;
        case 'o':
            o->out = optarg;
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
    if (optind != argc)
        return cli_usage_error(what, "unexpected argument '%s'", argv[optind]);
    if (o->key == NULL)
        return cli_usage_error(what, "--key is required");
    return CLI_OK;
}

static int report(const p11_opts *o, const fws_key *k, const char *uri)
{
    char id[FWS_KEYID_LEN];
    const char *type = fws_key_type_name(fws_key_get_type(k));
    fws_key_id(k, id);
    if (o->json)
        return cli_print_json(json_pack("{s:s, s:s, s:s?, s:s?}", "type", type, "keyid", id, "uri",
                                        uri, "public", o->out));
    printf("key %s %s\n", type, id);
    if (uri != NULL)
        printf("uri %s\n", uri);
    if (o->out != NULL)
        printf("public %s\n", o->out);
    return CLI_OK;
}

int cmd_key_pkcs11_gen(int argc, char **argv)
{
    p11_opts o;
    fws_key_type type;
    fws_errbuf eb = {{0}};
    fws_key *pub = NULL;
    char uri[FWS_PKCS11_URI_MAX];
    int rc = parse("key pkcs11-gen", argc, argv, &o, pkcs11_gen_usage);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (o.type == NULL || fws_key_type_parse(o.type, &type) != FWS_OK)
        return cli_usage_error("key pkcs11-gen", "--type ed25519 or --type p256 is required");
    if (!fws_pkcs11_is_uri(o.key))
        return cli_usage_error("key pkcs11-gen", "--key must be a pkcs11: URI");
    fws_err err = fws_pkcs11_generate(o.key, type, &pub, uri, sizeof uri, &eb);
    if (err == FWS_OK && o.out != NULL)
        err = fws_key_save_public(pub, o.out, o.force, &eb);
    rc = err == FWS_OK ? report(&o, pub, uri) : cli_report("key pkcs11-gen", err, &eb);
    fws_key_free(pub);
    return rc;
}

static fws_err load_public(const p11_opts *o, fws_key **out, fws_errbuf *eb)
{
    fws_key *k = NULL;
    int is_private = 0;
    if (fws_pkcs11_is_uri(o->key))
        return fws_pkcs11_public_key(o->key, out, eb);
    fws_err err = fws_key_file_kind(o->key, &is_private, eb);
    if (err != FWS_OK)
        return err;
    if (!is_private)
        return fws_key_load_public(o->key, out, eb);
    err = cli_load_private_key(o->key, o->passfile, &k, eb);
    if (err == FWS_OK)
        err = fws_key_public_dup(k, out);
    fws_key_free(k);
    return err;
}

int cmd_key_export_pub(int argc, char **argv)
{
    p11_opts o;
    fws_errbuf eb = {{0}};
    fws_key *pub = NULL;
    int rc = parse("key export-pub", argc, argv, &o, export_usage);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (o.out == NULL || o.type != NULL)
        return cli_usage_error("key export-pub", "--out is required (and --type does not apply)");
    fws_err err = load_public(&o, &pub, &eb);
    if (err == FWS_OK)
        err = fws_key_save_public(pub, o.out, o.force, &eb);
    rc = err == FWS_OK ? report(&o, pub, NULL) : cli_report("key export-pub", err, &eb);
    fws_key_free(pub);
    return rc;
}
