/* The attestation key and the integration calls against a real TPM (swtpm on loopback): the AK
 * signs certificate requests through TPM2_Hash tickets but never TPM-looking data; the agent
 * answers a nonce with fws_attest_device_quote and the server judges the bytes with
 * fws_attest_judge, stores the report and reads it back. */
#include "test_attest_world.h"

static void test_ak_signs_requests_not_quotes(void **state)
{
    world *w = *state;
    fws_attest_log log;
    fws_signer s;
    fws_key *pub = NULL;
    uint8_t sig[FWS_SIG_MAX], forged[64];
    size_t sig_len = 0;
    const char *msg = "certification request info";
    need_tpm(w);
    boot_digests bd = honest();
    fws_attest_tpm *tpm = boot(&w->tpm_a, &bd, &log);
    assert_int_equal(fws_attest_tpm_signer(tpm, &s, NULL), FWS_OK);
    assert_int_equal(
        fws_signer_sign(&s, (const uint8_t *)msg, strlen(msg), sig, sizeof(sig), &sig_len), FWS_OK);
    assert_int_equal(fws_attest_tpm_ak_key(tpm, &pub), FWS_OK);
    assert_int_equal(fws_key_verify(pub, (const uint8_t *)msg, strlen(msg), sig, sig_len), FWS_OK);
    /* A restricted key will not sign bytes that look like a TPM-made quote. */
    memset(forged, 0, sizeof(forged));
    forged[0] = 0xff, forged[1] = 0x54, forged[2] = 0x43, forged[3] = 0x47;
    assert_int_not_equal(fws_signer_sign(&s, forged, sizeof(forged), sig, sizeof(sig), &sig_len),
                         FWS_OK);
    fws_signer_free(&s);
    fws_key_free(pub);
    fws_attest_tpm_close(tpm);
    /* A connection made only to measure has no AK: the AK calls say so. */
    fws_attest_log more;
    uint8_t d[32], name[FWS_ATTEST_NAME_LEN];
    memset(&more, 0, sizeof(more));
    fws_sha256("late stage", 10, d);
    assert_int_equal(fws_attest_tpm_connect(w->tpm_a.tcti, &tpm, NULL), FWS_OK);
    assert_int_equal(fws_attest_tpm_measure(tpm, &more, 12, "late", d, NULL), FWS_OK);
    assert_int_equal(fws_attest_tpm_signer(tpm, &s, NULL), FWS_ERR_STATE);
    assert_int_equal(fws_attest_tpm_ak_key(tpm, &pub), FWS_ERR_STATE);
    fws_attest_tpm_ak_name(tpm, name);
    assert_int_equal(name[0] | name[1], 0);
    fws_attest_evidence *ev = calloc(1, sizeof(*ev));
    assert_int_equal(fws_attest_tpm_quote(tpm, d, sizeof(d), 1u << 12, ev, NULL), FWS_ERR_STATE);
    free(ev);
    fws_attest_tpm_close(tpm);
}

/* The integration calls: the agent answers with fws_attest_device_quote, the server judges
 * the bytes with fws_attest_judge, stores the report and reads it back for the next check. */
static void test_agent_and_server_calls(void **state)
{
    world *w = *state;
    fws_attest_log log;
    fws_attest_result res, back, next;
    fws_attest_decision d1, d2;
    uint8_t n[FWS_ATTEST_NONCE_LEN];
    char path[256], *json = NULL;
    size_t len = 0;
    fws_key *ak = NULL;
    fws_attest_evidence *certs = calloc(1, sizeof(*certs));
    fws_errbuf eb = {{0}};
    need_tpm(w);
    boot_digests bd = honest();
    fws_attest_tpm *tpm = boot(&w->tpm_a, &bd, &log);
    assert_int_equal(fws_attest_tpm_ak_key(tpm, &ak), FWS_OK);
    assert_int_equal(ta_issue(&w->ca, ak, "dev-1", 1, 365, certs), 0);
    fws_key_free(ak);
    fws_attest_tpm_close(tpm); /* the agent opens the TPM itself */
    snprintf(path, sizeof(path), "%s/boot.log", w->dir);
    assert_int_equal(fws_attest_log_save(&log, path, NULL), FWS_OK);
    fws_attest_device dev = {w->tpm_a.tcti,      NULL, NULL, path, "dev-1", certs->ak_cert,
                             certs->ak_cert_len, NULL, NULL, 0};
    nonce(n);
    if (fws_attest_device_quote(&dev, n, sizeof(n), fws_attest_policy_pcrs(&w->policy), &json, &len,
                                &eb) != FWS_OK)
        fail_msg("device quote: %s", eb.msg);
    fws_attest_verify_req q = {NULL,       n,       sizeof(n), &w->policy, w->refs,
                               w->anchors, "dev-1", NULL,      0,          (int64_t)time(NULL)};
    assert_int_equal(fws_attest_judge((const uint8_t *)json, len, &q, &res, NULL), FWS_OK);
    assert_int_equal(res.assurance, FWS_ASSURANCE_TPM);
    /* stored as a report, read back: the same decision, and its counters for the next check */
    json_t *report = NULL;
    assert_int_equal(fws_attest_report_json(&res, &report), FWS_OK);
    assert_int_equal(fws_attest_report_parse(report, &back, NULL), FWS_OK);
    json_decref(report);
    assert_true(back.pass);
    assert_int_equal(back.time, res.time);
    assert_int_equal(back.clock.reset_count, res.clock.reset_count);
    assert_int_equal(back.clock.clock, res.clock.clock);
    fws_attest_decide(&w->policy, &res, -1, res.time + 60, &d1);
    fws_attest_decide(&w->policy, &back, -1, res.time + 60, &d2);
    assert_int_equal(d1.action, d2.action);
    q.last = &back.clock;
    assert_int_equal(fws_attest_judge((const uint8_t *)json, len, &q, &next, NULL), FWS_OK);
    assert_int_equal(next.flags, 0);
    /* bytes that are not evidence are a failed attestation, with the reason */
    assert_int_equal(fws_attest_judge((const uint8_t *)"{", 1, &q, &next, NULL), FWS_ERR_FORMAT);
    assert_false(next.pass);
    assert_int_equal(next.n_reasons, 1);
    fws_attest_decide(&w->policy, &next, -1, next.time, &d1);
    assert_int_equal(d1.action, FWS_ATTEST_QUARANTINE);
    assert_int_equal(fws_attest_report_json(&next, &report), FWS_OK);
    assert_int_equal(fws_attest_report_parse(report, &back, NULL), FWS_OK);
    json_decref(report);
    assert_false(back.pass);
    assert_int_equal(back.n_reasons, 1);
    free(json);
    free(certs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ak_signs_requests_not_quotes),
        cmocka_unit_test(test_agent_and_server_calls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
