//! Interactions (SPEC IX): a run waits on hold at an interaction until an allowed person answers
//! or its deadline passes. Who may see and answer is decided by
//! [`crate::access::AccessIndex::check_flow`]; this module stores interactions, lists them only
//! to those people (IX-7), accepts one response, audits every attempt (IX-8), and times out.

pub mod resolve;
mod store;

use serde::Serialize;
use serde_json::{Value, json};

use crate::Error;
use crate::access::AccessIndex;
use crate::access::Reason;
use crate::access::{FlowAccess, FlowDecision};
use crate::audit::{self, Actor};
use crate::clock;
use crate::platform::Platform;
use crate::principal::Principal;
use crate::public_id::{IdKind, PublicId};
use crate::runs::RunRef;
use crate::store::{Connection, Transaction};

use crate::definition::form::Form;

/// What opening an interaction records.
pub struct NewInteraction<'a> {
    pub run: i64,
    pub step_key: &'a str,
    pub workspace: &'a str,
    pub workflow: &'a str,
    pub title: &'a str,
    pub form: &'a Form,
    pub access: &'a FlowAccess,
    /// How long it stays open, in milliseconds, from when it is stored (by the clock the
    /// deployment shares, `store::clock`); `None` waits until answered.
    pub timeout_ms: Option<i64>,
    /// The host executing the run, which opens it only while it holds the run's lease.
    pub owner: &'a str,
}

/// Where an interaction of a run stands.
#[derive(Clone, Debug, PartialEq)]
pub enum State {
    Open {
        id: PublicId,
        deadline_ms: Option<i64>,
    },
    /// Answered or timed out: the response record the step outputs (SPEC IX-8).
    Closed(Value),
}

/// An interaction as shown to someone allowed to see it.
#[derive(Clone, Debug, Serialize)]
pub struct InteractionView {
    /// Its id as people see it (`I-…`, SPEC ID-4).
    pub id: PublicId,
    pub workspace: String,
    pub workflow: String,
    /// Its run's id as people see it (`R-…`).
    pub run: PublicId,
    pub step: String,
    pub title: String,
    pub form: Form,
    pub status: String,
    pub created_at: String,
    pub deadline: Option<String>,
    /// The response record once answered or timed out.
    pub response: Option<Value>,
    /// Why the viewer may see it.
    pub access_reason: String,
}

/// An accepted response: the run to resume and the record the step outputs.
#[derive(Clone, Debug)]
pub struct Answer {
    pub run: RunRef,
    /// The workspace of the interaction and its run, where the runs it triggers start.
    pub workspace: String,
    pub response: Value,
    /// The answer its responder had given already, sent again as it was (a retry after a
    /// lost reply, a double click): taken once, told so, and its run resumed as after the
    /// first. Any other answer to an answered interaction is a conflict.
    pub repeated: bool,
    /// For a repeated answer: its run has ended since, and there is nothing to resume.
    pub run_ended: bool,
}

/// An interaction as stored, read by `store`.
struct Interaction {
    /// The internal key.
    id: i64,
    /// The id people see.
    public: PublicId,
    /// The run's internal key.
    run: i64,
    /// The run's id people see.
    run_public: PublicId,
    step: String,
    workspace: String,
    workflow: String,
    title: String,
    form: Form,
    access: FlowAccess,
    status: Status,
    created_at: i64,
    deadline_ms: Option<i64>,
    responder: Option<String>,
    responded_at: Option<i64>,
    values: Option<Value>,
    /// The case whose event started its run, if one did: whoever may not see that case may
    /// not see the run's interactions either (SPEC CS-2, as `runs show` and `triggers list`).
    trigger_case: Option<i64>,
}

/// Where an interaction is in its life (SPEC IX-8): open, then answered once or timed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Open,
    Responded,
    TimedOut,
}

impl Status {
    /// As stored and shown.
    fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Responded => "responded",
            Status::TimedOut => "timed_out",
        }
    }

    /// A stored status; `None` for a text the host never writes.
    fn parse(text: &str) -> Option<Status> {
        [Status::Open, Status::Responded, Status::TimedOut]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

impl Interaction {
    /// The record the interaction step outputs (SPEC IX-8), once closed.
    fn response(&self) -> Option<Value> {
        let at = |ms: i64| clock::rfc3339(ms.div_euclid(1000));
        match self.status {
            Status::Responded => Some(json!({
                "interaction": self.public,
                "responder": self.responder,
                "responded_at": self.responded_at.map(at),
                "values": self.values.clone(),
                "timed_out": false,
            })),
            Status::TimedOut => Some(json!({
                "interaction": self.public,
                "responder": null,
                "responded_at": self.responded_at.map(at),
                "values": {},
                "timed_out": true,
            })),
            Status::Open => None,
        }
    }

    fn view(&self, decision: &FlowDecision) -> InteractionView {
        InteractionView {
            id: self.public.clone(),
            workspace: self.workspace.clone(),
            workflow: self.workflow.clone(),
            run: self.run_public.clone(),
            // Without its loop indexes: `each[37].approve` told whoever may answer one item
            // that the run's query found at least 38 cases (leak review; SPEC CS-2), as run
            // pages hide them (`workflow/run_access.rs`, `runs::without_indexes`).
            step: crate::runs::without_indexes(&self.step),
            title: self.title.clone(),
            form: self.form.clone(),
            status: self.status.as_str().to_owned(),
            created_at: clock::rfc3339(self.created_at),
            deadline: self
                .deadline_ms
                .map(|ms| clock::rfc3339(ms.div_euclid(1000))),
            response: self.response(),
            access_reason: decision.reason.to_string(),
        }
    }
}

/// Open interactions a list reads at a time.
const LIST_CHUNK: usize = 256;

/// Which page of open interactions a listing shows: at most `limit` (default
/// [`OpenPage::DEFAULT`]), the first after interaction `after` (the last of the page
/// before), oldest first.
#[derive(Clone, Debug, Default)]
pub struct OpenPage {
    pub after: Option<PublicId>,
    /// `None`: [`OpenPage::DEFAULT`].
    pub limit: Option<usize>,
}

impl OpenPage {
    /// Interactions listed when no limit is given.
    pub const DEFAULT: usize = 100;
    /// The most one page lists (forms included: 64 KiB each at most).
    pub const MAX: usize = 1000;

    /// The page's size, or why it is not one.
    pub fn limit(&self) -> Result<usize, Error> {
        crate::runs::page_size(self.limit, Self::DEFAULT, Self::MAX, "interactions")
    }
}

/// Now, in Unix milliseconds.
pub use crate::clock::now_ms;

/// What a response attempt came to, decided inside the transaction that audits it.
enum Verdict {
    Accepted(Answer),
    Refused(Error),
}

/// Interactions one run opens at most, in all its life.
pub const MAX_RUN_INTERACTIONS: i64 = 1_000;

impl Platform {
    /// Opens an interaction of a run (idempotent per run and step: reopening returns the
    /// existing one). The run itself is put on hold when its execution stops. Returns the id
    /// people see.
    ///
    /// `decided` decides again, on access data as of the write, whether it may open (its
    /// publisher's `interaction.write`): a demotion committed by another host between the
    /// engine's look and this write opened one more approval (authority review).
    pub(crate) fn open_interaction(
        &self,
        new: &NewInteraction<'_>,
        decided: &dyn Fn(&crate::access::AccessIndex) -> Result<(), Error>,
    ) -> Result<PublicId, Error> {
        let id = PublicId::new(IdKind::Interaction)?;
        self.transact(|tx| {
            decided(&*self.index_in(tx)?)?;
            // Only by the host holding the run, as its journal entries and a wait's deadline
            // are (round 24 kill and concurrency review): a host whose lease lapsed opened a
            // row no execution of the new holder's might reach, whose answer then resumed
            // the run for nothing.
            crate::runs::store::journal::fence(tx, new.run, new.owner)?;
            // A parallel loop went on opening one per item, each with its form and access
            // stored and listed, and every answer replayed them all (round 15 hostile-input
            // review). Reopening one it has is not another.
            let (opened, this_one) = store::opened_by(tx, new)?;
            if !this_one && opened >= MAX_RUN_INTERACTIONS {
                return Err(Error::Invalid(format!(
                    "a run opens at most {MAX_RUN_INTERACTIONS} interactions, and this one \
                     has opened {opened} (SPEC ST-4)"
                )));
            }
            let deadline_ms = match new.timeout_ms {
                Some(t) => Some(crate::store::clock::now_ms(tx)?.saturating_add(t)),
                None => None,
            };
            store::open(tx, new, deadline_ms, &id)
        })
    }

    /// The interaction run `run` opened at `step_key`, if any. An open one past its deadline
    /// is timed out here, so a late resume takes the timeout path (SPEC IX-8).
    pub(crate) fn interaction_state(
        &self,
        run: i64,
        step_key: &str,
    ) -> Result<Option<State>, Error> {
        self.transact(|tx| {
            let Some(mut r) = store::of_step(tx, run, step_key)? else {
                return Ok(None);
            };
            if r.status == Status::Open
                && let Some(deadline) = r.deadline_ms
                && deadline <= crate::store::clock::now_ms(tx)?
            {
                time_out(tx, &r)?;
                r.status = Status::TimedOut;
                r.responded_at = r.deadline_ms;
            }
            Ok(Some(match r.response() {
                Some(response) => State::Closed(response),
                None => State::Open {
                    id: r.public.clone(),
                    deadline_ms: r.deadline_ms,
                },
            }))
        })
    }

    /// One page of the open interactions of `workspace` that `principal` may answer, and
    /// only those (SPEC IX-7: no access, not listed), oldest first: at most `page`'s limit,
    /// after the interaction it names.
    pub(crate) fn open_interactions(
        &self,
        principal: &Principal,
        workspace: &str,
        page: &OpenPage,
    ) -> Result<Vec<InteractionView>, Error> {
        // A missing workspace and one the principal is not in read alike (SPEC ID-4).
        let index = self.index();
        if index.workspace(workspace).is_none() || index.is_outsider(principal, workspace) {
            return Err(Error::NotFound(
                crate::access::Reason::UnknownWorkspace(workspace.to_owned()).to_string(),
            ));
        }
        let limit = page.limit()?;
        let mut after = match &page.after {
            None => 0,
            Some(id) => self.listed_key(principal, workspace, id)?,
        };
        if !index.may_answer_any(principal) {
            return Ok(Vec::new());
        }
        let mut shown = Vec::new();
        // Read a chunk at a time, each dropped once sifted: the whole workspace's open
        // interactions, forms and all, were read for every member's list, theirs or not
        // (HTTP review: 10,000 of 64 KiB forms were 640 MB a page). A page holds `limit`
        // at most, and the shared connection is let go between chunks: a list of every
        // open interaction held it, and every tenant's calls waited, while thousands were
        // sifted (round 26 web review).
        while shown.len() < limit {
            let db = self.db()?;
            let conn = db.conn();
            let now = crate::store::clock::now_ms(conn)?;
            let chunk = store::open_in(conn, workspace, after, now, LIST_CHUNK)?;
            let more = chunk.len() == LIST_CHUNK;
            for (key, row) in chunk {
                if shown.len() == limit {
                    break;
                }
                after = key;
                // One row that does not read is logged and left out; the others are listed
                // (round 24 web review: it failed the list, the web's home page, for every
                // member of the workspace). `interact show` of it names what is wrong.
                let r = match row {
                    Ok(r) => r,
                    Err(e) => {
                        crate::error::logged(
                            &format!("open interaction row {key} of `{workspace}`"),
                            &e.to_string(),
                        );
                        continue;
                    }
                };
                let d = index.check_flow(principal, &r.workspace, &r.access);
                if d.allowed && case_allows(conn, &index, principal, &r)? {
                    shown.push(r.view(&d));
                }
            }
            if !more {
                break;
            }
        }
        Ok(shown)
    }

    /// The internal key of interaction `id`, a listing's cursor: one `principal` may see in
    /// `workspace` (the last of the page before), else a bad page link, alike whether it
    /// exists or not, as a run listing's cursor is.
    fn listed_key(
        &self,
        principal: &Principal,
        workspace: &str,
        id: &PublicId,
    ) -> Result<i64, Error> {
        let no_such = || {
            Error::Invalid(
                "`after` names no interaction of this listing; start from the first".to_owned(),
            )
        };
        match self.interaction(principal, id, Some(workspace)) {
            Ok(_) => {}
            Err(Error::NotFound(_)) => return Err(no_such()),
            Err(e) => return Err(e),
        }
        store::key_in(self.db()?.conn(), workspace, id)?.ok_or_else(no_such)
    }

    /// Interaction `id`, if `principal` may see it; otherwise it does not exist for them
    /// (SPEC IX-7).
    pub(crate) fn interaction(
        &self,
        principal: &Principal,
        id: &PublicId,
        within: Within<'_>,
    ) -> Result<InteractionView, Error> {
        // The id is not echoed: a real id one may not see and any missing one read byte for
        // byte alike (SPEC ID-4).
        let not_found = || Error::NotFound("there is no such interaction you may see".into());
        let mut r = member_row(self.db()?.conn(), &self.index(), principal, id, within)?
            .ok_or_else(not_found)?;
        let d = self.index().check_flow(principal, &r.workspace, &r.access);
        if !d.allowed {
            return Err(not_found());
        }
        // Past its deadline it takes no answer: shown timed out, as the scheduler will record
        // it, response and all (round 16 web review; self-review: the status alone differed
        // from a recorded timeout's shape). Its run's end, below, says closed instead.
        if r.status == Status::Open
            && let Some(deadline) = r.deadline_ms
            && deadline <= crate::store::clock::now_ms(self.db()?.conn())?
            && !crate::runs::store::journal::has_ended(self.db()?.conn(), r.run)?
        {
            r.status = Status::TimedOut;
            r.responded_at = Some(deadline);
        }
        let mut view = r.view(&d);
        // An answer's values may quote what the run read: to anyone but who gave them, they
        // are shown only while one sees every restricted case the run read, as the audit log
        // shows them (leak review; SPEC CS-2).
        let answered_by_them = r.responder.is_some()
            && r.responder.as_deref() == principal.email().map(|e| e.as_str());
        if !answered_by_them
            && view
                .response
                .as_ref()
                .is_some_and(|v| v["values"].as_object().is_some_and(|o| !o.is_empty()))
        {
            let viewer = crate::cases::Viewer::of(
                &self.index(),
                &crate::principal::Caller::of(principal, &r.workspace),
            );
            // As the run read them: the reader is not the run.
            let reads = crate::cases::RunReads::all(r.run);
            let judged = crate::cases::Judged::AsRead;
            if crate::cases::run_read_hidden_from(self.db()?.conn(), reads, &viewer, judged)?
                && let Some(response) = view.response.as_mut()
            {
                response["values"] = serde_json::json!({});
                response["values_hidden"] = serde_json::json!(true);
            }
        }
        // Open, but its run has ended: it takes no answer (see `respond`), so it is shown
        // closed, and no door offers its form.
        if r.status == Status::Open
            && crate::runs::store::journal::has_ended(self.db()?.conn(), r.run)?
        {
            view.status = "closed".to_owned();
        }
        Ok(view)
    }

    /// Records that `principal` tried to answer interaction `id` through a door that refused
    /// before answering (the web page of an interaction one may not see): audited as
    /// [`Platform::respond`] audits a refusal, when `principal` has a standing in its
    /// workspace and the settings refuse them (SPEC IX-8); nothing for an outsider (SPEC
    /// ID-4) or someone allowed. Never answers.
    pub(crate) fn audit_refused_answer(
        &self,
        principal: &Principal,
        id: &PublicId,
        within: Within<'_>,
    ) -> Result<(), Error> {
        let index = self.index();
        self.transact(|tx| {
            let (r, reason) = match standing_row(tx, &index, principal, id, within)? {
                Standing::Outside => return Ok(()),
                Standing::CaseHides(r) => (r, CASE_HIDES.to_owned()),
                Standing::Sees(r) => {
                    let decision = index.check_flow(principal, &r.workspace, &r.access);
                    if decision.allowed {
                        return Ok(());
                    }
                    (r, decision.reason.to_string())
                }
            };
            audit_denied_answer(tx, principal, id, &r, &reason)
        })
    }

    /// Answers interaction `id` as `principal` with `values`. Accepted once, only from someone
    /// the settings allow, only before the deadline, only with values the form accepts. Every
    /// attempt is audited with the responder and the outcome; a refused one changes nothing
    /// else (SPEC IX-8).
    pub(crate) fn respond(
        &self,
        principal: &Principal,
        id: &PublicId,
        values: &Value,
    ) -> Result<Answer, Error> {
        let missing = || Verdict::Refused(Error::NotFound("there is no such interaction".into()));
        // Nor does one who is no person (a key) learn which interactions exist: the answer for
        // none, as showing one answers it, before any row is read, and no audit row a try
        // (round 29 web review: 403 and a row for one that exists, 404 for none).
        if !self.index().may_answer_any(principal) {
            return Err(Error::NotFound("there is no such interaction".into()));
        }
        let verdict = self.transact(|tx| {
            // Decided on access data as of the write lock: an access write of another host
            // that committed while this waited for it counts (SPEC IX-8).
            let index = self.index_in(tx)?;
            // An outsider gets the answer for nothing and writes nothing into a workspace
            // they are not in; a member who is refused is audited below (SPEC ID-4, IX-8).
            let r = match standing_row(tx, &index, principal, id, None)? {
                Standing::Sees(r) => r,
                Standing::Outside => return Ok(missing()),
                // Audited as every refused member's attempt is, answered as for none (round
                // 30 web review: no entry, where SPEC IX-8 audits every attempt).
                Standing::CaseHides(r) => {
                    audit_denied_answer(tx, principal, id, &r, CASE_HIDES)?;
                    return Ok(missing());
                }
            };
            let target = format!("interaction:{id}");
            let run = &r.run_public;
            let audit = |action: &str, details: Value| {
                audit::record(tx, &Actor::Principal(principal), &r.workspace, action, &target, details)
            };
            let decision = index.check_flow(principal, &r.workspace, &r.access);
            if !decision.allowed {
                let reason = decision.reason.to_string();
                audit("interaction.respond.denied", json!({ "run": run, "step": r.step, "reason": reason }))?;
                // A member (or known SSO identity) is told why; outsiders never get here.
                return Ok(Verdict::Refused(Error::Denied(Reason::Answer {
                    principal: principal.clone(),
                    interaction: id.to_string(),
                    reason: Box::new(decision.reason),
                })));
            }
            let refuse = |why: String| -> Result<Verdict, Error> {
                audit("interaction.respond.refused", json!({ "run": run, "step": r.step, "reason": why }))?;
                Ok(Verdict::Refused(Error::Conflict(why)))
            };
            match r.status {
                Status::Responded => {
                    // One's own answer sent again, the same once checked: every door says it
                    // was taken (round 17 fixed the web's only; round 18 reviews: the CLI and
                    // API answered a conflict, "already answered by" oneself, and a CLI
                    // killed during its resume could not resume the run by answering again).
                    let mine = principal
                        .email()
                        .is_some_and(|me| r.responder.as_deref() == Some(me.as_str()));
                    if mine && r.form.check(values).ok().map(Value::Object) == r.values {
                        audit("interaction.respond.repeated", json!({ "run": run, "step": r.step }))?;
                        let run_ended = crate::runs::store::journal::has_ended_locked(tx, r.run)?;
                        return Ok(Verdict::Accepted(Answer {
                            run: RunRef {
                                key: r.run,
                                id: r.run_public.clone(),
                            },
                            workspace: r.workspace.clone(),
                            response: r.response().unwrap_or(Value::Null),
                            repeated: true,
                            run_ended,
                        }));
                    }
                    return refuse(format!(
                        "interaction {id} was already answered by {} (a response is accepted once, SPEC IX-8)",
                        r.responder.as_deref().unwrap_or("someone")
                    ));
                }
                Status::TimedOut => {
                    return refuse(format!("interaction {id} timed out; it takes no response (SPEC IX-8)"));
                }
                Status::Open => {}
            }
            // A run can end with an interaction still open (a sibling branch failed or
            // exited): an answer to it would be stored and audited, and reach nothing
            // (concurrency review). Read under the write lock, and on PostgreSQL with the
            // run's row share-locked (its end takes no write lock there), so a run ending
            // now is seen. The workspace's lock first, as a run's end takes it before the
            // run's row (the audit entry below needs it anyway): the other order could
            // deadlock with an end that publishes events (review of this change).
            tx.lock_workspace(&r.workspace)
                .map_err(crate::platform::internal)?;
            if crate::runs::store::journal::has_ended_locked(tx, r.run)? {
                return refuse(format!(
                    "interaction {id} belongs to run {run}, which has ended; it takes no response (SPEC IX-8)"
                ));
            }
            let now = crate::store::clock::now_ms(tx)?;
            if r.deadline_ms.is_some_and(|d| d <= now) {
                // Closing it is left to whoever resumes the run (`serve`, or a resume), so that
                // the run is claimed and resumed by one process.
                return refuse(format!("interaction {id} timed out; it takes no response (SPEC IX-8)"));
            }
            let values = match r.form.check(values) {
                Ok(v) => Value::Object(v),
                Err(e) => {
                    audit("interaction.respond.invalid", json!({ "run": run, "step": r.step, "reason": e }))?;
                    return Ok(Verdict::Refused(Error::Invalid(format!("interaction {id}: {e}"))));
                }
            };
            let responder = principal.email().map(ToString::to_string);
            store::respond(tx, r.id, responder.as_deref(), now, &values)?;
            crate::runs::store::journal::claim_held(tx, r.run)?;
            audit(
                "interaction.respond",
                json!({ "run": run, "step": r.step, "reason": decision.reason.to_string(), "values": values }),
            )?;
            let mut answered = r;
            answered.status = Status::Responded;
            answered.responder = responder;
            answered.responded_at = Some(now);
            answered.values = Some(values);
            Ok(Verdict::Accepted(Answer {
                run: RunRef {
                    key: answered.run,
                    id: answered.run_public.clone(),
                },
                workspace: answered.workspace.clone(),
                response: answered.response().unwrap_or(Value::Null),
                repeated: false,
                run_ended: false,
            }))
        })?;
        match verdict {
            Verdict::Accepted(answer) => Ok(answer),
            Verdict::Refused(e) => Err(e),
        }
    }

    /// Times out every open interaction past its deadline and returns their runs, now ready to
    /// resume on their timeout paths (SPEC IX-8), and the errors of those that did not read
    /// (and of a transaction that failed, the rest left for the next round):
    /// each stays open, named, and the others are timed out all the same. Before, one row
    /// this host could not read failed every scheduler round, and no run of any workspace
    /// was resumed (concurrency review).
    ///
    /// All that are due go each round, [`EXPIRED_PER_TRANSACTION`] to a transaction: in one,
    /// a hundred thousand due at once (a flood's, or a host down while they fell due) held
    /// the write lock, SQLite's or PostgreSQL's deployment lock, for seconds, and other runs'
    /// steps failed at their deadlines waiting for it (kill and concurrency review).
    pub(crate) fn expire_due_interactions(&self) -> Result<(Vec<i64>, Vec<Error>), Error> {
        let (now, keys) = {
            let db = self.db()?;
            let now = crate::store::clock::now_ms(db.conn())?;
            (now, store::due_keys(db.conn(), now)?)
        };
        // Only runs this call moved from `on_hold` to `running` are handed back: a run that
        // is executing (or claimed by another process) picks the timeout up itself.
        let mut claimed = Vec::new();
        let mut unreadable = Vec::new();
        for chunk in keys.chunks(EXPIRED_PER_TRANSACTION) {
            let done = self.transact(|tx| {
                let (mut runs, mut errors) = (Vec::new(), Vec::new());
                // Read again under the lock: one answered or timed out meanwhile is passed.
                for &key in chunk {
                    let due = store::due_one(tx, key, now)?;
                    // The workspace's lock before the run's row, as a run's end and `respond`
                    // take them: the other order deadlocked with an end on PostgreSQL's
                    // writers (round 29 kill review).
                    if let Some(Ok(r)) = &due {
                        tx.lock_workspace(&r.workspace)
                            .map_err(crate::platform::internal)?;
                    }
                    match due {
                        None => {}
                        Some(Ok(r))
                            if crate::runs::store::journal::has_ended_locked(tx, r.run)? =>
                        {
                            store::forget_deadline(tx, key)?;
                        }
                        Some(Ok(r)) if time_out(tx, &r)? => runs.push(r.run),
                        Some(Ok(_)) => {}
                        Some(Err(e)) => errors.push(e),
                    }
                }
                Ok((runs, errors))
            });
            match done {
                Ok((runs, errors)) => {
                    claimed.extend(runs);
                    unreadable.extend(errors);
                }
                // The runs earlier chunks claimed are handed back all the same (they are
                // `running` now, and only this call resumes them); the rest wait for the
                // next round (review).
                Err(e) => {
                    unreadable.push(e);
                    break;
                }
            }
        }
        Ok((claimed, unreadable))
    }

    /// The open interactions of run `run` (its key), oldest first, each with the journal
    /// key of the step that opened it.
    pub(crate) fn open_interaction_steps_of(
        &self,
        run: i64,
    ) -> Result<Vec<(String, PublicId)>, Error> {
        store::open_steps_of(self.db()?.conn(), run)
    }

    /// The open interactions of run `run` (its key), oldest first: what it waits on.
    pub(crate) fn open_interactions_of(&self, run: i64) -> Result<Vec<PublicId>, Error> {
        store::open_of(self.db()?.conn(), run)
    }
}

/// How many due interactions one transaction times out.
const EXPIRED_PER_TRANSACTION: usize = 256;

/// The one workspace a door acts in, if it is bound to one (a web session): an interaction
/// of another workspace is answered there as a missing one, and nothing is written into
/// that workspace (HTTP review: a session of one workspace audited refusals into another).
pub(crate) type Within<'a> = Option<&'a str>;

/// Interaction `id`'s row, unless there is none or `principal` has no standing in its
/// workspace. The standing is decided on the workspace alone, before the row is parsed: an
/// outsider is never told that another tenant's row does not read (SPEC ID-4).
fn member_row(
    conn: &Connection,
    index: &AccessIndex,
    principal: &Principal,
    id: &PublicId,
    within: Within<'_>,
) -> Result<Option<Interaction>, Error> {
    Ok(match standing_row(conn, index, principal, id, within)? {
        Standing::Sees(r) => Some(r),
        Standing::CaseHides(_) | Standing::Outside => None,
    })
}

/// How `principal` stands to interaction `id`'s row.
enum Standing {
    /// A standing in its workspace, and the case that started its run is theirs to see.
    Sees(Interaction),
    /// A standing in its workspace, but not the case (`case_allows`): it does not exist for
    /// them, though an answer they try is audited (SPEC IX-8).
    CaseHides(Interaction),
    /// No such row, or no standing in its workspace (SPEC ID-4).
    Outside,
}

/// [`member_row`], telling a row the case hides from none.
fn standing_row(
    conn: &Connection,
    index: &AccessIndex,
    principal: &Principal,
    id: &PublicId,
    within: Within<'_>,
) -> Result<Standing, Error> {
    match store::workspace_of(conn, id)? {
        Some(ws) if !index.is_outsider(principal, &ws) && within.is_none_or(|only| only == ws) => {
            match store::by_public_id(conn, id)? {
                Some(r) if case_allows(conn, index, principal, &r)? => Ok(Standing::Sees(r)),
                Some(r) => Ok(Standing::CaseHides(r)),
                None => Ok(Standing::Outside),
            }
        }
        _ => Ok(Standing::Outside),
    }
}

/// Audits `principal`'s refused answer to interaction `id` (row `r`) and why (SPEC IX-8).
fn audit_denied_answer(
    tx: &Transaction<'_>,
    principal: &Principal,
    id: &PublicId,
    r: &Interaction,
    reason: &str,
) -> Result<(), Error> {
    audit::record(
        tx,
        &Actor::Principal(principal),
        &r.workspace,
        "interaction.respond.denied",
        &format!("interaction:{id}"),
        json!({ "run": r.run_public, "step": r.step, "reason": reason }),
    )
}

/// Why an answer to an interaction the case behind it hides is refused, in its audit entry.
const CASE_HIDES: &str = "the case whose event started its run is not theirs to see (SPEC CS-2)";

/// Whether `principal` may see the case whose event started `r`'s run (true when no case
/// did). Not the cases the run read (`run_cases`): a run as an Owner reads pages of
/// restricted cases, and its interactions for analysts would wait unanswerable, unseen by
/// every responder its settings admit (review); what a title quotes is its publisher's
/// choice. An interaction of a run a restricted case's event started told its title (often
/// the case's), workflow, run and time to every member its settings admit, and took their
/// answers, where the run itself and the event do not exist for them (leak review).
///
/// So is one of a run a custom event started, when the run that emitted it read a case
/// hidden from `principal`: that run, and the event, do not exist for them, and its
/// interactions quoted the hidden case through their titles, one per case found (leak
/// review).
fn case_allows(
    conn: &Connection,
    index: &AccessIndex,
    principal: &Principal,
    r: &Interaction,
) -> Result<bool, Error> {
    // Who answers an interaction is the flow's access settings' to say, `case.read` or not
    // (SPEC IX-7): only restricted cases hide it, on both paths alike.
    let viewer = || crate::cases::Viewer {
        reads_cases: true,
        ..crate::cases::Viewer::of(
            index,
            &crate::principal::Caller::of(principal, &r.workspace),
        )
    };
    if let Some(case) = r.trigger_case
        && !crate::cases::case_seen_in(conn, case, &viewer())?
    {
        return Ok(false);
    }
    // Nor one whose chain an event began that named who left a case in a change that also
    // widened it, to one who did not see the case both before and after: its interactions
    // told who had been on the case (round 28 self-review). Who did sees them: hidden from
    // everyone without bypass, an approval waited for good (round 29 kill review).
    // Looked up whatever its run's own trigger: a run one hop later (a custom event's) is
    // of the chain too (round 29 web review).
    if !viewer().bypass && !crate::cases::saw_events_hidden_for_good(conn, r.run, &viewer())? {
        return Ok(false);
    }
    match store::cause_of(conn, r.run)? {
        // What that run had read when it wrote the event that started this one, not what it
        // read after (kill review), as the cases stand: judged as read, a case widened while
        // an approval waited (a colleague added) left it answerable by nobody without bypass
        // (round 28 self-review; its title may quote the case as it was, note 56).
        Some(cause) => Ok(!crate::cases::run_read_hidden_from(
            conn,
            cause,
            &viewer(),
            crate::cases::Judged::Now,
        )?),
        None => Ok(true),
    }
}

/// Closes an open interaction as timed out and makes its run ready to resume. A timeout never
/// counts as approval: the response has no values and `timed_out: true` (SPEC IX-8). Returns
/// whether the run was on hold and is now claimed (`running`) by the caller.
fn time_out(tx: &Transaction<'_>, r: &Interaction) -> Result<bool, Error> {
    let mut claimed = false;
    if store::time_out(tx, r.id)? {
        claimed = crate::runs::store::journal::claim_held(tx, r.run)?;
        audit::record(
            tx,
            &Actor::Console,
            &r.workspace,
            "interaction.timeout",
            &format!("interaction:{}", r.public),
            json!({ "run": r.run_public, "step": r.step }),
        )?;
    }
    Ok(claimed)
}
