/* /.well-known/est/...: EST (RFC 7030) enrollment and renewal through the PKI's handlers, for the
 * server's environment. The client certificate the TLS layer received is what
 * fws_est_handle judges. */
#include <stdio.h>
#include <string.h>
#include "server/internal.h"

static fws_err est(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fws_server *srv = ctx;
    fws_est_op op;
    fws_pki_env env = 0;
    if (fws_est_parse_path(req->path, &op, &env) != FWS_OK)
        return fws_resp_error(resp, 404, "not_found", "no such EST operation: %s", req->path);
    if (env != 0 && env != srv->env)
        return fws_resp_error(resp, 404, "not_found",
                              "this server enrolls devices of the %s environment, not %s",
                              fws_pki_env_name(srv->env), fws_pki_env_name(env));
    int is_get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    if ((op == FWS_EST_CACERTS) != is_get) {
        fws_resp_header(resp, "Allow", op == FWS_EST_CACERTS ? "GET, HEAD" : "POST");
        return fws_resp_error(resp, 405, "method_not_allowed", "%s needs %s", req->path,
                              op == FWS_EST_CACERTS ? "GET" : "POST");
    }
    if (op != FWS_EST_CACERTS && !srv->pki_issuer)
        return fws_resp_error(resp, 503, "issuer_unavailable",
                              "enrollment needs the CA's issuing key: start fwseal serve with "
                              "the passphrase");
    const uint8_t *const *chain = NULL;
    const size_t *lens = NULL;
    size_t n = 0;
    int verified = 0;
    fws_req_client_chain(req, &chain, &lens, &n, &verified);
    fws_est_response r;
    memset(&r, 0, sizeof(r));
    fws_pki *pki = fws_server_pki_lock(srv);
    fws_err err =
        fws_est_handle(pki, srv->env, op, req->body, req->body_len, chain, lens, n, req->now, &r);
    fws_server_pki_unlock(srv);
    if (err != FWS_OK)
        return fws_errf(eb, err, "EST: cannot build a response");
    if (r.content_transfer_encoding != NULL)
        err = fws_resp_header(resp, "Content-Transfer-Encoding", r.content_transfer_encoding);
    if (err == FWS_OK)
        err = fws_resp_body(resp, r.status, r.content_type, r.body, r.body_len);
    if (r.result != FWS_OK) {
        /* The refusal's text is not NUL-terminated: copy a bounded part of it. */
        char reason[256];
        size_t rl = r.body_len < sizeof(reason) - 1 ? r.body_len : sizeof(reason) - 1;
        memcpy(reason, r.body ? (const char *)r.body : "", r.body ? rl : 0);
        reason[r.body ? rl : 0] = '\0';
        fws_server_log(srv, "warn", "EST request refused", "path", req->path, "remote",
                       req->remote_addr, "reason", reason, NULL);
    }
    fws_est_response_free(&r);
    return err;
}

fws_err srv_routes_est(fws_server *srv, fws_errbuf *eb)
{
    const fws_route routes[] = {
        {.method = "GET",
         .path = "/.well-known/est/",
         .match = FWS_MATCH_PREFIX,
         .fn = est,
         .ctx = srv},
        {.method = "POST",
         .path = "/.well-known/est/",
         .match = FWS_MATCH_PREFIX,
         .fn = est,
         .ctx = srv,
         .body_max = 2 * FWS_PKI_CSR_MAX},
    };
    return fws_server_add_routes(srv, routes, sizeof(routes) / sizeof(routes[0]), eb);
}
