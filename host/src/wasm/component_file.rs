//! Reading a component file, within a size bound: loading and publishing read one whole into
//! memory (and publishing stores it in the database), so a file of any size a step author
//! points at would be read, hashed and compiled whole.

use std::io::Read;
use std::path::Path;

/// The largest component file accepted. The largest real guests are interpreters with their
/// libraries: a Python step is ~18 MB, a StarlingMonkey one ~12 MB (issue 17).
pub const MAX_COMPONENT_BYTES: u64 = 128 << 20;

/// Why a component file was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{why}")]
pub struct ReadError {
    /// What went wrong, for messages.
    pub why: String,
    /// The machine's failure, which may pass (no file handle left, an I/O error): not the
    /// file's, which a retry does not mend (missing, not permitted, a directory, too large).
    pub for_now: bool,
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        use std::io::ErrorKind::{
            InvalidData, InvalidInput, IsADirectory, NotADirectory, NotFound, PermissionDenied,
        };
        let for_now = !matches!(
            e.kind(),
            NotFound | PermissionDenied | IsADirectory | NotADirectory | InvalidInput | InvalidData
        );
        ReadError {
            why: e.to_string(),
            for_now,
        }
    }
}

/// The bytes of the component at `path`, or why not: unreadable, or over
/// [`MAX_COMPONENT_BYTES`] (checked before reading, and while reading should it grow).
pub fn read(path: &Path) -> Result<Vec<u8>, ReadError> {
    // A regular file only (a FIFO named by `uses` hung the load).
    let file = crate::regular_file::open(path)?;
    let len = file.metadata()?.len();
    too_large(len)?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(MAX_COMPONENT_BYTES + 1).read_to_end(&mut bytes)?;
    too_large(bytes.len() as u64)?;
    Ok(bytes)
}

/// `Ok` if `bytes` read through as a component, to their last section; otherwise where they
/// stop reading. Structure only, not validation (the compiler validates): a file cut short
/// (its build killed mid-write, a copy interrupted) is told from a whole one before it is
/// pinned for good by its digest.
pub fn whole_component(bytes: &[u8]) -> Result<(), String> {
    let mut ended = false;
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| e.to_string())? {
            wasmparser::Payload::Version { encoding, .. } => {
                if depth == 0 && encoding != wasmparser::Encoding::Component {
                    return Err("a core module, not a component".to_owned());
                }
                depth += 1;
            }
            wasmparser::Payload::End(_) => {
                depth = depth.saturating_sub(1);
                ended = depth == 0;
            }
            _ => {}
        }
    }
    if !ended {
        return Err("it ends before its last section".to_owned());
    }
    Ok(())
}

fn too_large(len: u64) -> Result<(), ReadError> {
    if len > MAX_COMPONENT_BYTES {
        return Err(ReadError {
            why: format!(
                "the file is {len} bytes; a component may be at most {MAX_COMPONENT_BYTES} bytes"
            ),
            for_now: false,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file that is not there, or not a file, is the file's failure; the machine's own (no
    /// file handle left, an I/O error) may pass, and a run meeting it stops resumable instead
    /// of failing (SPEC WF-11; kill and concurrency review).
    #[test]
    fn a_missing_file_is_the_files_failure_and_the_machines_may_pass() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = read(&dir.path().join("none.wasm")).expect_err("missing");
        assert!(!missing.for_now, "{missing}");
        let directory = read(dir.path()).expect_err("a directory");
        assert!(!directory.for_now, "{directory}");
        for kind in [
            std::io::ErrorKind::OutOfMemory,
            std::io::ErrorKind::Interrupted,
            std::io::ErrorKind::Other,
        ] {
            assert!(
                ReadError::from(std::io::Error::from(kind)).for_now,
                "{kind:?}"
            );
        }
        // No file handle left (EMFILE) reads as the machine's.
        assert!(ReadError::from(std::io::Error::from_raw_os_error(24)).for_now);
    }

    #[test]
    fn a_file_over_the_bound_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("huge.wasm");
        let file = std::fs::File::create(&path).expect("create");
        // Sparse: its size is all there is to it.
        file.set_len(MAX_COMPONENT_BYTES + 1).expect("size");
        let err = read(&path).expect_err("too large");
        assert!(
            err.why
                .contains(&format!("{} bytes", MAX_COMPONENT_BYTES + 1)),
            "{err}"
        );
        assert!(!err.for_now);
        std::fs::write(&path, b"\0asm").expect("write");
        assert_eq!(read(&path).expect("small"), b"\0asm");
        assert!(read(&dir.path().join("missing.wasm")).is_err());
    }

    #[test]
    fn a_component_cut_short_is_told_from_a_whole_one() {
        // The smallest component: its preamble alone, and a core module's.
        let component = b"\0asm\x0d\0\x01\0";
        assert_eq!(whole_component(component), Ok(()));
        let module = b"\0asm\x01\0\0\0";
        assert!(whole_component(module).is_err());
        // A section announcing more bytes than follow.
        let mut cut = component.to_vec();
        cut.extend_from_slice(&[0x00, 0x20, b'x']);
        assert!(whole_component(&cut).is_err());
        assert!(whole_component(b"\0as").is_err());
    }
}
