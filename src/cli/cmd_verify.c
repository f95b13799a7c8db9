/* fwseal verify: checks a file against a DSSE envelope made by `fwseal sign`. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"
#include "fwseal/dsse.h"
#include "fwseal/json.h"
#include "fwseal/util.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fwseal verify --pub PUB.pem --sig FILE.dsse.json FILE\n"
            "                     [--max-size BYTES] [--json]\n"
            "       fwseal verify IMAGE --repo DIR|URL --target NAME ... (see --repo --help)\n"
            "\n"
            "Checks, in this order: the envelope is well formed, it is signed by PUB over the\n"
            "DSSE pre-authentication encoding, its payload is an in-toto Statement v1, the\n"
            "file's size matches the signed size and its SHA-256 digest is a subject of the\n"
            "statement. Exit 0 when all hold, 1 when a check fails, 2 on usage or I/O errors.\n");
}

typedef struct verify_opts {
    const char *pub, *sig, *file;
    uint64_t max_size;
    int json;
} verify_opts;

static int parse(int argc, char **argv, verify_opts *o)
{
    static const struct option longopts[] = {
        {"pub", required_argument, NULL, 'p'},      {"sig", required_argument, NULL, 's'},
        {"max-size", required_argument, NULL, 'm'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof(*o));
    o->max_size = CLI_IMAGE_MAX_DEFAULT;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            o->pub = optarg;
            break;
        case 's':
            o->sig = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'm':
            if (cli_parse_size(optarg, &o->max_size) != FWS_OK)
                return cli_usage_error("verify", "--max-size: not a size: '%s'", optarg);
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return cli_usage_error("verify", "unknown option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("verify", "exactly one FILE to verify is needed");
    o->file = argv[optind];
    if (o->pub == NULL || o->sig == NULL)
        return cli_usage_error("verify", "--pub and --sig are required");
    return CLI_OK;
}

static fws_err load_public(const char *path, fws_key **out, fws_errbuf *eb)
{
    int is_private = 0;
    fws_err err = fws_key_file_kind(path, &is_private, eb);
    if (err != FWS_OK)
        return err;
    if (is_private)
        return fws_errf(eb, FWS_ERR_KEY_TYPE,
                        "%s: holds a private key; give the public key (fwseal key gen --pub)",
                        path);
    return fws_key_load_public(path, out, eb);
}

/* The size the signer recorded in the predicate, if any (0 = not recorded). */
static fws_err signed_size(const fws_dsse_envelope *env, uint64_t *size, fws_errbuf *eb)
{
    json_t *st = NULL;
    fws_err err = fws_json_parse(env->unverified_payload, env->payload_len, 0,
                                 &fws_json_default_limits, &st, eb);
    if (err != FWS_OK)
        return fws_errf(eb, FWS_ERR_SCHEMA, "statement: %s", fws_strerror(err));
    json_t *s = json_object_get(json_object_get(st, "predicate"), "size");
    *size = 0;
    if (s != NULL && (!json_is_integer(s) || json_integer_value(s) < 0))
        err = fws_errf(eb, FWS_ERR_SCHEMA, "statement: predicate.size is not a byte count");
    else if (s != NULL)
        *size = (uint64_t)json_integer_value(s);
    json_decref(st);
    return err;
}

static fws_err check(const verify_opts *o, fws_key *pub, char *subject, size_t cap,
                     uint8_t sha[FWS_SHA256_LEN], fws_errbuf *eb)
{
    fws_dsse_envelope env;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    uint64_t want_size = 0, size = 0;
    const fws_key *keys[1] = {pub};

    fws_err err = fws_file_read(o->sig, FWS_DSSE_MAX_ENVELOPE, &raw, &raw_len, eb);
    if (err != FWS_OK)
        return err;
    err = fws_dsse_parse(raw, raw_len, &env, eb);
    free(raw);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: %s", o->sig, fws_strerror(err));
    if (strcmp(env.payload_type, FWS_INTOTO_PAYLOAD_TYPE) != 0)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "%s: payloadType is \"%s\", expected \"%s\"", o->sig,
                       env.payload_type, FWS_INTOTO_PAYLOAD_TYPE);
    if (err == FWS_OK)
        err = fws_dsse_verify(&env, keys, 1, 1, eb);
    if (err == FWS_OK)
        err = signed_size(&env, &want_size, eb);
    if (err == FWS_OK)
        err = fws_hash_file(o->file, o->max_size, sha, NULL, &size, eb);
    if (err == FWS_OK && want_size != 0 && size != want_size)
        err = fws_errf(eb, FWS_ERR_LENGTH, "%s: %llu bytes, but %llu were signed", o->file,
                       (unsigned long long)size, (unsigned long long)want_size);
    if (err == FWS_OK)
        err = fws_intoto_match_subject(env.unverified_payload, env.payload_len, sha, subject, cap,
                                       eb);
    fws_dsse_envelope_free(&env);
    return err;
}

int cmd_verify(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repo") == 0 || strncmp(argv[i], "--repo=", 7) == 0)
            return cmd_verify_repo(argc, argv);
    }
    verify_opts o;
    fws_errbuf eb = {{0}};
    fws_key *pub = NULL;
    char subject[256] = "";
    char keyid[FWS_KEYID_LEN] = "";
    uint8_t sha[FWS_SHA256_LEN];
    char hex[2 * FWS_SHA256_LEN + 1];
    int rc = parse(argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;

    fws_err err = load_public(o.pub, &pub, &eb);
    if (err == FWS_OK) {
        fws_key_id(pub, keyid);
        err = check(&o, pub, subject, sizeof(subject), sha, &eb);
    }
    fws_key_free(pub);
    if (err != FWS_OK) {
        if (o.json)
            cli_print_json(json_pack("{s:b, s:s, s:s}", "verified", 0, "file", o.file, "error",
                                     eb.msg[0] ? eb.msg : fws_strerror(err)));
        return cli_report("verify", err, &eb);
    }
    fws_hex_encode(sha, FWS_SHA256_LEN, hex);
    if (o.json)
        return cli_print_json(json_pack("{s:b, s:s, s:s, s:s, s:s}", "verified", 1, "file", o.file,
                                        "subject", subject, "sha256", hex, "keyid", keyid));
    printf("OK %s\n  subject %s\n  sha256  %s\n  key     %s\n", o.file, subject, hex, keyid);
    return CLI_OK;
}
