//! Browser sign-in (SPEC SV-1, SV-2): one-time sign-in links an Owner issues for a local
//! account, and the sessions a sign-in opens. Secrets are random; only their SHA-256 is
//! stored. A session is for one workspace (the one whose Owner or IdP vouched for the person)
//! and names a principal; what that principal may do is decided at each request by the access
//! layer, so a demoted or deleted user's session loses that power at once.

pub mod oidc;
mod store;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Error;
use crate::access::Reason;
use crate::access::Scope;
use crate::access::Standing;
use crate::audit::{self, Actor};
use crate::clock;
use crate::platform::Platform;
use crate::principal::{Email, Principal, SignIn};
use crate::store::Transaction;
use crate::stored_value::UnreadableValue;

/// How long a sign-in link may be used, in seconds.
pub const LINK_TTL_SECS: i64 = 15 * 60;
/// How long a session lasts after its sign-in, in seconds.
pub const SESSION_TTL_SECS: i64 = 8 * 60 * 60;
/// How long a link is kept after it expired or was used, in seconds: tried again within it,
/// it is refused as used or expired (which tells its holder what happened), not as unknown.
pub const LINK_GRACE_SECS: i64 = 24 * 60 * 60;

/// A sign-in link just issued: its secret is shown once, here.
#[derive(Clone, Debug)]
pub struct IssuedLink {
    /// The secret to put in the link's path.
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A session as a request finds it.
#[derive(Clone, Debug)]
pub struct Session {
    /// The workspace the session is for.
    pub workspace: String,
    /// Who signed in.
    pub principal: Principal,
    /// The token every form of this session carries (SPEC SV-2).
    pub csrf: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A session just opened: the cookie's secret and the session.
#[derive(Clone, Debug)]
pub struct OpenedSession {
    /// The cookie's value; only its hash is stored.
    pub secret: String,
    pub session: Session,
}

/// 32 random bytes as URL-safe base64: a secret for a link, a session or a form.
pub(crate) fn secret() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Internal(format!("no randomness for a secret: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// How long after a link's use the browser that used it may send its confirmation again.
const REPEAT_WITHIN_SECS: i64 = 60;

/// What is stored of a secret.
fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The refusal of a link that cannot sign anyone in; `why` is for the person holding it.
fn bad_link(why: &'static str) -> Error {
    Error::Denied(Reason::SignInLink(why))
}

impl Platform {
    /// `Ok` if `email` may sign in to `workspace` locally, as a sign-in link does: an acting
    /// member there (not refused by SSO-only enforcement unless break-glass, not denied by
    /// SSO, not an external identity, whose sign-in is through SSO only; SPEC SSO-4, ID-3).
    fn signs_in_locally(&self, email: &Email, workspace: &str) -> Result<(), Reason> {
        match self.index().standing(workspace, email, SignIn::Local) {
            Standing::Member { .. } => Ok(()),
            Standing::External(_) => Err(Reason::SignInLink(
                "an external identity signs in through SSO only",
            )),
            Standing::Nothing(reason) => Err(reason),
        }
    }

    /// Issues a one-time sign-in link for member `raw_email` of `workspace`; only a holder of
    /// `user.write` and every scope the workspace grants may (SPEC UA-1: the Owner vouches for
    /// who the person is). Audited.
    pub(crate) fn issue_signin_link(
        &self,
        actor: &Principal,
        workspace: &str,
        raw_email: &str,
    ) -> Result<IssuedLink, Error> {
        let email = Email::parse(raw_email).map_err(Error::Invalid)?;
        let token = secret()?;
        let expires_at = clock::now_unix() + LINK_TTL_SECS;
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            // A link signs its holder in as the person, with all they hold by name besides
            // their role (the restricted cases they are on, the interactions listing them,
            // their runs): only someone holding every scope may issue one. Within the
            // issuer's power by role alone, a people-admin took on an analyst's cases
            // (authority review; SPEC UA-1, CS-2). Decided before whether the person is a
            // member is told (round 18 leak review).
            self.holds_every_scope(actor, workspace, || {
                format!("issue a sign-in link as {email}")
            })?;
            if self
                .index()
                .is_outsider(&Principal::local(email.clone()), workspace)
            {
                return Err(Error::Invalid(format!(
                    "{email} is not a member of `{workspace}`: invite them first"
                )));
            }
            if let Err(reason) = self.signs_in_locally(&email, workspace) {
                return Err(Error::Invalid(format!(
                    "a sign-in link would sign {email} in locally, which `{workspace}` refuses: {reason}"
                )));
            }
            let ws = store::workspace_id(tx, workspace)?
                .ok_or_else(|| Error::NotFound(format!("no workspace `{workspace}`")))?;
            store::insert_link(
                tx,
                &hash(&token),
                ws,
                email.as_str(),
                &actor.to_string(),
                expires_at,
            )?;
            audit::record(
                tx,
                &Actor::Principal(actor),
                workspace,
                "signin.link.issue",
                email.as_str(),
                json!({ "expires_at": clock::rfc3339(expires_at) }),
            )
        })?;
        Ok(IssuedLink { token, expires_at })
    }

    /// Whom link `token` signs in, and where: the person's email and the workspace, while the
    /// link is unused and unexpired (`None` otherwise, whatever the reason: the sign-in says
    /// why). Shown before the link is used, so that nobody signs in as someone else unawares
    /// (a link of the attacker's own account sent to a victim). Uses nothing.
    pub(crate) fn describe_signin_link(
        &self,
        token: &str,
    ) -> Result<Option<(Email, String)>, Error> {
        let db = self.db()?;
        let Some(link) = store::link(db.conn(), &hash(token))? else {
            return Ok(None);
        };
        if link.used_at.is_some() || link.expires_at <= clock::now_unix() {
            return Ok(None);
        }
        let email = stored_email("signin_links", &link.email)?;
        Ok(Some((email, link.workspace)))
    }

    /// Redeems a sign-in link: once, before it expires, for someone still a member. Opens a
    /// local session for them; the use is audited in the link's workspace. `browser` is the
    /// sign-in page's browser-bound token: the browser that used the link may send its
    /// confirmation again within a minute of its use (a double click, an answer lost) and is
    /// signed in again, decided anew; any other is told the link was used (round 20 kill and
    /// concurrency review: the link was spent and nobody signed in).
    pub(crate) fn redeem_signin_link(
        &self,
        token: &str,
        browser: &str,
    ) -> Result<OpenedSession, Error> {
        let token_hash = hash(token);
        let browser_hash = (!browser.is_empty()).then(|| hash(browser));
        let now = clock::now_unix();
        // Who is still a member is decided on current access data (another process may have
        // deleted them since the link was issued).
        self.refresh_access()?;
        self.transact(|tx| {
            // Under the lock the session is written under: an issuer or a person changed by
            // another process while this waited for it is seen (kill review).
            self.index_in(tx)?;
            let link = store::link(tx, &token_hash)?.ok_or_else(|| bad_link("is not valid"))?;
            // Sent again within a minute of its use: a double click or a lost answer, not a
            // link kept to sign in with later (round 20 identity review: after the person was
            // deleted and invited again, the used link let them in without a new one).
            let again = match (link.used_at, &link.used_by, &browser_hash) {
                (None, _, _) => false,
                (Some(used), Some(by), Some(browser))
                    if by == browser && now - used <= REPEAT_WITHIN_SECS =>
                {
                    true
                }
                // Spent by SSO-only going on (`admin::store`): refused for what it refused,
                // once it is off again too (round 24 credentials review).
                (Some(_), Some(by), _) if by == crate::admin::store::SPENT_BY_SSO_ONLY => {
                    return Err(bad_link(
                        "is for someone who may not sign in locally here (SSO-only ended it)",
                    ));
                }
                (Some(_), _, _) => return Err(bad_link("was already used")),
            };
            if link.expires_at <= now {
                return Err(bad_link("has expired"));
            }
            let email = stored_email("signin_links", &link.email)?;
            let principal = Principal::local(email.clone());
            if self.index().is_outsider(&principal, &link.workspace) {
                return Err(bad_link("is for someone who is no longer a member"));
            }
            // The issuer vouched for the person (SPEC UA-1): the link opens a session only
            // while they still could issue it, holding `user.write` there with the person
            // within their power. Before, a link outlived its issuer's demotion or removal,
            // and a person promoted since signed in with power beyond the issuer's.
            let issuer = Principal::from_actor_name(&link.issued_by).ok_or_else(|| {
                Error::Internal(
                    UnreadableValue::new(
                        "signin_links",
                        "issued_by",
                        "a sign-in link",
                        &link.issued_by,
                        "a person's email or `key:<id>`",
                    )
                    .to_string(),
                )
            })?;
            if !self.link_issuer_stands(&issuer, &link.workspace, &email) {
                return Err(bad_link("was issued by someone who may no longer issue it"));
            }
            // Enforced SSO-only since it was issued, or the person is SSO-denied: a link is a
            // local sign-in (SPEC SSO-4).
            if self.signs_in_locally(&email, &link.workspace).is_err() {
                return Err(bad_link("is for someone who may not sign in locally here"));
            }
            if !again
                && !store::use_link(tx, &token_hash, now, browser_hash.as_deref().unwrap_or(""))?
            {
                return Err(bad_link("was already used"));
            }
            let ws = store::workspace_id(tx, &link.workspace)?
                .ok_or_else(|| bad_link("is for a workspace that no longer exists"))?;
            open_session(
                tx,
                ws,
                &link.workspace,
                principal,
                Via::Local {
                    issued_by: &link.issued_by,
                },
                if again {
                    "signin.link.use.repeated"
                } else {
                    "signin.link.use"
                },
                json!({}),
                now,
            )
        })
    }

    /// The live session whose cookie holds `secret`, if any (unknown and expired alike).
    pub(crate) fn session(&self, secret: &str) -> Result<Option<Session>, Error> {
        // Every request of a session is decided on current access data: a person another
        // process (the CLI) demoted or removed a moment ago acts no more (one indexed read
        // when nothing changed).
        self.refresh_access()?;
        let db = self.db()?;
        let Some(row) = store::session(db.conn(), &hash(secret))? else {
            return Ok(None);
        };
        if row.expires_at <= clock::now_unix() {
            return Ok(None);
        }
        let email = stored_email("web_sessions", &row.email)?;
        let principal = match row.via.as_str() {
            // As long as its link's issuer could issue it now (round 18 authority review: a
            // removed Owner acted on as the person they had signed in as, for hours). One
            // naming no issuer (written by an older flowhost) is ended as one whose issuer
            // went.
            "local" => {
                let issuer = row
                    .issued_by
                    .as_deref()
                    .and_then(Principal::from_actor_name);
                let principal = Principal::local(email.clone());
                match issuer {
                    Some(issuer) if self.link_issuer_stands(&issuer, &row.workspace, &email) => {
                        principal
                    }
                    _ => return Ok(None),
                }
            }
            "sso" => Principal::sso(email),
            other => {
                return Err(Error::Internal(
                    UnreadableValue::new(
                        "web_sessions",
                        "via",
                        format!("the session of {}", row.email),
                        other,
                        "`local` or `sso`",
                    )
                    .to_string(),
                ));
            }
        };
        Ok(Some(Session {
            workspace: row.workspace,
            principal,
            csrf: row.csrf,
            expires_at: row.expires_at,
        }))
    }

    /// Whether `issuer` may issue `email` a sign-in link to `workspace` now: holding
    /// `user.write` there with the person within their power (SPEC UA-1). A link, and the
    /// session it opened, stand only while it does.
    fn link_issuer_stands(&self, issuer: &Principal, workspace: &str, email: &Email) -> bool {
        self.check(issuer, workspace, Scope::UserWrite).allowed()
            && self
                .holds_every_scope(issuer, workspace, || format!("sign in as {email}"))
                .is_ok()
    }

    /// Ends the session whose cookie holds `secret` (signing out); nothing if there is none.
    pub(crate) fn end_session(&self, secret: &str) -> Result<(), Error> {
        self.transact(|tx| store::delete_session(tx, &hash(secret)))
    }

    /// Deletes at most `limit` links that expired or were used more than
    /// [`LINK_GRACE_SECS`] before `now`, in one short transaction; how many.
    pub(crate) fn prune_signin_links(&self, now: i64, limit: usize) -> Result<usize, Error> {
        let before = now.saturating_sub(LINK_GRACE_SECS);
        self.transact(|tx| store::prune_links(tx, before, limit))
    }

    /// Deletes at most `limit` sessions expired by `now` (no request finds them any more),
    /// in one short transaction; how many.
    pub(crate) fn prune_sessions(&self, now: i64, limit: usize) -> Result<usize, Error> {
        self.transact(|tx| store::prune_sessions(tx, now, limit))
    }
}

/// An email the host stored; one that does not parse is named, never a default.
fn stored_email(table: &'static str, raw: &str) -> Result<Email, Error> {
    Email::parse(raw).map_err(|_| {
        Error::Internal(
            UnreadableValue::new(table, "email", "a sign-in row", raw, "an email address")
                .to_string(),
        )
    })
}

/// How a session's person signed in.
pub(crate) enum Via<'a> {
    /// A sign-in link `issued_by` (an actor name): its sessions end once the issuer could
    /// no longer issue it.
    Local { issued_by: &'a str },
    /// An SSO login through this IdP: its sessions end when it is no longer trusted as then.
    Sso { idp: &'a str },
}

/// Opens a session for `principal` in workspace `workspace` (row `ws`) inside `tx`, signed in
/// `via`; audited as `action` with `details` and the session's expiry.
#[allow(clippy::too_many_arguments)]
pub(crate) fn open_session(
    tx: &Transaction<'_>,
    ws: i64,
    workspace: &str,
    principal: Principal,
    via: Via<'_>,
    action: &str,
    mut details: serde_json::Value,
    now: i64,
) -> Result<OpenedSession, Error> {
    let email = principal
        .email()
        .ok_or_else(|| Error::Internal("a session for someone without an email".into()))?
        .clone();
    let session_secret = secret()?;
    let csrf = secret()?;
    let expires_at = now + SESSION_TTL_SECS;
    store::insert_session(
        tx,
        &store::NewSessionRow {
            hash: &hash(&session_secret),
            ws,
            email: email.as_str(),
            via: match via {
                Via::Local { .. } => "local",
                Via::Sso { .. } => "sso",
            },
            idp: match via {
                Via::Local { .. } => None,
                Via::Sso { idp } => Some(idp),
            },
            issued_by: match via {
                Via::Local { issued_by } => Some(issued_by),
                Via::Sso { .. } => None,
            },
            csrf: &csrf,
            now,
            expires_at,
        },
    )?;
    details["session_expires_at"] = json!(clock::rfc3339(expires_at));
    audit::record(
        tx,
        &Actor::Principal(&principal),
        workspace,
        action,
        email.as_str(),
        details,
    )?;
    Ok(OpenedSession {
        secret: session_secret,
        session: Session {
            workspace: workspace.to_owned(),
            principal,
            csrf,
            expires_at,
        },
    })
}
