//! Who may see which runs, and how much of them (SPEC ID-4, CS-2, RB-3). Every door that lists
//! or shows runs comes through here with its principal; the public door is
//! [`crate::handles::Runs`].
//!
//! A run is visible to a principal holding `playbook.get` in the run's workspace; to anyone
//! else it does not exist (the same answer as for a missing run, SPEC ID-4). What a run saw —
//! its output, its error and its steps' outputs and errors — can hold restricted cases its
//! principal could read (SPEC CS-2), so that content is shown only to the run's own principal
//! (the same person, or the same key, while they still see every case the run read that was
//! restricted when read, `run_cases`) and to holders of `bypass.case.access.restriction`
//! with `case.read`; other members see the run's status and its steps' statuses, with the
//! content hidden.

use crate::Error;
use crate::access::Reason;
use crate::access::Scope;
use crate::cases::{Judged, RunReads, Viewer};
use crate::platform::Platform;
use crate::principal::{Caller, Principal};
use crate::public_id::PublicId;

use super::engine::{Engine, Observer, RunOutcome};
use crate::runs::without_indexes;
use crate::runs::{CaseReader, RunInfo, RunStore, RunsPage, StepRecord};
use crate::stored_principal::principal_from_stored;

/// Why content was left out: shown in place of it.
pub const HIDDEN: &str = "hidden: only the run's own principal and holders of \
     bypass.case.access.restriction see what a run saw (SPEC CS-2)";

/// How much of a run a principal may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunSight {
    /// Nothing: the run does not exist for them.
    None,
    /// Status and steps, without outputs and errors.
    Summary,
    /// Everything.
    Full,
}

impl Platform {
    /// How much of `run` `principal` may see (see the module's comment).
    /// A run whose stored principal does not read is an error, not nobody's run.
    pub(crate) fn run_sight(
        &self,
        principal: &Principal,
        run: &RunInfo,
    ) -> Result<RunSight, Error> {
        let sight = self.listed_run_sight(principal, run)?;
        // A run an event about a case started tells that the case exists and changed, when,
        // and what its trigger's conditions tested: to whoever may not see that case now it
        // does not exist either, as the event itself does not (`triggers list`; leak review).
        // The same rule as the listing's SQL (`runs/store/journal.rs`). Its own identity was
        // started on what the runs before it read as they read it, and is judged on them as
        // they stand (round 28 self-review: its run was "no such run" to it after a change).
        let viewer = self.viewer_in(principal, &run.workspace);
        let judged = self.judged_for(principal, &run.principal, &viewer, &run.id.to_string())?;
        if sight != RunSight::None
            && self.started_by_hidden(
                run.key,
                run.trigger_case,
                run.trigger_cause
                    .map(|c| RunReads::at_event(c, run.trigger_cause_seq)),
                &viewer,
                judged,
            )?
        {
            return Ok(RunSight::None);
        }
        Ok(sight)
    }

    /// Whether a run started by an event about case `case`, or by a custom event of a run that
    /// had read `cause` then, tells `viewer` what is hidden from them: the case, or a case that
    /// run had read, as `judged` (as read, [`Judged::AsRead`], to all but its own identity).
    /// A run a custom event started tells that the run which emitted it found something, and
    /// how many times (one run per event): a sweep over restricted cases emitting one event
    /// per critical case was counted through `runs list` (leak review).
    /// Judged as read, so too run `run` when it or a run it descends from was started by a
    /// case event whose case was widened since it was written (`events.sight`): the listener
    /// was judged on the case as the event recorded it, and those it was widened to did not
    /// see it then (round 28 leak reviews).
    fn started_by_hidden(
        &self,
        run: i64,
        case: Option<i64>,
        cause: Option<RunReads>,
        viewer: &Viewer,
        judged: Judged,
    ) -> Result<bool, Error> {
        if let Some(case) = case
            && (!viewer.reads_cases || !self.case_seen_by(case, viewer)?)
        {
            return Ok(true);
        }
        if (case.is_some() || cause.is_some())
            && judged == Judged::AsRead
            && !viewer.bypass
            && crate::cases::started_on_changed_sight(self.db()?.conn(), run)?
        {
            return Ok(true);
        }
        match cause {
            Some(cause) => {
                crate::cases::run_read_hidden_from(self.db()?.conn(), cause, viewer, judged)
            }
            None => Ok(false),
        }
    }

    /// [`Platform::run_sight`] of a run read through a listing, whose SQL has already left out
    /// the runs started by events about cases the reader may not see: not asked again. One's
    /// own runs cost one indexed query each (`run_cases`).
    fn listed_run_sight(&self, principal: &Principal, run: &RunInfo) -> Result<RunSight, Error> {
        if !self
            .check(principal, &run.workspace, Scope::PlaybookGet)
            .allowed()
        {
            return Ok(RunSight::None);
        }
        let viewer = self.viewer_in(principal, &run.workspace);
        let own = self.is_own(principal, &run.principal, &viewer, &run.id.to_string())?;
        // Bypassing restrictions shows case content only to someone who may read cases at
        // all (SPEC CS-4: viewing needs `case.read`; case visibility review).
        let sees_every_case = viewer.bypass
            && self
                .check(principal, &run.workspace, Scope::CaseRead)
                .allowed();
        if sees_every_case {
            return Ok(RunSight::Full);
        }
        // One's own run shows what it saw only while one still sees every case it read that
        // was restricted when it read it (`run_cases`): restricted away from them since, its
        // outputs quoted it to them for good (SPEC CS-2).
        if own && self.sees_what_it_read(run.key, &viewer, Judged::Now)? {
            return Ok(RunSight::Full);
        }
        Ok(RunSight::Summary)
    }

    /// How what a run stored as `stored` (`runs.principal`) read is judged for `principal`:
    /// as the cases stand for the run's own identity, which read them, and as read for
    /// anyone else ([`Judged`]).
    fn judged_for(
        &self,
        principal: &Principal,
        stored: &str,
        viewer: &Viewer,
        run: &str,
    ) -> Result<Judged, Error> {
        Ok(match self.is_own(principal, stored, viewer, run)? {
            true => Judged::Now,
            false => Judged::AsRead,
        })
    }

    /// Whether `principal` is the one a run stored as `stored` (`runs.principal`) ran as:
    /// the same key, or the same person (a personal key acting as its owner, on either side,
    /// SPEC RB-4: a run a person's key started was shown to that person as another's, round
    /// 25 doors review). A stored principal that does not read is an error naming `run`.
    fn is_own(
        &self,
        principal: &Principal,
        stored: &str,
        viewer: &Viewer,
        run: &str,
    ) -> Result<bool, Error> {
        let ran_as = principal_from_stored(stored, "runs", "principal", format!("run {run}"))
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(match (ran_as, principal) {
            (Principal::ApiKey(a), Principal::ApiKey(b)) if a == *b => true,
            (Principal::Anonymous, _) => false,
            (ran_as, _) => {
                let ran_by = crate::admin::person_of(&self.index(), &ran_as);
                ran_by.is_some() && ran_by == viewer.email
            }
        })
    }

    /// Whether `principal` may follow run `id`'s steps as they happen: only if they see every
    /// case of its workspace, since a step may read one and the next ones branch on it.
    pub(crate) fn trace_is_live(&self, principal: &Principal, id: &PublicId) -> bool {
        match self.run_place(id) {
            Ok(Some(place)) => {
                self.check(
                    principal,
                    &place.workspace,
                    Scope::BypassCaseAccessRestriction,
                )
                .allowed()
                    && self
                        .check(principal, &place.workspace, Scope::CaseRead)
                        .allowed()
            }
            _ => false,
        }
    }

    /// Whether a trace of run `id` may show `principal` its steps (see
    /// [`crate::handles::Runs::trace_shows_steps`]); not when that cannot be told.
    pub(crate) fn trace_shows_steps(&self, principal: &Principal, id: &PublicId) -> bool {
        match self.run_place(id) {
            Ok(Some(place)) => !self.tells_hidden(principal, &place),
            _ => false,
        }
    }

    /// Whether run `place` read a restricted case hidden from `principal`, or was started by
    /// an event of a case (or a run) hidden from them: its steps and exit status would tell
    /// it (an answerer without `case.read` was shown the branch a case event's run took, which
    /// `runs show` hid: leak review); so too when that cannot be told (fail closed). What it
    /// read is judged as read, except for its own principal, who read it.
    fn tells_hidden(&self, principal: &Principal, place: &crate::runs::RunPlace) -> bool {
        let viewer = self.viewer_in(principal, &place.workspace);
        let Ok(judged) =
            self.judged_for(principal, &place.principal, &viewer, &place.key.to_string())
        else {
            return true;
        };
        self.sees_what_it_read(place.key, &viewer, judged)
            .map_or(true, |sees| !sees)
            || self
                .started_by_hidden(
                    place.key,
                    place.trigger_case,
                    place
                        .trigger_cause
                        .map(|c| RunReads::at_event(c, place.trigger_cause_seq)),
                    &viewer,
                    judged,
                )
                .unwrap_or(true)
    }

    /// `run` as its workspace's readers are told it (after their sight of it is decided): the
    /// identity of a run of a shared flow is a person or key of the source workspace, which
    /// `share list` names to nobody without `user.read` there; here it is named to nobody
    /// (leak review: `run:user:alice@src user:bob@dst` showed her to every viewer). So too
    /// an identity no longer of this workspace.
    /// Actor name `who` (`key:<id>`, an email, `… (sso)`) as `reader` is told it in
    /// `workspace`: whole to who may list members and keys there, else without the key's id
    /// or the way of signing in (round 18 leak review).
    pub(crate) fn actor_told_in(&self, who: &str, reader: &Principal, workspace: &str) -> String {
        if self.index().tells_member_data(reader, workspace) {
            who.to_owned()
        } else {
            crate::stored_principal::actor_told(who, reader)
        }
    }

    /// Which keys exist and how members sign in are told only to who may list them
    /// (`AccessIndex::tells_member_data`; round 18 leak review: `run:key:<id> …` and
    /// `sso:alice@…` showed them to every viewer).
    fn told(&self, reader: &Principal, mut run: RunInfo) -> RunInfo {
        use crate::stored_principal::{principal_to_stored, principal_told};
        let index = self.index();
        let shown = |p: &Principal| {
            if index.tells_member_data(reader, &run.workspace) {
                principal_to_stored(p)
            } else {
                principal_told(p, reader)
            }
        };
        match principal_from_stored(&run.principal, "runs", "principal", "a shown run") {
            Ok(Principal::Run(ran)) => {
                // A borrowed identity is the source's to know, wherever it stands now.
                let identity = if ran.borrowed || index.is_outsider(&ran.identity, &run.workspace) {
                    FOREIGN_IDENTITY.to_owned()
                } else {
                    shown(&ran.identity)
                };
                run.principal = format!("run:{identity} {}", shown(&ran.publisher));
            }
            Ok(p) => run.principal = shown(&p),
            // Left as stored: its detail says it does not read.
            Err(_) => {}
        }
        run
    }

    /// A summary of `run` for `principal`: without its exit status too when the run read a
    /// restricted case they may not see, since the status names the branch that case decided
    /// ("escalated") (leak review).
    fn summary_for(&self, principal: &Principal, run: RunInfo) -> RunInfo {
        let mut shown = summary(run);
        if shown.exit_status.is_some()
            && self.decided_on_hidden(principal, shown.key, &shown.workspace)
        {
            shown.exit_status = None;
        }
        shown
    }

    /// Whether run `run` of `workspace` read a restricted case `principal` may not see, as
    /// it read it (they are shown it as another's run, [`Judged::AsRead`]); so too when that
    /// cannot be told (fail closed).
    fn decided_on_hidden(&self, principal: &Principal, run: i64, workspace: &str) -> bool {
        let viewer = self.viewer_in(principal, workspace);
        self.sees_what_it_read(run, &viewer, Judged::AsRead)
            .map_or(true, |sees| !sees)
    }

    /// Whether `viewer` sees every restricted case run `run` read, as `judged`.
    fn sees_what_it_read(&self, run: i64, viewer: &Viewer, judged: Judged) -> Result<bool, Error> {
        let hidden = crate::cases::run_read_hidden_from(
            self.db()?.conn(),
            RunReads::all(run),
            viewer,
            judged,
        )?;
        Ok(!hidden)
    }

    /// Who `principal` is to cases of `workspace` (SPEC CS-2).
    fn viewer_in(&self, principal: &Principal, workspace: &str) -> Viewer {
        Viewer::of(&self.index(), &Caller::of(principal, workspace))
    }

    /// Whose sight of restricted cases decides which triggered runs of `workspace`
    /// `principal` is shown (the listing's side of [`Platform::run_sight`]).
    fn case_reader_of(&self, principal: &Principal, workspace: &str) -> (bool, String, bool) {
        let viewer = self.viewer_in(principal, workspace);
        (
            viewer.bypass,
            viewer.email_str().to_owned(),
            viewer.reads_cases,
        )
    }

    /// One page of the runs `principal` may see, newest first: of `workspace`, or of every
    /// workspace. Naming a workspace the principal has no standing in lists nothing, as for a
    /// workspace without runs (SPEC ID-4). Only the page's rows are read: a deployment's runs,
    /// outputs included, are never loaded whole.
    pub(crate) fn runs_for(
        &self,
        principal: &Principal,
        workspace: Option<&str>,
        page: &RunsPage,
    ) -> Result<Vec<RunInfo>, Error> {
        if matches!(principal, Principal::Anonymous) {
            return Err(Error::Denied(Reason::Anonymous));
        }
        let limit = page.limit()?;
        let before = match &page.before {
            None => None,
            // A cursor names a run the principal sees; any other is a bad page link, alike
            // whether the run exists or not, as a case cursor is (round 18 web review: a
            // listing answered 404 "no such run").
            Some(id) => {
                let no_run_of_this_listing = || {
                    Error::Invalid(
                        "`before` names no run of this listing; start from the newest".to_owned(),
                    )
                };
                let key = self.visible_run_key(principal, id).map_err(|e| match e {
                    Error::NotFound(_) => no_run_of_this_listing(),
                    other => other,
                })?;
                // Of the workspace listed too: another's paged this one from an arbitrary
                // point (round 19 door review; the run page of that session said no run).
                if let Some(ws) = workspace
                    && self.run_place(id)?.is_none_or(|p| p.workspace != ws)
                {
                    return Err(no_run_of_this_listing());
                }
                Some(key)
            }
        };
        // Whoever holds playbook.get in a workspace sees every run of it, at least as a
        // summary (`run_sight`); nobody else sees any, so their rows are never read.
        let readable = |ws: &str| self.check(principal, ws, Scope::PlaybookGet).allowed();
        let workspaces: Vec<String> = match workspace {
            Some(ws) => readable(ws).then(|| ws.to_owned()).into_iter().collect(),
            None => self
                .index()
                .workspace_names()
                .filter(|ws| readable(ws))
                .map(str::to_owned)
                .collect(),
        };
        let mut runs = Vec::new();
        for ws in &workspaces {
            // Triggered runs the reader may not see are left out in the query, so a page is
            // never short for them and no row of theirs is read.
            let (bypass, email, reads_cases) = self.case_reader_of(principal, ws);
            let reader = CaseReader {
                bypass,
                email: &email,
                reads_cases,
            };
            runs.extend(self.runs_before(ws, before, limit, &reader)?);
        }
        // Newest first across them, as within one.
        runs.sort_by_key(|run| std::cmp::Reverse(run.key));
        runs.truncate(limit);
        let mut shown = Vec::new();
        for run in runs {
            match self.listed_run_sight(principal, &run)? {
                RunSight::None => {}
                RunSight::Summary => {
                    shown.push(self.told(principal, self.summary_for(principal, run)))
                }
                RunSight::Full => shown.push(self.told(principal, run)),
            }
        }
        Ok(shown)
    }

    /// The key of run `id` if `principal` may see it; "there is no run" otherwise, as for a
    /// missing run (SPEC ID-4). Standing is decided on the run's workspace alone: another
    /// tenant's row is never parsed for them, so one that does not read answers them as a
    /// missing run too.
    fn visible_run_key(&self, principal: &Principal, id: &PublicId) -> Result<i64, Error> {
        let Some(place) = self.run_place(id)? else {
            return Err(no_such_run());
        };
        if !self
            .check(principal, &place.workspace, Scope::PlaybookGet)
            .allowed()
        {
            return Err(no_such_run());
        }
        // A run started by an event about a case hidden from them does not exist for them
        // either (see [`Platform::run_sight`]), as a cursor too.
        let viewer = self.viewer_in(principal, &place.workspace);
        let judged = self.judged_for(principal, &place.principal, &viewer, &id.to_string())?;
        if self.started_by_hidden(
            place.key,
            place.trigger_case,
            place
                .trigger_cause
                .map(|c| RunReads::at_event(c, place.trigger_cause_seq)),
            &viewer,
            judged,
        )? {
            return Err(no_such_run());
        }
        Ok(place.key)
    }

    /// Run `id` and its journaled steps, as much as `principal` may see; "there is no run"
    /// when they may see nothing of it, exactly as for a missing run (SPEC ID-4).
    pub(crate) fn run_for(
        &self,
        principal: &Principal,
        id: &PublicId,
    ) -> Result<(RunInfo, Vec<StepRecord>), Error> {
        let key = self.visible_run_key(principal, id)?;
        let (info, steps) = match self.run_detail(key) {
            Ok(found) => found,
            Err(Error::NotFound(_)) => return Err(no_such_run()),
            Err(e) => return Err(e),
        };
        match self.run_sight(principal, &info)? {
            RunSight::None => Err(no_such_run()),
            RunSight::Full => Ok((self.told(principal, info), steps)),
            // Which steps ran tells which branches the run took: on a case the reader may not
            // see, that is what the case holds (leak review).
            // The page says the steps are withheld rather than "none finished" (round 16 web
            // review).
            RunSight::Summary if self.decided_on_hidden(principal, info.key, &info.workspace) => {
                let shown = RunInfo {
                    steps_cut: false,
                    steps_withheld: true,
                    ..self.summary_for(principal, info)
                };
                Ok((self.told(principal, shown), Vec::new()))
            }
            RunSight::Summary => Ok((
                self.told(principal, summary(info)),
                one_per_loop_step(steps)
                    .into_iter()
                    .map(|s| StepRecord {
                        output: None,
                        error: s.error.map(|_| HIDDEN.to_owned()),
                        ..s
                    })
                    .collect(),
            )),
        }
    }

    /// [`Platform::run_for`] and the definition the run executes (whoever sees the run holds
    /// `playbook.get` there, so may see the workflow).
    pub(crate) fn run_with_definition_for(
        &self,
        principal: &Principal,
        id: &PublicId,
    ) -> Result<(RunInfo, Vec<StepRecord>, serde_json::Value), Error> {
        let (info, steps) = self.run_for(principal, id)?;
        let definition = self.run_definition(info.key)?;
        Ok((info, steps, definition))
    }

    /// `Ok` with the run if `principal` holds `scope` in run `id`'s workspace; "there is no
    /// run" for a principal without standing there, as for a missing run (SPEC ID-4).
    pub(crate) fn authorize_run(
        &self,
        principal: &Principal,
        id: &PublicId,
        scope: Scope,
    ) -> Result<RunInfo, Error> {
        let (info, _) = self.run_for(principal, id)?;
        self.authorize(principal, &info.workspace, scope)?;
        Ok(info)
    }
}

impl Engine {
    /// `runs resume`: resumes run `id` for a principal holding `playbook.execute` in its
    /// workspace ("there is no run" to an outsider, SPEC ID-4); journaled steps replay. The
    /// outcome as a run they caused ([`Platform::caused_outcome_for`]).
    pub fn resume_for(
        &self,
        principal: &Principal,
        id: &PublicId,
        observer: &dyn Observer,
    ) -> Result<RunOutcome, Error> {
        let info = self
            .platform()
            .authorize_run(principal, id, Scope::PlaybookExecute)?;
        let outcome = self.resume(info.key, observer)?;
        Ok(self.platform().caused_outcome_for(principal, outcome))
    }

    /// `triggers dispatch`: runs what the pending events of `workspace` trigger, for a
    /// principal holding `playbook.execute` there (each run still acts as its own identity,
    /// SPEC WF-6). Returns the outcomes as `principal` may see them ([`Platform::outcome_for`]).
    pub fn dispatch_for(
        &self,
        principal: &Principal,
        workspace: &str,
        observer: &dyn Observer,
    ) -> Result<Vec<RunOutcome>, Error> {
        self.platform()
            .authorize(principal, workspace, Scope::PlaybookExecute)?;
        let outcomes = self.dispatch_triggers_in(Some(workspace), observer)?;
        Ok(outcomes
            .into_iter()
            .filter_map(|o| self.platform().outcome_for(principal, o))
            .collect())
    }
}

impl Platform {
    /// `outcome` as `principal` may see it: `None` if the run does not exist for them, its
    /// output and error hidden unless they may see what it saw (see the module's comment).
    pub(crate) fn outcome_for(
        &self,
        principal: &Principal,
        outcome: RunOutcome,
    ) -> Option<RunOutcome> {
        let sight = match self.run_detail(outcome.run_key) {
            // Hidden when it cannot be told (fail closed); `runs show` names what is wrong.
            Ok((info, _)) => self.run_sight(principal, &info).unwrap_or(RunSight::None),
            Err(_) => RunSight::None,
        };
        match sight {
            RunSight::None => None,
            RunSight::Full => Some(outcome),
            RunSight::Summary => Some(self.hide_outcome(principal, outcome)),
        }
    }

    /// `outcome` without what the run saw: no output, its error withheld, and only the
    /// interactions it waits on that `principal` may see. Every iteration of a loop that
    /// waited on an interaction was listed, telling how many items (cases among them) the
    /// run's query found (leak review).
    fn hide_outcome(&self, principal: &Principal, outcome: RunOutcome) -> RunOutcome {
        let exit_status = match self.run_place(&outcome.run_id) {
            Ok(Some(place)) if !self.tells_hidden(principal, &place) => outcome.exit_status.clone(),
            _ => None,
        };
        let waiting_on = outcome
            .waiting_on
            .iter()
            .filter(|id| self.interaction(principal, id, None).is_ok())
            .cloned()
            .collect();
        RunOutcome {
            output: serde_json::Value::Null,
            error: outcome.error.map(|_| HIDDEN.to_owned()),
            exit_status,
            waiting_on,
            ..outcome
        }
    }

    /// The outcome of a run `principal` caused (started through a flow, or resumed with an
    /// answer): they know it exists, so its id and status are theirs to see even without
    /// `playbook.get`; what it saw is shown as [`Platform::outcome_for`] allows.
    pub(crate) fn caused_outcome_for(
        &self,
        principal: &Principal,
        outcome: RunOutcome,
    ) -> RunOutcome {
        let hidden = outcome.clone();
        self.outcome_for(principal, outcome)
            .unwrap_or_else(|| self.hide_outcome(principal, hidden))
    }
}

impl Platform {
    /// The outcome of an Interaction Flow `principal` started: its output (the flow's answer
    /// to its form, shaped by its publisher for the people its settings let start it, SPEC
    /// IX-1) unless the run read a restricted case they may not see, which it may quote
    /// (SPEC CS-2, WF-10: a starter without `playbook.get` was told what `runs show` hid from
    /// them; leak review); its error only if they may see what the run saw (a failed step's
    /// message is not shaped by anyone and may quote what the run's identity read).
    pub(crate) fn flow_outcome_for(
        &self,
        principal: &Principal,
        outcome: RunOutcome,
    ) -> RunOutcome {
        let output = match self.run_place(&outcome.run_id) {
            Ok(Some(place)) if !self.decided_on_hidden(principal, place.key, &place.workspace) => {
                outcome.output.clone()
            }
            _ => serde_json::Value::Null,
        };
        RunOutcome {
            output,
            ..self.caused_outcome_for(principal, outcome)
        }
    }
}

/// How a run's identity of another workspace (a shared flow's) is shown: no person's or
/// key's name.
pub const FOREIGN_IDENTITY: &str = "other-workspace";

/// The run without what it saw.
fn summary(run: RunInfo) -> RunInfo {
    RunInfo {
        output: None,
        error: run.error.map(|_| HIDDEN.to_owned()),
        // How many entries it has tells how many items its loops went over; that some were
        // left out does not, and without it a step left out was drawn "not run" (round 16
        // web review).
        steps_cut: run.steps_omitted > 0 || run.steps_cut,
        steps_omitted: 0,
        ..run
    }
}

/// The answer about a run one may not see, word for word a missing one's: the id is not
/// echoed (SPEC ID-4).
fn no_such_run() -> Error {
    Error::NotFound("there is no such run".into())
}

/// `steps` with a loop's iterations shown once per step of its body, as `each[*].x` (the
/// first iteration's record, with the first status other than `succeeded` of any): how many
/// iterations there were tells how many items the run saw, cases among them the reader may
/// not see (SPEC CS-2); whether one failed does not, and the first's status alone showed a
/// failed step as succeeded (round 16 web review).
fn one_per_loop_step(steps: Vec<StepRecord>) -> Vec<StepRecord> {
    let mut at = std::collections::HashMap::new();
    let mut shown: Vec<StepRecord> = Vec::new();
    for s in steps {
        let step = without_indexes(&s.step);
        match at.get(&step) {
            Some(&i) => {
                let first: &mut StepRecord = &mut shown[i];
                if first.status == "succeeded" && s.status != "succeeded" {
                    first.status = s.status;
                    first.error = first.error.take().or(s.error);
                }
            }
            None => {
                at.insert(step.clone(), shown.len());
                shown.push(StepRecord { step, ..s });
            }
        }
    }
    shown
}

/// An observer that keeps what it is told, to pass it on once the run has stopped and what it
/// read is known ([`HeldTrace::replay_into`]): a trace decided before a resume showed the
/// branches a case read during it decided (review).
/// It keeps what a [`LoopSummary`] would show, each loop step once, and of a step's result
/// only whether it failed: a run's outputs are not held twice.
#[derive(Default)]
pub struct HeldTrace {
    lines: std::sync::Mutex<Vec<TraceLine>>,
    shown: OncePerLoopStep,
}

/// One call an observer got.
enum TraceLine {
    Finished {
        key: String,
        result: Result<serde_json::Value, String>,
        duration: std::time::Duration,
        replayed: bool,
    },
    Waiting {
        key: String,
        interaction: PublicId,
    },
    Sleeping {
        key: String,
        wake_ms: i64,
    },
}

impl HeldTrace {
    fn keep(&self, line: TraceLine) {
        self.lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line);
    }

    /// Passes on to `observer` what this kept, in order.
    pub fn replay_into(self, observer: &dyn Observer) {
        let lines = self.lines.into_inner().unwrap_or_else(|p| p.into_inner());
        for line in lines {
            match line {
                TraceLine::Finished {
                    key,
                    result,
                    duration,
                    replayed,
                } => observer.step_finished(&key, &result, duration, replayed),
                TraceLine::Waiting { key, interaction } => {
                    observer.step_waiting(&key, &interaction)
                }
                TraceLine::Sleeping { key, wake_ms } => observer.step_sleeping(&key, wake_ms),
            }
        }
    }
}

impl Observer for HeldTrace {
    fn step_finished(
        &self,
        key: &str,
        result: &Result<serde_json::Value, String>,
        duration: std::time::Duration,
        replayed: bool,
    ) {
        if let Some(key) = self.shown.first(key, "finished") {
            self.keep(TraceLine::Finished {
                key,
                result: result
                    .as_ref()
                    .map(|_| serde_json::Value::Null)
                    .map_err(|_| String::new()),
                duration,
                replayed,
            });
        }
    }

    fn step_waiting(&self, key: &str, interaction: &PublicId) {
        if let Some(key) = self.shown.first(key, "waiting") {
            self.keep(TraceLine::Waiting {
                key,
                interaction: interaction.clone(),
            });
        }
    }

    fn step_sleeping(&self, key: &str, wake_ms: i64) {
        if let Some(key) = self.shown.first(key, "sleeping") {
            self.keep(TraceLine::Sleeping { key, wake_ms });
        }
    }
}

/// An observer passing on what a summary of the run shows (SPEC CS-2): each step of a loop's
/// body once, as `each[*].x`, on its first iteration. For a live trace shown to someone who
/// may not see what the run saw (a flow's starter, an answerer, an operator resuming
/// another's run): one line per iteration told them how many items, cases among them, the
/// run saw (authority review).
pub struct LoopSummary<'a> {
    inner: &'a dyn Observer,
    shown: OncePerLoopStep,
}

impl<'a> LoopSummary<'a> {
    /// Passes on to `inner`.
    pub fn new(inner: &'a dyn Observer) -> Self {
        LoopSummary {
            inner,
            shown: OncePerLoopStep::default(),
        }
    }

    fn first(&self, key: &str, what: &'static str) -> Option<String> {
        self.shown.first(key, what)
    }
}

/// The loop steps a trace has shown, each once (`each[*].x`) whatever its iterations.
#[derive(Default)]
struct OncePerLoopStep(std::sync::Mutex<std::collections::HashSet<(&'static str, String)>>);

impl OncePerLoopStep {
    /// `key` as shown, if it is the first of its loop step for `what`.
    fn first(&self, key: &str, what: &'static str) -> Option<String> {
        let step = without_indexes(key);
        let mut shown = self.0.lock().unwrap_or_else(|p| p.into_inner());
        shown.insert((what, step.clone())).then_some(step)
    }
}

impl Observer for LoopSummary<'_> {
    fn step_finished(
        &self,
        key: &str,
        result: &Result<serde_json::Value, String>,
        duration: std::time::Duration,
        replayed: bool,
    ) {
        if let Some(step) = self.first(key, "finished") {
            self.inner.step_finished(&step, result, duration, replayed);
        }
    }

    // Once per loop step too: a line per iteration counted the items.
    fn step_waiting(&self, key: &str, interaction: &PublicId) {
        if let Some(step) = self.first(key, "waiting") {
            self.inner.step_waiting(&step, interaction);
        }
    }

    fn step_sleeping(&self, key: &str, wake_ms: i64) {
        if let Some(step) = self.first(key, "sleeping") {
            self.inner.step_sleeping(&step, wake_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(step: &str, status: &str) -> StepRecord {
        StepRecord {
            step: step.into(),
            status: status.into(),
            output: None,
            error: (status != "succeeded").then(|| format!("{step} failed")),
            attempts: 1,
            duration_us: 10,
        }
    }

    /// A loop's body step is shown once, with the status of its first iteration that did
    /// not succeed: the first iteration's alone showed a failed step as succeeded (round 16
    /// web review).
    #[test]
    fn a_loop_step_shown_once_keeps_a_failure_of_any_iteration() {
        let shown = one_per_loop_step(vec![
            record("a", "succeeded"),
            record("each[0].x", "succeeded"),
            record("each[1].x", "failed"),
            record("each[2].x", "succeeded"),
            record("each[0].y", "succeeded"),
        ]);
        let steps: Vec<(&str, &str)> = shown
            .iter()
            .map(|s| (s.step.as_str(), s.status.as_str()))
            .collect();
        assert_eq!(
            steps,
            [
                ("a", "succeeded"),
                ("each[*].x", "failed"),
                ("each[*].y", "succeeded")
            ]
        );
        assert!(shown[1].error.is_some(), "its error goes with it");
    }
}
