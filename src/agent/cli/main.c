/* fwseal-agent: the device side. Parses the command line and hands over to run, status or
 * simulate. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include "agent/cli/agentcli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fwseal-agent --server URL --bundle BUNDLE_DIR --state STATE_DIR\n"
            "                    --slot-backend file|uboot|grub|script [--slot-dir DIR]\n"
            "                    [--hardware H --region R] [--once] [--health-check CMD]\n"
            "                    [--target PATH] [--device-id ID] [--product P --version V]\n"
            "                    [--interval SECONDS] [--reboot-cmd CMD] [--wrap-key PEM]\n"
            "                    [--tool PATH] [--env-file FILE] [--cmdline FILE]\n"
            "                    [--passphrase-file F] [--json]\n"
            "                    [--no-est] [--est-label ENV]\n"
            "                    [--attest tpm:HOST:PORT|software:KEYFILE]\n"
            "                    [--attest-log FILE] [--attest-cert FILE]\n"
            "       fwseal-agent status --state STATE_DIR [--json]\n"
            "       fwseal-agent enroll --server URL --bundle BUNDLE_DIR --state STATE_DIR\n"
            "                    [--force] [--now TIME] [--json]\n"
            "       fwseal-agent --simulate N --server URL --bundles DIR --state ROOT\n"
            "                    --hardware H [--region R] --first-image FILE --product P\n"
            "                    --version V [--health-check CMD]\n"
            "\n"
            "--once runs one pass and exits: 0 up to date (or an update confirmed), 1 an update\n"
            "was refused by a check (and reported), 2 usage or I/O error, 3 an update is\n"
            "installed in the inactive slot (reboot to try it), 4 a trial boot was rolled back.\n"
            "Before each pass against a server the agent enrolls over EST with the bundle's\n"
            "factory identity, or renews its operational certificate at two thirds of its\n"
            "lifetime, and presents that certificate (--no-est: the factory one).\n"
            "With --attest it attests before asking for its assignment: it quotes its\n"
            "measured-boot log (--attest-log, default STATE_DIR/attest.log) over the server's\n"
            "nonce with the TPM's attestation key or the software key, and sends the AK\n"
            "certificate (--attest-cert, default BUNDLE_DIR/ak.crt).\n"
            "See docs/AGENT.md.\n");
}

enum {
    O_SERVER = 256,
    O_BUNDLE,
    O_STATE,
    O_BACKEND,
    O_SLOTDIR,
    O_HW,
    O_REGION,
    O_ONCE,
    O_HEALTH,
    O_TARGET,
    O_DEVID,
    O_PRODUCT,
    O_VERSION,
    O_PPFILE,
    O_TOOL,
    O_ENVFILE,
    O_CMDLINE,
    O_WRAP,
    O_REBOOT,
    O_INTERVAL,
    O_JSON,
    O_SIM,
    O_BUNDLES,
    O_FIRST,
    O_ESTLABEL,
    O_NOEST,
    O_ATTEST,
    O_ATTESTLOG,
    O_ATTESTCERT,
    O_HELP,
    O_VERS,
};

static const struct option longopts[] = {
    {"server", required_argument, NULL, O_SERVER},
    {"bundle", required_argument, NULL, O_BUNDLE},
    {"state", required_argument, NULL, O_STATE},
    {"slot-backend", required_argument, NULL, O_BACKEND},
    {"slot-dir", required_argument, NULL, O_SLOTDIR},
    {"hardware", required_argument, NULL, O_HW},
    {"region", required_argument, NULL, O_REGION},
    {"once", no_argument, NULL, O_ONCE},
    {"health-check", required_argument, NULL, O_HEALTH},
    {"target", required_argument, NULL, O_TARGET},
    {"device-id", required_argument, NULL, O_DEVID},
    {"product", required_argument, NULL, O_PRODUCT},
    {"version", required_argument, NULL, O_VERSION},
    {"passphrase-file", required_argument, NULL, O_PPFILE},
    {"tool", required_argument, NULL, O_TOOL},
    {"env-file", required_argument, NULL, O_ENVFILE},
    {"cmdline", required_argument, NULL, O_CMDLINE},
    {"wrap-key", required_argument, NULL, O_WRAP},
    {"reboot-cmd", required_argument, NULL, O_REBOOT},
    {"interval", required_argument, NULL, O_INTERVAL},
    {"json", no_argument, NULL, O_JSON},
    {"simulate", required_argument, NULL, O_SIM},
    {"bundles", required_argument, NULL, O_BUNDLES},
    {"first-image", required_argument, NULL, O_FIRST},
    {"est-label", required_argument, NULL, O_ESTLABEL},
    {"no-est", no_argument, NULL, O_NOEST},
    {"attest", required_argument, NULL, O_ATTEST},
    {"attest-log", required_argument, NULL, O_ATTESTLOG},
    {"attest-cert", required_argument, NULL, O_ATTESTCERT},
    {"help", no_argument, NULL, O_HELP},
    {"agent-version", no_argument, NULL, O_VERS},
    {NULL, 0, NULL, 0},
};

static int set_opt(agent_opts *o, int c, const char *arg)
{
    const char **slot[] = {
        [O_SERVER - O_SERVER] = &o->server,
        [O_BUNDLE - O_SERVER] = &o->bundle,
        [O_STATE - O_SERVER] = &o->state,
        [O_BACKEND - O_SERVER] = &o->backend,
        [O_SLOTDIR - O_SERVER] = &o->slot_dir,
        [O_HW - O_SERVER] = &o->hardware,
        [O_REGION - O_SERVER] = &o->region,
        [O_HEALTH - O_SERVER] = &o->health,
        [O_TARGET - O_SERVER] = &o->target,
        [O_DEVID - O_SERVER] = &o->device_id,
        [O_PRODUCT - O_SERVER] = &o->product,
        [O_VERSION - O_SERVER] = &o->version,
        [O_PPFILE - O_SERVER] = &o->passphrase_file,
        [O_TOOL - O_SERVER] = &o->tool,
        [O_ENVFILE - O_SERVER] = &o->env_file,
        [O_CMDLINE - O_SERVER] = &o->cmdline,
        [O_WRAP - O_SERVER] = &o->wrap_key,
        [O_REBOOT - O_SERVER] = &o->reboot_cmd,
        [O_BUNDLES - O_SERVER] = &o->bundles,
        [O_FIRST - O_SERVER] = &o->first_image,
        [O_ESTLABEL - O_SERVER] = &o->est_label,
        [O_ATTEST - O_SERVER] = &o->attest,
        [O_ATTESTLOG - O_SERVER] = &o->attest_log,
        [O_ATTESTCERT - O_SERVER] = &o->attest_cert,
    };
    if (c == O_ONCE) {
        o->once = 1;
    } else if (c == O_NOEST) {
        o->no_est = 1;
    } else if (c == O_JSON) {
        o->json = 1;
    } else if (c == O_INTERVAL || c == O_SIM) {
        char *end = NULL;
        unsigned long v = strtoul(arg, &end, 10);
        if (*arg == '\0' || *end != '\0' || v == 0 || v > 1000000)
            return -1;
        *(c == O_SIM ? &o->simulate : &o->interval) = (unsigned)v;
    } else if (c >= O_SERVER && c < O_HELP &&
               (size_t)(c - O_SERVER) < sizeof(slot) / sizeof(slot[0]) &&
               slot[c - O_SERVER] != NULL) {
        *slot[c - O_SERVER] = arg;
    } else {
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* A server that hangs up mid-transfer is an I/O error to handle, never a fatal signal. */
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && strcmp(argv[1], "status") == 0)
        return agent_cmd_status(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "enroll") == 0)
        return agent_cmd_enroll(argc - 1, argv + 1);
    agent_opts o;
    memset(&o, 0, sizeof(o));
    o.interval = 3600;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == O_HELP || c == 'h') {
            usage(stdout);
            return 0;
        }
        if (c == O_VERS) {
            printf("fwseal-agent %s\n", FWS_VERSION);
            return 0;
        }
        if (c == '?' || set_opt(&o, c, optarg) != 0) {
            fprintf(stderr, "fwseal-agent: bad option (see --help)\n");
            return AGENT_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fwseal-agent: unexpected argument \"%s\" (see --help)\n", argv[optind]);
        return AGENT_EXIT_USAGE;
    }
    if (o.simulate > 0)
        return agent_cmd_simulate(&o);
    if (o.server == NULL || o.bundle == NULL || o.state == NULL || o.backend == NULL ||
        o.hardware == NULL) {
        fprintf(stderr, "fwseal-agent: --server, --bundle, --state, --slot-backend and "
                        "--hardware are required (see --help)\n");
        return AGENT_EXIT_USAGE;
    }
    return agent_cmd_run(&o);
}
