/* Structured logs on stderr: text or one JSON object a line. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "server/internal.h"

static void log_time(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Text values with spaces, quotes or control bytes are quoted and escaped. */
static void text_value(FILE *f, const char *v)
{
    int plain = v[0] != '\0';
    for (const char *c = v; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == '"' || *c == '=' || *c == '\\')
            plain = 0;
    if (plain) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (const char *c = v; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(f, "\\%c", *c);
        else if ((unsigned char)*c < ' ')
            fprintf(f, "\\x%02x", (unsigned char)*c);
        else
            fputc(*c, f);
    }
    fputc('"', f);
}

static void log_json(const char *t, const char *level, const char *msg, va_list ap)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "time", t, "level", level, "msg", msg);
    if (o == NULL)
        return;
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (k == NULL)
            break;
        const char *v = va_arg(ap, const char *);
        json_object_set_new(o, k, json_string(v ? v : ""));
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s != NULL) {
        fprintf(stderr, "%s\n", s);
        free(s);
    }
    json_decref(o);
}

static void log_text(const char *t, const char *level, const char *msg, va_list ap)
{
    fprintf(stderr, "%s %s ", t, level);
    text_value(stderr, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (k == NULL)
            break;
        const char *v = va_arg(ap, const char *);
        fprintf(stderr, " %s=", k);
        text_value(stderr, v ? v : "");
    }
    fputc('\n', stderr);
}

void srv_logv(fws_server *srv, const char *level, const char *msg, va_list ap)
{
    char t[32];
    log_time(t);
    pthread_mutex_lock(&srv->log_mu);
    if (srv->cfg.log_format == FWS_LOG_JSON)
        log_json(t, level, msg, ap);
    else
        log_text(t, level, msg, ap);
    fflush(stderr);
    pthread_mutex_unlock(&srv->log_mu);
}

void fws_server_log(fws_server *srv, const char *level, const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    srv_logv(srv, level, msg, ap);
    va_end(ap);
}
