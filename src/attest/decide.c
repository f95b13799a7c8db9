/* The relying party's decision: may this device be assigned an update now? */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "attest/internal.h"

static const char *const action_names[] = {"none", "allow", "deny", "quarantine"};

const char *fws_attest_action_name(fws_attest_action a)
{
    return (unsigned)a < 4 ? action_names[a] : "none";
}

static void because(fws_attest_decision *d, fws_attest_action action, const char *fmt, ...)
    FWS_PRINTF(3, 4);

/* Records a reason; the strongest action wins (quarantine over deny over allow). */
static void because(fws_attest_decision *d, fws_attest_action action, const char *fmt, ...)
{
    if (action > d->action)
        d->action = action;
    if (d->n_reasons >= FWS_ATTEST_REASONS_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->reasons[d->n_reasons++], FWS_ATTEST_REASON_LEN, fmt, ap);
    va_end(ap);
}

static void failed(fws_attest_decision *d, const fws_attest_result *last)
{
    size_t listed = 0;
    for (size_t i = 0; i < last->n_reasons && i < FWS_ATTEST_REASONS_MAX; i++) {
        if (last->reasons[i].code == FWS_OK)
            continue;
        because(d, FWS_ATTEST_QUARANTINE, "attestation failed: %s", last->reasons[i].text);
        listed++;
    }
    if (listed == 0)
        because(d, FWS_ATTEST_QUARANTINE, "attestation failed");
}

static void flagged(fws_attest_decision *d, const fws_attest_policy *p,
                    const fws_attest_result *last)
{
    const char *what = (last->flags & FWS_ATTEST_FLAG_REBOOT) ? "reboot" : "restart";
    if (p->on_reboot == FWS_REBOOT_QUARANTINE)
        because(d, FWS_ATTEST_QUARANTINE, "unexpected %s (policy: quarantine)", what);
    else if (p->on_reboot == FWS_REBOOT_DENY)
        because(d, FWS_ATTEST_DENY, "unexpected %s (policy: deny until a clean attestation)", what);
}

void fws_attest_decide(const fws_attest_policy *p, const fws_attest_result *last, int trust_score,
                       int64_t now, fws_attest_decision *out)
{
    fws_attest_decision d;
    memset(&d, 0, sizeof(d));
    d.action = FWS_ATTEST_ALLOW;
    if (p == NULL) {
        because(&d, FWS_ATTEST_DENY, "no attestation policy");
    } else if (last == NULL) {
        because(&d, FWS_ATTEST_DENY, "the device has never passed an attestation");
    } else if (!last->pass) {
        failed(&d, last);
    } else {
        if (last->time > now)
            because(&d, FWS_ATTEST_DENY, "the attestation is dated in the future");
        else if (now - last->time > p->max_age)
            because(&d, FWS_ATTEST_DENY, "the attestation is %lld s old (policy: at most %lld s)",
                    (long long)(now - last->time), (long long)p->max_age);
        if (last->assurance < p->min_assurance)
            because(&d, FWS_ATTEST_DENY, "assurance %s is below the required %s",
                    fws_attest_assurance_name(last->assurance),
                    fws_attest_assurance_name(p->min_assurance));
        if (last->flags & (FWS_ATTEST_FLAG_REBOOT | FWS_ATTEST_FLAG_RESTART))
            flagged(&d, p, last);
    }
    if (p != NULL && p->min_score > 0 && trust_score >= 0 && (unsigned)trust_score < p->min_score)
        because(&d, FWS_ATTEST_DENY, "trust score %d is below the required %u", trust_score,
                p->min_score);
    if (out != NULL)
        *out = d;
}

int fws_attest_may_offer(const fws_attest_decision *d, const fws_attest_policy *p,
                         const char *product, const char *version)
{
    if (d == NULL || product == NULL || version == NULL)
        return 0;
    if (d->action == FWS_ATTEST_ALLOW)
        return 1;
    if (d->action != FWS_ATTEST_QUARANTINE || p == NULL)
        return 0;
    for (size_t i = 0; i < p->n_recovery && i < FWS_ATTEST_RECOVERY_MAX; i++) {
        if (strcmp(p->recovery_product[i], product) == 0 &&
            strcmp(p->recovery_version[i], version) == 0)
            return 1;
    }
    return 0;
}
