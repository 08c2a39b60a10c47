//! Reading a file someone else may have put in place (a step project's own files, a nested
//! workflow or a harness sample's files, a compile cache's stamps, verdicts and artifacts, a
//! key, a component): a regular file only, and at most a bound. A link to `/dev/zero` was read
//! until the process died, and a FIFO hung it (reviews).

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// The largest file read as a document someone wrote (a workflow definition, a nested one, a
/// tenant file, a harness sample's expectations, a JSON `@FILE` argument): far above any real
/// one, and it stops a special file or a mistaken path from being read without end.
pub const MAX_DOCUMENT_BYTES: u64 = 16 * 1024 * 1024;

/// Opens the file at `path` for reading if it is a regular file, without waiting for anything:
/// opening a FIFO for reading waits for a writer, and a check of the path before the open
/// could be answered by a regular file that is swapped for a FIFO before the open. So the open
/// does not block, and the file opened is the one checked. Else why not ("not a regular
/// file", of kind `InvalidInput`).
pub(crate) fn open(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Leaves a regular file's reads as they are; only opens (FIFOs, devices) stop waiting.
        let nonblock = rustix::fs::OFlags::NONBLOCK.bits();
        options.custom_flags(i32::try_from(nonblock).unwrap_or(0));
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// The bytes of the regular file at `path`, at most `limit` of them; otherwise why not, in
/// words (what cannot be opened, "not a regular file", or that it is larger than `limit`).
pub(crate) fn read(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let file = open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(format!("it is larger than {limit} bytes"));
    }
    Ok(bytes)
}

/// The text of the regular document at `path` (at most [`MAX_DOCUMENT_BYTES`], UTF-8), or why
/// not, naming the file.
pub fn read_document(path: &Path) -> Result<String, String> {
    let fail = |why: String| format!("cannot read {}: {why}", path.display());
    let bytes = read(path, MAX_DOCUMENT_BYTES).map_err(fail)?;
    String::from_utf8(bytes).map_err(|_| fail("it is not UTF-8 text".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().expect("dir");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        // Were the open blocking, this test would hang here rather than fail.
        let refused = read(&fifo, 16).expect_err("a FIFO is not read");
        assert_eq!(refused, "not a regular file");
        assert!(
            read_document(&fifo)
                .expect_err("nor as a document")
                .contains("not a regular file")
        );
    }

    #[test]
    fn a_device_and_a_file_past_the_bound_are_refused_and_a_file_within_it_is_read() {
        assert_eq!(
            read(Path::new("/dev/zero"), 16).expect_err("a device"),
            "not a regular file"
        );
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("f");
        std::fs::write(&file, b"12345").expect("write");
        assert_eq!(read(&file, 5).expect("within"), b"12345");
        assert!(read(&file, 4).expect_err("past").contains("larger than 4"));
        std::fs::write(&file, [0xff, 0xfe]).expect("write");
        assert!(
            read_document(&file)
                .expect_err("not text")
                .contains("not UTF-8")
        );
    }
}
