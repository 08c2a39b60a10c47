//! A posted form read strictly as UTF-8 (`server/urlencoded.rs`): refused naming the field
//! that is not, never read as U+FFFD (round 22 web review).

use axum::extract::{FromRequest, RawForm, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::server::urlencoded::fields;

/// A form's fields in the order posted, names and values as their UTF-8 text.
pub(super) struct Posted(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        // Its refusals (another content type, a body too large) are the framework's, which
        // `framework_errors` answers as the site's pages; so is this one.
        let RawForm(bytes) = RawForm::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        fields(&bytes, "form field")
            .map(Posted)
            .map_err(|why| (StatusCode::BAD_REQUEST, why).into_response())
    }
}
