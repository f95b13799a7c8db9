/* The dashboard module: registration (routes, the alert engine) and small shared helpers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/dash.h"
#include "server/internal.h"

#define PUBLIC_RATE 20.0 /* requests per second per client address on public routes */
#define PUBLIC_BURST 60

fws_err dash_query_int(const fws_req *req, const char *name, int64_t min, int64_t max, int64_t *out,
                       fws_errbuf *eb)
{
    char buf[32], *end = NULL;
    fws_err err = fws_req_query(req, name, buf, sizeof(buf));
    if (err == FWS_ERR_NOT_FOUND)
        return FWS_OK;
    errno = 0;
    long long v = err == FWS_OK ? strtoll(buf, &end, 10) : 0;
    if (err != FWS_OK || buf[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
        return fws_errf(eb, FWS_ERR_ARG, "query parameter %s: an integer from %lld to %lld", name,
                        (long long)min, (long long)max);
    *out = v;
    return FWS_OK;
}

static void on_shutdown(fws_server *srv, void *ctx)
{
    dash *d = ctx;
    (void)srv;
    fws_ratelimit_free(d->public_limit);
    free(d);
}

fws_err fws_dash_register(fws_server *srv, fws_errbuf *eb)
{
    dash *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return FWS_ERR_NOMEM;
    d->srv = srv;
    snprintf(d->deploy, sizeof(d->deploy), "%s", fws_server_deploy_dir(srv));
    fws_err err = dash_ledger_dir(d->deploy, d->ledger_dir, sizeof(d->ledger_dir), eb);
    if (err == FWS_OK)
        err = fws_ratelimit_new(PUBLIC_RATE, PUBLIC_BURST, 10000, &d->public_limit);
    if (err == FWS_OK)
        err = alert_engine_start(srv, srv->store_url, d->ledger_dir, &d->alerts, eb);
    if (err == FWS_OK)
        err = alert_api_routes(srv, d->alerts, eb);
    if (err == FWS_OK)
        err = dash_api_routes(d, eb);
    if (err == FWS_OK)
        err = dash_device_routes(d, eb);
    if (err == FWS_OK)
        err = dash_release_routes(d, eb);
    if (err == FWS_OK)
        err = fws_server_on_shutdown(srv, on_shutdown, d, eb);
    if (err != FWS_OK) {
        fws_ratelimit_free(d->public_limit);
        free(d);
        return fws_errf(eb, err, "dashboard");
    }
    return FWS_OK;
}
