/* fwseal-agent's operational identity over EST: the enroller bound to the PKI client
 * (fws_pki_csr_create, fws_est_request, fws_est_renew_at), the upkeep before every pass, and
 * `fwseal-agent enroll`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fwseal/pki.h"
#include "fwseal/tuf.h"
#include "fwseal/util.h"
#include "agent/cli/agentcli.h"

#define EST_CERTS_MAX 4

/* ---- the enroller ------------------------------------------------------------------------------
 */

typedef struct est_bind {
    fws_est_client c;
} est_bind;

static fws_err bind_csr(void *ctx, const fws_signer *s, uint8_t **der, size_t *len, fws_errbuf *eb)
{
    (void)ctx; /* the CA decides the subject; the request only proves possession of the key */
    return fws_pki_csr_create(s, "fwseal-agent", NULL, der, len, eb);
}

static fws_err bind_enroll(void *ctx, int renew, const char *cert, const char *key,
                           const uint8_t *csr, size_t csr_len, uint8_t **der, size_t *der_len,
                           fws_errbuf *eb)
{
    est_bind *b = ctx;
    fws_est_client cl = b->c;
    uint8_t *certs[EST_CERTS_MAX] = {NULL};
    size_t lens[EST_CERTS_MAX], n = 0;
    cl.cert = cert;
    cl.key = key;
    fws_err err = fws_est_request(&cl, renew ? FWS_EST_SIMPLEREENROLL : FWS_EST_SIMPLEENROLL, csr,
                                  csr_len, certs, lens, EST_CERTS_MAX, &n, eb);
    if (err == FWS_OK && n != 1)
        err = fws_errf(eb, FWS_ERR_FORMAT, "EST: the server sent %zu certificates, not 1", n);
    if (err == FWS_OK) {
        *der = certs[0];
        *der_len = lens[0];
        certs[0] = NULL;
    }
    for (size_t i = 0; i < n; i++)
        free(certs[i]);
    return err;
}

static void bind_enroller(est_bind *b, fws_agent_enroller *en, const char *server,
                          const char *label, const char *pin, const fws_passphrase *pp)
{
    memset(b, 0, sizeof(*b));
    b->c.server = server;
    b->c.label = label;
    b->c.pin = pin;
    b->c.pp = pp;
    en->csr = bind_csr;
    en->enroll = bind_enroll;
    en->renew_at = fws_est_renew_at;
    en->ctx = b;
}

static void time_text(int64_t t, char out[FWS_TUF_TIME_LEN])
{
    if (fws_tuf_time_format(t, out) != FWS_OK)
        snprintf(out, FWS_TUF_TIME_LEN, "%lld", (long long)t);
}

/* ---- before every pass
 * --------------------------------------------------------------------------- */

/* Presents the identity: http and the report signer follow it. signer is heap-allocated and
 * owned by id (the agent borrows it). */
static fws_err use_operational(fws_agent *agent, const fws_agent_identity *cur,
                               const fws_passphrase *pp, fws_agent_http_opts *http,
                               agent_identity *id, fws_errbuf *eb)
{
    fws_key *k = NULL;
    fws_signer *s = calloc(1, sizeof(*s));
    fws_err err = s ? fws_key_load_private(cur->key, pp, &k, eb) : FWS_ERR_NOMEM;
    if (err == FWS_OK && (err = fws_signer_from_key(k, s)) != FWS_OK)
        fws_key_free(k);
    if (err == FWS_OK)
        err = fws_agent_set_signer(agent, s, eb);
    if (err != FWS_OK) {
        if (s != NULL && s->impl != NULL)
            fws_signer_free(s);
        free(s);
        return err;
    }
    agent_identity_free(id);
    id->signer = s;
    snprintf(id->cert, sizeof(id->cert), "%s", cur->cert);
    snprintf(id->key, sizeof(id->key), "%s", cur->key);
    http->cert_file = id->cert;
    http->key_file = id->key;
    http->key_pass = pp->text;
    id->kind = "operational";
    return FWS_OK;
}

/* Back to the factory identity (the operational one expired and could not be renewed). */
static void use_factory(fws_agent *agent, const agent_factory *f, fws_agent_http_opts *http,
                        agent_identity *id)
{
    if (id->signer == NULL)
        return;
    fws_errbuf eb = {{0}};
    if (fws_agent_set_signer(agent, f->signer, &eb) != FWS_OK)
        fprintf(stderr, "fwseal-agent: queued reports: %s\n", eb.msg);
    agent_identity_free(id);
    http->cert_file = f->cert;
    http->key_file = f->key;
    id->kind = "factory";
}

void agent_identity_upkeep(const agent_opts *o, fws_agent *agent, const agent_factory *f,
                           fws_agent_http_opts *http, agent_identity *id)
{
    fws_errbuf eb = {{0}};
    fws_agent_identity cur;
    est_bind b;
    fws_agent_enroller en;
    id->est = "off";
    if (o->no_est || strncmp(o->server, "file://", 7) == 0 || f->signer == NULL)
        return; /* no server, or no factory key to enroll with */
    if (http->pin == NULL && http->ca_file == NULL) {
        fprintf(stderr,
                "fwseal-agent: EST: the bundle has no server.pin; staying with the %s "
                "identity\n",
                id->kind);
        id->est = "failed";
        return;
    }
    bind_enroller(&b, &en, o->server, o->est_label, http->pin, f->pp);
    b.c.ca_file = http->ca_file;
    fws_agent_est_config c = {&en, f->cert, f->key, f->pp, 0, 0};
    fws_err err = fws_agent_identity_update(o->state, &c, &cur, &eb);
    id->est = err == FWS_OK ? fws_identity_action_name(cur.action) : "failed";
    if (err != FWS_OK) {
        fws_errbuf le = {{0}};
        int usable =
            fws_agent_identity_load(o->state, f->pp, 0, fws_est_renew_at, &cur, &le) == FWS_OK;
        fprintf(stderr, "fwseal-agent: EST: %s; going on with the %s identity\n",
                eb.msg[0] ? eb.msg : fws_strerror(err), usable ? "operational" : "factory");
        if (!usable) {
            use_factory(agent, f, http, id);
            return;
        }
    } else if (cur.action != FWS_IDENTITY_KEPT && !o->json) {
        char until[FWS_TUF_TIME_LEN], renew[FWS_TUF_TIME_LEN];
        time_text(cur.not_after, until);
        time_text(cur.renew_at, renew);
        printf("%s: %s over EST: operational certificate valid until %s, renewal at %s\n",
               cur.device_id, fws_identity_action_name(cur.action), until, renew);
    }
    fws_errbuf ue = {{0}};
    if (use_operational(agent, &cur, f->pp, http, id, &ue) != FWS_OK)
        fprintf(stderr, "fwseal-agent: EST: %s: %s; going on with the factory identity\n", cur.key,
                ue.msg);
}

void agent_identity_free(agent_identity *id)
{
    if (id->signer != NULL) {
        fws_signer_free(id->signer);
        free(id->signer);
        id->signer = NULL;
    }
}

/* ---- fwseal-agent enroll
 * ------------------------------------------------------------------------- */

static void enroll_usage(FILE *f)
{
    fprintf(f,
            "usage: fwseal-agent enroll --server URL --bundle BUNDLE_DIR --state STATE_DIR\n"
            "                           [--force] [--now TIME] [--est-label ENV]\n"
            "                           [--passphrase-file F] [--json]\n"
            "\n"
            "Keeps the device's operational certificate (STATE/identity) up to date over EST:\n"
            "enrolls with the bundle's factory identity when there is none (or it expired),\n"
            "renews it once two thirds of its lifetime have passed (--force: now), and does\n"
            "nothing before that. The new key is made on the device and stored encrypted with\n"
            "the passphrase of device.key. --now (YYYY-MM-DDTHH:MM:SSZ or Unix seconds) is the\n"
            "time the renewal is judged at. Exit 0 done, 1 the server refused (a revoked device)\n"
            "or sent a certificate that fails a check, 2 usage or I/O errors.\n");
}

typedef struct enroll_opts {
    const char *server, *bundle, *state, *label, *passfile;
    int64_t now;
    int force, json;
} enroll_opts;

static int parse_now(const char *text, int64_t *out)
{
    char *end = NULL;
    if (fws_tuf_time_parse(text, out) == FWS_OK)
        return 0;
    long long v = strtoll(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || v <= 0)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int enroll_parse(int argc, char **argv, enroll_opts *o)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'}, {"bundle", required_argument, NULL, 'b'},
        {"state", required_argument, NULL, 'S'},  {"est-label", required_argument, NULL, 'l'},
        {"now", required_argument, NULL, 'n'},    {"passphrase-file", required_argument, NULL, 'p'},
        {"force", no_argument, NULL, 'f'},        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char **slot[128] = {['s'] = &o->server,
                              ['b'] = &o->bundle,
                              ['S'] = &o->state,
                              ['l'] = &o->label,
                              ['p'] = &o->passfile};
    int c;
    memset(o, 0, sizeof(*o));
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h') {
            enroll_usage(stdout);
            return -1;
        } else if (c == 'f') {
            o->force = 1;
        } else if (c == 'j') {
            o->json = 1;
        } else if (c == 'n') {
            if (parse_now(optarg, &o->now) != 0) {
                fprintf(stderr,
                        "fwseal-agent enroll: --now: YYYY-MM-DDTHH:MM:SSZ or Unix "
                        "seconds, not '%s'\n",
                        optarg);
                return AGENT_EXIT_USAGE;
            }
        } else if (c > 0 && c < 128 && slot[c] != NULL) {
            *slot[c] = optarg;
        } else {
            fprintf(stderr, "fwseal-agent enroll: bad option (see --help)\n");
            return AGENT_EXIT_USAGE;
        }
    }
    if (o->server == NULL || o->bundle == NULL || o->state == NULL || optind < argc) {
        fprintf(stderr, "fwseal-agent enroll: --server, --bundle and --state are required "
                        "(see --help)\n");
        return AGENT_EXIT_USAGE;
    }
    return 0;
}

/* The bundle's pin, "" when it has none. */
static fws_err bundle_pin(const char *bundle, char *pin, size_t cap, fws_errbuf *eb)
{
    char path[4200];
    uint8_t *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/server.pin", bundle);
    fws_err err = fws_file_read(path, cap - 1, &data, &len, eb);
    if (err == FWS_OK) {
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' '))
            len--;
        memcpy(pin, data, len);
        pin[len] = '\0';
    }
    free(data);
    return err;
}

static int enroll_report(const enroll_opts *o, const fws_agent_identity *id)
{
    char until[FWS_TUF_TIME_LEN], renew[FWS_TUF_TIME_LEN];
    time_text(id->not_after, until);
    time_text(id->renew_at, renew);
    if (o->json)
        printf("{\"action\":\"%s\",\"device\":\"%s\",\"cert\":\"%s\",\"notAfter\":\"%s\","
               "\"renewAt\":\"%s\"}\n",
               fws_identity_action_name(id->action), id->device_id, id->cert, until, renew);
    else
        printf("%s: %s: operational certificate %s valid until %s, renewal at %s\n", id->device_id,
               fws_identity_action_name(id->action), id->cert, until, renew);
    return AGENT_EXIT_OK;
}

int agent_cmd_enroll(int argc, char **argv)
{
    enroll_opts o;
    fws_errbuf eb = {{0}};
    fws_passphrase pp;
    char pin[160], cert[4200], key[4200];
    est_bind b;
    fws_agent_enroller en;
    fws_agent_identity id;
    int rc = enroll_parse(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? AGENT_EXIT_OK : rc;
    memset(&pp, 0, sizeof(pp));
    snprintf(cert, sizeof(cert), "%s/device.crt", o.bundle);
    snprintf(key, sizeof(key), "%s/device.key", o.bundle);
    fws_err err = bundle_pin(o.bundle, pin, sizeof(pin), &eb);
    if (err == FWS_OK)
        err = fws_passphrase_get(o.passfile, 0, NULL, &pp, &eb);
    bind_enroller(&b, &en, o.server, o.label, pin, &pp);
    fws_agent_est_config c = {&en, cert, key, &pp, o.now, o.force};
    if (err == FWS_OK)
        err = fws_mkdirs(o.state, 0700, &eb);
    if (err == FWS_OK)
        err = fws_agent_identity_update(o.state, &c, &id, &eb);
    fws_passphrase_wipe(&pp);
    if (err == FWS_OK)
        return enroll_report(&o, &id);
    agent_report_error("enroll", err, &eb);
    return err == FWS_ERR_STATE ? AGENT_EXIT_REFUSED : agent_exit_code(err);
}
