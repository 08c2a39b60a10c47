//! The storage of cases: case rows, the people on them, their timeline, and the page query
//! (`query`). The only modules of `cases/` that speak SQL; the service decides who may do
//! what and calls these.

pub mod query;

use crate::store::sql::{Connection, OptionalExtension, params};

use crate::store::Transaction;

use crate::clock;
use crate::services::cases::{AccessMode, CaseRecord, Severity};

/// A case row with its workspace id, as stored.
pub struct CaseRow {
    pub id: i64,
    pub workspace_id: i64,
    pub record: CaseRecord,
    /// How many times who sees it has changed (`cases.sight`), as loaded with the record.
    pub sight: i64,
}

impl CaseRow {
    /// This row as a run that read it records the read.
    pub fn read(&self) -> CaseRead {
        CaseRead {
            case: self.id,
            sight: self.sight,
        }
    }
}

/// A run's read of a restricted case: the case row, and its sight version as read
/// (`run_cases.sight`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CaseRead {
    pub case: i64,
    pub sight: i64,
}

pub fn severity_code(s: Severity) -> i64 {
    match s {
        Severity::Low => 0,
        Severity::Medium => 1,
        Severity::High => 2,
        Severity::Critical => 3,
    }
}

/// The severity stored as `code` in column `idx`; a code the schema does not admit is an
/// error naming the column, never a default.
fn severity_of(idx: usize, code: i64) -> crate::store::sql::Result<Severity> {
    match code {
        0 => Ok(Severity::Low),
        1 => Ok(Severity::Medium),
        2 => Ok(Severity::High),
        3 => Ok(Severity::Critical),
        other => Err(crate::store::sql::Error::FromSqlConversionFailure(
            idx,
            crate::store::sql::types::Type::Integer,
            format!("stored cases.severity {other} is not a severity code (0..=3)").into(),
        )),
    }
}

/// The row id of the case of workspace `ws` whose external id is `public` (as
/// [`parse_case_id`](crate::cases::id) writes it), if it exists.
pub fn id_of(conn: &Connection, ws: i64, public: &str) -> crate::store::sql::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM cases WHERE workspace_id = ?1 AND public_id = ?2")?
        .query_row(params![ws, public], |r| r.get(0))
        .optional()
}

/// The external id of case row `id`, if it exists.
pub fn public_of(conn: &Connection, id: i64) -> crate::store::sql::Result<Option<String>> {
    conn.prepare_cached("SELECT public_id FROM cases WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()
}

/// The internal number (its place among every case of the workspace) of the case of `ws`
/// whose external id is `public`, if it exists: what a page's cursor names it by.
pub fn number_of_public(
    conn: &Connection,
    ws: i64,
    public: &str,
) -> crate::store::sql::Result<Option<i64>> {
    conn.prepare_cached("SELECT number FROM cases WHERE workspace_id = ?1 AND public_id = ?2")?
        .query_row(params![ws, public], |r| r.get(0))
        .optional()
}

/// The public id of run `run` (`R-…`), if there is one.
pub fn run_public_id(conn: &Connection, run: i64) -> crate::store::sql::Result<Option<String>> {
    conn.prepare_cached("SELECT public_id FROM runs WHERE id = ?1")?
        .query_row([run], |r| r.get(0))
        .optional()
}

/// Whether case row `id` is restricted, if it exists (its row alone, nothing parsed).
pub fn restricted_of(conn: &Connection, id: i64) -> crate::store::sql::Result<Option<bool>> {
    conn.prepare_cached("SELECT restricted FROM cases WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()
}

/// Records that run `run` read restricted cases `reads` (`run_cases`), each with its sight as
/// read: what the run emits may quote them, so its events reach only workflows whose identity
/// sees them too (SPEC CS-2). Those recorded already are not written again, nor their sight
/// moved on (the run holds what it read first too), unless none was kept (an inherited case
/// that was open when the run was claimed): one query, and one statement when any is new.
/// `false`, with nothing written, when the run would hold more than `limit`.
pub fn record_run_reads(
    conn: &Connection,
    run: i64,
    reads: &[CaseRead],
    limit: usize,
) -> crate::store::sql::Result<bool> {
    let mut reads: Vec<CaseRead> = reads.to_vec();
    reads.sort_unstable();
    // The first sight of each case: a row loaded twice in one call keeps its older one.
    reads.dedup_by_key(|r| r.case);
    let asked: Vec<i64> = reads.iter().map(|r| r.case).collect();
    if asked.is_empty() {
        return Ok(true);
    }
    let marks: Vec<String> = (0..asked.len()).map(|i| format!("?{}", i + 2)).collect();
    let mut values: Vec<i64> = Vec::with_capacity(asked.len() + 1);
    values.push(run);
    values.extend(&asked);
    // Each case recorded already, and whether its row kept a sight.
    let mut known: Vec<(i64, bool)> = Vec::new();
    {
        let mut stmt = conn.prepare(&format!(
            "SELECT case_id, sight IS NOT NULL FROM run_cases WHERE run_id = ?1 AND case_id IN ({})",
            marks.join(", ")
        ))?;
        let rows = stmt.query_map(
            crate::store::sql::params_from_iter(values.iter().copied()),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        for row in rows {
            known.push(row?);
        }
    }
    let new: Vec<CaseRead> = reads
        .iter()
        .copied()
        .filter(|r| !known.iter().any(|(case, _)| *case == r.case))
        .collect();
    let seq = if new.is_empty() {
        0
    } else {
        match next_read_seq(conn, run, new.len(), limit)? {
            Some(seq) => seq,
            None => return Ok(false),
        }
    };
    // A case the run inherited open and reads restricted now: what it reads is this sight's
    // (restricted since, then opened again, a listener would be judged on the case as it
    // stands).
    for read in &reads {
        if known.contains(&(read.case, false)) {
            conn.prepare_cached(
                "UPDATE run_cases SET sight = ?3 WHERE run_id = ?1 AND case_id = ?2 AND sight IS NULL",
            )?
            .execute(params![run, read.case, read.sight])?;
        }
    }
    if new.is_empty() {
        return Ok(true);
    }
    // Numbered in the order the run read them: a run its events start counts only those read
    // before its claim (`run_ancestors.upto`).
    let rows: Vec<String> = (0..new.len())
        .map(|i| format!("(?1, ?{}, ?2, ?{})", 2 * i + 3, 2 * i + 4))
        .collect();
    let sql = format!(
        "INSERT INTO run_cases (run_id, case_id, seq, sight) VALUES {} ON CONFLICT DO NOTHING",
        rows.join(", ")
    );
    let mut values: Vec<i64> = Vec::with_capacity(2 * new.len() + 2);
    values.push(run);
    values.push(seq);
    values.extend(new.iter().flat_map(|r| [r.case, r.sight]));
    conn.execute(&sql, crate::store::sql::params_from_iter(values))?;
    Ok(true)
}

/// The number run `run`'s next reads take (`run_cases.seq`), if `new` more fit within
/// `limit`. Its own reads count towards `limit`: those inherited with its event are the
/// emitting run's (an upstream run of 10,000 reads left a triggered run no room for one;
/// hostile-step review). All it holds, inherited too, towards twice that: its event's case,
/// and for a run started before `run_ancestors` the rows copied to it then.
fn next_read_seq(
    conn: &Connection,
    run: i64,
    new: usize,
    limit: usize,
) -> crate::store::sql::Result<Option<i64>> {
    let (own, all, seq): (i64, i64, i64) = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(CASE WHEN inherited = 0 THEN 1 ELSE 0 END), 0), count(*),
                    COALESCE(max(seq), 0) + 1
             FROM run_cases WHERE run_id = ?1",
        )?
        .query_row([run], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let with_new = |n: i64| usize::try_from(n).unwrap_or(usize::MAX).saturating_add(new);
    let fits = with_new(own) <= limit && with_new(all) <= limit.saturating_mul(2);
    Ok(fits.then_some(seq))
}

/// Whether run `run`, or a run it descends from, was started by a case event whose case was
/// widened since it was written (`events.sight`, `cases.widened`; see
/// [`crate::store::STAMP_CHANGED`]): one query.
pub fn started_on_changed_sight(conn: &Connection, run: i64) -> crate::store::sql::Result<bool> {
    started_where(conn, run, crate::store::STAMP_CHANGED)
}

/// The payloads of the case events naming who left their case in a change that also widened
/// it (`events.sight` -1) that started run `run` or a run it descends from: such a run is
/// hidden from every reader who does not bypass restrictions, its interactions from all but
/// who saw the case both before and after (see `cases::saw_case_event`).
pub fn hidden_for_good_events(
    conn: &Connection,
    run: i64,
) -> crate::store::sql::Result<Vec<String>> {
    crate::store::lineage_payloads(conn, run, "e.sight < 0")
}

/// [`crate::store::lineage_started`] of run `run` with `cond`, one query.
fn started_where(conn: &Connection, run: i64, cond: &str) -> crate::store::sql::Result<bool> {
    conn.prepare_cached(&format!(
        "SELECT {}",
        crate::store::lineage_started("CAST(?1 AS BIGINT)", cond)
    ))?
    .query_row([run], |r| r.get(0))
}

/// What a run had read (`run_cases`), as one who reads it asks: its own reads numbered up to
/// `upto` (all of them when `None`: a run asked about itself, or an event written before
/// events were stamped), and its ancestors' as far as each was counted for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunReads {
    pub run: i64,
    pub upto: Option<i64>,
}

impl RunReads {
    /// Everything run `run` has read so far.
    pub fn all(run: i64) -> Self {
        Self { run, upto: None }
    }

    /// What run `run` had read when it wrote an event stamped `cause_seq` (see migration 34).
    pub fn at_event(run: i64, cause_seq: Option<i64>) -> Self {
        Self {
            run,
            upto: cause_seq,
        }
    }
}

/// The last number run `run` gave a read of its own (`run_cases.seq`), 0 for none.
pub fn read_upto(conn: &Connection, run: i64) -> crate::store::sql::Result<i64> {
    conn.prepare_cached("SELECT COALESCE(max(seq), 0) FROM run_cases WHERE run_id = ?1")?
        .query_row([run], |r| r.get(0))
}

/// How a run's reads of restricted cases are judged for a viewer (`run_cases.sight`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judged {
    /// By the cases as they stand now: for the run's own identity, which read them itself.
    Now,
    /// As they stood when read, too: for anyone else, who is handed what the run read. A
    /// case whose mode or people changed since cannot tell who saw it then, and is hidden
    /// (fail closed): a run read who was on a restricted case, the case was opened, and a
    /// listener it had been hidden from was handed them (round 27 interactions review, SPEC
    /// CS-2).
    AsRead,
}

/// Whether `reads` hold a restricted case that `viewer` does not see now, or (`judged`
/// [`Judged::AsRead`]) one whose sight changed since it was read (SPEC CS-2; to a viewer who
/// may not read cases, any: CS-4): one query, whatever the run read.
pub fn run_read_hidden_from(
    conn: &Connection,
    reads: RunReads,
    viewer: &super::viewer::Viewer,
    judged: Judged,
) -> crate::store::sql::Result<bool> {
    if viewer.bypass {
        return Ok(false);
    }
    conn.prepare_cached(&read_hidden_sql())?.query_row(
        params![
            reads.run,
            viewer.email_str(),
            viewer.also_str(),
            i64::from(viewer.reads_cases),
            reads.upto,
            judged == Judged::AsRead
        ],
        |r| r.get(0),
    )
}

/// [`run_read_hidden_from`]'s query: what its ancestors read too (`run_ancestors`), as it may
/// quote their events.
fn read_hidden_sql() -> String {
    format!(
        "SELECT {}",
        crate::store::lineage_read(
            "CAST(?1 AS BIGINT)",
            "CAST(?5 AS BIGINT)",
            &crate::store::read_hidden("?4", "?2", Some("?3"), "?6")
        )
    )
}

/// Case `id` with its reviewers and collaborators, if it exists.
pub fn load(conn: &Connection, id: i64) -> crate::store::sql::Result<Option<CaseRow>> {
    let row = conn
        .prepare_cached(
            "SELECT workspace_id, title, description, severity, state, reporter, assignee, restricted, fields, created_at, updated_at, public_id, sight
             FROM cases WHERE id = ?1",
        )?
        .query_row(
            [id],
            |r| {
                let fields = crate::store::json::column(r, 8, "cases.fields")?;
                Ok((
                    (r.get::<i64>(0)?, r.get::<i64>(12)?),
                    CaseRecord {
                        id: r.get(11)?,
                        title: r.get(1)?,
                        description: r.get(2)?,
                        severity: severity_of(3, r.get(3)?)?,
                        state: r.get(4)?,
                        reporter: r.get(5)?,
                        assignee: r.get(6)?,
                        reviewers: Vec::new(),
                        access_mode: if r.get::<bool>(7)? { AccessMode::Restricted } else { AccessMode::FullAccess },
                        collaborators: Vec::new(),
                        fields,
                        created_at: clock::rfc3339(r.get::<i64>(9)? / 1_000_000),
                        updated_at: clock::rfc3339(r.get::<i64>(10)? / 1_000_000),
                    },
                ))
            },
        )
        .optional()?;
    let Some(((workspace_id, sight), mut record)) = row else {
        return Ok(None);
    };
    let named = people(conn, id)?;
    record.reviewers = named.reviewers;
    record.collaborators = named.collaborators;
    Ok(Some(CaseRow {
        id,
        workspace_id,
        record,
        sight,
    }))
}

/// The people named on a case, each list sorted by email.
#[derive(Default)]
pub struct Named {
    pub assignee: Vec<String>,
    pub reviewers: Vec<String>,
    pub collaborators: Vec<String>,
}

/// Everyone named on case `id`, in one query (a case read used to run one per part).
pub fn people(conn: &Connection, id: i64) -> crate::store::sql::Result<Named> {
    let mut stmt = conn.prepare_cached(
        "SELECT part, email FROM case_people WHERE case_id = ?1 ORDER BY part, email",
    )?;
    let mut rows = stmt.query([id])?;
    let mut named = Named::default();
    while let Some(row) = rows.next()? {
        let part: String = row.get(0)?;
        let list = match part.as_str() {
            "assignee" => &mut named.assignee,
            "reviewer" => &mut named.reviewers,
            "collaborator" => &mut named.collaborators,
            // The schema's CHECK admits no other part, but a row damaged past it still lets
            // its person see the case (visibility reads no part), so it is an error naming
            // it, never a person left off the lists that show who sees the case.
            other => {
                return Err(crate::stored_value::UnreadableValue::new(
                    "case_people",
                    "part",
                    format!("case {id}"),
                    other,
                    "a part (assignee, reviewer, collaborator)",
                )
                .into_sql(0));
            }
        };
        list.push(row.get(1)?);
    }
    Ok(named)
}

/// Whether `email` is named on case `id` (assignee, reviewer or collaborator).
pub fn is_named(conn: &Connection, id: i64, email: &str) -> crate::store::sql::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM case_people WHERE case_id = ?1 AND email = ?2)",
    )?
    .query_row(params![id, email], |r| r.get(0))
}

/// Adds `email` as `part` of case `id`.
pub fn add_person(
    tx: &Transaction<'_>,
    id: i64,
    ws: i64,
    email: &str,
    part: &str,
) -> crate::store::sql::Result<()> {
    tx.prepare_cached("INSERT INTO case_people (case_id, workspace_id, email, part) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING")?
        .execute(params![id, ws, email, part])?;
    Ok(())
}

/// Removes `email` as `part` of case `id`.
pub fn remove_person(
    tx: &Transaction<'_>,
    id: i64,
    email: &str,
    part: &str,
) -> crate::store::sql::Result<()> {
    tx.prepare_cached("DELETE FROM case_people WHERE case_id = ?1 AND email = ?2 AND part = ?3")?
        .execute(params![id, email, part])?;
    Ok(())
}

/// Appends a timeline entry to case `id` (SPEC CS-7).
pub fn timeline(
    tx: &Transaction<'_>,
    id: i64,
    actor: &str,
    kind: &str,
    details: &serde_json::Value,
) -> crate::store::sql::Result<()> {
    tx.execute_later(
        "INSERT INTO case_timeline (case_id, at, actor, kind, details) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, clock::now_unix(), actor, kind, details.to_string()],
    )
}

/// (row id, workspace id) of the case created with idempotency key `key`, if any.
pub fn find_by_idempotency_key(
    conn: &Connection,
    key: &str,
) -> crate::store::sql::Result<Option<(i64, i64)>> {
    conn.prepare_cached("SELECT id, workspace_id FROM cases WHERE idempotency_key = ?1")?
        .query_row(params![key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

/// A case row to store; people are added with [`add_person`].
pub struct NewCaseRow<'a> {
    pub workspace_id: i64,
    /// The workspace's name (its lock: [`crate::store::sql::Connection::lock_workspace`];
    /// keyed by name, which never changes, as `workspace_id` does not).
    pub workspace: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub severity: Severity,
    pub state: &'a str,
    pub reporter: Option<&'a str>,
    pub assignee: Option<&'a str>,
    pub mode: AccessMode,
    pub fields: &'a serde_json::Value,
    pub idempotency_key: Option<&'a str>,
    /// What a requester's keyed creation asked (a digest), to tell its retry from another
    /// request under the same key; `None` for a step's.
    pub request: Option<&'a str>,
}

/// Stores a case, numbered next within its workspace (SPEC ID-4, under the workspace's
/// lock), created and updated now (or just after the last-numbered case, if stamped later); returns it as [`load`] reads it back, but without a round
/// trip (the number is drawn under that lock, which is held to the commit) and without the
/// reviewers and collaborators, which [`add_person`] adds. `None`, and nothing stored, if
/// its idempotency key is taken.
pub fn insert(
    tx: &Transaction<'_>,
    case: &NewCaseRow<'_>,
) -> crate::store::sql::Result<Option<CaseRow>> {
    tx.lock_workspace(case.workspace)?;
    let now = clock::now_micros();
    let fields = case.fields.to_string();
    // As `load` parses it back (a float's last digit may not survive the text otherwise).
    let fields_read = serde_json::from_str(&fields).map_err(|e| {
        crate::store::sql::Error::ToSqlConversionFailure(
            format!("the case's fields do not read back as JSON: {e}").into(),
        )
    })?;
    // Its time after every earlier case's of the workspace, as its number is: on PostgreSQL
    // the clock is read before the workspace's lock is had, and a case numbered later could
    // be stamped earlier, which an oldest-first page walk then passed over (storage review).
    // (`WHERE true`: SQLite reads `ON CONFLICT` after a bare `SELECT … FROM` as a join's.)
    // The last-numbered case's stamp, and the last number, each one lookup of
    // `cases_by_number` (one aggregate of both walked every case of the workspace: review).
    // Carried only from at most [`CARRIED_SKEW_US`] ahead (a lock's wait, a clock a moment
    // off, not a wrong clock): one host's clock a year fast stamped every later case a year
    // ahead (round 16 storage review).
    // Its external id: the next among full-access-created cases (drawn in the statement, one
    // round trip under the lock), or opaque (`?13`) for one created restricted, which takes
    // no number others see (SPEC CS-2; round 16 leak review).
    let opaque =
        if case.mode == AccessMode::Restricted {
            Some(crate::cases::id::opaque_case_id().map_err(|e| {
                crate::store::sql::Error::ToSqlConversionFailure(e.to_string().into())
            })?)
        } else {
            None
        };
    let inserted: Option<(i64, String, i64)> = tx.prepare_cached("INSERT INTO cases (workspace_id, title, description, severity, state, reporter, assignee, restricted, fields, created_at, updated_at, idempotency_key, number, public_id, shown_number, request)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, at, at, ?11, next,
                coalesce(?13, 'C-' || shown), CASE WHEN ?13 IS NULL THEN shown END, ?14 FROM (
           SELECT CASE WHEN coalesce(max(last.created_at), 0) < ?10
                            OR max(last.created_at) > ?10 + ?12 THEN ?10
                       ELSE max(last.created_at) + 1 END AS at,
                  (SELECT coalesce(max(number), 0) + 1 FROM cases WHERE workspace_id = ?1) AS next,
                  (SELECT coalesce(max(shown_number), 0) + 1 FROM cases WHERE workspace_id = ?1) AS shown
           FROM (SELECT created_at FROM cases WHERE workspace_id = ?1
                 ORDER BY number DESC LIMIT 1) AS last) AS stamp
         WHERE true
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING id, public_id, created_at")?
        .query_row(params![
            case.workspace_id,
            case.title,
            case.description,
            severity_code(case.severity),
            case.state,
            case.reporter,
            case.assignee,
            case.mode == AccessMode::Restricted,
            fields,
            now,
            case.idempotency_key,
            CARRIED_SKEW_US,
            opaque,
            case.request
        ], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()?;
    Ok(inserted.map(|(id, public_id, at)| CaseRow {
        id,
        workspace_id: case.workspace_id,
        record: record_of(case, public_id, fields_read, at),
        sight: 0,
    }))
}

/// How far ahead of this host's clock (microseconds) the last case's stamp may be and still
/// be carried to the next case: 5 s.
pub const CARRIED_SKEW_US: i64 = 5_000_000;

/// The record a case stored from `case` as `public_id` at `created_micros` is created with
/// (no people yet: the caller adds them).
fn record_of(
    case: &NewCaseRow<'_>,
    public_id: String,
    fields: serde_json::Value,
    created_micros: i64,
) -> CaseRecord {
    let at = clock::rfc3339(created_micros / 1_000_000);
    CaseRecord {
        id: public_id,
        title: case.title.to_owned(),
        description: case.description.to_owned(),
        severity: case.severity,
        state: case.state.to_owned(),
        reporter: case.reporter.map(str::to_owned),
        assignee: case.assignee.map(str::to_owned),
        reviewers: Vec::new(),
        access_mode: case.mode,
        collaborators: Vec::new(),
        fields,
        created_at: at.clone(),
        updated_at: at,
    }
}

/// The record case row `id` was created with from `case` (this very request, made again
/// under the same idempotency key), as its creation answered it: its id and creation
/// time stored, the rest as asked. For a creator who may not see the case now.
pub fn as_created(
    conn: &Connection,
    id: i64,
    case: &NewCaseRow<'_>,
) -> crate::store::sql::Result<Option<CaseRecord>> {
    let stored: Option<(String, i64)> = conn
        .prepare_cached("SELECT public_id, created_at FROM cases WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(stored.map(|(public, created)| record_of(case, public, case.fields.clone(), created)))
}

/// What the keyed request that created case row `id` asked (see [`NewCaseRow::request`]).
pub fn request_of(conn: &Connection, id: i64) -> crate::store::sql::Result<Option<String>> {
    conn.prepare_cached("SELECT request FROM cases WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()
        .map(Option::flatten)
}

/// Deletes at most `limit` restriction updates remembered before `before` (Unix seconds)
/// that no run may make again; how many. A step's is kept while its run may go on: past the
/// retention, a run resumed late re-applied its delta over changes made since (round 22
/// kill and concurrency review).
pub fn prune_updates(
    conn: &Connection,
    before: i64,
    limit: usize,
) -> crate::store::sql::Result<usize> {
    crate::store::delete_at_most(
        conn,
        "DELETE FROM case_updates WHERE idempotency_key IN (
             SELECT u.idempotency_key FROM case_updates u LEFT JOIN runs r ON r.id = u.run
              WHERE u.at < ?1 AND (u.run IS NULL OR r.status IN ('succeeded', 'failed'))
              LIMIT ?2)",
        before,
        limit,
    )
}

/// A restriction update remembered under its key.
pub struct RememberedUpdate {
    /// Its answer, the restrictions as JSON.
    pub result: String,
    /// What a request asked, as [`record_case_update`] was given it; `None` for a step's,
    /// and for one remembered before requests were (migration 40).
    pub request: Option<String>,
}

/// The restriction update made under `key`, if one was.
pub fn case_update(
    conn: &Connection,
    key: &str,
) -> crate::store::sql::Result<Option<RememberedUpdate>> {
    conn.prepare_cached("SELECT result, request FROM case_updates WHERE idempotency_key = ?1")?
        .query_row([key], |r| {
            Ok(RememberedUpdate {
                result: r.get(0)?,
                request: r.get(1)?,
            })
        })
        .optional()
}

/// Remembers the update of case row `id` made under `key`: its answer `result`, and the
/// `run` whose step made it or the `request` a door's requester sent.
pub fn record_case_update(
    conn: &Connection,
    key: &str,
    id: i64,
    result: &str,
    run: Option<i64>,
    request: Option<&str>,
) -> crate::store::sql::Result<()> {
    conn.prepare_cached(
        "INSERT INTO case_updates (idempotency_key, case_id, result, at, run, request)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![key, id, result, clock::now_unix(), run, request])?;
    Ok(())
}

/// Sets case `id`'s access mode; its `updated_at` moves forward (at least by one). Called with
/// every change of its restrictions: its sight version moves on when it was or will be
/// restricted (who sees it changes; a full-access case's collaborators change no one's
/// sight), and is marked widened when the change `widens` who sees it (`cases.widened`).
pub fn set_access_mode(
    tx: &Transaction<'_>,
    id: i64,
    mode: AccessMode,
    widens: bool,
) -> crate::store::sql::Result<()> {
    tx.prepare_cached(
        "UPDATE cases SET restricted = ?2,
                sight = sight + CASE WHEN restricted <> 0 OR CAST(?2 AS BIGINT) <> 0 THEN 1 ELSE 0 END,
                widened = CASE WHEN CAST(?4 AS BIGINT) <> 0 THEN sight + 1 ELSE widened END,
                updated_at = CASE WHEN updated_at + 1 > ?3 THEN updated_at + 1 ELSE ?3 END
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        mode == AccessMode::Restricted,
        clock::now_micros(),
        widens
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a run read is looked up by key, its own and each ancestor's: written as one
    /// condition on a row of `run_cases`, every check scanned the table, every tenant's (0.4 s
    /// a check at two million rows; round 15 storage and kill reviews).
    #[test]
    fn what_a_run_read_is_looked_up_by_key_not_scanned() {
        let db = crate::store::Db::open_in_memory().expect("db");
        let conn = db.conn().sqlite().expect("SQLite");
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", read_hidden_sql()))
            .expect("plan");
        let plan: Vec<String> = stmt
            .query_map([1, 2, 3, 4, 5, 1], |r| r.get::<_, String>(3))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert!(
            plan.iter().any(|line| line.contains("SEARCH rc")),
            "{plan:#?}"
        );
        assert!(
            !plan
                .iter()
                .any(|line| line.starts_with("SCAN rc") || line.starts_with("SCAN run_cases")),
            "{plan:#?}"
        );
    }

    /// Reads of cases `ids` at sight 0.
    fn reads(ids: &[i64]) -> Vec<CaseRead> {
        ids.iter()
            .map(|&case| CaseRead { case, sight: 0 })
            .collect()
    }

    /// A run holds at most `limit` restricted reads: reads past it are refused whole, and
    /// nothing is written; reads it holds already cost nothing (hostile-step review).
    #[test]
    fn a_runs_restricted_reads_stop_at_their_bound() {
        let db = crate::store::Db::open_in_memory().expect("db");
        db.conn()
            .execute_batch("PRAGMA foreign_keys = OFF;")
            .expect("no references needed here");
        let count = || -> i64 {
            db.conn()
                .query_row("SELECT count(*) FROM run_cases WHERE run_id = 7", [], |r| {
                    r.get(0)
                })
                .expect("count")
        };
        assert!(record_run_reads(db.conn(), 7, &reads(&[1, 2, 3]), 4).expect("recorded"));
        assert!(!record_run_reads(db.conn(), 7, &reads(&[3, 4, 5]), 4).expect("refused"));
        assert_eq!(count(), 3, "nothing of a refused read is written");
        assert!(record_run_reads(db.conn(), 7, &reads(&[1, 2, 3, 4]), 4).expect("within"));
        assert!(record_run_reads(db.conn(), 7, &reads(&[4, 1]), 4).expect("held already"));
        assert_eq!(count(), 4);
        // Reads inherited with its event do not count towards its own bound.
        db.conn()
            .execute_batch(
                "INSERT INTO run_cases (run_id, case_id, inherited)
                 VALUES (8, 1, 1), (8, 2, 1), (8, 3, 1), (8, 4, 1)",
            )
            .expect("inherited");
        assert!(record_run_reads(db.conn(), 8, &reads(&[5, 6, 7, 8]), 4).expect("its own four"));
        assert!(!record_run_reads(db.conn(), 8, &reads(&[9]), 4).expect("a fifth of its own"));
        assert!(record_run_reads(db.conn(), 8, &reads(&[1]), 4).expect("inherited already"));
        // All it holds, inherited too, stays within twice the bound.
        db.conn()
            .execute_batch(
                "INSERT INTO run_cases (run_id, case_id, inherited)
                 VALUES (9, 1, 1), (9, 2, 1), (9, 3, 1), (9, 4, 1), (9, 5, 1), (9, 6, 1),
                        (9, 7, 1)",
            )
            .expect("inherited");
        assert!(record_run_reads(db.conn(), 9, &reads(&[10]), 4).expect("the eighth in all"));
        assert!(!record_run_reads(db.conn(), 9, &reads(&[11]), 4).expect("a ninth in all"));
    }

    /// What a run read of a restricted case is hidden from a viewer it names who may not
    /// read cases (SPEC CS-4; review of this round's fix), as from one it does not name.
    #[test]
    fn a_runs_restricted_reads_are_hidden_from_who_may_not_read_cases() {
        let db = crate::store::Db::open_in_memory().expect("db");
        db.conn()
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 INSERT INTO cases (id, workspace_id, title, severity, state, created_at, updated_at, number, restricted, public_id)
                 VALUES (1, 1, 'phish', 2, 'open', 0, 0, 1, 1, 'C-0123456789ABCDEF');
                 INSERT INTO case_people (case_id, workspace_id, email, part) VALUES (1, 1, 'bob@x.test', 'collaborator');
                 INSERT INTO run_cases (run_id, case_id) VALUES (7, 1);",
            )
            .expect("seed");
        let viewer = |reads_cases: bool| super::super::viewer::Viewer {
            email: Some(crate::principal::Email::parse("bob@x.test").expect("email")),
            bypass: false,
            also: None,
            reads_cases,
        };
        let hidden = |reads_cases: bool, judged: Judged| {
            run_read_hidden_from(db.conn(), RunReads::all(7), &viewer(reads_cases), judged)
                .expect("read")
        };
        assert!(!hidden(true, Judged::Now));
        assert!(!hidden(true, Judged::AsRead));
        assert!(hidden(false, Judged::Now));
        assert!(hidden(false, Judged::AsRead));
    }

    /// A read of a restricted case widened since (opened, someone added) is hidden from
    /// whoever is judged as it was read, whom it names now or not; judged now, the case as it
    /// stands decides. A change that only narrows it hides nothing (whoever sees it now saw it
    /// then), and a full-access case's collaborators change nobody's sight (round 27
    /// interactions review, round 28 self-review; SPEC CS-2).
    #[test]
    fn a_read_of_a_case_whose_sight_changed_since_is_hidden_as_read() {
        let db = crate::store::Db::open_in_memory().expect("db");
        db.conn()
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 INSERT INTO cases (id, workspace_id, title, severity, state, created_at, updated_at, number, restricted, public_id)
                 VALUES (1, 1, 'phish', 2, 'open', 0, 0, 1, 1, 'C-0123456789ABCDEF');
                 INSERT INTO case_people (case_id, workspace_id, email, part) VALUES (1, 1, 'bob@x.test', 'collaborator');",
            )
            .expect("seed");
        let row = load(db.conn(), 1).expect("load").expect("the case");
        assert!(record_run_reads(db.conn(), 7, &[row.read()], 4).expect("recorded"));
        let who = |email: &str| super::super::viewer::Viewer {
            email: Some(crate::principal::Email::parse(email).expect("email")),
            bypass: false,
            also: None,
            reads_cases: true,
        };
        let hidden = |email: &str, judged: Judged| {
            run_read_hidden_from(db.conn(), RunReads::all(7), &who(email), judged).expect("read")
        };
        assert!(
            !hidden("bob@x.test", Judged::AsRead),
            "unchanged: bob saw it then"
        );
        assert!(hidden("eve@x.test", Judged::AsRead));
        // Narrowed (still restricted, nobody added): bob saw it then as now.
        set_access_mode(&db.autocommit_tx(), 1, AccessMode::Restricted, false).expect("narrow");
        assert!(!hidden("bob@x.test", Judged::AsRead), "only narrowed");
        // Opened: everyone sees it now, nobody can be told who saw it then.
        set_access_mode(&db.autocommit_tx(), 1, AccessMode::FullAccess, true).expect("open");
        assert!(!hidden("eve@x.test", Judged::Now));
        assert!(hidden("eve@x.test", Judged::AsRead));
        assert!(hidden("bob@x.test", Judged::AsRead));
        // A full-access case's collaborators changing moves nobody's sight.
        let sight = || load(db.conn(), 1).expect("load").expect("the case").sight;
        let before = sight();
        set_access_mode(&db.autocommit_tx(), 1, AccessMode::FullAccess, false).expect("still open");
        assert_eq!(sight(), before);
        // A second read keeps the sight of the first: the run holds what it read then.
        let again = load(db.conn(), 1).expect("load").expect("the case");
        assert!(record_run_reads(db.conn(), 7, &[again.read()], 4).expect("held already"));
        assert!(hidden("bob@x.test", Judged::AsRead));
    }

    #[test]
    fn a_severity_code_the_schema_does_not_admit_is_an_error_naming_the_column() {
        let db = crate::store::Db::open_in_memory().expect("db");
        let seed = |severity: i64| {
            db.conn()
                .execute_batch(&format!(
                    "DELETE FROM cases;
                     INSERT OR IGNORE INTO organizations (id, name) VALUES (1, 'acme');
                     INSERT OR IGNORE INTO workspaces (id, org_id, name) VALUES (1, 1, 'soc');
                     PRAGMA ignore_check_constraints = ON;
                     INSERT INTO cases (id, workspace_id, title, severity, state, created_at, updated_at, number, public_id)
                     VALUES (1, 1, 'phish', {severity}, 'open', 0, 0, 1, 'C-1');
                     PRAGMA ignore_check_constraints = OFF;"
                ))
                .expect("seed");
        };
        seed(7);
        let err = load(db.conn(), 1).err().expect("damaged severity");
        assert!(err.to_string().contains("stored cases.severity 7"), "{err}");
        seed(3);
        let row = load(db.conn(), 1).expect("readable").expect("exists");
        assert_eq!(row.record.severity, Severity::Critical);
    }
}
