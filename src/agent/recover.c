/* After every power-on: read what the bootloader did and move the machine on. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/internal.h"

#define HEALTH_OUT_MAX 256

static void set_reason(fws_agent *a, const char *fmt, ...) FWS_PRINTF(2, 3);
static void set_reason(fws_agent *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->st.reason, sizeof(a->st.reason), fmt, ap);
    va_end(ap);
}

/* 0 when the health check passed. */
static fws_err health_check(fws_agent *a, int *healthy, fws_errbuf *eb)
{
    *healthy = 1;
    if (a->health_check == NULL || a->health_check[0] == '\0')
        return FWS_OK;
    char out[HEALTH_OUT_MAX];
    int status = 0;
    setenv("FWSEAL_SLOT", fws_slot_name(a->st.target_slot), 1);
    setenv("FWSEAL_VERSION", a->st.target.version, 1);
    const char *argv[] = {"/bin/sh", "-c", a->health_check, NULL};
    fws_err err = fws_agent_exec(argv, out, sizeof(out), &status, eb);
    if (err != FWS_OK)
        return err;
    if (status != 0) {
        set_reason(a, "health check failed (exit status %d) on version %s", status,
                   a->st.target.version);
        *healthy = 0;
    }
    return FWS_OK;
}

static fws_err on_verifying(fws_agent *a, int booted, fws_errbuf *eb)
{
    uint8_t d[FWS_SHA256_LEN];
    fws_err err = fws_agent_slot_digest(a, a->st.target_slot, a->st.written, d, eb);
    if (err == FWS_OK && !fws_ct_eq(d, a->st.slot_sha256, sizeof(d)))
        err = FWS_ERR_DIGEST;
    if (err == FWS_ERR_DIGEST || err == FWS_ERR_LENGTH || err == FWS_ERR_NOT_FOUND) {
        /* The slot does not hold what was verified: never offer it. */
        fws_errbuf_clear(eb);
        set_reason(a, "slot %s changed after verification", fws_slot_name(a->st.target_slot));
        err = fws_slot_mark_bad(a->slots, a->st.target_slot, eb);
        if (err == FWS_OK)
            err = fws_agent_report_queue(a, FWS_REPORT_VERIFY_FAIL, a->st.reason, eb);
        return err == FWS_OK ? fws_agent_step(a, FWS_EV_FAILED, eb) : err;
    }
    if (err == FWS_OK && booted != a->st.target_slot)
        err = fws_slot_mark_trial(a->slots, a->st.target_slot, eb);
    if (err == FWS_OK)
        err = fws_agent_step(a, FWS_EV_VERIFIED, eb);
    return err;
}

static fws_err on_pending(fws_agent *a, const fws_boot_state *bs, int *wait, int *reboot,
                          fws_errbuf *eb)
{
    int t = a->st.target_slot;
    if (bs->booted == t)
        return fws_agent_step(a, FWS_EV_BOOTED_NEW, eb);
    if (bs->order[0] == t && bs->left[t] > 0) {
        *wait = 1; /* not rebooted yet */
        *reboot = 1;
        return FWS_OK;
    }
    set_reason(a, "trial boot of slot %s failed: the bootloader fell back to slot %s",
               fws_slot_name(t), fws_slot_name(bs->booted >= 0 ? bs->booted : 1 - t));
    fws_err err = fws_slot_mark_bad(a->slots, t, eb);
    return err == FWS_OK ? fws_agent_step(a, FWS_EV_FELL_BACK, eb) : err;
}

static fws_err on_trial(fws_agent *a, const fws_boot_state *bs, fws_errbuf *eb)
{
    int t = a->st.target_slot;
    if (bs->booted != t) {
        set_reason(a, "slot %s did not stay up on trial: the bootloader fell back to slot %s",
                   fws_slot_name(t), fws_slot_name(bs->booted >= 0 ? bs->booted : 1 - t));
        fws_err err = fws_slot_mark_bad(a->slots, t, eb);
        return err == FWS_OK ? fws_agent_step(a, FWS_EV_FELL_BACK, eb) : err;
    }
    int healthy = 0;
    fws_err err = health_check(a, &healthy, eb);
    if (err != FWS_OK)
        return err;
    if (!healthy) {
        err = fws_slot_mark_bad(a->slots, t, eb);
        return err == FWS_OK ? fws_agent_step(a, FWS_EV_HEALTH_FAIL, eb) : err;
    }
    err = fws_slot_mark_good(a->slots, t, eb);
    if (err != FWS_OK)
        return err;
    fws_agent_status saved = a->st;
    a->st.active_slot = t;
    memcpy(a->st.installed_version, a->st.target.version, sizeof(a->st.installed_version));
    memcpy(a->st.installed_sha256, a->st.target.sha256, FWS_SHA256_LEN);
    if (a->st.product[0] == '\0')
        memcpy(a->st.product, a->st.target.product, sizeof(a->st.product));
    a->st.reason[0] = '\0';
    err = fws_agent_step(a, FWS_EV_HEALTH_OK, eb);
    if (err != FWS_OK)
        a->st = saved;
    return err;
}

static fws_err on_confirmed(fws_agent *a, fws_errbuf *eb)
{
    fws_counter_store cs;
    fws_agent_counter_store(a, &cs);
    /* The counter rises only now, after the new image proved itself. */
    fws_err err = fws_counter_raise(&cs, a->st.target.security_counter);
    if (err == FWS_ERR_ROLLBACK)
        err = FWS_OK; /* a higher counter is already stored: nothing to raise */
    if (err != FWS_OK)
        return fws_errf(eb, err, "cannot raise the security counter to %llu",
                        (unsigned long long)a->st.target.security_counter);
    err = fws_agent_report_queue(a, FWS_REPORT_INSTALL, "", eb);
    return err == FWS_OK ? fws_agent_step(a, FWS_EV_SETTLED, eb) : err;
}

static fws_err on_rolled_back(fws_agent *a, const fws_boot_state *bs, int *reboot, fws_errbuf *eb)
{
    if (bs->booted == a->st.target_slot)
        *reboot = 1; /* still running the image that failed its check */
    fws_err err = fws_agent_report_queue(a, FWS_REPORT_ROLLBACK, a->st.reason, eb);
    memcpy(a->st.failed_sha256, a->st.target.sha256, FWS_SHA256_LEN);
    return err == FWS_OK ? fws_agent_step(a, FWS_EV_SETTLED, eb) : err;
}

static fws_err on_idle(fws_agent *a, const fws_boot_state *bs, fws_errbuf *eb)
{
    int act = a->st.active_slot;
    if (bs->booted >= 0 && bs->booted != act) {
        /* Booted something the agent never confirmed (changed by hand): adopt it. */
        a->st.active_slot = bs->booted;
        a->st.installed_version[0] = '\0';
        memset(a->st.installed_sha256, 0, FWS_SHA256_LEN);
        set_reason(a, "running slot %s, which the agent did not install",
                   fws_slot_name(bs->booted));
        fws_err err = fws_agent_save(a, eb);
        if (err != FWS_OK)
            return err;
        act = bs->booted;
    }
    /* Every good boot spends a try: give the confirmed slot its tries back. */
    if (bs->order[0] != act || bs->left[act] < FWS_SLOT_TRIES)
        return fws_slot_mark_good(a->slots, act, eb);
    return FWS_OK;
}

fws_err fws_agent_recover(fws_agent *a, int *reboot, fws_errbuf *eb)
{
    int want_reboot = 0;
    fws_err err = FWS_OK;
    for (int round = 0; err == FWS_OK && round < 8; round++) {
        fws_boot_state bs;
        int wait = 0;
        err = fws_slot_read(a->slots, &bs, eb);
        if (err != FWS_OK)
            break;
        switch (a->st.state) {
        case FWS_AGENT_IDLE:
            err = want_reboot ? FWS_OK : on_idle(a, &bs, eb);
            wait = 1;
            break;
        case FWS_AGENT_DOWNLOADING:
            wait = 1; /* resumable: the next pass continues it */
            break;
        case FWS_AGENT_VERIFYING:
            err = on_verifying(a, bs.booted, eb);
            break;
        case FWS_AGENT_INSTALLED_PENDING:
            err = on_pending(a, &bs, &wait, &want_reboot, eb);
            break;
        case FWS_AGENT_TRIAL_BOOT:
            err = on_trial(a, &bs, eb);
            break;
        case FWS_AGENT_CONFIRMED:
            err = on_confirmed(a, eb);
            break;
        case FWS_AGENT_ROLLED_BACK:
            err = on_rolled_back(a, &bs, &want_reboot, eb);
            break;
        default:
            err = fws_errf(eb, FWS_ERR_STATE, "unknown state");
        }
        if (wait)
            break;
    }
    if (err == FWS_OK && reboot != NULL)
        *reboot = want_reboot;
    return err;
}
