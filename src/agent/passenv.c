/* The server as one pass sees it: TUF metadata, targets and ledger tiles through the pinned
 * HTTPS client (or a deployment directory), the assignment and the report endpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "agent/loopint.h"

#define PIN_MAX 128

/* ---- TUF metadata through the pinned client ------------------------------------------------- */

static fws_err tuf_fetch(void *impl, const char *url, uint64_t max_len, fws_tuf_sink sink,
                         void *ctx, fws_errbuf *eb)
{
    fws_err err = fws_agent_http_download(impl, url, 0, max_len, sink, ctx, NULL, eb);
    if (err == FWS_ERR_LENGTH)
        return FWS_ERR_TOO_BIG;
    if (err == FWS_ERR_STATE)
        return FWS_ERR_NOT_FOUND; /* 403 and other definitive refusals */
    return err;
}

static void tuf_destroy(void *impl)
{
    (void)impl; /* the pass owns the HTTP client */
}

/* ---- ledger tiles through the pinned client -------------------------------------------------- */

static fws_err tile_fetch(void *ctx, const char *path, uint8_t *buf, size_t cap, size_t *len,
                          fws_errbuf *eb)
{
    fws_pass_env *env = ctx;
    char url[FWS_AGENT_URL_MAX + 160];
    snprintf(url, sizeof(url), "%s/%s", env->ledger, path);
    long status = 0;
    uint8_t *data = NULL;
    size_t n = 0;
    fws_err err =
        fws_agent_http_request(env->http, url, NULL, NULL, 0, cap, &status, &data, &n, eb);
    if (err == FWS_OK && status == 404)
        err = FWS_ERR_NOT_FOUND;
    else if (err == FWS_OK && status != 200)
        err = fws_errf(eb, FWS_ERR_IO, "%s: HTTP %ld", url, status);
    if (err == FWS_OK) {
        memcpy(buf, data, n);
        *len = n;
    }
    free(data);
    return err;
}

/* ---- the bundle ----------------------------------------------------------------------------- */

static fws_err bundle_path(const fws_agent_loop_config *c, const char *name, char *out, size_t cap)
{
    return snprintf(out, cap, "%s/%s", c->bundle_dir, name) < (int)cap ? FWS_OK : FWS_ERR_TOO_BIG;
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static fws_err read_pin(const fws_agent_loop_config *c, char *pin, size_t cap, fws_errbuf *eb)
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t len = 0;
    pin[0] = '\0';
    fws_err err = bundle_path(c, "server.pin", path, sizeof(path));
    if (err == FWS_OK && !exists(path))
        return FWS_OK;
    if (err == FWS_OK)
        err = fws_file_read(path, PIN_MAX, &data, &len, eb);
    if (err == FWS_OK) {
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' '))
            data[--len] = 0;
        if (strncmp((char *)data, "sha256//", 8) != 0 || len >= cap)
            err = fws_errf(eb, FWS_ERR_FORMAT, "%s: not a sha256// pin", path);
        else
            memcpy(pin, data, len + 1);
    }
    free(data);
    return err;
}

static fws_err open_http(const fws_agent_loop_config *c, fws_pass_env *env, fws_errbuf *eb)
{
    if (c->http != NULL)
        return fws_agent_http_new(c->http, &env->http, eb);
    char pin[PIN_MAX];
    fws_err err = read_pin(c, pin, sizeof(pin), eb);
    fws_agent_http_opts o;
    memset(&o, 0, sizeof(o));
    o.pin = pin[0] ? pin : NULL;
    if (err == FWS_OK)
        err = fws_agent_http_new(&o, &env->http, eb);
    return err;
}

static fws_err load_anchors(fws_agent *a, const fws_agent_loop_config *c, fws_pass_env *env,
                            fws_errbuf *eb)
{
    char path[PATH_MAX], tufdir[PATH_MAX + 8], tufroot[PATH_MAX + 32];
    uint8_t *data = NULL;
    size_t len = 0;
    snprintf(tufdir, sizeof(tufdir), "%s/tuf", a->state_dir);
    snprintf(tufroot, sizeof(tufroot), "%s/root.json", tufdir);
    fws_err err = FWS_OK;
    if (!exists(tufroot)) {
        err = bundle_path(c, "root.json", path, sizeof(path));
        if (err == FWS_OK)
            err = fws_file_read(path, 1u << 20, &data, &len, eb);
        if (err == FWS_OK)
            err = fws_tuf_client_init_dir(tufdir, data, len, eb);
        free(data);
        data = NULL;
    }
    if (err == FWS_OK)
        err = bundle_path(c, "ledger.vkey", path, sizeof(path));
    if (err == FWS_OK)
        err = fws_file_read(path, FWS_NOTE_VKEY_MAX + 8, &data, &len, eb);
    if (err == FWS_OK)
        err = fws_note_vkey_parse((const char *)data, len, &env->log_key, eb);
    free(data);
    if (err == FWS_OK)
        err = bundle_path(c, "assignment.pub", path, sizeof(path));
    if (err == FWS_OK && exists(path))
        err = fws_key_load_public(path, &env->assign_key, eb);
    if (err == FWS_OK)
        err = fws_tuf_client_new(tufdir, env->metadata_url, NULL, &env->fetcher, &env->tuf, eb);
    return err;
}

static fws_err set_urls(const fws_agent_loop_config *c, fws_pass_env *env, fws_errbuf *eb)
{
    size_t n = strlen(c->server);
    while (n > 0 && c->server[n - 1] == '/')
        n--;
    if (n == 0 || n > FWS_AGENT_URL_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "bad server URL");
    memcpy(env->base, c->server, n);
    env->base[n] = '\0';
    env->is_file = strncmp(env->base, "file://", 7) == 0;
    if (!env->is_file && strncmp(env->base, "https://", 8) != 0 &&
        strncmp(env->base, "http://", 7) != 0)
        return fws_errf(eb, FWS_ERR_ARG, "%s: the server URL must be https://, http:// or file://",
                        env->base);
    snprintf(env->metadata_url, sizeof(env->metadata_url), "%s/repo/metadata", env->base);
    snprintf(env->targets_url, sizeof(env->targets_url), "%s/repo/targets", env->base);
    if (env->is_file)
        snprintf(env->ledger, sizeof(env->ledger), "%s/ledger", env->base + 7);
    else
        snprintf(env->ledger, sizeof(env->ledger), "%s/log", env->base);
    return FWS_OK;
}

fws_err fws_pass_env_open(fws_agent *a, const fws_agent_loop_config *c, fws_pass_env *env,
                          fws_errbuf *eb)
{
    memset(env, 0, sizeof(*env));
    env->cfg = c;
    if (c->server == NULL || c->bundle_dir == NULL || c->hardware == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "a pass needs a server, a bundle and a hardware model");
    fws_err err = set_urls(c, env, eb);
    if (err == FWS_OK)
        err = open_http(c, env, eb);
    if (err == FWS_OK && env->is_file)
        err = fws_tuf_fetcher_new(NULL, &env->fetcher, eb);
    if (err == FWS_OK && !env->is_file) {
        env->fetcher.fetch = tuf_fetch;
        env->fetcher.destroy = tuf_destroy;
        env->fetcher.impl = env->http;
    }
    if (err == FWS_OK && env->is_file)
        err = fws_tile_dir_source(&env->tile_dir, env->ledger, &env->tiles, eb);
    if (err == FWS_OK && !env->is_file) {
        env->tiles.fetch = tile_fetch;
        env->tiles.ctx = env;
    }
    if (err == FWS_OK)
        err = load_anchors(a, c, env, eb);
    if (env->is_file)
        env->source = fws_agent_file_source;
    else
        fws_agent_http_source(env->http, &env->source);
    if (err != FWS_OK)
        fws_pass_env_close(env);
    return err;
}

void fws_pass_env_close(fws_pass_env *env)
{
    fws_tuf_client_free(env->tuf);
    if (env->fetcher.destroy != NULL)
        env->fetcher.destroy(env->fetcher.impl);
    fws_agent_http_free(env->http);
    fws_key_free(env->assign_key);
    memset(env, 0, sizeof(*env));
}

/* ---- talking to the server ---------------------------------------------------------------------
 */

static fws_err send_report(void *ctx, const char *id, const uint8_t *envelope, size_t len,
                           fws_errbuf *eb)
{
    fws_pass_env *env = ctx;
    char url[FWS_AGENT_URL_MAX + 64];
    long status = 0;
    uint8_t *resp = NULL;
    size_t n = 0;
    snprintf(url, sizeof(url), "%s/api/v1/device/report", env->base);
    fws_err err = fws_agent_http_request(env->http, url, "application/json", envelope, len, 4096,
                                         &status, &resp, &n, eb);
    free(resp);
    /* A definitive refusal (400, 403, 404, 409, 413, 422) will not change by sending again:
     * FWS_ERR_SCHEMA tells the queue to set the report aside. Anything else is retried. */
    if (err == FWS_OK && (status == 400 || status == 403 || status == 404 || status == 409 ||
                          status == 413 || status == 422))
        err =
            fws_errf(eb, FWS_ERR_SCHEMA, "report %s: refused by the server (HTTP %ld)", id, status);
    else if (err == FWS_OK && (status < 200 || status > 299))
        err = fws_errf(eb, FWS_ERR_IO, "report %s: HTTP %ld", id, status);
    return err;
}

void fws_pass_send_reports(fws_agent *a, fws_pass_env *env)
{
    if (env->is_file)
        return; /* no server: the reports wait */
    size_t sent = 0;
    fws_err err = fws_agent_reports_flush(a, send_report, env, &sent, NULL);
    (void)err; /* whatever was not acknowledged stays queued */
}

fws_err fws_pass_assignment(fws_agent *a, fws_pass_env *env, fws_assignment *out, fws_errbuf *eb)
{
    if (env->is_file)
        return fws_errf(eb, FWS_ERR_ARG,
                        "a deployment directory has no assignments: name the "
                        "target with --target");
    if (env->assign_key == NULL)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "%s/assignment.pub: missing from the bundle",
                        env->cfg->bundle_dir);
    uint8_t raw[16];
    char nonce[33], url[FWS_AGENT_URL_MAX + 128];
    if (env->cfg->attest != NULL) {
        fws_err aerr =
            env->cfg->attest(env->cfg->attest_ctx, env->http, env->base, a->device_id, eb);
        if (aerr != FWS_OK)
            return aerr;
    }
    fws_err err = fws_random(raw, sizeof(raw));
    if (err != FWS_OK)
        return err;
    fws_hex_encode(raw, sizeof(raw), nonce);
    snprintf(url, sizeof(url), "%s/api/v1/device/assignment?nonce=%s", env->base, nonce);
    long status = 0;
    uint8_t *resp = NULL;
    size_t n = 0;
    err = fws_agent_http_request(env->http, url, NULL, NULL, 0, FWS_ASSIGNMENT_MAX, &status, &resp,
                                 &n, eb);
    if (err == FWS_OK && status != 200)
        err = fws_errf(eb, FWS_ERR_IO, "%s: HTTP %ld", url, status);
    fws_assignment as;
    if (err == FWS_OK)
        err = fws_assignment_check(resp, n, env->assign_key, a->device_id, nonce,
                                   a->st.assignment_seq, &as, eb);
    free(resp);
    if (err == FWS_OK) {
        a->st.assignment_seq = as.sequence;
        err = fws_agent_save(a, eb);
    }
    if (err == FWS_OK)
        *out = as;
    return err;
}

fws_err fws_pass_targets_expires(const fws_agent *a, int64_t *out, fws_errbuf *eb)
{
    char path[PATH_MAX + 32];
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *doc = NULL, *sig = NULL;
    const char *exp = NULL;
    snprintf(path, sizeof(path), "%s/tuf/targets.json", a->state_dir);
    fws_err err = fws_file_read(path, 16u << 20, &data, &len, eb);
    if (err == FWS_OK)
        err = fws_json_parse(data, len, 0, NULL, &doc, eb);
    if (err == FWS_OK)
        err = fws_json_get_object(doc, "signed", &sig, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(sig, "expires", &exp, eb);
    if (err == FWS_OK && fws_tuf_time_parse(exp, out) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: bad expiry", path);
    json_decref(doc);
    free(data);
    return err;
}
