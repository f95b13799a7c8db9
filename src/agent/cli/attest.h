/* fwseal-agent --attest (attest.c). */
#ifndef FWSEAL_AGENT_CLI_ATTEST_H
#define FWSEAL_AGENT_CLI_ATTEST_H

#include "fwseal/agent.h"

typedef enum agent_attest_mode {
    AGENT_ATTEST_OFF = 0,
    AGENT_ATTEST_TPM,      /* tpm:HOST:PORT, a swtpm or TPM simulator on the network */
    AGENT_ATTEST_SOFTWARE, /* software:KEYFILE, a P-256 key in a PEM file */
} agent_attest_mode;

typedef struct agent_attest {
    agent_attest_mode mode;
    char tcti[300];
    char key_path[4096];
    char log_path[4200];  /* the measured-boot event log (default STATE/attest.log) */
    char cert_path[4200]; /* the AK certificate (default BUNDLE/ak.crt) */
} agent_attest;

/* Parses the --attest value (the paths are set by the caller). */
fws_err agent_attest_parse(const char *spec, agent_attest *out, fws_errbuf *eb) FWS_MUST_CHECK;
/* The fws_agent_loop_config attest hook: nonce, evidence, post. */
fws_err agent_attest_run(void *ctx, fws_agent_http *http, const char *base, const char *device_id,
                         fws_errbuf *eb) FWS_MUST_CHECK;

#endif
