//! The case operations, authorized and audited, behind every door.

use std::collections::BTreeSet;

use serde_json::json;

use crate::Error;
use crate::access::Scope;
use crate::audit::{self, Actor};
use crate::platform::{Platform, internal};
use crate::principal::{Caller, Email, Principal};
use crate::services::caps::MAX_PEOPLE_PER_LIST;
use crate::services::cases::{
    AccessMode, CaseApi, CasePage, CaseQuery, CaseRecord, NewCase, RestrictionUpdate, Restrictions,
};
use crate::services::grants::{Grant, granted, require, require_restriction_update};
use crate::store::{Connection, Transaction, events};

use super::id::{not_found, parse_case_id};
use super::store::{self, CaseRow, NewCaseRow, query};
use super::validate;
use super::viewer::Viewer;

/// `emails` normalized, sorted and each once, or the first that is no email, named as `what`.
fn emails_of(emails: &[String], what: &str) -> Result<Vec<String>, Error> {
    let mut out = BTreeSet::new();
    for raw in emails {
        let email = Email::parse(raw).map_err(|e| Error::Invalid(format!("{what}: {e}")))?;
        out.insert(email.to_string());
    }
    Ok(out.into_iter().collect())
}

fn mode_name(m: AccessMode) -> &'static str {
    match m {
        AccessMode::FullAccess => "full_access",
        AccessMode::Restricted => "restricted",
    }
}

impl Platform {
    /// Deletes at most `limit` restriction updates remembered past their retention at Unix
    /// time `now` (housekeeping); how many.
    pub(crate) fn prune_case_updates(&self, now: i64, limit: usize) -> Result<usize, Error> {
        let before = now.saturating_sub(super::CASE_UPDATE_RETENTION_SECS);
        self.transact(|tx| store::prune_updates(tx, before, limit).map_err(internal))
    }

    /// The external id of case row `id`, which the event log refers to.
    pub(crate) fn case_ref(&self, id: i64) -> Result<String, Error> {
        store::public_of(self.db()?.conn(), id)?
            .ok_or_else(|| Error::NotFound(format!("there is no case row {id}")))
    }

    /// The workspace id of the caller's workspace, with `scope` required of the caller.
    fn case_context(&self, caller: &Caller, scope: Scope) -> Result<(i64, Viewer), Error> {
        self.authorize(&caller.principal, &caller.workspace, scope)?;
        let index = self.index();
        let ws = index.workspace(&caller.workspace).ok_or_else(|| {
            Error::NotFound(format!("there is no workspace `{}`", caller.workspace))
        })?;
        Ok((ws.id, Viewer::of(&index, caller)))
    }

    /// The caller's `scopes` decided again on access data as of the workspace's lock `tx`
    /// holds: decided only before the wait for it, a write went through for someone another
    /// process or host removed meanwhile (round 18 authority review; SPEC RB-4). Answers,
    /// flow starts and publishes decide so too. Returns the caller's sight of cases as of
    /// the lock.
    fn decided_again(
        &self,
        tx: &Transaction<'_>,
        caller: &Caller,
        scopes: &[Scope],
    ) -> Result<Viewer, Error> {
        // No change of access data commits until this write has (PostgreSQL's writing
        // connections take no deployment lock: round 23 kill and concurrency review).
        tx.lock_access(true).map_err(internal)?;
        // Brought up to the lock's access data first: `authorize` then reads it.
        let index = self.index_in(tx)?;
        for scope in scopes {
            self.authorize(&caller.principal, &caller.workspace, *scope)?;
        }
        // Who sees which case as of then too: a demoted reader no longer sees the case
        // (self-review).
        Ok(Viewer::of(&index, caller))
    }

    /// Loads case `text` if it exists in the caller's workspace and the viewer may see it;
    /// otherwise not found, the same answer whether it exists or not (SPEC CS-2).
    fn visible_case(
        &self,
        conn: &Connection,
        ws: i64,
        viewer: &Viewer,
        text: &str,
    ) -> Result<CaseRow, Error> {
        let public = parse_case_id(text).ok_or_else(|| not_found(text))?;
        let id = store::id_of(conn, ws, &public)?.ok_or_else(|| not_found(text))?;
        let row = store::load(conn, id)?
            .filter(|r| r.workspace_id == ws)
            .ok_or_else(|| not_found(text))?;
        let restricted = row.record.access_mode == AccessMode::Restricted;
        if !sees(conn, id, restricted, viewer)? {
            return Err(not_found(text));
        }
        Ok(row)
    }

    /// Whether `viewer` sees case row `id` (SPEC CS-2): not restricted, or they bypass
    /// restrictions, or it names them (and the second person a run's sight needs). A case
    /// that is gone is seen by nobody.
    pub(crate) fn case_seen_by(&self, id: i64, viewer: &Viewer) -> Result<bool, Error> {
        let db = self.db()?;
        case_seen_in(db.conn(), id, viewer)
    }

    /// Emails that are members of the caller's workspace, or the first that is not (SPEC CS-5):
    /// [`emails_of`] each a member.
    pub(crate) fn members_only(
        &self,
        workspace: &str,
        emails: &[String],
        what: &str,
    ) -> Result<Vec<String>, Error> {
        let index = self.index();
        let ws = index
            .workspace(workspace)
            .ok_or_else(|| Error::NotFound(format!("there is no workspace `{workspace}`")))?;
        let out = emails_of(emails, what)?;
        if let Some(email) = out.iter().find(|e| !ws.members.contains_key(e.as_str())) {
            return Err(Error::Invalid(format!(
                "{what}: {email} is not a member of workspace `{workspace}` (SPEC CS-5)"
            )));
        }
        Ok(out)
    }

    /// *Create a case*, at most once per `idempotency_key` (a re-executed workflow step gets
    /// the case it created before, SPEC WF-8).
    pub fn create_case_once(
        &self,
        caller: &Caller,
        input: NewCase,
        idempotency_key: Option<&str>,
    ) -> Result<CaseRecord, Error> {
        self.create_case_keyed(caller, input, idempotency_key, Keyed::ByStep)
    }

    fn create_case_keyed(
        &self,
        caller: &Caller,
        input: NewCase,
        idempotency_key: Option<&str>,
        keyed: Keyed,
    ) -> Result<CaseRecord, Error> {
        // The caller's sight of cases is read again under the lock (`decided_again`).
        let (ws, _) = self.case_context(caller, Scope::CaseWrite)?;
        // A creation its key made already is answered as that case is (below), whoever it
        // named has left since: checked against today's members, a retry after a lost answer
        // was refused as invalid, and a re-executed step failed where it had succeeded
        // (round 20 kill and web reviews). The people are still read as emails.
        // A look, decided again as the case is inserted (below): the open batch is not
        // committed for it.
        let made_before = match idempotency_key {
            Some(key) => store::find_by_idempotency_key(self.db_peek()?.conn(), key)
                .map_err(internal)?
                .is_some_and(|(_, other)| other == ws),
            None => false,
        };
        // Before any work: an oversized case is refused whole (SPEC ST-4). Not one its key
        // made already, which passed the caps of its day: a cap changed since (objects
        // counted as they cost) failed its retry or re-executed step (round 24 self-review).
        if !made_before {
            validate::new_case(&input)?;
        }
        let title = input.title.trim().to_owned();
        let fields = input.fields.unwrap_or_else(|| json!({}));
        if !fields.is_object() {
            return Err(Error::Invalid("`fields` must be a JSON object".into()));
        }
        // Capped nesting: case events embed the fields and must parse when read back (issue
        // 14 item 9).
        if let Err(e) = crate::json_limits::check_depth("the case's `fields`", &fields) {
            return Err(Error::Invalid(e));
        }
        let people = |emails: &[String], what: &str| {
            if made_before {
                emails_of(emails, what)
            } else {
                self.members_only(&caller.workspace, emails, what)
            }
        };
        let assignee = input
            .assignee
            .map(|a| people(&[a], "`assignee`"))
            .transpose()?;
        let assignee = assignee.and_then(|mut a| a.pop());
        let reviewers = people(&input.reviewers, "`reviewers`")?;
        let collaborators = people(&input.collaborators, "`collaborators`")?;
        let mode = input.access_mode.unwrap_or_default();
        // Trimmed as the title is, and as every door's state filter is (door review: a state
        // of `"open "` was found by the API's filter and never by the web's).
        let state = input
            .state
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|| "open".into());
        let actor = caller.principal.to_string();
        // Decided on nothing another transaction may change meanwhile (the index was read
        // above) but the workspace's cases, under its lock from the first look: the same
        // step executed on two hosts at once (a lapsed lease) finds the case the other
        // created, never a duplicate key.
        // The person the caller stands for: a personal key's owner too, as every other
        // decision on the case reads it (round 23 door review: every case the API created
        // had no reporter, the API taking keys only).
        // A run's is the person it acts as in its own workspace (a hand run held by its
        // binder too had none since it acts as a run principal, round 30 self-review); a
        // shared revision's identity, another workspace's, is named nowhere here.
        let reporter = match &caller.principal {
            Principal::Run(run) if !run.shared && !run.borrowed => {
                self.index().person_of(&run.identity)
            }
            own => self.index().person_of(own),
        }
        .map(|e| e.to_string());
        let request = (keyed == Keyed::ByRequest).then(|| {
            request_digest(&json!({
                "title": title,
                "description": input.description,
                "severity": input.severity,
                "state": state,
                "access_mode": mode_name(mode),
                "fields": fields,
                "assignee": assignee,
                "reviewers": reviewers,
                "collaborators": collaborators,
            }))
        });
        let new_row = NewCaseRow {
            workspace_id: ws,
            workspace: &caller.workspace,
            title: &title,
            description: &input.description,
            severity: input.severity,
            state: &state,
            reporter: reporter.as_deref(),
            assignee: assignee.as_deref(),
            mode,
            fields: &fields,
            idempotency_key,
            request: request.as_deref(),
        };
        self.transact_in_workspace(true, |tx| {
            tx.lock_workspace(&caller.workspace).map_err(internal)?;
            let viewer = self.decided_again(tx, caller, &[Scope::CaseWrite])?;
            // Inserted unless its idempotency key is taken (one round trip, where a look-up
            // first took two); taken, the answer is that creation's.
            let inserted = store::insert(tx, &new_row)?;
            // Made anew where the look saw its key taken (by work of the open batch that did
            // not commit after all): its caps and people were not checked, so not made now;
            // tried again, the look sees the key free and checks them.
            if made_before && inserted.is_some() {
                return Err(Error::Busy(
                    "the case's key was taken by work that did not commit; try again".into(),
                ));
            }
            let Some(CaseRow { id, mut record, .. }) = inserted else {
                let key = idempotency_key.ok_or_else(|| {
                    Error::Internal("a case without an idempotency key was not inserted".into())
                })?;
                let Some((id, other)) = store::find_by_idempotency_key(tx, key)? else {
                    return Err(Error::Internal(format!("idempotency key `{key}` is taken by no case")));
                };
                if other != ws {
                    return Err(Error::Conflict(format!("idempotency key `{key}` belongs to another workspace")));
                }
                let public = store::public_of(tx, id)?.ok_or_else(|| {
                    Error::Internal(format!("case row {id} vanished in its own transaction"))
                })?;
                // A requester's key sent with another request is refused, as a start key
                // and a restriction update's are: answered with the first case, the second
                // request was lost with a 201 (round 24 kill and concurrency review). One
                // made before requests were remembered is answered as it was.
                if let Some(asked) = &request
                    && store::request_of(tx, id)?.is_some_and(|stored| stored != *asked)
                {
                    return Err(Error::Conflict(format!(
                        "this key created case {public} with another request; a new case takes a new key"
                    )));
                }
                // The same rule as any read: the case as it is now, if the caller may read
                // cases (`case.read`, a step's `cases:read`) and sees it. A creator who may
                // not read was answered with the case as it is now, its collaborators named
                // (leak review, beside the restriction update's answer).
                let reads = self
                    .index()
                    .check(&caller.principal, &caller.workspace, Scope::CaseRead)
                    .allowed()
                    && granted(caller, Grant::CasesRead).is_ok();
                if reads {
                    match self.visible_case(tx, ws, &viewer, &public) {
                        Ok(row) => {
                            let restricted = row.record.access_mode == AccessMode::Restricted;
                            run_read(tx, caller, row.read(), restricted)?;
                            return Ok(row.record);
                        }
                        Err(Error::NotFound(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                // A requester's key sent again: a case the caller may not read is named, not
                // described from the body sent now, which may be another (round 19
                // self-review: a 201 described a case that does not exist).
                if keyed == Keyed::ByRequest {
                    return Err(Error::Conflict(format!(
                        "this key created case {public} already, which you may not read now"
                    )));
                }
                // Otherwise (a restricted case that does not name its creator, one hidden
                // since, or a creator who may not read cases): what its creation answered, and nothing since. Keys are
                // the host's own, one per call of one run's step, so only the re-execution
                // of that call gets here; before, a step killed before its journal entry
                // failed on its re-execution where it had succeeded (kill review).
                let created = store::as_created(tx, id, &new_row)?.ok_or_else(|| {
                    Error::Internal(format!("case row {id} vanished in its own transaction"))
                })?;
                // As created: what it answers is the case as it stood then (sight 0).
                run_read(tx, caller, store::CaseRead { case: id, sight: 0 }, mode == AccessMode::Restricted)?;
                return Ok(CaseRecord { reviewers: reviewers.clone(), collaborators: collaborators.clone(), ..created });
            };
            // The people it names are members as of the same access data, which no change
            // commits over before this write does (self-review: checked on the index before
            // the lock only, a person another host removed meanwhile was named); refused, the
            // insert rolls back. Decided once it is known to be new: a retry its key answers
            // is answered whoever left since (round 24 review: a retry racing its first
            // request was refused as naming a removed person).
            if !made_before {
                let again = |emails: &[String], what: &str| {
                    self.members_only(&caller.workspace, emails, what).map(drop)
                };
                if let Some(assignee) = &assignee {
                    again(std::slice::from_ref(assignee), "`assignee`")?;
                }
                again(&reviewers, "`reviewers`")?;
                again(&collaborators, "`collaborators`")?;
            }
            run_read(tx, caller, store::CaseRead { case: id, sight: 0 }, mode == AccessMode::Restricted)?;
            let people = assignee.iter().map(|a| (a, "assignee")).chain(reviewers.iter().map(|r| (r, "reviewer"))).chain(collaborators.iter().map(|c| (c, "collaborator")));
            for (email, part) in people {
                store::add_person(tx, id, ws, email, part)?;
            }
            // As `store::load` would read them back: sorted, each once (the key is case,
            // part, email; `members_only` sorted and deduplicated them).
            record.reviewers = reviewers;
            record.collaborators = collaborators.clone();
            store::timeline(tx, id, &actor, "created", &json!({ "access_mode": mode_name(mode), "collaborators": collaborators }))?;
            audit::record(tx, &Actor::Principal(&caller.principal), &caller.workspace, "case.create", &record.id,
                by_run(tx, caller, json!({ "access_mode": mode_name(mode), "collaborators": collaborators, "severity": record.severity }))?)?;
            let sight = (mode == AccessMode::Restricted).then_some(0);
            publish(tx, caller, "case_created", &json!({ "case": record }), &format!("case-service:{actor}"), id, sight)?;
            Ok(record)
        })
    }

    /// A case created through a door with its requester's key (the API's `Idempotency-Key`):
    /// the same key sent again answers the case it created, as
    /// [`Platform::create_case_once`] answers a re-executed step's creation, never a second
    /// case and its triggered runs (round 19 kill and concurrency review). A key is the
    /// requester's own in its workspace; sent again, it answers the case it made as the
    /// caller may read it now, and names it to one who may not; sent with another request
    /// (a digest of what was asked, `cases.request`), it is a conflict naming the case.
    pub fn create_case_requested(
        &self,
        caller: &Caller,
        input: NewCase,
        key: Option<&str>,
    ) -> Result<CaseRecord, Error> {
        let Some(key) = key else {
            return self.create_case(caller, input);
        };
        require(caller, Grant::CasesWrite)?;
        // Apart from every step's keys (`run:…/call-n`) and every other requester's: a JSON
        // list, so no workspace's or key's text can read as another's.
        let key = json!([
            "request",
            caller.workspace,
            crate::stored_principal::principal_to_stored(&caller.principal),
            key
        ])
        .to_string();
        self.create_case_keyed(caller, input, Some(&key), Keyed::ByRequest)
    }

    /// One case, if the caller may see it (`case.read` and SPEC CS-2).
    pub fn get_case(&self, caller: &Caller, case_id: &str) -> Result<CaseRecord, Error> {
        Ok(self.read_case(caller, case_id)?.record)
    }

    /// Case `case_id` as the caller reads it (`case.read` and SPEC CS-2), recorded with the
    /// caller's run if restricted.
    fn read_case(&self, caller: &Caller, case_id: &str) -> Result<CaseRow, Error> {
        let (ws, viewer) = self.case_context(caller, Scope::CaseRead)?;
        validate::case_id(case_id)?;
        let db = self.db()?;
        let row = self.visible_case(db.conn(), ws, &viewer, case_id)?;
        let restricted = row.record.access_mode == AccessMode::Restricted;
        run_read(db.conn(), caller, row.read(), restricted)?;
        Ok(row)
    }

    /// Everyone who can view case `case_id` (SPEC CS-2): members holding `case.read` who are not
    /// SSO-denied and are named on the case or bypass restrictions (or the case is
    /// full-access). The caller must see the case and hold `user.read`.
    pub fn case_viewers(&self, caller: &Caller, case_id: &str) -> Result<Vec<String>, Error> {
        let (ws_id, viewer) = self.case_context(caller, Scope::CaseRead)?;
        self.authorize(&caller.principal, &caller.workspace, Scope::UserRead)?;
        validate::case_id(case_id)?;
        // The connection is let go before each member is decided: every step's calls waited
        // for this page's checks (round 27 self-review).
        let (restricted, named) = {
            let db = self.db()?;
            let row = self.visible_case(db.conn(), ws_id, &viewer, case_id)?;
            let restricted = row.record.access_mode == AccessMode::Restricted;
            (restricted, store::people(db.conn(), row.id)?)
        };
        let named: BTreeSet<String> = [named.assignee, named.reviewers, named.collaborators]
            .into_iter()
            .flatten()
            .collect();
        // Each candidate is decided by the access layer, acting any way they could.
        let index = self.index();
        let ws = index
            .workspace(&caller.workspace)
            .ok_or_else(|| not_found(case_id))?;
        let may = |email: &str, scope: Scope| {
            Email::parse(email).is_ok_and(|e| index.may_act_holding(&e, &caller.workspace, scope))
        };
        let mut out: Vec<String> = ws
            .members
            .keys()
            .filter(|email| {
                may(email, Scope::CaseRead)
                    && (!restricted
                        || named.contains(email.as_str())
                        || may(email, Scope::BypassCaseAccessRestriction))
            })
            .cloned()
            .collect();
        out.sort();
        Ok(out)
    }

    /// Whether the caller may update case `case_id`'s restrictions: `case.write` and its
    /// step's grant besides seeing the case (SPEC CS-4), the same conditions
    /// `update_case_restrictions` checks, so a door offers the change only to those it would
    /// let make it. Not found if the caller may not see the case, as for `get_case` (SPEC
    /// CS-2). An update still decides for itself.
    pub fn may_update_case_restrictions(
        &self,
        caller: &Caller,
        case_id: &str,
    ) -> Result<bool, Error> {
        self.get_case_restrictions(caller, case_id)?;
        Ok(granted(caller, Grant::CasesWrite).is_ok()
            && self
                .check(&caller.principal, &caller.workspace, Scope::CaseWrite)
                .allowed())
    }

    /// `EXPLAIN QUERY PLAN` of the page query `q` would run for `caller` (benchmarks print it).
    pub fn explain_case_query(&self, caller: &Caller, q: &CaseQuery) -> Result<Vec<String>, Error> {
        let (ws, viewer) = self.case_context(caller, Scope::CaseRead)?;
        query::explain(self.db()?.conn(), ws, &viewer, q)
    }
}

/// Whose key a case's creation or restriction update carries: a step's (its re-execution gets
/// what the first call answered) or a requester's (the case as they may read it now, or only
/// named).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keyed {
    ByStep,
    ByRequest,
}

impl CaseApi for Platform {
    fn create_case(&self, caller: &Caller, input: NewCase) -> Result<CaseRecord, Error> {
        require(caller, Grant::CasesWrite)?;
        // Every granted creation takes the next key, so a re-execution's n-th call meets the
        // first execution's n-th whatever became of either (SPEC WF-8).
        let key = caller.next_case_key();
        self.create_case_once(caller, input, key.as_deref())
    }

    fn create_case_from_json(&self, caller: &Caller, json: &str) -> Result<CaseRecord, Error> {
        require(caller, Grant::CasesWrite)?;
        self.create_case(caller, crate::services::cases::parse_case_json(json)?)
    }

    fn query_cases(&self, caller: &Caller, q: CaseQuery) -> Result<CasePage, Error> {
        require(caller, Grant::CasesRead)?;
        let (ws, viewer) = self.case_context(caller, Scope::CaseRead)?;
        // The state and text filters as states are stored, trimmed, at every door (the
        // web's only did: round 20 and 23 door reviews).
        let q = q.normalized();
        validate::query(&q)?;
        let db = self.db()?;
        // A cursor naming a case the reader does not see is refused as one naming no case is:
        // answered, it told that a hidden case of that id exists (SPEC CS-2; round 17 leak
        // review). Its page was the reader's once; the case was restricted since.
        if let Some(public) = q
            .cursor
            .as_deref()
            .and_then(|c| query::opaque_case_of(c, q.sort))
        {
            let seen = match store::id_of(db.conn(), ws, &public)? {
                Some(id) => case_seen_in(db.conn(), id, &viewer)?,
                None => false,
            };
            if !seen {
                return Err(query::bad_cursor());
            }
        }
        let page = query::page(db.conn(), ws, &viewer, &q)?;
        // Each row is decided again as it was loaded: the page's statement and the loads are
        // not one snapshot, and on PostgreSQL a restriction committed between them (another
        // host's, or this one's writer pool) handed out a case hidden by then (storage review).
        let mut rows: Vec<CaseRow> = Vec::new();
        let (mut held, mut last, mut last_shown) = (0usize, None, None);
        for (at, id) in page.ids().enumerate() {
            // A page holds at most MAX_PAGE_BYTES of cases, whatever their page size asked:
            // each part of a case is capped, the page was not, and 200 cases naming 1,000
            // people twice each built about 150 MB in the host for one call (round 25
            // hostile-step review). Cut short, it goes on after the last case it holds.
            if held > MAX_PAGE_BYTES {
                break;
            }
            last = Some(at);
            if let Some(row) = store::load(db.conn(), id)?
                && sees_loaded(&row, &viewer)
            {
                held = held.saturating_add(record_bytes(&row.record));
                rows.push(row);
                last_shown = Some(at);
            }
        }
        // The page goes on after the last case it shows: one hidden between the page and its
        // load named in the cursor told its id, and the cursor was then refused (round 28
        // leak review). The next page's statement leaves out what was hidden; with nothing
        // shown, the same cursor again.
        let next_cursor = match (last, last_shown) {
            (Some(_), Some(shown)) => page.cursor_after(db.conn(), shown)?,
            (Some(_), None) => q.cursor.clone(),
            (None, _) => None,
        };
        let restricted: Vec<store::CaseRead> = rows
            .iter()
            .filter(|r| r.record.access_mode == AccessMode::Restricted)
            .map(CaseRow::read)
            .collect();
        run_reads(db.conn(), caller, &restricted)?;
        let cases = rows.into_iter().map(|r| r.record).collect();
        Ok(CasePage { cases, next_cursor })
    }

    fn get_case_restrictions(&self, caller: &Caller, case_id: &str) -> Result<Restrictions, Error> {
        require(caller, Grant::CasesRead)?;
        let row = self.read_case(caller, case_id)?;
        Ok(Restrictions {
            access_mode: row.record.access_mode,
            collaborators: row.record.collaborators,
        })
    }

    fn update_case_restrictions(
        &self,
        caller: &Caller,
        case_id: &str,
        update: RestrictionUpdate,
    ) -> Result<Restrictions, Error> {
        require_restriction_update(caller)?;
        // Every granted update takes the next key, so a re-execution's n-th update meets the
        // first execution's n-th (SPEC WF-8).
        let key = caller.next_update_key();
        self.update_case_restrictions_once(caller, case_id, update, key.as_deref())
    }
}

impl Platform {
    /// *Update case restrictions*, at most once per `idempotency_key`: a re-executed
    /// workflow step's update gets the first answer and changes nothing again, whatever
    /// changed the case meanwhile (SPEC WF-8, as `create_case_once`).
    pub fn update_case_restrictions_once(
        &self,
        caller: &Caller,
        case_id: &str,
        update: RestrictionUpdate,
        idempotency_key: Option<&str>,
    ) -> Result<Restrictions, Error> {
        self.update_restrictions(
            caller,
            case_id,
            update,
            idempotency_key,
            Keyed::ByStep,
            None,
        )
    }

    /// *Update case restrictions* through a door with its requester's key (the API's
    /// `Idempotency-Key`): sent again, it answers what the first one answered and changes
    /// nothing again, as a re-executed step's update does; a retried delta re-applied over a
    /// change made between (a collaborator removed since added back: round 21). The key is
    /// the requester's own in its workspace, apart from every step's, as a case creation's.
    pub fn update_case_restrictions_requested(
        &self,
        caller: &Caller,
        case_id: &str,
        update: RestrictionUpdate,
        key: Option<&str>,
    ) -> Result<Restrictions, Error> {
        let key = key.map(|key| {
            json!([
                "request",
                caller.workspace,
                crate::stored_principal::principal_to_stored(&caller.principal),
                key
            ])
            .to_string()
        });
        self.update_restrictions(
            caller,
            case_id,
            update,
            key.as_deref(),
            Keyed::ByRequest,
            None,
        )
    }

    /// *Update case restrictions* by someone who saw them as `shown` (the web page's form,
    /// which sends the whole of them): unless they are still those, nothing changes and the
    /// answer is a conflict. The form's replaced them, dropping whoever a workflow had added
    /// since the page was shown, or opening a case restricted meanwhile (hostile-input review).
    pub fn update_case_restrictions_if_unchanged(
        &self,
        caller: &Caller,
        case_id: &str,
        update: RestrictionUpdate,
        shown: &Restrictions,
    ) -> Result<Restrictions, Error> {
        self.update_restrictions(caller, case_id, update, None, Keyed::ByRequest, Some(shown))
    }

    fn update_restrictions(
        &self,
        caller: &Caller,
        case_id: &str,
        update: RestrictionUpdate,
        idempotency_key: Option<&str>,
        keyed: Keyed,
        shown: Option<&Restrictions>,
    ) -> Result<Restrictions, Error> {
        require_restriction_update(caller)?;
        let (ws, _) = self.case_context(caller, Scope::CaseWrite)?;
        // As its grant: a custom role with `case.write` alone read them (leak review).
        self.authorize(&caller.principal, &caller.workspace, Scope::CaseRead)?;
        validate::case_id(case_id)?;
        validate::restriction_update(&update)?;
        let remove = update
            .remove_collaborators
            .iter()
            .map(|raw| {
                Email::parse(raw)
                    .map(|e| e.to_string())
                    .map_err(|e| Error::Invalid(format!("`remove_collaborators`: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let actor = caller.principal.to_string();
        // Read and write in one transaction under the workspace's lock, taken before the case
        // is read: a concurrent update of it (on any host) waits, then reads what this one
        // wrote, so none is lost; the deployment's lock is not needed (issue 18), and the
        // timeline, audit entry and events this writes are numbered under the same lock.
        self.transact_in_workspace(true, |tx| {
            tx.lock_workspace(&caller.workspace).map_err(internal)?;
            let viewer = self.decided_again(tx, caller, &[Scope::CaseWrite, Scope::CaseRead])?;
            // The call's key with the case it names: a retry's n-th update of another case
            // (a step that chose differently) is its own update, not the first one's answer.
            let row = match parse_case_id(case_id) {
                Some(public) => store::id_of(tx, ws, &public)?,
                None => None,
            };
            let key = idempotency_key.zip(row).map(|(key, row)| format!("{key}@{row}"));
            // A request's key is remembered with what it asked; a step's with its run, kept
            // while the run may make the update again.
            let (run, request) = match keyed {
                Keyed::ByStep => (caller.cause.map(|c| c.run), None),
                Keyed::ByRequest => (None, Some(request_text(&update))),
            };
            if let Some(key) = &key
                && let Some(done) = store::case_update(tx, key)?
            {
                // A request's, as its caller may see the case now: restricted away from them
                // since, its remembered collaborators are no longer theirs to read (SPEC
                // CS-2). A re-executed step's is its first answer whatever: its update may
                // have restricted the case away from the run itself (round 21 self-review:
                // such a run failed on its re-execution).
                if keyed == Keyed::ByRequest {
                    self.visible_case(tx, ws, &viewer, case_id)?;
                }
                // Sent with another update, the key is refused as a start's is: answered
                // with the first, the second update was silently not made (round 22 kill
                // and concurrency review).
                if let (Some(asked), Some(first)) = (&request, &done.request)
                    && asked != first
                {
                    return Err(Error::Conflict(format!(
                        "this key made another restriction update of `{case_id}`; a new \
                         update takes a new key"
                    )));
                }
                return serde_json::from_str(&done.result).map_err(|e| {
                    Error::Internal(format!("case_updates.result of `{key}` does not read: {e}"))
                });
            }
            // Remembered under its key with the answer, a no-op's too: made again, it must not
            // change what others changed since.
            let answer = |id: i64, after: Restrictions| -> Result<Restrictions, Error> {
                if let Some(key) = &key {
                    let text = serde_json::to_string(&after).map_err(internal)?;
                    store::record_case_update(tx, key, id, &text, run, request.as_deref())?;
                }
                Ok(after)
            };
            let before = self.visible_case(tx, ws, &viewer, case_id)?;
            let restricted = |m: AccessMode| m == AccessMode::Restricted;
            let will_be = update.access_mode.unwrap_or(before.record.access_mode);
            run_read(tx, caller, before.read(), restricted(before.record.access_mode) || restricted(will_be))?;
            // Who is a member is told only about a case the caller may change: checked before
            // the case, "not a member" against "no such case" told anyone with case.write
            // who belongs to the workspace (hostile step review).
            let set = update
                .set_collaborators
                .as_ref()
                .map(|list| self.members_only(&caller.workspace, list, "`set_collaborators`"))
                .transpose()?;
            let add = self.members_only(&caller.workspace, &update.add_collaborators, "`add_collaborators`")?;
            let old: BTreeSet<String> = before.record.collaborators.iter().cloned().collect();
            let mut new: BTreeSet<String> = set.clone().map_or_else(|| old.clone(), |s| s.into_iter().collect());
            new.extend(add.iter().cloned());
            for email in &remove {
                new.remove(email);
            }
            let old_mode = before.record.access_mode;
            let new_mode = update.access_mode.unwrap_or(old_mode);
            let added: Vec<String> = new.difference(&old).cloned().collect();
            let removed: Vec<String> = old.difference(&new).cloned().collect();
            let after = Restrictions { access_mode: new_mode, collaborators: new.iter().cloned().collect() };
            // What the change asks for already holds: a no-op writes and emits nothing (SPEC
            // CS-6), whatever the page showed, so a form submitted twice (a double click, a
            // reload) is answered with what it set, not "changed since" (round 16 web review).
            if old_mode == new_mode && added.is_empty() && removed.is_empty() {
                // Its remembered answer is a row no event counts: spent as one, or a step's
                // no-op updates stored a row each without bound (round 17 hostile-step
                // review). Not for an update made without a key, which stores nothing.
                if key.is_some() {
                    charge_step(caller, &serde_json::to_value(&after).map_err(internal)?)?;
                }
                return answer(before.id, after);
            }
            // The cap holds for the case, not only for each list of one update: lists of
            // 1,000 added up without bound, and every later update copies the whole list into
            // its audit entry, timeline and events (round 16 hostile-step review). A change
            // that shrinks an over-cap list still passes, so it can be mended (SPEC ST-4).
            if new.len() > MAX_PEOPLE_PER_LIST && new.len() > old.len() {
                return Err(Error::Invalid(format!(
                    "a case names at most {MAX_PEOPLE_PER_LIST} collaborators; this update would \
                     name {} (SPEC ST-4)",
                    new.len()
                )));
            }
            if let Some(shown) = shown {
                let people: BTreeSet<String> = shown
                    .collaborators
                    .iter()
                    .map(|raw| Email::parse(raw).map(|e| e.to_string()).unwrap_or_else(|_| raw.clone()))
                    .collect();
                if people != old || shown.access_mode != old_mode {
                    return Err(Error::Conflict(
                        "the restrictions changed since the page was shown; nothing was changed: \
                         look at them again, then make the change"
                            .into(),
                    ));
                }
            }
            // Widened: opened, or someone added while it stays restricted. Only then may those
            // who see it now not have seen what was read or written of it before (a change that
            // only narrows hides nothing: round 28 self-review, any change hid runs and
            // stranded their interactions).
            let widens = old_mode == AccessMode::Restricted
                && (new_mode == AccessMode::FullAccess || !added.is_empty());
            apply_restrictions(tx, ws, before.id, new_mode, widens, &added, &removed)?;
            let after_row = store::load(tx, before.id)?.ok_or_else(|| not_found(case_id))?;
            // Who saw its events as written: the sight after the change while restricted.
            let stamp = (new_mode == AccessMode::Restricted).then_some(after_row.sight);
            let record = after_row.record;
            let details = json!({
                "before": { "access_mode": mode_name(old_mode), "collaborators": old },
                "after": { "access_mode": mode_name(new_mode), "collaborators": new },
                "added": added, "removed": removed,
            });
            store::timeline(tx, before.id, &actor, "restrictions_updated", &details)?;
            audit::record(tx, &Actor::Principal(&caller.principal), &caller.workspace, "case.restrictions.update", &record.id, by_run(tx, caller, details.clone())?)?;
            let source = format!("case-service:{actor}");
            let mut changes = Vec::new();
            if old_mode != new_mode {
                changes.push("access_mode");
                let payload = json!({ "case": record, "before": mode_name(old_mode), "after": mode_name(new_mode) });
                publish(tx, caller, "case_access_mode_updated", &payload, &source, before.id, stamp)?;
            }
            if !added.is_empty() || !removed.is_empty() {
                changes.push("collaborators");
                // Who was on it before: a listener is handed `removed` only if it saw the case
                // then too (`RecordedSight::before`; round 26 cases review).
                let was = json!({ "access_mode": mode_name(old_mode), "collaborators": old });
                let payload = json!({ "case": record, "added": added, "removed": removed, "was": was });
                // Naming who left a restricted case in a change that also widened it: no later
                // sight tells who saw it before (one that only narrowed it: all who see it
                // now did).
                let sight = if !removed.is_empty() && widens { Some(-1) } else { stamp };
                publish(tx, caller, "case_collaborators_list_updated", &payload, &source, before.id, sight)?;
            }
            publish(tx, caller, "case_updated", &json!({ "case": record, "changes": changes }), &source, before.id, stamp)?;
            answer(before.id, after)
        })
    }
}

/// Appends a case event about case `id`, counted for the caller's step execution (SPEC ST-4:
/// its run's budget of events spends it by count, bytes and values).
/// Publishes case event `kind` about case row `id`, written at `sight` (`events.sight`: `None`
/// when the case as recorded is open to every reader of cases).
#[allow(clippy::too_many_arguments)]
fn publish(
    tx: &Transaction<'_>,
    caller: &Caller,
    kind: &str,
    payload: &serde_json::Value,
    source: &str,
    id: i64,
    sight: Option<i64>,
) -> Result<(), Error> {
    events::append(
        tx,
        &caller.workspace,
        kind,
        payload,
        source,
        Some(id),
        caller.cause,
        sight,
    )?;
    charge_step(caller, payload)
}

/// Counts what a step's case call stores for it, `payload` (an event, or a no-op update's
/// remembered answer), against its run's budget of events as it is written (SPEC ST-4): past
/// it, the call is refused and its transaction stores nothing.
fn charge_step(caller: &Caller, payload: &serde_json::Value) -> Result<(), Error> {
    match &caller.step {
        Some(step) => step
            .published
            .charge(payload, step.allowance.as_deref())
            .map_err(Error::Invalid),
        None => Ok(()),
    }
}

/// The SHA-256 (hex) of `request`'s compact JSON: what a keyed creation remembers of what it
/// was asked ([`NewCaseRow::request`]).
fn request_digest(request: &serde_json::Value) -> String {
    use sha2::Digest;
    crate::encoding::hex(&sha2::Sha256::digest(request.to_string().as_bytes()))
}

/// What a request's restriction update asks, as remembered with its key: its addresses as
/// identities compare (in any case, in any order), so a retry of the same update is one.
fn request_text(update: &RestrictionUpdate) -> String {
    let people = |list: &[String]| -> Vec<String> {
        let mut people: Vec<String> = list
            .iter()
            .map(|raw| Email::parse(raw).map_or_else(|_| raw.clone(), |e| e.to_string()))
            .collect();
        people.sort();
        people.dedup();
        people
    };
    json!({
        "access_mode": update.access_mode,
        "set_collaborators": update.set_collaborators.as_deref().map(people),
        "add_collaborators": people(&update.add_collaborators),
        "remove_collaborators": people(&update.remove_collaborators),
    })
    .to_string()
}

/// What one page of cases may hold, about, in bytes of text (see [`record_bytes`]): past it,
/// the page ends with the case that passed it and a cursor to the next.
pub const MAX_PAGE_BYTES: usize = 16 << 20;

/// About what `record` takes as text: its own texts, its fields' JSON and its people.
fn record_bytes(record: &CaseRecord) -> usize {
    let people = record
        .reviewers
        .iter()
        .chain(&record.collaborators)
        .chain(record.assignee.as_ref())
        .chain(record.reporter.as_ref())
        .map(String::len)
        .sum::<usize>();
    record.title.len()
        + record.description.len()
        + record.state.len()
        + crate::json_limits::text_len(&record.fields)
        + people
}

/// [`Platform::case_seen_by`] on `conn`, for a caller already inside a transaction.
pub(crate) fn case_seen_in(conn: &Connection, id: i64, viewer: &Viewer) -> Result<bool, Error> {
    match store::restricted_of(conn, id)? {
        Some(restricted) => sees(conn, id, restricted, viewer),
        None => Ok(false),
    }
}

/// Records, for the run behind `caller` (if any), that it read case row `id` when the case is
/// `restricted`: its events then reach only workflows whose identity sees the case
/// (`workflow/triggers.rs`). A step that quoted a restricted case it queried in an event
/// handed it to any workflow that event triggered (hostile-step and leak reviews).
fn run_read(
    conn: &Connection,
    caller: &Caller,
    read: store::CaseRead,
    restricted: bool,
) -> Result<(), Error> {
    if restricted {
        run_reads(conn, caller, &[read])?;
    }
    Ok(())
}

/// [`run_read`] of restricted cases `reads`, in one look and at most one write.
fn run_reads(conn: &Connection, caller: &Caller, reads: &[store::CaseRead]) -> Result<(), Error> {
    match caller.cause {
        Some(cause) if !reads.is_empty() => {
            let limit = crate::services::caps::MAX_RESTRICTED_READS_PER_RUN;
            if store::record_run_reads(conn, cause.run, reads, limit).map_err(internal)? {
                Ok(())
            } else {
                Err(Error::Invalid(format!(
                    "this run holds the most restricted cases one run may: {limit} its steps \
                     read or wrote, {} in all with those it inherited with its event (each \
                     bounds whom its events reach); read or write fewer restricted cases in \
                     one run",
                    limit.saturating_mul(2)
                )))
            }
        }
        _ => Ok(()),
    }
}

/// How far run `run` has read restricted cases so far (the last `run_cases.seq` of its own).
pub(crate) fn run_read_upto(conn: &Connection, run: i64) -> Result<i64, Error> {
    store::read_upto(conn, run).map_err(internal)
}

/// Whether run `run`, or one it descends from, was started by a case event whose case was
/// widened since it was written (SPEC CS-2; `store::started_on_changed_sight`).
pub(crate) fn started_on_changed_sight(conn: &Connection, run: i64) -> Result<bool, Error> {
    store::started_on_changed_sight(conn, run).map_err(internal)
}

/// Whether `viewer` saw every case event hidden for good (`events.sight` -1) that started run
/// `run` or one it descends from, as each recorded its case and as the case was before
/// ([`saw_case_event`]): who was on the case both before and after the change saw who left
/// it (round 29 kill review: such a run's approvals were hidden from everyone without
/// bypass, and a run with no timeout waited for good). True when no such event started it.
pub(crate) fn saw_events_hidden_for_good(
    conn: &Connection,
    run: i64,
    viewer: &Viewer,
) -> Result<bool, Error> {
    let payloads = store::hidden_for_good_events(conn, run).map_err(internal)?;
    Ok(payloads.iter().all(|payload| {
        serde_json::from_str::<serde_json::Value>(payload)
            .is_ok_and(|payload| saw_case_event(&payload, viewer))
    }))
}

/// Whether `viewer` saw the case of case event `payload` as the event recorded it (`case`)
/// and, when it names who left the case, as it was before (round 22 leak review, round 26
/// cases review). A payload whose case does not read as one is not seen (fail closed).
pub(crate) fn saw_case_event(payload: &serde_json::Value, viewer: &Viewer) -> bool {
    let recorded = payload
        .get("case")
        .cloned()
        .map(serde_json::from_value::<RecordedSight>);
    match recorded {
        Some(Ok(recorded)) => {
            recorded.seen_by(viewer)
                && recorded
                    .before(payload)
                    .is_none_or(|before| before.seen_by(viewer))
        }
        _ => false,
    }
}

/// Whether `reads` hold a restricted case `viewer` does not see now, or as `judged` (SPEC
/// CS-2; see [`store::Judged`]).
pub(crate) fn run_read_hidden_from(
    conn: &Connection,
    reads: store::RunReads,
    viewer: &Viewer,
    judged: store::Judged,
) -> Result<bool, Error> {
    store::run_read_hidden_from(conn, reads, viewer, judged).map_err(internal)
}

/// The sight rule of SPEC CS-2 for case row `id`: a case not `restricted` is seen by anyone
/// who may read cases; a restricted one by who bypasses restrictions, or whom it names (and,
/// for a run, the second person its sight needs).
fn sees(conn: &Connection, id: i64, restricted: bool, viewer: &Viewer) -> Result<bool, Error> {
    if !restricted || viewer.bypass {
        return Ok(true);
    }
    let named = |email: &str| store::is_named(conn, id, email).map_err(internal);
    Ok(named(viewer.email_str())? && viewer.also_str().map_or(Ok(true), named)?)
}

/// [`sees`] decided on a row as loaded, people and all: no further query (a page of restricted
/// cases cost one or two round trips a row on PostgreSQL; self-review).
fn sees_loaded(row: &CaseRow, viewer: &Viewer) -> bool {
    let r = &row.record;
    let named = |email: &str| names(r.assignee.as_deref(), &r.reviewers, &r.collaborators, email);
    sees_named(r.access_mode, named, viewer)
}

/// Whether a case's `assignee`, `reviewers` or `collaborators` name `email`.
fn names(
    assignee: Option<&str>,
    reviewers: &[String],
    collaborators: &[String],
    email: &str,
) -> bool {
    assignee == Some(email)
        || reviewers.iter().any(|r| r == email)
        || collaborators.iter().any(|c| c == email)
}

/// Whether `viewer` sees a case of `mode` whose people are `named` by address.
fn sees_named(mode: AccessMode, named: impl Fn(&str) -> bool, viewer: &Viewer) -> bool {
    if mode != AccessMode::Restricted || viewer.bypass {
        return true;
    }
    named(viewer.email_str()) && viewer.also_str().is_none_or(named)
}

/// What decides who sees a case, as a case event's payload recorded it (`case`): its mode
/// and the people it named then. A list the payload lacks names nobody; a payload without a
/// mode does not read, and starts no listener (fail closed).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct RecordedSight {
    access_mode: AccessMode,
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    reviewers: Vec<String>,
    #[serde(default)]
    collaborators: Vec<String>,
}

impl RecordedSight {
    /// Whether `viewer` sees a case as recorded here ([`sees_named`]).
    fn seen_by(&self, viewer: &Viewer) -> bool {
        let named = |email: &str| {
            names(
                self.assignee.as_deref(),
                &self.reviewers,
                &self.collaborators,
                email,
            )
        };
        sees_named(self.access_mode, named, viewer)
    }

    /// The case as it was before the update an event records, when the event names who left
    /// it (`removed`): a listener that sees the case now, as recorded, but did not before was
    /// handed who was on it while it was hidden from them (round 26 cases review). Read from
    /// the event's `was`; an event written before it carries none is read closed: the
    /// collaborators then (now's without those added, with those removed), restricted.
    /// `None` for an event that names nobody who left.
    pub(crate) fn before(&self, payload: &serde_json::Value) -> Option<RecordedSight> {
        let removed = payload.get("removed")?;
        // Naming nobody who left, it tells nothing of the time before.
        if removed.as_array().is_some_and(Vec::is_empty) {
            return None;
        }
        let names = |v: Option<&serde_json::Value>| -> Vec<String> {
            v.and_then(serde_json::Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|n| n.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let was = payload.get("was");
        let mode = was
            .and_then(|w| w.get("access_mode"))
            .and_then(|m| serde_json::from_value::<AccessMode>(m.clone()).ok());
        let (access_mode, collaborators) = match (mode, was.and_then(|w| w.get("collaborators"))) {
            (Some(mode), Some(people)) => (mode, names(Some(people))),
            _ => {
                let added = names(payload.get("added"));
                let mut people: Vec<String> = self
                    .collaborators
                    .iter()
                    .filter(|c| !added.contains(c))
                    .cloned()
                    .collect();
                people.extend(names(Some(removed)));
                (AccessMode::Restricted, people)
            }
        };
        Some(RecordedSight {
            access_mode,
            assignee: self.assignee.clone(),
            reviewers: self.reviewers.clone(),
            collaborators,
        })
    }
}

impl Platform {
    /// Whether `caller` would be shown `record` (SPEC CS-2), decided on the record as given:
    /// for `step test`'s mocked pages, which handed the test's person restricted cases every
    /// real run of theirs is never shown (round 25 steps review).
    pub(crate) fn sees_record(&self, caller: &Caller, record: &CaseRecord) -> bool {
        let r = record;
        self.sees_people(
            caller,
            r.access_mode,
            r.assignee.as_deref(),
            &r.reviewers,
            &r.collaborators,
        )
    }

    /// Whether `caller` sees a case of `mode` naming these people, as [`sees_named`] decides.
    fn sees_people(
        &self,
        caller: &Caller,
        mode: AccessMode,
        assignee: Option<&str>,
        reviewers: &[String],
        collaborators: &[String],
    ) -> bool {
        let viewer = Viewer::of(&self.index(), caller);
        let named = |email: &str| names(assignee, reviewers, collaborators, email);
        sees_named(mode, named, &viewer)
    }
}

/// Writes the new mode and the collaborator changes.
fn apply_restrictions(
    tx: &Transaction<'_>,
    ws: i64,
    id: i64,
    mode: AccessMode,
    widens: bool,
    added: &[String],
    removed: &[String],
) -> Result<(), Error> {
    store::set_access_mode(tx, id, mode, widens)?;
    for email in added {
        store::add_person(tx, id, ws, email, "collaborator")?;
    }
    for email in removed {
        store::remove_person(tx, id, email, "collaborator")?;
    }
    Ok(())
}
/// `details` naming the run a person's or key's own run made the change in (`run: { id }`):
/// such a run acts as its starter, and its writes read as the starter's by hand (audit
/// review, SPEC AU-1). A published run's entries name it already (`audit::with_run`).
fn by_run(
    conn: &Connection,
    caller: &Caller,
    details: serde_json::Value,
) -> Result<serde_json::Value, Error> {
    let (Some(cause), false) = (caller.cause, matches!(caller.principal, Principal::Run(_))) else {
        return Ok(details);
    };
    let Some(id) = store::run_public_id(conn, cause.run)? else {
        return Ok(details);
    };
    Ok(audit::with_detail(details, "run", json!({ "id": id })))
}
