//! What the test harness reads back from the database a test ran on: counts and case rows
//! its expectations compare. The only module of `harness/` that speaks SQL.

use crate::store::sql::{Connection, OptionalExtension, params};

/// Where the audit log and the events stood before the run under test started: what the
/// harness's own setup wrote (its SSO logins, publishes, the case a `case_created` test
/// makes) is before them, and no expectation counts it (round 19 steps review: an expected
/// `sso.login` or `workflow.publish` held whatever the run did).
#[derive(Clone, Copy, Debug, Default)]
pub struct Marks {
    audit: i64,
    events: i64,
}

/// The marks as the database stands now.
pub(super) fn marks(conn: &Connection) -> crate::store::sql::Result<Marks> {
    conn.query_row(
        "SELECT (SELECT COALESCE(max(id), 0) FROM audit_log), (SELECT COALESCE(max(id), 0) FROM events)",
        [],
        |r| {
            Ok(Marks {
                audit: r.get(0)?,
                events: r.get(1)?,
            })
        },
    )
}

/// Events of `kind` written since `since`, in every workspace.
pub(super) fn count_events(
    conn: &Connection,
    kind: &str,
    since: &Marks,
) -> crate::store::sql::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM events WHERE kind = ?1 AND id > ?2",
        params![kind, since.events],
        |r| r.get(0),
    )
}

/// (id, restricted) of the first two cases of `workspace` titled `title`: none, the one, or
/// a sign that the title names more than one.
pub(super) fn cases_titled(
    conn: &Connection,
    workspace: &str,
    title: &str,
) -> crate::store::sql::Result<Vec<(i64, bool)>> {
    let mut stmt = conn.prepare(
        "SELECT c.id, c.restricted FROM cases c JOIN workspaces w ON w.id = c.workspace_id WHERE w.name = ?1 AND c.title = ?2 ORDER BY c.id LIMIT 2",
    )?;
    stmt.query_map(params![workspace, title], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// The collaborators of case `id` (its row id), by email.
pub(super) fn collaborators(conn: &Connection, id: i64) -> crate::store::sql::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT email FROM case_people WHERE case_id = ?1 AND part = 'collaborator' ORDER BY email",
    )?;
    stmt.query_map([id], |r| r.get(0))?.collect()
}

/// Audit entries with `action`, by `actor` if one is given, written since `since`.
pub(super) fn count_audit(
    conn: &Connection,
    action: &str,
    actor: Option<&str>,
    since: &Marks,
) -> crate::store::sql::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM audit_log WHERE action = ?1 AND (CAST(?2 AS TEXT) IS NULL OR actor = ?2) AND id > ?3",
        params![action, actor, since.audit],
        |r| r.get(0),
    )
}

/// Whether a workflow named `workflow` was published or ran here.
pub(super) fn workflow_known(conn: &Connection, workflow: &str) -> crate::store::sql::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM workflow_revisions WHERE name = ?1)
             OR EXISTS (SELECT 1 FROM runs WHERE workflow = ?1)",
        [workflow],
        |r| r.get(0),
    )
}

/// Runs of `workflow` with `status`.
pub(super) fn count_runs(
    conn: &Connection,
    workflow: &str,
    status: &str,
) -> crate::store::sql::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM runs WHERE workflow = ?1 AND status = ?2",
        params![workflow, status],
        |r| r.get(0),
    )
}

/// Run `run`'s journal entry for `key`: its status and error (a run's detail carries only its
/// newest entries, and an early step of a long run was reported "not journaled").
pub(super) fn step_entry(
    conn: &Connection,
    run: i64,
    key: &str,
) -> crate::store::sql::Result<Option<(String, Option<String>, u32)>> {
    conn.query_row(
        "SELECT status, error, attempts FROM run_steps WHERE run_id = ?1 AND step_key = ?2",
        params![run, key],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()
}
