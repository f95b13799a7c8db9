/* PKCS#11 modules: dlopen, C_GetFunctionList, C_Initialize, shared and counted per process.
 *
 * C_Initialize and C_Finalize act on the whole process, so two signers on the same module must
 * share one initialization: a small table, under a mutex, counts the users of each module and
 * the last one out calls C_Finalize (only if this process's C_Initialize was the one that
 * succeeded; a module someone else initialized is left as it was). Modules stay loaded once
 * loaded: some do not survive dlclose. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pkcs11_internal.h"

#define P11_MODULES_MAX 8

struct p11_module {
    char path[FWS_PKCS11_PATH_MAX + 1];
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    unsigned refs;
    int we_initialized;
};

static struct p11_module modules[P11_MODULES_MAX];
static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct {
    CK_RV rv;
    const char *name;
} rv_names[] = {
    {CKR_OK, "CKR_OK"},
    {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
    {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
    {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
    {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
    {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
    {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
    {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
    {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
    {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
    {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
    {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
    {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
    {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
    {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
    {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
    {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
    {CKR_PIN_INVALID, "CKR_PIN_INVALID"},
    {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
    {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
    {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
    {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
    {CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY"},
    {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
    {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
    {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
    {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
    {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED"},
    {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
    {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
    {CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID"},
    {CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID"},
    {CKR_CURVE_NOT_SUPPORTED, "CKR_CURVE_NOT_SUPPORTED"},
    {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
    {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
    {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
};

const char *p11_rv_name(CK_RV rv, char *buf, size_t cap)
{
    for (size_t i = 0; i < sizeof rv_names / sizeof rv_names[0]; i++) {
        if (rv_names[i].rv == rv)
            return rv_names[i].name;
    }
    snprintf(buf, cap, "CKR 0x%lx", (unsigned long)rv);
    return buf;
}

fws_err p11_fail(fws_errbuf *eb, const char *what, CK_RV rv)
{
    char buf[32];
    return fws_errf(eb, FWS_ERR_CRYPTO, "%s: %s", what, p11_rv_name(rv, buf, sizeof buf));
}

CK_FUNCTION_LIST_PTR p11_module_functions(const p11_module *m)
{
    return m->f;
}

static const char *module_path(const fws_pkcs11_uri *u)
{
    if (u->has_module_path)
        return u->module_path;
    const char *env = getenv(FWS_PKCS11_MODULE_ENV);
    return env != NULL && *env != '\0' ? env : NULL;
}

/* Loads and initializes m->path; called with the lock held. */
static fws_err load(struct p11_module *m, fws_errbuf *eb)
{
    CK_C_INITIALIZE_ARGS args;
    CK_FUNCTION_LIST_PTR f = NULL;
    char buf[32];
    if (m->dl == NULL) {
        m->dl = dlopen(m->path, RTLD_NOW | RTLD_LOCAL);
        if (m->dl == NULL)
            return fws_errf(eb, FWS_ERR_NOT_FOUND, "PKCS#11 module %s: %s", m->path, dlerror());
    }
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList");
    if (get == NULL || get(&f) != CKR_OK || f == NULL)
        return fws_errf(eb, FWS_ERR_FORMAT, "%s: not a PKCS#11 module (no C_GetFunctionList)",
                        m->path);
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
        return fws_errf(eb, FWS_ERR_CRYPTO, "PKCS#11 module %s: C_Initialize: %s", m->path,
                        p11_rv_name(rv, buf, sizeof buf));
    m->we_initialized = rv == CKR_OK;
    m->f = f;
    return FWS_OK;
}

static struct p11_module *slot_for(const char *path)
{
    struct p11_module *free_slot = NULL;
    for (size_t i = 0; i < P11_MODULES_MAX; i++) {
        if (modules[i].path[0] != '\0' && strcmp(modules[i].path, path) == 0)
            return &modules[i];
        if (modules[i].path[0] == '\0' && free_slot == NULL)
            free_slot = &modules[i];
    }
    if (free_slot != NULL)
        memcpy(free_slot->path, path, strlen(path) + 1);
    return free_slot;
}

fws_err p11_module_acquire(const fws_pkcs11_uri *u, p11_module **out, fws_errbuf *eb)
{
    const char *path = module_path(u);
    fws_err err = FWS_OK;
    if (path == NULL)
        return fws_errf(eb, FWS_ERR_ARG,
                        "no PKCS#11 module: add ?module-path=... to the URI or set %s",
                        FWS_PKCS11_MODULE_ENV);
    if (strlen(path) > FWS_PKCS11_PATH_MAX)
        return fws_errf(eb, FWS_ERR_ARG, "PKCS#11 module path too long");
    pthread_mutex_lock(&modules_lock);
    struct p11_module *m = slot_for(path);
    if (m == NULL)
        err = fws_errf(eb, FWS_ERR_TOO_BIG, "more than %d PKCS#11 modules in one process",
                       P11_MODULES_MAX);
    else if (m->refs == 0)
        err = load(m, eb);
    if (err == FWS_OK) {
        m->refs++;
        *out = m;
    }
    pthread_mutex_unlock(&modules_lock);
    return err;
}

void p11_module_release(p11_module *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&modules_lock);
    if (m->refs > 0 && --m->refs == 0) {
        if (m->we_initialized)
            m->f->C_Finalize(NULL);
        m->f = NULL;
        m->we_initialized = 0;
    }
    pthread_mutex_unlock(&modules_lock);
}
