/* fwseal log: the transparency ledger. Dispatches to one function per subcommand and holds
 * the helpers the ledger commands share (keys, vkeys, tile sources). */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "fwseal/util.h"

static const cli_cmd log_commands[] = {
    {"init", "create a log directory and print its vkey", cmd_log_init},
    {"append", "append records (or any entries) durably; print their indexes", cmd_log_append},
    {"checkpoint", "sign (if needed) and print the current checkpoint", cmd_log_checkpoint},
    {"get", "print entries, each checked by an inclusion proof", cmd_log_get},
    {"search", "find record indexes by type, device or release", cmd_log_search},
    {"prove", "write an inclusion proof (tlog-proof) for an entry", cmd_log_prove},
    {"verify-proof", "verify an entry against a tlog-proof file", cmd_log_verify_proof},
    {"consistency", "prove that one checkpoint extends another", cmd_log_consistency},
    {"verify", "verify a whole log: checkpoint, tiles, entries", cmd_log_verify},
    {"witness", "check a log's new checkpoint and cosign it", cmd_log_witness},
    {"monitor", "follow a log and re-verify everything it adds", cmd_log_monitor},
    {"mirror", "keep a verified copy of a remote log (consistency on every pull)", cmd_log_mirror},
    {NULL, NULL, NULL},
};

int cmd_log(int argc, char **argv)
{
    return cli_dispatch("log", log_commands, argc, argv);
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* An encrypted PKCS#8 file needs a passphrase; a plain one (openssl genpkey) does not. */
static fws_err key_is_encrypted(const char *path, int *encrypted, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_err err = fws_file_read(path, 1 << 20, &data, &len, eb);
    if (err != FWS_OK)
        return err;
    *encrypted = strstr((const char *)data, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL;
    fws_wipe(data, len);
    free(data);
    return FWS_OK;
}

fws_err cli_log_load_signer(const char *path, const char *passfile, fws_signer *out, fws_errbuf *eb)
{
    fws_key *k = NULL;
    int encrypted = 0;
    fws_err err = key_is_encrypted(path, &encrypted, eb);
    if (err == FWS_OK && encrypted)
        err = cli_load_private_key(path, passfile, &k, eb);
    else if (err == FWS_OK)
        err = fws_key_load_private(path, NULL, &k, eb);
    if (err == FWS_OK && fws_key_get_type(k) != FWS_KEY_ED25519)
        err = fws_errf(eb, FWS_ERR_KEY_TYPE, "%s: a ledger key must be Ed25519", path);
    if (err == FWS_OK) {
        err = fws_signer_from_key(k, out);
        k = NULL;
    }
    fws_key_free(k);
    return err;
}

fws_err cli_log_load_vkey(const char *arg, fws_note_vkey *out, fws_errbuf *eb)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fws_errbuf why = {{0}};
    /* A file holding the vkey, or the vkey itself ("name+hex+base64"). */
    fws_err err = fws_file_read(arg, 1024, &data, &len, &why);
    if (err != FWS_OK && strchr(arg, '+') != NULL)
        return fws_note_vkey_parse(arg, strlen(arg), out, eb);
    if (err != FWS_OK)
        return fws_errf(eb, err, "--vkey: %s", why.msg);
    err = fws_note_vkey_parse((const char *)data, len, out, &why);
    free(data);
    if (err != FWS_OK)
        return fws_errf(eb, err, "%s: not a vkey: %s", arg, why.msg);
    return FWS_OK;
}

fws_err cli_log_source_open(cli_log_source *s, const char *dir, const char *url, fws_errbuf *eb)
{
    memset(s, 0, sizeof(*s));
    if ((dir == NULL) == (url == NULL))
        return fws_errf(eb, FWS_ERR_USAGE, "give exactly one of --dir and --url");
    if (url != NULL)
        return fws_http_source_open(url, 0, &s->http, &s->src, eb);
    s->dir = malloc(sizeof(*s->dir));
    if (s->dir == NULL)
        return fws_errf(eb, FWS_ERR_NOMEM, "out of memory");
    return fws_tile_dir_source(s->dir, dir, &s->src, eb);
}

void cli_log_source_close(cli_log_source *s)
{
    fws_http_source_close(s->http);
    free(s->dir);
    memset(s, 0, sizeof(*s));
}
