//! The in-memory access index: every decision is answered from here, without a query.
//! It is loaded whole at start-up; after that each committed change replaces the entries of
//! the workspaces it touched (`AccessIndex::apply`, driven by `Platform`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::clock;
use crate::principal::{Email, Principal, SignIn};
use crate::store::access::{
    self as stored, AccessRows, CustomRoleRow, KeyRow, MembershipRow, SsoIdentityRow, WorkspaceRow,
};
use crate::store::{Connection, StoreError};
use crate::stored_value::UnreadableValue;

use super::decision::{AccessDecision, Reason};
use super::grants::{Grant, GrantTable};
use super::names::NameSet;
use super::role::RoleName;
use super::scope::{Scope, ScopeSet};
use super::shards::{Shards, shard_of};

/// How a membership came to be (SPEC ID-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Invited by an Owner (or declared in a tenant file).
    Invite,
    /// Provisioned by an SSO claim rule.
    Sso,
}

/// The latest SSO login outcome of an identity in a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SsoOutcome {
    /// A claim rule gave a workspace role.
    Member,
    /// A claim rule admitted the identity as external (SPEC ID-3).
    External,
    /// No rule matched (SPEC SSO-3, SSO-5).
    Denied,
}

/// A member's access in one workspace.
#[derive(Clone, Debug)]
pub struct Member {
    pub role: RoleName,
    /// The role's scopes, resolved when the index was built; `None` if the role is gone.
    pub scopes: Option<ScopeSet>,
    pub source: Source,
    /// The claim rule that produced an SSO membership.
    pub rule_rank: Option<u32>,
    pub break_glass: bool,
}

/// One workspace's access data.
#[derive(Clone, Debug, Default)]
pub struct WorkspaceAccess {
    pub id: i64,
    pub org: String,
    pub sso_only: bool,
    pub members: HashMap<String, Member>,
    pub custom_roles: HashMap<String, ScopeSet>,
    pub sso: HashMap<String, SsoOutcome>,
    /// The ids of its API keys.
    pub keys: Vec<String>,
}

impl WorkspaceAccess {
    /// The scopes of `role` here, if it exists.
    pub fn role_scopes(&self, role: &RoleName) -> Option<ScopeSet> {
        match role {
            RoleName::Builtin(b) => Some(b.scopes()),
            RoleName::Custom(name) => self.custom_roles.get(&**name).copied(),
        }
    }

    /// Members holding the built-in Owner role.
    pub fn owner_count(&self) -> usize {
        self.members.values().filter(|m| m.role.is_owner()).count()
    }
}

/// What kind of key, and what it acts as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Acts with its owner's current role (SPEC RB-4).
    Personal { owner: Email },
    /// Carries a role chosen by an Owner at creation.
    Service { role: RoleName },
}

/// An API key's access data.
#[derive(Clone, Debug)]
pub struct KeyAccess {
    pub workspace: String,
    pub kind: KeyKind,
    pub expires_at: Option<i64>,
    pub revoked: bool,
}

/// Every workspace and key, keyed for O(1) decisions.
///
/// Each table is split into copy-on-write parts (`shards.rs`): a clone shares every part,
/// and [`AccessIndex::apply`] replaces the entries of the workspaces an access change touched
/// by copying only the parts that hold them, so keeping the index current costs what changed,
/// not what is stored (issue 19).
#[derive(Clone, Debug, Default)]
pub struct AccessIndex {
    /// Per-workspace data for explanations and listings (not on the decision path).
    workspaces: Shards<HashMap<String, Arc<WorkspaceAccess>>>,
    /// Workspace id → name: which entries a change to a workspace (by id) replaces.
    names_by_id: Shards<HashMap<i64, String>>,
    keys: Shards<HashMap<String, KeyAccess>>,
    /// Decision path: which workspaces exist (asked only when a person holds nothing there).
    ws_names: Shards<NameSet>,
    /// Decision path: (workspace, email) → grant, and the role names grants refer to.
    grants: GrantTable,
    /// How many workspaces there are.
    count: usize,
}

/// One workspace parsed from its rows, ready to be put in the index.
struct Parsed {
    name: String,
    access: WorkspaceAccess,
    keys: Vec<(String, KeyAccess)>,
}

impl AccessIndex {
    /// Builds the index from the database (the rows as `store::access` reads them).
    pub fn load(conn: &Connection) -> Result<Self, StoreError> {
        let mut index = AccessIndex::default();
        index.apply(&[], stored::rows(conn)?)?;
        Ok(index)
    }

    /// Replaces the entries of the workspaces `ids` (and of any workspace in `rows`) with what
    /// `rows` hold: the rows of exactly those workspaces as stored now
    /// ([`stored::rows_of`]). A workspace in `ids` without rows is gone. Decisions afterwards
    /// are those of an index loaded whole from the same rows. On an unreadable row, nothing
    /// changes and the error names it.
    pub fn apply(&mut self, ids: &[i64], rows: AccessRows) -> Result<(), StoreError> {
        let parsed = parse(rows)?;
        for &id in ids {
            self.take_out(id);
        }
        for ws in &parsed {
            self.take_out(ws.access.id);
        }
        for ws in parsed {
            self.put(ws);
        }
        Ok(())
    }

    /// How many workspaces the index holds.
    pub fn workspace_count(&self) -> usize {
        self.count
    }

    /// Removes every entry of workspace `id`.
    fn take_out(&mut self, id: i64) {
        let Some(name) = self.names_by_id.get_mut(id_shard(id)).remove(&id) else {
            return;
        };
        let shard = shard_of(name.as_bytes());
        let Some(old) = self.workspaces.get_mut(shard).remove(&name) else {
            return;
        };
        for email in old.members.keys().chain(old.sso.keys()) {
            self.grants.remove(&name, email);
        }
        for key in &old.keys {
            self.keys.get_mut(shard_of(key.as_bytes())).remove(key);
        }
        self.ws_names.get_mut(shard).remove(&name);
        self.count -= 1;
    }

    /// Adds one workspace's entries (none of its own may be there: see `take_out`).
    fn put(&mut self, ws: Parsed) {
        let Parsed { name, access, keys } = ws;
        let shard = shard_of(name.as_bytes());
        self.ws_names.get_mut(shard).insert(&name);
        for email in access.members.keys().chain(access.sso.keys()) {
            let mut grant = Grant::default();
            if access.sso_only {
                grant.flags |= Grant::WS_SSO_ONLY;
            }
            let member = access.members.get(email);
            if let Some(m) = member {
                grant.flags |= Grant::MEMBER;
                match m.scopes {
                    Some(scopes) => grant.scopes = scopes,
                    None => grant.flags |= Grant::ROLE_GONE,
                }
                if m.break_glass {
                    grant.flags |= Grant::BREAK_GLASS;
                }
            }
            grant.flags |= match access.sso.get(email) {
                Some(SsoOutcome::Member) => Grant::SSO_MEMBER,
                // A member the IdP provisioned and now admits only as external is kept only
                // as the last Owner (SPEC UA-3), shut out as a denial shuts out (SSO-3, SSO-5),
                // as their login says: their personal keys and local sign-in kept the Owner's
                // power the IdP had taken (round 25 identity review).
                // Told so, not as a denial: their login said `external` (round 26 review of
                // round 25).
                Some(SsoOutcome::External) if member.is_some_and(|m| m.source == Source::Sso) => {
                    Grant::SSO_EXTERNAL_KEPT
                }
                Some(SsoOutcome::External) => Grant::SSO_EXTERNAL,
                Some(SsoOutcome::Denied) => Grant::SSO_DENIED,
                None => 0,
            };
            // Members with an SSO login come twice, with the same grant.
            self.grants
                .insert(&name, email, grant, member.map(|m| &m.role));
        }
        for (id, key) in keys {
            self.keys.get_mut(shard_of(id.as_bytes())).insert(id, key);
        }
        self.names_by_id
            .get_mut(id_shard(access.id))
            .insert(access.id, name.clone());
        self.workspaces
            .get_mut(shard)
            .insert(name, Arc::new(access));
        self.count += 1;
    }

    /// Whether workspace `name` exists.
    fn exists(&self, name: &str) -> bool {
        self.ws_names.get(shard_of(name.as_bytes())).contains(name)
    }

    /// Where `email` stands in `workspace`: their grant, nothing (`Ok(None)`), or no such
    /// workspace. The common case is one probe of the grant table.
    fn grant(&self, workspace: &str, email: &Email) -> Result<Option<Grant>, Reason> {
        match self.grants.get(workspace, email.as_str()) {
            Some(grant) => Ok(Some(grant)),
            None if self.exists(workspace) => Ok(None),
            None => Err(Reason::UnknownWorkspace(workspace.to_owned())),
        }
    }

    /// The workspace named `name`.
    pub fn workspace(&self, name: &str) -> Option<&WorkspaceAccess> {
        self.workspaces
            .get(shard_of(name.as_bytes()))
            .get(name)
            .map(|ws| &**ws)
    }

    /// The tenant whose share of a host's resources (instance slots, scheduler workers) the
    /// work of `workspace` counts towards: its organization, every workspace of it together,
    /// or the workspace itself if the index does not know it. Accounting, decides no access.
    pub fn tenant_of(&self, workspace: &str) -> String {
        self.workspace(workspace).map_or_else(
            || format!("workspace `{workspace}`"),
            |w| format!("organization `{}`", w.org),
        )
    }

    /// Every workspace name.
    pub fn workspace_names(&self) -> impl Iterator<Item = &str> {
        self.workspaces
            .iter()
            .flat_map(|part| part.keys().map(String::as_str))
    }

    /// The key `id`.
    pub fn key(&self, id: &str) -> Option<&KeyAccess> {
        self.keys.get(shard_of(id.as_bytes())).get(id)
    }

    /// Whether `reader` may learn member data of `workspace` where it shows in passing (which
    /// API keys exist, how a member signs in): who may list members and keys there
    /// (`user.read` and `user.write`, as `keys list`). Others are told a run's or a
    /// revision's principal without them (round 18 leak review, beside round 17's `run_as`
    /// refusals).
    pub fn tells_member_data(&self, reader: &Principal, workspace: &str) -> bool {
        self.check(reader, workspace, Scope::UserRead).allowed()
            && self.check(reader, workspace, Scope::UserWrite).allowed()
    }

    /// Does `principal` hold `scope` in `workspace`? (SPEC RB-3: default deny, with a reason.)
    pub fn check(&self, principal: &Principal, workspace: &str, scope: Scope) -> AccessDecision {
        let unknown = || AccessDecision::deny(Reason::UnknownWorkspace(workspace.to_owned()));
        match principal {
            Principal::User { email, via } => match self.grant(workspace, email) {
                Err(reason) => AccessDecision::deny(reason),
                Ok(grant) => match acting_grant(grant, *via, true) {
                    Ok(grant) => self.decide(grant, scope),
                    Err(why) => AccessDecision::deny(why.reason(email, workspace)),
                },
            },
            _ if !self.exists(workspace) => unknown(),
            Principal::Anonymous => AccessDecision::deny(Reason::Anonymous),
            Principal::ApiKey(id) => self.check_key(workspace, id, scope),
            // Both the run's identity and its publisher, now (SPEC WF-10).
            Principal::Run(run) => self.check_run(run, workspace, scope),
        }
    }

    /// Where `email` stands in `workspace` (see `grant`), for the other decision modules.
    pub(super) fn grant_of(&self, workspace: &str, email: &Email) -> Result<Option<Grant>, Reason> {
        self.grant(workspace, email)
    }

    /// The decision a member's grant gives for `scope`.
    pub(super) fn decide_grant(&self, grant: Grant, scope: Scope) -> AccessDecision {
        self.decide(grant, scope)
    }

    /// Where a person, signed in `via`, stands in `workspace`: the input of Interaction Flow
    /// decisions (SPEC IX-4, IX-5). The same rules as [`AccessIndex::check`] decide membership,
    /// so an SSO denial or an SSO-only refusal holds here too.
    pub fn standing(&self, workspace: &str, email: &Email, via: SignIn) -> Standing {
        let grant = match self.grant(workspace, email) {
            Ok(grant) => grant,
            Err(reason) => return Standing::Nothing(reason),
        };
        match acting_grant(grant, via, true) {
            Ok(grant) => {
                let role = self.grants.role(grant).clone();
                if grant.has(Grant::ROLE_GONE) {
                    Standing::Nothing(Reason::RoleGone(role))
                } else {
                    Standing::Member {
                        role,
                        scopes: grant.scopes,
                    }
                }
            }
            Err(NoMembership::External) => Standing::External(via),
            Err(why) => Standing::Nothing(why.reason(email, workspace)),
        }
    }

    /// The sign-in a person would use in `workspace`: SSO if their latest SSO login there
    /// made them a member, or admitted them as external while they are no member; else
    /// local. An invited member admitted as external keeps their invitation and signs in
    /// locally with it (`admin::sso`'s login; round 21 access review: a step was told they
    /// may not start a flow they start).
    pub fn usual_sign_in(&self, workspace: &str, email: &Email) -> SignIn {
        let grant = self
            .grants
            .get(workspace, email.as_str())
            .unwrap_or_default();
        if grant.has(Grant::SSO_MEMBER)
            || (grant.has(Grant::SSO_EXTERNAL) && !grant.has(Grant::MEMBER))
        {
            SignIn::Sso
        } else {
            SignIn::Local
        }
    }

    fn check_key(&self, workspace: &str, id: &str, scope: Scope) -> AccessDecision {
        match self.key_grant(workspace, id) {
            Ok((role, scopes, owner)) => grant_or_missing(role, scopes, scope, Some((id, owner))),
            Err(reason) => AccessDecision::deny(reason),
        }
    }

    /// The role (and its scopes) key `id` acts with in `workspace`, with its owner for a
    /// personal key; or why it acts with none.
    pub(super) fn key_grant(
        &self,
        workspace: &str,
        id: &str,
    ) -> Result<(RoleName, ScopeSet, Option<Email>), Reason> {
        let Some(key) = self.key(id) else {
            return Err(Reason::UnknownKey(id.to_owned()));
        };
        if key.workspace != workspace {
            return Err(Reason::KeyOtherWorkspace {
                key: id.to_owned(),
                workspace: workspace.to_owned(),
            });
        }
        if key.revoked {
            return Err(Reason::KeyRevoked(id.to_owned()));
        }
        if key.expires_at.is_some_and(|t| clock::now_unix() >= t) {
            return Err(Reason::KeyExpired(id.to_owned()));
        }
        match &key.kind {
            KeyKind::Service { role } => {
                let scopes = self
                    .workspace(workspace)
                    .and_then(|ws| ws.role_scopes(role));
                match scopes {
                    Some(scopes) => Ok((role.clone(), scopes, None)),
                    None => Err(Reason::RoleGone(role.clone())),
                }
            }
            KeyKind::Personal { owner } => {
                // The owner's *current* role; SSO-only applies to interactive sign-in, not keys.
                let grant = self.grants.get(workspace, owner.as_str());
                let Ok(grant) = acting_grant(grant, SignIn::Local, false) else {
                    return Err(Reason::KeyOwnerGone {
                        key: id.to_owned(),
                        owner: owner.clone(),
                    });
                };
                let role = self.grants.role(grant).clone();
                if grant.has(Grant::ROLE_GONE) {
                    return Err(Reason::RoleGone(role));
                }
                Ok((role, grant.scopes, Some(owner.clone())))
            }
        }
    }

    fn decide(&self, grant: Grant, scope: Scope) -> AccessDecision {
        let role = self.grants.role(grant).clone();
        if grant.has(Grant::ROLE_GONE) {
            return AccessDecision::deny(Reason::RoleGone(role));
        }
        grant_or_missing(role, grant.scopes, scope, None)
    }
}

/// Where a person stands in a workspace (see [`AccessIndex::standing`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// An acting member with this role and its scopes.
    Member { role: RoleName, scopes: ScopeSet },
    /// An external SSO identity (SPEC ID-3), presenting itself through this sign-in.
    External(SignIn),
    /// Neither: why not (not a member, denied by SSO, SSO-only, ...).
    Nothing(Reason),
}

/// Why a person has no acting membership, before names are attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NoMembership {
    SsoDenied,
    ExternalKept,
    External,
    NotMember,
    SsoOnly,
    NoSsoLogin,
}

impl NoMembership {
    pub(super) fn reason(self, email: &Email, workspace: &str) -> Reason {
        let (email, workspace) = (email.clone(), workspace.to_owned());
        match self {
            NoMembership::SsoDenied => Reason::SsoDenied { email, workspace },
            NoMembership::ExternalKept => Reason::ExternalKept { email, workspace },
            NoMembership::External => Reason::External { email, workspace },
            NoMembership::NotMember => Reason::NotMember { email, workspace },
            NoMembership::SsoOnly => Reason::SsoOnly { email, workspace },
            NoMembership::NoSsoLogin => Reason::NoSsoLogin { email, workspace },
        }
    }
}

/// The membership through which a person, signed in `via`, acts; or why there is none.
/// The order of the checks is the rule: an SSO denial beats everything (SPEC SSO-5), then
/// membership (ID-1), then the sign-in method (SSO-4, which keys and run identities are not
/// subject to, WF-10).
pub(super) fn acting_grant(
    grant: Option<Grant>,
    via: SignIn,
    sso_only_applies: bool,
) -> Result<Grant, NoMembership> {
    let grant = grant.unwrap_or_default();
    if grant.has(Grant::SSO_DENIED) {
        return Err(NoMembership::SsoDenied);
    }
    if grant.has(Grant::SSO_EXTERNAL_KEPT) {
        return Err(NoMembership::ExternalKept);
    }
    if !grant.has(Grant::MEMBER) {
        return Err(if grant.has(Grant::SSO_EXTERNAL) {
            NoMembership::External
        } else {
            NoMembership::NotMember
        });
    }
    match via {
        SignIn::Local
            if sso_only_applies
                && grant.has(Grant::WS_SSO_ONLY)
                && !grant.has(Grant::BREAK_GLASS) =>
        {
            Err(NoMembership::SsoOnly)
        }
        SignIn::Sso if !grant.has(Grant::SSO_MEMBER) => Err(NoMembership::NoSsoLogin),
        SignIn::Local | SignIn::Sso => Ok(grant),
    }
}

fn grant_or_missing(
    role: RoleName,
    scopes: ScopeSet,
    scope: Scope,
    key: Option<(&str, Option<Email>)>,
) -> AccessDecision {
    if !scopes.contains(scope) {
        return AccessDecision::deny(Reason::Missing { role, scope });
    }
    let reason = match key {
        None => Reason::Granted { role, scope },
        Some((key, owner)) => Reason::GrantedToKey {
            key: key.to_owned(),
            owner,
            role,
            scope,
        },
    };
    AccessDecision::Allowed(reason)
}

/// Parses the rows of some workspaces into their index entries (the one place rows become
/// access data: a full load and an incremental one read alike).
fn parse(rows: AccessRows) -> Result<Vec<Parsed>, StoreError> {
    let mut out: Vec<Parsed> = Vec::with_capacity(rows.workspaces.len());
    let mut by_id: HashMap<i64, usize> = HashMap::with_capacity(rows.workspaces.len());
    for row in rows.workspaces {
        let WorkspaceRow {
            id,
            name,
            org,
            sso_only,
        } = row;
        by_id.insert(id, out.len());
        let access = WorkspaceAccess {
            id,
            org,
            sso_only,
            ..WorkspaceAccess::default()
        };
        out.push(Parsed {
            name,
            access,
            keys: Vec::new(),
        });
    }

    for row in rows.custom_roles {
        let CustomRoleRow {
            workspace_id: ws_id,
            name,
            scopes,
        } = row;
        let scopes = ScopeSet::parse(scopes.split_whitespace()).map_err(|_| {
            let row = format!("workspace {ws_id}, role {name}");
            let unknown = scopes
                .split_whitespace()
                .find(|n| Scope::parse(n).is_none())
                .unwrap_or(&scopes);
            let expected = "scope names (SPEC RB-1)";
            UnreadableValue::new("custom_roles", "scopes", row, unknown, expected).into_sql(2)
        })?;
        if let Some(ws) = ws_mut(&mut out, &by_id, ws_id) {
            ws.custom_roles.insert(name, scopes);
        }
    }

    for row in rows.memberships {
        let MembershipRow {
            workspace_id: ws_id,
            email,
            role,
            source,
            rule_rank,
            break_glass,
        } = row;
        if let Some(ws) = ws_mut(&mut out, &by_id, ws_id) {
            let role = RoleName::parse(&role);
            let member = Member {
                scopes: ws.role_scopes(&role),
                role,
                source: match source.as_str() {
                    "sso" => Source::Sso,
                    "invite" => Source::Invite,
                    other => {
                        let row = format!("workspace {ws_id}, user {email}");
                        return Err(UnreadableValue::new(
                            "memberships",
                            "source",
                            row,
                            other,
                            "`invite` or `sso`",
                        )
                        .into_sql(3));
                    }
                },
                rule_rank,
                break_glass,
            };
            ws.members.insert(email, member);
        }
    }

    for row in rows.sso_identities {
        let SsoIdentityRow {
            workspace_id: ws_id,
            email,
            outcome,
        } = row;
        let outcome = match outcome.as_str() {
            "member" => SsoOutcome::Member,
            "external" => SsoOutcome::External,
            "denied" => SsoOutcome::Denied,
            other => {
                let row = format!("workspace {ws_id}, user {email}");
                return Err(UnreadableValue::new(
                    "sso_identities",
                    "outcome",
                    row,
                    other,
                    "`member`, `external` or `denied`",
                )
                .into_sql(2));
            }
        };
        if let Some(ws) = ws_mut(&mut out, &by_id, ws_id) {
            ws.sso.insert(email, outcome);
        }
    }

    for row in rows.keys {
        let KeyRow {
            id,
            ws_id,
            kind,
            owner,
            role,
            expires_at,
            revoked_at,
        } = row;
        let Some(&at) = by_id.get(&ws_id) else {
            continue;
        };
        let workspace = out[at].name.clone();
        let row = || format!("key {id}");
        let kind = match (kind.as_str(), owner, role) {
            ("personal", Some(owner), None) => match Email::parse(&owner) {
                Ok(owner) => KeyKind::Personal { owner },
                Err(_) => {
                    return Err(UnreadableValue::new(
                        "api_keys",
                        "owner_email",
                        row(),
                        &owner,
                        "an email",
                    )
                    .into_sql(3));
                }
            },
            ("service", None, Some(role)) => KeyKind::Service {
                role: RoleName::parse(&role),
            },
            (kind, owner, role) => {
                let found = format!(
                    "{kind} (owner {}, role {})",
                    owner.as_deref().unwrap_or("none"),
                    role.as_deref().unwrap_or("none")
                );
                return Err(UnreadableValue::new(
                    "api_keys",
                    "kind",
                    row(),
                    &found,
                    "a personal key with an owner or a service key with a role",
                )
                .into_sql(2));
            }
        };
        let key = KeyAccess {
            workspace,
            kind,
            expires_at,
            revoked: revoked_at.is_some(),
        };
        out[at].access.keys.push(id.clone());
        out[at].keys.push((id, key));
    }
    Ok(out)
}

fn ws_mut<'a>(
    out: &'a mut [Parsed],
    by_id: &HashMap<i64, usize>,
    id: i64,
) -> Option<&'a mut WorkspaceAccess> {
    by_id.get(&id).map(|&at| &mut out[at].access)
}

/// The part of the id → name table a workspace id belongs in.
fn id_shard(id: i64) -> usize {
    shard_of(&id.to_le_bytes())
}
