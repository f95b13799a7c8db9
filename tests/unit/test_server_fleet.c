/* The fleet's pure parts: the rollout state machine's table and decisions, stage buckets,
 * selectors, report payloads and the ledger records they become, report signatures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fwseal/dsse.h"
#include "fwseal/fleet.h"
#include "fwseal/ledger.h"

#define P FWS_STORE_ROLLOUT_PENDING
#define R FWS_STORE_ROLLOUT_RUNNING
#define Z FWS_STORE_ROLLOUT_PAUSED
#define C FWS_STORE_ROLLOUT_COMPLETED
#define X FWS_STORE_ROLLOUT_CANCELLED

/* ---- the table: every state and event, against the design (docs/FLEET.md) ----------------- */

static void test_table(void **state)
{
    (void)state;
    /* expected[state][event]: the state it leads to, 0 when refused */
    static const int expected[6][FWS_ROLLOUT_EV_COUNT] = {
        /*        none start adv comp auto pause resume cancel revoked */
        [P] = {0, R, 0, 0, 0, 0, 0, X, X}, [R] = {0, 0, R, C, Z, Z, 0, X, X},
        [Z] = {0, 0, 0, 0, 0, 0, R, X, X}, [C] = {0, 0, 0, 0, 0, 0, 0, 0, 0},
        [X] = {0, 0, 0, 0, 0, 0, 0, 0, 0},
    };
    for (int s = P; s <= X; s++) {
        for (int e = 0; e < FWS_ROLLOUT_EV_COUNT; e++) {
            fws_rollout_step step;
            memset(&step, 0, sizeof(step));
            fws_err err =
                fws_rollout_transition((fws_store_rollout_state)s, (fws_rollout_event)e, &step);
            if (expected[s][e] == 0) {
                assert_int_equal(err, FWS_ERR_STATE);
                continue;
            }
            assert_int_equal(err, FWS_OK);
            assert_int_equal(step.to, expected[s][e]);
            /* the table never goes where the store's own table forbids */
            assert_true((int)step.to == s ||
                        fws_store_rollout_transition_ok((fws_store_rollout_state)s, step.to));
            assert_int_equal(step.action, e == FWS_ROLLOUT_EV_ADVANCE ? FWS_ROLLOUT_ACT_ADVANCE
                                                                      : FWS_ROLLOUT_ACT_STATE);
            assert_int_equal(step.alert,
                             e == FWS_ROLLOUT_EV_AUTO_PAUSE || e == FWS_ROLLOUT_EV_REVOKED);
        }
    }
    assert_string_equal(fws_rollout_event_name(FWS_ROLLOUT_EV_AUTO_PAUSE), "auto-pause");
    assert_null(fws_rollout_event_name(FWS_ROLLOUT_EV_COUNT));
}

/* ---- decisions --------------------------------------------------------------------------- */

static fws_store_rollout rollout3(fws_store_rollout_state st, uint32_t cur)
{
    fws_store_rollout r;
    memset(&r, 0, sizeof(r));
    r.id = 7;
    r.state = st;
    r.n_stages = 3;
    r.current_stage = cur;
    r.stages[0].percent = 10;
    r.stages[1].percent = 50;
    r.stages[2].percent = 100;
    r.success_threshold = 90;
    r.failure_threshold = 10;
    return r;
}

static fws_rollout_view view(const fws_store_rollout *r, uint64_t t0, uint64_t t1, uint64_t t2)
{
    fws_rollout_view v;
    memset(&v, 0, sizeof(v));
    v.r = r;
    v.target[0] = t0;
    v.target[1] = t1;
    v.target[2] = t2;
    v.now = 1000;
    return v;
}

static void test_decide_pending(void **state)
{
    (void)state;
    char why[128];
    fws_store_rollout r = rollout3(P, 0);
    fws_rollout_view v = view(&r, 1, 4, 5);
    v.quarantine_until = 1001; /* one second left */
    assert_int_equal(fws_rollout_decide(&v, why, sizeof(why)), FWS_ROLLOUT_EV_NONE);
    v.quarantine_until = 1000;
    assert_int_equal(fws_rollout_decide(&v, why, sizeof(why)), FWS_ROLLOUT_EV_START);
    assert_non_null(strstr(why, "quarantine"));
    v.quarantine_until = 0;
    assert_int_equal(fws_rollout_decide(&v, NULL, 0), FWS_ROLLOUT_EV_START);
    v.release_revoked = 1;
    assert_int_equal(fws_rollout_decide(&v, why, sizeof(why)), FWS_ROLLOUT_EV_REVOKED);
    assert_string_equal(why, "the release was revoked");
}

static void test_decide_advance(void **state)
{
    (void)state;
    char why[128];
    fws_store_rollout r = rollout3(R, 0);
    fws_rollout_view v = view(&r, 10, 40, 50);
    r.stages[0].assigned = 10;
    r.stages[0].succeeded = 8; /* 80% < 90% */
    assert_int_equal(fws_rollout_decide(&v, why, sizeof(why)), FWS_ROLLOUT_EV_NONE);
    r.stages[0].succeeded = 9; /* 90% */
    assert_int_equal(fws_rollout_decide(&v, why, sizeof(why)), FWS_ROLLOUT_EV_ADVANCE);
    assert_string_equal(why, "stage 1: 9 of 10 devices succeeded");
    /* an empty stage advances at once */
    r.current_stage = 1;
    v.target[1] = 0;
    assert_int_equal(fws_rollout_decide(&v, NULL, 0), FWS_ROLLOUT_EV_ADVANCE);
    /* the last stage completes only when every selected device has an outcome */
    r.current_stage = 2;
    v.target[1] = 40;
    r.stages[1].succeeded = 40;
    r.stages[2].succeeded = 45;
    r.stages[2].failed = 4;
    r.stages[0].failed = 1;
    assert_int_equal(fws_rollout_decide(&v, NULL, 0), FWS_ROLLOUT_EV_NONE);
    r.stages[2].succeeded = 46;
    assert_int_equal(fws_rollout_decide(&v, why, sizeof(why)), FWS_ROLLOUT_EV_COMPLETE);
}

static void test_decide_failures(void **state)
{
    (void)state;
    char why[128];
    fws_store_rollout r = rollout3(R, 1);
    fws_rollout_view v = view(&r, 10, 40, 50);
    r.stages[1].assigned = 30;
    r.stages[1].failed = 4; /* 4 of 40 = 10%: not past 10% */
    v.fresh_failures = 4;
    assert_int_equal(fws_rollout_decide(&v, why, sizeof(why)), FWS_ROLLOUT_EV_NONE);
    r.stages[1].failed = 5; /* 12.5% */
    assert_int_equal(fws_rollout_decide(&v, why, sizeof(why)), FWS_ROLLOUT_EV_AUTO_PAUSE);
    assert_string_equal(why, "stage 2: 5 of 40 devices failed");
    /* failures an operator resumed past are forgiven: only new ones pause again */
    v.fresh_failures = 0;
    assert_int_equal(fws_rollout_decide(&v, NULL, 0), FWS_ROLLOUT_EV_NONE);
    /* an earlier stage counts too, measured against its own size */
    v.fresh_failures = 1;
    r.stages[1].failed = 0;
    r.stages[0].failed = 2; /* 2 of 10 */
    assert_int_equal(fws_rollout_decide(&v, why, sizeof(why)), FWS_ROLLOUT_EV_AUTO_PAUSE);
    assert_string_equal(why, "stage 1: 2 of 10 devices failed");
    /* a threshold of 0: any failure pauses */
    r.stages[0].failed = 0;
    r.stages[1].failed = 1;
    r.failure_threshold = 0;
    assert_int_equal(fws_rollout_decide(&v, NULL, 0), FWS_ROLLOUT_EV_AUTO_PAUSE);
    /* failures pause before anything else happens, even at the success threshold */
    r.failure_threshold = 10;
    r.stages[1].failed = 10;
    r.stages[1].succeeded = 40;
    assert_int_equal(fws_rollout_decide(&v, NULL, 0), FWS_ROLLOUT_EV_AUTO_PAUSE);
}

static void test_decide_other_states(void **state)
{
    (void)state;
    fws_store_rollout r = rollout3(Z, 1);
    fws_rollout_view v = view(&r, 1, 1, 1);
    r.stages[1].succeeded = 100;
    assert_int_equal(fws_rollout_decide(&v, NULL, 0), FWS_ROLLOUT_EV_NONE);
    v.release_revoked = 1;
    assert_int_equal(fws_rollout_decide(&v, NULL, 0), FWS_ROLLOUT_EV_REVOKED);
    r.state = C;
    assert_int_equal(fws_rollout_decide(&v, NULL, 0), FWS_ROLLOUT_EV_NONE);
    r.state = X;
    assert_int_equal(fws_rollout_decide(&v, NULL, 0), FWS_ROLLOUT_EV_NONE);
    r.state = R;
    assert_int_equal(fws_rollout_decide(&v, NULL, 0), FWS_ROLLOUT_EV_REVOKED);
}

/* ---- buckets ---------------------------------------------------------------------------- */

static void test_stage_of(void **state)
{
    (void)state;
    fws_store_rollout r = rollout3(R, 0);
    size_t counts[4] = {0};
    char id[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "dev%05d", i);
        int st = fws_rollout_stage_of(&r, id);
        assert_true(st >= 0 && st <= 2);
        assert_int_equal(st, fws_rollout_stage_of(&r, id)); /* deterministic */
        counts[st]++;
    }
    /* 10%, 40%, 50% of the fleet, within a few standard deviations */
    assert_in_range(counts[0], 1700, 2300);
    assert_in_range(counts[1], 7400, 8600);
    assert_in_range(counts[2], 9300, 10700);
    /* a rollout that stops at 30%: the rest fall beyond it */
    fws_store_rollout half = r;
    half.n_stages = 1;
    half.stages[0].percent = 30;
    size_t beyond = 0;
    for (int i = 0; i < 2000; i++) {
        snprintf(id, sizeof(id), "dev%05d", i);
        int st = fws_rollout_stage_of(&half, id);
        beyond += st < 0;
        /* a device in the first 30% of one plan is in stage 1 or 2 of the other */
        if (st == 0)
            assert_true(fws_rollout_stage_of(&r, id) <= 1);
    }
    assert_in_range(beyond, 1200, 1600);
    /* another rollout draws other buckets */
    fws_store_rollout other = r;
    other.id = 8;
    size_t same = 0;
    for (int i = 0; i < 2000; i++) {
        snprintf(id, sizeof(id), "dev%05d", i);
        same += fws_rollout_stage_of(&r, id) == 0 && fws_rollout_stage_of(&other, id) == 0;
    }
    assert_true(same < 100); /* independent: about 1% of 2000 */
}

/* ---- selectors ---------------------------------------------------------------------------- */

static void test_selector(void **state)
{
    (void)state;
    fws_fleet_selector s;
    fws_errbuf eb = {{0}};
    fws_store_device d;
    memset(&d, 0, sizeof(d));
    snprintf(d.id, sizeof(d.id), "a1");
    snprintf(d.model, sizeof(d.model), "hub-v2");
    snprintf(d.region, sizeof(d.region), "eu");
    assert_int_equal(fws_fleet_selector_parse(NULL, &s, &eb), FWS_OK);
    assert_true(fws_fleet_selector_match(&s, &d));
    fws_fleet_selector_free(&s);
    assert_int_equal(fws_fleet_selector_parse(
                         "{\"models\":[\"hub-v1\",\"hub-v2\"],\"regions\":[\"eu\"]}", &s, &eb),
                     FWS_OK);
    assert_true(fws_fleet_selector_match(&s, &d));
    snprintf(d.region, sizeof(d.region), "us");
    assert_false(fws_fleet_selector_match(&s, &d));
    fws_fleet_selector_free(&s);
    assert_int_equal(fws_fleet_selector_parse("{\"devices\":[\"b2\"],\"groups\":[]}", &s, &eb),
                     FWS_OK);
    assert_false(fws_fleet_selector_match(&s, &d));
    snprintf(d.id, sizeof(d.id), "b2");
    assert_true(fws_fleet_selector_match(&s, &d)); /* an empty list selects everyone */
    fws_fleet_selector_free(&s);
    assert_int_equal(fws_fleet_selector_parse("{\"colors\":[\"red\"]}", &s, &eb), FWS_ERR_SCHEMA);
    assert_non_null(strstr(eb.msg, "colors"));
    assert_int_equal(fws_fleet_selector_parse("{\"models\":[1]}", &s, NULL), FWS_ERR_SCHEMA);
    assert_int_equal(fws_fleet_selector_parse("[]", &s, NULL), FWS_ERR_SCHEMA);
    assert_int_equal(fws_fleet_selector_parse("{", &s, NULL), FWS_ERR_FORMAT);
}

/* ---- reports -------------------------------------------------------------------------------
 */

static const char *const good_payload =
    "{\"type\":\"install\",\"schema\":1,\"id\":\"d1-3\",\"seq\":3,\"device\":\"d1\","
    "\"product\":\"hub\",\"fromVersion\":\"1.0.0\",\"toVersion\":\"1.1.0\","
    "\"target\":\"hub/1.1.0/fw.bin\",\"url\":\"https://x/repo/targets/hub/1.1.0/a.fw.bin\","
    "\"image\":{\"sha256\":\"" /* 64 hex */
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\",\"length\":300000},"
    "\"result\":\"success\",\"reason\":\"\",\"slot\":\"B\",\"time\":\"2027-01-15T08:00:00Z\"}";

static fws_err parse_with(const char *from, const char *to, fws_fleet_report *r, fws_errbuf *eb)
{
    char buf[2048];
    const char *at = strstr(good_payload, from);
    assert_non_null(at);
    snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - good_payload), good_payload, to,
             at + strlen(from));
    fws_errbuf_clear(eb);
    return fws_fleet_report_parse((const uint8_t *)buf, strlen(buf), r, eb);
}

static void test_report_parse(void **state)
{
    (void)state;
    fws_fleet_report r;
    fws_errbuf eb = {{0}};
    assert_int_equal(
        fws_fleet_report_parse((const uint8_t *)good_payload, strlen(good_payload), &r, &eb),
        FWS_OK);
    assert_int_equal(r.kind, FWS_STORE_REPORT_INSTALL);
    assert_int_equal(r.seq, 3);
    assert_string_equal(r.target, "hub/1.1.0/fw.bin");
    assert_int_equal(r.sha256[1], 0x11);
    assert_int_equal(r.length, 300000);
    assert_true(r.success);
    assert_int_equal(parse_with("\"type\":\"install\"", "\"type\":\"reboot\"", &r, &eb),
                     FWS_ERR_SCHEMA);
    assert_non_null(strstr(eb.msg, "install, rollback or verification-failure"));
    assert_int_equal(parse_with("\"type\":\"install\"", "\"type\":\"attestation\"", &r, &eb),
                     FWS_ERR_SCHEMA);
    assert_int_equal(parse_with("\"schema\":1", "\"schema\":2", &r, &eb), FWS_ERR_SCHEMA);
    assert_int_equal(parse_with("\"seq\":3", "\"seq\":0", &r, &eb), FWS_ERR_SCHEMA);
    assert_int_equal(parse_with("\"seq\":3", "\"seq\":3.5", &r, &eb), FWS_ERR_FORMAT);
    assert_int_equal(parse_with("\"slot\":\"B\"", "\"slot\":\"B\",\"extra\":1", &r, &eb),
                     FWS_ERR_SCHEMA);
    assert_non_null(strstr(eb.msg, "extra"));
    assert_int_equal(parse_with("\"device\":\"d1\",", "", &r, &eb), FWS_ERR_SCHEMA);
    assert_non_null(strstr(eb.msg, "device"));
    assert_int_equal(parse_with("\"sha256\":\"00", "\"sha256\":\"zz", &r, &eb), FWS_ERR_SCHEMA);
    assert_non_null(strstr(eb.msg, "image.sha256"));
    assert_int_equal(parse_with("\"length\":300000", "\"length\":-1", &r, &eb), FWS_ERR_SCHEMA);
    assert_int_equal(parse_with("\"result\":\"success\"", "\"result\":\"ok\"", &r, &eb),
                     FWS_ERR_SCHEMA);
    assert_int_equal(parse_with("08:00:00Z", "08:00:00+01:00", &r, &eb), FWS_ERR_SCHEMA);
    assert_non_null(strstr(eb.msg, "time"));
    assert_int_equal(parse_with("{\"type\"", "[{\"type\"", &r, &eb), FWS_ERR_FORMAT);
    assert_int_equal(fws_fleet_report_parse((const uint8_t *)"", 0, &r, &eb), FWS_ERR_FORMAT);
}

static void test_report_record(void **state)
{
    (void)state;
    fws_fleet_report r;
    fws_errbuf eb = {{0}};
    char *rec = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    fws_record_info info;
    assert_int_equal(
        fws_fleet_report_parse((const uint8_t *)good_payload, strlen(good_payload), &r, &eb),
        FWS_OK);
    assert_int_equal(fws_fleet_report_record(&r, &rec, &len, &eb), FWS_OK);
    assert_string_equal(rec,
                        "{\"device\":\"d1\",\"fromVersion\":\"1.0.0\",\"image\":{\"sha256\":"
                        "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"},"
                        "\"product\":\"hub\",\"result\":\"success\",\"schema\":1,\"time\":"
                        "\"2027-01-15T08:00:00Z\",\"toVersion\":\"1.1.0\",\"type\":\"install\"}");
    /* the same report gives the same bytes (the sequencer relies on it after a crash) */
    assert_int_equal(fws_fleet_report_record(&r, &again, &len2, &eb), FWS_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(rec, again, len);
    free(again);
    char *canon = NULL;
    size_t clen = 0;
    assert_int_equal(fws_record_validate((const uint8_t *)rec, len, &canon, &clen, &info, &eb),
                     FWS_OK);
    assert_int_equal(info.type, FWS_RECORD_INSTALL);
    assert_string_equal(info.device, "d1");
    free(canon);
    free(rec);

    r.kind = FWS_STORE_REPORT_VERIFY_FAILURE;
    r.success = 0;
    assert_int_equal(fws_fleet_report_record(&r, &rec, &len, &eb), FWS_OK);
    assert_non_null(strstr(rec, "\"result\":\"failure\""));
    assert_non_null(strstr(rec, "\"type\":\"install\""));
    free(rec);
    r.kind = FWS_STORE_REPORT_ROLLBACK;
    snprintf(r.reason, sizeof(r.reason), "health check failed");
    assert_int_equal(fws_fleet_report_record(&r, &rec, &len, &eb), FWS_OK);
    assert_non_null(strstr(rec, "\"type\":\"rollback\""));
    assert_non_null(strstr(rec, "\"reason\":\"health check failed\""));
    assert_null(strstr(rec, "image"));
    free(rec);
    /* a report that cannot become a valid record is refused, naming the field */
    r.product[0] = '\0';
    assert_int_equal(fws_fleet_report_record(&r, &rec, &len, &eb), FWS_ERR_SCHEMA);
    assert_non_null(strstr(eb.msg, "product")); /* the record schema names the field */
}

static void test_report_signature(void **state)
{
    (void)state;
    fws_key *k1 = NULL, *k2 = NULL, *pub1 = NULL;
    fws_signer s1;
    fws_errbuf eb = {{0}};
    char *env = NULL;
    size_t len = 0;
    fws_fleet_report r;
    assert_int_equal(fws_key_generate(FWS_KEY_P256, &k1), FWS_OK);
    assert_int_equal(fws_key_generate(FWS_KEY_P256, &k2), FWS_OK);
    assert_int_equal(fws_key_public_dup(k1, &pub1), FWS_OK);
    assert_int_equal(fws_signer_from_key(k1, &s1), FWS_OK);
    const fws_signer *signers[1] = {&s1};
    assert_int_equal(fws_dsse_sign(FWS_FLEET_REPORT_TYPE, (const uint8_t *)good_payload,
                                   strlen(good_payload), signers, 1, &env, &len, &eb),
                     FWS_OK);
    assert_int_equal(fws_fleet_report_open((const uint8_t *)env, len, pub1, &r, &eb), FWS_OK);
    assert_string_equal(r.device, "d1");
    /* another device's key */
    fws_errbuf_clear(&eb);
    fws_err err = fws_fleet_report_open((const uint8_t *)env, len, k2, &r, &eb);
    assert_true(err == FWS_ERR_KEY_MISMATCH || err == FWS_ERR_SIGNATURE);
    /* every bit flip of the envelope is refused */
    for (size_t bit = 0; bit < len * 8; bit += 13) {
        env[bit / 8] ^= (char)(1 << (bit % 8));
        assert_int_not_equal(fws_fleet_report_open((const uint8_t *)env, len, pub1, &r, NULL),
                             FWS_OK);
        env[bit / 8] ^= (char)(1 << (bit % 8));
    }
    free(env);
    /* another payload type */
    assert_int_equal(fws_dsse_sign(FWS_FLEET_ASSIGNMENT_TYPE, (const uint8_t *)good_payload,
                                   strlen(good_payload), signers, 1, &env, &len, &eb),
                     FWS_OK);
    fws_errbuf_clear(&eb);
    assert_int_equal(fws_fleet_report_open((const uint8_t *)env, len, pub1, &r, &eb),
                     FWS_ERR_SCHEMA);
    assert_non_null(strstr(eb.msg, "is not application/vnd.fwseal.report+json"));
    free(env);
    /* over the cap */
    char *big = calloc(1, FWS_FLEET_REPORT_MAX + 2);
    memset(big, ' ', FWS_FLEET_REPORT_MAX + 1);
    assert_int_equal(
        fws_fleet_report_open((const uint8_t *)big, FWS_FLEET_REPORT_MAX + 1, pub1, &r, NULL),
        FWS_ERR_TOO_BIG);
    free(big);
    fws_signer_free(&s1);
    fws_key_free(k2);
    fws_key_free(pub1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_decide_pending),
        cmocka_unit_test(test_decide_advance),
        cmocka_unit_test(test_decide_failures),
        cmocka_unit_test(test_decide_other_states),
        cmocka_unit_test(test_stage_of),
        cmocka_unit_test(test_selector),
        cmocka_unit_test(test_report_parse),
        cmocka_unit_test(test_report_record),
        cmocka_unit_test(test_report_signature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
