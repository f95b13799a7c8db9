/* fws_audit_run on a deployment seeded with the real commands (fwseal init, release add, ca init,
 * provision, device revoke, log append) and a store seeded through the library with reports
 * signed by the devices' own keys: nothing is reported on the clean deployment, then each
 * planted problem is found (unknown digest, forged report, expiring and revoked certificates,
 * a release without an SBOM, a forked ledger). Audit bundles of the same deployment verify
 * offline and refuse altered bytes; a bundle made before any schema change (a fixture) still
 * verifies. Needs the fwseal binary ($FWSEAL). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "fwseal/audit.h"
#include "fwseal/dsse.h"
#include "fwseal/json.h"
#include "fwseal/ledger.h"
#include "fwseal/store.h"
#include "fwseal/util.h"

#define NDEV 4

static char T[64], D[128];
static char dev_id[NDEV + 1][40];
static uint8_t fw_sha[3][32];
static int64_t now;

static int sh(const char *fmt, ...) FWS_PRINTF(1, 2);
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static const char *fwseal(void)
{
    const char *f = getenv("FWSEAL");
    return f != NULL ? f : "fwseal";
}

static void write_file(const char *path, const void *data, size_t len)
{
    assert_int_equal(fws_file_write_atomic(path, data, len, 0644, 1, NULL), FWS_OK);
}

static void json_field(const char *path, const char *key, char *out, size_t cap)
{
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *o = NULL;
    const char *v = NULL;
    assert_int_equal(fws_file_read(path, 1 << 20, &data, &len, NULL), FWS_OK);
    assert_int_equal(fws_json_parse(data, len, 0, NULL, &o, NULL), FWS_OK);
    assert_int_equal(fws_json_get_string(o, key, &v, NULL), FWS_OK);
    snprintf(out, cap, "%s", v);
    json_decref(o);
    free(data);
}

/* A report envelope signed by key (the device's own, or another for a forgery); takes key. */
static void add_report(fws_store *s, const char *device, fws_key *key, const uint8_t sha[32],
                       int64_t received, int seq)
{
    char hex[65], id[64], *payload = NULL, *env = NULL;
    size_t plen = 0, elen = 0;
    fws_signer signer;
    fws_hex_encode(sha, 32, hex);
    snprintf(id, sizeof(id), "%s-%d", device, seq);
    json_t *o = json_pack("{s:s, s:i, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:i}, s:s, "
                          "s:s, s:s, s:s}",
                          "type", "install", "schema", 1, "id", id, "seq", seq, "device", device,
                          "product", "hub", "fromVersion", "1.0.0", "toVersion", "1.1.0", "target",
                          "hub/1.1.0/fw2.bin", "url", "https://example/fw2", "image", "sha256", hex,
                          "length", 2000, "result", "success", "reason", "", "slot", "B", "time",
                          "2026-01-01T00:00:00Z");
    assert_non_null(o);
    assert_int_equal(fws_json_canonical(o, &payload, &plen), FWS_OK);
    json_decref(o);
    assert_int_equal(fws_signer_from_key(key, &signer), FWS_OK);
    const fws_signer *signers[1] = {&signer};
    assert_int_equal(fws_dsse_sign("application/vnd.fwseal.report+json", (uint8_t *)payload, plen,
                                   signers, 1, &env, &elen, NULL),
                     FWS_OK);
    fws_signer_free(&signer);
    int64_t rid = 0;
    assert_int_equal(fws_store_report_add(s, device, FWS_STORE_REPORT_INSTALL, (uint8_t *)env, elen,
                                          received, &rid, NULL, NULL),
                     FWS_OK);
    free(payload);
    free(env);
}

static fws_key *device_key(int i)
{
    char path[256];
    fws_key *k = NULL;
    fws_passphrase pp;
    snprintf(path, sizeof(path), "%s/b%d/device.key", T, i);
    assert_int_equal(fws_passphrase_get(NULL, 0, NULL, &pp, NULL), FWS_OK);
    assert_int_equal(fws_key_load_private(path, &pp, &k, NULL), FWS_OK);
    fws_passphrase_wipe(&pp);
    return k;
}

static void provision(int i, unsigned validity_days)
{
    char extra[64] = "", json[256];
    if (validity_days)
        snprintf(extra, sizeof(extra), "--validity-days %u", validity_days);
    assert_int_equal(sh("%s provision --dir %s --env dev --serial SN-%d --model hub-v2 --batch L1 "
                        "%s --out %s/b%d --json >%s/p%d.json",
                        fwseal(), D, i, extra, T, i, T, i),
                     0);
    snprintf(json, sizeof(json), "%s/p%d.json", T, i);
    json_field(json, "device", dev_id[i], sizeof(dev_id[i]));
}

static void release(int n, int sbom)
{
    char image[128];
    snprintf(image, sizeof(image), "%s/fw%d.bin", T, n);
    uint8_t data[2000];
    memset(data, 'A' + n, sizeof(data));
    write_file(image, data, sizeof(data));
    fws_sha256(data, sizeof(data), fw_sha[n - 1]);
    char opt[128] = "";
    if (sbom)
        snprintf(opt, sizeof(opt), "--sbom %s/sbom.json", T);
    assert_int_equal(sh("%s release add --dir %s %s --product hub --version 1.%d.0 --hardware "
                        "hub-v2 --security-counter 1 %s >/dev/null",
                        fwseal(), D, image, n - 1, opt),
                     0);
}

static const char sbom_json[] =
    "{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\", \"version\": 1,"
    " \"serialNumber\": \"urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79\","
    " \"components\": [{\"type\": \"firmware\", \"name\": \"hub\", \"version\": \"1\"}]}";

static void seed_store(void)
{
    char path[256];
    fws_store *s = NULL;
    snprintf(path, sizeof(path), "%s/fwseal.sqlite", D);
    assert_int_equal(fws_store_open(path, &s, NULL), FWS_OK);
    for (int i = 0; i < NDEV; i++) {
        fws_store_device d;
        memset(&d, 0, sizeof(d));
        snprintf(d.id, sizeof(d.id), "%s", dev_id[i]);
        snprintf(d.environment, sizeof(d.environment), "dev");
        snprintf(d.model, sizeof(d.model), "hub-v2");
        d.status = FWS_STORE_DEV_ACTIVE;
        d.attested_at = now;
        d.attest_result = FWS_STORE_ATTEST_PASS;
        d.created_at = d.updated_at = now;
        assert_int_equal(fws_store_device_put(s, &d, NULL, NULL), FWS_OK);
        assert_int_equal(fws_store_device_set_installed(s, d.id, "1.1.0", fw_sha[1], now, NULL),
                         FWS_OK);
        add_report(s, d.id, device_key(i), fw_sha[1], now, 1);
    }
    fws_store_close(s);
}

static int group_setup(void **state)
{
    (void)state;
    char path[256];
    snprintf(T, sizeof(T), "/tmp/fwseal-audit-fleet.XXXXXX");
    if (mkdtemp(T) == NULL)
        return -1;
    snprintf(D, sizeof(D), "%s/D", T);
    setenv("FWSEAL_PASSPHRASE", "audit test", 1);
    now = (int64_t)time(NULL);
    snprintf(path, sizeof(path), "%s/sbom.json", T);
    write_file(path, sbom_json, strlen(sbom_json));
    if (sh("%s init --dir %s --origin example.com/fleet >/dev/null", fwseal(), D) != 0 ||
        sh("%s ca init --dir %s --env dev >/dev/null", fwseal(), D) != 0 ||
        sh("%s device model add --dir %s hub-v2 >/dev/null", fwseal(), D) != 0)
        return -1;
    release(1, 1);
    release(2, 1);
    for (int i = 0; i < NDEV; i++)
        provision(i, 0);
    seed_store();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (getenv("FWS_KEEP") == NULL)
        sh("rm -rf %s", T);
    return 0;
}

static fws_audit_report *audit(void)
{
    char st[128];
    fws_audit_report *r = NULL;
    fws_errbuf eb = {{0}};
    snprintf(st, sizeof(st), "%s/state", T);
    fws_audit_opts o = {.deploy = D, .state_dir = st, .now = now + 60, .threads = 2};
    fws_err err = fws_audit_run(&o, &r, &eb);
    if (err != FWS_OK)
        fail_msg("audit: %s", eb.msg);
    return r;
}

/* How many findings of a check, at a level, name subject (NULL: any). */
static size_t found(const fws_audit_report *r, const char *check, fws_audit_level level,
                    const char *subject)
{
    const fws_audit_finding *f = NULL;
    size_t n = fws_audit_report_findings(r, &f), hits = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(f[i].check, check) == 0 && f[i].level == level &&
            (subject == NULL || strcmp(f[i].subject, subject) == 0))
            hits++;
    }
    return hits;
}

static void print_findings(const fws_audit_report *r)
{
    const fws_audit_finding *f = NULL;
    size_t n = fws_audit_report_findings(r, &f);
    for (size_t i = 0; i < n; i++)
        print_message("  %s %s %s: %s\n", fws_audit_level_name(f[i].level), f[i].check,
                      f[i].subject, f[i].detail);
}

static void clean_deployment(void **state)
{
    (void)state;
    fws_audit_report *r = audit();
    json_t *j = NULL;
    print_findings(r);
    assert_int_equal(fws_audit_report_count(r, FWS_AUDIT_RED), 0);
    assert_int_equal(fws_audit_report_count(r, FWS_AUDIT_WARN), 0);
    assert_int_equal(fws_audit_report_json(r, &j), FWS_OK);
    json_t *stats = json_object_get(j, "statistics");
    assert_int_equal(json_integer_value(json_object_get(stats, "reportsVerified")), NDEV);
    assert_int_equal(json_integer_value(json_object_get(stats, "devices")), NDEV);
    assert_int_equal(json_integer_value(json_object_get(stats, "releases")), 2);
    json_decref(j);
    char *html = NULL;
    size_t len = 0;
    assert_int_equal(fws_audit_report_html(r, &html, &len), FWS_OK);
    assert_non_null(strstr(html, "<svg"));
    assert_null(strstr(html, "<script"));
    free(html);
    fws_audit_report_free(r);
}

static json_int_t stat_of(const fws_audit_report *r, const char *key)
{
    json_t *j = NULL;
    assert_int_equal(fws_audit_report_json(r, &j), FWS_OK);
    json_int_t v = json_integer_value(json_object_get(json_object_get(j, "statistics"), key));
    json_decref(j);
    return v;
}

/* With --state, a report whose signature verified in an earlier audit is remembered, not
 * verified again; a cache the state's secret did not make, or a damaged one, remembers
 * nothing and every signature is checked. */
static void remembered_signatures(void **state)
{
    (void)state;
    fws_audit_report *r = audit(); /* clean_deployment's audit filled the cache */
    assert_int_equal(fws_audit_report_count(r, FWS_AUDIT_RED), 0);
    assert_int_equal(stat_of(r, "reportsVerified"), NDEV);
    assert_int_equal(stat_of(r, "reportsRemembered"), NDEV);
    fws_audit_report_free(r);
    /* another secret: the same tags mean nothing */
    assert_int_equal(sh("head -c 32 /dev/urandom > %s/state/report-cache.key", T), 0);
    r = audit();
    assert_int_equal(stat_of(r, "reportsVerified"), NDEV);
    assert_int_equal(stat_of(r, "reportsRemembered"), 0);
    fws_audit_report_free(r);
    /* a damaged cache file is ignored, then rewritten */
    assert_int_equal(sh("for f in %s/state/reports-*; do head -c 20 \"$f\" > \"$f.x\" && "
                        "mv \"$f.x\" \"$f\"; done",
                        T),
                     0);
    r = audit();
    assert_int_equal(fws_audit_report_count(r, FWS_AUDIT_RED), 0);
    assert_int_equal(stat_of(r, "reportsRemembered"), 0);
    fws_audit_report_free(r);
    r = audit();
    assert_int_equal(stat_of(r, "reportsRemembered"), NDEV);
    fws_audit_report_free(r);
}

static void planted_problems(void **state)
{
    (void)state;
    char path[256];
    fws_store *s = NULL;
    uint8_t unknown[32];
    fws_key *forger = NULL;
    snprintf(path, sizeof(path), "%s/fwseal.sqlite", D);
    assert_int_equal(fws_store_open(path, &s, NULL), FWS_OK);
    /* 1. a device runs firmware no release record names */
    memset(unknown, 0x5a, sizeof(unknown));
    assert_int_equal(fws_store_device_set_installed(s, dev_id[0], "9.9.9", unknown, now + 1, NULL),
                     FWS_OK);
    /* 2. a report that the device's key did not sign */
    assert_int_equal(fws_key_generate(FWS_KEY_P256, &forger), FWS_OK);
    add_report(s, dev_id[1], forger, fw_sha[1], now + 1, 2);
    fws_store_close(s);
    /* 3. a certificate that expires within the window */
    provision(NDEV, 10);
    /* 4. a revoked device that still reports */
    assert_int_equal(sh("%s device revoke --dir %s %s --reason keyCompromise >/dev/null", fwseal(),
                        D, dev_id[2]),
                     0);
    assert_int_equal(fws_store_open(path, &s, NULL), FWS_OK);
    add_report(s, dev_id[2], device_key(2), fw_sha[1], now + 30, 3);
    fws_store_close(s);
    /* 5. a release without an SBOM */
    release(3, 0);

    fws_audit_report *r = audit();
    print_findings(r);
    assert_true(found(r, "unknown-firmware", FWS_AUDIT_RED, dev_id[0]) >= 1);
    assert_int_equal(found(r, "forged-report", FWS_AUDIT_RED, dev_id[1]), 1);
    assert_int_equal(found(r, "cert-expiring", FWS_AUDIT_WARN, dev_id[NDEV]), 1);
    assert_int_equal(found(r, "revoked-still-reporting", FWS_AUDIT_RED, dev_id[2]), 1);
    assert_int_equal(found(r, "release-no-sbom", FWS_AUDIT_RED, "hub/1.2.0"), 1);
    /* nothing else: every other device and release is still clean */
    assert_int_equal(found(r, "forged-report", FWS_AUDIT_RED, NULL), 1);
    assert_int_equal(found(r, "unknown-firmware", FWS_AUDIT_RED, NULL), 1);
    assert_int_equal(found(r, "ledger-fork", FWS_AUDIT_RED, NULL), 0);
    assert_int_equal(fws_audit_report_count(r, FWS_AUDIT_RED), 4);
    /* the earlier audits' reports were remembered; the two new ones (one forged) were not */
    assert_int_equal(stat_of(r, "reportsRemembered"), NDEV);
    fws_audit_report_free(r);
}

/* The ledger is replaced by another history of the same length, signed with the same key: the
 * checkpoint verifies and the tiles recompute, but the previous audit saw another root. */
static void forked_ledger(void **state)
{
    (void)state;
    char ledger[160], key[4400];
    fws_ledger_status st;
    snprintf(ledger, sizeof(ledger), "%s/ledger", D);
    fws_audit_report *r = audit(); /* remembers today's checkpoint */
    fws_audit_report_free(r);
    assert_int_equal(fws_ledger_info(ledger, &st, NULL), FWS_OK);
    if (st.key_ref[0] == '/')
        snprintf(key, sizeof(key), "%s", st.key_ref);
    else
        snprintf(key, sizeof(key), "%s/%s", D, st.key_ref);
    uint64_t size = st.size;
    assert_int_equal(sh("mv %s %s/old-ledger && %s log init --dir %s --origin "
                        "example.com/fleet --key %s >/dev/null",
                        ledger, D, fwseal(), ledger, key),
                     0);
    char lines[160];
    snprintf(lines, sizeof(lines), "%s/fork.lines", T);
    FILE *f = fopen(lines, "w");
    assert_non_null(f);
    for (uint64_t i = 0; i < size; i++)
        fprintf(f,
                "{\"type\":\"revoke\",\"schema\":1,\"time\":\"2026-01-01T00:00:00Z\","
                "\"subject\":\"key\",\"id\":\"fork-%llu\",\"reason\":\"rewritten\"}\n",
                (unsigned long long)i);
    fclose(f);
    assert_int_equal(
        sh("%s log append --dir %s --key %s --lines %s >/dev/null", fwseal(), ledger, key, lines),
        0);
    r = audit();
    print_findings(r);
    assert_int_equal(found(r, "ledger-fork", FWS_AUDIT_RED, "ledger"), 1);
    fws_audit_report_free(r);
    /* put the real ledger back for the next tests */
    assert_int_equal(sh("rm -rf %s && mv %s/old-ledger %s", ledger, D, ledger), 0);
}

/* ---- audit bundles ------------------------------------------------------------------------- */

static uint8_t *bundle;
static size_t bundle_len;
static fws_note_vkey log_key;

static void export_and_verify(void **state)
{
    (void)state;
    char out[160], ledger[160];
    fws_ledger_status st;
    fws_audit_bundle_info info;
    fws_errbuf eb = {{0}};
    snprintf(out, sizeof(out), "%s/bundle.tar", T);
    snprintf(ledger, sizeof(ledger), "%s/ledger", D);
    fws_audit_export_opts eo = {.deploy = D, .out = out, .now = now};
    assert_int_equal(fws_audit_export(&eo, &info, &eb), FWS_OK);
    assert_int_equal(fws_audit_export(&eo, &info, &eb), FWS_ERR_EXISTS);
    assert_int_equal(fws_file_read(out, FWS_AUDIT_BUNDLE_MAX, &bundle, &bundle_len, NULL), FWS_OK);
    assert_int_equal(fws_ledger_info(ledger, &st, NULL), FWS_OK);
    assert_int_equal(fws_note_vkey_parse(st.vkey, strlen(st.vkey), &log_key, NULL), FWS_OK);
    fws_audit_verify_opts vo = {.log_key = &log_key};
    memset(&info, 0, sizeof(info));
    fws_errbuf_clear(&eb);
    if (fws_audit_verify(bundle, bundle_len, &vo, &info, &eb) != FWS_OK)
        fail_msg("verify: %s", eb.msg);
    assert_int_equal(info.releases, 3);
    assert_int_equal(info.devices, NDEV + 1);
    assert_int_equal(info.certs, NDEV + 1);
    assert_int_equal(info.attachments, 4); /* one SBOM (shared), 3 provenance envelopes */
    assert_true(info.tuf_files >= 4);
    /* another key, or a TUF root the verifier does not trust, is refused */
    fws_key *k = NULL;
    fws_note_vkey other;
    assert_int_equal(fws_key_generate(FWS_KEY_ED25519, &k), FWS_OK);
    assert_int_equal(fws_note_vkey_from_key("example.com/fleet", 1, k, &other, NULL), FWS_OK);
    fws_key_free(k);
    vo.log_key = &other;
    assert_int_not_equal(fws_audit_verify(bundle, bundle_len, &vo, NULL, NULL), FWS_OK);
    vo.log_key = &log_key;
    vo.tuf_root = (const uint8_t *)"{}";
    vo.tuf_root_len = 2;
    assert_int_equal(fws_audit_verify(bundle, bundle_len, &vo, NULL, NULL), FWS_ERR_KEY_MISMATCH);
}

/* Altered bytes of the bundle are refused: every byte of the manifest (the one member nothing
 * signs), the first and last byte of every member, one header byte in 16 and one byte in 97
 * elsewhere (test_audit checks every header byte of the archive profile itself). */
static void altered_bytes(void **state)
{
    (void)state;
    fws_audit_verify_opts vo = {.log_key = &log_key};
    fws_tar_reader r;
    fws_tar_member m;
    uint8_t *hdr = calloc(bundle_len, 1);
    size_t tried = 0;
    assert_non_null(bundle);
    fws_tar_reader_init(&r, bundle, bundle_len, 0);
    while (fws_tar_next(&r, &m, NULL) == FWS_OK) {
        memset(hdr + m.offset, 1, FWS_TAR_BLOCK);
        if (strcmp(m.h.name, "MANIFEST.json") == 0) /* the one member nothing signs */
            memset(hdr + m.offset + FWS_TAR_BLOCK, 2, (size_t)m.h.size);
        /* the first and last byte of every member */
        hdr[m.data - bundle] = 2;
        if (m.h.size > 0)
            hdr[m.data - bundle + m.h.size - 1] = 2;
    }
    for (size_t i = 0; i < bundle_len; i++) {
        if (hdr[i] != 2 && !(hdr[i] == 1 && i % 16 == 0) && i % 97 != 0)
            continue;
        uint8_t saved = bundle[i];
        bundle[i] ^= 0x01;
        fws_err err = fws_audit_verify(bundle, bundle_len, &vo, NULL, NULL);
        bundle[i] = saved;
        if (err == FWS_OK)
            fail_msg("byte %zu altered and the bundle still verifies", i);
        tried++;
    }
    print_message("  %zu altered bytes refused\n", tried);
    for (size_t cut = 0; cut < bundle_len; cut += bundle_len / 7 + 1)
        assert_int_not_equal(fws_audit_verify(bundle, cut, &vo, NULL, NULL), FWS_OK);
    assert_int_equal(fws_audit_verify(bundle, bundle_len, &vo, NULL, NULL), FWS_OK);
    free(hdr);
}

/* A bundle written before any schema change (tests/vectors/audit, made with this code's first
 * version) must verify with every later build: records are read by their own schema version. */
static void bundle_from_before(void **state)
{
    (void)state;
    char path[512];
    const char *src = getenv("FWS_SOURCE_DIR");
    uint8_t *data = NULL, *vk = NULL;
    size_t len = 0, vlen = 0;
    fws_note_vkey key;
    fws_audit_bundle_info info;
    fws_errbuf eb = {{0}};
    snprintf(path, sizeof(path), "%s/tests/vectors/audit/bundle-v1.vkey", src ? src : ".");
    assert_int_equal(fws_file_read(path, 1024, &vk, &vlen, NULL), FWS_OK);
    assert_int_equal(fws_note_vkey_parse((char *)vk, vlen, &key, NULL), FWS_OK);
    snprintf(path, sizeof(path), "%s/tests/vectors/audit/bundle-v1.tar", src ? src : ".");
    assert_int_equal(fws_file_read(path, FWS_AUDIT_BUNDLE_MAX, &data, &len, NULL), FWS_OK);
    fws_audit_verify_opts vo = {.log_key = &key};
    if (fws_audit_verify(data, len, &vo, &info, &eb) != FWS_OK)
        fail_msg("the v1 bundle no longer verifies: %s", eb.msg);
    assert_true(info.releases >= 1);
    assert_true(info.devices >= 1);
    data[len / 2] ^= 1;
    assert_int_not_equal(fws_audit_verify(data, len, &vo, NULL, NULL), FWS_OK);
    free(data);
    free(vk);
}

static int free_bundle(void **state)
{
    (void)state;
    free(bundle);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_deployment),   cmocka_unit_test(remembered_signatures),
        cmocka_unit_test(planted_problems),   cmocka_unit_test(forked_ledger),
        cmocka_unit_test(export_and_verify),  cmocka_unit_test_teardown(altered_bytes, free_bundle),
        cmocka_unit_test(bundle_from_before),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
