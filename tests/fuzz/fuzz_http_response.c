/* libFuzzer target for the HTTP response parser. The first byte picks a piece size; the rest is
 * the response. Properties: no crash; every byte is either taken or the parser stopped (an error
 * or the end of the response); body bytes point inside the input; feeding in pieces gives the
 * same outcome, status and body as feeding everything at once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "http/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct outcome {
    fws_err err;
    int status, done;
    uint64_t body_len, body_sum;
} outcome;

static http_parser parser;

static void run(const uint8_t *in, size_t n, size_t step, outcome *o)
{
    memset(o, 0, sizeof(*o));
    http_parser_init(&parser, 4096);
    size_t off = 0;
    while (o->err == FWS_OK && !http_parser_done(&parser)) {
        size_t piece = n - off < step ? n - off : step;
        http_event ev;
        size_t used = 0;
        o->err = http_parser_feed(&parser, in + off, piece, &used, &ev, NULL);
        if (o->err != FWS_OK)
            break;
        if (used > piece || (ev.kind == HTTP_EV_NONE && used != piece))
            abort();
        if (ev.kind == HTTP_EV_BODY) {
            if (ev.data < in + off || ev.data + ev.len > in + off + used || ev.len == 0)
                abort();
            o->body_len += ev.len;
            for (size_t i = 0; i < ev.len; i++)
                o->body_sum = o->body_sum * 31 + ev.data[i];
        }
        if (ev.kind == HTTP_EV_HEAD)
            o->status = parser.status;
        off += used;
        if (off == n && ev.kind == HTTP_EV_NONE) {
            o->err = http_parser_eof(&parser, &ev, NULL);
            break;
        }
    }
    o->done = http_parser_done(&parser);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    outcome whole, pieces;
    if (size == 0)
        return 0;
    size_t step = (size_t)data[0] % 16 + 1;
    run(data + 1, size - 1, size, &whole);
    run(data + 1, size - 1, step, &pieces);
    if (whole.err != pieces.err || whole.status != pieces.status || whole.done != pieces.done ||
        whole.body_len != pieces.body_len || whole.body_sum != pieces.body_sum)
        abort();
    return 0;
}
