/* CycloneDX 1.6 JSON bills of materials: validated against the official schema, never invented.
 *
 * fwseal ships the CycloneDX 1.6 JSON schema files (data/cyclonedx/, installed to
 * share/fwseal/cyclonedx/) and checks a BOM against them with its own JSON Schema (draft-07)
 * evaluator, which implements exactly the keywords and formats those files use and refuses to
 * load a schema that needs anything else. On top of the schema, a BOM must say
 * "bomFormat": "CycloneDX" and "specVersion": "1.6".
 *
 * Where fwseal is stricter than a generic draft-07 validator (each case is listed in
 * docs/SBOM.md): RFC 8259 JSON only (no duplicate keys, no raw control characters in strings,
 * integers within 64 bits), at most FWS_SBOM_MAX_BYTES and FWS_SBOM_MAX_DEPTH levels, date-time
 * exactly as RFC 3339 section 5.6 writes it, and iri-reference / idn-email checked for
 * characters that can never appear in them.
 */
#ifndef FWSEAL_SBOM_H
#define FWSEAL_SBOM_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FWS_SBOM_MAX_BYTES (16u * 1024 * 1024) /* bytes of BOM JSON */
#define FWS_SBOM_MAX_DEPTH 64u                 /* nesting of arrays and objects */
#define FWS_SBOM_SPEC_VERSION "1.6"
/* "urn:uuid:" and 36 characters, and a NUL: the only form the schema allows. */
#define FWS_SBOM_SERIAL_MAX 46
/* Environment variable that overrides the data directory (holding cyclonedx/). */
#define FWS_SBOM_DATA_DIR_ENV "FWSEAL_DATA_DIR"

/* What a valid BOM says about itself. Strings are malloc'd copies (NULL when absent); release
 * them with fws_sbom_info_free. */
typedef struct fws_sbom_info {
    char serial_number[FWS_SBOM_SERIAL_MAX]; /* "" when the BOM has none */
    int64_t version;                         /* "version", 1 (the schema's default) when absent */
    size_t component_count;                  /* entries of the top-level "components" array */
    size_t component_total;                  /* every component, nested ones included */
    char *name;                              /* metadata.component.name */
    char *component_version;                 /* metadata.component.version */
} fws_sbom_info;

void fws_sbom_info_free(fws_sbom_info *info); /* NULL is fine; the struct is zeroed */

/* A loaded, compiled schema set; immutable after loading, so one may serve many threads. */
typedef struct fws_sbom_schema fws_sbom_schema;

/* The data directory: $FWSEAL_DATA_DIR when set and not empty, else the build's default. */
const char *fws_sbom_data_dir(void);

/* Loads bom-1.6 and the schema files it references from <data_dir>/cyclonedx/ (data_dir NULL
 * means fws_sbom_data_dir()). FWS_ERR_NOT_FOUND when a file is missing, FWS_ERR_FORMAT when a
 * file is not JSON, FWS_ERR_UNSUPPORTED when a schema uses a keyword, format or regular
 * expression this evaluator does not implement, FWS_ERR_SCHEMA for a $ref that does not
 * resolve; eb names the file and the place. */
fws_err fws_sbom_schema_load(const char *data_dir, fws_sbom_schema **out,
                             fws_errbuf *eb) FWS_MUST_CHECK;
void fws_sbom_schema_free(fws_sbom_schema *schema); /* NULL is fine */

/* Validates unverified BOM bytes against a loaded schema. FWS_OK when the BOM is valid, with
 * *info_out filled if info_out is not NULL. Otherwise nothing is written to info_out and:
 * FWS_ERR_TOO_BIG (over FWS_SBOM_MAX_BYTES or FWS_SBOM_MAX_DEPTH), FWS_ERR_FORMAT (not JSON;
 * eb names the byte offset), FWS_ERR_SCHEMA with eb giving the JSON pointer of the first
 * failure, what failed and the keyword, e.g.
 *   /components/3/type: not one of the allowed values (enum)
 * (bomFormat and specVersion are checked first, so a BOM of another version says so at once). */
fws_err fws_sbom_validate_with(const fws_sbom_schema *schema, const uint8_t *unverified, size_t len,
                               fws_sbom_info *info_out, fws_errbuf *eb) FWS_MUST_CHECK;

/* The same with the schema loaded from fws_sbom_data_dir() for this one call (and freed). */
fws_err fws_sbom_validate(const uint8_t *unverified, size_t len, fws_sbom_info *info_out,
                          fws_errbuf *eb) FWS_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
