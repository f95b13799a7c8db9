/* Audit bundle ties beyond the ledger itself: the TUF chain, attachments (SBOMs, provenance)
 * tied to release records, device certificates tied to provision records, and the CAs and CRLs
 * tied to those certificates by their signatures. */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include "audit/bundle_verify.h"

#define META "repo/metadata/"

static fws_err meta_get(void *ctx, const char *name, const uint8_t **data, size_t *len)
{
    char full[300];
    snprintf(full, sizeof(full), META "%s", name);
    bv_member *m = bv_find(ctx, full);
    if (m == NULL || strcmp(m->tie, "tuf") != 0)
        return FWS_ERR_NOT_FOUND;
    m->used = 1;
    *data = m->m.data;
    *len = (size_t)m->m.h.size;
    return FWS_OK;
}

fws_err bv_tuf(bv *b, fws_errbuf *eb)
{
    bv_member *root = bv_find(b, META "1.root.json");
    int64_t now = 0;
    fws_err err = FWS_OK;
    for (size_t i = 0; i < b->n; i++) {
        if (strcmp(b->m[i].tie, "tuf") == 0)
            now = au_tuf_clock(b->m[i].m.data, (size_t)b->m[i].m.h.size, now);
    }
    if (root == NULL)
        return FWS_OK; /* no TUF files: members claiming the tie stay unchecked */
    if (b->o->tuf_root != NULL && (root->m.h.size != b->o->tuf_root_len ||
                                   memcmp(root->m.data, b->o->tuf_root, b->o->tuf_root_len) != 0))
        return fws_errf(eb, FWS_ERR_KEY_MISMATCH,
                        "the bundle's 1.root.json is not the trusted root");
    uint8_t rd[32];
    fws_sha256(root->m.data, (size_t)root->m.h.size, rd);
    fws_hex_encode(rd, 32, b->info->root_sha256);
    if ((err = au_tuf_walk(root->m.data, (size_t)root->m.h.size, meta_get, b, now, NULL, 0, eb)) !=
        FWS_OK)
        return fws_errf(eb, err, "the TUF metadata chain does not verify");
    root->used = 1;
    for (size_t i = 0; i < b->n; i++) {
        bv_member *m = &b->m[i];
        if (strcmp(m->tie, "tuf") != 0)
            continue;
        if (!m->used || strncmp(m->m.h.name, META, strlen(META)) != 0)
            return fws_errf(eb, FWS_ERR_PROOF, "%.200s: not part of the TUF chain", m->m.h.name);
        m->ok = 1;
        b->info->tuf_files++;
    }
    return FWS_OK;
}

fws_err bv_attachments(bv *b, fws_errbuf *eb)
{
    for (size_t i = 0; i < b->n; i++) {
        bv_member *m = &b->m[i];
        uint64_t idx = 0;
        char want[128], hex[65];
        if (strncmp(m->m.h.name, "attachments/", 12) != 0)
            continue;
        const bv_record *r = bv_tie_index(m->tie, &idx) ? bv_record_at(b, idx) : NULL;
        if (r == NULL || r->type != 1)
            return fws_errf(eb, FWS_ERR_PROOF, "%.200s: its tie names no release record",
                            m->m.h.name);
        /* one encoding: the tie is the first release record that names the file */
        for (size_t k = 0; k < b->n_rec && b->rec[k].index < idx; k++) {
            const bv_record *e = &b->rec[k];
            if (e->type == 1 && ((e->has_sbom && fws_ct_eq(e->sbom, m->sha256, 32)) ||
                                 (e->has_prov && fws_ct_eq(e->prov, m->sha256, 32))))
                return fws_errf(eb, FWS_ERR_PROOF,
                                "%.200s: tied to record %llu, but record %llu names it first",
                                m->m.h.name, (unsigned long long)idx, (unsigned long long)e->index);
        }
        fws_hex_encode(m->sha256, 32, hex);
        int sbom = r->has_sbom && fws_ct_eq(r->sbom, m->sha256, 32);
        int prov = r->has_prov && fws_ct_eq(r->prov, m->sha256, 32);
        snprintf(want, sizeof(want), "attachments/%s.%s", hex,
                 sbom ? "sbom.cdx.json" : "provenance.dsse.json");
        if (!(sbom || prov) || strcmp(want, m->m.h.name) != 0)
            return fws_errf(eb, FWS_ERR_DIGEST,
                            "%.200s: not the SBOM or provenance of release record %llu",
                            m->m.h.name, (unsigned long long)idx);
        m->ok = 1;
        b->info->attachments++;
    }
    return FWS_OK;
}

/* ---- certificates and CAs -------------------------------------------------------------------- */

static X509 *pem_cert(const bv_member *m)
{
    BIO *bio = BIO_new_mem_buf(m->m.data, (int)m->m.h.size);
    X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    return x;
}

static int crl_ok(const bv_member *m, X509 *issuer)
{
    BIO *bio = BIO_new_mem_buf(m->m.data, (int)m->m.h.size);
    X509_CRL *crl = bio != NULL ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
    int ok = crl != NULL && X509_CRL_verify(crl, X509_get0_pubkey(issuer)) == 1;
    X509_CRL_free(crl);
    BIO_free(bio);
    return ok;
}

/* The environment's CA is tied when it issued at least one ledger-tied device certificate. */
static fws_err env_ca(bv *b, const char *env, fws_errbuf *eb)
{
    char name[128];
    snprintf(name, sizeof(name), "pki/%s/root.crt", env);
    bv_member *rm = bv_find(b, name);
    snprintf(name, sizeof(name), "pki/%s/intermediate.crt", env);
    bv_member *im = bv_find(b, name);
    snprintf(name, sizeof(name), "pki/%s/crl.pem", env);
    bv_member *crl = bv_find(b, name);
    snprintf(name, sizeof(name), "pki/%s/root-crl.pem", env);
    bv_member *rcrl = bv_find(b, name);
    X509 *root = rm != NULL ? pem_cert(rm) : NULL, *inter = im != NULL ? pem_cert(im) : NULL;
    size_t issued = 0;
    fws_err err = FWS_OK;
    if (root == NULL || inter == NULL || X509_verify(root, X509_get0_pubkey(root)) != 1 ||
        X509_verify(inter, X509_get0_pubkey(root)) != 1)
        err = fws_errf(eb, FWS_ERR_SIGNATURE, "pki/%s: the CA certificates do not chain", env);
    for (size_t i = 0; err == FWS_OK && i < b->n; i++) {
        bv_member *m = &b->m[i];
        uint64_t idx = 0;
        const bv_record *r;
        if (strncmp(m->m.h.name, "pki/certs/", 10) != 0 || !bv_tie_index(m->tie, &idx) ||
            (r = bv_record_at(b, idx)) == NULL || strcmp(r->env, env) != 0)
            continue;
        const uint8_t *p = m->m.data;
        X509 *dev = d2i_X509(NULL, &p, (long)m->m.h.size);
        if (dev == NULL || X509_verify(dev, X509_get0_pubkey(inter)) != 1)
            err = fws_errf(eb, FWS_ERR_SIGNATURE, "%.200s: not issued by pki/%s", m->m.h.name, env);
        X509_free(dev);
        issued++;
    }
    if (err == FWS_OK && issued == 0)
        err = fws_errf(eb, FWS_ERR_PROOF, "pki/%s: issued no ledger-tied certificate", env);
    if (err == FWS_OK &&
        ((crl != NULL && !crl_ok(crl, inter)) || (rcrl != NULL && !crl_ok(rcrl, root))))
        err = fws_errf(eb, FWS_ERR_SIGNATURE, "pki/%s: a CRL is not signed by its CA", env);
    if (err == FWS_OK) {
        rm->ok = strcmp(rm->tie, "ca") == 0;
        im->ok = strcmp(im->tie, "ca") == 0;
        if (crl != NULL)
            crl->ok = strcmp(crl->tie, "crl") == 0;
        if (rcrl != NULL)
            rcrl->ok = strcmp(rcrl->tie, "crl") == 0;
    }
    X509_free(root);
    X509_free(inter);
    return err;
}

fws_err bv_pki(bv *b, fws_errbuf *eb)
{
    static const char *const envs[] = {"dev", "staging", "prod"};
    for (size_t i = 0; i < b->n; i++) {
        bv_member *m = &b->m[i];
        uint64_t idx = 0;
        char want[128], hex[65];
        if (strncmp(m->m.h.name, "pki/certs/", 10) != 0)
            continue;
        const bv_record *r = bv_tie_index(m->tie, &idx) ? bv_record_at(b, idx) : NULL;
        fws_hex_encode(m->sha256, 32, hex);
        snprintf(want, sizeof(want), "pki/certs/%s.der", hex);
        if (r == NULL || r->type != 2 || !fws_ct_eq(r->cert, m->sha256, 32) ||
            strcmp(want, m->m.h.name) != 0)
            return fws_errf(eb, FWS_ERR_DIGEST,
                            "%.200s: not the certificate of provision record "
                            "%llu",
                            m->m.h.name, (unsigned long long)idx);
        m->ok = 1;
        b->info->certs++;
    }
    for (size_t e = 0; e < 3; e++) {
        char name[64];
        snprintf(name, sizeof(name), "pki/%s/root.crt", envs[e]);
        if (bv_find(b, name) != NULL) {
            fws_err err = env_ca(b, envs[e], eb);
            if (err != FWS_OK)
                return err;
        }
    }
    return FWS_OK;
}
