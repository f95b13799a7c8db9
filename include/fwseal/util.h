/* Small shared helpers: durable file writes and capped reads. */
#ifndef FWSEAL_UTIL_H
#define FWSEAL_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include "fwseal/err.h"
#include "fwseal/errbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes data to path through a temporary file in the same directory, fsync, rename, and an
 * fsync of the directory: readers see the old file or the new one, never a partial one.
 * mode is applied to the new file. Refuses an existing path unless overwrite is set. */
fws_err fws_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                              int overwrite, fws_errbuf *eb) FWS_MUST_CHECK;

/* Reads a whole regular file into a malloc'd buffer with a NUL after the last byte (not
 * counted in len). FWS_ERR_TOO_BIG past max_len, FWS_ERR_NOT_FOUND when missing. */
fws_err fws_file_read(const char *path, size_t max_len, uint8_t **data, size_t *len,
                      fws_errbuf *eb) FWS_MUST_CHECK;

/* Reads all of standard input the same way. */
fws_err fws_stdin_read(size_t max_len, uint8_t **data, size_t *len, fws_errbuf *eb) FWS_MUST_CHECK;

/* fsyncs a directory (after a rename into it). */
fws_err fws_dir_sync(const char *dir, fws_errbuf *eb) FWS_MUST_CHECK;

/* mkdir -p with the given mode. */
fws_err fws_mkdirs(const char *path, unsigned mode, fws_errbuf *eb) FWS_MUST_CHECK;

/* Returns the final path component (pointer into path). */
const char *fws_basename(const char *path);

#ifdef __cplusplus
}
#endif
#endif
