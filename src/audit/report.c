/* The audit report: findings (thread-safe), counts per check and level, phase times, and the
 * JSON and terminal renderings. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "audit/internal.h"
#include "fwseal/json.h"

static const char *const level_names[] = {"note", "warn", "red"};

const char *fws_audit_level_name(fws_audit_level l)
{
    return (unsigned)l < 3 ? level_names[l] : "?";
}

double au_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void au_phase_done(fws_audit_report *r, const char *name, double seconds)
{
    if (r->n_phases >= AU_PHASES_MAX)
        return;
    au_phase *p = &r->phases[r->n_phases++];
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->seconds = seconds;
}

static au_check_count *check_slot(fws_audit_report *r, const char *check, fws_audit_level level)
{
    for (size_t i = 0; i < r->n_checks; i++) {
        if (strcmp(r->checks[i].check, check) == 0)
            return &r->checks[i];
    }
    if (r->n_checks >= sizeof(r->checks) / sizeof(r->checks[0]))
        return NULL;
    au_check_count *c = &r->checks[r->n_checks++];
    snprintf(c->check, sizeof(c->check), "%s", check);
    c->level = level;
    c->count = 0;
    return c;
}

static void keep(fws_audit_report *r, const fws_audit_finding *f)
{
    if (r->n_findings == r->cap_findings) {
        size_t cap = r->cap_findings ? r->cap_findings * 2 : 64;
        fws_audit_finding *n = realloc(r->findings, cap * sizeof(*n));
        if (n == NULL)
            return;
        r->findings = n;
        r->cap_findings = cap;
    }
    r->findings[r->n_findings++] = *f;
}

void au_flag(fws_audit_report *r, fws_audit_level level, const char *check, const char *subject,
             const char *fmt, ...)
{
    fws_audit_finding f;
    va_list ap;
    memset(&f, 0, sizeof(f));
    f.level = level;
    snprintf(f.check, sizeof(f.check), "%s", check);
    snprintf(f.subject, sizeof(f.subject), "%s", subject != NULL ? subject : "");
    va_start(ap, fmt);
    vsnprintf(f.detail, sizeof(f.detail), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&r->lock);
    au_check_count *c = check_slot(r, check, level);
    r->level_count[level]++;
    if (c != NULL && c->count++ < FWS_AUDIT_KEEP_PER_CHECK)
        keep(r, &f);
    pthread_mutex_unlock(&r->lock);
}

fws_err au_report_new(fws_audit_report **out)
{
    fws_audit_report *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return FWS_ERR_NOMEM;
    pthread_mutex_init(&r->lock, NULL);
    r->expiry_days = 30;
    *out = r;
    return FWS_OK;
}

void fws_audit_report_free(fws_audit_report *r)
{
    if (r == NULL)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r->findings);
    free(r);
}

uint64_t fws_audit_report_count(const fws_audit_report *r, fws_audit_level level)
{
    return r != NULL && (unsigned)level < 3 ? r->level_count[level] : 0;
}

size_t fws_audit_report_findings(const fws_audit_report *r, const fws_audit_finding **out)
{
    *out = r->findings;
    return r->n_findings;
}

static json_t *findings_json(const fws_audit_report *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < r->n_findings; i++) {
        const fws_audit_finding *f = &r->findings[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "level",
                                           fws_audit_level_name(f->level), "check", f->check,
                                           "subject", f->subject, "detail", f->detail));
    }
    return a;
}

static json_t *checks_json(const fws_audit_report *r)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < r->n_checks; i++) {
        const au_check_count *c = &r->checks[i];
        json_object_set_new(o, c->check,
                            json_pack("{s:s, s:I}", "level", fws_audit_level_name(c->level),
                                      "count", (json_int_t)c->count));
    }
    return o;
}

static json_t *stats_json(const fws_audit_report *r)
{
    json_t *fw = json_object();
    for (size_t i = 0; fw != NULL && i < r->n_fw; i++)
        json_object_set_new(fw, r->fw[i].label, json_integer((json_int_t)r->fw[i].devices));
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "treeSize",
                     (json_int_t)r->tree_size, "records", (json_int_t)r->records, "releases",
                     (json_int_t)r->releases, "devices", (json_int_t)r->devices, "reports",
                     (json_int_t)r->reports, "reportsVerified", (json_int_t)r->reports_verified,
                     "reportsRemembered", (json_int_t)r->reports_remembered, "certificates",
                     (json_int_t)r->certs, "crls", (json_int_t)r->crls, "firmware", fw);
}

fws_err fws_audit_report_json(const fws_audit_report *r, json_t **out)
{
    json_t *phases = json_object();
    for (size_t i = 0; phases != NULL && i < r->n_phases; i++)
        json_object_set_new(phases, r->phases[i].name, json_real(r->phases[i].seconds));
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:I, s:b, s:{s:I, s:I, s:I}, s:o, s:o, s:o, s:o}", "format",
                  "fwseal-audit-report/v1", "deployment", r->deploy, "origin", r->origin, "time",
                  (json_int_t)r->now, "clean", r->level_count[FWS_AUDIT_RED] == 0, "summary", "red",
                  (json_int_t)r->level_count[FWS_AUDIT_RED], "warn",
                  (json_int_t)r->level_count[FWS_AUDIT_WARN], "note",
                  (json_int_t)r->level_count[FWS_AUDIT_NOTE], "checks", checks_json(r),
                  "statistics", stats_json(r), "phases", phases, "findings", findings_json(r));
    if (o == NULL)
        return FWS_ERR_NOMEM;
    *out = o;
    return FWS_OK;
}

/* ---- terminal summary --------------------------------------------------------------------- */

typedef struct au_text {
    char *buf;
    size_t len, cap;
    int failed;
} au_text;

static void text_add(au_text *t, const char *fmt, ...) FWS_PRINTF(2, 3);
static void text_add(au_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || t->failed)
        return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = (t->cap + (size_t)n + 1) * 2;
        char *b = realloc(t->buf, cap);
        if (b == NULL) {
            t->failed = 1;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

fws_err fws_audit_report_text(const fws_audit_report *r, size_t max_lines, char **text, size_t *len)
{
    au_text t = {0};
    text_add(&t, "audit of %s (ledger %s, %llu entries)\n", r->deploy, r->origin,
             (unsigned long long)r->tree_size);
    text_add(&t,
             "  %llu releases, %llu devices, %llu reports (%llu signatures verified, %llu of "
             "them remembered from earlier audits), %llu certificates, %llu CRLs\n",
             (unsigned long long)r->releases, (unsigned long long)r->devices,
             (unsigned long long)r->reports, (unsigned long long)r->reports_verified,
             (unsigned long long)r->reports_remembered, (unsigned long long)r->certs,
             (unsigned long long)r->crls);
    for (int lv = FWS_AUDIT_RED; lv >= FWS_AUDIT_WARN; lv--) {
        for (size_t i = 0; i < r->n_checks; i++) {
            if ((int)r->checks[i].level != lv)
                continue;
            text_add(&t, "%-4s %-28s %llu\n", lv == FWS_AUDIT_RED ? "RED" : "warn",
                     r->checks[i].check, (unsigned long long)r->checks[i].count);
            size_t shown = 0;
            for (size_t k = 0; k < r->n_findings && shown < max_lines; k++) {
                const fws_audit_finding *f = &r->findings[k];
                if (strcmp(f->check, r->checks[i].check) != 0)
                    continue;
                text_add(&t, "       %s: %s\n", f->subject, f->detail);
                shown++;
            }
            if (r->checks[i].count > shown)
                text_add(&t, "       ... %llu more\n",
                         (unsigned long long)(r->checks[i].count - shown));
        }
    }
    for (size_t i = 0; i < r->n_findings; i++) {
        if (r->findings[i].level == FWS_AUDIT_NOTE)
            text_add(&t, "note %s: %s\n", r->findings[i].subject, r->findings[i].detail);
    }
    text_add(&t, "%s: %llu red flags, %llu warnings\n",
             r->level_count[FWS_AUDIT_RED] ? "RED FLAGS" : "clean",
             (unsigned long long)r->level_count[FWS_AUDIT_RED],
             (unsigned long long)r->level_count[FWS_AUDIT_WARN]);
    for (size_t i = 0; i < r->n_phases; i++)
        text_add(&t, "  %-10s %8.2f s\n", r->phases[i].name, r->phases[i].seconds);
    if (t.failed) {
        free(t.buf);
        return FWS_ERR_NOMEM;
    }
    *text = t.buf;
    *len = t.len;
    return FWS_OK;
}
