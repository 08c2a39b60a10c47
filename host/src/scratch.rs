//! A scratch directory of this process's own: made new under the system's temporary
//! directory with a random name and mode 0700, removed when dropped. `create_dir_all` of a
//! predictable name took a directory another user had made first, who could then change
//! the database or swap a component between its check and its run (polyglot review).

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// A directory made for this process alone; removed, with what it holds, when dropped.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// A new directory named `<prefix><16 random hex digits>`; an error if it cannot be made
    /// new (never one found there).
    pub fn new(prefix: &str) -> io::Result<Scratch> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| io::Error::other(format!("randomness: {e}")))?;
        let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let dir = std::env::temp_dir().join(format!("{prefix}{name}"));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        Ok(Scratch(dir))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_scratch_directory_is_new_private_and_removed() {
        let a = Scratch::new("flowhost-scratch-test-").expect("made");
        let b = Scratch::new("flowhost-scratch-test-").expect("made");
        assert_ne!(a.path(), b.path());
        let mode = std::fs::metadata(a.path())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        // Never one found there.
        let err = std::fs::DirBuilder::new()
            .create(a.path())
            .expect_err("exists");
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        let path = a.path().to_owned();
        drop(a);
        assert!(!path.exists());
    }
}
