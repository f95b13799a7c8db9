/* fws_audit_run: the phases in order (ledger, releases, PKI, fleet), each timed. A phase that
 * cannot run at all stops the audit; everything it judges becomes a finding. */
#include <stdlib.h>
#include <string.h>
#include "audit/internal.h"

typedef fws_err (*phase_fn)(au_ctx *c, fws_errbuf *eb);

static const struct {
    const char *name;
    phase_fn fn;
} phases[] = {
    {"ledger", au_phase_ledger},
    {"releases", au_phase_releases},
    {"pki", au_phase_pki},
    {"fleet", au_phase_fleet},
};

fws_err fws_audit_run(const fws_audit_opts *o, fws_audit_report **out, fws_errbuf *eb)
{
    fws_err err = FWS_OK;
    if (o == NULL || (o->deploy == NULL && o->ledger_url == NULL) || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "audit: missing argument");
    fws_audit_report *r = NULL;
    au_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL || au_report_new(&r) != FWS_OK) {
        free(c);
        return FWS_ERR_NOMEM;
    }
    snprintf(r->deploy, sizeof(r->deploy), "%s",
             o->label    ? o->label
             : o->deploy ? o->deploy
                         : o->ledger_url);
    r->now = o->now;
    r->expiry_days = o->expiry_days ? o->expiry_days : 30;
    c->o = o;
    c->r = r;
    double total = au_clock();
    size_t n = o->deploy != NULL ? sizeof(phases) / sizeof(phases[0]) : 1;
    if (o->deploy == NULL)
        au_flag(r, FWS_AUDIT_NOTE, "scope", o->ledger_url,
                "only the ledger was audited (no deployment directory)");
    for (size_t i = 0; err == FWS_OK && i < n; i++) {
        double t0 = au_clock();
        uint64_t red = r->level_count[FWS_AUDIT_RED];
        err = phases[i].fn(c, eb);
        if (i == 0 && r->level_count[FWS_AUDIT_RED] != red)
            c->ledger_red = 1;
        au_phase_done(r, phases[i].name, au_clock() - t0);
    }
    au_phase_done(r, "total", au_clock() - total);
    if (err == FWS_OK && !c->ledger_red)
        err = au_save_state(c, eb);
    au_ledger_free(&c->ledger);
    au_inventory_free(&c->inv);
    free(c);
    if (err != FWS_OK) {
        fws_audit_report_free(r);
        return err;
    }
    *out = r;
    return FWS_OK;
}
