//! A route the OpenAPI document lists with no query parameter refuses a query string: axum
//! drops a query no handler reads, so `POST …/cases/query?severity=critical` answered every
//! case unfiltered, and a misspelt `?workspace=` was read as none, where the routes that read
//! a query refuse what they do not take (round 29 hostile-input review). Decided from the
//! document, so a route and what it says it takes cannot drift apart.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{OpenApi, RefOr};

use super::error::ApiError;

/// The routes (method, path as the document writes it) that read a query string.
pub(super) fn reading_queries(doc: &OpenApi) -> Arc<HashSet<(Method, String)>> {
    let mut reading = HashSet::new();
    for (path, item) in &doc.paths.paths {
        for (method, op) in [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::PATCH, &item.patch),
            (Method::DELETE, &item.delete),
        ] {
            if op.as_ref().is_some_and(reads_a_query) {
                reading.insert((method, path.clone()));
            }
        }
    }
    Arc::new(reading)
}

/// Whether `op` documents a query parameter (a parameter struct says where its fields go,
/// `#[into_params(parameter_in = Query)]`: without it they were documented in the path,
/// round 30 web review).
fn reads_a_query(op: &Operation) -> bool {
    op.parameters.iter().flatten().any(|p| match p {
        RefOr::T(p) => matches!(p.parameter_in, ParameterIn::Query),
        RefOr::Ref(_) => true,
    })
}

/// Refuses (400) a request with a query string to a route that reads none, naming the
/// parameter when it may be quoted (`urlencoded::only_known`'s rule).
pub(super) async fn refuse(
    reading: Arc<HashSet<(Method, String)>>,
    request: Request,
    next: Next,
) -> Response {
    let query = request.uri().query().unwrap_or_default();
    if query.is_empty() {
        return next.run(request).await;
    }
    // A `HEAD` is answered by its `GET`.
    let method = match request.method() {
        &Method::HEAD => Method::GET,
        other => other.clone(),
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| (method, m.as_str().to_owned()));
    if route.is_none_or(|route| reading.contains(&route)) {
        return next.run(request).await;
    }
    let params =
        crate::server::urlencoded::fields(query.as_bytes(), "query parameter").unwrap_or_default();
    let why = match crate::server::urlencoded::only_known_by(&params, &[], "this route") {
        Err(why) => why,
        // A query of no parameter (`?&`) or one not UTF-8: what it is, not quoted.
        Ok(()) => "this route takes no query parameter".to_owned(),
    };
    ApiError::invalid(why).into_response()
}
