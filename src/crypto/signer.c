/* Signers: one interface for anything that signs with one key. A file key is the first kind; a
 * PKCS#11 token or a TPM fills the same struct with its own functions and impl. */
#include <string.h>
#include "internal.h"

static fws_err key_signer_sign(void *impl, const uint8_t *msg, size_t len, uint8_t *sig,
                               size_t sig_cap, size_t *sig_len)
{
    return fws_key_sign(impl, msg, len, sig, sig_cap, sig_len);
}

static fws_err key_signer_public(void *impl, fws_key **pub)
{
    return fws_key_public_dup(impl, pub);
}

static void key_signer_destroy(void *impl)
{
    fws_key_free(impl);
}

fws_err fws_signer_from_key(fws_key *k, fws_signer *out)
{
    fws_signer s;

    if (k == NULL || out == NULL || !k->is_private)
        return FWS_ERR_ARG;
    memset(&s, 0, sizeof(s));
    s.type = k->type;
    memcpy(s.keyid, k->id, FWS_KEYID_LEN);
    s.sign = key_signer_sign;
    s.public_key = key_signer_public;
    s.destroy = key_signer_destroy;
    s.impl = k;
    *out = s;
    return FWS_OK;
}

fws_err fws_signer_sign(const fws_signer *s, const uint8_t *msg, size_t len, uint8_t *sig,
                        size_t sig_cap, size_t *sig_len)
{
    if (s == NULL || s->sign == NULL)
        return FWS_ERR_ARG;
    return s->sign(s->impl, msg, len, sig, sig_cap, sig_len);
}

fws_err fws_signer_public_key(const fws_signer *s, fws_key **pub)
{
    if (s == NULL || s->public_key == NULL || pub == NULL)
        return FWS_ERR_ARG;
    return s->public_key(s->impl, pub);
}

void fws_signer_free(fws_signer *s)
{
    if (s == NULL)
        return;
    if (s->destroy != NULL)
        s->destroy(s->impl);
    fws_wipe(s, sizeof(*s));
}
