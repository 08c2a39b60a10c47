//! Reading JSON arguments given inline or as `@FILE`.

use anyhow::Context;

/// Parses `arg` as JSON, or the file it names when it starts with `@`. Errors say where.
/// Nesting is capped at [`flowhost::json_limits::MAX_JSON_DEPTH`] (issue 14 item 9).
pub fn json_arg(what: &str, arg: &str) -> anyhow::Result<serde_json::Value> {
    let (text, origin) = match arg.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {what} file {path}"))?,
            path.to_owned(),
        ),
        None => (arg.to_owned(), format!("--{what}")),
    };
    flowhost::json_limits::parse(&origin, &text).map_err(anyhow::Error::msg)
}

/// `raw` as the services stored it (trimmed, lower-cased), for a success line: the line
/// names the identity that was changed, not what was typed (issue 13 item 8).
pub fn shown_email(raw: &str) -> String {
    flowhost::principal::Email::parse(raw).map_or_else(|_| raw.trim().to_owned(), |e| e.to_string())
}

/// A role name as stored: built-in names in their canonical (lower-case) spelling.
pub fn shown_role(raw: &str) -> String {
    flowhost::access::RoleName::parse(raw).as_str().to_owned()
}
