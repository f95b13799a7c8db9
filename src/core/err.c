/* Names of error codes. Freestanding: string literals only. */
#include "fwseal/err.h"

const char *fws_strerror(fws_err err)
{
    switch (err) {
    case FWS_OK:
        return "ok";
    case FWS_ERR_ARG:
        return "invalid argument";
    case FWS_ERR_NOMEM:
        return "out of memory";
    case FWS_ERR_IO:
        return "input/output error";
    case FWS_ERR_TOO_BIG:
        return "over the size limit";
    case FWS_ERR_FORMAT:
        return "malformed input";
    case FWS_ERR_NOT_CANONICAL:
        return "not in canonical form";
    case FWS_ERR_CRYPTO:
        return "cryptographic provider failure";
    case FWS_ERR_SIGNATURE:
        return "signature does not verify";
    case FWS_ERR_DIGEST:
        return "digest mismatch";
    case FWS_ERR_LENGTH:
        return "length mismatch";
    case FWS_ERR_KEY_TYPE:
        return "wrong or unsupported key type";
    case FWS_ERR_PASSPHRASE:
        return "missing or wrong passphrase";
    case FWS_ERR_HARDWARE:
        return "not built for this hardware";
    case FWS_ERR_REGION:
        return "not allowed in this region";
    case FWS_ERR_ROLLBACK:
        return "rollback refused";
    case FWS_ERR_EXPIRED:
        return "expired";
    case FWS_ERR_NOT_FOUND:
        return "not found";
    case FWS_ERR_EXISTS:
        return "already exists";
    case FWS_ERR_STATE:
        return "invalid state";
    case FWS_ERR_UNSUPPORTED:
        return "unsupported";
    case FWS_ERR_PROOF:
        return "proof does not verify";
    case FWS_ERR_INCONSISTENT:
        return "inconsistent views (fork)";
    case FWS_ERR_KEY_MISMATCH:
        return "signed by an unexpected key";
    case FWS_ERR_THRESHOLD:
        return "signature threshold not met";
    case FWS_ERR_SCHEMA:
        return "does not match its schema";
    case FWS_ERR_USAGE:
        return "usage error";
    case FWS_ERR__COUNT:
        break;
    }
    return "unknown error";
}

int fws_err_is_verification(fws_err err)
{
    switch (err) {
    case FWS_ERR_NOT_CANONICAL:
    case FWS_ERR_SIGNATURE:
    case FWS_ERR_DIGEST:
    case FWS_ERR_LENGTH:
    case FWS_ERR_HARDWARE:
    case FWS_ERR_REGION:
    case FWS_ERR_ROLLBACK:
    case FWS_ERR_EXPIRED:
    case FWS_ERR_PROOF:
    case FWS_ERR_INCONSISTENT:
    case FWS_ERR_KEY_MISMATCH:
    case FWS_ERR_THRESHOLD:
        return 1;
    default:
        return 0;
    }
}
