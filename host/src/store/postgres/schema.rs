//! The PostgreSQL schema, versioned: `MIGRATIONS` are applied in order, each once, recorded
//! in [`VERSION_TABLE`]. Applying takes an advisory lock in its transaction, so hosts
//! migrating one database at once apply each migration once. The baseline is the SQLite schema as
//! `store/migrations.rs` leaves it; a later SQLite migration needs its twin here (the
//! schema-equivalence test fails until it has one).

use ::postgres::{Client, Transaction};

use super::PgError as Error;
use super::message;

/// The table recording applied migrations.
pub const VERSION_TABLE: &str = "flowhost_migrations";

/// The advisory lock key of migrating (and of copying into) a database: any constant other
/// code does not use; "flowhost" in ASCII.
const MIGRATE_LOCK: i64 = 0x666c_6f77_686f_7374;

/// (version, description, SQL). Append only: never edit a migration that has shipped.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "baseline: the SQLite schema's tables, keys, indexes, constraints and triggers",
        include_str!("baseline.sql"),
    ),
    (
        2,
        "hosts and their heartbeats (the SQLite migration of the same name)",
        r#"
    -- A host is alive while its heartbeat (the database's clock, Unix milliseconds) is
    -- younger than the TTL it declared (runs/lease.rs).
    CREATE TABLE IF NOT EXISTS hosts (
        owner        TEXT COLLATE "C" PRIMARY KEY,
        started_at   BIGINT NOT NULL,
        heartbeat_at BIGINT NOT NULL,
        ttl_ms       BIGINT NOT NULL
    );
    "#,
    ),
    (
        3,
        "event chains (the SQLite migration of the same name)",
        r#"
    ALTER TABLE events ADD COLUMN IF NOT EXISTS chain BIGINT;
    CREATE INDEX IF NOT EXISTS events_by_chain ON events (chain) WHERE chain IS NOT NULL;
    "#,
    ),
    (
        4,
        "case restriction updates made once per call of a run's step (the SQLite migration of the same name)",
        r#"
    CREATE TABLE IF NOT EXISTS case_updates (
        idempotency_key TEXT COLLATE "C" PRIMARY KEY,
        case_id         BIGINT NOT NULL REFERENCES cases (id),
        result          TEXT NOT NULL,
        at              BIGINT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS case_updates_by_age ON case_updates (at);
    "#,
    ),
    (
        5,
        "a webhook's secret bound to the run_as it was issued for (the SQLite migration of the same name)",
        r#"
    ALTER TABLE webhooks ADD COLUMN IF NOT EXISTS run_as TEXT COLLATE "C";
    "#,
    ),
    (
        6,
        "pending events by workspace, for workspaces taking turns at dispatch (the SQLite migration of the same name)",
        r#"
    CREATE INDEX IF NOT EXISTS events_pending_by_workspace ON events (workspace, id)
        WHERE dispatched = 0 AND quarantined IS NULL;
    "#,
    ),
    (
        7,
        "the restricted cases each run read (the SQLite migration of the same name)",
        r#"
    CREATE TABLE IF NOT EXISTS run_cases (
        run_id  BIGINT NOT NULL REFERENCES runs (id),
        case_id BIGINT NOT NULL REFERENCES cases (id),
        PRIMARY KEY (run_id, case_id)
    );
    "#,
    ),
    (
        8,
        "open interactions by deadline (the SQLite migration of the same name)",
        r#"
    CREATE INDEX IF NOT EXISTS interactions_open_by_deadline ON interactions (deadline_ms, id)
        WHERE status = 'open' AND deadline_ms IS NOT NULL;
    "#,
    ),
    (
        9,
        "opaque event ids (the SQLite migration of the same name)",
        r#"
    ALTER TABLE events ADD COLUMN IF NOT EXISTS public_id TEXT COLLATE "C";
    UPDATE events SET public_id = 'E-' || upper(substr(md5(random()::text || id::text), 1, 16))
        WHERE public_id IS NULL AND dispatched = 0;
    ALTER TABLE events ALTER COLUMN public_id
        SET DEFAULT 'E-' || upper(substr(md5(random()::text || clock_timestamp()::text), 1, 16));
    CREATE UNIQUE INDEX IF NOT EXISTS events_by_public_id ON events (public_id);
    "#,
    ),
    (
        10,
        "audit entries about interactions of runs that read a restricted case, marked once (the SQLite migration of the same name)",
        r#"
    ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS partial_hidden BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE audit_log DISABLE TRIGGER audit_log_is_append_only_update;
    UPDATE audit_log SET partial_hidden = 1
        WHERE substr(target, 1, 12) = 'interaction:' AND EXISTS (
            SELECT 1 FROM interactions i JOIN run_cases rc ON rc.run_id = i.run_id
            JOIN cases c ON c.id = rc.case_id
            WHERE i.public_id = substr(audit_log.target, 13) AND c.restricted <> 0);
    ALTER TABLE audit_log ENABLE TRIGGER audit_log_is_append_only_update;
    "#,
    ),
    (
        11,
        "a web session opened by an SSO login names the IdP it went through (the SQLite migration of the same name)",
        r#"
    ALTER TABLE web_sessions ADD COLUMN IF NOT EXISTS idp TEXT COLLATE "C";
    DELETE FROM web_sessions WHERE via = 'sso' AND idp IS NULL;
    "#,
    ),
    (
        12,
        "a run's restricted reads tell its own from those inherited with its event (the SQLite migration of the same name)",
        r#"
    ALTER TABLE run_cases ADD COLUMN IF NOT EXISTS inherited BIGINT NOT NULL DEFAULT 0;
    "#,
    ),
    (
        13,
        "a run started by a run's event names that run and its ancestors (the SQLite migration of the same name)",
        r#"
    ALTER TABLE run_cases ADD COLUMN IF NOT EXISTS seq BIGINT NOT NULL DEFAULT 0;
    CREATE TABLE IF NOT EXISTS run_ancestors (
        run_id      BIGINT NOT NULL REFERENCES runs (id),
        ancestor_id BIGINT NOT NULL REFERENCES runs (id),
        upto        BIGINT NOT NULL,
        PRIMARY KEY (run_id, ancestor_id)
    );
    "#,
    ),
    (
        14,
        "an event a run emitted names how far that run had read when it was written (the SQLite migration of the same name)",
        r#"
    ALTER TABLE events ADD COLUMN IF NOT EXISTS cause_seq BIGINT;
    -- A database opened by a build between the first text of 13 and its last lacks these
    -- (13 was amended before it was released): every ancestor's read counts.
    ALTER TABLE run_cases ADD COLUMN IF NOT EXISTS seq BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE run_ancestors ADD COLUMN IF NOT EXISTS upto BIGINT NOT NULL DEFAULT 9223372036854775807;
    "#,
    ),
    (
        15,
        "a case's id as people see it: numbered among full-access-created cases, opaque for one created restricted (the SQLite migration of the same name)",
        r#"
    ALTER TABLE cases ADD COLUMN public_id TEXT COLLATE "C";
    ALTER TABLE cases ADD COLUMN shown_number BIGINT;
    UPDATE cases SET public_id = 'C-' || number, shown_number = number;
    CREATE UNIQUE INDEX cases_by_public_id ON cases (workspace_id, public_id);
    CREATE UNIQUE INDEX cases_by_shown_number ON cases (workspace_id, shown_number);
    "#,
    ),
    (
        16,
        "who issued a webhook's secret; a case needs its id (the SQLite migration of the same name)",
        r#"
    ALTER TABLE webhooks ADD COLUMN issued_by TEXT COLLATE "C";
    UPDATE webhooks SET issued_by = (
        SELECT CASE a.actor_kind WHEN 'user' THEN 'user:' || a.actor
                                 WHEN 'api_key' THEN 'key:' || a.actor END
        FROM audit_log a
        WHERE a.workspace = webhooks.workspace
          AND a.action IN ('webhook.create', 'webhook.rotate')
          AND a.details LIKE '%"webhook":"' || webhooks.id || '"%'
        ORDER BY a.id DESC LIMIT 1);
    UPDATE cases SET public_id = 'C-' || upper(substr(md5(random()::text || id::text), 1, 16))
        WHERE public_id IS NULL;
    CREATE TRIGGER cases_need_a_public_id BEFORE INSERT ON cases
        FOR EACH ROW EXECUTE FUNCTION public_id_is_required();
    "#,
    ),
    (
        17,
        "who vouched for a sign-in link's session (the SQLite migration of the same name); events stamped at their insert",
        r#"
    ALTER TABLE web_sessions ADD COLUMN issued_by TEXT COLLATE "C";
    DELETE FROM web_sessions WHERE via = 'local';
    -- PostgreSQL only: an event's time is its insert's, taken after the workspace's lock its
    -- number is drawn under, as SQLite's statement time is; `now()` was its transaction's
    -- start, and an event numbered later could read earlier (round 18 storage review).
    ALTER TABLE events ALTER COLUMN created_at
        SET DEFAULT (to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
    ALTER TABLE step_executions ALTER COLUMN created_at
        SET DEFAULT (to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
    "#,
    ),
    (
        18,
        "the keys runs were started with (the SQLite migration of the same name)",
        r#"
    CREATE TABLE start_requests (
        workspace   TEXT COLLATE "C" NOT NULL,
        requester   TEXT COLLATE "C" NOT NULL,
        request_key TEXT COLLATE "C" NOT NULL,
        run         BIGINT NOT NULL REFERENCES runs (id),
        at          BIGINT NOT NULL,
        PRIMARY KEY (workspace, requester, request_key)
    );
    CREATE INDEX start_requests_by_age ON start_requests (at);
    "#,
    ),
    (
        19,
        "the browser that used a sign-in link (the SQLite migration of the same name)",
        r#"
    ALTER TABLE signin_links ADD COLUMN used_by TEXT COLLATE "C";
    "#,
    ),
    (
        20,
        "the run or the request of a remembered restriction update (the SQLite migration of the same name)",
        r#"
    ALTER TABLE case_updates ADD COLUMN run BIGINT REFERENCES runs (id);
    ALTER TABLE case_updates ADD COLUMN request TEXT COLLATE "C";
    "#,
    ),
    (
        21,
        "who answers for what a manual run asks of people (the SQLite migration of the same name)",
        r#"
    ALTER TABLE runs ADD COLUMN binder TEXT COLLATE "C";
    "#,
    ),
    (
        22,
        "the engine rules a run started under (the SQLite migration of the same name)",
        r#"
    ALTER TABLE runs ADD COLUMN rules BIGINT NOT NULL DEFAULT 1;
    "#,
    ),
    (
        23,
        "what a requester's keyed case creation asked, waits passed over, no blank state (the SQLite migration of the same name)",
        r#"
    ALTER TABLE cases ADD COLUMN request TEXT COLLATE "C";
    ALTER TABLE run_timers ADD COLUMN passed_over BIGINT NOT NULL DEFAULT 0;
    UPDATE cases SET state = 'open' WHERE trim(state) = '';
    "#,
    ),
    (
        24,
        "case states trimmed of every white space (the SQLite migration of the same name)",
        r#"
    UPDATE cases SET state = CASE
            WHEN btrim(state, chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(32) || chr(133) || chr(160) || chr(5760) || chr(8192) || chr(8193) || chr(8194) || chr(8195) || chr(8196) || chr(8197) || chr(8198) || chr(8199) || chr(8200) || chr(8201) || chr(8202) || chr(8232) || chr(8233) || chr(8239) || chr(8287) || chr(12288)) = '' THEN 'open'
            ELSE btrim(state, chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(32) || chr(133) || chr(160) || chr(5760) || chr(8192) || chr(8193) || chr(8194) || chr(8195) || chr(8196) || chr(8197) || chr(8198) || chr(8199) || chr(8200) || chr(8201) || chr(8202) || chr(8232) || chr(8233) || chr(8239) || chr(8287) || chr(12288)) END
        WHERE state <> btrim(state, chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(32) || chr(133) || chr(160) || chr(5760) || chr(8192) || chr(8193) || chr(8194) || chr(8195) || chr(8196) || chr(8197) || chr(8198) || chr(8199) || chr(8200) || chr(8201) || chr(8202) || chr(8232) || chr(8233) || chr(8239) || chr(8287) || chr(12288));
    "#,
    ),
    (
        25,
        "a case's sight version, and the version each run read (the SQLite migration of the same name)",
        r#"
    ALTER TABLE cases ADD COLUMN IF NOT EXISTS sight BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE run_cases ADD COLUMN IF NOT EXISTS sight BIGINT;
    "#,
    ),
    (
        26,
        "the sight a case event was written at (the SQLite migration of the same name)",
        r#"
    ALTER TABLE events ADD COLUMN IF NOT EXISTS sight BIGINT;
    ALTER TABLE cases ADD COLUMN IF NOT EXISTS widened BIGINT NOT NULL DEFAULT 0;
    "#,
    ),
    (
        27,
        "the sights of reads and case events stored before sights were kept (the SQLite migration 47)",
        crate::store::migrations::BACKFILL_SIGHTS,
    ),
    (
        28,
        "every case event naming who left a restricted case in a change that widened it, hidden for good (the SQLite migration 48)",
        // Row by row: a payload that does not read as JSON is left alone rather than stop the
        // migration (PostgreSQL 15 has no test for it short of the cast). A `\u0000` escape,
        // which a case's fields may hold and `jsonb` refuses, is read as U+FFFD first: what
        // is decided here never quotes one (round 30 self-review: such an event stayed
        // visible on this engine only).
        r#"
    DO $$
    DECLARE
        r RECORD;
        p JSONB;
        hide BOOLEAN;
    BEGIN
        FOR r IN SELECT id, payload FROM events
                  WHERE kind = 'case_collaborators_list_updated' AND source LIKE 'case-service:%'
                    AND (sight IS NULL OR sight >= 0) LOOP
            BEGIN
                p := replace(r.payload, '\u0000', '\ufffd')::jsonb;
                hide := jsonb_typeof(p->'removed') = 'array' AND p->'removed' <> '[]'::jsonb
                    AND (p->'was' IS NULL OR (p->'was'->>'access_mode') = 'restricted')
                    AND ((jsonb_typeof(p->'added') = 'array' AND p->'added' <> '[]'::jsonb)
                         OR (p->'case'->>'access_mode') = 'full_access');
            EXCEPTION WHEN others THEN
                CONTINUE;
            END;
            IF hide THEN
                UPDATE events SET sight = -1 WHERE id = r.id;
            END IF;
        END LOOP;
    END $$;
    "#,
    ),
];

/// The newest migration this flowhost knows.
pub fn newest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Applies every migration the database lacks, in one transaction under the advisory lock;
/// idempotent. A database migrated by a newer flowhost is refused. A database already at
/// this version is not locked at all, and the session is ended by the server if left idle
/// inside its transaction: every open took the lock, so one opener paused or cut off held
/// every later one (each CLI command, each host's start) for good (round 16 kill review).
pub fn migrate(client: &mut Client) -> Result<(), Error> {
    client
        .batch_execute(&format!(
            "SET idle_in_transaction_session_timeout = {}",
            crate::store::IDLE_IN_TRANSACTION.as_millis()
        ))
        .map_err(infra)?;
    if version_unlocked(client)? == Some(newest_version()) {
        return Ok(());
    }
    // A schema statement waits for its table's lock as any write does, then the whole
    // migration rolls back and is tried again, while the wait for another migrator's lock
    // lasts: waiting on, it queued every other host's reads of that table behind it, with
    // no word (round 19 storage review).
    let started = std::time::Instant::now();
    loop {
        let mut tx = begin(client)?;
        match apply(&mut tx) {
            Err(Error::Busy(why))
                if why.contains(TABLE_LOCK_WAIT)
                    && started.elapsed() < crate::store::migrations::MIGRATION_LOCK_WAIT =>
            {
                drop(tx);
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            result => {
                result?;
                return tx.commit().map_err(infra);
            }
        }
    }
}

/// What a migration's refusal for a table lock it could not get in time says.
const TABLE_LOCK_WAIT: &str = "waited for a lock another session holds on its table";

/// Whether the database `client` is connected to holds a Flowhost schema (any version).
pub fn holds_flowhost(client: &mut Client) -> Result<bool, Error> {
    Ok(version_unlocked(client)?.is_some())
}

/// The schema's version as read without the lock, `None` before the first migration.
fn version_unlocked(client: &mut Client) -> Result<Option<i64>, Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&VERSION_TABLE])
        .map_err(infra)?
        .get(0);
    if !exists {
        return Ok(None);
    }
    Ok(client
        .query_one(&format!("SELECT MAX(version) FROM {VERSION_TABLE}"), &[])
        .map_err(infra)?
        .get(0))
}

/// A transaction at READ COMMITTED whatever the server's or role's default: the version is
/// read after the advisory lock is had, so under REPEATABLE READ a host that waited for
/// another's migration read the version from before it and applied it again (storage review).
pub(crate) fn begin(client: &mut Client) -> Result<Transaction<'_>, Error> {
    client
        .build_transaction()
        .isolation_level(::postgres::IsolationLevel::ReadCommitted)
        .start()
        .map_err(infra)
}

/// Applies the missing migrations inside `tx` (begun by [`begin`]), which then holds the advisory lock to its end
/// (a second host waits for it, then finds them applied). PostgreSQL's DDL is
/// transactional: if `tx` rolls back, so does the schema.
pub(crate) fn apply(tx: &mut Transaction<'_>) -> Result<(), Error> {
    // Text is UTF-8 everywhere else: on a LATIN1 database a title holding an emoji failed
    // its run as the host's own failure, where SQLite stored it (storage review).
    let encoding: String = tx
        .query_one("SHOW server_encoding", &[])
        .map_err(infra)?
        .get(0);
    if !encoding.eq_ignore_ascii_case("UTF8") {
        return Err(Error::Invalid(format!(
            "the PostgreSQL database's encoding is {encoding}; Flowhost needs UTF8 \
             (createdb --encoding=UTF8 --template=template0)"
        )));
    }
    let newest = newest_version();
    // Waited for as SQLite's openers wait for its migration, and no longer: a `db migrate
    // --to` paused or cut off held every later open of a database not migrated yet, with no
    // word, until the server dropped its session (round 17 kill review). That session is
    // ended by the server once idle in its transaction.
    tx.batch_execute(&format!(
        "SET LOCAL lock_timeout = {}; SET LOCAL idle_in_transaction_session_timeout = {}",
        crate::store::migrations::MIGRATION_LOCK_WAIT.as_millis(),
        crate::store::IDLE_IN_TRANSACTION.as_millis()
    ))
    .map_err(infra)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
        .map_err(|e| match infra(e) {
            Error::Busy(why) | Error::Internal(why) => Error::Busy(format!(
                "waited {} s for another flowhost migrating or copying into this database: {why}",
                crate::store::migrations::MIGRATION_LOCK_WAIT.as_secs()
            )),
            other => other,
        })?;
    // The schema's own statements wait as any write does, and no longer (`migrate` tries
    // again).
    tx.batch_execute(&format!(
        "SET LOCAL lock_timeout = {}",
        crate::store::BUSY_TIMEOUT.as_millis()
    ))
    .map_err(infra)?;
    refuse_another_applications(tx)?;
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (
             version    BIGINT PRIMARY KEY,
             what       TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )"
    ))
    .map_err(infra)?;
    let current: i64 = tx
        .query_one(
            &format!("SELECT COALESCE(MAX(version), 0) FROM {VERSION_TABLE}"),
            &[],
        )
        .map_err(infra)?
        .get(0);
    if current > newest {
        return Err(Error::Invalid(format!(
            "the PostgreSQL database is at schema version {current}, newer than this \
             flowhost ({newest}); use a newer flowhost"
        )));
    }
    for &(version, what, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql).map_err(|e| {
            if e.code() == Some(&::postgres::error::SqlState::LOCK_NOT_AVAILABLE) {
                return Error::Busy(format!(
                    "PostgreSQL migration {version} ({what}) {TABLE_LOCK_WAIT} for {} s; \
                     nothing was changed",
                    crate::store::BUSY_TIMEOUT.as_secs()
                ));
            }
            Error::Internal(format!(
                "PostgreSQL migration {version} ({what}) failed: {}",
                message(&e)
            ))
        })?;
        tx.execute(
            &format!("INSERT INTO {VERSION_TABLE} (version, what) VALUES ($1, $2)"),
            &[&version, &what],
        )
        .map_err(infra)?;
    }
    Ok(())
}

/// Refuses, before anything is written, a database whose schema holds relations but no
/// Flowhost version table: another application's, which opening migrated Flowhost's tables
/// into beside its own, or failed on a clashing name (`users`) as the host's own error, as
/// SQLite's file of another application is refused (round 21 storage review). Relations an
/// extension owns (PostGIS's `spatial_ref_sys`) do not count: the database is still empty of
/// anyone's data.
fn refuse_another_applications(tx: &mut Transaction<'_>) -> Result<(), Error> {
    let row = tx
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL,
                    (SELECT count(*) FROM pg_class c
                       JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = current_schema()
                        AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
                        AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                         WHERE d.objid = c.oid AND d.deptype = 'e'))",
            &[&VERSION_TABLE],
        )
        .map_err(infra)?;
    let (ours, relations): (bool, i64) = (row.get(0), row.get(1));
    if !ours && relations > 0 {
        return Err(Error::Invalid(format!(
            "the PostgreSQL database's schema holds {relations} tables, views or sequences but \
             no Flowhost schema: it is not a Flowhost database (give a new database, or one a \
             flowhost command made)"
        )));
    }
    Ok(())
}

/// A PostgreSQL failure outside the statement's own fault: the connection or the server.
pub(crate) fn infra(e: ::postgres::Error) -> Error {
    // A serialization failure, a deadlock, a shutting-down server pass with time.
    if crate::store::failure::is_postgres_infrastructure(&e) {
        Error::Busy(format!("PostgreSQL: {}", message(&e)))
    } else if e.as_db_error().is_some() {
        Error::Internal(format!("PostgreSQL: {}", message(&e)))
    } else {
        Error::Busy(format!("PostgreSQL: {}", message(&e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order() {
        assert_eq!(MIGRATIONS.first().map(|m| m.0), Some(1));
        for pair in MIGRATIONS.windows(2) {
            assert_eq!(
                pair[1].0,
                pair[0].0 + 1,
                "migration {} out of order",
                pair[1].0
            );
        }
    }
}
