/* Batch files: a CSV of devices (RFC 4180 quoting, no newlines inside fields, CRLF or LF). Every
 * row is read and its CSR loaded before anything is issued; a malformed row is reported by its
 * line number and stops the whole file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "pki/internal.h"

#define CSV_MAX ((size_t)64 << 20)
#define CSV_COLS_MAX 80

enum { COL_SERIAL, COL_MODEL, COL_BATCH, COL_BOM, COL_STATION, COL_OPERATOR, COL_CSR, COL__N };
static const char *const col_names[COL__N] = {"serial",  "model",    "batch", "bom_version",
                                              "station", "operator", "csr"};

struct fws_pki_batch {
    char *text;
    size_t n;
    fws_pki_provision_req *reqs;
    size_t *rows;
    uint8_t **csrs;
    json_t **hw;
};

typedef struct csv_header {
    size_t ncols;
    int role[CSV_COLS_MAX]; /* COL_* or -1 for a hw: column */
    char *hw_name[CSV_COLS_MAX];
} csv_header;

fws_err pki_csv_split(char *line, char **fields, size_t cap, size_t *n, fws_errbuf *eb)
{
    size_t k = 0;
    char *p = line;
    for (;;) {
        if (k == cap)
            return fws_errf(eb, FWS_ERR_FORMAT, "more than %zu columns", cap);
        char *out = p;
        fields[k++] = out;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0')
                    return fws_errf(eb, FWS_ERR_FORMAT, "unterminated quoted field");
                if (*p == '"' && p[1] == '"') {
                    *out++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *out++ = *p++;
                }
            }
            if (*p != ',' && *p != '\0')
                return fws_errf(eb, FWS_ERR_FORMAT, "text after a closing quote");
        } else {
            while (*p != ',' && *p != '\0') {
                if (*p == '"')
                    return fws_errf(eb, FWS_ERR_FORMAT, "a quote inside an unquoted field");
                p++;
            }
            out = p;
        }
        char sep = *p;
        *out = '\0';
        if (sep == '\0')
            break;
        p++;
    }
    *n = k;
    return FWS_OK;
}

static fws_err parse_header(char *line, csv_header *h, fws_errbuf *eb)
{
    char *fields[CSV_COLS_MAX];
    int seen[COL__N] = {0};
    fws_err err = pki_csv_split(line, fields, CSV_COLS_MAX, &h->ncols, eb);
    if (err != FWS_OK)
        return fws_errf(eb, err, "header");
    for (size_t i = 0; i < h->ncols; i++) {
        h->role[i] = -2;
        h->hw_name[i] = NULL;
        if (strncmp(fields[i], "hw:", 3) == 0) {
            err = pki_check_field("hardware check name", fields[i] + 3, 1, PKI_CHARSET_NAME, eb);
            if (err != FWS_OK)
                return err;
            h->role[i] = -1;
            h->hw_name[i] = fields[i] + 3;
            continue;
        }
        for (int c = 0; c < COL__N; c++) {
            if (strcmp(fields[i], col_names[c]) == 0) {
                if (seen[c]++)
                    return fws_errf(eb, FWS_ERR_FORMAT, "header: column %s twice", col_names[c]);
                h->role[i] = c;
            }
        }
        if (h->role[i] == -2)
            return fws_errf(eb, FWS_ERR_FORMAT,
                            "header: unknown column '%.64s' (serial, model, batch, bom_version,"
                            " station, operator, csr, hw:<check>)",
                            fields[i]);
    }
    for (int c = COL_SERIAL; c <= COL_CSR; c++) {
        if ((c <= COL_BATCH || c == COL_CSR) && !seen[c])
            return fws_errf(eb, FWS_ERR_FORMAT, "header: column %s is missing", col_names[c]);
    }
    return FWS_OK;
}

static fws_err load_csr(const char *csv_path, const char *ref, uint8_t **data, size_t *len,
                        fws_errbuf *eb)
{
    char path[PATH_MAX + 64];
    if (ref[0] == '\0')
        return fws_errf(eb, FWS_ERR_FORMAT, "csr is empty");
    if (ref[0] == '/') {
        snprintf(path, sizeof(path), "%s", ref);
    } else {
        const char *slash = strrchr(csv_path, '/');
        int dir_len = slash ? (int)(slash - csv_path) : 1;
        snprintf(path, sizeof(path), "%.*s/%s", dir_len, slash ? csv_path : ".", ref);
    }
    return fws_file_read(path, FWS_PKI_CSR_MAX, data, len, eb);
}

static fws_err parse_row(const char *csv_path, char *line, const csv_header *h, fws_pki_env env,
                         int reprovision, fws_pki_batch *b, fws_errbuf *eb)
{
    char *fields[CSV_COLS_MAX];
    size_t n = 0, i = b->n;
    fws_pki_provision_req *r = &b->reqs[i];
    fws_err err = pki_csv_split(line, fields, CSV_COLS_MAX, &n, eb);
    if (err != FWS_OK)
        return err;
    if (n != h->ncols)
        return fws_errf(eb, FWS_ERR_FORMAT, "%zu columns, the header has %zu", n, h->ncols);
    memset(r, 0, sizeof(*r));
    r->env = env;
    r->reprovision = reprovision;
    r->key_origin = "csr";
    for (size_t c = 0; c < n && err == FWS_OK; c++) {
        const char *v = fields[c];
        switch (h->role[c]) {
        case -1:
            if (b->hw[i] == NULL && (b->hw[i] = json_object()) == NULL)
                return FWS_ERR_NOMEM;
            if (v[0] != '\0' && json_object_set_new(b->hw[i], h->hw_name[c], json_string(v)))
                err = fws_errf(eb, FWS_ERR_FORMAT, "hw:%s: not UTF-8 text", h->hw_name[c]);
            break;
        case COL_SERIAL:
            r->serial = v;
            break;
        case COL_MODEL:
            r->model = v;
            break;
        case COL_BATCH:
            r->batch = v;
            break;
        case COL_BOM:
            r->bom_version = v[0] ? v : NULL;
            break;
        case COL_STATION:
            r->station = v[0] ? v : NULL;
            break;
        case COL_OPERATOR:
            r->operator_name = v[0] ? v : NULL;
            break;
        case COL_CSR:
            err = load_csr(csv_path, v, &b->csrs[i], &r->csr_len, eb);
            r->unverified_csr = b->csrs[i];
            break;
        }
    }
    r->hw_checks = b->hw[i];
    if (err == FWS_OK)
        b->n++;
    return err;
}

static fws_err batch_alloc(fws_pki_batch *b, size_t lines)
{
    b->reqs = calloc(lines, sizeof(*b->reqs));
    b->rows = calloc(lines, sizeof(*b->rows));
    b->csrs = calloc(lines, sizeof(*b->csrs));
    b->hw = calloc(lines, sizeof(*b->hw));
    return (b->reqs && b->rows && b->csrs && b->hw) ? FWS_OK : FWS_ERR_NOMEM;
}

static fws_err parse_all(const char *csv_path, fws_pki_env env, int reprovision, fws_pki_batch *b,
                         fws_errbuf *eb)
{
    csv_header h;
    size_t lines = 1, line_no = 0;
    int have_header = 0;
    fws_err err = FWS_OK;
    for (const char *c = b->text; *c; c++)
        lines += *c == '\n';
    err = batch_alloc(b, lines);
    char *save = NULL;
    for (char *line = b->text; err == FWS_OK && line != NULL; line = save) {
        char *nl = strchr(line, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        line_no++;
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        if (len == 0)
            continue;
        fws_errbuf local = {{0}};
        if (!have_header) {
            err = parse_header(line, &h, &local);
            have_header = 1;
        } else if (b->n >= FWS_PKI_BATCH_MAX) {
            err = fws_errf(&local, FWS_ERR_TOO_BIG, "more than %d devices", FWS_PKI_BATCH_MAX);
        } else {
            b->rows[b->n] = line_no;
            err = parse_row(csv_path, line, &h, env, reprovision, b, &local);
        }
        if (err != FWS_OK)
            return fws_errf(eb, err, "%s: row %zu: %s", csv_path, line_no,
                            local.msg[0] ? local.msg : fws_strerror(err));
    }
    if (err == FWS_OK && b->n == 0)
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: no devices (a header row and one row per device)",
                       csv_path);
    return err;
}

fws_err fws_pki_batch_load(const char *csv_path, fws_pki_env env, int reprovision,
                           fws_pki_batch **out, fws_errbuf *eb)
{
    size_t len = 0;
    fws_pki_batch *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return FWS_ERR_NOMEM;
    fws_err err = fws_file_read(csv_path, CSV_MAX, (uint8_t **)&b->text, &len, eb);
    if (err == FWS_OK && strlen(b->text) != len)
        err = fws_errf(eb, FWS_ERR_FORMAT, "%s: holds a NUL byte", csv_path);
    if (err == FWS_OK)
        err = parse_all(csv_path, env, reprovision, b, eb);
    if (err != FWS_OK) {
        fws_pki_batch_free(b);
        return err;
    }
    *out = b;
    return FWS_OK;
}

size_t fws_pki_batch_count(const fws_pki_batch *b)
{
    return b->n;
}

const fws_pki_provision_req *fws_pki_batch_reqs(const fws_pki_batch *b)
{
    return b->reqs;
}

const size_t *fws_pki_batch_rows(const fws_pki_batch *b)
{
    return b->rows;
}

void fws_pki_batch_free(fws_pki_batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; b->csrs != NULL && b->hw != NULL && i <= b->n; i++) {
        free(b->csrs[i]);
        json_decref(b->hw[i]);
    }
    free(b->text);
    free(b->reqs);
    free(b->rows);
    free(b->csrs);
    free(b->hw);
    free(b);
}
