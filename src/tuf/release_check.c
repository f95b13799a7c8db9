/* Judging a release's inputs before anything is written: names, hardware and region lists, the
 * changelog, the SBOM and a given provenance envelope. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/core.h"
#include "fwseal/dsse.h"
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "repo_internal.h"

#define SLSA_PROVENANCE_V1 "https://slsa.dev/provenance/v1"

fws_err fws_release_sbom_check_basic(const uint8_t *unverified, size_t len, fws_errbuf *eb)
{
    json_t *bom = NULL;
    const char *format = NULL, *spec = NULL;
    fws_errbuf e = {{0}};
    fws_json_limits lim = fws_json_default_limits;
    lim.max_bytes = FWS_REPO_MAX_SBOM;
    lim.max_depth = 64;
    fws_err err = fws_json_parse(unverified, len, 0, &lim, &bom, &e);
    if (err != FWS_OK)
        return fws_errf(eb, err, "SBOM is not JSON: %s", e.msg);
    if ((err = fws_json_get_string(bom, "bomFormat", &format, &e)) != FWS_OK ||
        (err = fws_json_get_string(bom, "specVersion", &spec, &e)) != FWS_OK) {
        err = fws_errf(eb, FWS_ERR_SCHEMA, "SBOM is not CycloneDX: %s", e.msg);
    } else if (strcmp(format, "CycloneDX") != 0) {
        err = fws_errf(eb, FWS_ERR_SCHEMA, "SBOM bomFormat is \"%s\", not \"CycloneDX\"", format);
    } else if (strcmp(spec, "1.6") != 0) {
        err = fws_errf(eb, FWS_ERR_SCHEMA, "SBOM specVersion is \"%s\", not \"1.6\"", spec);
    }
    json_decref(bom);
    return err;
}

/* A hardware model or region: 1..FWS_POLICY_MAX_NAME bytes of UTF-8, no control characters. */
static fws_err check_list(const char *what, const char *const *items, size_t n, size_t min,
                          fws_errbuf *eb)
{
    if (n < min || n > FWS_POLICY_MAX_LIST || (n > 0 && items == NULL))
        return fws_errf(eb, FWS_ERR_ARG, "%s: %zu to %d entries are needed, %zu given", what, min,
                        FWS_POLICY_MAX_LIST, n);
    for (size_t i = 0; i < n; i++) {
        size_t len = items[i] == NULL ? 0 : strlen(items[i]);
        if (len == 0 || len > FWS_POLICY_MAX_NAME)
            return fws_errf(eb, FWS_ERR_ARG, "%s: entries need 1 to %d bytes", what,
                            FWS_POLICY_MAX_NAME);
        if (!fws_utf8_valid((const uint8_t *)items[i], len))
            return fws_errf(eb, FWS_ERR_ARG, "%s: \"%s\" is not UTF-8", what, items[i]);
        for (size_t j = 0; j < len; j++) {
            unsigned char c = (unsigned char)items[i][j];
            if (c < 0x20 || c == 0x7f || c == ',')
                return fws_errf(eb, FWS_ERR_ARG, "%s: \"%s\" holds a control character or ','",
                                what, items[i]);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(items[i], items[j]) == 0)
                return fws_errf(eb, FWS_ERR_ARG, "%s: \"%s\" is listed twice", what, items[i]);
        }
    }
    return FWS_OK;
}

fws_err release_check_request(const fws_release_req *r, char target[FWS_REPO_MAX_TARGET_NAME + 1],
                              fws_errbuf *eb)
{
    fws_err err;
    if (r->image == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no image given");
    const char *file = fws_basename(r->image);
    if ((err = repo_check_name("product", r->product, RELEASE_PRODUCT_MAX, "._+-", eb)) ||
        (err = repo_check_name("version", r->version, RELEASE_VERSION_MAX, "._+-", eb)) ||
        (err = repo_check_name("image file name", file, FWS_REPO_MAX_FIELD, "._+-", eb)) ||
        (err = check_list("hardware", r->hardware, r->n_hardware, 1, eb)) ||
        (err = check_list("regions", r->regions, r->n_regions, 0, eb)))
        return err;
    int n =
        snprintf(target, FWS_REPO_MAX_TARGET_NAME + 1, "%s/%s/%s", r->product, r->version, file);
    if (n < 0 || n > FWS_REPO_MAX_TARGET_NAME)
        return fws_errf(eb, FWS_ERR_ARG, "target name too long");
    if (r->security_counter > (uint64_t)INT64_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "security counter too large");
    return repo_check_target_name(target, eb);
}

fws_err release_read_changelog(const char *path, char **out, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_err err = fws_file_read(path, FWS_REPO_MAX_CHANGELOG, &data, &len, eb);
    if (err == FWS_ERR_TOO_BIG)
        return fws_errf(eb, err, "%s: a changelog may have at most %u bytes", path,
                        (unsigned)FWS_REPO_MAX_CHANGELOG);
    if (err != FWS_OK)
        return err;
    if (len == 0)
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: the changelog is empty", path);
    else if (!fws_utf8_valid(data, len))
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: the changelog is not UTF-8 text", path);
    for (size_t i = 0; err == FWS_OK && i < len; i++) {
        if ((data[i] < 0x20 && data[i] != '\n' && data[i] != '\t') || data[i] == 0x7f)
            err = fws_errf(eb, FWS_ERR_FORMAT,
                           "%s: byte %zu is a control character (only newlines and tabs are "
                           "allowed)",
                           path, i);
    }
    if (err != FWS_OK) {
        free(data);
        return err;
    }
    *out = (char *)data;
    return FWS_OK;
}

/* The predicate type of an in-toto statement payload. */
static fws_err predicate_type(const uint8_t *payload, size_t len, char *out, size_t cap,
                              fws_errbuf *eb)
{
    json_t *st = NULL;
    const char *t = NULL;
    fws_errbuf e = {{0}};
    fws_err err = fws_json_parse(payload, len, 0, NULL, &st, &e);
    if (err == FWS_OK && fws_json_get_string(st, "predicateType", &t, &e) != FWS_OK)
        err = FWS_ERR_SCHEMA;
    if (err == FWS_OK && strlen(t) >= cap)
        err = fws_errf(&e, FWS_ERR_SCHEMA, "predicateType too long");
    if (err == FWS_OK)
        memcpy(out, t, strlen(t) + 1);
    json_decref(st);
    if (err != FWS_OK)
        return fws_errf(eb, err, "provenance statement: %s", e.msg);
    return FWS_OK;
}

fws_err fws_release_provenance_check_basic(const char *path, const uint8_t *unverified, size_t len,
                                           const uint8_t sha256[FWS_SHA256_LEN], fws_errbuf *eb)
{
    fws_dsse_envelope env;
    char name[256], ptype[256];
    fws_errbuf e = {{0}};
    fws_err err = fws_dsse_parse(unverified, len, &env, &e);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: not a DSSE envelope: %s", path, e.msg);
    if (strcmp(env.payload_type, FWS_INTOTO_PAYLOAD_TYPE) != 0)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "%s: payloadType is \"%s\", not \"%s\"", path,
                       env.payload_type, FWS_INTOTO_PAYLOAD_TYPE);
    if (err == FWS_OK && env.n_sigs == 0)
        err = fws_errf(eb, FWS_ERR_SIGNATURE, "%s: the envelope has no signature", path);
    if (err == FWS_OK)
        err = fws_intoto_match_subject(env.unverified_payload, env.payload_len, sha256, name,
                                       sizeof(name), &e);
    if (err == FWS_ERR_DIGEST)
        err = fws_errf(eb, err, "%s: the image's SHA-256 is not a subject of the statement", path);
    else if (err != FWS_OK)
        err = fws_errf(eb, err, "%s: %s", path, e.msg);
    if (err == FWS_OK)
        err = predicate_type(env.unverified_payload, env.payload_len, ptype, sizeof(ptype), eb);
    if (err == FWS_OK && strcmp(ptype, SLSA_PROVENANCE_V1) != 0)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "%s: predicateType is \"%s\", not \"%s\"", path, ptype,
                       SLSA_PROVENANCE_V1);
    fws_dsse_envelope_free(&env);
    return err;
}
