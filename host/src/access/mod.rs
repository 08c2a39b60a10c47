//! The access layer (SPEC ID, RB, SSO-5): scopes, roles, the in-memory index and decisions.
//! Every "may this principal do this here?" is answered by [`AccessIndex::check`].

pub mod decision;
pub mod explain;
pub mod flow;
pub mod grant_power;
mod grants;
pub mod group_kind;
pub mod index;
mod names;
mod outsider;
pub mod questions;
mod reason;
pub mod role;
pub mod run_as;
pub mod scope;
mod shards;

pub use decision::AccessDecision;
pub use flow::{ExternalSso, FlowAccess, FlowDecision, WorkspaceUsers};
pub use group_kind::{GroupKind, UnknownGroupKind};
pub use index::{AccessIndex, KeyKind, Member, Source, SsoOutcome, Standing, WorkspaceAccess};
pub use reason::{FlowReason, Reason, RunAsRefusal, RunSide};
pub use role::{BuiltinRole, RoleName, is_role_name};
pub use scope::{Scope, ScopeSet};
