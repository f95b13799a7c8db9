/* The schema, one migration step per version, written once as a template over the column types
 * that differ between the engines:
 *   ID    an integer primary key the database assigns (never reused)
 *   INT   a 64-bit integer
 *   TXT   text compared byte by byte (PostgreSQL: COLLATE "C", so lists sort as in SQLite)
 *   BLOB  bytes
 * Enumerations are stored by name with CHECK constraints, digests as lowercase hex. A step never
 * changes once released: later versions add steps. docs/STORE.md describes every table. */
#include <stddef.h>
#include "store/internal.h"

#define ENUM_ROLE "('admin', 'release', 'factory', 'auditor')"
#define ENUM_STATUS "('provisioned', 'active', 'quarantined', 'revoked', 'decommissioned')"
#define ENUM_STATE "('pending', 'running', 'paused', 'completed', 'cancelled')"
#define ENUM_OUTCOME "('pending', 'succeeded', 'failed')"
#define ENUM_KIND "('install', 'rollback', 'verification-failure', 'attestation')"
#define ENUM_ATTEST "('none', 'pass', 'fail')"

/* Version 1: tokens, devices, releases, rollouts with their stages and members, reports,
 * alerts and the audit trail. */
#define SCHEMA_V1(ID, INT, TXT, BLOB)                                                              \
    "CREATE TABLE tokens (id " ID ", name " TXT " NOT NULL, role " TXT " NOT NULL CHECK (role"     \
    " IN " ENUM_ROLE "), hash " TXT " NOT NULL UNIQUE, created_at " INT " NOT NULL,"               \
    " expires_at " INT " NOT NULL, revoked_at " INT " NOT NULL);"                                  \
    "CREATE TABLE devices (id " TXT " PRIMARY KEY, environment " TXT " NOT NULL,"                  \
    " model " TXT " NOT NULL, region " TXT " NOT NULL, grp " TXT " NOT NULL,"                      \
    " status " TXT " NOT NULL CHECK (status IN " ENUM_STATUS "),"                                  \
    " installed_version " TXT " NOT NULL, installed_sha256 " TXT " NOT NULL,"                      \
    " last_seen " INT " NOT NULL, last_report " INT " NOT NULL, seq " INT " NOT NULL,"             \
    " created_at " INT " NOT NULL, updated_at " INT " NOT NULL);"                                  \
    "CREATE INDEX devices_model ON devices (model);"                                               \
    "CREATE INDEX devices_region ON devices (region);"                                             \
    "CREATE INDEX devices_grp ON devices (grp);"                                                   \
    "CREATE TABLE releases (id " ID ", product " TXT " NOT NULL, version " TXT " NOT NULL,"        \
    " target " TXT " NOT NULL UNIQUE, security_counter " INT " NOT NULL,"                          \
    " sha256 " TXT " NOT NULL, size " INT " NOT NULL, created_at " INT " NOT NULL,"                \
    " quarantine_until " INT " NOT NULL, recovery " INT " NOT NULL CHECK (recovery IN (0, 1)),"    \
    " revoked " INT " NOT NULL CHECK (revoked IN (0, 1)), UNIQUE (product, version));"             \
    "CREATE TABLE rollouts (id " ID ", release_id " INT " NOT NULL REFERENCES releases (id),"      \
    " selector " TXT " NOT NULL, state " TXT " NOT NULL CHECK (state IN " ENUM_STATE "),"          \
    " n_stages " INT " NOT NULL, current_stage " INT " NOT NULL,"                                  \
    " success_threshold " INT " NOT NULL, failure_threshold " INT " NOT NULL,"                     \
    " created_at " INT " NOT NULL, updated_at " INT " NOT NULL);"                                  \
    "CREATE INDEX rollouts_state ON rollouts (state);"                                             \
    "CREATE TABLE rollout_stages (rollout_id " INT " NOT NULL REFERENCES rollouts (id),"           \
    " stage " INT " NOT NULL, percent " INT " NOT NULL, assigned " INT " NOT NULL,"                \
    " succeeded " INT " NOT NULL, failed " INT " NOT NULL, PRIMARY KEY (rollout_id, stage));"      \
    "CREATE TABLE rollout_devices (rollout_id " INT " NOT NULL REFERENCES rollouts (id),"          \
    " device_id " TXT " NOT NULL REFERENCES devices (id), stage " INT " NOT NULL,"                 \
    " assign_seq " INT " NOT NULL, outcome " TXT " NOT NULL CHECK (outcome IN " ENUM_OUTCOME "),"  \
    " assigned_at " INT " NOT NULL, updated_at " INT " NOT NULL,"                                  \
    " PRIMARY KEY (rollout_id, device_id));"                                                       \
    "CREATE INDEX rollout_devices_device ON rollout_devices (device_id, assign_seq);"              \
    "CREATE TABLE reports (id " ID ", device_id " TXT " NOT NULL REFERENCES devices (id),"         \
    " kind " TXT " NOT NULL CHECK (kind IN " ENUM_KIND "), body_sha256 " TXT " NOT NULL UNIQUE,"   \
    " body " BLOB " NOT NULL, received_at " INT " NOT NULL, ledger_index " INT " UNIQUE);"         \
    "CREATE INDEX reports_device ON reports (device_id, id);"                                      \
    "CREATE INDEX reports_unsequenced ON reports (id) WHERE ledger_index IS NULL;"                 \
    "CREATE TABLE alerts (id " ID ", kind " TXT " NOT NULL, subject " TXT " NOT NULL,"             \
    " message " TXT " NOT NULL, raised_at " INT " NOT NULL, acked_at " INT " NOT NULL,"            \
    " acked_by " INT " NOT NULL);"                                                                 \
    "CREATE INDEX alerts_unacked ON alerts (id) WHERE acked_at = 0;"                               \
    "CREATE TABLE audit (id " ID ", token_id " INT " NOT NULL, actor " TXT " NOT NULL,"            \
    " action " TXT " NOT NULL, target " TXT " NOT NULL, detail " TXT " NOT NULL,"                  \
    " acted_at " INT " NOT NULL);"

/* Version 2: the result and time of each device's last attestation. */
#define SCHEMA_V2(ID, INT, TXT, BLOB)                                                              \
    "ALTER TABLE devices ADD COLUMN attested_at " INT " NOT NULL DEFAULT 0;"                       \
    "ALTER TABLE devices ADD COLUMN attest_result " TXT " NOT NULL DEFAULT 'none'"                 \
    " CHECK (attest_result IN " ENUM_ATTEST ");"

/* Version 3: which alerts were delivered (to the webhook or command), so delivery resumes
 * after a restart or on another server. Alerts already there count as delivered when raised,
 * as the engine treated them before. */
#define SCHEMA_V3(ID, INT, TXT, BLOB)                                                              \
    "ALTER TABLE alerts ADD COLUMN delivered_at " INT " NOT NULL DEFAULT 0;"                       \
    "UPDATE alerts SET delivered_at = raised_at;"                                                  \
    "CREATE INDEX alerts_undelivered ON alerts (id) WHERE delivered_at = 0;"

#define SQLITE_TYPES "INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER", "TEXT", "BLOB"
#define PG_TYPES                                                                                   \
    "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "BIGINT", "TEXT COLLATE \"C\"", "BYTEA"

#define EXPAND(m, types) m(types)

static const char *const sqlite_steps[] = {
    EXPAND(SCHEMA_V1, SQLITE_TYPES),
    EXPAND(SCHEMA_V2, SQLITE_TYPES),
    EXPAND(SCHEMA_V3, SQLITE_TYPES),
};

static const char *const pg_steps[] = {
    EXPAND(SCHEMA_V1, PG_TYPES),
    EXPAND(SCHEMA_V2, PG_TYPES),
    EXPAND(SCHEMA_V3, PG_TYPES),
};

_Static_assert(sizeof(sqlite_steps) / sizeof(sqlite_steps[0]) == FWS_STORE_SCHEMA_VERSION,
               "one SQLite migration step per schema version");
_Static_assert(sizeof(pg_steps) / sizeof(pg_steps[0]) == FWS_STORE_SCHEMA_VERSION,
               "one PostgreSQL migration step per schema version");

const char *store_sqlite_migration(int version)
{
    if (version < 1 || version > FWS_STORE_SCHEMA_VERSION)
        return NULL;
    return sqlite_steps[version - 1];
}

const char *store_pg_migration(int version)
{
    if (version < 1 || version > FWS_STORE_SCHEMA_VERSION)
        return NULL;
    return pg_steps[version - 1];
}
