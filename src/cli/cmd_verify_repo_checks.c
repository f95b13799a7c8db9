/* fwseal verify --repo: the TUF client over a deployment or a server, and the policy, image and
 * ledger checks of one target. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "cli.h"
#include "cmd_verify_repo.h"
#include "fwseal/json.h"
#include "fwseal/util.h"

#define VR_CHUNK 65536
#define VR_LOGJSON_MAX 65536

/* ---- the TUF client ---------------------------------------------------------------------------
 */

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* file:// URL of a local directory: its absolute path, percent-encoded. */
static fws_err file_url(const char *dir, char *out, size_t cap, fws_errbuf *eb)
{
    char abs[PATH_MAX];
    if (realpath(dir, abs) == NULL)
        return fws_errf(eb, errno == ENOENT ? FWS_ERR_NOT_FOUND : FWS_ERR_IO, "%s: %s", dir,
                        strerror(errno));
    size_t n = (size_t)snprintf(out, cap, "file://");
    for (const unsigned char *p = (const unsigned char *)abs; *p != '\0'; p++) {
        int keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || strchr("-._~/", *p) != NULL;
        if (n + 4 >= cap)
            return fws_errf(eb, FWS_ERR_TOO_BIG, "%s: path too long", dir);
        n += (size_t)(keep ? snprintf(out + n, cap - n, "%c", *p)
                           : snprintf(out + n, cap - n, "%%%02X", *p));
    }
    return FWS_OK;
}

static fws_err metadata_url(const vr_opts *o, char *out, size_t cap, fws_errbuf *eb)
{
    size_t n = strlen(o->repo);
    while (n > 0 && o->repo[n - 1] == '/')
        n--;
    if (o->is_url)
        return snprintf(out, cap, "%.*s/repo/metadata", (int)n, o->repo) < (int)cap
                   ? FWS_OK
                   : fws_errf(eb, FWS_ERR_TOO_BIG, "--repo: URL too long");
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof(dir), "%.*s/repo/metadata", (int)n, o->repo) >= (int)sizeof(dir))
        return fws_errf(eb, FWS_ERR_TOO_BIG, "--repo: path too long");
    if (!exists(dir))
        return fws_errf(eb, FWS_ERR_NOT_FOUND,
                        "%s: missing (--repo names a deployment directory or a server URL)", dir);
    return file_url(dir, out, cap, eb);
}

/* The metadata directory: --metadata-dir (kept) or a new temporary one (removed at the end). */
static fws_err make_meta_dir(vr_run *r, fws_errbuf *eb)
{
    if (r->o->metadata_dir != NULL) {
        snprintf(r->meta_dir, sizeof(r->meta_dir), "%s", r->o->metadata_dir);
        return fws_mkdirs(r->meta_dir, 0700, eb);
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(r->meta_dir, sizeof(r->meta_dir), "%s/fwseal-verify.XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(r->meta_dir) == NULL)
        return fws_errf(eb, FWS_ERR_IO, "cannot make a temporary directory: %s", strerror(errno));
    r->temp_meta = 1;
    return FWS_OK;
}

/* The first trusted root: the metadata directory's own (an earlier run), --root, or the
 * deployment's 1.root.json. */
static fws_err install_anchor(vr_run *r, fws_errbuf *eb)
{
    char have[PATH_MAX + 16], path[PATH_MAX];
    uint8_t *data = NULL;
    size_t len = 0;
    snprintf(have, sizeof(have), "%s/root.json", r->meta_dir);
    if (!r->temp_meta && exists(have)) {
        snprintf(r->anchor, sizeof(r->anchor), "%s (trusted in an earlier run%s)", have,
                 r->o->root ? "; --root not used" : "");
        return FWS_OK;
    }
    if (r->o->root != NULL)
        snprintf(path, sizeof(path), "%s", r->o->root);
    else if (snprintf(path, sizeof(path), "%s/repo/metadata/1.root.json", r->o->repo) >=
             (int)sizeof(path))
        return fws_errf(eb, FWS_ERR_TOO_BIG, "--repo: path too long");
    fws_err err = fws_file_read(path, fws_tuf_client_defaults.root_max, &data, &len, eb);
    if (err == FWS_OK)
        err = fws_tuf_client_init_dir(r->meta_dir, data, len, eb);
    free(data);
    if (err == FWS_OK)
        snprintf(r->anchor, sizeof(r->anchor), "%s%s", path,
                 r->o->root ? "" : " (the repository's first root; pin one with --root)");
    return err;
}

fws_err vr_tuf_open(vr_run *r, fws_errbuf *eb)
{
    char url[PATH_MAX * 3 + 64];
    fws_tuf_client_config cfg = fws_tuf_client_defaults;
    cfg.fixed_now = r->o->now;
    fws_err err = metadata_url(r->o, url, sizeof(url), eb);
    if (err == FWS_OK)
        err = make_meta_dir(r, eb);
    if (err == FWS_OK)
        err = install_anchor(r, eb);
    if (err == FWS_OK && (err = fws_tuf_fetcher_new(NULL, &r->fetcher, eb)) == FWS_OK)
        r->have_fetcher = 1;
    if (err == FWS_OK)
        err = fws_tuf_client_new(r->meta_dir, url, &cfg, &r->fetcher, &r->client, eb);
    return err;
}

/* Removes the temporary metadata directory: the files the client stored, then the directory. */
static void remove_temp(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_MAX + 512];
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
}

void vr_tuf_close(vr_run *r)
{
    fws_tuf_client_free(r->client);
    if (r->have_fetcher)
        fws_tuf_fetcher_free(&r->fetcher);
    if (r->temp_meta)
        remove_temp(r->meta_dir);
    r->client = NULL;
    r->have_fetcher = 0;
}

fws_err vr_targets_expires(vr_run *r, fws_errbuf *eb)
{
    char path[PATH_MAX + 16];
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *doc = NULL, *sig = NULL;
    const char *exp = NULL;
    snprintf(path, sizeof(path), "%s/targets.json", r->meta_dir);
    fws_err err = fws_file_read(path, fws_tuf_client_defaults.targets_max, &data, &len, eb);
    if (err == FWS_OK)
        err = fws_json_parse(data, len, 0, NULL, &doc, eb);
    if (err == FWS_OK)
        err = fws_json_get_object(doc, "signed", &sig, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(sig, "expires", &exp, eb);
    if (err == FWS_OK && fws_tuf_time_parse(exp, &r->expires) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: bad expiry", path);
    json_decref(doc);
    free(data);
    return err;
}

/* ---- policy -----------------------------------------------------------------------------------
 */

static fws_err counter_read(void *ctx, uint64_t *value)
{
    *value = *(const uint64_t *)ctx;
    return FWS_OK;
}

static fws_err counter_write(void *ctx, uint64_t value)
{
    (void)ctx;
    (void)value;
    return FWS_ERR_STATE; /* a verifier never raises the counter */
}

static void join(const char *const *names, size_t n, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "," : "", names[i]);
}

static void policy_failed(vr_run *r, fws_err err)
{
    char list[512], when[FWS_TUF_TIME_LEN] = "?";
    if (err == FWS_ERR_EXPIRED) {
        if (fws_tuf_time_format(r->expires, when) != FWS_OK)
            snprintf(when, sizeof(when), "%lld", (long long)r->expires);
        vr_set(r, VR_POLICY, VR_FAILED, err, "the targets metadata expired at %s", when);
    } else if (err == FWS_ERR_HARDWARE) {
        join(r->v.hardware, r->v.n_hardware, list, sizeof(list));
        vr_set(r, VR_POLICY, VR_FAILED, err, "%s is for hardware %s, not %s", r->o->target, list,
               r->o->hardware);
    } else if (err == FWS_ERR_REGION) {
        join(r->v.regions, r->v.n_regions, list, sizeof(list));
        vr_set(r, VR_POLICY, VR_FAILED, err, "%s is for regions %s, not %s", r->o->target, list,
               r->o->region);
    } else if (err == FWS_ERR_ROLLBACK) {
        vr_set(r, VR_POLICY, VR_FAILED, err, "security counter %llu is below the installed %llu",
               (unsigned long long)r->t.security_counter,
               (unsigned long long)r->o->installed_counter);
    } else {
        vr_set(r, VR_POLICY, VR_FAILED, err, "custom.fwseal cannot be checked: %s",
               fws_strerror(err));
    }
}

/* fws_policy_check with the device facts given; a model or region not given is not checked:
 * the model is then taken from the target's list and its regions are not passed. */
void vr_check_policy(vr_run *r)
{
    const vr_opts *o = r->o;
    uint64_t installed = o->installed_counter;
    fws_counter_store cs = {counter_read, counter_write, &installed};
    char when[FWS_TUF_TIME_LEN] = "?", hw[160], rg[160];
    if (r->v.n_hardware == 0) {
        vr_set(r, VR_POLICY, VR_FAILED, FWS_ERR_SCHEMA, "%s names no hardware model", o->target);
        return;
    }
    fws_target_claims claims = {r->v.hardware,         r->v.n_hardware,
                                r->v.regions,          o->region ? r->v.n_regions : 0,
                                r->t.security_counter, r->expires};
    fws_device_facts facts = {o->hardware ? o->hardware : r->v.hardware[0], o->region, o->now, &cs};
    fws_err err = fws_policy_check(&claims, &facts);
    if (err != FWS_OK) {
        policy_failed(r, err);
        return;
    }
    if (fws_tuf_time_format(r->expires, when) != FWS_OK)
        snprintf(when, sizeof(when), "%lld", (long long)r->expires);
    snprintf(hw, sizeof(hw),
             o->hardware ? "hardware %.64s" : "hardware not checked (no --hardware)", o->hardware);
    snprintf(rg, sizeof(rg), o->region ? "region %.64s" : "region not checked (no --region)",
             o->region);
    vr_set(r, VR_POLICY, VR_OK, FWS_OK,
           "expires %s, %s, %s, security counter %llu >= installed %llu", when, hw, rg,
           (unsigned long long)r->t.security_counter, (unsigned long long)installed);
}

/* ---- the image --------------------------------------------------------------------------------
 */

static fws_err stream_image(vr_run *r, int fd, fws_image_verifier *v, fws_tuf_hasher *h,
                            fws_errbuf *eb)
{
    uint8_t *buf = malloc(VR_CHUNK);
    fws_err err = buf ? FWS_OK : FWS_ERR_NOMEM;
    for (;;) {
        ssize_t n = err == FWS_OK ? read(fd, buf, VR_CHUNK) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            err = fws_errf(eb, FWS_ERR_IO, "%s: %s", r->o->image, strerror(errno));
        if (n <= 0)
            break;
        err = fws_image_verify_update(v, buf, (size_t)n);
        if (err == FWS_ERR_LENGTH)
            err = fws_errf(eb, err, "%s is longer than the %llu bytes %s signs", r->o->image,
                           (unsigned long long)r->t.length, r->o->target);
        if (err == FWS_OK)
            fws_tuf_hasher_update(h, buf, (size_t)n);
    }
    free(buf);
    return err;
}

void vr_check_image(vr_run *r)
{
    fws_errbuf eb = {{0}};
    fws_image_verifier v;
    fws_tuf_hasher h;
    uint8_t got[FWS_SHA256_LEN];
    char hex[2 * FWS_SHA256_LEN + 1];
    int fd = open(r->o->image, O_RDONLY | O_CLOEXEC);
    fws_err err = fd >= 0 ? FWS_OK
                          : fws_errf(&eb, errno == ENOENT ? FWS_ERR_NOT_FOUND : FWS_ERR_IO,
                                     "%s: %s", r->o->image, strerror(errno));
    if (err == FWS_OK)
        err = fws_image_verify_init(&v, &fws_sha256_ops, r->t.length, r->t.sha256);
    if (err == FWS_OK)
        err = fws_tuf_hasher_init(&h, r->tt.hashes, &eb);
    if (err == FWS_OK)
        err = stream_image(r, fd, &v, &h, &eb);
    if (err == FWS_OK) {
        uint64_t seen = v.seen;
        err = fws_image_verify_final(&v, got);
        if (err == FWS_ERR_LENGTH)
            err = fws_errf(&eb, err, "%s is %llu bytes; %s signs %llu", r->o->image,
                           (unsigned long long)seen, r->o->target, (unsigned long long)r->t.length);
        if (err == FWS_ERR_DIGEST) {
            fws_hex_encode(got, FWS_SHA256_LEN, hex);
            err = fws_errf(&eb, err, "%s has SHA-256 %s, not the one %s signs", r->o->image, hex,
                           r->o->target);
        }
    }
    if (err == FWS_OK)
        err = fws_tuf_hasher_final(&h, r->o->image, &eb);
    if (fd >= 0)
        close(fd);
    if (err != FWS_OK) {
        vr_set_err(r, VR_IMAGE, err, &eb);
        return;
    }
    fws_hex_encode(got, FWS_SHA256_LEN, hex);
    vr_set(r, VR_IMAGE, VR_OK, FWS_OK, "%llu bytes, sha256 %s%s", (unsigned long long)r->t.length,
           hex, json_object_get(r->tt.hashes, "sha512") ? ", sha512 matches" : "");
}

/* ---- the ledger -------------------------------------------------------------------------------
 */

/* The vkey in a ledger directory's log.json. */
static fws_err vkey_from_log_json(const char *dir, fws_note_vkey *out, fws_errbuf *eb)
{
    char path[PATH_MAX + 16];
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *doc = NULL;
    const char *vkey = NULL;
    snprintf(path, sizeof(path), "%s/log.json", dir);
    fws_err err = fws_file_read(path, VR_LOGJSON_MAX, &data, &len, eb);
    if (err == FWS_OK)
        err = fws_json_parse(data, len, 0, NULL, &doc, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(doc, "vkey", &vkey, eb);
    if (err == FWS_OK)
        err = fws_note_vkey_parse(vkey, strlen(vkey), out, eb);
    if (err != FWS_OK)
        err = fws_errf(eb, err, "%s: no usable vkey", path);
    json_decref(doc);
    free(data);
    return err;
}

static fws_err open_ledger(const vr_opts *o, cli_log_source *src, fws_note_vkey *key, char *from,
                           size_t cap, fws_errbuf *eb)
{
    char where[PATH_MAX];
    size_t n = strlen(o->repo);
    while (n > 0 && o->repo[n - 1] == '/')
        n--;
    int len = o->ledger != NULL ? snprintf(where, sizeof(where), "%s", o->ledger)
                                : snprintf(where, sizeof(where), "%.*s/%s", (int)n, o->repo,
                                           o->is_url ? "log" : "ledger");
    if (len < 0 || (size_t)len >= sizeof(where))
        return fws_errf(eb, FWS_ERR_TOO_BIG, "the ledger's path or URL is too long");
    int url = strncmp(where, "http://", 7) == 0 || strncmp(where, "https://", 8) == 0;
    fws_err err = cli_log_source_open(src, url ? NULL : where, url ? where : NULL, eb);
    if (err == FWS_OK && o->ledger_vkey != NULL) {
        err = cli_log_load_vkey(o->ledger_vkey, key, eb);
        snprintf(from, cap, "--ledger-vkey");
    } else if (err == FWS_OK) {
        err = vkey_from_log_json(where, key, eb);
        snprintf(from, cap, "%.200s/log.json", where);
    }
    return err;
}

void vr_check_ledger(vr_run *r)
{
    fws_errbuf eb = {{0}};
    cli_log_source src;
    fws_note_vkey key;
    fws_ledger_seen seen;
    char from[256] = "", vkey[FWS_NOTE_VKEY_MAX] = "";
    fws_ledger_want w = {r->v.ledger_index, r->t.product, r->t.version, r->t.sha256, r->t.length};
    memset(&src, 0, sizeof(src));
    fws_err err = open_ledger(r->o, &src, &key, from, sizeof(from), &eb);
    if (err == FWS_OK && fws_note_vkey_format(&key, vkey, NULL) != FWS_OK)
        snprintf(vkey, sizeof(vkey), "%s", key.name);
    if (err == FWS_OK)
        err = fws_agent_ledger_verify(&src.src, &key, &w, &seen, &eb);
    cli_log_source_close(&src);
    if (err == FWS_ERR_KEY_MISMATCH || err == FWS_ERR_SIGNATURE) {
        vr_set(r, VR_LEDGER, VR_FAILED, err,
               "the ledger's checkpoint is not signed by its key %s (from %s): %s", vkey, from,
               eb.msg[0] ? eb.msg : fws_strerror(err));
        return;
    }
    if (err != FWS_OK) {
        vr_set_err(r, VR_LEDGER, err, &eb);
        return;
    }
    vr_set(r, VR_LEDGER, VR_OK, FWS_OK,
           "entry %llu is the release record of %s %s with this image, included in the "
           "checkpoint of size %llu signed by %s (from %s)",
           (unsigned long long)w.index, r->t.product, r->t.version, (unsigned long long)seen.size,
           vkey, from);
}
