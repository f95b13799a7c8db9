/* Deterministic output for people: sorted keys, two-space indent, a trailing newline. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

fws_err fws_json_pretty(const json_t *value, char **out, size_t *len)
{
    char *text, *p;
    size_t n;
    if (value == NULL || out == NULL || len == NULL)
        return FWS_ERR_ARG;
    text = json_dumps(value, JSON_SORT_KEYS | JSON_INDENT(2) | JSON_ENCODE_ANY);
    if (text == NULL)
        return FWS_ERR_FORMAT;
    n = strlen(text);
    p = realloc(text, n + 2);
    if (p == NULL) {
        free(text);
        return FWS_ERR_NOMEM;
    }
    p[n] = '\n';
    p[n + 1] = '\0';
    *out = p;
    *len = n + 1;
    return FWS_OK;
}
