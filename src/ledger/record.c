/* Record validation: one engine driven by the schema table in record_schema.c.
 *
 * Input is any JSON text without fractions or exponents; what the ledger stores is its
 * canonical form (json.h), so two spellings of one record are one entry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "fwseal/json.h"
#include "fwseal/ledger.h"
#include "record_schema.h"

#define PATH_MAX_LEN 128

typedef struct rec_ctx {
    const char *type; /* the record's type name, for messages */
    fws_record_info *info;
    fws_errbuf *eb;
} rec_ctx;

static fws_err bad(const rec_ctx *c, const char *path, const char *what)
{
    return fws_errf(c->eb, FWS_ERR_SCHEMA, "%s record: field \"%s\" %s", c->type, path, what);
}

/* ---- string classes --------------------------------------------------------------------- */

static int id_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           strchr("._:@/+-", ch) != NULL;
}

static int version_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           strchr("._+~-", ch) != NULL;
}

static int all_chars(const char *s, size_t len, int (*ok)(unsigned char))
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\0' || !ok((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* No C0 or C1 control characters and no DEL; text may hold newlines and tabs. The bytes are
 * valid UTF-8 already (the parser checked), so C1 controls are exactly 0xC2 0x80..0x9F. */
static int no_controls(const char *s, size_t len, int text)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (text && (ch == '\n' || ch == '\t'))
            continue;
        if (ch < 0x20 || ch == 0x7f)
            return 0;
        if (ch == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] <= 0x9f)
            return 0;
    }
    return 1;
}

static int lower_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

/* ---- RFC 3339 UTC ------------------------------------------------------------------------- */

static int digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 1;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* YYYY-MM-DDTHH:MM:SS[.1-9 digits]Z, with real calendar ranges (no leap second). */
static int rfc3339_utc(const char *s, size_t len)
{
    unsigned y, mo, d, h, mi, sec, frac;
    size_t i = 19;
    if (len < 20 || len > 30 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':')
        return 0;
    if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
        return 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 59)
        return 0;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start || i - start > 9 || !digits(s + start, i - start, &frac))
            return 0;
    }
    return i + 1 == len && s[i] == 'Z';
}

/* ---- field checks ------------------------------------------------------------------------- */

static void note_role(rec_ctx *c, const rec_field *f, const char *s, size_t len)
{
    char *dst = NULL;
    size_t cap = 0;
    if (f->role == ROLE_DEVICE) {
        dst = c->info->device;
        cap = sizeof(c->info->device);
    } else if (f->role == ROLE_PRODUCT) {
        dst = c->info->product;
        cap = sizeof(c->info->product);
    } else if (f->role == ROLE_VERSION) {
        dst = c->info->version;
        cap = sizeof(c->info->version);
    }
    if (dst != NULL && len < cap) {
        memcpy(dst, s, len);
        dst[len] = '\0';
    }
}

static fws_err check_enum(rec_ctx *c, const char *path, const char *s, const char *const *values)
{
    char want[256] = "";
    size_t used = 0;
    for (const char *const *v = values; *v != NULL; v++) {
        if (strcmp(s, *v) == 0)
            return FWS_OK;
        used +=
            (size_t)snprintf(want + used, sizeof(want) - used, "%s\"%s\"", used ? ", " : "", *v);
        if (used >= sizeof(want))
            used = sizeof(want) - 1;
    }
    char msg[320];
    snprintf(msg, sizeof(msg), "must be one of %s", want);
    return bad(c, path, msg);
}

static fws_err check_string(rec_ctx *c, const rec_field *f, const char *path, const json_t *v)
{
    char msg[160];
    if (!json_is_string(v))
        return bad(c, path, "must be a string");
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (memchr(s, '\0', len) != NULL)
        return bad(c, path, "must not hold a NUL character");
    switch ((rec_kind)f->kind) {
    case RK_HEX:
        if (len != f->max || !lower_hex(s, len)) {
            snprintf(msg, sizeof(msg), "must be %u lowercase hex digits", (unsigned)f->max);
            return bad(c, path, msg);
        }
        return FWS_OK;
    case RK_TIME:
        if (!rfc3339_utc(s, len))
            return bad(c, path, "must be an RFC 3339 UTC time like 2024-05-01T12:00:00Z");
        return FWS_OK;
    case RK_ENUM:
        return check_enum(c, path, s, f->values);
    default:
        break;
    }
    if (len == 0 || len > f->max) {
        snprintf(msg, sizeof(msg), "must be 1 to %u bytes long", (unsigned)f->max);
        return bad(c, path, msg);
    }
    if (f->kind == RK_ID && !all_chars(s, len, id_char))
        return bad(c, path, "may hold only letters, digits and . _ : @ / + -");
    if (f->kind == RK_VERSION && !all_chars(s, len, version_char))
        return bad(c, path, "may hold only letters, digits and . _ + ~ -");
    if (!no_controls(s, len, f->kind == RK_TEXT))
        return bad(c, path, "must not hold control characters");
    note_role(c, f, s, len);
    return FWS_OK;
}

static fws_err check_uint(rec_ctx *c, const rec_field *f, const char *path, const json_t *v)
{
    char msg[96];
    if (!json_is_integer(v))
        return bad(c, path, "must be an integer");
    if (json_integer_value(v) < (json_int_t)f->max) {
        snprintf(msg, sizeof(msg), "must be at least %u", (unsigned)f->max);
        return bad(c, path, msg);
    }
    return FWS_OK;
}

static fws_err check_names(rec_ctx *c, const rec_field *f, const char *path, const json_t *v)
{
    char msg[128];
    size_t n = json_array_size(v);
    if (!json_is_array(v))
        return bad(c, path, "must be an array of strings");
    if (n == 0 || n > f->max) {
        snprintf(msg, sizeof(msg), "must hold 1 to %u names", (unsigned)f->max);
        return bad(c, path, msg);
    }
    rec_field item = {f->name, RK_NAME, 1, ROLE_NONE, f->item_max, 0, NULL, NULL};
    for (size_t i = 0; i < n; i++) {
        char ipath[PATH_MAX_LEN + 16];
        snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        fws_err err = check_string(c, &item, ipath, json_array_get(v, i));
        if (err != FWS_OK)
            return err;
        for (size_t j = 0; j < i; j++) {
            if (json_equal(json_array_get(v, i), json_array_get(v, j)))
                return bad(c, ipath, "repeats an earlier name");
        }
    }
    return FWS_OK;
}

static fws_err check_results(rec_ctx *c, const rec_field *f, const char *path, const json_t *v)
{
    char msg[128];
    const char *key;
    json_t *val;
    if (!json_is_object(v))
        return bad(c, path, "must be an object");
    if (json_object_size(v) == 0 || json_object_size(v) > f->max) {
        snprintf(msg, sizeof(msg), "must hold 1 to %u members", (unsigned)f->max);
        return bad(c, path, msg);
    }
    json_object_foreach((json_t *)v, key, val)
    {
        char ipath[PATH_MAX_LEN + FWS_RECORD_ID_MAX + 2];
        size_t klen = strlen(key);
        snprintf(ipath, sizeof(ipath), "%s.%.*s", path, FWS_RECORD_ID_MAX, key);
        if (klen == 0 || klen > f->item_max || !all_chars(key, klen, id_char))
            return bad(c, ipath, "is not a valid check name (letters, digits, . _ : @ / + -)");
        rec_field item = {key, RK_ENUM, 1, ROLE_NONE, 0, 0, f->values, NULL};
        fws_err err = check_string(c, &item, ipath, val);
        if (err != FWS_OK)
            return err;
    }
    return FWS_OK;
}

static fws_err check_object(rec_ctx *c, const rec_field *fields, const char *prefix,
                            const json_t *obj, int top);

static fws_err check_value(rec_ctx *c, const rec_field *f, const char *path, const json_t *v)
{
    switch ((rec_kind)f->kind) {
    case RK_UINT:
        return check_uint(c, f, path, v);
    case RK_BOOL:
        return json_is_boolean(v) ? FWS_OK : bad(c, path, "must be true or false");
    case RK_OBJECT:
        if (!json_is_object(v))
            return bad(c, path, "must be an object");
        return check_object(c, f->sub, path, v, 0);
    case RK_NAMES:
        return check_names(c, f, path, v);
    case RK_RESULTS:
        return check_results(c, f, path, v);
    default:
        return check_string(c, f, path, v);
    }
}

static const rec_field *field_named(const rec_field *fields, const char *name)
{
    for (const rec_field *f = fields; f->name != NULL; f++) {
        if (strcmp(f->name, name) == 0)
            return f;
    }
    return NULL;
}

static int common_field(const char *name)
{
    return strcmp(name, "type") == 0 || strcmp(name, "schema") == 0 || strcmp(name, "time") == 0;
}

static void join(char *out, size_t cap, const char *prefix, const char *name)
{
    if (prefix[0] != '\0')
        snprintf(out, cap, "%s.%s", prefix, name);
    else
        snprintf(out, cap, "%s", name);
}

static fws_err check_object(rec_ctx *c, const rec_field *fields, const char *prefix,
                            const json_t *obj, int top)
{
    char path[PATH_MAX_LEN];
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        if (field_named(fields, key) == NULL && !(top && common_field(key))) {
            join(path, sizeof(path), prefix, key);
            return fws_errf(c->eb, FWS_ERR_SCHEMA, "%s record: unknown field \"%s\"", c->type,
                            path);
        }
    }
    for (const rec_field *f = fields; f->name != NULL; f++) {
        json_t *v = json_object_get(obj, f->name);
        join(path, sizeof(path), prefix, f->name);
        if (v == NULL && f->required)
            return fws_errf(c->eb, FWS_ERR_SCHEMA, "%s record: missing field \"%s\"", c->type,
                            path);
        if (v == NULL)
            continue;
        fws_err err = check_value(c, f, path, v);
        if (err != FWS_OK)
            return err;
    }
    return FWS_OK;
}

/* ---- the record ---------------------------------------------------------------------------- */

static fws_err check_header(const json_t *root, const rec_schema **schema, fws_errbuf *eb)
{
    json_t *t = json_object_get(root, "type");
    json_t *s = json_object_get(root, "schema");
    if (t == NULL)
        return fws_errf(eb, FWS_ERR_SCHEMA, "record: missing field \"type\"");
    if (!json_is_string(t))
        return fws_errf(eb, FWS_ERR_SCHEMA, "record: field \"type\" must be a string");
    *schema = rec_schema_find(json_string_value(t));
    if (*schema == NULL || strlen(json_string_value(t)) != json_string_length(t))
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "record: unknown type \"%.64s\" (known: release, provision, install, "
                        "rollback, revoke, key, quarantine, decommission, attestation)",
                        json_string_value(t));
    if (s == NULL)
        return fws_errf(eb, FWS_ERR_SCHEMA, "%s record: missing field \"schema\"", (*schema)->name);
    if (!json_is_integer(s) || json_integer_value(s) != FWS_RECORD_SCHEMA)
        return fws_errf(eb, FWS_ERR_SCHEMA,
                        "%s record: field \"schema\" must be %d (the only schema version "
                        "this ledger accepts)",
                        (*schema)->name, FWS_RECORD_SCHEMA);
    return FWS_OK;
}

/* A revoked device is indexed under that device. */
static void note_revoke(const json_t *root, fws_record_info *info)
{
    const char *subject = json_string_value(json_object_get(root, "subject"));
    const char *id = json_string_value(json_object_get(root, "id"));
    if (subject != NULL && id != NULL && strcmp(subject, "device") == 0 &&
        strlen(id) < sizeof(info->device))
        snprintf(info->device, sizeof(info->device), "%s", id);
}

static fws_err check_record(const json_t *root, fws_record_info *info, fws_errbuf *eb)
{
    static const rec_field time_field = {"time", RK_TIME, 1, ROLE_NONE, 0, 0, NULL, NULL};
    const rec_schema *schema = NULL;
    rec_ctx c = {"", info, eb};
    fws_err err;

    if (!json_is_object(root))
        return fws_errf(eb, FWS_ERR_SCHEMA, "record: must be a JSON object");
    err = check_header(root, &schema, eb);
    if (err != FWS_OK)
        return err;
    c.type = schema->name;
    info->type = schema->type;
    json_t *t = json_object_get(root, "time");
    if (t == NULL)
        return fws_errf(eb, FWS_ERR_SCHEMA, "%s record: missing field \"time\"", c.type);
    err = check_string(&c, &time_field, "time", t);
    if (err != FWS_OK)
        return err;
    snprintf(info->time, sizeof(info->time), "%s", json_string_value(t));
    err = check_object(&c, schema->fields, "", root, 1);
    if (err == FWS_OK && schema->type == FWS_RECORD_REVOKE)
        note_revoke(root, info);
    return err;
}

static const fws_json_limits record_limits = {
    .max_bytes = FWS_RECORD_MAX,
    .max_depth = 8,
    .max_string = FWS_RECORD_MAX,
    .max_members = 1024,
};

fws_err fws_record_validate(const uint8_t *unverified, size_t len, char **canonical,
                            size_t *canonical_len, fws_record_info *info, fws_errbuf *eb)
{
    fws_record_info local;
    fws_errbuf why = {{0}};
    json_t *root = NULL;
    char *out = NULL;
    size_t out_len = 0;
    fws_err err;

    if ((unverified == NULL && len > 0) || canonical == NULL || canonical_len == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "record: no input or no output");
    if (len > FWS_RECORD_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG,
                        "record is %zu bytes; the cap is %u bytes (64 KiB less one: entry "
                        "bundles store 16-bit lengths)",
                        len, (unsigned)FWS_RECORD_MAX);
    err = fws_json_parse(unverified, len, FWS_JSON_NO_FLOATS, &record_limits, &root, &why);
    if (err != FWS_OK)
        return fws_errf(eb, err, "record is not valid JSON: %s",
                        why.msg[0] ? why.msg : fws_strerror(err));
    memset(&local, 0, sizeof(local));
    err = check_record(root, &local, eb);
    if (err == FWS_OK && (err = fws_json_canonical(root, &out, &out_len)) != FWS_OK)
        err = fws_errf(eb, err, "record: cannot encode canonically: %s", fws_strerror(err));
    if (err == FWS_OK && out_len > FWS_RECORD_MAX)
        err = fws_errf(eb, FWS_ERR_TOO_BIG,
                       "record: %zu bytes in canonical form; the cap is %u bytes (64 KiB less "
                       "one: entry bundles store 16-bit lengths)",
                       out_len, (unsigned)FWS_RECORD_MAX);
    json_decref(root);
    if (err != FWS_OK) {
        free(out);
        return err;
    }
    *canonical = out;
    *canonical_len = out_len;
    if (info != NULL)
        *info = local;
    return FWS_OK;
}
