//! The storage of trigger bookkeeping on the event log (`events.dispatched`,
//! `events.quarantined`): the oldest pending event, claiming one, and setting one aside.
//! Which workflows an event starts, and who may list or release events, is decided above.

use crate::store::sql::{Connection, Engine, OptionalExtension, params};

use crate::store::Transaction;
use serde_json::Value;

use crate::Error;
use crate::clock;
use crate::platform::internal;
use crate::store::json;

/// An event not yet seen by triggers.
pub(in crate::workflow) struct PendingEvent {
    pub id: i64,
    pub workspace: String,
    pub kind: String,
    pub payload: Value,
    pub case_id: Option<i64>,
    pub depth: u32,
    /// The run that began its chain (SPEC WF-9); `None` for an event no run caused.
    pub chain: Option<i64>,
    /// The run that emitted it, if one did: the restricted cases it read go with the event.
    pub cause_run: Option<i64>,
    /// How far that run had read when it wrote the event (`run_cases.seq`; `None` for an
    /// event written before events were stamped: all it has read).
    pub cause_seq: Option<i64>,
}

impl PendingEvent {
    /// What the run that emitted it had read when it wrote it, if a run did.
    pub fn cause(&self) -> Option<crate::cases::RunReads> {
        self.cause_run
            .map(|run| crate::cases::RunReads::at_event(run, self.cause_seq))
    }
}

/// The oldest pending event, or why its row cannot be read.
pub(in crate::workflow) enum Next {
    Event(PendingEvent),
    /// Its row does not read (SPEC WF-11 is for the infrastructure; this is the row's own
    /// fault, and waiting will not mend it).
    Unreadable {
        id: i64,
        why: String,
    },
}

/// An event waiting for dispatch, or set aside (quarantined) because it cannot be (listed by
/// `triggers list`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct WaitingEvent {
    /// Its opaque id (`E-…`): row ids are one sequence over every workspace and would tell
    /// how busy the others are, and a number among the events its reader sees moved when a
    /// case was restricted away from them (SPEC ID-4).
    pub id: crate::public_id::PublicId,
    /// Its kind as stored (read as text whatever it holds).
    pub kind: String,
    pub created_at: String,
    /// Why it was quarantined, and when (Unix seconds); `None` while it waits.
    pub quarantined: Option<String>,
    pub quarantined_at: Option<i64>,
}

/// The oldest event of `workspace` (of any if `None`) neither dispatched nor quarantined,
/// nor being claimed by another host right now, of the first workspace after `after` by name
/// that has one (wrapping round to the first): workspaces take turns.
///
/// On PostgreSQL the read skips the rows other transactions hold (`FOR UPDATE SKIP LOCKED`,
/// issue 18): an event another host is claiming is locked by its [`mark_dispatched`] until
/// that claim commits, so hosts dispatching at once take different events instead of all
/// reading the oldest and queueing behind its claimer. Read outside a transaction, the lock
/// lasts only for the statement; the claim itself is still settled by [`mark_dispatched`]
/// (the row read here may be claimed by another host before this one's claim begins).
/// SQLite has one writer, so nothing there is ever being claimed by someone else.
pub(in crate::workflow) fn next_pending(
    conn: &Connection,
    workspace: Option<&str>,
    after: &str,
) -> Result<Option<Next>, Error> {
    match next_pending_after(conn, workspace, after)? {
        None if !after.is_empty() => next_pending_after(conn, workspace, ""),
        next => Ok(next),
    }
}

fn next_pending_after(
    conn: &Connection,
    workspace: Option<&str>,
    after: &str,
) -> Result<Option<Next>, Error> {
    let sql = match conn.engine() {
        Engine::Sqlite => NEXT_PENDING,
        Engine::Postgres => NEXT_PENDING_SKIPPING_CLAIMS,
    };
    conn.query_row(sql, params![workspace, after], |r| {
        let id = r.get(0)?;
        let read = || -> crate::store::sql::Result<PendingEvent> {
            let payload = json::column(r, 3, "events.payload")?;
            Ok(PendingEvent {
                id,
                workspace: r.get(1)?,
                kind: r.get(2)?,
                payload,
                case_id: r.get(4)?,
                depth: r.get(5)?,
                chain: r.get(6)?,
                cause_run: r.get(7)?,
                cause_seq: r.get(8)?,
            })
        };
        Ok(match read() {
            Ok(event) => Next::Event(event),
            Err(e) => Next::Unreadable {
                id,
                // No row id: it is one sequence over every workspace (SPEC ID-4).
                why: format!("the stored event does not read: {e}"),
            },
        })
    })
    .optional()
    .map_err(internal)
}

/// The next pending event's query, which both engines' versions share (`$from` names the
/// table, with an index hint on SQLite).
macro_rules! next_pending_sql {
    ($from:literal) => {
        concat!(
            "SELECT id, workspace, kind, payload, case_id, depth, chain, cause_run, cause_seq FROM ",
            $from,
            " WHERE dispatched = 0 AND quarantined IS NULL AND (CAST(?1 AS TEXT) IS NULL OR workspace = ?1)
               AND workspace > ?2
             ORDER BY workspace, id LIMIT 1"
        )
    };
}

/// SQLite's: `events_pending_by_workspace` holds exactly the rows looked for, in this order.
/// Named, because without statistics SQLite's planner took `events_pending` and sorted every
/// pending event for each claim (review of the turns): a flood cost its size squared.
const NEXT_PENDING: &str = next_pending_sql!("events INDEXED BY events_pending_by_workspace");

const NEXT_PENDING_SKIPPING_CLAIMS: &str =
    concat!(next_pending_sql!("events"), " FOR UPDATE SKIP LOCKED");

/// Run `run`, started by an event that run `from` emitted and that is about case `case`, has
/// read what `from` and its ancestors had read when it was written (named in `run_ancestors`
/// with how far: every reader of `run_cases` reads theirs too, `crate::store::lineage_read`;
/// what they read after is not `run`'s, self-review and kill review) and the case: the event
/// may quote
/// them, and what `run` makes may quote the event. The case whatever its mode: readers ask
/// whether a case is restricted as they read, and one restricted after this claim was missing,
/// so what `run` made after it reached those who do not see it (leak review). Marked
/// inherited: it does not count towards `run`'s own bound on restricted reads. Nothing is
/// copied of what they read: a row per restricted case a run read went to each run its events
/// started (hostile-step review).
pub(in crate::workflow) fn record_event_reads(
    tx: &Transaction<'_>,
    run: i64,
    from: Option<crate::cases::RunReads>,
    case: Option<i64>,
) -> Result<(), Error> {
    if let Some(from) = from {
        // `from` as far as it had read when it wrote the event (as far as it has read now for
        // an event written before they were stamped), and its ancestors as far as `from`
        // counted them.
        tx.prepare_cached(
            "INSERT INTO run_ancestors (run_id, ancestor_id, upto)
             SELECT ?1, ?2, COALESCE(CAST(?3 AS BIGINT), max(seq), 0) FROM run_cases WHERE run_id = ?2
             ON CONFLICT DO NOTHING",
        )
        .and_then(|mut stmt| stmt.execute(params![run, from.run, from.upto]))
        .map_err(internal)?;
        tx.prepare_cached(
            "INSERT INTO run_ancestors (run_id, ancestor_id, upto)
             SELECT ?1, ancestor_id, upto FROM run_ancestors WHERE run_id = ?2
             ON CONFLICT DO NOTHING",
        )
        .and_then(|mut stmt| stmt.execute(params![run, from.run]))
        .map_err(internal)?;
    }
    if case.is_some() {
        // With its sight as at this claim if restricted then: the listener was matched on it
        // as it stood. None if open to every reader of cases: all of them saw it then, and a
        // restriction since hides it from whom it does not name (judged as it stands).
        tx.prepare_cached(
            "INSERT INTO run_cases (run_id, case_id, inherited, sight)
             SELECT ?1, id, 1, CASE WHEN restricted <> 0 THEN sight END FROM cases WHERE id = ?2
             ON CONFLICT DO NOTHING",
        )
        .and_then(|mut stmt| stmt.execute(params![run, case]))
        .map_err(internal)?;
    }
    Ok(())
}

/// The payloads of the case events (of `kinds`) that started run `run` and its ancestors
/// (`run_ancestors`): an event `run` wrote may quote them.
pub(in crate::workflow) fn lineage_case_events(
    conn: &Connection,
    run: i64,
    kinds: &[&str],
) -> Result<Vec<Value>, Error> {
    // The kinds are the host's own names, written in: only those payloads are read and
    // parsed, not every ancestor's custom payload (round 27 interactions review).
    let kinds = kinds
        .iter()
        .filter(|k| k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    crate::store::lineage_payloads(conn, run, &format!("e.kind IN ({kinds})"))
        .map_err(internal)?
        .iter()
        .map(|text| json::parse("events.payload", text).map_err(|e| Error::Internal(e.to_string())))
        .collect()
}

/// How many runs the events of chain `chain` have started so far (SPEC WF-9): those recorded
/// failed without a step run (a revision that cannot run, an identity with no standing)
/// widen nothing, as they emit nothing; counted, one unreadable revision's failed run per
/// event set every chain of its workspace aside at about half its length (round 27 review
/// of round 26).
pub(in crate::workflow) fn runs_in_chain(conn: &Connection, chain: i64) -> Result<i64, Error> {
    conn.query_row(
        "SELECT count(*) FROM runs r JOIN events e ON e.id = r.trigger_event
         WHERE e.chain = ?1
           AND (r.status <> 'failed'
                OR EXISTS (SELECT 1 FROM run_steps s WHERE s.run_id = r.id))",
        [chain],
        |r| r.get(0),
    )
    .map_err(internal)
}

/// Sets pending event `id` aside with the reason.
pub(in crate::workflow) fn quarantine(
    tx: &Transaction<'_>,
    id: i64,
    why: &str,
) -> Result<(), Error> {
    tx.execute(
        "UPDATE events SET quarantined = ?2, quarantined_at = ?3
         WHERE id = ?1 AND dispatched = 0 AND quarantined IS NULL",
        params![id, why, clock::now_unix()],
    )
    .map_err(internal)?;
    Ok(())
}

/// Who reads a workspace's events: a reader who does not bypass case restrictions sees no
/// event about a restricted case they are not on (SPEC CS-2), in lists or in their numbers.
pub(in crate::workflow) struct EventReader {
    pub bypass: bool,
    /// Holds `case.read`: without it no event about a case is listed (SPEC CS-4; its
    /// payload is the case).
    pub reads_cases: bool,
    /// As `case_people` stores it; empty for a principal without one.
    pub email: String,
}

/// The condition that event `e` (an alias) is visible to the reader bound as `?3` (bypass, 0
/// or 1), `?4` (email) and `?5` (reads cases, 0 or 1): it names no case, or (to a reader of
/// cases) a case not restricted, or one the reader is on;
/// and the run that emitted it, if any, read no restricted case the reader is not on (one
/// event per restricted case a sweep found counted them; leak review).
fn visible(e: &str) -> String {
    // Judged as read: the reader is not the run (round 27 interactions review).
    let read_hidden = crate::store::lineage_read(
        &format!("{e}.cause_run"),
        &format!("{e}.cause_seq"),
        &crate::store::read_hidden("?5", "?4", None, "1"),
    );
    // As written: a case event whose case's sight changed since, or one down a chain a
    // case event so began (round 28 leak reviews).
    let started_changed =
        crate::store::lineage_started(&format!("{e}.cause_run"), crate::store::STAMP_CHANGED);
    format!(
        "(?3 = 1 OR (({e}.case_id IS NULL OR ?5 = 1) AND ({e}.case_id IS NULL
            OR NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = {e}.case_id AND c.restricted = 1)
            OR EXISTS (SELECT 1 FROM case_people p WHERE p.case_id = {e}.case_id AND p.email = ?4))
          AND ({e}.sight IS NULL
               OR EXISTS (SELECT 1 FROM cases c WHERE c.id = {e}.case_id
                          AND {e}.sight >= 0 AND c.widened <= {e}.sight))
          AND ({e}.cause_run IS NULL OR (NOT {read_hidden} AND NOT {started_changed}))))"
    )
}

/// The events of `workspace` waiting for dispatch, or (`quarantined`) those set aside,
/// oldest first, that `reader` may see.
pub(in crate::workflow) fn waiting(
    conn: &Connection,
    workspace: &str,
    quarantined: bool,
    reader: &EventReader,
) -> Result<Vec<WaitingEvent>, Error> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT public_id, CAST(kind AS TEXT), CAST(created_at AS TEXT), quarantined,
                    quarantined_at
             FROM events e
             WHERE workspace = ?1 AND dispatched = 0
               AND (CASE WHEN quarantined IS NULL THEN 0 ELSE 1 END) = ?2 AND {}
             ORDER BY id",
            visible("e")
        ))
        .map_err(internal)?;
    let rows = stmt
        .query_map(
            params![
                workspace,
                quarantined,
                i64::from(reader.bypass),
                &reader.email,
                i64::from(reader.reads_cases)
            ],
            |r| {
                Ok(WaitingEvent {
                    id: crate::public_id::PublicId::stored(r.get(0)?),
                    kind: r.get(1)?,
                    created_at: r.get(2)?,
                    quarantined: r.get(3)?,
                    quarantined_at: r.get(4)?,
                })
            },
        )
        .map_err(internal)?;
    rows.collect::<Result<_, _>>().map_err(internal)
}

/// Puts quarantined event `id` of `workspace` back in line if `reader` may see it; returns
/// whether there was such a quarantined event.
pub(in crate::workflow) fn release(
    tx: &Transaction<'_>,
    workspace: &str,
    id: &crate::public_id::PublicId,
    reader: &EventReader,
) -> Result<bool, Error> {
    let released = tx
        .execute(
            &format!(
                "UPDATE events SET quarantined = NULL, quarantined_at = NULL
                 WHERE id = (SELECT id FROM events e WHERE public_id = ?1 AND workspace = ?2
                             AND {})
                   AND dispatched = 0 AND quarantined IS NOT NULL",
                visible("e")
            ),
            params![
                id.as_str(),
                workspace,
                i64::from(reader.bypass),
                &reader.email,
                i64::from(reader.reads_cases)
            ],
        )
        .map_err(internal)?;
    // Back in line for any host: wake them, as an appended event does (round 20 kill
    // review: other hosts found it at their next poll).
    if released == 1 {
        crate::store::postgres::notify_work(tx).map_err(internal)?;
    }
    Ok(released == 1)
}

/// Marks pending event `id` as dispatched; `false` if it was not pending any more (another
/// process claimed it first, or set it aside since it was read). Exactly once per event
/// without any wider lock: the update takes the event's row lock, and a second claimer,
/// waiting for it, finds the row no longer pending (PostgreSQL's `READ COMMITTED` checks the
/// condition again on the row as the first claim committed it; SQLite has one writer).
pub(in crate::workflow) fn mark_dispatched(tx: &Transaction<'_>, id: i64) -> Result<bool, Error> {
    let claimed = tx
        .execute(
            "UPDATE events SET dispatched = 1
             WHERE id = ?1 AND dispatched = 0 AND quarantined IS NULL",
            [id],
        )
        .map_err(internal)?;
    Ok(claimed > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Platform;
    use crate::store::Db;

    /// Appends an event of `kind` to `ws`; its id.
    fn append(p: &Platform, ws: &str, kind: &str) -> i64 {
        p.transact(|tx| {
            crate::store::events::append(tx, ws, kind, &Value::Null, "test", None, None, None)
                .map_err(internal)?;
            tx.query_row("SELECT max(id) FROM events", [], |r| r.get(0))
                .map_err(internal)
        })
        .expect("event")
    }

    /// A claim that read its event before another process set it aside dispatches nothing:
    /// the claim's own condition, not the earlier read, decides.
    #[test]
    fn an_event_set_aside_after_it_was_read_is_not_claimed() {
        let p = Platform::new(Db::open_in_memory().expect("db")).expect("platform");
        let (first, second) = (append(&p, "soc", "first"), append(&p, "soc", "second"));
        let read = |p: &Platform| match next_pending(p.db().expect("db").conn(), None, "")
            .expect("read")
        {
            Some(Next::Event(event)) => event.id,
            _ => panic!("an event is pending"),
        };
        assert_eq!(read(&p), first);
        p.transact(|tx| quarantine(tx, first, "set aside by hand"))
            .expect("quarantine");
        assert!(
            !p.transact(|tx| mark_dispatched(tx, first)).expect("claim"),
            "a quarantined event is not claimed"
        );
        assert_eq!(read(&p), second);
        assert!(p.transact(|tx| mark_dispatched(tx, second)).expect("claim"));
        assert!(
            !p.transact(|tx| mark_dispatched(tx, second)).expect("claim"),
            "claimed once"
        );
    }

    /// Workspaces take turns: after a claim in one, the next pending event is the oldest of
    /// the next workspace that has one. Before, the oldest event of any workspace came
    /// first, and one tenant's flood kept every other tenant's events waiting behind it
    /// (hostile-step review).
    #[test]
    fn workspaces_take_turns_each_with_its_oldest_event() {
        let p = Platform::new(Db::open_in_memory().expect("db")).expect("platform");
        let flood: Vec<i64> = (0..3).map(|_| append(&p, "attacker", "flood")).collect();
        let theirs = append(&p, "customer", "flood");
        let mut turn = String::new();
        let mut order = Vec::new();
        loop {
            // Read with the connection's guard dropped before the claim takes it again.
            let next = next_pending(p.db().expect("db").conn(), None, &turn).expect("read");
            let Some(Next::Event(event)) = next else {
                break;
            };
            assert!(
                p.transact(|tx| mark_dispatched(tx, event.id))
                    .expect("claim")
            );
            order.push(event.id);
            turn = event.workspace;
        }
        assert_eq!(order, [flood[0], theirs, flood[1], flood[2]]);
        // One workspace named: its own events, oldest first, whatever the turn.
        let mine: Vec<i64> = (0..2).map(|_| append(&p, "customer", "flood")).collect();
        append(&p, "attacker", "flood");
        let next =
            |turn: &str| match next_pending(p.db().expect("db").conn(), Some("customer"), turn)
                .expect("read")
            {
                Some(Next::Event(event)) => event.id,
                _ => panic!("pending"),
            };
        assert_eq!(next(""), mine[0]);
        assert_eq!(next("customer"), mine[0]);
    }

    /// The claim's look for the next event reads the pending events' own index in its order:
    /// no scan of every event, no sort of every pending one.
    #[test]
    fn the_next_pending_event_is_read_from_its_index_without_a_sort() {
        let p = Platform::new(Db::open_in_memory().expect("db")).expect("platform");
        let db = p.db().expect("db");
        let mut stmt = db
            .conn()
            .prepare(&format!("EXPLAIN QUERY PLAN {NEXT_PENDING}"))
            .expect("plan");
        let plan: Vec<String> = stmt
            .query_map(params![Option::<String>::None, ""], |r| r.get(3))
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let plan = plan.join("\n");
        assert!(plan.contains("events_pending_by_workspace"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }

    /// An event set aside keeps the reason it was first set aside for.
    #[test]
    fn an_event_set_aside_twice_keeps_its_first_reason() {
        let p = Platform::new(Db::open_in_memory().expect("db")).expect("platform");
        let id = append(&p, "soc", "first");
        for why in ["first reason", "second reason"] {
            p.transact(|tx| quarantine(tx, id, why))
                .expect("quarantine");
        }
        let kept: String = p
            .db()
            .expect("db")
            .conn()
            .query_row("SELECT quarantined FROM events WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .expect("read");
        assert_eq!(kept, "first reason");
    }
}
