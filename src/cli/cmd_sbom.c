/* fwseal sbom: CycloneDX 1.6 bills of materials (validate). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli.h"
#include "fwseal/sbom.h"
#include "fwseal/util.h"

static void validate_usage(FILE *f)
{
    fprintf(f,
            "usage: fwseal sbom validate [--data-dir DIR] [--json] FILE|-\n"
            "\n"
            "Checks that FILE (or standard input) is a CycloneDX 1.6 JSON BOM valid against the\n"
            "official schema shipped in DIR/cyclonedx (default: $" FWS_SBOM_DATA_DIR_ENV
            ", else the\n"
            "installed data directory). On failure, prints the JSON pointer of the first\n"
            "problem and the schema keyword that failed. Exit 0 when valid, 1 when not, 2 on\n"
            "usage or I/O errors.\n");
}

typedef struct sbom_opts {
    const char *file, *data_dir;
    int json;
} sbom_opts;

static int parse_validate(int argc, char **argv, sbom_opts *o)
{
    static const struct option longopts[] = {
        {"data-dir", required_argument, NULL, 'd'},
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
            o->data_dir = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            validate_usage(stdout);
            return -1;
        default:
            return cli_usage_error("sbom validate", "unknown option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("sbom validate", "exactly one FILE (or -) is needed");
    o->file = argv[optind];
    return CLI_OK;
}

static fws_err read_input(const char *file, uint8_t **data, size_t *len, fws_errbuf *eb)
{
    /* one byte over the cap, so that an oversized BOM is reported as such by the library */
    if (strcmp(file, "-") == 0)
        return fws_stdin_read(FWS_SBOM_MAX_BYTES + 1, data, len, eb);
    return fws_file_read(file, FWS_SBOM_MAX_BYTES + 1, data, len, eb);
}

static int print_valid(const sbom_opts *o, const fws_sbom_info *info)
{
    if (o->json) {
        json_t *j =
            json_pack("{s:b, s:s, s:s, s:I, s:I, s:I}", "valid", 1, "file", o->file, "serialNumber",
                      info->serial_number, "version", (json_int_t)info->version, "components",
                      (json_int_t)info->component_count, "componentsTotal",
                      (json_int_t)info->component_total);
        if (j != NULL && info->name != NULL)
            json_object_set_new(j, "name", json_string(info->name));
        if (j != NULL && info->component_version != NULL)
            json_object_set_new(j, "componentVersion", json_string(info->component_version));
        return cli_print_json(j);
    }
    printf("OK %s: CycloneDX %s BOM, version %lld, %zu components (%zu with nested ones)\n",
           o->file, FWS_SBOM_SPEC_VERSION, (long long)info->version, info->component_count,
           info->component_total);
    if (info->serial_number[0] != '\0')
        printf("  serial  %s\n", info->serial_number);
    if (info->name != NULL)
        printf("  subject %s %s\n", info->name,
               info->component_version != NULL ? info->component_version : "");
    return CLI_OK;
}

static int sbom_validate(int argc, char **argv)
{
    sbom_opts o;
    fws_errbuf eb = {{0}}, where = {{0}};
    fws_sbom_schema *schema = NULL;
    fws_sbom_info info;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = parse_validate(argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    fws_err err = fws_sbom_schema_load(o.data_dir, &schema, &eb);
    if (err == FWS_OK)
        err = read_input(o.file, &data, &len, &eb);
    if (err == FWS_OK) {
        err = fws_sbom_validate_with(schema, data, len, &info, &eb);
        if (err != FWS_OK)
            fws_errf(&where, err, "%s: %s", o.file, eb.msg[0] ? eb.msg : fws_strerror(err));
    }
    free(data);
    fws_sbom_schema_free(schema);
    const fws_errbuf *shown = where.msg[0] != '\0' ? &where : &eb;
    if (err != FWS_OK) {
        if (o.json)
            cli_print_json(json_pack("{s:b, s:s, s:s}", "valid", 0, "file", o.file, "error",
                                     shown->msg[0] ? shown->msg : fws_strerror(err)));
        rc = cli_report("sbom validate", err, shown);
        /* the BOM was read and judged: not JSON, too big or off-schema all fail the check */
        int judged = err == FWS_ERR_SCHEMA || err == FWS_ERR_FORMAT || err == FWS_ERR_TOO_BIG;
        return where.msg[0] != '\0' && judged ? CLI_FAILED : rc;
    }
    rc = print_valid(&o, &info);
    fws_sbom_info_free(&info);
    return rc;
}

static const cli_cmd sbom_commands[] = {
    {"validate", "check a CycloneDX 1.6 JSON BOM against the official schema", sbom_validate},
    {NULL, NULL, NULL},
};

int cmd_sbom(int argc, char **argv)
{
    return cli_dispatch("sbom", sbom_commands, argc, argv);
}
