/* libpq, loaded on first use: only a PostgreSQL store needs it, and a process that never opens
 * one (a device-side command, the TUF client, a SQLite server) should not map libpq and the
 * Kerberos, LDAP and TLS libraries it brings. The table holds the functions pg.c calls. */
#ifndef FWSEAL_STORE_PQ_H
#define FWSEAL_STORE_PQ_H

#include <libpq-fe.h>
#include "fwseal/errbuf.h"

typedef struct pq_api {
    PGconn *(*PQconnectdbParams)(const char *const *keywords, const char *const *values,
                                 int expand_dbname);
    ConnStatusType (*PQstatus)(const PGconn *conn);
    void (*PQreset)(PGconn *conn);
    void (*PQfinish)(PGconn *conn);
    char *(*PQerrorMessage)(const PGconn *conn);
    PQnoticeProcessor (*PQsetNoticeProcessor)(PGconn *conn, PQnoticeProcessor proc, void *arg);
    char *(*PQhost)(const PGconn *conn);
    char *(*PQport)(const PGconn *conn);
    char *(*PQdb)(const PGconn *conn);
    PGresult *(*PQexec)(PGconn *conn, const char *query);
    PGresult *(*PQprepare)(PGconn *conn, const char *name, const char *query, int n,
                           const Oid *types);
    PGresult *(*PQexecPrepared)(PGconn *conn, const char *name, int n, const char *const *values,
                                const int *lengths, const int *formats, int result_format);
    PGresult *(*PQexecParams)(PGconn *conn, const char *command, int n, const Oid *types,
                              const char *const *values, const int *lengths, const int *formats,
                              int result_format);
    ExecStatusType (*PQresultStatus)(const PGresult *res);
    char *(*PQresultErrorField)(const PGresult *res, int field);
    int (*PQntuples)(const PGresult *res);
    char *(*PQcmdTuples)(PGresult *res);
    int (*PQgetisnull)(const PGresult *res, int row, int col);
    char *(*PQgetvalue)(const PGresult *res, int row, int col);
    unsigned char *(*PQunescapeBytea)(const unsigned char *from, size_t *len);
    void (*PQfreemem)(void *ptr);
    void (*PQclear)(PGresult *res);
} pq_api;

/* The table, loading libpq.so.5 the first time (thread-safe); NULL with a message when the
 * library or one of its functions is missing. */
const pq_api *pq_load(fws_errbuf *eb);

#endif
