/* The provenance `fwseal release add` writes when none is given: an in-toto Statement v1 about
 * the image whose predicate is SLSA Provenance v1 for a manual release (build type
 * https://fwseal.dev/build/manual/v1), in a DSSE envelope signed with the targets keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/dsse.h"
#include "fwseal/util.h"
#include "repo_internal.h"

#define SLSA_PROVENANCE_V1 "https://slsa.dev/provenance/v1"
#define BUILD_TYPE "https://fwseal.dev/build/manual/v1"
#define BUILDER_ID "https://fwseal.dev/builder/manual/v1"

static fws_err uuid_urn(char out[46])
{
    uint8_t b[16];
    char h[33];
    fws_err err = fws_random(b, sizeof(b));
    if (err != FWS_OK)
        return err;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    fws_hex_encode(b, sizeof(b), h);
    snprintf(out, 46, "urn:uuid:%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
    return FWS_OK;
}

static json_t *string_array(const char *const *items, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++) {
        if (json_array_append_new(a, json_string(items[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *predicate(const fws_release_req *r, const char *origin, const char *invocation,
                         const char *started)
{
    json_t *hw = string_array(r->hardware, r->n_hardware);
    json_t *regions = string_array(r->regions, r->n_regions);
    if (hw == NULL || regions == NULL) {
        json_decref(hw);
        json_decref(regions);
        return NULL;
    }
    return json_pack("{s:{s:s, s:{s:s, s:s, s:s, s:o, s:o, s:I}, s:{s:s}},"
                     " s:{s:{s:s, s:{s:s}}, s:{s:s, s:s}}}",
                     "buildDefinition", "buildType", BUILD_TYPE, "externalParameters", "product",
                     r->product, "version", r->version, "image", fws_basename(r->image), "hardware",
                     hw, "regions", regions, "securityCounter", (json_int_t)r->security_counter,
                     "internalParameters", "origin", origin, "runDetails", "builder", "id",
                     BUILDER_ID, "version", "fwseal", FWS_VERSION, "metadata", "invocationId",
                     invocation, "startedOn", started);
}

fws_err release_make_provenance(const fws_release_req *r, const char *target,
                                const uint8_t sha256[FWS_SHA256_LEN], const char *origin,
                                const repo_signer_set *set, char **out, size_t *len, fws_errbuf *eb)
{
    char invocation[46], started[FWS_TUF_TIME_LEN];
    char *statement = NULL;
    size_t statement_len = 0;
    fws_err err;
    if ((err = uuid_urn(invocation)) != FWS_OK)
        return fws_errf(eb, err, "no randomness for the provenance's invocation ID");
    if ((err = fws_tuf_time_format(r->now, started)) != FWS_OK)
        return fws_errf(eb, err, "the time is out of range");
    json_t *p = predicate(r, origin, invocation, started);
    if (p == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "cannot build the provenance predicate");
    err =
        fws_intoto_statement(target, sha256, SLSA_PROVENANCE_V1, p, &statement, &statement_len, eb);
    if (err != FWS_OK)
        return err;
    err = fws_dsse_sign(FWS_INTOTO_PAYLOAD_TYPE, (const uint8_t *)statement, statement_len, set->s,
                        set->n, out, len, eb);
    free(statement);
    return err;
}
