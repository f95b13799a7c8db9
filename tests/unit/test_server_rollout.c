/* The rollout controller on a real store (SQLite in a temporary directory): releases imported
 * from releases.json with their quarantine period, rollouts that wait, start, advance stage by
 * stage, complete, pause themselves on failures (with an alert), resume, get cancelled by an
 * operator or by a revoked release; and device quarantine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "fwseal/fleet.h"
#include "fwseal/ledger.h"
#include "fwseal/tuf.h"
#include "fwseal/util.h"

#define NDEV 40
#define T0 1800000000

typedef struct world {
    char dir[64];
    char db[128];
    fws_store *s;
    fws_fleet_config cfg;
} world;

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(fws_file_write_atomic(path, text, strlen(text), 0644, 1, NULL), FWS_OK);
}

/* releases.json with hub 1.1.0 (published at T0) and hub 1.0.1; revoked1 marks 1.1.0 revoked */
static void releases(world *w, int revoked1)
{
    char text[2048];
    static const char sha[] = "aa00000000000000000000000000000000000000000000000000000000000000";
    snprintf(text, sizeof(text),
             "{\"format\":\"fwseal-releases/v1\",\"releases\":["
             "{\"product\":\"hub\",\"version\":\"1.1.0\",\"target\":\"hub/1.1.0/fw.bin\","
             "\"length\":300,\"sha256\":\"%s\",\"securityCounter\":1,\"hardware\":[\"hub-v2\"],"
             "\"publishedAt\":\"2027-01-15T08:00:00Z\"%s},"
             "{\"product\":\"hub\",\"version\":\"1.0.1\",\"target\":\"hub/1.0.1/fw.bin\","
             "\"length\":300,\"sha256\":\"bb%s\",\"securityCounter\":1,\"hardware\":[\"hub-v2\"],"
             "\"publishedAt\":\"2027-01-15T09:00:00Z\"}]}",
             sha, revoked1 ? ",\"revoked\":{\"at\":\"2027-01-16T00:00:00Z\",\"reason\":\"x\"}" : "",
             sha + 2);
    write_file(w->dir, "releases.json", text);
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof(*w));
    snprintf(w->dir, sizeof(w->dir), "/tmp/fws-rollout-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    snprintf(w->db, sizeof(w->db), "%s/fwseal.sqlite", w->dir);
    assert_int_equal(fws_store_open(w->db, &w->s, NULL), FWS_OK);
    write_file(w->dir, "fleet.json",
               "{\"format\":\"fwseal-fleet/v1\",\"releaseQuarantine\":\"2h\",\"recovery\":"
               "[\"hub/1.0.1\"]}");
    assert_int_equal(fws_fleet_config_load(w->dir, &w->cfg, NULL), FWS_OK);
    releases(w, 0);
    for (int i = 0; i < NDEV; i++) {
        fws_store_device d;
        memset(&d, 0, sizeof(d));
        snprintf(d.id, sizeof(d.id), "dev%02d", i);
        snprintf(d.environment, sizeof(d.environment), "prod");
        snprintf(d.model, sizeof(d.model), "hub-v2");
        d.status = FWS_STORE_DEV_ACTIVE;
        d.created_at = d.updated_at = T0;
        assert_int_equal(fws_store_device_put(w->s, &d, NULL, NULL), FWS_OK);
    }
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    char cmd[128];
    fws_store_close(w->s);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", w->dir);
    assert_int_equal(system(cmd), 0);
    free(w);
    return 0;
}

static int64_t published(void)
{
    int64_t t = 0;
    assert_int_equal(fws_tuf_time_parse("2027-01-15T08:00:00Z", &t), FWS_OK);
    return t;
}

static fws_store_rollout get(world *w, int64_t id)
{
    fws_store_rollout r;
    assert_int_equal(fws_store_rollout_get(w->s, id, &r, NULL, NULL), FWS_OK);
    return r;
}

static int64_t create(world *w, const uint32_t *pct, size_t n, uint32_t fail_pct)
{
    int64_t id = 0;
    fws_errbuf eb = {{0}};
    fws_fleet_rollout_req q = {.release = "hub/1.1.0",
                               .percent = pct,
                               .n_stages = n,
                               .success_threshold = 100,
                               .failure_threshold = fail_pct,
                               .quarantine = -1};
    assert_int_equal(fws_fleet_sync_releases(w->s, w->dir, &w->cfg, NULL, &eb), FWS_OK);
    assert_int_equal(fws_fleet_rollout_create(w->s, &q, T0, &id, &eb), FWS_OK);
    return id;
}

static void tick(world *w, int64_t now)
{
    fws_errbuf eb = {{0}};
    fws_err err = fws_fleet_rollouts_tick(w->s, w->dir, now, NULL, &eb);
    if (err != FWS_OK)
        fail_msg("tick: %s", eb.msg);
}

/* Assigns every device of the rollout's current stage and records outcome for it. */
static size_t settle_stage(world *w, int64_t id, uint32_t stage, fws_store_outcome outcome,
                           size_t max, int64_t now)
{
    fws_store_rollout r = get(w, id);
    size_t n = 0;
    char dev[16];
    for (int i = 0; i < NDEV && n < max; i++) {
        snprintf(dev, sizeof(dev), "dev%02d", i);
        if (fws_rollout_stage_of(&r, dev) != (int)stage)
            continue;
        fws_store_member m;
        if (fws_store_member_get(w->s, id, dev, &m, NULL) == FWS_OK &&
            m.outcome != FWS_STORE_OUTCOME_PENDING)
            continue;
        if (fws_store_member_get(w->s, id, dev, &m, NULL) != FWS_OK)
            assert_int_equal(fws_store_rollout_assign(w->s, id, dev, stage, now, NULL, NULL),
                             FWS_OK);
        assert_int_equal(fws_store_rollout_outcome(w->s, id, dev, outcome, now, NULL), FWS_OK);
        n++;
    }
    return n;
}

static void test_import(void **state)
{
    world *w = *state;
    size_t added = 0;
    fws_store_release r;
    assert_int_equal(fws_fleet_sync_releases(w->s, w->dir, &w->cfg, &added, NULL), FWS_OK);
    assert_int_equal(added, 2);
    assert_int_equal(fws_store_release_find(w->s, "hub/1.1.0/fw.bin", &r, NULL), FWS_OK);
    assert_int_equal(r.created_at, published());
    assert_int_equal(r.quarantine_until, published() + 7200);
    assert_int_equal(r.recovery, 0);
    assert_int_equal(fws_store_release_find(w->s, "hub/1.0.1/fw.bin", &r, NULL), FWS_OK);
    assert_int_equal(r.recovery, 1);
    /* importing again adds nothing; a revocation in the index reaches the store */
    assert_int_equal(fws_fleet_sync_releases(w->s, w->dir, &w->cfg, &added, NULL), FWS_OK);
    assert_int_equal(added, 0);
    releases(w, 1);
    assert_int_equal(fws_fleet_sync_releases(w->s, w->dir, &w->cfg, &added, NULL), FWS_OK);
    assert_int_equal(fws_store_release_find(w->s, "hub/1.1.0/fw.bin", &r, NULL), FWS_OK);
    assert_int_equal(r.revoked, 1);
    /* a revoked release cannot be rolled out */
    uint32_t pct[1] = {100};
    fws_errbuf eb = {{0}};
    int64_t id = 0;
    fws_fleet_rollout_req q = {
        .release = "hub/1.1.0", .percent = pct, .n_stages = 1, .quarantine = -1};
    assert_int_equal(fws_fleet_rollout_create(w->s, &q, T0, &id, &eb), FWS_ERR_STATE);
    assert_non_null(strstr(eb.msg, "revoked"));
}

static void test_config(void **state)
{
    world *w = *state;
    fws_fleet_config c;
    fws_errbuf eb = {{0}};
    assert_int_equal(w->cfg.release_quarantine, 7200);
    assert_int_equal(w->cfg.n_recovery, 1);
    write_file(w->dir, "fleet.json", "{\"releaseQuarantine\":\"soon\"}");
    assert_int_equal(fws_fleet_config_load(w->dir, &c, &eb), FWS_ERR_SCHEMA);
    assert_non_null(strstr(eb.msg, "releaseQuarantine"));
    write_file(w->dir, "fleet.json", "{\"failureThreshold\":101}");
    assert_int_equal(fws_fleet_config_load(w->dir, &c, NULL), FWS_ERR_SCHEMA);
    write_file(w->dir, "fleet.json", "{\"colour\":1}");
    assert_int_equal(fws_fleet_config_load(w->dir, &c, NULL), FWS_ERR_SCHEMA);
    char path[128];
    snprintf(path, sizeof(path), "%s/fleet.json", w->dir);
    unlink(path);
    assert_int_equal(fws_fleet_config_load(w->dir, &c, NULL), FWS_OK);
    assert_int_equal(c.release_quarantine, 3600);
    assert_int_equal(c.success_threshold, 95);
    assert_int_equal(c.failure_threshold, 5);
}

static void test_stages(void **state)
{
    world *w = *state;
    const uint32_t pct[3] = {10, 50, 100};
    int64_t id = create(w, pct, 3, 50);
    int64_t open_at = published() + 7200;
    tick(w, open_at - 1); /* the release's quarantine period is not over */
    assert_int_equal(get(w, id).state, FWS_STORE_ROLLOUT_PENDING);
    tick(w, open_at);
    assert_int_equal(get(w, id).state, FWS_STORE_ROLLOUT_RUNNING);
    for (uint32_t st = 0; st < 3; st++) {
        fws_store_rollout r = get(w, id);
        assert_int_equal(r.current_stage, st);
        assert_int_equal(r.state, FWS_STORE_ROLLOUT_RUNNING);
        /* all but one device of the stage succeed: not enough at a 100% threshold */
        size_t n = 0;
        for (int i = 0; i < NDEV; i++) {
            char dev[16];
            snprintf(dev, sizeof(dev), "dev%02d", i);
            n += fws_rollout_stage_of(&r, dev) == (int)st;
        }
        if (n > 1) {
            settle_stage(w, id, st, FWS_STORE_OUTCOME_SUCCEEDED, n - 1, open_at + 10);
            tick(w, open_at + 20);
            assert_int_equal(get(w, id).current_stage, st);
            assert_int_equal(get(w, id).state, FWS_STORE_ROLLOUT_RUNNING);
        }
        settle_stage(w, id, st, FWS_STORE_OUTCOME_SUCCEEDED, NDEV, open_at + 30);
        tick(w, open_at + 40);
    }
    fws_store_rollout r = get(w, id);
    assert_int_equal(r.state, FWS_STORE_ROLLOUT_COMPLETED);
    assert_int_equal(r.stages[0].succeeded + r.stages[1].succeeded + r.stages[2].succeeded, NDEV);
    /* a completed rollout takes no more operator actions */
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_fleet_rollout_act(w->s, id, FWS_ROLLOUT_EV_PAUSE, open_at + 50, &eb),
                     FWS_ERR_STATE);
    assert_non_null(strstr(eb.msg, "is completed: cannot pause"));
}

typedef struct alert_count {
    const char *kind;
    size_t n;
} alert_count;

static fws_err count_alert(void *ctx, const fws_store_alert *a)
{
    alert_count *c = ctx;
    c->n += strcmp(a->kind, c->kind) == 0;
    return FWS_OK;
}

static size_t alerts(world *w, const char *kind)
{
    alert_count c = {kind, 0};
    fws_store_page page = {.after = 0, .limit = 100};
    assert_int_equal(fws_store_alert_list(w->s, 0, &page, count_alert, &c, NULL), FWS_OK);
    return c.n;
}

static void test_auto_pause(void **state)
{
    world *w = *state;
    const uint32_t pct[1] = {100};
    int64_t id = create(w, pct, 1, 10); /* more than 4 of 40 failing pauses it */
    int64_t open_at = published() + 7200;
    tick(w, open_at);
    assert_int_equal(get(w, id).state, FWS_STORE_ROLLOUT_RUNNING);
    settle_stage(w, id, 0, FWS_STORE_OUTCOME_FAILED, 4, open_at + 10);
    tick(w, open_at + 11);
    assert_int_equal(get(w, id).state, FWS_STORE_ROLLOUT_RUNNING);
    settle_stage(w, id, 0, FWS_STORE_OUTCOME_FAILED, 1, open_at + 12);
    tick(w, open_at + 13);
    assert_int_equal(get(w, id).state, FWS_STORE_ROLLOUT_PAUSED);
    assert_int_equal(alerts(w, "rollout-failure-threshold"), 1);
    tick(w, open_at + 14); /* paused: nothing more happens, no second alert */
    assert_int_equal(alerts(w, "rollout-failure-threshold"), 1);
    /* an operator resumes: the failures so far are forgiven, a new one pauses again */
    assert_int_equal(fws_fleet_rollout_act(w->s, id, FWS_ROLLOUT_EV_RESUME, open_at + 20, NULL),
                     FWS_OK);
    tick(w, open_at + 21);
    assert_int_equal(get(w, id).state, FWS_STORE_ROLLOUT_RUNNING);
    settle_stage(w, id, 0, FWS_STORE_OUTCOME_FAILED, 1, open_at + 30);
    tick(w, open_at + 31);
    assert_int_equal(get(w, id).state, FWS_STORE_ROLLOUT_PAUSED);
    assert_int_equal(alerts(w, "rollout-failure-threshold"), 2);
    /* cancel; then nothing moves it */
    assert_int_equal(fws_fleet_rollout_act(w->s, id, FWS_ROLLOUT_EV_CANCEL, open_at + 40, NULL),
                     FWS_OK);
    assert_int_equal(get(w, id).state, FWS_STORE_ROLLOUT_CANCELLED);
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_fleet_rollout_act(w->s, id, FWS_ROLLOUT_EV_RESUME, open_at + 41, &eb),
                     FWS_ERR_STATE);
    assert_non_null(strstr(eb.msg, "is cancelled: cannot resume"));
    assert_int_equal(fws_fleet_rollout_act(w->s, id, FWS_ROLLOUT_EV_ADVANCE, open_at + 41, NULL),
                     FWS_ERR_ARG);
}

static void test_operator_and_revoke(void **state)
{
    world *w = *state;
    const uint32_t pct[2] = {50, 100};
    int64_t id = create(w, pct, 2, 50);
    int64_t open_at = published() + 7200;
    fws_errbuf eb = {{0}};
    /* a pending rollout may be cancelled but not paused or resumed */
    assert_int_equal(fws_fleet_rollout_act(w->s, id, FWS_ROLLOUT_EV_PAUSE, T0, &eb), FWS_ERR_STATE);
    assert_non_null(strstr(eb.msg, "is pending: cannot pause"));
    tick(w, open_at);
    /* stage 1 is done, but an operator paused the rollout first: it does not advance */
    settle_stage(w, id, 0, FWS_STORE_OUTCOME_SUCCEEDED, NDEV, open_at + 1);
    assert_int_equal(fws_fleet_rollout_act(w->s, id, FWS_ROLLOUT_EV_PAUSE, open_at + 2, NULL),
                     FWS_OK);
    tick(w, open_at + 3);
    assert_int_equal(get(w, id).state, FWS_STORE_ROLLOUT_PAUSED);
    assert_int_equal(get(w, id).current_stage, 0);
    /* nobody joins a paused rollout */
    assert_int_equal(fws_store_rollout_assign(w->s, id, "dev39", 0, open_at + 3, NULL, NULL),
                     FWS_ERR_STATE);
    assert_int_equal(fws_fleet_rollout_act(w->s, id, FWS_ROLLOUT_EV_RESUME, open_at + 4, NULL),
                     FWS_OK);
    tick(w, open_at + 5);
    assert_int_equal(get(w, id).current_stage, 1);
    /* the release is revoked: the rollout is cancelled, with an alert */
    releases(w, 1);
    assert_int_equal(fws_fleet_sync_releases(w->s, w->dir, &w->cfg, NULL, NULL), FWS_OK);
    tick(w, open_at + 6);
    assert_int_equal(get(w, id).state, FWS_STORE_ROLLOUT_CANCELLED);
    assert_int_equal(alerts(w, "rollout-cancelled"), 1);
    /* bad requests */
    const uint32_t bad[2] = {50, 50};
    fws_fleet_rollout_req q = {
        .release = "hub/1.0.1", .percent = bad, .n_stages = 2, .quarantine = -1};
    assert_int_equal(fws_fleet_rollout_create(w->s, &q, T0, &id, &eb), FWS_ERR_ARG);
    q.percent = pct;
    q.release = "hub/7.7.7";
    fws_errbuf_clear(&eb);
    assert_int_equal(fws_fleet_rollout_create(w->s, &q, T0, &id, &eb), FWS_ERR_NOT_FOUND);
    assert_string_equal(eb.msg, "release hub/7.7.7 does not exist");
    q.release = "hub/1.0.1/fw.bin"; /* by target path; with a selector */
    q.selector = "{\"regions\":[\"eu\"]}";
    q.quarantine = 0; /* the operator lifts the release's quarantine */
    assert_int_equal(fws_fleet_rollout_create(w->s, &q, T0, &id, NULL), FWS_OK);
    tick(w, published() + 3600);
    assert_int_equal(get(w, id).state, FWS_STORE_ROLLOUT_RUNNING);
    /* no device is in region eu: the rollout completes without anyone */
    tick(w, published() + 3601);
    tick(w, published() + 3602);
    assert_int_equal(get(w, id).state, FWS_STORE_ROLLOUT_COMPLETED);
}

static void test_quarantine_device(void **state)
{
    world *w = *state;
    char *rec = NULL;
    size_t len = 0;
    fws_store_device d;
    fws_errbuf eb = {{0}};
    assert_int_equal(
        fws_fleet_device_quarantine(w->s, "dev03", 1, "tamper alarm", T0, &rec, &len, &eb), FWS_OK);
    assert_non_null(strstr(rec, "\"action\":\"begin\""));
    assert_non_null(strstr(rec, "\"reason\":\"tamper alarm\""));
    assert_non_null(strstr(rec, "\"type\":\"quarantine\""));
    char *canon = NULL;
    size_t clen = 0;
    assert_int_equal(fws_record_validate((const uint8_t *)rec, len, &canon, &clen, NULL, NULL),
                     FWS_OK);
    free(canon);
    free(rec);
    assert_int_equal(fws_store_device_get(w->s, "dev03", &d, NULL), FWS_OK);
    assert_int_equal(d.status, FWS_STORE_DEV_QUARANTINED);
    /* a quarantined device cannot join a rollout */
    const uint32_t pct[1] = {100};
    int64_t id = create(w, pct, 1, 50);
    tick(w, published() + 7200);
    assert_int_equal(fws_store_rollout_assign(w->s, id, "dev03", 0, T0, NULL, NULL), FWS_ERR_STATE);
    assert_int_equal(fws_fleet_device_quarantine(w->s, "dev03", 0, NULL, T0, &rec, &len, NULL),
                     FWS_OK);
    assert_non_null(strstr(rec, "\"action\":\"end\""));
    free(rec);
    assert_int_equal(fws_store_device_get(w->s, "dev03", &d, NULL), FWS_OK);
    assert_int_equal(d.status, FWS_STORE_DEV_ACTIVE);
    assert_int_equal(fws_fleet_device_quarantine(w->s, "nobody", 1, NULL, T0, &rec, &len, NULL),
                     FWS_ERR_NOT_FOUND);
    assert_int_equal(fws_store_device_set_status(w->s, "dev04", FWS_STORE_DEV_REVOKED, T0, NULL),
                     FWS_OK);
    assert_int_equal(fws_fleet_device_quarantine(w->s, "dev04", 1, NULL, T0, &rec, &len, NULL),
                     FWS_ERR_STATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_pause, setup, teardown),
        cmocka_unit_test_setup_teardown(test_operator_and_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quarantine_device, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
