/* Verify before activate: bytes stream through the verifier core into the inactive slot, and
 * the slot is offered to the bootloader only after length and digest matched. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fwseal/crypto.h"
#include "agent/internal.h"

#define PROGRESS_EVERY ((uint64_t)4 << 20) /* make the slot durable and note it this often */

typedef struct install_ctx {
    fws_agent *a;
    int fd;
    uint64_t plain;        /* plaintext bytes in the slot */
    uint64_t noted;        /* plain at the last durable progress note */
    fws_image_verifier v;  /* over the downloaded bytes */
    fws_sha256_ctx slot_h; /* over the plaintext written */
    fws_enc_stream *dec;   /* NULL for a plain payload */
    fws_err local;         /* a local write failure (not the payload's fault) */
    fws_errbuf leb;
} install_ctx;

fws_err fws_agent_slot_digest(fws_agent *a, int slot, uint64_t len, uint8_t out[FWS_SHA256_LEN],
                              fws_errbuf *eb)
{
    char path[PATH_MAX];
    fws_err err = fws_slot_image_path(a->slots, slot, path, sizeof(path), eb);
    if (err != FWS_OK)
        return err;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fws_errf(eb, errno == ENOENT ? FWS_ERR_NOT_FOUND : FWS_ERR_IO, "%s: %s", path,
                        strerror(errno));
    uint8_t *buf = malloc(FWS_AGENT_CHUNK);
    fws_sha256_ctx h;
    fws_sha256_init(&h);
    uint64_t done = 0;
    while (err == FWS_OK && buf != NULL && done < len) {
        size_t want = len - done < FWS_AGENT_CHUNK ? (size_t)(len - done) : FWS_AGENT_CHUNK;
        ssize_t n = read(fd, buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            err = fws_errf(eb, FWS_ERR_IO, "%s: %s", path, strerror(errno));
        else if (n == 0)
            err = fws_errf(eb, FWS_ERR_LENGTH, "%s: shorter than %llu bytes", path,
                           (unsigned long long)len);
        else {
            fws_sha256_update(&h, buf, (size_t)n);
            done += (uint64_t)n;
        }
    }
    if (buf == NULL)
        err = FWS_ERR_NOMEM;
    uint8_t d[FWS_SHA256_LEN];
    fws_sha256_final(&h, d);
    if (err == FWS_OK)
        memcpy(out, d, sizeof(d));
    free(buf);
    close(fd);
    return err;
}

static fws_err note_progress(install_ctx *c)
{
    const fws_agent_io *io = c->a->io;
    if (io->fsync(io->ctx, c->fd) != 0)
        return fws_errf(&c->leb, FWS_ERR_IO, "slot: fsync: %s", strerror(errno));
    c->a->st.written = c->plain;
    c->noted = c->plain;
    return fws_agent_save(c->a, &c->leb);
}

static fws_err write_plain(void *ctx, const uint8_t *data, size_t len)
{
    install_ctx *c = ctx;
    if (fws_agent_write_all(c->a->io, c->fd, data, len) != FWS_OK) {
        c->local = fws_errf(&c->leb, FWS_ERR_IO, "slot %s: write: %s",
                            fws_slot_name(c->a->st.target_slot), strerror(errno));
        return c->local;
    }
    fws_sha256_update(&c->slot_h, data, len);
    c->plain += len;
    if (c->plain - c->noted >= PROGRESS_EVERY) {
        fws_err err = note_progress(c);
        if (err != FWS_OK)
            c->local = err;
        return err;
    }
    return FWS_OK;
}

/* The sink the source pushes downloaded bytes into. */
static fws_err sink(void *ctx, const uint8_t *data, size_t len)
{
    install_ctx *c = ctx;
    fws_err err = fws_image_verify_update(&c->v, data, len);
    if (err != FWS_OK)
        return err; /* FWS_ERR_LENGTH: more bytes than the signed length */
    if (c->dec != NULL)
        return fws_enc_stream_update(c->dec, data, len, write_plain, c, NULL);
    return write_plain(c, data, len);
}

/* Reads back what an interrupted download left durable in the slot. */
static fws_err resume_prefix(install_ctx *c, uint64_t len, fws_errbuf *eb)
{
    uint8_t *buf = malloc(FWS_AGENT_CHUNK);
    if (buf == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = FWS_OK;
    uint64_t done = 0;
    while (err == FWS_OK && done < len) {
        size_t want = len - done < FWS_AGENT_CHUNK ? (size_t)(len - done) : FWS_AGENT_CHUNK;
        ssize_t n = pread(c->fd, buf, want, (off_t)done);
        if (n <= 0) {
            err = n == 0 ? FWS_ERR_LENGTH : FWS_ERR_IO;
            break;
        }
        err = fws_image_verify_update(&c->v, buf, (size_t)n);
        fws_sha256_update(&c->slot_h, buf, (size_t)n);
        done += (uint64_t)n;
    }
    free(buf);
    if (err == FWS_OK && lseek(c->fd, (off_t)len, SEEK_SET) < 0)
        err = FWS_ERR_IO;
    if (err != FWS_OK)
        return fws_errf(eb, err, "slot %s: cannot read back %llu bytes to resume",
                        fws_slot_name(c->a->st.target_slot), (unsigned long long)len);
    c->plain = c->noted = len;
    return FWS_OK;
}

static fws_err open_slot(install_ctx *c, uint64_t resume, fws_errbuf *eb)
{
    char path[PATH_MAX];
    fws_err err = fws_slot_image_path(c->a->slots, c->a->st.target_slot, path, sizeof(path), eb);
    if (err != FWS_OK)
        return err;
    int flags = resume > 0 ? O_RDWR : O_RDWR | O_CREAT | O_TRUNC;
    c->fd = c->a->io->open(c->a->io->ctx, path, flags, 0644);
    if (c->fd < 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", path, strerror(errno));
    return resume > 0 ? resume_prefix(c, resume, eb) : FWS_OK;
}

static fws_err start_decrypt(install_ctx *c, const fws_agent_target *t, fws_errbuf *eb)
{
    if (t->wrapped_key[0] == '\0')
        return FWS_OK;
    if (c->a->wrap_key == NULL)
        return fws_errf(eb, FWS_ERR_KEY_MISMATCH,
                        "the payload is encrypted and this device "
                        "has no key-wrapping key");
    uint8_t key[FWS_ENC_KEY_LEN];
    fws_err err = fws_enc_unwrap_key(c->a->wrap_key, t->wrapped_key, key, eb);
    if (err == FWS_OK)
        err = fws_enc_stream_new(key, &c->dec, eb);
    fws_wipe(key, sizeof(key));
    return err;
}

/* A failure judged against the payload: back to idle with a report. */
static fws_err refuse(fws_agent *a, fws_err why, const char *msg, fws_errbuf *eb)
{
    char reason[FWS_AGENT_REASON_MAX + 1];
    snprintf(reason, sizeof(reason), "%s: %s", fws_strerror(why), msg);
    snprintf(a->st.reason, sizeof(a->st.reason), "%s", reason);
    fws_err err = fws_agent_report_queue(a, FWS_REPORT_VERIFY_FAIL, reason, eb);
    if (err == FWS_OK)
        err = fws_agent_step(a, FWS_EV_FAILED, eb);
    if (err != FWS_OK)
        return err;
    return fws_errf(eb, why, "%s", reason);
}

/* Everything arrived: final checks, then the slot is offered to the bootloader. */
static fws_err finish(install_ctx *c, fws_errbuf *eb)
{
    fws_agent *a = c->a;
    uint8_t digest[FWS_SHA256_LEN];
    fws_err err = fws_image_verify_final(&c->v, NULL);
    if (err != FWS_OK)
        return refuse(a, err,
                      err == FWS_ERR_LENGTH ? "fewer bytes than the signed length"
                                            : "the image's SHA-256 is not the signed one",
                      eb);
    if (c->dec != NULL && (err = fws_enc_stream_final(c->dec, &c->leb)) != FWS_OK)
        return refuse(a, err, c->leb.msg, eb);
    if (a->io->fsync(a->io->ctx, c->fd) != 0)
        return fws_errf(eb, FWS_ERR_IO, "slot: fsync: %s", strerror(errno));
    fws_sha256_final(&c->slot_h, digest);
    a->st.written = c->plain;
    memcpy(a->st.slot_sha256, digest, sizeof(digest));
    err = fws_agent_step(a, FWS_EV_DOWNLOADED, eb);
    if (err == FWS_OK)
        err = fws_slot_mark_trial(a->slots, a->st.target_slot, eb);
    if (err == FWS_OK)
        err = fws_agent_step(a, FWS_EV_VERIFIED, eb);
    return err;
}

static fws_err begin(fws_agent *a, const fws_agent_target *t, fws_errbuf *eb)
{
    int booted = -1;
    fws_err err = fws_slot_booted(a->slots, &booted, eb);
    if (err != FWS_OK)
        return err;
    if (booted >= 0 && booted != a->st.active_slot)
        return fws_errf(eb, FWS_ERR_STATE, "running slot %s is not the confirmed slot %s",
                        fws_slot_name(booted), fws_slot_name(a->st.active_slot));
    int slot = 1 - a->st.active_slot;
    err = fws_slot_mark_bad(a->slots, slot, eb); /* before the first byte is written */
    if (err != FWS_OK)
        return err;
    a->st.target = *t;
    a->st.target_slot = slot;
    a->st.written = 0;
    a->st.reason[0] = '\0';
    memcpy(a->st.from_version, a->st.installed_version, sizeof(a->st.from_version));
    if (a->st.state == FWS_AGENT_IDLE)
        return fws_agent_step(a, FWS_EV_START, eb);
    return fws_agent_save(a, eb);
}

static fws_err stream(fws_agent *a, const fws_agent_source *src, fws_errbuf *eb)
{
    install_ctx c;
    memset(&c, 0, sizeof(c));
    c.a = a;
    c.fd = -1;
    const fws_agent_target *t = &a->st.target;
    uint64_t resume = t->wrapped_key[0] == '\0' ? a->st.written : 0;
    fws_sha256_init(&c.slot_h);
    fws_err err = fws_image_verify_init(&c.v, &fws_sha256_ops, t->length, t->sha256);
    if (err == FWS_OK)
        err = start_decrypt(&c, t, &c.leb);
    if (err != FWS_OK) {
        err = refuse(a, err, c.leb.msg, eb);
        goto out;
    }
    err = open_slot(&c, resume, eb);
    if (err == FWS_OK) {
        err = src->fetch(src->ctx, t, c.plain, sink, &c, &c.leb);
        if (c.local != FWS_OK)
            err = fws_errf(eb, c.local, "%s", c.leb.msg);
        else if (err != FWS_OK)
            err = refuse(a, err, c.leb.msg[0] ? c.leb.msg : fws_strerror(err), eb);
        else
            err = finish(&c, eb);
    }
out:
    if (c.fd >= 0)
        a->io->close(a->io->ctx, c.fd);
    fws_enc_stream_free(c.dec);
    fws_wipe(&c.slot_h, sizeof(c.slot_h));
    return err;
}

fws_err fws_agent_install(fws_agent *a, const fws_agent_target *t, const fws_agent_source *src,
                          fws_errbuf *eb)
{
    fws_agent_state s = a->st.state;
    int same = s == FWS_AGENT_DOWNLOADING &&
               fws_ct_eq(t->sha256, a->st.target.sha256, FWS_SHA256_LEN) &&
               t->length == a->st.target.length;
    if (s != FWS_AGENT_IDLE && s != FWS_AGENT_DOWNLOADING)
        return fws_errf(eb, FWS_ERR_STATE, "cannot install while %s", fws_agent_state_name(s));
    if (t->length == 0)
        return fws_errf(eb, FWS_ERR_ARG, "an empty target");
    fws_err err = same ? FWS_OK : begin(a, t, eb);
    if (err == FWS_OK && same &&
        fws_agent_copy(a->st.target.url, sizeof(a->st.target.url), t->url) != FWS_OK)
        err = FWS_ERR_TOO_BIG;
    if (err == FWS_OK)
        err = stream(a, src, eb);
    return err;
}

/* ---- a local file source ----------------------------------------------------------------------
 */

static fws_err file_fetch(void *ctx, const fws_agent_target *t, uint64_t offset,
                          fws_agent_sink_fn out, void *out_ctx, fws_errbuf *eb)
{
    (void)ctx;
    const char *path = strncmp(t->url, "file://", 7) == 0 ? t->url + 7 : t->url;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fws_errf(eb, errno == ENOENT ? FWS_ERR_NOT_FOUND : FWS_ERR_IO, "%s: %s", path,
                        strerror(errno));
    uint8_t *buf = malloc(FWS_AGENT_CHUNK);
    fws_err err = buf ? FWS_OK : FWS_ERR_NOMEM;
    off_t at = (off_t)offset;
    while (err == FWS_OK) {
        ssize_t n = pread(fd, buf, FWS_AGENT_CHUNK, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            err = fws_errf(eb, FWS_ERR_IO, "%s: %s", path, strerror(errno));
        if (n <= 0)
            break;
        err = out(out_ctx, buf, (size_t)n);
        at += n;
    }
    free(buf);
    close(fd);
    return err;
}

const fws_agent_source fws_agent_file_source = {file_fetch, NULL};
