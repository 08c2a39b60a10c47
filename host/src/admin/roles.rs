//! Custom roles: named sets of scopes, per workspace (SPEC RB-2).

use serde_json::json;

use crate::Error;
use crate::access::{BuiltinRole, Scope, ScopeSet};
use crate::audit::{self, Actor};
use crate::platform::Platform;
use crate::principal::Principal;
use crate::store::Connection;

use super::{scopes_text, store, workspace_id};

pub(crate) use crate::access::is_role_name;

/// [`validate_role_name`] for a role about to be created: also one visible word, as
/// `owner\u{200b}` listed as `owner` (hostile-input review), and no `@`: an interaction's
/// access reads a name holding one as an email, so no interaction could name the role (round
/// 15 review). Only new names: a tenant file naming a role created before still applies.
pub(crate) fn validate_new_role_name(name: &str) -> Result<(), Error> {
    validate_role_name(name)?;
    if name.contains('@') {
        return Err(Error::Invalid(format!(
            "`{}` holds `@`: a role name holds none, as people are named by their emails",
            crate::text::clip(name)
        )));
    }
    if let Some(c) = crate::text::first_hidden(name) {
        return Err(Error::Invalid(format!(
            "`{}` holds U+{:04X}, an invisible character: a role name is what people read",
            crate::text::clip(name),
            u32::from(c)
        )));
    }
    Ok(())
}

/// Refuses a new role `name` in workspace `ws` beside another that differs from it only by
/// case (`Triage` beside `triage`: read as one on pages and in commands; hostile-input
/// review). Folded by ASCII in Rust, alike on both backends. Roles created before are left.
pub(crate) fn refuse_alike(conn: &Connection, ws: i64, name: &str) -> Result<(), Error> {
    match store::custom_role_names(conn, ws)?
        .into_iter()
        .find(|other| other != name && other.eq_ignore_ascii_case(name))
    {
        Some(other) => Err(Error::Invalid(format!(
            "`{}` differs from the role `{other}` only by case: give it a name of its own",
            crate::text::clip(name)
        ))),
        None => Ok(()),
    }
}

/// Checks a custom role name: non-empty, not a built-in name, no whitespace.
pub(crate) fn validate_role_name(name: &str) -> Result<(), Error> {
    if !is_role_name(name) {
        return Err(Error::Invalid(format!(
            "`{}` is not a role name (1-64 characters, no spaces or control characters)",
            crate::text::clip(name)
        )));
    }
    if BuiltinRole::parse(name).is_some() || name.eq_ignore_ascii_case("external") {
        return Err(Error::Invalid(format!("`{name}` is a reserved role name")));
    }
    Ok(())
}

impl Platform {
    /// Defines a custom role; only `user.write` holders may (SPEC RB-2).
    pub(crate) fn create_role(
        &self,
        actor: &Principal,
        workspace: &str,
        name: &str,
        scopes: &[String],
    ) -> Result<(), Error> {
        validate_new_role_name(name)?;
        let set = ScopeSet::parse(scopes.iter().map(String::as_str)).map_err(Error::Invalid)?;
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            // Which roles exist, spelt how, is `user.read`'s to know, as groups' are (round
            // 20 authority review: "already exists" and "differs only by case" told it).
            self.authorize(actor, workspace, Scope::UserRead)?;
            let ws = workspace_id(tx, workspace)?;
            self.within_power(actor, workspace, set, || {
                format!("define the role `{name}`")
            })?;
            refuse_alike(tx, ws, name)?;
            if !store::insert_custom_role(tx, ws, name, &scopes_text(set))? {
                return Err(Error::Conflict(format!(
                    "role `{name}` already exists in `{workspace}`"
                )));
            }
            audit::record(
                tx,
                &Actor::Principal(actor),
                workspace,
                "role.create",
                name,
                json!({ "scopes": set.names() }),
            )
        })
    }

    /// Deletes a custom role that no member or service key holds.
    pub(crate) fn delete_role(
        &self,
        actor: &Principal,
        workspace: &str,
        name: &str,
    ) -> Result<(), Error> {
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            // Whether it exists and is held is `user.read`'s to know, and a role one may not
            // see is not one's to delete, as for groups (round 20 authority review).
            self.authorize(actor, workspace, Scope::UserRead)?;
            let ws = workspace_id(tx, workspace)?;
            // Named in any case, as every door names a custom role (round 24 self-review).
            let stored = super::stored_role_name(tx, ws, name)?;
            let name = stored.as_deref().unwrap_or(name);
            // What it granted, as for defining it: a role an approval names, deleted and made
            // again within a people-admin's power, went to whom they chose (authority review).
            if let Some(scopes) = store::custom_role_scopes(tx, ws, name)? {
                let granted = super::stored_scopes(&scopes)?;
                self.within_power(actor, workspace, granted, || format!("delete the role `{name}`"))?;
            }
            let users = store::role_holders(tx, ws, name)?;
            if users > 0 {
                return Err(Error::Conflict(format!(
                    "role `{name}` is held by {users} member(s), key(s) or claim rule(s) in `{workspace}`; reassign them first"
                )));
            }
            if !store::delete_custom_role(tx, ws, name)? {
                return Err(Error::NotFound(format!("there is no custom role `{name}` in `{workspace}`")));
            }
            audit::record(tx, &Actor::Principal(actor), workspace, "role.delete", name, json!({}))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new role's name is one visible word: `owner` followed by a zero-width space read as
    /// the Owner role in listings (hostile-input review).
    #[test]
    fn a_new_role_name_holds_no_invisible_character() {
        assert!(validate_new_role_name("tier2").is_ok());
        for bad in ["owner\u{200b}", "tier\u{202e}2", "tier2\u{e0100}"] {
            let err = validate_new_role_name(bad).expect_err(bad);
            assert!(err.to_string().contains("invisible"), "{err}");
            assert!(
                validate_role_name(bad).is_ok(),
                "one created before still applies"
            );
        }
        assert!(
            is_role_name("owner\u{200b}"),
            "one stored before still reads"
        );
        let err = validate_new_role_name("soc@night").expect_err("an @");
        assert!(err.to_string().contains("holds `@`"), "{err}");
        assert!(
            validate_role_name("soc@night").is_ok(),
            "one created before"
        );
    }
}
