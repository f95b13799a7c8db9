/* fwseal log mirror: keep a verified copy of a remote ledger (a second site that can serve the
 * tiles if the primary is lost). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "fwseal/audit.h"
#include "fwseal/json.h"

#define MAX_WITNESSES 16

typedef struct mirror_opts {
    const char *url, *source, *dir;
    fws_note_vkey key, witnesses[MAX_WITNESSES];
    size_t n_witnesses, threshold;
    unsigned long interval, count;
    int json, have_key;
} mirror_opts;

static void usage(void)
{
    printf("usage: fwseal log mirror (--url URL | --source-dir LOG) --dir MIRROR --vkey VKEY\n"
           "                         [--witness VKEY]... [--threshold K]\n"
           "                         [--interval SECONDS [--count N]] [--json]\n"
           "Pulls a ledger into MIRROR, a tlog-tiles directory any static web server can\n"
           "serve. Every pull verifies the remote checkpoint, proves it consistent with the\n"
           "mirror's (a fork or a shrinking tree is refused: exit 1, the mirror unchanged),\n"
           "fetches what is missing and recomputes the tree before the mirror's checkpoint\n"
           "moves. With --interval it pulls again every SECONDS.\n");
}

static int parse(int argc, char **argv, mirror_opts *o)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},
        {"source-dir", required_argument, NULL, 's'},
        {"dir", required_argument, NULL, 'd'},
        {"vkey", required_argument, NULL, 'k'},
        {"witness", required_argument, NULL, 'w'},
        {"threshold", required_argument, NULL, 't'},
        {"interval", required_argument, NULL, 'i'},
        {"count", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    fws_errbuf eb = {{0}};
    int c;
    memset(o, 0, sizeof(*o));
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            o->url = optarg;
            break;
        case 's':
            o->source = optarg;
            break;
        case 'd':
            o->dir = optarg;
            break;
        case 'k':
            if (cli_log_load_vkey(optarg, &o->key, &eb) != FWS_OK)
                return cli_report("log mirror", FWS_ERR_ARG, &eb);
            o->have_key = 1;
            break;
        case 'w':
            if (o->n_witnesses == MAX_WITNESSES)
                return cli_usage_error("log mirror", "at most %d witnesses", MAX_WITNESSES);
            if (cli_log_load_vkey(optarg, &o->witnesses[o->n_witnesses], &eb) != FWS_OK)
                return cli_report("log mirror", FWS_ERR_ARG, &eb);
            o->n_witnesses++;
            break;
        case 't':
            o->threshold = strtoul(optarg, NULL, 10);
            break;
        case 'i':
            o->interval = strtoul(optarg, NULL, 10);
            break;
        case 'c':
            o->count = strtoul(optarg, NULL, 10);
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            usage();
            return -1;
        default:
            return CLI_ERROR;
        }
    }
    if (optind != argc)
        return cli_usage_error("log mirror", "unexpected argument \"%s\"", argv[optind]);
    if ((o->url == NULL) == (o->source == NULL))
        return cli_usage_error("log mirror", "one of --url and --source-dir is required");
    if (o->dir == NULL || !o->have_key)
        return cli_usage_error("log mirror", "--dir and --vkey are required");
    if (o->threshold > o->n_witnesses)
        return cli_usage_error("log mirror", "--threshold is above the number of witnesses");
    if (o->interval > 86400 || (o->count != 0 && o->interval == 0))
        return cli_usage_error("log mirror", "--interval: 1 to 86400 seconds; --count needs it");
    return CLI_OK;
}

static fws_err one_pull(const mirror_opts *o, fws_errbuf *eb)
{
    cli_log_source src;
    fws_mirror_result r;
    fws_err err = cli_log_source_open(&src, o->source, o->url, eb);
    if (err == FWS_OK)
        err = fws_mirror_pull(&src.src, &o->key, o->witnesses, o->n_witnesses, o->threshold, o->dir,
                              &r, eb);
    cli_log_source_close(&src);
    if (err != FWS_OK)
        return err;
    if (o->json)
        (void)cli_print_json(json_pack("{s:I, s:I, s:I, s:b}", "oldSize", (json_int_t)r.old_size,
                                       "size", (json_int_t)r.new_size, "fetched",
                                       (json_int_t)r.fetched, "firstSight", r.first_sight));
    else
        printf("mirrored %llu entries (was %llu), %llu tiles fetched\n",
               (unsigned long long)r.new_size, (unsigned long long)r.old_size,
               (unsigned long long)r.fetched);
    fflush(stdout);
    return FWS_OK;
}

int cmd_log_mirror(int argc, char **argv)
{
    mirror_opts o;
    int rc = parse(argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    for (unsigned long pass = 1;; pass++) {
        fws_errbuf eb = {{0}};
        fws_err err = one_pull(&o, &eb);
        if (err != FWS_OK && (o.interval == 0 || fws_err_is_verification(err)))
            return cli_report("log mirror", err, &eb);
        if (err != FWS_OK) /* the primary is unreachable: try again at the next pass */
            (void)cli_report("log mirror", err, &eb);
        if (o.interval == 0 || (o.count != 0 && pass >= o.count))
            return CLI_OK;
        struct timespec ts = {(time_t)o.interval, 0};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
}
