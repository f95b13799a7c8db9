/* fwseal-agent's command line: shared between the commands. */
#ifndef FWSEAL_AGENT_CLI_H
#define FWSEAL_AGENT_CLI_H

#include "fwseal/agent.h"

typedef struct agent_opts {
    const char *server, *bundle, *state, *backend, *slot_dir, *hardware, *region;
    const char *health, *target, *device_id, *product, *version, *passphrase_file;
    const char *tool, *env_file, *cmdline, *wrap_key, *reboot_cmd, *bundles, *first_image;
    const char *est_label;
    const char *attest, *attest_log, *attest_cert; /* --attest and its files (attest.c) */
    int once, json, no_est;
    unsigned simulate, interval;
} agent_opts;

/* Exit statuses of a pass (docs/AGENT.md). */
enum {
    AGENT_EXIT_OK = 0,
    AGENT_EXIT_REFUSED = 1,
    AGENT_EXIT_USAGE = 2,
    AGENT_EXIT_REBOOT = 3,
    AGENT_EXIT_ROLLED_BACK = 4,
};

/* The factory identity of the bundle: device.crt, device.key (NULL signer: no key file). */
typedef struct agent_factory {
    const char *cert, *key;
    const fws_signer *signer;
    const fws_passphrase *pp;
} agent_factory;

/* The identity a pass presents (est.c). */
typedef struct agent_identity {
    fws_signer *signer; /* the operational key when it is in use (owned; the agent borrows it) */
    char cert[4200], key[4200];
    const char *kind; /* "factory" or "operational" */
    const char *est;  /* "off", "kept", "enrolled", "renewed" or "failed" */
} agent_identity;

/* Before a pass: brings the operational identity up to date over EST (not for a file://
 * server, with --no-est, or without a factory key file), then points http's client certificate
 * and the agent's report signer at the identity to present. An EST failure is a warning on
 * stderr: the pass goes on with the operational identity while it is valid, else the factory
 * one. */
void agent_identity_upkeep(const agent_opts *o, fws_agent *agent, const agent_factory *f,
                           fws_agent_http_opts *http, agent_identity *id);
void agent_identity_free(agent_identity *id);
/* fwseal-agent enroll (est.c). */
int agent_cmd_enroll(int argc, char **argv);

int agent_cmd_run(const agent_opts *o);
int agent_cmd_status(int argc, char **argv);
int agent_cmd_simulate(const agent_opts *o);
/* The device ID: from the bundle's device.crt (SAN urn:fwseal:device:ID) unless given. */
fws_err agent_device_id(const char *bundle, char *out, size_t cap, fws_errbuf *eb);
/* One line on stderr: "fwseal-agent: WHAT: message". */
void agent_report_error(const char *what, fws_err err, const fws_errbuf *eb);
int agent_exit_code(fws_err err);

#endif
