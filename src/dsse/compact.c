/* The envelope as fwseal writes it (compact JSON, members in sorted order, no escapes), read in
 * place without building a JSON tree: servers and audits read millions of device reports in
 * this form (trailing whitespace allowed). Any other byte sequence is left to the general parser,
 * which also gives the precise error; so this path only ever accepts what that parser accepts, with
 * the same result. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

typedef struct cursor {
    const char *p, *end;
} cursor;

static int lit(cursor *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
        return 0;
    c->p += n;
    return 1;
}

/* A string's body up to its closing quote: printable ASCII only, no escapes. */
static int plain(cursor *c, const char **v, size_t *n)
{
    const char *s = c->p;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch < 0x20 || ch > 0x7e || ch == '\\')
            return 0;
        c->p++;
    }
    if (c->p == c->end)
        return 0;
    *v = s;
    *n = (size_t)(c->p - s);
    c->p++;
    return 1;
}

static int one_sig(cursor *c, fws_dsse_sig *out)
{
    const char *v;
    size_t n;
    memset(out, 0, sizeof(*out));
    if (!lit(c, "{\""))
        return 0;
    if (lit(c, "keyid\":\"")) {
        if (!plain(c, &v, &n) || n >= FWS_KEYID_LEN || !lit(c, ",\""))
            return 0;
        memcpy(out->keyid, v, n);
    }
    return lit(c, "sig\":\"") && plain(c, &v, &n) &&
           fws_base64_decode(v, n, out->sig, sizeof(out->sig), &out->sig_len) == FWS_OK &&
           lit(c, "}");
}

int dsse_parse_compact(const uint8_t *unverified, size_t len, fws_dsse_envelope *env)
{
    cursor c = {(const char *)unverified, (const char *)unverified + len};
    const char *payload, *type;
    size_t payload_n, type_n;
    memset(env, 0, sizeof(*env));
    if (len > FWS_DSSE_MAX_ENVELOPE || !lit(&c, "{\"payload\":\"") ||
        !plain(&c, &payload, &payload_n) || !lit(&c, ",\"payloadType\":\"") ||
        !plain(&c, &type, &type_n) || type_n == 0 || type_n >= sizeof(env->payload_type) ||
        !lit(&c, ",\"signatures\":["))
        return 0;
    do {
        if (env->n_sigs == FWS_DSSE_MAX_SIGS || !one_sig(&c, &env->sigs[env->n_sigs]))
            return 0;
        env->n_sigs++;
    } while (lit(&c, ","));
    size_t cap = payload_n / 4 * 3 + 3;
    if (!lit(&c, "]}"))
        return 0;
    while (c.p < c.end && (*c.p == '\n' || *c.p == ' ' || *c.p == '\t' || *c.p == '\r'))
        c.p++; /* trailing JSON whitespace: a file or body often ends with a newline */
    if (c.p != c.end || cap > FWS_DSSE_MAX_PAYLOAD + 3)
        return 0;
    memcpy(env->payload_type, type, type_n);
    if ((env->unverified_payload = malloc(cap + 1)) == NULL)
        return 0;
    if (fws_base64_decode(payload, payload_n, env->unverified_payload, cap, &env->payload_len) !=
        FWS_OK) {
        free(env->unverified_payload);
        env->unverified_payload = NULL;
        return 0;
    }
    env->unverified_payload[env->payload_len] = 0;
    return 1;
}
