/* Reference values read from a real ledger (written by the ledger module, read through its
 * tiles): only records covered by a signed checkpoint count, the checkpoint must verify with
 * the pinned key, and a release counts only for the hardware models it names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "test_attest_util.h"

/* Reference values from a ledger: only signed (checkpointed) records count, the checkpoint must
 * verify with the pinned key, and a release counts only for the models it names. */
static void test_refs_from_ledger(void **state)
{
    char dir[] = "/tmp/fwseal-attest-refs.XXXXXX", log1[128], log2[128], rec[1024];
    ta_ledger l, other;
    fws_attest_policy p;
    fws_attest_refs *r = NULL;
    fws_note_vkey key, wrong;
    uint8_t a[32], b[32], c[32];
    size_t added = 0;
    fws_errbuf eb = {{0}};
    const char *pol = "{\"format\":\"fwseal-attest-policy/v1\",\"maxAgeSeconds\":60,"
                      "\"minAssurance\":\"tpm\",\"stages\":[{\"name\":\"app\",\"pcr\":11,"
                      "\"ledgerProduct\":\"hub\"}]}";
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(log1, sizeof(log1), "%s/log", dir);
    snprintf(log2, sizeof(log2), "%s/other", dir);
    assert_int_equal(ta_ledger_init(&l, log1), 0);
    assert_int_equal(ta_ledger_init(&other, log2), 0);
    fws_sha256("a", 1, a);
    fws_sha256("b", 1, b);
    fws_sha256("c", 1, c);
    char r1[1024], r2[1024];
    ta_release(r1, sizeof(r1), "hub", "1.0", a, "[\"m1\",\"m2\"]");
    ta_release(r2, sizeof(r2), "hub", "1.1", b, "[\"m2\"]");
    const char *first[] = {r1, r2, NULL};
    assert_int_equal(ta_ledger_append(&l, first), 0);
    /* a third release appended but not covered by a signed checkpoint */
    fws_ledger *w = NULL;
    ta_release(rec, sizeof(rec), "hub", "1.2", c, "[\"m1\"]");
    fws_ledger_entry e = {(const uint8_t *)rec, strlen(rec)};
    uint64_t idx = 0;
    assert_int_equal(fws_ledger_open(log1, NULL, &w, NULL), FWS_OK);
    assert_int_equal(fws_ledger_append(w, &e, 1, &idx, NULL, NULL), FWS_OK);
    fws_ledger_close(w);
    assert_int_equal(fws_attest_policy_parse((const uint8_t *)pol, strlen(pol), &p, NULL), FWS_OK);
    assert_int_equal(fws_note_vkey_parse(l.vkey, strlen(l.vkey), &key, NULL), FWS_OK);
    assert_int_equal(fws_note_vkey_parse(other.vkey, strlen(other.vkey), &wrong, NULL), FWS_OK);
    assert_int_equal(fws_attest_refs_new(&r), FWS_OK);
    if (fws_attest_refs_add_ledger(r, &p, log1, &key, "m1", &added, &eb) != FWS_OK)
        fail_msg("refs: %s", eb.msg);
    assert_int_equal(added, 1);
    assert_non_null(fws_attest_refs_find(r, "app", a));
    assert_null(fws_attest_refs_find(r, "app", b)); /* another model */
    assert_null(fws_attest_refs_find(r, "app", c)); /* not signed yet */
    assert_non_null(strstr(fws_attest_refs_find(r, "app", a), "hub/1.0"));
    /* the key log.json names gives the same answer; another log's key is refused */
    assert_int_equal(fws_attest_refs_add_ledger(r, &p, log1, NULL, "m2", &added, NULL), FWS_OK);
    assert_int_equal(added, 1);
    assert_non_null(fws_attest_refs_find(r, "app", b));
    fws_errbuf_clear(&eb);
    assert_int_not_equal(fws_attest_refs_add_ledger(r, &p, log1, &wrong, "m1", NULL, &eb), FWS_OK);
    assert_non_null(strstr(eb.msg, "reference values from ledger"));
    assert_int_equal(
        fws_attest_refs_add_ledger(r, &p, "/nonexistent", &key, "m1", NULL, NULL) != FWS_OK, 1);
    fws_attest_refs_free(r);
    ta_ledger_free(&l);
    ta_ledger_free(&other);
    ta_rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refs_from_ledger),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
