/* Remote attestation against a real TPM: two swtpm instances on loopback, each in its own
 * temporary state directory. Each test boots a device (its stages measured into PCRs 8..11),
 * asks for a quote over the verifier's nonce, carries the evidence through its JSON form and
 * judges it against a policy and reference values read from a ledger's release records. */
#include "test_attest_world.h"

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_honest_device_passes(void **state)
{
    world *w = *state;
    fws_attest_log log;
    fws_attest_result res;
    fws_attest_decision d;
    uint8_t n[FWS_ATTEST_NONCE_LEN];
    need_tpm(w);
    boot_digests bd = honest();
    fws_attest_tpm *tpm = boot(&w->tpm_a, &bd, &log);
    nonce(n);
    fws_attest_evidence *ev = quote(tpm, &log, n, fws_attest_policy_pcrs(&w->policy), "dev-1");
    fws_err err = judge(ev, n, &res);
    if (err != FWS_OK)
        fail_msg("honest device failed: %s", res.reasons[0].text);
    assert_true(res.pass);
    assert_int_equal(res.assurance, FWS_ASSURANCE_TPM);
    assert_string_equal(res.device, "dev-1");
    assert_int_equal(res.n_stages, 4);
    for (size_t i = 0; i < 4; i++)
        assert_true(res.stages[i].matched);
    assert_string_equal(res.stages[0].source, "policy");
    assert_non_null(strstr(res.stages[3].source, "hub-app/1.2.0"));
    /* The report and the gate. */
    json_t *report = NULL;
    assert_int_equal(fws_attest_report_json(&res, &report), FWS_OK);
    assert_string_equal(json_string_value(json_object_get(report, "result")), "pass");
    json_decref(report);
    fws_attest_decide(&w->policy, &res, -1, res.time + 10, &d);
    assert_int_equal(d.action, FWS_ATTEST_ALLOW);
    assert_true(fws_attest_may_offer(&d, &w->policy, "hub-app", "1.2.0"));
    /* Stale after maxAgeSeconds. */
    fws_attest_decide(&w->policy, &res, -1, res.time + 3601, &d);
    assert_int_equal(d.action, FWS_ATTEST_DENY);
    free(ev);
    fws_attest_tpm_close(tpm);
}

static void test_wrong_image_fails(void **state)
{
    world *w = *state;
    fws_attest_log log;
    fws_attest_result res;
    uint8_t n[FWS_ATTEST_NONCE_LEN], unknown[32];
    need_tpm(w);
    /* An image released for another model, a revoked one, one nobody released. */
    const uint8_t *bad[3] = {w->d_other, w->d_revoked, unknown};
    digest_of("app 6.6.6 (never released)", unknown);
    for (int i = 0; i < 3; i++) {
        boot_digests bd = honest();
        bd.app = bad[i];
        fws_attest_tpm *tpm = boot(&w->tpm_a, &bd, &log);
        nonce(n);
        fws_attest_evidence *ev = quote(tpm, &log, n, fws_attest_policy_pcrs(&w->policy), "dev-1");
        assert_int_equal(judge(ev, n, &res), FWS_ERR_DIGEST);
        assert_false(res.pass);
        assert_true(has_reason(&res, "stage app: digest"));
        assert_false(res.stages[3].matched);
        assert_true(res.stages[2].matched);
        free(ev);
        fws_attest_tpm_close(tpm);
    }
}

static void test_tampered_event_log_fails(void **state)
{
    world *w = *state;
    fws_attest_log log;
    fws_attest_result res;
    uint8_t n[FWS_ATTEST_NONCE_LEN], evil[32];
    need_tpm(w);
    digest_of("a backdoored app", evil);
    boot_digests bd = honest();
    bd.app = evil;
    fws_attest_tpm *tpm = boot(&w->tpm_a, &bd, &log);
    nonce(n);
    /* The device measured the backdoored app but reports the known-good digest. */
    memcpy(log.ev[3].digest, w->d_app, 32);
    fws_attest_evidence *ev = quote(tpm, &log, n, fws_attest_policy_pcrs(&w->policy), "dev-1");
    assert_int_equal(judge(ev, n, &res), FWS_ERR_DIGEST);
    assert_true(has_reason(&res, "does not replay to the value of PCR 11"));
    /* Dropping an event, or swapping two, fails the same way. */
    ev->log.n = 3;
    assert_int_not_equal(judge(ev, n, &res), FWS_OK);
    assert_true(has_reason(&res, "PCR 11"));
    ev->log = log;
    memcpy(ev->log.ev[3].digest, evil, 32);
    fws_attest_event tmp = ev->log.ev[0];
    ev->log.ev[0] = ev->log.ev[1];
    ev->log.ev[1] = tmp;
    /* The honest log with two PCRs' events swapped still replays (order matters only within a
     * PCR): what fails now is the backdoored app's digest, seen for what it is. */
    assert_int_equal(judge(ev, n, &res), FWS_ERR_DIGEST);
    assert_true(has_reason(&res, "stage app: digest"));
    for (size_t i = 0; i < res.n_reasons; i++)
        assert_null(strstr(res.reasons[i].text, "replay"));
    ev->log.ev[1].pcr = 9; /* but the PCR each event went into does matter */
    assert_int_not_equal(judge(ev, n, &res), FWS_OK);
    assert_true(has_reason(&res, "does not replay to the value of PCR 8"));
    free(ev);
    fws_attest_tpm_close(tpm);
}

static void test_replayed_nonce_fails(void **state)
{
    world *w = *state;
    fws_attest_log log;
    fws_attest_result res;
    uint8_t old[FWS_ATTEST_NONCE_LEN], fresh[FWS_ATTEST_NONCE_LEN];
    need_tpm(w);
    boot_digests bd = honest();
    fws_attest_tpm *tpm = boot(&w->tpm_a, &bd, &log);
    nonce(old);
    nonce(fresh);
    fws_attest_evidence *ev = quote(tpm, &log, old, fws_attest_policy_pcrs(&w->policy), "dev-1");
    assert_int_equal(judge(ev, old, &res), FWS_OK);
    /* The recorded quote sent again for a new challenge. */
    assert_int_equal(judge(ev, fresh, &res), FWS_ERR_EXPIRED);
    assert_true(has_reason(&res, "nonce is not the one issued"));
    /* Rewriting the evidence's nonce field does not help: the quote carries the old one. */
    memcpy(ev->nonce, fresh, sizeof(fresh));
    assert_int_equal(judge(ev, fresh, &res), FWS_ERR_EXPIRED);
    free(ev);
    fws_attest_tpm_close(tpm);
}

static void test_other_tpm_key_fails(void **state)
{
    world *w = *state;
    fws_attest_log log_a, log_b;
    fws_attest_result res;
    uint8_t n[FWS_ATTEST_NONCE_LEN];
    fws_key *ak_a = NULL;
    need_tpm(w);
    boot_digests bd = honest();
    fws_attest_tpm *a = boot(&w->tpm_a, &bd, &log_a);
    fws_attest_tpm *b = boot(&w->tpm_b, &bd, &log_b);
    uint8_t name_a[FWS_ATTEST_NAME_LEN], name_b[FWS_ATTEST_NAME_LEN];
    fws_attest_tpm_ak_name(a, name_a);
    fws_attest_tpm_ak_name(b, name_b);
    assert_memory_not_equal(name_a, name_b, sizeof(name_a));
    nonce(n);
    fws_attest_evidence *ev_a = quote(a, &log_a, n, fws_attest_policy_pcrs(&w->policy), "dev-1");
    fws_attest_evidence *ev_b = quote(b, &log_b, n, fws_attest_policy_pcrs(&w->policy), "dev-1");
    /* TPM B's quote presented with device 1's AK certificate (TPM A's key). */
    memcpy(ev_b->ak_cert, ev_a->ak_cert, ev_a->ak_cert_len);
    ev_b->ak_cert_len = ev_a->ak_cert_len;
    assert_int_equal(judge(ev_b, n, &res), FWS_ERR_KEY_MISMATCH);
    assert_true(has_reason(&res, "for another key"));
    /* ... and with TPM A's public area as well: the signature is B's. */
    memcpy(ev_b->ak_public, ev_a->ak_public, ev_a->ak_public_len);
    ev_b->ak_public_len = ev_a->ak_public_len;
    assert_int_equal(judge(ev_b, n, &res), FWS_ERR_SIGNATURE);
    assert_true(has_reason(&res, "signature does not verify"));
    /* A certificate from another CA for B's real key does not chain. */
    ta_ca rogue;
    fws_attest_evidence *ev_c = quote(b, &log_b, n, fws_attest_policy_pcrs(&w->policy), "dev-1");
    assert_int_equal(ta_ca_init(&rogue, "rogue CA"), 0);
    assert_int_equal(fws_attest_tpm_ak_key(b, &ak_a), FWS_OK);
    assert_int_equal(ta_issue(&rogue, ak_a, "dev-1", 1, 365, ev_c), 0);
    assert_int_equal(judge(ev_c, n, &res), FWS_ERR_SIGNATURE);
    assert_true(has_reason(&res, "does not chain"));
    fws_key_free(ak_a);
    ta_ca_free(&rogue);
    free(ev_a);
    free(ev_b);
    free(ev_c);
    fws_attest_tpm_close(a);
    fws_attest_tpm_close(b);
}

static void test_selection_omitting_stage_fails(void **state)
{
    world *w = *state;
    fws_attest_log log;
    fws_attest_result res;
    uint8_t n[FWS_ATTEST_NONCE_LEN];
    need_tpm(w);
    boot_digests bd = honest();
    fws_attest_tpm *tpm = boot(&w->tpm_a, &bd, &log);
    nonce(n);
    uint32_t mask = fws_attest_policy_pcrs(&w->policy) & ~(1u << 11);
    fws_attest_evidence *ev = quote(tpm, &log, n, mask, "dev-1");
    assert_int_equal(judge(ev, n, &res), FWS_ERR_INCONSISTENT);
    assert_true(has_reason(&res, "stage app: its PCR 11 is not in the quote"));
    /* Claiming the full selection in the JSON while the quote covers less fails too. */
    ev->pcr_mask |= 1u << 11;
    assert_int_not_equal(judge(ev, n, &res), FWS_OK);
    assert_true(has_reason(&res, "the quote selects PCRs"));
    free(ev);
    fws_attest_tpm_close(tpm);
}

static void test_unexpected_reboot_flagged(void **state)
{
    world *w = *state;
    fws_attest_log log;
    fws_attest_result first, res;
    fws_attest_decision d;
    fws_attest_policy strict;
    uint8_t n[FWS_ATTEST_NONCE_LEN];
    need_tpm(w);
    boot_digests bd = honest();
    fws_attest_tpm *tpm = boot(&w->tpm_a, &bd, &log);
    nonce(n);
    uint32_t mask = fws_attest_policy_pcrs(&w->policy);
    fws_attest_evidence *before = quote(tpm, &log, n, mask, "dev-1");
    assert_int_equal(judge(before, n, &first), FWS_OK);
    assert_int_equal(first.flags, 0);
    /* Same boot, a second quote: no flag. */
    fws_attest_evidence *again = quote(tpm, &log, n, mask, "dev-1");
    assert_int_equal(judge_with(again, n, &w->policy, &first.clock, 0, &res), FWS_OK);
    assert_int_equal(res.flags, 0);
    fws_attest_tpm_close(tpm);
    free(again);

    /* The device reboots without being told to. */
    tpm = boot(&w->tpm_a, &bd, &log);
    fws_attest_evidence *after = quote(tpm, &log, n, mask, "dev-1");
    assert_int_equal(judge_with(after, n, &w->policy, &first.clock, 0, &res), FWS_OK);
    assert_true(res.flags & FWS_ATTEST_FLAG_REBOOT);
    assert_true(res.clock.reset_count > first.clock.reset_count);
    assert_true(has_reason(&res, "unexpected reboot"));
    fws_attest_decide(&w->policy, &res, -1, res.time, &d); /* "flag": still allowed */
    assert_int_equal(d.action, FWS_ATTEST_ALLOW);
    make_policy(w, "quarantine", "tpm", &strict);
    fws_attest_decide(&strict, &res, -1, res.time, &d);
    assert_int_equal(d.action, FWS_ATTEST_QUARANTINE);
    /* An ordered reboot (after an update) is not flagged. */
    assert_int_equal(judge_with(after, n, &w->policy, &first.clock, 1, &res), FWS_OK);
    assert_int_equal(res.flags, 0);
    /* The quote from before the reboot, replayed later against the newer counters, fails. */
    fws_attest_result later;
    assert_int_equal(judge_with(after, n, &w->policy, NULL, 0, &later), FWS_OK);
    assert_int_equal(judge_with(before, n, &w->policy, &later.clock, 0, &res), FWS_ERR_ROLLBACK);
    free(before);
    free(after);
    fws_attest_tpm_close(tpm);
}

static void test_failed_device_quarantined(void **state)
{
    world *w = *state;
    fws_attest_log log;
    fws_attest_result res;
    fws_attest_decision d;
    uint8_t n[FWS_ATTEST_NONCE_LEN];
    char *record = NULL;
    size_t len = 0;
    fws_record_info info;
    need_tpm(w);
    boot_digests bd = honest();
    bd.kernel = w->d_other;
    fws_attest_tpm *tpm = boot(&w->tpm_a, &bd, &log);
    nonce(n);
    fws_attest_evidence *ev = quote(tpm, &log, n, fws_attest_policy_pcrs(&w->policy), "dev-1");
    assert_int_not_equal(judge(ev, n, &res), FWS_OK);
    fws_attest_decide(&w->policy, &res, -1, res.time, &d);
    assert_int_equal(d.action, FWS_ATTEST_QUARANTINE);
    assert_non_null(strstr(d.reasons[0], "stage kernel"));
    /* No normal update; only the recovery release. */
    assert_false(fws_attest_may_offer(&d, &w->policy, "hub-app", "1.2.0"));
    assert_true(fws_attest_may_offer(&d, &w->policy, "hub-app", "1.0.0-recovery"));
    /* The ledger record. */
    assert_int_equal(
        fws_attest_quarantine_record(&res, "2026-03-01T10:00:00Z", &record, &len, NULL), FWS_OK);
    char *canon = NULL;
    size_t canon_len = 0;
    assert_int_equal(
        fws_record_validate((const uint8_t *)record, len, &canon, &canon_len, &info, NULL), FWS_OK);
    assert_int_equal(info.type, FWS_RECORD_QUARANTINE);
    assert_string_equal(info.device, "dev-1");
    assert_non_null(strstr(record, "stage kernel"));
    free(canon);
    free(record);
    free(ev);
    fws_attest_tpm_close(tpm);
}

static void test_software_key_low_assurance(void **state)
{
    world *w = *state;
    fws_attest_log log;
    fws_attest_result res;
    fws_attest_decision d;
    fws_attest_policy lenient;
    fws_key *k = NULL, *pub = NULL;
    fws_signer s;
    fws_tpm_clock c = {123456, 3, 0, 1};
    uint8_t n[FWS_ATTEST_NONCE_LEN];
    fws_attest_evidence *ev = calloc(1, sizeof(*ev));
    memset(&log, 0, sizeof(log));
    assert_int_equal(fws_attest_log_add(&log, 8, "bootloader", w->d_boot), FWS_OK);
    assert_int_equal(fws_attest_log_add(&log, 9, "kernel", w->d_kernel), FWS_OK);
    assert_int_equal(fws_attest_log_add(&log, 10, "rootfs", w->d_rootfs), FWS_OK);
    assert_int_equal(fws_attest_log_add(&log, 11, "app", w->d_app), FWS_OK);
    assert_int_equal(fws_key_generate(FWS_KEY_P256, &k), FWS_OK);
    assert_int_equal(fws_key_public_dup(k, &pub), FWS_OK);
    assert_int_equal(fws_signer_from_key(k, &s), FWS_OK);
    nonce(n);
    assert_int_equal(fws_attest_sw_quote(&s, &log, &c, n, sizeof(n),
                                         fws_attest_policy_pcrs(&w->policy), ev, NULL),
                     FWS_OK);
    assert_int_equal(ta_issue(&w->ca, pub, "dev-1", 0, 365, ev), 0);
    snprintf(ev->device, sizeof(ev->device), "dev-1");
    assert_int_equal(judge(ev, n, &res), FWS_OK);
    assert_int_equal(res.assurance, FWS_ASSURANCE_SOFTWARE);
    assert_int_equal(res.clock.reset_count, 3);
    /* Policy requiring a TPM refuses it; one accepting software keys allows it. */
    fws_attest_decide(&w->policy, &res, -1, res.time, &d);
    assert_int_equal(d.action, FWS_ATTEST_DENY);
    assert_non_null(strstr(d.reasons[0], "assurance software is below the required tpm"));
    make_policy(w, "flag", "software", &lenient);
    fws_attest_decide(&lenient, &res, -1, res.time, &d);
    assert_int_equal(d.action, FWS_ATTEST_ALLOW);
    /* A software key claiming to be a TPM is caught. */
    ev->assurance = FWS_ASSURANCE_TPM;
    assert_int_equal(judge(ev, n, &res), FWS_ERR_KEY_TYPE);
    assert_true(has_reason(&res, "not a restricted fixedTPM signing key"));
    fws_key_free(pub);
    fws_signer_free(&s);
    free(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_honest_device_passes),
        cmocka_unit_test(test_wrong_image_fails),
        cmocka_unit_test(test_tampered_event_log_fails),
        cmocka_unit_test(test_replayed_nonce_fails),
        cmocka_unit_test(test_other_tpm_key_fails),
        cmocka_unit_test(test_selection_omitting_stage_fails),
        cmocka_unit_test(test_unexpected_reboot_flagged),
        cmocka_unit_test(test_failed_device_quarantined),
        cmocka_unit_test(test_software_key_low_assurance),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
