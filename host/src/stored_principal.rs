//! How a principal is stored (a run's, a revision's `run_as`, a webhook's binding): one line
//! of text, read back exactly or refused naming where (never as nobody, or as anyone). Below
//! the services, so every layer that reads a stored principal reads it alike.

use crate::principal::{Email, Principal, SignIn};
use crate::stored_value::UnreadableValue;

/// The principal as stored with a run, so a resumed run acts as the same principal.
pub fn principal_to_stored(p: &Principal) -> String {
    match p {
        Principal::User {
            email,
            via: SignIn::Local,
        } => format!("user:{email}"),
        Principal::User {
            email,
            via: SignIn::Sso,
        } => format!("sso:{email}"),
        Principal::ApiKey(id) => format!("key:{id}"),
        Principal::Anonymous => "anonymous".into(),
        // Emails and key ids hold no spaces. A shared run is marked after both, borrowed or
        // its own, so that a run stored before the marks reads as it did.
        Principal::Run(run) => format!(
            "run:{} {}{}",
            principal_to_stored(&run.identity),
            principal_to_stored(&run.publisher),
            match (run.shared, run.borrowed) {
                (true, true) => BORROWED_MARK,
                (true, false) => OWN_MARK,
                (false, _) => "",
            }
        ),
    }
}

/// What marks a stored shared run principal whose identity is borrowed (`RunAs::borrowed`).
const BORROWED_MARK: &str = " borrowed";
/// What marks a stored shared run principal whose identity bound itself.
const OWN_MARK: &str = " own";

/// What stands for an API key's id told to who may not learn which keys exist.
pub const WITHHELD_KEY: &str = "key:withheld";

/// `p` in its stored form ([`principal_to_stored`]) as told to a reader who may not learn
/// member data (`AccessIndex::tells_member_data`): a key other than `reader` itself as
/// [`WITHHELD_KEY`], a person as `user:` however they sign in.
pub fn principal_told(p: &Principal, reader: &Principal) -> String {
    match p {
        Principal::ApiKey(_) if p != reader => WITHHELD_KEY.to_owned(),
        Principal::User { email, .. } => format!("user:{email}"),
        Principal::Run(run) => format!(
            "run:{} {}",
            principal_told(&run.identity, reader),
            principal_told(&run.publisher, reader)
        ),
        other => principal_to_stored(other),
    }
}

/// An actor's name (`Principal`'s display: `key:<id>`, `<email>`, `<email> (sso)`) as told
/// to a reader who may not learn member data: a key other than `reader` itself as
/// [`WITHHELD_KEY`], a person by email alone. A name that does not read is left as it is.
pub fn actor_told(name: &str, reader: &Principal) -> String {
    match Principal::from_actor_name(name) {
        Some(key @ Principal::ApiKey(_)) if &key != reader => WITHHELD_KEY.to_owned(),
        Some(Principal::User { email, .. }) => email.to_string(),
        _ => name.to_owned(),
    }
}

/// The principal stored by [`principal_to_stored`] in `table.column` of `row`. Text it never
/// writes is an error naming where (never read as nobody, or as anyone).
pub(crate) fn principal_from_stored(
    s: &str,
    table: &'static str,
    column: &'static str,
    row: impl std::fmt::Display,
) -> Result<Principal, UnreadableValue> {
    parse_stored_principal(s).ok_or_else(|| {
        UnreadableValue::new(
            table,
            column,
            row.to_string(),
            s,
            "a principal (`user:EMAIL`, `sso:EMAIL`, `key:ID`, `run:IDENTITY PUBLISHER [borrowed|own]`, `anonymous`)",
        )
    })
}

pub(crate) fn parse_stored_principal(s: &str) -> Option<Principal> {
    let email = |e: &str| Email::parse(e).ok();
    match s.split_once(':') {
        Some(("user", e)) => email(e).map(Principal::local),
        Some(("sso", e)) => email(e).map(Principal::sso),
        Some(("key", id)) if !id.is_empty() => Some(Principal::ApiKey(id.to_owned())),
        Some(("run", rest)) => {
            let (rest, shared, borrowed) = match (
                rest.strip_suffix(BORROWED_MARK),
                rest.strip_suffix(OWN_MARK),
            ) {
                (Some(rest), _) => (rest, true, true),
                (None, Some(rest)) => (rest, true, false),
                (None, None) => (rest, false, false),
            };
            let (identity, publisher) = rest.split_once(' ')?;
            let identity = parse_stored_principal(identity)?;
            let publisher = parse_stored_principal(publisher)?;
            Some(if shared {
                Principal::shared_run(identity, publisher, borrowed)
            } else {
                Principal::run(identity, publisher)
            })
        }
        None if s == "anonymous" => Some(Principal::Anonymous),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run principal reads back as it was stored: a home run's, and a shared run's with its
    /// identity borrowed or its own; one stored before the marks reads as a home run's.
    #[test]
    fn a_run_principal_reads_back_with_its_mark() {
        let email = |e: &str| Email::parse(e).expect("email");
        let identity = || Principal::local(email("x@a.test"));
        let acceptor = || Principal::local(email("o@b.test"));
        for run in [
            Principal::run(identity(), acceptor()),
            Principal::shared_run(identity(), acceptor(), true),
            Principal::shared_run(identity(), acceptor(), false),
        ] {
            let stored = principal_to_stored(&run);
            assert_eq!(parse_stored_principal(&stored), Some(run), "{stored}");
        }
        assert_eq!(
            principal_to_stored(&Principal::shared_run(identity(), acceptor(), true)),
            "run:user:x@a.test user:o@b.test borrowed"
        );
        let Some(Principal::Run(old)) = parse_stored_principal("run:user:x@a.test user:o@b.test")
        else {
            panic!("a run principal")
        };
        assert!(!old.shared && !old.borrowed);
    }

    /// A reader who may not learn member data reads no key's id but their own, and no way of
    /// signing in (round 18 leak review).
    #[test]
    fn keys_and_sign_ins_are_withheld_but_the_readers_own_key() {
        let me = Principal::ApiKey("k1".into());
        let sso = Principal::sso(Email::parse("alice@x.test").expect("email"));
        assert_eq!(actor_told("key:k2", &me), WITHHELD_KEY);
        assert_eq!(actor_told("key:k1", &me), "key:k1");
        assert_eq!(actor_told("alice@x.test (sso)", &me), "alice@x.test");
        assert_eq!(actor_told("console", &me), "console");
        assert_eq!(principal_told(&sso, &me), "user:alice@x.test");
        assert_eq!(
            principal_told(&Principal::ApiKey("k2".into()), &me),
            WITHHELD_KEY
        );
    }
}
