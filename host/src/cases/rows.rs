//! Reading and writing case rows and the people on them.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::clock;
use crate::services::cases::{AccessMode, CaseRecord, Severity};

/// A case row with its workspace id, as stored.
pub struct CaseRow {
    pub id: i64,
    pub workspace_id: i64,
    pub record: CaseRecord,
}

pub fn severity_code(s: Severity) -> i64 {
    match s {
        Severity::Low => 0,
        Severity::Medium => 1,
        Severity::High => 2,
        Severity::Critical => 3,
    }
}

fn severity_of(code: i64) -> Severity {
    match code {
        0 => Severity::Low,
        1 => Severity::Medium,
        2 => Severity::High,
        _ => Severity::Critical,
    }
}

/// The row id of case number `number` of workspace `ws`, if it exists.
pub fn id_of(conn: &Connection, ws: i64, number: i64) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM cases WHERE workspace_id = ?1 AND number = ?2")?
        .query_row(params![ws, number], |r| r.get(0))
        .optional()
}

/// The number within its workspace of case row `id`, if it exists.
pub fn number_of(conn: &Connection, id: i64) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT number FROM cases WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()
}

/// Case `id` with its reviewers and collaborators, if it exists.
pub fn load(conn: &Connection, id: i64) -> rusqlite::Result<Option<CaseRow>> {
    let row = conn
        .prepare_cached(
            "SELECT workspace_id, title, description, severity, state, reporter, assignee, restricted, fields, created_at, updated_at, number
             FROM cases WHERE id = ?1",
        )?
        .query_row(
            [id],
            |r| {
                let fields = crate::stored_json::column(r, 8, "cases.fields")?;
                Ok((
                    r.get::<_, i64>(0)?,
                    CaseRecord {
                        id: super::case_id_text(r.get(11)?),
                        title: r.get(1)?,
                        description: r.get(2)?,
                        severity: severity_of(r.get(3)?),
                        state: r.get(4)?,
                        reporter: r.get(5)?,
                        assignee: r.get(6)?,
                        reviewers: Vec::new(),
                        access_mode: if r.get::<_, bool>(7)? { AccessMode::Restricted } else { AccessMode::FullAccess },
                        collaborators: Vec::new(),
                        fields,
                        created_at: clock::rfc3339(r.get::<_, i64>(9)? / 1_000_000),
                        updated_at: clock::rfc3339(r.get::<_, i64>(10)? / 1_000_000),
                    },
                ))
            },
        )
        .optional()?;
    let Some((workspace_id, mut record)) = row else {
        return Ok(None);
    };
    let named = people(conn, id)?;
    record.reviewers = named.reviewers;
    record.collaborators = named.collaborators;
    Ok(Some(CaseRow {
        id,
        workspace_id,
        record,
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
pub fn people(conn: &Connection, id: i64) -> rusqlite::Result<Named> {
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
            // The schema's CHECK admits no other part.
            _ => continue,
        };
        list.push(row.get(1)?);
    }
    Ok(named)
}

/// Whether `email` is named on case `id` (assignee, reviewer or collaborator).
pub fn is_named(conn: &Connection, id: i64, email: &str) -> rusqlite::Result<bool> {
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
) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO case_people (case_id, workspace_id, email, part) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![id, ws, email, part])?;
    Ok(())
}

/// Removes `email` as `part` of case `id`.
pub fn remove_person(
    tx: &Transaction<'_>,
    id: i64,
    email: &str,
    part: &str,
) -> rusqlite::Result<()> {
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
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO case_timeline (case_id, at, actor, kind, details) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        id,
        clock::now_unix(),
        actor,
        kind,
        details.to_string()
    ])?;
    Ok(())
}
