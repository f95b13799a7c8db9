/* The audit module's parsers: the strict ustar profile (writer, memory reader, stream reader)
 * and the canonical-JSON field scanner. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fwseal/audit.h"

/* Writes an archive of n members (names m0.., sizes 0, 1, 511, 512, 513 ...) into a memory
 * buffer through a temporary file. */
static uint8_t *make_archive(size_t n, size_t *len)
{
    char path[] = "/tmp/fwseal-test-tar.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fws_tar_writer w;
    fws_tar_writer_init(&w, fd);
    static const size_t sizes[] = {0, 1, 511, 512, 513, 3000};
    for (size_t i = 0; i < n; i++) {
        char name[32];
        size_t sz = sizes[i % 6];
        uint8_t *data = malloc(sz + 1);
        memset(data, (int)('a' + i), sz);
        snprintf(name, sizeof(name), "dir/m%zu.bin", i);
        assert_int_equal(fws_tar_add(&w, name, data, sz, NULL, NULL), FWS_OK);
        free(data);
    }
    assert_int_equal(fws_tar_finish(&w, NULL), FWS_OK);
    off_t end = lseek(fd, 0, SEEK_END);
    uint8_t *buf = malloc((size_t)end);
    assert_int_equal(pread(fd, buf, (size_t)end, 0), end);
    close(fd);
    unlink(path);
    *len = (size_t)end;
    return buf;
}

static fws_err read_all(const uint8_t *buf, size_t len, size_t *members)
{
    fws_tar_reader r;
    fws_tar_member m;
    fws_err err;
    fws_tar_reader_init(&r, buf, len, 0);
    *members = 0;
    while ((err = fws_tar_next(&r, &m, NULL)) == FWS_OK)
        (*members)++;
    return err == FWS_ERR_NOT_FOUND ? FWS_OK : err;
}

static void tar_round_trip(void **state)
{
    (void)state;
    size_t len = 0, n = 0;
    uint8_t *buf = make_archive(12, &len);
    assert_int_equal(read_all(buf, len, &n), FWS_OK);
    assert_int_equal(n, 12);
    /* contents and names come back as written */
    fws_tar_reader r;
    fws_tar_member m;
    fws_tar_reader_init(&r, buf, len, 0);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(fws_tar_next(&r, &m, NULL), FWS_OK);
    assert_string_equal(m.h.name, "dir/m3.bin");
    assert_int_equal(m.h.size, 512);
    assert_int_equal(m.data[0], 'd');
    free(buf);
}

/* Every single-byte change anywhere in an archive is refused or changes a member's bytes. */
static void tar_every_byte(void **state)
{
    (void)state;
    size_t len = 0, n = 0;
    uint8_t *buf = make_archive(6, &len);
    for (size_t i = 0; i < len; i++) {
        uint8_t saved = buf[i];
        buf[i] ^= 0x20;
        fws_tar_reader r;
        fws_tar_member m;
        fws_err err;
        int data_byte = 0;
        fws_tar_reader_init(&r, buf, len, 0);
        while ((err = fws_tar_next(&r, &m, NULL)) == FWS_OK) {
            if (buf + i >= m.data && buf + i < m.data + m.h.size)
                data_byte = 1;
        }
        if (!data_byte)
            assert_int_not_equal(err, FWS_ERR_NOT_FOUND);
        buf[i] = saved;
    }
    assert_int_equal(read_all(buf, len, &n), FWS_OK);
    free(buf);
}

static void tar_truncated_and_trailing(void **state)
{
    (void)state;
    size_t len = 0, n = 0;
    uint8_t *buf = make_archive(3, &len);
    for (size_t cut = 0; cut < len; cut += 97)
        assert_int_not_equal(read_all(buf, cut, &n), FWS_OK);
    assert_int_equal(read_all(buf, len - 512, &n), FWS_ERR_LENGTH);
    uint8_t *more = calloc(1, len + 512);
    memcpy(more, buf, len);
    assert_int_equal(read_all(more, len + 512, &n), FWS_ERR_FORMAT);
    /* a member cap */
    fws_tar_reader r;
    fws_tar_member m;
    fws_tar_reader_init(&r, buf, len, 2);
    assert_int_equal(fws_tar_next(&r, &m, NULL), FWS_OK);
    assert_int_equal(fws_tar_next(&r, &m, NULL), FWS_OK);
    assert_int_equal(fws_tar_next(&r, &m, NULL), FWS_ERR_TOO_BIG);
    free(more);
    free(buf);
}

static void tar_names(void **state)
{
    (void)state;
    uint8_t block[FWS_TAR_BLOCK];
    char longname[300];
    static const char *const bad[] = {"",    "/abs", "a//b", "a/../b", "./a",      "a/.hid", "-x",
                                      "a b", "a\\b", "a/",   "a\nb",   "\xc3\xa9", NULL};
    for (size_t i = 0; bad[i] != NULL; i++)
        assert_int_equal(fws_tar_header_make(bad[i], 1, block, NULL), FWS_ERR_ARG);
    /* a name of 200 bytes splits into prefix and name, and parses back */
    memset(longname, 'a', 200);
    longname[120] = '/';
    longname[200] = '\0';
    assert_int_equal(fws_tar_header_make(longname, 7, block, NULL), FWS_OK);
    fws_tar_header h;
    assert_int_equal(fws_tar_header_parse(block, &h, NULL), FWS_OK);
    assert_string_equal(h.name, longname);
    assert_int_equal(h.size, 7);
    /* 150 bytes without a slash cannot split */
    memset(longname, 'b', 150);
    longname[150] = '\0';
    assert_int_equal(fws_tar_header_make(longname, 1, block, NULL), FWS_ERR_ARG);
    assert_int_equal(fws_tar_header_make("x", FWS_TAR_MEMBER_MAX + 1, block, NULL),
                     FWS_ERR_TOO_BIG);
}

static void tar_stream(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *buf = make_archive(8, &len), data[700];
    char path[] = "/tmp/fwseal-test-tars.XXXXXX";
    int fd = mkstemp(path);
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    for (int round = 0; round < 3; round++) {
        fws_tar_stream s;
        fws_tar_header h;
        size_t members = 0, got = 0, total = 0;
        fws_err err;
        size_t lim = round == 0 ? len : round == 1 ? len - 600 : len - 1024;
        assert_int_equal(ftruncate(fd, (off_t)lim), 0);
        lseek(fd, 0, SEEK_SET);
        fws_tar_stream_init(&s, fd, 0);
        while ((err = fws_tar_stream_next(&s, &h, NULL)) == FWS_OK) {
            members++;
            if (members % 2 == 0)
                continue; /* skipped members are still checked */
            while ((err = fws_tar_stream_read(&s, data, sizeof(data), &got, NULL)) == FWS_OK &&
                   got > 0)
                total += got;
            if (err != FWS_OK)
                break;
        }
        if (round == 0) {
            assert_int_equal(err, FWS_ERR_NOT_FOUND);
            assert_int_equal(members, 8);
            assert_int_equal(total, 0 + 511 + 513 + 0); /* the 1st, 3rd, 5th and 7th were read */
        } else {
            assert_int_equal(err, FWS_ERR_LENGTH);
        }
        assert_int_equal(pwrite(fd, buf, len, 0), (ssize_t)len);
    }
    close(fd);
    unlink(path);
    free(buf);
}

static void json_fields(void **state)
{
    (void)state;
    const char *rec = "{\"a\":[1,{\"x\":\"}\"}],\"image\":{\"sha256\":\"ab\"},\"s\":\"q\\\"z\","
                      "\"type\":\"release\",\"z\":true}";
    const char *v;
    size_t len;
    int str;
    assert_int_equal(fws_audit_json_field(rec, strlen(rec), "type", &v, &len, &str), FWS_OK);
    assert_true(str);
    assert_int_equal(len, 7);
    assert_memory_equal(v, "release", 7);
    assert_int_equal(fws_audit_json_field(rec, strlen(rec), "s", &v, &len, &str), FWS_OK);
    assert_int_equal(len, 4);
    assert_int_equal(fws_audit_json_field(rec, strlen(rec), "image", &v, &len, &str), FWS_OK);
    assert_false(str);
    assert_int_equal(fws_audit_json_field(v, len, "sha256", &v, &len, &str), FWS_OK);
    assert_memory_equal(v, "ab", 2);
    assert_int_equal(fws_audit_json_field(rec, strlen(rec), "x", &v, &len, &str),
                     FWS_ERR_NOT_FOUND);
    assert_int_equal(fws_audit_json_field("{}", 2, "x", &v, &len, &str), FWS_ERR_NOT_FOUND);
    static const char *const bad[] = {"",           "[]",         "{",          "{\"a\"}",
                                      "{\"a\":}",   "{\"a\":1",   "{\"a\":1,}", "{a:1}",
                                      "{\"a\":\"x", "{\"a\":1}x", NULL};
    for (size_t i = 0; bad[i] != NULL; i++)
        assert_int_equal(fws_audit_json_field(bad[i], strlen(bad[i]), "zz", &v, &len, &str),
                         FWS_ERR_FORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tar_round_trip),
        cmocka_unit_test(tar_every_byte),
        cmocka_unit_test(tar_truncated_and_trailing),
        cmocka_unit_test(tar_names),
        cmocka_unit_test(tar_stream),
        cmocka_unit_test(json_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
