/* fwseal-agent run: the update loop on a device (one pass with --once). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "fwseal/crypto.h"
#include "fwseal/util.h"
#include "agent/cli/agentcli.h"
#include "agent/cli/attest.h"

#define URN "urn:fwseal:device:"

void agent_report_error(const char *what, fws_err err, const fws_errbuf *eb)
{
    fprintf(stderr, "fwseal-agent: %s: %s\n", what,
            eb != NULL && eb->msg[0] ? eb->msg : fws_strerror(err));
}

int agent_exit_code(fws_err err)
{
    return err == FWS_OK                  ? AGENT_EXIT_OK
           : fws_err_is_verification(err) ? AGENT_EXIT_REFUSED
                                          : AGENT_EXIT_USAGE;
}

fws_err agent_device_id(const char *bundle, char *out, size_t cap, fws_errbuf *eb)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/device.crt", bundle);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "%s: missing (or give --device-id)", path);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    GENERAL_NAMES *names = x ? X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL) : NULL;
    fws_err err = fws_errf(eb, FWS_ERR_FORMAT, "%s: no %s URI", path, URN "ID");
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type != GEN_URI)
            continue;
        const char *uri = (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
        size_t n = (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier);
        if (n > strlen(URN) && n - strlen(URN) < cap && strncmp(uri, URN, strlen(URN)) == 0) {
            memcpy(out, uri + strlen(URN), n - strlen(URN));
            out[n - strlen(URN)] = '\0';
            err = FWS_OK;
            break;
        }
    }
    GENERAL_NAMES_free(names);
    X509_free(x);
    return err;
}

typedef struct device_ctx {
    fws_slot_backend *slots;
    fws_agent *agent;
    fws_signer signer;
    int have_signer;
    fws_enc_key *wrap;
    fws_passphrase pp;
    int have_pp;
    char id[160];
    char cert[4200], key[4200];
    fws_agent_http_opts http;
    char pin[160];
    agent_identity ident;
} device_ctx;

static fws_err load_identity(const agent_opts *o, device_ctx *d, fws_errbuf *eb)
{
    struct stat sb;
    fws_err err = FWS_OK;
    if (o->device_id != NULL)
        snprintf(d->id, sizeof(d->id), "%s", o->device_id);
    else
        err = agent_device_id(o->bundle, d->id, sizeof(d->id), eb);
    snprintf(d->key, sizeof(d->key), "%s/device.key", o->bundle);
    snprintf(d->cert, sizeof(d->cert), "%s/device.crt", o->bundle);
    if (err == FWS_OK && stat(d->key, &sb) == 0) {
        fws_key *k = NULL;
        err = fws_passphrase_get(o->passphrase_file, 0, NULL, &d->pp, eb);
        d->have_pp = err == FWS_OK;
        if (err == FWS_OK)
            err = fws_key_load_private(d->key, &d->pp, &k, eb);
        if (err == FWS_OK && (err = fws_signer_from_key(k, &d->signer)) != FWS_OK)
            fws_key_free(k);
        d->have_signer = err == FWS_OK;
    }
    if (err == FWS_OK && o->wrap_key != NULL)
        err = fws_enc_key_load(o->wrap_key, &d->wrap, eb);
    return err;
}

static fws_err http_opts(const agent_opts *o, device_ctx *d, fws_errbuf *eb)
{
    char path[4200];
    uint8_t *data = NULL;
    size_t len = 0;
    memset(&d->http, 0, sizeof(d->http));
    snprintf(path, sizeof(path), "%s/server.pin", o->bundle);
    fws_err err = fws_file_read(path, sizeof(d->pin) - 1, &data, &len, NULL);
    if (err == FWS_OK) {
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' '))
            len--;
        memcpy(d->pin, data, len);
        d->pin[len] = '\0';
        d->http.pin = d->pin;
    } else if (err != FWS_ERR_NOT_FOUND) {
        err = fws_errf(eb, err, "%s: unreadable", path);
    } else {
        err = FWS_OK;
    }
    free(data);
    if (d->have_signer && access(d->cert, R_OK) == 0) {
        d->http.cert_file = d->cert; /* mutual TLS with the device identity */
        d->http.key_file = d->key;
        d->http.key_pass = d->pp.text;
    }
    return err;
}

static fws_err open_device(const agent_opts *o, device_ctx *d, fws_errbuf *eb)
{
    char slot_dir[4200];
    snprintf(slot_dir, sizeof(slot_dir), "%s", o->slot_dir ? o->slot_dir : o->state);
    fws_slot_config sc = {o->backend, slot_dir, o->tool, o->env_file, o->cmdline, NULL};
    fws_err err = fws_mkdirs(o->state, 0700, eb);
    if (err == FWS_OK)
        err = load_identity(o, d, eb);
    if (err == FWS_OK)
        err = http_opts(o, d, eb);
    if (err == FWS_OK)
        err = fws_slot_open(&sc, &d->slots, eb);
    fws_agent_config ac;
    memset(&ac, 0, sizeof(ac));
    ac.state_dir = o->state;
    ac.slots = d->slots;
    ac.device_id = d->id;
    ac.signer = d->have_signer ? &d->signer : NULL;
    ac.wrap_key = d->wrap;
    ac.health_check = o->health;
    fws_agent_first first = {o->product, o->version, NULL};
    if (err == FWS_OK)
        err = fws_agent_open(&ac, &first, &d->agent, eb);
    return err;
}

static void close_device(device_ctx *d)
{
    fws_agent_close(d->agent);
    agent_identity_free(&d->ident);
    fws_slot_close(d->slots);
    if (d->have_signer)
        fws_signer_free(&d->signer);
    fws_enc_key_free(d->wrap);
    fws_passphrase_wipe(&d->pp);
}

static int outcome_exit(fws_agent_outcome out)
{
    switch (out) {
    case FWS_PASS_INSTALLED:
        return AGENT_EXIT_REBOOT;
    case FWS_PASS_ROLLED_BACK:
        return AGENT_EXIT_ROLLED_BACK;
    case FWS_PASS_REFUSED:
        return AGENT_EXIT_REFUSED;
    default:
        return AGENT_EXIT_OK;
    }
}

static const char *const outcome_names[] = {"up-to-date", "installed", "confirmed", "rolled-back",
                                            "refused"};

static int one_pass(const agent_opts *o, device_ctx *d, agent_attest *at)
{
    fws_errbuf eb = {{0}};
    agent_factory f = {d->cert, d->key, d->have_signer ? &d->signer : NULL, &d->pp};
    agent_identity_upkeep(o, d->agent, &f, &d->http, &d->ident);
    fws_agent_loop_config lc = {o->server,
                                o->bundle,
                                o->hardware,
                                o->region,
                                o->target,
                                &d->http,
                                at->mode != AGENT_ATTEST_OFF ? agent_attest_run : NULL,
                                at};
    fws_agent_outcome out = FWS_PASS_UP_TO_DATE;
    fws_err err = fws_agent_pass(d->agent, &lc, &out, &eb);
    fws_agent_status st;
    fws_agent_get_status(d->agent, &st);
    if (o->json)
        printf("{\"outcome\":\"%s\",\"state\":\"%s\",\"version\":\"%s\",\"error\":\"%s\","
               "\"identity\":\"%s\",\"est\":\"%s\"}\n",
               outcome_names[out], fws_agent_state_name(st.state), st.installed_version,
               err == FWS_OK ? "" : fws_strerror(err), d->ident.kind, d->ident.est);
    else if (err == FWS_OK)
        printf("%s: %s, running %s %s\n", d->id, outcome_names[out], st.product,
               st.installed_version);
    if (err != FWS_OK) {
        agent_report_error(o->server, err, &eb);
        return out == FWS_PASS_REFUSED ? AGENT_EXIT_REFUSED : agent_exit_code(err);
    }
    return outcome_exit(out);
}

static unsigned jitter(unsigned interval)
{
    uint32_t r = 0;
    if (fws_random(&r, sizeof(r)) != FWS_OK)
        return interval;
    return interval - interval / 4 + (unsigned)(r % (interval / 2 + 1)); /* +-25% */
}

int agent_cmd_run(const agent_opts *o)
{
    device_ctx d;
    memset(&d, 0, sizeof(d));
    d.ident.kind = "factory";
    d.ident.est = "off";
    fws_errbuf eb = {{0}};
    agent_attest at;
    memset(&at, 0, sizeof(at));
    fws_err err = o->attest != NULL ? agent_attest_parse(o->attest, &at, &eb) : FWS_OK;
    if (err != FWS_OK) {
        agent_report_error("--attest", err, &eb);
        return AGENT_EXIT_USAGE;
    }
    if (o->attest_log != NULL)
        snprintf(at.log_path, sizeof(at.log_path), "%s", o->attest_log);
    else
        snprintf(at.log_path, sizeof(at.log_path), "%s/attest.log", o->state);
    if (o->attest_cert != NULL)
        snprintf(at.cert_path, sizeof(at.cert_path), "%s", o->attest_cert);
    else
        snprintf(at.cert_path, sizeof(at.cert_path), "%s/ak.crt", o->bundle);
    err = open_device(o, &d, &eb);
    if (err != FWS_OK) {
        agent_report_error(o->state, err, &eb);
        close_device(&d);
        return agent_exit_code(err);
    }
    int rc = one_pass(o, &d, &at);
    while (!o->once) {
        if (rc == AGENT_EXIT_REBOOT || rc == AGENT_EXIT_ROLLED_BACK) {
            int reboot = 0;
            if (fws_agent_recover(d.agent, &reboot, NULL) == FWS_OK && reboot) {
                if (o->reboot_cmd == NULL)
                    break; /* the supervisor reboots on exit status 3 */
                if (system(o->reboot_cmd) != 0)
                    fprintf(stderr, "fwseal-agent: %s failed\n", o->reboot_cmd);
            }
        }
        sleep(jitter(o->interval));
        rc = one_pass(o, &d, &at);
    }
    close_device(&d);
    return rc;
}
