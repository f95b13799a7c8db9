/* libFuzzer target for the URL parser and Location resolution. The input is split at the first
 * NUL into a URL and a Location. Properties: no crash; an accepted URL formats back into a URL
 * that parses to the same parts; hosts and targets hold no space or control byte; a resolved
 * Location is itself a valid URL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "http/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static http_url a, b, c;
static char text[FWS_HTTP_URL_MAX + 2], buf[FWS_HTTP_URL_MAX + 400];

static void check_clean(const http_url *u)
{
    for (const char *p = u->target; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            abort();
    }
    if (u->host[0] == '\0' || u->port == 0 || u->port > 65535 || u->target[0] != '/')
        abort();
}

static void roundtrip(const http_url *u)
{
    check_clean(u);
    if (http_url_format(u, buf, sizeof(buf)) != FWS_OK)
        return;
    if (http_url_parse(buf, &c, NULL) != FWS_OK)
        abort();
    if (c.tls != u->tls || c.port != u->port || strcmp(c.host, u->host) != 0 ||
        strcmp(c.target, u->target) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FWS_HTTP_URL_MAX)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *location = strlen(text) < size ? text + strlen(text) + 1 : "/";
    if (http_url_parse(text, &a, NULL) != FWS_OK)
        return 0;
    roundtrip(&a);
    if (http_url_resolve(&a, location, &b, NULL) == FWS_OK)
        roundtrip(&b);
    return 0;
}
