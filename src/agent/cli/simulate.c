/* fwseal-agent --simulate N: N devices with file slots in one process, each with its own bundle,
 * state and slots, updating from the same server, to exercise rollouts at fleet scale. Each
 * device's health check runs with FWSEAL_DEVICE set to its ID, so a check can fail on chosen
 * devices. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/util.h"
#include "agent/cli/agentcli.h"

#define SIM_MAX 100000
#define SIM_ROUNDS 4

typedef struct sim_dev {
    char name[256];
    char bundle[4200], state[4200], slots[4200];
    char id[260];
    int last; /* last exit status */
} sim_dev;

static int cmp_names(const void *a, const void *b)
{
    return strcmp(((const sim_dev *)a)->name, ((const sim_dev *)b)->name);
}

static fws_err list_bundles(const agent_opts *o, sim_dev **out, size_t *n, fws_errbuf *eb)
{
    DIR *d = opendir(o->bundles);
    if (d == NULL)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "%s: cannot list", o->bundles);
    sim_dev *devs = calloc(o->simulate, sizeof(*devs));
    size_t count = 0;
    struct dirent *e;
    while (devs != NULL && count < o->simulate && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(devs[0].name))
            continue;
        snprintf(devs[count].name, sizeof(devs[count].name), "%s", e->d_name);
        count++;
    }
    closedir(d);
    if (devs == NULL)
        return FWS_ERR_NOMEM;
    if (count < o->simulate) {
        free(devs);
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "%s holds %zu bundles, %u wanted", o->bundles, count,
                        o->simulate);
    }
    qsort(devs, count, sizeof(*devs), cmp_names);
    *out = devs;
    *n = count;
    return FWS_OK;
}

static fws_err prepare(const agent_opts *o, sim_dev *s, const uint8_t *img, size_t len,
                       fws_errbuf *eb)
{
    snprintf(s->bundle, sizeof(s->bundle), "%s/%s", o->bundles, s->name);
    snprintf(s->state, sizeof(s->state), "%s/%s/state", o->state, s->name);
    snprintf(s->slots, sizeof(s->slots), "%s/%s/slots", o->state, s->name);
    fws_err err = agent_device_id(s->bundle, s->id, sizeof(s->id), NULL);
    if (err != FWS_OK)
        snprintf(s->id, sizeof(s->id), "%s", s->name);
    char booted[4300];
    snprintf(booted, sizeof(booted), "%s/booted", s->slots);
    FILE *f = fopen(booted, "r");
    if (f != NULL) {
        fclose(f);
        return FWS_OK; /* provisioned by an earlier run */
    }
    return fws_slot_file_provision(s->slots, img, len, eb);
}

/* The device reboots: the bootloader picks a slot as it would on hardware. */
static void reboot_device(sim_dev *s)
{
    fws_slot_config sc = {"file", s->slots, NULL, NULL, NULL, NULL};
    fws_slot_backend *b = NULL;
    int booted = -1;
    fws_err err = fws_slot_open(&sc, &b, NULL);
    if (err == FWS_OK)
        err = fws_slot_simulate_boot(b, NULL, NULL, &booted, NULL);
    if (err != FWS_OK)
        fprintf(stderr, "fwseal-agent: %s: no slot boots\n", s->name);
    fws_slot_close(b);
}

static int run_device(const agent_opts *o, sim_dev *s)
{
    agent_opts one = *o;
    one.bundle = s->bundle;
    one.state = s->state;
    one.slot_dir = s->slots;
    one.backend = "file";
    one.device_id = s->id;
    one.once = 1;
    one.json = 0;
    one.simulate = 0;
    setenv("FWSEAL_DEVICE", s->id, 1);
    return agent_cmd_run(&one);
}

int agent_cmd_simulate(const agent_opts *o)
{
    fws_errbuf eb = {{0}};
    if (o->server == NULL || o->bundles == NULL || o->state == NULL || o->hardware == NULL ||
        o->first_image == NULL || o->simulate > SIM_MAX) {
        fprintf(stderr, "fwseal-agent --simulate: --server, --bundles, --state, --hardware and "
                        "--first-image are required (see --help)\n");
        return AGENT_EXIT_USAGE;
    }
    sim_dev *devs = NULL;
    size_t n = 0;
    uint8_t *img = NULL;
    size_t len = 0;
    fws_err err = fws_file_read(o->first_image, (size_t)1 << 30, &img, &len, &eb);
    if (err == FWS_OK)
        err = list_bundles(o, &devs, &n, &eb);
    for (size_t i = 0; err == FWS_OK && i < n; i++)
        err = prepare(o, &devs[i], img, len, &eb);
    free(img);
    if (err != FWS_OK) {
        agent_report_error("simulate", err, &eb);
        free(devs);
        return agent_exit_code(err);
    }
    int worst = AGENT_EXIT_OK;
    for (int round = 0; round < SIM_ROUNDS; round++) {
        int any_reboot = 0;
        for (size_t i = 0; i < n; i++) {
            devs[i].last = run_device(o, &devs[i]);
            if (devs[i].last == AGENT_EXIT_REBOOT || devs[i].last == AGENT_EXIT_ROLLED_BACK) {
                reboot_device(&devs[i]);
                any_reboot = 1;
            }
        }
        if (!any_reboot)
            break;
    }
    size_t counts[5] = {0};
    for (size_t i = 0; i < n; i++) {
        fws_agent_status st;
        if (fws_agent_status_read(devs[i].state, &st, NULL) != FWS_OK)
            continue;
        printf("%s: %s %s%s%s\n", devs[i].id, st.product, st.installed_version,
               st.reason[0] ? " (last failure: " : "", st.reason[0] ? st.reason : "");
        if (st.reason[0])
            printf(")\n");
        if (devs[i].last >= 0 && devs[i].last < 5)
            counts[devs[i].last]++;
        worst = devs[i].last > worst ? devs[i].last : worst;
    }
    printf("%zu devices simulated\n", n);
    free(devs);
    return worst == AGENT_EXIT_USAGE ? AGENT_EXIT_USAGE : AGENT_EXIT_OK;
}
