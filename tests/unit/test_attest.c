/* The attestation module without a TPM: the hand-written TPM structure parsers (every
 * truncation, every field's cap, trailing bytes), evidence and policy documents, the event
 * log, reference values, the relying party's decision and the trust score. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "test_attest_util.h"

typedef struct fixture {
    fws_signer s;
    fws_key *pub;
    fws_attest_log log;
    fws_attest_evidence ev;
    uint8_t nonce[FWS_ATTEST_NONCE_LEN];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    fws_key *k = NULL;
    fws_tpm_clock c = {5000, 7, 1, 1};
    uint8_t d[32];
    assert_int_equal(fws_key_generate(FWS_KEY_P256, &k), FWS_OK);
    assert_int_equal(fws_key_public_dup(k, &f->pub), FWS_OK);
    assert_int_equal(fws_signer_from_key(k, &f->s), FWS_OK);
    fws_sha256("boot", 4, d);
    assert_int_equal(fws_attest_log_add(&f->log, 8, "bootloader", d), FWS_OK);
    fws_sha256("app", 3, d);
    assert_int_equal(fws_attest_log_add(&f->log, 11, "app", d), FWS_OK);
    assert_int_equal(fws_attest_nonce(f->nonce), FWS_OK);
    assert_int_equal(fws_attest_sw_quote(&f->s, &f->log, &c, f->nonce, sizeof(f->nonce),
                                         (1u << 8) | (1u << 11), &f->ev, NULL),
                     FWS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fws_signer_free(&f->s);
    fws_key_free(f->pub);
    free(f);
    return 0;
}

/* ---- TPMS_ATTEST -------------------------------------------------------------------------- */

static void test_quote_parses(void **state)
{
    fixture *f = *state;
    fws_tpms_attest a;
    assert_int_equal(fws_tpms_attest_parse(f->ev.quote, f->ev.quote_len, &a, NULL), FWS_OK);
    assert_int_equal(a.magic, FWS_TPM_GENERATED_VALUE);
    assert_int_equal(a.type, FWS_TPM_ST_ATTEST_QUOTE);
    assert_int_equal(a.extra_len, FWS_ATTEST_NONCE_LEN);
    assert_memory_equal(a.extra, f->nonce, FWS_ATTEST_NONCE_LEN);
    assert_int_equal(a.clock.clock, 5000);
    assert_int_equal(a.clock.reset_count, 7);
    assert_int_equal(a.clock.restart_count, 1);
    assert_int_equal(a.pcr_mask, (1u << 8) | (1u << 11));
    assert_int_equal(a.pcr_hash, FWS_TPM_ALG_SHA256);
    assert_int_equal(a.pcr_digest_len, 32);
    assert_int_equal(a.signer_len, FWS_ATTEST_NAME_LEN);
}

static void test_quote_every_truncation_fails(void **state)
{
    fixture *f = *state;
    fws_tpms_attest a;
    memset(&a, 0x5a, sizeof(a));
    for (size_t n = 0; n < f->ev.quote_len; n++) {
        fws_errbuf eb = {{0}};
        assert_int_equal(fws_tpms_attest_parse(f->ev.quote, n, &a, &eb), FWS_ERR_FORMAT);
        assert_true(eb.msg[0] != '\0');
    }
    assert_int_equal(a.magic, 0x5a5a5a5a); /* never written on failure */
    uint8_t longer[FWS_ATTEST_QUOTE_MAX];
    memcpy(longer, f->ev.quote, f->ev.quote_len);
    longer[f->ev.quote_len] = 0;
    fws_errbuf eb = {{0}};
    assert_int_equal(fws_tpms_attest_parse(longer, f->ev.quote_len + 1, &a, &eb), FWS_ERR_FORMAT);
    assert_non_null(strstr(eb.msg, "trailing"));
    assert_int_equal(fws_tpms_attest_parse(longer, FWS_ATTEST_QUOTE_MAX + 1, &a, NULL),
                     FWS_ERR_TOO_BIG);
}

static void test_quote_bad_fields(void **state)
{
    fixture *f = *state;
    fws_tpms_attest a;
    uint8_t q[FWS_ATTEST_QUOTE_MAX];
    size_t n = f->ev.quote_len;
    fws_errbuf eb = {{0}};
    /* magic */
    memcpy(q, f->ev.quote, n);
    q[0] ^= 1;
    assert_int_equal(fws_tpms_attest_parse(q, n, &a, &eb), FWS_ERR_FORMAT);
    assert_non_null(strstr(eb.msg, "magic"));
    /* type: a certify, not a quote */
    memcpy(q, f->ev.quote, n);
    q[5] = 0x17;
    fws_errbuf_clear(&eb);
    assert_int_equal(fws_tpms_attest_parse(q, n, &a, &eb), FWS_ERR_FORMAT);
    assert_non_null(strstr(eb.msg, "not a quote"));
    /* qualifiedSigner size over its cap (66) */
    memcpy(q, f->ev.quote, n);
    q[6] = 0x00, q[7] = 67;
    fws_errbuf_clear(&eb);
    assert_int_equal(fws_tpms_attest_parse(q, n, &a, &eb), FWS_ERR_FORMAT);
    assert_non_null(strstr(eb.msg, "qualifiedSigner"));
    /* qualifiedSigner size running past the end */
    q[6] = 0xff, q[7] = 0xff;
    assert_int_equal(fws_tpms_attest_parse(q, n, &a, NULL), FWS_ERR_FORMAT);
    /* safe must be 0 or 1: offset = 6 + 2 + 34 + 2 + 32 + 8 + 4 + 4 */
    size_t safe = 6 + 2 + 34 + 2 + 32 + 8 + 4 + 4;
    memcpy(q, f->ev.quote, n);
    q[safe] = 2;
    fws_errbuf_clear(&eb);
    assert_int_equal(fws_tpms_attest_parse(q, n, &a, &eb), FWS_ERR_FORMAT);
    assert_non_null(strstr(eb.msg, "safe"));
    /* the selection: count 2 is unsupported, count 0 malformed, PCR above 23, size 5 */
    size_t count = safe + 1 + 8;
    memcpy(q, f->ev.quote, n);
    q[count + 3] = 2;
    assert_int_equal(fws_tpms_attest_parse(q, n, &a, NULL), FWS_ERR_UNSUPPORTED);
    q[count + 3] = 0;
    assert_int_equal(fws_tpms_attest_parse(q, n, &a, NULL), FWS_ERR_FORMAT);
    memcpy(q, f->ev.quote, n);
    q[count + 6] = 5;
    assert_int_equal(fws_tpms_attest_parse(q, n, &a, NULL), FWS_ERR_FORMAT);
    /* a fourth select byte with a PCR above 23 */
    uint8_t wide[FWS_ATTEST_QUOTE_MAX];
    memcpy(wide, f->ev.quote, count + 6);
    wide[count + 6] = 4;
    memcpy(wide + count + 7, f->ev.quote + count + 7, 3);
    wide[count + 10] = 0x01;
    memcpy(wide + count + 11, f->ev.quote + count + 10, n - count - 10);
    fws_errbuf_clear(&eb);
    assert_int_equal(fws_tpms_attest_parse(wide, n + 1, &a, &eb), FWS_ERR_FORMAT);
    assert_non_null(strstr(eb.msg, "above 23"));
    wide[count + 10] = 0x00; /* four bytes, none above 23: fine */
    assert_int_equal(fws_tpms_attest_parse(wide, n + 1, &a, NULL), FWS_OK);
    assert_int_equal(fws_tpms_attest_parse(NULL, 0, &a, NULL), FWS_ERR_FORMAT);
    assert_int_equal(fws_tpms_attest_parse(q, n, NULL, NULL), FWS_ERR_ARG);
}

/* ---- TPMT_SIGNATURE and TPMT_PUBLIC ------------------------------------------------------- */

static void test_signature_parse(void **state)
{
    fixture *f = *state;
    fws_tpmt_signature s;
    uint8_t b[FWS_ATTEST_SIG_MAX];
    assert_int_equal(fws_tpmt_signature_parse(f->ev.sig, f->ev.sig_len, &s, NULL), FWS_OK);
    assert_int_equal(s.sig_alg, FWS_TPM_ALG_ECDSA);
    assert_int_equal(s.r_len, 32);
    for (size_t n = 0; n < f->ev.sig_len; n++)
        assert_int_not_equal(fws_tpmt_signature_parse(f->ev.sig, n, &s, NULL), FWS_OK);
    memcpy(b, f->ev.sig, f->ev.sig_len);
    b[1] = 0x14; /* RSASSA */
    assert_int_equal(fws_tpmt_signature_parse(b, f->ev.sig_len, &s, NULL), FWS_ERR_UNSUPPORTED);
    memcpy(b, f->ev.sig, f->ev.sig_len);
    b[3] = 0x0c; /* SHA-384 */
    assert_int_equal(fws_tpmt_signature_parse(b, f->ev.sig_len, &s, NULL), FWS_ERR_UNSUPPORTED);
    memcpy(b, f->ev.sig, f->ev.sig_len);
    b[5] = 33; /* r over 32 bytes */
    assert_int_equal(fws_tpmt_signature_parse(b, f->ev.sig_len, &s, NULL), FWS_ERR_FORMAT);
}

static void test_public_parse(void **state)
{
    fixture *f = *state;
    fws_tpmt_public k;
    uint8_t raw[65], b[FWS_ATTEST_PUB_MAX];
    size_t n = 0;
    assert_int_equal(fws_tpmt_public_parse(f->ev.ak_public, f->ev.ak_public_len, &k, NULL), FWS_OK);
    assert_int_equal(fws_key_raw_public(f->pub, raw, sizeof(raw), &n), FWS_OK);
    assert_memory_equal(k.point, raw, 65);
    assert_int_equal(k.attributes & FWS_TPMA_RESTRICTED, 0);
    assert_int_equal(k.name[0], 0x00);
    assert_int_equal(k.name[1], 0x0b);
    for (size_t i = 0; i < f->ev.ak_public_len; i++)
        assert_int_not_equal(fws_tpmt_public_parse(f->ev.ak_public, i, &k, NULL), FWS_OK);
    memcpy(b, f->ev.ak_public, f->ev.ak_public_len);
    b[1] = 0x01; /* RSA */
    assert_int_equal(fws_tpmt_public_parse(b, f->ev.ak_public_len, &k, NULL), FWS_ERR_UNSUPPORTED);
    memcpy(b, f->ev.ak_public, f->ev.ak_public_len);
    b[5] |= 0x02; /* decrypt as well as sign (bit 17 of the attributes at offset 4) */
    assert_int_equal(fws_tpmt_public_parse(b, f->ev.ak_public_len, &k, NULL), FWS_ERR_KEY_TYPE);
}

/* ---- evidence ------------------------------------------------------------------------------ */

static void test_evidence_round_trip(void **state)
{
    fixture *f = *state;
    char *json = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    fws_attest_evidence *back = calloc(1, sizeof(*back));
    snprintf(f->ev.device, sizeof(f->ev.device), "dev-9");
    f->ev.ak_cert[0] = 0x30;
    f->ev.ak_cert_len = 1;
    assert_int_equal(fws_attest_evidence_encode(&f->ev, &json, &len), FWS_OK);
    assert_int_equal(fws_attest_evidence_decode((const uint8_t *)json, len, back, NULL), FWS_OK);
    assert_int_equal(fws_attest_evidence_encode(back, &again, &len2), FWS_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(json, again, len); /* canonical: one spelling */
    assert_int_equal(back->log.n, 2);
    assert_int_equal(back->pcr_mask, (1u << 8) | (1u << 11));
    assert_memory_equal(back->pcrs[11], f->ev.pcrs[11], 32);
    assert_int_equal(back->assurance, FWS_ASSURANCE_SOFTWARE);
    free(json);
    free(again);
    free(back);
}

static void expect_decode(const char *json, fws_err want, const char *needle)
{
    fws_attest_evidence *e = calloc(1, sizeof(*e));
    fws_errbuf eb = {{0}};
    fws_err got = fws_attest_evidence_decode((const uint8_t *)json, strlen(json), e, &eb);
    if (got != want || (needle != NULL && strstr(eb.msg, needle) == NULL))
        fail_msg("decode gave %d (%s), want %d with \"%s\"", got, eb.msg, want, needle);
    free(e);
}

static void test_evidence_bad(void **state)
{
    fixture *f = *state;
    char *json = NULL, buf[16384];
    size_t len = 0;
    snprintf(f->ev.device, sizeof(f->ev.device), "dev-9");
    f->ev.ak_cert[0] = 0x30;
    f->ev.ak_cert_len = 1;
    assert_int_equal(fws_attest_evidence_encode(&f->ev, &json, &len), FWS_OK);
    expect_decode("[", FWS_ERR_FORMAT, NULL);
    expect_decode("[]", FWS_ERR_SCHEMA, "object");
    /* an unknown field, a missing one, a wrong format, bad base64, a bad device name */
    snprintf(buf, sizeof(buf), "{\"x\":1,%s", json + 1);
    expect_decode(buf, FWS_ERR_SCHEMA, "\"x\"");
    struct {
        const char *from, *to;
        fws_err want;
        const char *needle;
    } cases[] = {
        {"\"format\":\"fwseal-attest-evidence/v1\"", "\"format\":\"v2\"", FWS_ERR_SCHEMA, "format"},
        {"\"assurance\":\"software\"", "\"assurance\":\"strong\"", FWS_ERR_SCHEMA, "assurance"},
        {"\"device\":\"dev-9\"", "\"device\":\"dev 9\"", FWS_ERR_SCHEMA, "device"},
        {"\"pcrBank\":\"sha256\"", "\"pcrBank\":\"sha1\"", FWS_ERR_UNSUPPORTED, "sha1"},
        {"\"pcrSelection\":[8,11]", "\"pcrSelection\":[8,8]", FWS_ERR_SCHEMA, "pcrSelection"},
        {"\"pcrSelection\":[8,11]", "\"pcrSelection\":[8,24]", FWS_ERR_SCHEMA, "pcrSelection"},
        {"\"pcrSelection\":[8,11]", "\"pcrSelection\":[8]", FWS_ERR_SCHEMA, "pcrs"},
        {"\"akCert\":\"MA==\"", "\"akCert\":\"MA=\"", FWS_ERR_FORMAT, "akCert"},
        {"\"akCert\":\"MA==\"", "\"akCert\":\"\"", FWS_ERR_SCHEMA, "empty"},
        {"\"stage\":\"app\"", "\"stage\":\"App\"", FWS_ERR_SCHEMA, "eventLog[1].stage"},
        {"\"pcr\":11,\"stage\"", "\"pcr\":24,\"stage\"", FWS_ERR_SCHEMA, "eventLog[1].pcr"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *at = strstr(json, cases[i].from);
        if (at == NULL)
            fail_msg("case %zu: %s not in %s", i, cases[i].from, json);
        snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - json), json, cases[i].to,
                 at + strlen(cases[i].from));
        expect_decode(buf, cases[i].want, cases[i].needle);
    }
    free(json);
}

/* ---- event log ------------------------------------------------------------------------------- */

static void test_log(void **state)
{
    fixture *f = *state;
    fws_attest_log log, back;
    uint8_t pcrs[FWS_ATTEST_PCRS][32], want[32], zero[64], d[32];
    uint32_t touched = 0;
    char path[] = "/tmp/fwseal-attest-log.XXXXXX";
    memset(&log, 0, sizeof(log));
    memset(zero, 0, sizeof(zero));
    fws_sha256("x", 1, d);
    assert_int_equal(fws_attest_log_add(&log, 24, "x", d), FWS_ERR_ARG);
    assert_int_equal(fws_attest_log_add(&log, 1, "", d), FWS_ERR_ARG);
    assert_int_equal(fws_attest_log_add(&log, 1, "UPPER", d), FWS_ERR_ARG);
    assert_int_equal(fws_attest_log_add(&log, 1, "a-very-long-stage-name-over-32-bytes", d),
                     FWS_ERR_ARG);
    for (int i = 0; i < FWS_ATTEST_EVENTS_MAX; i++)
        assert_int_equal(fws_attest_log_add(&log, 3, "s", d), FWS_OK);
    assert_int_equal(fws_attest_log_add(&log, 3, "s", d), FWS_ERR_TOO_BIG);
    /* replay: PCR 8 = SHA-256(0^32 || digest) */
    fws_attest_log_replay(&f->log, pcrs, &touched);
    assert_int_equal(touched, (1u << 8) | (1u << 11));
    memcpy(zero + 32, f->log.ev[0].digest, 32);
    fws_sha256(zero, 64, want);
    assert_memory_equal(pcrs[8], want, 32);
    /* a file round trip */
    int fd = mkstemp(path);
    close(fd);
    assert_int_equal(fws_attest_log_save(&f->log, path, NULL), FWS_OK);
    assert_int_equal(fws_attest_log_load(path, 0, &back, NULL), FWS_OK);
    assert_int_equal(back.n, 2);
    assert_memory_equal(&back.ev[1], &f->log.ev[1], sizeof(back.ev[1]));
    unlink(path);
    assert_int_equal(fws_attest_log_load(path, 0, &back, NULL), FWS_ERR_NOT_FOUND);
    assert_int_equal(fws_attest_log_load(path, 1, &back, NULL), FWS_OK);
    assert_int_equal(back.n, 0);
}

/* ---- policy ---------------------------------------------------------------------------------- */

#define POLICY_HEAD "{\"format\":\"fwseal-attest-policy/v1\",\"maxAgeSeconds\":600,"
#define STAGE_OK "{\"name\":\"app\",\"pcr\":11,\"ledgerProduct\":\"hub\"}"

static void expect_policy(const char *text, fws_err want, const char *needle)
{
    fws_attest_policy *p = calloc(1, sizeof(*p));
    fws_errbuf eb = {{0}};
    fws_err got = fws_attest_policy_parse((const uint8_t *)text, strlen(text), p, &eb);
    if (got != want || (needle != NULL && strstr(eb.msg, needle) == NULL))
        fail_msg("policy gave %d (%s), want %d with \"%s\"", got, eb.msg, want, needle);
    free(p);
}

static void test_policy(void **state)
{
    fws_attest_policy p;
    const char *good = POLICY_HEAD "\"minAssurance\":\"software\",\"unexpectedReboot\":\"deny\","
                                   "\"minTrustScore\":40,\"stages\":[" STAGE_OK
                                   ",{\"name\":\"boot\",\"pcr\":8,\"digests\":[\""
                                   "00000000000000000000000000000000000000000000000000000000000000"
                                   "01\"]}],\"recovery\":[{\"product\":\"hub\",\"version\":"
                                   "\"1.0.0\"}]}";
    (void)state;
    assert_int_equal(fws_attest_policy_parse((const uint8_t *)good, strlen(good), &p, NULL),
                     FWS_OK);
    assert_int_equal(p.max_age, 600);
    assert_int_equal(p.min_assurance, FWS_ASSURANCE_SOFTWARE);
    assert_int_equal(p.on_reboot, FWS_REBOOT_DENY);
    assert_int_equal(p.min_score, 40);
    assert_int_equal(p.n_stages, 2);
    assert_string_equal(p.stages[0].ledger_product, "hub");
    assert_int_equal(p.stages[1].n_digests, 1);
    assert_int_equal(p.stages[1].digests[0][31], 1);
    assert_int_equal(fws_attest_policy_pcrs(&p), (1u << 8) | (1u << 11));
    assert_int_equal(p.n_recovery, 1);
    expect_policy("{", FWS_ERR_FORMAT, NULL);
    expect_policy(POLICY_HEAD "\"minAssurance\":\"tpm\",\"stages\":[" STAGE_OK "],\"x\":1}",
                  FWS_ERR_SCHEMA, "\"x\"");
    expect_policy(POLICY_HEAD "\"minAssurance\":\"none\",\"stages\":[" STAGE_OK "]}",
                  FWS_ERR_SCHEMA, "minAssurance");
    expect_policy(POLICY_HEAD "\"minAssurance\":\"tpm\",\"stages\":[]}", FWS_ERR_SCHEMA, "stages");
    expect_policy(POLICY_HEAD "\"minAssurance\":\"tpm\",\"stages\":[{\"name\":\"app\",\"pcr\":"
                              "11}]}",
                  FWS_ERR_SCHEMA, "reference values");
    expect_policy(POLICY_HEAD "\"minAssurance\":\"tpm\",\"stages\":[" STAGE_OK "," STAGE_OK "]}",
                  FWS_ERR_SCHEMA, "repeats");
    expect_policy(POLICY_HEAD "\"minAssurance\":\"tpm\",\"stages\":[{\"name\":\"app\",\"pcr\":"
                              "24,\"ledgerProduct\":\"hub\"}]}",
                  FWS_ERR_SCHEMA, "pcr");
    expect_policy(POLICY_HEAD "\"minAssurance\":\"tpm\",\"unexpectedReboot\":\"panic\","
                              "\"stages\":[" STAGE_OK "]}",
                  FWS_ERR_SCHEMA, "unexpectedReboot");
    expect_policy(POLICY_HEAD "\"minAssurance\":\"tpm\",\"stages\":[{\"name\":\"app\",\"pcr\":11,"
                              "\"digests\":[\"AB\"]}]}",
                  FWS_ERR_SCHEMA, "digests[0]");
    expect_policy("{\"format\":\"fwseal-attest-policy/v1\",\"maxAgeSeconds\":0,"
                  "\"minAssurance\":\"tpm\",\"stages\":[" STAGE_OK "]}",
                  FWS_ERR_SCHEMA, "maxAgeSeconds");
}

/* ---- decisions and trust ----------------------------------------------------------------------
 */

static fws_attest_policy *small_policy(const char *reboot)
{
    static fws_attest_policy p;
    char text[1024];
    snprintf(text, sizeof(text),
             POLICY_HEAD "\"minAssurance\":\"tpm\",\"unexpectedReboot\":\"%s\",\"minTrustScore\":"
                         "50,\"stages\":[" STAGE_OK "],\"recovery\":[{\"product\":\"hub\","
                         "\"version\":\"0.9-rescue\"}]}",
             reboot);
    assert_int_equal(fws_attest_policy_parse((const uint8_t *)text, strlen(text), &p, NULL),
                     FWS_OK);
    return &p;
}

static void test_decide(void **state)
{
    fws_attest_result r;
    fws_attest_decision d;
    fws_attest_policy *p = small_policy("deny");
    (void)state;
    memset(&r, 0, sizeof(r));
    r.pass = 1;
    r.assurance = FWS_ASSURANCE_TPM;
    r.time = 1000;
    fws_attest_decide(p, &r, 90, 1500, &d);
    assert_int_equal(d.action, FWS_ATTEST_ALLOW);
    assert_int_equal(d.n_reasons, 0);
    assert_true(fws_attest_may_offer(&d, p, "hub", "2.0"));
    fws_attest_decide(p, NULL, 90, 1500, &d);
    assert_int_equal(d.action, FWS_ATTEST_DENY);
    assert_false(fws_attest_may_offer(&d, p, "hub", "0.9-rescue"));
    fws_attest_decide(p, &r, 90, 1601, &d); /* stale */
    assert_int_equal(d.action, FWS_ATTEST_DENY);
    assert_non_null(strstr(d.reasons[0], "601 s old"));
    fws_attest_decide(p, &r, 90, 999, &d); /* from the future */
    assert_int_equal(d.action, FWS_ATTEST_DENY);
    fws_attest_decide(p, &r, 49, 1500, &d); /* low score */
    assert_int_equal(d.action, FWS_ATTEST_DENY);
    assert_non_null(strstr(d.reasons[0], "trust score 49"));
    r.flags = FWS_ATTEST_FLAG_REBOOT;
    fws_attest_decide(p, &r, 90, 1500, &d);
    assert_int_equal(d.action, FWS_ATTEST_DENY);
    fws_attest_decide(small_policy("quarantine"), &r, 90, 1500, &d);
    assert_int_equal(d.action, FWS_ATTEST_QUARANTINE);
    fws_attest_decide(small_policy("flag"), &r, 90, 1500, &d);
    assert_int_equal(d.action, FWS_ATTEST_ALLOW);
    /* failed: quarantine with the verifier's reasons, recovery release only */
    p = small_policy("deny");
    r.flags = 0;
    r.pass = 0;
    r.n_reasons = 2;
    r.reasons[0].code = FWS_OK;
    snprintf(r.reasons[0].text, sizeof(r.reasons[0].text), "unexpected reboot");
    r.reasons[1].code = FWS_ERR_DIGEST;
    snprintf(r.reasons[1].text, sizeof(r.reasons[1].text), "stage app: digest 00 is not known");
    fws_attest_decide(p, &r, 10, 1500, &d);
    assert_int_equal(d.action, FWS_ATTEST_QUARANTINE);
    assert_non_null(strstr(d.reasons[0], "stage app"));
    assert_true(d.n_reasons == 2); /* the failure and the low score */
    assert_false(fws_attest_may_offer(&d, p, "hub", "2.0"));
    assert_true(fws_attest_may_offer(&d, p, "hub", "0.9-rescue"));
    assert_string_equal(fws_attest_action_name(d.action), "quarantine");
}

static int factor_points(const fws_attest_trust *t, const char *name)
{
    for (int i = 0; i < FWS_TRUST_FACTORS; i++) {
        if (strcmp(t->factors[i].name, name) == 0)
            return t->factors[i].points;
    }
    fail_msg("no factor %s", name);
    return -1;
}

static void test_trust_score(void **state)
{
    fws_attest_result r;
    fws_attest_trust t;
    const char *full = "{\"type\":\"provision\",\"schema\":1,\"time\":\"2026-01-01T00:00:00Z\","
                       "\"device\":\"d1\",\"serial\":\"S1\",\"model\":\"hub\",\"batch\":\"B1\","
                       "\"environment\":\"prod\",\"certificate\":{\"sha256\":\"00\"},"
                       "\"bomVersion\":\"1\",\"station\":\"s\",\"operator\":\"o\","
                       "\"checks\":{\"wifi\":\"pass\"}}";
    (void)state;
    memset(&r, 0, sizeof(r));
    r.pass = 1;
    r.assurance = FWS_ASSURANCE_TPM;
    r.time = 1000;
    fws_attest_trust_input in = {&r, 1100, 600, FWS_TRUST_CERT_VALID, full, strlen(full), 0,
                                 10, 0,    0};
    fws_attest_trust_score(&in, &t);
    assert_int_equal(t.score, 100);
    /* each factor moves the score by its own points */
    in.now = 1000 + 601;
    fws_attest_trust_score(&in, &t);
    assert_int_equal(factor_points(&t, "attestation"), 15);
    in.now = 1100;
    r.assurance = FWS_ASSURANCE_SOFTWARE;
    fws_attest_trust_score(&in, &t);
    assert_int_equal(factor_points(&t, "assurance"), 5);
    assert_int_equal(t.score, 90);
    r.assurance = FWS_ASSURANCE_TPM;
    in.cert = FWS_TRUST_CERT_REVOKED;
    in.batch_flagged = 1;
    fws_attest_trust_score(&in, &t);
    assert_int_equal(t.score, 75);
    assert_string_equal(t.factors[4].detail, "the device's batch is flagged");
    in.cert = FWS_TRUST_CERT_VALID;
    in.batch_flagged = 0;
    in.history_pass = 5;
    in.history_fail = 5;
    in.history_flagged = 1;
    fws_attest_trust_score(&in, &t);
    assert_int_equal(factor_points(&t, "history"), 4);
    in.provision_record = "{\"type\":\"provision\",\"device\":\"d1\"}";
    in.provision_len = strlen(in.provision_record);
    fws_attest_trust_score(&in, &t);
    assert_int_equal(factor_points(&t, "provisioning"), 0);
    r.pass = 0;
    in.provision_record = NULL;
    fws_attest_trust_score(&in, &t);
    assert_int_equal(factor_points(&t, "attestation"), 0);
    assert_int_equal(factor_points(&t, "assurance"), 0);
    in.last = NULL;
    in.history_pass = in.history_fail = in.history_flagged = 0;
    in.cert = FWS_TRUST_CERT_UNKNOWN;
    fws_attest_trust_score(&in, &t);
    assert_int_equal(t.score, 18); /* batch 10, history 8 */
    json_t *j = NULL;
    assert_int_equal(fws_attest_trust_json(&t, &j), FWS_OK);
    assert_int_equal(json_integer_value(json_object_get(j, "score")), 18);
    assert_int_equal(json_array_size(json_object_get(j, "factors")), FWS_TRUST_FACTORS);
    json_decref(j);
}

static void test_refs(void **state)
{
    fws_attest_refs *r = NULL;
    uint8_t d[32], e[32];
    (void)state;
    fws_sha256("d", 1, d);
    fws_sha256("e", 1, e);
    assert_int_equal(fws_attest_refs_new(&r), FWS_OK);
    assert_int_equal(fws_attest_refs_add(r, "app", d, "policy"), FWS_OK);
    assert_int_equal(fws_attest_refs_add(r, "app", d, "again"), FWS_OK);
    assert_int_equal(fws_attest_refs_count(r), 1);
    assert_string_equal(fws_attest_refs_find(r, "app", d), "policy");
    assert_null(fws_attest_refs_find(r, "app", e));
    assert_null(fws_attest_refs_find(r, "kernel", d)); /* a digest counts only for its stage */
    assert_int_equal(fws_attest_refs_add(r, "Bad Stage", e, "x"), FWS_ERR_ARG);
    fws_attest_refs_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_parses),
        cmocka_unit_test(test_quote_every_truncation_fails),
        cmocka_unit_test(test_quote_bad_fields),
        cmocka_unit_test(test_signature_parse),
        cmocka_unit_test(test_public_parse),
        cmocka_unit_test(test_evidence_round_trip),
        cmocka_unit_test(test_evidence_bad),
        cmocka_unit_test(test_log),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_trust_score),
        cmocka_unit_test(test_refs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
