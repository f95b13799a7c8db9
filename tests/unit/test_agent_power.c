/* Power loss: an install (download into the slot, verification, trial marking, the reboot, the
 * health check, confirmation, the counter and the report) is cut at every single write, fsync,
 * rename and unlink in turn. After each cut the device boots, the agent recovers, and the
 * invariants are checked: the device runs a released image, the state file is whole, and the
 * agent ends either confirmed on the new image or back on the old one with a rollback report. */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_agent_util.h"

/* Runs the device until the update settles or the power dies. */
static fws_err lifecycle(device *d, const fws_agent_io *io)
{
    fws_agent_target t;
    device_target(d, &t);
    for (int round = 0; round < 6; round++) {
        fws_slot_backend *b = NULL;
        fws_agent *a = NULL;
        int reboot = 0;
        fws_err err = device_open(d, io, "true", &b, &a, NULL);
        if (err == FWS_OK)
            err = fws_agent_recover(a, &reboot, NULL);
        fws_agent_status st;
        if (err == FWS_OK)
            fws_agent_get_status(a, &st);
        if (err == FWS_OK && !reboot &&
            (st.state == FWS_AGENT_DOWNLOADING ||
             (st.state == FWS_AGENT_IDLE && strcmp(st.installed_version, "1.0.0") == 0 &&
              st.reason[0] == '\0' && round == 0))) {
            err = fws_agent_install(a, &t, &fws_agent_file_source, NULL);
            reboot = 1;
        }
        int settled = err == FWS_OK && !reboot && st.state == FWS_AGENT_IDLE;
        fws_agent_close(a);
        fws_slot_close(b);
        if (err != FWS_OK || settled)
            return err;
        int booted = -1;
        err = device_boot(d, &booted);
        if (err != FWS_OK)
            return err;
    }
    return FWS_ERR_STATE;
}

typedef struct outcome {
    int confirmed;
    int rolled_back;
} outcome;

/* What must hold once the device has booted and the agent has run to the end. */
static void check_settled(device *d, outcome *o)
{
    fws_agent_status st;
    assert_int_equal(fws_agent_status_read(d->state, &st, NULL), FWS_OK);
    assert_int_equal(st.state, FWS_AGENT_IDLE);
    char img[700], path[700];
    snprintf(img, sizeof(img), "%s/slot-%s.img", d->slots, fws_slot_name(st.active_slot));
    snprintf(path, sizeof(path), "%s/counter", d->state);
    uint8_t *data = NULL;
    size_t len = 0;
    uint64_t counter = 0;
    if (fws_file_read(path, 64, &data, &len, NULL) == FWS_OK)
        counter = strtoull((const char *)data, NULL, 10);
    free(data);
    if (strcmp(st.installed_version, "1.1.0") == 0) {
        assert_int_equal(st.active_slot, 1);
        assert_true(file_equals(img, d->v2, V2_LEN));
        assert_int_equal(counter, V2_COUNTER);
        assert_int_equal(count_reports(d, "install"), 1);
        assert_int_equal(count_reports(d, "rollback"), 0);
        o->confirmed++;
    } else {
        /* The power died during the trial boot: the bootloader fell back, as it must. */
        assert_string_equal(st.installed_version, "1.0.0");
        assert_int_equal(st.active_slot, 0);
        assert_true(file_equals(img, d->v1, V1_LEN));
        assert_int_equal(counter, 0);
        assert_int_equal(count_reports(d, "rollback"), 1);
        assert_int_equal(count_reports(d, "install"), 0);
        o->rolled_back++;
    }
    assert_int_equal(count_reports(d, "verification-failure"), 0);
}

/* Right after the cut: the bootloader must find a released image. */
static void check_boots(device *d)
{
    int booted = -1;
    assert_int_equal(device_boot(d, &booted), FWS_OK);
    char img[700];
    snprintf(img, sizeof(img), "%s/slot-%s.img", d->slots, fws_slot_name(booted));
    assert_true(booted == 0 ? file_equals(img, d->v1, V1_LEN) : file_equals(img, d->v2, V2_LEN));
    /* The state file is whole (the old one or the new one). */
    fws_agent_status st;
    fws_err err = fws_agent_status_read(d->state, &st, NULL);
    assert_true(err == FWS_OK || err == FWS_ERR_NOT_FOUND);
}

static void cut_everywhere(void **state)
{
    (void)state;
    /* A run without a cut counts the operations. */
    device d;
    device_make(&d);
    fws_agent_power p = {0, 0, 0};
    fws_agent_io io;
    fws_agent_io_power(&p, &io);
    assert_int_equal(lifecycle(&d, &io), FWS_OK);
    outcome o = {0, 0};
    check_settled(&d, &o);
    assert_int_equal(o.confirmed, 1);
    uint64_t total = p.ops;
    device_free(&d);
    assert_true(total > 20);

    for (uint64_t k = 1; k <= total; k++) {
        device_make(&d);
        fws_agent_power cut = {0, k, 0};
        fws_agent_io_power(&cut, &io);
        fws_err err = lifecycle(&d, &io);
        assert_true(cut.cut); /* every k up to the total is reached */
        assert_int_not_equal(err, FWS_OK);
        check_boots(&d);
        assert_int_equal(lifecycle(&d, NULL), FWS_OK);
        check_settled(&d, &o);
        device_free(&d);
    }
    printf("power loss: %llu cut points exercised: %d ended confirmed on 1.1.0, %d rolled back "
           "to 1.0.0 (cut during the trial boot)\n",
           (unsigned long long)total, o.confirmed - 1, o.rolled_back);
}

int main(void)
{
    /* A child or peer that hangs up early is the code's to handle, not a fatal signal. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cut_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
