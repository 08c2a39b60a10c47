//! Reading a step project's own files (its manifest, test cases and fixtures): regular files
//! only, and at most a bound. A project is someone else's work: `tests = "/dev/zero"` read
//! until the process was killed, and a FIFO hung `step test` forever, without any of the
//! project's code running (hostile-step review).

use std::path::Path;

/// The largest project file read: a manifest, a test file, a tenant or cases fixture.
pub const MAX_PROJECT_FILE_BYTES: u64 = 16 << 20;

/// The text of the project file at `path` (`what` it is, for errors): a regular file of at
/// most [`MAX_PROJECT_FILE_BYTES`], in UTF-8. Errors name the file and why.
pub fn project_file(path: &Path, what: &str) -> Result<String, String> {
    let fail = |why: String| format!("cannot read {what} {}: {why}", path.display());
    let bytes = crate::regular_file::read(path, MAX_PROJECT_FILE_BYTES).map_err(fail)?;
    String::from_utf8(bytes).map_err(|_| fail("it is not UTF-8 text".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_regular_file_within_the_bound_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = dir.path().join("ok.json");
        std::fs::write(&ok, "{}").expect("write");
        assert_eq!(project_file(&ok, "test file").as_deref(), Ok("{}"));
        let why = project_file(Path::new("/dev/zero"), "test file").expect_err("a device");
        assert!(why.contains("/dev/zero: not a regular file"), "{why}");
        let why = project_file(dir.path(), "test file").expect_err("a directory");
        assert!(why.contains("not a regular file"), "{why}");
        let big = dir.path().join("big.json");
        let file = std::fs::File::create(&big).expect("create");
        file.set_len(MAX_PROJECT_FILE_BYTES + 1).expect("grow");
        let why = project_file(&big, "test file").expect_err("too big");
        assert!(why.contains("larger than"), "{why}");
    }
}
