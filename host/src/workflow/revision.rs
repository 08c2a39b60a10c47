//! A published revision as the service and its storage both know it (data only: what a
//! revision means, e.g. the principal its runs act as, is `publish.rs`'s).

use serde::Serialize;

use super::components::Pins;

/// One published revision.
#[derive(Clone, Debug, Serialize)]
pub struct Revision {
    pub name: String,
    pub revision: i64,
    pub published_by: String,
    pub published_at: String,
    #[serde(skip)]
    pub definition: String,
    #[serde(skip)]
    pub source: String,
    /// For an Interaction Flow started by its form: its stored title, form and access.
    #[serde(skip)]
    pub flow: Option<String>,
    /// The publisher as a stored principal (SPEC WF-10); `None` for a revision published
    /// before `run_as` was bound at publish.
    #[serde(skip)]
    pub publisher: Option<String>,
    /// The `run_as` bound at publish, as a stored principal.
    #[serde(skip)]
    pub run_as: Option<String>,
    /// The components pinned at publish (`None`: published before pinning, or pins that
    /// do not read: see `unreadable_pins`). Read through [`Revision::pins`].
    #[serde(skip)]
    pub components: Option<Pins>,
    /// Why the stored pins do not read, if they do not: this revision cannot run, and says
    /// so, while its workspace's other revisions go on (stored-data review).
    #[serde(skip)]
    pub unreadable_pins: Option<String>,
}

impl Revision {
    /// The pinned components, or the error of pins that do not read.
    pub(crate) fn pins(&self) -> Result<Option<&Pins>, crate::Error> {
        match &self.unreadable_pins {
            Some(why) => Err(crate::Error::Internal(why.clone())),
            None => Ok(self.components.as_ref()),
        }
    }
}
