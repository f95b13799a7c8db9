/* Reports: signed with the device key (DSSE), queued on disk atomically, sent until the server
 * acknowledges them. */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/dsse.h"
#include "fwseal/json.h"
#include "fwseal/tuf.h"
#include "fwseal/util.h"
#include "agent/internal.h"

#define REPORT_NAME_LEN 22 /* 16 digits, ".json" and a NUL */

static const char *kind_name(fws_report_kind k)
{
    return k == FWS_REPORT_INSTALL    ? "install"
           : k == FWS_REPORT_ROLLBACK ? "rollback"
                                      : "verification-failure";
}

static json_t *payload_json(const fws_agent *a, fws_report_kind kind, const char *reason,
                            uint64_t seq)
{
    const fws_agent_target *t = &a->st.target;
    char hex[2 * FWS_SHA256_LEN + 1], when[FWS_TUF_TIME_LEN], id[FWS_AGENT_PRODUCT_MAX + 32];
    fws_hex_encode(t->sha256, FWS_SHA256_LEN, hex);
    if (fws_tuf_time_format(fws_agent_now(a), when) != FWS_OK)
        snprintf(when, sizeof(when), "1970-01-01T00:00:00Z");
    snprintf(id, sizeof(id), "%s-%" PRIu64, a->device_id, seq);
    json_t *o = json_object();
    json_t *img = json_object();
    json_object_set_new(img, "sha256", json_string(hex));
    json_object_set_new(img, "length", json_integer((json_int_t)t->length));
    json_object_set_new(o, "type", json_string(kind_name(kind)));
    json_object_set_new(o, "schema", json_integer(1));
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "seq", json_integer((json_int_t)seq));
    json_object_set_new(o, "device", json_string(a->device_id));
    json_object_set_new(o, "product", json_string(t->product));
    json_object_set_new(o, "fromVersion", json_string(a->st.from_version));
    json_object_set_new(o, "toVersion", json_string(t->version));
    json_object_set_new(o, "target", json_string(t->path));
    json_object_set_new(o, "url", json_string(t->url));
    json_object_set_new(o, "image", img);
    json_object_set_new(o, "result",
                        json_string(kind == FWS_REPORT_INSTALL ? "success" : "failure"));
    json_object_set_new(o, "reason", json_string(reason));
    json_object_set_new(o, "slot", json_string(fws_slot_name(a->st.target_slot)));
    json_object_set_new(o, "time", json_string(when));
    return o;
}

/* An envelope without signatures, for agents that run without a device key (tests). */
static fws_err unsigned_envelope(const char *payload, size_t len, char **out, size_t *out_len)
{
    char *b64 = malloc(FWS_BASE64_LEN(len) + 1);
    if (b64 == NULL)
        return FWS_ERR_NOMEM;
    fws_base64_encode((const uint8_t *)payload, len, b64);
    json_t *o = json_object();
    json_object_set_new(o, "payload", json_string(b64));
    json_object_set_new(o, "payloadType", json_string(FWS_REPORT_PAYLOAD_TYPE));
    json_object_set_new(o, "signatures", json_array());
    free(b64);
    fws_err err = fws_json_canonical(o, out, out_len);
    json_decref(o);
    return err;
}

static fws_err queue_path(const fws_agent *a, uint64_t seq, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/reports/%016" PRIu64 ".json", a->state_dir, seq);
    return n < (int)cap ? FWS_OK : FWS_ERR_TOO_BIG;
}

static int is_report_name(const char *name)
{
    if (strlen(name) != REPORT_NAME_LEN - 1 || strcmp(name + 16, ".json") != 0)
        return 0;
    for (int i = 0; i < 16; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
    }
    return 1;
}

static int cmp_names(const void *x, const void *y)
{
    return strcmp((const char *)x, (const char *)y);
}

/* The queued report names, sorted (oldest first), at most FWS_REPORT_QUEUE_MAX + 1. */
static fws_err list_queue(const fws_agent *a, char (**names)[REPORT_NAME_LEN], size_t *n,
                          fws_errbuf *eb)
{
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/reports", a->state_dir);
    DIR *d = opendir(dir);
    if (d == NULL)
        return fws_errf(eb, FWS_ERR_IO, "%s: cannot list", dir);
    char(*list)[REPORT_NAME_LEN] = calloc(FWS_REPORT_QUEUE_MAX + 1, REPORT_NAME_LEN);
    size_t count = 0;
    struct dirent *e;
    while (list != NULL && (e = readdir(d)) != NULL) {
        if (!is_report_name(e->d_name))
            continue;
        if (count == FWS_REPORT_QUEUE_MAX + 1) {
            qsort(list, count, REPORT_NAME_LEN, cmp_names);
            if (strcmp(e->d_name, list[count - 1]) >= 0)
                continue;
            count--; /* keep the oldest ones */
        }
        memcpy(list[count++], e->d_name, REPORT_NAME_LEN);
    }
    closedir(d);
    if (list == NULL)
        return FWS_ERR_NOMEM;
    qsort(list, count, REPORT_NAME_LEN, cmp_names);
    *names = list;
    *n = count;
    return FWS_OK;
}

static fws_err drop_report(fws_agent *a, const char *name, fws_errbuf *eb)
{
    char path[PATH_MAX + 64], dir[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/reports", a->state_dir);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (a->io->unlink(a->io->ctx, path) != 0 || a->io->fsync_dir(a->io->ctx, dir) != 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: cannot remove", path);
    return FWS_OK;
}

/* Moves a report the server refused for good into STATE/reports-refused/, out of the queue,
 * so it stops blocking the reports behind it and stays on the device for a look. */
static fws_err set_aside_report(fws_agent *a, const char *name, fws_errbuf *eb)
{
    char from[PATH_MAX + 64], to[PATH_MAX + 64], dir[PATH_MAX + 24], qdir[PATH_MAX + 16];
    snprintf(qdir, sizeof(qdir), "%s/reports", a->state_dir);
    snprintf(dir, sizeof(dir), "%s/reports-refused", a->state_dir);
    snprintf(from, sizeof(from), "%s/%s", qdir, name);
    snprintf(to, sizeof(to), "%s/%s", dir, name);
    fws_err err = fws_mkdirs(dir, 0700, eb);
    if (err == FWS_OK &&
        (a->io->rename(a->io->ctx, from, to) != 0 || a->io->fsync_dir(a->io->ctx, dir) != 0 ||
         a->io->fsync_dir(a->io->ctx, qdir) != 0))
        err = fws_errf(eb, FWS_ERR_IO, "%s: cannot set the refused report aside", from);
    return err;
}

static fws_err make_room(fws_agent *a, fws_errbuf *eb)
{
    char(*names)[REPORT_NAME_LEN] = NULL;
    size_t n = 0;
    fws_err err = list_queue(a, &names, &n, eb);
    for (size_t i = 0; err == FWS_OK && n >= FWS_REPORT_QUEUE_MAX && i < n; i++, n--)
        err = drop_report(a, names[i], eb);
    free(names);
    return err;
}

fws_err fws_agent_report_queue(fws_agent *a, fws_report_kind kind, const char *reason,
                               fws_errbuf *eb)
{
    uint64_t seq = a->st.report_seq + 1;
    char *payload = NULL, *env = NULL, path[PATH_MAX + 64];
    size_t plen = 0, elen = 0;
    json_t *o = payload_json(a, kind, reason, seq);
    fws_err err = o ? fws_json_canonical(o, &payload, &plen) : FWS_ERR_NOMEM;
    json_decref(o);
    if (err == FWS_OK && a->signer != NULL) {
        const fws_signer *signers[1] = {a->signer};
        err = fws_dsse_sign(FWS_REPORT_PAYLOAD_TYPE, (const uint8_t *)payload, plen, signers, 1,
                            &env, &elen, eb);
    } else if (err == FWS_OK) {
        err = unsigned_envelope(payload, plen, &env, &elen);
    }
    if (err == FWS_OK && elen > FWS_REPORT_MAX)
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "report of %zu bytes", elen);
    if (err == FWS_OK)
        err = make_room(a, eb);
    if (err == FWS_OK)
        err = queue_path(a, seq, path, sizeof(path));
    if (err == FWS_OK)
        err = fws_agent_write_atomic(a->io, path, env, elen, eb);
    if (err == FWS_OK)
        a->st.report_seq = seq; /* persisted with the transition that follows */
    free(payload);
    free(env);
    return err;
}

fws_err fws_agent_reports_pending(const fws_agent *a, size_t *n, fws_errbuf *eb)
{
    char(*names)[REPORT_NAME_LEN] = NULL;
    fws_err err = list_queue(a, &names, n, eb);
    free(names);
    return err;
}

fws_err fws_agent_reports_flush(fws_agent *a, fws_report_send_fn send, void *ctx, size_t *sent,
                                fws_errbuf *eb)
{
    char(*names)[REPORT_NAME_LEN] = NULL;
    size_t n = 0, done = 0;
    fws_err err = list_queue(a, &names, &n, eb);
    for (size_t i = 0; err == FWS_OK && i < n; i++) {
        char path[PATH_MAX + 64], id[REPORT_NAME_LEN];
        uint8_t *data = NULL;
        size_t len = 0;
        snprintf(path, sizeof(path), "%s/reports/%s", a->state_dir, names[i]);
        snprintf(id, sizeof(id), "%.16s", names[i]);
        err = fws_file_read(path, FWS_REPORT_MAX, &data, &len, eb);
        if (err == FWS_OK)
            err = send(ctx, id, data, len, eb);
        if (err == FWS_ERR_SCHEMA) {
            /* refused for good (a definitive 4xx): keep it aside and go on with the rest */
            free(data);
            err = set_aside_report(a, names[i], eb);
            continue;
        }
        if (err == FWS_OK)
            err = drop_report(a, names[i], eb);
        if (err == FWS_OK)
            done++;
        free(data);
    }
    free(names);
    if (sent != NULL)
        *sent = done;
    return err;
}

/* Re-signs one queued report with the agent's signer when it is this device's report signed by
 * another key. */
static fws_err resign_one(fws_agent *a, const char *path, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0, elen = 0;
    fws_dsse_envelope env;
    json_t *payload = NULL;
    const char *device = NULL;
    char *out = NULL;
    memset(&env, 0, sizeof(env));
    fws_err err = fws_file_read(path, FWS_REPORT_MAX, &data, &len, eb);
    if (err == FWS_OK && fws_dsse_parse(data, len, &env, NULL) == FWS_OK &&
        strcmp(env.payload_type, FWS_REPORT_PAYLOAD_TYPE) == 0 &&
        (env.n_sigs != 1 || strcmp(env.sigs[0].keyid, a->signer->keyid) != 0) &&
        fws_json_parse(env.unverified_payload, env.payload_len, FWS_JSON_NO_FLOATS, NULL, &payload,
                       NULL) == FWS_OK &&
        fws_json_get_string(payload, "device", &device, NULL) == FWS_OK &&
        strcmp(device, a->device_id) == 0) {
        const fws_signer *signers[1] = {a->signer};
        err = fws_dsse_sign(FWS_REPORT_PAYLOAD_TYPE, env.unverified_payload, env.payload_len,
                            signers, 1, &out, &elen, eb);
        if (err == FWS_OK)
            err = fws_agent_write_atomic(a->io, path, out, elen, eb);
    }
    free(out);
    json_decref(payload);
    fws_dsse_envelope_free(&env);
    free(data);
    return err;
}

fws_err fws_agent_set_signer(fws_agent *a, const fws_signer *signer, fws_errbuf *eb)
{
    char(*names)[REPORT_NAME_LEN] = NULL;
    size_t n = 0;
    a->signer = signer;
    if (signer == NULL)
        return FWS_OK;
    fws_err err = list_queue(a, &names, &n, eb);
    for (size_t i = 0; err == FWS_OK && i < n; i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof(path), "%s/reports/%s", a->state_dir, names[i]);
        err = resign_one(a, path, eb);
    }
    free(names);
    return err;
}

fws_err fws_report_verify(const uint8_t *unverified, size_t len, const fws_key *device_pub,
                          char **payload, size_t *payload_len, fws_errbuf *eb)
{
    fws_dsse_envelope env;
    memset(&env, 0, sizeof(env));
    fws_err err = fws_dsse_parse(unverified, len, &env, eb);
    if (err == FWS_OK && strcmp(env.payload_type, FWS_REPORT_PAYLOAD_TYPE) != 0)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "payload type \"%s\" is not a report", env.payload_type);
    const fws_key *keys[1] = {device_pub};
    if (err == FWS_OK)
        err = fws_dsse_verify(&env, keys, 1, 1, eb);
    char *out = NULL;
    if (err == FWS_OK && (out = malloc(env.payload_len + 1)) == NULL)
        err = FWS_ERR_NOMEM;
    if (err == FWS_OK) {
        memcpy(out, env.unverified_payload, env.payload_len);
        out[env.payload_len] = '\0';
        *payload = out;
        *payload_len = env.payload_len;
    }
    fws_dsse_envelope_free(&env);
    return err;
}
