/* Randomness from OpenSSL's DRBG (seeded from the operating system). */
#include <limits.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include "fwseal/crypto.h"

fws_err fws_random(void *buf, size_t len)
{
    unsigned char *p = buf;

    if (p == NULL && len > 0)
        return FWS_ERR_ARG;
    while (len > 0) {
        int chunk = len > (size_t)INT_MAX ? INT_MAX : (int)len;
        if (RAND_bytes(p, chunk) != 1) {
            ERR_clear_error();
            return FWS_ERR_CRYPTO;
        }
        p += chunk;
        len -= (size_t)chunk;
    }
    return FWS_OK;
}
