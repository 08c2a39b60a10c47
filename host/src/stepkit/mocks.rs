//! Mocks for `flowhost step test`: a test case's answers to the step's host calls, and the
//! record of the calls it made.
//!
//! [`MockedServices`] implements the same service traits the WIT glue forwards to
//! ([`CaseApi`], [`AccessApi`]), so a step under test runs through the real host unchanged;
//! only what answers its calls differs. A call is answered by the first mock for its function
//! whose `args` pattern matches, else by the seeded database when the test asks for that
//! (`"unmocked": "database"`), else refused with an `internal` host error naming the call, and
//! noted, so the case fails whatever the step does with the error.
//!
//! Arguments are JSON objects named as below (snake_case, like the case JSON elsewhere); the
//! JSON text arguments of `create-case-from-json` and `events.emit` are shown parsed.

use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Error;
use crate::access::{AccessDecision, Reason, Scope};
use crate::platform::Platform;
use crate::principal::Caller;
use crate::services::HostServices;
use crate::services::access::AccessApi;
use crate::services::cases::{
    AccessMode, CaseApi, CasePage, CaseQuery, CaseRecord, NewCase, RestrictionUpdate, Restrictions,
    Severity,
};
use crate::services::grants::{Grant, granted, require, require_restriction_update};

/// A host function a test can mock: `interface.function` as in the WIT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    CreateCase,
    CreateCaseFromJson,
    QueryCases,
    GetCaseRestrictions,
    UpdateCaseRestrictions,
    CheckFlowAccess,
    HasScope,
    Emit,
}

impl Call {
    /// Every mockable function.
    pub const ALL: [Call; 8] = [
        Call::CreateCase,
        Call::CreateCaseFromJson,
        Call::QueryCases,
        Call::GetCaseRestrictions,
        Call::UpdateCaseRestrictions,
        Call::CheckFlowAccess,
        Call::HasScope,
        Call::Emit,
    ];

    /// The name a test file uses.
    pub fn name(self) -> &'static str {
        match self {
            Call::CreateCase => "cases.create-case",
            Call::CreateCaseFromJson => "cases.create-case-from-json",
            Call::QueryCases => "cases.query-cases",
            Call::GetCaseRestrictions => "cases.get-case-restrictions",
            Call::UpdateCaseRestrictions => "cases.update-case-restrictions",
            Call::CheckFlowAccess => "access.check-flow-access",
            Call::HasScope => "access.has-scope",
            Call::Emit => "events.emit",
        }
    }

    /// The argument names a pattern may use.
    pub fn args(self) -> &'static [&'static str] {
        match self {
            Call::CreateCase => &["input"],
            Call::CreateCaseFromJson => &["case"],
            Call::QueryCases => &["query"],
            Call::GetCaseRestrictions => &["case_id"],
            Call::UpdateCaseRestrictions => &["case_id", "update"],
            Call::CheckFlowAccess => &["flow", "email"],
            Call::HasScope => &["scope"],
            Call::Emit => &["kind", "payload"],
        }
    }

    /// Parses a name; the error lists the choices.
    pub fn parse(name: &str) -> Result<Call, String> {
        Call::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Call::ALL.iter().map(|c| c.name()).collect();
                format!(
                    "unknown host call `{name}`; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Keys whose values are emails: matched ignoring ASCII case, as the host compares them.
const EMAIL_KEYS: &[&str] = &[
    "email",
    "assignee",
    "reviewers",
    "collaborators",
    "set_collaborators",
    "add_collaborators",
    "remove_collaborators",
];

/// Keys whose values the host stores as they are written, whatever keys they hold: an event's
/// payload, a case's custom fields.
const VERBATIM_KEYS: &[&str] = &["payload", "payload_json", "fields", "fields_json"];

/// How a pattern's strings compare where they sit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Spelling {
    /// An argument's own member: exactly, and an email key's value ignoring ASCII case.
    Argument,
    /// An email key's value (a string, or a list of them): ignoring ASCII case.
    Email,
    /// Inside a value the host stores as written: exactly, whatever the key.
    Verbatim,
}

/// Whether `actual` matches `pattern`: objects by the members the pattern names (at any
/// depth), arrays element by element (same length), anything else by equality; strings under
/// an email key ignore ASCII case, as the host compares them, but not inside an event's
/// payload or a case's custom fields, which it stores as written (a pattern passed where the
/// same test's `expect.events` and a real trigger condition failed; steps review).
pub fn matches(pattern: &Value, actual: &Value) -> bool {
    matches_at(pattern, actual, Spelling::Argument)
}

fn matches_at(pattern: &Value, actual: &Value, spelling: Spelling) -> bool {
    match (pattern, actual) {
        (Value::Object(p), Value::Object(a)) => p.iter().all(|(k, pv)| {
            let inner = match spelling {
                Spelling::Verbatim => Spelling::Verbatim,
                _ if VERBATIM_KEYS.contains(&k.as_str()) => Spelling::Verbatim,
                _ if EMAIL_KEYS.contains(&k.as_str()) => Spelling::Email,
                _ => Spelling::Argument,
            };
            a.get(k).is_some_and(|av| matches_at(pv, av, inner))
        }),
        (Value::Array(p), Value::Array(a)) => {
            p.len() == a.len() && p.iter().zip(a).all(|(p, a)| matches_at(p, a, spelling))
        }
        (Value::String(p), Value::String(a)) if spelling == Spelling::Email => {
            p.eq_ignore_ascii_case(a)
        }
        _ => pattern == actual,
    }
}

/// A call's arguments pattern from a test file: an object naming only `call`'s arguments.
fn args_pattern(call: Call, args: Option<Value>) -> Result<Option<Value>, String> {
    let Some(args) = args else {
        return Ok(None);
    };
    let Value::Object(map) = &args else {
        return Err(format!(
            "`args` of `{}` must be an object with any of: {}",
            call.name(),
            call.args().join(", ")
        ));
    };
    if let Some(bad) = map.keys().find(|k| !call.args().contains(&k.as_str())) {
        return Err(format!(
            "`{}` has no argument `{bad}`; its arguments are: {}",
            call.name(),
            call.args().join(", ")
        ));
    }
    Ok(Some(args))
}

/// What a mock answers.
#[derive(Clone, Debug)]
enum Answer {
    Case(Box<CaseRecord>),
    Page(CasePage),
    Restrictions(Restrictions),
    Decision(AccessDecision),
    /// `events.emit` accepted: the event is validated and recorded as usual.
    Accept,
    Error(Error),
}

/// One mock: an answer for calls of `call` whose arguments match `args`.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "MockSpec")]
pub struct Mock {
    call: Call,
    args: Option<Value>,
    answer: Answer,
    /// Where the mock is in its test file (`tests[0].mocks[1]`), for messages.
    pub label: String,
}

impl Mock {
    /// What it answers, for a message: the call, and the arguments it must match.
    pub fn describe(&self) -> String {
        match &self.args {
            Some(args) => format!("a call of `{}` matching {args}", self.call.name()),
            None => format!("a call of `{}`", self.call.name()),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MockSpec {
    call: String,
    // A `null` is given, not left out (`present`): `"args": null` matched any arguments and
    // an emit's `"returns": null` accepted, where any other non-object was refused (round 24
    // bad-input review).
    #[serde(default, deserialize_with = "crate::json_limits::present")]
    args: Option<Value>,
    #[serde(default, deserialize_with = "crate::json_limits::present")]
    returns: Option<Value>,
    // Given as `null`, refused: an emit's `"error": null` accepted the event (round 27
    // self-review), as `"returns": null` did before round 24.
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    error: Option<ErrorSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorSpec {
    kind: String,
    message: String,
}

impl TryFrom<MockSpec> for Mock {
    type Error = String;

    fn try_from(spec: MockSpec) -> Result<Self, String> {
        let call = Call::parse(&spec.call)?;
        let args = args_pattern(call, spec.args)?;
        let name = call.name();
        let answer = match (spec.returns, spec.error) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "mock of `{name}`: give `returns` or `error`, not both"
                ));
            }
            (None, Some(_)) if call == Call::HasScope => {
                return Err(format!(
                    "`{name}` answers a decision, never an error; mock a denial with \
                     \"returns\": {{\"allowed\": false, \"reason\": \"...\"}}"
                ));
            }
            (None, Some(e)) => Answer::Error(host_error(&e.kind, e.message)?),
            (None, None) if call == Call::Emit => Answer::Accept,
            (None, None) => {
                return Err(format!(
                    "mock of `{name}` needs `returns` (what the call answers) or `error`"
                ));
            }
            (Some(_), None) if call == Call::Emit => {
                return Err(format!(
                    "`{name}` returns nothing: leave `returns` out to accept the event, or give `error`"
                ));
            }
            (Some(value), None) => {
                returns(call, value).map_err(|e| format!("mock of `{name}`: `returns`{e}"))?
            }
        };
        Ok(Mock {
            call,
            args,
            answer,
            label: String::new(),
        })
    }
}

fn host_error(kind: &str, message: String) -> Result<Error, String> {
    Ok(match kind {
        "denied" => Error::Denied(Reason::Mocked(message)),
        "not-found" => Error::NotFound(message),
        "invalid" => Error::Invalid(message),
        "conflict" => Error::Conflict(message),
        // Told to the step as written (`wasm/host/convert.rs`): the test file's words, not the
        // host's failure.
        "internal" => Error::Internal(format!("{} {message}", crate::error::MOCKED)),
        other => {
            return Err(format!(
                "unknown error kind `{other}`; expected denied, not-found, invalid, conflict or internal"
            ));
        }
    })
}

/// Decodes `value` as what `call` returns; the error starts with the path inside `returns`.
fn returns(call: Call, value: Value) -> Result<Answer, String> {
    fn decode<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, String> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let at = if path == "." {
                String::new()
            } else {
                format!(".{}", crate::text::decoder_words(&path))
            };
            format!(
                "{at}: {}",
                crate::text::decoder_words(&e.inner().to_string())
            )
        })
    }
    Ok(match call {
        Call::CreateCase | Call::CreateCaseFromJson => {
            Answer::Case(Box::new(decode::<MockCase>(value)?.into()))
        }
        Call::QueryCases => {
            let page: MockPage = decode(value)?;
            Answer::Page(CasePage {
                cases: page.cases.into_iter().map(Into::into).collect(),
                next_cursor: page.next_cursor,
            })
        }
        Call::GetCaseRestrictions | Call::UpdateCaseRestrictions => {
            let r: MockRestrictions = decode(value)?;
            Answer::Restrictions(Restrictions {
                access_mode: r.access_mode,
                collaborators: r.collaborators,
            })
        }
        Call::CheckFlowAccess | Call::HasScope => {
            let d: MockDecision = decode(value)?;
            // The test file's reason, as it gives it.
            let reason = Reason::Mocked(d.reason);
            Answer::Decision(if d.allowed {
                AccessDecision::Allowed(reason)
            } else {
                AccessDecision::Denied(reason)
            })
        }
        Call::Emit => Answer::Accept,
    })
}

/// A case record in a mock: `id`, `title` and `severity` required, the rest as a new case.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MockCase {
    id: String,
    title: String,
    #[serde(default)]
    description: String,
    severity: Severity,
    #[serde(default = "open")]
    state: String,
    #[serde(default, deserialize_with = "optional_email")]
    reporter: Option<String>,
    #[serde(default, deserialize_with = "optional_email")]
    assignee: Option<String>,
    #[serde(default, deserialize_with = "emails")]
    reviewers: Vec<String>,
    #[serde(default)]
    access_mode: AccessMode,
    #[serde(default, deserialize_with = "emails")]
    collaborators: Vec<String>,
    #[serde(default)]
    fields: serde_json::Map<String, Value>,
    #[serde(default = "epoch")]
    created_at: String,
    #[serde(default = "epoch")]
    updated_at: String,
}

fn open() -> String {
    "open".into()
}

fn epoch() -> String {
    "1970-01-01T00:00:00Z".into()
}

impl From<MockCase> for CaseRecord {
    fn from(c: MockCase) -> Self {
        CaseRecord {
            id: c.id,
            title: c.title,
            description: c.description,
            severity: c.severity,
            state: c.state,
            reporter: c.reporter,
            assignee: c.assignee,
            reviewers: c.reviewers,
            access_mode: c.access_mode,
            collaborators: c.collaborators,
            fields: Value::Object(c.fields),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MockPage {
    cases: Vec<MockCase>,
    #[serde(default)]
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MockRestrictions {
    access_mode: AccessMode,
    #[serde(default, deserialize_with = "emails")]
    collaborators: Vec<String>,
}

/// An email in a mock as the host answers every one: valid and lower-cased. A mock of
/// `Ann@Example.test` let a step's comparison with its input pass that fails in real runs
/// (steps and projects review; SPEC ID-2).
fn email_of<E: serde::de::Error>(raw: &str) -> Result<String, E> {
    crate::principal::Email::parse(raw)
        .map(|e| e.to_string())
        .map_err(|e| E::custom(format!("`{}`: {e}", crate::text::clip(raw))))
}

/// A list of people in a mock as the host answers every one: lower-cased, sorted, each once
/// (a mock keeping its own order and duplicates let a step's comparison pass that fails in
/// real runs; steps and projects review).
fn emails<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let mut emails = Vec::<String>::deserialize(d)?
        .iter()
        .map(|raw| email_of(raw))
        .collect::<Result<Vec<_>, _>>()?;
    emails.sort();
    emails.dedup();
    Ok(emails)
}

fn optional_email<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|raw| email_of(&raw))
        .transpose()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MockDecision {
    allowed: bool,
    #[serde(default)]
    reason: String,
}

/// An expected call in `expect.calls`: the function, and optionally an arguments pattern.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "ExpectCallSpec")]
pub struct ExpectCall {
    pub call: Call,
    pub args: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectCallSpec {
    call: String,
    #[serde(default, deserialize_with = "crate::json_limits::present")]
    args: Option<Value>,
}

impl TryFrom<ExpectCallSpec> for ExpectCall {
    type Error = String;

    fn try_from(spec: ExpectCallSpec) -> Result<Self, String> {
        let call = Call::parse(&spec.call)?;
        Ok(ExpectCall {
            call,
            args: args_pattern(call, spec.args)?,
        })
    }
}

impl ExpectCall {
    /// Whether the recorded call `made` is this one.
    pub fn matches(&self, made: &CallRecord) -> bool {
        self.call == made.call && self.args.as_ref().is_none_or(|p| matches(p, &made.args))
    }
}

/// Who answered a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answered {
    /// The mock at this label.
    Mock(String),
    /// The seeded database.
    Database,
    /// Nobody: the step got an error. Labels of the mocks of the same function, none of
    /// whose `args` matched.
    Unanswered(Vec<String>),
}

/// One host call the step made (those its grants let through).
#[derive(Clone, Debug)]
pub struct CallRecord {
    pub call: Call,
    pub args: Value,
    pub answered: Answered,
}

impl CallRecord {
    /// `cases.get-case-restrictions({"case_id":"C-1"})`.
    pub fn describe(&self) -> String {
        format!("{}({})", self.call.name(), self.args)
    }
}

/// Calls recorded per test case; later ones are answered, counted and fail the case (their
/// arguments could not be checked).
pub const MAX_RECORDED_CALLS: usize = 10_000;

/// Largest arguments kept whole in a call's record, in bytes of JSON: above every cap of a
/// call the host accepts (SPEC ST-4), so a call a real host would take is recorded whole;
/// larger ones are kept as their start and size.
pub const MAX_RECORDED_ARGS_BYTES: usize = 1024 * 1024;

/// The services of one `step test` case: mocks first, then (if given) the database.
pub struct MockedServices {
    mocks: Vec<Mock>,
    database: Option<HostServices>,
    /// The seeded deployment whose access rules decide, before any mock answers, whether the
    /// test's person may make the call at all: a mock answered for a viewer what every real
    /// run as them is denied (round 21 steps review). `None` without a tenant fixture.
    authority: Option<Arc<Platform>>,
    calls: Mutex<Vec<CallRecord>>,
    /// Calls past [`MAX_RECORDED_CALLS`].
    dropped: std::sync::atomic::AtomicUsize,
}

/// Where one call goes.
enum Route<'a> {
    Mock(Answer),
    Database(&'a HostServices),
    Refused(Error),
}

impl MockedServices {
    /// Services answering from `mocks` (first match wins), then from `database` if given.
    pub fn new(mocks: Vec<Mock>, database: Option<HostServices>) -> Self {
        Self {
            mocks,
            database,
            authority: None,
            calls: Mutex::new(Vec::new()),
            dropped: Default::default(),
        }
    }

    /// These services with `platform`'s access rules deciding, before any mock, whether the
    /// test's person holds the scopes each call needs, as the service asks first.
    pub fn deciding_with(mut self, platform: Arc<Platform>) -> Self {
        self.authority = Some(platform);
        self
    }

    /// `Ok` unless the authority, if any, refuses `caller`'s person one of `scopes` in its
    /// workspace, as the service would before anything else.
    fn authorized(&self, caller: &Caller, scopes: &[Scope]) -> Result<(), Error> {
        let Some(platform) = &self.authority else {
            return Ok(());
        };
        for scope in scopes {
            platform.authorize(&caller.principal, &caller.workspace, *scope)?;
        }
        Ok(())
    }

    /// The calls made so far, in order (the first [`MAX_RECORDED_CALLS`]).
    pub fn calls(&self) -> Vec<CallRecord> {
        self.lock_calls().clone()
    }

    /// How many calls were made past [`MAX_RECORDED_CALLS`].
    pub fn dropped(&self) -> usize {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lock_calls(&self) -> std::sync::MutexGuard<'_, Vec<CallRecord>> {
        // Pushes and clones only: a panic elsewhere cannot leave the list inconsistent.
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where `call` with `args` is answered, recorded as made.
    fn route(&self, call: Call, args: Value) -> Route<'_> {
        let found = self
            .mocks
            .iter()
            .find(|m| m.call == call && m.args.as_ref().is_none_or(|p| matches(p, &args)));
        let (answered, route) = match (found, &self.database) {
            (Some(m), _) => (
                Answered::Mock(m.label.clone()),
                Route::Mock(m.answer.clone()),
            ),
            (None, Some(db)) => (Answered::Database, Route::Database(db)),
            (None, None) => {
                let near = self
                    .mocks
                    .iter()
                    .filter(|m| m.call == call)
                    .map(|m| m.label.clone())
                    .collect();
                let message = format!(
                    "{} no mock answers {}({})",
                    crate::error::MOCKED,
                    call.name(),
                    crate::text::clip(&args.to_string())
                );
                (
                    Answered::Unanswered(near),
                    Route::Refused(Error::Internal(message)),
                )
            }
        };
        let mut calls = self.lock_calls();
        if calls.len() < MAX_RECORDED_CALLS {
            let text = args.to_string();
            let args = if text.len() > MAX_RECORDED_ARGS_BYTES {
                Value::String(crate::text::clip(&text).into_owned())
            } else {
                args
            };
            calls.push(CallRecord {
                call,
                args,
                answered,
            });
        } else {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        route
    }

    /// The `args` pattern of the mock at `label`, for failure messages.
    pub fn mock_args(&self, label: &str) -> Option<&Value> {
        self.mocks
            .iter()
            .find(|m| m.label == label)
            .and_then(|m| m.args.as_ref())
    }
}

/// The answer of `route`, taken by `pick` from a mock or by `db` from the database.
fn answer<T>(
    route: Route<'_>,
    pick: impl FnOnce(Answer) -> Option<T>,
    db: impl FnOnce(&HostServices) -> Result<T, Error>,
) -> Result<T, Error> {
    match route {
        Route::Mock(Answer::Error(e)) | Route::Refused(e) => Err(e),
        // A mock's answer is decoded for its function when the file is read, so this holds.
        Route::Mock(a) => pick(a).ok_or_else(|| {
            Error::Internal(format!(
                "{} a mock answered the wrong type",
                crate::error::MOCKED
            ))
        }),
        Route::Database(services) => db(services),
    }
}

fn case(a: Answer) -> Option<CaseRecord> {
    match a {
        Answer::Case(c) => Some(*c),
        _ => None,
    }
}

fn restrictions(a: Answer) -> Option<Restrictions> {
    match a {
        Answer::Restrictions(r) => Some(r),
        _ => None,
    }
}

fn decision(a: Answer) -> Option<AccessDecision> {
    match a {
        Answer::Decision(d) => Some(d),
        _ => None,
    }
}

/// JSON text as the value it holds, or the text itself when it is not JSON.
fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

fn to_value(value: impl serde::Serialize) -> Value {
    // The service types serialize infallibly (plain data, string keys).
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl MockedServices {
    /// `Ok` unless a mock answers the call (`route`) and the authority, if any, refuses one
    /// of `emails` (`what`) as no member of `caller`'s workspace, as the host does (SPEC
    /// CS-5; round 24 steps review: a mocked update naming a stranger passed, and every real
    /// run failed). A call the database answers is decided there, in the host's order.
    fn are_members(
        &self,
        caller: &Caller,
        route: &Route,
        emails: &[String],
        what: &str,
    ) -> Result<(), Error> {
        match &self.authority {
            Some(platform) if matches!(route, Route::Mock(_)) && !emails.is_empty() => platform
                .members_only(&caller.workspace, emails, what)
                .map(drop),
            _ => Ok(()),
        }
    }

    /// [`MockedServices::are_members`] for the people a new case names.
    fn members_named(&self, caller: &Caller, route: &Route, input: &NewCase) -> Result<(), Error> {
        if let Some(assignee) = &input.assignee {
            self.are_members(caller, route, std::slice::from_ref(assignee), "`assignee`")?;
        }
        self.are_members(caller, route, &input.reviewers, "`reviewers`")?;
        self.are_members(caller, route, &input.collaborators, "`collaborators`")
    }
}

// SPEC WF-6: the step's grants hold in front of the mocks as of the database: a call the
// step is not granted is refused before it is routed (or recorded as made).
impl CaseApi for MockedServices {
    fn create_case(&self, caller: &Caller, input: NewCase) -> Result<CaseRecord, Error> {
        require(caller, Grant::CasesWrite)?;
        self.authorized(caller, &[Scope::CaseWrite])?;
        // The host's caps hold in front of the mocks too (SPEC ST-4): a step the host would
        // refuse does not pass its tests, nor is the record of calls made to hold it.
        crate::cases::validate::new_case(&input)?;
        let route = self.route(Call::CreateCase, json!({ "input": to_value(&input) }));
        self.members_named(caller, &route, &input)?;
        answer(route, case, |db| db.cases()?.create_case(caller, input))
    }

    fn create_case_from_json(&self, caller: &Caller, json: &str) -> Result<CaseRecord, Error> {
        require(caller, Grant::CasesWrite)?;
        self.authorized(caller, &[Scope::CaseWrite])?;
        let input = crate::services::cases::parse_case_json(json)?;
        crate::cases::validate::new_case(&input)?;
        let route = self.route(Call::CreateCaseFromJson, json!({ "case": parsed(json) }));
        self.members_named(caller, &route, &input)?;
        answer(route, case, |db| {
            db.cases()?.create_case_from_json(caller, json)
        })
    }

    fn query_cases(&self, caller: &Caller, query: CaseQuery) -> Result<CasePage, Error> {
        require(caller, Grant::CasesRead)?;
        self.authorized(caller, &[Scope::CaseRead])?;
        // Read as the host reads it, and recorded so (round 24 bad-input review).
        let query = query.normalized();
        crate::cases::validate::query(&query)?;
        let size = crate::cases::page_size(query.page_size);
        let route = self.route(Call::QueryCases, json!({ "query": to_value(&query) }));
        let page = |a| match a {
            Answer::Page(p) => Some(p),
            _ => None,
        };
        let mocked = matches!(route, Route::Mock(_));
        let page = answer(route, page, |db| db.cases()?.query_cases(caller, query))?;
        // A page the host never answers: more cases than the query's page size (the host
        // gives at most 200 whatever is asked). A step that ignored the cursor passed with a
        // mocked 300 and saw 200 in every real run (round 21 steps review).
        if mocked && page.cases.len() > size as usize {
            return Err(Error::Internal(format!(
                "{} a mock answered {} cases to a query whose page holds at most {size} (the \
                 host answers at most {} a page)",
                crate::error::MOCKED,
                page.cases.len(),
                crate::cases::page_size(u32::MAX)
            )));
        }
        // Nor a restricted case the test's person is never shown (SPEC CS-2): a step that
        // counted them passed its test and saw none in every real run (round 25 steps review).
        if mocked
            && let Some(platform) = &self.authority
            && let Some(hidden) = page.cases.iter().find(|c| !platform.sees_record(caller, c))
        {
            return Err(Error::Internal(format!(
                "{} a mock answered case {} to a query as {}, who is never shown it: it is \
                 restricted and names them nowhere, and they may not bypass restrictions \
                 (SPEC CS-2)",
                crate::error::MOCKED,
                crate::text::clip(&hidden.id),
                caller.principal
            )));
        }
        Ok(page)
    }

    fn get_case_restrictions(&self, caller: &Caller, case_id: &str) -> Result<Restrictions, Error> {
        require(caller, Grant::CasesRead)?;
        self.authorized(caller, &[Scope::CaseRead])?;
        crate::cases::validate::case_id(case_id)?;
        crate::cases::validate::readable_case_id(case_id)?;
        let route = self.route(Call::GetCaseRestrictions, json!({ "case_id": case_id }));
        answer(route, restrictions, |db| {
            db.cases()?.get_case_restrictions(caller, case_id)
        })
    }

    fn update_case_restrictions(
        &self,
        caller: &Caller,
        case_id: &str,
        update: RestrictionUpdate,
    ) -> Result<Restrictions, Error> {
        require_restriction_update(caller)?;
        self.authorized(caller, &[Scope::CaseWrite, Scope::CaseRead])?;
        crate::cases::validate::case_id(case_id)?;
        crate::cases::validate::readable_case_id(case_id)?;
        crate::cases::validate::restriction_update(&update)?;
        let args = json!({ "case_id": case_id, "update": to_value(&update) });
        let route = self.route(Call::UpdateCaseRestrictions, args);
        // After the case, as the host decides (its mock answered as one the caller sees).
        let named = [
            (update.set_collaborators.as_deref(), "`set_collaborators`"),
            (
                Some(update.add_collaborators.as_slice()),
                "`add_collaborators`",
            ),
        ];
        for (emails, what) in named {
            self.are_members(caller, &route, emails.unwrap_or_default(), what)?;
        }
        answer(route, restrictions, |db| {
            db.cases()?
                .update_case_restrictions(caller, case_id, update)
        })
    }
}

impl AccessApi for MockedServices {
    fn check_flow_access(
        &self,
        caller: &Caller,
        flow: &str,
        email: &str,
    ) -> Result<AccessDecision, Error> {
        require(caller, Grant::AccessCheck)?;
        crate::services::caps::check_flow_question(flow, email)?;
        // Whether the question is the test's person's to ask is the fixture's, before any
        // mock answers it (round 22 steps review: a viewer was answered about another person,
        // where every real run tells them it is withheld). The answer itself stays a mock's.
        if let Some(platform) = &self.authority
            && let Some(refused) = platform.flow_question_refused(caller, email)?
        {
            return Ok(refused);
        }
        let route = self.route(
            Call::CheckFlowAccess,
            json!({ "flow": flow, "email": email }),
        );
        answer(route, decision, |db| {
            db.access()
                .map_err(Error::Denied)?
                .check_flow_access(caller, flow, email)
        })
    }

    fn has_scope(&self, caller: &Caller, scope: &str) -> AccessDecision {
        if let Err(reason) = granted(caller, Grant::AccessCheck) {
            return AccessDecision::Denied(reason);
        }
        // A scope the host does not know is denied by the host whatever a mock says: a
        // misspelled one passed `step test` and was denied in every real run (review).
        if crate::access::Scope::parse(scope).is_none() {
            return AccessDecision::Denied(Reason::UnknownScope(
                crate::text::clip(scope).into_owned(),
            ));
        }
        let route = self.route(Call::HasScope, json!({ "scope": scope }));
        answer(route, decision, |db| {
            Ok(db
                .access()
                .map_or_else(AccessDecision::Denied, |a| a.has_scope(caller, scope)))
        })
        .unwrap_or_else(|e| AccessDecision::Denied(Reason::Mocked(e.to_string())))
    }

    fn may_emit(&self, caller: &Caller, kind: &str, payload_json: &str) -> Result<(), Error> {
        // Checked before the payload is parsed for the record of calls: a 60 MB payload
        // parsed here cost gigabytes before the host's own check refused it.
        crate::services::events::CustomEvent::parse(kind, payload_json)?;
        // The host's own question, asked as a real run asks it (its denial's words too).
        if let Some(platform) = &self.authority {
            AccessApi::may_emit(platform.as_ref(), caller, kind, payload_json)?;
        }
        let args = json!({ "kind": kind, "payload": parsed(payload_json) });
        let route = self.route(Call::Emit, args);
        let accept = |a| matches!(a, Answer::Accept).then_some(());
        answer(route, accept, |db| {
            db.access()
                .map_err(Error::Denied)?
                .may_emit(caller, kind, payload_json)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mock(json: Value) -> Result<Mock, String> {
        serde_json::from_value(json).map_err(|e| e.to_string())
    }

    /// A `null` is given, and refused as any other non-object is (round 24 bad-input
    /// review: `"args": null` matched any arguments, an emit's `"returns": null` accepted).
    #[test]
    fn a_null_args_or_returns_is_refused_not_left_out() {
        let e = mock(json!({"call": "cases.create-case", "args": null, "error": {
            "kind": "denied", "message": "no"}}))
        .expect_err("null args");
        assert!(e.contains("must be an object"), "{e}");
        let e = mock(json!({"call": "events.emit", "returns": null})).expect_err("null returns");
        assert!(e.contains("returns nothing"), "{e}");
        let e = serde_json::from_value::<ExpectCall>(json!({"call": "events.emit", "args": null}))
            .expect_err("null expected args");
        assert!(e.to_string().contains("must be an object"), "{e}");
        assert!(
            mock(json!({"call": "events.emit"})).is_ok(),
            "left out: accepted"
        );
    }

    #[test]
    fn patterns_match_named_members_at_any_depth_and_emails_ignoring_case() {
        let actual = json!({"query": {"filter": {"state": "open", "assignee": "Sam@X.test"},
                            "page_size": 100}, "email": "Ann@X.test"});
        assert!(matches(&json!({}), &actual));
        assert!(matches(
            &json!({"query": {"filter": {"state": "open"}}}),
            &actual
        ));
        assert!(matches(
            &json!({"query": {"filter": {"assignee": "sam@x.test"}}}),
            &actual
        ));
        assert!(matches(&json!({"email": "ann@x.TEST"}), &actual));
        assert!(!matches(
            &json!({"query": {"filter": {"state": "closed"}}}),
            &actual
        ));
        assert!(
            !matches(&json!({"query": {"cursor": "c"}}), &actual),
            "absent member"
        );
        assert!(
            !matches(&json!({"query": {"page_size": "100"}}), &actual),
            "type differs"
        );
        // Only email members ignore case.
        assert!(!matches(
            &json!({"query": {"filter": {"state": "OPEN"}}}),
            &actual
        ));
        assert!(matches(
            &json!({"l": [1, {"a": 1}]}),
            &json!({"l": [1, {"a": 1, "b": 2}]})
        ));
        assert!(
            !matches(&json!({"l": [1]}), &json!({"l": [1, 2]})),
            "arrays: same length"
        );
        // An event's payload and a case's fields are stored as written: exactly, even under
        // an email key (round 14).
        let emitted = json!({"kind": "x", "payload": {"user": {"email": "Ann@X.test"}}});
        assert!(!matches(
            &json!({"payload": {"user": {"email": "ann@x.test"}}}),
            &emitted
        ));
        assert!(matches(
            &json!({"payload": {"user": {"email": "Ann@X.test"}}}),
            &emitted
        ));
        // Nor does an email key's case reach the objects below it.
        assert!(!matches(
            &json!({"reviewers": [{"note": "A"}]}),
            &json!({"reviewers": [{"note": "a"}]})
        ));
    }

    #[test]
    fn a_mocks_people_read_as_the_host_answers_them_sorted_and_each_once() {
        let r: MockRestrictions = serde_json::from_value(json!({ "access_mode": "restricted",
            "collaborators": ["b@x.test", "A@X.test", "a@x.test"] }))
        .expect("restrictions");
        assert_eq!(r.collaborators, ["a@x.test", "b@x.test"]);
    }

    #[test]
    fn mocks_are_checked_when_read_and_errors_say_what_is_wrong() {
        let e = mock(json!({"call": "cases.get", "returns": {}})).expect_err("unknown");
        assert!(e.contains("unknown host call `cases.get`"), "{e}");
        assert!(e.contains("cases.get-case-restrictions"), "{e}");
        let e = mock(
            json!({"call": "cases.get-case-restrictions", "args": {"id": "C-1"},
                            "returns": {"access_mode": "restricted"}}),
        )
        .expect_err("bad arg");
        assert!(
            e.contains("no argument `id`; its arguments are: case_id"),
            "{e}"
        );
        let e = mock(json!({"call": "cases.query-cases",
                            "returns": {"cases": [{"id": "C-1", "severity": "high"}]}}))
        .expect_err("no title");
        assert!(
            e.contains("`returns`.cases[0]: missing field `title`"),
            "{e}"
        );
        let e = mock(json!({"call": "access.has-scope",
                            "error": {"kind": "denied", "message": "no"}}))
        .expect_err("has-scope error");
        assert!(e.contains("never an error"), "{e}");
        let e = mock(json!({"call": "cases.query-cases"})).expect_err("no answer");
        assert!(e.contains("needs `returns`"), "{e}");
        let e = mock(json!({"call": "events.emit", "error": {"kind": "nope", "message": "x"}}))
            .expect_err("kind");
        assert!(e.contains("unknown error kind `nope`"), "{e}");
        let e = mock(json!({"call": "events.emit", "returns": {}})).expect_err("emit returns");
        assert!(e.contains("returns nothing"), "{e}");
        assert!(mock(json!({"call": "events.emit", "args": {"kind": "ip.checked"}})).is_ok());
    }

    fn caller() -> Caller {
        Caller {
            workspace: "default".into(),
            principal: crate::principal::Principal::Anonymous,
            cause: None,
            step: None,
        }
    }

    /// Mocks answer nothing the host would refuse before it looked: a scope it does not know
    /// is denied, a case id that is no `C-<n>` is not found (review: `step test` passed
    /// where every real run failed).
    #[test]
    fn a_mock_does_not_answer_what_the_host_refuses_unread() {
        let mocks = vec![
            mock(json!({"call": "access.has-scope", "returns": {"allowed": true, "reason": "ok"}}))
                .expect("mock"),
            mock(json!({"call": "cases.get-case-restrictions",
                        "returns": {"access_mode": "restricted", "collaborators": []}}))
            .expect("mock"),
        ];
        let services = MockedServices::new(mocks, None);
        assert!(services.has_scope(&caller(), "case.read").allowed());
        let misspelled = services.has_scope(&caller(), "case.reed");
        assert!(!misspelled.allowed(), "{misspelled:?}");
        assert!(services.get_case_restrictions(&caller(), "C-1").is_ok());
        let unknown = services
            .get_case_restrictions(&caller(), "case-1")
            .expect_err("no such case");
        assert!(matches!(unknown, Error::NotFound(_)), "{unknown:?}");
        // A cursor the query would not read is refused as the host refuses it, whatever
        // the mocks hold (polyglot review: `"page-2"` passed).
        let query = |cursor: &str| crate::services::cases::CaseQuery {
            filter: Default::default(),
            sort: Default::default(),
            page_size: 0,
            cursor: Some(cursor.to_owned()),
        };
        for bad in ["page-2", "", "s:1:2"] {
            let refused = services
                .query_cases(&caller(), query(bad))
                .expect_err("not a cursor of this sort");
            assert!(matches!(refused, Error::Invalid(_)), "{bad}: {refused:?}");
        }
    }

    /// A hostile step under `step test` cannot make the record of its calls hold what it
    /// hands over without bound: huge arguments are kept by their start and size, and calls
    /// past [`MAX_RECORDED_CALLS`] are answered, not kept (hostile step review).
    #[test]
    fn the_record_of_calls_is_bounded() {
        let mut any = mock(json!({"call": "cases.get-case-restrictions",
                                  "returns": {"access_mode": "restricted", "collaborators": []}}))
        .expect("mock");
        any.label = "any".into();
        let services = MockedServices::new(vec![any], None);
        // Routed as a call is, past the caps the calls check first (a defence behind them).
        let huge = "C".repeat(MAX_RECORDED_ARGS_BYTES);
        let fine = "C".repeat(256 * 1024);
        let _ = services.route(Call::GetCaseRestrictions, json!({ "case_id": fine }));
        assert!(
            services.calls()[0].args["case_id"] == fine.as_str(),
            "arguments a host would take are kept whole"
        );
        let _ = services.route(Call::GetCaseRestrictions, json!({ "case_id": huge }));
        let kept = services.calls()[1].args.to_string();
        assert!(kept.len() < 1024, "{} bytes kept", kept.len());
        assert!(kept.ends_with(" bytes)\""), "{kept}");
        for _ in 2..MAX_RECORDED_CALLS + 5 {
            services
                .get_case_restrictions(&caller(), "C-1")
                .expect("answered past the record's bound too");
        }
        assert_eq!(services.calls().len(), MAX_RECORDED_CALLS);
        assert_eq!(services.dropped(), 5);
    }

    #[test]
    fn the_hosts_caps_hold_in_front_of_the_mocks() {
        // A step the host would refuse does not pass its tests, and a payload of megabytes is
        // refused before it is parsed for the record (hostile step review).
        let services = MockedServices::new(Vec::new(), None);
        let payload = format!("{{\"a\":[{}0]}}", "0,".repeat(200_000));
        let refused = services.may_emit(&caller(), "wide", &payload);
        assert!(
            matches!(&refused, Err(Error::Invalid(why)) if why.contains("the cap is")),
            "{refused:?}"
        );
        let title = "t".repeat(10_000);
        let case: NewCase =
            serde_json::from_value(json!({ "title": title, "severity": "low" })).expect("case");
        let refused = services.create_case(&caller(), case);
        assert!(matches!(&refused, Err(Error::Invalid(_))), "{refused:?}");
        let refused = services.get_case_restrictions(&caller(), &"C".repeat(300));
        assert!(matches!(&refused, Err(Error::Invalid(_))), "{refused:?}");
        assert!(services.calls().is_empty(), "{:?}", services.calls());
    }

    #[test]
    fn the_first_matching_mock_answers_and_every_call_is_recorded() {
        let mut a = mock(json!({"call": "cases.get-case-restrictions", "args": {"case_id": "C-1"},
                                "returns": {"access_mode": "restricted", "collaborators": ["a@x.test"]}}))
        .expect("mock");
        a.label = "a".into();
        let mut b = mock(json!({"call": "cases.get-case-restrictions",
                                "error": {"kind": "not-found", "message": "no case"}}))
        .expect("mock");
        b.label = "b".into();
        let services = MockedServices::new(vec![a, b], None);
        let r = services
            .get_case_restrictions(&caller(), "C-1")
            .expect("answered by a");
        assert_eq!(r.access_mode, AccessMode::Restricted);
        let e = services
            .get_case_restrictions(&caller(), "C-2")
            .expect_err("answered by b");
        assert_eq!(e, Error::NotFound("no case".into()));
        let e = services
            .check_flow_access(&caller(), "triage", "a@x.test")
            .expect_err("no mock");
        assert!(
            e.to_string()
                .contains("no mock answers access.check-flow-access"),
            "{e}"
        );
        let calls = services.calls();
        let answered: Vec<_> = calls.iter().map(|c| c.answered.clone()).collect();
        assert_eq!(
            answered,
            [
                Answered::Mock("a".into()),
                Answered::Mock("b".into()),
                Answered::Unanswered(vec![])
            ]
        );
        // Member order follows serde_json's features (sorted, or as inserted).
        let described = calls[2].describe();
        assert!(
            described.starts_with("access.check-flow-access({")
                && described.contains(r#""flow":"triage""#)
                && described.contains(r#""email":"a@x.test""#),
            "{described}"
        );
    }
}
