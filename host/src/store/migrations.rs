//! Versioned schema migrations. `PRAGMA user_version` records the last one applied; each
//! migration runs in its own transaction, so a failed one leaves the previous version intact.

use rusqlite::Connection;

/// (version, description, SQL). Append only: never edit a migration that has shipped.
const MIGRATIONS: &[(u32, &str, &str)] = &[(
    1,
    "step executions, their log lines, and the event log",
    r#"
    CREATE TABLE step_executions (
        id           INTEGER PRIMARY KEY,
        workspace    TEXT NOT NULL,
        principal    TEXT NOT NULL,
        component    TEXT NOT NULL,
        digest       TEXT NOT NULL,
        status       TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
        failure_kind TEXT,
        error        TEXT,
        output       TEXT,
        duration_us  INTEGER NOT NULL,
        created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TABLE step_logs (
        execution_id INTEGER NOT NULL REFERENCES step_executions(id),
        seq          INTEGER NOT NULL,
        level        TEXT NOT NULL,
        message      TEXT NOT NULL,
        PRIMARY KEY (execution_id, seq)
    );
    CREATE TABLE events (
        id         INTEGER PRIMARY KEY,
        workspace  TEXT NOT NULL,
        kind       TEXT NOT NULL,
        payload    TEXT NOT NULL,
        source     TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE INDEX events_by_workspace ON events (workspace, id);
    "#,
)];

/// Applies every migration newer than the database's version.
pub fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > newest {
        anyhow::bail!(
            "the database is at schema version {current}, newer than this flowhost ({newest}); \
             use a newer flowhost"
        );
    }
    for &(version, what, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .map_err(|e| anyhow::anyhow!("migration {version} ({what}) failed: {e}"))?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order() {
        for pair in MIGRATIONS.windows(2) {
            assert_eq!(
                pair[1].0,
                pair[0].0 + 1,
                "migration {} out of order",
                pair[1].0
            );
        }
    }

    #[test]
    fn migrating_twice_is_a_no_op_and_a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().expect("db");
        migrate(&mut conn).expect("first");
        migrate(&mut conn).expect("second");
        conn.pragma_update(None, "user_version", 999).expect("bump");
        let err = migrate(&mut conn).expect_err("newer schema");
        assert!(err.to_string().contains("999"), "{err}");
    }
}
