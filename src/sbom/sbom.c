/* fws_sbom_validate: RFC 8259 JSON under caps, CycloneDX 1.6 only, then the official schema. */
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "internal.h"

static const fws_json_limits bom_limits = {
    .max_bytes = FWS_SBOM_MAX_BYTES,
    .max_depth = FWS_SBOM_MAX_DEPTH,
    .max_string = FWS_SBOM_MAX_BYTES,
    .max_members = 1000000,
};

/* fws_json_parse accepts raw control bytes inside strings (canonical JSON writes them so);
 * RFC 8259 does not, and neither does any other CycloneDX reader, so a BOM may not hold any. */
static fws_err check_no_raw_controls(const uint8_t *unverified, size_t len, fws_errbuf *eb)
{
    int in_string = 0, escaped = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = unverified[i];
        if (!in_string) {
            in_string = c == '"';
        } else if (escaped) {
            escaped = 0;
        } else if (c == '\\') {
            escaped = 1;
        } else if (c == '"') {
            in_string = 0;
        } else if (c < 0x20) {
            return fws_errf(eb, FWS_ERR_FORMAT,
                            "byte %zu: raw control character 0x%02x inside a string", i, c);
        }
    }
    return FWS_OK;
}

/* The two properties that say what a document is, before the schema says anything else. */
static fws_err check_kind(const json_t *bom, fws_errbuf *eb)
{
    if (!json_is_object(bom))
        return fws_errf(eb, FWS_ERR_SCHEMA, "(root): must be an object (type)");
    const json_t *format = json_object_get(bom, "bomFormat");
    if (format == NULL)
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "(root): missing required property \"bomFormat\" "
                        "(required)");
    if (!json_is_string(format) || strcmp(json_string_value(format), "CycloneDX") != 0)
        return fws_errf(eb, FWS_ERR_SCHEMA, "/bomFormat: must be \"CycloneDX\" (enum)");
    const json_t *spec = json_object_get(bom, "specVersion");
    if (spec == NULL)
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "(root): missing required property \"specVersion\" "
                        "(required)");
    if (!json_is_string(spec))
        return fws_errf(eb, FWS_ERR_SCHEMA, "/specVersion: must be a string (type)");
    if (strcmp(json_string_value(spec), FWS_SBOM_SPEC_VERSION) != 0)
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "/specVersion: must be \"" FWS_SBOM_SPEC_VERSION
                        "\": fwseal validates CycloneDX " FWS_SBOM_SPEC_VERSION
                        " only (specVersion)");
    return FWS_OK;
}

static size_t count_components(const json_t *list, unsigned depth)
{
    size_t n = 0;
    if (!json_is_array(list) || depth > FWS_SBOM_MAX_DEPTH)
        return 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *c = json_array_get(list, i);
        n += 1 + count_components(json_object_get(c, "components"), depth + 1);
    }
    return n;
}

static fws_err dup_string(const json_t *v, char **out)
{
    *out = NULL;
    if (!json_is_string(v))
        return FWS_OK;
    size_t n = json_string_length(v);
    *out = malloc(n + 1);
    if (*out == NULL)
        return FWS_ERR_NOMEM;
    memcpy(*out, json_string_value(v), n + 1);
    return FWS_OK;
}

/* Reads the summary of a BOM the schema accepted. */
static fws_err extract_info(const json_t *bom, fws_sbom_info *info, fws_errbuf *eb)
{
    fws_sbom_info out;
    memset(&out, 0, sizeof out);
    const json_t *serial = json_object_get(bom, "serialNumber");
    if (json_is_string(serial) && json_string_length(serial) < sizeof out.serial_number)
        memcpy(out.serial_number, json_string_value(serial), json_string_length(serial) + 1);
    const json_t *version = json_object_get(bom, "version");
    out.version = version != NULL ? (int64_t)json_number_value(version) : 1;
    if (json_is_integer(version))
        out.version = json_integer_value(version);
    const json_t *components = json_object_get(bom, "components");
    out.component_count = json_is_array(components) ? json_array_size(components) : 0;
    out.component_total = count_components(components, 1);
    const json_t *top = json_object_get(json_object_get(bom, "metadata"), "component");
    fws_err err = dup_string(json_object_get(top, "name"), &out.name);
    if (err == FWS_OK)
        err = dup_string(json_object_get(top, "version"), &out.component_version);
    if (err != FWS_OK) {
        fws_sbom_info_free(&out);
        return fws_errf(eb, err, "sbom: out of memory");
    }
    *info = out;
    return FWS_OK;
}

void fws_sbom_info_free(fws_sbom_info *info)
{
    if (info == NULL)
        return;
    free(info->name);
    free(info->component_version);
    memset(info, 0, sizeof *info);
}

fws_err fws_sbom_validate_with(const fws_sbom_schema *schema, const uint8_t *unverified, size_t len,
                               fws_sbom_info *info_out, fws_errbuf *eb)
{
    json_t *bom = NULL;
    if (schema == NULL || (unverified == NULL && len > 0))
        return fws_errf(eb, FWS_ERR_ARG, "sbom: no schema or no input");
    if (len > FWS_SBOM_MAX_BYTES)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "sbom: %zu bytes, more than the %u allowed", len,
                        FWS_SBOM_MAX_BYTES);
    fws_err err = check_no_raw_controls(unverified, len, eb);
    if (err == FWS_OK)
        err = fws_json_parse(unverified, len, 0, &bom_limits, &bom, eb);
    if (err == FWS_OK)
        err = check_kind(bom, eb);
    if (err == FWS_OK)
        err = sbom_eval(schema, schema->root, bom, eb);
    if (err == FWS_OK && info_out != NULL)
        err = extract_info(bom, info_out, eb);
    json_decref(bom);
    return err;
}

fws_err fws_sbom_validate(const uint8_t *unverified, size_t len, fws_sbom_info *info_out,
                          fws_errbuf *eb)
{
    fws_sbom_schema *schema = NULL;
    fws_err err = fws_sbom_schema_load(NULL, &schema, eb);
    if (err != FWS_OK)
        return err;
    err = fws_sbom_validate_with(schema, unverified, len, info_out, eb);
    fws_sbom_schema_free(schema);
    return err;
}
