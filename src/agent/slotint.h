/* Internal: what a slot backend implements. */
#ifndef FWSEAL_AGENT_SLOTINT_H
#define FWSEAL_AGENT_SLOTINT_H

#include <limits.h>
#include "agent/internal.h"

typedef enum fws_slot_mark {
    FWS_SLOT_MARK_BAD = 1,
    FWS_SLOT_MARK_TRIAL = 2,
    FWS_SLOT_MARK_GOOD = 3,
} fws_slot_mark;

typedef struct fws_slot_ops {
    /* order and tries (booted is filled by booted()) */
    fws_err (*read)(fws_slot_backend *b, fws_boot_state *st, fws_errbuf *eb);
    /* writes order and tries in one update of the environment (NULL for script) */
    fws_err (*write)(fws_slot_backend *b, const fws_boot_state *st, fws_errbuf *eb);
    fws_err (*booted)(fws_slot_backend *b, int *slot, fws_errbuf *eb);
    /* records the running slot: what a bootloader passes to the kernel (simulation) */
    fws_err (*set_booted)(fws_slot_backend *b, int slot, fws_errbuf *eb);
    /* NULL: the shared logic over read and write */
    fws_err (*mark)(fws_slot_backend *b, fws_slot_mark how, int slot, fws_errbuf *eb);
} fws_slot_ops;

struct fws_slot_backend {
    const char *kind;
    const fws_slot_ops *ops;
    const fws_agent_io *io;
    char slot_dir[PATH_MAX];
    char tool[PATH_MAX];
    char env_file[PATH_MAX];
    char cmdline[PATH_MAX];
};

fws_err fws_slot_backend_init(fws_slot_backend *b, const char *kind, fws_errbuf *eb) FWS_MUST_CHECK;
fws_err fws_slot_env_parse(const char *text, fws_boot_state *st, fws_errbuf *eb) FWS_MUST_CHECK;
void fws_slot_env_format(const fws_boot_state *st, char order[8], char a[8], char b[8]);

#endif
