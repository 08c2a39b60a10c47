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

/// A project file's JSON the decoder refused, located at `path:line:column`; what it
/// quotes (a key or a value of the file) is clipped and escaped, as at every door: a 100 kB
/// key holding a line break came back whole and forged a line on stderr.
pub fn json_refusal(path: &Path, e: &serde_json::Error) -> String {
    format!(
        "{}:{}:{}: {}",
        path.display(),
        e.line(),
        e.column(),
        crate::text::decoder_words(&e.to_string())
    )
}

#[cfg(test)]
mod tests {
    /// What the decoder quotes is clipped and escaped (round 22 hostile-input review).
    #[test]
    fn a_refused_keys_text_is_clipped_and_escaped() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[allow(dead_code)]
            name: Option<String>,
        }
        let key = format!("{}\nerror: forged", "k".repeat(100_000));
        let text = serde_json::json!({ key: 1 }).to_string();
        let e = serde_json::from_str::<File>(&text).expect_err("unknown field");
        let said = super::json_refusal(std::path::Path::new("t.json"), &e);
        assert!(said.starts_with("t.json:1:"), "{said}");
        assert!(said.contains("unknown field"), "{said}");
        assert!(said.len() < 4_000, "{} bytes", said.len());
        assert!(!said.contains('\n'), "{said}");
    }

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
