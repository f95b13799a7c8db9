/* The four slot backends: file (an environment file, for tests, simulation and simple devices),
 * uboot (fw_printenv / fw_setenv -s), grub (grub-editenv) and script (user hooks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/util.h"
#include "agent/slotint.h"

#define ENV_TEXT_MAX 65536

static fws_err path_in(const fws_slot_backend *b, const char *name, char *out, size_t cap,
                       fws_errbuf *eb)
{
    if (snprintf(out, cap, "%s/%s", b->slot_dir, name) >= (int)cap)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "slot directory path too long");
    return FWS_OK;
}

static fws_err parse_slot_line(const char *text, int *slot)
{
    char one[2] = {text[0], '\0'};
    if (text[0] == '\0' || (text[1] != '\0' && text[1] != '\n' && text[1] != ' '))
        return FWS_ERR_FORMAT;
    return fws_slot_parse(one, slot);
}

/* ---- file ------------------------------------------------------------------------------------ */

static fws_err file_read(fws_slot_backend *b, fws_boot_state *st, fws_errbuf *eb)
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t len = 0;
    fws_err err = path_in(b, "boot.env", path, sizeof(path), eb);
    if (err == FWS_OK)
        err = fws_file_read(path, ENV_TEXT_MAX, &data, &len, eb);
    if (err == FWS_OK)
        err = fws_slot_env_parse((const char *)data, st, eb);
    if (err != FWS_OK)
        err = fws_errf(eb, err, "%s: unreadable", path);
    free(data);
    return err;
}

static fws_err file_write(fws_slot_backend *b, const fws_boot_state *st, fws_errbuf *eb)
{
    char path[PATH_MAX], order[8], a[8], bb[8], text[128];
    fws_slot_env_format(st, order, a, bb);
    int n = snprintf(text, sizeof(text), "BOOT_ORDER=%s\nBOOT_A_LEFT=%s\nBOOT_B_LEFT=%s\n", order,
                     a, bb);
    fws_err err = path_in(b, "boot.env", path, sizeof(path), eb);
    if (err == FWS_OK)
        err = fws_agent_write_atomic(b->io, path, text, (size_t)n, eb);
    return err;
}

static fws_err file_booted(fws_slot_backend *b, int *slot, fws_errbuf *eb)
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t len = 0;
    fws_err err = path_in(b, "booted", path, sizeof(path), eb);
    if (err == FWS_OK)
        err = fws_file_read(path, 64, &data, &len, NULL);
    if (err == FWS_ERR_NOT_FOUND) {
        *slot = -1;
        return FWS_OK;
    }
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: unreadable", path);
    if (err == FWS_OK && parse_slot_line((const char *)data, slot) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: not A or B", path);
    free(data);
    return err;
}

static fws_err file_set_booted(fws_slot_backend *b, int slot, fws_errbuf *eb)
{
    char path[PATH_MAX], text[4];
    snprintf(text, sizeof(text), "%s\n", fws_slot_name(slot));
    fws_err err = path_in(b, "booted", path, sizeof(path), eb);
    if (err == FWS_OK)
        err = fws_file_write_atomic(path, text, 2, 0644, 1, eb);
    return err;
}

static const fws_slot_ops file_ops = {file_read, file_write, file_booted, file_set_booted, NULL};

/* ---- the kernel command line (uboot, grub) ------------------------------------------------- */

static fws_err cmdline_booted(fws_slot_backend *b, int *slot, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_err err = fws_file_read(b->cmdline, ENV_TEXT_MAX, &data, &len, NULL);
    if (err == FWS_ERR_NOT_FOUND) {
        *slot = -1;
        return FWS_OK;
    }
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: unreadable", b->cmdline);
    const char *p = strstr((const char *)data, "fwseal.slot=");
    *slot = -1;
    if (p != NULL && (p == (const char *)data || p[-1] == ' ') &&
        parse_slot_line(p + strlen("fwseal.slot="), slot) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: fwseal.slot is not A or B", b->cmdline);
    free(data);
    return err;
}

static fws_err cmdline_set_booted(fws_slot_backend *b, int slot, fws_errbuf *eb)
{
    char text[64];
    int n = snprintf(text, sizeof(text), "console=ttyS0 fwseal.slot=%s\n", fws_slot_name(slot));
    return fws_file_write_atomic(b->cmdline, text, (size_t)n, 0644, 1, eb);
}

static fws_err run_env_tool(const char *const *argv, char *out, size_t cap, fws_errbuf *eb)
{
    int status = 0;
    fws_err err = fws_agent_exec(argv, out, cap, &status, eb);
    if (err == FWS_OK && status != 0)
        err = fws_errf(eb, FWS_ERR_IO, "%s exited with status %d", argv[0], status);
    return err;
}

/* ---- uboot ----------------------------------------------------------------------------------- */

static void uboot_tool(const fws_slot_backend *b, const char *name, char *out, size_t cap)
{
    if (b->tool[0] != '\0')
        snprintf(out, cap, "%s/%s", b->tool, name);
    else
        snprintf(out, cap, "%s", name);
}

static fws_err env_text_read(const char *const *argv, fws_boot_state *st, fws_errbuf *eb)
{
    char *text = malloc(ENV_TEXT_MAX);
    if (text == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = run_env_tool(argv, text, ENV_TEXT_MAX, eb);
    if (err == FWS_OK)
        err = fws_slot_env_parse(text, st, eb);
    free(text);
    return err;
}

static fws_err uboot_read(fws_slot_backend *b, fws_boot_state *st, fws_errbuf *eb)
{
    char prog[PATH_MAX + 16];
    uboot_tool(b, "fw_printenv", prog, sizeof(prog));
    const char *argv[] = {prog, NULL};
    return env_text_read(argv, st, eb);
}

/* fw_setenv -s applies a whole script in one write of the environment. */
static fws_err uboot_write(fws_slot_backend *b, const fws_boot_state *st, fws_errbuf *eb)
{
    char prog[PATH_MAX + 16], script[PATH_MAX], order[8], a[8], bb[8], text[128];
    fws_slot_env_format(st, order, a, bb);
    int n = snprintf(text, sizeof(text), "BOOT_ORDER %s\nBOOT_A_LEFT %s\nBOOT_B_LEFT %s\n", order,
                     a, bb);
    fws_err err = path_in(b, "fw_setenv.script", script, sizeof(script), eb);
    if (err == FWS_OK)
        err = fws_agent_write_atomic(b->io, script, text, (size_t)n, eb);
    uboot_tool(b, "fw_setenv", prog, sizeof(prog));
    const char *argv[] = {prog, "-s", script, NULL};
    if (err == FWS_OK)
        err = run_env_tool(argv, NULL, 0, eb);
    return err;
}

static const fws_slot_ops uboot_ops = {uboot_read, uboot_write, cmdline_booted, cmdline_set_booted,
                                       NULL};

/* ---- grub ------------------------------------------------------------------------------------ */

static const char *grub_prog(const fws_slot_backend *b)
{
    return b->tool[0] != '\0' ? b->tool : "grub-editenv";
}

static fws_err grub_read(fws_slot_backend *b, fws_boot_state *st, fws_errbuf *eb)
{
    const char *argv[] = {grub_prog(b), b->env_file, "list", NULL};
    return env_text_read(argv, st, eb);
}

static fws_err grub_write(fws_slot_backend *b, const fws_boot_state *st, fws_errbuf *eb)
{
    char order[8], a[8], bb[8], v1[32], v2[32], v3[32];
    fws_slot_env_format(st, order, a, bb);
    snprintf(v1, sizeof(v1), "BOOT_ORDER=%s", order);
    snprintf(v2, sizeof(v2), "BOOT_A_LEFT=%s", a);
    snprintf(v3, sizeof(v3), "BOOT_B_LEFT=%s", bb);
    const char *argv[] = {grub_prog(b), b->env_file, "set", v1, v2, v3, NULL};
    return run_env_tool(argv, NULL, 0, eb);
}

static const fws_slot_ops grub_ops = {grub_read, grub_write, cmdline_booted, cmdline_set_booted,
                                      NULL};

/* ---- script ------------------------------------------------------------------------------------
 */

static fws_err script_read(fws_slot_backend *b, fws_boot_state *st, fws_errbuf *eb)
{
    const char *argv[] = {b->tool, "state", NULL};
    return env_text_read(argv, st, eb);
}

static fws_err script_booted(fws_slot_backend *b, int *slot, fws_errbuf *eb)
{
    char out[64];
    const char *argv[] = {b->tool, "booted", NULL};
    fws_err err = run_env_tool(argv, out, sizeof(out), eb);
    if (err == FWS_OK && parse_slot_line(out, slot) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s booted: printed \"%.8s\", not A or B", b->tool, out);
    return err;
}

static fws_err script_mark(fws_slot_backend *b, fws_slot_mark how, int slot, fws_errbuf *eb)
{
    const char *verb = how == FWS_SLOT_MARK_BAD     ? "mark-bad"
                       : how == FWS_SLOT_MARK_TRIAL ? "mark-trial"
                                                    : "mark-good";
    const char *argv[] = {b->tool, verb, fws_slot_name(slot), NULL};
    return run_env_tool(argv, NULL, 0, eb);
}

static const fws_slot_ops script_ops = {script_read, NULL, script_booted, NULL, script_mark};

/* ---- choosing ----------------------------------------------------------------------------------
 */

fws_err fws_slot_backend_init(fws_slot_backend *b, const char *kind, fws_errbuf *eb)
{
    if (strcmp(kind, "file") == 0) {
        b->kind = "file";
        b->ops = &file_ops;
    } else if (strcmp(kind, "uboot") == 0) {
        b->kind = "uboot";
        b->ops = &uboot_ops;
    } else if (strcmp(kind, "grub") == 0) {
        b->kind = "grub";
        b->ops = &grub_ops;
        if (b->env_file[0] == '\0' &&
            path_in(b, "grubenv", b->env_file, sizeof(b->env_file), eb) != FWS_OK)
            return FWS_ERR_TOO_BIG;
    } else if (strcmp(kind, "script") == 0) {
        b->kind = "script";
        b->ops = &script_ops;
        if (b->tool[0] == '\0')
            return fws_errf(eb, FWS_ERR_ARG, "the script backend needs a hook program");
    } else {
        return fws_errf(eb, FWS_ERR_ARG, "unknown slot backend \"%s\" (file, uboot, grub, script)",
                        kind);
    }
    return FWS_OK;
}

fws_err fws_slot_file_provision(const char *slot_dir, const uint8_t *image, size_t len,
                                fws_errbuf *eb)
{
    char path[PATH_MAX];
    fws_err err = fws_mkdirs(slot_dir, 0755, eb);
    if (err == FWS_OK && snprintf(path, sizeof(path), "%s/slot-A.img", slot_dir) >= PATH_MAX)
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "slot directory path too long");
    if (err == FWS_OK)
        err = fws_file_write_atomic(path, image, len, 0644, 1, eb);
    if (err == FWS_OK) {
        snprintf(path, sizeof(path), "%s/slot-B.img", slot_dir);
        err = fws_file_write_atomic(path, "", 0, 0644, 1, eb);
    }
    if (err == FWS_OK) {
        snprintf(path, sizeof(path), "%s/boot.env", slot_dir);
        const char *env = "BOOT_ORDER=A\nBOOT_A_LEFT=3\nBOOT_B_LEFT=0\n";
        err = fws_file_write_atomic(path, env, strlen(env), 0644, 1, eb);
    }
    if (err == FWS_OK) {
        snprintf(path, sizeof(path), "%s/booted", slot_dir);
        err = fws_file_write_atomic(path, "A\n", 2, 0644, 1, eb);
    }
    return err;
}
