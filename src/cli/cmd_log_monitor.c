/* fwseal log monitor: follow a log and re-verify everything it adds. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fwseal log monitor --vkey VKEY --state DIR (--dir LOG | --url URL)\n"
            "                          [--interval SECONDS [--count N]] [--records] [--json]\n"
            "\n"
            "Fetches the log's checkpoint, verifies it with VKEY, proves it consistent with the\n"
            "last checkpoint verified (kept in DIR), then recomputes the tree from the entry\n"
            "bundles added since: every leaf, every hash tile and the root must match. The state\n"
            "is saved only after all checks pass, so a crash never skips entries. --records\n"
            "also checks that every new entry is a valid record. Without --interval it makes\n"
            "one pass; with it, a pass every SECONDS (N passes with --count, else forever),\n"
            "reporting fetch errors and going on. Exit 1 on a fork, a bad signature or tiles\n"
            "that disagree with the entries; 2 on usage or I/O errors.\n");
}

typedef struct monitor_opts {
    const char *vkey, *state, *dir, *url;
    uint64_t interval, count;
    int records, json;
} monitor_opts;

static int parse(int argc, char **argv, monitor_opts *o)
{
    static const struct option longopts[] = {
        {"vkey", required_argument, NULL, 'v'},     {"state", required_argument, NULL, 's'},
        {"dir", required_argument, NULL, 'd'},      {"url", required_argument, NULL, 'u'},
        {"interval", required_argument, NULL, 'i'}, {"count", required_argument, NULL, 'c'},
        {"records", no_argument, NULL, 'r'},        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof(*o));
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'v':
            o->vkey = optarg;
            break;
        case 's':
            o->state = optarg;
            break;
        case 'd':
            o->dir = optarg;
            break;
        case 'u':
            o->url = optarg;
            break;
        case 'r':
            o->records = 1;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'i':
            if (cli_parse_size(optarg, &o->interval) != FWS_OK || o->interval == 0 ||
                o->interval > 86400)
                return cli_usage_error("log monitor", "--interval: 1 to 86400 seconds");
            break;
        case 'c':
            if (cli_parse_size(optarg, &o->count) != FWS_OK || o->count == 0)
                return cli_usage_error("log monitor", "--count: a positive number");
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return cli_usage_error("log monitor", "unknown option");
        }
    }
    if (optind != argc || o->vkey == NULL || o->state == NULL ||
        (o->dir == NULL) == (o->url == NULL))
        return cli_usage_error("log monitor",
                               "--vkey, --state and one of --dir or --url are required");
    if (o->count != 0 && o->interval == 0)
        return cli_usage_error("log monitor", "--count needs --interval");
    return CLI_OK;
}

static void print_pass(const monitor_opts *o, const fws_note_vkey *key, const fws_follow_result *r)
{
    if (o->json) {
        cli_print_json(json_pack("{s:s, s:I, s:I, s:I, s:b}", "origin", key->name, "oldSize",
                                 (json_int_t)r->old_size, "newSize", (json_int_t)r->new_size,
                                 "entriesVerified", (json_int_t)r->entries, "firstSight",
                                 r->first_sight));
    } else if (r->new_size == r->old_size && !r->first_sight) {
        printf("%s: size %llu, no new entries\n", key->name, (unsigned long long)r->new_size);
    } else {
        printf("%s: size %llu (was %llu): %llu new entries verified\n", key->name,
               (unsigned long long)r->new_size, (unsigned long long)r->old_size,
               (unsigned long long)r->entries);
    }
    fflush(stdout);
}

static fws_err one_pass(const monitor_opts *o, const fws_note_vkey *key, fws_errbuf *eb)
{
    cli_log_source src;
    fws_follow_result r;
    fws_err err = cli_log_source_open(&src, o->dir, o->url, eb);
    if (err == FWS_OK)
        err = fws_monitor_check(&src.src, key, o->state, o->records, &r, eb);
    cli_log_source_close(&src);
    if (err == FWS_OK)
        print_pass(o, key, &r);
    return err;
}

static void sleep_seconds(uint64_t s)
{
    struct timespec ts = {(time_t)s, 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int cmd_log_monitor(int argc, char **argv)
{
    monitor_opts o;
    fws_note_vkey key;
    fws_errbuf eb = {{0}};
    int rc = parse(argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    fws_err err = cli_log_load_vkey(o.vkey, &key, &eb);
    if (err != FWS_OK)
        return cli_report("log monitor", err, &eb);
    for (uint64_t pass = 1;; pass++) {
        fws_errbuf peb = {{0}};
        err = one_pass(&o, &key, &peb);
        if (err != FWS_OK && (o.interval == 0 || fws_err_is_verification(err)))
            return cli_report("log monitor", err, &peb);
        if (err != FWS_OK) /* a fetch failed: say so and try again at the next pass */
            (void)cli_report("log monitor", err, &peb);
        if (o.interval == 0 || (o.count != 0 && pass >= o.count))
            return CLI_OK;
        sleep_seconds(o.interval);
    }
}
