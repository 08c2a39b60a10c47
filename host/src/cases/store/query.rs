//! *Query cases* as SQL (SPEC CS-2, CS-4): visibility, filters, sort and keyset pages, all in
//! the query. Full-access and restricted cases are read by two ordered arms merged by SQLite;
//! the restricted arm starts from the viewer's own `case_people` rows unless they bypass.

use crate::store::sql::Connection;
use crate::store::sql::types::Value;

use crate::Error;
use crate::services::cases::{AccessMode, CaseQuery, CaseSort};

use super::severity_code;
use crate::cases::viewer::Viewer;

/// Largest page; larger requests are clamped.
pub const MAX_PAGE: u32 = 200;
/// Page size when none is given.
pub const DEFAULT_PAGE: u32 = 50;

/// One sort order: its key columns (all descending or all ascending), then `id` as tiebreak.
struct Order {
    tag: &'static str,
    keys: &'static [&'static str],
    desc: bool,
}

fn order(sort: CaseSort) -> Order {
    match sort {
        CaseSort::CreatedDesc => Order {
            tag: "c",
            keys: &["created_at"],
            desc: true,
        },
        CaseSort::CreatedAsc => Order {
            tag: "a",
            keys: &["created_at"],
            desc: false,
        },
        CaseSort::UpdatedDesc => Order {
            tag: "u",
            keys: &["updated_at"],
            desc: true,
        },
        CaseSort::SeverityDesc => Order {
            tag: "s",
            keys: &["severity", "created_at"],
            desc: true,
        },
    }
}

/// The SQL of a page query, its parameters, the page size and the order.
struct PageSql {
    sql: String,
    params: Vec<Value>,
    size: u32,
    ord: Order,
}

/// The page size a query asking for `requested` gets: the default for 0, at most
/// [`MAX_PAGE`].
pub fn page_size(requested: u32) -> u32 {
    match requested {
        0 => DEFAULT_PAGE,
        n => n.min(MAX_PAGE),
    }
}

fn build(conn: &Connection, ws: i64, viewer: &Viewer, q: &CaseQuery) -> Result<PageSql, Error> {
    let size = page_size(q.page_size);
    let ord = order(q.sort);
    let cursor = q
        .cursor
        .as_deref()
        .map(|c| parse_cursor(conn, ws, c, &ord))
        .transpose()?;

    let mut params: Vec<Value> = vec![
        Value::Integer(ws),
        Value::Text(viewer.email_str().to_owned()),
    ];
    let mut filters = String::new();
    // A run's publisher must be named too, unless it bypasses (SPEC WF-10).
    let also = viewer.also_str().map(|email| {
        params.push(Value::Text(email.to_owned()));
        format!(
            " AND id IN (SELECT case_id FROM case_people WHERE workspace_id = ?1 AND email = ?{})",
            params.len()
        )
    });
    let f = &q.filter;
    if let Some(state) = &f.state {
        params.push(Value::Text(state.clone()));
        filters += &format!(" AND state = ?{}", params.len());
    }
    if let Some(sev) = f.severity {
        params.push(Value::Integer(severity_code(sev)));
        filters += &format!(" AND severity = ?{}", params.len());
    }
    if let Some(assignee) = &f.assignee {
        params.push(Value::Text(assignee.trim().to_lowercase()));
        filters += &format!(" AND assignee = ?{}", params.len());
    }
    if let Some(text) = f.text.as_deref().filter(|t| !t.is_empty()) {
        // A substring test without LIKE: a LIKE pattern over 50,000 bytes fails ("LIKE or
        // GLOB pattern too complex", issue 14 item 10), and nothing needs escaping. Case is
        // folded for ASCII only, as LIKE did: the columns by lower() (SQLite's folds ASCII;
        // PostgreSQL's under the columns' "C" collation too), the text here, not by lower()
        // on a parameter, which PostgreSQL folds under the database's collation (a search for
        // "ÉCHEC" missed the title "ÉCHEC" on a database of another locale; review).
        params.push(Value::Text(text.to_ascii_lowercase()));
        let n = params.len();
        // The same test under each engine's name for it.
        let position = match conn.engine() {
            crate::store::sql::Engine::Sqlite => "instr",
            crate::store::sql::Engine::Postgres => "strpos",
        };
        filters += &format!(
            " AND ({position}(lower(title), ?{n}) > 0 OR {position}(lower(description), ?{n}) > 0)"
        );
    }
    if let Some(values) = &cursor {
        let cols: Vec<String> = ord
            .keys
            .iter()
            .map(|k| (*k).to_owned())
            .chain(["id".to_owned()])
            .collect();
        let marks: Vec<String> = values
            .iter()
            .map(|v| {
                params.push(Value::Integer(*v));
                format!("?{}", params.len())
            })
            .collect();
        let op = if ord.desc { "<" } else { ">" };
        filters += &format!(" AND ({}) {op} ({})", cols.join(", "), marks.join(", "));
    }
    params.push(Value::Integer(i64::from(size) + 1));
    let limit = format!("?{}", params.len());

    let dir = if ord.desc { "DESC" } else { "ASC" };
    let order_by: String = ord
        .keys
        .iter()
        .map(|k| format!("{k} {dir}, "))
        .collect::<String>()
        + &format!("id {dir}");
    let cols = ord.keys.join(", ");
    let arm = |restricted: bool| {
        let reach = if restricted && !viewer.bypass {
            " AND id IN (SELECT case_id FROM case_people WHERE workspace_id = ?1 AND email = ?2)"
                .to_owned()
                + also.as_deref().unwrap_or("")
        } else {
            String::new()
        };
        format!(
            "SELECT id, {cols} FROM (SELECT id, {cols} FROM cases WHERE workspace_id = ?1 AND restricted = {}{reach}{filters} ORDER BY {order_by} LIMIT {limit}) AS page",
            i32::from(restricted)
        )
    };
    let sql = match f.access_mode {
        Some(AccessMode::FullAccess) => format!("{} ORDER BY {order_by} LIMIT {limit}", arm(false)),
        Some(AccessMode::Restricted) => format!("{} ORDER BY {order_by} LIMIT {limit}", arm(true)),
        None => format!(
            "{} UNION ALL {} ORDER BY {order_by} LIMIT {limit}",
            arm(false),
            arm(true)
        ),
    };
    Ok(PageSql {
        sql,
        params,
        size,
        ord,
    })
}

/// The ids of one page of visible cases and the cursor of the next page.
/// One page's case rows, in order, and how to continue after any of them.
pub struct Page {
    /// Each row's id, then its sort keys.
    rows: Vec<Vec<i64>>,
    /// Whether cases follow the last row.
    more: bool,
    tag: &'static str,
}

impl Page {
    /// The row ids, in the page's order.
    pub fn ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.rows.iter().map(|r| r[0])
    }

    /// The cursor continuing after the row at `at`: `None` after the last row of the last
    /// page. A page cut short continues after the last case it holds.
    pub fn cursor_after(&self, conn: &Connection, at: usize) -> Result<Option<String>, Error> {
        let Some(row) = self.rows.get(at) else {
            return Ok(None);
        };
        if at + 1 == self.rows.len() && !self.more {
            return Ok(None);
        }
        // Keys first, the case's external id last, in the cursor: never the row id, which
        // counts across workspaces (SPEC ID-4), nor its internal number, which counts cases
        // hidden from the reader (SPEC CS-2; round 16 leak review).
        let public = super::public_of(conn, row[0])
            .map_err(crate::platform::internal)?
            .ok_or_else(|| crate::platform::internal("a listed case has no id"))?;
        let mut values: Vec<String> = row[1..].iter().map(i64::to_string).collect();
        values.push(public);
        Ok(Some(format!("{}:{}", self.tag, values.join(":"))))
    }
}

/// The page of `q` `viewer` sees in workspace `ws`.
pub fn page(conn: &Connection, ws: i64, viewer: &Viewer, q: &CaseQuery) -> Result<Page, Error> {
    let PageSql {
        sql,
        params,
        size,
        ord,
    } = build(conn, ws, viewer, q)?;
    let mut stmt = conn
        .prepare_cached(&sql)
        .map_err(crate::platform::internal)?;
    let width = ord.keys.len() + 1;
    let rows: Vec<Vec<i64>> = stmt
        .query_map(crate::store::sql::params_from_iter(params.iter()), |r| {
            (0..width).map(|i| r.get(i)).collect()
        })
        .map_err(crate::platform::internal)?
        .collect::<Result<_, _>>()
        .map_err(crate::platform::internal)?;
    let mut rows = rows;
    let more = rows.len() > size as usize;
    rows.truncate(size as usize);
    Ok(Page {
        rows,
        more,
        tag: ord.tag,
    })
}

/// The row id to continue after (ascending) or before (descending) the case whose `column`
/// (`number`, or `shown_number`) is `number` in workspace `ws`. Both grow with row ids
/// within a workspace, so this bound splits the workspace's cases exactly where the number
/// does, whether that case exists (or is visible) or not: a cursor never tells whether some
/// case number exists.
fn id_bound(
    conn: &Connection,
    ws: i64,
    column: &'static str,
    number: i64,
    desc: bool,
) -> Result<i64, Error> {
    let (sql, none) = match (desc, column) {
        (true, "shown_number") => (
            "SELECT min(id) FROM cases WHERE workspace_id = ?1 AND shown_number >= ?2",
            i64::MAX,
        ),
        (true, _) => (
            "SELECT min(id) FROM cases WHERE workspace_id = ?1 AND number >= ?2",
            i64::MAX,
        ),
        (false, "shown_number") => (
            "SELECT max(id) FROM cases WHERE workspace_id = ?1 AND shown_number <= ?2",
            0,
        ),
        (false, _) => (
            "SELECT max(id) FROM cases WHERE workspace_id = ?1 AND number <= ?2",
            0,
        ),
    };
    let found: Option<i64> = conn
        .prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_row(crate::store::sql::params![ws, number], |r| r.get(0)))
        .map_err(crate::platform::internal)?;
    Ok(found.unwrap_or(none))
}

/// Whether `cursor` reads as a cursor of a query sorted by `sort` (its values unchecked).
pub(crate) fn check_cursor(cursor: &str, sort: CaseSort) -> Result<(), Error> {
    cursor_parts(cursor, &order(sort)).map(drop)
}

/// The opaque case id `cursor` names its last case by, if it does: the service answers such a
/// cursor only for one who sees that case (see [`parse_cursor`]).
pub(crate) fn opaque_case_of(cursor: &str, sort: CaseSort) -> Option<String> {
    match cursor_parts(cursor, &order(sort)) {
        Ok((_, Last::Opaque(public))) => Some(public),
        _ => None,
    }
}

/// The answer for a cursor that is not one of a query's. Not quoting it: the web's list puts
/// this on a signed-in page, and a crafted link's text would read as the site's words there
/// (web review).
pub(crate) fn bad_cursor() -> Error {
    Error::Invalid("the cursor is not one of this query's sort order".to_owned())
}

/// Where a cursor's last row was, by what it names its case with.
enum Last {
    /// A case shown as `C-<n>`: its number among the numbered cases.
    Shown(i64),
    /// A case with an opaque id.
    Opaque(String),
}

/// A cursor names its sort and holds the last row's key values and the external id of its
/// case: those values and where that case was.
fn cursor_parts(cursor: &str, ord: &Order) -> Result<(Vec<i64>, Last), Error> {
    let mut parts: Vec<&str> = cursor.split(':').collect();
    if parts.first() != Some(&ord.tag) || parts.len() != ord.keys.len() + 2 {
        return Err(bad_cursor());
    }
    let case = parts.pop().ok_or_else(bad_cursor)?;
    let values = parts[1..]
        .iter()
        .map(|p| p.parse().map_err(|_| bad_cursor()))
        .collect::<Result<_, _>>()?;
    // A cursor written before cases had opaque ids (a run paging across a resume, a step
    // test's mock) names its case by its number: its shown number, which migration 35 set to
    // the internal one for every case before it. Read as the internal number, a guessed one
    // placed a page by how many cases were created restricted before it, the readers' hidden
    // ones counted (SPEC CS-2; round 17 hostile-step review).
    let last = if let Ok(number) = case.parse::<i64>() {
        Last::Shown(number)
    } else {
        let public = crate::cases::id::parse_case_id(case).ok_or_else(bad_cursor)?;
        match public
            .strip_prefix("C-")
            .and_then(|n| n.parse::<i64>().ok())
        {
            Some(shown) if public.len() < 18 => Last::Shown(shown),
            _ => Last::Opaque(public),
        }
    };
    Ok((values, last))
}

/// The cursor's sort keys, then the row id bound of the case it names (see [`id_bound`]). A
/// numbered case is placed by its number whether it exists or not, as the internal number
/// was, so a cursor tells nothing of which numbered cases exist (self-review); an opaque id
/// no cursor of the reader's named is refused, as no guess finds one, and so is one of a
/// case the reader does not see, by the service ([`opaque_case_of`]).
fn parse_cursor(conn: &Connection, ws: i64, cursor: &str, ord: &Order) -> Result<Vec<i64>, Error> {
    let (mut values, last) = cursor_parts(cursor, ord)?;
    let bound = match last {
        Last::Shown(shown) => id_bound(conn, ws, "shown_number", shown, ord.desc)?,
        Last::Opaque(public) => {
            let number = super::number_of_public(conn, ws, &public)
                .map_err(crate::platform::internal)?
                .ok_or_else(bad_cursor)?;
            id_bound(conn, ws, "number", number, ord.desc)?
        }
    };
    values.push(bound);
    Ok(values)
}

/// `EXPLAIN QUERY PLAN` of the page query, for the benchmark to print.
pub fn explain(
    conn: &Connection,
    ws: i64,
    viewer: &Viewer,
    q: &CaseQuery,
) -> Result<Vec<String>, Error> {
    let PageSql { sql, params, .. } = build(conn, ws, viewer, q)?;
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .map_err(crate::platform::internal)?;
    let rows = stmt
        .query_map(crate::store::sql::params_from_iter(params.iter()), |r| {
            r.get::<String>(3)
        })
        .map_err(crate::platform::internal)?;
    rows.collect::<Result<_, _>>()
        .map_err(crate::platform::internal)
}
