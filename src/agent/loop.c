/* One pass of the update loop: assignment, metadata, policy, ledger, download. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "fwseal/tuf.h"
#include "fwseal/util.h"
#include "agent/ledgerint.h"
#include "agent/loopint.h"

/* A refusal before any byte was written: reported with the target it was about. */
static fws_err refuse_early(fws_agent *a, const fws_agent_target *t, fws_err why, const char *msg,
                            fws_errbuf *eb)
{
    fws_agent_status saved = a->st;
    a->st.target = *t;
    memcpy(a->st.from_version, a->st.installed_version, sizeof(a->st.from_version));
    a->st.target_slot = 1 - a->st.active_slot;
    char reason[FWS_AGENT_REASON_MAX + 1];
    snprintf(reason, sizeof(reason), "%s: %s", fws_strerror(why), msg);
    fws_err err = fws_agent_report_queue(a, FWS_REPORT_VERIFY_FAIL, reason, eb);
    uint64_t seq = a->st.report_seq;
    a->st = saved;
    a->st.report_seq = seq;
    snprintf(a->st.reason, sizeof(a->st.reason), "%s", reason);
    if (err == FWS_OK)
        err = fws_agent_save(a, eb);
    return err == FWS_OK ? fws_errf(eb, why, "%s", reason) : err;
}

/* ---- the target's signed description ------------------------------------------------------- */

static fws_err names(const json_t *fw, const char *key, const char **out, size_t *n, int required,
                     fws_errbuf *eb)
{
    const json_t *arr = json_object_get(fw, key);
    *n = 0;
    if (arr == NULL && !required)
        return FWS_OK;
    if (!json_is_array(arr) || json_array_size(arr) > FWS_POLICY_MAX_LIST)
        return fws_errf(eb, FWS_ERR_SCHEMA, "target custom.fwseal.%s must be a list", key);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        out[i] = json_string_value(json_array_get(arr, i));
        if (out[i] == NULL)
            return fws_errf(eb, FWS_ERR_SCHEMA, "target custom.fwseal.%s holds a non-string", key);
    }
    *n = json_array_size(arr);
    return FWS_OK;
}

fws_err fws_agent_describe(const fws_tuf_target *tt, fws_agent_target *t, fws_target_view *v,
                           fws_errbuf *eb)
{
    json_t *fw = tt->custom ? json_object_get(tt->custom, "fwseal") : NULL;
    const char *product = NULL, *version = NULL, *sha = NULL;
    int64_t counter = 0, index = 0;
    size_t n = 0;
    memset(t, 0, sizeof(*t));
    if (fw == NULL)
        return fws_errf(eb, FWS_ERR_SCHEMA, "target %s has no custom.fwseal", tt->path);
    fws_err err = fws_json_get_string(fw, "product", &product, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(fw, "version", &version, eb);
    if (err == FWS_OK)
        err = fws_json_get_int(fw, "securityCounter", &counter, eb);
    if (err == FWS_OK)
        err = fws_json_get_int(fw, "ledgerIndex", &index, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(tt->hashes, "sha256", &sha, eb);
    if (err == FWS_OK &&
        (strlen(sha) != 64 || fws_hex_decode(sha, 64, t->sha256, 32, &n) != FWS_OK))
        err = fws_errf(eb, FWS_ERR_SCHEMA, "target %s: sha256 is not 64 hex digits", tt->path);
    if (err == FWS_OK && (counter < 0 || index < 0))
        err = fws_errf(eb, FWS_ERR_SCHEMA, "target %s: negative counter or index", tt->path);
    if (err == FWS_OK)
        err = names(fw, "hardware", v->hardware, &v->n_hardware, 1, eb);
    if (err == FWS_OK)
        err = names(fw, "regions", v->regions, &v->n_regions, 0, eb);
    if (err == FWS_OK && (fws_agent_copy(t->product, sizeof(t->product), product) != FWS_OK ||
                          fws_agent_copy(t->version, sizeof(t->version), version) != FWS_OK ||
                          fws_agent_copy(t->path, sizeof(t->path), tt->path) != FWS_OK))
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "target %s: names too long", tt->path);
    if (err == FWS_OK) {
        t->length = tt->length;
        t->security_counter = (uint64_t)counter;
        v->ledger_index = (uint64_t)index;
    }
    return err;
}

/* Where the image is fetched: DIR/SHA256.NAME under the targets URL (consistent snapshots). */
fws_err fws_agent_target_url(const char *targets_base, const fws_agent_target *t, char *out,
                             size_t cap)
{
    char hex[2 * FWS_SHA256_LEN + 1];
    fws_hex_encode(t->sha256, FWS_SHA256_LEN, hex);
    const char *slash = strrchr(t->path, '/');
    int n = slash ? snprintf(out, cap, "%s/%.*s/%s.%s", targets_base, (int)(slash - t->path),
                             t->path, hex, slash + 1)
                  : snprintf(out, cap, "%s/%s.%s", targets_base, hex, t->path);
    return n > 0 && (size_t)n < cap ? FWS_OK : FWS_ERR_TOO_BIG;
}

/* ---- the pass ---------------------------------------------------------------------------------
 */

static fws_err policy(fws_agent *a, const fws_agent_loop_config *c, const fws_agent_target *t,
                      const fws_target_view *v, int64_t expires, fws_errbuf *eb)
{
    fws_counter_store cs;
    fws_agent_counter_store(a, &cs);
    fws_target_claims claims = {v->hardware,  v->n_hardware,       v->regions,
                                v->n_regions, t->security_counter, expires};
    fws_device_facts facts = {c->hardware, c->region, fws_agent_now(a), &cs};
    fws_err err = fws_policy_check(&claims, &facts);
    if (err == FWS_OK)
        return FWS_OK;
    const char *what = err == FWS_ERR_EXPIRED    ? "the signed metadata has expired"
                       : err == FWS_ERR_HARDWARE ? "the image is not for this hardware model"
                       : err == FWS_ERR_REGION   ? "the image is not for this region"
                       : err == FWS_ERR_ROLLBACK ? "its security counter is below the installed one"
                                                 : "the policy check failed";
    char msg[FWS_AGENT_REASON_MAX];
    snprintf(msg, sizeof(msg), "%s %s: %s", t->product, t->version, what);
    return refuse_early(a, t, err, msg, eb);
}

static fws_err check_and_install(fws_agent *a, fws_pass_env *env, const char *path,
                                 const char *wrapped, fws_agent_outcome *out, fws_errbuf *eb)
{
    fws_tuf_target tt;
    fws_agent_target t;
    fws_target_view v;
    fws_errbuf leb = {{0}};
    memset(&v, 0, sizeof(v));
    memset(&t, 0, sizeof(t));
    snprintf(t.path, sizeof(t.path), "%s", path);
    snprintf(t.product, sizeof(t.product), "%s", a->st.product);
    fws_err err = fws_tuf_client_refresh(env->tuf, &leb);
    if (err == FWS_OK)
        err = fws_tuf_client_find_target(env->tuf, path, &tt, &leb);
    if (err == FWS_OK)
        err = fws_agent_describe(&tt, &t, &v, &leb);
    if (err != FWS_OK) {
        *out = FWS_PASS_REFUSED;
        return err == FWS_ERR_IO ? fws_errf(eb, err, "%s", leb.msg)
                                 : refuse_early(a, &t, err, leb.msg, eb);
    }
    if (fws_ct_eq(t.sha256, a->st.installed_sha256, FWS_SHA256_LEN) ||
        fws_ct_eq(t.sha256, a->st.failed_sha256, FWS_SHA256_LEN)) {
        /* running it, or it failed its trial here already: a new release is needed */
        *out = FWS_PASS_UP_TO_DATE;
        return FWS_OK;
    }
    snprintf(t.wrapped_key, sizeof(t.wrapped_key), "%s", wrapped ? wrapped : "");
    if (fws_agent_target_url(env->targets_url, &t, t.url, sizeof(t.url)) != FWS_OK)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "target URL too long");
    *out = FWS_PASS_REFUSED;
    int64_t expires = 0;
    err = fws_pass_targets_expires(a, &expires, eb);
    if (err == FWS_OK)
        err = policy(a, env->cfg, &t, &v, expires, eb);
    if (err != FWS_OK)
        return err;
    fws_ledger_want w = {v.ledger_index, t.product, t.version, t.sha256, t.length};
    err = fws_agent_ledger_check(&env->tiles, &env->log_key, a->state_dir, a->io, &w, &leb);
    if (err != FWS_OK)
        return err == FWS_ERR_IO ? fws_errf(eb, err, "%s", leb.msg)
                                 : refuse_early(a, &t, err, leb.msg, eb);
    err = fws_agent_install(a, &t, &env->source, eb);
    if (err == FWS_OK)
        *out = FWS_PASS_INSTALLED;
    return err;
}

static fws_err after_recover(const fws_agent *a, fws_agent_state before, int reboot,
                             fws_agent_outcome *out)
{
    int settling = before == FWS_AGENT_INSTALLED_PENDING || before == FWS_AGENT_TRIAL_BOOT ||
                   before == FWS_AGENT_CONFIRMED || before == FWS_AGENT_ROLLED_BACK;
    if (reboot && a->st.state == FWS_AGENT_INSTALLED_PENDING)
        *out = FWS_PASS_INSTALLED;
    else if (settling && a->st.state == FWS_AGENT_IDLE)
        *out = a->st.reason[0] == '\0' ? FWS_PASS_CONFIRMED : FWS_PASS_ROLLED_BACK;
    else
        return FWS_ERR_NOT_FOUND; /* nothing happened: go on with the pass */
    return FWS_OK;
}

fws_err fws_agent_pass(fws_agent *a, const fws_agent_loop_config *c, fws_agent_outcome *out,
                       fws_errbuf *eb)
{
    fws_pass_env env;
    int reboot = 0;
    fws_agent_state before = a->st.state;
    *out = FWS_PASS_UP_TO_DATE;
    fws_err err = fws_agent_recover(a, &reboot, eb);
    if (err != FWS_OK)
        return err;
    fws_err done = after_recover(a, before, reboot, out);
    err = fws_pass_env_open(a, c, &env, eb);
    if (err != FWS_OK)
        return err;
    fws_pass_send_reports(a, &env);
    if (done == FWS_OK)
        goto out;
    if (a->st.state == FWS_AGENT_DOWNLOADING) {
        fws_agent_target t = a->st.target;
        err = fws_agent_install(a, &t, &env.source, eb);
        *out = err == FWS_OK ? FWS_PASS_INSTALLED : FWS_PASS_REFUSED;
        goto out;
    }
    if (a->st.state != FWS_AGENT_IDLE)
        goto out; /* waiting for the reboot into the trial */
    fws_assignment as;
    memset(&as, 0, sizeof(as));
    if (c->target != NULL)
        snprintf(as.target, sizeof(as.target), "%s", c->target);
    else
        err = fws_pass_assignment(a, &env, &as, eb);
    if (err == FWS_OK && as.target[0] != '\0')
        err = check_and_install(a, &env, as.target, as.wrapped_key[0] ? as.wrapped_key : NULL, out,
                                eb);
    if (err == FWS_OK)
        fws_pass_send_reports(a, &env);
out:
    fws_pass_env_close(&env);
    return err;
}
