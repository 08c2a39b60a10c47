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
