/* Loads libpq on first use (see pq.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include "fwseal/err.h"
#include "pq.h"

#define LIBPQ "libpq.so.5"

static pq_api api;
static const pq_api *loaded;
static char failure[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Each entry names a function and where its pointer goes in the table. */
#define ENTRY(f)                                                                                   \
    {                                                                                              \
#f, offsetof(pq_api, f)                                                                    \
    }
static const struct {
    const char *name;
    size_t offset;
} entries[] = {
    ENTRY(PQconnectdbParams),
    ENTRY(PQstatus),
    ENTRY(PQreset),
    ENTRY(PQfinish),
    ENTRY(PQerrorMessage),
    ENTRY(PQsetNoticeProcessor),
    ENTRY(PQhost),
    ENTRY(PQport),
    ENTRY(PQdb),
    ENTRY(PQexec),
    ENTRY(PQprepare),
    ENTRY(PQexecPrepared),
    ENTRY(PQexecParams),
    ENTRY(PQresultStatus),
    ENTRY(PQresultErrorField),
    ENTRY(PQntuples),
    ENTRY(PQcmdTuples),
    ENTRY(PQgetisnull),
    ENTRY(PQgetvalue),
    ENTRY(PQunescapeBytea),
    ENTRY(PQfreemem),
    ENTRY(PQclear),
};

static void load(void)
{
    void *lib = dlopen(LIBPQ, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        const char *why = dlerror();
        snprintf(failure, sizeof(failure), "%s", why ? why : LIBPQ ": cannot be loaded");
        return;
    }
    for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
        void *f = dlsym(lib, entries[i].name);
        if (f == NULL) {
            snprintf(failure, sizeof(failure), "%s has no %s", LIBPQ, entries[i].name);
            dlclose(lib);
            return;
        }
        /* POSIX guarantees a function pointer survives the trip through void * */
        *(void **)((char *)&api + entries[i].offset) = f;
    }
    loaded = &api; /* the library stays loaded for the life of the process */
}

const pq_api *pq_load(fws_errbuf *eb)
{
    pthread_once(&once, load);
    if (loaded == NULL)
        fws_errf(eb, FWS_ERR_IO, "PostgreSQL client library: %s (install libpq5)", failure);
    return loaded;
}
