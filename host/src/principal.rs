//! Who is acting (SPEC ID-3). Every service call takes the acting principal explicitly.

use std::fmt;

use crate::step_call::{CallKeys, Grants, StepCall};

/// An email, trimmed and lower-cased: emails are identities and compare case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);

/// The longest email address accepted, in bytes (RFC 5321).
pub const MAX_EMAIL_BYTES: usize = 254;

impl Email {
    /// Normalizes `raw` (trimmed, lower-cased) and checks its shape; a malformed address is an
    /// error naming it (shortened if long).
    ///
    /// The rule (issue 13 item 8): ASCII only, so no confusable character can fold into
    /// another address (the Kelvin sign U+212A lower-cases to `k`); exactly one `@`; a
    /// non-empty local part; a domain of at least two non-empty dot-separated labels; no
    /// whitespace or control characters; at most [`MAX_EMAIL_BYTES`].
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        let shown = crate::text::clip(trimmed);
        if trimmed.len() > MAX_EMAIL_BYTES {
            return Err(format!(
                "`{shown}` is not an email address: at most {MAX_EMAIL_BYTES} bytes (RFC 5321); this one has {}",
                trimmed.len()
            ));
        }
        if let Some(c) = trimmed.chars().find(|c| !c.is_ascii()) {
            return Err(format!(
                "`{shown}` is not an email address: only ASCII characters are accepted, not {c:?} (U+{:04X})",
                u32::from(c)
            ));
        }
        if trimmed
            .chars()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
        {
            return Err(format!(
                "`{shown}` is not an email address: it contains a space or a control character"
            ));
        }
        let email = trimmed.to_ascii_lowercase();
        let mut parts = email.split('@');
        let (local, domain) = match (parts.next(), parts.next(), parts.next()) {
            (Some(local), Some(domain), None) => (local, domain),
            _ => {
                return Err(format!(
                    "`{shown}` is not an email address: it needs exactly one `@`"
                ));
            }
        };
        if local.is_empty() {
            return Err(format!(
                "`{shown}` is not an email address: nothing before the `@`"
            ));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
            return Err(format!(
                "`{shown}` is not an email address: the domain must be like `example.com`"
            ));
        }
        Ok(Self(email))
    }

    /// [`Email::parse`] of an address that enters now (an invitation, a tenant file's new
    /// member, an interaction's listed people where written), refusing as well what copying
    /// from a mail client, a list or a link brings along (`<a@b.test>`, `a@b.test;`,
    /// `mailto:a@b.test`): in no address unquoted, it made another person no sign-in could
    /// ever be (round 20 hostile-input review). Not for reading what is stored, nor for
    /// looking someone up: an address stored before reads and is found as it was (round 20
    /// self-review: a stricter `parse` left a deployment unopenable).
    pub fn parse_new(raw: &str) -> Result<Self, String> {
        let email = Self::parse(raw)?;
        let shown = crate::text::clip(raw.trim());
        let (local, domain) = email.0.split_once('@').unwrap_or_default();
        if let Some(c) = local.chars().find(|c| !local_char(*c)) {
            return Err(format!(
                "`{shown}` is not an email address: {c:?} is in no address before the `@`"
            ));
        }
        if let Some(c) = domain.chars().find(|c| !domain_char(*c)) {
            return Err(format!(
                "`{shown}` is not an email address: {c:?} is in no domain name"
            ));
        }
        Ok(email)
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `c` may stand in an address's local part unquoted (RFC 5321 `atext`, and dots,
/// which some providers' addresses double).
fn local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-.".contains(c)
}

/// Whether `c` may stand in a domain name (letters, digits, hyphens, dots, and the
/// underscores of some internal names).
fn domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')
}

impl serde::Serialize for Email {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Deserializing normalizes, so a stored or hand-written address compares like any other.
impl<'de> serde::Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Email::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a person signed in: locally (email login), or through the workspace's IdP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignIn {
    /// Email-based sign-in; refused in SSO-only workspaces except for break-glass accounts.
    Local,
    /// Through an SSO login recorded by `flowhost sso login`.
    Sso,
}

/// Who acts (SPEC ID-3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// A person: a workspace member (invited or SSO-provisioned) or an external SSO identity.
    User { email: Email, via: SignIn },
    /// An API client (SPEC RB-4), named by its key id.
    ApiKey(String),
    /// Nobody: a step run without `--as`. Every access check denies it.
    Anonymous,
    /// A workflow run acting as its bound `run_as` identity on behalf of the revision's
    /// publisher: it holds only what both hold now (SPEC WF-10).
    Run(Box<RunAs>),
}

/// Who a triggered or form-started run acts as, and on whose behalf (SPEC WF-6, WF-10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunAs {
    /// The workflow's `run_as`: a person (never a sign-in, SPEC WF-10) or a service key.
    pub identity: Principal,
    /// Who bound that identity: the revision's publisher (or, in a workspace a workflow was
    /// shared to, the Owner who accepted the share, SPEC SH-3).
    pub publisher: Principal,
    /// The run, once it has an id (audit entries name it, SPEC AU-1): its public id, the one
    /// people of its workspace may see (SPEC ID-4).
    pub run: Option<crate::public_id::PublicId>,
    /// The identity is a shared revision's `run_as` that someone else bound in the source
    /// workspace: where the revision was shared to it acts with nothing of its own, however
    /// it stands there now. Accepting such a share is refused while it stands there
    /// (`AccessIndex::may_bind_shared_run_as`); one who joined after the acceptance gave the
    /// flow their power there (round 23 authority review; SPEC WF-10, SH-2).
    pub borrowed: bool,
    /// A run of a revision shared into its workspace, whose `borrowed` was decided as it
    /// started. One stored before shared runs were marked reads as not shared: the engine
    /// resumes a shared workflow's such run as borrowed (storage review: it kept its
    /// identity's power in the destination).
    pub shared: bool,
}

impl Principal {
    /// A person signed in locally.
    pub fn local(email: Email) -> Self {
        Principal::User {
            email,
            via: SignIn::Local,
        }
    }

    /// A person signed in through SSO.
    pub fn sso(email: Email) -> Self {
        Principal::User {
            email,
            via: SignIn::Sso,
        }
    }

    /// The person's email, if the principal is a person.
    pub fn email(&self) -> Option<&Email> {
        match self {
            Principal::User { email, .. } => Some(email),
            _ => None,
        }
    }

    /// A run acting as `identity` on behalf of `publisher` (SPEC WF-10).
    pub fn run(identity: Principal, publisher: Principal) -> Self {
        Principal::Run(Box::new(RunAs {
            identity,
            publisher,
            run: None,
            borrowed: false,
            shared: false,
        }))
    }

    /// A run of a shared revision acting as `identity` on behalf of `acceptor`, the Owner who
    /// accepted it: `borrowed` unless the identity bound itself (see [`RunAs::borrowed`]).
    pub fn shared_run(identity: Principal, acceptor: Principal, borrowed: bool) -> Self {
        Principal::Run(Box::new(RunAs {
            identity,
            publisher: acceptor,
            run: None,
            borrowed,
            shared: true,
        }))
    }

    /// A workflow's `run_as` as written: an email (a person) or `key:<id>` (a service key,
    /// SPEC WF-10).
    pub fn parse_run_as(raw: &str) -> Result<Principal, String> {
        match raw.trim().strip_prefix("key:") {
            Some(id) if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) => {
                Ok(Principal::ApiKey(id.to_owned()))
            }
            Some(_) => Err(format!("`{raw}` is not a key id (`key:<id>`)")),
            None => Email::parse(raw)
                .map(Principal::local)
                .map_err(|_| format!("expected an email or `key:<id>`, got `{raw}`")),
        }
    }
}

impl Principal {
    /// The person or key an actor's name (as [`fmt::Display`] writes it, and as rows record
    /// who issued or shared something) names: `email`, `email (sso)` or `key:<id>`. `None` for
    /// any other name (a run, anonymous, or not a name at all).
    pub fn from_actor_name(name: &str) -> Option<Principal> {
        // A key's id is alphanumeric; `key:x@y.test` is an email that starts so.
        if let Some(id) = name.strip_prefix("key:")
            && !id.is_empty()
            && id.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Some(Principal::ApiKey(id.to_owned()));
        }
        match name.strip_suffix(" (sso)") {
            Some(email) => Email::parse(email).ok().map(Principal::sso),
            None => Email::parse(name).ok().map(Principal::local),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::User {
                email,
                via: SignIn::Local,
            } => write!(f, "{email}"),
            Principal::User {
                email,
                via: SignIn::Sso,
            } => write!(f, "{email} (sso)"),
            Principal::ApiKey(id) => write!(f, "key:{id}"),
            Principal::Anonymous => f.write_str("anonymous"),
            Principal::Run(r) => {
                match &r.run {
                    Some(id) => write!(f, "run {id} as ")?,
                    None => f.write_str("a run as ")?,
                }
                write!(f, "{} published by {}", r.identity, r.publisher)
            }
        }
    }
}

/// The context of one call: where it acts, as whom, and on behalf of which run.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The workspace every host call is confined to (SPEC ID-1).
    pub workspace: String,
    /// The run's principal (SPEC WF-6).
    pub principal: Principal,
    /// The run making the call, if any: events it causes carry it (SPEC WF-9).
    pub cause: Option<Cause>,
    /// The step the call is made for, if any: its grants (SPEC WF-6) and the keys its case
    /// creations replay by (SPEC WF-8). `None`: a call of no step, bounded by its principal.
    pub step: Option<StepCall>,
}

impl Caller {
    /// A call of `principal` in `workspace` outside any run or step (a door's, or a question
    /// asked on someone's behalf).
    pub fn of(principal: &Principal, workspace: &str) -> Caller {
        Caller {
            workspace: workspace.to_owned(),
            principal: principal.clone(),
            cause: None,
            step: None,
        }
    }

    /// What the call's step is granted; everything for a call of no step.
    pub fn grants(&self) -> Grants {
        self.step.as_ref().map_or(Grants::ALL, |s| s.grants)
    }

    /// The idempotency key of the step's next case creation, if its creations are keyed.
    pub fn next_case_key(&self) -> Option<String> {
        self.step.as_ref()?.keys.as_ref().map(CallKeys::next)
    }

    /// The idempotency key of the step's next restriction update, if its calls are keyed.
    pub fn next_update_key(&self) -> Option<String> {
        self.step.as_ref()?.keys.as_ref().map(CallKeys::next_update)
    }
}

/// The run behind a call, and how deep in an event chain that run is (SPEC WF-9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cause {
    pub run: i64,
    /// 0 for a manual run; an event caused by a run at depth d starts runs at depth d + 1.
    pub depth: u32,
    /// How far the run had read (`run_cases.seq`) when it made what this causes, if that was
    /// before it is written (a step's events, written with its journal entry after later
    /// steps may have read more); `None`: as far as it has read when written.
    pub read_upto: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An actor's name, as rows record who issued or shared something, reads back as the
    /// principal it was written from; a run or anything else reads as nobody.
    #[test]
    fn an_actors_name_reads_back_as_its_principal() {
        let email = |e: &str| Email::parse(e).expect("valid");
        for who in [
            Principal::local(email("Olivia.Owner@acme.test")),
            Principal::sso(email("olivia.owner@acme.test")),
            Principal::ApiKey("3f9a0c".into()),
            // An email that starts as a key's name does.
            Principal::local(email("key:x@y.test")),
        ] {
            assert_eq!(Principal::from_actor_name(&who.to_string()), Some(who));
        }
        let run = Principal::run(
            Principal::local(email("a@b.test")),
            Principal::local(email("c@d.test")),
        );
        for name in [
            run.to_string(),
            "anonymous".into(),
            "key:".into(),
            String::new(),
        ] {
            assert_eq!(Principal::from_actor_name(&name), None, "{name}");
        }
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        let a = Email::parse("  Alice@Example.TEST ").expect("valid");
        let b = Email::parse("alice@example.test").expect("valid");
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "alice@example.test");
    }

    #[test]
    fn malformed_emails_are_rejected_with_the_input_named() {
        for raw in [
            "",
            "alice",
            "@example.test",
            "alice@",
            "al ice@example.test",
            // Issue 13 item 8: a domain without a dot, several `@`, empty labels.
            "x@y",
            "a@b@c",
            "a@b@c.test",
            "a@.test",
            "a@example..test",
            "a@example.test.",
            "tab\t@example.test",
        ] {
            let err = Email::parse(raw).expect_err(raw);
            // Named as errors quote input: control characters escaped (`text::clip`).
            assert!(err.contains(&*crate::text::clip(raw.trim())), "{err}");
        }
    }

    /// An address that enters now refuses what a mail client, a list or a link brings
    /// along; one stored before still reads and is found (round 20 and its self-review).
    #[test]
    fn a_new_address_refuses_what_copying_brings_along_and_a_stored_one_still_reads() {
        for raw in [
            "sam@acme.test;",
            "sam@acme.test,",
            "<sam@acme.test>",
            "mailto:sam@acme.test",
            "\"sam\"@acme.test",
            "sam@acme.test/x",
        ] {
            let err = Email::parse_new(raw).expect_err(raw);
            assert!(err.contains(&*crate::text::clip(raw.trim())), "{err}");
            assert!(Email::parse(raw).is_ok(), "{raw} stored before reads");
        }
        for real in [
            "taro..yamada@docomo.ne.jp",
            "ops@corp_internal.acme.test",
            "o'brien+soc@acme.test",
        ] {
            assert!(Email::parse_new(real).is_ok(), "{real}");
        }
    }

    /// Issue 13 item 8: the Kelvin sign (U+212A) lower-cases to `k`; an address holding it
    /// must not become another person's. Non-ASCII is refused rather than folded.
    #[test]
    fn confusable_and_non_ascii_addresses_are_refused_not_folded() {
        for raw in [
            "\u{212A}im@example.test",
            "jos\u{e9}@example.test",
            "a@ex\u{e4}mple.test",
        ] {
            let err = Email::parse(raw).expect_err(raw);
            assert!(err.contains("only ASCII"), "{err}");
        }
        assert_eq!(
            Email::parse("Kim@Example.TEST").expect("ascii").as_str(),
            "kim@example.test"
        );
    }

    /// Issue 13 item 8: errors echo a long input shortened, never whole.
    #[test]
    fn errors_quote_long_input_shortened() {
        let long = "x".repeat(100_000);
        let err = Email::parse(&long).expect_err("too long");
        assert!(err.len() < 400, "{}", err.len());
        assert!(err.contains("(100000 bytes)"), "{err}");
    }

    #[test]
    fn emails_longer_than_rfc_5321_allows_are_rejected() {
        let longest = format!("{}@example.test", "a".repeat(MAX_EMAIL_BYTES - 13));
        assert_eq!(longest.len(), MAX_EMAIL_BYTES);
        assert!(Email::parse(&longest).is_ok());
        let err = Email::parse(&format!("a{longest}")).expect_err("one byte too long");
        assert!(err.contains("at most 254 bytes"), "{err}");
    }
}
