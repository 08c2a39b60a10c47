//! A run starts only while its identity and whoever bound it act in the workspace (SPEC WF-10,
//! "fail closed"), and a flow only while its publisher may ask people. Decided by the access
//! layer (`AccessIndex::own_run_stands`, `binder_stands`, `flow_start_refusal`); this is the
//! words of the refusal.

use crate::Error;

/// Why workflow `name` starts no run in `workspace`: whoever bound its identity (its
/// publisher, or the Owner who accepted its share) no longer acts there (removed, denied by
/// SSO, a key revoked). Naming nobody: a flow's starter, a webhook's sender and a run's
/// readers are not all readers of the workspace's people (SPEC ID-1).
pub(crate) fn no_standing(name: &str, workspace: &str) -> Error {
    Error::Conflict(format!(
        "`{name}` cannot start a run: the identity it runs as, or whoever bound it, no longer \
         acts in `{workspace}`; ask an Owner to publish it again (SPEC WF-10)"
    ))
}

/// Why Interaction Flow `name` starts no run: whoever published it may no longer ask people
/// for input (`interaction.write`, SPEC WF-10, RB-1), so its form is not offered to anyone
/// either. Naming nobody, as [`no_standing`].
pub(crate) fn may_not_ask(name: &str) -> Error {
    Error::Conflict(format!(
        "`{name}` cannot start a run: whoever published it may no longer ask people for input \
         (`interaction.write`); ask an Owner to publish it again (SPEC WF-10)"
    ))
}

/// The error a start of Interaction Flow `name` in `workspace` is refused with, for `why`.
pub(crate) fn flow_refused(
    why: crate::access::run_as::FlowRefusal,
    name: &str,
    workspace: &str,
) -> Error {
    match why {
        crate::access::run_as::FlowRefusal::NoStanding => no_standing(name, workspace),
        crate::access::run_as::FlowRefusal::MayNotAsk => may_not_ask(name),
    }
}
