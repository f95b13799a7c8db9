/* Operator tokens: only the SHA-256 of each token string is stored; a presented token is
 * hashed, fetched by its hash and the hash compared again in constant time. */
#include <stdio.h>
#include <string.h>
#include "fwseal/core.h"
#include "fwseal/crypto.h"
#include "store/internal.h"

#define TOKEN_LEN (FWS_STORE_TOKEN_SIZE - 1)
#define PREFIX_LEN (sizeof(FWS_STORE_TOKEN_PREFIX) - 1)

_Static_assert(PREFIX_LEN + 64 == TOKEN_LEN, "prefix and 64 hex digits");

static fws_err read_token(const store_row *r, fws_store_token *out, fws_errbuf *eb)
{
    fws_store_token t;
    int role = 0;
    fws_err err;
    memset(&t, 0, sizeof(t));
    t.id = row_int(r, 0);
    if ((err = row_copy(r, 1, t.name, sizeof(t.name), "token name", eb)) != FWS_OK ||
        (err = row_enum(r, 2, enum_role, &role, "token role", eb)) != FWS_OK ||
        (err = row_digest(r, 3, t.sha256, 0, "token hash", eb)) != FWS_OK)
        return err;
    t.role = (fws_store_role)role;
    t.created_at = row_int(r, 4);
    t.expires_at = row_int(r, 5);
    t.revoked_at = row_int(r, 6);
    *out = t;
    return FWS_OK;
}

static fws_err token_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    return read_token(r, ctx, eb);
}

fws_err fws_store_token_create(fws_store *s, const char *name, fws_store_role role, int64_t now,
                               int64_t expires_at, char token[FWS_STORE_TOKEN_SIZE],
                               fws_store_token *out, fws_errbuf *eb)
{
    uint8_t raw[32], hash[32];
    char tok[FWS_STORE_TOKEN_SIZE], hex[65];
    int64_t id = 0;
    fws_err err;
    if (s == NULL || token == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "token: missing argument");
    if ((err = chk_str("token name", name, FWS_STORE_LABEL_MAX, CHK_LABEL, eb)) != FWS_OK ||
        (err = chk_time("token creation", now, eb)) != FWS_OK ||
        (err = chk_time("token expiry", expires_at, eb)) != FWS_OK)
        return err;
    if (fws_store_role_name(role) == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "token: unknown role %d", (int)role);
    if (expires_at != 0 && expires_at <= now)
        return fws_errf(eb, FWS_ERR_ARG, "token: expires before it is created");
    if (fws_random(raw, sizeof(raw)) != FWS_OK)
        return fws_errf(eb, FWS_ERR_CRYPTO, "token: no randomness");
    memcpy(tok, FWS_STORE_TOKEN_PREFIX, PREFIX_LEN);
    fws_hex_encode(raw, sizeof(raw), tok + PREFIX_LEN);
    fws_sha256(tok, TOKEN_LEN, hash);
    hex32(hash, hex);
    store_arg a[] = {ARG_T(name), ARG_T(fws_store_role_name(role)), ARG_T(hex), ARG_I(now),
                     ARG_I(expires_at)};
    err = store_one(s, ST_TOKEN_INSERT, a, 5, row_get_int, &id, "new token", eb);
    if (err == FWS_OK) {
        memcpy(token, tok, sizeof(tok));
        if (out != NULL) {
            memset(out, 0, sizeof(*out));
            out->id = id;
            snprintf(out->name, sizeof(out->name), "%s", name);
            out->role = role;
            memcpy(out->sha256, hash, sizeof(hash));
            out->created_at = now;
            out->expires_at = expires_at;
        }
    }
    fws_wipe(raw, sizeof(raw));
    fws_wipe(tok, sizeof(tok));
    return err;
}

fws_err fws_store_token_find(fws_store *s, const uint8_t sha256[32], fws_store_token *out,
                             fws_errbuf *eb)
{
    char hex[65];
    fws_store_token t;
    if (s == NULL || sha256 == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "token: missing argument");
    hex32(sha256, hex);
    store_arg a[] = {ARG_T(hex)};
    fws_err err = store_one(s, ST_TOKEN_BY_HASH, a, 1, token_row, &t, "token", eb);
    /* Fetched by hash; compared once more in constant time before it counts. */
    if (err == FWS_OK && !fws_ct_eq(t.sha256, sha256, 32))
        err = fws_errf(eb, FWS_ERR_NOT_FOUND, "token not found");
    if (err == FWS_OK)
        *out = t;
    return err;
}

static int token_format_ok(const char *t)
{
    if (strnlen(t, TOKEN_LEN + 1) != TOKEN_LEN ||
        memcmp(t, FWS_STORE_TOKEN_PREFIX, PREFIX_LEN) != 0)
        return 0;
    for (size_t i = PREFIX_LEN; i < TOKEN_LEN; i++) {
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
            return 0;
    }
    return 1;
}

fws_err fws_store_token_auth(fws_store *s, const char *unverified_token, int64_t now,
                             fws_store_token *out, fws_errbuf *eb)
{
    uint8_t hash[32];
    fws_store_token t;
    fws_err err;
    if (s == NULL || unverified_token == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "token: missing argument");
    if (!token_format_ok(unverified_token))
        return fws_errf(eb, FWS_ERR_FORMAT, "token: not an fwseal operator token");
    fws_sha256(unverified_token, TOKEN_LEN, hash);
    err = fws_store_token_find(s, hash, &t, eb);
    fws_wipe(hash, sizeof(hash));
    if (err != FWS_OK)
        return err;
    if (t.revoked_at != 0)
        return fws_errf(eb, FWS_ERR_STATE, "token %lld was revoked", (long long)t.id);
    if (t.expires_at != 0 && t.expires_at <= now)
        return fws_errf(eb, FWS_ERR_EXPIRED, "token %lld has expired", (long long)t.id);
    *out = t;
    return FWS_OK;
}

fws_err fws_store_token_get(fws_store *s, int64_t id, fws_store_token *out, fws_errbuf *eb)
{
    fws_store_token t;
    if (s == NULL || out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "token: missing argument");
    store_arg a[] = {ARG_I(id)};
    fws_err err = store_one(s, ST_TOKEN_BY_ID, a, 1, token_row, &t, "token", eb);
    if (err == FWS_OK)
        *out = t;
    return err;
}

fws_err fws_store_token_revoke(fws_store *s, int64_t id, int64_t now, fws_errbuf *eb)
{
    int64_t changes = 0;
    fws_store_token t;
    fws_err err;
    if (s == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "token: missing argument");
    if ((err = chk_time("revocation", now, eb)) != FWS_OK)
        return err;
    store_arg a[] = {ARG_I(id), ARG_I(now)};
    if ((err = store_run(s, ST_TOKEN_REVOKE, a, 2, NULL, NULL, &changes, eb)) != FWS_OK)
        return err;
    if (changes == 0) /* unknown, or revoked already (which is fine) */
        return fws_store_token_get(s, id, &t, eb);
    return FWS_OK;
}

typedef struct token_list {
    fws_store_token_fn fn;
    void *ctx;
} token_list;

static fws_err token_list_row(void *ctx, const store_row *r, fws_errbuf *eb)
{
    token_list *l = ctx;
    fws_store_token t;
    fws_err err = read_token(r, &t, eb);
    return err != FWS_OK ? err : l->fn(l->ctx, &t);
}

fws_err fws_store_token_list(fws_store *s, int include_revoked, const fws_store_page *page,
                             fws_store_token_fn fn, void *ctx, fws_errbuf *eb)
{
    fws_err err;
    if (s == NULL || fn == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "token list: missing argument");
    if ((err = chk_page(page, eb)) != FWS_OK)
        return err;
    token_list l = {fn, ctx};
    store_arg a[] = {ARG_I(page->after), ARG_I(page->limit), ARG_I(include_revoked ? 1 : 0)};
    return store_run(s, page->newest_first ? ST_TOKEN_LIST_DESC : ST_TOKEN_LIST, a, 3,
                     token_list_row, &l, NULL, eb);
}
