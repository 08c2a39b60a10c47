//! Browser sign-in through the workspace's IdP: the OIDC authorization code flow with PKCE
//! (S256), state and nonce (issue 16, SPEC SV-1). This module only establishes *who* the
//! IdP vouches for; whether that person gets in, and as what, is the claim mapping's
//! decision (`admin/sso.rs`, SPEC SSO-2..5, GR-3), applied in the one workspace whose
//! settings verified the token.
//!
//! - `discovery.rs`: the IdP's endpoints and keys (cached briefly);
//! - `token.rs`: the code exchange; `verify.rs`: the ID token's signature and claims;
//! - `store.rs`: the logins between the button and the callback (their SQL).

mod discovery;
mod store;
mod token;
mod verify;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{OpenedSession, hash, secret};
use crate::Error;
use crate::access::Reason;
use crate::admin::oidc::{self, OidcClient};
use crate::clock;
use crate::platform::Platform;
use crate::principal::{Email, Principal};

/// How long a started login may come back, in seconds.
pub const LOGIN_TTL_SECS: i64 = 10 * 60;

/// A login just started: where to send the browser, and the secret of the cookie that binds
/// the callback to this browser.
#[derive(Clone, Debug)]
pub struct StartedLogin {
    /// The IdP's authorization URL, with this login's state, nonce and PKCE challenge.
    pub authorize_url: String,
    /// The binding cookie's value; only its hash is stored.
    pub browser: String,
}

/// What the IdP's callback carried, and the browser's binding cookie.
#[derive(Clone, Debug)]
pub struct Callback {
    /// The workspace and IdP the callback's path names (each pair has its own path).
    pub workspace: String,
    pub idp: String,
    pub state: String,
    pub code: String,
    /// The IdP's `iss` response parameter, when it sends one (RFC 9207).
    pub iss: Option<String>,
    pub browser: String,
}

/// The redirect URI of `idp` of `workspace` under the server's public URL: the one to
/// register at the IdP, sent in the authorization request and the code exchange. Each
/// (workspace, IdP) has its own, so a code an IdP returns can only be redeemed through the
/// login it was asked for (no IdP mix-up through one shared callback).
pub fn callback_uri(public_url: &str, workspace: &str, idp: &str) -> String {
    format!(
        "{}/signin/oidc/callback/{}/{}",
        public_url.trim_end_matches('/'),
        crate::encoding::percent_encode(workspace),
        crate::encoding::percent_encode(idp)
    )
}

/// A refusal of an OIDC sign-in, for the person.
fn refused(why: impl Into<String>) -> Error {
    Error::Denied(Reason::IdpSignIn(why.into()))
}

/// The IdP's back channel failed (its discovery document, its keys, the code's exchange):
/// the server's trouble, answered as such (503, the detail in the server's log under a
/// reference). Its transport, TLS and URL details, or an `invalid_client` telling a wrong
/// secret, were shown to an anonymous visitor (review).
fn unreachable_idp(why: String) -> Error {
    Error::Busy(format!(
        "the identity provider could not complete the sign-in: {why}"
    ))
}

/// The origin (`scheme://host[:port]`) of an IdP URL, fit to be written into a
/// Content-Security-Policy: only host characters, so an IdP's document cannot add directives.
fn csp_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?']).next()?;
    let fits = matches!(scheme, "https" | "http")
        && !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    fits.then(|| format!("{scheme}://{host}"))
}

/// The PKCE S256 challenge of `verifier` (RFC 7636 4.2).
fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The claims handed to the claim mapping: the verified ones without the protocol's
/// single-use values. The IdP's groups claim is presented as `groups` where every door's
/// login is applied (`admin/sso.rs`, `presented_groups`).
fn presented_claims(mut claims: Value) -> Value {
    if let Some(map) = claims.as_object_mut() {
        for protocol in ["nonce", "at_hash", "c_hash"] {
            map.remove(protocol);
        }
    }
    claims
}

/// Why `email` is not admitted to `workspace` by an SSO sign-in, if they are not: an SSO web
/// session acts only as a member the IdP admits or an external identity. An invited member
/// the IdP now names external keeps their invitation, which admits them only by a link: a
/// session opened for them was refused on every page (round 22 access review; SPEC SSO-3).
fn admitted_by_sso(
    index: &crate::access::AccessIndex,
    workspace: &str,
    email: &Email,
) -> Option<String> {
    use crate::access::Standing;
    match index.standing(workspace, email, crate::principal::SignIn::Sso) {
        Standing::Member { .. } | Standing::External(_) => None,
        Standing::Nothing(reason @ Reason::NoSsoLogin { .. }) => Some(format!(
            "{reason}: this IdP names {email} external, and their invitation admits them only \
             by a sign-in link"
        )),
        Standing::Nothing(reason) => Some(reason.to_string()),
    }
}

impl Platform {
    /// Deletes at most `limit` logins expired by `now` (used or not: a callback finds an
    /// expired one refused either way), in one short transaction; how many.
    pub(crate) fn prune_oidc_logins(&self, now: i64, limit: usize) -> Result<usize, Error> {
        self.transact(|tx| store::prune(tx, now, limit))
    }

    /// The IdPs of `workspace` a browser may sign in through (none for an unknown workspace:
    /// the answer is the same, so it tells an anonymous visitor nothing).
    pub(crate) fn oidc_idps(&self, workspace: &str) -> Result<Vec<String>, Error> {
        let db = self.db()?;
        oidc::configured_idps(db.conn(), workspace)
    }

    /// The origin of the authorization endpoint of each of `workspace`'s IdPs (by discovery,
    /// cached), by IdP name, for the sign-in page's `form-action`: its button's POST
    /// redirects there. An IdP that cannot be reached within the page's time, or whose
    /// origin cannot be written into a policy, is left out: its button is answered with a
    /// link instead of a redirect (`server/web/oidc.rs`).
    pub(crate) fn oidc_form_targets(
        &self,
        workspace: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, Error> {
        let clients: Vec<(String, OidcClient)> = {
            let db = self.db()?;
            let mut clients = Vec::new();
            for idp in oidc::configured_idps(db.conn(), workspace)? {
                if let Some(client) = oidc::client(db.conn(), workspace, &idp)? {
                    clients.push((idp, client));
                }
            }
            clients
        };
        // The page's fetches share one bound: k IdPs that do not answer held the page (and
        // its request worker) k times over (web review); past it only what is cached counts.
        let started = std::time::Instant::now();
        Ok(clients
            .into_iter()
            .filter_map(|(idp, c)| {
                let left = discovery::PAGE_TIMEOUT.saturating_sub(started.elapsed());
                let found = if left.is_zero() {
                    discovery::cached_discovery(&c.settings.issuer)
                } else {
                    discovery::discover_within(&c.settings.issuer, left).ok()
                };
                Some((idp, csp_origin(&found?.authorization_endpoint)?))
            })
            .collect())
    }

    /// Starts a login through `idp` of `workspace`: stores it (10 minutes, single use) and
    /// answers the IdP's authorization URL, which comes back to this (workspace, IdP)'s
    /// callback under `public_url`.
    pub(crate) fn start_oidc_login(
        &self,
        workspace: &str,
        idp: &str,
        public_url: &str,
    ) -> Result<StartedLogin, Error> {
        let client = {
            let db = self.db()?;
            oidc::client(db.conn(), workspace, idp)?
        }
        .ok_or_else(|| refused("this workspace offers no such identity provider"))?;
        let found = discovery::discover(&client.settings.issuer).map_err(unreachable_idp)?;
        let (state, browser, nonce, verifier) = (secret()?, secret()?, secret()?, secret()?);
        let now = clock::now_unix();
        self.transact(|tx| {
            let ws = super::store::workspace_id(tx, workspace)?
                .ok_or_else(|| refused("this workspace offers no such identity provider"))?;
            let stored = store::insert(
                tx,
                &store::NewPending {
                    state_hash: &hash(&state),
                    browser_hash: &hash(&browser),
                    ws,
                    idp,
                    nonce_hash: &hash(&nonce),
                    verifier: &verifier,
                    now,
                    expires_at: now + LOGIN_TTL_SECS,
                },
            )?;
            if stored {
                Ok(())
            } else {
                Err(refused(
                    "too many sign-ins to this workspace are under way; try again in a few \
                     minutes",
                ))
            }
        })?;
        let endpoint = &found.authorization_endpoint;
        let redirect_uri = &callback_uri(public_url, workspace, idp);
        let authorize_url = format!(
            "{endpoint}{}response_type=code&client_id={}&redirect_uri={}&scope={}&state={}\
             &nonce={}&code_challenge={}&code_challenge_method=S256",
            if endpoint.contains('?') { '&' } else { '?' },
            crate::encoding::percent_encode(&client.settings.client_id),
            crate::encoding::percent_encode(redirect_uri),
            crate::encoding::percent_encode(&client.settings.scopes),
            crate::encoding::percent_encode(&state),
            crate::encoding::percent_encode(&nonce),
            challenge(&verifier),
        );
        Ok(StartedLogin {
            authorize_url,
            browser,
        })
    }

    /// Finishes a login at the IdP's callback: the state once, unexpired, from the browser
    /// that started it; the code exchanged; the ID token verified; its claims through the
    /// claim mapping of the login's workspace. A member or an external identity gets a
    /// session; anyone else a refusal (SPEC SSO-3, SSO-5), and no session.
    pub(crate) fn finish_oidc_login(
        &self,
        callback: &Callback,
        public_url: &str,
    ) -> Result<OpenedSession, Error> {
        let now = clock::now_unix();
        let state_hash = hash(&callback.state);
        // Taken before anything else: a state (and the code with it) is tried once, whatever
        // the outcome.
        let login = self.transact(|tx| {
            let login = store::find(tx, &state_hash)?
                .ok_or_else(|| refused("this sign-in is unknown; start again"))?;
            // A state back on another (workspace, IdP)'s callback is the IdP mix-up: the
            // code is another IdP's, and must never reach this login's token endpoint. Left
            // unspent: it is not this path's to spend.
            if login.workspace != callback.workspace || login.idp != callback.idp {
                return Err(refused(
                    "this sign-in came back from another identity provider than it went to; \
                     start again",
                ));
            }
            if login.used_at.is_some() || !store::use_once(tx, &state_hash, now)? {
                return Err(refused("this sign-in was already used; start again"));
            }
            Ok(login)
        })?;
        // Spent from here: a failure of the server or the IdP's back channel cannot be tried
        // again, and is said so rather than "nothing was changed, try again" with a
        // Retry-After whose every retry was refused as already used, the login's mapping
        // perhaps already applied (round 18 web review).
        let finish = || -> Result<OpenedSession, Error> {
            if login.expires_at <= now {
                return Err(refused("this sign-in took too long; start again"));
            }
            if !crate::encoding::secrets_equal(
                hash(&callback.browser).as_bytes(),
                login.browser_hash.as_bytes(),
            ) {
                return Err(refused(
                    "this sign-in was started in another browser; start again here",
                ));
            }
            let client = {
                let db = self.db()?;
                oidc::client(db.conn(), &login.workspace, &login.idp)?
            }
            .ok_or_else(|| refused("the identity provider is no longer configured here"))?;
            // RFC 9207: an IdP that names itself on the way back must be this login's.
            if let Some(iss) = &callback.iss
                && iss != &client.settings.issuer
            {
                return Err(refused(format!(
                    "the answer names issuer `{}`, not this sign-in's identity provider",
                    crate::text::clip(iss)
                )));
            }
            let redirect_uri = &callback_uri(public_url, &login.workspace, &login.idp);
            let claims = self.verified_claims(&client, &login, callback, redirect_uri, now)?;
            // The identity is the email alone: only one the IdP says it verified counts, or an
            // IdP that lets people set their own would let anyone claim a member's address.
            match &claims["email_verified"] {
                Value::Bool(true) => {}
                Value::Bool(false) => return Err(refused("the IdP has not verified the email")),
                Value::Null => {
                    return Err(refused(
                        "the ID token does not say the IdP verified the email (`email_verified`); \
                         ask the IdP's administrator to send it",
                    ));
                }
                _ => return Err(refused("the ID token's `email_verified` is not a boolean")),
            }
            let claims = presented_claims(claims);
            let outcome = self.sso_login_in(&login.workspace, &login.idp, &claims)?;
            let email = Email::parse(claims["email"].as_str().unwrap_or_default())
                .map_err(Error::Invalid)?;
            let principal = Principal::sso(email.clone());
            // The login's write may have left the index to the next refresh (its update was
            // not waited for past the request's deadline): read after one (self-review).
            self.refresh_access()?;
            if outcome.outcome == "denied" || self.index().is_outsider(&principal, &login.workspace)
            {
                return Err(refused(format!(
                    "`{}` does not admit {email} (no claim rule matches; SPEC SSO-3)",
                    login.workspace
                )));
            }
            if let Some(why) = admitted_by_sso(&self.index(), &login.workspace, &email) {
                return Err(refused(why));
            }
            self.open_sso_session(
                &login.workspace,
                &client.settings,
                principal,
                &outcome.outcome,
                now,
            )
        };
        finish().map_err(|e| {
            if e.is_infrastructure() {
                let reference = crate::error::logged("OIDC sign-in", &e.to_string());
                refused(format!(
                    "the sign-in could not be completed, and it cannot be tried again: start \
                     again (the detail is in the server's log, ref {reference})"
                ))
            } else {
                e
            }
        })
    }

    /// The verified claims of the ID token the code buys.
    fn verified_claims(
        &self,
        client: &OidcClient,
        login: &store::PendingRow,
        callback: &Callback,
        redirect_uri: &str,
        now: i64,
    ) -> Result<Value, Error> {
        let found = discovery::discover(&client.settings.issuer).map_err(unreachable_idp)?;
        let id_token = token::exchange(&token::Exchange {
            token_endpoint: &found.token_endpoint,
            client_id: &client.settings.client_id,
            client_secret: &client.client_secret,
            code: &callback.code,
            verifier: &login.verifier,
            redirect_uri,
        })
        .map_err(|e| match e {
            token::NoToken::Refused(why) => refused(why),
            token::NoToken::Failed(why) => unreachable_idp(why),
        })?;
        let parsed = verify::parse(&id_token).map_err(refused)?;
        let pick = |keys: &[discovery::SigningKey]| {
            match &parsed.header.kid {
                Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid.as_str())),
                // No `kid`: only an IdP with one key leaves no doubt which.
                None if keys.len() == 1 => keys.first(),
                None => None,
            }
            .map(|k| k.key.clone())
        };
        let key = match pick(&discovery::keys(&found.jwks_uri, false).map_err(unreachable_idp)?) {
            Some(key) => key,
            // The IdP may have rotated its keys since they were cached: fetched once again.
            None => pick(&discovery::keys(&found.jwks_uri, true).map_err(unreachable_idp)?)
                .ok_or_else(|| {
                    refused("the ID token is signed with a key the IdP does not publish (`kid`)")
                })?,
        };
        parsed
            .verify(
                &key,
                &verify::Expected {
                    issuer: &client.settings.issuer,
                    client_id: &client.settings.client_id,
                    nonce_hash: &login.nonce_hash,
                    now,
                },
            )
            .map_err(refused)
    }

    /// Opens the session of an admitted SSO identity; audited in the workspace.
    fn open_sso_session(
        &self,
        workspace: &str,
        settings: &oidc::OidcSettings,
        principal: Principal,
        outcome: &str,
        now: i64,
    ) -> Result<OpenedSession, Error> {
        let idp = settings.idp.as_str();
        self.transact(|tx| {
            // Under the lock the session is written under, as a link's: a member deleted or
            // denied since the login's commit opens nothing (web review: the session was
            // written after the deletion, and worked again on a re-invitation).
            let index = self.index_in(tx)?;
            if index.is_outsider(&principal, workspace) {
                return Err(refused(format!(
                    "`{workspace}` no longer admits {}",
                    principal
                        .email()
                        .map_or_else(String::new, ToString::to_string)
                )));
            }
            if let Some(email) = principal.email()
                && let Some(why) = admitted_by_sso(&index, workspace, email)
            {
                return Err(refused(why));
            }
            let ws = super::store::workspace_id(tx, workspace)?
                .ok_or_else(|| refused("the workspace no longer exists"))?;
            // So is the IdP: trusted still, with the settings the login went through (its
            // settings removed or changed meanwhile ended its sessions, and this one would
            // have outlived that; review of this change).
            let current = crate::admin::store::oidc_client(tx, ws, idp)?;
            if current.is_none_or(|c| {
                c.settings.issuer != settings.issuer || c.settings.client_id != settings.client_id
            }) {
                return Err(refused(format!(
                    "`{workspace}` no longer signs people in through `{idp}` as this login began"
                )));
            }
            super::open_session(
                tx,
                ws,
                workspace,
                principal,
                super::Via::Sso { idp },
                "signin.oidc",
                json!({ "idp": idp, "outcome": outcome }),
                now,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636s() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn form_targets_are_bare_origins() {
        assert_eq!(
            csp_origin("https://idp.test:8443/oauth2/authorize?x=1").as_deref(),
            Some("https://idp.test:8443")
        );
        assert_eq!(
            csp_origin("http://127.0.0.1:5000/authorize").as_deref(),
            Some("http://127.0.0.1:5000")
        );
        for bad in [
            "https://idp.test;script-src *",
            "https://a b",
            "javascript://x",
            "https://",
        ] {
            assert_eq!(csp_origin(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_protocols_values_are_not_presented() {
        let claims = json!({"email": "a@b.test", "roles": ["x"], "nonce": "n", "c_hash": "h"});
        let shown = presented_claims(claims);
        assert_eq!(shown, json!({"email": "a@b.test", "roles": ["x"]}));
    }
}
