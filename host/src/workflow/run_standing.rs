//! A run starts only while whoever bound its identity acts in the workspace (SPEC WF-10, "fail
//! closed"). Decided by the access layer (`AccessIndex::binder_stands`); this is the words of
//! the refusal.

use crate::Error;
use crate::principal::Principal;

/// Why workflow `name` starts no run in `workspace` as `principal` (its run): whoever bound
/// its identity (its publisher, or the Owner who accepted its share, named as its revisions
/// name them) no longer acts there (removed, denied by SSO, a key revoked).
pub(crate) fn no_standing(name: &str, workspace: &str, principal: &Principal) -> Error {
    let binder = match principal {
        Principal::Run(run) => run.publisher.to_string(),
        other => other.to_string(),
    };
    Error::Conflict(format!(
        "`{name}` cannot start a run: {binder}, who bound the identity it runs as, no longer \
         acts in `{workspace}`; publish it (or accept its share) again as someone who does \
         (SPEC WF-10)"
    ))
}

/// [`no_standing`] for whoever starts it from outside (a flow's starter, a webhook's sender):
/// naming nobody, since people are for readers of the workspace's people (SPEC ID-1).
pub(crate) fn no_standing_unnamed(name: &str, workspace: &str) -> Error {
    Error::Conflict(format!(
        "`{name}` cannot start a run: whoever bound the identity it runs as no longer acts in \
         `{workspace}`; ask an Owner to publish it again (SPEC WF-10)"
    ))
}
