/* The fleet phase: every device of the store against the release records (unknown firmware,
 * revoked releases, advisories, the known-good baseline), its attestation, and every report it
 * sent, whose signature the verification pool checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "audit/fleet.h"
#include "fwseal/json.h"
#include "fwseal/store.h"

#define PAGE 10000
#define POLICY_MAX (4u << 20)

/* What the reports of one device need: its certified keys and when they were all revoked. */
typedef struct dev_info {
    const au_cert *certs;
    size_t n_certs;
    int64_t revoked_at; /* 0: not all revoked */
    uint8_t key[AU_KEY_LEN];
} dev_info;

typedef struct fleet {
    au_ctx *c;
    fws_store *s;
    au_pool *pool;
    json_t *advisories; /* array or NULL */
    json_t *baseline;   /* object: model -> array of "P/V", or NULL */
    fws_store_device *page;
    dev_info *info; /* one per device of the page */
    size_t n_page;
    fws_err cb_err;
} fleet;

static fws_err page_row(void *ctx, const fws_store_device *d)
{
    fleet *f = ctx;
    f->page[f->n_page++] = *d;
    return FWS_OK;
}

static void count_fw(fws_audit_report *r, const char *label)
{
    for (size_t i = 0; i < r->n_fw; i++) {
        if (strcmp(r->fw[i].label, label) == 0) {
            r->fw[i].devices++;
            return;
        }
    }
    size_t last = sizeof(r->fw) / sizeof(r->fw[0]) - 1;
    if (r->n_fw < last) {
        snprintf(r->fw[r->n_fw].label, sizeof(r->fw[0].label), "%s", label);
        r->fw[r->n_fw++].devices = 1;
        return;
    }
    snprintf(r->fw[last].label, sizeof(r->fw[0].label), "other");
    r->fw[last].devices++;
    r->n_fw = last + 1;
}

static void check_advisories(fleet *f, const fws_store_device *d, const char *pv)
{
    size_t i;
    json_t *a;
    json_array_foreach(f->advisories, i, a)
    {
        const char *rel = json_string_value(json_object_get(a, "release"));
        const char *id = json_string_value(json_object_get(a, "id"));
        const char *sev = json_string_value(json_object_get(a, "severity"));
        if (rel == NULL || strcmp(rel, pv) != 0)
            continue;
        int red = sev != NULL && (strcmp(sev, "critical") == 0 || strcmp(sev, "high") == 0);
        au_flag(f->c->r, red ? FWS_AUDIT_RED : FWS_AUDIT_WARN, "advisory-release", d->id,
                "runs %s, flagged by advisory %s (%s)", pv, id ? id : "?", sev ? sev : "?");
    }
}

static void check_baseline(fleet *f, const fws_store_device *d, const char *pv)
{
    json_t *allowed = json_object_get(f->baseline, d->model), *v;
    size_t i;
    if (!json_is_array(allowed))
        return;
    json_array_foreach(allowed, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), pv) == 0)
            return;
    }
    au_flag(f->c->r, FWS_AUDIT_RED, "baseline-mismatch", d->id,
            "model %s runs %s, which is not in the known-good baseline", d->model, pv);
}

static void check_firmware(fleet *f, const fws_store_device *d)
{
    static const uint8_t zero[32];
    au_ctx *c = f->c;
    char hex[65], pv[FWS_RECORD_ID_MAX + FWS_RECORD_VERSION_MAX + 2];
    if (memcmp(d->installed_sha256, zero, 32) == 0) {
        count_fw(c->r, "unknown (never reported)");
        return;
    }
    const au_release *rel = au_release_by_digest(&c->ledger, d->installed_sha256);
    if (rel == NULL) {
        fws_hex_encode(d->installed_sha256, 32, hex);
        count_fw(c->r, "unknown firmware");
        if (c->cp_len > 0)
            au_flag(c->r, FWS_AUDIT_RED, "unknown-firmware", d->id,
                    "reports %.16s… (version \"%s\"), which no release record names", hex,
                    d->installed_version);
        return;
    }
    snprintf(pv, sizeof(pv), "%s/%s", rel->product, rel->version);
    count_fw(c->r, pv);
    if (rel->revoked)
        au_flag(c->r, FWS_AUDIT_RED, "revoked-release", d->id, "runs %s, which was revoked", pv);
    if (f->advisories != NULL)
        check_advisories(f, d, pv);
    if (f->baseline != NULL)
        check_baseline(f, d, pv);
}

static void check_attestation(fleet *f, const fws_store_device *d)
{
    au_ctx *c = f->c;
    int64_t max_age = (int64_t)(c->o->attest_days ? c->o->attest_days : 30) * 86400;
    if (d->status == FWS_STORE_DEV_REVOKED || d->status == FWS_STORE_DEV_DECOMMISSIONED)
        return;
    if (d->attest_result == FWS_STORE_ATTEST_FAIL)
        au_flag(c->r, FWS_AUDIT_RED, "attestation-failed", d->id, "its last attestation failed");
    else if (d->attested_at == 0)
        au_flag(c->r, FWS_AUDIT_WARN, "attestation-missing", d->id, "never attested");
    else if (c->o->now - d->attested_at > max_age)
        au_flag(c->r, FWS_AUDIT_WARN, "attestation-stale", d->id, "last attested %lld days ago",
                (long long)((c->o->now - d->attested_at) / 86400));
}

static void device_info(fleet *f, const fws_store_device *d, dev_info *di)
{
    memset(di, 0, sizeof(*di));
    au_device_key(d->id, di->key);
    au_inventory_device(&f->c->inv, di->key, &di->certs, &di->n_certs);
    int all_revoked = di->n_certs > 0;
    for (size_t i = 0; i < di->n_certs; i++) {
        if (di->certs[i].status != 3)
            all_revoked = 0;
        else if (di->certs[i].revoked_at > di->revoked_at)
            di->revoked_at = di->certs[i].revoked_at;
    }
    if (!all_revoked)
        di->revoked_at = 0;
}

/* The reports of a page of devices arrive in the page's own order (device ID, then report ID),
 * so each one's device is found by moving forward through the page. */
typedef struct page_reports {
    fleet *f;
    size_t at; /* the page index of the current device */
    char last_device[FWS_STORE_ID_MAX + 1];
    int64_t last_id;
    size_t got;
} page_reports;

static fws_err report_row(void *ctx, const fws_store_report *rep, const uint8_t *body, size_t len)
{
    page_reports *pr = ctx;
    fleet *f = pr->f;
    while (pr->at < f->n_page && strcmp(f->page[pr->at].id, rep->device_id) != 0)
        pr->at++;
    if (pr->at == f->n_page)
        return FWS_ERR_STATE; /* a report out of the page's order: the store changed under us */
    const dev_info *di = &f->info[pr->at];
    au_job *j = calloc(1, sizeof(*j));
    if (j == NULL || (j->body = malloc(len ? len : 1)) == NULL) {
        free(j);
        return FWS_ERR_NOMEM;
    }
    memcpy(j->body, body, len);
    j->len = len;
    j->id = rep->id;
    snprintf(j->device, sizeof(j->device), "%s", rep->device_id);
    memcpy(j->key, di->key, AU_KEY_LEN);
    snprintf(j->kind, sizeof(j->kind), "%s", fws_store_report_kind_name(rep->kind));
    j->received_at = rep->received_at;
    j->ledger_index = rep->ledger_index;
    j->revoked_at = di->revoked_at;
    j->certs = di->certs;
    j->n_certs = di->n_certs;
    snprintf(pr->last_device, sizeof(pr->last_device), "%s", rep->device_id);
    pr->last_id = rep->id;
    pr->got++;
    f->c->r->reports++;
    au_pool_submit(f->pool, j);
    return FWS_OK;
}

/* Every report of the devices in the page, whose IDs run from just after `before` to the
 * page's last device, in a few queries rather than one per device. */
static fws_err page_reports_read(fleet *f, const char *before, fws_errbuf *eb)
{
    page_reports pr = {.f = f, .last_id = INT64_MAX};
    const char *last = f->page[f->n_page - 1].id;
    snprintf(pr.last_device, sizeof(pr.last_device), "%s", before);
    for (;;) {
        pr.got = 0;
        fws_err err = fws_store_report_range(f->s, pr.last_device, pr.last_id, last,
                                             FWS_STORE_REPORT_LIST_MAX, report_row, &pr, eb);
        if (err == FWS_ERR_STATE)
            return fws_errf(eb, err, "the store's reports changed order during the audit");
        if (err != FWS_OK || pr.got < FWS_STORE_REPORT_LIST_MAX)
            return err;
    }
}

static fws_err walk_devices(fleet *f, uint64_t total, fws_errbuf *eb)
{
    char after[FWS_STORE_ID_MAX + 1] = "";
    uint64_t done = 0;
    fws_err err = FWS_OK;
    while (err == FWS_OK) {
        fws_store_device_filter flt = {.after_id = after, .limit = PAGE};
        f->n_page = 0;
        if ((err = fws_store_device_list(f->s, &flt, page_row, f, eb)) != FWS_OK || f->n_page == 0)
            break;
        for (size_t i = 0; i < f->n_page; i++) {
            const fws_store_device *d = &f->page[i];
            f->c->r->devices++;
            check_firmware(f, d);
            check_attestation(f, d);
            device_info(f, d, &f->info[i]);
        }
        err = page_reports_read(f, after, eb);
        snprintf(after, sizeof(after), "%s", f->page[f->n_page - 1].id);
        done += f->n_page;
        if (f->c->o->progress != NULL)
            f->c->o->progress(f->c->o->progress_ctx, "fleet", done, total);
    }
    return err;
}

static fws_err load_policies(fleet *f, fws_errbuf *eb)
{
    json_t *doc = NULL;
    fws_err err = FWS_OK;
    if (f->c->o->advisories != NULL) {
        if ((err = au_json_file(f->c->o->advisories, POLICY_MAX, &doc, eb)) != FWS_OK)
            return err;
        f->advisories = json_incref(json_object_get(doc, "advisories"));
        json_decref(doc);
        if (!json_is_array(f->advisories))
            return fws_errf(eb, FWS_ERR_SCHEMA, "%s: no \"advisories\" array", f->c->o->advisories);
    }
    if (f->c->o->baseline != NULL) {
        if ((err = au_json_file(f->c->o->baseline, POLICY_MAX, &doc, eb)) != FWS_OK)
            return err;
        f->baseline = json_incref(json_object_get(doc, "models"));
        json_decref(doc);
        if (!json_is_object(f->baseline))
            return fws_errf(eb, FWS_ERR_SCHEMA, "%s: no \"models\" object", f->c->o->baseline);
    }
    return FWS_OK;
}

static fws_err open_store(au_ctx *c, fws_store **s, fws_errbuf *eb)
{
    char path[FWS_STORE_PATH_MAX];
    fws_err err;
    if (c->o->store == NULL) {
        au_path(path, sizeof(path), c->o->deploy, "fwseal.sqlite");
        if (access(path, F_OK) != 0) {
            au_flag(c->r, FWS_AUDIT_NOTE, "fleet", "store",
                    "no store in the deployment: devices and reports not audited");
            *s = NULL;
            return FWS_OK;
        }
    } else if ((err = fws_store_resolve(c->o->store, c->o->deploy, path, sizeof(path), eb)) !=
               FWS_OK) {
        return err;
    }
    return fws_store_open(path, s, eb);
}

fws_err au_phase_fleet(au_ctx *c, fws_errbuf *eb)
{
    fleet f = {.c = c};
    uint64_t total = 0;
    fws_err err = open_store(c, &f.s, eb);
    if (err != FWS_OK || f.s == NULL)
        return err;
    if (!c->inv.present)
        au_flag(c->r, FWS_AUDIT_NOTE, "fleet", "pki",
                "no device inventory: report signatures cannot be checked");
    fws_store_device_filter all = {.limit = 1};
    if ((err = load_policies(&f, eb)) == FWS_OK &&
        (err = fws_store_device_count(f.s, &all, &total, eb)) == FWS_OK &&
        ((f.page = malloc(PAGE * sizeof(*f.page))) == NULL ||
         (f.info = malloc(PAGE * sizeof(*f.info))) == NULL))
        err = FWS_ERR_NOMEM;
    unsigned threads = c->o->threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    if (err == FWS_OK && c->o->state_dir != NULL && c->r->origin[0] != '\0')
        err = au_vcache_open(c->o->state_dir, c->r->origin, &c->vcache, eb);
    if (err == FWS_OK && (err = au_pool_start(c, threads, &f.pool)) == FWS_OK) {
        err = walk_devices(&f, total, eb);
        c->r->reports_verified = au_pool_finish(f.pool);
    }
    if (c->vcache != NULL) {
        c->r->reports_remembered = au_vcache_hits(c->vcache);
        if (err == FWS_OK)
            err = au_vcache_save(c->vcache, eb);
        au_vcache_free(c->vcache);
        c->vcache = NULL;
    }
    free(f.page);
    free(f.info);
    json_decref(f.advisories);
    json_decref(f.baseline);
    fws_store_close(f.s);
    return err;
}
