/* Rules about certificates and devices: expiring certificates (the server's, the CAs', the
 * devices'), failed attestations and unexpected reboots. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "fwseal/crypto.h"
#include "fwseal/json.h"
#include "fwseal/pki.h"
#include "fwseal/util.h"
#include "server/alert.h"

#define DEVICE_PAGE 1000
#define DEVICE_CERTS_MAX 20000 /* devices whose certificates one pass looks at */
#define REPORTS_PER_DEVICE 16
#define REBOOT_CANDIDATES DEVICE_PAGE
#define NAMES_IN_MESSAGE 5

static void day_text(int64_t t, char out[16])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

/* Raises for one certificate when it is within warn of expiring (or expired). */
static fws_err check_validity(alert_ctx *c, const char *what, int64_t not_after, fws_errbuf *eb)
{
    if (not_after - c->now > c->cfg->cert_warn)
        return FWS_OK;
    char day[16];
    day_text(not_after, day);
    int64_t days = (not_after - c->now) / 86400;
    if (not_after <= c->now)
        return alert_raise(c, eb, ALERT_CERT_EXPIRY, what, not_after - c->cfg->cert_warn,
                           "the %s expired on %s", what, day);
    return alert_raise(c, eb, ALERT_CERT_EXPIRY, what, not_after - c->cfg->cert_warn,
                       "the %s expires on %s (in %lld day%s)", what, day, (long long)days,
                       days == 1 ? "" : "s");
}

fws_err alert_rule_cert_file(alert_ctx *c, const char *path, const char *what, fws_errbuf *eb)
{
    uint8_t *pem = NULL;
    size_t len = 0;
    fws_errbuf why = {{0}};
    fws_err err = fws_file_read(path, 1u << 20, &pem, &len, &why);
    if (err == FWS_ERR_NOT_FOUND)
        return FWS_OK;
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s", why.msg);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL;
    int dlen = x ? i2d_X509(x, &der) : -1;
    int64_t nb = 0, na = 0;
    if (dlen <= 0 || fws_pki_cert_validity(der, (size_t)dlen, &nb, &na) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: not a PEM certificate", path);
    OPENSSL_free(der);
    X509_free(x);
    BIO_free(bio);
    free(pem);
    return err == FWS_OK ? check_validity(c, what, na, eb) : err;
}

/* ---- device certificates ------------------------------------------------------------------- */

typedef struct dev_ids {
    char (*ids)[FWS_PKI_ID_LEN];
    size_t n, cap;
} dev_ids;

static int collect_id(void *ctx, const fws_pki_device *d)
{
    dev_ids *l = ctx;
    if (l->n == l->cap)
        return 1;
    if (d->status == FWS_DEVICE_PROVISIONED || d->status == FWS_DEVICE_ACTIVE)
        memcpy(l->ids[l->n++], d->id, FWS_PKI_ID_LEN);
    return 0;
}

typedef struct dev_cert {
    int found;
    fws_pki_cert cert;
} dev_cert;

/* The newest valid certificate (the list comes newest first). */
static int newest_valid(void *ctx, const fws_pki_cert *cert)
{
    dev_cert *d = ctx;
    if (cert->status != FWS_CERT_VALID)
        return 0;
    d->cert = *cert;
    d->found = 1;
    return 1;
}

/* Due: expired, or past its renewal time (two thirds of its life) and within warn of the
 * end: an operational certificate that EST should have renewed, or a factory one running
 * out. */
static int cert_due(const alert_ctx *c, const fws_pki_cert *cert)
{
    if (cert->not_after <= c->now)
        return 1;
    return c->now >= fws_est_renew_at(cert->not_before, cert->not_after) &&
           cert->not_after - c->now <= c->cfg->cert_warn;
}

static fws_err device_certs(alert_ctx *c, fws_pki *pki, fws_pki_env env, fws_errbuf *eb)
{
    dev_ids l = {.ids = calloc(DEVICE_CERTS_MAX, FWS_PKI_ID_LEN), .cap = DEVICE_CERTS_MAX};
    fws_pki_filter f = {.env = env};
    char names[NAMES_IN_MESSAGE * (FWS_PKI_ID_LEN + 20)] = "";
    size_t due = 0;
    int64_t first = INT64_MAX;
    fws_err err = l.ids ? fws_pki_device_list(pki, &f, collect_id, &l, eb) : FWS_ERR_NOMEM;
    for (size_t i = 0; err == FWS_OK && i < l.n; i++) {
        dev_cert d = {0};
        err = fws_pki_device_certs(pki, l.ids[i], newest_valid, &d, eb);
        if (err != FWS_OK || !d.found || !cert_due(c, &d.cert))
            continue;
        if (due++ < NAMES_IN_MESSAGE) {
            char day[16];
            size_t used = strlen(names);
            day_text(d.cert.not_after, day);
            snprintf(names + used, sizeof(names) - used, "%s%s (%s)", used ? ", " : "", l.ids[i],
                     day);
        }
        if (d.cert.not_after < first)
            first = d.cert.not_after;
    }
    free(l.ids);
    if (err != FWS_OK || due == 0)
        return err;
    char subject[FWS_STORE_SUBJECT_MAX + 1];
    snprintf(subject, sizeof(subject), "device certificates (%s)", fws_pki_env_name(env));
    return alert_raise(c, eb, ALERT_CERT_EXPIRY, subject, c->now - 86400,
                       "%zu device certificate%s in %s expired or will expire without renewal: "
                       "%s%s",
                       due, due == 1 ? "" : "s", fws_pki_env_name(env), names,
                       due > NAMES_IN_MESSAGE ? ", ..." : "");
}

static fws_err ca_certs(alert_ctx *c, fws_pki *pki, fws_pki_env env, fws_errbuf *eb)
{
    const uint8_t *root = NULL, *inter = NULL;
    size_t root_len = 0, inter_len = 0;
    int64_t nb = 0, na = 0;
    char what[96];
    fws_err err = fws_pki_ca_certs(pki, env, &root, &root_len, &inter, &inter_len);
    if (err == FWS_OK && fws_pki_cert_validity(root, root_len, &nb, &na) == FWS_OK) {
        snprintf(what, sizeof(what), "root CA certificate (%s)", fws_pki_env_name(env));
        err = check_validity(c, what, na, eb);
    }
    if (err == FWS_OK && fws_pki_cert_validity(inter, inter_len, &nb, &na) == FWS_OK) {
        snprintf(what, sizeof(what), "intermediate CA certificate (%s)", fws_pki_env_name(env));
        err = check_validity(c, what, na, eb);
    }
    return err;
}

fws_err alert_rule_certs(alert_ctx *c, fws_server *srv, fws_errbuf *eb)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/server/server.crt", fws_server_deploy_dir(srv));
    fws_err err = alert_rule_cert_file(c, path, "server certificate", eb);
    fws_pki *pki = fws_server_pki_lock(srv);
    for (int e = FWS_ENV_DEV; err == FWS_OK && e <= FWS_ENV_PROD; e++) {
        if (!fws_pki_has_env(pki, (fws_pki_env)e))
            continue;
        err = ca_certs(c, pki, (fws_pki_env)e, eb);
        if (err == FWS_OK)
            err = device_certs(c, pki, (fws_pki_env)e, eb);
    }
    fws_server_pki_unlock(srv);
    return err;
}

/* ---- attestations and reboots ------------------------------------------------------------- */

/* An attestation report: the JSON itself or a DSSE envelope whose payload it is. */
unsigned alert_report_flags(const uint8_t *body, size_t len)
{
    json_t *doc = NULL, *inner = NULL;
    unsigned flags = 0;
    if (fws_json_parse(body, len, 0, NULL, &doc, NULL) != FWS_OK)
        return 0;
    const char *payload = json_string_value(json_object_get(doc, "payload"));
    const json_t *rep = doc;
    if (payload != NULL) {
        size_t plen = strlen(payload), n = 0;
        uint8_t *raw = malloc(plen + 1);
        if (raw != NULL && fws_base64_decode(payload, plen, raw, plen + 1, &n) == FWS_OK &&
            fws_json_parse(raw, n, 0, NULL, &inner, NULL) == FWS_OK)
            rep = inner;
        free(raw);
    }
    const json_t *fl = json_object_get(rep, "flags");
    for (size_t i = 0; i < json_array_size(fl); i++) {
        const char *f = json_string_value(json_array_get(fl, i));
        if (f != NULL && strcmp(f, "unexpected-reboot") == 0)
            flags |= 1u;
        if (f != NULL && strcmp(f, "unexpected-restart") == 0)
            flags |= 2u;
    }
    const char *result = json_string_value(json_object_get(rep, "result"));
    if (result != NULL && strcmp(result, "fail") == 0)
        flags |= 4u;
    json_decref(inner);
    json_decref(doc);
    return flags;
}

typedef struct dev_page {
    alert_ctx *c;
    int64_t since;
    size_t rows;
    char last[FWS_STORE_ID_MAX + 1];
    char (*recent)[FWS_STORE_ID_MAX + 1]; /* devices with reports since `since` */
    size_t n_recent;
} dev_page;

typedef struct dev_reports {
    int64_t window_start, since;
    size_t reboots, fails;
    int64_t last_reboot, last_fail;
} dev_reports;

/* Devices with reports since `since` or a failed attestation are looked at after the page
 * (a list callback must not use the handle). */
static fws_err device_row(void *ctx, const fws_store_device *d)
{
    dev_page *p = ctx;
    p->rows++;
    memcpy(p->last, d->id, sizeof(p->last));
    int failed = p->c->cfg->attest_enabled && d->attest_result == FWS_STORE_ATTEST_FAIL;
    if ((d->last_report >= p->since || failed) && p->n_recent < REBOOT_CANDIDATES)
        memcpy(p->recent[p->n_recent++], d->id, sizeof(p->recent[0]));
    return FWS_OK;
}

static fws_err report_row(void *ctx, const fws_store_report *r, const uint8_t *body, size_t len)
{
    dev_reports *d = ctx;
    if (r->kind != FWS_STORE_REPORT_ATTESTATION)
        return FWS_OK;
    unsigned flags = alert_report_flags(body, len);
    if ((flags & 3u) && r->received_at >= d->window_start) {
        d->reboots++;
        if (r->received_at > d->last_reboot)
            d->last_reboot = r->received_at;
    }
    if ((flags & 4u) && r->received_at >= d->since) {
        d->fails++;
        if (r->received_at > d->last_fail)
            d->last_fail = r->received_at;
    }
    return FWS_OK;
}

/* One device: its record's attestation and its recent attestation reports. */
static fws_err device_check(alert_ctx *c, const char *id, int64_t since, fws_errbuf *eb)
{
    fws_store_device d;
    char subject[FWS_STORE_SUBJECT_MAX + 1], day[16];
    const alert_spike_rule *r = &c->cfg->reboot;
    fws_err err = fws_store_device_get(c->store, id, &d, eb);
    if (err != FWS_OK)
        return err == FWS_ERR_NOT_FOUND ? FWS_OK : err;
    snprintf(subject, sizeof(subject), "device %s", id);
    if (c->cfg->attest_enabled && d.attest_result == FWS_STORE_ATTEST_FAIL) {
        day_text(d.attested_at, day);
        err = alert_raise(c, eb, ALERT_ATTEST_FAIL, subject, d.attested_at,
                          "device %s (%s) failed attestation (%s)", id, d.model, day);
    }
    if (err != FWS_OK || d.last_report < since || (!r->enabled && !c->cfg->attest_enabled))
        return err;
    dev_reports rep = {.window_start = c->now - r->window, .since = since};
    fws_store_page page = {.after = 0, .limit = REPORTS_PER_DEVICE, .newest_first = 1};
    err = fws_store_report_list(c->store, id, &page, report_row, &rep, eb);
    if (err == FWS_OK && c->cfg->attest_enabled && rep.fails > 0)
        err = alert_raise(c, eb, ALERT_ATTEST_FAIL, subject, rep.last_fail,
                          "device %s (%s) sent a failed attestation report", id, d.model);
    if (err == FWS_OK && r->enabled && rep.reboots >= r->threshold)
        err = alert_raise(c, eb, ALERT_REBOOT, subject, c->now - r->window,
                          "device %s (%s) rebooted unexpectedly %zu time%s in its recent "
                          "attestations (TPM reset or restart counter went up with no update "
                          "or reboot ordered)",
                          id, d.model, rep.reboots, rep.reboots == 1 ? "" : "s");
    return err;
}

fws_err alert_rule_devices(alert_ctx *c, int64_t since, fws_errbuf *eb)
{
    dev_page p = {.c = c, .since = since};
    p.recent = calloc(REBOOT_CANDIDATES, sizeof(p.recent[0]));
    if (p.recent == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = FWS_OK;
    do {
        fws_store_device_filter f = {.after_id = p.last, .limit = DEVICE_PAGE};
        p.rows = 0;
        p.n_recent = 0;
        err = fws_store_device_list(c->store, &f, device_row, &p, eb);
        for (size_t i = 0; err == FWS_OK && i < p.n_recent; i++)
            err = device_check(c, p.recent[i], since, eb);
    } while (err == FWS_OK && p.rows == DEVICE_PAGE);
    free(p.recent);
    return err;
}
