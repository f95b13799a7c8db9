/* Opening an agent's state, stepping the machine, the anti-rollback counter. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fwseal/util.h"
#include "agent/internal.h"

#define COUNTER_MAX 32

int64_t fws_agent_now(const fws_agent *a)
{
    return a->now ? a->now() : (int64_t)time(NULL);
}

fws_err fws_agent_save(fws_agent *a, fws_errbuf *eb)
{
    a->st.updated_at = fws_agent_now(a);
    return fws_agent_status_save(a->io, a->state_dir, &a->st, eb);
}

fws_err fws_agent_step(fws_agent *a, fws_agent_event e, fws_errbuf *eb)
{
    fws_agent_state next;
    if (fws_agent_transition(a->st.state, e, &next) != FWS_OK)
        return fws_errf(eb, FWS_ERR_STATE, "no transition from %s on %s",
                        fws_agent_state_name(a->st.state), fws_agent_event_name(e));
    fws_agent_status saved = a->st;
    a->st.state = next;
    if (next == FWS_AGENT_IDLE) {
        memset(&a->st.target, 0, sizeof(a->st.target));
        a->st.target_slot = -1;
        a->st.written = 0;
        memset(a->st.slot_sha256, 0, sizeof(a->st.slot_sha256));
        a->st.from_version[0] = '\0';
    }
    fws_err err = fws_agent_save(a, eb);
    if (err != FWS_OK)
        a->st = saved;
    return err;
}

/* ---- the counter ---------------------------------------------------------------------------- */

static fws_err counter_path(const fws_agent *a, char *out, size_t cap)
{
    return snprintf(out, cap, "%s/counter", a->state_dir) < (int)cap ? FWS_OK : FWS_ERR_TOO_BIG;
}

fws_err fws_agent_counter(const fws_agent *a, uint64_t *value, fws_errbuf *eb)
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t len = 0;
    fws_err err = counter_path(a, path, sizeof(path));
    if (err == FWS_OK)
        err = fws_file_read(path, COUNTER_MAX, &data, &len, NULL);
    if (err == FWS_ERR_NOT_FOUND) {
        *value = 0;
        return FWS_OK;
    }
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: unreadable", path);
    if (err == FWS_OK) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull((const char *)data, &end, 10);
        if (len == 0 || errno != 0 || *end != '\n')
            err = fws_errf(eb, FWS_ERR_FORMAT, "%s: not a counter", path);
        else
            *value = (uint64_t)v;
    }
    free(data);
    return err;
}

static fws_err counter_read_cb(void *ctx, uint64_t *value)
{
    return fws_agent_counter(ctx, value, NULL);
}

static fws_err counter_write_cb(void *ctx, uint64_t value)
{
    fws_agent *a = ctx;
    char path[PATH_MAX], text[COUNTER_MAX];
    int n = snprintf(text, sizeof(text), "%" PRIu64 "\n", value);
    fws_err err = counter_path(a, path, sizeof(path));
    if (err == FWS_OK)
        err = fws_agent_write_atomic(a->io, path, text, (size_t)n, NULL);
    if (err == FWS_OK)
        a->st.security_counter = value;
    return err;
}

void fws_agent_counter_store(fws_agent *a, fws_counter_store *out)
{
    out->read = counter_read_cb;
    out->write = counter_write_cb;
    out->ctx = a;
}

/* ---- opening ----------------------------------------------------------------------------------
 */

static fws_err first_state(fws_agent *a, const fws_agent_first *first, fws_errbuf *eb)
{
    fws_agent_status st;
    memset(&st, 0, sizeof(st));
    st.state = FWS_AGENT_IDLE;
    st.target_slot = -1;
    int booted = -1;
    fws_err err = fws_slot_booted(a->slots, &booted, eb);
    st.active_slot = booted >= 0 ? booted : 0;
    if (err == FWS_OK && first != NULL && first->product != NULL &&
        fws_agent_copy(st.product, sizeof(st.product), first->product) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "product name too long");
    if (err == FWS_OK && first != NULL && first->version != NULL &&
        fws_agent_copy(st.installed_version, sizeof(st.installed_version), first->version) !=
            FWS_OK)
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "version too long");
    if (err == FWS_OK && first != NULL && first->sha256 != NULL)
        memcpy(st.installed_sha256, first->sha256, FWS_SHA256_LEN);
    if (err == FWS_OK) {
        a->st = st;
        err = fws_agent_save(a, eb);
    }
    return err;
}

fws_err fws_agent_open(const fws_agent_config *cfg, const fws_agent_first *first, fws_agent **out,
                       fws_errbuf *eb)
{
    if (cfg == NULL || cfg->state_dir == NULL || cfg->slots == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "an agent needs a state directory and slots");
    fws_agent *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return FWS_ERR_NOMEM;
    a->slots = cfg->slots;
    a->io = cfg->io ? cfg->io : &fws_agent_io_posix;
    a->signer = cfg->signer;
    a->wrap_key = cfg->wrap_key;
    a->now = cfg->now;
    char reports[PATH_MAX + 16];
    fws_err err = fws_agent_copy(a->state_dir, sizeof(a->state_dir), cfg->state_dir);
    if (err == FWS_OK)
        err = fws_agent_copy(a->device_id, sizeof(a->device_id),
                             cfg->device_id ? cfg->device_id : "unknown");
    if (err == FWS_OK && cfg->health_check != NULL &&
        (a->health_check = strdup(cfg->health_check)) == NULL)
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK) {
        snprintf(reports, sizeof(reports), "%s/reports", a->state_dir);
        err = fws_mkdirs(reports, 0700, eb);
    }
    if (err == FWS_OK)
        err = fws_agent_status_read(a->state_dir, &a->st, eb);
    if (err == FWS_ERR_NOT_FOUND)
        err = first_state(a, first, eb);
    if (err == FWS_OK)
        err = fws_agent_counter(a, &a->st.security_counter, eb);
    if (err != FWS_OK) {
        fws_agent_close(a);
        return err;
    }
    *out = a;
    return FWS_OK;
}

void fws_agent_close(fws_agent *a)
{
    if (a == NULL)
        return;
    free(a->health_check);
    free(a);
}

void fws_agent_get_status(const fws_agent *a, fws_agent_status *out)
{
    *out = a->st;
}
