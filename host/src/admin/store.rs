//! The storage of administration: workspaces, users, memberships, custom roles, groups, API
//! keys, claim rules and SSO identities. The only module of `admin/` that speaks SQL; the
//! operations beside it decide (authorization, validation, UA-3) and call these. Every
//! function takes the caller's connection or transaction, so an operation stays one
//! transaction; storage errors come back as [`Error`] through [`internal`].

use crate::store::sql::{Connection, OptionalExtension, params};

use crate::Error;
use crate::clock;
use crate::platform::internal;
use crate::principal::Email;

use super::model::{ClaimRule, GroupInfo, GroupKind, KeyInfo, MemberInfo};

// Workspaces, users and memberships.

/// The id of workspace `name`, if it exists.
pub(crate) fn find_workspace(conn: &Connection, name: &str) -> Result<Option<i64>, Error> {
    conn.query_row("SELECT id FROM workspaces WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()
    .map_err(internal)
}

/// The id of the user with `email`, if any.
pub(crate) fn user_id(conn: &Connection, email: &Email) -> Result<Option<i64>, Error> {
    conn.query_row(
        "SELECT id FROM users WHERE email = ?1",
        [email.as_str()],
        |r| r.get(0),
    )
    .optional()
    .map_err(internal)
}

/// Stores a new user; returns its id.
pub(crate) fn insert_user(conn: &Connection, email: &Email) -> Result<i64, Error> {
    Ok(conn.query_row(
        "INSERT INTO users (email) VALUES (?1) RETURNING id",
        [email.as_str()],
        |r| r.get(0),
    )?)
}

/// The role and source (`invite` or `sso`) of a membership, as stored.
pub(crate) fn membership(
    conn: &Connection,
    ws: i64,
    user: i64,
) -> Result<Option<(String, String)>, Error> {
    conn.query_row(
        "SELECT role, source FROM memberships WHERE workspace_id = ?1 AND user_id = ?2",
        params![ws, user],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .map_err(internal)
}

/// Owners of `ws` other than user `except` who can act now: not denied by SSO (nor,
/// provisioned by it, admitted by it only as external), and able to sign in (see
/// `admin::other_usable_owners`, which owns the rule).
pub(crate) fn other_usable_owners(conn: &Connection, ws: i64, except: i64) -> Result<i64, Error> {
    conn.query_row(
        "SELECT count(*) FROM memberships m
         JOIN users u ON u.id = m.user_id
         JOIN workspaces w ON w.id = m.workspace_id
         LEFT JOIN sso_identities s ON s.workspace_id = m.workspace_id AND s.email = u.email
         WHERE m.workspace_id = ?1 AND m.role = 'owner' AND m.user_id != ?2
           AND (s.outcome IS NULL OR s.outcome != 'denied')
           AND NOT (coalesce(s.outcome, '') = 'external' AND m.source = 'sso')
           AND (w.sso_only = 0 OR m.break_glass = 1 OR s.outcome = 'member')",
        params![ws, except],
        |r| r.get(0),
    )
    .map_err(internal)
}

/// Whether an SSO login could admit someone to workspace `ws`: it trusts an IdP and has a
/// claim rule that gives a role (not `external`).
pub(crate) fn sso_could_admit(conn: &Connection, ws: i64) -> Result<bool, Error> {
    let trusts: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM idps WHERE workspace_id = ?1)",
            params![ws],
            |r| r.get(0),
        )
        .map_err(internal)?;
    Ok(trusts && rule_roles(conn, ws)?.iter().any(|role| role != "external"))
}

/// The roles of `ws`'s claim rules as a login reads them: trimmed in Rust, every kind of
/// whitespace, where SQL's `trim` takes spaces only (rules stored before roles were stored
/// trimmed held `"tier2\t"`: review). A workspace holds few rules.
fn rule_roles(conn: &Connection, ws: i64) -> Result<Vec<String>, Error> {
    let mut stmt = conn
        .prepare_cached("SELECT role FROM claim_rules WHERE workspace_id = ?1")
        .map_err(internal)?;
    let roles = stmt
        .query_map(params![ws], |r| r.get::<String>(0))
        .map_err(internal)?
        .map(|role| role.map(|r| r.trim().to_owned()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    Ok(roles)
}

/// Forgets what an IdP the workspace no longer trusts recorded of `email` (a denial above
/// all): no login of it could ever change it, so deleting or inviting the person again is
/// what lifts it (reviews). What a trusted IdP recorded stays: its next login decides again.
pub(crate) fn forget_untrusted_standing(
    conn: &Connection,
    ws: i64,
    email: &Email,
) -> Result<(), Error> {
    conn.execute(
        "DELETE FROM sso_identities WHERE workspace_id = ?1 AND email = ?2
           AND idp NOT IN (SELECT name FROM idps WHERE workspace_id = ?1)",
        params![ws, email.as_str()],
    )?;
    Ok(())
}

/// Whether an IdP `ws` trusts made `email` a member there by its claim rules, a standing its
/// next login decides again: an invitation of them takes them off the rules, which is SSO
/// configuration (round 30 authority review: a people-admin's `users delete` then `users
/// invite` did what `set-role` and a tenant file refuse them).
pub(crate) fn idp_made_member(conn: &Connection, ws: i64, email: &Email) -> Result<bool, Error> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sso_identities WHERE workspace_id = ?1 AND email = ?2
               AND outcome = 'member' AND idp IN (SELECT name FROM idps WHERE workspace_id = ?1)",
            params![ws, email.as_str()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Stores an invited membership.
pub(crate) fn insert_invited_member(
    conn: &Connection,
    ws: i64,
    user: i64,
    role: &str,
) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO memberships (workspace_id, user_id, role, source) VALUES (?1, ?2, ?3, 'invite')",
        params![ws, user, role],
    )?;
    widen_if_reading_now(conn, ws, user, None, role)
}

/// Stores a membership provisioned by an SSO login through the rule ranked `rank`.
pub(crate) fn insert_sso_member(
    conn: &Connection,
    ws: i64,
    user: i64,
    role: &str,
    rank: u32,
) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO memberships (workspace_id, user_id, role, source, rule_rank) VALUES (?1, ?2, ?3, 'sso', ?4)",
        params![ws, user, role, rank],
    )?;
    widen_if_reading_now(conn, ws, user, None, role)
}

/// Changes a member's role ([`widen_if_reading_now`]).
pub(crate) fn set_member_role(
    conn: &Connection,
    ws: i64,
    user: i64,
    role: &str,
) -> Result<(), Error> {
    let old = role_of(conn, ws, user)?;
    conn.execute(
        "UPDATE memberships SET role = ?3 WHERE workspace_id = ?1 AND user_id = ?2",
        params![ws, user, role],
    )?;
    widen_if_reading_now(conn, ws, user, old.as_deref(), role)
}

/// Changes an SSO member's role and the rule that gave it ([`widen_if_reading_now`]).
pub(crate) fn set_sso_member_role(
    conn: &Connection,
    ws: i64,
    user: i64,
    role: &str,
    rank: u32,
) -> Result<(), Error> {
    let old = role_of(conn, ws, user)?;
    conn.execute(
        "UPDATE memberships SET role = ?3, rule_rank = ?4 WHERE workspace_id = ?1 AND user_id = ?2",
        params![ws, user, role, rank],
    )?;
    widen_if_reading_now(conn, ws, user, old.as_deref(), role)
}

/// Deletes a membership with the person's group memberships and personal keys in the
/// workspace; returns (groups left, keys deleted).
pub(crate) fn delete_member(
    conn: &Connection,
    ws: i64,
    user: i64,
    email: &Email,
) -> Result<(usize, usize), Error> {
    let groups = conn.execute(
        "DELETE FROM group_members WHERE user_id = ?1
             AND group_id IN (SELECT id FROM groups WHERE workspace_id = ?2)",
        params![user, ws],
    )?;
    let keys = conn.execute(
        "DELETE FROM api_keys WHERE workspace_id = ?1 AND kind = 'personal' AND owner_email = ?2",
        params![ws, email.as_str()],
    )?;
    // A web session is the membership's: kept, it outlived the member's deletion and
    // worked again the moment the same email was invited anew, without the Owner's link
    // (leak review; SPEC UA-1, UA-2).
    conn.execute(
        "DELETE FROM web_sessions WHERE workspace_id = ?1 AND email = ?2",
        params![ws, email.as_str()],
    )?;
    forget_untrusted_standing(conn, ws, email)?;
    // So is a sign-in link not yet used: kept, a deletion and a re-invitation within its
    // quarter hour armed it again for whoever held it (web review).
    conn.execute(
        "DELETE FROM signin_links WHERE workspace_id = ?1 AND email = ?2 AND used_at IS NULL",
        params![ws, email.as_str()],
    )?;
    // And a used one no longer signs its browser in again (its minute of repeats; round 20
    // self-review).
    conn.execute(
        "UPDATE signin_links SET used_by = NULL WHERE workspace_id = ?1 AND email = ?2",
        params![ws, email.as_str()],
    )?;
    // What they vouched for as an issuer ends with them too: the sessions their links opened
    // and their links not yet used were only suspended, and worked again the moment the
    // same address was invited anew, within their hours (round 23 credentials review). The
    // issuer is stored as an actor's name: the email, or the email signed in through SSO.
    let sso_name = format!("{email} (sso)");
    conn.execute(
        "DELETE FROM web_sessions WHERE workspace_id = ?1 AND via = 'local'
         AND issued_by IN (?2, ?3)",
        params![ws, email.as_str(), sso_name],
    )?;
    conn.execute(
        "DELETE FROM signin_links WHERE workspace_id = ?1 AND used_at IS NULL
         AND issued_by IN (?2, ?3)",
        params![ws, email.as_str(), sso_name],
    )?;
    conn.execute(
        "DELETE FROM memberships WHERE workspace_id = ?1 AND user_id = ?2",
        params![ws, user],
    )?;
    Ok((groups, keys))
}

/// The members of `workspace`, by email.
pub(crate) fn members(conn: &Connection, workspace: &str) -> Result<Vec<MemberInfo>, Error> {
    crate::store::all_rows(
        conn,
        "SELECT u.email, m.role, m.source, m.break_glass FROM memberships m
             JOIN users u ON u.id = m.user_id JOIN workspaces w ON w.id = m.workspace_id
             WHERE w.name = ?1 ORDER BY u.email",
        [workspace],
        |r| {
            Ok(MemberInfo {
                email: r.get(0)?,
                role: r.get(1)?,
                source: r.get(2)?,
                break_glass: r.get(3)?,
            })
        },
    )
    .map_err(internal)
}

// Custom roles.

/// The role user `user` holds in `ws`, as stored, if a member.
pub(crate) fn role_of(conn: &Connection, ws: i64, user: i64) -> Result<Option<String>, Error> {
    conn.query_row(
        "SELECT role FROM memberships WHERE workspace_id = ?1 AND user_id = ?2",
        params![ws, user],
        |r| r.get(0),
    )
    .optional()
    .map_err(internal)
}

/// Whether role `role` (as stored) of `ws` grants `case.read`.
pub(crate) fn role_reads_cases(conn: &Connection, ws: i64, role: &str) -> Result<bool, Error> {
    use crate::access::{RoleName, Scope};
    Ok(match RoleName::parse(role) {
        RoleName::Builtin(b) => b.scopes().contains(Scope::CaseRead),
        RoleName::Custom(name) => match custom_role_scopes(conn, ws, &name)? {
            Some(text) => super::stored_scopes(&text)?.contains(Scope::CaseRead),
            None => false,
        },
    })
}

/// Widens to user `user` the restricted cases of `ws` naming them (`store::sight`) when their
/// role changing from `old` to `new` makes them read cases: only then do they come to see
/// those cases. A change that leaves them reading cases, or not, widens nothing: it hid every
/// earlier read of those cases from everyone without bypass, the case's own people too
/// (round 29 self-review).
pub(crate) fn widen_if_reading_now(
    conn: &Connection,
    ws: i64,
    user: i64,
    old: Option<&str>,
    new: &str,
) -> Result<(), Error> {
    let was = match old {
        Some(old) => role_reads_cases(conn, ws, old)?,
        None => false,
    };
    if !was && role_reads_cases(conn, ws, new)? {
        crate::store::sight::widen_to_user(conn, ws, user)?;
    }
    Ok(())
}

/// The scopes (as stored) of custom role `name` in `ws`, if it exists.
pub(crate) fn custom_role_scopes(
    conn: &Connection,
    ws: i64,
    name: &str,
) -> Result<Option<String>, Error> {
    conn.query_row(
        "SELECT scopes FROM custom_roles WHERE workspace_id = ?1 AND name = ?2",
        params![ws, name],
        |r| r.get(0),
    )
    .optional()
    .map_err(internal)
}

/// Stores a custom role unless one of that name exists; returns whether it was stored.
pub(crate) fn insert_custom_role(
    conn: &Connection,
    ws: i64,
    name: &str,
    scopes: &str,
) -> Result<bool, Error> {
    let inserted = conn.execute(
        "INSERT INTO custom_roles (workspace_id, name, scopes) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        params![ws, name, scopes],
    )?;
    Ok(inserted > 0)
}

/// The names of `ws`'s custom roles.
pub(crate) fn custom_role_names(conn: &Connection, ws: i64) -> Result<Vec<String>, Error> {
    crate::store::all_rows(
        conn,
        "SELECT name FROM custom_roles WHERE workspace_id = ?1 ORDER BY name",
        [ws],
        |r| r.get(0),
    )
    .map_err(internal)
}

/// How many members, live service keys and claim rules hold role `name` in `ws`. A rule's
/// role is compared trimmed, as it is read ([`rule_roles`]).
pub(crate) fn role_holders(conn: &Connection, ws: i64, name: &str) -> Result<i64, Error> {
    let held: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM memberships WHERE workspace_id = ?1 AND role = ?2)
              + (SELECT count(*) FROM api_keys WHERE workspace_id = ?1 AND role = ?2 AND revoked_at IS NULL)",
            params![ws, name],
            |r| r.get(0),
        )
        .map_err(internal)?;
    let rules = rule_roles(conn, ws)?.iter().filter(|r| *r == name).count();
    Ok(held.saturating_add(i64::try_from(rules).unwrap_or(i64::MAX)))
}

/// Whether a live service key or a claim rule holds role `name` in `ws`: what a role's
/// holder does then outlives whoever changes the role (SPEC RB-4, SSO-1).
pub(crate) fn role_held_by_key_or_rule(
    conn: &Connection,
    ws: i64,
    name: &str,
) -> Result<bool, Error> {
    let by_key: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM api_keys WHERE workspace_id = ?1 AND role = ?2 AND revoked_at IS NULL)",
            params![ws, name],
            |r| r.get(0),
        )
        .map_err(internal)?;
    Ok(by_key || rule_roles(conn, ws)?.iter().any(|r| r == name))
}

/// Deletes a custom role; returns whether there was one.
pub(crate) fn delete_custom_role(conn: &Connection, ws: i64, name: &str) -> Result<bool, Error> {
    let deleted = conn.execute(
        "DELETE FROM custom_roles WHERE workspace_id = ?1 AND name = ?2",
        params![ws, name],
    )?;
    Ok(deleted > 0)
}

// Groups.

/// (id, kind as stored) of group `name` in `ws`, if it exists.
pub(crate) fn find_group(
    conn: &Connection,
    ws: i64,
    name: &str,
) -> Result<Option<(i64, String)>, Error> {
    conn.query_row(
        "SELECT id, kind FROM groups WHERE workspace_id = ?1 AND name = ?2",
        params![ws, name],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .map_err(internal)
}

/// Whether workspace `ws` trusts at least one IdP.
pub(crate) fn has_idp(conn: &Connection, ws: i64) -> Result<bool, Error> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM idps WHERE workspace_id = ?1)",
        [ws],
        |r| r.get(0),
    )
    .map_err(internal)
}

/// A group of workspace `ws` whose name differs from `name` only by (ASCII) case, if any.
pub(crate) fn group_alike(conn: &Connection, ws: i64, name: &str) -> Result<Option<String>, Error> {
    conn.query_row(
        "SELECT name FROM groups WHERE workspace_id = ?1 AND lower(name) = ?2 AND name <> ?3 LIMIT 1",
        params![ws, name.to_ascii_lowercase(), name],
        |r| r.get(0),
    )
    .optional()
    .map_err(internal)
}

/// Stores a group unless one of that name exists; returns whether it was stored.
pub(crate) fn insert_group(
    conn: &Connection,
    ws: i64,
    name: &str,
    description: &str,
    kind: GroupKind,
    claim_value: Option<&str>,
) -> Result<bool, Error> {
    let inserted = conn
        .execute(
            "INSERT INTO groups (workspace_id, name, description, kind, claim_value) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            params![ws, name, description, kind.as_str(), claim_value],
        )?;
    Ok(inserted > 0)
}

/// Adds a user to a group; returns whether they were not in it yet.
pub(crate) fn join_group(conn: &Connection, group: i64, user: i64) -> Result<bool, Error> {
    let changed = conn.execute(
        "INSERT INTO group_members (group_id, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![group, user],
    )?;
    Ok(changed > 0)
}

/// Removes a user from a group; returns whether they were in it.
pub(crate) fn leave_group(conn: &Connection, group: i64, user: i64) -> Result<bool, Error> {
    let changed = conn.execute(
        "DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2",
        params![group, user],
    )?;
    Ok(changed > 0)
}

/// Deletes a group and (by cascade) its memberships.
pub(crate) fn delete_group(conn: &Connection, group: i64) -> Result<(), Error> {
    conn.execute("DELETE FROM groups WHERE id = ?1", [group])?;
    Ok(())
}

/// (id, name, claim value) of the dynamic groups of `ws`.
pub(crate) fn dynamic_groups(
    conn: &Connection,
    ws: i64,
) -> Result<Vec<(i64, String, String)>, Error> {
    crate::store::all_rows(
        conn,
        "SELECT id, name, claim_value FROM groups WHERE workspace_id = ?1 AND kind = 'dynamic' ORDER BY id",
        [ws],
        |r| {
            let (id, name): (i64, String) = (r.get(0)?, r.get(1)?);
            // A dynamic group is always stored with the IdP group it mirrors: none is an
            // error naming the group, never a claim value nobody sends.
            let claim_value = r.get::<Option<String>>(2)?.ok_or_else(|| {
                crate::stored_value::UnreadableValue::new(
                    "groups",
                    "claim_value",
                    format!("group {id} ({name})"),
                    "NULL",
                    "the IdP group a dynamic group mirrors",
                )
                .into_sql(2)
            })?;
            Ok((id, name, claim_value))
        },
    )
    .map_err(internal)
}

/// Every group of `workspace` with its members (emails, sorted).
pub(crate) fn groups_of(conn: &Connection, workspace: &str) -> Result<Vec<GroupInfo>, Error> {
    groups_with_members(conn, workspace).map_err(internal)
}

fn groups_with_members(
    conn: &Connection,
    workspace: &str,
) -> crate::store::sql::Result<Vec<GroupInfo>> {
    let mut stmt = conn.prepare(
        "SELECT g.id, g.name, g.description, g.kind, g.claim_value FROM groups g
         JOIN workspaces w ON w.id = g.workspace_id WHERE w.name = ?1 ORDER BY g.name",
    )?;
    let mut members = conn.prepare(
        "SELECT u.email FROM group_members gm JOIN users u ON u.id = gm.user_id WHERE gm.group_id = ?1 ORDER BY u.email",
    )?;
    let rows: Vec<(i64, String, String, String, Option<String>)> = stmt
        .query_map([workspace], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(id, name, description, kind, claim_value)| {
            let members = members
                .query_map([id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            // Never read a stored value back as a default: the schema's CHECK admits only
            // these two, so anything else is a damaged row and an error naming the column.
            let kind = GroupKind::parse(&kind).map_err(|e| {
                crate::store::sql::Error::FromSqlConversionFailure(
                    3,
                    crate::store::sql::types::Type::Text,
                    format!("stored groups.kind of group `{name}`: {e}").into(),
                )
            })?;
            Ok(GroupInfo {
                name,
                description,
                kind,
                claim_value,
                members,
            })
        })
        .collect()
}

// API keys.

/// A key row to store.
pub(crate) struct NewKeyRow<'a> {
    pub id: &'a str,
    pub ws: i64,
    pub name: &'a str,
    pub kind: &'a str,
    pub owner: Option<&'a str>,
    pub role: Option<&'a str>,
    pub secret_hash: &'a str,
    pub created_by: &'a str,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// Stores a key.
pub(crate) fn insert_key(conn: &Connection, key: &NewKeyRow<'_>) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO api_keys (id, workspace_id, name, kind, owner_email, role, secret_hash, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            key.id,
            key.ws,
            key.name,
            key.kind,
            key.owner,
            key.role,
            key.secret_hash,
            key.created_by,
            key.created_at,
            key.expires_at
        ],
    )?;
    Ok(())
}

/// Marks a key revoked at `at`; returns whether it was live.
pub(crate) fn revoke_key(conn: &Connection, id: &str, at: i64) -> Result<bool, Error> {
    let changed = conn.execute(
        "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, at],
    )?;
    Ok(changed > 0)
}

/// Keys of `workspace`: all of them when `all`, else those `owner` owns.
pub(crate) fn keys(
    conn: &Connection,
    workspace: &str,
    all: bool,
    owner: Option<&str>,
) -> Result<Vec<KeyInfo>, Error> {
    crate::store::all_rows(conn, "SELECT k.id, k.name, k.kind, k.owner_email, k.role, k.created_by, k.created_at, k.expires_at, k.revoked_at
             FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
             WHERE w.name = ?1 AND (?2 <> 0 OR k.owner_email = ?3) ORDER BY k.created_at, k.id", params![workspace, all, owner], |r| {
            Ok(KeyInfo {
                id: r.get(0)?,
                name: r.get(1)?,
                kind: r.get(2)?,
                owner: r.get(3)?,
                role: r.get(4)?,
                created_by: r.get(5)?,
                created_at: clock::rfc3339(r.get(6)?),
                expires_at: r.get::<Option<i64>>(7)?.map(clock::rfc3339),
                revoked: r.get::<Option<i64>>(8)?.is_some(),
            })
        }).map_err(internal)
}

/// The stored hash of key `id`'s secret, if the key exists.
pub(crate) fn key_secret_hash(conn: &Connection, id: &str) -> Result<Option<String>, Error> {
    conn.query_row(
        "SELECT secret_hash FROM api_keys WHERE id = ?1",
        [id],
        |r| r.get(0),
    )
    .optional()
    .map_err(internal)
}

/// Whether key `id` is neither revoked nor expired at `now` (Unix seconds), as the access
/// index reads it (`AccessIndex::key`); `false` for no such key.
pub(crate) fn key_live(conn: &Connection, id: &str, now: i64) -> Result<bool, Error> {
    conn.query_row(
        "SELECT revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)
         FROM api_keys WHERE id = ?1",
        params![id, now],
        |r| r.get::<bool>(0),
    )
    .optional()
    .map(|live| live.unwrap_or(false))
    .map_err(internal)
}

// SSO: settings, claim rules, identities.

/// Sets SSO-only sign-in of `ws`; returns whether it changed.
pub(crate) fn set_sso_only(conn: &Connection, ws: i64, on: bool) -> Result<bool, Error> {
    let changed = conn.execute(
        "UPDATE workspaces SET sso_only = ?2 WHERE id = ?1 AND sso_only != ?2",
        params![ws, on],
    )?;
    Ok(changed > 0)
}

/// (id, name) of the workspaces that trust IdP `idp`, by name.
pub(crate) fn workspaces_trusting(
    conn: &Connection,
    idp: &str,
) -> Result<Vec<(i64, String)>, Error> {
    crate::store::all_rows(conn, "SELECT w.id, w.name FROM idps i JOIN workspaces w ON w.id = i.workspace_id WHERE i.name = ?1 ORDER BY w.name", [idp], |r| Ok((r.get(0)?, r.get(1)?))).map_err(internal)
}

/// The claim rules of workspace `ws`, in rank order.
pub(crate) fn rules(conn: &Connection, ws: i64) -> Result<Vec<ClaimRule>, Error> {
    crate::store::all_rows(
        conn,
        "SELECT rank, claim, value, role FROM claim_rules WHERE workspace_id = ?1 ORDER BY rank",
        [ws],
        |r| {
            Ok(ClaimRule {
                rank: r.get(0)?,
                claim: r.get(1)?,
                value: r.get(2)?,
                role: r.get(3)?,
            })
        },
    )
    .map_err(internal)
}

/// Replaces the claim rules of `ws` with `rules`, ranked 1..n in their order.
pub(crate) fn store_rules(conn: &Connection, ws: i64, rules: &[ClaimRule]) -> Result<(), Error> {
    conn.execute("DELETE FROM claim_rules WHERE workspace_id = ?1", [ws])?;
    for (i, rule) in rules.iter().enumerate() {
        conn.execute(
            "INSERT INTO claim_rules (workspace_id, rank, claim, value, role) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![ws, i as i64 + 1, rule.claim, rule.value, rule.role],
        )?;
    }
    Ok(())
}

/// The outcome recorded for `email`'s last SSO login in `ws`, if any.
pub(crate) fn sso_outcome(
    conn: &Connection,
    ws: i64,
    email: &Email,
) -> Result<Option<String>, Error> {
    conn.query_row(
        "SELECT outcome FROM sso_identities WHERE workspace_id = ?1 AND email = ?2",
        params![ws, email.as_str()],
        |r| r.get(0),
    )
    .optional()
    .map_err(internal)
}

/// An SSO login to record beside the identity's membership.
pub(crate) struct SsoLogin<'a> {
    pub ws: i64,
    pub email: &'a Email,
    pub idp: &'a str,
    pub outcome: &'a str,
    pub rank: Option<u32>,
    pub claims: &'a serde_json::Value,
}

/// Records (or replaces) the outcome of `email`'s SSO login in a workspace, stamped now.
pub(crate) fn record_sso_login(conn: &Connection, login: &SsoLogin<'_>) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO sso_identities (workspace_id, email, idp, outcome, rule_rank, claims, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (workspace_id, email) DO UPDATE SET idp = ?3, outcome = ?4, rule_rank = ?5, claims = ?6, at = ?7",
        params![
            login.ws,
            login.email.as_str(),
            login.idp,
            login.outcome,
            login.rank,
            login.claims.to_string(),
            clock::now_unix()
        ],
    )?;
    Ok(())
}

// OIDC settings of trusted IdPs (`oidc.rs`).

/// Whether workspace `ws` trusts IdP `idp`.
pub(crate) fn trusts_idp(conn: &Connection, ws: i64, idp: &str) -> Result<bool, Error> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM idps WHERE workspace_id = ?1 AND name = ?2)",
        params![ws, idp],
        |r| r.get(0),
    )
    .map_err(internal)
}

/// Adds or replaces the OIDC settings of `new.idp` (already checked by `oidc.rs`).
pub(crate) fn set_oidc(
    conn: &Connection,
    ws: i64,
    new: &super::model::NewOidc,
    now: i64,
) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO idp_oidc (workspace_id, idp, issuer, client_id, client_secret, scopes,
                               groups_claim, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (workspace_id, idp) DO UPDATE SET issuer = excluded.issuer,
             client_id = excluded.client_id, client_secret = excluded.client_secret,
             scopes = excluded.scopes, groups_claim = excluded.groups_claim,
             updated_at = excluded.updated_at",
        params![
            ws,
            new.idp,
            new.issuer,
            new.client_id,
            new.client_secret,
            new.scopes,
            new.groups_claim,
            now
        ],
    )
    .map_err(internal)?;
    Ok(())
}

fn oidc_row(r: &crate::store::sql::Row<'_>) -> crate::store::sql::Result<super::model::OidcClient> {
    Ok(super::model::OidcClient {
        settings: super::model::OidcSettings {
            idp: r.get(0)?,
            issuer: r.get(1)?,
            client_id: r.get(2)?,
            scopes: r.get(4)?,
            groups_claim: r.get(5)?,
        },
        client_secret: r.get(3)?,
    })
}

/// The OIDC client of `idp` in `ws`, if it has settings (and is still trusted: the settings
/// go with the trust, by the foreign key).
pub(crate) fn oidc_client(
    conn: &Connection,
    ws: i64,
    idp: &str,
) -> Result<Option<super::model::OidcClient>, Error> {
    conn.query_row(
        "SELECT idp, issuer, client_id, client_secret, scopes, groups_claim FROM idp_oidc
         WHERE workspace_id = ?1 AND idp = ?2",
        params![ws, idp],
        oidc_row,
    )
    .optional()
    .map_err(internal)
}

/// The OIDC settings of every IdP of `ws`, by IdP name (without secrets).
pub(crate) fn oidc_settings(
    conn: &Connection,
    ws: i64,
) -> Result<Vec<super::model::OidcSettings>, Error> {
    crate::store::all_rows(
        conn,
        "SELECT idp, issuer, client_id, client_secret, scopes, groups_claim FROM idp_oidc
         WHERE workspace_id = ?1 ORDER BY idp",
        [ws],
        |r| oidc_row(r).map(|c| c.settings),
    )
    .map_err(internal)
}

/// Removes the OIDC settings of `idp`; whether there were any. The web sessions its sign-ins
/// opened end with them (web review): the settings are what those sessions were trusted on.
pub(crate) fn remove_oidc(conn: &Connection, ws: i64, idp: &str) -> Result<bool, Error> {
    let removed = conn
        .execute(
            "DELETE FROM idp_oidc WHERE workspace_id = ?1 AND idp = ?2",
            params![ws, idp],
        )
        .map_err(internal)?;
    if removed == 1 {
        end_idp_sessions(conn, ws, idp)?;
    }
    Ok(removed == 1)
}

/// What `signin_links.used_by` holds for a link SSO-only ended unused: no browser's hash
/// (those are hex); `signin` refuses it for what SSO-only refuses.
pub(crate) const SPENT_BY_SSO_ONLY: &str = "sso-only";

/// Ends the local sign-ins' web sessions and sign-in links in SSO-only workspace `ws` of
/// everyone but its break-glass members (SPEC SSO-4): they stopped working when SSO-only went
/// on, and worked again, with no new sign-in, if it went off within their lifetime (web
/// review; the links, round 24 credentials review).
pub(crate) fn end_local_sessions_under_sso_only(conn: &Connection, ws: i64) -> Result<(), Error> {
    // Sessions end; unused links are spent, marked as SSO-only's (refused as it refuses them,
    // whether it is still on or not).
    const LOCAL_SIGN_INS: &str =
        "AND EXISTS (SELECT 1 FROM workspaces w WHERE w.id = ?1 AND w.sso_only <> 0)
         AND email NOT IN (SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id
                           WHERE m.workspace_id = ?1 AND m.break_glass <> 0)";
    conn.execute(
        &format!(
            "DELETE FROM web_sessions WHERE workspace_id = ?1 AND via = 'local' {LOCAL_SIGN_INS}"
        ),
        params![ws],
    )
    .map_err(internal)?;
    conn.execute(
        &format!(
            "UPDATE signin_links SET used_at = ?2, used_by = ?3 \
             WHERE workspace_id = ?1 AND used_at IS NULL {LOCAL_SIGN_INS}"
        ),
        params![ws, clock::now_unix(), SPENT_BY_SSO_ONLY],
    )
    .map_err(internal)?;
    Ok(())
}

/// Ends the web sessions in workspace `ws` that logins through `idp` opened (each session
/// names its IdP: a person's identity names only their latest login's, which another IdP's
/// login replaces).
pub(crate) fn end_idp_sessions(conn: &Connection, ws: i64, idp: &str) -> Result<(), Error> {
    conn.execute(
        "DELETE FROM web_sessions WHERE workspace_id = ?1 AND via = 'sso' AND idp = ?2",
        params![ws, idp],
    )
    .map_err(internal)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace_with_group(kind: &str) -> crate::store::Db {
        let db = crate::store::Db::open_in_memory().expect("db");
        db.conn()
            .execute_batch(&format!(
                "INSERT INTO organizations (id, name) VALUES (1, 'acme');
                 INSERT INTO workspaces (id, org_id, name) VALUES (1, 1, 'soc');
                 PRAGMA ignore_check_constraints = ON;
                 INSERT INTO groups (workspace_id, name, kind) VALUES (1, 'tier1', '{kind}');
                 PRAGMA ignore_check_constraints = OFF;"
            ))
            .expect("seed");
        db
    }

    #[test]
    fn a_group_kind_the_schema_does_not_admit_is_an_error_naming_the_column() {
        let db = workspace_with_group("Dynamic ");
        let err = groups_of(db.conn(), "soc").expect_err("damaged kind");
        assert!(
            matches!(&err, Error::Internal(m) if m.contains("stored groups.kind of group `tier1`")),
            "{err:?}"
        );
        let db = workspace_with_group("dynamic");
        let groups = groups_of(db.conn(), "soc").expect("readable");
        assert_eq!(groups[0].kind, GroupKind::Dynamic);
    }
}
