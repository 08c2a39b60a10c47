//! Why an access question, or a refusal, came out as it did, as data (SPEC RB-3): the reasons
//! of scope checks, of Interaction Flow checks (SPEC IX) and of `run_as` bindings (SPEC
//! WF-10), and the refusals the services make that are not a scope check (a step's missing
//! grant, SPEC WF-6). A denial carries one of these as `Error::Denied`; it becomes text only
//! where a door prints it.

use std::fmt;

use crate::principal::{Email, Principal};

use super::role::RoleName;
use super::scope::Scope;

/// Which side of a run lacks a scope (see [`Reason::ForRun`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunSide {
    /// The identity it acts as (`run_as`).
    Identity,
    /// Whoever published its workflow.
    Publisher,
}

/// Why a check came out the way it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A member's role holds the scope.
    Granted { role: RoleName, scope: Scope },
    /// An API key's effective role holds the scope; `owner` for personal keys.
    GrantedToKey {
        key: String,
        owner: Option<Email>,
        role: RoleName,
        scope: Scope,
    },
    /// The role does not hold the scope.
    Missing { role: RoleName, scope: Scope },
    /// No such workspace.
    UnknownWorkspace(String),
    /// No such scope in the catalogue.
    UnknownScope(String),
    /// Nobody is acting.
    Anonymous,
    /// The person is not a member of the workspace (SPEC ID-1).
    NotMember { email: Email, workspace: String },
    /// An external SSO identity holds no scopes (SPEC ID-3).
    External { email: Email, workspace: String },
    /// The person's latest SSO login was denied (SPEC SSO-3, SSO-5).
    SsoDenied { email: Email, workspace: String },
    /// A member the IdP provisioned and now admits only as external, kept as the last Owner
    /// (SPEC UA-3) and shut out until a login admits them as a member (ID-3, SSO-3).
    ExternalKept { email: Email, workspace: String },
    /// Local sign-in refused: the workspace enforces SSO (SPEC SSO-4).
    SsoOnly { email: Email, workspace: String },
    /// The person claims an SSO sign-in but has no SSO login as a member here.
    NoSsoLogin { email: Email, workspace: String },
    /// No such key.
    UnknownKey(String),
    /// The key was revoked (SPEC RB-4).
    KeyRevoked(String),
    /// The key has expired (SPEC RB-4).
    KeyExpired(String),
    /// The key belongs to another workspace (SPEC ID-1).
    KeyOtherWorkspace { key: String, workspace: String },
    /// A personal key's owner no longer has a role here (SPEC RB-4).
    KeyOwnerGone { key: String, owner: Email },
    /// The role assigned no longer exists in the workspace.
    RoleGone(RoleName),
    /// An access question from someone without a standing in the workspace (SPEC ID-4): the
    /// same words whether the workspace exists or not.
    NoStanding { who: String, workspace: String },
    /// A run's own check (SPEC WF-10: a run acts with what both its identity and its
    /// publisher hold now), `refused_by` the side that lacks the scope. Names neither side
    /// nor their roles or keys: the text reaches the run's steps, and through their outputs
    /// and errors every reader of the run, who may not be told which key it acts as or who
    /// published it holds what (round 25 leaks review).
    ForRun {
        scope: Scope,
        refused_by: Option<RunSide>,
    },
    /// A shared revision's run acts as an identity someone else bound in the source: it acts
    /// with nothing of its own in the workspace the revision was shared to (SPEC WF-10,
    /// SH-2). Names nobody: the identity is the source's to know.
    BorrowedIdentity { workspace: String },
    /// An Interaction Flow check (SPEC IX-4), as the flow's settings decided it.
    Flow(Box<FlowReason>),
    /// A publisher may not bind this `run_as` (SPEC WF-10).
    RunAs(Box<RunAsRefusal>),

    // Refusals the services make that are not a check of the index.
    /// The workflow does not grant the step what its host call needs (SPEC WF-6); the grant's
    /// name as a workflow writes it (`cases:write`).
    NotGranted(&'static str),
    /// The host has no access engine wired in: everything is refused (SPEC RB-3).
    NoEngine,
    /// A presented API key token is malformed, unknown or has the wrong secret (SPEC RB-4).
    BadKeyToken,
    /// Emitting an event needs the principal's own decision to allow it (SPEC WF-2).
    Emit(Box<Reason>),
    /// There is no Interaction Flow of that name in the caller's workspace.
    UnknownFlow { flow: String, workspace: String },
    /// A person with a standing in the workspace may not start this Interaction Flow (SPEC IX-4).
    StartFlow {
        principal: Principal,
        flow: String,
        reason: Box<FlowReason>,
    },
    /// A person with a standing in the workspace may not answer this interaction (SPEC IX-4).
    Answer {
        principal: Principal,
        interaction: String,
        reason: Box<FlowReason>,
    },
    /// `tenant apply --bootstrap` once somebody owns the tenant.
    BootstrapOwned,
    /// Creating a workspace takes listing oneself as its owner.
    NotListedOwner { actor: Principal, workspace: String },
    /// Adding to an organization takes an Owner in it (SPEC ID-1).
    NotOrgOwner {
        actor: Principal,
        organization: String,
    },
    /// A share accepted before shares were pinned runs nothing until accepted again (SPEC SH-3).
    ShareUnpinned {
        share: String,
        name: String,
        workspace: String,
    },
    /// A revision published before `run_as` was bound has no publisher to answer for its runs
    /// (SPEC WF-10): they are refused.
    RunAsUnbound { name: String, revision: i64 },
    /// What an actor would hand out (a role, a custom role's scopes, a sign-in as someone)
    /// carries scopes the actor does not hold (SPEC UA-1, RB-2: no one beyond their power).
    BeyondPower {
        actor: String,
        workspace: String,
        what: String,
        lacking: Vec<&'static str>,
    },
    /// A `flowhost step test` mock's denial: the reason as the test file gives it.
    Mocked(String),
    /// A one-time sign-in link that signs nobody in (SPEC SV-1): why, for the person holding it.
    SignInLink(&'static str),
    /// A browser sign-in through an IdP (OIDC) that signs nobody in: why, for the person.
    IdpSignIn(String),
}

impl Reason {
    /// The principal has no standing in the workspace asked about (or it does not exist):
    /// such a principal is told nothing more about it (SPEC ID-4).
    pub fn is_outsider(&self) -> bool {
        matches!(
            self,
            Reason::UnknownWorkspace(_)
                | Reason::NotMember { .. }
                | Reason::KeyOtherWorkspace { .. }
                | Reason::UnknownKey(_)
                | Reason::Anonymous
        )
    }
}

/// The one answer for a workspace that is missing or not the asker's (SPEC ID-4).
fn outsider(f: &mut fmt::Formatter<'_>, workspace: &str) -> fmt::Result {
    write!(
        f,
        "there is no workspace `{workspace}` you are a member of (SPEC ID-1, ID-4)"
    )
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Granted { role, scope } => {
                write!(f, "granted by role `{role}`, which includes `{scope}`")
            }
            Reason::GrantedToKey {
                key,
                owner: Some(owner),
                role,
                scope,
            } => write!(
                f,
                "granted to personal key `{key}` through its owner {owner}'s current role `{role}`, which includes `{scope}`"
            ),
            Reason::GrantedToKey {
                key,
                owner: None,
                role,
                scope,
            } => write!(
                f,
                "granted to service key `{key}` by its role `{role}`, which includes `{scope}`"
            ),
            Reason::Missing { role, scope } => {
                write!(
                    f,
                    "role `{role}` does not include `{scope}` (default deny, SPEC RB-3)"
                )
            }
            // An outsider learns nothing (SPEC ID-4): a missing workspace, one the person is not
            // a member of and one the key does not belong to read alike.
            Reason::UnknownWorkspace(workspace)
            | Reason::NotMember { workspace, .. }
            | Reason::KeyOtherWorkspace { workspace, .. } => outsider(f, workspace),
            Reason::UnknownScope(s) => write!(f, "`{s}` is not a known scope (SPEC RB-1)"),
            Reason::Anonymous => f.write_str("no principal is acting (default deny, SPEC RB-3)"),
            Reason::External { email, workspace } => write!(
                f,
                "{email} is an external SSO identity in `{workspace}` and holds no scopes (SPEC ID-3)"
            ),
            Reason::SsoDenied { email, workspace } => write!(
                f,
                "{email} was denied by SSO claim mapping in `{workspace}` (SPEC SSO-3, SSO-5)"
            ),
            Reason::ExternalKept { email, workspace } => write!(
                f,
                "{email} is kept as the last Owner of `{workspace}` (SPEC UA-3), but its IdP \
                 admits them only as an external identity: no access until a login admits \
                 them as a member (SPEC ID-3, SSO-3)"
            ),
            Reason::SsoOnly { email, workspace } => write!(
                f,
                "workspace `{workspace}` enforces SSO-only sign-in and {email} is not a break-glass account (SPEC SSO-4)"
            ),
            Reason::NoSsoLogin { email, workspace } => {
                write!(f, "{email} has no SSO login as a member of `{workspace}`")
            }
            Reason::UnknownKey(key) => write!(f, "there is no API key `{key}`"),
            Reason::KeyRevoked(key) => write!(f, "API key `{key}` was revoked (SPEC RB-4)"),
            Reason::KeyExpired(key) => write!(f, "API key `{key}` has expired (SPEC RB-4)"),
            Reason::KeyOwnerGone { key, owner } => write!(
                f,
                "personal key `{key}` acts with its owner's current role, and {owner} has none here (SPEC RB-4)"
            ),
            Reason::RoleGone(role) => write!(f, "role `{role}` no longer exists in this workspace"),
            Reason::NoStanding { who, workspace } => write!(
                f,
                "{who} has no standing in workspace `{workspace}`, and questions about access there are answered only to those who do (default deny, SPEC ID-4)"
            ),
            Reason::ForRun { scope, refused_by } => match refused_by {
                None => write!(
                    f,
                    "granted: the identity this run acts as and whoever published its workflow \
                     both hold `{scope}` here now (SPEC WF-10)"
                ),
                Some(RunSide::Identity) => write!(
                    f,
                    "the identity this run acts as does not hold `{scope}` here now (SPEC WF-10)"
                ),
                Some(RunSide::Publisher) => write!(
                    f,
                    "whoever published this workflow does not hold `{scope}` here now, and a run \
                     acts with what both they and its identity hold (SPEC WF-10)"
                ),
            },
            Reason::BorrowedIdentity { workspace } => write!(
                f,
                "this shared workflow runs as an identity its source's publisher bound for someone \
                 else, which acts with nothing of its own in workspace `{workspace}` \
                 (SPEC WF-10, SH-2)"
            ),
            Reason::Flow(reason) => write!(f, "{reason}"),
            Reason::RunAs(refusal) => write!(f, "{refusal}"),
            Reason::NotGranted(grant) => write!(
                f,
                "the workflow does not grant this step `{grant}` (SPEC WF-6)"
            ),
            Reason::NoEngine => f.write_str(
                "no access engine is configured for this host (default deny, SPEC RB-3)",
            ),
            Reason::BadKeyToken => f.write_str("invalid API key token"),
            Reason::Emit(reason) => write!(f, "emitting events: {reason}"),
            Reason::UnknownFlow { flow, workspace } => write!(
                f,
                "there is no Interaction Flow `{flow}` in `{workspace}` (default deny, SPEC RB-3)"
            ),
            Reason::StartFlow {
                principal,
                flow,
                reason,
            } => write!(f, "{principal} may not start `{flow}`: {reason}"),
            Reason::Answer {
                principal,
                interaction,
                reason,
            } => write!(
                f,
                "{principal} may not answer interaction {interaction}: {reason}"
            ),
            Reason::BootstrapOwned => f.write_str(
                "--bootstrap only applies a tenant file while nobody owns it; act as an Owner with --as EMAIL",
            ),
            Reason::NotListedOwner { actor, workspace } => write!(
                f,
                "{actor} may create workspace `{workspace}` only by listing themself as its owner"
            ),
            Reason::NotOrgOwner {
                actor,
                organization,
            } => write!(
                f,
                "{actor} is not an Owner in organization `{organization}`"
            ),
            Reason::ShareUnpinned {
                share,
                name,
                workspace,
            } => write!(
                f,
                "share {share} of `{name}` into `{workspace}` was accepted before shares were pinned to a revision; an Owner of `{workspace}` must accept it again (SPEC SH-3)"
            ),
            Reason::RunAsUnbound { name, revision } => write!(
                f,
                "revision {revision} of `{name}` was published before `run_as` was bound to its publisher; publish it again (SPEC WF-10)"
            ),
            Reason::BeyondPower {
                actor,
                workspace,
                what,
                lacking,
            } => write!(
                f,
                "{actor} may not {what} in `{workspace}`: it carries {} that {actor} does not \
                 hold (no one grants more than they hold; SPEC UA-1, RB-2)",
                lacking.join(", ")
            ),
            Reason::Mocked(reason) => f.write_str(reason),
            Reason::SignInLink(why) => {
                write!(f, "this sign-in link {why}; ask an Owner for a new one")
            }
            Reason::IdpSignIn(why) => {
                write!(f, "sign-in through the identity provider refused: {why}")
            }
        }
    }
}

/// Why a flow decision came out as it did; every variant cites its rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlowReason {
    /// `workspace_users: all` and the person is an acting member.
    AllMembers { email: Email, role: RoleName },
    /// `selected` always includes the Owner role (SPEC IX-2).
    OwnerAlways { email: Email },
    /// The member is listed by email.
    EmailListed { email: Email, role: RoleName },
    /// The member's role is listed.
    RoleListed { email: Email, role: RoleName },
    /// `external_sso: all` and the person is an external SSO identity.
    ExternalAll { email: Email },
    /// The external SSO identity is listed.
    ExternalListed { email: Email },
    /// The member's role cannot submit interactions at all.
    NoSubmitScope { email: Email, role: RoleName },
    /// `selected`, and neither the email nor the role is listed.
    NotSelected { email: Email, role: RoleName },
    /// Listed by email, but not a member: the list grants nothing (SPEC IX-5).
    ListedNotMember { email: Email, workspace: String },
    /// An external identity, and the flow admits none.
    ExternalNone { email: Email },
    /// An external identity the flow does not list.
    ExternalNotListed { email: Email },
    /// External identities are authenticated by the IdP, so they answer through SSO only.
    ExternalNotViaSso { email: Email },
    /// Interactions are answered by people, not by API keys or nobody.
    NotAPerson(String),
    /// No standing in the workspace (not a member, SSO denial, SSO-only, unknown workspace).
    NoStanding(Reason),
    /// A question about someone else, asked by one who may not read the workspace's members
    /// (`user.read`): not answered, since even whether they may start a flow tells whether
    /// they are a member, their role or their sign-in.
    Withheld { email: Email },
}

impl fmt::Display for FlowReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowReason::AllMembers { email, role } => write!(
                f,
                "workspace users: all, and {email} is a member with role `{role}` (SPEC IX-1, IX-4)"
            ),
            FlowReason::OwnerAlways { email } => write!(
                f,
                "{email} holds the Owner role, which `selected` always includes (SPEC IX-2)"
            ),
            FlowReason::EmailListed { email, role } => write!(
                f,
                "{email} is listed by email and is a member with role `{role}` (SPEC IX-1, IX-4)"
            ),
            FlowReason::RoleListed { email, role } => {
                write!(f, "{email}'s role `{role}` is listed (SPEC IX-1, IX-4)")
            }
            FlowReason::ExternalAll { email } => write!(
                f,
                "external SSO users: all, and {email} is an external SSO identity (SPEC IX-1, IX-4)"
            ),
            FlowReason::ExternalListed { email } => write!(
                f,
                "{email} is an external SSO identity listed by the flow (SPEC IX-1, IX-4)"
            ),
            FlowReason::NoSubmitScope { email, role } => write!(
                f,
                "{email}'s role `{role}` does not include `{}` (SPEC RB-1, RB-3)",
                Scope::InteractionSubmit
            ),
            FlowReason::NotSelected { email, role } => write!(
                f,
                "workspace users: selected, and neither {email} nor role `{role}` is listed (SPEC IX-1)"
            ),
            FlowReason::ListedNotMember { email, workspace } => write!(
                f,
                "{email} is listed by email but is not a member of `{workspace}`, so the list grants nothing (SPEC IX-5)"
            ),
            FlowReason::ExternalNone { email } => write!(
                f,
                "{email} is an external SSO identity and the flow admits none (external SSO users: none, SPEC IX-1)"
            ),
            FlowReason::ExternalNotListed { email } => write!(
                f,
                "{email} is an external SSO identity the flow does not list (SPEC IX-1)"
            ),
            FlowReason::ExternalNotViaSso { email } => write!(
                f,
                "{email} is an external SSO identity and must sign in through SSO (SPEC ID-3)"
            ),
            FlowReason::NotAPerson(who) => write!(
                f,
                "{who} cannot answer: interactions are answered by people (SPEC IX-8)"
            ),
            FlowReason::NoStanding(reason) => write!(f, "{reason}"),
            FlowReason::Withheld { email } => write!(
                f,
                "whether {email} may start a flow is told to holders of user.read only, as it tells their membership, role or sign-in (SPEC IX-4, RB-1)"
            ),
        }
    }
}

/// Why a publisher may not bind a `run_as` (SPEC WF-10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunAsRefusal {
    /// `run_as` names another person, and the publisher does not hold every scope.
    OtherPerson { publisher: String, run_as: String },
    /// `run_as` is a service key whose role grants scopes the publisher lacks.
    Broader {
        publisher: String,
        run_as: String,
        missing: Vec<Scope>,
    },
    /// `run_as` is a key that cannot act in the workspace (unknown, revoked, expired, elsewhere).
    Unusable { run_as: String, reason: Reason },
    /// A shared revision's `run_as` stands in the destination, and its publisher named them
    /// rather than themselves (who it is, is not told).
    SharedAsAnother { destination: String },
}

impl fmt::Display for RunAsRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunAsRefusal::OtherPerson { publisher, run_as } => write!(
                f,
                "{publisher} may not publish a workflow that runs as {run_as}: `run_as` must be the publisher or a service key whose role grants nothing the publisher lacks; only an Owner may name anyone (SPEC WF-10)"
            ),
            RunAsRefusal::Broader {
                publisher,
                run_as,
                missing,
            } => {
                let missing: Vec<&str> = missing.iter().map(|s| s.name()).collect();
                write!(
                    f,
                    "{publisher} may not publish a workflow that runs as {run_as}: its role grants `{}`, which {publisher} does not hold (SPEC WF-10)",
                    missing.join("`, `")
                )
            }
            RunAsRefusal::Unusable { run_as, reason } => {
                write!(
                    f,
                    "`run_as` {run_as} cannot act here: {reason} (SPEC WF-10)"
                )
            }
            RunAsRefusal::SharedAsAnother { destination } => write!(
                f,
                "this revision runs as someone who acts in `{destination}`, named by its publisher rather than themselves: it may be installed here only if it runs as its own publisher or as an identity of the workspace it is shared from (SPEC WF-10, SH-2)"
            ),
        }
    }
}
