/* Keeping what the server publishes fresh: the TUF metadata (fws_repo_refresh re-signs a role
 * once less than half of its period is left, the timestamp first of all) and the device CA's
 * CRL (re-issued when less than two days are left before its nextUpdate). */
#include <stdio.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "fwseal/repo.h"
#include "server/internal.h"

#define CRL_MARGIN_S (2 * 86400)

static fws_err refresh_repo(fws_server *srv, fws_errbuf *eb)
{
    fws_deploy *d = NULL;
    fws_err err = fws_deploy_open(srv->deploy, &d, eb);
    if (err == FWS_ERR_STATE) {
        fws_errbuf_clear(eb); /* a command is publishing: try again next time */
        return FWS_OK;
    }
    if (err != FWS_OK)
        return err;
    fws_refresh_req req = {.pp = &srv->pp, .now = srv_now_s()};
    fws_refresh_result res;
    memset(&res, 0, sizeof(res));
    err = fws_repo_refresh(d, &req, &res, eb);
    fws_deploy_close(d);
    if (err == FWS_OK && res.resigned[FWS_TUF_TIMESTAMP]) {
        char exp[24];
        snprintf(exp, sizeof(exp), "%lld", (long long)res.expires[FWS_TUF_TIMESTAMP]);
        fws_server_log(srv, "info", "repository metadata re-signed", "timestamp_expires", exp,
                       "snapshot", res.resigned[FWS_TUF_SNAPSHOT] ? "yes" : "no", "targets",
                       res.resigned[FWS_TUF_TARGETS] ? "yes" : "no", NULL);
    }
    if (err == FWS_OK && res.root_due)
        fws_server_log(srv, "warn", "root metadata is due: run fwseal repo refresh --root", NULL);
    return err;
}

/* Seconds until the CRL's nextUpdate (negative when past), or 0 on error with *ok = 0. */
static int64_t crl_left(const char *path, int64_t now, int *ok)
{
    FILE *f = fopen(path, "r");
    X509_CRL *crl = f ? PEM_read_X509_CRL(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    *ok = 0;
    if (crl == NULL)
        return 0;
    const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
    int days = 0, secs = 0;
    ASN1_TIME *t_now = ASN1_TIME_set(NULL, (time_t)now);
    if (next != NULL && t_now != NULL && ASN1_TIME_diff(&days, &secs, t_now, next) == 1)
        *ok = 1;
    ASN1_TIME_free(t_now);
    X509_CRL_free(crl);
    return (int64_t)days * 86400 + secs;
}

static fws_err refresh_crl(fws_server *srv, fws_errbuf *eb)
{
    int ok = 0;
    int64_t left = crl_left(srv->tls.crl_path, srv_now_s(), &ok);
    if (!ok || left > CRL_MARGIN_S || !srv->pki_issuer)
        return FWS_OK;
    fws_pki *pki = fws_server_pki_lock(srv);
    fws_err err = fws_pki_crl_update(pki, srv->env, 0, eb);
    fws_server_pki_unlock(srv);
    if (err == FWS_OK)
        fws_server_log(srv, "info", "device CRL re-issued", "path", srv->tls.crl_path, NULL);
    return err; /* the TLS layer reloads it on its next check */
}

static fws_err refresh_task(fws_server *srv, fws_store *store, void *ctx, fws_errbuf *eb)
{
    (void)store;
    (void)ctx;
    fws_err err = refresh_repo(srv, eb);
    fws_err err2 = refresh_crl(srv, eb);
    return err != FWS_OK ? err : err2;
}

fws_err srv_refresh_init(fws_server *srv, fws_errbuf *eb)
{
    if (!srv->have_pp) {
        fws_server_log(srv, "warn",
                       "no passphrase: timestamp refresh, EST enrollment and /log/add are off",
                       NULL);
        return FWS_OK;
    }
    unsigned s = srv->cfg.refresh_interval_s ? srv->cfg.refresh_interval_s : 60;
    /* Once now, so a server started on stale metadata serves fresh metadata at once. */
    fws_errbuf first = {{0}};
    if (refresh_task(srv, NULL, NULL, &first) != FWS_OK)
        fws_server_log(srv, "warn", "refresh failed", "error", first.msg, NULL);
    return fws_server_add_task(srv, "refresh", s * 1000u, refresh_task, NULL, eb);
}
