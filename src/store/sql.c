/* Every statement the store runs, written once for both engines (see internal.h). Column lists
 * are fixed: the readers in each module take columns by position. Pages: $1 is the ID to start
 * after, $2 the limit, filters follow. */
#include "store/internal.h"

#define TOKEN_COLS "id, name, role, hash, created_at, expires_at, revoked_at"
#define DEVICE_COLS                                                                                \
    "id, environment, model, region, grp, status, installed_version, installed_sha256,"            \
    " last_seen, last_report, seq, attested_at, attest_result, created_at, updated_at"
#define RELEASE_COLS                                                                               \
    "id, product, version, target, security_counter, sha256, size, created_at,"                    \
    " quarantine_until, recovery, revoked"
#define ROLLOUT_COLS                                                                               \
    "id, release_id, state, n_stages, current_stage, success_threshold, failure_threshold,"        \
    " created_at, updated_at"
#define MEMBER_COLS "rollout_id, device_id, stage, assign_seq, outcome, assigned_at, updated_at"
#define REPORT_COLS "id, device_id, kind, body_sha256, received_at, ledger_index, body"
#define ALERT_COLS "id, kind, subject, message, raised_at, acked_at, acked_by"
#define AUDIT_COLS "id, token_id, actor, action, target, detail, acted_at"

/* Keyset pages over integer IDs. */
#define ASC " AND id > $1 ORDER BY id LIMIT $2"
#define DESC " AND (CAST($1 AS BIGINT) = 0 OR id < $1) ORDER BY id DESC LIMIT $2"

#define DEVICE_FILTER                                                                              \
    " WHERE (CAST($1 AS TEXT) = '' OR environment = $1) AND (CAST($2 AS TEXT) = '' OR model = $2)" \
    " AND (CAST($3 AS TEXT) = '' OR region = $3) AND (CAST($4 AS TEXT) = '' OR grp = $4)"          \
    " AND (CAST($5 AS TEXT) = '' OR status = $5)"

#define ROLLOUT_JOIN                                                                               \
    "SELECT r.id, r.release_id, r.state, r.n_stages, r.current_stage, r.success_threshold,"        \
    " r.failure_threshold, r.created_at, r.updated_at, s.stage, s.percent, s.assigned,"            \
    " s.succeeded, s.failed FROM rollouts r JOIN rollout_stages s ON s.rollout_id = r.id"          \
    " WHERE r.id IN (SELECT id FROM rollouts WHERE (CAST($3 AS TEXT) = '' OR state = $3)"

#define STAGE_ADD(col)                                                                             \
    "UPDATE rollout_stages SET " col " = " col " + 1 WHERE rollout_id = $1 AND stage = $2"

const char *const store_sql[ST__COUNT] = {
    [ST_VERSION_GET] = "SELECT COALESCE(MAX(version), 0) FROM schema_version",
    [ST_VERSION_PUT] = "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",

    [ST_TOKEN_INSERT] = "INSERT INTO tokens (name, role, hash, created_at, expires_at, revoked_at)"
                        " VALUES ($1, $2, $3, $4, $5, 0) RETURNING id",
    [ST_TOKEN_BY_HASH] = "SELECT " TOKEN_COLS " FROM tokens WHERE hash = $1",
    [ST_TOKEN_BY_ID] = "SELECT " TOKEN_COLS " FROM tokens WHERE id = $1",
    [ST_TOKEN_LIST] = "SELECT " TOKEN_COLS " FROM tokens"
                      " WHERE (CAST($3 AS BIGINT) = 1 OR revoked_at = 0)" ASC,
    [ST_TOKEN_LIST_DESC] = "SELECT " TOKEN_COLS " FROM tokens"
                           " WHERE (CAST($3 AS BIGINT) = 1 OR revoked_at = 0)" DESC,
    [ST_TOKEN_REVOKE] = "UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0",

    [ST_DEVICE_INSERT] = "INSERT INTO devices (" DEVICE_COLS ") VALUES ($1, $2, $3, $4, $5, $6,"
                         " $7, $8, $9, $10, 0, $11, $12, $13, $14) ON CONFLICT (id) DO NOTHING",
    [ST_DEVICE_GET] = "SELECT " DEVICE_COLS " FROM devices WHERE id = $1",
    [ST_DEVICE_UPDATE] = "UPDATE devices SET environment = $2, model = $3, region = $4, grp = $5,"
                         " status = $6, updated_at = $7 WHERE id = $1 AND status = $8",
    [ST_DEVICE_STATUS] = "SELECT status FROM devices WHERE id = $1",
    [ST_DEVICE_SET_STATUS] = "UPDATE devices SET status = $2, updated_at = $3"
                             " WHERE id = $1 AND status = $4",
    [ST_DEVICE_SEEN] = "UPDATE devices SET last_seen = CASE WHEN last_seen < $2 THEN $2"
                       " ELSE last_seen END WHERE id = $1",
    [ST_DEVICE_INSTALLED] = "UPDATE devices SET installed_version = $2, installed_sha256 = $3,"
                            " last_report = CASE WHEN last_report < $4 THEN $4 ELSE last_report"
                            " END WHERE id = $1",
    [ST_DEVICE_REPORTED] = "UPDATE devices SET last_report = CASE WHEN last_report < $2 THEN $2"
                           " ELSE last_report END WHERE id = $1",
    [ST_DEVICE_ATTESTED] = "UPDATE devices SET attested_at = $2, attest_result = $3"
                           " WHERE id = $1",
    [ST_DEVICE_NEXT_SEQ] = "UPDATE devices SET seq = seq + 1 WHERE id = $1 RETURNING seq",
    [ST_DEVICE_LIST] =
        "SELECT " DEVICE_COLS " FROM devices" DEVICE_FILTER " AND id > $6 ORDER BY id LIMIT $7",
    [ST_DEVICE_COUNT] = "SELECT COUNT(*) FROM devices" DEVICE_FILTER,

    [ST_RELEASE_INSERT] = "INSERT INTO releases (product, version, target, security_counter,"
                          " sha256, size, created_at, quarantine_until, recovery, revoked)"
                          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                          " ON CONFLICT DO NOTHING RETURNING id",
    [ST_RELEASE_GET] = "SELECT " RELEASE_COLS " FROM releases WHERE id = $1",
    [ST_RELEASE_FIND] = "SELECT " RELEASE_COLS " FROM releases WHERE target = $1",
    [ST_RELEASE_REVOKE] = "UPDATE releases SET revoked = 1 WHERE id = $1",
    [ST_RELEASE_QUARANTINE] = "UPDATE releases SET quarantine_until = $2 WHERE id = $1",
    [ST_RELEASE_LIST] = "SELECT " RELEASE_COLS " FROM releases"
                        " WHERE (CAST($3 AS TEXT) = '' OR product = $3)" ASC,
    [ST_RELEASE_LIST_DESC] = "SELECT " RELEASE_COLS " FROM releases"
                             " WHERE (CAST($3 AS TEXT) = '' OR product = $3)" DESC,

    [ST_ROLLOUT_INSERT] = "INSERT INTO rollouts (release_id, selector, state, n_stages,"
                          " current_stage, success_threshold, failure_threshold, created_at,"
                          " updated_at) VALUES ($1, $2, 'pending', $3, 0, $4, $5, $6, $6)"
                          " RETURNING id",
    [ST_STAGE_INSERT] = "INSERT INTO rollout_stages (rollout_id, stage, percent, assigned,"
                        " succeeded, failed) VALUES ($1, $2, $3, 0, 0, 0)",
    [ST_ROLLOUT_GET] = "SELECT " ROLLOUT_COLS ", selector FROM rollouts WHERE id = $1",
    [ST_ROLLOUT_STAGES] = "SELECT stage, percent, assigned, succeeded, failed"
                          " FROM rollout_stages WHERE rollout_id = $1 ORDER BY stage",
    [ST_ROLLOUT_SET_STATE] = "UPDATE rollouts SET state = $2, updated_at = $3"
                             " WHERE id = $1 AND state = $4",
    [ST_ROLLOUT_ADVANCE] = "UPDATE rollouts SET current_stage = $3, updated_at = $4"
                           " WHERE id = $1 AND current_stage = $2 AND state = 'running'"
                           " AND n_stages > $3",
    [ST_ROLLOUT_LIST] = ROLLOUT_JOIN ASC ") ORDER BY r.id, s.stage",
    [ST_ROLLOUT_LIST_DESC] = ROLLOUT_JOIN DESC ") ORDER BY r.id DESC, s.stage",
    [ST_STAGE_ASSIGNED] = STAGE_ADD("assigned"),
    [ST_STAGE_SUCCEEDED] = STAGE_ADD("succeeded"),
    [ST_STAGE_FAILED] = STAGE_ADD("failed"),

    [ST_MEMBER_INSERT] = "INSERT INTO rollout_devices (" MEMBER_COLS ") VALUES ($1, $2, $3, $4,"
                         " 'pending', $5, $5) ON CONFLICT (rollout_id, device_id) DO NOTHING",
    [ST_MEMBER_GET] = "SELECT " MEMBER_COLS " FROM rollout_devices"
                      " WHERE rollout_id = $1 AND device_id = $2",
    [ST_MEMBER_OUTCOME] = "UPDATE rollout_devices SET outcome = $3, updated_at = $4"
                          " WHERE rollout_id = $1 AND device_id = $2 AND outcome = 'pending'"
                          " RETURNING stage",
    [ST_MEMBER_LIST] = "SELECT " MEMBER_COLS " FROM rollout_devices WHERE rollout_id = $1"
                       " AND device_id > $2 ORDER BY device_id LIMIT $3",
    [ST_MEMBER_BY_DEVICE] = "SELECT " MEMBER_COLS " FROM rollout_devices WHERE device_id = $1"
                            " ORDER BY assign_seq DESC LIMIT $2",

    [ST_REPORT_INSERT] = "INSERT INTO reports (device_id, kind, body_sha256, body, received_at)"
                         " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (body_sha256) DO NOTHING"
                         " RETURNING id",
    [ST_REPORT_BY_DIGEST] = "SELECT id, device_id, kind FROM reports WHERE body_sha256 = $1",
    [ST_REPORT_GET] = "SELECT " REPORT_COLS " FROM reports WHERE id = $1",
    [ST_REPORT_SEQUENCE] = "UPDATE reports SET ledger_index = $2"
                           " WHERE id = $1 AND ledger_index IS NULL",
    [ST_REPORT_UNSEQUENCED] = "SELECT " REPORT_COLS " FROM reports"
                              " WHERE ledger_index IS NULL" ASC,
    [ST_REPORT_LIST] = "SELECT " REPORT_COLS " FROM reports WHERE device_id = $3" ASC,
    [ST_REPORT_LIST_DESC] = "SELECT " REPORT_COLS " FROM reports WHERE device_id = $3" DESC,
    [ST_REPORT_RANGE] = "SELECT " REPORT_COLS " FROM reports WHERE (device_id, id) > ($1, $2)"
                        " AND device_id <= $3 ORDER BY device_id, id LIMIT $4",

    [ST_ALERT_INSERT] = "INSERT INTO alerts (kind, subject, message, raised_at, acked_at,"
                        " acked_by) VALUES ($1, $2, $3, $4, 0, 0) RETURNING id",
    [ST_ALERT_GET] = "SELECT " ALERT_COLS " FROM alerts WHERE id = $1",
    [ST_ALERT_ACK] = "UPDATE alerts SET acked_at = $2, acked_by = $3"
                     " WHERE id = $1 AND acked_at = 0",
    [ST_ALERT_LIST] = "SELECT " ALERT_COLS " FROM alerts"
                      " WHERE (CAST($3 AS BIGINT) = 0 OR acked_at = 0)" ASC,
    [ST_ALERT_LIST_DESC] = "SELECT " ALERT_COLS " FROM alerts"
                           " WHERE (CAST($3 AS BIGINT) = 0 OR acked_at = 0)" DESC,
    [ST_ALERT_UNDELIVERED] = "SELECT " ALERT_COLS " FROM alerts WHERE delivered_at = 0" ASC,
    [ST_ALERT_DELIVERED] = "UPDATE alerts SET delivered_at = $2 WHERE id = $1 AND delivered_at = 0",

    [ST_AUDIT_INSERT] = "INSERT INTO audit (token_id, actor, action, target, detail, acted_at)"
                        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    [ST_AUDIT_LIST] = "SELECT " AUDIT_COLS " FROM audit WHERE 1 = 1" ASC,
    [ST_AUDIT_LIST_DESC] = "SELECT " AUDIT_COLS " FROM audit WHERE 1 = 1" DESC,
};
