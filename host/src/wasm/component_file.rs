//! Reading a component file, within a size bound: loading and publishing read one whole into
//! memory (and publishing stores it in the database), so a file of any size a step author
//! points at would be read, hashed and compiled whole.

use std::io::Read;
use std::path::Path;

/// The largest component file accepted. The largest real guests are interpreters with their
/// libraries: a Python step is ~18 MB, a StarlingMonkey one ~12 MB (issue 17).
pub const MAX_COMPONENT_BYTES: u64 = 128 << 20;

/// The bytes of the component at `path`, or why not: unreadable, or over
/// [`MAX_COMPONENT_BYTES`] (checked before reading, and while reading should it grow).
pub fn read(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    too_large(len)?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(MAX_COMPONENT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    too_large(bytes.len() as u64)?;
    Ok(bytes)
}

fn too_large(len: u64) -> Result<(), String> {
    if len > MAX_COMPONENT_BYTES {
        return Err(format!(
            "the file is {len} bytes; a component may be at most {MAX_COMPONENT_BYTES} bytes"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_bound_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("huge.wasm");
        let file = std::fs::File::create(&path).expect("create");
        // Sparse: its size is all there is to it.
        file.set_len(MAX_COMPONENT_BYTES + 1).expect("size");
        let err = read(&path).expect_err("too large");
        assert!(
            err.contains(&format!("{} bytes", MAX_COMPONENT_BYTES + 1)),
            "{err}"
        );
        std::fs::write(&path, b"\0asm").expect("write");
        assert_eq!(read(&path).expect("small"), b"\0asm");
        assert!(read(&dir.path().join("missing.wasm")).is_err());
    }
}
