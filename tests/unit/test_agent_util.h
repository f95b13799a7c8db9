/* Shared by the agent's unit tests: a simulated device with file slots in a temporary
 * directory, two firmware images, and helpers to boot it. */
#ifndef TEST_AGENT_UTIL_H
#define TEST_AGENT_UTIL_H

#include <dirent.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fwseal/agent.h"
#include "fwseal/crypto.h"
#include "fwseal/util.h"

#define V1_LEN 100000
#define V2_LEN 300001
#define V2_COUNTER 5

typedef struct device {
    char root[512];
    char slots[600];
    char state[600];
    char v1_path[600];
    char v2_path[600];
    uint8_t *v1, *v2;
    uint8_t v1_sha[FWS_SHA256_LEN], v2_sha[FWS_SHA256_LEN];
    fws_signer signer;
    fws_key *pub;
    int broken_v2; /* the v2 image does not come up when booted */
} device;

static inline int64_t fixed_now(void)
{
    return 1800000000; /* 2027-01-15 */
}

static inline void rm_tree(const char *p)
{
    struct stat sb;
    if (lstat(p, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(p);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char sub[PATH_MAX];
            snprintf(sub, sizeof(sub), "%s/%s", p, e->d_name);
            rm_tree(sub);
        }
        if (d != NULL)
            closedir(d);
        rmdir(p);
    } else {
        unlink(p);
    }
}

static inline void fill_image(uint8_t *b, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (uint8_t)x;
    }
}

static inline void device_make(device *d)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->root, sizeof(d->root), "%s/fwseal-agent-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(d->root) == NULL)
        abort();
    snprintf(d->slots, sizeof(d->slots), "%s/slots", d->root);
    snprintf(d->state, sizeof(d->state), "%s/state", d->root);
    snprintf(d->v1_path, sizeof(d->v1_path), "%s/v1.img", d->root);
    snprintf(d->v2_path, sizeof(d->v2_path), "%s/v2.img", d->root);
    d->v1 = malloc(V1_LEN);
    d->v2 = malloc(V2_LEN);
    fill_image(d->v1, V1_LEN, 1);
    fill_image(d->v2, V2_LEN, 2);
    fws_sha256(d->v1, V1_LEN, d->v1_sha);
    fws_sha256(d->v2, V2_LEN, d->v2_sha);
    if (fws_file_write_atomic(d->v1_path, d->v1, V1_LEN, 0644, 1, NULL) != FWS_OK ||
        fws_file_write_atomic(d->v2_path, d->v2, V2_LEN, 0644, 1, NULL) != FWS_OK ||
        fws_slot_file_provision(d->slots, d->v1, V1_LEN, NULL) != FWS_OK)
        abort();
    fws_key *k = NULL;
    if (fws_key_generate(FWS_KEY_ED25519, &k) != FWS_OK ||
        fws_key_public_dup(k, &d->pub) != FWS_OK || fws_signer_from_key(k, &d->signer) != FWS_OK)
        abort();
}

static inline void device_free(device *d)
{
    rm_tree(d->root);
    free(d->v1);
    free(d->v2);
    fws_signer_free(&d->signer);
    fws_key_free(d->pub);
}

static inline void device_target(const device *d, fws_agent_target *t)
{
    memset(t, 0, sizeof(*t));
    strcpy(t->product, "hub");
    strcpy(t->version, "1.1.0");
    strcpy(t->path, "hub/1.1.0/fw.bin");
    snprintf(t->url, sizeof(t->url), "%s", d->v2_path);
    t->length = V2_LEN;
    memcpy(t->sha256, d->v2_sha, FWS_SHA256_LEN);
    t->security_counter = V2_COUNTER;
}

static inline fws_err device_open(device *d, const fws_agent_io *io, const char *health,
                                  fws_slot_backend **slots, fws_agent **agent, fws_errbuf *eb)
{
    fws_slot_config sc = {"file", d->slots, NULL, NULL, NULL, io};
    fws_err err = fws_slot_open(&sc, slots, eb);
    if (err != FWS_OK)
        return err;
    fws_agent_config ac;
    memset(&ac, 0, sizeof(ac));
    ac.state_dir = d->state;
    ac.slots = *slots;
    ac.io = io;
    ac.device_id = "dev-0001";
    ac.signer = &d->signer;
    ac.health_check = health;
    ac.now = fixed_now;
    fws_agent_first first = {"hub", "1.0.0", d->v1_sha};
    err = fws_agent_open(&ac, &first, agent, eb);
    if (err != FWS_OK) {
        fws_slot_close(*slots);
        *slots = NULL;
    }
    return err;
}

/* What the file holds, compared with an image. */
static inline int file_equals(const char *path, const uint8_t *img, size_t len)
{
    uint8_t *data = NULL;
    size_t n = 0;
    if (fws_file_read(path, 1u << 24, &data, &n, NULL) != FWS_OK)
        return 0;
    int same = n == len && memcmp(data, img, len) == 0;
    free(data);
    return same;
}

/* The simulated kernel: an image boots when it is exactly one of the released images. */
static inline int device_boots(void *ctx, int slot, const char *path)
{
    device *d = ctx;
    (void)slot;
    if (file_equals(path, d->v1, V1_LEN))
        return 1;
    return !d->broken_v2 && file_equals(path, d->v2, V2_LEN);
}

/* Power on: the bootloader (plain I/O: the agent's faults do not reach it) picks a slot. */
static inline fws_err device_boot(device *d, int *booted)
{
    fws_slot_backend *b = NULL;
    fws_slot_config sc = {"file", d->slots, NULL, NULL, NULL, NULL};
    fws_err err = fws_slot_open(&sc, &b, NULL);
    if (err == FWS_OK)
        err = fws_slot_simulate_boot(b, device_boots, d, booted, NULL);
    fws_slot_close(b);
    return err;
}

/* Reports of a type in the queue, each checked against the device key. */
static inline size_t count_reports(const device *d, const char *type)
{
    char needle[64];
    snprintf(needle, sizeof(needle), "\"type\":\"%s\"", type);
    size_t n = 0;
    for (unsigned i = 1; i < 256; i++) {
        char path[PATH_MAX + 64];
        uint8_t *data = NULL;
        size_t len = 0;
        char *payload = NULL;
        size_t plen = 0;
        snprintf(path, sizeof(path), "%s/reports/%016u.json", d->state, i);
        if (fws_file_read(path, 1u << 20, &data, &len, NULL) != FWS_OK)
            continue;
        if (fws_report_verify(data, len, d->pub, &payload, &plen, NULL) != FWS_OK)
            abort(); /* every queued report must verify */
        if (strstr(payload, needle) != NULL)
            n++;
        free(payload);
        free(data);
    }
    return n;
}

#endif
