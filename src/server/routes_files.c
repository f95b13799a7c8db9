/* Public files: the TUF repository, the ledger's checkpoint and tiles, the CRL, the
 * dashboard; and /metrics and /healthz. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "fwseal/tiles.h"
#include "fwseal/util.h"
#include "server/internal.h"

#define IMMUTABLE "public, max-age=31536000, immutable"

/* A single file-name segment: [A-Za-z0-9._+~-], not starting with '.'. */
static int name_ok(const char *s, int allow_slash)
{
    if (s[0] == '\0' || s[0] == '.')
        return 0;
    for (const char *c = s; *c; c++) {
        if (*c == '/' && allow_slash) {
            if (c[1] == '.' || c[1] == '\0')
                return 0;
            continue;
        }
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+~-", *c))
            return 0;
    }
    return 1;
}

static int versioned(const char *name)
{
    const char *p = name;
    while (*p >= '0' && *p <= '9')
        p++;
    return p > name && *p == '.';
}

static fws_err repo_metadata(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fws_server *srv = ctx;
    char root[SRV_PATH_MAX + 32];
    (void)eb;
    if (!name_ok(req->rest, 0))
        return fws_resp_error(resp, 404, "not_found", "no such metadata file: %s", req->path);
    snprintf(root, sizeof(root), "%s/metadata", srv->repo_dir);
    /* Versioned files never change; timestamp.json and root.json change with every publish. */
    const char *cc = versioned(req->rest) ? IMMUTABLE : "no-cache";
    return srv_serve_file(srv, req, resp, root, req->rest, "application/json", cc);
}

static fws_err repo_target(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fws_server *srv = ctx;
    char root[SRV_PATH_MAX + 32];
    (void)eb;
    if (!name_ok(req->rest, 1))
        return fws_resp_error(resp, 404, "not_found", "no such target: %s", req->path);
    snprintf(root, sizeof(root), "%s/targets", srv->repo_dir);
    return srv_serve_file(srv, req, resp, root, req->rest, "application/octet-stream", IMMUTABLE);
}

static fws_err log_checkpoint(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fws_server *srv = ctx;
    (void)eb;
    return srv_serve_file(srv, req, resp, srv->ledger.dir, "checkpoint",
                          "text/plain; charset=utf-8", "public, max-age=2");
}

static fws_err log_tile(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fws_server *srv = ctx;
    char rel[FWS_TILE_PATH_MAX + 8];
    fws_tile_id id;
    (void)eb;
    int n = snprintf(rel, sizeof(rel), "tile/%s", req->rest);
    if (n < 0 || (size_t)n >= sizeof(rel) || fws_tile_path_parse(rel, (size_t)n, &id) != FWS_OK)
        return fws_resp_error(resp, 404, "not_found", "not a tile path: %s", req->path);
    return srv_serve_file(srv, req, resp, srv->ledger.dir, rel, "application/octet-stream",
                          id.width == FWS_TILE_WIDTH ? IMMUTABLE : "public, max-age=60");
}

/* /crl/<env>.crl: the environment's CRL in DER (application/pkix-crl, RFC 5280 4.2.1.13). */
static fws_err crl(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fws_server *srv = ctx;
    char env[16], path[SRV_PATH_MAX + 64];
    fws_pki_env e;
    size_t n = strlen(req->rest);
    if (n < 5 || n - 4 >= sizeof(env) || strcmp(req->rest + n - 4, ".crl") != 0)
        return fws_resp_error(resp, 404, "not_found", "no such CRL: %s", req->path);
    memcpy(env, req->rest, n - 4);
    env[n - 4] = '\0';
    if (fws_pki_env_parse(env, &e) != FWS_OK || !fws_pki_has_env(srv->pki, e))
        return fws_resp_error(resp, 404, "not_found", "no CRL for environment %s", env);
    snprintf(path, sizeof(path), "%s/pki/%s/crl.pem", srv->deploy, env);
    uint8_t *pem = NULL;
    size_t len = 0;
    fws_err err = fws_file_read(path, 16u << 20, &pem, &len, eb);
    if (err != FWS_OK)
        return err;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509_CRL *c = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL;
    int dlen = c ? i2d_X509_CRL(c, &der) : -1;
    if (dlen > 0) {
        err = fws_resp_body(resp, 200, "application/pkix-crl", der, (size_t)dlen);
        if (err == FWS_OK)
            err = fws_resp_header(resp, "Cache-Control", "public, max-age=60");
    } else {
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: not a PEM CRL", path);
    }
    OPENSSL_free(der);
    X509_CRL_free(c);
    BIO_free(bio);
    free(pem);
    return err;
}

static fws_err web(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fws_server *srv = ctx;
    char rel[FWS_SERVER_URI_MAX + 16];
    (void)eb;
    size_t n = strlen(req->rest);
    snprintf(rel, sizeof(rel), "%s%s", req->rest,
             n == 0 || req->rest[n - 1] == '/' ? "index.html" : "");
    if (!name_ok(rel, 1))
        return fws_resp_error(resp, 404, "not_found", "no such file: %s", req->path);
    return srv_serve_file(srv, req, resp, srv->web_dir, rel, NULL, "no-cache");
}

static fws_err metrics(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fws_server *srv = ctx;
    char *text = NULL;
    size_t len = 0;
    (void)req;
    if (srv_metrics_render(srv, &text, &len) != 0)
        return fws_errf(eb, FWS_ERR_NOMEM, "cannot render the metrics");
    fws_err err = fws_resp_body(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
    return err;
}

static fws_err healthz(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb)
{
    fws_server *srv = ctx;
    int version = 0;
    fws_err err = fws_store_schema_version(req->store, &version, eb);
    if (err != FWS_OK)
        return fws_resp_error(resp, 503, "store_unavailable", "store: %s",
                              eb->msg[0] ? eb->msg : fws_strerror(err));
    return fws_resp_json(resp, 200,
                         json_pack("{s:s,s:s,s:s,s:i,s:b,s:I}", "status", "ok", "env",
                                   fws_pki_env_name(srv->env), "store",
                                   fws_store_engine(req->store), "schema", version, "ledger",
                                   fws_server_ledger_held(srv), "uptime",
                                   (json_int_t)((srv_now_ms() - srv->started_ms) / 1000)));
}

fws_err srv_routes_files(fws_server *srv, fws_errbuf *eb)
{
    const fws_auth repo_auth = srv->cfg.repo_device_auth ? FWS_AUTH_DEVICE : FWS_AUTH_NONE;
    const fws_route routes[] = {
        {.method = "GET",
         .path = "/repo/metadata/",
         .auth = repo_auth,
         .match = FWS_MATCH_PREFIX,
         .on_loop = 1,
         .fn = repo_metadata,
         .ctx = srv},
        {.method = "GET",
         .path = "/repo/targets/",
         .auth = repo_auth,
         .match = FWS_MATCH_PREFIX,
         .on_loop = 1,
         .fn = repo_target,
         .ctx = srv},
        {.method = "GET",
         .path = "/log/checkpoint",
         .on_loop = 1,
         .fn = log_checkpoint,
         .ctx = srv},
        {.method = "GET",
         .path = "/log/tile/",
         .match = FWS_MATCH_PREFIX,
         .on_loop = 1,
         .fn = log_tile,
         .ctx = srv},
        {.method = "GET",
         .path = "/crl/",
         .match = FWS_MATCH_PREFIX,
         .on_loop = 1,
         .fn = crl,
         .ctx = srv},
        {.method = "GET",
         .path = "/",
         .match = FWS_MATCH_PREFIX,
         .on_loop = 1,
         .fn = web,
         .ctx = srv},
    };
    return fws_server_add_routes(srv, routes, sizeof(routes) / sizeof(routes[0]), eb);
}

fws_err srv_routes_ops(fws_server *srv, fws_errbuf *eb)
{
    const fws_route routes[] = {
        {.method = "GET", .path = "/metrics", .on_loop = 1, .fn = metrics, .ctx = srv},
        {.method = "GET", .path = "/healthz", .fn = healthz, .ctx = srv},
    };
    return fws_server_add_routes(srv, routes, sizeof(routes) / sizeof(routes[0]), eb);
}
