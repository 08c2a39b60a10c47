//! The audit log (SPEC AU): append-only entries that outlive what they name.

use crate::Error;
use crate::access::Scope;
use crate::platform::{Platform, internal};
use crate::principal::Principal;
use crate::store::audit::{self as log, NewEntry};
use crate::store::{Connection, Transaction};

pub use crate::store::audit::AuditEntry;

/// Who made a change.
#[derive(Clone, Debug)]
pub enum Actor<'a> {
    /// A principal acting through the CLI or a step.
    Principal(&'a Principal),
    /// The local console applying a tenant file without `--as`.
    Console,
    /// An identity presented by an IdP at login.
    Sso(&'a str),
}

impl Actor<'_> {
    fn name_and_kind(&self) -> (String, &'static str) {
        match self {
            Actor::Principal(Principal::User { email, .. }) => (email.to_string(), "user"),
            Actor::Principal(Principal::ApiKey(id)) => (id.clone(), "api_key"),
            Actor::Principal(Principal::Anonymous) => ("anonymous".into(), "anonymous"),
            // The identity the run acted as; the run and its publisher go in the details.
            Actor::Principal(Principal::Run(run)) => {
                let (name, _) = Actor::Principal(&run.identity).name_and_kind();
                (name, "workflow_run")
            }
            Actor::Console => ("console".into(), "console"),
            Actor::Sso(email) => ((*email).to_owned(), "sso"),
        }
    }
}

/// Appends an entry inside the transaction that makes the change it describes.
pub fn record(
    tx: &Transaction<'_>,
    actor: &Actor<'_>,
    workspace: &str,
    action: &str,
    target: &str,
    details: serde_json::Value,
) -> Result<(), Error> {
    let (name, kind) = actor.name_and_kind();
    let details = with_run(actor, details);
    log::append(
        tx,
        &NewEntry {
            actor: &name,
            actor_kind: kind,
            workspace,
            action,
            target,
            details: &details,
        },
    )?;
    Ok(())
}

/// An entry a run writes names the run and its publisher, not only the identity it ran as
/// (SPEC AU-1, WF-10): `details.run = { id, as, published_by }`.
fn with_run(actor: &Actor<'_>, details: serde_json::Value) -> serde_json::Value {
    let Actor::Principal(Principal::Run(run)) = actor else {
        return details;
    };
    let about = serde_json::json!({
        "id": run.run,
        "as": run.identity.to_string(),
        "published_by": run.publisher.to_string(),
    });
    with_detail(details, "run", about)
}

/// `details` with `key` set to `value`: inserted into an object, else beside the value.
pub(crate) fn with_detail(
    details: serde_json::Value,
    key: &str,
    value: serde_json::Value,
) -> serde_json::Value {
    match details {
        serde_json::Value::Object(mut o) => {
            o.insert(key.into(), value);
            serde_json::Value::Object(o)
        }
        serde_json::Value::Null => serde_json::json!({ key: value }),
        other => serde_json::json!({ "value": other, key: value }),
    }
}

/// Entries of `workspace` at or after `since` (Unix seconds), the `page` of them, oldest
/// first (see [`log::entries`] for `case_entries`).
pub fn entries(
    conn: &Connection,
    workspace: &str,
    since: i64,
    case_entries: bool,
    page: log::Page,
) -> Result<Vec<AuditEntry>, Error> {
    log::entries(conn, workspace, since, case_entries, page).map_err(internal)
}

/// What an answer's values (or a refused answer's reason, which quotes them) read as in the
/// audit log to a reader who does not see every case.
pub const HIDDEN: &str = "hidden: only holders of bypass.case.access.restriction see what an \
     answer said in the audit log (SPEC CS-2)";

impl Platform {
    /// The `page` of `workspace`'s audit log since `since`; needs `audit.read` (SPEC AU-1).
    pub(crate) fn audit_log(
        &self,
        principal: &Principal,
        workspace: &str,
        since: i64,
        page: log::Page,
    ) -> Result<Vec<AuditEntry>, Error> {
        self.authorize(principal, workspace, Scope::AuditRead)?;
        // An empty page is the end of the log to a reader paging on: asked for, it is
        // refused, not answered as if nothing followed (round 17 web review).
        if matches!(
            page,
            log::Page::After { limit: 0, .. } | log::Page::Newest(0) | log::Page::Latest(0)
        ) {
            return Err(Error::Invalid(
                "`limit` is 0: a page of the audit log holds at least one entry".to_owned(),
            ));
        }
        // Case entries name cases and collaborators; a reader who cannot see every case does
        // not get them, nor count them in the numbers (SPEC CS-2).
        // Seeing every case takes reading cases at all too (SPEC CS-4).
        let all_cases = self
            .check(principal, workspace, Scope::BypassCaseAccessRestriction)
            .allowed()
            && self.check(principal, workspace, Scope::CaseRead).allowed();
        let mut shown = entries(self.db()?.conn(), workspace, since, all_cases, page)?;
        if !all_cases {
            // An answer's values can quote what its interaction showed, a restricted case
            // among it (a title, a verdict on it): kept from whoever does not see every case,
            // as the case entries are (leak review).
            // A refused answer's reason quotes what was entered ("expects a number, got …").
            for entry in &mut shown {
                let quoting: &[&str] = match entry.action.as_str() {
                    a if a.starts_with("interaction.") && a.ends_with(".invalid") => {
                        &["values", "reason"]
                    }
                    a if a.starts_with("interaction.") => &["values"],
                    _ => &[],
                };
                if let Some(details) = entry.details.as_object_mut() {
                    for key in quoting {
                        if details.contains_key(*key) {
                            details.insert((*key).into(), serde_json::Value::String(HIDDEN.into()));
                        }
                    }
                }
            }
        }
        Ok(shown)
    }
}
