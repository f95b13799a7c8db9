/* Shared by the swtpm attestation tests: two swtpm instances, a device CA, a ledger with
 * release records, the policy and reference values, and the device and server sides of one
 * attestation (boot, quote, judge). Header-only. */
#ifndef TEST_ATTEST_WORLD_H
#define TEST_ATTEST_WORLD_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>
#include "test_attest_util.h"

#define MODEL "hub-v2"

typedef struct world {
    char dir[128];
    ta_swtpm tpm_a, tpm_b;
    int have_tpm;
    ta_ca ca;
    fws_attest_anchors *anchors;
    ta_ledger ledger;
    fws_attest_policy policy;
    fws_attest_refs *refs;
    uint8_t d_boot[32], d_kernel[32], d_rootfs[32], d_app[32], d_other[32], d_revoked[32];
} world;

static world *W;

static inline void digest_of(const char *text, uint8_t out[32])
{
    fws_sha256(text, strlen(text), out);
}

static inline void make_ledger(world *w)
{
    char dir[200], recs[7][1024];
    snprintf(dir, sizeof(dir), "%s/ledger", w->dir);
    assert_int_equal(ta_ledger_init(&w->ledger, dir), 0);
    ta_release(recs[0], sizeof(recs[0]), "hub-kernel", "6.1.0", w->d_kernel, "[\"hub-v2\"]");
    ta_release(recs[1], sizeof(recs[1]), "hub-rootfs", "2.0.0", w->d_rootfs,
               "[\"hub-v1\",\"hub-v2\"]");
    ta_release(recs[2], sizeof(recs[2]), "hub-app", "1.2.0", w->d_app, "[\"hub-v2\"]");
    ta_release(recs[3], sizeof(recs[3]), "hub-app", "1.3.0", w->d_other, "[\"hub-v1\"]");
    ta_release(recs[4], sizeof(recs[4]), "hub-app", "1.1.0", w->d_revoked, "[\"hub-v2\"]");
    snprintf(recs[5], sizeof(recs[5]),
             "{\"type\":\"revoke\",\"schema\":1,\"time\":\"2026-01-02T00:00:00Z\","
             "\"subject\":\"release\",\"id\":\"hub-app/1.1.0\",\"reason\":\"CVE\"}");
    const char *list[] = {recs[0], recs[1], recs[2], recs[3], recs[4], recs[5], NULL};
    assert_int_equal(ta_ledger_append(&w->ledger, list), 0);
}

static inline void make_policy(world *w, const char *reboot, const char *assurance,
                               fws_attest_policy *out)
{
    char hex[65], text[2048];
    fws_errbuf eb = {{0}};
    fws_hex_encode(w->d_boot, 32, hex);
    snprintf(text, sizeof(text),
             "{\"format\":\"fwseal-attest-policy/v1\",\"maxAgeSeconds\":3600,"
             "\"minAssurance\":\"%s\",\"unexpectedReboot\":\"%s\",\"stages\":["
             "{\"name\":\"bootloader\",\"pcr\":8,\"digests\":[\"%s\"]},"
             "{\"name\":\"kernel\",\"pcr\":9,\"ledgerProduct\":\"hub-kernel\"},"
             "{\"name\":\"rootfs\",\"pcr\":10,\"ledgerProduct\":\"hub-rootfs\"},"
             "{\"name\":\"app\",\"pcr\":11,\"ledgerProduct\":\"hub-app\"}],"
             "\"recovery\":[{\"product\":\"hub-app\",\"version\":\"1.0.0-recovery\"}]}",
             assurance, reboot, hex);
    if (fws_attest_policy_parse((const uint8_t *)text, strlen(text), out, &eb) != FWS_OK)
        fail_msg("policy: %s", eb.msg);
}

static inline int setup(void **state)
{
    world *w = calloc(1, sizeof(*w));
    char sub[200];
    fws_note_vkey vkey;
    size_t added = 0;
    fws_errbuf eb = {{0}};
    snprintf(w->dir, sizeof(w->dir), "/tmp/fwseal-attest-tpm.XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    srand((unsigned)getpid());
    snprintf(sub, sizeof(sub), "%s/tpm-a", w->dir);
    mkdir(sub, 0700);
    w->have_tpm = ta_swtpm_start(&w->tpm_a, sub) == 0;
    snprintf(sub, sizeof(sub), "%s/tpm-b", w->dir);
    mkdir(sub, 0700);
    w->have_tpm = w->have_tpm && ta_swtpm_start(&w->tpm_b, sub) == 0;
    digest_of("bootloader 2024.01", w->d_boot);
    digest_of("kernel 6.1.0", w->d_kernel);
    digest_of("rootfs 2.0.0", w->d_rootfs);
    digest_of("app 1.2.0", w->d_app);
    digest_of("app 1.3.0 for hub-v1", w->d_other);
    digest_of("app 1.1.0 revoked", w->d_revoked);
    assert_int_equal(ta_ca_init(&w->ca, "device CA"), 0);
    w->anchors = ta_anchors(&w->ca);
    assert_non_null(w->anchors);
    make_ledger(w);
    make_policy(w, "flag", "tpm", &w->policy);
    assert_int_equal(fws_attest_refs_new(&w->refs), FWS_OK);
    assert_int_equal(fws_attest_refs_add_policy(w->refs, &w->policy), FWS_OK);
    assert_int_equal(fws_note_vkey_parse(w->ledger.vkey, strlen(w->ledger.vkey), &vkey, NULL),
                     FWS_OK);
    if (fws_attest_refs_add_ledger(w->refs, &w->policy, w->ledger.dir, &vkey, MODEL, &added, &eb) !=
        FWS_OK)
        fail_msg("refs: %s", eb.msg);
    /* kernel, rootfs and app 1.2.0: not 1.3.0 (another model) nor 1.1.0 (revoked). */
    assert_int_equal(added, 3);
    assert_int_equal(fws_attest_refs_count(w->refs), 4);
    W = w;
    *state = w;
    return 0;
}

static inline int teardown(void **state)
{
    world *w = *state;
    ta_swtpm_stop(&w->tpm_a);
    ta_swtpm_stop(&w->tpm_b);
    fws_attest_anchors_free(w->anchors);
    fws_attest_refs_free(w->refs);
    ta_ca_free(&w->ca);
    ta_ledger_free(&w->ledger);
    ta_rm_tree(w->dir);
    free(w);
    return 0;
}

static inline void need_tpm(const world *w)
{
    if (!w->have_tpm) {
        fprintf(stderr, "SKIPPED: swtpm could not start on 127.0.0.1\n");
        skip();
    }
}

/* ---- the device side ------------------------------------------------------------------------ */

typedef struct boot_digests {
    const uint8_t *boot, *kernel, *rootfs, *app;
} boot_digests;

/* Power-cycles the TPM (fresh PCRs) and measures the four stages. */
static inline fws_attest_tpm *boot(ta_swtpm *t, const boot_digests *d, fws_attest_log *log)
{
    fws_attest_tpm *tpm = NULL;
    fws_errbuf eb = {{0}};
    assert_int_equal(ta_swtpm_reboot(t), 0);
    if (fws_attest_tpm_open(t->tcti, &tpm, &eb) != FWS_OK)
        fail_msg("tpm open: %s", eb.msg);
    memset(log, 0, sizeof(*log));
    assert_int_equal(fws_attest_tpm_measure(tpm, log, 8, "bootloader", d->boot, &eb), FWS_OK);
    assert_int_equal(fws_attest_tpm_measure(tpm, log, 9, "kernel", d->kernel, &eb), FWS_OK);
    assert_int_equal(fws_attest_tpm_measure(tpm, log, 10, "rootfs", d->rootfs, &eb), FWS_OK);
    assert_int_equal(fws_attest_tpm_measure(tpm, log, 11, "app", d->app, &eb), FWS_OK);
    return tpm;
}

static inline boot_digests honest(void)
{
    boot_digests d = {W->d_boot, W->d_kernel, W->d_rootfs, W->d_app};
    return d;
}

/* Quotes and fills the evidence: the AK certificate from the device CA, the log. */
static inline fws_attest_evidence *quote(fws_attest_tpm *tpm, const fws_attest_log *log,
                                         const uint8_t *nonce, uint32_t mask, const char *device)
{
    fws_attest_evidence *ev = calloc(1, sizeof(*ev));
    fws_key *ak = NULL;
    fws_errbuf eb = {{0}};
    if (fws_attest_tpm_quote(tpm, nonce, FWS_ATTEST_NONCE_LEN, mask, ev, &eb) != FWS_OK)
        fail_msg("quote: %s", eb.msg);
    assert_int_equal(fws_attest_tpm_ak_key(tpm, &ak), FWS_OK);
    assert_int_equal(ta_issue(&W->ca, ak, device, 1, 365, ev), 0);
    fws_key_free(ak);
    snprintf(ev->device, sizeof(ev->device), "%s", device);
    ev->log = *log;
    return ev;
}

/* ---- the server side ------------------------------------------------------------------------ */

/* Carries the evidence through JSON and judges it. */
static inline fws_err judge_with(const fws_attest_evidence *ev, const uint8_t *nonce,
                                 const fws_attest_policy *policy, const fws_tpm_clock *last,
                                 int reboot_expected, fws_attest_result *res)
{
    char *json = NULL;
    size_t len = 0;
    fws_attest_evidence *back = calloc(1, sizeof(*back));
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_attest_evidence_encode(ev, &json, &len), FWS_OK);
    if (fws_attest_evidence_decode((const uint8_t *)json, len, back, &eb) != FWS_OK)
        fail_msg("decode: %s", eb.msg);
    free(json);
    fws_attest_verify_req q = {
        back, nonce,           FWS_ATTEST_NONCE_LEN, policy, W->refs, W->anchors, "dev-1",
        last, reboot_expected, (int64_t)time(NULL)};
    fws_err err = fws_attest_verify(&q, res, &eb);
    free(back);
    return err;
}

static inline fws_err judge(const fws_attest_evidence *ev, const uint8_t *nonce,
                            fws_attest_result *res)
{
    return judge_with(ev, nonce, &W->policy, NULL, 0, res);
}

static inline int has_reason(const fws_attest_result *res, const char *needle)
{
    for (size_t i = 0; i < res->n_reasons; i++) {
        if (strstr(res->reasons[i].text, needle) != NULL)
            return 1;
    }
    for (size_t i = 0; i < res->n_reasons; i++)
        fprintf(stderr, "reason: %s\n", res->reasons[i].text);
    return 0;
}

static inline void nonce(uint8_t n[FWS_ATTEST_NONCE_LEN])
{
    assert_int_equal(fws_attest_nonce(n), FWS_OK);
}

#endif
