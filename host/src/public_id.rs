//! The ids people see of runs, interactions and shares (SPEC ID-4): opaque and random, like
//! `R-3F9A1C07D2B4E861`, so that an id tells nothing about how many there are in any
//! workspace and cannot be guessed. The row's INTEGER id stays the internal key; only this
//! one crosses a door (CLI arguments and output, JSON, step inputs, audit entries).
//!
//! Opaque rather than numbered per workspace: `runs show|resume`, `interact show|respond` and
//! `share accept` name only the id, and a share belongs to two workspaces at once.

use std::fmt;

/// Random bytes per id: 64 bits, shown as 16 hexadecimal digits.
const RANDOM_BYTES: usize = 8;

/// What an id names; its prefix says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    Run,
    Interaction,
    Share,
    /// An event, as `triggers list` shows it and `triggers release` takes it.
    Event,
}

impl IdKind {
    /// The prefix of this kind's ids (the migration that numbered existing rows writes the
    /// same: `'<prefix>' || hex(randomblob(8))`).
    pub fn prefix(self) -> &'static str {
        match self {
            IdKind::Run => "R-",
            IdKind::Interaction => "I-",
            IdKind::Share => "S-",
            IdKind::Event => "E-",
        }
    }

    /// The noun errors use, with its article.
    fn a_noun(self) -> &'static str {
        match self {
            IdKind::Run => "a run",
            IdKind::Interaction => "an interaction",
            IdKind::Share => "a share",
            IdKind::Event => "an event",
        }
    }

    /// The noun errors use.
    pub fn noun(self) -> &'static str {
        match self {
            IdKind::Run => "run",
            IdKind::Interaction => "interaction",
            IdKind::Share => "share",
            IdKind::Event => "event",
        }
    }
}

/// Why an id could not be made or read. Its own type, so that ids sit below the services
/// (`principal` names a run by its id); the services turn it into an [`Error`](crate::Error).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The system gave no randomness for a new id.
    #[error("no randomness for a {0} id: {1}")]
    NoRandomness(&'static str, String),
    /// What was given is not an id of the kind asked for.
    #[error("{0}")]
    Malformed(String),
}

/// A public id: a prefix and 16 upper-case hexadecimal digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct PublicId(String);

impl PublicId {
    /// A new random id of `kind`.
    pub fn new(kind: IdKind) -> Result<Self, IdError> {
        let mut bytes = [0u8; RANDOM_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|e| IdError::NoRandomness(kind.noun(), e.to_string()))?;
        let digits: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
        Ok(PublicId(format!("{}{digits}", kind.prefix())))
    }

    /// `text` as an id of `kind`, case-insensitively and trimmed; an error naming what was
    /// given and what an id looks like otherwise (an old numeric id among them).
    pub fn parse(kind: IdKind, text: &str) -> Result<Self, IdError> {
        let upper = text.trim().to_ascii_uppercase();
        let well_formed = upper.strip_prefix(kind.prefix()).is_some_and(|digits| {
            digits.len() == 2 * RANDOM_BYTES && digits.bytes().all(|b| b.is_ascii_hexdigit())
        });
        if well_formed {
            Ok(PublicId(upper))
        } else {
            Err(IdError::Malformed(format!(
                "`{}` is not {} id ({} ids look like {}0123456789ABCDEF)",
                crate::text::clip(text),
                kind.a_noun(),
                kind.noun(),
                kind.prefix()
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An id as the host stored it, read as it is (`store/values.rs`): only the host writes
    /// the column, from [`PublicId::new`].
    pub(crate) fn stored(text: String) -> Self {
        PublicId(text)
    }
}

impl fmt::Display for PublicId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_parse_back_and_differ() {
        let a = PublicId::new(IdKind::Run).expect("id");
        let b = PublicId::new(IdKind::Run).expect("id");
        assert_ne!(a, b);
        assert_eq!(PublicId::parse(IdKind::Run, a.as_str()).expect("parses"), a);
        assert_eq!(
            PublicId::parse(IdKind::Run, &a.as_str().to_ascii_lowercase()).expect("any case"),
            a
        );
    }

    #[test]
    fn a_number_or_another_kind_is_refused_by_name() {
        let err = PublicId::parse(IdKind::Run, "5").expect_err("a number");
        assert!(err.to_string().contains("`5` is not a run id"), "{err}");
        let share = PublicId::new(IdKind::Share).expect("id");
        let err = PublicId::parse(IdKind::Interaction, share.as_str()).expect_err("a share id");
        assert!(
            err.to_string().contains("is not an interaction id"),
            "{err}"
        );
    }
}
