//! The code exchange at the IdP's token endpoint (RFC 6749 4.1.3 with PKCE, RFC 7636):
//! the client authenticates with HTTP Basic (`client_secret_basic`); the answer's `id_token`
//! is returned unverified, for `verify.rs`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::discovery::{agent, read};
use crate::encoding::percent_encode;

/// What the exchange sends.
pub(crate) struct Exchange<'a> {
    pub token_endpoint: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub code: &'a str,
    pub verifier: &'a str,
    pub redirect_uri: &'a str,
}

/// Why the IdP gave no ID token for the code.
#[derive(Debug)]
pub(crate) enum NoToken {
    /// It refused this code (`invalid_grant`: used twice, expired): the person's to hear.
    Refused(String),
    /// Anything else (unreachable, a misconfigured client, no token in the answer): the
    /// server's trouble, not the visitor's to read.
    Failed(String),
}

/// The ID token the IdP gives for the code.
pub(crate) fn exchange(x: &Exchange<'_>) -> Result<String, NoToken> {
    // RFC 6749 2.3.1: id and secret form-encoded, then joined and base64'd.
    let basic = STANDARD.encode(format!(
        "{}:{}",
        percent_encode(x.client_id),
        percent_encode(x.client_secret)
    ));
    let what = "the IdP's token endpoint";
    let answer = agent()
        .post(x.token_endpoint)
        .header("Authorization", &format!("Basic {basic}"))
        .header("Accept", "application/json")
        .send_form([
            ("grant_type", "authorization_code"),
            ("code", x.code),
            ("redirect_uri", x.redirect_uri),
            ("code_verifier", x.verifier),
        ]);
    let (status, body) = read(what, answer).map_err(NoToken::Failed)?;
    let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if status != 200 {
        // The IdP's own words (e.g. `invalid_grant` for a code used twice), clipped.
        let error = json["error"].as_str().unwrap_or("no error code");
        let why = format!(
            "{what} refused the code (HTTP {status}, `{}`)",
            crate::text::clip(error)
        );
        return Err(if error == "invalid_grant" {
            NoToken::Refused(why)
        } else {
            NoToken::Failed(why)
        });
    }
    json["id_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| NoToken::Failed(format!("{what} answered without an ID token")))
}
