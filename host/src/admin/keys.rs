//! API keys (SPEC RB-4): personal keys act with their owner's current role; service keys carry
//! a role an Owner chose. Secrets are shown once and stored as SHA-256 hashes.

use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Error;
use crate::access::Reason;
use crate::access::{KeyKind, Scope};
use crate::audit::{self, Actor};
use crate::clock;
use crate::platform::Platform;
use crate::principal::Principal;
use crate::store::Connection;

pub use super::model::KeyInfo;
use super::store::{self, NewKeyRow};
use super::{existing_role, workspace_id};

/// Prefix of every key token: `fhk_<id>_<secret>`.
const TOKEN_PREFIX: &str = "fhk_";

/// A key just created; `token` is shown once and never stored.
#[derive(Clone, Debug, Serialize)]
pub struct CreatedKey {
    pub id: String,
    pub token: String,
    pub expires_at: Option<String>,
}

/// What a new key acts as.
#[derive(Clone, Debug)]
pub enum NewKey<'a> {
    /// The creator's own key: acts with the creator's current role.
    Personal,
    /// A key carrying `role`, created by an Owner.
    Service { role: &'a str },
}

fn random_hex(bytes: usize) -> Result<String, Error> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Platform {
    /// Creates a key in `workspace`. Personal keys need `apikey.write`; service keys need
    /// `user.write` (an Owner chooses their role). `expires_in` is in seconds.
    pub(crate) fn create_key(
        &self,
        actor: &Principal,
        workspace: &str,
        name: &str,
        kind: NewKey<'_>,
        expires_in: Option<i64>,
    ) -> Result<CreatedKey, Error> {
        // A key is told apart in `keys list` and the audit log by its name (round 30: `""`
        // passed the name check, as no other name does).
        if name.is_empty() {
            return Err(Error::Invalid("a key needs a name".into()));
        }
        crate::text::check_name("a key name", name, crate::text::MAX_NAME_CHARS)
            .map_err(Error::Invalid)?;
        let id = random_hex(8)?;
        let secret = random_hex(32)?;
        let now = clock::now_unix();
        let expires_at = expires_in.map(|s| now.saturating_add(s));
        self.write(|tx| {
            // Decided under the write lock, on current access data (see `Platform::write`).
            let (kind_name, owner) = match kind {
                NewKey::Personal => {
                    self.authorize(actor, workspace, Scope::ApikeyWrite)?;
                    let owner = actor.email().ok_or_else(|| {
                        Error::Invalid("a personal key belongs to a person; use --as EMAIL".into())
                    })?;
                    ("personal", Some(owner.to_string()))
                }
                NewKey::Service { .. } => {
                    self.authorize(actor, workspace, Scope::UserWrite)?;
                    // A service key outlives whoever made it, with its role: chosen by an
                    // Owner (SPEC RB-4). Made by a people-admin within their power, it kept
                    // that power after they were demoted (authority review).
                    self.holds_every_scope(actor, workspace, || {
                        "create a service key (its role is chosen by an Owner, SPEC RB-4)".into()
                    })?;
                    ("service", None)
                }
            };
            let ws = workspace_id(tx, workspace)?;
            let role = match kind {
                NewKey::Service { role } => {
                    let role = existing_role(tx, ws, workspace, role)?;
                    self.may_hand_out(actor, workspace, &role)?;
                    Some(role.to_string())
                }
                NewKey::Personal => None,
            };
            store::insert_key(tx, &NewKeyRow {
                id: &id,
                ws,
                name,
                kind: kind_name,
                owner: owner.as_deref(),
                role: role.as_deref(),
                secret_hash: &hash_secret(&secret),
                created_by: &actor.to_string(),
                created_at: now,
                expires_at,
            })?;
            audit::record(tx, &Actor::Principal(actor), workspace, "key.create", &id,
                json!({ "name": name, "kind": kind_name, "owner": owner, "role": role, "expires_at": expires_at.map(clock::rfc3339) }))
        })?;
        Ok(CreatedKey {
            token: format!("{TOKEN_PREFIX}{id}_{secret}"),
            id,
            expires_at: expires_at.map(clock::rfc3339),
        })
    }

    /// Revokes a key: its owner (with `apikey.write`) or an Owner may.
    pub(crate) fn revoke_key(
        &self,
        actor: &Principal,
        workspace: &str,
        id: &str,
    ) -> Result<(), Error> {
        self.write(|tx| {
            // Decided under the write lock, on current access data (see `Platform::write`).
            let index = self.index();
            // An outsider is refused before the key is looked up, so the answer says nothing
            // about which keys exist there (SPEC ID-4).
            if index.is_outsider(actor, workspace) {
                self.authorize(actor, workspace, Scope::ApikeyWrite)?;
            }
            let missing =
                || Error::NotFound(format!("there is no API key `{id}` in `{workspace}`"));
            let key = index.key(id).filter(|k| k.workspace == workspace);
            // One's own key, through one's own other key too: revoking it takes no power.
            let myself = self.person_acting(actor);
            let own = key.is_some_and(
                |k| matches!(&k.kind, KeyKind::Personal { owner } if Some(owner) == myself.as_ref()),
            );
            if own {
                self.authorize(actor, workspace, Scope::ApikeyWrite)?;
            } else if index.tells_member_data(actor, workspace) {
                // Another's key: only one within the revoker's own power (a person holding
                // no more, a service role no wider; `access/grant_power.rs`). Only to who may
                // list keys (`user.read` beside `user.write`): the refusal names the key's
                // owner or role, and a missing key answered otherwise (round 19 authority
                // review; `keys list` and the member commands ask the same).
                match &key.ok_or_else(missing)?.kind {
                    KeyKind::Personal { owner } => {
                        self.may_act_on(actor, workspace, owner, "revoke a key of")?;
                    }
                    KeyKind::Service { role } => self.may_hand_out(actor, workspace, role)?,
                }
            } else {
                // Someone who may revoke only their own keys, or may change members without
                // reading them, learns nothing of others': a key of another's reads as a
                // missing one, where "not yours" against "no such key" told any member
                // which key ids exist (authority review).
                self.authorize(actor, workspace, Scope::ApikeyWrite)?;
                return Err(missing());
            }
            if !store::revoke_key(tx, id, clock::now_unix())? {
                return Ok(());
            }
            audit::record(
                tx,
                &Actor::Principal(actor),
                workspace,
                "key.revoke",
                id,
                json!({}),
            )
        })
    }

    /// Keys of `workspace`: all of them for holders of `user.write` and `user.read`, else the
    /// caller's own personal keys (needs `apikey.read`). Every key names its owner and role,
    /// which are `user.read`'s to know: `user.write` alone listed them (leak review).
    pub(crate) fn list_keys(
        &self,
        actor: &Principal,
        workspace: &str,
    ) -> Result<Vec<KeyInfo>, Error> {
        let all = self.check(actor, workspace, Scope::UserWrite).allowed()
            && self.check(actor, workspace, Scope::UserRead).allowed();
        if !all {
            self.authorize(actor, workspace, Scope::ApikeyRead)?;
        }
        // A personal key lists its owner's keys, as it may revoke them (`revoke_key`; round
        // 21 authority review: it listed none).
        let owner = self.person_acting(actor).map(|e| e.to_string());
        store::keys(self.db()?.conn(), workspace, all, owner.as_deref())
    }

    /// Authenticates a key token (`fhk_<id>_<secret>`) to the principal it acts as. The
    /// decision about what the key may do is still [`Platform::check`]'s.
    pub(crate) fn authenticate_key(&self, token: &str) -> Result<Principal, Error> {
        authenticate_token(self.db()?.conn(), token)
    }

    /// [`Platform::authenticate_key`] for a door that answers each request (the HTTP API): a
    /// revoked or expired key does not authenticate either, and reads exactly as a wrong
    /// token, so a request is refused as unauthenticated rather than answered with empty
    /// lists (SPEC SV-1, RB-4).
    pub(crate) fn authenticate_live_key(&self, token: &str) -> Result<Principal, Error> {
        let principal = self.authenticate_key(token)?;
        if let Principal::ApiKey(id) = &principal {
            let index = self.index();
            let live = index
                .key(id)
                .is_some_and(|k| !k.revoked && k.expires_at.is_none_or(|t| clock::now_unix() < t));
            if !live {
                return Err(Error::Denied(Reason::BadKeyToken));
            }
        }
        Ok(principal)
    }
}

/// [`authenticate_token`], refusing a revoked or expired key as a wrong token, as the HTTP
/// API's bearer check does ([`Platform::authenticate_live_key`]): the CLI's door, which
/// answered a revoked key as one with no standing, exit 0, where the API answered 401 (round
/// 20 door review).
pub fn authenticate_live_token(conn: &Connection, token: &str) -> Result<Principal, Error> {
    let principal = authenticate_token(conn, token)?;
    if let Principal::ApiKey(id) = &principal
        && !store::key_live(conn, id, clock::now_unix())?
    {
        return Err(Error::Denied(Reason::BadKeyToken));
    }
    Ok(principal)
}

/// Authenticates a key token (`fhk_<id>_<secret>`) against the stored hash of its secret
/// (SPEC RB-4): the id alone is not a credential. An unknown id, a malformed token and a wrong
/// secret read the same. Revocation and expiry are the access layer's to decide, at each check.
pub fn authenticate_token(conn: &Connection, token: &str) -> Result<Principal, Error> {
    let bad = || Error::Denied(Reason::BadKeyToken);
    let rest = token.strip_prefix(TOKEN_PREFIX).ok_or_else(bad)?;
    let (id, secret) = rest.split_once('_').ok_or_else(bad)?;
    let stored = store::key_secret_hash(conn, id)?;
    // Hash even for an unknown id, so the time taken does not say whether the id exists.
    let presented = hash_secret(secret);
    let stored = stored.ok_or_else(bad)?;
    if !crate::encoding::secrets_equal(stored.as_bytes(), presented.as_bytes()) {
        return Err(bad());
    }
    Ok(Principal::ApiKey(id.to_owned()))
}
