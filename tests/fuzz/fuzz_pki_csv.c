/* libFuzzer target for the batch file's CSV line splitter. Properties checked on every line
 * that splits: every field lies inside the line, at most the cap of them; quoting every field
 * again and joining them with commas splits back into the same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pki/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 16
#define LINE_MAX_FUZZ 2048

static size_t quote(const char *f, char *out)
{
    size_t k = 0;
    out[k++] = '"';
    for (const char *c = f; *c; c++) {
        if (*c == '"')
            out[k++] = '"';
        out[k++] = *c;
    }
    out[k++] = '"';
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char line[LINE_MAX_FUZZ + 1], again[LINE_MAX_FUZZ * 3 + CAP * 3 + 1];
    char *fields[CAP], *fields2[CAP];
    size_t n = 0, n2 = 0, k = 0;
    if (size > LINE_MAX_FUZZ || memchr(data, '\0', size) != NULL)
        return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    if (pki_csv_split(line, fields, CAP, &n, NULL) != FWS_OK)
        return 0;
    if (n == 0 || n > CAP)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (fields[i] < line || fields[i] > line + size)
            abort();
        if (i > 0)
            again[k++] = ',';
        k += quote(fields[i], again + k);
    }
    again[k] = '\0';
    if (pki_csv_split(again, fields2, CAP, &n2, NULL) != FWS_OK || n2 != n)
        abort();
    /* Compare with the first split's fields (still intact in line). */
    for (size_t i = 0; i < n; i++) {
        if (strcmp(fields[i], fields2[i]) != 0)
            abort();
    }
    return 0;
}
