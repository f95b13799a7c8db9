/* fwseal-agent's command line: shared between the commands. */
#ifndef FWSEAL_AGENT_CLI_H
#define FWSEAL_AGENT_CLI_H

#include "fwseal/agent.h"

typedef struct agent_opts {
    const char *server, *bundle, *state, *backend, *slot_dir, *hardware, *region;
    const char *health, *target, *device_id, *product, *version, *passphrase_file;
    const char *tool, *env_file, *cmdline, *wrap_key, *reboot_cmd, *bundles, *first_image;
    int once, json;
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

int agent_cmd_run(const agent_opts *o);
int agent_cmd_status(int argc, char **argv);
int agent_cmd_simulate(const agent_opts *o);
/* The device ID: from the bundle's device.crt (SAN urn:fwseal:device:ID) unless given. */
fws_err agent_device_id(const char *bundle, char *out, size_t cap, fws_errbuf *eb);
/* One line on stderr: "fwseal-agent: WHAT: message". */
void agent_report_error(const char *what, fws_err err, const fws_errbuf *eb);
int agent_exit_code(fws_err err);

#endif
