/* fwseal token create|list|revoke: operator tokens for the server's API. A token is printed
 * once; the store keeps only its SHA-256. Each change is written to the audit trail. */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "cli.h"
#include "fwseal/core.h"
#include "fwseal/repo.h"
#include "fwseal/store.h"

typedef struct token_opts {
    const char *dir, *store, *name, *expires;
    fws_store_role role;
    int json, all;
} token_opts;

static void usage(FILE *f)
{
    fprintf(f, "usage: fwseal token create --dir DEPLOY --role admin|release|factory|auditor\n"
               "                           [--name WHO] [--expires DURATION] [--store S] [--json]\n"
               "       fwseal token list   --dir DEPLOY [--all] [--store S] [--json]\n"
               "       fwseal token revoke --dir DEPLOY ID [--store S] [--json]\n"
               "\n"
               "create prints the new token once (fwst_ and 64 hex digits); only its SHA-256 is\n"
               "stored. Present it as \"Authorization: Bearer TOKEN\". list shows tokens that are\n"
               "not revoked (--all: every token). DURATION: a number with s, h, d, w or y.\n");
}

static int parse(int argc, char **argv, token_opts *o, const char *what)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"store", required_argument, NULL, 's'},
        {"role", required_argument, NULL, 'r'},
        {"name", required_argument, NULL, 'n'},
        {"expires", required_argument, NULL, 'e'},
        {"all", no_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->dir = optarg;
            break;
        case 's':
            o->store = optarg;
            break;
        case 'r':
            if (fws_store_role_parse(optarg, &o->role, NULL) != FWS_OK)
                return cli_usage_error(what, "--role: admin, release, factory or auditor");
            break;
        case 'n':
            o->name = optarg;
            break;
        case 'e':
            o->expires = optarg;
            break;
        case 'a':
            o->all = 1;
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
    if (o->dir == NULL && (o->store == NULL || strncmp(o->store, "postgres", 8) != 0))
        return cli_usage_error(what, "--dir is required (see --help)");
    return CLI_OK;
}

static fws_err open_store(const token_opts *o, fws_store **s, fws_errbuf *eb)
{
    char url[FWS_STORE_PATH_MAX];
    fws_err err = fws_store_resolve(o->store, o->dir, url, sizeof(url), eb);
    if (err == FWS_OK)
        err = fws_store_open(url, s, eb);
    return err;
}

static const char *local_user(void)
{
    const char *u = getenv("USER");
    if (u != NULL && u[0] != '\0')
        return u;
    struct passwd *pw = getpwuid(getuid());
    return pw != NULL ? pw->pw_name : "local";
}

static fws_err audit(fws_store *s, const char *action, const char *target, const char *detail,
                     fws_errbuf *eb)
{
    fws_store_audit a;
    int64_t id;
    memset(&a, 0, sizeof(a));
    snprintf(a.actor, sizeof(a.actor), "%s (command line)", local_user());
    snprintf(a.action, sizeof(a.action), "%s", action);
    snprintf(a.target, sizeof(a.target), "%s", target);
    snprintf(a.detail, sizeof(a.detail), "%s", detail);
    a.time = (int64_t)time(NULL);
    return fws_store_audit_add(s, &a, &id, eb);
}

static json_t *token_json(const fws_store_token *t)
{
    return json_pack("{s:I,s:s,s:s,s:I,s:I,s:I}", "id", (json_int_t)t->id, "name", t->name, "role",
                     fws_store_role_name(t->role), "created_at", (json_int_t)t->created_at,
                     "expires_at", (json_int_t)t->expires_at, "revoked_at",
                     (json_int_t)t->revoked_at);
}

static int token_create(int argc, char **argv)
{
    token_opts o = {0};
    int rc = parse(argc, argv, &o, "token create");
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (o.role == 0)
        return cli_usage_error("token create", "--role is required");
    if (optind != argc)
        return cli_usage_error("token create", "unexpected argument %s", argv[optind]);
    int64_t now = (int64_t)time(NULL), expires = 0, secs = 0;
    if (o.expires != NULL) {
        if (fws_repo_duration_parse(o.expires, &secs) != FWS_OK)
            return cli_usage_error("token create", "--expires: a number with s, h, d, w or y");
        expires = now + secs;
    }
    char name[FWS_STORE_LABEL_MAX + 1];
    snprintf(name, sizeof(name), "%s", o.name ? o.name : local_user());
    fws_errbuf eb = {{0}};
    fws_store *s = NULL;
    char token[FWS_STORE_TOKEN_SIZE];
    fws_store_token t;
    char detail[128];
    fws_err err = open_store(&o, &s, &eb);
    if (err == FWS_OK)
        err = fws_store_token_create(s, name, o.role, now, expires, token, &t, &eb);
    if (err == FWS_OK) {
        snprintf(detail, sizeof(detail), "token %lld (%s) for %s", (long long)t.id,
                 fws_store_role_name(t.role), t.name);
        err = audit(s, "token.create", "token", detail, &eb);
    }
    fws_store_close(s);
    if (err != FWS_OK)
        return cli_report("token create", err, &eb);
    if (o.json) {
        json_t *j = token_json(&t);
        json_object_set_new(j, "token", json_string(token));
        fws_wipe(token, sizeof(token));
        return cli_print_json(j);
    }
    printf("%s\n", token);
    fws_wipe(token, sizeof(token));
    fprintf(stderr, "token %lld (%s) for %s: shown once, store it now\n", (long long)t.id,
            fws_store_role_name(t.role), t.name);
    return CLI_OK;
}

static fws_err print_row(void *ctx, const fws_store_token *t)
{
    json_t *arr = ctx;
    if (arr != NULL)
        return json_array_append_new(arr, token_json(t)) == 0 ? FWS_OK : FWS_ERR_NOMEM;
    printf("%-6lld %-8s %-10s %s%s\n", (long long)t->id, fws_store_role_name(t->role),
           t->revoked_at                                             ? "revoked"
           : (t->expires_at && t->expires_at <= (int64_t)time(NULL)) ? "expired"
                                                                     : "active",
           t->name, "");
    return FWS_OK;
}

static int token_list(int argc, char **argv)
{
    token_opts o = {0};
    int rc = parse(argc, argv, &o, "token list");
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    fws_errbuf eb = {{0}};
    fws_store *s = NULL;
    json_t *arr = o.json ? json_array() : NULL;
    fws_store_page page = {.after = 0, .limit = FWS_STORE_LIST_MAX};
    fws_err err = open_store(&o, &s, &eb);
    if (err == FWS_OK && !o.json)
        printf("%-6s %-8s %-10s %s\n", "ID", "ROLE", "STATUS", "NAME");
    if (err == FWS_OK)
        err = fws_store_token_list(s, o.all, &page, print_row, arr, &eb);
    fws_store_close(s);
    if (err != FWS_OK) {
        json_decref(arr);
        return cli_report("token list", err, &eb);
    }
    return o.json ? cli_print_json(json_pack("{s:o}", "tokens", arr)) : CLI_OK;
}

static int token_revoke(int argc, char **argv)
{
    token_opts o = {0};
    int rc = parse(argc, argv, &o, "token revoke");
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (optind + 1 != argc)
        return cli_usage_error("token revoke", "give one token ID");
    char *end = NULL;
    errno = 0;
    long long id = strtoll(argv[optind], &end, 10);
    if (argv[optind][0] < '1' || argv[optind][0] > '9' || *end != '\0' || errno != 0)
        return cli_usage_error("token revoke", "%s: not a token ID", argv[optind]);
    fws_errbuf eb = {{0}};
    fws_store *s = NULL;
    fws_store_token t;
    char detail[128];
    fws_err err = open_store(&o, &s, &eb);
    if (err == FWS_OK)
        err = fws_store_token_revoke(s, id, (int64_t)time(NULL), &eb);
    if (err == FWS_OK)
        err = fws_store_token_get(s, id, &t, &eb);
    if (err == FWS_OK) {
        snprintf(detail, sizeof(detail), "token %lld (%s)", id, t.name);
        err = audit(s, "token.revoke", "token", detail, &eb);
    }
    fws_store_close(s);
    if (err != FWS_OK)
        return cli_report("token revoke", err, &eb);
    if (o.json)
        return cli_print_json(token_json(&t));
    printf("token %lld revoked\n", id);
    return CLI_OK;
}

int cmd_token(int argc, char **argv)
{
    static const cli_cmd cmds[] = {
        {"create", "make a token with a role (printed once)", token_create},
        {"list", "list tokens", token_list},
        {"revoke", "revoke a token by ID", token_revoke},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("token", cmds, argc, argv);
}
