/* Slot backends behind one interface. file, uboot and grub keep the same variables in their
 * environment (BOOT_ORDER, BOOT_A_LEFT, BOOT_B_LEFT) and share the logic here; script hands
 * every decision to a user hook. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fwseal/util.h"
#include "agent/slotint.h"

const char *fws_slot_name(int slot)
{
    return slot == 0 ? "A" : slot == 1 ? "B" : NULL;
}

fws_err fws_slot_parse(const char *name, int *slot)
{
    if (name == NULL || name[0] == '\0' || name[1] != '\0')
        return FWS_ERR_FORMAT;
    if (name[0] == 'A' || name[0] == 'a')
        *slot = 0;
    else if (name[0] == 'B' || name[0] == 'b')
        *slot = 1;
    else
        return FWS_ERR_FORMAT;
    return FWS_OK;
}

/* ---- the shared variables ---------------------------------------------------------------- */

fws_err fws_slot_env_parse(const char *text, fws_boot_state *st, fws_errbuf *eb)
{
    fws_boot_state s = {{-1, -1}, {0, 0}, -1};
    const char *line = text;
    int have_order = 0;
    while (line != NULL && *line != '\0') {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        char buf[256];
        if (n < sizeof(buf)) {
            memcpy(buf, line, n);
            buf[n] = '\0';
            char *eq = strchr(buf, '=');
            if (eq != NULL) {
                *eq = '\0';
                const char *v = eq + 1;
                if (strcmp(buf, "BOOT_ORDER") == 0) {
                    int k = 0;
                    have_order = 1;
                    for (const char *c = v; *c != '\0' && k < FWS_SLOT_COUNT; c++) {
                        char one[2] = {*c, '\0'};
                        int slot = -1;
                        if (*c != ' ' && fws_slot_parse(one, &slot) != FWS_OK)
                            return fws_errf(eb, FWS_ERR_FORMAT, "BOOT_ORDER \"%s\"", v);
                        if (slot >= 0 && (k == 0 || s.order[0] != slot))
                            s.order[k++] = slot;
                    }
                } else if (strcmp(buf, "BOOT_A_LEFT") == 0 || strcmp(buf, "BOOT_B_LEFT") == 0) {
                    char *e = NULL;
                    unsigned long x = strtoul(v, &e, 10);
                    if (*v == '\0' || *e != '\0' || x > 255)
                        return fws_errf(eb, FWS_ERR_FORMAT, "%s \"%s\"", buf, v);
                    s.left[buf[5] == 'A' ? 0 : 1] = (unsigned)x;
                }
            }
        }
        line = end ? end + 1 : NULL;
    }
    if (!have_order)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "the bootloader environment has no BOOT_ORDER");
    *st = s;
    return FWS_OK;
}

void fws_slot_env_format(const fws_boot_state *st, char order[8], char a[8], char b[8])
{
    size_t k = 0;
    for (int i = 0; i < FWS_SLOT_COUNT; i++) {
        if (st->order[i] < 0)
            continue;
        if (k > 0)
            order[k++] = ' ';
        order[k++] = fws_slot_name(st->order[i])[0];
    }
    order[k] = '\0';
    snprintf(a, 8, "%u", st->left[0] > 255 ? 255 : st->left[0]);
    snprintf(b, 8, "%u", st->left[1] > 255 ? 255 : st->left[1]);
}

/* ---- the generic backend --------------------------------------------------------------------- */

const fws_agent_io *fws_slot_io(const fws_slot_backend *b)
{
    return b->io;
}

const char *fws_slot_kind(const fws_slot_backend *b)
{
    return b->kind;
}

fws_err fws_slot_image_path(const fws_slot_backend *b, int slot, char *out, size_t cap,
                            fws_errbuf *eb)
{
    if (fws_slot_name(slot) == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "no slot %d", slot);
    if (snprintf(out, cap, "%s/slot-%s.img", b->slot_dir, fws_slot_name(slot)) >= (int)cap)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "slot path too long");
    return FWS_OK;
}

fws_err fws_slot_read(fws_slot_backend *b, fws_boot_state *out, fws_errbuf *eb)
{
    fws_boot_state st;
    fws_err err = b->ops->read(b, &st, eb);
    if (err == FWS_OK)
        err = b->ops->booted(b, &st.booted, eb);
    if (err == FWS_OK)
        *out = st;
    return err;
}

fws_err fws_slot_booted(fws_slot_backend *b, int *slot, fws_errbuf *eb)
{
    return b->ops->booted(b, slot, eb);
}

static fws_err check_slot(int slot, fws_errbuf *eb)
{
    return fws_slot_name(slot) ? FWS_OK : fws_errf(eb, FWS_ERR_ARG, "no slot %d", slot);
}

static fws_err env_mark(fws_slot_backend *b, fws_slot_mark how, int slot, fws_errbuf *eb)
{
    fws_boot_state st;
    fws_err err = b->ops->read(b, &st, eb);
    if (err != FWS_OK)
        return err;
    int other = 1 - slot;
    switch (how) {
    case FWS_SLOT_MARK_BAD: {
        int kept[FWS_SLOT_COUNT] = {-1, -1}, k = 0;
        for (int i = 0; i < FWS_SLOT_COUNT; i++) {
            if (st.order[i] >= 0 && st.order[i] != slot)
                kept[k++] = st.order[i];
        }
        memcpy(st.order, kept, sizeof(kept));
        st.left[slot] = 0;
        break;
    }
    case FWS_SLOT_MARK_TRIAL:
        st.order[0] = slot;
        st.order[1] = other;
        st.left[slot] = 1;
        if (st.left[other] == 0)
            st.left[other] = FWS_SLOT_TRIES;
        break;
    case FWS_SLOT_MARK_GOOD:
        st.order[0] = slot;
        st.order[1] = st.left[other] > 0 ? other : -1;
        st.left[slot] = FWS_SLOT_TRIES;
        break;
    }
    return b->ops->write(b, &st, eb);
}

static fws_err mark(fws_slot_backend *b, fws_slot_mark how, int slot, fws_errbuf *eb)
{
    fws_err err = check_slot(slot, eb);
    if (err != FWS_OK)
        return err;
    if (b->ops->mark != NULL)
        return b->ops->mark(b, how, slot, eb);
    return env_mark(b, how, slot, eb);
}

fws_err fws_slot_mark_bad(fws_slot_backend *b, int slot, fws_errbuf *eb)
{
    return mark(b, FWS_SLOT_MARK_BAD, slot, eb);
}

fws_err fws_slot_mark_trial(fws_slot_backend *b, int slot, fws_errbuf *eb)
{
    return mark(b, FWS_SLOT_MARK_TRIAL, slot, eb);
}

fws_err fws_slot_mark_good(fws_slot_backend *b, int slot, fws_errbuf *eb)
{
    return mark(b, FWS_SLOT_MARK_GOOD, slot, eb);
}

fws_err fws_slot_simulate_boot(fws_slot_backend *b, fws_boot_check_fn boots, void *ctx, int *booted,
                               fws_errbuf *eb)
{
    if (b->ops->write == NULL || b->ops->set_booted == NULL)
        return fws_errf(eb, FWS_ERR_UNSUPPORTED, "the %s backend cannot simulate a boot", b->kind);
    fws_boot_state st;
    fws_err err = b->ops->read(b, &st, eb);
    for (int i = 0; err == FWS_OK && i < FWS_SLOT_COUNT; i++) {
        int slot = st.order[i];
        if (slot < 0 || st.left[slot] == 0)
            continue;
        st.left[slot]--; /* the bootloader spends the try before it starts the image */
        err = b->ops->write(b, &st, eb);
        char path[PATH_MAX];
        if (err == FWS_OK)
            err = fws_slot_image_path(b, slot, path, sizeof(path), eb);
        if (err == FWS_OK && (boots == NULL || boots(ctx, slot, path))) {
            err = b->ops->set_booted(b, slot, eb);
            if (err == FWS_OK)
                *booted = slot;
            return err;
        }
    }
    return err != FWS_OK ? err : fws_errf(eb, FWS_ERR_STATE, "no slot boots");
}

/* ---- opening --------------------------------------------------------------------------------- */

fws_err fws_slot_open(const fws_slot_config *cfg, fws_slot_backend **out, fws_errbuf *eb)
{
    if (cfg == NULL || cfg->kind == NULL || cfg->slot_dir == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "a slot backend needs a kind and a slot directory");
    fws_slot_backend *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return FWS_ERR_NOMEM;
    b->io = cfg->io ? cfg->io : &fws_agent_io_posix;
    fws_err err = FWS_OK;
    if (fws_agent_copy(b->slot_dir, sizeof(b->slot_dir), cfg->slot_dir) != FWS_OK ||
        fws_agent_copy(b->tool, sizeof(b->tool), cfg->tool ? cfg->tool : "") != FWS_OK ||
        fws_agent_copy(b->env_file, sizeof(b->env_file), cfg->env_file ? cfg->env_file : "") !=
            FWS_OK ||
        fws_agent_copy(b->cmdline, sizeof(b->cmdline),
                       cfg->cmdline ? cfg->cmdline : "/proc/cmdline") != FWS_OK)
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "slot backend path too long");
    if (err == FWS_OK)
        err = fws_slot_backend_init(b, cfg->kind, eb);
    if (err != FWS_OK) {
        free(b);
        return err;
    }
    *out = b;
    return FWS_OK;
}

void fws_slot_close(fws_slot_backend *b)
{
    free(b);
}
