/* Small helpers of the repository side: names, durations, paths, the undo list. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "repo_internal.h"

fws_err fws_repo_kind_parse(const char *name, fws_tuf_kind *out)
{
    for (int k = 0; k < FWS_TUF_KIND_COUNT; k++) {
        if (name != NULL && strcmp(name, fws_tuf_kind_name((fws_tuf_kind)k)) == 0) {
            *out = (fws_tuf_kind)k;
            return FWS_OK;
        }
    }
    return FWS_ERR_ARG;
}

fws_err fws_repo_duration_parse(const char *text, int64_t *seconds)
{
    static const struct {
        char unit;
        int64_t mult;
    } units[] = {{'s', 1}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}, {'y', 365 * 86400}};
    int64_t v = 0;
    const char *p = text;

    if (text == NULL || *p < '1' || *p > '9')
        return FWS_ERR_ARG;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - 9) / 10)
            return FWS_ERR_ARG;
        v = v * 10 + (*p - '0');
    }
    if (p[0] == '\0' || p[1] != '\0')
        return FWS_ERR_ARG;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (units[i].unit != p[0])
            continue;
        /* At most 100 years: expiries must stay formattable. */
        if (v > (100LL * 365 * 86400) / units[i].mult)
            return FWS_ERR_ARG;
        *seconds = v * units[i].mult;
        return FWS_OK;
    }
    return FWS_ERR_ARG;
}

void repo_duration_format(int64_t seconds, char *out, size_t cap)
{
    static const struct {
        char unit;
        int64_t mult;
    } units[] = {{'y', 365 * 86400}, {'w', 7 * 86400}, {'d', 86400}, {'h', 3600}, {'s', 1}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (seconds > 0 && seconds % units[i].mult == 0) {
            snprintf(out, cap, "%lld%c", (long long)(seconds / units[i].mult), units[i].unit);
            return;
        }
    }
    snprintf(out, cap, "%llds", (long long)seconds);
}

fws_err repo_path(char out[PATH_MAX], fws_errbuf *eb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= PATH_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "path too long");
    return FWS_OK;
}

fws_err repo_ref_path(const char *base_dir, const char *ref, char out[PATH_MAX], fws_errbuf *eb)
{
    if (ref[0] == '/')
        return repo_path(out, eb, "%s", ref);
    return repo_path(out, eb, "%s/%s", base_dir, ref);
}

int repo_chars_ok(const char *s, const char *extra)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && strchr(extra, c) == NULL)
            return 0;
    }
    return 1;
}

fws_err repo_check_name(const char *what, const char *s, size_t max, const char *extra,
                        fws_errbuf *eb)
{
    size_t n = s == NULL ? 0 : strlen(s);
    if (n == 0)
        return fws_errf(eb, FWS_ERR_ARG, "%s is empty", what);
    if (n > max)
        return fws_errf(eb, FWS_ERR_ARG, "%s is longer than %zu bytes", what, max);
    if (strstr(s, "..") != NULL)
        return fws_errf(eb, FWS_ERR_ARG, "%s \"%s\" contains \"..\"", what, s);
    if (s[0] == '.' || s[0] == '-')
        return fws_errf(eb, FWS_ERR_ARG, "%s \"%s\" starts with '%c'", what, s, s[0]);
    if (!repo_chars_ok(s, extra))
        return fws_errf(eb, FWS_ERR_ARG, "%s \"%s\": only letters, digits and \"%s\" are allowed",
                        what, s, extra);
    return FWS_OK;
}

fws_err repo_check_target_name(const char *name, fws_errbuf *eb)
{
    size_t n = strlen(name);
    if (n == 0 || n > FWS_REPO_MAX_TARGET_NAME)
        return fws_errf(eb, FWS_ERR_ARG, "target name must have 1 to %d bytes",
                        FWS_REPO_MAX_TARGET_NAME);
    if (strstr(name, "..") != NULL)
        return fws_errf(eb, FWS_ERR_ARG, "target name \"%s\" contains \"..\"", name);
    if (name[0] == '/' || name[n - 1] == '/' || strstr(name, "//") != NULL)
        return fws_errf(eb, FWS_ERR_ARG, "target name \"%s\" has an empty path component", name);
    if (!repo_chars_ok(name, "._+~-/"))
        return fws_errf(eb, FWS_ERR_ARG,
                        "target name \"%s\": only letters, digits, '/' and \"._+~-\" are allowed",
                        name);
    for (const char *c = name; c != NULL; c = strchr(c, '/')) {
        c += *c == '/';
        if (*c == '.' || *c == '-')
            return fws_errf(eb, FWS_ERR_ARG, "target name \"%s\": a component starts with '%c'",
                            name, *c);
    }
    return FWS_OK;
}

fws_err repo_random_hex(size_t n, char *out)
{
    uint8_t buf[64];
    if (n > sizeof(buf))
        return FWS_ERR_ARG;
    fws_err err = fws_random(buf, n);
    if (err != FWS_OK)
        return err;
    fws_hex_encode(buf, n, out);
    return FWS_OK;
}

fws_err repo_undo_add(repo_undo *u, const char *path, int is_dir)
{
    if (u == NULL)
        return FWS_OK;
    if (u->n == u->cap) {
        size_t ncap = u->cap ? u->cap * 2 : 32;
        if (ncap > (1u << 20))
            return FWS_ERR_TOO_BIG;
        char **np = realloc(u->paths, ncap * sizeof(*np));
        if (np == NULL)
            return FWS_ERR_NOMEM;
        u->paths = np;
        unsigned char *nd = realloc(u->is_dir, ncap);
        if (nd == NULL)
            return FWS_ERR_NOMEM;
        u->is_dir = nd;
        u->cap = ncap;
    }
    char *copy = strdup(path);
    if (copy == NULL)
        return FWS_ERR_NOMEM;
    u->paths[u->n] = copy;
    u->is_dir[u->n] = (unsigned char)(is_dir != 0);
    u->n++;
    return FWS_OK;
}

void repo_undo_clear(repo_undo *u)
{
    if (u == NULL)
        return;
    for (size_t i = 0; i < u->n; i++)
        free(u->paths[i]);
    free(u->paths);
    free(u->is_dir);
    memset(u, 0, sizeof(*u));
}

void repo_undo_rollback(repo_undo *u)
{
    if (u == NULL)
        return;
    for (size_t i = u->n; i-- > 0;) {
        if (u->is_dir[i])
            (void)rmdir(u->paths[i]);
        else
            (void)unlink(u->paths[i]);
    }
    repo_undo_clear(u);
}

fws_err repo_mkdirs_undo(const char *path, repo_undo *undo, fws_errbuf *eb)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(buf))
        return fws_errf(eb, FWS_ERR_ARG, "bad directory path");
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) == 0) {
            if (repo_undo_add(undo, buf, 1) != FWS_OK)
                return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
        } else if (errno != EEXIST) {
            return fws_errf(eb, FWS_ERR_IO, "%s: mkdir: %s", buf, strerror(errno));
        }
        buf[i] = c;
    }
    return FWS_OK;
}
