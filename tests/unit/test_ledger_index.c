/* The SQLite index: search by device, release and type; rebuilt from the tiles when it lags or
 * is lost; trimmed when it is ahead of the durable tree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "test_ledger_writer_util.h"

typedef struct fixture {
    char dir[256];
    char log[300];
    fws_signer signer;
} fixture;

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static size_t release(char *out, size_t cap, const char *product, const char *version)
{
    return (size_t)snprintf(out, cap,
                            "{\"type\":\"release\",\"schema\":1,\"time\":\"2024-05-01T12:00:00Z\","
                            "\"product\":\"%s\",\"version\":\"%s\",\"image\":{\"sha256\":\"" D64
                            "\",\"size\":10},\"hardware\":[\"hub\"],\"securityCounter\":1}",
                            product, version);
}

/* 0..39: installs (device dev-(n%17)); 40, 41, 42: releases; 43: a revoked device. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    char rec[44][600];
    fws_ledger_entry e[44];
    uint64_t idx[44];
    tw_tmpdir(f->dir);
    snprintf(f->log, sizeof(f->log), "%s/log", f->dir);
    f->signer = tw_make_log(f->log, "example.com/index", 0, NULL);
    for (unsigned i = 0; i < 40; i++)
        e[i].len = tw_install(rec[i], sizeof(rec[i]), i);
    e[40].len = release(rec[40], sizeof(rec[40]), "hub", "2.0.0");
    e[41].len = release(rec[41], sizeof(rec[41]), "hub", "2.1.0");
    e[42].len = release(rec[42], sizeof(rec[42]), "camera", "2.0.0");
    e[43].len = (size_t)snprintf(rec[43], sizeof(rec[43]),
                                 "{\"type\":\"revoke\",\"schema\":1,\"time\":"
                                 "\"2024-05-01T12:00:00Z\",\"subject\":\"device\",\"id\":\"dev-3\","
                                 "\"reason\":\"lost\"}");
    for (unsigned i = 0; i < 44; i++)
        e[i].data = (const uint8_t *)rec[i];
    fws_ledger *l = tw_open(f->log, &f->signer);
    assert_int_equal(fws_ledger_append(l, e, 44, idx, NULL, NULL), FWS_OK);
    assert_int_equal(fws_ledger_publish(l, NULL), FWS_OK);
    fws_ledger_close(l);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fws_signer_free(&f->signer);
    tw_rmtree(f->dir);
    free(f);
    return 0;
}

static size_t search(const fixture *f, fws_record_type type, const char *device,
                     const char *product, const char *version, uint64_t *out, size_t cap)
{
    fws_ledger_query q = {type, device, product, version};
    size_t n = 0;
    fws_errbuf eb = {{0}};
    if (fws_ledger_search(f->log, &q, UINT64_MAX, out, cap, &n, &eb) != FWS_OK)
        fail_msg("search: %s", eb.msg);
    return n;
}

static void check_searches(const fixture *f)
{
    uint64_t out[64];
    size_t n = search(f, 0, "dev-3", NULL, NULL, out, 64);
    /* installs 3, 20, 37 and the revoke at 43 */
    assert_int_equal(n, 4);
    assert_true(out[0] == 3 && out[1] == 20 && out[2] == 37 && out[3] == 43);
    n = search(f, FWS_RECORD_INSTALL, "dev-3", NULL, NULL, out, 64);
    assert_int_equal(n, 3);
    n = search(f, FWS_RECORD_RELEASE, NULL, "hub", NULL, out, 64);
    assert_int_equal(n, 2);
    assert_true(out[0] == 40 && out[1] == 41);
    n = search(f, 0, NULL, "hub", "2.0.0", out, 64);
    assert_int_equal(n, 1);
    assert_true(out[0] == 40);
    n = search(f, 0, NULL, NULL, "2.0.0", out, 64);
    assert_int_equal(n, 2);
    n = search(f, FWS_RECORD_REVOKE, NULL, NULL, NULL, out, 64);
    assert_int_equal(n, 1);
    n = search(f, FWS_RECORD_INSTALL, NULL, NULL, NULL, out, 5);
    assert_int_equal(n, 5);
    assert_true(out[4] == 4);
    fws_ledger_query q = {FWS_RECORD_INSTALL, NULL, NULL, NULL};
    assert_int_equal(fws_ledger_search(f->log, &q, 35, out, 64, &n, NULL), FWS_OK);
    assert_int_equal(n, 4); /* 36..39 */
    assert_int_equal(search(f, FWS_RECORD_KEY, NULL, NULL, NULL, out, 64), 0);
}

static void test_search(void **state)
{
    check_searches(*state);
}

static void test_find_digest(void **state)
{
    fixture *f = *state;
    char rec[600];
    uint8_t digest[32];
    uint64_t idx = 0;
    size_t len = release(rec, sizeof(rec), "hub", "2.1.0"), clen = 0;
    char *canon = NULL;
    /* the index knows the stored (canonical) bytes */
    fws_sha256(rec, len, digest);
    assert_int_equal(fws_ledger_find_digest(f->log, digest, &idx, NULL), FWS_ERR_NOT_FOUND);
    assert_int_equal(fws_record_validate((uint8_t *)rec, len, &canon, &clen, NULL, NULL), FWS_OK);
    fws_sha256(canon, clen, digest);
    free(canon);
    assert_int_equal(fws_ledger_find_digest(f->log, digest, &idx, NULL), FWS_OK);
    assert_true(idx == 41);
    digest[0] ^= 1;
    assert_int_equal(fws_ledger_find_digest(f->log, digest, &idx, NULL), FWS_ERR_NOT_FOUND);
}

static void sql(const fixture *f, const char *stmt)
{
    char path[400];
    sqlite3 *db = NULL;
    snprintf(path, sizeof(path), "%s/index.sqlite", f->log);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, stmt, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* A crash after the tiles but before the index commit leaves the index behind. */
static void test_catch_up_when_behind(void **state)
{
    fixture *f = *state;
    sql(f, "DELETE FROM entries WHERE idx >= 10; UPDATE meta SET value = 10 WHERE key = 'size';");
    uint64_t out[64];
    assert_int_equal(search(f, FWS_RECORD_RELEASE, NULL, NULL, NULL, out, 64), 0);
    fws_ledger *l = tw_open(f->log, &f->signer);
    fws_ledger_close(l);
    check_searches(f);
}

static void test_rebuilt_when_lost(void **state)
{
    fixture *f = *state;
    char path[400];
    snprintf(path, sizeof(path), "%s/index.sqlite", f->log);
    unlink(path);
    strcat(path, "-wal");
    unlink(path);
    fws_ledger *l = tw_open(f->log, &f->signer);
    /* and dedup works again through the rebuilt index */
    char rec[600];
    fws_ledger_entry e = {(const uint8_t *)rec, release(rec, sizeof(rec), "hub", "2.0.0")};
    uint64_t idx = 0;
    uint8_t dup = 0;
    assert_int_equal(fws_ledger_append(l, &e, 1, &idx, &dup, NULL), FWS_OK);
    assert_true(idx == 40 && dup == 1);
    fws_ledger_close(l);
    check_searches(f);
}

static void test_trimmed_when_ahead(void **state)
{
    fixture *f = *state;
    sql(f, "INSERT INTO entries(idx, h, digest, type, device) VALUES(44, 0, x'00', 3, 'ghost');"
           "UPDATE meta SET value = 45 WHERE key = 'size';");
    uint64_t out[4];
    assert_int_equal(search(f, 0, "ghost", NULL, NULL, out, 4), 1);
    fws_ledger *l = tw_open(f->log, &f->signer);
    fws_ledger_close(l);
    assert_int_equal(search(f, 0, "ghost", NULL, NULL, out, 4), 0);
    check_searches(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catch_up_when_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuilt_when_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trimmed_when_ahead, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
