/* Output files that appear whole: written to a temporary name beside the target, fsynced, then
 * linked (refusing an existing file) or renamed into place, and the directory fsynced. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "audit/bundle.h"
#include "fwseal/util.h"

fws_err au_out_open(au_out *o, const char *path, int overwrite, fws_errbuf *eb)
{
    memset(o, 0, sizeof(*o));
    o->fd = -1;
    if (snprintf(o->path, sizeof(o->path), "%s", path) >= (int)sizeof(o->path))
        return fws_errf(eb, FWS_ERR_ARG, "%s: path too long", path);
    if (!overwrite && access(path, F_OK) == 0)
        return fws_errf(eb, FWS_ERR_EXISTS, "%s exists (use --force to replace it)", path);
    snprintf(o->tmp, sizeof(o->tmp), "%s.tmp.XXXXXX", path);
    o->fd = mkstemp(o->tmp);
    if (o->fd < 0)
        return fws_errf(eb, FWS_ERR_IO, "%s: %s", o->tmp, strerror(errno));
    return FWS_OK;
}

void au_out_abort(au_out *o)
{
    if (o->fd >= 0) {
        close(o->fd);
        o->fd = -1;
    }
    if (o->tmp[0] != '\0')
        unlink(o->tmp);
    o->tmp[0] = '\0';
}

fws_err au_out_commit(au_out *o, int overwrite, fws_errbuf *eb)
{
    char dir[4096];
    fws_err err = FWS_OK;
    if (fsync(o->fd) != 0 || close(o->fd) != 0)
        err = fws_errf(eb, FWS_ERR_IO, "%s: %s", o->tmp, strerror(errno));
    o->fd = -1;
    if (err == FWS_OK && overwrite && rename(o->tmp, o->path) != 0)
        err = fws_errf(eb, FWS_ERR_IO, "%s: %s", o->path, strerror(errno));
    if (err == FWS_OK && !overwrite && link(o->tmp, o->path) != 0)
        err = fws_errf(eb, errno == EEXIST ? FWS_ERR_EXISTS : FWS_ERR_IO, "%s: %s", o->path,
                       strerror(errno));
    if (err == FWS_OK && !overwrite)
        unlink(o->tmp);
    if (err != FWS_OK) {
        au_out_abort(o);
        return err;
    }
    o->tmp[0] = '\0';
    snprintf(dir, sizeof(dir), "%s", o->path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    return fws_dir_sync(dir, eb);
}
