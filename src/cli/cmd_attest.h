/* Shared by the fwseal attest subcommands (cmd_attest*.c). */
#ifndef FWSEAL_CLI_CMD_ATTEST_H
#define FWSEAL_CLI_CMD_ATTEST_H

#include <getopt.h>
#include "cli.h"
#include "fwseal/attest.h"

#define ATT_CLI_LIST_MAX 8

/* What the verifier needs, from the command line: policy, reference values, trust anchors and
 * the device's previous counters. */
typedef struct att_cli_verifier {
    const char *policy_path, *ledger, *ledger_key, *model, *device, *last_report;
    const char *ca[ATT_CLI_LIST_MAX], *inter[ATT_CLI_LIST_MAX], *crl[ATT_CLI_LIST_MAX];
    size_t n_ca, n_inter, n_crl;
    int reboot_expected;
    fws_attest_policy *policy;
    fws_attest_refs *refs;
    fws_attest_anchors *anchors;
    fws_tpm_clock last;
    int has_last;
} att_cli_verifier;

enum {
    ATT_OPT_POLICY = 1000,
    ATT_OPT_LEDGER,
    ATT_OPT_LEDGER_KEY,
    ATT_OPT_MODEL,
    ATT_OPT_DEVICE,
    ATT_OPT_LAST,
    ATT_OPT_CA,
    ATT_OPT_INTER,
    ATT_OPT_CRL,
    ATT_OPT_REBOOT_EXPECTED,
};

/* The long options of the verifier, to put in a command's option table. */
#define ATT_CLI_VERIFIER_OPTIONS                                                                   \
    {"policy", required_argument, NULL, ATT_OPT_POLICY},                                           \
        {"ledger", required_argument, NULL, ATT_OPT_LEDGER},                                       \
        {"ledger-key", required_argument, NULL, ATT_OPT_LEDGER_KEY},                               \
        {"model", required_argument, NULL, ATT_OPT_MODEL},                                         \
        {"device", required_argument, NULL, ATT_OPT_DEVICE},                                       \
        {"last", required_argument, NULL, ATT_OPT_LAST},                                           \
        {"ca", required_argument, NULL, ATT_OPT_CA},                                               \
        {"intermediate", required_argument, NULL, ATT_OPT_INTER},                                  \
        {"crl", required_argument, NULL, ATT_OPT_CRL},                                             \
    {                                                                                              \
        "reboot-expected", no_argument, NULL, ATT_OPT_REBOOT_EXPECTED                              \
    }

#define ATT_CLI_VERIFIER_USAGE                                                                     \
    "  --policy P.json        attestation policy (stages, PCRs, freshness, assurance)\n"           \
    "  --ledger DIR           ledger whose release records give reference values\n"                \
    "  --ledger-key VKEY      the ledger's verifier key (file or text; default: log.json's)\n"     \
    "  --model M              the device's hardware model (selects the releases)\n"                \
    "  --ca ROOT.pem          trusted root of the device CA (repeatable)\n"                        \
    "  --intermediate I.pem   intermediate CA certificates (repeatable)\n"                         \
    "  --crl CRL.pem          CRLs; with any, every certificate must be covered (repeatable)\n"    \
    "  --device ID            the device expected (the AK certificate's CN)\n"                     \
    "  --last REPORT.json     the device's last passing report (reset/restart counters)\n"         \
    "  --reboot-expected      a reboot was ordered since then (no flag for it)\n"

/* 1 when c was a verifier option (stored in v), 0 otherwise, -1 for a bad value. */
int att_cli_verifier_opt(att_cli_verifier *v, int c, const char *arg, const char *what);
/* Loads policy, reference values (policy digests and the ledger), anchors and --last. */
fws_err att_cli_verifier_load(att_cli_verifier *v, fws_errbuf *eb) FWS_MUST_CHECK;
void att_cli_verifier_free(att_cli_verifier *v);
/* Parses a hex nonce of FWS_ATTEST_NONCE_MIN..MAX bytes. */
fws_err att_cli_nonce(const char *hex, uint8_t *out, size_t *len) FWS_MUST_CHECK;

int cmd_attest_ak_create(int argc, char **argv);
int cmd_attest_measure(int argc, char **argv);
int cmd_attest_quote(int argc, char **argv);
int cmd_attest_record(int argc, char **argv);
int cmd_attest_verify_batch(int argc, char **argv);
int cmd_attest_trust(int argc, char **argv);

#endif
