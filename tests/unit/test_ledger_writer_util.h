/* Helpers for the ledger write-side tests: temporary directories, keys, sample records and a
 * reference root computed independently of the tiles. */
#ifndef TEST_LEDGER_WRITER_UTIL_H
#define TEST_LEDGER_WRITER_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fwseal/crypto.h"
#include "fwseal/ledger.h"
#include "fwseal/merkle.h"
#include "fwseal/note.h"
#include "fwseal/tiles.h"
#include "fwseal/util.h"

static inline void tw_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d != NULL && (de = readdir(d)) != NULL) {
            char sub[4096];
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
            tw_rmtree(sub);
        }
        if (d != NULL)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* A fresh temporary directory; *base receives its parent to remove at the end. */
static inline void tw_tmpdir(char out[256])
{
    snprintf(out, 256, "/tmp/fws-ledger-test.XXXXXX");
    if (mkdtemp(out) == NULL)
        abort();
}

static inline fws_signer tw_signer(void)
{
    fws_key *k = NULL;
    fws_signer s;
    if (fws_key_generate(FWS_KEY_ED25519, &k) != FWS_OK || fws_signer_from_key(k, &s) != FWS_OK)
        abort();
    return s;
}

/* Creates a log in dir/name with a new key; returns the signer (caller frees). */
static inline fws_signer tw_make_log(const char *path, const char *origin, int any_entries,
                                     fws_note_vkey *vkey)
{
    fws_signer s = tw_signer();
    fws_ledger_config cfg = {origin, "/nonexistent/key.pem", any_entries};
    char text[FWS_NOTE_VKEY_MAX];
    fws_errbuf eb = {{0}};
    if (fws_ledger_create(path, &cfg, &s, text, &eb) != FWS_OK) {
        fprintf(stderr, "create: %s\n", eb.msg);
        abort();
    }
    if (vkey != NULL && fws_note_vkey_parse(text, strlen(text), vkey, NULL) != FWS_OK)
        abort();
    return s;
}

static inline fws_ledger *tw_open(const char *path, const fws_signer *s)
{
    fws_ledger *l = NULL;
    fws_errbuf eb = {{0}};
    if (fws_ledger_open(path, NULL, &l, &eb) != FWS_OK) {
        fprintf(stderr, "open: %s\n", eb.msg);
        abort();
    }
    if (s != NULL && fws_ledger_set_signer(l, s, &eb) != FWS_OK)
        abort();
    return l;
}

/* A valid install record whose fields depend on n (so each n is a distinct entry). */
static inline size_t tw_install(char *out, size_t cap, unsigned n)
{
    return (size_t)snprintf(out, cap,
                            "{\"type\":\"install\",\"schema\":1,\"time\":\"2024-05-01T12:00:00Z\","
                            "\"device\":\"dev-%u\",\"product\":\"hub\",\"fromVersion\":\"1.0.%u\","
                            "\"toVersion\":\"1.1.%u\",\"image\":{\"sha256\":\"%064x\"},"
                            "\"result\":\"success\"}",
                            n % 17, n, n, n);
}

/* Reference root of entries[0..n) through a compact range (no tiles involved). */
static inline void tw_ref_root(uint8_t *const *entries, const size_t *lens, uint64_t n,
                               uint8_t root[32])
{
    fws_merkle_range r;
    uint8_t leaf[32];
    fws_merkle_range_init(&r);
    for (uint64_t i = 0; i < n; i++) {
        if (fws_merkle_leaf_hash(&fws_sha256_ops, entries[i], lens[i], leaf) != FWS_OK ||
            fws_merkle_range_append(&r, &fws_sha256_ops, leaf) != FWS_OK)
            abort();
    }
    if (fws_merkle_range_root(&r, &fws_sha256_ops, root) != FWS_OK)
        abort();
}

/* Opens a reader on a log directory. */
typedef struct tw_reader {
    fws_tile_dir dir;
    fws_tile_source src;
    fws_tlog *t;
} tw_reader;

static inline tw_reader *tw_reader_open(const char *path)
{
    tw_reader *r = calloc(1, sizeof(*r));
    if (r == NULL || fws_tile_dir_source(&r->dir, path, &r->src, NULL) != FWS_OK ||
        fws_tlog_open(&r->src, &fws_sha256_ops, &r->t, NULL) != FWS_OK)
        abort();
    return r;
}

static inline void tw_reader_close(tw_reader *r)
{
    fws_tlog_close(r->t);
    free(r);
}

/* Reads a whole file into a NUL-terminated malloc'd buffer. */
static inline char *tw_slurp(const char *path, size_t *len)
{
    uint8_t *d = NULL;
    size_t n = 0;
    if (fws_file_read(path, 1 << 26, &d, &n, NULL) != FWS_OK)
        return NULL;
    if (len != NULL)
        *len = n;
    return (char *)d;
}

static inline void tw_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        abort();
}

#endif
