/* The storage suite, written once against include/fwseal/store.h and run against both engines:
 * SQLite (a temporary file) always, PostgreSQL when FWS_PG_URL names a database (each test gets
 * its own schema there; tests/cli/store_postgres.sh starts a real server and sets it). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include "fwseal/crypto.h"
#include "fwseal/store.h"
#include "store/internal.h"

enum { ENGINE_SQLITE, ENGINE_PG };
static int g_engine;
static const char *g_pg_url;
static int g_serial;
static fws_errbuf eb;

#define OK(call)                                                                                   \
    do {                                                                                           \
        fws_errbuf_clear(&eb);                                                                     \
        fws_err e_ = (call);                                                                       \
        if (e_ != FWS_OK)                                                                          \
            print_error("%s: %s (%s)\n", #call, fws_strerror(e_), eb.msg);                         \
        assert_int_equal(e_, FWS_OK);                                                              \
    } while (0)

/* Fails with exactly `code` and says why in the error buffer. */
#define ERR(code, call)                                                                            \
    do {                                                                                           \
        fws_errbuf_clear(&eb);                                                                     \
        fws_err e_ = (call);                                                                       \
        if (e_ != (code))                                                                          \
            print_error("%s: got %s (%s)\n", #call, fws_strerror(e_), eb.msg);                     \
        assert_int_equal(e_, (code));                                                              \
        assert_true(eb.msg[0] != '\0');                                                            \
    } while (0)

/* ---- fixture: a fresh, empty database per test ------------------------------------------ */

typedef struct fx {
    fws_store *s;
    char url[FWS_STORE_PATH_MAX];
    char dir[64];    /* SQLite: the temporary directory */
    char schema[64]; /* PostgreSQL: the test's schema */
} fx;

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void pg_exec(const char *sql)
{
    PGconn *c = PQconnectdb(g_pg_url);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect to FWS_PG_URL: %s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet, NULL);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Creates the empty location f->url names (a new directory or a new schema). */
static void fx_make(fx *f)
{
    char sql[128];
    if (g_engine == ENGINE_SQLITE) {
        snprintf(f->dir, sizeof(f->dir), "/tmp/fws-store-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->url, sizeof(f->url), "%s/fwseal.sqlite", f->dir);
        return;
    }
    snprintf(f->schema, sizeof(f->schema), "fws_test_%d_%d", (int)getpid(), ++g_serial);
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", f->schema);
    pg_exec(sql);
    snprintf(f->url, sizeof(f->url), "%s%coptions=-csearch_path%%3D%s", g_pg_url,
             strchr(g_pg_url, '?') ? '&' : '?', f->schema);
}

static void fx_unmake(fx *f)
{
    char sql[128];
    if (g_engine == ENGINE_SQLITE) {
        rm_dir(f->dir);
        return;
    }
    snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", f->schema);
    pg_exec(sql);
}

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    fx_make(f);
    OK(fws_store_open(f->url, &f->s, &eb));
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    fws_store_close(f->s);
    fx_unmake(f);
    free(f);
    return 0;
}

/* Closes the store and gives the test a fresh empty location, not opened yet. */
static void fx_reset(fx *f)
{
    fws_store_close(f->s);
    f->s = NULL;
    fx_unmake(f);
    fx_make(f);
}

/* ---- builders ---------------------------------------------------------------------------- */

static fws_store_device device(const char *id, const char *model, const char *region,
                               const char *group)
{
    fws_store_device d;
    memset(&d, 0, sizeof(d));
    snprintf(d.id, sizeof(d.id), "%s", id);
    snprintf(d.environment, sizeof(d.environment), "prod");
    snprintf(d.model, sizeof(d.model), "%s", model);
    snprintf(d.region, sizeof(d.region), "%s", region);
    snprintf(d.group, sizeof(d.group), "%s", group);
    d.status = FWS_STORE_DEV_PROVISIONED;
    d.created_at = 1000;
    d.updated_at = 1000;
    return d;
}

static void put_device(fws_store *s, const char *id, const char *model, const char *region,
                       const char *group)
{
    fws_store_device d = device(id, model, region, group);
    OK(fws_store_device_put(s, &d, NULL, &eb));
}

static fws_store_release release(const char *product, const char *version)
{
    fws_store_release r;
    memset(&r, 0, sizeof(r));
    snprintf(r.product, sizeof(r.product), "%s", product);
    snprintf(r.version, sizeof(r.version), "%s", version);
    snprintf(r.target, sizeof(r.target), "%s/%s.img", product, version);
    r.security_counter = 7;
    memset(r.sha256, 0xab, sizeof(r.sha256));
    r.size = 1 << 20;
    r.created_at = 2000;
    return r;
}

static int64_t add_release(fws_store *s, const char *product, const char *version)
{
    fws_store_release r = release(product, version);
    int64_t id = 0;
    OK(fws_store_release_add(s, &r, &id, &eb));
    assert_true(id > 0);
    return id;
}

/* Collectors for list callbacks. */
typedef struct ids {
    int64_t v[64];
    char s[64][FWS_STORE_ID_MAX + 1];
    size_t n;
} ids;

static fws_err collect_device(void *ctx, const fws_store_device *d)
{
    ids *c = ctx;
    snprintf(c->s[c->n++], sizeof(c->s[0]), "%s", d->id);
    return FWS_OK;
}

static fws_err collect_token(void *ctx, const fws_store_token *t)
{
    ids *c = ctx;
    c->v[c->n++] = t->id;
    return FWS_OK;
}

static fws_err collect_release(void *ctx, const fws_store_release *r)
{
    ids *c = ctx;
    c->v[c->n++] = r->id;
    return FWS_OK;
}

static fws_err collect_alert(void *ctx, const fws_store_alert *a)
{
    ids *c = ctx;
    c->v[c->n++] = a->id;
    return FWS_OK;
}

static fws_err collect_audit(void *ctx, const fws_store_audit *a)
{
    ids *c = ctx;
    c->v[c->n++] = a->id;
    return FWS_OK;
}

static fws_err collect_member(void *ctx, const fws_store_member *m)
{
    ids *c = ctx;
    c->v[c->n] = (int64_t)m->assign_seq;
    snprintf(c->s[c->n++], sizeof(c->s[0]), "%s", m->device_id);
    return FWS_OK;
}

typedef struct rollouts {
    fws_store_rollout r[4];
    size_t n;
} rollouts;

static fws_err collect_rollout(void *ctx, const fws_store_rollout *r)
{
    rollouts *c = ctx;
    if (c->n >= 4)
        return FWS_ERR_TOO_BIG;
    c->r[c->n++] = *r;
    return FWS_OK;
}

static fws_store_page page(int64_t after, size_t limit, int newest_first)
{
    fws_store_page p = {after, limit, newest_first};
    return p;
}

/* ---- schema and migrations --------------------------------------------------------------- */

static void test_migrations(void **state)
{
    fx *f = *state;
    fws_store_device d;
    int v = 0;
    OK(fws_store_schema_version(f->s, &v, &eb));
    assert_int_equal(v, FWS_STORE_SCHEMA_VERSION);

    /* An empty database migrated to version 1 only, holding a device written by that schema. */
    fx_reset(f);
    OK(store_open_version(f->url, 1, &f->s, &eb));
    OK(fws_store_schema_version(f->s, &v, &eb));
    assert_int_equal(v, 1);
    OK(store_script(f->s,
                    "INSERT INTO devices (id, environment, model, region, grp, status,"
                    " installed_version, installed_sha256, last_seen, last_report, seq,"
                    " created_at, updated_at) VALUES ('dev-1', 'prod', 'hub-a', 'eu', 'beta',"
                    " 'active', '1.2.0', '', 50, 60, 3, 10, 20)",
                    &eb));
    fws_store_close(f->s);

    /* Opening migrates forward and keeps the data; the new columns take their defaults. */
    OK(fws_store_open(f->url, &f->s, &eb));
    OK(fws_store_schema_version(f->s, &v, &eb));
    assert_int_equal(v, FWS_STORE_SCHEMA_VERSION);
    OK(fws_store_device_get(f->s, "dev-1", &d, &eb));
    assert_string_equal(d.model, "hub-a");
    assert_int_equal(d.status, FWS_STORE_DEV_ACTIVE);
    assert_int_equal(d.seq, 3);
    assert_int_equal(d.attested_at, 0);
    assert_int_equal(d.attest_result, FWS_STORE_ATTEST_NONE);
    fws_store_close(f->s);

    /* Reopening an up-to-date database changes nothing. */
    OK(fws_store_open(f->url, &f->s, &eb));
    OK(fws_store_device_get(f->s, "dev-1", &d, &eb));

    /* A database from a newer fwseal is refused, and left alone. */
    OK(store_script(f->s, "INSERT INTO schema_version (version, applied_at) VALUES (99, 0)", &eb));
    fws_store_close(f->s);
    f->s = NULL;
    ERR(FWS_ERR_UNSUPPORTED, fws_store_open(f->url, &f->s, &eb));
    assert_null(f->s);
    assert_non_null(strstr(eb.msg, "99"));
}

/* ---- operator tokens --------------------------------------------------------------------- */

static void test_tokens(void **state)
{
    fx *f = *state;
    char tok[FWS_STORE_TOKEN_SIZE], tok2[FWS_STORE_TOKEN_SIZE];
    fws_store_token t, got;
    uint8_t h[32];
    ids c = {0};

    OK(fws_store_token_create(f->s, "alice (laptop)", FWS_STORE_ROLE_ADMIN, 100, 0, tok, &t, &eb));
    assert_int_equal(strlen(tok), FWS_STORE_TOKEN_SIZE - 1);
    assert_memory_equal(tok, FWS_STORE_TOKEN_PREFIX, 5);
    assert_true(t.id > 0);
    int64_t id1 = t.id;
    /* Only the SHA-256 of the token string is kept. */
    fws_sha256(tok, strlen(tok), h);
    assert_memory_equal(t.sha256, h, 32);

    OK(fws_store_token_auth(f->s, tok, 150, &got, &eb));
    assert_int_equal(got.id, t.id);
    assert_string_equal(got.name, "alice (laptop)");
    assert_int_equal(got.role, FWS_STORE_ROLE_ADMIN);
    OK(fws_store_token_find(f->s, h, &got, &eb));
    assert_int_equal(got.created_at, 100);

    /* A token that expires, a second token, unknown and malformed tokens. */
    OK(fws_store_token_create(f->s, "ci", FWS_STORE_ROLE_RELEASE, 100, 200, tok2, &t, &eb));
    assert_string_not_equal(tok, tok2);
    int64_t id2 = t.id;
    OK(fws_store_token_auth(f->s, tok2, 199, &got, &eb));
    assert_int_equal(got.role, FWS_STORE_ROLE_RELEASE);
    ERR(FWS_ERR_EXPIRED, fws_store_token_auth(f->s, tok2, 200, &got, &eb));
    char unknown[FWS_STORE_TOKEN_SIZE];
    memcpy(unknown, tok, sizeof(unknown));
    unknown[10] = unknown[10] == 'a' ? 'b' : 'a';
    ERR(FWS_ERR_NOT_FOUND, fws_store_token_auth(f->s, unknown, 150, &got, &eb));
    unknown[10] = 'G';
    ERR(FWS_ERR_FORMAT, fws_store_token_auth(f->s, unknown, 150, &got, &eb));
    ERR(FWS_ERR_FORMAT, fws_store_token_auth(f->s, "fwst_00", 150, &got, &eb));
    memset(h, 0, sizeof(h));
    ERR(FWS_ERR_NOT_FOUND, fws_store_token_find(f->s, h, &got, &eb));

    /* Revocation: idempotent, keeps the first time, and refuses the token from then on. */
    OK(fws_store_token_revoke(f->s, id1, 300, &eb));
    OK(fws_store_token_revoke(f->s, id1, 400, &eb));
    OK(fws_store_token_get(f->s, id1, &got, &eb));
    assert_int_equal(got.revoked_at, 300);
    ERR(FWS_ERR_STATE, fws_store_token_auth(f->s, tok, 301, &got, &eb));
    ERR(FWS_ERR_NOT_FOUND, fws_store_token_revoke(f->s, 999, 300, &eb));

    fws_store_page p = page(0, 10, 0);
    OK(fws_store_token_list(f->s, 0, &p, collect_token, &c, &eb));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0], id2);
    c.n = 0;
    p = page(0, 10, 1);
    OK(fws_store_token_list(f->s, 1, &p, collect_token, &c, &eb));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.v[0], id2);
    assert_int_equal(c.v[1], id1);

    /* Bad input. */
    ERR(FWS_ERR_ARG, fws_store_token_create(f->s, "x", 0, 100, 0, tok, NULL, &eb));
    ERR(FWS_ERR_ARG, fws_store_token_create(f->s, "x", 9, 100, 0, tok, NULL, &eb));
    ERR(FWS_ERR_ARG,
        fws_store_token_create(f->s, "", FWS_STORE_ROLE_AUDITOR, 100, 0, tok, NULL, &eb));
    ERR(FWS_ERR_ARG,
        fws_store_token_create(f->s, "x\n", FWS_STORE_ROLE_AUDITOR, 100, 0, tok, NULL, &eb));
    ERR(FWS_ERR_ARG,
        fws_store_token_create(f->s, "x", FWS_STORE_ROLE_AUDITOR, 100, 50, tok, NULL, &eb));
}

/* ---- devices ----------------------------------------------------------------------------- */

static void test_devices(void **state)
{
    fx *f = *state;
    fws_store_device d = device("a1b2", "hub-a", "eu", "beta"), got;
    int created = -1;
    uint8_t digest[32];
    memset(digest, 0x5c, sizeof(digest));

    OK(fws_store_device_put(f->s, &d, &created, &eb));
    assert_int_equal(created, 1);
    OK(fws_store_device_get(f->s, "a1b2", &got, &eb));
    assert_string_equal(got.environment, "prod");
    assert_string_equal(got.model, "hub-a");
    assert_string_equal(got.region, "eu");
    assert_string_equal(got.group, "beta");
    assert_int_equal(got.status, FWS_STORE_DEV_PROVISIONED);
    assert_int_equal(got.seq, 0);
    assert_int_equal(got.attest_result, FWS_STORE_ATTEST_NONE);
    assert_string_equal(got.installed_version, "");

    /* Upsert of an existing device: registration and status change, seq is untouched. */
    uint64_t seq = 0;
    OK(fws_store_device_next_seq(f->s, "a1b2", &seq, &eb));
    assert_int_equal(seq, 1);
    snprintf(d.model, sizeof(d.model), "hub-b");
    d.status = FWS_STORE_DEV_ACTIVE;
    d.updated_at = 1500;
    d.seq = 77;
    OK(fws_store_device_put(f->s, &d, &created, &eb));
    assert_int_equal(created, 0);
    OK(fws_store_device_get(f->s, "a1b2", &got, &eb));
    assert_string_equal(got.model, "hub-b");
    assert_int_equal(got.status, FWS_STORE_DEV_ACTIVE);
    assert_int_equal(got.seq, 1);
    assert_int_equal(got.updated_at, 1500);
    assert_int_equal(got.created_at, 1000);

    /* A forbidden status change through put changes nothing at all. */
    d.status = FWS_STORE_DEV_PROVISIONED;
    snprintf(d.model, sizeof(d.model), "hub-c");
    ERR(FWS_ERR_STATE, fws_store_device_put(f->s, &d, NULL, &eb));
    OK(fws_store_device_get(f->s, "a1b2", &got, &eb));
    assert_string_equal(got.model, "hub-b");

    /* The transition table. */
    OK(fws_store_device_set_status(f->s, "a1b2", FWS_STORE_DEV_QUARANTINED, 1600, &eb));
    OK(fws_store_device_set_status(f->s, "a1b2", FWS_STORE_DEV_ACTIVE, 1601, &eb));
    OK(fws_store_device_set_status(f->s, "a1b2", FWS_STORE_DEV_ACTIVE, 1602, &eb));
    ERR(FWS_ERR_STATE,
        fws_store_device_set_status(f->s, "a1b2", FWS_STORE_DEV_PROVISIONED, 1603, &eb));
    OK(fws_store_device_set_status(f->s, "a1b2", FWS_STORE_DEV_REVOKED, 1604, &eb));
    ERR(FWS_ERR_STATE, fws_store_device_set_status(f->s, "a1b2", FWS_STORE_DEV_ACTIVE, 1605, &eb));
    OK(fws_store_device_set_status(f->s, "a1b2", FWS_STORE_DEV_DECOMMISSIONED, 1606, &eb));
    ERR(FWS_ERR_STATE, fws_store_device_set_status(f->s, "a1b2", FWS_STORE_DEV_REVOKED, 1607, &eb));
    OK(fws_store_device_get(f->s, "a1b2", &got, &eb));
    assert_int_equal(got.status, FWS_STORE_DEV_DECOMMISSIONED);
    assert_int_equal(got.updated_at, 1606);
    ERR(FWS_ERR_NOT_FOUND, fws_store_device_set_status(f->s, "nope", FWS_STORE_DEV_ACTIVE, 1, &eb));

    /* Device traffic: last seen only moves forward; installed; attestation. */
    OK(fws_store_device_seen(f->s, "a1b2", 5000, &eb));
    OK(fws_store_device_seen(f->s, "a1b2", 4000, &eb));
    OK(fws_store_device_set_installed(f->s, "a1b2", "2.0.1+build.7", digest, 5100, &eb));
    OK(fws_store_device_set_attestation(f->s, "a1b2", 5200, FWS_STORE_ATTEST_FAIL, &eb));
    OK(fws_store_device_get(f->s, "a1b2", &got, &eb));
    assert_int_equal(got.last_seen, 5000);
    assert_int_equal(got.last_report, 5100);
    assert_string_equal(got.installed_version, "2.0.1+build.7");
    assert_memory_equal(got.installed_sha256, digest, 32);
    assert_int_equal(got.attested_at, 5200);
    assert_int_equal(got.attest_result, FWS_STORE_ATTEST_FAIL);
    ERR(FWS_ERR_NOT_FOUND, fws_store_device_seen(f->s, "nope", 1, &eb));
    ERR(FWS_ERR_NOT_FOUND, fws_store_device_set_installed(f->s, "nope", "1", digest, 1, &eb));
    ERR(FWS_ERR_NOT_FOUND,
        fws_store_device_set_attestation(f->s, "nope", 1, FWS_STORE_ATTEST_PASS, &eb));
    ERR(FWS_ERR_NOT_FOUND, fws_store_device_next_seq(f->s, "nope", &seq, &eb));
    ERR(FWS_ERR_NOT_FOUND, fws_store_device_get(f->s, "nope", &got, &eb));
    assert_non_null(strstr(eb.msg, "nope"));
}

static void test_device_lists(void **state)
{
    fx *f = *state;
    ids c = {0};
    uint64_t n = 0;
    /* IDs whose byte order differs from a case-insensitive or locale order. */
    put_device(f->s, "b-2", "hub-a", "eu", "beta");
    put_device(f->s, "B-1", "hub-a", "us", "");
    put_device(f->s, "a-3", "hub-b", "eu", "beta");
    put_device(f->s, "_x", "hub-a", "eu", "");
    OK(fws_store_device_set_status(f->s, "a-3", FWS_STORE_DEV_ACTIVE, 2000, &eb));

    fws_store_device_filter all = {.limit = 10};
    OK(fws_store_device_list(f->s, &all, collect_device, &c, &eb));
    assert_int_equal(c.n, 4);
    assert_string_equal(c.s[0], "B-1");
    assert_string_equal(c.s[1], "_x");
    assert_string_equal(c.s[2], "a-3");
    assert_string_equal(c.s[3], "b-2");

    /* Pages of two. */
    fws_store_device_filter pg = {.limit = 2, .after_id = "_x"};
    c.n = 0;
    OK(fws_store_device_list(f->s, &pg, collect_device, &c, &eb));
    assert_int_equal(c.n, 2);
    assert_string_equal(c.s[0], "a-3");

    fws_store_device_filter eu = {.region = "eu", .model = "hub-a", .limit = 10};
    c.n = 0;
    OK(fws_store_device_list(f->s, &eu, collect_device, &c, &eb));
    assert_int_equal(c.n, 2);
    assert_string_equal(c.s[0], "_x");
    assert_string_equal(c.s[1], "b-2");
    OK(fws_store_device_count(f->s, &eu, &n, &eb));
    assert_int_equal(n, 2);

    fws_store_device_filter active = {.status = FWS_STORE_DEV_ACTIVE, .group = "beta"};
    OK(fws_store_device_count(f->s, &active, &n, &eb));
    assert_int_equal(n, 1);
    fws_store_device_filter none = {.environment = "staging"};
    OK(fws_store_device_count(f->s, &none, &n, &eb));
    assert_int_equal(n, 0);
    OK(fws_store_device_count(f->s, &all, &n, &eb));
    assert_int_equal(n, 4);
}

/* ---- sequence numbers under concurrency -------------------------------------------------- */

#define SEQ_PER_THREAD 1000

typedef struct seq_thread {
    const char *url;
    uint64_t got[SEQ_PER_THREAD];
    fws_err err;
    char msg[FWS_ERRBUF_SIZE];
} seq_thread;

static void *seq_worker(void *arg)
{
    seq_thread *t = arg;
    fws_errbuf teb = {{0}};
    fws_store *s = NULL;
    t->err = fws_store_open(t->url, &s, &teb);
    for (int i = 0; i < SEQ_PER_THREAD && t->err == FWS_OK; i++)
        t->err = fws_store_device_next_seq(s, "seq-dev", &t->got[i], &teb);
    fws_store_close(s);
    memcpy(t->msg, teb.msg, sizeof(t->msg));
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_seq_concurrent(void **state)
{
    fx *f = *state;
    static seq_thread t[2];
    static uint64_t all[2 * SEQ_PER_THREAD];
    pthread_t th[2];
    fws_store_device d;
    put_device(f->s, "seq-dev", "hub-a", "eu", "");
    for (int i = 0; i < 2; i++) {
        memset(&t[i], 0, sizeof(t[i]));
        t[i].url = f->url;
        assert_int_equal(pthread_create(&th[i], NULL, seq_worker, &t[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        if (t[i].err != FWS_OK)
            fail_msg("thread %d: %s (%s)", i, fws_strerror(t[i].err), t[i].msg);
        /* Each handle sees its own numbers strictly increase. */
        for (int j = 1; j < SEQ_PER_THREAD; j++)
            assert_true(t[i].got[j] > t[i].got[j - 1]);
        memcpy(all + i * SEQ_PER_THREAD, t[i].got, sizeof(t[i].got));
    }
    /* Together: exactly 1..2000, no number handed out twice. */
    qsort(all, 2 * SEQ_PER_THREAD, sizeof(all[0]), cmp_u64);
    for (int j = 0; j < 2 * SEQ_PER_THREAD; j++)
        assert_int_equal(all[j], (uint64_t)j + 1);
    OK(fws_store_device_get(f->s, "seq-dev", &d, &eb));
    assert_int_equal(d.seq, 2 * SEQ_PER_THREAD);
}

/* ---- releases ---------------------------------------------------------------------------- */

static void test_releases(void **state)
{
    fx *f = *state;
    fws_store_release r = release("hub-fw", "1.0.0"), got;
    int64_t id = 0;
    ids c = {0};
    OK(fws_store_release_add(f->s, &r, &id, &eb));
    int64_t id2 = add_release(f->s, "hub-fw", "1.1.0-rc.1");
    int64_t id3 = add_release(f->s, "cam-fw", "1.0.0");

    OK(fws_store_release_get(f->s, id, &got, &eb));
    assert_string_equal(got.target, "hub-fw/1.0.0.img");
    assert_int_equal(got.security_counter, 7);
    assert_memory_equal(got.sha256, r.sha256, 32);
    assert_int_equal(got.size, 1 << 20);
    assert_int_equal(got.revoked, 0);
    OK(fws_store_release_find(f->s, "hub-fw/1.1.0-rc.1.img", &got, &eb));
    assert_int_equal(got.id, id2);
    ERR(FWS_ERR_NOT_FOUND, fws_store_release_find(f->s, "hub-fw/9.img", &got, &eb));
    ERR(FWS_ERR_NOT_FOUND, fws_store_release_get(f->s, id3 + 100, &got, &eb));

    /* Unique by target and by (product, version). */
    ERR(FWS_ERR_EXISTS, fws_store_release_add(f->s, &r, &id, &eb));
    snprintf(r.target, sizeof(r.target), "other/name.img");
    ERR(FWS_ERR_EXISTS, fws_store_release_add(f->s, &r, &id, &eb));

    OK(fws_store_release_revoke(f->s, id2, &eb));
    OK(fws_store_release_revoke(f->s, id2, &eb));
    OK(fws_store_release_set_quarantine(f->s, id3, 9999, &eb));
    OK(fws_store_release_get(f->s, id2, &got, &eb));
    assert_int_equal(got.revoked, 1);
    OK(fws_store_release_get(f->s, id3, &got, &eb));
    assert_int_equal(got.quarantine_until, 9999);
    ERR(FWS_ERR_NOT_FOUND, fws_store_release_revoke(f->s, id3 + 100, &eb));

    fws_store_page p = page(0, 10, 1);
    OK(fws_store_release_list(f->s, "hub-fw", &p, collect_release, &c, &eb));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.v[0], id2);
    assert_int_equal(c.v[1], id);
    c.n = 0;
    p = page(id, 1, 0);
    OK(fws_store_release_list(f->s, NULL, &p, collect_release, &c, &eb));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0], id2);

    /* Bad input. */
    r = release("hub-fw", "2.0");
    snprintf(r.target, sizeof(r.target), "hub-fw/../../etc/passwd");
    ERR(FWS_ERR_ARG, fws_store_release_add(f->s, &r, &id, &eb));
    snprintf(r.target, sizeof(r.target), "/abs.img");
    ERR(FWS_ERR_ARG, fws_store_release_add(f->s, &r, &id, &eb));
    r = release("hub-fw", "2.0");
    r.security_counter = (uint64_t)INT64_MAX + 1;
    ERR(FWS_ERR_ARG, fws_store_release_add(f->s, &r, &id, &eb));
    r = release("hub-fw", "2.0 beta");
    ERR(FWS_ERR_ARG, fws_store_release_add(f->s, &r, &id, &eb));
    r = release("hub-fw", "2.0");
    r.recovery = 2;
    ERR(FWS_ERR_ARG, fws_store_release_add(f->s, &r, &id, &eb));
}

/* ---- rollouts ---------------------------------------------------------------------------- */

static fws_store_rollout rollout_spec(int64_t release_id, const uint32_t *pct, uint32_t n)
{
    fws_store_rollout r;
    memset(&r, 0, sizeof(r));
    r.release_id = release_id;
    r.n_stages = n;
    for (uint32_t i = 0; i < n && i < FWS_STORE_MAX_STAGES; i++)
        r.stages[i].percent = pct[i];
    r.success_threshold = 95;
    r.failure_threshold = 5;
    r.created_at = 3000;
    return r;
}

static void test_rollouts(void **state)
{
    fx *f = *state;
    static const uint32_t pct[] = {10, 50, 100};
    int64_t rel = add_release(f->s, "hub-fw", "2.0.0");
    int64_t id = 0, id2 = 0;
    char *sel = NULL;
    fws_store_rollout ro, got;
    fws_store_member m;
    ids c = {0};
    put_device(f->s, "d1", "hub-a", "eu", "beta");
    put_device(f->s, "d2", "hub-a", "eu", "beta");
    put_device(f->s, "d3", "hub-a", "us", "");

    ro = rollout_spec(rel, pct, 3);
    OK(fws_store_rollout_create(f->s, &ro,
                                "{ \"regions\": [\"eu\"], \"models\": [\"hub-a\"],"
                                " \"devices\": [\"d3\"] }",
                                &id, &eb));
    OK(fws_store_rollout_get(f->s, id, &got, &sel, &eb));
    assert_string_equal(sel, "{\"devices\":[\"d3\"],\"models\":[\"hub-a\"],\"regions\":[\"eu\"]}");
    free(sel);
    assert_int_equal(got.state, FWS_STORE_ROLLOUT_PENDING);
    assert_int_equal(got.n_stages, 3);
    assert_int_equal(got.current_stage, 0);
    assert_int_equal(got.stages[1].percent, 50);
    assert_int_equal(got.success_threshold, 95);
    assert_int_equal(got.failure_threshold, 5);

    /* Not running yet: no assignments. */
    ERR(FWS_ERR_STATE, fws_store_rollout_assign(f->s, id, "d1", 0, 3100, &m, &eb));
    OK(fws_store_rollout_set_state(f->s, id, FWS_STORE_ROLLOUT_RUNNING, 3100, &eb));

    OK(fws_store_rollout_assign(f->s, id, "d1", 0, 3200, &m, &eb));
    assert_int_equal(m.assign_seq, 1);
    assert_int_equal(m.outcome, FWS_STORE_OUTCOME_PENDING);
    OK(fws_store_rollout_assign(f->s, id, "d3", 0, 3201, &m, &eb));
    ERR(FWS_ERR_EXISTS, fws_store_rollout_assign(f->s, id, "d1", 0, 3202, &m, &eb));
    ERR(FWS_ERR_ARG, fws_store_rollout_assign(f->s, id, "d2", 1, 3203, &m, &eb));
    ERR(FWS_ERR_NOT_FOUND, fws_store_rollout_assign(f->s, id, "d9", 0, 3203, &m, &eb));
    ERR(FWS_ERR_NOT_FOUND, fws_store_rollout_assign(f->s, id + 50, "d2", 0, 3203, &m, &eb));
    OK(fws_store_device_set_status(f->s, "d2", FWS_STORE_DEV_QUARANTINED, 3204, &eb));
    ERR(FWS_ERR_STATE, fws_store_rollout_assign(f->s, id, "d2", 0, 3205, &m, &eb));
    OK(fws_store_device_set_status(f->s, "d2", FWS_STORE_DEV_ACTIVE, 3206, &eb));

    /* The refused assignment left no trace: d1's next number follows its one assignment. */
    uint64_t seq = 0;
    OK(fws_store_device_next_seq(f->s, "d1", &seq, &eb));
    assert_int_equal(seq, 2);

    /* Outcomes are counted once. */
    OK(fws_store_rollout_outcome(f->s, id, "d1", FWS_STORE_OUTCOME_SUCCEEDED, 3300, &eb));
    OK(fws_store_rollout_outcome(f->s, id, "d1", FWS_STORE_OUTCOME_SUCCEEDED, 3301, &eb));
    ERR(FWS_ERR_STATE,
        fws_store_rollout_outcome(f->s, id, "d1", FWS_STORE_OUTCOME_FAILED, 3302, &eb));
    OK(fws_store_rollout_outcome(f->s, id, "d3", FWS_STORE_OUTCOME_FAILED, 3303, &eb));
    ERR(FWS_ERR_NOT_FOUND,
        fws_store_rollout_outcome(f->s, id, "d2", FWS_STORE_OUTCOME_FAILED, 3303, &eb));
    ERR(FWS_ERR_ARG,
        fws_store_rollout_outcome(f->s, id, "d1", FWS_STORE_OUTCOME_PENDING, 3303, &eb));
    OK(fws_store_rollout_get(f->s, id, &got, NULL, &eb));
    assert_int_equal(got.stages[0].assigned, 2);
    assert_int_equal(got.stages[0].succeeded, 1);
    assert_int_equal(got.stages[0].failed, 1);
    assert_int_equal(got.stages[1].assigned, 0);
    OK(fws_store_member_get(f->s, id, "d1", &m, &eb));
    assert_int_equal(m.outcome, FWS_STORE_OUTCOME_SUCCEEDED);
    assert_int_equal(m.updated_at, 3300);

    /* Stages advance by compare-and-set. */
    OK(fws_store_rollout_advance(f->s, id, 0, 3400, &eb));
    ERR(FWS_ERR_STATE, fws_store_rollout_advance(f->s, id, 0, 3401, &eb));
    OK(fws_store_rollout_assign(f->s, id, "d2", 1, 3402, &m, &eb));
    assert_int_equal(m.stage, 1);
    OK(fws_store_rollout_advance(f->s, id, 1, 3403, &eb));
    ERR(FWS_ERR_STATE, fws_store_rollout_advance(f->s, id, 2, 3404, &eb));
    OK(fws_store_rollout_get(f->s, id, &got, NULL, &eb));
    assert_int_equal(got.current_stage, 2);
    assert_int_equal(got.stages[1].assigned, 1);

    /* Members, by rollout and by device. */
    OK(fws_store_member_list(f->s, id, NULL, 10, collect_member, &c, &eb));
    assert_int_equal(c.n, 3);
    assert_string_equal(c.s[0], "d1");
    assert_string_equal(c.s[2], "d3");
    c.n = 0;
    OK(fws_store_member_list(f->s, id, "d1", 1, collect_member, &c, &eb));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.s[0], "d2");

    /* The state machine. */
    OK(fws_store_rollout_set_state(f->s, id, FWS_STORE_ROLLOUT_PAUSED, 3500, &eb));
    ERR(FWS_ERR_STATE, fws_store_rollout_advance(f->s, id, 2, 3501, &eb));
    ERR(FWS_ERR_STATE,
        fws_store_rollout_set_state(f->s, id, FWS_STORE_ROLLOUT_COMPLETED, 3502, &eb));
    OK(fws_store_rollout_set_state(f->s, id, FWS_STORE_ROLLOUT_RUNNING, 3503, &eb));
    OK(fws_store_rollout_set_state(f->s, id, FWS_STORE_ROLLOUT_COMPLETED, 3504, &eb));
    ERR(FWS_ERR_STATE, fws_store_rollout_set_state(f->s, id, FWS_STORE_ROLLOUT_RUNNING, 3505, &eb));
    ERR(FWS_ERR_NOT_FOUND,
        fws_store_rollout_set_state(f->s, id + 50, FWS_STORE_ROLLOUT_RUNNING, 3505, &eb));

    /* A second rollout; d1 in both; lists. */
    static const uint32_t one[] = {100};
    ro = rollout_spec(rel, one, 1);
    OK(fws_store_rollout_create(f->s, &ro, "{}", &id2, &eb));
    OK(fws_store_rollout_set_state(f->s, id2, FWS_STORE_ROLLOUT_RUNNING, 3600, &eb));
    OK(fws_store_rollout_assign(f->s, id2, "d1", 0, 3601, &m, &eb));
    assert_int_equal(m.assign_seq, 3);
    c.n = 0;
    OK(fws_store_device_rollouts(f->s, "d1", 10, collect_member, &c, &eb));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.v[0], 3);
    assert_int_equal(c.v[1], 1);

    rollouts all = {0};
    fws_store_page p = page(0, 10, 1);
    OK(fws_store_rollout_list(f->s, 0, &p, collect_rollout, &all, &eb));
    assert_int_equal(all.n, 2);
    assert_int_equal(all.r[0].id, id2);
    assert_int_equal(all.r[0].n_stages, 1);
    assert_int_equal(all.r[0].stages[0].assigned, 1);
    assert_int_equal(all.r[1].id, id);
    assert_int_equal(all.r[1].state, FWS_STORE_ROLLOUT_COMPLETED);
    assert_int_equal(all.r[1].stages[0].succeeded, 1);
    assert_int_equal(all.r[1].stages[1].assigned, 1);
    assert_int_equal(all.r[1].stages[2].percent, 100);
    all.n = 0;
    p = page(0, 10, 0);
    OK(fws_store_rollout_list(f->s, FWS_STORE_ROLLOUT_RUNNING, &p, collect_rollout, &all, &eb));
    assert_int_equal(all.n, 1);
    assert_int_equal(all.r[0].id, id2);

    /* A revoked release cannot be rolled out. */
    OK(fws_store_release_revoke(f->s, rel, &eb));
    ERR(FWS_ERR_STATE, fws_store_rollout_create(f->s, &ro, "{}", &id2, &eb));
}

static void test_rollout_input(void **state)
{
    fx *f = *state;
    int64_t rel = add_release(f->s, "hub-fw", "2.0.0"), id = 0;
    static const uint32_t down[] = {50, 20}, zero[] = {0, 100}, over[] = {10, 101},
                          flat[] = {50, 50};
    fws_store_rollout ro;
    ro = rollout_spec(rel, down, 2);
    ERR(FWS_ERR_ARG, fws_store_rollout_create(f->s, &ro, "{}", &id, &eb));
    ro = rollout_spec(rel, zero, 2);
    ERR(FWS_ERR_ARG, fws_store_rollout_create(f->s, &ro, "{}", &id, &eb));
    ro = rollout_spec(rel, over, 2);
    ERR(FWS_ERR_ARG, fws_store_rollout_create(f->s, &ro, "{}", &id, &eb));
    ro = rollout_spec(rel, flat, 2);
    ERR(FWS_ERR_ARG, fws_store_rollout_create(f->s, &ro, "{}", &id, &eb));
    ro = rollout_spec(rel, down, 0);
    ERR(FWS_ERR_ARG, fws_store_rollout_create(f->s, &ro, "{}", &id, &eb));
    uint32_t many[FWS_STORE_MAX_STAGES + 1];
    for (uint32_t i = 0; i <= FWS_STORE_MAX_STAGES; i++)
        many[i] = i + 1;
    ro = rollout_spec(rel, many, FWS_STORE_MAX_STAGES);
    OK(fws_store_rollout_create(f->s, &ro, "{}", &id, &eb));
    ro = rollout_spec(rel, many, FWS_STORE_MAX_STAGES + 1);
    ERR(FWS_ERR_ARG, fws_store_rollout_create(f->s, &ro, "{}", &id, &eb));
    ro = rollout_spec(rel, over, 1);
    ro.failure_threshold = 101;
    ERR(FWS_ERR_ARG, fws_store_rollout_create(f->s, &ro, "{}", &id, &eb));
    ro = rollout_spec(rel + 10, over, 1);
    ERR(FWS_ERR_NOT_FOUND, fws_store_rollout_create(f->s, &ro, "{}", &id, &eb));

    /* Selectors. */
    ro = rollout_spec(rel, over, 1);
    ERR(FWS_ERR_FORMAT, fws_store_rollout_create(f->s, &ro, "{\"models\": [", &id, &eb));
    ERR(FWS_ERR_SCHEMA, fws_store_rollout_create(f->s, &ro, "[]", &id, &eb));
    ERR(FWS_ERR_SCHEMA, fws_store_rollout_create(f->s, &ro, "{\"colour\": []}", &id, &eb));
    ERR(FWS_ERR_SCHEMA, fws_store_rollout_create(f->s, &ro, "{\"models\": \"hub\"}", &id, &eb));
    ERR(FWS_ERR_SCHEMA, fws_store_rollout_create(f->s, &ro, "{\"models\": [1]}", &id, &eb));
    ERR(FWS_ERR_SCHEMA, fws_store_rollout_create(f->s, &ro, "{\"groups\": [\"a b\"]}", &id, &eb));
    ERR(FWS_ERR_FORMAT,
        fws_store_rollout_create(f->s, &ro, "{\"groups\": [], \"groups\": []}", &id, &eb));
    ERR(FWS_ERR_ARG, fws_store_rollout_create(f->s, &ro, NULL, &id, &eb));
    ERR(FWS_ERR_ARG, fws_store_rollout_set_state(f->s, 1, 42, 1, &eb));
    ERR(FWS_ERR_ARG,
        fws_store_rollout_list(f->s, 42, &(fws_store_page){0, 1, 0}, collect_rollout, NULL, &eb));
    /* Nothing was created by any of these: only the 16-stage rollout exists. */
    rollouts all = {0};
    OK(fws_store_rollout_list(f->s, 0, &(fws_store_page){0, 10, 0}, collect_rollout, &all, &eb));
    assert_int_equal(all.n, 1);
    assert_int_equal(all.r[0].n_stages, FWS_STORE_MAX_STAGES);
    assert_int_equal(all.r[0].stages[FWS_STORE_MAX_STAGES - 1].percent, FWS_STORE_MAX_STAGES);
}

/* ---- device reports ---------------------------------------------------------------------- */

typedef struct seen_reports {
    int64_t id[8];
    size_t len[8];
    uint8_t first[8];
    size_t n;
} seen_reports;

static fws_err collect_report(void *ctx, const fws_store_report *r, const uint8_t *body, size_t len)
{
    seen_reports *c = ctx;
    if (c->n >= 8)
        return FWS_ERR_TOO_BIG;
    c->id[c->n] = r->id;
    c->len[c->n] = len;
    c->first[c->n++] = body[0];
    return FWS_OK;
}

static void test_reports(void **state)
{
    fx *f = *state;
    /* A body with bytes no text column could hold. */
    static const uint8_t b1[] = {0x00, 0xff, 0x27, 0x5c, 0x78, 0x00, 0x80, 0x0a};
    static const char b2[] = "{\"kind\":\"rollback\",\"to\":\"1.0\"}";
    fws_store_report r;
    fws_store_device d;
    uint8_t *body = NULL, h[32];
    size_t len = 0;
    int64_t id1 = 0, id2 = 0, again = 0;
    int created = -1;
    seen_reports c = {0};
    put_device(f->s, "d1", "hub-a", "eu", "");
    put_device(f->s, "d2", "hub-a", "eu", "");

    OK(fws_store_report_add(f->s, "d1", FWS_STORE_REPORT_INSTALL, b1, sizeof(b1), 700, &id1,
                            &created, &eb));
    assert_int_equal(created, 1);
    OK(fws_store_report_add(f->s, "d1", FWS_STORE_REPORT_ROLLBACK, (const uint8_t *)b2, strlen(b2),
                            650, &id2, &created, &eb));
    assert_true(id2 > id1);
    /* Idempotent by body digest. */
    OK(fws_store_report_add(f->s, "d1", FWS_STORE_REPORT_INSTALL, b1, sizeof(b1), 900, &again,
                            &created, &eb));
    assert_int_equal(created, 0);
    assert_int_equal(again, id1);
    ERR(FWS_ERR_EXISTS, fws_store_report_add(f->s, "d2", FWS_STORE_REPORT_INSTALL, b1, sizeof(b1),
                                             900, &again, &created, &eb));
    ERR(FWS_ERR_EXISTS, fws_store_report_add(f->s, "d1", FWS_STORE_REPORT_ATTESTATION, b1,
                                             sizeof(b1), 900, &again, &created, &eb));
    ERR(FWS_ERR_NOT_FOUND, fws_store_report_add(f->s, "d9", FWS_STORE_REPORT_INSTALL, b1,
                                                sizeof(b1), 900, &again, &created, &eb));

    /* The device's last report moved forward once, to the newest accepted report. */
    OK(fws_store_device_get(f->s, "d1", &d, &eb));
    assert_int_equal(d.last_report, 700);

    OK(fws_store_report_get(f->s, id1, &r, &body, &len, &eb));
    assert_int_equal(len, sizeof(b1));
    assert_memory_equal(body, b1, sizeof(b1));
    free(body);
    fws_sha256(b1, sizeof(b1), h);
    assert_memory_equal(r.body_sha256, h, 32);
    assert_string_equal(r.device_id, "d1");
    assert_int_equal(r.kind, FWS_STORE_REPORT_INSTALL);
    assert_int_equal(r.received_at, 700);
    assert_int_equal(r.ledger_index, -1);
    ERR(FWS_ERR_NOT_FOUND, fws_store_report_get(f->s, id2 + 10, &r, NULL, NULL, &eb));

    /* The sequencer's view. */
    OK(fws_store_report_unsequenced(f->s, 0, 10, collect_report, &c, &eb));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.id[0], id1);
    assert_int_equal(c.len[0], sizeof(b1));
    assert_int_equal(c.first[1], '{');
    OK(fws_store_report_sequenced(f->s, id1, 0, &eb));
    OK(fws_store_report_sequenced(f->s, id1, 0, &eb));
    ERR(FWS_ERR_STATE, fws_store_report_sequenced(f->s, id1, 5, &eb));
    ERR(FWS_ERR_EXISTS, fws_store_report_sequenced(f->s, id2, 0, &eb));
    ERR(FWS_ERR_NOT_FOUND, fws_store_report_sequenced(f->s, id2 + 10, 9, &eb));
    ERR(FWS_ERR_ARG, fws_store_report_sequenced(f->s, id2, -1, &eb));
    c.n = 0;
    OK(fws_store_report_unsequenced(f->s, 0, 10, collect_report, &c, &eb));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.id[0], id2);
    OK(fws_store_report_sequenced(f->s, id2, 1, &eb));
    c.n = 0;
    OK(fws_store_report_unsequenced(f->s, 0, 10, collect_report, &c, &eb));
    assert_int_equal(c.n, 0);
    OK(fws_store_report_get(f->s, id2, &r, NULL, NULL, &eb));
    assert_int_equal(r.ledger_index, 1);

    fws_store_page p = page(0, 10, 1);
    OK(fws_store_report_list(f->s, "d1", &p, collect_report, &c, &eb));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.id[0], id2);

    /* Many devices' reports in one pass, by device then report, resumable. */
    static const char b3[] = "{\"kind\":\"install\",\"d\":2}";
    static const char b4[] = "{\"kind\":\"install\",\"d\":3}";
    int64_t id3 = 0, id4 = 0;
    put_device(f->s, "d3", "hub-a", "eu", "");
    OK(fws_store_report_add(f->s, "d3", FWS_STORE_REPORT_INSTALL, (const uint8_t *)b4, strlen(b4),
                            710, &id4, NULL, &eb));
    OK(fws_store_report_add(f->s, "d2", FWS_STORE_REPORT_INSTALL, (const uint8_t *)b3, strlen(b3),
                            720, &id3, NULL, &eb));
    c.n = 0;
    OK(fws_store_report_range(f->s, "", INT64_MAX, "d2", 10, collect_report, &c, &eb));
    assert_int_equal(c.n, 3); /* d1's two, then d2's; d3 is past the range */
    assert_int_equal(c.id[0], id1);
    assert_int_equal(c.id[1], id2);
    assert_int_equal(c.id[2], id3);
    c.n = 0;
    OK(fws_store_report_range(f->s, "d1", id1, "d3", 10, collect_report, &c, &eb));
    assert_int_equal(c.n, 3); /* resumed after d1's first report */
    assert_int_equal(c.id[0], id2);
    assert_int_equal(c.id[2], id4);
    c.n = 0;
    OK(fws_store_report_range(f->s, "d2", INT64_MAX, "d3", 1, collect_report, &c, &eb));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.id[0], id4);
    ERR(FWS_ERR_ARG, fws_store_report_range(f->s, "", 0, "d3", FWS_STORE_REPORT_LIST_MAX + 1,
                                            collect_report, &c, &eb));
    c.n = 0;

    /* Bad input. */
    uint8_t *big = calloc(1, FWS_STORE_REPORT_MAX + 1);
    assert_non_null(big);
    ERR(FWS_ERR_TOO_BIG, fws_store_report_add(f->s, "d1", FWS_STORE_REPORT_INSTALL, big,
                                              FWS_STORE_REPORT_MAX + 1, 1, &again, NULL, &eb));
    free(big);
    ERR(FWS_ERR_ARG,
        fws_store_report_add(f->s, "d1", FWS_STORE_REPORT_INSTALL, b1, 0, 1, &again, NULL, &eb));
    ERR(FWS_ERR_ARG, fws_store_report_add(f->s, "d1", 0, b1, sizeof(b1), 1, &again, NULL, &eb));
    ERR(FWS_ERR_ARG, fws_store_report_add(f->s, "d1", 5, b1, sizeof(b1), 1, &again, NULL, &eb));
    ERR(FWS_ERR_ARG, fws_store_report_unsequenced(f->s, 0, FWS_STORE_REPORT_LIST_MAX + 1,
                                                  collect_report, &c, &eb));
    p = page(0, FWS_STORE_REPORT_LIST_MAX + 1, 0);
    ERR(FWS_ERR_ARG, fws_store_report_list(f->s, "d1", &p, collect_report, &c, &eb));
}

/* ---- alerts and the audit trail ---------------------------------------------------------- */

static void test_alerts_audit(void **state)
{
    fx *f = *state;
    fws_store_alert a, got;
    fws_store_audit u;
    int64_t a1 = 0, a2 = 0, u1 = 0, u2 = 0;
    ids c = {0};
    memset(&a, 0, sizeof(a));
    snprintf(a.kind, sizeof(a.kind), "rollout-failure-threshold");
    snprintf(a.subject, sizeof(a.subject), "rollout 7");
    /* Quotes and SQL in values are data, nothing more. */
    snprintf(a.message, sizeof(a.message), "5%% failed'); DROP TABLE alerts; -- \"é\"");
    a.time = 10;
    OK(fws_store_alert_add(f->s, &a, &a1, &eb));
    a.time = 11;
    OK(fws_store_alert_add(f->s, &a, &a2, &eb));
    OK(fws_store_alert_get(f->s, a1, &got, &eb));
    assert_string_equal(got.message, a.message);
    assert_string_equal(got.kind, "rollout-failure-threshold");
    assert_int_equal(got.acked_at, 0);

    OK(fws_store_alert_ack(f->s, a1, 3, 20, &eb));
    OK(fws_store_alert_ack(f->s, a1, 4, 30, &eb));
    OK(fws_store_alert_get(f->s, a1, &got, &eb));
    assert_int_equal(got.acked_at, 20);
    assert_int_equal(got.acked_by, 3);
    ERR(FWS_ERR_NOT_FOUND, fws_store_alert_ack(f->s, a2 + 5, 3, 20, &eb));

    fws_store_page p = page(0, 10, 0);
    OK(fws_store_alert_list(f->s, 1, &p, collect_alert, &c, &eb));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0], a2);
    c.n = 0;
    p = page(0, 10, 1);
    OK(fws_store_alert_list(f->s, 0, &p, collect_alert, &c, &eb));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.v[0], a2);

    /* Delivery marks: both undelivered, oldest first; marked once; given up counts as done. */
    c.n = 0;
    OK(fws_store_alert_undelivered(f->s, 0, 10, collect_alert, &c, &eb));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.v[0], a1);
    OK(fws_store_alert_delivered(f->s, a1, 50, &eb));
    OK(fws_store_alert_delivered(f->s, a1, 60, &eb)); /* no-op */
    c.n = 0;
    OK(fws_store_alert_undelivered(f->s, 0, 10, collect_alert, &c, &eb));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0], a2);
    OK(fws_store_alert_delivered(f->s, a2, -1, &eb));
    c.n = 0;
    OK(fws_store_alert_undelivered(f->s, 0, 10, collect_alert, &c, &eb));
    assert_int_equal(c.n, 0);
    ERR(FWS_ERR_NOT_FOUND, fws_store_alert_delivered(f->s, a2 + 5, 50, &eb));
    ERR(FWS_ERR_ARG, fws_store_alert_delivered(f->s, a1, 0, &eb));
    ERR(FWS_ERR_ARG, fws_store_alert_undelivered(f->s, 0, 0, collect_alert, &c, &eb));

    snprintf(a.message, sizeof(a.message), "bad \xff byte");
    ERR(FWS_ERR_ARG, fws_store_alert_add(f->s, &a, &a1, &eb));
    snprintf(a.message, sizeof(a.message), "tab\there");
    ERR(FWS_ERR_ARG, fws_store_alert_add(f->s, &a, &a1, &eb));
    snprintf(a.message, sizeof(a.message), "ok");
    snprintf(a.kind, sizeof(a.kind), "has space");
    ERR(FWS_ERR_ARG, fws_store_alert_add(f->s, &a, &a1, &eb));

    memset(&u, 0, sizeof(u));
    u.token_id = 3;
    snprintf(u.actor, sizeof(u.actor), "alice");
    snprintf(u.action, sizeof(u.action), "rollout.start");
    snprintf(u.target, sizeof(u.target), "rollout 7");
    u.time = 40;
    OK(fws_store_audit_add(f->s, &u, &u1, &eb));
    snprintf(u.action, sizeof(u.action), "token.revoke");
    snprintf(u.detail, sizeof(u.detail), "lost laptop");
    u.time = 41;
    OK(fws_store_audit_add(f->s, &u, &u2, &eb));
    assert_true(u2 > u1);
    c.n = 0;
    p = page(0, 10, 0);
    OK(fws_store_audit_list(f->s, &p, collect_audit, &c, &eb));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.v[0], u1);
    c.n = 0;
    p = page(u2, 10, 1);
    OK(fws_store_audit_list(f->s, &p, collect_audit, &c, &eb));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0], u1);
    snprintf(u.actor, sizeof(u.actor), "%s", "");
    ERR(FWS_ERR_ARG, fws_store_audit_add(f->s, &u, &u1, &eb));
}

/* ---- leader election --------------------------------------------------------------------- */

static void test_leader(void **state)
{
    fx *f = *state;
    fws_store *a = NULL, *b = NULL;
    int la = -1, lb = -1;
    OK(fws_store_open(f->url, &a, &eb));
    OK(fws_store_open(f->url, &b, &eb));

    OK(fws_store_leader_try(a, "ledger", &la, &eb));
    OK(fws_store_leader_try(b, "ledger", &lb, &eb));
    assert_int_equal(la, 1);
    assert_int_equal(lb, 0);
    /* Asking again keeps it; other names are independent. */
    OK(fws_store_leader_try(a, "ledger", &la, &eb));
    OK(fws_store_leader_try(b, "ledger", &lb, &eb));
    assert_int_equal(la, 1);
    assert_int_equal(lb, 0);
    OK(fws_store_leader_try(b, "witness", &lb, &eb));
    assert_int_equal(lb, 1);

    /* Releasing hands it over; closing the leader's handle does too. */
    fws_store_leader_release(a, "ledger");
    OK(fws_store_leader_try(b, "ledger", &lb, &eb));
    assert_int_equal(lb, 1);
    OK(fws_store_leader_try(a, "ledger", &la, &eb));
    assert_int_equal(la, 0);
    fws_store_close(b);
    OK(fws_store_leader_try(a, "ledger", &la, &eb));
    assert_int_equal(la, 1);
    OK(fws_store_leader_try(a, "witness", &la, &eb));
    assert_int_equal(la, 1);

    ERR(FWS_ERR_ARG, fws_store_leader_try(a, "", &la, &eb));
    ERR(FWS_ERR_ARG, fws_store_leader_try(a, "Ledger", &la, &eb));
    ERR(FWS_ERR_ARG, fws_store_leader_try(a, "../x", &la, &eb));
    ERR(FWS_ERR_ARG, fws_store_leader_try(a, "abcdefghijklmnopqrstuvwxyz0123456", &la, &eb));
    for (int i = 0; i < FWS_STORE_LEADERS - 2; i++) {
        char name[16];
        snprintf(name, sizeof(name), "n%d", i);
        OK(fws_store_leader_try(a, name, &la, &eb));
    }
    ERR(FWS_ERR_ARG, fws_store_leader_try(a, "one-too-many", &la, &eb));
    fws_store_close(a);
}

/* Leadership ends with the process that held it, even when it is killed. */
static void test_leader_process_death(void **state)
{
    fx *f = *state;
    int fds[2], is_leader = -1;
    char c = 0;
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fws_store *cs = NULL;
        int l = 0;
        fws_errbuf ceb = {{0}};
        close(fds[0]);
        if (fws_store_open(f->url, &cs, &ceb) != FWS_OK ||
            fws_store_leader_try(cs, "sequencer", &l, &ceb) != FWS_OK || !l)
            _exit(3);
        if (write(fds[1], "L", 1) != 1)
            _exit(4);
        for (;;)
            pause();
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &c, 1), 1);
    close(fds[0]);
    assert_int_equal(c, 'L');
    OK(fws_store_leader_try(f->s, "sequencer", &is_leader, &eb));
    assert_int_equal(is_leader, 0);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    /* The server notices the dropped connection on its own schedule: ask until it has. */
    for (int i = 0; i < 300 && !is_leader; i++) {
        OK(fws_store_leader_try(f->s, "sequencer", &is_leader, &eb));
        if (!is_leader)
            usleep(50 * 1000);
    }
    assert_int_equal(is_leader, 1);
}

/* ---- transactions ------------------------------------------------------------------------ */

static void test_transactions(void **state)
{
    fx *f = *state;
    fws_store_device d;
    fws_store_alert a;
    int64_t aid = 0, rid = 0;
    int created = 0;
    memset(&a, 0, sizeof(a));
    snprintf(a.kind, sizeof(a.kind), "test");
    snprintf(a.message, sizeof(a.message), "in a transaction");

    /* Rolled back: nothing of it remains. */
    OK(fws_store_begin(f->s, &eb));
    put_device(f->s, "tx-1", "hub-a", "eu", "");
    OK(fws_store_alert_add(f->s, &a, &aid, &eb));
    OK(fws_store_device_get(f->s, "tx-1", &d, &eb));
    fws_store_rollback(f->s);
    ERR(FWS_ERR_NOT_FOUND, fws_store_device_get(f->s, "tx-1", &d, &eb));
    ERR(FWS_ERR_NOT_FOUND, fws_store_alert_get(f->s, aid, &a, &eb));

    /* A multi-step update that hits an error part way is rolled back as a whole by the
     * caller; a failed function itself leaves nothing behind and the transaction goes on. */
    put_device(f->s, "tx-0", "hub-a", "eu", "");
    OK(fws_store_report_add(f->s, "tx-0", FWS_STORE_REPORT_INSTALL, (const uint8_t *)"r1", 2, 5,
                            &rid, &created, &eb));
    OK(fws_store_report_sequenced(f->s, rid, 0, &eb));
    OK(fws_store_report_add(f->s, "tx-0", FWS_STORE_REPORT_INSTALL, (const uint8_t *)"r2", 2, 6,
                            &rid, &created, &eb));
    OK(fws_store_begin(f->s, &eb));
    put_device(f->s, "tx-2", "hub-a", "eu", "");
    /* A database-level failure (unique ledger index) inside the transaction... */
    ERR(FWS_ERR_EXISTS, fws_store_report_sequenced(f->s, rid, 0, &eb));
    /* ...and a logical one in a multi-statement function. */
    d = device("tx-2", "hub-a", "eu", "");
    d.status = FWS_STORE_DEV_DECOMMISSIONED;
    OK(fws_store_device_put(f->s, &d, NULL, &eb));
    d.status = FWS_STORE_DEV_ACTIVE;
    snprintf(d.model, sizeof(d.model), "changed");
    ERR(FWS_ERR_STATE, fws_store_device_put(f->s, &d, NULL, &eb));
    /* The transaction is still usable. */
    OK(fws_store_device_get(f->s, "tx-2", &d, &eb));
    assert_string_equal(d.model, "hub-a");
    OK(fws_store_report_sequenced(f->s, rid, 1, &eb));
    OK(fws_store_commit(f->s, &eb));
    OK(fws_store_device_get(f->s, "tx-2", &d, &eb));
    assert_int_equal(d.status, FWS_STORE_DEV_DECOMMISSIONED);
    fws_store_report r;
    OK(fws_store_report_get(f->s, rid, &r, NULL, NULL, &eb));
    assert_int_equal(r.ledger_index, 1);

    /* The caller's pattern: begin, steps, rollback on the first error. */
    OK(fws_store_begin(f->s, &eb));
    put_device(f->s, "tx-3", "hub-a", "eu", "");
    fws_err err = fws_store_device_set_status(f->s, "tx-2", FWS_STORE_DEV_ACTIVE, 9, &eb);
    assert_int_equal(err, FWS_ERR_STATE);
    fws_store_rollback(f->s);
    ERR(FWS_ERR_NOT_FOUND, fws_store_device_get(f->s, "tx-3", &d, &eb));

    /* Misuse. */
    ERR(FWS_ERR_STATE, fws_store_commit(f->s, &eb));
    OK(fws_store_begin(f->s, &eb));
    ERR(FWS_ERR_STATE, fws_store_begin(f->s, &eb));
    OK(fws_store_commit(f->s, &eb));
    fws_store_rollback(f->s);

    /* Another handle does not see uncommitted work. */
    fws_store *other = NULL;
    OK(fws_store_open(f->url, &other, &eb));
    OK(fws_store_begin(f->s, &eb));
    put_device(f->s, "tx-4", "hub-a", "eu", "");
    OK(fws_store_commit(f->s, &eb));
    OK(fws_store_device_get(other, "tx-4", &d, &eb));
    fws_store_close(other);
}

/* ---- bad input --------------------------------------------------------------------------- */

static void test_bad_input(void **state)
{
    fx *f = *state;
    char long_id[FWS_STORE_ID_MAX + 2];
    fws_store_device d, got;
    uint64_t seq = 0;
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';

    /* Too long: as a parameter, and as a field that fills its array without a NUL. */
    ERR(FWS_ERR_ARG, fws_store_device_get(f->s, long_id, &got, &eb));
    ERR(FWS_ERR_ARG, fws_store_device_next_seq(f->s, long_id, &seq, &eb));
    long_id[FWS_STORE_ID_MAX] = '\0';
    ERR(FWS_ERR_NOT_FOUND, fws_store_device_get(f->s, long_id, &got, &eb));
    d = device("ok", "hub-a", "eu", "");
    memset(d.model, 'm', sizeof(d.model));
    ERR(FWS_ERR_ARG, fws_store_device_put(f->s, &d, NULL, &eb));
    assert_non_null(strstr(eb.msg, "too long"));
    d = device("ok", "hub-a", "eu", "");
    memset(d.id, 'i', sizeof(d.id));
    ERR(FWS_ERR_ARG, fws_store_device_put(f->s, &d, NULL, &eb));

    /* Empty, characters outside the set, negative times, unknown enum values. */
    d = device("", "hub-a", "eu", "");
    ERR(FWS_ERR_ARG, fws_store_device_put(f->s, &d, NULL, &eb));
    d = device("id with space", "hub-a", "eu", "");
    ERR(FWS_ERR_ARG, fws_store_device_put(f->s, &d, NULL, &eb));
    d = device("ok", "hub/a", "eu", "");
    ERR(FWS_ERR_ARG, fws_store_device_put(f->s, &d, NULL, &eb));
    d = device("ok", "hub-a", "eu", "");
    d.last_seen = -1;
    ERR(FWS_ERR_ARG, fws_store_device_put(f->s, &d, NULL, &eb));
    d = device("ok", "hub-a", "eu", "");
    d.status = 0;
    ERR(FWS_ERR_ARG, fws_store_device_put(f->s, &d, NULL, &eb));
    d.status = 99;
    ERR(FWS_ERR_ARG, fws_store_device_put(f->s, &d, NULL, &eb));
    d = device("ok", "hub-a", "eu", "");
    d.attest_result = 7;
    ERR(FWS_ERR_ARG, fws_store_device_put(f->s, &d, NULL, &eb));
    ERR(FWS_ERR_ARG, fws_store_device_set_status(f->s, "ok", 42, 1, &eb));
    ERR(FWS_ERR_ARG, fws_store_device_set_attestation(f->s, "ok", 1, FWS_STORE_ATTEST_NONE, &eb));
    ERR(FWS_ERR_ARG, fws_store_device_seen(f->s, "ok", -5, &eb));
    ERR(FWS_ERR_ARG, fws_store_device_get(f->s, NULL, &got, &eb));

    /* Filters and pages. */
    ids c = {0};
    fws_store_device_filter flt = {.limit = 0};
    ERR(FWS_ERR_ARG, fws_store_device_list(f->s, &flt, collect_device, &c, &eb));
    flt.limit = FWS_STORE_LIST_MAX + 1;
    ERR(FWS_ERR_ARG, fws_store_device_list(f->s, &flt, collect_device, &c, &eb));
    flt.limit = 5;
    flt.status = 12;
    ERR(FWS_ERR_ARG, fws_store_device_list(f->s, &flt, collect_device, &c, &eb));
    flt.status = 0;
    flt.model = "x'y";
    ERR(FWS_ERR_ARG, fws_store_device_list(f->s, &flt, collect_device, &c, &eb));
    fws_store_page p = page(-1, 5, 0);
    ERR(FWS_ERR_ARG, fws_store_token_list(f->s, 0, &p, collect_token, &c, &eb));
    ERR(FWS_ERR_ARG, fws_store_token_list(f->s, 0, NULL, collect_token, &c, &eb));

    /* Enumerations by name. */
    fws_store_role role;
    fws_store_device_status st;
    fws_store_report_kind kind;
    fws_store_rollout_state rs;
    fws_store_outcome oc;
    fws_store_attest at;
    OK(fws_store_role_parse("factory", &role, &eb));
    assert_int_equal(role, FWS_STORE_ROLE_FACTORY);
    ERR(FWS_ERR_ARG, fws_store_role_parse("root", &role, &eb));
    assert_non_null(strstr(eb.msg, "root"));
    ERR(FWS_ERR_ARG, fws_store_role_parse(NULL, &role, &eb));
    OK(fws_store_device_status_parse("decommissioned", &st, &eb));
    assert_int_equal(st, FWS_STORE_DEV_DECOMMISSIONED);
    ERR(FWS_ERR_ARG, fws_store_device_status_parse("Active", &st, &eb));
    OK(fws_store_report_kind_parse("verification-failure", &kind, &eb));
    assert_int_equal(kind, FWS_STORE_REPORT_VERIFY_FAILURE);
    ERR(FWS_ERR_ARG, fws_store_report_kind_parse("install ", &kind, &eb));
    OK(fws_store_rollout_state_parse("paused", &rs, &eb));
    ERR(FWS_ERR_ARG, fws_store_rollout_state_parse("done", &rs, &eb));
    OK(fws_store_outcome_parse("failed", &oc, &eb));
    ERR(FWS_ERR_ARG, fws_store_outcome_parse("", &oc, &eb));
    OK(fws_store_attest_parse("pass", &at, &eb));
    ERR(FWS_ERR_ARG, fws_store_attest_parse("ok", &at, &eb));
    assert_null(fws_store_role_name(0));
    assert_null(fws_store_device_status_name(6));
    assert_string_equal(fws_store_report_kind_name(FWS_STORE_REPORT_ATTESTATION), "attestation");
    assert_int_equal(fws_store_device_transition_ok(FWS_STORE_DEV_ACTIVE, 0), 0);
    assert_int_equal(fws_store_rollout_transition_ok(9, FWS_STORE_ROLLOUT_RUNNING), 0);
}

/* What is read back is checked as strictly as what is written. */
static void test_stored_data_checked(void **state)
{
    fx *f = *state;
    fws_store_device d;
    char sql[256];
    put_device(f->s, "d1", "hub-a", "eu", "");
    snprintf(sql, sizeof(sql), "UPDATE devices SET model = '%0*d' WHERE id = 'd1'",
             FWS_STORE_NAME_MAX + 1, 0);
    OK(store_script(f->s, sql, &eb));
    ERR(FWS_ERR_SCHEMA, fws_store_device_get(f->s, "d1", &d, &eb));
    assert_non_null(strstr(eb.msg, "model"));
    OK(store_script(f->s, "UPDATE devices SET model = 'm', installed_sha256 = 'zz' WHERE id = 'd1'",
                    &eb));
    ERR(FWS_ERR_SCHEMA, fws_store_device_get(f->s, "d1", &d, &eb));
}

static void test_resolve(void **state)
{
    (void)state;
    char out[64];
    OK(fws_store_resolve(NULL, "/srv/deploy", out, sizeof(out), &eb));
    assert_string_equal(out, "/srv/deploy/fwseal.sqlite");
    OK(fws_store_resolve("sqlite", "/srv/deploy", out, sizeof(out), &eb));
    assert_string_equal(out, "/srv/deploy/fwseal.sqlite");
    OK(fws_store_resolve("sqlite:/var/lib/x.db", NULL, out, sizeof(out), &eb));
    assert_string_equal(out, "/var/lib/x.db");
    OK(fws_store_resolve("postgres://db.example/fwseal", NULL, out, sizeof(out), &eb));
    assert_string_equal(out, "postgres://db.example/fwseal");
    ERR(FWS_ERR_ARG, fws_store_resolve("sqlite", NULL, out, sizeof(out), &eb));
    ERR(FWS_ERR_ARG, fws_store_resolve("", "/d", out, sizeof(out), &eb));
    ERR(FWS_ERR_ARG, fws_store_resolve("sqlite:", "/d", out, sizeof(out), &eb));
    ERR(FWS_ERR_ARG, fws_store_resolve(NULL,
                                       "/a/very/long/deployment/directory/name/that/does/"
                                       "not/fit",
                                       out, sizeof(out), &eb));
}

/* Engine-specific ways to fail to open. */
static void test_open_errors(void **state)
{
    fx *f = *state;
    fws_store *s = NULL;
    char url[FWS_STORE_PATH_MAX];
    ERR(FWS_ERR_ARG, fws_store_open(NULL, &s, &eb));
    ERR(FWS_ERR_ARG, fws_store_open("", &s, &eb));
    ERR(FWS_ERR_ARG, fws_store_open("sqlite:", &s, &eb));
    ERR(FWS_ERR_ARG, fws_store_open(":memory:", &s, &eb));
    ERR(FWS_ERR_NOT_FOUND, fws_store_open("/nonexistent-dir-fwseal/x.sqlite", &s, &eb));
    assert_null(s);
    assert_string_equal(fws_store_engine(f->s), g_engine == ENGINE_PG ? "postgres" : "sqlite");
    if (g_engine != ENGINE_PG)
        return;
    /* No server there; and a wrong password, which must not appear in the message. */
    ERR(FWS_ERR_IO,
        fws_store_open("postgres://fwseal:s3cret-pw@127.0.0.1:1/none?connect_timeout=2", &s, &eb));
    assert_null(strstr(eb.msg, "s3cret-pw"));
    const char *at = strchr(g_pg_url, '@'), *colon = strchr(g_pg_url + 11, ':');
    if (at != NULL && colon != NULL && colon < at) {
        snprintf(url, sizeof(url), "%.*s:wrong-pw-x%s", (int)(colon - g_pg_url), g_pg_url, at);
        ERR(FWS_ERR_IO, fws_store_open(url, &s, &eb));
        assert_null(strstr(eb.msg, "wrong-pw-x"));
        assert_null(s);
    }
}

/* ---- several processes starting at once -------------------------------------------------- */

#define OPENERS 4

typedef struct opener {
    const char *url;
    pthread_barrier_t *go;
    fws_err err;
    int version;
    char msg[FWS_ERRBUF_SIZE];
} opener;

static void *open_worker(void *arg)
{
    opener *o = arg;
    fws_errbuf oeb = {{0}};
    fws_store *s = NULL;
    pthread_barrier_wait(o->go);
    o->err = fws_store_open(o->url, &s, &oeb);
    if (o->err == FWS_OK)
        o->err = fws_store_schema_version(s, &o->version, &oeb);
    fws_store_close(s);
    memcpy(o->msg, oeb.msg, sizeof(o->msg));
    return NULL;
}

/* Every opener of an empty database races to migrate it; exactly one does, none fails. */
static void test_concurrent_open(void **state)
{
    fx *f = *state;
    opener o[OPENERS];
    pthread_t th[OPENERS];
    pthread_barrier_t go;
    fx_reset(f);
    assert_int_equal(pthread_barrier_init(&go, NULL, OPENERS), 0);
    for (int i = 0; i < OPENERS; i++) {
        memset(&o[i], 0, sizeof(o[i]));
        o[i].url = f->url;
        o[i].go = &go;
        assert_int_equal(pthread_create(&th[i], NULL, open_worker, &o[i]), 0);
    }
    for (int i = 0; i < OPENERS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        if (o[i].err != FWS_OK)
            fail_msg("opener %d: %s (%s)", i, fws_strerror(o[i].err), o[i].msg);
        assert_int_equal(o[i].version, FWS_STORE_SCHEMA_VERSION);
    }
    pthread_barrier_destroy(&go);
    OK(fws_store_open(f->url, &f->s, &eb));
}

/* PostgreSQL: a session the server ends is replaced on the next call, without leadership. */
static long pg_value(const char *sql)
{
    PGconn *c = PQconnectdb(g_pg_url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    long v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

static void test_pg_reconnect(void **state)
{
    fx *f = *state;
    fws_store *a = NULL, *b = NULL;
    fws_store_device d;
    char url[FWS_STORE_PATH_MAX + 128], sql[256];
    int la = -1, lb = -1;
    if (g_engine != ENGINE_PG)
        skip();
    snprintf(url, sizeof(url), "%s&application_name=%s", f->url, f->schema);
    OK(fws_store_open(url, &a, &eb));
    OK(fws_store_open(f->url, &b, &eb));
    put_device(a, "d1", "hub-a", "eu", "");
    OK(fws_store_leader_try(a, "ledger", &la, &eb));
    assert_int_equal(la, 1);

    snprintf(sql, sizeof(sql),
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
             " WHERE application_name = '%s'",
             f->schema);
    assert_int_equal(pg_value(sql), 1);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'", f->schema);
    for (int i = 0; i < 200 && pg_value(sql) != 0; i++)
        usleep(20 * 1000);
    assert_int_equal(pg_value(sql), 0);

    /* The call that meets the dead session fails; the next one runs on a new session. */
    ERR(FWS_ERR_IO, fws_store_device_get(a, "d1", &d, &eb));
    OK(fws_store_device_get(a, "d1", &d, &eb));
    /* The lock went with the old session: b can lead now, and a knows it does not. */
    OK(fws_store_leader_try(b, "ledger", &lb, &eb));
    assert_int_equal(lb, 1);
    OK(fws_store_leader_try(a, "ledger", &la, &eb));
    assert_int_equal(la, 0);
    fws_store_close(b);
    OK(fws_store_leader_try(a, "ledger", &la, &eb));
    assert_int_equal(la, 1);
    fws_store_close(a);
}

/* PostgreSQL: open() migrates under the schema's migration lock, so concurrent openers wait
 * for each other instead of racing to create tables. */
static void *open_named(void *arg)
{
    opener *o = arg;
    fws_errbuf oeb = {{0}};
    fws_store *s = NULL;
    o->err = fws_store_open(o->url, &s, &oeb);
    fws_store_close(s);
    memcpy(o->msg, oeb.msg, sizeof(o->msg));
    return NULL;
}

static void test_pg_migration_lock(void **state)
{
    fx *f = *state;
    char url[FWS_STORE_PATH_MAX + 128], sql[256];
    pthread_t th;
    opener o;
    if (g_engine != ENGINE_PG)
        skip();
    OK(fws_store_begin(f->s, &eb));
    OK(f->s->eng->migration_lock(f->s, &eb));
    snprintf(url, sizeof(url), "%s&application_name=%s", f->url, f->schema);
    memset(&o, 0, sizeof(o));
    o.url = url;
    o.err = FWS_ERR_STATE;
    assert_int_equal(pthread_create(&th, NULL, open_named, &o), 0);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'"
             " AND wait_event_type = 'Lock' AND wait_event = 'advisory'",
             f->schema);
    long waiting = 0;
    for (int i = 0; i < 500 && waiting == 0; i++) {
        if ((waiting = pg_value(sql)) == 0)
            usleep(20 * 1000);
    }
    assert_int_equal(waiting, 1);
    OK(fws_store_commit(f->s, &eb));
    assert_int_equal(pthread_join(th, NULL), 0);
    if (o.err != FWS_OK)
        fail_msg("open: %s (%s)", fws_strerror(o.err), o.msg);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    /* A child or peer that hangs up early is the code's to handle, not a fatal signal. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        T(test_migrations),
        T(test_concurrent_open),
        T(test_tokens),
        T(test_devices),
        T(test_device_lists),
        T(test_seq_concurrent),
        T(test_releases),
        T(test_rollouts),
        T(test_rollout_input),
        T(test_reports),
        T(test_alerts_audit),
        T(test_leader),
        T(test_leader_process_death),
        T(test_pg_reconnect),
        T(test_pg_migration_lock),
        T(test_transactions),
        T(test_bad_input),
        T(test_stored_data_checked),
        T(test_resolve),
        T(test_open_errors),
    };
    int failed;
    g_engine = ENGINE_SQLITE;
    failed = cmocka_run_group_tests_name("store on SQLite", tests, NULL, NULL);
    g_pg_url = getenv("FWS_PG_URL");
    if (g_pg_url == NULL || g_pg_url[0] == '\0') {
        print_message("FWS_PG_URL is not set: the PostgreSQL run is left to "
                      "tests/cli/store_postgres.sh\n");
        return failed;
    }
    g_engine = ENGINE_PG;
    failed += cmocka_run_group_tests_name("store on PostgreSQL", tests, NULL, NULL);
    return failed;
}
