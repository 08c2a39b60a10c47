//! Resolving an interaction's access settings when it opens: context references become emails
//! or role names (SPEC IX-3).

use serde_json::Value;

use crate::access::{FlowAccess, WorkspaceUsers};
use crate::definition::model::{AccessSpec, ExternalSso, UsersSpec};
use crate::definition::refs::Template;
use crate::principal::Email;

pub use crate::definition::model::MAX_ACCESS_ENTRIES;

/// The settings of `spec` with every context reference evaluated against `ctx`. Each reference
/// must give an array (even for one value) holding only emails or only role names; the error
/// names the reference.
pub fn resolve(spec: &AccessSpec, ctx: &Value) -> Result<FlowAccess, String> {
    resolve_with(spec, &|template| template.render(ctx))
}

/// [`resolve`], each reference rendered by `render` (a run's, which takes what a rendering
/// copies from the run's budget for renderings, SPEC ST-4).
pub fn resolve_with(
    spec: &AccessSpec,
    render: &dyn Fn(&Template) -> Result<Value, String>,
) -> Result<FlowAccess, String> {
    let workspace_users = match &spec.workspace_users {
        UsersSpec::All => WorkspaceUsers::All,
        UsersSpec::Selected {
            emails,
            roles,
            refs,
        } => {
            let mut emails = emails.clone();
            let mut roles = roles.clone();
            for (text, template) in refs {
                let value =
                    render(template).map_err(|e| format!("context reference `{text}`: {e}"))?;
                match classify(text, &value)? {
                    Listed::Emails(found) => emails.extend(found),
                    Listed::Roles(found) => roles.extend(found),
                }
                // What the references gather is bounded before repeats go, as one
                // reference's is: 22,000 references to one list of 1,000 emails gathered 22
                // million names (round 15 review). Where a definition is written, it names at
                // most `MAX_ACCESS_REFS` references; a stored one with more still opens.
                if emails.len().max(roles.len()) > MAX_ACCESS_ENTRIES * 16 {
                    emails.sort();
                    emails.dedup();
                    roles.sort();
                    roles.dedup();
                }
                if emails.len().max(roles.len()) > MAX_ACCESS_ENTRIES * 16 {
                    return Err(format!(
                        "the interaction's access names more than {MAX_ACCESS_ENTRIES} people or \
                         roles (SPEC ST-4)"
                    ));
                }
            }
            emails.sort();
            emails.dedup();
            roles.sort();
            roles.dedup();
            for (what, count) in [("people", emails.len()), ("roles", roles.len())] {
                if count > MAX_ACCESS_ENTRIES {
                    return Err(format!(
                        "the interaction's access names {count} {what}; at most {MAX_ACCESS_ENTRIES} (SPEC ST-4)"
                    ));
                }
            }
            WorkspaceUsers::Selected { emails, roles }
        }
    };
    // Written before the parser bounded it (a definition of 700,000 external emails was
    // stored, and parsed by every list and answer: hostile-input review), and stored with
    // each interaction once each (repeats were stored as written: round 15 review).
    let external_sso = match &spec.external_sso {
        ExternalSso::Selected { emails } => {
            let mut emails = emails.clone();
            emails.sort();
            emails.dedup();
            if emails.len() > MAX_ACCESS_ENTRIES {
                return Err(format!(
                    "the interaction's access names {} external SSO users; at most {MAX_ACCESS_ENTRIES} (SPEC ST-4)",
                    emails.len()
                ));
            }
            ExternalSso::Selected { emails }
        }
        other => other.clone(),
    };
    Ok(FlowAccess {
        workspace_users,
        external_sso,
    })
}

enum Listed {
    Emails(Vec<Email>),
    Roles(Vec<String>),
}

/// An array of only emails or only role names; anything else is an error naming `text`.
fn classify(text: &str, value: &Value) -> Result<Listed, String> {
    let Value::Array(items) = value else {
        return Err(format!(
            "context reference `{text}` must evaluate to an array, even for one value (SPEC IX-3); got {}",
            crate::text::clip(&value.to_string())
        ));
    };
    let mut emails = Vec::new();
    let mut roles = Vec::new();
    for item in items {
        let Some(s) = item.as_str().map(str::trim).filter(|s| !s.is_empty()) else {
            return Err(format!(
                "context reference `{text}` holds {}; expected only emails or only role names (SPEC IX-3)",
                crate::text::clip(&item.to_string())
            ));
        };
        if s.contains('@') {
            emails.push(Email::parse(s).map_err(|e| format!("context reference `{text}`: {e}"))?);
        } else {
            roles.push(role_name(text, s)?);
        }
        // Checked as they come, so a reference to a million names stops early rather than
        // after all of them are parsed; repeats count once against the bound itself (below).
        if emails.len().max(roles.len()) > MAX_ACCESS_ENTRIES * 16 {
            return Err(format!(
                "context reference `{text}` names more than {MAX_ACCESS_ENTRIES} people or roles (SPEC ST-4)"
            ));
        }
    }
    emails.sort();
    emails.dedup();
    roles.sort();
    roles.dedup();
    if emails.len().max(roles.len()) > MAX_ACCESS_ENTRIES {
        return Err(format!(
            "context reference `{text}` names more than {MAX_ACCESS_ENTRIES} people or roles (SPEC ST-4)"
        ));
    }
    match (emails.is_empty(), roles.is_empty()) {
        (false, false) => Err(format!(
            "context reference `{text}` mixes emails and role names; each array holds only one kind (SPEC IX-3)"
        )),
        (_, true) => Ok(Listed::Emails(emails)),
        (true, false) => Ok(Listed::Roles(roles)),
    }
}

/// A role name as roles are named (1–64 characters, no whitespace, control or hidden
/// characters: a written role's rule, which a zero-width character from a case field escaped
/// here, granting nobody, silently: round 16 hostile-input review); the error names the
/// reference and quotes the value clipped.
fn role_name(text: &str, s: &str) -> Result<String, String> {
    if !crate::admin::roles::is_role_name(s) || crate::text::first_hidden(s).is_some() {
        return Err(format!(
            "context reference `{text}` holds `{}`, which is neither an email nor a role name (1-64 characters, no spaces or control characters)",
            crate::text::clip(s)
        ));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::refs::Template;
    use serde_json::json;

    fn spec(refs: &[&str]) -> AccessSpec {
        AccessSpec {
            workspace_users: UsersSpec::Selected {
                emails: vec![],
                roles: vec!["owner".into()],
                refs: refs
                    .iter()
                    .map(|r| {
                        let t = Template::compile(&json!(r)).expect("reference");
                        ((*r).to_owned(), t)
                    })
                    .collect(),
            },
            external_sso: Default::default(),
        }
    }

    #[test]
    fn references_add_emails_and_roles() {
        let ctx = json!({ "steps": { "oncall": { "emails": ["B@x.test", "a@x.test"] }, "r": { "roles": ["operator"] } } });
        let access =
            resolve(&spec(&["$.steps.oncall.emails", "$.steps.r.roles"]), &ctx).expect("resolves");
        assert_eq!(
            access.workspace_users,
            WorkspaceUsers::Selected {
                emails: vec![
                    Email::parse("a@x.test").expect("email"),
                    Email::parse("b@x.test").expect("email")
                ],
                roles: vec!["operator".into(), "owner".into()],
            }
        );
    }

    #[test]
    fn a_non_array_or_mixed_array_is_an_error_naming_the_reference() {
        for (ctx, needle) in [
            (
                json!({ "steps": { "o": { "e": "a@x.test" } } }),
                "must evaluate to an array",
            ),
            (
                json!({ "steps": { "o": { "e": ["a@x.test", "operator"] } } }),
                "mixes emails and role names",
            ),
            (json!({ "steps": { "o": { "e": [1] } } }), "holds 1"),
            (json!({ "steps": {} }), "`$.steps.o.e`"),
        ] {
            let err = resolve(&spec(&["$.steps.o.e"]), &ctx).expect_err(needle);
            assert!(
                err.contains("`$.steps.o.e`") && err.contains(needle),
                "{err}"
            );
        }
    }

    /// Resolved settings are bounded as stored (SPEC ST-4): a role must read as a role name,
    /// a reference names at most [`MAX_ACCESS_ENTRIES`], and repeated roles count once.
    #[test]
    fn resolved_settings_are_bounded_and_roles_are_names() {
        let many: Vec<String> = (0..=MAX_ACCESS_ENTRIES).map(|i| format!("r{i}")).collect();
        let huge = "x".repeat(100_000);
        for (ctx, needle) in [
            (json!({ "steps": { "o": { "e": many } } }), "more than 1000"),
            (
                json!({ "steps": { "o": { "e": [huge] } } }),
                "neither an email nor a role name",
            ),
            (
                json!({ "steps": { "o": { "e": ["two words"] } } }),
                "neither an email",
            ),
            // A hidden character, which a written role may not hold (round 16).
            (
                json!({ "steps": { "o": { "e": ["triage\u{200b}"] } } }),
                "neither an email",
            ),
        ] {
            let err = resolve(&spec(&["$.steps.o.e"]), &ctx).expect_err(needle);
            assert!(
                err.contains("`$.steps.o.e`") && err.contains(needle),
                "{err}"
            );
            assert!(
                err.len() < 1_000,
                "the value is clipped: {} bytes",
                err.len()
            );
        }
        let repeated = vec!["operator"; MAX_ACCESS_ENTRIES + 1];
        let ctx = json!({ "steps": { "o": { "e": repeated } } });
        resolve(&spec(&["$.steps.o.e"]), &ctx).expect("repeats count once");
        let ctx = json!({ "steps": { "o": { "e": ["operator", "operator", "owner"] } } });
        let access = resolve(&spec(&["$.steps.o.e"]), &ctx).expect("resolves");
        assert_eq!(
            access.workspace_users,
            WorkspaceUsers::Selected {
                emails: vec![],
                roles: vec!["operator".into(), "owner".into()],
            }
        );
    }
}
