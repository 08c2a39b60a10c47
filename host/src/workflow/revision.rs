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
    /// The components pinned at publish (`None`: published before pinning).
    #[serde(skip)]
    pub components: Option<Pins>,
}
