/* Endpoint modules built on the routing API (server.h, "Modules"): each registration function
 * below adds its routes, tasks, metrics and hooks. One line per module. */
#include <stddef.h>
#include "fwseal/fleet.h"
#include "server/dash.h"
#include "server/internal.h"

typedef fws_err (*srv_register_fn)(fws_server *srv, fws_errbuf *eb);

static const srv_register_fn modules[] = {
    fws_fleet_register, fws_dash_register, NULL, /* the list ends here */
};

fws_err srv_modules_register(fws_server *srv, fws_errbuf *eb)
{
    for (size_t i = 0; modules[i] != NULL; i++) {
        fws_err err = modules[i](srv, eb);
        if (err != FWS_OK)
            return err;
    }
    return FWS_OK;
}
