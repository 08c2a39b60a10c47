//! Verifying an ID token (a JWT): its header (RS256 only: `none`, HS256 and every other
//! algorithm are refused), its signature against the IdP's key, and its claims (`iss`,
//! `aud`/`azp`, `exp`/`iat` with a small leeway, `nonce`). Nothing in a token is used before
//! its signature is verified, except the header's `alg` and `kid` that choose the key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::RsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier as _;
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;

/// How far clocks may disagree, in seconds.
pub(crate) const LEEWAY_SECS: i64 = 60;

/// Decodes base64url without padding (as JWTs and JWKs write it).
pub(crate) fn b64(text: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|e| format!("not base64url: {e}"))
}

/// The header of a token: which algorithm and key it claims.
#[derive(Debug, Deserialize)]
pub(crate) struct Header {
    pub alg: String,
    pub kid: Option<String>,
}

/// A token split into its parts; the header read (and its algorithm checked).
pub(crate) struct Parsed<'t> {
    pub header: Header,
    signed: &'t str,
    payload: &'t str,
    signature: Vec<u8>,
}

/// Splits `token` and reads its header; anything but RS256 is refused here.
pub(crate) fn parse(token: &str) -> Result<Parsed<'_>, String> {
    let mut parts = token.split('.');
    let (Some(raw_header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the ID token is not a signed JWT (three dot-separated parts)".into());
    };
    let header: Header = serde_json::from_slice(&b64(raw_header)?)
        .map_err(|e| format!("the ID token's header is unreadable: {e}"))?;
    if header.alg != "RS256" {
        return Err(format!(
            "the ID token is signed with `{}`; only RS256 is accepted",
            crate::text::clip(&header.alg)
        ));
    }
    // What was signed: `header.payload`, as sent.
    let signed = &token[..raw_header.len() + 1 + payload.len()];
    Ok(Parsed {
        header,
        signed,
        payload,
        signature: b64(signature)?,
    })
}

/// What the claims must say.
pub(crate) struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The SHA-256 (hex) of the nonce the login was started with.
    pub nonce_hash: &'a str,
    /// Unix seconds.
    pub now: i64,
}

impl Parsed<'_> {
    /// The claims, if the signature is `key`'s and they say what `expected` says.
    pub(crate) fn verify(
        &self,
        key: &RsaPublicKey,
        expected: &Expected<'_>,
    ) -> Result<Value, String> {
        let signature = Signature::try_from(self.signature.as_slice())
            .map_err(|_| "the ID token's signature is malformed".to_owned())?;
        VerifyingKey::<Sha256>::new(key.clone())
            .verify(self.signed.as_bytes(), &signature)
            .map_err(|_| "the ID token's signature does not verify".to_owned())?;
        let claims: Value = serde_json::from_slice(&b64(self.payload)?)
            .map_err(|e| format!("the ID token's claims are unreadable: {e}"))?;
        check_claims(&claims, expected)?;
        Ok(claims)
    }
}

/// The registered claims' checks (OIDC Core 3.1.3.7).
fn check_claims(claims: &Value, expected: &Expected<'_>) -> Result<(), String> {
    if !claims.is_object() {
        return Err("the ID token's claims are not an object".into());
    }
    if claims["iss"].as_str() != Some(expected.issuer) {
        return Err(format!(
            "the ID token was issued by `{}`, not by `{}`",
            crate::text::clip(claims["iss"].as_str().unwrap_or("nobody")),
            expected.issuer
        ));
    }
    let audiences: Vec<&str> = match &claims["aud"] {
        Value::String(a) => vec![a.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err("the ID token is not for this client (`aud`)".into());
    }
    if audiences.len() > 1 && claims["azp"].as_str() != Some(expected.client_id) {
        return Err(
            "the ID token has several audiences and another authorized party (`azp`)".into(),
        );
    }
    // An `azp` names the party the token was issued to, audiences aside: when present it
    // must be this client too.
    if !claims["azp"].is_null() && claims["azp"].as_str() != Some(expected.client_id) {
        return Err("the ID token was issued to another authorized party (`azp`)".into());
    }
    // Saturating: the times are the IdP's numbers, and an extreme one must be a refusal or
    // an answer, never an overflow.
    let exp = seconds(&claims["exp"], "expiry (`exp`)")?;
    if exp.saturating_add(LEEWAY_SECS) <= expected.now {
        return Err("the ID token has expired".into());
    }
    let iat = seconds(&claims["iat"], "issue time (`iat`)")?;
    if iat.saturating_sub(LEEWAY_SECS) > expected.now {
        return Err("the ID token was issued in the future (`iat`)".into());
    }
    if !claims["nbf"].is_null() {
        let nbf = seconds(&claims["nbf"], "not-before time (`nbf`)")?;
        if nbf.saturating_sub(LEEWAY_SECS) > expected.now {
            return Err("the ID token is not valid yet (`nbf`)".into());
        }
    }
    let nonce = claims["nonce"]
        .as_str()
        .ok_or("the ID token carries no nonce")?;
    if !crate::encoding::secrets_equal(
        super::super::hash(nonce).as_bytes(),
        expected.nonce_hash.as_bytes(),
    ) {
        return Err("the ID token's nonce is not this sign-in's".into());
    }
    Ok(())
}

/// A time claim in seconds (a JWT NumericDate, RFC 7519 §2, which may be written with a
/// fraction or as `1.7e9`: such a token was refused as having no such claim; round 17
/// hostile-input review), its fraction dropped; why not, naming `what`.
fn seconds(claim: &serde_json::Value, what: &str) -> Result<i64, String> {
    if claim.is_null() {
        return Err(format!("the ID token has no {what}"));
    }
    if let Some(n) = claim.as_i64() {
        return Ok(n);
    }
    match claim.as_f64() {
        // Within i64's range: exact once floored.
        Some(f) if f.is_finite() && f.abs() < 9.0e18 => Ok(f.floor() as i64),
        _ => Err(format!("the ID token's {what} is not a number of seconds")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expected(nonce_hash: &str) -> Expected<'_> {
        Expected {
            issuer: "https://idp.test",
            client_id: "flowhost",
            nonce_hash,
            now: 1_000_000,
        }
    }

    #[test]
    fn claims_are_checked_one_by_one() {
        let nonce = crate::signin::hash("n-1");
        let good = json!({"iss": "https://idp.test", "aud": "flowhost", "exp": 1_000_100,
                          "iat": 999_990, "nonce": "n-1", "email": "a@b.test"});
        assert_eq!(check_claims(&good, &expected(&nonce)), Ok(()));
        let with = |k: &str, v: Value| {
            let mut c = good.clone();
            c[k] = v;
            check_claims(&c, &expected(&nonce)).expect_err(k)
        };
        // A NumericDate may be written as a float (RFC 7519 §2).
        let mut floats = good.clone();
        floats["exp"] = json!(1.0001e6);
        floats["iat"] = json!(999_990.5);
        floats["nbf"] = json!(999_990.5);
        assert_eq!(check_claims(&floats, &expected(&nonce)), Ok(()));
        assert!(with("exp", json!("soon")).contains("`exp`) is not a number of seconds"));
        assert!(with("iss", json!("https://evil.test")).contains("issued by"));
        assert!(with("aud", json!("other")).contains("aud"));
        assert!(with("aud", json!(["flowhost", "other"])).contains("azp"));
        assert!(with("exp", json!(999_000)).contains("expired"));
        assert!(with("iat", json!(1_000_500)).contains("future"));
        assert!(with("nonce", json!("n-2")).contains("nonce"));
        let mut several = good.clone();
        several["aud"] = json!(["flowhost", "other"]);
        several["azp"] = json!("flowhost");
        assert_eq!(check_claims(&several, &expected(&nonce)), Ok(()));
        // Within the leeway either way.
        let mut late = good.clone();
        late["exp"] = json!(1_000_000 - LEEWAY_SECS + 1);
        assert_eq!(check_claims(&late, &expected(&nonce)), Ok(()));

        // `azp`, when present, is this client's even with one audience.
        assert!(with("azp", json!("another-client")).contains("another authorized party"));
        assert!(with("azp", json!(7)).contains("azp"));
        let mut own = good.clone();
        own["azp"] = json!("flowhost");
        assert_eq!(check_claims(&own, &expected(&nonce)), Ok(()));

        // `nbf`: refused while in the future beyond the leeway; within it, or past, fine.
        assert!(with("nbf", json!(1_000_000 + LEEWAY_SECS + 1)).contains("not valid yet"));
        assert!(with("nbf", json!("soon")).contains("nbf"));
        for fine in [1_000_000 + LEEWAY_SECS, 999_000] {
            let mut c = good.clone();
            c["nbf"] = json!(fine);
            assert_eq!(check_claims(&c, &expected(&nonce)), Ok(()), "{fine}");
        }
    }

    #[test]
    fn extreme_times_neither_overflow_nor_pass_wrongly() {
        let nonce = crate::signin::hash("n-1");
        let claims = |exp: i64, iat: i64, nbf: i64| {
            json!({"iss": "https://idp.test", "aud": "flowhost", "exp": exp, "iat": iat,
                   "nbf": nbf, "nonce": "n-1"})
        };
        // The far future expiry is not expired; the far past issue and not-before are past.
        assert_eq!(
            check_claims(&claims(i64::MAX, i64::MIN, i64::MIN), &expected(&nonce)),
            Ok(())
        );
        let err = check_claims(&claims(i64::MIN, 999_990, 0), &expected(&nonce));
        assert!(err.expect_err("expired").contains("expired"));
        let err = check_claims(&claims(i64::MAX, i64::MAX, 0), &expected(&nonce));
        assert!(err.expect_err("future").contains("future"));
        let err = check_claims(&claims(i64::MAX, 999_990, i64::MAX), &expected(&nonce));
        assert!(err.expect_err("nbf").contains("not valid yet"));
    }

    #[test]
    fn only_rs256_headers_are_read() {
        let token = |h: &str| format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(h));
        for bad in [
            r#"{"alg":"none"}"#,
            r#"{"alg":"HS256"}"#,
            r#"{"alg":"rs256"}"#,
        ] {
            let err = parse(&token(bad)).err().expect(bad);
            assert!(err.contains("only RS256"), "{err}");
        }
        assert!(parse(&token(r#"{"alg":"RS256","kid":"k1"}"#)).is_ok());
        assert!(parse("a.b").is_err());
        assert!(parse("a.b.c.d").is_err());
    }
}
