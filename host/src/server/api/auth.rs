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
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthenticated("send an API key as `Authorization: Bearer <token>`")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
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
