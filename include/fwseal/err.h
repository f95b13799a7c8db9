/* fwseal error convention: every fallible function returns fws_err.
 * 0 is success. Codes are persisted in logs and reports: never renumber, only append. */
#ifndef FWSEAL_ERR_H
#define FWSEAL_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fws_err {
    FWS_OK = 0,
    FWS_ERR_ARG = 1,           /* invalid argument from the caller */
    FWS_ERR_NOMEM = 2,         /* allocation failed */
    FWS_ERR_IO = 3,            /* read/write/open failed */
    FWS_ERR_TOO_BIG = 4,       /* input over a hard cap */
    FWS_ERR_FORMAT = 5,        /* malformed input */
    FWS_ERR_NOT_CANONICAL = 6, /* well-formed but not in canonical form */
    FWS_ERR_CRYPTO = 7,        /* the crypto provider failed internally */
    FWS_ERR_SIGNATURE = 8,     /* a signature did not verify */
    FWS_ERR_DIGEST = 9,        /* a digest did not match */
    FWS_ERR_LENGTH = 10,       /* a length did not match, or data went past it */
    FWS_ERR_KEY_TYPE = 11,     /* wrong or unsupported key type */
    FWS_ERR_PASSPHRASE = 12,   /* missing or wrong passphrase */
    FWS_ERR_HARDWARE = 13,     /* target not for this hardware model */
    FWS_ERR_REGION = 14,       /* target not for this region */
    FWS_ERR_ROLLBACK = 15,     /* version or security counter went backwards */
    FWS_ERR_EXPIRED = 16,      /* metadata or certificate expired */
    FWS_ERR_NOT_FOUND = 17,    /* no such file, entry or key */
    FWS_ERR_EXISTS = 18,       /* refusing to overwrite or duplicate */
    FWS_ERR_STATE = 19,        /* call not valid in the current state */
    FWS_ERR_UNSUPPORTED = 20,  /* feature or algorithm not supported */
    FWS_ERR_PROOF = 21,        /* a Merkle proof did not verify */
    FWS_ERR_INCONSISTENT = 22, /* two views of a log disagree (fork) */
    FWS_ERR_KEY_MISMATCH = 23, /* signed by a key other than the expected one */
    FWS_ERR_THRESHOLD = 24,    /* not enough valid signatures */
    FWS_ERR_SCHEMA = 25,       /* record does not match its schema */
    FWS_ERR_USAGE = 26,        /* command-line usage error */
    FWS_ERR__COUNT
} fws_err;

/* A short, static, human description of a code. Never NULL. */
const char *fws_strerror(fws_err err);

/* 1 when the error means "the input was judged and failed a check" (CLI exit 1),
 * 0 when it means usage, I/O or internal trouble (CLI exit 2). */
int fws_err_is_verification(fws_err err);

#if defined(__GNUC__) || defined(__clang__)
#define FWS_MUST_CHECK __attribute__((warn_unused_result))
#define FWS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FWS_MUST_CHECK
#define FWS_PRINTF(a, b)
#endif

#ifdef __cplusplus
}
#endif
#endif
