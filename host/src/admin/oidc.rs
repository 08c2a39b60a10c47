//! The OIDC client settings of an IdP a workspace trusts: how the web pages sign someone in
//! through it (issue 16). Set, shown and removed by a holder of `user.write` (the Owner, as
//! for claim rules), each change audited (SPEC UA-4). The settings only say where to send a
//! browser and how to verify what comes back; who gets in is the claim mapping's decision
//! (`sso.rs`, SPEC SSO-2..5).

use serde_json::json;

use crate::Error;
use crate::access::Scope;
use crate::audit::{self, Actor};
use crate::clock;
use crate::platform::Platform;
use crate::principal::Principal;
use crate::store::Connection;

use super::store;
use super::workspace_id;

/// The scopes asked for when none are given.
pub const DEFAULT_SCOPES: &str = "openid email profile";
/// The claim holding the person's IdP groups when none is named.
pub const DEFAULT_GROUPS_CLAIM: &str = "groups";
/// The longest issuer, client id, secret or scope list accepted.
const MAX_SETTING_CHARS: usize = 2048;

pub(crate) use super::model::OidcClient;
pub use super::model::{NewOidc, OidcSettings};

/// The environment variable an operator sets to `1` to allow plain-http IdPs on loopback
/// (a local IdP, the tests); read by the process that checks a URL (`sso oidc set`, `serve`).
pub const ALLOW_LOOPBACK_ENV: &str = "FLOWHOST_ALLOW_LOOPBACK_IDP";

/// `Ok` if `url` may be an issuer or an IdP endpoint: `https://`, or plain `http://` to
/// loopback when the operator allowed it ([`ALLOW_LOOPBACK_ENV`]). The error says why.
pub fn check_idp_url(what: &str, url: &str) -> Result<(), String> {
    // Read only for a URL it decides (plain http): set to anything but `1` or `0`, it is
    // named, not read as off, as every other setting names a value it does not read (round
    // 29 hostile-input review: `true` was refused unsaid); an https IdP never meets it (the
    // self-review: `false` failed every sign-in).
    if !url.starts_with("http://") {
        return check_idp_url_with(what, url, false);
    }
    let allowed = match std::env::var(ALLOW_LOOPBACK_ENV) {
        Err(_) => false,
        Ok(v) if v == "1" => true,
        Ok(v) if v == "0" || v.is_empty() => false,
        Ok(v) => {
            return Err(format!(
                "{ALLOW_LOOPBACK_ENV} is `{}`: set it to 1 to allow plain-http IdPs on \
                 loopback, or to 0 or leave it unset",
                crate::text::clip(&v.escape_debug().to_string())
            ));
        }
    };
    check_idp_url_with(what, url, allowed)
}

/// The host of an `https://`/`http://` URL's authority (`[...]` kept for IPv6), after
/// checking the authority has no userinfo and at most a numeric port.
fn url_host<'a>(what: &str, shown: &str, rest: &'a str) -> Result<&'a str, String> {
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    // `http://localhost:1@evil.test/` is a request to evil.test: userinfo is never needed
    // for an IdP, and refusing it leaves no second reading of the host.
    if authority.contains('@') {
        return Err(format!(
            "{what} `{shown}` has user information (`@`) before its host"
        ));
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let end = v6
                .find(']')
                .ok_or_else(|| format!("{what} `{shown}` has an unclosed `[` in its host"))?;
            (&authority[..end + 2], &v6[end + 1..])
        }
        None => match authority.find(':') {
            Some(colon) => (&authority[..colon], &authority[colon..]),
            None => (authority, ""),
        },
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if host.is_empty() || !port_ok {
        return Err(format!("{what} `{shown}` names no host (or a bad port)"));
    }
    Ok(host)
}

/// [`check_idp_url`] with the operator's choice on loopback http given.
fn check_idp_url_with(what: &str, url: &str, allow_loopback: bool) -> Result<(), String> {
    let shown = crate::text::clip(url);
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) || url.contains('#') {
        return Err(format!(
            "{what} `{shown}` is not a URL (spaces or a fragment)"
        ));
    }
    if let Some(rest) = url.strip_prefix("https://") {
        url_host(what, &shown, rest)?;
        return Ok(());
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let host = url_host(what, &shown, rest)?;
        let loopback = matches!(
            host.to_ascii_lowercase().as_str(),
            "127.0.0.1" | "localhost" | "[::1]"
        );
        if loopback && allow_loopback {
            return Ok(());
        }
        if loopback {
            return Err(format!(
                "{what} `{shown}` is plain http:// to loopback, allowed only when the \
                 operator sets {ALLOW_LOOPBACK_ENV}=1 (for a local IdP or tests)"
            ));
        }
    }
    Err(format!(
        "{what} `{shown}` must be an https:// URL (plain http:// only to 127.0.0.1 or \
         localhost, for a local IdP, with {ALLOW_LOOPBACK_ENV}=1)"
    ))
}

impl NewOidc {
    /// Checked and normalized: trimmed, lengths capped, issuer's scheme, `openid` in scopes.
    fn checked(self) -> Result<NewOidc, Error> {
        let invalid = Error::Invalid;
        let issuer = self.issuer.trim().to_owned();
        check_idp_url("the issuer", &issuer).map_err(invalid)?;
        let client_id = self.client_id.trim().to_owned();
        let client_secret = self.client_secret.trim().to_owned();
        if client_id.is_empty() {
            return Err(Error::Invalid("the client id is empty".into()));
        }
        if client_secret.is_empty() {
            return Err(Error::Invalid("the client secret is empty".into()));
        }
        let mut scopes: Vec<&str> = self
            .scopes
            .as_deref()
            .unwrap_or(DEFAULT_SCOPES)
            .split_whitespace()
            .collect();
        if !scopes.contains(&"openid") {
            scopes.insert(0, "openid");
        }
        let scopes = scopes.join(" ");
        let groups_claim = self
            .groups_claim
            .as_deref()
            .unwrap_or(DEFAULT_GROUPS_CLAIM)
            .trim()
            .to_owned();
        if groups_claim.is_empty() {
            return Err(Error::Invalid("the groups claim name is empty".into()));
        }
        for (what, value) in [
            ("the issuer", &issuer),
            ("the client id", &client_id),
            ("the scopes", &scopes),
            ("the groups claim", &groups_claim),
        ] {
            crate::text::check_len(what, value, MAX_SETTING_CHARS).map_err(invalid)?;
            // `oidc show` prints them: no escape sequence or line break reaches a terminal.
            if value.chars().any(char::is_control) {
                return Err(Error::Invalid(format!(
                    "{what} `{}` has a control character",
                    crate::text::clip(&value.escape_debug().to_string())
                )));
            }
            // Nor an invisible character no IdP sends, as claim rules refuse: a groups claim
            // named `groups` and a zero-width space matched no claim, and every member the
            // `groups` rules admitted lost their role at their next sign-in, unseen; one
            // holding U+202E printed its line backwards (round 29 hostile-input review).
            if let Some(c) = crate::text::first_hidden(value) {
                return Err(Error::Invalid(format!(
                    "{what} `{}` holds U+{:04X}, an invisible character no IdP sends",
                    crate::text::clip(&crate::text::written_out(value, crate::text::is_hidden_at)),
                    u32::from(c)
                )));
            }
        }
        // The secret is never quoted, not even in an error (it goes to terminals and logs).
        let secret_chars = client_secret.chars().count();
        if secret_chars > MAX_SETTING_CHARS {
            return Err(Error::Invalid(format!(
                "the client secret is too long: {secret_chars} characters, at most \
                 {MAX_SETTING_CHARS} (does the file hold more than the secret?)"
            )));
        }
        if client_secret.chars().any(char::is_control) {
            return Err(Error::Invalid(
                "the client secret has a control character (a line break inside it?)".into(),
            ));
        }
        Ok(NewOidc {
            idp: self.idp.trim().to_owned(),
            issuer,
            client_id,
            client_secret,
            scopes: Some(scopes),
            groups_claim: Some(groups_claim),
        })
    }
}

/// The IdP must be one the workspace trusts (`idps` of the tenant spec).
fn trusted(conn: &Connection, ws: i64, workspace: &str, idp: &str) -> Result<(), Error> {
    if store::trusts_idp(conn, ws, idp)? {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "`{workspace}` does not trust IdP `{}`: add it to the workspace's `idps` first",
            crate::text::clip(idp)
        )))
    }
}

/// The OIDC client of `idp` in workspace `workspace`, if the workspace trusts it and has
/// settings for it. For the sign-in, which acts for nobody yet.
pub(crate) fn client(
    conn: &Connection,
    workspace: &str,
    idp: &str,
) -> Result<Option<OidcClient>, Error> {
    let Some(ws) = store::find_workspace(conn, workspace)? else {
        return Ok(None);
    };
    store::oidc_client(conn, ws, idp)
}

/// The IdPs of `workspace` with OIDC settings, by name; none for an unknown workspace.
pub(crate) fn configured_idps(conn: &Connection, workspace: &str) -> Result<Vec<String>, Error> {
    match store::find_workspace(conn, workspace)? {
        Some(ws) => Ok(store::oidc_settings(conn, ws)?
            .into_iter()
            .map(|s| s.idp)
            .collect()),
        None => Ok(Vec::new()),
    }
}

impl Platform {
    /// Sets (adds or replaces) the OIDC settings of a trusted IdP. Audited without the secret.
    pub(crate) fn set_oidc(
        &self,
        actor: &Principal,
        workspace: &str,
        new: NewOidc,
    ) -> Result<(), Error> {
        let new = new.checked()?;
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            self.may_configure_sso(actor, workspace)?;
            let ws = workspace_id(tx, workspace)?;
            trusted(tx, ws, workspace, &new.idp)?;
            let before = store::oidc_client(tx, ws, &new.idp)?;
            let replaced = before.is_some();
            store::set_oidc(tx, ws, &new, clock::now_unix())?;
            // Sessions are trusted on the issuer and client their login went through: another
            // issuer's or client's (one found too wide, say) end with the change, as with a
            // removal (authority and web reviews).
            if before.is_some_and(|b| {
                b.settings.issuer != new.issuer || b.settings.client_id != new.client_id
            }) {
                store::end_idp_sessions(tx, ws, &new.idp)?;
            }
            audit::record(
                tx,
                &Actor::Principal(actor),
                workspace,
                if replaced {
                    "sso.oidc.update"
                } else {
                    "sso.oidc.set"
                },
                &new.idp,
                json!({
                    "issuer": new.issuer,
                    "client_id": new.client_id,
                    "scopes": new.scopes,
                    "groups_claim": new.groups_claim,
                }),
            )
        })
    }

    /// The OIDC settings of the workspace's IdPs (never a secret); needs `user.read`.
    pub(crate) fn oidc_settings(
        &self,
        actor: &Principal,
        workspace: &str,
    ) -> Result<Vec<OidcSettings>, Error> {
        self.authorize(actor, workspace, Scope::UserRead)?;
        let db = self.db()?;
        let ws = workspace_id(db.conn(), workspace)?;
        store::oidc_settings(db.conn(), ws)
    }

    /// Removes the OIDC settings of `idp`: browsers can no longer sign in through it.
    pub(crate) fn remove_oidc(
        &self,
        actor: &Principal,
        workspace: &str,
        idp: &str,
    ) -> Result<(), Error> {
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            self.may_configure_sso(actor, workspace)?;
            let ws = workspace_id(tx, workspace)?;
            if !store::remove_oidc(tx, ws, idp.trim())? {
                return Err(Error::NotFound(format!(
                    "IdP `{}` of `{workspace}` has no OIDC settings",
                    crate::text::clip(idp)
                )));
            }
            audit::record(
                tx,
                &Actor::Principal(actor),
                workspace,
                "sso.oidc.remove",
                idp.trim(),
                json!({}),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::check_idp_url_with as check;

    #[test]
    fn issuers_are_https_or_loopback_http() {
        for ok in [
            "https://idp.example.test",
            "https://idp.example.test/realms/acme",
            "https://idp.example.test:8443/x?y=1",
            "https://[2001:db8::1]:443/x",
            "http://127.0.0.1:8080",
            "http://localhost/x",
            "http://localhost",
            "http://[::1]:9000/",
        ] {
            assert!(check("the issuer", ok, true).is_ok(), "{ok}");
        }
        for bad in [
            "http://idp.example.test",
            "http://127.0.0.1.evil.test",
            "http://localhost.evil.test/",
            "ftp://idp.example.test",
            "https://",
            "https:///path",
            "https://:443/",
            "https://idp.test:x/",
            "https://[::1/",
            "idp.example.test",
            "https://idp.example.test/#frag",
            "https://idp example.test",
            // Userinfo: the real host is after the `@`.
            "http://localhost:1@evil.test/",
            "http://127.0.0.1@evil.test",
            "https://idp.test@evil.test/",
            "https://user:pw@idp.test/",
        ] {
            let err = check("the issuer", bad, true).expect_err(bad);
            assert!(err.contains("the issuer"), "{err}");
        }
        let err = check("the issuer", "http://idp.test", true).expect_err("plain http");
        assert!(
            err.contains("https://") && err.contains("127.0.0.1"),
            "{err}"
        );
        let err = check("the issuer", "http://localhost:1@evil.test/", true).expect_err("@");
        assert!(err.contains("user information"), "{err}");
    }

    #[test]
    fn loopback_http_is_the_operators_opt_in() {
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost/x",
            "http://[::1]",
        ] {
            let err = check("the issuer", url, false).expect_err(url);
            assert!(err.contains("FLOWHOST_ALLOW_LOOPBACK_IDP=1"), "{err}");
            assert!(check("the issuer", url, true).is_ok(), "{url}");
        }
        // https to loopback needs no opt-in.
        assert!(check("the issuer", "https://localhost:8443", false).is_ok());
    }
}
