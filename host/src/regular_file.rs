//! Reading a file someone else may have put in place (a step project's own files, a compile
//! cache's stamps, verdicts and artifacts, a key): a regular file only, and at most a bound.
//! A link to `/dev/zero` was read until the process died, and a FIFO hung it (reviews).

use std::io::Read;
use std::path::Path;

/// The bytes of the regular file at `path`, at most `limit` of them; otherwise why not, in
/// words (what cannot be opened, "not a regular file", or that it is larger than `limit`).
pub(crate) fn read(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    // Looked at before it is opened: opening a FIFO waits for a writer.
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    if !file.metadata().map_err(|e| e.to_string())?.is_file() {
        return Err("not a regular file".into());
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(format!("it is larger than {limit} bytes"));
    }
    Ok(bytes)
}
