/* Internal: the table that describes every record type (schema 1). One table, one engine
 * (record.c): adding a field or a type is an edit to record_schema.c only. */
#ifndef FWSEAL_LEDGER_RECORD_SCHEMA_H
#define FWSEAL_LEDGER_RECORD_SCHEMA_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/ledger.h"

typedef enum rec_kind {
    RK_ID = 1,  /* identifier: [A-Za-z0-9._:@/+-], 1..max bytes */
    RK_VERSION, /* version: [A-Za-z0-9._+~-], 1..max bytes */
    RK_NAME,    /* a name: UTF-8 without control characters, 1..max bytes */
    RK_TEXT,    /* free text: UTF-8, newline and tab allowed, 1..max bytes */
    RK_UINT,    /* integer >= min */
    RK_BOOL,    /* true or false */
    RK_ENUM,    /* one of values */
    RK_HEX,     /* lowercase hex digits, exactly max of them */
    RK_TIME,    /* RFC 3339 UTC: YYYY-MM-DDTHH:MM:SS[.fraction]Z */
    RK_OBJECT,  /* an object described by sub */
    RK_NAMES,   /* an array of 1..max distinct RK_NAME strings of at most item_max bytes */
    RK_RESULTS, /* an object of 1..max members: RK_ID keys (<= item_max) -> one of values */
} rec_kind;

typedef enum rec_role {
    ROLE_NONE = 0,
    ROLE_DEVICE,  /* indexed as the record's device */
    ROLE_PRODUCT, /* indexed as the record's product */
    ROLE_VERSION, /* indexed as the record's version */
} rec_role;

typedef struct rec_field {
    const char *name;
    uint8_t kind;     /* rec_kind */
    uint8_t required; /* 1: must be present */
    uint8_t role;     /* rec_role */
    uint32_t max;     /* byte cap, hex length, item count; RK_UINT: the minimum value */
    uint32_t item_max;
    const char *const *values;   /* RK_ENUM, RK_RESULTS: NULL-terminated */
    const struct rec_field *sub; /* RK_OBJECT: fields, ended by a NULL name */
} rec_field;

typedef struct rec_schema {
    fws_record_type type;
    const char *name;
    const rec_field *fields; /* ended by a NULL name; "type", "schema", "time" are implied */
} rec_schema;

/* The schema of a type name, or NULL. */
const rec_schema *rec_schema_find(const char *type_name);
/* The schema of a type, or NULL. */
const rec_schema *rec_schema_of(fws_record_type type);

#endif
