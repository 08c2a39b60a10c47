//! Run principals (SPEC WF-10): what a workflow run may do, and which `run_as` a publisher may
//! bind. A run acts with what both its identity and its publisher hold *now*; publishing binds
//! `run_as` only to the publisher, to a service key whose role grants nothing the publisher
//! lacks, or (for a publisher who holds every scope, an Owner) to anyone.

use crate::principal::{Email, Principal, RunAs, SignIn};

use super::decision::AccessDecision;
use super::index::{AccessIndex, KeyKind, acting_grant};
pub use super::reason::RunAsRefusal;
use super::reason::{Reason, RunSide};
use super::scope::{Scope, ScopeSet};

/// Why an Interaction Flow starts nothing (SPEC WF-10), naming nobody.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowRefusal {
    /// The identity it runs as, or whoever bound it, no longer acts in the workspace.
    NoStanding,
    /// Whoever published it may no longer ask people for input (`interaction.write`).
    MayNotAsk,
}

impl AccessIndex {
    /// A run's check: allowed only if both its identity and its publisher hold `scope` in
    /// `workspace` now. Neither is a sign-in: SSO-only does not apply to them, an SSO denial
    /// does (SPEC WF-10, SSO-5).
    pub(super) fn check_run(&self, run: &RunAs, workspace: &str, scope: Scope) -> AccessDecision {
        if run.borrowed {
            return AccessDecision::deny(Reason::BorrowedIdentity {
                workspace: workspace.to_owned(),
            });
        }
        let decided = |refused_by| Reason::ForRun { scope, refused_by };
        if !self.check_acting(&run.identity, workspace, scope).allowed() {
            return AccessDecision::deny(decided(Some(RunSide::Identity)));
        }
        if !self
            .check_acting(&run.publisher, workspace, scope)
            .allowed()
        {
            return AccessDecision::deny(decided(Some(RunSide::Publisher)));
        }
        AccessDecision::Allowed(decided(None))
    }

    /// A check for a principal that acts without signing in: a person by their membership,
    /// a key by its own rules (SPEC RB-4).
    fn check_acting(&self, principal: &Principal, workspace: &str, scope: Scope) -> AccessDecision {
        match principal {
            Principal::User { email, .. } => match self.grant_of(workspace, email) {
                Err(reason) => AccessDecision::deny(reason),
                Ok(grant) => match acting_grant(grant, SignIn::Local, false) {
                    Ok(grant) => self.decide_grant(grant, scope),
                    Err(why) => AccessDecision::deny(why.reason(email, workspace)),
                },
            },
            Principal::ApiKey(_) => self.check(principal, workspace, scope),
            // A run inside a run, or nobody: nothing (default deny).
            Principal::Anonymous | Principal::Run(_) => AccessDecision::deny(Reason::Anonymous),
        }
    }

    /// Whether `email` holds `scope` in `workspace` some way it may act there: signed in
    /// either way, or through a personal key or as a workflow's identity, neither of which is
    /// a sign-in (SSO-only does not apply: SPEC WF-10). Who may see a case names everyone who
    /// may read it: decided on sign-in alone, it left out the members of an SSO-only
    /// workspace who read the case through a key or a run (round 27 authority review).
    pub fn may_act_holding(&self, email: &Email, workspace: &str, scope: Scope) -> bool {
        let local = Principal::local(email.clone());
        [&local, &Principal::sso(email.clone())]
            .iter()
            .any(|p| self.check(p, workspace, scope).allowed())
            || self.check_acting(&local, workspace, scope).allowed()
    }

    /// Whether a run has a standing in `workspace` (SPEC ID-4): its identity and its
    /// publisher both act there now, neither as a sign-in (SPEC WF-10).
    /// A borrowed identity stands nowhere it was shared to, as an outsider would not
    /// (self-review: whether it stood told a step whether the source's person had joined).
    pub(super) fn run_stands(&self, run: &RunAs, workspace: &str) -> bool {
        !run.borrowed
            && self.side_stands(&run.identity, workspace)
            && self.side_stands(&run.publisher, workspace)
    }

    /// Whether whoever bound a run's identity (its publisher, or the Owner who accepted its
    /// share) acts in `workspace` now: a run starts only while they do (SPEC WF-10, "fail
    /// closed"). Its identity may be no member there (a shared flow's `run_as`): that is
    /// checked at each step.
    ///
    /// A key it runs as must be live in its own workspace (revoked, expired or deleted, its
    /// runs went on starting and asking people, failing at their first case call; authority
    /// review), wherever the run is.
    pub fn binder_stands(&self, principal: &Principal, workspace: &str) -> bool {
        match principal {
            Principal::Run(run) => {
                self.side_stands(&run.publisher, workspace) && self.key_live(&run.identity)
            }
            _ => true,
        }
    }

    /// Whether `binder`, who answers for a revision started by hand (its publisher, or the
    /// Owner who accepted its share), acts in `workspace` now: a hand start of a revision
    /// nobody there vouches for any more fails closed, as its triggers, webhook and flow do
    /// (SPEC WF-10; round 29 authority review).
    pub fn binder_acts(&self, binder: &Principal, workspace: &str) -> bool {
        self.side_stands(binder, workspace)
    }

    /// Whether a run of a workflow published in `workspace` itself (not shared into it) may
    /// start or go on: its identity acts there as well as its binder (SPEC WF-10; a removed
    /// `run_as` person's webhook and trigger runs started, asked people, then failed). A
    /// shared flow's identity is its source workspace's: [`Self::binder_stands`] decides those.
    pub fn own_run_stands(&self, principal: &Principal, workspace: &str) -> bool {
        match principal {
            Principal::Run(run) => self.run_stands(run, workspace),
            _ => true,
        }
    }

    /// Whether a run acting as `principal` may start or go on in `workspace`: whoever bound
    /// it acts there and, unless the workflow is `shared` into it (its identity is then its
    /// source's: SPEC SH-1), its identity too (SPEC WF-10).
    pub fn run_goes_on(&self, principal: &Principal, workspace: &str, shared: bool) -> bool {
        if shared {
            self.binder_stands(principal, workspace)
        } else {
            self.own_run_stands(principal, workspace)
        }
    }

    /// Whether `identity`, if a key, is live in the workspace it belongs to.
    fn key_live(&self, identity: &Principal) -> bool {
        match identity {
            Principal::ApiKey(id) => self
                .key(id)
                .is_some_and(|key| self.key_grant(&key.workspace, id).is_ok()),
            _ => true,
        }
    }

    /// What whoever bound a run's identity holds of `scope` in `workspace` now: what a run
    /// does by its definition's design (asking people) is its publisher's act, decided on
    /// their power now, not only when they published (SPEC WF-10, a demoted publisher's
    /// workflows fail closed). `None` for a principal that is not a run: a person or key
    /// running a definition themselves.
    pub fn binder_check(
        &self,
        principal: &Principal,
        workspace: &str,
        scope: Scope,
    ) -> Option<AccessDecision> {
        match principal {
            Principal::Run(run) => Some(self.check_acting(&run.publisher, workspace, scope)),
            _ => None,
        }
    }

    /// What whoever answers for what a run asks of people holds of `scope` in `workspace`
    /// now, acting, not as a sign-in: a run's publisher ([`Self::binder_check`]); for a
    /// manual run, `binder`, its revision's publisher or share's acceptor, or whoever runs its
    /// file (`None`: its own principal). Asking people is their
    /// act (SPEC WF-10; round 23 authority review: an operator's file, or a demoted
    /// publisher's revision run by hand, opened approvals nobody holding `interaction.write`
    /// asked for).
    pub fn asker_check(
        &self,
        principal: &Principal,
        binder: Option<&Principal>,
        workspace: &str,
        scope: Scope,
    ) -> AccessDecision {
        self.binder_check(principal, workspace, scope)
            .unwrap_or_else(|| self.check_acting(binder.unwrap_or(principal), workspace, scope))
    }

    /// Whether an Interaction Flow bound to run as `run_as` starts in `workspace` now: its
    /// binder acts there and may still ask people (its form is their asking; SPEC WF-10).
    /// A flow published there (not `shared` into it) needs its identity acting there too.
    pub fn flow_may_start(&self, run_as: &Principal, workspace: &str, shared: bool) -> bool {
        self.flow_start_refusal(run_as, workspace, shared).is_none()
    }

    /// Why such a flow starts nothing in `workspace` now, if it does not (see
    /// [`Self::flow_may_start`]): every door refuses, and audits, a start for the same reason.
    pub fn flow_start_refusal(
        &self,
        run_as: &Principal,
        workspace: &str,
        shared: bool,
    ) -> Option<FlowRefusal> {
        if !self.run_goes_on(run_as, workspace, shared) {
            return Some(FlowRefusal::NoStanding);
        }
        match self.binder_check(run_as, workspace, Scope::InteractionWrite) {
            Some(AccessDecision::Denied(_)) => Some(FlowRefusal::MayNotAsk),
            _ => None,
        }
    }

    /// Whether one side of a run acts in `workspace`, not as a sign-in.
    fn side_stands(&self, side: &Principal, workspace: &str) -> bool {
        match side {
            Principal::User { email, .. } => matches!(
                self.grant_of(workspace, email),
                Ok(grant) if acting_grant(grant, SignIn::Local, false).is_ok()
            ),
            Principal::ApiKey(id) => self.key_grant(workspace, id).is_ok(),
            Principal::Anonymous | Principal::Run(_) => false,
        }
    }

    /// The scopes `principal` holds in `workspace` now.
    pub(crate) fn held(&self, principal: &Principal, workspace: &str) -> ScopeSet {
        let held: Vec<Scope> = Scope::ALL
            .iter()
            .copied()
            .filter(|&s| self.check(principal, workspace, s).allowed())
            .collect();
        ScopeSet::of(&held)
    }

    /// The person a principal stands for: a person, or a personal key's owner.
    pub(crate) fn person_of(&self, principal: &Principal) -> Option<Email> {
        match principal {
            Principal::User { email, .. } => Some(email.clone()),
            Principal::ApiKey(id) => match self.key(id).map(|k| &k.kind) {
                Some(KeyKind::Personal { owner }) => Some(owner.clone()),
                _ => None,
            },
            Principal::Anonymous | Principal::Run(_) => None,
        }
    }

    /// Whether `run_as` is the person `publisher` stands for (themselves, or a personal key's
    /// owner): a revision whose runs act as its own publisher.
    pub fn bound_itself(&self, run_as: &Principal, publisher: &Principal) -> bool {
        let identity = self.person_of(run_as);
        identity.is_some() && self.person_of(publisher) == identity
    }

    /// May `acceptor` install in `destination` a shared revision whose runs act as `run_as`,
    /// which `revision_publisher` bound in the source? (SPEC WF-10, SH-2.) An identity with a
    /// standing in the destination acts there with its power there, and the acceptor is not
    /// shown whom it names (the source's people are not the destination's to learn): only
    /// one who bound themselves carries it, as their own power (round 16 authority review:
    /// a source Owner bound a destination Owner, and the flow ran with that Owner's power for
    /// a viewer). An identity standing only in the source (an MSSP's automation account) is
    /// checked as any binding is ([`AccessIndex::may_bind_run_as`]).
    pub fn may_bind_shared_run_as(
        &self,
        acceptor: &Principal,
        destination: &str,
        run_as: &Principal,
        revision_publisher: Option<&Principal>,
    ) -> Result<(), RunAsRefusal> {
        if !self.is_outsider(run_as, destination) {
            let bound_themselves = revision_publisher.is_some_and(|p| self.bound_itself(run_as, p));
            // Its runs carry the same answer, decided as they start: such an identity acts
            // with nothing of its own there even if it joins later (`RunAs::borrowed`).
            if !bound_themselves {
                return Err(RunAsRefusal::SharedAsAnother {
                    destination: destination.to_owned(),
                });
            }
        }
        self.may_bind_run_as(acceptor, destination, run_as)
    }

    /// May `publisher` publish, in `workspace`, a workflow whose runs act as `run_as`?
    /// (SPEC WF-10.) The publisher's own authority to publish is checked by the caller.
    pub fn may_bind_run_as(
        &self,
        publisher: &Principal,
        workspace: &str,
        run_as: &Principal,
    ) -> Result<(), RunAsRefusal> {
        self.may_bind_holding(
            self.held(publisher, workspace),
            publisher,
            workspace,
            run_as,
        )
    }

    /// Whether a webhook secret that `issuer` took (created or last rotated) for runs acting
    /// as `run_as` still starts runs in `workspace`: only while they could take it now, by
    /// what publishing its revision takes (`playbook.publish`, `playbook.write`,
    /// `interaction.write` when it `asks_people`) and by binding `run_as` with what they hold
    /// acting there, not as a
    /// sign-in (SPEC WF-10). A credential dies with its binder's power, as a sign-in link or
    /// a share offer does: a removed member's secret went on starting runs as a service key,
    /// on an Owner's behalf (round 17 authority review).
    pub fn webhook_issuer_stands(
        &self,
        issuer: &Principal,
        workspace: &str,
        run_as: &Principal,
        asks_people: bool,
    ) -> bool {
        let holds = |scope| self.check_acting(issuer, workspace, scope).allowed();
        // What publishing the revision takes (round 19 authority review).
        if !holds(Scope::PlaybookPublish)
            || !holds(Scope::PlaybookWrite)
            || (asks_people && !holds(Scope::InteractionWrite))
        {
            return false;
        }
        let held: Vec<Scope> = Scope::ALL.iter().copied().filter(|&s| holds(s)).collect();
        self.may_bind_holding(ScopeSet::of(&held), issuer, workspace, run_as)
            .is_ok()
    }

    /// [`Self::may_bind_run_as`] for a publisher holding `mine` in `workspace`.
    fn may_bind_holding(
        &self,
        mine: ScopeSet,
        publisher: &Principal,
        workspace: &str,
        run_as: &Principal,
    ) -> Result<(), RunAsRefusal> {
        let person = self.person_of(publisher);
        if person.is_some() && person == self.person_of(run_as) {
            return Ok(());
        }
        let everything = ScopeSet::of(Scope::ALL);
        if mine == everything {
            return Ok(());
        }
        // Which keys exist, whose, revoked or expired, and what a service key's role holds
        // are told only to who may list every key (`user.write` and `user.read`, as
        // `keys list`): to others each refusal reads alike (round 17 leak review: a
        // contributor probed others' keys by publishing them as `run_as`), naming no key but
        // their own (round 23 leak review: a webhook's stored `run_as` was named to a
        // contributor refused its secret, where `runs list` withholds it).
        let sees_keys = mine.contains(Scope::UserWrite) && mine.contains(Scope::UserRead);
        let other = || RunAsRefusal::OtherPerson {
            publisher: publisher.to_string(),
            run_as: match run_as {
                Principal::ApiKey(_) if !sees_keys && run_as != publisher => {
                    crate::stored_principal::WITHHELD_KEY.to_owned()
                }
                _ => run_as.to_string(),
            },
        };
        let Principal::ApiKey(id) = run_as else {
            return Err(other());
        };
        let told = |refusal: RunAsRefusal| if sees_keys { refusal } else { other() };
        // Another workspace's key is no key here: which keys exist elsewhere, and of what
        // kind, is not told to a publisher (SPEC ID-4).
        let key = self.key(id).filter(|k| k.workspace == workspace);
        let Some(KeyKind::Service { .. }) = key.map(|k| &k.kind) else {
            // Someone else's personal key is that person (or no key at all).
            return match key {
                None => Err(told(RunAsRefusal::Unusable {
                    run_as: run_as.to_string(),
                    reason: Reason::UnknownKey(id.clone()),
                })),
                Some(_) => Err(other()),
            };
        };
        // A key that cannot act here now (revoked, expired, of another workspace) is refused
        // with its reason rather than bound to fail later.
        if let AccessDecision::Denied(reason) = self.check(run_as, workspace, Scope::PlaybookGet)
            && !matches!(reason, Reason::Missing { .. })
        {
            return Err(told(RunAsRefusal::Unusable {
                run_as: run_as.to_string(),
                reason,
            }));
        }
        let missing: Vec<Scope> = self
            .held(run_as, workspace)
            .iter()
            .filter(|&s| !mine.contains(s))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(told(RunAsRefusal::Broader {
                publisher: publisher.to_string(),
                run_as: run_as.to_string(),
                missing,
            }))
        }
    }
}

/// What one side of a run (its identity or its publisher) sees of restricted cases: the
/// person named on cases, and whether it bypasses restrictions (SPEC CS-2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseSight {
    pub email: Option<Email>,
    pub bypass: bool,
}

impl AccessIndex {
    /// What the identity and the publisher of `run` each see of restricted cases in
    /// `workspace` now; the run sees what both see (SPEC WF-10).
    pub fn run_case_sight(&self, run: &RunAs, workspace: &str) -> [CaseSight; 2] {
        // The bypass counts only beside `case.read`, as for every other viewer (SPEC CS-4,
        // `cases::Viewer::of`): a side holding it alone saw restricted cases for its run's
        // sight (leak review).
        let holds = |p: &Principal, scope| self.check_acting(p, workspace, scope).allowed();
        let sight = |p: &Principal| CaseSight {
            email: self.person_of(p),
            bypass: holds(p, Scope::BypassCaseAccessRestriction) && holds(p, Scope::CaseRead),
        };
        // A borrowed identity is named on no case and bypasses nothing here, whatever it
        // became here since (round 23 authority review).
        let identity = if run.borrowed {
            CaseSight {
                email: None,
                bypass: false,
            }
        } else {
            sight(&run.identity)
        };
        [identity, sight(&run.publisher)]
    }
}
