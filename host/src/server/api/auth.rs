//! Who makes an API request (SPEC SV-1): `Authorization: Bearer <key token>`, checked
//! against the key's stored hash by the same code the CLI's `FLOWHOST_API_KEY` goes through.
//! A revoked or expired key is refused as a wrong one. What the key may do is decided later,
//! at each call, by the access layer: a personal key follows its owner's current role (SPEC
//! RB-4).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::principal::Principal;
use crate::server::AppState;

/// The authenticated principal of a request; extracting it answers 401 when there is none.
pub struct Authed(pub Principal);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let mut headers = parts.headers.get_all(AUTHORIZATION).iter();
        let header = headers.next().ok_or_else(|| {
            ApiError::unauthenticated("send an API key as `Authorization: Bearer <token>`")
        })?;
        // Two credentials are none: a proxy judging the last one would see another key than
        // this door acts as (web review).
        if headers.next().is_some() {
            return Err(ApiError::unauthenticated(
                "send one Authorization header, not several",
            ));
        }
        let token = header
            .to_str()
            .ok()
            .and_then(bearer_token)
            .ok_or_else(|| {
                ApiError::unauthenticated("the Authorization header is not `Bearer <token>`")
            })?
            .to_owned();
        let principal = state
            .blocking(move |engine| {
                let platform = engine.platform();
                // Access data another process (the CLI) changed since: one read when nothing
                // did, so a demoted owner's personal key is refused at once. A look that
                // fails decides nothing on the index it could not confirm.
                platform.refresh_access()?;
                platform.admin().authenticate_live_key(&token)
            })
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
        match principal {
            Ok(p) => Ok(Authed(p)),
            // A wrong, unknown or malformed token reads the same (admin/keys.rs).
            Err(crate::Error::Denied(reason)) => Err(ApiError::unauthenticated(reason.to_string())),
            Err(e) => Err(e.into()),
        }
    }
}

/// The token of an `Authorization` value of the `Bearer` scheme, whose name is matched
/// case-insensitively (RFC 9110 §11.1); `None` for another scheme or no token.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("Bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_matched_without_regard_to_case() {
        assert_eq!(bearer_token("Bearer fhk_1"), Some("fhk_1"));
        assert_eq!(bearer_token("bearer  fhk_1 "), Some("fhk_1"));
        assert_eq!(bearer_token("Basic fhk_1"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearerfhk_1"), None);
    }
}
