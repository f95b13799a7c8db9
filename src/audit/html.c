/* The audit report as one self-contained HTML page: no scripts, no external resources, charts
 * drawn as inline SVG (findings per check, firmware in the fleet, certificate expiry, phase
 * times), then the findings as a table. Every string from the deployment is escaped. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "audit/internal.h"

typedef struct page {
    char *buf;
    size_t len, cap;
    int failed;
} page;

static void add(page *p, const char *fmt, ...) FWS_PRINTF(2, 3);
static void add(page *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || p->failed)
        return;
    if (p->len + (size_t)n + 1 > p->cap) {
        size_t cap = (p->cap + (size_t)n + 1) * 2;
        char *b = realloc(p->buf, cap);
        if (b == NULL) {
            p->failed = 1;
            return;
        }
        p->buf = b;
        p->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(p->buf + p->len, p->cap - p->len, fmt, ap);
    va_end(ap);
    p->len += (size_t)n;
}

static void esc(page *p, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '<':
            add(p, "&lt;");
            break;
        case '>':
            add(p, "&gt;");
            break;
        case '&':
            add(p, "&amp;");
            break;
        case '"':
            add(p, "&quot;");
            break;
        case '\'':
            add(p, "&#39;");
            break;
        default:
            add(p, "%c", *s);
        }
    }
}

typedef struct bar {
    const char *label;
    double value;
    const char *color;
} bar;

/* A horizontal bar chart. */
static void chart(page *p, const char *title, const bar *bars, size_t n, const char *unit)
{
    double max = 0;
    for (size_t i = 0; i < n; i++)
        max = bars[i].value > max ? bars[i].value : max;
    unsigned h = (unsigned)(n * 26 + 34);
    add(p, "<figure><figcaption>");
    esc(p, title);
    add(p,
        "</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"560\" height=\"%u\" "
        "role=\"img\" viewBox=\"0 0 560 %u\">",
        h, h);
    if (n == 0)
        add(p, "<text x=\"10\" y=\"20\" class=\"none\">nothing to show</text>");
    for (size_t i = 0; i < n; i++) {
        double w = max > 0 ? bars[i].value / max * 300.0 : 0;
        unsigned y = (unsigned)(i * 26 + 8);
        add(p, "<text x=\"200\" y=\"%u\" text-anchor=\"end\">", y + 14);
        esc(p, bars[i].label);
        add(p, "</text><rect x=\"208\" y=\"%u\" width=\"%.1f\" height=\"18\" fill=\"%s\"/>", y,
            w < 1 && bars[i].value > 0 ? 1.0 : w, bars[i].color);
        add(p, "<text x=\"%.1f\" y=\"%u\">%.10g%s</text>", 214 + w, y + 14, bars[i].value, unit);
    }
    add(p, "</svg></figure>\n");
}

static void charts(page *p, const fws_audit_report *r)
{
    bar b[64];
    size_t n = 0;
    for (size_t i = 0; i < r->n_checks && n < 64; i++) {
        if (r->checks[i].level == FWS_AUDIT_NOTE)
            continue;
        b[n++] = (bar){r->checks[i].check, (double)r->checks[i].count,
                       r->checks[i].level == FWS_AUDIT_RED ? "#c62828" : "#ef8f00"};
    }
    chart(p, "Findings per check", b, n, "");
    n = 0;
    for (size_t i = 0; i < r->n_fw; i++)
        b[n++] = (bar){r->fw[i].label, (double)r->fw[i].devices,
                       strncmp(r->fw[i].label, "unknown", 7) == 0 ? "#c62828" : "#1565c0"};
    chart(p, "Devices per firmware", b, n, "");
    static const char *const months[] = {
        "< 1 month", "1 month",  "2 months", "3 months",  "4 months",  "5 months",      "6 months",
        "7 months",  "8 months", "9 months", "10 months", "11 months", "a year or more"};
    for (size_t i = 0; i < 13; i++)
        b[i] = (bar){months[i], (double)r->expiry_hist[i], i == 0 ? "#ef8f00" : "#2e7d32"};
    chart(p, "Valid certificates by time to expiry", b, r->certs > 0 ? 13 : 0, "");
    n = 0;
    for (size_t i = 0; i < r->n_phases; i++)
        b[n++] = (bar){r->phases[i].name, r->phases[i].seconds, "#6a1b9a"};
    chart(p, "Seconds per phase", b, n, " s");
}

static void findings(page *p, const fws_audit_report *r)
{
    add(p, "<table><thead><tr><th>level</th><th>check</th><th>subject</th><th>detail</th></tr>"
           "</thead><tbody>\n");
    for (size_t i = 0; i < r->n_findings; i++) {
        const fws_audit_finding *f = &r->findings[i];
        add(p, "<tr class=\"%s\"><td>%s</td><td>", fws_audit_level_name(f->level),
            fws_audit_level_name(f->level));
        esc(p, f->check);
        add(p, "</td><td>");
        esc(p, f->subject);
        add(p, "</td><td>");
        esc(p, f->detail);
        add(p, "</td></tr>\n");
    }
    add(p, "</tbody></table>\n");
    for (size_t i = 0; i < r->n_checks; i++) {
        if (r->checks[i].count > FWS_AUDIT_KEEP_PER_CHECK)
            add(p, "<p>%s: %llu more not listed.</p>\n", r->checks[i].check,
                (unsigned long long)(r->checks[i].count - FWS_AUDIT_KEEP_PER_CHECK));
    }
}

static const char style[] =
    "body{font:15px/1.4 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}"
    "h1{font-size:1.5em}.badge{display:inline-block;padding:.3em .8em;border-radius:1em;"
    "color:#fff;font-weight:600}.badge.red{background:#c62828}.badge.clean{background:#2e7d32}"
    "figure{display:inline-block;margin:1em 1em 1em 0;vertical-align:top}"
    "figcaption{font-weight:600;margin-bottom:.3em}svg text{font-size:12px;fill:#222}"
    "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;"
    "padding:.3em .5em;text-align:left;vertical-align:top}tr.red td:first-child{color:#c62828;"
    "font-weight:600}tr.warn td:first-child{color:#ef8f00;font-weight:600}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{color:#555}";

fws_err fws_audit_report_html(const fws_audit_report *r, char **html, size_t *len)
{
    page p = {0};
    uint64_t red = r->level_count[FWS_AUDIT_RED], warn = r->level_count[FWS_AUDIT_WARN];
    char when[32] = "?";
    struct tm tm;
    time_t t = (time_t)r->now;
    if (gmtime_r(&t, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    add(&p,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>fwseal audit</title><style>%s</style></head><body>\n",
        style);
    add(&p, "<h1>fwseal audit of ");
    esc(&p, r->deploy);
    add(&p, "</h1>\n<p><span class=\"badge %s\">%s</span> %llu red flags, %llu warnings</p>\n",
        red ? "red" : "clean", red ? "RED FLAGS" : "clean", (unsigned long long)red,
        (unsigned long long)warn);
    add(&p, "<dl><dt>ledger</dt><dd>");
    esc(&p, r->origin);
    add(&p,
        " (%llu entries, %llu records)</dd><dt>releases</dt><dd>%llu</dd><dt>devices</dt>"
        "<dd>%llu</dd><dt>reports</dt><dd>%llu (%llu signatures verified)</dd>"
        "<dt>certificates</dt><dd>%llu</dd><dt>CRLs</dt><dd>%llu</dd><dt>time</dt>"
        "<dd>%s</dd></dl>\n",
        (unsigned long long)r->tree_size, (unsigned long long)r->records,
        (unsigned long long)r->releases, (unsigned long long)r->devices,
        (unsigned long long)r->reports, (unsigned long long)r->reports_verified,
        (unsigned long long)r->certs, (unsigned long long)r->crls, when);
    charts(&p, r);
    add(&p, "<h2>Findings</h2>\n");
    findings(&p, r);
    add(&p, "</body></html>\n");
    if (p.failed) {
        free(p.buf);
        return FWS_ERR_NOMEM;
    }
    *html = p.buf;
    *len = p.len;
    return FWS_OK;
}
