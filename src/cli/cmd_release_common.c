/* What `fwseal init`, `release`, `repo` and `key rotate` share: the passphrase, the ledger
 * behind a deployment, the SBOM validator, comma lists and repeated --key options. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "fwseal/ledger.h"
#include "fwseal/sbom.h"

#define LEDGER_LOCK_WAIT_MS 10000

fws_err cli_repo_passphrase(const char *passfile, int confirm, fws_passphrase *pp, fws_errbuf *eb)
{
    return fws_passphrase_get(passfile, confirm, "passphrase for the deployment's keys: ", pp, eb);
}

int64_t cli_repo_now(void)
{
    return (int64_t)time(NULL);
}

static fws_err ledger_init(void *ctx, const char *dir, const char *origin, const fws_signer *key,
                           const char *key_ref, fws_errbuf *eb)
{
    cli_repo_ledger *l = ctx;
    char ref[PATH_MAX];
    /* The log remembers where its key is, for `fwseal log append` without --key. */
    if (snprintf(ref, sizeof(ref), "%s/%s", l->deploy_abs, key_ref) >= (int)sizeof(ref))
        return fws_errf(eb, FWS_ERR_ARG, "path too long");
    fws_ledger_config cfg = {.origin = origin, .key_ref = ref, .any_entries = 0};
    return fws_ledger_create(dir, &cfg, key, NULL, eb);
}

static fws_err ledger_append(void *ctx, const uint8_t *record, size_t len, uint64_t *index,
                             fws_errbuf *eb)
{
    cli_repo_ledger *l = ctx;
    fws_ledger_options opts = {.lock_wait_ms = LEDGER_LOCK_WAIT_MS};
    fws_ledger *log = NULL;
    fws_signer signer;
    fws_ledger_entry entry = {.data = record, .len = len};
    uint64_t idx = 0;
    fws_err err;

    memset(&signer, 0, sizeof(signer));
    if ((err = fws_deploy_ledger_signer(l->d, l->pp, &signer, eb)) != FWS_OK)
        return err;
    if ((err = fws_ledger_open(fws_deploy_ledger_dir(l->d), &opts, &log, eb)) == FWS_OK &&
        (err = fws_ledger_set_signer(log, &signer, eb)) == FWS_OK)
        err = fws_ledger_append(log, &entry, 1, &idx, NULL, eb);
    if (err == FWS_OK) {
        fws_errbuf pe = {{0}};
        /* The record is durable now; a checkpoint that fails to publish is published with the
         * next append or by the ledger's own tools. */
        if (fws_ledger_publish(log, &pe) != FWS_OK)
            snprintf(l->warning, sizeof(l->warning), "ledger checkpoint not published: %.400s",
                     pe.msg);
        *index = idx;
    }
    fws_ledger_close(log);
    fws_signer_free(&signer);
    return err;
}

fws_err cli_repo_ledger_bind(cli_repo_ledger *l, fws_deploy *d, const fws_passphrase *pp,
                             const char *deploy_dir, fws_repo_ledger *out, fws_errbuf *eb)
{
    memset(l, 0, sizeof(*l));
    l->d = d;
    l->pp = pp;
    if (deploy_dir != NULL) {
        /* The deployment does not exist yet: its parent does. */
        char copy[PATH_MAX], parent[PATH_MAX];
        snprintf(copy, sizeof(copy), "%s", deploy_dir);
        if (realpath(dirname(copy), parent) == NULL)
            return fws_errf(eb, FWS_ERR_IO, "%s: %s", deploy_dir, strerror(errno));
        snprintf(copy, sizeof(copy), "%s", deploy_dir);
        if (snprintf(l->deploy_abs, sizeof(l->deploy_abs), "%s/%s", parent, basename(copy)) >=
            (int)sizeof(l->deploy_abs))
            return fws_errf(eb, FWS_ERR_ARG, "path too long");
    }
    out->init = ledger_init;
    out->append = ledger_append;
    out->ctx = l;
    return FWS_OK;
}

void cli_repo_ledger_warn(const cli_repo_ledger *l, const char *what)
{
    if (l->warning[0] != '\0')
        fprintf(stderr, "fwseal %s: warning: %s\n", what, l->warning);
}

fws_err cli_repo_sbom_check(const uint8_t *unverified, size_t len, fws_errbuf *eb)
{
    return fws_sbom_validate(unverified, len, NULL, eb);
}

int cli_repo_split(char *text, const char **items, size_t cap, size_t *n)
{
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(text, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        if (*n == cap)
            return -1;
        items[(*n)++] = tok;
    }
    return 0;
}

int cli_repo_add_ref(cli_repo_refs *r, const char *ref)
{
    if (r->n == FWS_REPO_MAX_REFS)
        return -1;
    r->refs[r->n++] = ref;
    return 0;
}
