/* fwseal serve: the HTTPS server; fwseal serve cert: its certificate. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "cli.h"
#include "fwseal/server.h"
#include "fwseal/util.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: fwseal serve --dir DEPLOY [--listen 127.0.0.1:8443] [--store "
        "sqlite|PATH|postgres://...]\n"
        "                    [--threads N] [--workers N] [--env dev|staging|prod] [--web DIR]\n"
        "                    [--log-format text|json] [--access-log] [--tls12]\n"
        "                    [--max-connections N] [--idle-timeout MS] [--request-timeout MS]\n"
        "                    [--shutdown-timeout MS] [--refresh-interval S]\n"
        "                    [--device-rate PER_SECOND] [--device-burst N] [--repo-auth "
        "none|device]\n"
        "                    [--passphrase-file F | --no-keys] [--port-file F] [--check-config] "
        "[--json]\n"
        "       fwseal serve cert --dir DEPLOY [--env ENV] [--name DNS_OR_IP]... [--days N]\n"
        "                    [--passphrase-file F] [--json]\n"
        "\n"
        "Serves the deployment over HTTPS (TLS 1.3; --tls12 also accepts 1.2): the TUF repository\n"
        "(/repo/...), the ledger (/log/...), EST enrollment (/.well-known/est/...), the CRL\n"
        "(/crl/ENV.crl), the operator API (/api/v1/..., bearer tokens from fwseal token),\n"
        "/metrics, /healthz and the dashboard (/). Device endpoints need a client certificate\n"
        "from the environment's device CA (with --repo-auth device, /repo/... too). The keys'\n"
        "passphrase (FWSEAL_PASSPHRASE, --passphrase-file, or the terminal) unlocks the CA issuer, "
        "the timestamp and the\n"
        "ledger keys; without it (--no-keys) enrollment, refresh and /log/add are off.\n"
        "SIGTERM or SIGINT shuts down gracefully. --check-config loads everything, binds\n"
        "nothing, and exits 0 when the configuration is good. --port-file writes the bound\n"
        "port (useful with port 0).\n"
        "\n"
        "serve cert issues DEPLOY/server/server.crt from the environment's intermediate CA\n"
        "(keeping server.key, so the devices' pin DEPLOY/server/pin does not change).\n");
}

static fws_err parse_uint(const char *opt, const char *text, unsigned long max, unsigned *out,
                          fws_errbuf *eb)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v > max)
        return fws_errf(eb, FWS_ERR_USAGE, "%s: expected an integer from 0 to %lu", opt, max);
    *out = (unsigned)v;
    return FWS_OK;
}

static int get_pp(const char *passfile, int no_keys, fws_passphrase *pp, int *have)
{
    fws_errbuf eb = {{0}};
    *have = 0;
    if (no_keys)
        return CLI_OK;
    if (passfile == NULL && getenv("FWSEAL_PASSPHRASE") == NULL && !isatty(0))
        return CLI_OK;
    fws_err err =
        fws_passphrase_get(passfile, 0, "passphrase for the deployment's keys: ", pp, &eb);
    if (err != FWS_OK)
        return cli_report("serve", err, &eb);
    *have = 1;
    return CLI_OK;
}

static int cert_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"env", required_argument, NULL, 'e'},
        {"name", required_argument, NULL, 'n'},
        {"days", required_argument, NULL, 'D'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *names[32];
    fws_server_cert_req req = {.names = names, .env = FWS_ENV_PROD};
    const char *passfile = NULL;
    int json = 0, c;
    fws_errbuf eb = {{0}};
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            req.deploy = optarg;
            break;
        case 'e':
            if (fws_pki_env_parse(optarg, &req.env) != FWS_OK)
                return cli_usage_error("serve cert", "--env: dev, staging or prod");
            break;
        case 'n':
            if (req.n_names == 32)
                return cli_usage_error("serve cert", "at most 32 --name options");
            names[req.n_names++] = optarg;
            break;
        case 'D':
            if (parse_uint("--days", optarg, 3650, &req.days, &eb) != FWS_OK || req.days == 0)
                return cli_usage_error("serve cert", "--days: 1 to 3650");
            break;
        case 'p':
            passfile = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            usage(stdout);
            return CLI_OK;
        default:
            usage(stderr);
            return CLI_ERROR;
        }
    }
    if (req.deploy == NULL || optind != argc)
        return cli_usage_error("serve cert", "--dir is required (see --help)");
    fws_passphrase pp;
    fws_err err = fws_passphrase_get(passfile, 0, "passphrase for the CA key: ", &pp, &eb);
    if (err != FWS_OK)
        return cli_report("serve cert", err, &eb);
    req.pp = &pp;
    req.now = (int64_t)time(NULL);
    char pin[FWS_PKI_PIN_LEN];
    int64_t not_after = 0;
    err = fws_server_cert_issue(&req, pin, &not_after, &eb);
    fws_passphrase_wipe(&pp);
    if (err != FWS_OK)
        return cli_report("serve cert", err, &eb);
    if (json)
        return cli_print_json(json_pack("{s:s,s:s,s:I}", "pin", pin, "env",
                                        fws_pki_env_name(req.env), "not_after",
                                        (json_int_t)not_after));
    printf("%s/server/server.crt issued for the %s environment; pin %s\n", req.deploy,
           fws_pki_env_name(req.env), pin);
    return CLI_OK;
}

typedef struct serve_opts {
    fws_server_config cfg;
    const char *passfile, *port_file;
    int no_keys, check, json;
} serve_opts;

static int parse_serve(int argc, char **argv, serve_opts *o)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"listen", required_argument, NULL, 'l'},
        {"store", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 't'},
        {"workers", required_argument, NULL, 'w'},
        {"env", required_argument, NULL, 'e'},
        {"web", required_argument, NULL, 'W'},
        {"log-format", required_argument, NULL, 'f'},
        {"access-log", no_argument, NULL, 'a'},
        {"tls12", no_argument, NULL, '2'},
        {"max-connections", required_argument, NULL, 'm'},
        {"idle-timeout", required_argument, NULL, 'i'},
        {"request-timeout", required_argument, NULL, 'r'},
        {"shutdown-timeout", required_argument, NULL, 'S'},
        {"refresh-interval", required_argument, NULL, 'R'},
        {"device-rate", required_argument, NULL, 'x'},
        {"device-burst", required_argument, NULL, 'b'},
        {"repo-auth", required_argument, NULL, 'A'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"no-keys", no_argument, NULL, 'k'},
        {"port-file", required_argument, NULL, 'P'},
        {"check-config", no_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    fws_server_config *cfg = &o->cfg;
    fws_errbuf eb = {{0}};
    fws_err err = FWS_OK;
    int c;
    optind = 0;
    while (err == FWS_OK && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            cfg->deploy = optarg;
            break;
        case 'l':
            cfg->listen = optarg;
            break;
        case 's':
            cfg->store = optarg;
            break;
        case 't':
            err = parse_uint("--threads", optarg, FWS_SERVER_THREADS_MAX, &cfg->threads, &eb);
            break;
        case 'w':
            err = parse_uint("--workers", optarg, FWS_SERVER_WORKERS_MAX, &cfg->workers, &eb);
            break;
        case 'e':
            if (fws_pki_env_parse(optarg, &cfg->env) != FWS_OK)
                err = fws_errf(&eb, FWS_ERR_USAGE, "--env: dev, staging or prod");
            break;
        case 'W':
            cfg->web_dir = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "json") == 0)
                cfg->log_format = FWS_LOG_JSON;
            else if (strcmp(optarg, "text") != 0)
                err = fws_errf(&eb, FWS_ERR_USAGE, "--log-format: text or json");
            break;
        case 'a':
            cfg->access_log = 1;
            break;
        case '2':
            cfg->allow_tls12 = 1;
            break;
        case 'm':
            err = parse_uint("--max-connections", optarg, 1000000, &cfg->max_connections, &eb);
            break;
        case 'i':
            err = parse_uint("--idle-timeout", optarg, 86400000, &cfg->idle_timeout_ms, &eb);
            break;
        case 'r':
            err = parse_uint("--request-timeout", optarg, 3600000, &cfg->request_timeout_ms, &eb);
            break;
        case 'S':
            err = parse_uint("--shutdown-timeout", optarg, 3600000, &cfg->shutdown_timeout_ms, &eb);
            break;
        case 'R':
            err = parse_uint("--refresh-interval", optarg, 86400, &cfg->refresh_interval_s, &eb);
            break;
        case 'x': {
            char *end = NULL;
            cfg->device_rate = strtod(optarg, &end);
            if (*end != '\0' || !(cfg->device_rate > 0) || cfg->device_rate > 1e6)
                err = fws_errf(&eb, FWS_ERR_USAGE, "--device-rate: a positive number");
            break;
        }
        case 'b':
            err = parse_uint("--device-burst", optarg, 1000000, &cfg->device_burst, &eb);
            break;
        case 'A':
            if (strcmp(optarg, "device") == 0)
                cfg->repo_device_auth = 1;
            else if (strcmp(optarg, "none") != 0)
                err = fws_errf(&eb, FWS_ERR_USAGE, "--repo-auth: none or device");
            break;
        case 'p':
            o->passfile = optarg;
            break;
        case 'k':
            o->no_keys = 1;
            break;
        case 'P':
            o->port_file = optarg;
            break;
        case 'c':
            o->check = 1;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return CLI_ERROR;
        }
    }
    if (err != FWS_OK)
        return cli_usage_error("serve", "%s", eb.msg);
    if (cfg->deploy == NULL)
        return cli_usage_error("serve", "--dir is required (see --help)");
    if (optind != argc)
        return cli_usage_error("serve", "unexpected argument %s", argv[optind]);
    return CLI_OK;
}

static int write_port(const char *path, unsigned port)
{
    char text[16];
    fws_errbuf eb = {{0}};
    int n = snprintf(text, sizeof(text), "%u\n", port);
    fws_err err = fws_file_write_atomic(path, text, (size_t)n, 0644, 1, &eb);
    return err == FWS_OK ? CLI_OK : cli_report("serve", err, &eb);
}

static int serve_main(int argc, char **argv)
{
    serve_opts o;
    memset(&o, 0, sizeof(o));
    int rc = parse_serve(argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    fws_passphrase pp;
    int have_pp = 0;
    rc = get_pp(o.passfile, o.no_keys, &pp, &have_pp);
    if (rc != CLI_OK)
        return rc;
    o.cfg.pp = have_pp ? &pp : NULL;
    fws_errbuf eb = {{0}};
    fws_server *srv = NULL;
    fws_err err = fws_server_new(&o.cfg, &srv, &eb);
    if (have_pp)
        fws_passphrase_wipe(&pp);
    if (err != FWS_OK)
        return cli_report("serve", err, &eb);
    if (o.check) {
        fws_server_free(srv);
        if (o.json)
            return cli_print_json(json_pack("{s:b}", "ok", 1));
        printf("configuration ok\n");
        return CLI_OK;
    }
    err = fws_server_listen(srv, &eb);
    if (err == FWS_OK && o.port_file != NULL && write_port(o.port_file, fws_server_port(srv)))
        err = FWS_ERR_IO;
    if (err == FWS_OK)
        err = fws_server_run(srv, 1, &eb);
    fws_server_free(srv);
    if (err != FWS_OK)
        return cli_report("serve", err, &eb);
    return CLI_OK;
}

int cmd_serve(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "cert") == 0)
        return cert_main(argc - 1, argv + 1);
    return serve_main(argc, argv);
}
