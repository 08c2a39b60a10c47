//! Reading JSON arguments given inline or as `@FILE`.

use std::io::Read;
use std::path::Path;

/// The largest file read as a document (a workflow definition, a tenant file, a JSON `@FILE`
/// argument, which may be a pipe: `@<(jq …)`).
pub use flowhost::regular_file::MAX_DOCUMENT_BYTES;

/// The largest file read as a secret (an API key token, an OIDC client secret).
pub const MAX_SECRET_BYTES: u64 = 4096;

/// The text of the file at `path`, at most `limit` bytes. Errors name the file, and `what`
/// it is when given ("the API key file PATH"); a secret's content never appears in one.
pub fn read_bounded(path: &Path, limit: u64, what: &str) -> anyhow::Result<String> {
    let name = if what.is_empty() {
        path.display().to_string()
    } else {
        format!("the {what} file {}", path.display())
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(limit + 1).read_to_end(&mut bytes))
        .map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        anyhow::bail!("cannot read {name}: it is larger than {limit} bytes");
    }
    String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("cannot read {name}: stream did not contain valid UTF-8"))
}

/// Parses `arg` as JSON, or the file it names when it starts with `@`. Errors say where.
/// Nesting is capped at [`flowhost::json_limits::MAX_JSON_DEPTH`] (issue 14 item 9).
pub fn json_arg(what: &str, arg: &str) -> anyhow::Result<serde_json::Value> {
    let (text, origin) = match arg.strip_prefix('@') {
        Some(path) => (
            read_bounded(Path::new(path), MAX_DOCUMENT_BYTES, what)?,
            path.to_owned(),
        ),
        None => (arg.to_owned(), format!("--{what}")),
    };
    flowhost::json_limits::parse_document(&origin, &text).map_err(anyhow::Error::msg)
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
