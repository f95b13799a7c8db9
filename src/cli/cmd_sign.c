/* fwseal sign: an in-toto Statement about a file, in a DSSE envelope signed with one key. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "cli.h"
#include "fwseal/dsse.h"
#include "fwseal/util.h"

#define SIGN_PREDICATE_TYPE "https://fwseal.dev/attestation/artifact/v1"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fwseal sign --key KEY.pem|PKCS11-URI --out FILE.dsse.json FILE\n"
            "                   [--passphrase-file F] [--max-size BYTES] [--force] [--json]\n"
            "\n"
            "Signs FILE: an in-toto Statement v1 naming the file and its SHA-256 digest (and, in\n"
            "the predicate, its size and the signing time) in a DSSE envelope signed with KEY.\n"
            "The private key's passphrase comes from FWSEAL_PASSPHRASE, --passphrase-file or\n"
            "the terminal. The envelope is written atomically; an existing one is kept unless\n"
            "--force. Images over --max-size (default 2G) are refused.\n");
}

typedef struct sign_opts {
    const char *key, *out, *passfile, *file;
    uint64_t max_size;
    int force, json;
} sign_opts;

static int parse(int argc, char **argv, sign_opts *o)
{
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'},
        {"out", required_argument, NULL, 'o'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"max-size", required_argument, NULL, 'm'},
        {"force", no_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof(*o));
    o->max_size = CLI_IMAGE_MAX_DEFAULT;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            o->key = optarg;
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
        case 'm':
            if (cli_parse_size(optarg, &o->max_size) != FWS_OK)
                return cli_usage_error("sign", "--max-size: not a size: '%s'", optarg);
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return cli_usage_error("sign", "unknown option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("sign", "exactly one FILE to sign is needed");
    o->file = argv[optind];
    if (o->key == NULL || o->out == NULL)
        return cli_usage_error("sign", "--key and --out are required");
    return CLI_OK;
}

static json_t *predicate_for(uint64_t size)
{
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:I, s:s, s:s}", "size", (json_int_t)size, "signedAt", when, "tool",
                     "fwseal " FWS_VERSION);
}

static int report(const sign_opts *o, const fws_signer *s, const uint8_t sha[FWS_SHA256_LEN],
                  uint64_t size)
{
    char hex[2 * FWS_SHA256_LEN + 1];
    fws_hex_encode(sha, FWS_SHA256_LEN, hex);
    if (o->json)
        return cli_print_json(json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "file", o->file, "sha256",
                                        hex, "size", (json_int_t)size, "keyid", s->keyid, "keyType",
                                        fws_key_type_name(s->type), "envelope", o->out));
    printf("signed %s\n  sha256  %s\n  size    %llu\n  key     %s (%s)\n  output  %s\n", o->file,
           hex, (unsigned long long)size, s->keyid, fws_key_type_name(s->type), o->out);
    return CLI_OK;
}

int cmd_sign(int argc, char **argv)
{
    sign_opts o;
    fws_errbuf eb = {{0}};
    fws_signer signer = {0};
    uint8_t sha[FWS_SHA256_LEN];
    uint64_t size = 0;
    char *statement = NULL, *envelope = NULL;
    size_t statement_len = 0, envelope_len = 0;
    int rc = parse(argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;

    fws_err err = fws_hash_file(o.file, o.max_size, sha, NULL, &size, &eb);
    if (err == FWS_OK)
        err = cli_load_signer(o.key, o.passfile, &signer, &eb);
    if (err == FWS_OK)
        err = fws_intoto_statement(fws_basename(o.file), sha, SIGN_PREDICATE_TYPE,
                                   predicate_for(size), &statement, &statement_len, &eb);
    if (err == FWS_OK) {
        const fws_signer *signers[1] = {&signer};
        err = fws_dsse_sign(FWS_INTOTO_PAYLOAD_TYPE, (const uint8_t *)statement, statement_len,
                            signers, 1, &envelope, &envelope_len, &eb);
    }
    if (err == FWS_OK)
        err = fws_file_write_atomic(o.out, envelope, envelope_len, 0644, o.force, &eb);
    rc = err == FWS_OK ? report(&o, &signer, sha, size) : cli_report("sign", err, &eb);
    if (signer.impl != NULL)
        fws_signer_free(&signer);
    free(statement);
    free(envelope);
    return rc;
}
