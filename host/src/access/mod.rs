//! The access layer (SPEC ID, RB, SSO-5): scopes, roles, the in-memory index and decisions.
//! Every "may this principal do this here?" is answered by [`AccessIndex::check`].

pub mod decision;
pub mod explain;
pub mod flow;
mod grants;
pub mod index;
mod names;
mod outsider;
pub mod questions;
pub mod role;
pub mod run_as;
pub mod scope;
mod shards;

pub use decision::{AccessDecision, Reason};
pub use flow::{ExternalSso, FlowAccess, FlowDecision, FlowReason, WorkspaceUsers};
pub use index::{AccessIndex, KeyKind, Member, Source, SsoOutcome, Standing, WorkspaceAccess};
pub use role::{BuiltinRole, RoleName};
pub use run_as::RunAsRefusal;
pub use scope::{Scope, ScopeSet};
