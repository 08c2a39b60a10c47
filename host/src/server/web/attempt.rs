//! [`SignInAttempt`]: the extractor of every anonymous request that creates a row or checks
//! a secret (a link's sign-in, an OIDC start and its callback). It spends one of the
//! client's attempts (`server/client_limit.rs`) before anything else of the request is
//! looked at, so a refused request (429) does nothing.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::error::WebError;
use crate::server::AppState;
use crate::server::client_limit::Client;

/// One sign-in attempt, allowed for this client.
pub(super) struct SignInAttempt;

impl FromRequestParts<AppState> for SignInAttempt {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        // The TCP peer (`serve` records it for every connection), never a header the client
        // writes. A router served without it (in process) counts every request as one client.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        state
            .signin_limit()
            .check(Client::of(peer), Instant::now())
            .map(|()| SignInAttempt)
            .map_err(WebError::TooMany)
    }
}
