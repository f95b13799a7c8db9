/* The server's signed answer to "what should I run?", bound to a fresh nonce and ordered by a
 * sequence number so an old answer cannot be replayed. */
#include <stdlib.h>
#include <string.h>
#include "fwseal/dsse.h"
#include "fwseal/json.h"
#include "agent/internal.h"

static fws_err fields(const json_t *o, const char *device_id, const char *nonce, uint64_t last_seq,
                      fws_assignment *a, fws_errbuf *eb)
{
    static const char *const allowed[] = {"device",     "nonce",    "sequence", "target",
                                          "wrappedKey", "issuedAt", "reason",   NULL};
    const char *dev = NULL, *n = NULL;
    int64_t seq = 0;
    fws_err err = fws_json_only_keys(o, allowed, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(o, "device", &dev, eb);
    if (err == FWS_OK)
        err = fws_json_get_string(o, "nonce", &n, eb);
    if (err == FWS_OK)
        err = fws_json_get_int(o, "sequence", &seq, eb);
    if (err != FWS_OK)
        return err;
    if (strcmp(dev, device_id) != 0)
        return fws_errf(eb, FWS_ERR_KEY_MISMATCH, "assignment is for device %s, not %s", dev,
                        device_id);
    if (strlen(n) != strlen(nonce) || !fws_ct_eq(n, nonce, strlen(nonce)))
        return fws_errf(eb, FWS_ERR_ROLLBACK,
                        "assignment does not echo this request's nonce "
                        "(a replayed answer)");
    if (seq < 0 || (uint64_t)seq <= last_seq)
        return fws_errf(eb, FWS_ERR_ROLLBACK,
                        "assignment sequence %lld is not above %llu (a replayed answer)",
                        (long long)seq, (unsigned long long)last_seq);
    a->sequence = (uint64_t)seq;
    const json_t *t = json_object_get(o, "target");
    if (t != NULL && !json_is_null(t)) {
        if (!json_is_string(t) ||
            fws_agent_copy(a->target, sizeof(a->target), json_string_value(t)) != FWS_OK)
            return fws_errf(eb, FWS_ERR_SCHEMA, "assignment: \"target\" must be a target path");
    }
    const json_t *w = json_object_get(o, "wrappedKey");
    if (w != NULL) {
        char *text = NULL;
        size_t len = 0;
        err = fws_json_canonical(w, &text, &len);
        if (err == FWS_OK &&
            (!json_is_object(w) ||
             fws_agent_copy(a->wrapped_key, sizeof(a->wrapped_key), text) != FWS_OK))
            err = fws_errf(eb, FWS_ERR_SCHEMA, "assignment: bad \"wrappedKey\"");
        free(text);
    }
    return err;
}

fws_err fws_assignment_check(const uint8_t *unverified, size_t len, const fws_key *key,
                             const char *device_id, const char *nonce, uint64_t last_seq,
                             fws_assignment *out, fws_errbuf *eb)
{
    fws_dsse_envelope env;
    fws_assignment a;
    json_t *o = NULL;
    memset(&env, 0, sizeof(env));
    memset(&a, 0, sizeof(a));
    if (len > FWS_ASSIGNMENT_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "assignment over %u bytes", FWS_ASSIGNMENT_MAX);
    fws_err err = fws_dsse_parse(unverified, len, &env, eb);
    if (err == FWS_OK && strcmp(env.payload_type, FWS_ASSIGNMENT_PAYLOAD_TYPE) != 0)
        err = fws_errf(eb, FWS_ERR_SCHEMA, "payload type \"%s\" is not an assignment",
                       env.payload_type);
    const fws_key *keys[1] = {key};
    if (err == FWS_OK)
        err = fws_dsse_verify(&env, keys, 1, 1, eb);
    if (err == FWS_OK)
        err = fws_json_parse(env.unverified_payload, env.payload_len, FWS_JSON_NO_FLOATS, NULL, &o,
                             eb);
    if (err == FWS_OK)
        err = fields(o, device_id, nonce, last_seq, &a, eb);
    if (err == FWS_OK)
        *out = a;
    json_decref(o);
    fws_dsse_envelope_free(&env);
    return err;
}
