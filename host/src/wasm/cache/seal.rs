//! The seal on cache stamps: an HMAC-SHA256, under a key only this user's processes read, of
//! what a stamp vouches for. A precompiled artifact is machine code mapped and run as the
//! user, so a stamp is trusted only if this user's host wrote it: a cache that arrived from
//! elsewhere (a project shipping `.flowhost/cache`, a symlinked or parent state directory, a
//! copied directory) had its artifacts mapped as code whenever their stamps matched their own
//! contents (hostile-step review). Where the cache sits no longer decides anything.
//!
//! The key lives in `$FLOWHOST_CACHE_KEY_FILE`, else `$XDG_CONFIG_HOME/flowhost/cache-key`,
//! else `~/.config/flowhost/cache-key`, created (mode 0600) on first use. Where no key can be
//! kept, a process uses one of its own: its cache then serves only itself.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::encoding::{hex, unhex};

/// Bytes of key.
const KEY_BYTES: usize = 32;

/// A user's key for sealing cache stamps; without one (no randomness), nothing is sealed and
/// nothing verifies.
#[derive(Clone)]
pub struct Seal {
    key: Option<[u8; KEY_BYTES]>,
    /// Whether the key is kept where this user's other processes find it.
    kept: bool,
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seal(..)")
    }
}

impl Seal {
    /// This user's seal (see the module's comment), read once per process.
    pub fn for_user() -> Seal {
        static USER: std::sync::OnceLock<Seal> = std::sync::OnceLock::new();
        USER.get_or_init(|| match key_file().and_then(|path| load_or_create(&path)) {
            Some(key) => Seal {
                key: Some(key),
                kept: true,
            },
            None => Seal::of_this_process(),
        })
        .clone()
    }

    /// A seal no other process holds.
    pub fn of_this_process() -> Seal {
        let mut key = [0u8; KEY_BYTES];
        Seal {
            key: getrandom::fill(&mut key).is_ok().then_some(key),
            kept: false,
        }
    }

    /// Whether other processes of this user hold this seal too: without it, what one process
    /// writes to a cache no other can use (and each would add its own files).
    pub fn kept(&self) -> bool {
        self.kept
    }

    fn mac(&self, message: &[u8]) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_ref()?).ok()?;
        mac.update(message);
        Some(mac)
    }

    /// The seal of `message`, in lower-case hex (empty without a key: it verifies nothing).
    pub fn of(&self, message: &[u8]) -> String {
        self.mac(message)
            .map(|mac| hex(&mac.finalize().into_bytes()))
            .unwrap_or_default()
    }

    /// A name for this key in file names: the seal of a fixed text, so a cache shared by
    /// processes holding different keys keeps each one's files apart (none takes another's for
    /// damaged and deletes it), and no one without the key can name a file this process reads.
    pub fn id(&self) -> String {
        let mut id = self.of(b"flowhost cache key id");
        id.truncate(16);
        if id.is_empty() {
            id.push_str("unsealed");
        }
        id
    }

    /// Whether `seal` is the seal of `message` (compared in constant time).
    pub fn verifies(&self, message: &[u8], seal: &str) -> bool {
        match (self.mac(message), unhex(seal)) {
            (Some(mac), Some(bytes)) => mac.verify_slice(&bytes).is_ok(),
            _ => false,
        }
    }
}

/// Where this user's key is kept, if anywhere.
fn key_file() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("FLOWHOST_CACHE_KEY_FILE").or_else(|| {
        var("XDG_CONFIG_HOME")
            .or_else(|| var("HOME").map(|home| home.join(".config")))
            .map(|config| config.join("flowhost").join("cache-key"))
    })
}

/// The key at `path`, created there if there is none; `None` if it cannot be read or kept.
fn load_or_create(path: &Path) -> Option<[u8; KEY_BYTES]> {
    if let Some(key) = read_key(path) {
        return Some(key);
    }
    let dir = path.parent()?;
    fs::create_dir_all(dir).ok()?;
    let mut key = [0u8; KEY_BYTES];
    getrandom::fill(&mut key).ok()?;
    // Written whole to a file of its own (a fresh name, created new: no other thread or
    // process writes it), then linked into place: all agree on the first key linked, and
    // none reads a half-written one. What is read back is the answer, whoever linked it.
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).ok()?;
    let tmp = dir.join(format!(".cache-key.{}", hex(&nonce)));
    let written = (|| {
        let mut file = open_private(&tmp)?;
        file.write_all(hex(&key).as_bytes())?;
        file.sync_all()
    })();
    let _ = written.and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    read_key(path)
}

fn read_key(path: &Path) -> Option<[u8; KEY_BYTES]> {
    let text = crate::regular_file::read(path, 256).ok()?;
    unhex(std::str::from_utf8(&text).ok()?.trim())?
        .try_into()
        .ok()
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_verifies_only_its_own_message_under_its_own_key() {
        let seal = Seal::of_this_process();
        let other = Seal::of_this_process();
        let s = seal.of(b"artifact x sha256 y");
        assert!(seal.verifies(b"artifact x sha256 y", &s));
        assert!(!seal.verifies(b"artifact x sha256 z", &s));
        assert!(!other.verifies(b"artifact x sha256 y", &s), "another key");
        assert!(!seal.verifies(b"artifact x sha256 y", "zz"));
    }

    #[test]
    fn a_users_key_is_created_once_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("flowhost").join("cache-key");
        let first = load_or_create(&path).expect("created");
        assert_eq!(
            load_or_create(&path),
            Some(first),
            "read back, not made again"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by its user alone: {mode:o}");
        }
    }
}
