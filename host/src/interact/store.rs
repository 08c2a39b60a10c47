//! The storage of interactions: the only module of `interact/` that speaks SQL. It reads and
//! writes rows of `interactions` (and the hold of a run waiting on one) inside the caller's
//! connection or transaction; who may see or answer, and when, stays in the service. Stored
//! forms, access settings and values that no longer parse are errors naming the column.

use crate::store::sql::{Connection, OptionalExtension, params};

use crate::Error;
use crate::clock;
use crate::platform::internal;
use crate::public_id::PublicId;
use crate::store::json;

use super::{Interaction, NewInteraction, Status};
use crate::stored_value::UnreadableValue;

/// The columns [`interaction`] reads, in its order.
const COLUMNS: &str = "id, run_id, step_key, workspace, workflow, title, form, access, status, created_at, deadline_ms, responder, responded_at, response_values, public_id, (SELECT public_id FROM runs WHERE runs.id = interactions.run_id), \
    (SELECT e.case_id FROM runs r JOIN events e ON e.id = r.trigger_event WHERE r.id = interactions.run_id)";

fn interaction(r: &crate::store::sql::Row<'_>) -> crate::store::sql::Result<Interaction> {
    // A status the host never writes, or an answer without its values, is an error naming
    // the row, never read as open or as an empty answer: an interaction taken for open that
    // is not would halt its run again on every resume.
    let unreadable = |column, value: &str, expected, idx| {
        let id: Option<PublicId> = r.get(14).ok();
        let row = id.map_or_else(
            || "an interaction".to_owned(),
            |id| format!("interaction {id}"),
        );
        UnreadableValue::new("interactions", column, row, value, expected).into_sql(idx)
    };
    let text: String = r.get(8)?;
    let status = Status::parse(&text).ok_or_else(|| {
        unreadable(
            "status",
            &text,
            "an interaction status (open, responded, timed_out)",
            8,
        )
    })?;
    let values = json::optional_column(r, 13, "interactions.response_values")?;
    if status == Status::Responded && values.is_none() {
        return Err(unreadable(
            "response_values",
            "NULL",
            "the values of the answer",
            13,
        ));
    }
    Ok(Interaction {
        id: r.get(0)?,
        run: r.get(1)?,
        step: r.get(2)?,
        workspace: r.get(3)?,
        workflow: r.get(4)?,
        title: r.get(5)?,
        form: json::typed_column(r, 6, "interactions.form")?,
        access: json::typed_column(r, 7, "interactions.access")?,
        status,
        created_at: r.get(9)?,
        deadline_ms: r.get(10)?,
        responder: r.get(11)?,
        responded_at: r.get(12)?,
        values,
        public: r.get(14)?,
        run_public: r.get(15)?,
        trigger_case: r.get(16)?,
    })
}

/// Inserts `new` as an open interaction with public id `id` unless run `new.run` already
/// opened one at its step; returns the public id of the one stored.
pub(super) fn open(
    conn: &Connection,
    new: &NewInteraction<'_>,
    deadline_ms: Option<i64>,
    id: &PublicId,
) -> Result<PublicId, Error> {
    let form = serde_json::to_string(new.form).map_err(internal)?;
    let access = serde_json::to_string(new.access).map_err(internal)?;
    conn.execute(
        "INSERT INTO interactions (run_id, step_key, workspace, workflow, title, form, access, status, created_at, deadline_ms, public_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open', ?8, ?9, ?10) ON CONFLICT DO NOTHING",
        params![new.run, new.step_key, new.workspace, new.workflow, new.title, form, access, clock::now_unix(), deadline_ms, id],
    )?;
    conn.query_row(
        "SELECT public_id FROM interactions WHERE run_id = ?1 AND step_key = ?2",
        params![new.run, new.step_key],
        |r| r.get(0),
    )
    .map_err(internal)
}

/// How many interactions the run of `new` has opened, and whether one of them is at its
/// step; counted under its workspace's lock, so that concurrent opens of one run's parallel
/// parts do not each see room on PostgreSQL (self-review).
pub(super) fn opened_by(conn: &Connection, new: &NewInteraction<'_>) -> Result<(i64, bool), Error> {
    conn.lock_workspace(new.workspace).map_err(internal)?;
    let (run, step_key) = (new.run, new.step_key);
    conn.query_row(
        "SELECT count(*), COALESCE(max(CASE WHEN step_key = ?2 THEN 1 ELSE 0 END), 0)
         FROM interactions WHERE run_id = ?1",
        params![run, step_key],
        |r| Ok((r.get(0)?, r.get::<i64>(1)? != 0)),
    )
    .map_err(internal)
}

/// The interaction people know as `id`.
pub(super) fn by_public_id(conn: &Connection, id: &PublicId) -> Result<Option<Interaction>, Error> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM interactions WHERE public_id = ?1"),
        [id],
        interaction,
    )
    .optional()
    .map_err(internal)
}

/// The internal key of interaction `id` of `workspace`, if there is one (a listing's
/// cursor: never shown).
pub(super) fn key_in(
    conn: &Connection,
    workspace: &str,
    id: &PublicId,
) -> Result<Option<i64>, Error> {
    conn.query_row(
        "SELECT id FROM interactions WHERE public_id = ?1 AND workspace = ?2",
        crate::store::sql::params![id, workspace],
        |r| r.get(0),
    )
    .optional()
    .map_err(internal)
}

/// The workspace of interaction `id`, if there is one: read alone (see `member_row`).
pub(super) fn workspace_of(conn: &Connection, id: &PublicId) -> Result<Option<String>, Error> {
    conn.query_row(
        "SELECT workspace FROM interactions WHERE public_id = ?1",
        [id],
        |r| r.get(0),
    )
    .optional()
    .map_err(internal)
}

/// What the run whose custom event started run `run` had read when it wrote it, if one did.
pub(super) fn cause_of(
    conn: &Connection,
    run: i64,
) -> Result<Option<crate::cases::RunReads>, Error> {
    conn.query_row(
        "SELECT t.cause_run, t.cause_seq FROM runs JOIN events t ON t.id = runs.trigger_event
         WHERE runs.id = ?1",
        [run],
        |r| {
            let cause: Option<i64> = r.get(0)?;
            let seq: Option<i64> = r.get(1)?;
            Ok(cause.map(|c| crate::cases::RunReads::at_event(c, seq)))
        },
    )
    .optional()
    .map(Option::flatten)
    .map_err(internal)
}

/// The interaction run `run` opened at `step_key`, if any.
pub(super) fn of_step(
    conn: &Connection,
    run: i64,
    step_key: &str,
) -> Result<Option<Interaction>, Error> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM interactions WHERE run_id = ?1 AND step_key = ?2"),
        params![run, step_key],
        interaction,
    )
    .optional()
    .map_err(internal)
}

/// An interaction row as listed: its internal key, and the row or why it does not read.
pub(super) type ListedRow = (i64, Result<Interaction, Error>);

/// The open interactions of `workspace` after internal key `after` that are not due at
/// `now_ms`, oldest first, at most `limit` of them, each with its internal key: a row that
/// does not read is its error, apart from a failure to read at all.
pub(super) fn open_in(
    conn: &Connection,
    workspace: &str,
    after: i64,
    now_ms: i64,
    limit: usize,
) -> Result<Vec<ListedRow>, Error> {
    let mut stmt = conn.prepare_cached(&format!(
        // An open interaction of a run that ended takes no answer, nor does one past its
        // deadline not yet timed out by the scheduler (round 16 web review), so neither is
        // listed.
        "SELECT {COLUMNS} FROM interactions WHERE status = 'open' AND workspace = ?1
           AND id > ?2
           AND (deadline_ms IS NULL OR deadline_ms > ?4)
           AND {RUN_GOES_ON}
         ORDER BY id LIMIT ?3"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(
        crate::store::sql::params![workspace, after, limit, now_ms],
        |r| Ok((r.get(0)?, interaction(r).map_err(internal))),
    )?;
    rows.collect::<Result<_, _>>().map_err(internal)
}

/// The condition that interaction `interactions`'s run has not ended: an open interaction of
/// a run that ended takes no answer (such a row stays open, shown closed, `view`).
const RUN_GOES_ON: &str = "NOT EXISTS (SELECT 1 FROM runs WHERE runs.id = interactions.run_id
                                        AND runs.status IN ('succeeded', 'failed', 'stopped'))";

/// The internal keys of the open interactions due at `now_ms`, soonest first: read without
/// parsing a row, so that they are timed out a bounded number to a transaction.
pub(super) fn due_keys(conn: &Connection, now_ms: i64) -> Result<Vec<i64>, Error> {
    let mut stmt = conn.prepare(
        "SELECT id FROM interactions WHERE status = 'open' AND deadline_ms <= ?1 ORDER BY deadline_ms, id",
    )?;
    let rows = stmt.query_map([now_ms], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Interaction `key`, if it is still open and due at `now_ms`; a row that does not read is
/// `Some(Err)`, apart from a failure to read at all.
pub(super) fn due_one(
    conn: &Connection,
    key: i64,
    now_ms: i64,
) -> Result<Option<Result<Interaction, Error>>, Error> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM interactions WHERE id = ?1 AND status = 'open' AND deadline_ms <= ?2"
    ))?;
    let mut rows = stmt.query_map(params![key, now_ms], interaction)?;
    Ok(rows.next().map(|row| row.map_err(internal)))
}

/// Records the response to the interaction with internal key `key`, if it is still open.
pub(super) fn respond(
    conn: &Connection,
    key: i64,
    responder: Option<&str>,
    at_ms: i64,
    values: &serde_json::Value,
) -> Result<(), Error> {
    let changed = conn.execute(
        "UPDATE interactions SET status = 'responded', responder = ?2, responded_at = ?3, response_values = ?4 WHERE id = ?1 AND status = 'open'",
        params![key, responder, at_ms, values.to_string()],
    )?;
    // Read open under the same lock: anything else is a row changed under it, and the
    // answer must not be reported accepted with nothing stored.
    if changed != 1 {
        return Err(Error::Conflict(
            "the interaction was answered or timed out meanwhile; it takes no response (SPEC IX-8)"
                .into(),
        ));
    }
    Ok(())
}

/// Closes the interaction with internal key `key` as timed out at its deadline, if it is
/// still open; returns whether it was.
/// Interaction `key`, still open, of a run that ended: its deadline resumes nothing and is
/// forgotten, so no round looks at it again (a run failed in one branch while another waited
/// was audited as timed out minutes after it ended; round 28 kill and concurrency review, and
/// its self-review: kept due, every round scanned them all).
pub(super) fn forget_deadline(conn: &Connection, key: i64) -> Result<(), Error> {
    conn.execute(
        "UPDATE interactions SET deadline_ms = NULL WHERE id = ?1 AND status = 'open'",
        [key],
    )?;
    Ok(())
}

pub(super) fn time_out(conn: &Connection, key: i64) -> Result<bool, Error> {
    let changed = conn
        .execute(
            "UPDATE interactions SET status = 'timed_out', responded_at = deadline_ms WHERE id = ?1 AND status = 'open'",
            [key],
        )?;
    Ok(changed > 0)
}

/// Run `run`'s open interactions, oldest first, each as its step's journal key and its id.
pub(super) fn open_steps_of(conn: &Connection, run: i64) -> Result<Vec<(String, PublicId)>, Error> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT step_key, public_id FROM interactions
             WHERE run_id = ?1 AND status = 'open' ORDER BY id",
        )
        .map_err(internal)?;
    let rows = stmt
        .query_map([run], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(internal)?;
    rows.collect::<Result<_, _>>().map_err(internal)
}

/// The public ids of run `run`'s open interactions, oldest first: what it waits on.
pub(crate) fn open_of(conn: &Connection, run: i64) -> Result<Vec<PublicId>, Error> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT public_id FROM interactions WHERE run_id = ?1 AND status = 'open' ORDER BY id",
        )
        .map_err(internal)?;
    let ids = stmt.query_map([run], |r| r.get(0)).map_err(internal)?;
    ids.collect::<Result<_, _>>().map_err(internal)
}
