/* Loading the CycloneDX schema files from the data directory. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include "fwseal/json.h"
#include "fwseal/util.h"
#include "internal.h"

#ifndef FWS_DATA_DIR
#error "FWS_DATA_DIR must name the data directory (see CMakeLists.txt)"
#endif

#define SBOM_ROOT_SCHEMA "bom-1.6.SNAPSHOT.schema.json"
#define SBOM_SCHEMA_FILE_MAX (4u * 1024 * 1024)
#define SBOM_PATH_MAX 4096

static const fws_json_limits schema_limits = {
    .max_bytes = SBOM_SCHEMA_FILE_MAX,
    .max_depth = 64,
    .max_string = 1u << 16,
    .max_members = 100000,
};

/* FWSEAL_DATA_DIR, else the installed share/fwseal when it holds the schemas, else the
 * source tree's data/ (a build that was never installed). */
const char *fws_sbom_data_dir(void)
{
    const char *env = getenv(FWS_SBOM_DATA_DIR_ENV);
    if (env != NULL && env[0] != '\0')
        return env;
    if (access(FWS_INSTALL_DATA_DIR "/cyclonedx", R_OK) == 0)
        return FWS_INSTALL_DATA_DIR;
    return FWS_DATA_DIR;
}

/* A referenced file must be a plain name in the same directory: no path, no URL. */
static int plain_file_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof(((sbom_doc *)0)->name) || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_';
        if (!ok)
            return 0;
    }
    return 1;
}

fws_err sbom_schema_doc(fws_sbom_schema *s, const char *dir, const char *name, size_t *index,
                        fws_errbuf *eb)
{
    char path[SBOM_PATH_MAX];
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *root = NULL;
    for (size_t i = 0; i < s->n_docs; i++) {
        if (strcmp(s->docs[i].name, name) == 0) {
            *index = i;
            return FWS_OK;
        }
    }
    if (!plain_file_name(name))
        return fws_errf(eb, FWS_ERR_UNSUPPORTED, "schema reference \"%s\": only file names in %s",
                        name, dir);
    if (s->n_docs == SBOM_MAX_DOCS)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%s: more than %d schema files", name, SBOM_MAX_DOCS);
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%s/%s: path too long", dir, name);
    fws_errbuf why = {{0}};
    fws_err err = fws_file_read(path, SBOM_SCHEMA_FILE_MAX, &data, &len, &why);
    if (err != FWS_OK)
        return fws_errf(eb, err, "CycloneDX schema: %s", why.msg[0] ? why.msg : path);
    err = fws_json_parse(data, len, 0, &schema_limits, &root, &why);
    free(data);
    if (err != FWS_OK)
        return fws_errf(eb, err, "CycloneDX schema %s: %s", path,
                        why.msg[0] ? why.msg : "not JSON");
    sbom_doc *d = &s->docs[s->n_docs];
    memcpy(d->name, name, strlen(name) + 1);
    d->root = root;
    *index = s->n_docs++;
    return FWS_OK;
}

fws_err fws_sbom_schema_load(const char *data_dir, fws_sbom_schema **out, fws_errbuf *eb)
{
    char dir[SBOM_PATH_MAX];
    size_t index = 0;
    fws_err err = FWS_OK;
    if (out == NULL)
        return fws_errf(eb, FWS_ERR_ARG, "sbom schema: no output");
    if (data_dir == NULL)
        data_dir = fws_sbom_data_dir();
    int n = snprintf(dir, sizeof dir, "%s/cyclonedx", data_dir);
    if (n < 0 || (size_t)n >= sizeof dir)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "%s: data directory path too long", data_dir);
    fws_sbom_schema *s = calloc(1, sizeof *s);
    if (s == NULL)
        return FWS_ERR_NOMEM;
    s->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (s->c_locale == (locale_t)0) {
        err = fws_errf(eb, FWS_ERR_NOMEM, "sbom schema: cannot create the C locale");
        goto out;
    }
    err = sbom_schema_doc(s, dir, SBOM_ROOT_SCHEMA, &index, eb);
    if (err == FWS_OK)
        err = sbom_schema_compile(s, dir, eb);
out:
    if (err != FWS_OK) {
        fws_sbom_schema_free(s);
        return err;
    }
    *out = s;
    return FWS_OK;
}

void fws_sbom_schema_free(fws_sbom_schema *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_nodes; i++) {
        sbom_node *node = s->nodes[i];
        free(node->props);
        free(node->required);
        free(node->items_tuple.v);
        free(node->all_of.v);
        free(node->any_of.v);
        free(node->one_of.v);
        free(node);
    }
    free(s->nodes);
    for (size_t i = 0; i < s->n_strings; i++)
        free(s->strings[i]);
    free(s->strings);
    for (size_t i = 0; i < s->n_regex; i++)
        sbom_regex_free(&s->regex[i]);
    for (size_t i = 0; i < s->n_docs; i++)
        json_decref(s->docs[i].root);
    if (s->c_locale != (locale_t)0)
        freelocale(s->c_locale);
    free(s);
}
