/* The buffer collector most callers of fws_http_do need (http.h). */
#include <string.h>
#include "fwseal/http.h"

fws_err fws_http_collect_head(void *ctx, const fws_http_response *head)
{
    fws_http_collect *c = ctx;
    c->status = head->status;
    return FWS_OK;
}

fws_err fws_http_collect_sink(void *ctx, const uint8_t *p, size_t n)
{
    fws_http_collect *c = ctx;
    if (!c->keep_errors && (c->status < 200 || c->status > 299))
        return FWS_OK; /* an error page: not kept */
    if (n > c->cap - c->len)
        return FWS_ERR_TOO_BIG;
    memcpy(c->data + c->len, p, n);
    c->len += n;
    return FWS_OK;
}
