//! A reference model of the access rules (SPEC ID, RB, SSO, UA), and generators of tenants and
//! operations for the differential tests in `access_properties.rs`.
//!
//! The model is written from the SPEC, not from the engine: plain maps, plain strings, no
//! bitmasks, no index. It is meant to be obviously right and is allowed to be slow. Where the
//! engine and the model disagree, one of them misreads the SPEC.

use std::collections::{BTreeMap, BTreeSet};

use flowhost::tenant::{MemberSpec, RoleSpec, RuleSpec, TenantSpec, WorkspaceSpec};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Built-in roles, written out literally (SPEC RB-1) so the model shares no table with the engine.

pub const VIEWER: &[&str] = &[
    "playbook.get",
    "playbook.list",
    "event.read",
    "integration.read",
    "case.read",
    "interaction.submit",
];

pub const OPERATOR: &[&str] = &[
    "playbook.get",
    "playbook.list",
    "event.read",
    "integration.read",
    "case.read",
    "interaction.submit",
    "playbook.execute",
    "apikey.read",
    "apikey.write",
    "case.write",
];

pub const CREATOR: &[&str] = &[
    "playbook.get",
    "playbook.list",
    "event.read",
    "integration.read",
    "case.read",
    "interaction.submit",
    "playbook.execute",
    "apikey.read",
    "apikey.write",
    "case.write",
    "playbook.write",
    "integration.write",
    "user.read",
    "secret.write",
    "interaction.write",
];

pub const CONTRIBUTOR: &[&str] = &[
    "playbook.get",
    "playbook.list",
    "event.read",
    "integration.read",
    "case.read",
    "interaction.submit",
    "playbook.execute",
    "apikey.read",
    "apikey.write",
    "case.write",
    "playbook.write",
    "integration.write",
    "user.read",
    "secret.write",
    "interaction.write",
    "playbook.publish",
];

pub const OWNER: &[&str] = &[
    "playbook.get",
    "playbook.list",
    "event.read",
    "integration.read",
    "case.read",
    "interaction.submit",
    "playbook.execute",
    "apikey.read",
    "apikey.write",
    "case.write",
    "playbook.write",
    "integration.write",
    "user.read",
    "secret.write",
    "interaction.write",
    "playbook.publish",
    "user.write",
    "support.write",
    "audit.read",
    "bypass.case.access.restriction",
    "resource.share",
];

pub const INTERACT_ONLY: &[&str] = &["interaction.submit"];

/// Every scope of the catalogue: the Owner holds them all (SPEC RB-1).
pub const CATALOGUE: &[&str] = OWNER;

/// The built-in role names (SPEC RB-1).
pub const BUILTINS: [&str; 6] = [
    "viewer",
    "operator",
    "creator",
    "contributor",
    "owner",
    "interact-only",
];

/// The claim-rule role that admits an external SSO identity rather than a member (SPEC SSO-2).
pub const EXTERNAL: &str = "external";

/// The scopes of a built-in role, or `None` for any other name.
pub fn builtin_scopes(role: &str) -> Option<&'static [&'static str]> {
    match role {
        "viewer" => Some(VIEWER),
        "operator" => Some(OPERATOR),
        "creator" => Some(CREATOR),
        "contributor" => Some(CONTRIBUTOR),
        "owner" => Some(OWNER),
        "interact-only" => Some(INTERACT_ONLY),
        _ => None,
    }
}

/// Emails are identities and compare case-insensitively (SPEC ID-2).
pub fn norm(email: &str) -> String {
    email.trim().to_lowercase()
}

// ---------------------------------------------------------------------------------------------
// The model's state.

/// What the latest SSO login of a person did in a workspace (SPEC SSO-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Member,
    External,
    Denied,
}

impl Outcome {
    /// The name the engine reports in `LoginResult::outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Member => "member",
            Outcome::External => "external",
            Outcome::Denied => "denied",
        }
    }
}

/// A claim as presented by an IdP: a string, or a list of strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimValue {
    One(String),
    Many(Vec<String>),
}

/// The claims of one SSO login, `email` included.
pub type Claims = BTreeMap<String, ClaimValue>;

#[derive(Clone, Debug)]
struct Member {
    role: String,
    break_glass: bool,
    /// Invited (tenant file, `users invite`) rather than provisioned by an SSO claim rule. An
    /// SSO login never changes an invitation; it records its outcome beside it (issue 13.5).
    invited: bool,
}

#[derive(Clone, Debug)]
struct Workspace {
    sso_only: bool,
    idps: BTreeSet<String>,
    /// SPEC RB-2: a custom role exists only in the workspace that declares it.
    custom_roles: BTreeMap<String, BTreeSet<String>>,
    /// Keyed by normalized email; one role per person per workspace (SPEC ID-2).
    members: BTreeMap<String, Member>,
    /// In rank order (SPEC SSO-2).
    rules: Vec<RuleSpec>,
    /// The latest SSO outcome per normalized email (SPEC SSO-3, SSO-5).
    latest_sso: BTreeMap<String, Outcome>,
}

impl Workspace {
    fn role_exists(&self, role: &str) -> bool {
        builtin_scopes(role).is_some() || self.custom_roles.contains_key(role)
    }

    fn role_holds(&self, role: &str, scope: &str) -> Option<bool> {
        match builtin_scopes(role) {
            Some(scopes) => Some(scopes.contains(&scope)),
            None => self.custom_roles.get(role).map(|s| s.contains(scope)),
        }
    }

    /// An Owner who can act now: not SSO-denied (SPEC SSO-5) and able to sign in, locally
    /// unless SSO-only (break-glass excepted) or through an SSO login as a member (SSO-4).
    fn usable_owner(&self, email: &str, m: &Member) -> bool {
        m.role == "owner"
            && !self.sso_denied(email)
            && (!self.sso_only
                || m.break_glass
                || self.latest_sso.get(email) == Some(&Outcome::Member))
    }

    /// SPEC UA-3: an Owner whose role nobody else who can act as an Owner would keep; Owners
    /// denied by SSO or unable to sign in do not count.
    fn is_last_owner(&self, email: &str) -> bool {
        self.members.get(email).is_some_and(|m| m.role == "owner")
            && !self
                .members
                .iter()
                .any(|(e, m)| e != email && self.usable_owner(e, m))
    }

    /// Shut out by SSO (SPEC SSO-5): denied, or provisioned by SSO and now admitted by it only
    /// as external (kept as the last Owner, SPEC UA-3, SSO-3).
    fn sso_denied(&self, email: &str) -> bool {
        match self.latest_sso.get(email) {
            Some(Outcome::Denied) => true,
            Some(Outcome::External) => self.members.get(email).is_some_and(|m| !m.invited),
            _ => false,
        }
    }
}

#[derive(Clone, Debug)]
enum KeyKind {
    Personal { owner: String },
    Service { role: String },
}

#[derive(Clone, Debug)]
struct Key {
    workspace: String,
    kind: KeyKind,
    revoked: bool,
    expired: bool,
}

/// Who acts, in the model's own terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    Anonymous,
    /// Email sign-in (SPEC SSO-4).
    Local(String),
    /// Sign-in through the workspace's IdP (SPEC SSO-4).
    Sso(String),
    /// An API key by id (SPEC RB-4).
    Key(String),
}

/// What the model expects of one check, and why (shown when the engine disagrees).
#[derive(Clone, Debug)]
pub struct Expect {
    pub allowed: bool,
    pub why: String,
}

fn deny(why: impl Into<String>) -> Expect {
    Expect {
        allowed: false,
        why: why.into(),
    }
}

/// The whole access state: workspaces and keys.
#[derive(Clone, Debug, Default)]
pub struct Model {
    workspaces: BTreeMap<String, Workspace>,
    keys: BTreeMap<String, Key>,
}

/// What one SSO login did in one workspace: the outcome, and the role held afterwards.
pub type LoginEffect = (Outcome, Option<String>);

impl Model {
    /// The state right after applying `spec` to an empty store.
    pub fn from_spec(spec: &TenantSpec) -> Model {
        let mut model = Model::default();
        for ws in &spec.workspaces {
            let workspace = Workspace {
                sso_only: ws.sso_only,
                idps: ws.idps.iter().cloned().collect(),
                custom_roles: ws
                    .custom_roles
                    .iter()
                    .map(|r| (r.name.clone(), r.scopes.iter().cloned().collect()))
                    .collect(),
                members: ws
                    .members
                    .iter()
                    .map(|m| {
                        let member = Member {
                            role: m.role.clone(),
                            break_glass: m.break_glass,
                            invited: true,
                        };
                        (norm(&m.email), member)
                    })
                    .collect(),
                rules: ws.claim_rules.clone(),
                latest_sso: BTreeMap::new(),
            };
            model.workspaces.insert(ws.name.clone(), workspace);
        }
        model
    }

    /// Does `who` hold `scope` in workspace `ws`? Default deny (SPEC RB-3).
    pub fn check(&self, who: &Who, ws: &str, scope: &str) -> Expect {
        let Some(w) = self.workspaces.get(ws) else {
            return deny(format!("no workspace `{ws}`"));
        };
        let role = match who {
            Who::Anonymous => return deny("anonymous"),
            Who::Local(raw) => {
                let email = norm(raw);
                // SPEC ID-1: access only through a membership here.
                let Some(m) = w.members.get(&email) else {
                    return deny(format!("{email} is not a member"));
                };
                // SPEC SSO-5: a denied SSO login shuts the person out, whatever the membership.
                if w.sso_denied(&email) {
                    return deny(format!("{email}'s latest SSO login here was denied"));
                }
                // SPEC SSO-4: SSO-only refuses local sign-in except to break-glass members.
                if w.sso_only && !m.break_glass {
                    return deny("SSO-only workspace, local sign-in, not break-glass");
                }
                m.role.clone()
            }
            Who::Sso(raw) => {
                let email = norm(raw);
                // SPEC SSO-4: acting via SSO needs a latest SSO outcome of "member".
                match w.latest_sso.get(&email) {
                    Some(Outcome::Member) => {}
                    other => {
                        return deny(format!(
                            "{email}'s latest SSO outcome here is {:?}, not member",
                            other.map(|o| o.as_str())
                        ));
                    }
                }
                let Some(m) = w.members.get(&email) else {
                    return deny(format!("{email} is not a member (any more)"));
                };
                m.role.clone()
            }
            Who::Key(id) => {
                let Some(key) = self.keys.get(id) else {
                    return deny(format!("no key `{id}`"));
                };
                // SPEC RB-4 / ID-1: a key works in its own workspace only, until revoked or expired.
                if key.workspace != ws {
                    return deny(format!("key belongs to `{}`", key.workspace));
                }
                if key.revoked {
                    return deny("key revoked");
                }
                if key.expired {
                    return deny("key expired");
                }
                match &key.kind {
                    KeyKind::Service { role } => role.clone(),
                    // SPEC RB-4: the owner's CURRENT role; SSO-only does not apply to keys.
                    KeyKind::Personal { owner } => {
                        if w.sso_denied(owner) {
                            return deny(format!("key owner {owner} is SSO-denied here"));
                        }
                        match w.members.get(owner) {
                            Some(m) => m.role.clone(),
                            None => return deny(format!("key owner {owner} is not a member")),
                        }
                    }
                }
            }
        };
        match w.role_holds(&role, scope) {
            Some(true) => Expect {
                allowed: true,
                why: format!("role `{role}` holds `{scope}`"),
            },
            Some(false) => deny(format!("role `{role}` lacks `{scope}`")),
            None => deny(format!("role `{role}` does not exist here")),
        }
    }

    /// A workflow run acting as `identity` on behalf of `publisher` (SPEC WF-10): allowed only
    /// if both hold `scope` in `ws` now. Neither is a sign-in: SSO-only does not apply to
    /// them, an SSO denial does (SPEC SSO-5).
    pub fn check_run(&self, identity: &Who, publisher: &Who, ws: &str, scope: &str) -> Expect {
        for (side, who) in [("identity", identity), ("publisher", publisher)] {
            let e = self.check_acting(who, ws, scope);
            if !e.allowed {
                return deny(format!("the run's {side}: {}", e.why));
            }
        }
        Expect {
            allowed: true,
            why: format!("identity and publisher both hold `{scope}`"),
        }
    }

    /// A check for someone acting without signing in: a person by membership alone.
    fn check_acting(&self, who: &Who, ws: &str, scope: &str) -> Expect {
        let (Who::Local(raw) | Who::Sso(raw)) = who else {
            return self.check(who, ws, scope);
        };
        let Some(w) = self.workspaces.get(ws) else {
            return deny(format!("no workspace `{ws}`"));
        };
        let email = norm(raw);
        let Some(m) = w.members.get(&email) else {
            return deny(format!("{email} is not a member"));
        };
        if w.sso_denied(&email) {
            return deny(format!("{email}'s latest SSO login here was denied"));
        }
        match w.role_holds(&m.role, scope) {
            Some(true) => Expect {
                allowed: true,
                why: format!("role `{}` holds `{scope}`", m.role),
            },
            Some(false) => deny(format!("role `{}` lacks `{scope}`", m.role)),
            None => deny(format!("role `{}` does not exist here", m.role)),
        }
    }

    /// The person behind `who`: a person, or a personal key's owner.
    fn person(&self, who: &Who) -> Option<String> {
        match who {
            Who::Local(e) | Who::Sso(e) => Some(norm(e)),
            Who::Key(id) => match self.keys.get(id).map(|k| &k.kind) {
                Some(KeyKind::Personal { owner }) => Some(owner.clone()),
                _ => None,
            },
            Who::Anonymous => None,
        }
    }

    /// The scopes `who` holds in `ws`.
    fn held(&self, who: &Who, ws: &str) -> BTreeSet<&'static str> {
        OWNER
            .iter()
            .copied()
            .filter(|s| self.check(who, ws, s).allowed)
            .collect()
    }

    /// May `publisher` publish in `ws` a workflow whose runs act as `run_as`? (SPEC WF-10:
    /// the publisher themselves, a service key of `ws` whose role grants nothing the publisher
    /// lacks, or anyone when the publisher holds every scope, as an Owner does.)
    pub fn may_bind(&self, publisher: &Who, ws: &str, run_as: &Who) -> bool {
        let person = self.person(publisher);
        if person.is_some() && person == self.person(run_as) {
            return true;
        }
        let mine = self.held(publisher, ws);
        if mine.len() == OWNER.len() {
            return true;
        }
        let Who::Key(id) = run_as else {
            return false;
        };
        let Some(key) = self.keys.get(id) else {
            return false;
        };
        let KeyKind::Service { role } = &key.kind else {
            return false;
        };
        let usable = key.workspace == ws
            && !key.revoked
            && !key.expired
            && self.workspaces.get(ws).is_some_and(|w| w.role_exists(role));
        usable && self.held(run_as, ws).is_subset(&mine)
    }

    /// The current members of `ws` (normalized emails).
    pub fn members(&self, ws: &str) -> Vec<String> {
        self.workspaces
            .get(ws)
            .map(|w| w.members.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The keys of `ws` that exist (deleted ones do not, SPEC UA-2), with whether revoked.
    pub fn keys_in(&self, ws: &str) -> BTreeMap<String, bool> {
        self.keys
            .iter()
            .filter(|(_, k)| k.workspace == ws)
            .map(|(id, k)| (id.clone(), k.revoked))
            .collect()
    }

    fn holds(&self, who: &Who, ws: &str, scope: &str) -> bool {
        self.check(who, ws, scope).allowed
    }

    /// SPEC UA-1, RB-2 (no one grants more than they hold): every scope of `role` in `ws`
    /// is one `who` holds there.
    fn within_power(&self, who: &Who, ws: &str, role: &str) -> bool {
        let Some(w) = self.workspaces.get(ws) else {
            return false;
        };
        OWNER
            .iter()
            .filter(|s| w.role_holds(role, s) == Some(true))
            .all(|s| self.holds(who, ws, s))
    }

    /// Whether `who` acts as member `email` (themself, or through their personal key) and
    /// lacks a scope: their own role is the Owner's to change or end (SPEC UA-1; a role's
    /// name selects approvers, IX-3).
    fn on_themself_without_every_scope(&self, who: &Who, ws: &str, email: &str) -> bool {
        self.person_of(who).as_deref() == Some(email)
            && !OWNER.iter().all(|s| self.holds(who, ws, s))
    }

    /// The person `who` acts as: themself, or a personal key's owner.
    fn person_of(&self, who: &Who) -> Option<String> {
        match who {
            Who::Local(e) | Who::Sso(e) => Some(norm(e)),
            Who::Key(id) => match self.keys.get(id).map(|k| &k.kind) {
                Some(KeyKind::Personal { owner }) => Some(norm(owner)),
                _ => None,
            },
            Who::Anonymous => None,
        }
    }

    /// The role member `email` holds in `ws`, if a member.
    fn role_of(&self, ws: &str, email: &str) -> Option<String> {
        self.workspaces
            .get(ws)?
            .members
            .get(email)
            .map(|m| m.role.clone())
    }

    /// An SSO login through `idp` (SPEC SSO-2..5). `None`: no workspace trusts the IdP.
    pub fn sso_login(
        &mut self,
        idp: &str,
        claims: &Claims,
    ) -> Option<BTreeMap<String, LoginEffect>> {
        let email = match claims.get("email") {
            Some(ClaimValue::One(e)) => norm(e),
            _ => return None,
        };
        let mut effects = BTreeMap::new();
        for (name, w) in &mut self.workspaces {
            if !w.idps.contains(idp) {
                continue;
            }
            // SPEC SSO-2: rules in rank order, first match wins.
            let matched = w
                .rules
                .iter()
                .find(|r| claim_matches(claims, &r.claim, &r.value))
                .map(|r| r.role.clone());
            let outcome = match matched {
                Some(role) if role != EXTERNAL => {
                    // An invitation stays as it is (issue 13.5); an SSO membership is created
                    // if new, its role replaced if not (SPEC SSO-3). SPEC UA-3: never demote
                    // the last owner who can act.
                    let invited = w.members.get(&email).is_some_and(|m| m.invited);
                    let kept = invited || (w.is_last_owner(&email) && role != "owner");
                    if !kept {
                        w.members.insert(
                            email.clone(),
                            Member {
                                role,
                                break_glass: false,
                                invited: false,
                            },
                        );
                    }
                    Outcome::Member
                }
                other => {
                    // External identities and unmatched logins hold no SSO membership (SPEC
                    // ID-3, SSO-3), except that the last owner who can act is never removed
                    // (SPEC UA-3); an invitation stays, shut out by the denial (SSO-5, issue
                    // 13.5). Losing the membership this way is a removal like SPEC UA-2's: the
                    // person's personal keys here go too, and do not come back with a later
                    // login (project decision, commit 78a7304: one removal for all paths).
                    let invited = w.members.get(&email).is_some_and(|m| m.invited);
                    if !invited && !w.is_last_owner(&email) && w.members.remove(&email).is_some() {
                        remove_personal_keys(&mut self.keys, name, &email);
                    }
                    if other.is_some() {
                        Outcome::External
                    } else {
                        Outcome::Denied
                    }
                }
            };
            w.latest_sso.insert(email.clone(), outcome);
            let role = w.members.get(&email).map(|m| m.role.clone());
            effects.insert(name.clone(), (outcome, role));
        }
        if effects.is_empty() {
            None
        } else {
            Some(effects)
        }
    }

    /// Creating a key (SPEC RB-4); `id` is the engine's id for it. Whether it should succeed.
    pub fn create_key(
        &mut self,
        actor: &Who,
        ws: &str,
        service_role: Option<&str>,
        expires_in: Option<i64>,
        id: &str,
    ) -> bool {
        let kind = match service_role {
            // A personal key belongs to the person creating it, who needs apikey.write.
            None => {
                let email = match actor {
                    Who::Local(e) | Who::Sso(e) => norm(e),
                    _ => return false,
                };
                if !self.holds(actor, ws, "apikey.write") {
                    return false;
                }
                KeyKind::Personal { owner: email }
            }
            // A service key's role is an Owner's choice (every scope, SPEC RB-4), and must
            // exist here (RB-2).
            Some(role) => {
                if !self.holds(actor, ws, "user.write")
                    || !OWNER.iter().all(|s| self.holds(actor, ws, s))
                    || !self.workspaces[ws].role_exists(role)
                    || !self.within_power(actor, ws, role)
                {
                    return false;
                }
                KeyKind::Service {
                    role: role.to_owned(),
                }
            }
        };
        let key = Key {
            workspace: ws.to_owned(),
            kind,
            revoked: false,
            // Keys are checked right after the operations: a negative lifetime is already over.
            expired: expires_in.is_some_and(|s| s < 0),
        };
        self.keys.insert(id.to_owned(), key);
        true
    }

    /// Revoking a key: its owner (with apikey.write) or an Owner (user.write) may.
    pub fn revoke_key(&mut self, actor: &Who, ws: &str, id: &str) -> bool {
        let Some(key) = self.keys.get(id).filter(|k| k.workspace == ws) else {
            return false;
        };
        // One's own key, through one's own other key too.
        let own = match &key.kind {
            KeyKind::Personal { owner } => self.person_of(actor).as_deref() == Some(owner.as_str()),
            KeyKind::Service { .. } => false,
        };
        // Another's key: only one within the revoker's power (its owner's role, or the
        // service key's role; SPEC UA-1, no one beyond their power).
        let within = match &key.kind {
            KeyKind::Personal { owner } => self
                .role_of(ws, owner)
                .is_none_or(|role| self.within_power(actor, ws, &role)),
            KeyKind::Service { role } => self.within_power(actor, ws, role),
        };
        // As the engine decides it: one's own key by `apikey.write` alone, whatever else one
        // holds (with `user.write` but not `apikey.write`, the model allowed what the engine
        // refuses; authority review).
        let may = if own {
            self.holds(actor, ws, "apikey.write")
        } else {
            // Another's key only by who may list keys: `user.read` too (round 19).
            self.holds(actor, ws, "user.write") && self.holds(actor, ws, "user.read") && within
        };
        if may {
            self.keys.get_mut(id).expect("found above").revoked = true;
        }
        may
    }

    /// Deleting a user (SPEC UA-2, UA-3): membership and personal keys there go.
    /// Who is a member is told only to who may read members (round 18): `user.read` too.
    pub fn delete_user(&mut self, actor: &Who, ws: &str, raw_email: &str) -> bool {
        if !self.holds(actor, ws, "user.write") || !self.holds(actor, ws, "user.read") {
            return false;
        }
        let email = norm(raw_email);
        if self
            .role_of(ws, &email)
            .is_some_and(|role| !self.within_power(actor, ws, &role))
            || (self.role_of(ws, &email).is_some()
                && self.on_themself_without_every_scope(actor, ws, &email))
        {
            return false;
        }
        let w = self
            .workspaces
            .get_mut(ws)
            .expect("user.write implies the workspace");
        if !w.members.contains_key(&email) || w.is_last_owner(&email) {
            return false;
        }
        w.members.remove(&email);
        remove_personal_keys(&mut self.keys, ws, &email);
        true
    }

    /// Changing a member's role (SPEC UA-1, UA-3).
    /// `user.read` too, as for a deletion (round 18).
    pub fn set_user_role(&mut self, actor: &Who, ws: &str, raw_email: &str, role: &str) -> bool {
        if !self.holds(actor, ws, "user.write") || !self.holds(actor, ws, "user.read") {
            return false;
        }
        let email = norm(raw_email);
        let w = self
            .workspaces
            .get_mut(ws)
            .expect("user.write implies the workspace");
        if !w.role_exists(role) {
            return false;
        }
        let Some((old, invited)) = w.members.get(&email).map(|m| (m.role.clone(), m.invited))
        else {
            return false;
        };
        if old == role {
            return true;
        }
        if !self.within_power(actor, ws, &old)
            || !self.within_power(actor, ws, role)
            || self.on_themself_without_every_scope(actor, ws, &email)
        {
            return false;
        }
        let w = self
            .workspaces
            .get_mut(ws)
            .expect("user.write implies the workspace");
        if w.is_last_owner(&email) {
            return false;
        }
        // A member the claim rules provisioned has the role they give (round 23).
        if !invited {
            return false;
        }
        w.members.get_mut(&email).expect("member").role = role.to_owned();
        true
    }
}

/// Removing a member removes their personal keys in that workspace (SPEC UA-2).
fn remove_personal_keys(keys: &mut BTreeMap<String, Key>, ws: &str, email: &str) {
    keys.retain(|_, k| {
        !(k.workspace == ws && matches!(&k.kind, KeyKind::Personal { owner } if owner == email))
    });
}

/// SPEC SSO-2: the claim is that string, or a list containing it. Values compare trimmed;
/// values that are emails compare as emails do, case-insensitively (SPEC ID-2).
fn claim_matches(claims: &Claims, claim: &str, value: &str) -> bool {
    let same = |claimed: &str| {
        let (rule, claimed) = (value.trim(), claimed.trim());
        if rule.contains('@') && claimed.contains('@') {
            norm(rule) == norm(claimed)
        } else {
            rule == claimed
        }
    };
    match claims.get(claim.trim()) {
        Some(ClaimValue::One(s)) => same(s),
        Some(ClaimValue::Many(items)) => items.iter().any(|i| same(i)),
        None => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Generators. Small vocabularies, so that people, IdPs, role names and claim values collide.

/// The people: each may be in several workspaces with different roles.
pub const POOL: [&str; 4] = [
    "alice@acme.test",
    "bob@acme.test",
    "carol@acme.test",
    "dave@acme.test",
];
/// Nobody's member: must be denied everywhere unless an SSO login admits them.
pub const STRANGER: &str = "mallory@elsewhere.test";
/// The IdPs workspaces may trust, plus one nobody trusts (logins through it fail).
pub const IDPS: [&str; 3] = ["okta", "entra", "ghost-idp"];
/// Custom role names, reused across workspaces with different scopes (SPEC RB-2).
pub const CUSTOM_NAMES: [&str; 3] = ["analyst", "responder", "auditor"];
pub const CLAIM_NAMES: [&str; 2] = ["groups", "dept"];
pub const CLAIM_VALUES: [&str; 3] = ["soc", "it", "eng"];
/// A workspace no tenant declares.
pub const NOWHERE: &str = "nowhere";
/// A key id the engine never issued.
pub const UNKNOWN_KEY: &str = "00000000deadbeef";

/// The person `i` of the pool, or the stranger past its end.
pub fn person(i: usize) -> &'static str {
    POOL.get(i).copied().unwrap_or(STRANGER)
}

/// Writes `email` in one of three casings: emails compare case-insensitively (SPEC ID-2).
pub fn recase(email: &str, casing: u8) -> String {
    match casing % 3 {
        0 => email.to_owned(),
        1 => email.to_uppercase(),
        _ => {
            let mut chars = email.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

fn workspace(index: usize) -> impl Strategy<Value = WorkspaceSpec> {
    let member = (0..9usize, prop::bool::weighted(0.4), 0..3u8);
    (
        prop::bool::weighted(0.4),
        prop::array::uniform2(prop::bool::weighted(0.7)),
        prop::collection::vec((0..3usize, any::<u32>()), 0..=2),
        prop::array::uniform4(prop::option::weighted(0.7, member)),
        0..4usize,
        prop::collection::vec((0..2usize, 0..3usize, 0..16usize), 0..=4),
    )
        .prop_map(
            move |(sso_only, trusts, customs, members, owner_fix, rules)| {
                let mut custom_roles: Vec<RoleSpec> = Vec::new();
                for (name, mask) in customs {
                    let name = CUSTOM_NAMES[name];
                    if custom_roles.iter().any(|r| r.name == name) {
                        continue;
                    }
                    let scopes = CATALOGUE
                        .iter()
                        .enumerate()
                        .filter(|(bit, _)| mask & (1 << bit) != 0)
                        .map(|(_, s)| (*s).to_owned())
                        .collect();
                    custom_roles.push(RoleSpec {
                        name: name.to_owned(),
                        scopes,
                    });
                }
                let roles: Vec<String> = BUILTINS
                    .iter()
                    .map(|r| (*r).to_owned())
                    .chain(custom_roles.iter().map(|r| r.name.clone()))
                    .collect();
                let mut members: Vec<MemberSpec> = members
                    .iter()
                    .enumerate()
                    .filter_map(|(i, m)| {
                        m.map(|(role, break_glass, casing)| MemberSpec {
                            email: recase(POOL[i], casing),
                            role: roles[role % roles.len()].clone(),
                            break_glass,
                            sso: false,
                        })
                    })
                    .collect();
                // Validation wants an owner in every workspace (SPEC UA-3).
                if !members.iter().any(|m| m.role == "owner") {
                    if members.is_empty() {
                        members.push(MemberSpec {
                            email: POOL[owner_fix].to_owned(),
                            role: "owner".into(),
                            break_glass: false,
                            sso: false,
                        });
                    } else {
                        let at = owner_fix % members.len();
                        members[at].role = "owner".into();
                    }
                }
                let claim_rules = rules
                    .into_iter()
                    .map(|(claim, value, role)| RuleSpec {
                        claim: CLAIM_NAMES[claim].into(),
                        value: CLAIM_VALUES[value].into(),
                        // One rule in four admits external identities.
                        role: if role < 12 {
                            roles[role % roles.len()].clone()
                        } else {
                            EXTERNAL.into()
                        },
                    })
                    .collect::<Vec<RuleSpec>>();
                let idps: Vec<String> = IDPS[..2]
                    .iter()
                    .zip(trusts)
                    .filter(|(_, t)| *t)
                    .map(|(i, _)| (*i).to_owned())
                    .collect();
                // Under SSO-only, validation wants a way in for an Owner (SPEC UA-3), for a
                // new workspace too: a break-glass Owner, or an IdP with a rule giving a role.
                let sso_admits = !idps.is_empty() && claim_rules.iter().any(|r| r.role != EXTERNAL);
                if sso_only
                    && !sso_admits
                    && !members.iter().any(|m| m.role == "owner" && m.break_glass)
                    && let Some(owner) = members.iter_mut().find(|m| m.role == "owner")
                {
                    owner.break_glass = true;
                }
                WorkspaceSpec {
                    name: format!("ws{index}"),
                    sso_only,
                    idps,
                    custom_roles,
                    members,
                    groups: vec![],
                    claim_rules,
                }
            },
        )
}

/// One organization with 1-4 workspaces over the shared pool of people.
pub fn tenant() -> impl Strategy<Value = TenantSpec> {
    (1..=4usize)
        .prop_flat_map(|n| (0..n).map(workspace).collect::<Vec<_>>())
        .prop_map(|workspaces| TenantSpec {
            organization: "prop-org".into(),
            workspaces,
        })
}

/// Who performs an administrative operation, as picks resolved against the state at the time.
#[derive(Clone, Debug)]
pub enum ActorPick {
    /// The i-th member the tenant file lists in the target workspace (most operations need
    /// someone with a role there), among its owners only if `owner`; signed in locally or via
    /// SSO.
    Member {
        i: usize,
        owner: bool,
        sso: bool,
    },
    /// The i-th principal that, by the model, holds the scope the operation needs: most
    /// random actors are refused, and a successful operation is what changes the state.
    Able(usize),
    Local(usize),
    Sso(usize),
    Key(usize),
}

/// An operation as generated: indices, resolved by [`resolve`] when it is applied.
#[derive(Clone, Debug)]
pub enum OpPick {
    Login {
        idp: usize,
        /// 0-3: the pool, 4: the stranger, 5-6: the owner of a personal key (if there is
        /// one), so that key owners' logins change what their keys may do.
        person: usize,
        casing: u8,
        groups: Vec<usize>,
        /// A value, and whether it comes as a one-element list.
        dept: Option<(usize, bool)>,
        /// Also present the claim of one rule of a trusting workspace, so that logins match
        /// rules (and so admit, promote, demote and externalize) more often than by chance.
        aim: Option<usize>,
    },
    CreateKey {
        actor: ActorPick,
        ws: usize,
        /// `None`: personal; else an index into every role name there is (or `external`).
        service_role: Option<usize>,
        lifetime: usize,
    },
    Revoke {
        /// Whether the key's creator revokes it (for a personal key: its owner).
        by_creator: bool,
        actor: ActorPick,
        ws: usize,
        key: usize,
    },
    DeleteUser {
        actor: ActorPick,
        ws: usize,
        person: usize,
        casing: u8,
    },
    SetRole {
        actor: ActorPick,
        ws: usize,
        person: usize,
        casing: u8,
        role: usize,
    },
}

fn actor() -> impl Strategy<Value = ActorPick> {
    prop_oneof![
        8 => (0..8usize).prop_map(ActorPick::Able),
        4 => (0..4usize, any::<bool>(), prop::bool::weighted(0.25))
            .prop_map(|(i, owner, sso)| ActorPick::Member { i, owner, sso }),
        1 => (0..5usize).prop_map(ActorPick::Local),
        1 => (0..5usize).prop_map(ActorPick::Sso),
        2 => (0..8usize).prop_map(ActorPick::Key),
    ]
}

fn op() -> impl Strategy<Value = OpPick> {
    prop_oneof![
        4 => (
            prop::sample::select(&[0usize, 0, 0, 1, 1, 1, 2][..]),
            0..7usize,
            0..3u8,
            prop::collection::vec(0..3usize, 0..=3),
            prop::option::of((0..3usize, any::<bool>())),
            prop::option::weighted(0.6, 0..8usize),
        )
            .prop_map(|(idp, person, casing, groups, dept, aim)| OpPick::Login {
                idp,
                person,
                casing,
                groups,
                dept,
                aim,
            }),
        4 => (actor(), 0..16usize, prop::option::of(0..11usize), 0..3usize).prop_map(
            |(actor, ws, service_role, lifetime)| OpPick::CreateKey {
                actor,
                ws,
                service_role,
                lifetime,
            }
        ),
        2 => (any::<bool>(), actor(), 0..16usize, 0..8usize).prop_map(
            |(by_creator, actor, ws, key)| OpPick::Revoke {
                by_creator,
                actor,
                ws,
                key,
            }
        ),
        3 => (actor(), 0..16usize, 0..10usize, 0..3u8).prop_map(|(actor, ws, person, casing)| {
            OpPick::DeleteUser {
                actor,
                ws,
                person,
                casing,
            }
        }),
        2 => (actor(), 0..16usize, 0..10usize, 0..3u8, 0..11usize).prop_map(
            |(actor, ws, person, casing, role)| OpPick::SetRole {
                actor,
                ws,
                person,
                casing,
                role,
            }
        ),
    ]
}

/// A tenant and 0-8 operations on it.
pub fn scenario() -> impl Strategy<Value = (TenantSpec, Vec<OpPick>)> {
    (tenant(), prop::collection::vec(op(), 0..=8))
}

/// An operation with names filled in.
#[derive(Clone, Debug)]
pub enum Action {
    Login {
        idp: String,
        claims: Claims,
    },
    CreateKey {
        actor: Who,
        ws: String,
        service_role: Option<String>,
        expires_in: Option<i64>,
    },
    Revoke {
        actor: Who,
        ws: String,
        key: String,
    },
    DeleteUser {
        actor: Who,
        ws: String,
        email: String,
    },
    SetRole {
        actor: Who,
        ws: String,
        email: String,
        role: String,
    },
}

/// Every role name a service key or a role change may name: built-in, any workspace's custom
/// role (often not this workspace's, SPEC RB-2), and `external`, which is no role at all;
/// `owner` twice as often, since owners are what SPEC UA-3 is about.
fn any_role(i: usize) -> String {
    BUILTINS
        .iter()
        .chain(CUSTOM_NAMES.iter())
        .chain([EXTERNAL, "owner"].iter())
        .nth(i % 11)
        .map(|r| (*r).to_owned())
        .unwrap_or_default()
}

/// A key the engine created: its id, its workspace, who created it, and whether personal.
#[derive(Clone, Debug)]
pub struct KeyRef {
    pub id: String,
    pub ws: String,
    pub creator: Who,
    pub personal: bool,
}

/// Fills in the names of `op`: mostly workspaces of `spec` (one pick in 16 is unknown), keys
/// created so far (an unknown id while there are none).
pub fn resolve(op: &OpPick, spec: &TenantSpec, keys: &[KeyRef], model: &Model) -> Action {
    let workspace = |pick: usize| {
        if pick == 15 || spec.workspaces.is_empty() {
            None
        } else {
            Some(&spec.workspaces[pick % spec.workspaces.len()])
        }
    };
    let named = |name: &str| spec.workspaces.iter().find(|w| w.name == name);
    let key = |pick: usize| keys.get(pick % keys.len().max(1));
    let who = |a: &ActorPick, target: Option<&WorkspaceSpec>, needs: &str| match a {
        ActorPick::Able(i) => {
            let ws = target.map_or(NOWHERE, |w| w.name.as_str());
            let able: Vec<Who> = POOL
                .iter()
                .chain([STRANGER].iter())
                .flat_map(|e| [Who::Local((*e).into()), Who::Sso((*e).into())])
                .chain(keys.iter().map(|k| Who::Key(k.id.clone())))
                .filter(|who| model.check(who, ws, needs).allowed)
                .collect();
            able.get(i % able.len().max(1))
                .cloned()
                .unwrap_or_else(|| Who::Local(person(*i).to_owned()))
        }
        ActorPick::Member { i, owner, sso } => {
            let email = target.map_or(person(*i), |w| {
                let listed: Vec<&str> = w
                    .members
                    .iter()
                    .filter(|m| !owner || m.role == "owner")
                    .map(|m| m.email.as_str())
                    .collect();
                listed[i % listed.len()]
            });
            if *sso {
                Who::Sso(email.to_owned())
            } else {
                Who::Local(email.to_owned())
            }
        }
        ActorPick::Local(p) => Who::Local(person(*p).to_owned()),
        ActorPick::Sso(p) => Who::Sso(person(*p).to_owned()),
        ActorPick::Key(k) => Who::Key(key(*k).map_or(UNKNOWN_KEY.to_owned(), |k| k.id.clone())),
    };
    let name = |w: Option<&WorkspaceSpec>| w.map_or_else(|| NOWHERE.to_owned(), |w| w.name.clone());
    // The owner of the latest personal key (in `ws`, if given), and the key's workspace.
    let key_owner = |ws: Option<&str>| {
        keys.iter()
            .rev()
            .filter(|k| k.personal && ws.is_none_or(|ws| k.ws == ws))
            .find_map(|k| match &k.creator {
                Who::Local(e) | Who::Sso(e) => Some((e.clone(), k.ws.clone())),
                _ => None,
            })
    };
    // 0-3: the pool, 4: the stranger, 5: an owner the file lists (to reach SPEC UA-3),
    // 6: a current member, 7-9: a personal key's owner (to reach SPEC UA-2's key deletion).
    let target = |p: usize, w: Option<&WorkspaceSpec>| match w {
        Some(w) if p == 5 => {
            let owners: Vec<&MemberSpec> = w.members.iter().filter(|m| m.role == "owner").collect();
            owners[keys.len() % owners.len()].email.clone()
        }
        Some(w) if p == 6 => {
            let members = model.members(&w.name);
            members
                .get(keys.len() % members.len().max(1))
                .cloned()
                .unwrap_or_else(|| person(p).to_owned())
        }
        // The owner of a personal key here, if any.
        Some(w) if p >= 7 => key_owner(Some(&w.name)).map_or_else(|| person(p).to_owned(), |o| o.0),
        _ => person(p).to_owned(),
    };
    match op {
        OpPick::Login {
            idp,
            person: p,
            casing,
            groups,
            dept,
            aim,
        } => {
            let mut claims = Claims::new();
            // A personal key's owner logs in through an IdP their key's workspace trusts.
            let (email, idp) = match key_owner(None) {
                Some((email, ws)) if *p >= 5 => {
                    let trusted = named(&ws).and_then(|w| w.idps.first());
                    (email, trusted.map_or(IDPS[*idp], |i| i.as_str()))
                }
                _ => (person(*p).to_owned(), IDPS[*idp]),
            };
            claims.insert("email".into(), ClaimValue::One(recase(&email, *casing)));
            claims.insert(
                "groups".into(),
                ClaimValue::Many(groups.iter().map(|g| CLAIM_VALUES[*g].into()).collect()),
            );
            if let Some((v, as_list)) = dept {
                let v = CLAIM_VALUES[*v].to_owned();
                let value = if *as_list {
                    ClaimValue::Many(vec![v])
                } else {
                    ClaimValue::One(v)
                };
                claims.insert("dept".into(), value);
            }
            let rules: Vec<&RuleSpec> = spec
                .workspaces
                .iter()
                .filter(|w| w.idps.iter().any(|i| i == idp))
                .flat_map(|w| &w.claim_rules)
                .collect();
            if let (Some(aim), false) = (aim, rules.is_empty()) {
                let rule = rules[aim % rules.len()];
                match claims.get_mut(&rule.claim) {
                    Some(ClaimValue::Many(items)) => items.push(rule.value.clone()),
                    _ => {
                        claims.insert(rule.claim.clone(), ClaimValue::One(rule.value.clone()));
                    }
                }
            }
            Action::Login {
                idp: idp.into(),
                claims,
            }
        }
        OpPick::CreateKey {
            actor,
            ws: w,
            service_role,
            lifetime,
        } => Action::CreateKey {
            actor: who(
                actor,
                workspace(*w),
                if service_role.is_some() {
                    "user.write"
                } else {
                    "apikey.write"
                },
            ),
            ws: name(workspace(*w)),
            service_role: service_role.map(any_role),
            expires_in: [None, Some(3600), Some(-3600)][*lifetime],
        },
        OpPick::Revoke {
            by_creator,
            actor,
            ws: w,
            key: k,
        } => {
            let Some(key) = key(*k) else {
                return Action::Revoke {
                    actor: who(actor, workspace(*w), "user.write"),
                    ws: name(workspace(*w)),
                    key: UNKNOWN_KEY.into(),
                };
            };
            // Mostly in the key's own workspace, else anywhere (SPEC ID-1: then it must fail).
            let target = if *w % 4 == 3 {
                workspace(*w)
            } else {
                named(&key.ws)
            };
            Action::Revoke {
                actor: if *by_creator {
                    key.creator.clone()
                } else {
                    who(actor, target, "user.write")
                },
                ws: name(target),
                key: key.id.clone(),
            }
        }
        OpPick::DeleteUser {
            actor,
            ws: w,
            person: p,
            casing,
        } => Action::DeleteUser {
            actor: who(actor, workspace(*w), "user.write"),
            ws: name(workspace(*w)),
            email: recase(&target(*p, workspace(*w)), *casing),
        },
        OpPick::SetRole {
            actor,
            ws: w,
            person: p,
            casing,
            role,
        } => Action::SetRole {
            actor: who(actor, workspace(*w), "user.write"),
            ws: name(workspace(*w)),
            email: recase(&target(*p, workspace(*w)), *casing),
            role: any_role(*role),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Shares by revision (SPEC SH-1, SH-3), for one workflow shared from `src` to `dst`.

/// Who does what to the shared workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareOp {
    /// A Contributor of the source publishes a new revision (a changed definition).
    Publish,
    /// An Owner of both workspaces shares it: accepted at once.
    ShareAsOwnerOfBoth,
    /// An Owner of the source only shares it: it waits for the destination.
    ShareAsSourceOwner,
    /// An Owner of the destination accepts the share (again).
    Accept,
    /// Someone who is nobody in the destination tries to accept.
    AcceptAsOutsider,
}

/// The SPEC's view of one share: what the source published and what the destination accepted.
#[derive(Clone, Debug, Default)]
pub struct ShareModel {
    /// The source's latest revision (0: none yet).
    pub published: i64,
    pub shared: bool,
    /// The revision the destination runs (SPEC SH-3): only ever one it accepted.
    pub accepted: Option<i64>,
}

impl ShareModel {
    /// Applies `op`; returns whether it succeeds.
    pub fn apply(&mut self, op: ShareOp) -> bool {
        match op {
            ShareOp::Publish => {
                self.published += 1;
                true
            }
            ShareOp::ShareAsOwnerOfBoth | ShareOp::ShareAsSourceOwner
                if self.published == 0 || self.shared =>
            {
                false
            }
            ShareOp::ShareAsOwnerOfBoth => {
                self.shared = true;
                self.accepted = Some(self.published);
                true
            }
            ShareOp::ShareAsSourceOwner => {
                self.shared = true;
                true
            }
            // Accepting takes the latest revision; there is nothing to accept when it is
            // already the one in use.
            ShareOp::Accept if self.shared && self.accepted != Some(self.published) => {
                self.accepted = Some(self.published);
                true
            }
            ShareOp::Accept | ShareOp::AcceptAsOutsider => false,
        }
    }
}

/// Sequences of share operations.
pub fn share_ops() -> impl Strategy<Value = Vec<ShareOp>> {
    prop::collection::vec(
        prop_oneof![
            3 => Just(ShareOp::Publish),
            1 => Just(ShareOp::ShareAsOwnerOfBoth),
            1 => Just(ShareOp::ShareAsSourceOwner),
            2 => Just(ShareOp::Accept),
            1 => Just(ShareOp::AcceptAsOutsider),
        ],
        1..14,
    )
}
