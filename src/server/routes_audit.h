/* GET /api/v1/audit/snapshot (routes_audit.c): the deployment without keys, for auditors. */
#ifndef FWSEAL_SERVER_ROUTES_AUDIT_H
#define FWSEAL_SERVER_ROUTES_AUDIT_H

#include "fwseal/server.h"

/* The handler (token roles admin and auditor, ctx the server; it runs on a worker). */
fws_err srv_audit_snapshot(fws_req *req, fws_resp *resp, void *ctx, fws_errbuf *eb);

#endif
