//! Who is acting (SPEC ID-3). Every service call takes the acting principal explicitly.

use std::fmt;

/// An email, trimmed and lower-cased: emails are identities and compare case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);

impl Email {
    /// Normalizes `raw`; an empty or obviously malformed address is an error naming it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        let valid = email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
            && !email.chars().any(char::is_whitespace);
        if valid {
            Ok(Self(email))
        } else {
            Err(format!("`{raw}` is not an email address"))
        }
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The principal on whose behalf a step's host calls are made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// A person acting in a workspace (invited or SSO-provisioned member, or external identity).
    User(Email),
    /// An API client (SPEC RB-4), named by its key id.
    ApiKey(String),
    /// Nobody: a step run without `--as`. Every access check denies it.
    Anonymous,
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::User(email) => write!(f, "{email}"),
            Principal::ApiKey(id) => write!(f, "key:{id}"),
            Principal::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// The context of one step execution: where it runs and as whom.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The workspace every host call is confined to (SPEC ID-1).
    pub workspace: String,
    /// The run's principal (SPEC WF-6).
    pub principal: Principal,
}

#[cfg(test)]
mod tests {
    use super::*;

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
        ] {
            let err = Email::parse(raw).expect_err(raw);
            assert!(err.contains(raw.trim()), "{err}");
        }
    }
}
