/* The alert engine's parts: configuration, durations, kinds, the statistics and the records
 * they count, the spike and size tests, attestation report flags, raising with
 * de-duplication on a real SQLite store, the size and certificate rules, and delivery to a
 * command and to a webhook on loopback. */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "fwseal/crypto.h"
#include "server/alert.h"

static fws_err parse(const char *text, alert_config *c, fws_errbuf *eb)
{
    alert_config_defaults(c);
    return alert_config_parse(text, strlen(text), c, eb);
}

static void test_config(void **state)
{
    (void)state;
    alert_config c;
    fws_errbuf eb = {{0}};
    assert_int_equal(parse("{\"format\":\"fwseal-alerts/v1\"}", &c, &eb), FWS_OK);
    assert_int_equal(c.interval, 30);
    assert_int_equal(c.verify.threshold, 5);
    assert_int_equal(c.timeout_ms, 5000);
    assert_int_equal(c.n_command, 0);
    assert_int_equal(
        parse("{\"format\":\"fwseal-alerts/v1\",\"interval\":\"2m\",\"timeout\":3,"
              "\"webhook\":{\"url\":\"https://hooks.example/x\",\"authorization\":\"Bearer t\"},"
              "\"command\":[\"/bin/sh\",\"-c\",\"cat\"],\"rules\":{\"rollbacks\":{\"window\":"
              "\"15m\",\"threshold\":2,\"factor\":4},\"updateSize\":{\"factor\":5,\"history\":3},"
              "\"logFork\":{\"enabled\":false},\"certificateExpiry\":{\"warn\":\"10d\"}}}",
              &c, &eb),
        FWS_OK);
    assert_int_equal(c.interval, 120);
    assert_int_equal(c.timeout_ms, 3000);
    assert_string_equal(c.webhook, "https://hooks.example/x");
    assert_string_equal(c.webhook_auth, "Bearer t");
    assert_int_equal(c.n_command, 3);
    assert_string_equal(c.command[2], "cat");
    assert_int_equal(c.rollback.window, 900);
    assert_int_equal(c.rollback.threshold, 2);
    assert_int_equal(c.rollback.factor, 4);
    assert_int_equal(c.size_factor, 5);
    assert_int_equal(c.size_history, 3);
    assert_false(c.fork_enabled);
    assert_int_equal(c.cert_warn, 10 * 86400);
    /* The configuration the dashboard shows leaves the webhook's credentials out. */
    json_t *j = alert_config_json(&c);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_null(strstr(text, "Bearer"));
    assert_non_null(strstr(text, "\"webhook\":true"));
    free(text);
    json_decref(j);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"[]", "object"},
        {"{\"format\":\"fwseal-alerts/v2\"}", "fwseal-alerts/v1"},
        {"{\"format\":\"fwseal-alerts/v1\",\"extra\":1}", "extra"},
        {"{\"format\":\"fwseal-alerts/v1\",\"interval\":\"1x\"}", "interval"},
        {"{\"format\":\"fwseal-alerts/v1\",\"interval\":0}", "interval"},
        {"{\"format\":\"fwseal-alerts/v1\",\"timeout\":\"10m\"}", "timeout"},
        {"{\"format\":\"fwseal-alerts/v1\",\"webhook\":{\"url\":\"ftp://x\"}}", "webhook"},
        {"{\"format\":\"fwseal-alerts/v1\",\"webhook\":{\"url\":\"http://x\",\"authorization\":"
         "\"a\\nb\"}}",
         "authorization"},
        {"{\"format\":\"fwseal-alerts/v1\",\"command\":[]}", "command"},
        {"{\"format\":\"fwseal-alerts/v1\",\"command\":[\"sh\"]}", "absolute"},
        {"{\"format\":\"fwseal-alerts/v1\",\"rules\":{\"nope\":{}}}", "nope"},
        {"{\"format\":\"fwseal-alerts/v1\",\"rules\":{\"rollbacks\":{\"threshold\":0}}}",
         "rules.rollbacks"},
        {"{\"format\":\"fwseal-alerts/v1\",\"rules\":{\"updateSize\":{\"factor\":1}}}",
         "rules.updateSize"},
        {"{\"format\":\"fwseal-alerts/v1\",\"rules\":{\"logFork\":{\"enabled\":1}}}",
         "rules.logFork"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fws_errbuf why = {{0}};
        alert_config before;
        alert_config_defaults(&before);
        c = before;
        assert_int_not_equal(alert_config_parse(bad[i].text, strlen(bad[i].text), &c, &why),
                             FWS_OK);
        if (strstr(why.msg, bad[i].msg) == NULL)
            fail_msg("config %zu: \"%s\" does not name %s", i, why.msg, bad[i].msg);
        assert_memory_equal(&c, &before, sizeof(c)); /* untouched on failure */
    }
}

static void test_durations_kinds(void **state)
{
    (void)state;
    int64_t d = 0;
    assert_int_equal(alert_duration_parse("90s", &d), FWS_OK);
    assert_int_equal(d, 90);
    assert_int_equal(alert_duration_parse("15m", &d), FWS_OK);
    assert_int_equal(d, 900);
    assert_int_equal(alert_duration_parse("2h", &d), FWS_OK);
    assert_int_equal(d, 7200);
    assert_int_equal(alert_duration_parse("30d", &d), FWS_OK);
    assert_int_equal(d, 30 * 86400);
    assert_int_equal(alert_duration_parse("45", &d), FWS_OK);
    assert_int_equal(d, 45);
    const char *bad[] = {"", "0", "-1s", "1.5h", "h", "1hh", "1w", "99999999999d", " 1s"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_not_equal(alert_duration_parse(bad[i], &d), FWS_OK);
    for (int k = 0; k < ALERT_KIND_COUNT; k++)
        assert_int_equal(alert_kind_of(alert_kind_name((alert_kind)k)), k);
    assert_int_equal(alert_kind_of("rollout-failure-threshold"), ALERT_OTHER);
    assert_true(alert_kind_valid("log-fork"));
    assert_false(alert_kind_valid(""));
    assert_false(alert_kind_valid("Log-Fork"));
    assert_false(alert_kind_valid("log fork"));
}

static void test_spike_and_size(void **state)
{
    (void)state;
    alert_spike_rule r = {.enabled = 1, .window = 3600, .threshold = 5, .factor = 3};
    assert_false(alert_spike(&r, 4, 0));  /* under the threshold */
    assert_true(alert_spike(&r, 5, 0));   /* nothing usual to compare with */
    assert_true(alert_spike(&r, 6, 48));  /* 6 >= 3 * 48/24 */
    assert_false(alert_spike(&r, 5, 48)); /* 5 < 3 * 2: the usual rate */
    r.factor = 0;
    assert_true(alert_spike(&r, 5, 1000000));
    r.enabled = 0;
    assert_false(alert_spike(&r, 1000, 0));
    assert_false(alert_size_outlier(300, 100, 3));
    assert_true(alert_size_outlier(400, 100, 3));
    assert_false(alert_size_outlier(34, 100, 3));
    assert_true(alert_size_outlier(33, 100, 3));
    assert_false(alert_size_outlier(1000, 0, 3)); /* no history */
}

static void test_stats(void **state)
{
    (void)state;
    alert_stats *s = alert_stats_new();
    assert_non_null(s);
    const int64_t now = 1794990600; /* 2026-11-18T08:30:00Z */
    const char *ok = "{\"device\":\"d1\",\"fromVersion\":\"1.0.0\",\"image\":{\"sha256\":\"aa\"},"
                     "\"product\":\"hub\",\"result\":\"success\",\"schema\":1,"
                     "\"time\":\"2026-11-18T08:26:00Z\",\"toVersion\":\"1.1.0\",\"type\":"
                     "\"install\"}";
    const char *failed = "{\"product\":\"hub\",\"result\":\"failure\",\"time\":"
                         "\"2026-11-18T08:20:00.5Z\",\"type\":\"install\"}";
    const char *rb = "{\"product\":\"cam\",\"reason\":\"x\",\"time\":\"2026-11-18T07:00:00Z\","
                     "\"type\":\"rollback\"}";
    const char *quarantine = "{\"action\":\"begin\",\"device\":\"d\",\"reason\":\"r\",\"time\":"
                             "\"2026-11-18T08:00:00Z\",\"type\":\"quarantine\"}";
    const char *junk[] = {"not json", "{\"type\":\"install\",\"time\":\"yesterday\"}",
                          "{\"type\":\"install\",\"time\":\"2026-11-18T08:00:00+01:00\"}", "[]"};
    alert_stats_record(s, (const uint8_t *)ok, strlen(ok), now);
    alert_stats_record(s, (const uint8_t *)failed, strlen(failed), now);
    alert_stats_record(s, (const uint8_t *)rb, strlen(rb), now);
    alert_stats_record(s, (const uint8_t *)quarantine, strlen(quarantine), now);
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        alert_stats_record(s, (const uint8_t *)junk[i], strlen(junk[i]), now);
    assert_int_equal(alert_stats_count(s, "hub", ALERT_EV_INSTALL_OK, now - 3600, now + 1), 1);
    assert_int_equal(alert_stats_count(s, "hub", ALERT_EV_INSTALL_FAIL, now - 3600, now + 1), 1);
    assert_int_equal(alert_stats_count(s, NULL, ALERT_EV_ROLLBACK, now - 7200, now + 1), 1);
    assert_int_equal(alert_stats_count(s, "hub", ALERT_EV_ROLLBACK, now - 7200, now + 1), 0);
    assert_int_equal(alert_stats_count(s, NULL, ALERT_EV_QUARANTINE, now - 3600, now + 1), 1);
    /* The window is honoured: the failure at 08:20 is outside the last 5 minutes. */
    assert_int_equal(alert_stats_count(s, "hub", ALERT_EV_INSTALL_FAIL, now - 300, now + 1), 0);
    /* A time from the future counts as now; one older than the minute ring is not counted
     * by minute, but still in the totals. */
    alert_stats_add(s, "hub", ALERT_EV_INSTALL_FAIL, now + 86400, now);
    assert_int_equal(alert_stats_count(s, "hub", ALERT_EV_INSTALL_FAIL, now - 60, now + 1), 1);
    alert_stats_add(s, "hub", ALERT_EV_INSTALL_FAIL, now - 5 * 86400, now);
    assert_int_equal(alert_stats_count(s, "hub", ALERT_EV_INSTALL_FAIL, 0, now + 1), 2);
    json_t *j = alert_stats_json(s, 24, now);
    assert_int_equal(json_array_size(json_object_get(j, "hours")), 24);
    json_t *last = json_array_get(json_object_get(j, "hours"), 23);
    assert_int_equal(json_integer_value(json_object_get(last, "installs")), 1);
    assert_int_equal(json_integer_value(json_object_get(last, "failures")), 2);
    json_t *totals = json_object_get(j, "totals");
    assert_int_equal(json_integer_value(json_object_get(totals, "failures")), 3);
    assert_int_equal(json_integer_value(json_object_get(totals, "rollbacks")), 1);
    assert_int_equal(json_array_size(json_object_get(j, "products")), 2);
    json_decref(j);
    /* More products than the statistics keep share the last series. */
    char name[32];
    for (int i = 0; i < ALERT_PRODUCTS_MAX + 5; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        alert_stats_add(s, name, ALERT_EV_ROLLBACK, now, now);
    }
    assert_int_equal(s->n, ALERT_PRODUCTS_MAX);
    assert_int_equal(alert_stats_count(s, NULL, ALERT_EV_ROLLBACK, now - 60, now + 1),
                     ALERT_PRODUCTS_MAX + 5);
    alert_stats_free(s);
}

static void test_report_flags(void **state)
{
    (void)state;
    const char *plain = "{\"format\":\"fwseal-attest-report/v1\",\"result\":\"pass\","
                        "\"flags\":[\"unexpected-reboot\"]}";
    assert_int_equal(alert_report_flags((const uint8_t *)plain, strlen(plain)), 1u);
    const char *payload = "{\"result\":\"fail\",\"flags\":[\"unexpected-restart\"]}";
    char b64[256], env[512];
    fws_base64_encode((const uint8_t *)payload, strlen(payload), b64);
    snprintf(env, sizeof(env), "{\"payloadType\":\"x\",\"payload\":\"%s\",\"signatures\":[]}", b64);
    assert_int_equal(alert_report_flags((const uint8_t *)env, strlen(env)), 6u);
    assert_int_equal(alert_report_flags((const uint8_t *)"{}", 2), 0u);
    assert_int_equal(alert_report_flags((const uint8_t *)"{\"payload\":\"!!\"}", 16), 0u);
    assert_int_equal(alert_report_flags((const uint8_t *)"\xff\xfe", 2), 0u);
}

/* ---- with a store ------------------------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
    fws_store *store;
    alert_seen seen;
    alert_config cfg;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    char path[128];
    snprintf(f->dir, sizeof(f->dir), "/tmp/fws-alert-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(path, sizeof(path), "%s/store.sqlite", f->dir);
    assert_int_equal(fws_store_open(path, &f->store, NULL), FWS_OK);
    alert_config_defaults(&f->cfg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[160];
    fws_store_close(f->store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static size_t open_alerts(fws_store *s, const char *kind)
{
    alert_seen seen;
    uint64_t active[ALERT_KIND_COUNT];
    assert_int_equal(alert_seen_load(s, &seen, active, NULL), FWS_OK);
    return (size_t)active[alert_kind_of(kind)];
}

static void test_raise_dedup(void **state)
{
    fixture *f = *state;
    fws_errbuf eb = {{0}};
    alert_ctx c = {.store = f->store, .seen = &f->seen, .cfg = &f->cfg, .now = 1000000};
    assert_int_equal(alert_seen_load(f->store, &f->seen, NULL, &eb), FWS_OK);
    assert_int_equal(alert_raise(&c, &eb, ALERT_REBOOT, "device d1", 0, "rebooted %d times", 2),
                     FWS_OK);
    assert_int_equal(c.raised, 1);
    /* Open: not raised again, whatever not_before says. */
    c.now += 10;
    assert_int_equal(alert_raise(&c, &eb, ALERT_REBOOT, "device d1", c.now, "again"), FWS_OK);
    assert_int_equal(c.raised, 1);
    /* Another subject is another alert. */
    assert_int_equal(alert_raise(&c, &eb, ALERT_REBOOT, "device d2", 0, "d2"), FWS_OK);
    assert_int_equal(c.raised, 2);
    assert_int_equal(open_alerts(f->store, "unexpected-reboot"), 2);
    /* Acknowledged: raised again only when the last one is older than not_before. */
    assert_int_equal(fws_store_alert_ack(f->store, 1, 7, c.now, &eb), FWS_OK);
    assert_int_equal(alert_seen_load(f->store, &f->seen, NULL, &eb), FWS_OK);
    assert_int_equal(alert_raise(&c, &eb, ALERT_REBOOT, "device d1", 0, "old"), FWS_OK);
    assert_int_equal(c.raised, 2);
    assert_int_equal(alert_raise(&c, &eb, ALERT_REBOOT, "device d1", c.now, "new"), FWS_OK);
    assert_int_equal(c.raised, 3);
    /* Messages are cut to the store's cap on a character boundary, control characters go. */
    char long_text[3000];
    memset(long_text, 'x', sizeof(long_text));
    memcpy(long_text + FWS_STORE_TEXT_MAX - 1, "\xc3\xa9\xc3\xa9", 4); /* cut inside the first */
    long_text[sizeof(long_text) - 1] = '\0';
    assert_int_equal(alert_raise(&c, &eb, ALERT_OTHER, "line\nbreak", 0, "%s", long_text), FWS_OK);
    fws_store_alert a;
    assert_int_equal(fws_store_alert_get(f->store, 4, &a, &eb), FWS_OK);
    assert_string_equal(a.kind, "other");
    assert_string_equal(a.subject, "line break");
    assert_int_equal(strlen(a.message), FWS_STORE_TEXT_MAX - 1);
    assert_int_equal(open_alerts(f->store, "other"), 1);
    /* Alert JSON for delivery. */
    json_t *j = alert_json(&a);
    assert_string_equal(json_string_value(json_object_get(j, "format")), "fwseal-alert/v1");
    assert_string_equal(json_string_value(json_object_get(j, "time")), "1970-01-12T13:46:50Z");
    json_decref(j);
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_size_rule(void **state)
{
    fixture *f = *state;
    fws_errbuf eb = {{0}};
    char path[128];
    alert_ctx c = {.store = f->store, .seen = &f->seen, .cfg = &f->cfg, .now = 2000000};
    assert_int_equal(alert_seen_load(f->store, &f->seen, NULL, &eb), FWS_OK);
    /* No index yet: nothing to judge. */
    assert_int_equal(alert_rule_sizes(&c, f->dir, &eb), FWS_OK);
    snprintf(path, sizeof(path), "%s/releases.json", f->dir);
    write_file(path, "{\"format\":\"fwseal-releases/v1\",\"releases\":["
                     "{\"product\":\"hub\",\"version\":\"1\",\"length\":1000},"
                     "{\"product\":\"cam\",\"version\":\"1\",\"length\":90000},"
                     "{\"product\":\"hub\",\"version\":\"2\",\"length\":1100},"
                     "{\"product\":\"hub\",\"version\":\"3\",\"length\":99000,\"revoked\":{}},"
                     "{\"product\":\"hub\",\"version\":\"4\",\"length\":1200},"
                     "{\"product\":\"hub\",\"version\":\"5\",\"length\":5000},"
                     "{\"product\":\"hub\",\"version\":\"6\",\"length\":300}]}");
    assert_int_equal(alert_rule_sizes(&c, f->dir, &eb), FWS_OK);
    assert_int_equal(c.raised, 2); /* hub 5 (too big) and hub 6 (too small); cam and 3 not */
    fws_store_alert a;
    assert_int_equal(fws_store_alert_get(f->store, 1, &a, &eb), FWS_OK);
    assert_string_equal(a.subject, "release hub/5");
    assert_non_null(strstr(a.message, "over 3 times the median"));
    /* Once raised, a pass later raises nothing new. */
    assert_int_equal(alert_rule_sizes(&c, f->dir, &eb), FWS_OK);
    assert_int_equal(c.raised, 2);
    write_file(path, "{\"releases\":7}");
    assert_int_equal(alert_rule_sizes(&c, f->dir, &eb), FWS_ERR_SCHEMA);
    assert_non_null(strstr(eb.msg, "releases.json"));
}

static void test_cert_rule(void **state)
{
    fixture *f = *state;
    fws_errbuf eb = {{0}};
    char key[128], crt[128], cmd[512];
    alert_ctx c = {.store = f->store, .seen = &f->seen, .cfg = &f->cfg, .now = 0};
    c.now = (int64_t)time(NULL);
    snprintf(key, sizeof(key), "%s/k.pem", f->dir);
    snprintf(crt, sizeof(crt), "%s/c.pem", f->dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s "
             "-out %s -days 10 -subj /CN=t >/dev/null 2>&1",
             key, crt);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(alert_seen_load(f->store, &f->seen, NULL, &eb), FWS_OK);
    f->cfg.cert_warn = 5 * 86400; /* 10 days left: not yet */
    assert_int_equal(alert_rule_cert_file(&c, crt, "test certificate", &eb), FWS_OK);
    assert_int_equal(c.raised, 0);
    f->cfg.cert_warn = 30 * 86400;
    assert_int_equal(alert_rule_cert_file(&c, crt, "test certificate", &eb), FWS_OK);
    assert_int_equal(c.raised, 1);
    fws_store_alert a;
    assert_int_equal(fws_store_alert_get(f->store, 1, &a, &eb), FWS_OK);
    assert_string_equal(a.kind, "certificate-expiry");
    assert_non_null(strstr(a.message, "expires on"));
    /* Missing file: nothing to say; not a certificate: an error naming it. */
    snprintf(cmd, sizeof(cmd), "%s/none.pem", f->dir);
    assert_int_equal(alert_rule_cert_file(&c, cmd, "x", &eb), FWS_OK);
    assert_int_equal(alert_rule_cert_file(&c, key, "x", &eb), FWS_ERR_FORMAT);
    assert_non_null(strstr(eb.msg, "k.pem"));
}

static void test_exec(void **state)
{
    fixture *f = *state;
    fws_errbuf eb = {{0}};
    char out[128], script[256], body[512];
    alert_config c;
    alert_config_defaults(&c);
    snprintf(out, sizeof(out), "%s/got.json", f->dir);
    snprintf(script, sizeof(script), "cat > '%s'", out);
    c.n_command = 3;
    snprintf(c.command[0], ALERT_ARG_MAX, "/bin/sh");
    snprintf(c.command[1], ALERT_ARG_MAX, "-c");
    snprintf(c.command[2], ALERT_ARG_MAX, "%s", script);
    const char *json = "{\"kind\":\"log-fork\"}";
    assert_int_equal(alert_exec(&c, json, strlen(json), &eb), FWS_OK);
    FILE *fp = fopen(out, "r");
    assert_non_null(fp);
    size_t n = fread(body, 1, sizeof(body) - 1, fp);
    fclose(fp);
    body[n] = '\0';
    assert_string_equal(body, "{\"kind\":\"log-fork\"}\n");
    snprintf(c.command[2], ALERT_ARG_MAX, "exit 3");
    assert_int_equal(alert_exec(&c, json, strlen(json), &eb), FWS_ERR_IO);
    assert_non_null(strstr(eb.msg, "exit status 3"));
    fws_errbuf_clear(&eb);
    snprintf(c.command[2], ALERT_ARG_MAX, "sleep 5");
    c.timeout_ms = 200;
    assert_int_equal(alert_exec(&c, json, strlen(json), &eb), FWS_ERR_IO);
    assert_non_null(strstr(eb.msg, "killed"));
    fws_errbuf_clear(&eb);
    snprintf(c.command[0], ALERT_ARG_MAX, "%s/no-such-program", f->dir);
    assert_int_equal(alert_exec(&c, json, strlen(json), &eb), FWS_ERR_IO);
}

/* A one-shot HTTP server on loopback: reads a request, answers with status. */
typedef struct hook {
    int fd, status;
    char request[4096];
} hook;

static void *hook_main(void *arg)
{
    hook *h = arg;
    int c = accept(h->fd, NULL, NULL);
    size_t used = 0;
    while (c >= 0 && used < sizeof(h->request) - 1) {
        ssize_t n = read(c, h->request + used, sizeof(h->request) - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        h->request[used] = '\0';
        char *end = strstr(h->request, "\r\n\r\n");
        char *cl = strstr(h->request, "Content-Length: ");
        if (end != NULL && cl != NULL &&
            used >= (size_t)(end + 4 - h->request) + (size_t)atoi(cl + 16))
            break;
    }
    char resp[128];
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", h->status);
    if (c >= 0) {
        assert_int_equal(write(c, resp, (size_t)n), n);
        close(c);
    }
    return NULL;
}

static void post_once(int status, fws_err want)
{
    hook h = {.status = status};
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    h.fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(h.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(h.fd, 1), 0);
    assert_int_equal(getsockname(h.fd, (struct sockaddr *)&sa, &len), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, hook_main, &h), 0);
    alert_config c;
    alert_config_defaults(&c);
    snprintf(c.webhook, sizeof(c.webhook), "http://127.0.0.1:%u/alerts", ntohs(sa.sin_port));
    snprintf(c.webhook_auth, sizeof(c.webhook_auth), "Bearer s3cret");
    const char *json = "{\"kind\":\"update-size\"}";
    fws_errbuf eb = {{0}};
    assert_int_equal(alert_post(&c, json, strlen(json), &eb), want);
    pthread_join(t, NULL);
    close(h.fd);
    assert_non_null(strstr(h.request, "POST /alerts HTTP/1.1\r\n"));
    assert_non_null(strstr(h.request, "Authorization: Bearer s3cret\r\n"));
    assert_non_null(strstr(h.request, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(h.request, "\r\n\r\n{\"kind\":\"update-size\"}"));
    if (want != FWS_OK)
        assert_non_null(strstr(eb.msg, "HTTP 503"));
}

static void test_webhook(void **state)
{
    (void)state;
    post_once(204, FWS_OK);
    post_once(503, FWS_ERR_IO);
    /* Nothing listening: a precise error, no crash. */
    alert_config c;
    alert_config_defaults(&c);
    snprintf(c.webhook, sizeof(c.webhook), "http://127.0.0.1:1/none");
    fws_errbuf eb = {{0}};
    assert_int_equal(alert_post(&c, "{}", 2, &eb), FWS_ERR_IO);
    assert_non_null(strstr(eb.msg, "127.0.0.1:1"));
}

int main(void)
{
    /* A child or peer that hangs up early is the code's to handle, not a fatal signal. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_durations_kinds),
        cmocka_unit_test(test_spike_and_size),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_report_flags),
        cmocka_unit_test_setup_teardown(test_raise_dedup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
