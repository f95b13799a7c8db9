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
#include <curl/curl.h>
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

/* Response bodies are not kept. */
static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

fws_err alert_post(const alert_config *c, const char *body, size_t len, fws_errbuf *eb)
{
    char auth[ALERT_HEADER_MAX + 32], errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = h ? curl_slist_append(h, "User-Agent: fwseal/" FWS_VERSION) : NULL;
    if (h != NULL && c->webhook_auth[0] != '\0') {
        snprintf(auth, sizeof(auth), "Authorization: %s", c->webhook_auth);
        struct curl_slist *h2 = curl_slist_append(h, auth);
        if (h2 == NULL)
            curl_slist_free_all(h);
        h = h2;
    }
    CURL *curl = h ? curl_easy_init() : NULL;
    if (curl == NULL) {
        curl_slist_free_all(h);
        return FWS_ERR_NOMEM;
    }
    curl_easy_setopt(curl, CURLOPT_URL, c->webhook);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    if (c->webhook_ca[0] != '\0')
        curl_easy_setopt(curl, CURLOPT_CAINFO, c->webhook_ca);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(h);
    if (rc != CURLE_OK)
        return fws_errf(eb, FWS_ERR_IO, "webhook %s: %s", c->webhook,
                        errbuf[0] ? errbuf : curl_easy_strerror(rc));
    if (status < 200 || status > 299)
        return fws_errf(eb, FWS_ERR_IO, "webhook %s answered HTTP %ld", c->webhook, status);
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
