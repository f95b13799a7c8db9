/* The TUF chain of an audit bundle, walked by fwseal's own TUF client through a fetcher that
 * serves named files (from the deployment when exporting, from the bundle's members when
 * verifying) and remembers which ones it served: a bundle holds exactly those. The clock is
 * the earliest expiry among the files, so an archived chain verifies years later (expiry is a
 * freshness property, not an archival one) while every signature and hash is still checked. */
#include <stdlib.h>
#include <string.h>
#include "audit/bundle.h"
#include "fwseal/json.h"
#include "fwseal/tuf.h"

#define URL_BASE "audit:"

typedef struct walk_fetcher {
    au_meta_get get;
    void *ctx;
} walk_fetcher;

static fws_err walk_fetch(void *impl, const char *url, uint64_t max_len, fws_tuf_sink sink,
                          void *ctx, fws_errbuf *eb)
{
    walk_fetcher *f = impl;
    const uint8_t *data = NULL;
    size_t len = 0;
    size_t base = strlen(URL_BASE "/");
    if (strncmp(url, URL_BASE "/", base) != 0)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "%s: not a bundle file", url);
    fws_err err = f->get(f->ctx, url + base, &data, &len);
    if (err != FWS_OK)
        return err;
    if (len > max_len)
        return FWS_ERR_TOO_BIG;
    return sink(ctx, data, len);
}

int64_t au_tuf_clock(const uint8_t *data, size_t len, int64_t current)
{
    json_t *doc = NULL;
    int64_t t = 0;
    if (fws_json_parse(data, len, 0, NULL, &doc, NULL) != FWS_OK)
        return current;
    const char *e = json_string_value(json_object_get(json_object_get(doc, "signed"), "expires"));
    if (e == NULL || fws_tuf_time_parse(e, &t) != FWS_OK)
        t = 0;
    json_decref(doc);
    return t > 0 && (current == 0 || t - 1 < current) ? t - 1 : current;
}

fws_err au_tuf_walk(const uint8_t *root1, size_t root1_len, au_meta_get get, void *ctx, int64_t now,
                    au_tuf_target *targets, size_t n, fws_errbuf *eb)
{
    char dir[] = "/tmp/fwseal-bundle-tuf.XXXXXX";
    walk_fetcher wf = {get, ctx};
    fws_tuf_fetcher fetcher = {walk_fetch, NULL, &wf};
    fws_tuf_client *client = NULL;
    fws_tuf_client_config cfg = fws_tuf_client_defaults;
    cfg.fixed_now = now;
    if (mkdtemp(dir) == NULL)
        return fws_errf(eb, FWS_ERR_IO, "cannot make a temporary directory");
    fws_err err = fws_tuf_client_init_dir(dir, root1, root1_len, eb);
    if (err == FWS_OK)
        err = fws_tuf_client_new(dir, URL_BASE, &cfg, &fetcher, &client, eb);
    if (err == FWS_OK)
        err = fws_tuf_client_refresh(client, eb);
    for (size_t i = 0; err == FWS_OK && i < n; i++) {
        fws_tuf_target t;
        fws_errbuf why = {{0}};
        targets[i].found = 0;
        if (fws_tuf_client_find_target(client, targets[i].path, &t, &why) != FWS_OK)
            continue;
        const char *h = json_string_value(json_object_get(t.hashes, "sha256"));
        targets[i].found = h != NULL && au_hex32(h, strlen(h), targets[i].sha256);
    }
    fws_tuf_client_free(client);
    au_rmtree(dir);
    return err;
}
