//! Stamps: a file's SHA-256 as it was checked, and the identity (device, inode, size, mtime,
//! ctime) the file had then, so that an unchanged file is not read and hashed again.
//!
//! A stamp is small text, written atomically:
//! ```text
//! flowhost-stamp 2
//! sha256 <64 hex digits>
//! identity <dev> <inode> <size> <mtime ns> <ctime ns>
//! seal <HMAC-SHA256 of what it stands for and the lines above, hex>
//! ```
//! The seal ([`super::seal`]) makes a stamp this user's host's: one from anywhere else
//! vouches for nothing.
//! The `identity` line is absent until the file was checked in full and had *settled*: its
//! mtime and ctime lie [`SETTLE`] in the past. A change within the file system's timestamp
//! granularity of the moment it was read would otherwise leave the identity unchanged (git's
//! "racily clean" problem). ctime cannot be set from user space, so even a rewrite that
//! restores the old mtime changes the identity.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::seal::Seal;

/// How long ago a file must have last changed before a stamp vouches for its identity:
/// above the coarsest timestamp granularity of common file systems (FAT: 2 s).
pub const SETTLE: Duration = Duration::from_secs(3);

const HEADER: &str = "flowhost-stamp 2";

/// What `stat` says about a file, enough to tell that it was changed or replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Identity {
    /// The identity `meta` shows.
    #[cfg(unix)]
    pub fn of(meta: &fs::Metadata) -> Identity {
        use std::os::unix::fs::MetadataExt;
        let ns = |secs: i64, nanos: i64| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// Elsewhere no stamp vouches for a file (no inode, no ctime): every load checks in full.
    #[cfg(not(unix))]
    pub fn of(meta: &fs::Metadata) -> Identity {
        Identity {
            dev: 0,
            ino: 0,
            size: meta.len(),
            mtime_ns: -1,
            ctime_ns: -1,
        }
    }

    /// The identity `meta` shows, if the file last changed at least [`SETTLE`] ago.
    pub fn settled(meta: &fs::Metadata) -> Option<Identity> {
        let identity = Identity::of(meta);
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?
            .as_nanos();
        let now = i128::try_from(now).ok()?;
        let settle = i128::try_from(SETTLE.as_nanos()).ok()?;
        let last_change = identity.mtime_ns.max(identity.ctime_ns);
        (last_change >= 0 && now - last_change >= settle).then_some(identity)
    }
}

/// A file's checked digest and, once settled, the identity it was checked at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Lower-case hex SHA-256 of the file's contents.
    pub sha256: String,
    /// The identity the contents were checked at.
    pub verified: Option<Identity>,
}

/// What a stamp's seal covers: what it stands for (an artifact's file name, a component
/// file's path), then its lines.
fn sealed_message(subject: &str, body: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(subject.len() + 1 + body.len());
    message.extend_from_slice(subject.as_bytes());
    message.push(0);
    message.extend_from_slice(body.as_bytes());
    message
}

/// The stamp path of `file`: `<file>.stamp`.
pub fn beside(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".stamp");
    PathBuf::from(name)
}

impl Stamp {
    /// A stamp for contents with digest `sha256`.
    pub fn new(sha256: &str, verified: Option<Identity>) -> Stamp {
        Stamp {
            sha256: sha256.to_owned(),
            verified,
        }
    }

    /// Reads the stamp at `path` that stands for `subject`; `None` if it is missing, not a
    /// stamp, or not sealed by `seal` for `subject` (the file it stands for is then checked,
    /// or discarded, as if it had none).
    pub fn read(path: &Path, seal: &Seal, subject: &str) -> Option<Stamp> {
        let bytes = crate::regular_file::read(path, 1024).ok()?;
        Stamp::unseal(std::str::from_utf8(&bytes).ok()?, seal, subject)
    }

    /// The stamp `text` holds, if `seal` sealed it for `subject`.
    fn unseal(text: &str, seal: &Seal, subject: &str) -> Option<Stamp> {
        let body_end = text.strip_suffix('\n')?.rfind('\n')? + 1;
        let (body, last) = text.split_at(body_end);
        let sealed = last.strip_suffix('\n')?.strip_prefix("seal ")?;
        seal.verifies(&sealed_message(subject, body), sealed)
            .then_some(())?;
        Stamp::parse(body)
    }

    fn parse(text: &str) -> Option<Stamp> {
        // Every line ends with a newline: a cut-short stamp is no stamp.
        text.ends_with('\n').then_some(())?;
        let mut lines = text.lines();
        (lines.next()? == HEADER).then_some(())?;
        let sha256 = lines.next()?.strip_prefix("sha256 ")?;
        (sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then_some(())?;
        let verified = match lines.next() {
            None => None,
            Some(line) => {
                let mut n = line.strip_prefix("identity ")?.split(' ');
                let identity = Identity {
                    dev: n.next()?.parse().ok()?,
                    ino: n.next()?.parse().ok()?,
                    size: n.next()?.parse().ok()?,
                    mtime_ns: n.next()?.parse().ok()?,
                    ctime_ns: n.next()?.parse().ok()?,
                };
                n.next().is_none().then_some(())?;
                Some(identity)
            }
        };
        lines.next().is_none().then_some(())?;
        Some(Stamp {
            sha256: sha256.to_owned(),
            verified,
        })
    }

    fn render(&self) -> String {
        let mut text = format!("{HEADER}\nsha256 {}\n", self.sha256);
        if let Some(i) = &self.verified {
            text.push_str(&format!(
                "identity {} {} {} {} {}\n",
                i.dev, i.ino, i.size, i.mtime_ns, i.ctime_ns
            ));
        }
        text
    }

    /// Writes the stamp, sealed by `seal` for `subject`, to `path` atomically (a reader sees
    /// the old stamp or the new one).
    pub fn write(&self, path: &Path, seal: &Seal, subject: &str) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let body = self.render();
        let sealed = seal.of(&sealed_message(subject, &body));
        let text = format!("{body}seal {sealed}\n");
        super::write_atomically(dir, path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn stamps_read_back_and_anything_else_is_no_stamp() {
        let identity = Identity {
            dev: 2049,
            ino: 77,
            size: 36_000_000,
            mtime_ns: 1_700_000_000_123_456_789,
            ctime_ns: 1_700_000_000_223_456_789,
        };
        for stamp in [Stamp::new(SHA, None), Stamp::new(SHA, Some(identity))] {
            assert_eq!(Stamp::parse(&stamp.render()), Some(stamp.clone()));
        }
        let good = Stamp::new(SHA, Some(identity)).render();
        for bad in [
            String::new(),
            good.replace("flowhost-stamp 2", "flowhost-stamp 9"),
            good.replace(SHA, &SHA[1..]),
            good.replace(SHA, &SHA.to_uppercase()),
            good.replace(" 77 ", " x "),
            good.replace("\nidentity", "\nidentity 1"),
            format!("{good}extra\n"),
            good[..good.len() - 10].to_owned(),
        ] {
            assert_eq!(Stamp::parse(&bad), None, "{bad:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn an_identity_changes_with_any_rewrite_and_settles_only_when_old() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        fs::write(&path, b"one").expect("write");
        let meta = fs::metadata(&path).expect("stat");
        let first = Identity::of(&meta);
        assert_eq!(Identity::settled(&meta), None, "just written");

        // Same size, mtime restored: the ctime still moves.
        let mtime = meta.modified().expect("mtime");
        std::thread::sleep(Duration::from_millis(20));
        fs::write(&path, b"two").expect("rewrite");
        fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(mtime))
            .expect("restore mtime");
        let second = Identity::of(&fs::metadata(&path).expect("stat"));
        assert_ne!(first, second);
        assert_eq!(first.size, second.size);
        assert_eq!(first.mtime_ns, second.mtime_ns);

        // A file last changed long ago has settled.
        let old = SystemTime::now() - Duration::from_secs(3600);
        let file = fs::File::options().write(true).open(&path).expect("open");
        file.set_modified(old).expect("set mtime");
        // ctime is now; it settles only after SETTLE.
        assert_eq!(Identity::settled(&file.metadata().expect("stat")), None);
    }
}
