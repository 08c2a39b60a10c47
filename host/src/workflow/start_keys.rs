//! A start sent again with its key (the API's `Idempotency-Key`, a web form's start token)
//! is answered with the run it started, never with a second run (round 19 kill and
//! concurrency review: a start whose answer was lost answered 503 while its run executed,
//! and the retry started it again). The key is remembered in the transaction that records
//! the run (`runs/store/requests.rs`); here the same start sent again is told from another
//! one reusing its key.

use serde_json::Value;

use super::{Engine, RunOutcome};
use crate::Error;
use crate::principal::Principal;
use crate::runs::StartKey;
use crate::stored_principal::principal_to_stored;

impl Engine {
    /// The run `principal`'s start with `key` in `workspace` recorded, if one did, as it is
    /// now: the same start sent again when it ran `workflow` with an event `same` holds for.
    /// Another start reusing the key is a conflict naming that run (the requester's own).
    /// No key, no run: `None`.
    pub(crate) fn started_before(
        &self,
        principal: &Principal,
        workspace: &str,
        key: Option<&str>,
        workflow: &str,
        same: impl Fn(&Value) -> bool,
    ) -> Result<Option<RunOutcome>, Error> {
        let Some(key) = key else {
            return Ok(None);
        };
        let requester = principal_to_stored(principal);
        let key = StartKey {
            requester: &requester,
            key,
        };
        let Some(before) = self.runs().started_before(workspace, &key)? else {
            return Ok(None);
        };
        let info = before.info;
        if info.workflow != workflow || !same(&before.event) {
            return Err(Error::Conflict(format!(
                "this key started run {} of another workflow or with another input; a new \
                 start needs a new key",
                info.id
            )));
        }
        Ok(Some(RunOutcome {
            run_key: info.key,
            run_id: info.id,
            status: info.status,
            exit_status: info.exit_status,
            output: info.output.unwrap_or(Value::Null),
            error: info.error,
            waiting_on: self.platform().open_interactions_of(info.key)?,
        }))
    }

    /// `started`, or, when it is a conflict and the start carried `key`, the run the same
    /// start sent at once recorded meanwhile (a double click: the second start met the
    /// first's key as it committed; round 19 self-review). As [`Engine::started_before`].
    pub(crate) fn or_started_meanwhile(
        &self,
        started: Result<RunOutcome, Error>,
        principal: &Principal,
        workspace: &str,
        key: Option<&str>,
        workflow: &str,
        same: impl Fn(&Value) -> bool,
    ) -> Result<RunOutcome, Error> {
        match started {
            Err(Error::Conflict(why)) if key.is_some() => {
                match self.started_before(principal, workspace, key, workflow, same)? {
                    Some(before) => Ok(before),
                    None => Err(Error::Conflict(why)),
                }
            }
            other => other,
        }
    }
}
