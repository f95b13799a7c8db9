/* The agent's state machine, file slots, verify-before-activate installs, trial boots,
 * health checks, rollbacks, the counter and the report queue. */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_agent_util.h"

/* ---- the transition table ------------------------------------------------------------------ */

static void transitions(void **state)
{
    (void)state;
    fws_agent_state next;
    assert_int_equal(fws_agent_transition(FWS_AGENT_IDLE, FWS_EV_START, &next), FWS_OK);
    assert_int_equal(next, FWS_AGENT_DOWNLOADING);
    assert_int_equal(fws_agent_transition(FWS_AGENT_TRIAL_BOOT, FWS_EV_HEALTH_FAIL, &next), FWS_OK);
    assert_int_equal(next, FWS_AGENT_ROLLED_BACK);
    assert_int_equal(fws_agent_transition(FWS_AGENT_INSTALLED_PENDING, FWS_EV_FELL_BACK, &next),
                     FWS_OK);
    assert_int_equal(next, FWS_AGENT_ROLLED_BACK);
    /* No way from idle to confirmed, or to a trial without verification. */
    assert_int_equal(fws_agent_transition(FWS_AGENT_IDLE, FWS_EV_HEALTH_OK, &next), FWS_ERR_STATE);
    assert_int_equal(fws_agent_transition(FWS_AGENT_DOWNLOADING, FWS_EV_VERIFIED, &next),
                     FWS_ERR_STATE);
    assert_int_equal(fws_agent_transition(FWS_AGENT_DOWNLOADING, FWS_EV_BOOTED_NEW, &next),
                     FWS_ERR_STATE);
    /* Every state has a name that parses back. */
    for (int s = 0; s < FWS_AGENT_STATE_COUNT; s++) {
        fws_agent_state back;
        assert_int_equal(fws_agent_state_parse(fws_agent_state_name((fws_agent_state)s), &back),
                         FWS_OK);
        assert_int_equal(back, s);
    }
    assert_int_equal(fws_agent_state_parse("finished", &next), FWS_ERR_FORMAT);
}

/* ---- the bootloader environment ------------------------------------------------------------- */

static void file_slots_marks_and_boot(void **state)
{
    (void)state;
    device d;
    device_make(&d);
    fws_slot_backend *b = NULL;
    fws_slot_config sc = {"file", d.slots, NULL, NULL, NULL, NULL};
    assert_int_equal(fws_slot_open(&sc, &b, NULL), FWS_OK);
    fws_boot_state bs;
    assert_int_equal(fws_slot_read(b, &bs, NULL), FWS_OK);
    assert_int_equal(bs.order[0], 0);
    assert_int_equal(bs.order[1], -1);
    assert_int_equal(bs.left[0], FWS_SLOT_TRIES);
    assert_int_equal(bs.booted, 0);

    assert_int_equal(fws_slot_mark_trial(b, 1, NULL), FWS_OK);
    assert_int_equal(fws_slot_read(b, &bs, NULL), FWS_OK);
    assert_int_equal(bs.order[0], 1);
    assert_int_equal(bs.order[1], 0);
    assert_int_equal(bs.left[1], 1);

    /* The trial has one try: the first boot takes B, the next one falls back to A. */
    int booted = -1;
    assert_int_equal(fws_slot_simulate_boot(b, NULL, NULL, &booted, NULL), FWS_OK);
    assert_int_equal(booted, 1);
    assert_int_equal(fws_slot_simulate_boot(b, NULL, NULL, &booted, NULL), FWS_OK);
    assert_int_equal(booted, 0);

    assert_int_equal(fws_slot_mark_bad(b, 1, NULL), FWS_OK);
    assert_int_equal(fws_slot_read(b, &bs, NULL), FWS_OK);
    assert_int_equal(bs.order[0], 0);
    assert_int_equal(bs.order[1], -1);
    assert_int_equal(bs.left[1], 0);

    /* A slot whose image does not come up is skipped, as a bootloader's watchdog would. */
    d.broken_v2 = 1;
    assert_int_equal(fws_slot_mark_good(b, 0, NULL), FWS_OK);
    assert_int_equal(fws_slot_simulate_boot(b, device_boots, &d, &booted, NULL), FWS_OK);
    assert_int_equal(booted, 0);

    char path[PATH_MAX];
    assert_int_equal(fws_slot_image_path(b, 1, path, sizeof(path), NULL), FWS_OK);
    assert_non_null(strstr(path, "slot-B.img"));
    assert_int_equal(fws_slot_image_path(b, 2, path, sizeof(path), NULL), FWS_ERR_ARG);
    fws_slot_close(b);

    fws_errbuf eb = {{0}};
    sc.kind = "lilo";
    assert_int_equal(fws_slot_open(&sc, &b, &eb), FWS_ERR_ARG);
    assert_non_null(strstr(eb.msg, "lilo"));
    device_free(&d);
}

static void bad_environment(void **state)
{
    (void)state;
    device d;
    device_make(&d);
    char path[700];
    snprintf(path, sizeof(path), "%s/boot.env", d.slots);
    const char *bad = "BOOT_ORDER=A C\nBOOT_A_LEFT=3\n";
    assert_int_equal(fws_file_write_atomic(path, bad, strlen(bad), 0644, 1, NULL), FWS_OK);
    fws_slot_backend *b = NULL;
    fws_slot_config sc = {"file", d.slots, NULL, NULL, NULL, NULL};
    assert_int_equal(fws_slot_open(&sc, &b, NULL), FWS_OK);
    fws_boot_state bs;
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_slot_read(b, &bs, &eb), FWS_ERR_FORMAT);
    assert_non_null(strstr(eb.msg, "BOOT_ORDER"));
    const char *tries = "BOOT_ORDER=A\nBOOT_A_LEFT=-1\n";
    assert_int_equal(fws_file_write_atomic(path, tries, strlen(tries), 0644, 1, NULL), FWS_OK);
    assert_int_equal(fws_slot_read(b, &bs, NULL), FWS_ERR_FORMAT);
    fws_slot_close(b);
    device_free(&d);
}

/* ---- installs -------------------------------------------------------------------------------- */

static void status_of(fws_agent *a, fws_agent_status *st)
{
    fws_agent_get_status(a, st);
}

/* Install, reboot into the trial, health check, confirm. */
static void install_confirm(void **state)
{
    (void)state;
    device d;
    device_make(&d);
    fws_slot_backend *b = NULL;
    fws_agent *a = NULL;
    fws_errbuf eb = {{0}};
    assert_int_equal(device_open(&d, NULL, "true", &b, &a, &eb), FWS_OK);
    fws_agent_target t;
    device_target(&d, &t);
    assert_int_equal(fws_agent_install(a, &t, &fws_agent_file_source, &eb), FWS_OK);
    fws_agent_status st;
    status_of(a, &st);
    assert_int_equal(st.state, FWS_AGENT_INSTALLED_PENDING);
    assert_int_equal(st.target_slot, 1);
    uint64_t counter = 9;
    assert_int_equal(fws_agent_counter(a, &counter, NULL), FWS_OK);
    assert_int_equal(counter, 0); /* not before confirmation */

    /* Before the reboot, recovery waits and asks for it. */
    int reboot = 0;
    assert_int_equal(fws_agent_recover(a, &reboot, &eb), FWS_OK);
    assert_int_equal(reboot, 1);
    status_of(a, &st);
    assert_int_equal(st.state, FWS_AGENT_INSTALLED_PENDING);
    fws_agent_close(a);
    fws_slot_close(b);

    int booted = -1;
    assert_int_equal(device_boot(&d, &booted), FWS_OK);
    assert_int_equal(booted, 1);
    assert_int_equal(device_open(&d, NULL, "test \"$FWSEAL_SLOT\" = B", &b, &a, &eb), FWS_OK);
    assert_int_equal(fws_agent_recover(a, &reboot, &eb), FWS_OK);
    assert_int_equal(reboot, 0);
    status_of(a, &st);
    assert_int_equal(st.state, FWS_AGENT_IDLE);
    assert_string_equal(st.installed_version, "1.1.0");
    assert_int_equal(st.active_slot, 1);
    assert_memory_equal(st.installed_sha256, d.v2_sha, FWS_SHA256_LEN);
    assert_int_equal(fws_agent_counter(a, &counter, NULL), FWS_OK);
    assert_int_equal(counter, V2_COUNTER);
    assert_int_equal(count_reports(&d, "install"), 1);

    /* The confirmed slot keeps booting, with its tries restored after each boot. */
    fws_agent_close(a);
    fws_slot_close(b);
    assert_int_equal(device_boot(&d, &booted), FWS_OK);
    assert_int_equal(booted, 1);
    assert_int_equal(device_open(&d, NULL, NULL, &b, &a, &eb), FWS_OK);
    assert_int_equal(fws_agent_recover(a, &reboot, &eb), FWS_OK);
    fws_boot_state bs;
    assert_int_equal(fws_slot_read(b, &bs, NULL), FWS_OK);
    assert_int_equal(bs.order[0], 1);
    assert_int_equal(bs.left[1], FWS_SLOT_TRIES);
    fws_agent_close(a);
    fws_slot_close(b);
    device_free(&d);
}

/* A refusal: state back to idle, reason set, report queued, active slot and boot order as they
 * were. */
static void expect_refused(device *d, fws_agent *a, fws_slot_backend *b, const fws_agent_target *t,
                           fws_err want, const char *reason_part)
{
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_agent_install(a, t, &fws_agent_file_source, &eb), want);
    fws_agent_status st;
    status_of(a, &st);
    assert_int_equal(st.state, FWS_AGENT_IDLE);
    assert_int_equal(st.active_slot, 0);
    assert_non_null(strstr(st.reason, reason_part));
    fws_boot_state bs;
    assert_int_equal(fws_slot_read(b, &bs, NULL), FWS_OK);
    assert_int_equal(bs.order[0], 0);
    assert_int_equal(bs.order[1], -1);
    char path[PATH_MAX];
    assert_int_equal(fws_slot_image_path(b, 0, path, sizeof(path), NULL), FWS_OK);
    assert_true(file_equals(path, d->v1, V1_LEN));
    int booted = -1, reboot = 1;
    assert_int_equal(device_boot(d, &booted), FWS_OK);
    assert_int_equal(booted, 0);
    assert_int_equal(fws_agent_recover(a, &reboot, NULL), FWS_OK); /* restores A's tries */
    assert_int_equal(reboot, 0);
}

static void refusals(void **state)
{
    (void)state;
    device d;
    device_make(&d);
    fws_slot_backend *b = NULL;
    fws_agent *a = NULL;
    assert_int_equal(device_open(&d, NULL, NULL, &b, &a, NULL), FWS_OK);
    fws_agent_target t;

    /* A tampered image: one flipped bit. */
    device_target(&d, &t);
    d.v2[1234] ^= 0x10;
    assert_int_equal(fws_file_write_atomic(d.v2_path, d.v2, V2_LEN, 0644, 1, NULL), FWS_OK);
    expect_refused(&d, a, b, &t, FWS_ERR_DIGEST, "SHA-256");
    d.v2[1234] ^= 0x10;
    assert_int_equal(fws_file_write_atomic(d.v2_path, d.v2, V2_LEN, 0644, 1, NULL), FWS_OK);

    /* Endless data: the server sends more than the signed length. */
    device_target(&d, &t);
    t.length = V2_LEN - 1000;
    expect_refused(&d, a, b, &t, FWS_ERR_LENGTH, "ength");

    /* Too few bytes. */
    device_target(&d, &t);
    t.length = V2_LEN + 1;
    expect_refused(&d, a, b, &t, FWS_ERR_LENGTH, "fewer bytes");

    /* Nothing to download. */
    device_target(&d, &t);
    snprintf(t.url, sizeof(t.url), "%.600s/missing.img", d.root);
    expect_refused(&d, a, b, &t, FWS_ERR_NOT_FOUND, "missing.img");

    assert_int_equal(count_reports(&d, "verification-failure"), 4);
    uint64_t counter = 1;
    assert_int_equal(fws_agent_counter(a, &counter, NULL), FWS_OK);
    assert_int_equal(counter, 0);

    /* After all that, the right image still installs. */
    device_target(&d, &t);
    assert_int_equal(fws_agent_install(a, &t, &fws_agent_file_source, NULL), FWS_OK);
    fws_agent_close(a);
    fws_slot_close(b);
    device_free(&d);
}

static void health_check_fails(void **state)
{
    (void)state;
    device d;
    device_make(&d);
    fws_slot_backend *b = NULL;
    fws_agent *a = NULL;
    fws_agent_target t;
    device_target(&d, &t);
    assert_int_equal(device_open(&d, NULL, "exit 3", &b, &a, NULL), FWS_OK);
    assert_int_equal(fws_agent_install(a, &t, &fws_agent_file_source, NULL), FWS_OK);
    fws_agent_close(a);
    fws_slot_close(b);
    int booted = -1, reboot = 0;
    assert_int_equal(device_boot(&d, &booted), FWS_OK);
    assert_int_equal(booted, 1);
    assert_int_equal(device_open(&d, NULL, "exit 3", &b, &a, NULL), FWS_OK);
    assert_int_equal(fws_agent_recover(a, &reboot, NULL), FWS_OK);
    assert_int_equal(reboot, 1); /* running the failed image: reboot into the old one */
    fws_agent_status st;
    status_of(a, &st);
    assert_int_equal(st.state, FWS_AGENT_IDLE);
    assert_int_equal(st.active_slot, 0);
    assert_string_equal(st.installed_version, "1.0.0");
    assert_non_null(strstr(st.reason, "health check failed (exit status 3)"));
    fws_agent_close(a);
    fws_slot_close(b);
    assert_int_equal(device_boot(&d, &booted), FWS_OK);
    assert_int_equal(booted, 0);
    assert_int_equal(device_open(&d, NULL, "exit 3", &b, &a, NULL), FWS_OK);
    assert_int_equal(fws_agent_recover(a, &reboot, NULL), FWS_OK);
    assert_int_equal(reboot, 0);
    uint64_t counter = 1;
    assert_int_equal(fws_agent_counter(a, &counter, NULL), FWS_OK);
    assert_int_equal(counter, 0);
    assert_int_equal(count_reports(&d, "rollback"), 1);
    assert_int_equal(count_reports(&d, "install"), 0);
    fws_agent_close(a);
    fws_slot_close(b);
    device_free(&d);
}

/* The new image never comes up: the bootloader's try counter falls back to A. */
static void trial_boot_fails(void **state)
{
    (void)state;
    device d;
    device_make(&d);
    d.broken_v2 = 1;
    fws_slot_backend *b = NULL;
    fws_agent *a = NULL;
    fws_agent_target t;
    device_target(&d, &t);
    assert_int_equal(device_open(&d, NULL, NULL, &b, &a, NULL), FWS_OK);
    assert_int_equal(fws_agent_install(a, &t, &fws_agent_file_source, NULL), FWS_OK);
    fws_agent_close(a);
    fws_slot_close(b);
    int booted = -1, reboot = 0;
    assert_int_equal(device_boot(&d, &booted), FWS_OK);
    assert_int_equal(booted, 0);
    assert_int_equal(device_open(&d, NULL, NULL, &b, &a, NULL), FWS_OK);
    assert_int_equal(fws_agent_recover(a, &reboot, NULL), FWS_OK);
    fws_agent_status st;
    status_of(a, &st);
    assert_int_equal(st.state, FWS_AGENT_IDLE);
    assert_non_null(strstr(st.reason, "trial boot of slot B failed"));
    assert_int_equal(count_reports(&d, "rollback"), 1);
    fws_boot_state bs;
    assert_int_equal(fws_slot_read(b, &bs, NULL), FWS_OK);
    assert_int_equal(bs.order[0], 0);
    assert_int_equal(bs.order[1], -1);
    fws_agent_close(a);
    fws_slot_close(b);
    device_free(&d);
}

/* ---- reports ----------------------------------------------------------------------------------
 */

typedef struct sink_server {
    int up;
    size_t got;
    char ids[16][24];
    const char *refuse; /* a report ID the server refuses for good (a definitive 4xx) */
} sink_server;

static fws_err send_to(void *ctx, const char *id, const uint8_t *env, size_t len, fws_errbuf *eb)
{
    sink_server *s = ctx;
    (void)env;
    (void)len;
    if (!s->up)
        return fws_errf(eb, FWS_ERR_IO, "server down");
    if (s->refuse != NULL && strcmp(id, s->refuse) == 0)
        return fws_errf(eb, FWS_ERR_SCHEMA, "refused");
    snprintf(s->ids[s->got++ % 16], 24, "%s", id);
    return FWS_OK;
}

static void reports_wait_for_ack(void **state)
{
    (void)state;
    device d;
    device_make(&d);
    fws_slot_backend *b = NULL;
    fws_agent *a = NULL;
    assert_int_equal(device_open(&d, NULL, NULL, &b, &a, NULL), FWS_OK);
    fws_agent_target t;
    device_target(&d, &t);
    t.sha256[0] ^= 1;
    for (int i = 0; i < 3; i++)
        assert_int_equal(fws_agent_install(a, &t, &fws_agent_file_source, NULL), FWS_ERR_DIGEST);
    size_t n = 0, sent = 0;
    assert_int_equal(fws_agent_reports_pending(a, &n, NULL), FWS_OK);
    assert_int_equal(n, 3);
    sink_server s;
    memset(&s, 0, sizeof(s));
    assert_int_equal(fws_agent_reports_flush(a, send_to, &s, &sent, NULL), FWS_ERR_IO);
    assert_int_equal(sent, 0);
    assert_int_equal(fws_agent_reports_pending(a, &n, NULL), FWS_OK);
    assert_int_equal(n, 3);
    /* A restart of the agent loses nothing. */
    fws_agent_close(a);
    fws_slot_close(b);
    assert_int_equal(device_open(&d, NULL, NULL, &b, &a, NULL), FWS_OK);
    s.up = 1;
    assert_int_equal(fws_agent_reports_flush(a, send_to, &s, &sent, NULL), FWS_OK);
    assert_int_equal(sent, 3);
    assert_string_equal(s.ids[0], "0000000000000001");
    assert_string_equal(s.ids[2], "0000000000000003");
    assert_int_equal(fws_agent_reports_pending(a, &n, NULL), FWS_OK);
    assert_int_equal(n, 0);
    fws_agent_close(a);
    fws_slot_close(b);
    device_free(&d);
}

/* A report the server refuses for good is set aside and does not block the ones behind it. */
static void reports_refused_set_aside(void **state)
{
    (void)state;
    device d;
    device_make(&d);
    fws_slot_backend *b = NULL;
    fws_agent *a = NULL;
    assert_int_equal(device_open(&d, NULL, NULL, &b, &a, NULL), FWS_OK);
    fws_agent_target t;
    device_target(&d, &t);
    t.sha256[0] ^= 1;
    for (int i = 0; i < 3; i++)
        assert_int_equal(fws_agent_install(a, &t, &fws_agent_file_source, NULL), FWS_ERR_DIGEST);
    sink_server s;
    memset(&s, 0, sizeof(s));
    s.up = 1;
    s.refuse = "0000000000000001";
    size_t n = 0, sent = 0;
    assert_int_equal(fws_agent_reports_flush(a, send_to, &s, &sent, NULL), FWS_OK);
    assert_int_equal(sent, 2);
    assert_string_equal(s.ids[0], "0000000000000002");
    assert_int_equal(fws_agent_reports_pending(a, &n, NULL), FWS_OK);
    assert_int_equal(n, 0);
    char path[700];
    snprintf(path, sizeof(path), "%s/reports-refused", d.state);
    DIR *dir = opendir(path);
    assert_non_null(dir);
    size_t kept = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL;)
        kept += e->d_name[0] != '.';
    closedir(dir);
    assert_int_equal(kept, 1);
    fws_agent_close(a);
    fws_slot_close(b);
    device_free(&d);
}

static void report_signature(void **state)
{
    (void)state;
    device d;
    device_make(&d);
    fws_slot_backend *b = NULL;
    fws_agent *a = NULL;
    assert_int_equal(device_open(&d, NULL, NULL, &b, &a, NULL), FWS_OK);
    fws_agent_target t;
    device_target(&d, &t);
    t.length = 10;
    assert_int_equal(fws_agent_install(a, &t, &fws_agent_file_source, NULL), FWS_ERR_LENGTH);
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/reports/0000000000000001.json", d.state);
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(fws_file_read(path, 1 << 20, &data, &len, NULL), FWS_OK);
    char *payload = NULL;
    size_t plen = 0;
    assert_int_equal(fws_report_verify(data, len, d.pub, &payload, &plen, NULL), FWS_OK);
    assert_non_null(strstr(payload, "\"fromVersion\":\"1.0.0\""));
    assert_non_null(strstr(payload, "\"toVersion\":\"1.1.0\""));
    assert_non_null(strstr(payload, "\"device\":\"dev-0001\""));
    assert_non_null(strstr(payload, "\"time\":\"2027-01-15T"));
    char hex[65];
    fws_hex_encode(d.v2_sha, 32, hex);
    assert_non_null(strstr(payload, hex));
    free(payload);
    /* Another key does not verify it. */
    fws_key *other = NULL;
    assert_int_equal(fws_key_generate(FWS_KEY_ED25519, &other), FWS_OK);
    assert_int_not_equal(fws_report_verify(data, len, other, &payload, &plen, NULL), FWS_OK);
    fws_key_free(other);
    free(data);
    fws_agent_close(a);
    fws_slot_close(b);
    device_free(&d);
}

/* ---- the state file -----------------------------------------------------------------------------
 */

static void state_file_roundtrip_and_damage(void **state)
{
    (void)state;
    device d;
    device_make(&d);
    fws_slot_backend *b = NULL;
    fws_agent *a = NULL;
    assert_int_equal(device_open(&d, NULL, NULL, &b, &a, NULL), FWS_OK);
    fws_agent_target t;
    device_target(&d, &t);
    assert_int_equal(fws_agent_install(a, &t, &fws_agent_file_source, NULL), FWS_OK);
    fws_agent_status mem, disk;
    status_of(a, &mem);
    assert_int_equal(fws_agent_status_read(d.state, &disk, NULL), FWS_OK);
    assert_int_equal(disk.state, mem.state);
    assert_string_equal(disk.target.version, "1.1.0");
    assert_memory_equal(disk.target.sha256, d.v2_sha, 32);
    assert_int_equal(disk.target_slot, 1);
    assert_int_equal(disk.written, V2_LEN);
    fws_agent_close(a);
    fws_slot_close(b);

    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/state.json", d.state);
    const char *bad = "{\"format\":\"fwseal-agent-state/v1\",\"state\":\"flying\"}";
    assert_int_equal(fws_file_write_atomic(path, bad, strlen(bad), 0600, 1, NULL), FWS_OK);
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_agent_status_read(d.state, &disk, &eb), FWS_ERR_SCHEMA);
    assert_non_null(strstr(eb.msg, "flying"));
    device_free(&d);
}

int main(void)
{
    /* A child or peer that hangs up early is the code's to handle, not a fatal signal. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transitions),
        cmocka_unit_test(file_slots_marks_and_boot),
        cmocka_unit_test(bad_environment),
        cmocka_unit_test(install_confirm),
        cmocka_unit_test(refusals),
        cmocka_unit_test(health_check_fails),
        cmocka_unit_test(trial_boot_fails),
        cmocka_unit_test(reports_wait_for_ack),
        cmocka_unit_test(reports_refused_set_aside),
        cmocka_unit_test(report_signature),
        cmocka_unit_test(state_file_roundtrip_and_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
