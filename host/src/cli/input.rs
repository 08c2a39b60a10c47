//! Reading JSON arguments given inline or as `@FILE`.

use anyhow::Context;

/// Parses `arg` as JSON, or the file it names when it starts with `@`. Errors say where.
pub fn json_arg(what: &str, arg: &str) -> anyhow::Result<serde_json::Value> {
    let (text, origin) = match arg.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {what} file {path}"))?,
            path.to_owned(),
        ),
        None => (arg.to_owned(), format!("--{what}")),
    };
    serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{origin}: invalid JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        )
    })
}
