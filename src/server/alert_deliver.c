/* Delivering alerts: an HTTP(S) POST of the alert's JSON to a webhook, or a command run with
 * the JSON on its standard input. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "fwseal/core.h"
#include "fwseal/http.h"
#include "server/alert.h"

extern char **environ;

json_t *alert_json(const fws_store_alert *a)
{
    char when[32];
    time_t t = (time_t)a->time;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:I,s:b}", "format", "fwseal-alert/v1", "id",
                     (json_int_t)a->id, "kind", a->kind, "subject", a->subject, "message",
                     a->message, "time", when, "raisedAt", (json_int_t)a->time, "acknowledged",
                     a->acked_at != 0);
}

#define WEBHOOK_RESPONSE_MAX (1024u * 1024) /* read and dropped */

fws_err alert_post(const alert_config *c, const char *body, size_t len, fws_errbuf *eb)
{
    char auth[ALERT_HEADER_MAX + 32] = "", ua[64];
    const char *headers[] = {"Content-Type: application/json", NULL, NULL};
    fws_http_client *h = NULL;
    fws_http_response resp;
    fws_errbuf local = {""};
    unsigned timeout = c->timeout_ms <= 0         ? 10000
                       : c->timeout_ms > 86400000 ? 86400000u
                                                  : (unsigned)c->timeout_ms;
    if (c->webhook_auth[0] != '\0') {
        snprintf(auth, sizeof(auth), "Authorization: %s", c->webhook_auth);
        headers[1] = auth;
    }
    snprintf(ua, sizeof(ua), "fwseal/%s", FWS_VERSION);
    fws_http_opts o = {.connect_timeout_ms = timeout,
                       .timeout_ms = timeout,
                       .user_agent = ua,
                       .ca_file = c->webhook_ca[0] != '\0' ? c->webhook_ca : NULL};
    fws_http_request req = {.method = "POST",
                            .url = c->webhook,
                            .headers = headers,
                            .body = (const uint8_t *)body,
                            .body_len = len,
                            .body_max = WEBHOOK_RESPONSE_MAX,
                            .error_body_max = WEBHOOK_RESPONSE_MAX};
    fws_err err = fws_http_client_new(&o, &h, &local);
    if (err == FWS_OK)
        err = fws_http_do(h, &req, &resp, &local);
    fws_http_client_free(h);
    if (auth[0] != '\0')
        fws_wipe(auth, sizeof(auth));
    if (err != FWS_OK)
        return fws_errf(eb, err == FWS_ERR_NOMEM ? err : FWS_ERR_IO, "webhook %s", local.msg);
    if (resp.status < 200 || resp.status > 299)
        return fws_errf(eb, FWS_ERR_IO, "webhook %s answered HTTP %d", c->webhook, resp.status);
    return FWS_OK;
}

/* Waits for pid up to timeout_ms; kills it past that. The exit status, or -1 for a kill. */
static int wait_child(pid_t pid, int64_t timeout_ms)
{
    int status = 0;
    for (int64_t waited = 0;; waited += 10) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0 && errno != EINTR)
            return -2;
        if (waited >= timeout_ms) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return -1;
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the command closed its input: its exit status tells the rest */
        p += n;
        len -= (size_t)n;
    }
}

fws_err alert_exec(const alert_config *c, const char *body, size_t len, fws_errbuf *eb)
{
    char *argv[ALERT_ARGV_MAX + 1];
    int fds[2];
    pid_t pid = 0;
    posix_spawn_file_actions_t fa;
    for (size_t i = 0; i < c->n_command; i++)
        argv[i] = (char *)c->command[i];
    argv[c->n_command] = NULL;
    if (c->n_command == 0)
        return fws_errf(eb, FWS_ERR_ARG, "no command configured");
    if (pipe(fds) != 0 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0)
        return fws_errf(eb, FWS_ERR_IO, "alert command: pipe: %s", strerror(errno));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    if (rc != 0) {
        close(fds[1]);
        return fws_errf(eb, FWS_ERR_IO, "alert command %s: %s", argv[0], strerror(rc));
    }
    write_all(fds[1], body, len);
    write_all(fds[1], "\n", 1);
    close(fds[1]);
    int status = wait_child(pid, c->timeout_ms);
    if (status == -1)
        return fws_errf(eb, FWS_ERR_IO, "alert command %s: killed after %lld ms", argv[0],
                        (long long)c->timeout_ms);
    if (status != 0)
        return fws_errf(eb, FWS_ERR_IO, "alert command %s: exit status %d", argv[0], status);
    return FWS_OK;
}
