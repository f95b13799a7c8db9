/* fwseal: one binary for every operator task. Each subcommand lives in its own file. */
#include <signal.h>
#include <string.h>
#include "cli.h"

static const cli_cmd commands[] = {
    {"key", "generate and inspect signing keys", cmd_key},
    {"sign", "sign a file (in-toto Statement in a DSSE envelope)", cmd_sign},
    {"verify", "verify a file against its DSSE envelope", cmd_verify},
    {"log", "the transparency ledger: init, append, prove, verify, witness, monitor", cmd_log},
    {"sbom", "validate CycloneDX 1.6 bills of materials", cmd_sbom},
    {"tuf-client", "TUF client: init, refresh, download (conformance-suite protocol)",
     cmd_tuf_client},
    {"ca", "device identity CAs per environment: init, export, crl", cmd_ca},
    {"provision", "issue a device's factory identity and write its bundle", cmd_provision},
    {"device", "device inventory: list, show, revoke, decommission, models", cmd_device},
    {"est", "EST enrollment and renewal (device side): cacerts, enroll, reenroll", cmd_est},
    {"init", "create a deployment: keys, TUF repository, release index, ledger", cmd_init},
    {"release", "publish, list, show and revoke firmware releases", cmd_release},
    {"repo", "the TUF repository: refresh the timestamp, status", cmd_repo},
    {"attest", "TPM 2.0 remote attestation: AK, measured boot, quotes, verification", cmd_attest},
    {"serve", "the HTTPS server: repository, ledger, EST, operator API, metrics", cmd_serve},
    {"token", "operator tokens for the server's API: create, list, revoke", cmd_token},
    {"audit", "audit a deployment; export and verify audit bundles", cmd_audit},
    {"backup", "a consistent online snapshot of a deployment, with checksums", cmd_backup},
    {"restore", "restore a backup into a new directory after checking it", cmd_restore},
    {"rollout", "staged rollouts: create, list, show, pause, resume, cancel", cmd_rollout},
    {NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    /* A peer that hangs up mid-transfer is an I/O error to handle, never a fatal signal. */
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
        printf("fwseal %s\n", FWS_VERSION);
        return CLI_OK;
    }
    return cli_dispatch("", commands, argc, argv);
}
