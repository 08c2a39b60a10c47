//! The storage of published revisions (`workflow_revisions`, SPEC WF-7): reading them back as
//! [`Revision`]s and appending a new one. Whether a publish makes a new revision is decided
//! by the service.

use crate::store::sql::{Connection, OptionalExtension, params};

use crate::Error;
use crate::clock;
use crate::platform::internal;
use crate::workflow::components;
use crate::workflow::revision::Revision;

/// Which revisions to read.
pub(in crate::workflow) enum Which<'a> {
    /// Every revision of a workflow, newest first.
    History { workspace: &'a str, name: &'a str },
    /// One revision of a workflow.
    One {
        workspace: &'a str,
        name: &'a str,
        revision: i64,
    },
    /// The latest revision of a workflow.
    Latest { workspace: &'a str, name: &'a str },
    /// The latest revision of each workflow of a workspace, by name.
    LatestOfEach { workspace: &'a str },
}

/// The revisions `which` names.
pub(in crate::workflow) fn revisions(
    conn: &Connection,
    which: Which<'_>,
) -> Result<Vec<Revision>, Error> {
    const SELECT: &str = "SELECT name, revision, published_by, published_at, definition, source, flow, publisher, run_as, components FROM workflow_revisions";
    match which {
        Which::History { workspace, name } => read(
            conn,
            &format!("{SELECT} WHERE workspace = ?1 AND name = ?2 ORDER BY revision DESC"),
            params![workspace, name],
        ),
        Which::One {
            workspace,
            name,
            revision,
        } => read(
            conn,
            &format!("{SELECT} WHERE workspace = ?1 AND name = ?2 AND revision = ?3"),
            params![workspace, name, revision],
        ),
        Which::Latest { workspace, name } => read(
            conn,
            &format!("{SELECT} WHERE workspace = ?1 AND name = ?2 ORDER BY revision DESC LIMIT 1"),
            params![workspace, name],
        ),
        Which::LatestOfEach { workspace } => read(
            conn,
            &format!(
                "{SELECT} WHERE workspace = ?1 AND revision = (SELECT max(revision) FROM workflow_revisions w WHERE w.workspace = workflow_revisions.workspace AND w.name = workflow_revisions.name) ORDER BY name"
            ),
            params![workspace],
        ),
    }
}

fn read(
    conn: &Connection,
    sql: &str,
    params: impl crate::store::sql::Params,
) -> Result<Vec<Revision>, Error> {
    // Cached: accepting a webhook request reads the latest revision every time.
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |r| {
        Ok((
            Revision {
                name: r.get(0)?,
                revision: r.get(1)?,
                published_by: r.get(2)?,
                published_at: clock::rfc3339(r.get(3)?),
                definition: r.get(4)?,
                source: r.get(5)?,
                flow: r.get(6)?,
                publisher: r.get(7)?,
                run_as: r.get(8)?,
                components: None,
                unreadable_pins: None,
            },
            r.get::<Option<String>>(9)?,
        ))
    })?;
    let rows: Vec<(Revision, Option<String>)> = rows.collect::<Result<_, _>>()?;
    // Pins that do not read are kept as the revision's error, not the list's: one damaged
    // revision must not stop its workspace's others (their triggers, flows, publishing).
    Ok(rows
        .into_iter()
        .map(|(rev, pins)| {
            let what = format!("revision {} of `{}`", rev.revision, rev.name);
            match components::read_pins(pins, &what) {
                Ok(components) => Revision { components, ..rev },
                Err(e) => Revision {
                    unreadable_pins: Some(e.to_string()),
                    ..rev
                },
            }
        })
        .collect())
}

/// What a new publish is compared with: the latest revision as stored.
pub(in crate::workflow) struct Latest {
    pub revision: i64,
    pub definition: String,
    pub publisher: Option<String>,
    pub run_as: Option<String>,
    /// The pins as stored text, compared as written.
    pub components: Option<String>,
}

/// The latest revision of `name` in `workspace`, as stored, if any.
pub(in crate::workflow) fn latest(
    conn: &Connection,
    workspace: &str,
    name: &str,
) -> Result<Option<Latest>, Error> {
    conn.query_row(
        "SELECT revision, definition, publisher, run_as, components FROM workflow_revisions WHERE workspace = ?1 AND name = ?2 ORDER BY revision DESC LIMIT 1",
        params![workspace, name],
        |r| {
            Ok(Latest {
                revision: r.get(0)?,
                definition: r.get(1)?,
                publisher: r.get(2)?,
                run_as: r.get(3)?,
                components: r.get(4)?,
            })
        },
    )
    .optional()
    .map_err(internal)
}

/// A revision to append, as the service decided it.
pub(in crate::workflow) struct NewRevision<'a> {
    pub workspace: &'a str,
    pub name: &'a str,
    pub revision: i64,
    pub definition: &'a str,
    pub source: &'a str,
    pub published_by: &'a str,
    pub flow: Option<&'a str>,
    pub publisher: &'a str,
    pub run_as: Option<&'a str>,
    pub components: &'a str,
}

/// Appends `new`.
pub(in crate::workflow) fn insert(conn: &Connection, new: &NewRevision<'_>) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO workflow_revisions (workspace, name, revision, definition, source, published_by, published_at, flow, publisher, run_as, components) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            new.workspace,
            new.name,
            new.revision,
            new.definition,
            new.source,
            new.published_by,
            clock::now_unix(),
            new.flow,
            new.publisher,
            new.run_as,
            new.components
        ],
    )?;
    Ok(())
}

/// The source workspace of an accepted share of `name` into `workspace`, if any: the
/// destination may use it, not publish its own (SPEC SH-1). Read in the publishing
/// transaction, so a share accepted a moment before is seen.
pub(in crate::workflow) fn shared_from(
    conn: &Connection,
    workspace: &str,
    name: &str,
) -> Result<Option<String>, Error> {
    conn.query_row(
        // The oldest, as `share/store.rs` reads it, should two be accepted.
        "SELECT source FROM shares WHERE destination = ?1 AND name = ?2 AND status = 'accepted' ORDER BY id LIMIT 1",
        params![workspace, name],
        |r| r.get(0),
    )
    .optional()
    .map_err(internal)
}
