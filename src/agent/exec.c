/* Running the bootloader tools, hooks and health checks. */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "agent/internal.h"

extern char **environ;

static void drain(int fd, char *out, size_t cap)
{
    size_t used = 0;
    char scratch[4096];
    for (;;) {
        char *dst = scratch;
        size_t room = sizeof(scratch);
        if (out != NULL && used + 1 < cap) {
            dst = out + used;
            room = cap - 1 - used;
        }
        ssize_t n = read(fd, dst, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (dst != scratch)
            used += (size_t)n;
    }
    if (out != NULL && cap > 0)
        out[used] = '\0';
}

fws_err fws_agent_exec(const char *const *argv, char *out, size_t cap, int *status, fws_errbuf *eb)
{
    int fds[2];
    if (pipe(fds) != 0)
        return fws_errf(eb, FWS_ERR_IO, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", argv[0], strerror(rc));
    }
    drain(fds[0], out, cap);
    close(fds[0]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0) {
        if (errno != EINTR)
            return fws_errf(eb, FWS_ERR_IO, "%s: wait: %s", argv[0], strerror(errno));
    }
    if (WIFEXITED(ws))
        *status = WEXITSTATUS(ws);
    else
        *status = 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
    return FWS_OK;
}
