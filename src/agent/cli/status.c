/* fwseal-agent status: what the state directory says. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/crypto.h"
#include "fwseal/json.h"
#include "agent/cli/agentcli.h"

/* Reports waiting in state/reports for the server's acknowledgement. */
static size_t queued(const char *state)
{
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/reports", state);
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len == 21 && strcmp(e->d_name + 16, ".json") == 0)
            n++;
    }
    if (d != NULL)
        closedir(d);
    return n;
}

int agent_cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {"state", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *state = NULL;
    int json = 0, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 's') {
            state = optarg;
        } else if (c == 'j') {
            json = 1;
        } else if (c == 'h') {
            printf("usage: fwseal-agent status --state STATE_DIR [--json]\n");
            return 0;
        } else {
            fprintf(stderr, "fwseal-agent status: bad option (see --help)\n");
            return AGENT_EXIT_USAGE;
        }
    }
    if (state == NULL || optind < argc) {
        fprintf(stderr, "fwseal-agent status: --state is required (see --help)\n");
        return AGENT_EXIT_USAGE;
    }
    fws_agent_status st;
    fws_errbuf eb = {{0}};
    fws_err err = fws_agent_status_read(state, &st, &eb);
    if (err != FWS_OK) {
        if (err == FWS_ERR_NOT_FOUND)
            fws_errf(&eb, err, "%s: no agent state here", state);
        agent_report_error("status", err, &eb);
        return agent_exit_code(err);
    }
    if (json) {
        json_t *o = NULL;
        char *text = NULL;
        size_t len = 0;
        err = fws_agent_status_json(&st, &o);
        if (err == FWS_OK)
            err = fws_json_pretty(o, &text, &len);
        if (err == FWS_OK)
            fwrite(text, 1, len, stdout);
        free(text);
        json_decref(o);
        return agent_exit_code(err);
    }
    char hex[65];
    fws_hex_encode(st.installed_sha256, 32, hex);
    printf("state:            %s\n", fws_agent_state_name(st.state));
    printf("running:          %s %s (slot %s)\n", st.product, st.installed_version,
           fws_slot_name(st.active_slot));
    printf("image sha256:     %s\n", hex);
    printf("security counter: %llu\n", (unsigned long long)st.security_counter);
    if (st.state != FWS_AGENT_IDLE)
        printf("update:           %s %s into slot %s (%llu of %llu bytes)\n", st.target.product,
               st.target.version, fws_slot_name(st.target_slot), (unsigned long long)st.written,
               (unsigned long long)st.target.length);
    if (st.reason[0] != '\0')
        printf("last failure:     %s\n", st.reason);
    printf("reports queued:   %zu\n", queued(state));
    return 0;
}
