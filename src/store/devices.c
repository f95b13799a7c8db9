/* Devices: registration and status (through the transition table), and the fields that device
 * traffic updates concurrently, each with its own single-statement update. */
#include <stdio.h>
#include <string.h>
#include "store/internal.h"

/* Compare-and-set attempts before a status change gives up to a storm of concurrent changes. */
#define CAS_TRIES 16

static int all_zero(const uint8_t d[32])
{
    uint8_t acc = 0;
    for (int i = 0; i < 32; i++)
        acc |= d[i];
    return acc == 0;
}

/* Hex of a digest, or "" for the all-zero "unknown" digest. */
static void digest_text(const uint8_t d[32], char out[65])
{
    if (all_zero(d))
        out[0] = '\0';
    else
        hex32(d, out);
}

static fws_err read_device(const store_row *r, fws_store_device *out, fws_errbuf *eb)
{
    fws_store_device d;
    int status = 0, attest = 0;
    fws_err err;
    memset(&d, 0, sizeof(d));
    if ((err = row_copy(r, 0, d.id, sizeof(d.id), "device id", eb)) != FWS_OK ||
        (err = row_copy(r, 1, d.environment, sizeof(d.environment), "environment", eb)) != FWS_OK ||
        (err = row_copy(r, 2, d.model, sizeof(d.model), "model", eb)) != FWS_OK ||
        (err = row_copy(r, 3, d.region, sizeof(d.region), "region", eb)) != FWS_OK ||
        (err = row_copy(r, 4, d.group, sizeof(d.group), "group", eb)) != FWS_OK ||
        (err = row_enum(r, 5, enum_device_status, &status, "device status", eb)) != FWS_OK ||
        (err = row_copy(r, 6, d.installed_version, sizeof(d.installed_version), "installed version",
                        eb)) != FWS_OK ||
        (err = row_digest(r, 7, d.installed_sha256, 1, "installed digest", eb)) != FWS_OK ||
        (err = row_enum(r, 12, enum_attest, &attest, "attestation result", eb)) != FWS_OK)
        return err;
    d.status = (fws_store_device_status)status;
    d.last_seen = row_int(r, 8);
    d.last_report = row_int(r, 9);
    d.seq = (uint64_t)row_int(r, 10);
    d.attested_at = row_int(r, 11);
    d.attest_result = (fws_store_attest)attest;
    d.created_at = row_int(r, 13);
    d.updated_at = row_int(r, 14);
    *out = d;
    return FWS_OK;
}

static fws_err device_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    return read_device(r, ctx, eb);
}

static fws_err check_device(const fws_store_device *d, fws_errbuf *eb)
{
    fws_err err;
    if ((err = chk_field("device id", d->id, sizeof(d->id), CHK_ID, eb)) != FWS_OK ||
        (err = chk_field("device environment", d->environment, sizeof(d->environment), CHK_ID,
                         eb)) != FWS_OK ||
        (err = chk_field("device model", d->model, sizeof(d->model), CHK_ID, eb)) != FWS_OK ||
        (err = chk_field("device region", d->region, sizeof(d->region), CHK_NAME, eb)) != FWS_OK ||
        (err = chk_field("device group", d->group, sizeof(d->group), CHK_NAME, eb)) != FWS_OK ||
        (err = chk_field("installed version", d->installed_version, sizeof(d->installed_version),
                         CHK_TEXT, eb)) != FWS_OK)
        return err;
    if (d->installed_version[0] != '\0' &&
        (err = chk_str("installed version", d->installed_version, FWS_STORE_VERSION_MAX,
                       CHK_VERSION, eb)) != FWS_OK)
        return err;
    if (fws_store_device_status_name(d->status) == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "device %s: unknown status %d", d->id, (int)d->status);
    if (d->attest_result != 0 && fws_store_attest_name(d->attest_result) == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "device %s: unknown attestation result %d", d->id,
                        (int)d->attest_result);
    if ((err = chk_time("last seen", d->last_seen, eb)) != FWS_OK ||
        (err = chk_time("last report", d->last_report, eb)) != FWS_OK ||
        (err = chk_time("attestation time", d->attested_at, eb)) != FWS_OK ||
        (err = chk_time("creation time", d->created_at, eb)) != FWS_OK ||
        (err = chk_time("update time", d->updated_at, eb)) != FWS_OK)
        return err;
    return FWS_OK;
}

static fws_err status_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    int v = 0;
    fws_err err = row_enum(r, 0, enum_device_status, &v, "device status", eb);
    if (err == FWS_OK)
        *(fws_store_device_status *)ctx = (fws_store_device_status)v;
    return err;
}

static fws_err read_status(fws_store *s, const char *id, fws_store_device_status *out,
                           fws_errbuf *eb)
{
    char what[FWS_STORE_ID_MAX + 16];
    snprintf(what, sizeof(what), "device %s", id);
    store_arg a[] = {ARG_T(id)};
    return store_one(s, ST_DEVICE_STATUS, a, 1, status_row, out, what, eb);
}

/* Moves the device's status from whatever it is now to `to` when the table allows it: read,
 * check, then an update conditional on the status read (retried if another handle changed it
 * in between). With ident set, the registration fields of d are written along. */
static fws_err change_status(fws_store *s, const char *id, fws_store_device_status to,
                             const fws_store_device *ident, int64_t now, fws_errbuf *eb)
{
    fws_store_device_status cur = 0;
    int64_t changes = 0;
    fws_err err;
    for (int tries = 0; tries < CAS_TRIES; tries++) {
        if ((err = read_status(s, id, &cur, eb)) != FWS_OK)
            return err;
        if (!fws_store_device_transition_ok(cur, to))
            return fws_errf(eb, FWS_ERR_STATE, "device %s: status cannot change from %s to %s", id,
                            fws_store_device_status_name(cur), fws_store_device_status_name(to));
        const char *from = fws_store_device_status_name(cur);
        const char *dest = fws_store_device_status_name(to);
        if (ident != NULL) {
            store_arg a[] = {ARG_T(id),           ARG_T(ident->environment),
                             ARG_T(ident->model), ARG_T(ident->region),
                             ARG_T(ident->group), ARG_T(dest),
                             ARG_I(now),          ARG_T(from)};
            err = store_run(s, ST_DEVICE_UPDATE, a, 8, NULL, NULL, &changes, eb);
        } else {
            store_arg a[] = {ARG_T(id), ARG_T(dest), ARG_I(now), ARG_T(from)};
            err = store_run(s, ST_DEVICE_SET_STATUS, a, 4, NULL, NULL, &changes, eb);
        }
        if (err != FWS_OK || changes == 1)
            return err;
    }
    return fws_errf(eb, FWS_ERR_STATE, "device %s: status keeps changing concurrently", id);
}

static fws_err put_device(fws_store *s, const fws_store_device *d, int *created, fws_errbuf *eb)
{
    char digest[65];
    int64_t changes = 0;
    digest_text(d->installed_sha256, digest);
    fws_store_attest attest = d->attest_result ? d->attest_result : FWS_STORE_ATTEST_NONE;
    store_arg a[] = {ARG_T(d->id),
                     ARG_T(d->environment),
                     ARG_T(d->model),
                     ARG_T(d->region),
                     ARG_T(d->group),
                     ARG_T(fws_store_device_status_name(d->status)),
                     ARG_T(d->installed_version),
                     ARG_T(digest),
                     ARG_I(d->last_seen),
                     ARG_I(d->last_report),
                     ARG_I(d->attested_at),
                     ARG_T(fws_store_attest_name(attest)),
                     ARG_I(d->created_at),
                     ARG_I(d->updated_at)};
    fws_err err = store_run(s, ST_DEVICE_INSERT, a, 14, NULL, NULL, &changes, eb);
    if (err != FWS_OK)
        return err;
    *created = changes == 1;
    if (changes == 1)
        return FWS_OK;
    return change_status(s, d->id, d->status, d, d->updated_at, eb);
}

fws_err fws_store_device_put(fws_store *s, const fws_store_device *d, int *created, fws_errbuf *eb)
{
    int made = 0;
    fws_err err;
    if (s == NULL || d == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "device: missing argument");
    if ((err = check_device(d, eb)) != FWS_OK || (err = store_op_begin(s, eb)) != FWS_OK)
        return err;
    err = store_op_end(s, put_device(s, d, &made, eb), eb);
    if (err == FWS_OK && created != NULL)
        *created = made;
    return err;
}

fws_err fws_store_device_get(fws_store *s, const char *id, fws_store_device *out, fws_errbuf *eb)
{
    char what[FWS_STORE_ID_MAX + 16];
    fws_store_device d;
    fws_err err;
    if (s == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "device: missing argument");
    if ((err = chk_str("device id", id, FWS_STORE_ID_MAX, CHK_ID, eb)) != FWS_OK)
        return err;
    snprintf(what, sizeof(what), "device %s", id);
    store_arg a[] = {ARG_T(id)};
    if ((err = store_one(s, ST_DEVICE_GET, a, 1, device_row, &d, what, eb)) == FWS_OK)
        *out = d;
    return err;
}

fws_err fws_store_device_set_status(fws_store *s, const char *id, fws_store_device_status status,
                                    int64_t now, fws_errbuf *eb)
{
    fws_err err;
    if (s == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "device: missing argument");
    if ((err = chk_str("device id", id, FWS_STORE_ID_MAX, CHK_ID, eb)) != FWS_OK ||
        (err = chk_time("status time", now, eb)) != FWS_OK)
        return err;
    if (fws_store_device_status_name(status) == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "device %s: unknown status %d", id, (int)status);
    return change_status(s, id, status, NULL, now, eb);
}

/* Runs a single-row update of device id; FWS_ERR_NOT_FOUND when no row matched. */
static fws_err device_update(fws_store *s, int st, const char *id, const store_arg *a, int n,
                             fws_errbuf *eb)
{
    int64_t changes = 0;
    fws_err err = store_run(s, st, a, n, NULL, NULL, &changes, eb);
    if (err == FWS_OK && changes == 0)
        err = fws_errf(eb, FWS_ERR_NOT_FOUND, "device %s not found", id);
    return err;
}

fws_err fws_store_device_seen(fws_store *s, const char *id, int64_t now, fws_errbuf *eb)
{
    fws_err err;
    if (s == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "device: missing argument");
    if ((err = chk_str("device id", id, FWS_STORE_ID_MAX, CHK_ID, eb)) != FWS_OK ||
        (err = chk_time("last seen", now, eb)) != FWS_OK)
        return err;
    store_arg a[] = {ARG_T(id), ARG_I(now)};
    return device_update(s, ST_DEVICE_SEEN, id, a, 2, eb);
}

fws_err fws_store_device_set_installed(fws_store *s, const char *id, const char *version,
                                       const uint8_t sha256[32], int64_t report_time,
                                       fws_errbuf *eb)
{
    char digest[65];
    fws_err err;
    if (s == NULL || sha256 == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "device: missing argument");
    if ((err = chk_str("device id", id, FWS_STORE_ID_MAX, CHK_ID, eb)) != FWS_OK ||
        (err = chk_str("installed version", version, FWS_STORE_VERSION_MAX, CHK_VERSION, eb)) !=
            FWS_OK ||
        (err = chk_time("report time", report_time, eb)) != FWS_OK)
        return err;
    if (all_zero(sha256))
        return fws_errf(eb, FWS_ERR_ARG, "device %s: installed digest is all zero", id);
    hex32(sha256, digest);
    store_arg a[] = {ARG_T(id), ARG_T(version), ARG_T(digest), ARG_I(report_time)};
    return device_update(s, ST_DEVICE_INSTALLED, id, a, 4, eb);
}

fws_err fws_store_device_set_attestation(fws_store *s, const char *id, int64_t when,
                                         fws_store_attest result, fws_errbuf *eb)
{
    fws_err err;
    if (s == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "device: missing argument");
    if ((err = chk_str("device id", id, FWS_STORE_ID_MAX, CHK_ID, eb)) != FWS_OK ||
        (err = chk_time("attestation time", when, eb)) != FWS_OK)
        return err;
    if (result != FWS_STORE_ATTEST_PASS && result != FWS_STORE_ATTEST_FAIL)
        return fws_errf(eb, FWS_ERR_ARG, "device %s: attestation result must be pass or fail", id);
    store_arg a[] = {ARG_T(id), ARG_I(when), ARG_T(fws_store_attest_name(result))};
    return device_update(s, ST_DEVICE_ATTESTED, id, a, 3, eb);
}

fws_err fws_store_device_next_seq(fws_store *s, const char *id, uint64_t *seq, fws_errbuf *eb)
{
    char what[FWS_STORE_ID_MAX + 16];
    int64_t v = 0;
    fws_err err;
    if (s == NULL || seq == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "device: missing argument");
    if ((err = chk_str("device id", id, FWS_STORE_ID_MAX, CHK_ID, eb)) != FWS_OK)
        return err;
    snprintf(what, sizeof(what), "device %s", id);
    store_arg a[] = {ARG_T(id)};
    err = store_one(s, ST_DEVICE_NEXT_SEQ, a, 1, row_get_int, &v, what, eb);
    if (err == FWS_OK && v <= 0)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "device %s: sequence number out of range", id);
    if (err == FWS_OK)
        *seq = (uint64_t)v;
    return err;
}

/* ---- lists ------------------------------------------------------------------------------- */

static fws_err check_filter(const fws_store_device_filter *f, fws_errbuf *eb)
{
    const char *const vals[] = {f->environment, f->model, f->region, f->group};
    static const char *const names[] = {"environment filter", "model filter", "region filter",
                                        "group filter"};
    fws_err err;
    for (int i = 0; i < 4; i++) {
        if (vals[i] != NULL &&
            (err = chk_str(names[i], vals[i], FWS_STORE_NAME_MAX, CHK_NAME, eb)) != FWS_OK)
            return err;
    }
    if (f->status != 0 && fws_store_device_status_name(f->status) == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "status filter: unknown status %d", (int)f->status);
    if (f->after_id != NULL && f->after_id[0] != '\0' &&
        (err = chk_str("start device id", f->after_id, FWS_STORE_ID_MAX, CHK_ID, eb)) != FWS_OK)
        return err;
    return FWS_OK;
}

#define OPT(s) ((s) != NULL ? (s) : "")

typedef struct device_list {
    fws_store_device_fn fn;
    void *ctx;
} device_list;

static fws_err device_list_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    device_list *l = ctx;
    fws_store_device d;
    fws_err err = read_device(r, &d, eb);
    return err != FWS_OK ? err : l->fn(l->ctx, &d);
}

fws_err fws_store_device_list(fws_store *s, const fws_store_device_filter *f,
                              fws_store_device_fn fn, void *ctx, fws_errbuf *eb)
{
    fws_err err;
    if (s == NULL || f == NULL || fn == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "device list: missing argument");
    if ((err = check_filter(f, eb)) != FWS_OK || (err = chk_limit(f->limit, eb)) != FWS_OK)
        return err;
    device_list l = {fn, ctx};
    const char *status = f->status ? fws_store_device_status_name(f->status) : "";
    store_arg a[] = {ARG_T(OPT(f->environment)),
                     ARG_T(OPT(f->model)),
                     ARG_T(OPT(f->region)),
                     ARG_T(OPT(f->group)),
                     ARG_T(status),
                     ARG_T(OPT(f->after_id)),
                     ARG_I(f->limit)};
    return store_run(s, ST_DEVICE_LIST, a, 7, device_list_row, &l, NULL, eb);
}

fws_err fws_store_device_count(fws_store *s, const fws_store_device_filter *f, uint64_t *count,
                               fws_errbuf *eb)
{
    int64_t n = 0;
    fws_err err;
    if (s == NULL || f == NULL || count == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "device count: missing argument");
    if ((err = check_filter(f, eb)) != FWS_OK)
        return err;
    const char *status = f->status ? fws_store_device_status_name(f->status) : "";
    store_arg a[] = {ARG_T(OPT(f->environment)), ARG_T(OPT(f->model)), ARG_T(OPT(f->region)),
                     ARG_T(OPT(f->group)), ARG_T(status)};
    err = store_one(s, ST_DEVICE_COUNT, a, 5, row_get_int, &n, "device count", eb);
    if (err == FWS_OK)
        *count = (uint64_t)n;
    return err;
}
