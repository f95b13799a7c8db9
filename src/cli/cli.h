/* Shared pieces of the fwseal command line: exit codes, error printing, option helpers. */
#ifndef FWSEAL_CLI_H
#define FWSEAL_CLI_H

#include <stdio.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"

/* Exit codes for every command. */
enum {
    CLI_OK = 0,     /* success */
    CLI_FAILED = 1, /* a verification failed */
    CLI_ERROR = 2,  /* usage, I/O or internal error */
};

typedef struct cli_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command's own name */
} cli_cmd;

/* Prints "fwseal <what>: <context or strerror>" on stderr; returns the exit code for err. */
int cli_report(const char *what, fws_err err, const fws_errbuf *eb);
/* Prints "fwseal <what>: <message>" and returns CLI_ERROR (usage problems). */
int cli_usage_error(const char *what, const char *fmt, ...) FWS_PRINTF(2, 3);
/* Exit code for an error code: 0, 1 (verification) or 2. */
int cli_exit_code(fws_err err);

/* Dispatches argv[1] among cmds (NULL-terminated by name); prints group help on --help. */
int cli_dispatch(const char *group, const cli_cmd *cmds, int argc, char **argv);

/* Subcommand entry points, one file each. */
int cmd_key(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
/* fwseal verify --repo (cmd_verify_repo.c): an image against a repository and its ledger. */
int cmd_verify_repo(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_sbom(int argc, char **argv);
int cmd_tuf_client(int argc, char **argv);
int cmd_ca(int argc, char **argv);
int cmd_provision(int argc, char **argv);
int cmd_device(int argc, char **argv);
int cmd_est(int argc, char **argv);
int cmd_attest(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_rollout(int argc, char **argv);
int cmd_device_quarantine(int argc, char **argv);
int cmd_device_release(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);

#endif

/* ---- helpers shared by commands ---- */
#include <stdint.h>
#include "fwseal/crypto.h"

/* Default cap on an image or artifact a command hashes (--max-size raises it). */
#define CLI_IMAGE_MAX_DEFAULT (2ull * 1024 * 1024 * 1024)

/* Loads a private key, taking the passphrase from FWSEAL_PASSPHRASE, passfile or the terminal. */
fws_err cli_load_private_key(const char *path, const char *passfile, fws_key **out,
                             fws_errbuf *eb) FWS_MUST_CHECK;
/* A signer from a private key file (its passphrase as for cli_load_private_key) or from a
 * PKCS#11 URI ("pkcs11:..."; passfile, when given and the URI names no PIN, holds the PIN). */
fws_err cli_load_signer(const char *ref, const char *passfile, fws_signer *out,
                        fws_errbuf *eb) FWS_MUST_CHECK;
/* fwseal key pkcs11-gen and fwseal key export-pub (cmd_key_pkcs11.c). */
int cmd_key_pkcs11_gen(int argc, char **argv);
int cmd_key_export_pub(int argc, char **argv);
/* Parses a byte count with an optional K, M, G suffix (powers of 1024). */
fws_err cli_parse_size(const char *text, uint64_t *out) FWS_MUST_CHECK;
/* Writes s as a JSON document on stdout (pretty, sorted keys); steals the reference. */
struct json_t;
int cli_print_json(struct json_t *s);

/* ---- the repository side: fwseal init, release, repo, key rotate (cmd_release_common.c) ---- */
#include "fwseal/repo.h"

int cmd_init(int argc, char **argv);
int cmd_release(int argc, char **argv);
int cmd_repo(int argc, char **argv);
int cmd_key_rotate(int argc, char **argv);
/* fwseal release list|show|revoke (cmd_release_query.c). */
int cli_release_list(int argc, char **argv);
int cli_release_show(int argc, char **argv);
int cli_release_revoke(int argc, char **argv);

/* The passphrase of a deployment's keys (FWSEAL_PASSPHRASE, --passphrase-file, terminal). */
fws_err cli_repo_passphrase(const char *passfile, int confirm, fws_passphrase *pp,
                            fws_errbuf *eb) FWS_MUST_CHECK;
int64_t cli_repo_now(void);

/* The deployment's ledger, bound to the ledger writer for fws_repo_ledger. */
typedef struct cli_repo_ledger {
    fws_deploy *d;
    const fws_passphrase *pp;
    char deploy_abs[4096]; /* fwseal init: the deployment's absolute path */
    char warning[FWS_ERRBUF_SIZE];
} cli_repo_ledger;
/* deploy_dir: for fwseal init (d NULL); otherwise NULL. */
fws_err cli_repo_ledger_bind(cli_repo_ledger *l, fws_deploy *d, const fws_passphrase *pp,
                             const char *deploy_dir, fws_repo_ledger *out,
                             fws_errbuf *eb) FWS_MUST_CHECK;
/* Prints the ledger's warning (a checkpoint that could not be published), if any. */
void cli_repo_ledger_warn(const cli_repo_ledger *l, const char *what);
/* CycloneDX 1.6 validation against the official schema (fws_sbom_validate). */
fws_err cli_repo_sbom_check(const uint8_t *unverified, size_t len, fws_errbuf *eb) FWS_MUST_CHECK;
/* Splits a comma list in place; -1 when it has more than cap items. */
int cli_repo_split(char *text, const char **items, size_t cap, size_t *n);
/* Repeated --key REF options. */
typedef struct cli_repo_refs {
    const char *refs[FWS_REPO_MAX_REFS];
    size_t n;
} cli_repo_refs;
int cli_repo_add_ref(cli_repo_refs *r, const char *ref);

/* ---- the ledger (fwseal log) ---- */
#include "fwseal/ledger.h"
#include "fwseal/note.h"
#include "fwseal/tiles.h"

int cmd_log_init(int argc, char **argv);
int cmd_log_append(int argc, char **argv);
int cmd_log_checkpoint(int argc, char **argv);
int cmd_log_get(int argc, char **argv);
int cmd_log_search(int argc, char **argv);
int cmd_log_witness(int argc, char **argv);
int cmd_log_monitor(int argc, char **argv);
int cmd_log_mirror(int argc, char **argv);
/* The read side (cmd_log_read.c). */
int cmd_log_prove(int argc, char **argv);
int cmd_log_verify_proof(int argc, char **argv);
int cmd_log_consistency(int argc, char **argv);
int cmd_log_verify(int argc, char **argv);

/* Loads an Ed25519 private key (encrypted PKCS#8 asks for its passphrase) as a signer. */
fws_err cli_log_load_signer(const char *path, const char *passfile, fws_signer *out,
                            fws_errbuf *eb) FWS_MUST_CHECK;
/* --vkey: a file holding a vkey, or the vkey text itself. */
fws_err cli_log_load_vkey(const char *arg, fws_note_vkey *out, fws_errbuf *eb) FWS_MUST_CHECK;

/* A log read from a directory (--dir) or over HTTP (--url). */
typedef struct cli_log_source {
    fws_tile_dir *dir;
    fws_http_source *http;
    fws_tile_source src;
} cli_log_source;
fws_err cli_log_source_open(cli_log_source *s, const char *dir, const char *url,
                            fws_errbuf *eb) FWS_MUST_CHECK;
void cli_log_source_close(cli_log_source *s);

/* Most bytes the log commands read as one record or line before the ledger judges its size
 * (so an oversized record gets the ledger's precise message, not a read error). */
#define CLI_LOG_READ_MAX ((size_t)1 << 20)

/* fwseal log append --lines (cmd_log_write_lines.c). */
typedef struct cli_log_lines_opts {
    const char *input; /* a file or "-" */
    size_t batch;      /* lines per batch */
    int json;
    int no_checkpoint;
} cli_log_lines_opts;
int cli_log_append_lines(fws_ledger *l, const cli_log_lines_opts *o);
