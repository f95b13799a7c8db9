/* Record schemas, version 1: one table per type. docs/FORMATS.md documents the same table. */
#include <string.h>
#include "record_schema.h"

#define END                                                                                        \
    {                                                                                              \
        NULL, 0, 0, 0, 0, 0, NULL, NULL                                                            \
    }
#define REQ 1
#define OPT 0
#define NAME_CAP 128  /* names: model, station, operator, role */
#define TEXT_CAP 4096 /* free text: reasons, changelogs */
#define HW_CAP 64     /* a hardware model or region (FWS_POLICY_MAX_NAME) */
#define HW_LIST 32    /* models or regions in a release (FWS_POLICY_MAX_LIST) */

static const char *const result_values[] = {"success", "failure", NULL};
static const char *const subject_values[] = {"device", "release", "key", NULL};
static const char *const key_actions[] = {"add", "rotate", "revoke", NULL};
static const char *const quarantine_actions[] = {"begin", "end", NULL};
static const char *const check_values[] = {"pass", "fail", "skip", NULL};
static const char *const attest_results[] = {"pass", "fail", NULL};
static const char *const assurance_values[] = {"software", "tpm", NULL};

static const rec_field sha256_only[] = {
    {"sha256", RK_HEX, REQ, ROLE_NONE, 64, 0, NULL, NULL},
    END,
};

static const rec_field release_image[] = {
    {"sha256", RK_HEX, REQ, ROLE_NONE, 64, 0, NULL, NULL},
    {"sha512", RK_HEX, OPT, ROLE_NONE, 128, 0, NULL, NULL},
    {"size", RK_UINT, REQ, ROLE_NONE, 1, 0, NULL, NULL},
    END,
};

static const rec_field release_fields[] = {
    {"product", RK_ID, REQ, ROLE_PRODUCT, FWS_RECORD_ID_MAX, 0, NULL, NULL},
    {"version", RK_VERSION, REQ, ROLE_VERSION, FWS_RECORD_VERSION_MAX, 0, NULL, NULL},
    {"image", RK_OBJECT, REQ, ROLE_NONE, 0, 0, NULL, release_image},
    {"hardware", RK_NAMES, REQ, ROLE_NONE, HW_LIST, HW_CAP, NULL, NULL},
    {"regions", RK_NAMES, OPT, ROLE_NONE, HW_LIST, HW_CAP, NULL, NULL},
    {"securityCounter", RK_UINT, REQ, ROLE_NONE, 0, 0, NULL, NULL},
    {"sbom", RK_OBJECT, OPT, ROLE_NONE, 0, 0, NULL, sha256_only},
    {"provenance", RK_OBJECT, OPT, ROLE_NONE, 0, 0, NULL, sha256_only},
    {"changelog", RK_TEXT, OPT, ROLE_NONE, TEXT_CAP, 0, NULL, NULL},
    END,
};

static const rec_field provision_fields[] = {
    {"device", RK_ID, REQ, ROLE_DEVICE, FWS_RECORD_ID_MAX, 0, NULL, NULL},
    {"serial", RK_ID, REQ, ROLE_NONE, FWS_RECORD_ID_MAX, 0, NULL, NULL},
    {"model", RK_NAME, REQ, ROLE_NONE, HW_CAP, 0, NULL, NULL},
    {"batch", RK_ID, REQ, ROLE_NONE, FWS_RECORD_ID_MAX, 0, NULL, NULL},
    {"bomVersion", RK_VERSION, OPT, ROLE_NONE, FWS_RECORD_VERSION_MAX, 0, NULL, NULL},
    {"station", RK_NAME, OPT, ROLE_NONE, NAME_CAP, 0, NULL, NULL},
    {"operator", RK_NAME, OPT, ROLE_NONE, NAME_CAP, 0, NULL, NULL},
    {"environment", RK_ID, REQ, ROLE_NONE, FWS_RECORD_ID_MAX, 0, NULL, NULL},
    {"certificate", RK_OBJECT, REQ, ROLE_NONE, 0, 0, NULL, sha256_only},
    {"reprovision", RK_BOOL, OPT, ROLE_NONE, 0, 0, NULL, NULL},
    {"checks", RK_RESULTS, OPT, ROLE_NONE, 64, 64, check_values, NULL},
    END,
};

static const rec_field install_fields[] = {
    {"device", RK_ID, REQ, ROLE_DEVICE, FWS_RECORD_ID_MAX, 0, NULL, NULL},
    {"product", RK_ID, REQ, ROLE_PRODUCT, FWS_RECORD_ID_MAX, 0, NULL, NULL},
    {"fromVersion", RK_VERSION, REQ, ROLE_NONE, FWS_RECORD_VERSION_MAX, 0, NULL, NULL},
    {"toVersion", RK_VERSION, REQ, ROLE_VERSION, FWS_RECORD_VERSION_MAX, 0, NULL, NULL},
    {"image", RK_OBJECT, REQ, ROLE_NONE, 0, 0, NULL, sha256_only},
    {"result", RK_ENUM, REQ, ROLE_NONE, 0, 0, result_values, NULL},
    END,
};

static const rec_field rollback_fields[] = {
    {"device", RK_ID, REQ, ROLE_DEVICE, FWS_RECORD_ID_MAX, 0, NULL, NULL},
    {"product", RK_ID, REQ, ROLE_PRODUCT, FWS_RECORD_ID_MAX, 0, NULL, NULL},
    {"fromVersion", RK_VERSION, REQ, ROLE_NONE, FWS_RECORD_VERSION_MAX, 0, NULL, NULL},
    {"toVersion", RK_VERSION, REQ, ROLE_VERSION, FWS_RECORD_VERSION_MAX, 0, NULL, NULL},
    {"reason", RK_TEXT, REQ, ROLE_NONE, TEXT_CAP, 0, NULL, NULL},
    END,
};

static const rec_field revoke_fields[] = {
    {"subject", RK_ENUM, REQ, ROLE_NONE, 0, 0, subject_values, NULL},
    {"id", RK_ID, REQ, ROLE_NONE, FWS_RECORD_ID_MAX, 0, NULL, NULL},
    {"reason", RK_TEXT, REQ, ROLE_NONE, TEXT_CAP, 0, NULL, NULL},
    END,
};

static const rec_field key_fields[] = {
    {"role", RK_ID, REQ, ROLE_NONE, FWS_RECORD_ID_MAX, 0, NULL, NULL},
    {"keyid", RK_HEX, REQ, ROLE_NONE, 64, 0, NULL, NULL},
    {"action", RK_ENUM, REQ, ROLE_NONE, 0, 0, key_actions, NULL},
    END,
};

static const rec_field quarantine_fields[] = {
    {"device", RK_ID, REQ, ROLE_DEVICE, FWS_RECORD_ID_MAX, 0, NULL, NULL},
    {"reason", RK_TEXT, REQ, ROLE_NONE, TEXT_CAP, 0, NULL, NULL},
    {"action", RK_ENUM, REQ, ROLE_NONE, 0, 0, quarantine_actions, NULL},
    END,
};

static const rec_field decommission_fields[] = {
    {"device", RK_ID, REQ, ROLE_DEVICE, FWS_RECORD_ID_MAX, 0, NULL, NULL},
    {"reason", RK_TEXT, REQ, ROLE_NONE, TEXT_CAP, 0, NULL, NULL},
    END,
};

/* A device's attestation as the verifier judged it; the evidence appears only as a digest. */
static const rec_field attestation_fields[] = {
    {"device", RK_ID, REQ, ROLE_DEVICE, FWS_RECORD_ID_MAX, 0, NULL, NULL},
    {"result", RK_ENUM, REQ, ROLE_NONE, 0, 0, attest_results, NULL},
    {"assurance", RK_ENUM, REQ, ROLE_NONE, 0, 0, assurance_values, NULL},
    {"evidence", RK_OBJECT, REQ, ROLE_NONE, 0, 0, NULL, sha256_only},
    {"reason", RK_TEXT, OPT, ROLE_NONE, TEXT_CAP, 0, NULL, NULL},
    END,
};

static const rec_schema schemas[] = {
    {FWS_RECORD_RELEASE, "release", release_fields},
    {FWS_RECORD_PROVISION, "provision", provision_fields},
    {FWS_RECORD_INSTALL, "install", install_fields},
    {FWS_RECORD_ROLLBACK, "rollback", rollback_fields},
    {FWS_RECORD_REVOKE, "revoke", revoke_fields},
    {FWS_RECORD_KEY, "key", key_fields},
    {FWS_RECORD_QUARANTINE, "quarantine", quarantine_fields},
    {FWS_RECORD_DECOMMISSION, "decommission", decommission_fields},
    {FWS_RECORD_ATTESTATION, "attestation", attestation_fields},
};

const rec_schema *rec_schema_find(const char *type_name)
{
    for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
        if (strcmp(schemas[i].name, type_name) == 0)
            return &schemas[i];
    }
    return NULL;
}

const rec_schema *rec_schema_of(fws_record_type type)
{
    for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
        if (schemas[i].type == type)
            return &schemas[i];
    }
    return NULL;
}

const char *fws_record_type_name(fws_record_type t)
{
    const rec_schema *s = rec_schema_of(t);
    return s != NULL ? s->name : NULL;
}

fws_err fws_record_type_parse(const char *name, fws_record_type *out)
{
    const rec_schema *s = name != NULL ? rec_schema_find(name) : NULL;
    if (s == NULL)
        return FWS_ERR_NOT_FOUND;
    *out = s->type;
    return FWS_OK;
}
