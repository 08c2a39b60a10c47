//! The storage of runs and their journal (`runs`, `run_steps`): starting, journaling,
//! finishing, holding and claiming a run, and reading runs back. A stored status is parsed
//! here, once: a value the host never writes is an error naming the row, never a default.

use crate::store::sql::{Connection, OptionalExtension, Row, params};

use crate::store::Transaction;
use serde_json::Value;

use crate::Error;
use crate::clock;
use crate::platform::internal;
use crate::public_id::PublicId;
use crate::runs::Interrupted;
use crate::store::json;
use crate::stored_value::UnreadableValue;

use super::super::{
    CaseReader, JournalEntry, NewRun, ResumeData, RunEnd, RunInfo, RunPlace, RunRules, RunStatus,
    StepRecord,
};

/// Inserts a new run as running, with public id `id`; returns its key.
pub(crate) fn insert(tx: &Transaction<'_>, run: &NewRun<'_>, id: &PublicId) -> Result<i64, Error> {
    if run.lease_owner.is_none() {
        // Recorded for any host to execute (a webhook's run): wake them when it commits.
        crate::store::postgres::notify_work(tx)?;
    }
    tx.prepare_cached(
        "INSERT INTO runs (workflow, workspace, principal, status, event, definition, source, started_at, lease_owner, components, public_id, binder, rules)
         VALUES (?1, ?2, ?3, 'running', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         RETURNING id",
    )
    .and_then(|mut stmt| {
        stmt.query_row(params![
            run.workflow,
            run.workspace,
            run.principal,
            run.event.to_string(),
            run.definition,
            run.source,
            clock::now_unix(),
            run.lease_owner,
            run.components,
            id,
            run.binder,
            RunRules::CURRENT.as_i64()
        ], |r| r.get(0))
    })
    .map_err(internal)
}

/// A run an event starts, as recorded when the event is claimed.
pub(crate) struct TriggeredRow<'a> {
    pub workflow: &'a str,
    pub workspace: &'a str,
    pub principal: &'a str,
    /// `Running`, or `Failed` for a run refused at once (with `error`).
    pub status: RunStatus,
    pub event: &'a Value,
    pub definition: &'a str,
    pub source: &'a str,
    pub depth: u32,
    /// The event's row id.
    pub trigger_event: i64,
    pub error: Option<&'a str>,
    /// Written only for a running run.
    pub lease_owner: &'a str,
    pub components: Option<&'a str>,
}

/// Inserts a run an event started (see [`TriggeredRow`]), with public id `id`; returns its
/// key. A failed run is finished when it starts; a running one is leased to `lease_owner`.
pub(crate) fn insert_triggered(
    tx: &Transaction<'_>,
    run: &TriggeredRow<'_>,
    id: &PublicId,
) -> Result<i64, Error> {
    tx.query_row(
        "INSERT INTO runs (workflow, workspace, principal, status, event, definition, source, started_at, depth, trigger_event, error, finished_at, lease_owner, components, public_id, rules)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, CASE WHEN ?4 = 'failed' THEN ?8 END, CASE WHEN ?4 = 'running' THEN ?12 END, ?13, ?14, ?15)
         RETURNING id",
        params![
            run.workflow,
            run.workspace,
            run.principal,
            run.status.as_str(),
            run.event.to_string(),
            run.definition,
            run.source,
            clock::now_unix(),
            run.depth,
            run.trigger_event,
            run.error.map(crate::text::storable_str),
            run.lease_owner,
            run.components,
            id,
            RunRules::CURRENT.as_i64()
        ],
        |r| r.get(0),
    )
    .map_err(internal)
}

/// Where the run with public id `id` is, if there is one.
pub(crate) fn place_of(conn: &Connection, id: &PublicId) -> Result<Option<RunPlace>, Error> {
    conn.prepare_cached(
        "SELECT id, workspace, (SELECT t.case_id FROM events t WHERE t.id = runs.trigger_event),
                (SELECT t.cause_run FROM events t WHERE t.id = runs.trigger_event),
                (SELECT t.cause_seq FROM events t WHERE t.id = runs.trigger_event), principal
         FROM runs WHERE public_id = ?1",
    )
    .and_then(|mut stmt| {
        stmt.query_row([id], |r| {
            Ok(RunPlace {
                key: r.get(0)?,
                workspace: r.get(1)?,
                trigger_case: r.get(2)?,
                trigger_cause: r.get(3)?,
                trigger_cause_seq: r.get(4)?,
                principal: r.get(5)?,
            })
        })
        .optional()
    })
    .map_err(internal)
}

/// Whether `run` has any journaled step.
pub(crate) fn has_journal(conn: &Connection, run: i64) -> Result<bool, Error> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM run_steps WHERE run_id = ?1)")
        .and_then(|mut stmt| stmt.query_row([run], |r| r.get(0)))
        .map_err(internal)
}

/// The journaled output of a step that succeeded in `run`, if any.
pub(crate) fn journaled_output(
    conn: &Connection,
    run: i64,
    key: &str,
) -> Result<Option<Value>, Error> {
    let text: Option<String> = conn
        .prepare_cached(
            "SELECT output FROM run_steps WHERE run_id = ?1 AND step_key = ?2 AND status = 'succeeded'",
        )
        .and_then(|mut stmt| stmt.query_row(params![run, key], |r| r.get(0)))
        .optional()
        .map_err(internal)?;
    text.map(|t| json::parse("run_steps.output", &t))
        .transpose()
        .map_err(|e| Error::Internal(e.to_string()))
}

/// The insert of a journal entry; a step journaled already keeps its entry, save a failure a
/// success replaces: a failed step's entry, committed early beside a parallel part's effect,
/// is run again at a resume, and its success must be what replays (its record and events
/// kept; kill and concurrency review).
const INSERT_ENTRY: &str =
    "INSERT INTO run_steps (run_id, step_key, seq, status, output, error, attempts, duration_us)
             VALUES (?1, ?2, (SELECT count(*) FROM run_steps WHERE run_id = ?1), ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (run_id, step_key) DO UPDATE SET status = excluded.status,
                output = excluded.output, error = excluded.error, attempts = excluded.attempts,
                duration_us = excluded.duration_us
             WHERE run_steps.status = 'failed' AND excluded.status = 'succeeded'";

/// Journals `entries` of `run` in `tx`, each with the execution record of a WASM step (its
/// logs and events) when the entry is new; with `fenced_for`, only while that host holds the
/// run (not when nobody does: [`fence`]), else nothing is written and the error is `Busy`.
pub(crate) fn write_entries(
    tx: &Transaction<'_>,
    run: i64,
    fenced_for: Option<&str>,
    entries: &[JournalEntry<'_>],
) -> Result<(), Error> {
    // Events go into their workspace's log under its lock: take it before any journal row,
    // so that two hosts writing one run's entries at once (a lapsed lease) queue on the lock
    // rather than each wait for a row the other inserted while it waits for the lock.
    for rec in entries.iter().filter_map(|e| e.execution.as_ref()) {
        if rec.publishes() {
            tx.lock_workspace(rec.workspace).map_err(internal)?;
        }
    }
    if let Some(owner) = fenced_for
        && !entries.is_empty()
    {
        fence(tx, run, owner)?;
    }
    for entry in entries {
        // A failure's text may quote what a step was given (a built-in step's error names
        // the case id it could not find): kept whatever it holds (`text::storable`).
        let (status, output, error) = match entry.result {
            Ok(v) => ("succeeded", Some(v.to_string()), None),
            Err(e) => ("failed", None, Some(crate::text::storable_str(e))),
        };
        let row = params![
            run,
            entry.key,
            status,
            output,
            error,
            entry.attempts,
            entry.duration_us
        ];
        // Without an execution, or with one whose record asks nothing of the entry's insert,
        // nothing hangs on whether the entry is new: both go out with the next round trip.
        let later = match &entry.execution {
            None => true,
            Some(rec) => crate::store::record_later_unless_journaled(
                tx,
                rec,
                run,
                entry.key,
                entry.result.is_ok(),
            )
            .map_err(internal)?,
        };
        if later {
            tx.execute_later(INSERT_ENTRY, row).map_err(internal)?;
            continue;
        }
        let inserted = tx
            .prepare_cached(INSERT_ENTRY)
            .and_then(|mut stmt| stmt.execute(row))
            .map_err(internal)?;
        // A step journaled already (the same run executed twice at once) keeps its first
        // record: its events must not be published a second time.
        if let (1.., Some(rec)) = (inserted, &entry.execution) {
            crate::store::record_in(tx, rec).map_err(internal)?;
        }
    }
    Ok(())
}

/// Records how `run` ended and frees its lease, if `owner` still holds it and the run is
/// unfinished: a host whose lease another host took over meanwhile (its heartbeat lapsed)
/// must not write the end over the run that host is executing (issue 18, the fence); nor
/// over a run leased to nobody, which the host that took it over left for any host to go
/// on with (a wait fell due, an answer came, the database was busy): every execution takes
/// the lease before it goes on (round 23 kill-and-concurrency review). Otherwise nothing is written and the error says why (`Busy`: the run goes
/// on elsewhere).
pub(crate) fn finish(
    tx: &Transaction<'_>,
    run: i64,
    owner: &str,
    end: &RunEnd<'_>,
) -> Result<(), Error> {
    let changed = tx
        .prepare_cached(
            "UPDATE runs SET status = ?2, exit_status = ?3, output = ?4, error = ?5, finished_at = ?6, lease_owner = NULL
             WHERE id = ?1 AND status IN ('running', 'queued') AND lease_owner = ?7",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                run,
                end.status.as_str(),
                // Checked at parse; a definition stored before that check is cleaned as an
                // error is, so the run's end is recorded.
                end.exit_status.map(crate::text::storable_str),
                end.output.map(|o| o.to_string()),
                end.error.map(crate::text::storable_str),
                clock::now_unix(),
                owner
            ])
        })
        .map_err(internal)?;
    if changed == 0 {
        let held = holder(tx, run)?;
        return Err(not_ours(&held, held.owner.as_deref()));
    }
    Ok(())
}

/// Whether `run` has ended (succeeded, failed or stopped): nothing it waited on is answered
/// any more. A missing run has ended too.
pub(crate) fn has_ended(conn: &Connection, run: i64) -> Result<bool, Error> {
    ended(
        conn,
        run,
        "SELECT status, public_id FROM runs WHERE id = ?1",
    )
}

/// `$sql`, a read of one run's row in `$tx`, with the row share-locked to the transaction's
/// end on PostgreSQL (an update of it waits); SQLite's one writer needs no row lock.
macro_rules! share_locked {
    ($tx:expr, $sql:literal) => {
        match $tx.engine() {
            crate::store::sql::Engine::Postgres => concat!($sql, " FOR SHARE"),
            crate::store::sql::Engine::Sqlite => $sql,
        }
    };
}

/// [`has_ended`] in `tx`, the run's row share-locked to its end on PostgreSQL: a run's end
/// takes no deployment lock there, and an answer decided on a plain read was accepted for a
/// run ending at the same moment (kill and concurrency review, SPEC IX-8). The end waits for
/// the answer's commit, or the answer for the end's, and sees it.
pub(crate) fn has_ended_locked(tx: &Transaction<'_>, run: i64) -> Result<bool, Error> {
    let sql = share_locked!(tx, "SELECT status, public_id FROM runs WHERE id = ?1");
    ended(tx, run, sql)
}

fn ended(conn: &Connection, run: i64, sql: &str) -> Result<bool, Error> {
    let status = conn
        .query_row(sql, [run], |r| status(r, 0, 1))
        .optional()
        .map_err(internal)?;
    Ok(status.is_none_or(|s| {
        matches!(
            s,
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::Stopped
        )
    }))
}

/// A run's status and lease, as read when this host found it no longer its own.
pub(crate) struct Holder {
    /// The run's id as people see it: errors never name its key (SPEC ID-4).
    pub id: String,
    pub status: String,
    /// The host holding its lease, if any.
    pub owner: Option<String>,
}

/// `run`'s status and the host holding its lease, if any.
pub(crate) fn holder(tx: &Transaction<'_>, run: i64) -> Result<Holder, Error> {
    tx.query_row(
        "SELECT public_id, status, lease_owner FROM runs WHERE id = ?1",
        [run],
        |r| {
            Ok(Holder {
                id: r.get(0)?,
                status: r.get(1)?,
                owner: r.get(2)?,
            })
        },
    )
    .map_err(internal)
}

/// Fails with `Busy` unless `run` is unfinished and leased to `owner` (the rule of
/// [`finish`]), read in `tx`, which writes `owner`'s entries of it. Leased to nobody, it was
/// left for any host to take up after this one's lease lapsed (round 23 review: a paused
/// host's entries, its success over a failure the new holder journaled, landed then). A host whose lease
/// lapsed (paused past its TTL) wrote its pending entries after another host had taken the
/// run over: the first entry wins, so its outputs, not the new holder's, were replayed by
/// the next resume, and an effect carried with them was made twice (kill and concurrency
/// review). On PostgreSQL the row is share-locked until `tx` ends, so that a take (an
/// update of the row) waits for it; inserts that point at the run (`run_cases`, another
/// branch's entries) do not. Taken after the workspace locks `tx` needs, as the end of a run
/// takes them (review: a row lock taken first closed a cycle with a branch's case write).
pub(crate) fn fence(tx: &Transaction<'_>, run: i64, owner: &str) -> Result<(), Error> {
    let sql = share_locked!(
        tx,
        "SELECT public_id, status, lease_owner FROM runs WHERE id = ?1"
    );
    let held = tx
        .prepare_cached(sql)
        .and_then(|mut stmt| {
            stmt.query_row([run], |r| {
                Ok(Holder {
                    id: r.get(0)?,
                    status: r.get(1)?,
                    owner: r.get(2)?,
                })
            })
        })
        .map_err(internal)?;
    let unfinished = matches!(held.status.as_str(), "running" | "queued");
    match held.owner.as_deref() {
        Some(holder) if unfinished && holder == owner => Ok(()),
        other => Err(not_ours(&held, other)),
    }
}

/// Why the run `held` (held by `owner`) cannot be ended or held by this host.
pub(crate) fn not_ours(held: &Holder, owner: Option<&str>) -> Error {
    let Holder { id, status, .. } = held;
    match owner {
        Some(owner) => Error::Busy(format!(
            "run {id} is leased to another host now ({status}, host {owner}): this host's work on it stops here"
        )),
        None => Error::Busy(format!(
            "run {id} is {status} and leased to nobody: this host's work on it stops here"
        )),
    }
}

/// Moves `run` from `on_hold` to `running` in `tx`; returns whether it was on hold. The one
/// way a waiting run is claimed (a due wait, a timeout, an answer), so one caller resumes it.
pub(crate) fn claim_held(tx: &Transaction<'_>, run: i64) -> Result<bool, Error> {
    let changed = tx
        .prepare_cached("UPDATE runs SET status = 'running' WHERE id = ?1 AND status = 'on_hold'")
        .and_then(|mut stmt| stmt.execute([run]))
        .map_err(internal)?;
    if changed > 0 {
        // Leased to nobody: any host may resume it, woken when this commits rather than at
        // its next poll (round 18 kill-and-concurrency review).
        crate::store::postgres::notify_work(tx)?;
    }
    Ok(changed > 0)
}

/// Puts `run` on hold and frees its lease if it is unfinished, `owner` still holds it (see
/// [`fence`]; an ended run's lease is free, so the status is part of the fence), it still
/// waits for something (an open interaction, a wait not due at `now_ms`) and nothing it
/// waited for has arrived meanwhile; returns whether it did.
pub(crate) fn hold_if_waiting(
    tx: &Transaction<'_>,
    run: i64,
    owner: &str,
    now_ms: i64,
) -> Result<bool, Error> {
    hold_if_waiting_for(tx, run, owner, now_ms, Arrivals::Respected)
}

/// Whether a hold minds what has arrived for the run (see [`hold_if_waiting_for`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arrivals {
    /// Nothing it waited for may have arrived untaken: then it goes on instead.
    Respected,
    /// Held whatever has arrived: its replay no longer reaches it.
    Ignored,
}

/// [`hold_if_waiting`], minding `arrivals` or not.
pub(crate) fn hold_if_waiting_for(
    tx: &Transaction<'_>,
    run: i64,
    owner: &str,
    now_ms: i64,
    arrivals: Arrivals,
) -> Result<bool, Error> {
    // Held if it still waits for something: an open interaction, a wait not yet due.
    macro_rules! waits {
        () => {
            "UPDATE runs SET status = 'on_hold', lease_owner = NULL WHERE id = ?1
             AND status IN ('running', 'queued') AND lease_owner = ?3
             AND (EXISTS (SELECT 1 FROM interactions WHERE run_id = ?1 AND status = 'open')
                  OR EXISTS (SELECT 1 FROM run_timers t WHERE t.run_id = ?1 AND t.wake_ms > ?2
                             AND NOT EXISTS (SELECT 1 FROM run_steps s
                                             WHERE s.run_id = t.run_id AND s.step_key = t.step_key)))"
        };
    }
    const WAITS: &str = waits!();
    // Nothing it waited for may have arrived meanwhile: an answer or timeout not yet taken
    // up by a step, or a wait now due. Then it goes on instead.
    const NOTHING_ARRIVED: &str = concat!(
        waits!(),
        "
             AND NOT EXISTS (SELECT 1 FROM interactions i WHERE i.run_id = ?1 AND i.status != 'open'
                             AND NOT EXISTS (SELECT 1 FROM run_steps s
                                             WHERE s.run_id = i.run_id AND s.step_key = i.step_key))
             AND NOT EXISTS (SELECT 1 FROM run_timers t WHERE t.run_id = ?1 AND t.wake_ms <= ?2
                             AND t.passed_over = 0 AND NOT EXISTS (SELECT 1 FROM run_steps s
                                             WHERE s.run_id = t.run_id AND s.step_key = t.step_key))"
    );
    let sql = match arrivals {
        Arrivals::Respected => NOTHING_ARRIVED,
        Arrivals::Ignored => WAITS,
    };
    let changed = tx
        .execute(sql, params![run, now_ms, owner])
        .map_err(internal)?;
    Ok(changed > 0)
}

/// Passes over `run`'s due waits no step has taken up (see `run_timers.passed_over`): they
/// wake the run no more, and count as arrived no more.
pub(crate) fn pass_over_due_waits(
    tx: &Transaction<'_>,
    run: i64,
    now_ms: i64,
) -> Result<(), Error> {
    tx.execute(
        "UPDATE run_timers SET passed_over = 1 WHERE run_id = ?1 AND wake_ms <= ?2
             AND NOT EXISTS (SELECT 1 FROM run_steps s
                             WHERE s.run_id = run_timers.run_id AND s.step_key = run_timers.step_key)",
        params![run, now_ms],
    )
    .map_err(internal)?;
    Ok(())
}

/// The step keys of what has arrived for `run` by `now_ms` and no step has taken up: an
/// interaction no longer open, a wait now due and not passed over ([`wait_is_over`]'s rows).
pub(crate) fn untaken_arrivals(
    conn: &Connection,
    run: i64,
    now_ms: i64,
) -> Result<Vec<String>, Error> {
    let mut stmt = conn
        .prepare(
            "SELECT i.step_key FROM interactions i WHERE i.run_id = ?1 AND i.status != 'open'
                 AND NOT EXISTS (SELECT 1 FROM run_steps s
                                 WHERE s.run_id = i.run_id AND s.step_key = i.step_key)
             UNION ALL
             SELECT t.step_key FROM run_timers t WHERE t.run_id = ?1 AND t.wake_ms <= ?2
                 AND t.passed_over = 0 AND NOT EXISTS (SELECT 1 FROM run_steps s
                                 WHERE s.run_id = t.run_id AND s.step_key = t.step_key)",
        )
        .map_err(internal)?;
    let rows = stmt
        .query_map(params![run, now_ms], |r| r.get(0))
        .map_err(internal)?;
    rows.collect::<Result<Vec<String>, _>>().map_err(internal)
}

/// Whether something `run` waited for has arrived by `now_ms` and no step has taken it up: an
/// interaction no longer open, a wait now due (the conditions under which
/// [`hold_if_waiting`] does not hold).
pub(crate) fn wait_is_over(conn: &Connection, run: i64, now_ms: i64) -> Result<bool, Error> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM interactions i WHERE i.run_id = ?1 AND i.status != 'open'
                        AND NOT EXISTS (SELECT 1 FROM run_steps s
                                        WHERE s.run_id = i.run_id AND s.step_key = i.step_key))
             OR EXISTS (SELECT 1 FROM run_timers t WHERE t.run_id = ?1 AND t.wake_ms <= ?2
                        AND t.passed_over = 0 AND NOT EXISTS (SELECT 1 FROM run_steps s
                                        WHERE s.run_id = t.run_id AND s.step_key = t.step_key))",
        params![run, now_ms],
        |r| r.get(0),
    )
    .map_err(internal)
}

/// Characters of a run's error a listing carries, then `…`: a failed run's error holds up to
/// 64 KiB, and a page of 1,000 carried 64 MiB of them (round 15 web review); its detail
/// carries it whole.
pub const LISTED_ERROR_CHARS: usize = 1_024;

/// Runs of `workspace` (all workspaces if `None`), newest first.
pub(crate) fn list(conn: &Connection, workspace: Option<&str>) -> Result<Vec<RunInfo>, Error> {
    // The CAST types `?1` for PostgreSQL, which cannot infer it from `IS NULL` when what is
    // bound is NULL too (issue 18).
    let mut stmt = conn
        .prepare(
            "SELECT id, workflow, workspace, principal, status, exit_status, output, error, started_at, public_id,
                    (SELECT t.case_id FROM events t WHERE t.id = runs.trigger_event),
                    (SELECT t.cause_run FROM events t WHERE t.id = runs.trigger_event),
                (SELECT t.cause_seq FROM events t WHERE t.id = runs.trigger_event) FROM runs
             WHERE CAST(?1 AS TEXT) IS NULL OR workspace = ?1 ORDER BY id DESC",
        )
        .map_err(internal)?;
    let rows = stmt.query_map([workspace], run_info).map_err(internal)?;
    rows.collect::<Result<_, _>>().map_err(internal)
}

/// At most `limit` runs of `workspace` older than key `before` (the newest when `None`),
/// newest first, without their outputs and with their errors clipped
/// ([`LISTED_ERROR_CHARS`]).
pub(crate) fn list_before(
    conn: &Connection,
    workspace: &str,
    before: Option<i64>,
    limit: usize,
    reader: &CaseReader<'_>,
) -> Result<Vec<RunInfo>, Error> {
    // A run an event about a case started is listed only to whoever sees that case, and one
    // a run's custom event started only to whoever sees every case that run read, as read: the
    // condition of `workflow/store/events.rs`'s `visible`, on the run's trigger event.
    // A listing carries no outputs (NULL in their column): a page of 1,000 runs of 16 MiB
    // each was parsed whole for one GET (hostile-input review); `info` reads one run's.
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT id, workflow, workspace, principal, status, exit_status, NULL,
                    CASE WHEN length(error) > {LISTED_ERROR_CHARS}
                         THEN substr(error, 1, {LISTED_ERROR_CHARS}) || '…' ELSE error END,
                    started_at, public_id,
                    (SELECT t.case_id FROM events t WHERE t.id = runs.trigger_event),
                    (SELECT t.cause_run FROM events t WHERE t.id = runs.trigger_event),
                (SELECT t.cause_seq FROM events t WHERE t.id = runs.trigger_event) FROM runs
             WHERE workspace = ?1 AND (CAST(?2 AS BIGINT) IS NULL OR id < ?2)
               AND (?4 = 1 OR trigger_event IS NULL
                    OR EXISTS (SELECT 1 FROM events t WHERE t.id = runs.trigger_event
                               AND (t.case_id IS NULL OR ?6 = 1)
                               AND (t.case_id IS NULL
                                    OR NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = t.case_id AND c.restricted = 1)
                                    OR EXISTS (SELECT 1 FROM case_people p WHERE p.case_id = t.case_id AND p.email = ?5))
                               AND (t.cause_run IS NULL OR NOT {read_hidden}))
                    AND NOT {started_changed})
             ORDER BY id DESC LIMIT ?3",
            read_hidden = crate::store::lineage_read(
                "t.cause_run",
                "t.cause_seq",
                &crate::store::read_hidden("?6", "?5", None, "1")
            ),
            started_changed =
                crate::store::lineage_started("runs.id", crate::store::STAMP_CHANGED)
        ))
        .map_err(internal)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt
        .query_map(
            params![
                workspace,
                before,
                limit,
                i64::from(reader.bypass),
                reader.email,
                i64::from(reader.reads_cases)
            ],
            run_info,
        )
        .map_err(internal)?;
    rows.collect::<Result<_, _>>().map_err(internal)
}

/// Run `run` (by its key), if there is one.
pub(crate) fn info(conn: &Connection, run: i64) -> Result<Option<RunInfo>, Error> {
    conn.query_row(
        "SELECT id, workflow, workspace, principal, status, exit_status, output, error, started_at, public_id,
                    (SELECT t.case_id FROM events t WHERE t.id = runs.trigger_event),
                    (SELECT t.cause_run FROM events t WHERE t.id = runs.trigger_event),
                (SELECT t.cause_seq FROM events t WHERE t.id = runs.trigger_event) FROM runs WHERE id = ?1",
        [run],
        run_info,
    )
    .optional()
    .map_err(internal)
}

/// The definition run `run` executes, as stored; one that does not read as JSON is an error
/// naming the run, never an empty workflow.
pub(crate) fn definition(conn: &Connection, run: i64) -> Result<Value, Error> {
    let text: String = conn
        .query_row("SELECT definition FROM runs WHERE id = ?1", [run], |r| {
            r.get(0)
        })
        .map_err(internal)?;
    serde_json::from_str(&text).map_err(|e| {
        Error::Internal(format!(
            "stored runs.definition of run key {run} is not JSON: {e}"
        ))
    })
}

/// The newest journaled steps of `run`, at most [`crate::runs::MAX_STEPS_SHOWN`] and while
/// the outputs and errors before each hold at most [`crate::runs::MAX_STEP_TEXT_SHOWN`]
/// characters (so at least one), in the order they finished, and how many earlier ones there
/// are (counted, not read: a run of a million loop iterations held every entry in memory for
/// each request showing it, and one of 64 MiB of outputs all of them; web reviews).
pub(crate) fn steps(conn: &Connection, run: i64) -> Result<(Vec<StepRecord>, u64), Error> {
    let total: i64 = conn
        .prepare_cached("SELECT count(*) FROM run_steps WHERE run_id = ?1")
        .and_then(|mut stmt| stmt.query_row([run], |r| r.get(0)))
        .map_err(internal)?;
    let mut stmt = conn
        .prepare(
            // Budgeted over narrow rows, the kept ones read whole (as the audit page: every
            // candidate's outputs were read and sorted first; round 16 storage review).
            "SELECT s.step_key, s.status, s.output, s.error, s.attempts, s.duration_us
             FROM (
               SELECT step_key FROM (
                 SELECT newest.*,
                        SUM(size) OVER (ORDER BY seq DESC, step_key DESC) AS running
                 FROM (SELECT step_key, seq,
                              COALESCE(octet_length(output), 0)
                                + COALESCE(octet_length(error), 0) AS size
                       FROM run_steps WHERE run_id = ?1
                       ORDER BY seq DESC, step_key DESC LIMIT ?2) AS newest
               ) AS budgeted
               WHERE running - size < ?3) AS kept
             JOIN run_steps s ON s.run_id = ?1 AND s.step_key = kept.step_key
             ORDER BY s.seq, s.step_key",
        )
        .map_err(internal)?;
    let limit = i64::try_from(crate::runs::MAX_STEPS_SHOWN).unwrap_or(i64::MAX);
    let budget = i64::try_from(crate::runs::MAX_STEP_TEXT_SHOWN).unwrap_or(i64::MAX);
    let rows = stmt
        .query_map(crate::store::sql::params![run, limit, budget], |r| {
            let output = json::optional_column(r, 2, "run_steps.output")?;
            Ok(StepRecord {
                step: r.get(0)?,
                status: r.get(1)?,
                output,
                error: r.get(3)?,
                attempts: r.get(4)?,
                duration_us: r.get(5)?,
            })
        })
        .map_err(internal)?;
    let steps: Vec<StepRecord> = rows.collect::<Result<_, _>>().map_err(internal)?;
    let omitted = u64::try_from(total)
        .unwrap_or(0)
        .saturating_sub(u64::try_from(steps.len()).unwrap_or(u64::MAX));
    Ok((steps, omitted))
}

/// What resuming `run` needs, as recorded when it started; `None` if there is no such run.
/// Only a missing row is "no run"; an unreadable one is an error (issue 14 item 9).
pub(crate) fn resume_data(conn: &Connection, run: i64) -> Result<Option<ResumeData>, Error> {
    conn.query_row(
        "SELECT definition, source, principal, event, status, depth, workspace, components, public_id,
                (SELECT t.case_id FROM events t WHERE t.id = runs.trigger_event), rules
         FROM runs WHERE id = ?1",
        [run],
        |r| {
            let event = json::column(r, 3, "runs.event")?;
            Ok(ResumeData {
                id: r.get(8)?,
                definition: r.get(0)?,
                source: r.get(1)?,
                principal: r.get(2)?,
                event,
                status: status(r, 4, 8)?,
                depth: r.get(5)?,
                workspace: r.get(6)?,
                components: r.get(7)?,
                trigger_case: r.get(9)?,
                rules: rules(r, 10, 8)?,
            })
        },
    )
    .optional()
    .map_err(internal)
}

/// Who answers for what manual run `run` asks of people, as stored (`runs.binder`): `None`
/// for a run whose principal carries its binder, or recorded before the column.
pub(crate) fn binder(conn: &Connection, run: i64) -> Result<Option<String>, Error> {
    conn.query_row("SELECT binder FROM runs WHERE id = ?1", [run], |r| r.get(0))
        .optional()
        .map_err(internal)
        .map(Option::flatten)
}

/// Runs left `running`, oldest first, with their lease owners.
pub(crate) fn interrupted(conn: &Connection) -> Result<Vec<Interrupted>, Error> {
    let mut stmt = conn
        .prepare("SELECT id, lease_owner, workspace FROM runs WHERE status = 'running' ORDER BY id")
        .map_err(internal)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Interrupted {
                run: r.get(0)?,
                owner: r.get(1)?,
                workspace: r.get(2)?,
            })
        })
        .map_err(internal)?;
    rows.collect::<Result<_, _>>().map_err(internal)
}

fn run_info(r: &Row<'_>) -> crate::store::sql::Result<RunInfo> {
    let output = json::optional_column(r, 6, "runs.output")?;
    Ok(RunInfo {
        key: r.get(0)?,
        id: r.get(9)?,
        workflow: r.get(1)?,
        workspace: r.get(2)?,
        principal: r.get(3)?,
        status: status(r, 4, 9)?,
        exit_status: r.get(5)?,
        output,
        error: r.get(7)?,
        started_at: clock::rfc3339(r.get(8)?),
        trigger_case: r.get(10)?,
        trigger_cause: r.get(11)?,
        trigger_cause_seq: r.get(12)?,
        steps_omitted: 0,
        steps_cut: false,
        steps_withheld: false,
    })
}

/// Column `idx` of a `runs` row as [`RunRules`]; a number this host does not know (a newer
/// flowhost recorded the run) is an error naming the run (column `id_idx`), never a default.
fn rules(r: &Row<'_>, idx: usize, id_idx: usize) -> crate::store::sql::Result<RunRules> {
    let n: i64 = r.get(idx)?;
    RunRules::parse(n).ok_or_else(|| {
        let id: Option<PublicId> = r.get(id_idx).ok();
        let row = id.map_or_else(|| "a run".to_owned(), |id| format!("run {id}"));
        UnreadableValue::new(
            "runs",
            "rules",
            row,
            &n.to_string(),
            "1 to 4 (engine rules this flowhost knows; a newer one recorded the run)",
        )
        .into_sql(idx)
    })
}

/// Column `idx` of a `runs` row as a [`RunStatus`]; a text the host never writes is an error
/// naming the run by its public id (column `id_idx`, SPEC ID-4), never a default.
fn status(r: &Row<'_>, idx: usize, id_idx: usize) -> crate::store::sql::Result<RunStatus> {
    let text: String = r.get(idx)?;
    RunStatus::parse(&text).ok_or_else(|| {
        let id: Option<PublicId> = r.get(id_idx).ok();
        let row = id.map_or_else(|| "a run".to_owned(), |id| format!("run {id}"));
        UnreadableValue::new(
            "runs",
            "status",
            row,
            &text,
            "a run status (queued, running, on_hold, succeeded, failed, stopped)",
        )
        .into_sql(idx)
    })
}
