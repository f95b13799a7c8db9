/* Responses: status, headers, bodies, JSON errors, and how a handler's error maps to HTTP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "fwseal/json.h"
#include "server/internal.h"

void srv_resp_init(fws_resp *r)
{
    memset(r, 0, sizeof(*r));
    r->file_fd = -1;
}

void srv_resp_reset(fws_resp *r)
{
    free(r->body);
    if (r->file_fd >= 0)
        close(r->file_fd);
    srv_resp_init(r);
}

void fws_resp_status(fws_resp *resp, int status)
{
    if (status >= 100 && status <= 599)
        resp->status = status;
}

static int header_text_ok(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            return 0;
    return 1;
}

static const char *const reserved_headers[] = {"Content-Length", "Connection", "Transfer-Encoding",
                                               "Date", "Content-Type"};

fws_err fws_resp_header(fws_resp *resp, const char *name, const char *value)
{
    if (name == NULL || value == NULL || name[0] == '\0' || !header_text_ok(name) ||
        !header_text_ok(value) || strchr(name, ':') != NULL)
        return FWS_ERR_ARG;
    for (size_t i = 0; i < sizeof(reserved_headers) / sizeof(reserved_headers[0]); i++)
        if (strcasecmp(name, reserved_headers[i]) == 0)
            return FWS_ERR_ARG;
    size_t need = strlen(name) + strlen(value) + 4;
    if (resp->headers_len + need >= sizeof(resp->headers)) {
        resp->headers_overflow = 1;
        return FWS_ERR_TOO_BIG;
    }
    int n = snprintf(resp->headers + resp->headers_len, sizeof(resp->headers) - resp->headers_len,
                     "%s: %s\r\n", name, value);
    resp->headers_len += (size_t)n;
    return FWS_OK;
}

static void set_type(fws_resp *resp, const char *content_type)
{
    snprintf(resp->owned_type, sizeof(resp->owned_type), "%s",
             content_type ? content_type : "application/octet-stream");
    resp->content_type = resp->owned_type;
}

fws_err fws_resp_body(fws_resp *resp, int status, const char *content_type, const void *data,
                      size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return FWS_ERR_NOMEM;
    if (len)
        memcpy(copy, data, len);
    free(resp->body);
    if (resp->file_fd >= 0) {
        close(resp->file_fd);
        resp->file_fd = -1;
    }
    resp->body = copy;
    resp->body_len = len;
    set_type(resp, content_type);
    fws_resp_status(resp, status);
    return FWS_OK;
}

fws_err fws_resp_json(fws_resp *resp, int status, json_t *j)
{
    if (j == NULL)
        return FWS_ERR_NOMEM;
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    json_decref(j);
    if (text == NULL)
        return FWS_ERR_NOMEM;
    size_t len = strlen(text);
    text[len] = '\0';
    free(resp->body);
    if (resp->file_fd >= 0) {
        close(resp->file_fd);
        resp->file_fd = -1;
    }
    /* Keep the NUL out of the length, and add a final newline for command-line readers. */
    char *grown = realloc(text, len + 2);
    if (grown == NULL) {
        free(text);
        return FWS_ERR_NOMEM;
    }
    grown[len] = '\n';
    grown[len + 1] = '\0';
    resp->body = (uint8_t *)grown;
    resp->body_len = len + 1;
    set_type(resp, "application/json");
    fws_resp_status(resp, status);
    return FWS_OK;
}

fws_err fws_resp_error(fws_resp *resp, int status, const char *code, const char *fmt, ...)
{
    char msg[FWS_ERRBUF_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *j =
        json_pack("{s:{s:i,s:s,s:s}}", "error", "status", status, "code", code, "message", msg);
    if (fws_resp_json(resp, status, j) != FWS_OK) {
        static const char fallback[] = "{\"error\":{\"status\":500,\"code\":\"internal\","
                                       "\"message\":\"out of memory\"}}\n";
        free(resp->body);
        resp->body = NULL;
        resp->body_len = 0;
        resp->status = 500;
        resp->content_type = "application/json";
        resp->body = malloc(sizeof(fallback));
        if (resp->body != NULL) {
            memcpy(resp->body, fallback, sizeof(fallback));
            resp->body_len = sizeof(fallback) - 1;
        }
    }
    return FWS_OK;
}

void fws_resp_audit(fws_resp *resp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(resp->audit, sizeof(resp->audit), fmt, ap);
    va_end(ap);
}

int fws_server_status_for(fws_err err)
{
    switch (err) {
    case FWS_OK:
        return 200;
    case FWS_ERR_NOT_FOUND:
        return 404;
    case FWS_ERR_ARG:
    case FWS_ERR_FORMAT:
    case FWS_ERR_SCHEMA:
    case FWS_ERR_NOT_CANONICAL:
    case FWS_ERR_LENGTH:
    case FWS_ERR_USAGE:
        return 400;
    case FWS_ERR_EXISTS:
    case FWS_ERR_STATE:
    case FWS_ERR_ROLLBACK:
        return 409;
    case FWS_ERR_TOO_BIG:
        return 413;
    case FWS_ERR_SIGNATURE:
    case FWS_ERR_DIGEST:
    case FWS_ERR_KEY_MISMATCH:
    case FWS_ERR_THRESHOLD:
    case FWS_ERR_PROOF:
    case FWS_ERR_EXPIRED:
    case FWS_ERR_KEY_TYPE:
    case FWS_ERR_HARDWARE:
    case FWS_ERR_REGION:
    case FWS_ERR_INCONSISTENT:
        return 422;
    case FWS_ERR_UNSUPPORTED:
        return 501;
    default:
        return 500;
    }
}

const char *fws_server_code_for(fws_err err)
{
    switch (fws_server_status_for(err)) {
    case 200:
        return "ok";
    case 404:
        return "not_found";
    case 400:
        return err == FWS_ERR_SCHEMA ? "schema" : "bad_request";
    case 409:
        return "conflict";
    case 413:
        return "too_large";
    case 422:
        return "rejected";
    case 501:
        return "unsupported";
    default:
        return "internal";
    }
}

int srv_resp_head(const fws_resp *r, struct evbuffer *out, const char *date, int keep_alive,
                  int head_only)
{
    (void)head_only;
    uint64_t len = r->file_fd >= 0 ? r->file_len : r->body_len;
    int status = r->status ? r->status : 200;
    int rc =
        evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n%sServer: fwseal\r\nContent-Length: %llu\r\n",
                            status, http_reason(status), date, (unsigned long long)len);
    if (rc >= 0 && r->content_type != NULL)
        rc = evbuffer_add_printf(out, "Content-Type: %s\r\n", r->content_type);
    if (rc >= 0 && r->headers_len)
        rc = evbuffer_add(out, r->headers, r->headers_len);
    if (rc >= 0 && !keep_alive)
        rc = evbuffer_add(out, "Connection: close\r\n", 19);
    if (rc >= 0)
        rc = evbuffer_add(out, "\r\n", 2);
    return rc < 0 ? -1 : 0;
}
