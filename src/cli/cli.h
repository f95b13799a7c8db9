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
int cmd_log(int argc, char **argv);

#endif
