//! Webhook triggers (SPEC WF-2, SV; issue 16): a workflow whose trigger is `webhook` gets an
//! opaque URL id and a secret. A request is accepted when it carries an HMAC-SHA256
//! signature of `<timestamp>.<body>` under that secret, its timestamp is within
//! [`FRESHNESS_SECS`] of now, and its signature was not seen before; an `Idempotency-Key`
//! starts at most one run. Accepting records the run (not yet executing, no lease) in the
//! same transaction as the signature and the key, so a `202` answers a run that is durably
//! there; the scheduler of `serve` executes it.

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::Error;
use crate::access::{Reason, Scope};
use crate::clock;
use crate::encoding::{hex, unhex};
use crate::platform::Platform;
use crate::principal::Principal;

use super::engine::{principal_from_stored, principal_to_stored};
use super::publish::Revision;
use super::store::revisions::Which;
use super::store::webhooks as store;
use crate::public_id::{IdKind, PublicId};
use crate::runs::store::journal;
use crate::runs::{NewRun, RunRef};

/// How far a request's timestamp may be from now, either way, in seconds.
pub const FRESHNESS_SECS: i64 = 300;
/// How long an accepted signature is remembered after its request's own timestamp, in
/// seconds. A request is fresh on a host until [`FRESHNESS_SECS`] after its timestamp by that
/// host's clock; remembering it twice that long after the timestamp leaves room for hosts
/// whose clocks differ by up to [`FRESHNESS_SECS`]. Remembered from the accepting host's
/// clock instead, it was forgotten by a host whose clock ran ahead while another host still
/// took its replay for fresh (kill and concurrency review).
pub const SIGNATURE_MEMORY_SECS: i64 = 2 * FRESHNESS_SECS;
/// How long an `Idempotency-Key` is kept, in seconds (7 days): a sender's retries come
/// within minutes or hours; after this the same key starts a new run.
pub const IDEMPOTENCY_RETENTION_SECS: i64 = 7 * 24 * 60 * 60;
/// The header with the request's Unix time in seconds.
pub const TIMESTAMP_HEADER: &str = "x-flowhost-timestamp";
/// The header with the signature, `v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
pub const SIGNATURE_HEADER: &str = "x-flowhost-signature";
/// The header whose value starts at most one run per webhook.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// The longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = crate::runs::StartKey::MAX_LEN;

/// A workflow's webhook as its publisher sees it.
#[derive(Clone, Debug, Serialize)]
pub struct Webhook {
    /// The opaque id in its URL, `POST /hooks/<id>`.
    pub id: String,
    pub workspace: String,
    pub workflow: String,
    /// The signing secret: only when it was just created or rotated (shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl Webhook {
    /// The path requests are sent to.
    pub fn path(&self) -> String {
        format!("/hooks/{}", self.id)
    }
}

/// One request to a webhook, as received.
pub struct Delivery<'a> {
    pub hook: &'a str,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub body: &'a [u8],
    /// Now, in Unix seconds.
    pub now: i64,
}

/// Why a request was refused; nothing was recorded for it.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No webhook by that id (or its workflow no longer has a webhook trigger).
    #[error("there is no webhook {0}")]
    NoSuchHook(String),
    /// The timestamp or signature header is missing or malformed.
    #[error("{0}")]
    Unsigned(String),
    /// The signature does not verify under the webhook's secret.
    #[error("the signature does not match the body and timestamp")]
    BadSignature,
    /// The timestamp is outside the freshness window.
    #[error("the timestamp is {0} s from now; at most {FRESHNESS_SECS} s are accepted")]
    Stale(i64),
    /// The same signature was accepted before.
    #[error("this signature was accepted before (a replay)")]
    Replayed,
    /// The secret was not issued for the workflow's current `run_as` (it changed since, or
    /// the secret predates secrets bound to one): it must be rotated.
    #[error(
        "this webhook's secret was not issued for the workflow's current `run_as`; rotate it \
         (`flowhost workflows webhook NAME --rotate`) to start runs as that identity"
    )]
    Rebound,
    /// The body or a header is not what a request may carry.
    #[error("{0}")]
    Invalid(String),
    /// The host failed, or the workflow cannot run now.
    #[error(transparent)]
    Host(#[from] Error),
}

/// Why a secret starts nothing once whoever issued or last rotated it could not issue it now
/// (removed, demoted), or when it predates issuers being kept: it must be rotated. A conflict
/// of the host's (an error), so that nothing of the delivery is kept.
const ISSUER_GONE: &str = "this webhook's secret was issued by someone who may no longer issue \
                           it; rotate it (`flowhost workflows webhook NAME --rotate`) to start \
                           runs again";

/// An accepted request.
#[derive(Clone, Debug, Serialize)]
pub struct Accepted {
    /// The run it started (or, for a repeated idempotency key, started before).
    pub run_id: String,
    /// Whether the idempotency key was seen before, so no run was started now.
    pub repeated: bool,
}

/// The signature header's value for `body` sent at `timestamp` with `secret`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1={}", hex(&mac.finalize().into_bytes()))
}

fn mac(secret: &str) -> Hmac<Sha256> {
    // HMAC takes a key of any length: this cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"))
}

fn random_hex(bytes: usize) -> Result<String, Error> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::Internal(format!("no randomness for a webhook: {e}")))?;
    Ok(hex(&buf))
}

/// Whether stored revision `rev` still has a webhook trigger. Read from the JSON rather than
/// parsed as a workflow: accepting a request must stay cheap. A definition that is no JSON
/// is the host's error naming it, never "no webhook": read so, a hook whose row exists
/// answered its sender 404 and its publisher "not published with a webhook trigger" (round
/// 26 hostile-input review).
fn has_webhook_trigger(rev: &Revision) -> Result<bool, Error> {
    serde_json::from_str::<Value>(&rev.definition)
        .map(|d| d["trigger"]["on"] == "webhook")
        .map_err(|e| {
            Error::Internal(format!(
                "the stored definition of revision {} of `{}` \
                 (workflow_revisions.definition) is not JSON: {e}",
                rev.revision, rev.name
            ))
        })
}

/// The latest revision of `name`, if it has a webhook trigger.
fn with_webhook(rev: Option<Revision>) -> Result<Option<Revision>, Error> {
    match rev {
        Some(rev) if has_webhook_trigger(&rev)? => Ok(Some(rev)),
        _ => Ok(None),
    }
}

/// Checks the timestamp and signature headers of `d` against `secret`; the signature as
/// [`sign`] spells it, and the timestamp it signs. Replays are recognized by that spelling: the header's hex in another
/// case verifies the same MAC and must not pass for a new request.
fn verify(d: &Delivery<'_>, secret: &str) -> Result<(String, i64), Refusal> {
    let (Some(timestamp), Some(signature)) = (d.timestamp, d.signature) else {
        return Err(Refusal::Unsigned(format!(
            "a webhook request needs the {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers"
        )));
    };
    let ts: i64 = timestamp.trim().parse().map_err(|_| {
        Refusal::Unsigned(format!(
            "{TIMESTAMP_HEADER} is not a Unix time in seconds: `{}`",
            crate::text::clip(timestamp)
        ))
    })?;
    let sig = signature
        .trim()
        .strip_prefix("v1=")
        .and_then(unhex)
        .ok_or_else(|| {
            Refusal::Unsigned(format!("{SIGNATURE_HEADER} is not `v1=<hex HMAC-SHA256>`"))
        })?;
    // The signature first: an unsigned party learns nothing, not even about the clock.
    let mut mac = mac(secret);
    mac.update(format!("{ts}.").as_bytes());
    mac.update(d.body);
    mac.verify_slice(&sig).map_err(|_| Refusal::BadSignature)?;
    // Any i64 is a timestamp a signer may send: the distance saturates rather than wraps
    // (a wrap to i64::MIN, whose `abs` is itself, read as fresh).
    let skew = d.now.saturating_sub(ts);
    if skew.unsigned_abs() > FRESHNESS_SECS.unsigned_abs() {
        return Err(Refusal::Stale(skew));
    }
    Ok((format!("v1={}", hex(&sig)), ts))
}

fn check_key(key: &str) -> Result<(), Refusal> {
    crate::runs::StartKey::check(IDEMPOTENCY_HEADER, key).map_err(Refusal::Invalid)
}

/// Whether `issued_by` (as stored) could issue a secret for runs acting as `bound`'s
/// identity in `workspace` now, as the access index decides; none kept stands for nobody.
fn issuer_stands(
    index: &crate::access::AccessIndex,
    issued_by: Option<&str>,
    bound: &Principal,
    workspace: &str,
    asks_people: bool,
) -> Result<bool, Error> {
    let (Principal::Run(run), Some(stored)) = (bound, issued_by) else {
        return Ok(false);
    };
    let issuer = principal_from_stored(stored, "webhooks", "issued_by", "a webhook")
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(index.webhook_issuer_stands(&issuer, workspace, &run.identity, asks_people))
}

impl Platform {
    /// The webhook of published workflow `name` in `workspace`, created on first ask (its
    /// secret then shown, once) or with a new secret when `rotate`; needs what publishing its
    /// latest revision needs (`playbook.publish`, `playbook.write`, `interaction.write` when
    /// it asks people).
    /// The workflow's latest revision must have a webhook trigger.
    pub(crate) fn webhook_for(
        &self,
        actor: &Principal,
        workspace: &str,
        name: &str,
        rotate: bool,
    ) -> Result<Webhook, Error> {
        self.authorize(actor, workspace, Scope::PlaybookPublish)?;
        let Some(rev) = with_webhook(self.latest_revision(workspace, name)?)? else {
            return Err(Error::NotFound(format!(
                "`{name}` is not published in {workspace} with a webhook trigger"
            )));
        };
        // The secret starts runs as the revision's `run_as`, on any body its holder signs:
        // only someone who could bind that identity in a publish of their own may create or
        // rotate it (SPEC WF-10). Before, any holder of playbook.publish could take over an
        // Owner's webhook and run as the Owner (leak review).
        let run_as = match &rev.run_as {
            Some(stored) => {
                let row = format!("`{}` revision {}", rev.name, rev.revision);
                Some(
                    principal_from_stored(stored, "workflow_revisions", "run_as", &row)
                        .map_err(|e| Error::Internal(e.to_string()))?,
                )
            }
            None => None,
        };
        // Its holder makes the revision run on bodies of their choosing: it takes what
        // publishing the revision takes (`playbook.write`, `interaction.write` when it asks
        // people; round 19 authority review), beside binding its `run_as`.
        let asks_people = self.revision_asks_people(&rev)?;
        let decide = || {
            self.may_publish(actor, workspace, asks_people)?;
            match &run_as {
                Some(run_as) => self
                    .index()
                    .may_bind_run_as(actor, workspace, run_as)
                    .map_err(|refusal| Error::Denied(Reason::RunAs(Box::new(refusal)))),
                None => Ok(()),
            }
        };
        decide()?;
        // Kept with the secret: it starts runs only while its issuer could issue it now.
        let issuer = crate::workflow::publish::publisher_to_stored(actor);
        let now = clock::now_unix();
        self.transact(|tx| {
            // Decided again on access data as it is under the lock the secret is written
            // under: one removed while this waited for it holds no secret (kill review).
            let index = self.index_in(tx)?;
            decide()?;
            // The revision decided on is still the latest: one published meanwhile may bind
            // another `run_as`, and a secret bound to the one before starts nothing (round
            // 26 kill and concurrency review: answered as made, it was a secret that never
            // worked, audited as bound to the wrong identity).
            let latest = super::store::revisions::revisions(tx, Which::Latest { workspace, name })?;
            if latest.last().map(|r| r.revision) != Some(rev.revision) {
                return Err(Error::Conflict(format!(
                    "another revision of `{name}` was published meanwhile; ask for its \
                     webhook again"
                )));
            }
            let existing = store::of_workflow(tx, workspace, name)?;
            let secret = format!("whsec_{}", random_hex(32)?);
            // What the audit entry says: created or rotated, and whom the secret runs as
            // before and after (a rotation rebinds it to the revision's `run_as`; audit
            // review: `--rotate` of a workflow with no webhook was logged as a rotation, and
            // a rebinding not at all).
            let mut action = "webhook.create";
            let mut details = json!({ "run_as": rev.run_as });
            let (id, shown) = match existing {
                Some(hook) if rotate => {
                    store::rotate(tx, &hook.id, &secret, now, rev.run_as.as_deref(), &issuer)?;
                    action = "webhook.rotate";
                    details = json!({ "run_as": { "before": hook.run_as, "after": rev.run_as } });
                    (hook.id, Some(secret))
                }
                // A secret every delivery of which would be refused is not answered as fine:
                // the publisher, who may rotate it, was told all was well while its sender
                // met 409s (round 27 web review). Refused as a delivery would be.
                Some(hook) => {
                    if rev.run_as.is_some() && (hook.run_as.is_none() || hook.run_as != rev.run_as)
                    {
                        return Err(Error::Conflict(Refusal::Rebound.to_string()));
                    }
                    if let Some(bound) = rev.run_principal(None, &index)?
                        && !issuer_stands(
                            &index,
                            hook.issued_by.as_deref(),
                            &bound,
                            workspace,
                            asks_people,
                        )?
                    {
                        return Err(Error::Conflict(ISSUER_GONE.to_owned()));
                    }
                    (hook.id, None)
                }
                None => {
                    let id = format!("H-{}", random_hex(16)?);
                    store::insert(
                        tx,
                        &store::Hook {
                            id: id.clone(),
                            workspace: workspace.to_owned(),
                            workflow: name.to_owned(),
                            secret: secret.clone(),
                            run_as: rev.run_as.clone(),
                            issued_by: Some(issuer.clone()),
                        },
                        now,
                    )?;
                    (id, Some(secret))
                }
            };
            if shown.is_some() {
                crate::audit::record(
                    tx,
                    &crate::audit::Actor::Principal(actor),
                    workspace,
                    action,
                    name,
                    {
                        if let Some(o) = details.as_object_mut() {
                            o.insert("webhook".into(), json!(id));
                        }
                        details
                    },
                )?;
            }
            Ok(Webhook {
                id,
                workspace: workspace.to_owned(),
                workflow: name.to_owned(),
                secret: shown,
            })
        })
    }

    /// Deletes at most `limit` signatures of requests signed more than
    /// [`SIGNATURE_MEMORY_SECS`] before `now` (refused as stale anyway), in one short
    /// transaction.
    pub(crate) fn prune_webhook_signatures(&self, now: i64, limit: usize) -> Result<usize, Error> {
        let before = now.saturating_sub(SIGNATURE_MEMORY_SECS);
        self.transact(|tx| store::prune_signatures(tx, before, limit))
    }

    /// Deletes at most `limit` idempotency keys recorded more than
    /// [`IDEMPOTENCY_RETENTION_SECS`] before `now`, in one short transaction.
    pub(crate) fn prune_idempotency_keys(&self, now: i64, limit: usize) -> Result<usize, Error> {
        let before = now.saturating_sub(IDEMPOTENCY_RETENTION_SECS);
        self.transact(|tx| store::prune_keys(tx, before, limit))
    }

    /// Deletes at most `limit` keys runs were started with (`start_requests`) recorded more
    /// than [`IDEMPOTENCY_RETENTION_SECS`] before `now`, in one short transaction: a start
    /// sent again within that answers its run, as a webhook's delivery does.
    pub(crate) fn prune_start_keys(&self, now: i64, limit: usize) -> Result<usize, Error> {
        let before = now.saturating_sub(IDEMPOTENCY_RETENTION_SECS);
        self.transact(|tx| crate::runs::store::requests::prune(tx, before, limit))
    }

    /// Accepts a request to a webhook (see the module's documentation): the run it starts
    /// is recorded, to be executed by the scheduler, before this returns.
    pub(crate) fn accept_webhook(&self, d: &Delivery<'_>) -> Result<Accepted, Refusal> {
        let hook = store::by_id(self.db()?.conn(), d.hook)?
            .ok_or_else(|| Refusal::NoSuchHook(crate::text::clip(d.hook).into_owned()))?;
        let (signature, signed_at) = verify(d, &hook.secret)?;
        if let Some(key) = d.idempotency_key {
            check_key(key)?;
        }
        let text = std::str::from_utf8(d.body)
            .map_err(|e| Refusal::Invalid(format!("the body is not UTF-8: {e}")))?;
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            crate::json_limits::parse("the body", text).map_err(Refusal::Invalid)?
        };
        let rev = with_webhook(self.latest_revision(&hook.workspace, &hook.workflow)?)?
            .ok_or_else(|| Refusal::NoSuchHook(hook.id.clone()))?;
        // A secret issued for one `run_as` starts no run as another: a later revision bound
        // to someone else (an Owner republishing a member's workflow as themselves) waits for
        // the secret to be rotated by someone who may bind that identity (SPEC WF-10).
        // A secret stored before secrets were bound (no `run_as`) is bound to nobody, so it
        // starts nothing until rotated: otherwise it would act as whoever the workflow runs
        // as now (stored-data review).
        if rev.run_as.is_some() && (hook.run_as.is_none() || hook.run_as != rev.run_as) {
            return Err(Refusal::Rebound);
        }
        // The run acts as the revision's `run_as` on behalf of its publisher, checked at each
        // step with what both hold then (SPEC WF-10).
        let principal = rev
            .run_principal(None, &self.index())?
            .ok_or_else(|| Error::Invalid(format!("`{}` has no `run_as` (SPEC WF-6)", rev.name)))?;
        let event = json!({ "kind": "webhook", "body": body });
        let asks_people = self.revision_asks_people(&rev)?;
        let bound = principal;
        let principal = principal_to_stored(&bound);
        let components = rev
            .pins()?
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| Error::Internal(format!("pinned components: {e}")))?;
        self.transact(|tx| {
            // Checked again under the write: a rotation that committed while this request
            // waited for it has retired the secret the signature verified under (review).
            match store::by_id(tx, &hook.id)? {
                Some(now) if now.secret == hook.secret && now.run_as == hook.run_as => {}
                _ => return Ok(Err(Refusal::BadSignature)),
            }
            let forget_before = d.now - SIGNATURE_MEMORY_SECS;
            let fresh = store::see_signature(tx, &hook.id, &signature, signed_at, forget_before)?;
            // A key already used answers with its run: to a retry signed anew, and to the very
            // request that made it sent again (its answer lost, a crash), told by its body. A
            // replayed request naming another delivery's key learns nothing of it (SPEC WF-2).
            if let Some(key) = d.idempotency_key
                && let Some((run_id, made_by)) = store::run_of_key(tx, &hook.id, key)?
            {
                if !fresh && made_by != event {
                    return Ok(Err(Refusal::Replayed));
                }
                // Signed anew with another body: another delivery, which the key's run is
                // not (round 24 kill and concurrency review: it was answered as a repeat,
                // and its body never ran), refused as a start key reused is. An error, so
                // that the signature seen is not kept: sent again under a new key, as the
                // refusal says, it starts its run (round 24 credentials review).
                if made_by != event {
                    return Err(Error::Conflict(format!(
                        "this Idempotency-Key started run {run_id} with another body; a new \
                         delivery takes a new key"
                    )));
                }
                return Ok(Ok(Accepted {
                    run_id,
                    repeated: true,
                }));
            }
            if !fresh {
                return Ok(Err(Refusal::Replayed));
            }
            // A new run starts only while whoever bound its identity acts here (SPEC WF-10,
            // fail closed; authority review), on access data as of this write (another
            // host's removal counts); a retry of a delivery that made its run is answered
            // with it above, whoever left since (review).
            // Refused as an error, so that the transaction rolls back: the signature it saw
            // is not kept, and the same delivery sent again once they act here again is not
            // taken for a replay (kill and concurrency review of 17b).
            let index = self.index_in(tx)?;
            if !index.own_run_stands(&bound, &hook.workspace) {
                return Err(super::run_standing::no_standing(&rev.name, &hook.workspace));
            }
            // And only while whoever issued the secret could issue it now (SPEC WF-10): a
            // secret of one removed or demoted since, or issued before issuers were kept,
            // starts nothing until it is rotated. Said as a stale secret, naming nobody; an
            // error, so that the signature seen is not kept (self-review: once they could
            // again, the sender's retry was refused as a replay).
            if !issuer_stands(
                &index,
                hook.issued_by.as_deref(),
                &bound,
                &hook.workspace,
                asks_people,
            )? {
                return Err(Error::Conflict(ISSUER_GONE.to_owned()));
            }
            let id = PublicId::new(IdKind::Run)?;
            let run = RunRef {
                key: journal::insert(
                    tx,
                    &NewRun {
                        workflow: &rev.name,
                        workspace: &hook.workspace,
                        principal: &principal,
                        event: &event,
                        definition: &rev.definition,
                        source: &rev.source,
                        lease_owner: None,
                        components: components.as_deref(),
                        binder: None,
                        audit: None,
                        request: None,
                    },
                    &id,
                )?,
                id,
            };
            if let Some(key) = d.idempotency_key {
                store::record_key(tx, &hook.id, key, run.key, d.now)?;
            }
            Ok(Ok(Accepted {
                run_id: run.id.to_string(),
                repeated: false,
            }))
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery<'a>(sig: Option<&'a str>, ts: Option<&'a str>, now: i64) -> Delivery<'a> {
        Delivery {
            hook: "H-1",
            timestamp: ts,
            signature: sig,
            idempotency_key: None,
            body: b"{\"a\":1}",
            now,
        }
    }

    #[test]
    fn a_signature_verifies_only_with_its_secret_body_and_timestamp() {
        let sig = sign("s3cret", 1000, b"{\"a\":1}");
        assert!(verify(&delivery(Some(&sig), Some("1000"), 1000), "s3cret").is_ok());
        assert!(matches!(
            verify(&delivery(Some(&sig), Some("1000"), 1000), "other"),
            Err(Refusal::BadSignature)
        ));
        // The timestamp is signed: moving it breaks the signature.
        assert!(matches!(
            verify(&delivery(Some(&sig), Some("1001"), 1001), "s3cret"),
            Err(Refusal::BadSignature)
        ));
        assert!(matches!(
            verify(
                &delivery(Some(&sig), Some("1000"), 1000 + FRESHNESS_SECS + 1),
                "s3cret"
            ),
            Err(Refusal::Stale(_))
        ));
        assert!(matches!(
            verify(&delivery(None, Some("1000"), 1000), "s3cret"),
            Err(Refusal::Unsigned(_))
        ));
        assert!(matches!(
            verify(&delivery(Some("v1=zz"), Some("1000"), 1000), "s3cret"),
            Err(Refusal::Unsigned(_))
        ));
    }
}
