//! The answers every operation of the API may give, documented on each: a client generated
//! from the document had no type for the commonest failures, and a probe comparing the
//! statuses answered with those documented failed on nearly every route (round 21 HTTP
//! review). Added after the routes are collected, where an operation does not say them
//! itself; what each route answers besides is its own `#[utoipa::path]`'s.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

/// Status, and when an operation gives it: `true` for any authenticated operation, `false`
/// for one taking a body only. (A 403 is each route's own: some only filter.)
const COMMON: [(&str, &str, bool); 5] = [
    (
        "400",
        "a malformed request: its body, a query parameter or an id in the path",
        true,
    ),
    ("401", "no valid API key (`WWW-Authenticate: Bearer`)", true),
    (
        "404",
        "not there for this key: the workspace, or what the path or query names (SPEC ID-4)",
        true,
    ),
    ("413", "the body is over 256 KiB", false),
    (
        "503",
        "the server or its database is busy, or no run slot is free: try again (`Retry-After`)",
        true,
    ),
];

/// Documents [`COMMON`] on every operation that authenticates.
pub(super) fn document(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add_to(operation);
        }
    }
}

fn add_to(operation: &mut Operation) {
    if operation.security.as_ref().is_none_or(Vec::is_empty) {
        return;
    }
    let takes_body = operation.request_body.is_some();
    for (status, description, always) in COMMON {
        if always || takes_body {
            operation
                .responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| error_answer(description));
        }
    }
}

fn error_answer(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}
