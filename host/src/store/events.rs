//! The event log: case events and custom events, appended in the transaction of the change
//! that caused them, read by triggers.

use crate::store::sql::{Connection, ToSql};

use crate::principal::Cause;

use super::Db;

/// An event as stored in the event log.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StoredEvent {
    pub id: i64,
    pub workspace: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub source: String,
    /// The case a case event is about.
    pub case_id: Option<i64>,
    pub created_at: String,
}

/// Appends an event; call it inside the transaction of the change it reports. `cause` is the
/// run that caused it, if any (its depth bounds event chains, SPEC WF-9); `sight`, for a case
/// event, who saw its case as written (`events.sight`, migration 46). Nobody needs its id: it
/// goes out with the transaction's next round trip ([`Connection::execute_later`]).
#[allow(clippy::too_many_arguments)]
pub fn append(
    conn: &Connection,
    workspace: &str,
    kind: &str,
    payload: &serde_json::Value,
    source: &str,
    case_id: Option<i64>,
    cause: Option<Cause>,
    sight: Option<i64>,
) -> crate::store::sql::Result<()> {
    conn.lock_workspace(workspace)?;
    let id = crate::public_id::PublicId::new(crate::public_id::IdKind::Event)
        .map_err(|e| crate::store::sql::Error::ToSqlConversionFailure(Box::new(e)))?;
    let mut row = EventRow::new(workspace, kind, payload, source, case_id, cause, id);
    row.sight = sight;
    conn.execute_later(INSERT_EVENT, row.params().as_slice())?;
    // Any host may dispatch it: wake them when it commits (issue 18).
    super::postgres::notify_work(conn)
}

/// An event's row, as [`INSERT_EVENT`] binds it.
struct EventRow<'a> {
    workspace: &'a str,
    kind: &'a str,
    payload: String,
    source: &'a str,
    case_id: Option<i64>,
    depth: i64,
    run: Option<i64>,
    public_id: String,
    read_upto: Option<i64>,
    sight: Option<i64>,
}

impl<'a> EventRow<'a> {
    fn new(
        workspace: &'a str,
        kind: &'a str,
        payload: &serde_json::Value,
        source: &'a str,
        case_id: Option<i64>,
        cause: Option<Cause>,
        public_id: crate::public_id::PublicId,
    ) -> Self {
        EventRow {
            workspace,
            kind,
            payload: payload.to_string(),
            source,
            case_id,
            depth: cause.map_or(0, |c| i64::from(c.depth)),
            run: cause.map(|c| c.run),
            read_upto: cause.and_then(|c| c.read_upto),
            public_id: public_id.to_string(),
            sight: None,
        }
    }

    fn params(&self) -> [&dyn ToSql; 10] {
        [
            &self.workspace,
            &self.kind,
            &self.payload,
            &self.source,
            &self.case_id,
            &self.depth,
            &self.run,
            &self.public_id,
            &self.read_upto,
            &self.sight,
        ]
    }
}

/// The insert of an event, under its workspace's lock: a workspace's events commit in the
/// order of their ids (its turn at dispatch). It has an opaque id of its own (`E-…`), by
/// which `triggers list` shows it and `triggers release` takes it (SPEC ID-4).
/// Its chain is its cause's: the chain of the event that started the run, or the run itself
/// when no chained event did. A run no event started (a manual run, depth 0) begins no chain:
/// each run its events start begins one, so a sweep's many events are each bounded on their
/// own, not all together (SPEC WF-9).
/// An event a run publishes without a case of its own carries the case of the event that
/// started the run, if any: the run may have quoted it (a notification's subject), so the
/// runs it starts in turn must see that case too, and are hidden with it (SPEC CS-2; case
/// visibility review: a case-triggered run's custom event carried a restricted case to a
/// workflow whose identity could not see it).
/// It names how far its run had read (`cause_seq`): what the run reads after is not the
/// event's to quote (kill review).
const INSERT_EVENT: &str =
    "INSERT INTO events (workspace, kind, payload, source, case_id, depth, cause_run, chain, public_id, cause_seq, sight)
         VALUES (?1, ?2, ?3, ?4,
                 COALESCE(?5, (SELECT t.case_id FROM runs r JOIN events t ON t.id = r.trigger_event
                               WHERE r.id = ?7)),
                 ?6, ?7,
                 (SELECT CASE WHEN r.depth = 0 THEN NULL ELSE COALESCE(t.chain, r.id) END
                  FROM runs r LEFT JOIN events t ON t.id = r.trigger_event
                  WHERE r.id = ?7),
                 ?8,
                 CASE WHEN ?7 IS NULL THEN NULL
                      ELSE COALESCE(CAST(?9 AS BIGINT),
                                    (SELECT COALESCE(max(seq), 0) FROM run_cases WHERE run_id = ?7))
                 END,
                 ?10)";

impl Db {
    /// Events of `workspace`, oldest first.
    pub fn events(&self, workspace: &str) -> anyhow::Result<Vec<StoredEvent>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, workspace, kind, payload, source, case_id, created_at
             FROM events WHERE workspace = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([workspace], |r| {
            let payload = super::json::column(r, 3, "events.payload")?;
            Ok(StoredEvent {
                id: r.get(0)?,
                workspace: r.get(1)?,
                kind: r.get(2)?,
                payload,
                source: r.get(4)?,
                case_id: r.get(5)?,
                created_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
