/* Judging a device certificate presented to a service: the right environment's CA, inside its
 * validity, known to the inventory, not revoked, its device neither revoked nor decommissioned. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include "pki/internal.h"

static int issued_by(const pki_env_ca *ca, X509 *cert)
{
    if (!ca->present || X509_check_issued(ca->inter, cert) != X509_V_OK)
        return 0;
    return X509_verify(cert, X509_get0_pubkey(ca->inter)) == 1;
}

static fws_err check_issuer(const fws_pki *p, fws_pki_env env, X509 *cert, fws_errbuf *eb)
{
    if (issued_by(&p->ca[env], cert))
        return FWS_OK;
    for (int e = FWS_ENV_DEV; e <= FWS_ENV_PROD; e++) {
        if (e != (int)env && issued_by(&p->ca[e], cert))
            return fws_errf(eb, FWS_ERR_KEY_MISMATCH,
                            "the certificate was issued by the %s CA, not the %s CA",
                            fws_pki_env_name((fws_pki_env)e), fws_pki_env_name(env));
    }
    return fws_errf(eb, FWS_ERR_KEY_MISMATCH, "the certificate was not issued by the %s CA",
                    fws_pki_env_name(env));
}

static fws_err cert_serial_hex(X509 *cert, char out[FWS_PKI_SERIAL_HEX_LEN])
{
    const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
    uint8_t raw[PKI_SERIAL_LEN];
    BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
    if (bn == NULL)
        return FWS_ERR_FORMAT;
    int ok = !BN_is_negative(bn) && BN_num_bytes(bn) == PKI_SERIAL_LEN &&
             BN_bn2binpad(bn, raw, sizeof(raw)) == PKI_SERIAL_LEN;
    BN_free(bn);
    if (!ok)
        return FWS_ERR_FORMAT;
    fws_hex_encode(raw, sizeof(raw), out);
    return FWS_OK;
}

static fws_err check_inventory(fws_pki *p, fws_pki_env env, const uint8_t *der, size_t len,
                               const char *serial, fws_pki_identity *id, fws_errbuf *eb)
{
    fws_pki_cert c;
    fws_pki_device d;
    char digest[65];
    fws_err err = pki_store_cert_get(p->store, serial, &c, NULL);
    if (err == FWS_ERR_NOT_FOUND)
        return fws_errf(eb, FWS_ERR_KEY_MISMATCH, "certificate %s is not in the inventory", serial);
    if (err != FWS_OK)
        return fws_errf(eb, err, "inventory lookup failed");
    pki_sha256_hex(der, len, digest);
    if (!fws_ct_eq(digest, c.sha256, 64) || c.env != env)
        return fws_errf(eb, FWS_ERR_DIGEST, "certificate %s differs from the one issued", serial);
    if (c.status == FWS_CERT_REVOKED)
        return fws_errf(eb, FWS_ERR_STATE, "certificate %s is revoked (%s)", serial,
                        fws_pki_reason_name((fws_pki_reason)c.reason));
    err = pki_store_device_get(p->store, c.device_id, &d, eb);
    if (err != FWS_OK)
        return err;
    if (d.status == FWS_DEVICE_REVOKED || d.status == FWS_DEVICE_DECOMMISSIONED)
        return fws_errf(eb, FWS_ERR_STATE, "device %s is %s", d.id, fws_pki_status_name(d.status));
    memcpy(id->device_id, d.id, sizeof(id->device_id));
    id->kind = c.kind;
    id->cert_status = c.status;
    id->device_status = d.status;
    return FWS_OK;
}

fws_err fws_pki_check_identity(fws_pki *p, fws_pki_env env, const uint8_t *unverified_der,
                               size_t len, int64_t now, fws_pki_identity *out, fws_errbuf *eb)
{
    X509 *cert = NULL;
    fws_pki_identity id;
    char when[32];
    memset(&id, 0, sizeof(id));
    if (fws_pki_env_name(env) == NULL || !p->ca[env].present)
        return fws_errf(eb, FWS_ERR_NOT_FOUND, "no CA for that environment");
    if (unverified_der == NULL || len > FWS_PKI_CERT_MAX ||
        pki_x509_parse(unverified_der, len, &cert) != FWS_OK)
        return fws_errf(eb, FWS_ERR_FORMAT, "the client certificate is not X.509 DER");
    fws_err err = check_issuer(p, env, cert, eb);
    if (err == FWS_OK && pki_x509_validity(cert, &id.not_before, &id.not_after) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_FORMAT, "the certificate's validity is unreadable");
    if (err == FWS_OK && now < id.not_before) {
        pki_time_rfc3339(id.not_before, when);
        err = fws_errf(eb, FWS_ERR_EXPIRED, "the certificate is not valid before %s", when);
    }
    if (err == FWS_OK && now > id.not_after) {
        pki_time_rfc3339(id.not_after, when);
        err = fws_errf(eb, FWS_ERR_EXPIRED, "the certificate expired at %s", when);
    }
    if (err == FWS_OK && cert_serial_hex(cert, id.cert_serial) != FWS_OK)
        err = fws_errf(eb, FWS_ERR_KEY_MISMATCH,
                       "the certificate's serial is not one fwseal"
                       " issues");
    if (err == FWS_OK)
        err = check_inventory(p, env, unverified_der, len, id.cert_serial, &id, eb);
    X509_free(cert);
    ERR_clear_error();
    if (err != FWS_OK)
        return err;
    id.env = env;
    *out = id;
    return FWS_OK;
}
