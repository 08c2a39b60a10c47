//! The audit log's storage (SPEC AU): appended inside the transaction of the change an entry
//! describes, never updated or deleted (triggers refuse both), numbered per workspace.

use crate::store::sql::{Connection, params};
use serde::Serialize;

use crate::clock;

/// One entry of the audit log (SPEC AU-1).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    /// The entry's number within its workspace (SPEC ID-4).
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub actor_kind: String,
    pub workspace: String,
    pub action: String,
    pub target: String,
    pub details: serde_json::Value,
}

/// An entry to append, stamped now.
pub struct NewEntry<'a> {
    pub actor: &'a str,
    pub actor_kind: &'a str,
    pub workspace: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub details: &'a serde_json::Value,
}

/// The statement [`append`] sends, written once.
/// Numbered within the workspace (SPEC ID-4); the transaction holds the workspace's lock, so
/// the next number is free. Its time is no earlier than the entry numbered before it (the
/// clock was read before the lock: a reader tailing by time passed an entry over; round 15
/// storage review), when that entry is at most [`CARRIED_SKEW_SECS`] ahead: one host's
/// clock a year fast stamped every later entry of the workspace a year ahead, for good
/// (round 16 storage and kill reviews).
/// An entry about an interaction whose run has read a restricted case, or was started by an
/// event about a case restricted now (restricted after the run was claimed, it is not among
/// the run's reads; leak review), is marked, once, as kept from readers who do not see every
/// case (`entries`).
/// How far ahead of this host's clock the last entry's time may be and still be carried to
/// the next entry: a lock's wait, not a wrong clock.
pub const CARRIED_SKEW_SECS: i64 = 5;

static APPEND: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO audit_log (at, actor, actor_kind, workspace, action, target, details, number, partial_hidden)
         VALUES (coalesce((SELECT CASE WHEN at > ?1 AND at <= ?1 + {CARRIED_SKEW_SECS} THEN at END
                           FROM audit_log WHERE workspace = ?4 ORDER BY number DESC LIMIT 1), ?1),
                 ?2, ?3, ?4, ?5, ?6, ?7,
                 (SELECT coalesce(max(number), 0) + 1 FROM audit_log WHERE workspace = ?4),
                 CASE WHEN substr(?6, 1, 12) = 'interaction:' AND (EXISTS (
                     SELECT 1 FROM interactions i
                     WHERE i.public_id = substr(?6, 13) AND {read_restricted})
                   OR EXISTS (
                     SELECT 1 FROM interactions i JOIN runs r ON r.id = i.run_id
                     JOIN events e ON e.id = r.trigger_event JOIN cases c ON c.id = e.case_id
                     WHERE i.public_id = substr(?6, 13) AND c.restricted <> 0)
                   OR EXISTS (
                     SELECT 1 FROM interactions i
                     WHERE i.public_id = substr(?6, 13) AND {started_restricted})) THEN 1 ELSE 0 END)",
        // Restricted now, or widened since the run read it (when it was restricted): opened
        // since, it still holds what the run quoted then.
        read_restricted = super::lineage_read("i.run_id", "NULL", "(c.restricted <> 0 OR (rc.sight IS NOT NULL AND c.widened > rc.sight))"),
        // Or whose chain a case event began that was written about a restricted case.
        started_restricted = super::lineage_started("i.run_id", "se.sight IS NOT NULL")
    )
});

/// Appends an entry; call it inside the transaction that makes the change it describes.
pub fn append(conn: &Connection, entry: &NewEntry<'_>) -> crate::store::sql::Result<()> {
    conn.lock_workspace(entry.workspace)?;
    // Nobody reads its count: on PostgreSQL it goes out with the next round trip.
    conn.execute_later(
        &APPEND,
        params![
            clock::now_unix(),
            entry.actor,
            entry.actor_kind,
            entry.workspace,
            entry.action,
            entry.target,
            entry.details.to_string()
        ],
    )
}

/// Characters of details one [`Page::After`] carries at most (past its first entry): a page
/// of 10,000 entries each holding a flow's 64 KiB form was over half a gigabyte a request
/// (HTTP review). A reader pages on as it does past a full page.
pub const MAX_PAGE_DETAIL_CHARS: i64 = 8 << 20;

/// Which entries of a log one read takes.
#[derive(Clone, Copy, Debug)]
pub enum Page {
    /// The newest this many.
    Newest(usize),
    /// The newest this many while their details stay within [`MAX_PAGE_DETAIL_CHARS`] (at
    /// least one): what one page shows (the web's 300 entries of up to 1 MiB each were read
    /// and parsed whole for each view; round 15 web review).
    Latest(usize),
    /// Those numbered after `after`, at most `limit` of them: a reader pages on with the
    /// last number it got.
    After { after: i64, limit: usize },
}

/// Entries of `workspace` at or after `since` (Unix seconds), the `page` of them, oldest
/// first; without `case_entries`, none about cases (`case.*`), none about an interaction of a
/// run that had read a restricted case when the entry was written (its answer, refusal or
/// timeout tells that the case exists and changed, and when: leak review; marked once, so
/// the numbers never shift under a reader), and the rest numbered among themselves, so the
/// numbers show no gap where a hidden entry was (SPEC CS-2).
pub fn entries(
    conn: &Connection,
    workspace: &str,
    since: i64,
    case_entries: bool,
    page: Page,
) -> crate::store::sql::Result<Vec<AuditEntry>> {
    let (newest, after, limit, budgeted) = match page {
        Page::Newest(limit) => (1, 0, limit, 0),
        Page::Latest(limit) => (1, 0, limit, 1),
        Page::After { after, limit } => (0, after, limit, 1),
    };
    // A page (what a reader pages through, or one view) holds its entries while the details
    // before each stay within the budget, so at least one. The budget is counted over narrow
    // rows (`octet_length` reads a value's size, not the value), and only the entries kept
    // are read whole: every candidate's details were read and sorted first, 640 MB for an
    // API page of 10,000 entries of 64 KiB (round 16 storage review).
    let mut stmt = conn.prepare(
        "SELECT kept.n, entry.at, entry.actor, entry.actor_kind, entry.workspace, entry.action,
                entry.target, entry.details, entry.id
         FROM (
           SELECT n, id FROM (
             SELECT page.*, SUM(len) OVER (
                      ORDER BY CASE WHEN ?5 = 1 THEN -id ELSE id END) AS running
             FROM (
               SELECT n, id, len FROM (
                 SELECT CASE WHEN ?3 = 1 THEN number ELSE shown END AS n, a.id, a.at, a.len
                 FROM (SELECT b.id, b.at, b.number, octet_length(b.details) AS len,
                              ROW_NUMBER() OVER (ORDER BY id) AS shown
                       FROM audit_log b
                       WHERE workspace = ?1 AND (?3 = 1 OR (substr(action, 1, 5) <> 'case.'
                         AND partial_hidden = 0))) AS a) AS readable
               WHERE at >= ?2 AND n > ?6
               ORDER BY CASE WHEN ?5 = 1 THEN -id ELSE id END LIMIT ?4) AS page) AS budgeted
           WHERE ?8 = 0 OR running - len < ?7) AS kept
         JOIN audit_log entry ON entry.id = kept.id
         ORDER BY entry.id",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(
        params![
            workspace,
            since,
            i64::from(case_entries),
            limit,
            newest,
            after,
            MAX_PAGE_DETAIL_CHARS,
            budgeted
        ],
        |r| {
            let details = super::json::column(r, 7, "audit_log.details")?;
            Ok(AuditEntry {
                id: r.get(0)?,
                at: clock::rfc3339(r.get(1)?),
                actor: r.get(2)?,
                actor_kind: r.get(3)?,
                workspace: r.get(4)?,
                action: r.get(5)?,
                target: r.get(6)?,
                details,
            })
        },
    )?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry's time is carried from the one before only across a small skew: one written
    /// by a host whose clock was a year fast stamped every later entry a year ahead (round 16
    /// storage and kill reviews); within the skew, times still do not go back.
    #[test]
    fn a_later_entry_takes_no_far_future_time_from_the_one_before() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = crate::store::Db::open(&dir.path().join("a.db")).expect("db");
        let conn = db.conn();
        let details = serde_json::json!({});
        let entry = NewEntry {
            actor: "user:a@b.test",
            actor_kind: "user",
            workspace: "ws",
            action: "case.create",
            target: "C-1",
            details: &details,
        };
        let now = clock::now_unix();
        // An entry as a host whose clock reads `at` appends it.
        let append_at = |at: i64| {
            conn.execute(
                &APPEND,
                params![
                    at,
                    entry.actor,
                    entry.actor_kind,
                    entry.workspace,
                    entry.action,
                    entry.target,
                    "{}"
                ],
            )
            .expect("append");
        };
        let last_at = || -> i64 {
            conn.query_row(
                "SELECT at FROM audit_log ORDER BY number DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .expect("at")
        };
        append_at(now + 365 * 24 * 3600);
        append(conn, &entry).expect("append");
        assert!(
            last_at() <= clock::now_unix(),
            "not a year ahead: {}",
            last_at()
        );
        append_at(now + 3600 * 24 * 365 * 2 + 2);
        append_at(now);
        assert!(last_at() < now + 10, "{}", last_at());
        // Within the skew (another host a moment ahead, a lock's wait), carried.
        append_at(now + 3);
        append_at(now);
        assert_eq!(last_at(), now + 3, "a lock's wait is carried");
    }

    /// A page after a number stops once its entries' details pass the budget (holding at
    /// least one), and the reader pages on from its last; the newest entries are not cut.
    #[test]
    fn a_page_after_a_number_holds_details_within_its_budget() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = crate::store::Db::open(&dir.path().join("a.db")).expect("db");
        let conn = db.conn();
        let big = serde_json::json!({ "v": "x".repeat(3 << 20) });
        for _ in 0..5 {
            append(
                conn,
                &NewEntry {
                    actor: "user:a@b.test",
                    actor_kind: "user",
                    workspace: "ws",
                    action: "interaction.start",
                    target: "flow",
                    details: &big,
                },
            )
            .expect("append");
        }
        let page = |after| {
            entries(conn, "ws", 0, true, Page::After { after, limit: 100 })
                .expect("page")
                .iter()
                .map(|e| e.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(page(0), [1, 2, 3], "about 9 MiB: the third passes 8");
        assert_eq!(page(3), [4, 5]);
        let newest = entries(conn, "ws", 0, true, Page::Newest(usize::MAX)).expect("all");
        assert_eq!(
            newest.len(),
            5,
            "the whole log, as `flowhost audit` reads it"
        );
        // One view of the newest holds as much as a page after a number: the newest three.
        let latest: Vec<i64> = entries(conn, "ws", 0, true, Page::Latest(300))
            .expect("latest")
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(latest, [3, 4, 5]);
    }
}
