/* libFuzzer target for the audit module's parsers of untrusted bytes: the ustar reader (memory
 * and stream), its header parser, the canonical-JSON field scanner and the bundle verifier.
 * Properties checked on every input:
 *  - nothing crashes, and a refusal leaves a message;
 *  - every member the reader returns lies inside the input, and its header re-made from its
 *    name and size is byte for byte the input's header;
 *  - the stream reader agrees with the memory reader on the member count and the verdict;
 *  - a field the scanner finds lies inside the input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fwseal/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t memory_read(const uint8_t *data, size_t size, fws_err *verdict)
{
    fws_tar_reader r;
    fws_tar_member m;
    fws_errbuf eb = {{0}};
    size_t n = 0;
    fws_err err;
    fws_tar_reader_init(&r, data, size, 64);
    while ((err = fws_tar_next(&r, &m, &eb)) == FWS_OK) {
        uint8_t block[FWS_TAR_BLOCK];
        if (m.data < data || m.data + m.h.size > data + size || m.offset + 512 > size)
            abort();
        if (fws_tar_header_make(m.h.name, m.h.size, block, NULL) != FWS_OK ||
            memcmp(block, data + m.offset, FWS_TAR_BLOCK) != 0)
            abort();
        n++;
    }
    if (err != FWS_ERR_NOT_FOUND && eb.msg[0] == '\0')
        abort();
    *verdict = err;
    return n;
}

static void stream_read(const uint8_t *data, size_t size, size_t want, fws_err verdict)
{
    FILE *f = tmpfile();
    if (f == NULL || fwrite(data, 1, size, f) != size || fflush(f) != 0) {
        if (f != NULL)
            fclose(f);
        return;
    }
    rewind(f);
    fws_tar_stream s;
    fws_tar_header h;
    uint8_t buf[600];
    size_t n = 0, got = 0;
    fws_err err;
    fws_tar_stream_init(&s, fileno(f), 64);
    while ((err = fws_tar_stream_next(&s, &h, NULL)) == FWS_OK) {
        n++;
        while ((err = fws_tar_stream_read(&s, buf, sizeof(buf), &got, NULL)) == FWS_OK && got > 0)
            ;
        if (err != FWS_OK)
            break;
    }
    if ((err == FWS_ERR_NOT_FOUND) != (verdict == FWS_ERR_NOT_FOUND))
        abort();
    if (verdict == FWS_ERR_NOT_FOUND && n != want)
        abort();
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fws_err verdict = FWS_OK;
    size_t n = memory_read(data, size, &verdict);
    stream_read(data, size, n, verdict);
    if (size >= FWS_TAR_BLOCK) {
        fws_tar_header h;
        (void)fws_tar_header_parse(data, &h, NULL);
    }
    static const char *const keys[] = {"type", "schema", "image", "sha256", "device"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = NULL;
        size_t len = 0;
        int str = 0;
        if (fws_audit_json_field((const char *)data, size, keys[i], &v, &len, &str) == FWS_OK &&
            (v < (const char *)data || v + len > (const char *)data + size))
            abort();
    }
    if (verdict == FWS_ERR_NOT_FOUND) {
        fws_note_vkey key;
        static const char vkey[] =
            "example.com/fleet+61d017bd+AWod7k48HmcW1gwbXpTQZWudH+tUW6OAEN5HWsEIaGKp";
        fws_audit_verify_opts o = {.log_key = &key};
        fws_errbuf eb = {{0}};
        if (fws_note_vkey_parse(vkey, strlen(vkey), &key, NULL) == FWS_OK &&
            fws_audit_verify(data, size, &o, NULL, &eb) != FWS_OK && eb.msg[0] == '\0')
            abort();
    }
    return 0;
}
