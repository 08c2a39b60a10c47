//! Run leases: one process executes a run at a time, so `flowhost serve` beside a hand-typed
//! `flowhost runs resume`, or two hosts on one database, never execute a run twice. A process
//! writes its owner id into `runs.lease_owner` of each run it executes; a run whose owner is
//! alive belongs to it, and the run of a dead owner is free to be taken over. How "alive" is
//! told depends on where the database is:
//!
//! - SQLite (one machine): a process holds an exclusive lock on a file of its own,
//!   `<database dir>/leases/<owner>`, for as long as it lives. The operating system drops the
//!   lock when a process dies, however it dies, so the runs of a killed process are free at
//!   once: no expiry to wait out, no heartbeat to keep.
//! - PostgreSQL (several machines, issue 18): a lock file cannot be seen from another
//!   machine. A host has a row in `hosts` whose heartbeat a thread of its own renews every
//!   TTL/4, timed by the database's clock; it is alive while its heartbeat is younger than
//!   the TTL it declared in its row ([`TTL_VAR`], 10 s by default), so the runs of a killed
//!   host are taken over a TTL after its last heartbeat. A host that has not renewed its heartbeat for a TTL
//!   (by its own clock, counted from before its last renewal was sent) stops leasing runs,
//!   and once another host may have declared it dead it never leases again
//!   (`runs/store/hosts.rs`: a stale heartbeat is not renewed).
//!
//! The runs a host executes stop at their next step boundary once its heartbeat is not
//! current ([`Leases::lapsed`], resumable: `serve` tries them again once it is, or another
//! host takes them over). The step a run is in when the heartbeat lapses (a pause longer
//! than the TTL, a partition from the database) finishes, but what it would write is fenced:
//! its journal entries, its end and its hold commit only while `runs.lease_owner` still
//! names this host (`runs/store/journal.rs`, `fence`), not once another host holds the run
//! or has left it to nobody, so every execution takes the lease before it goes on. A case
//! write a component makes mid-step commits on its own, unfenced, but by its step's keys: the
//! new holder running the step again is answered what it made, not a second case.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::Error;
use crate::public_id::PublicId;
use crate::store::Db;
use crate::store::postgres::Server;
use crate::store::sql::Connection;

use super::store::hosts;
use super::{RunLease, RunStore};

/// The variable that sets how long a host on PostgreSQL stays alive after its last heartbeat,
/// in milliseconds (default [`DEFAULT_TTL`]): the longest a dead host's runs wait before
/// another host takes them over. Short in tests.
pub const TTL_VAR: &str = "FLOWHOST_HOST_TTL_MS";

/// How long a host stays alive after its last heartbeat unless [`TTL_VAR`] says otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10);

/// The heartbeat TTL in force: [`TTL_VAR`], else [`DEFAULT_TTL`]; a value that is not a
/// number of milliseconds (at least 100) is an error naming the variable.
pub fn ttl_from_env() -> Result<Duration, Error> {
    let default = u64::try_from(DEFAULT_TTL.as_millis()).unwrap_or(u64::MAX);
    crate::env_number::number_from_env(
        TTL_VAR,
        default,
        100..=u64::MAX,
        "a heartbeat TTL: use a number of milliseconds, at least 100",
    )
    .map(Duration::from_millis)
}

/// This process's lease identity and how its liveness is told.
pub struct Leases {
    owner: String,
    how: How,
    /// The runs leased to this owner that it is executing, or has claimed to execute next,
    /// each with whether a take was refused for it meanwhile. The database tells processes
    /// apart; this tells apart the executions of one process (two HTTP requests resuming one
    /// run), which share an owner id.
    executing: ExecutingRuns,
    /// Runs this process is recording now, by public id: their record may have committed
    /// before they are marked executing (their key is known only then), and a take of this
    /// process in that moment (the scheduler finding a run leased to it and unmarked) would
    /// execute the run beside the request that started it (concurrency review).
    starting: Arc<Mutex<HashSet<PublicId>>>,
}

type ExecutingRuns = Arc<Mutex<HashMap<i64, bool>>>;

/// A run being recorded by this process: takes of it are refused until it is dropped.
pub(crate) struct Starting {
    starting: Arc<Mutex<HashSet<PublicId>>>,
    id: PublicId,
}

impl Drop for Starting {
    fn drop(&mut self) {
        self.starting.lock().remove(&self.id);
    }
}

/// A run this process executes (or has claimed, queued for a worker). While it lives,
/// [`Leases::take`] refuses the run to this process too, so one process never executes a run
/// twice at once; dropping it (the execution's end) frees the run for the next one.
pub(crate) struct Executing {
    runs: ExecutingRuns,
    run: i64,
    left: bool,
}

impl Executing {
    /// Ends the mark, and says whether a take was refused while it stood: someone wanted the
    /// run to go on (an answer, a resume). A run put on hold in that moment is resumed by its
    /// own execution if what it waits for has arrived, since the one that brought it was
    /// turned away (`workflow/engine.rs`).
    pub(crate) fn leave(mut self) -> bool {
        self.left = true;
        self.runs.lock().remove(&self.run).unwrap_or(false)
    }
}

impl Drop for Executing {
    fn drop(&mut self) {
        if !self.left {
            self.runs.lock().remove(&self.run);
        }
    }
}

enum How {
    /// Lock files; `dir` is `None` for an in-memory database (one process by nature).
    Files {
        dir: Option<PathBuf>,
        /// The database file, as resolved: written into the lock file, since databases
        /// beside one another share `dir`.
        db: Option<PathBuf>,
        /// This process's own lock file, taken before its first run.
        held: std::sync::Mutex<Option<File>>,
    },
    /// Heartbeats in `hosts`, started before the first run.
    Heartbeat {
        server: Server,
        /// The TTL, or why the setting does not read.
        ttl: Result<Duration, String>,
        /// Started by the first `hold`; a failed start (the database unreachable) is tried
        /// again by the next one, not kept.
        beat: Mutex<Option<Arc<Beat>>>,
    },
}

impl Leases {
    /// Leases for the database file at `path` (`None`: in memory).
    pub fn for_database(path: Option<&Path>) -> Self {
        // Beside the file as resolved: two processes opening one database through a
        // symbolic link and its real path shared the database but not its leases, and each
        // took over the other's runs (kill and concurrency review).
        let db = path.map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned()));
        let dir = db
            .as_ref()
            .map(|p| p.parent().unwrap_or_else(|| Path::new(".")).join("leases"));
        Leases {
            owner: new_owner(),
            how: How::Files {
                dir,
                db,
                held: std::sync::Mutex::new(None),
            },
            executing: Arc::default(),
            starting: Arc::default(),
        }
    }

    /// Leases on `db`: lock files beside an SQLite file, heartbeats on PostgreSQL (with the
    /// TTL of [`ttl_from_env`]; an unreadable setting is reported when the first run is
    /// leased).
    pub fn for_db(db: &Db) -> Self {
        match db.server() {
            None => Self::for_database(db.path()),
            Some(server) => Leases {
                owner: new_owner(),
                how: How::Heartbeat {
                    server,
                    ttl: ttl_from_env().map_err(|e| e.to_string()),
                    beat: Mutex::new(None),
                },
                executing: Arc::default(),
                starting: Arc::default(),
            },
        }
    }

    /// Heartbeat leases on PostgreSQL `server`, alive for `ttl` after each heartbeat.
    pub fn on_server(server: Server, ttl: Duration) -> Self {
        Leases {
            owner: new_owner(),
            how: How::Heartbeat {
                server,
                ttl: Ok(ttl),
                beat: Mutex::new(None),
            },
            executing: Arc::default(),
            starting: Arc::default(),
        }
    }

    /// This process's owner id, as written into `runs.lease_owner`.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Takes this process's lock (or starts its heartbeat), once; a run may be leased only
    /// after it. On PostgreSQL, refused (`Busy`) while the heartbeat is not current.
    pub fn hold(&self) -> Result<(), Error> {
        match &self.how {
            How::Files { dir, db, held } => {
                hold_file(&self.owner, dir.as_deref(), db.as_deref(), held)
            }
            How::Heartbeat { server, ttl, beat } => self.beat(server, ttl, beat)?.current(),
        }
    }

    /// Whether `owner` is a live process other than this one (this one is alive to itself).
    /// When it cannot tell, alive: better to wait than to execute a run twice.
    pub fn alive(&self, owner: &str) -> bool {
        self.alive_as_of(owner, Instant::now())
    }

    /// [`Leases::alive`] for an owner whose lease was read at `observed`: the live hosts
    /// read after that instant answer for it (a host registers before it leases anything),
    /// so one scan of many runs leased to one dead host reads the hosts once.
    pub(crate) fn alive_as_of(&self, owner: &str, observed: Instant) -> bool {
        if owner == self.owner {
            return true;
        }
        match &self.how {
            How::Files { dir, .. } => file_alive(dir.as_deref(), owner),
            // Its connection answers the question (started here if need be).
            How::Heartbeat { server, ttl, beat } => match self.beat(server, ttl, beat) {
                Ok(beat) => beat.alive(owner, observed),
                Err(_) => true,
            },
        }
    }

    /// Why the runs this process executes must stop at their next step boundary: its
    /// heartbeat is not current (another host may take them over, or already has). `None`
    /// while it is, and always on SQLite (no I/O here: a look at the last renewal).
    pub fn lapsed(&self) -> Option<String> {
        self.heartbeat()?.current().err().map(|e| e.to_string())
    }

    /// Why this process may never lease a run again: its heartbeat was found stale (another
    /// host may have declared it dead). `None` while it may, and always on SQLite.
    pub fn fenced(&self) -> Option<String> {
        let beat = self.heartbeat()?;
        if !beat.state.lock().fenced {
            return None;
        }
        beat.current().err().map(|e| e.to_string())
    }

    /// This host's heartbeat, if it has started one (never on SQLite).
    fn heartbeat(&self) -> Option<Arc<Beat>> {
        match &self.how {
            How::Files { .. } => None,
            How::Heartbeat { beat, .. } => beat.lock().clone(),
        }
    }

    /// This host's heartbeat, started if it is not yet.
    fn beat(
        &self,
        server: &Server,
        ttl: &Result<Duration, String>,
        beat: &Mutex<Option<Arc<Beat>>>,
    ) -> Result<Arc<Beat>, Error> {
        let ttl = *ttl.as_ref().map_err(|e| Error::Invalid(e.clone()))?;
        let mut beat = beat.lock();
        if let Some(beat) = beat.as_ref() {
            return Ok(beat.clone());
        }
        let started = Beat::start(server, &self.owner, ttl)
            .map_err(|e| Error::Busy(format!("cannot start this host's heartbeat: {e}")))?;
        *beat = Some(started.clone());
        Ok(started)
    }
}

/// A fresh owner id: 16 hex digits.
fn new_owner() -> String {
    let mut id = [0u8; 8];
    // Without randomness the id still differs per process, which is all it must do.
    if getrandom::fill(&mut id).is_err() {
        id = u64::from(std::process::id()).to_le_bytes();
    }
    id.iter().map(|b| format!("{b:02x}")).collect()
}

fn hold_file(
    owner: &str,
    dir: Option<&Path>,
    db: Option<&Path>,
    held: &std::sync::Mutex<Option<File>>,
) -> Result<(), Error> {
    let Some(dir) = dir else {
        return Ok(());
    };
    // Tried again until it is held: one failure (no file handle left, a directory being
    // made) is the infrastructure's for now (SPEC WF-11), not this process's for good.
    let mut held = held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if held.is_some() {
        return Ok(());
    }
    let taken = (|| {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(owner);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.try_lock().map_err(std::io::Error::from)?;
        // Another process that found the file unlocked between its creation and this lock
        // took it for a dead one's and removed it: held but unseen, this process would be
        // taken for dead and its runs executed twice (round 25 storage review). Taken again
        // by the next try.
        if !same_file(&file, &path) {
            return Err(std::io::Error::other(
                "its lock file was removed as it was taken",
            ));
        }
        // Which database this process uses: `db migrate` of a database beside it is not
        // refused for this one (round 25 self-review).
        if let Some(db) = db {
            use std::io::Write;
            file.set_len(0)?;
            (&file).write_all(db.as_os_str().as_encoded_bytes())?;
        }
        Ok::<_, std::io::Error>(file)
    })();
    match taken {
        Ok(file) => {
            *held = Some(file);
            Ok(())
        }
        Err(e) => Err(Error::Busy(format!(
            "cannot take this process's run lease in {}: {e}",
            dir.display()
        ))),
    }
}

/// The flowhost processes using the SQLite database at `path`: the owners whose lock files
/// beside it are held. `db migrate` copies a file nothing writes: what a live host accepted
/// after the copy's snapshot was lost, and its runs were taken over on PostgreSQL and
/// executed twice (round 25 kill and concurrency review). A directory that cannot be read is
/// an error: better to refuse than to copy under a live host.
pub fn live_processes(path: &Path) -> Result<Vec<String>, Error> {
    let leases = Leases::for_database(Some(path));
    let How::Files {
        dir: Some(dir),
        db: Some(db),
        ..
    } = &leases.how
    else {
        return Ok(Vec::new());
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::Busy(format!(
                "cannot tell which processes use the database: {}: {e}",
                dir.display()
            )));
        }
    };
    // Only looked at, never tidied: removing one found unlocked could remove a file its
    // process had made and not yet locked (round 25 storage review).
    let mut live: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|owner| file_held(&dir.join(owner)) && uses(&dir.join(owner), db))
        .collect();
    live.sort();
    Ok(live)
}

/// Whether the process holding the lock file at `path` uses database `db`: another only
/// when the path it wrote there names, here, an existing file that is not `db`. A path
/// that does not resolve here (written in a container, through a mount this side does not
/// have) or an alias of `db` (a bind mount, a hard link) is `db`'s, and so is a lock file
/// with no path (a flowhost of before, or one between its lock and its write): compared as
/// text, a host serving the file through another path was taken for another database's,
/// and the copy went on under it (round 26 review of round 25).
fn uses(path: &Path, db: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    let written = match std::fs::read(path) {
        Ok(written) if !written.is_empty() => written,
        _ => return true,
    };
    if written == db.as_os_str().as_encoded_bytes() {
        return true;
    }
    let named = Path::new(std::ffi::OsStr::from_bytes(&written));
    match (std::fs::metadata(named), std::fs::metadata(db)) {
        (Ok(named), Ok(db)) => named.dev() == db.dev() && named.ino() == db.ino(),
        _ => true,
    }
}

/// Whether the file open as `file` is the one at `path` now.
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

/// Whether the lock file at `path` is held by a process (when it cannot tell, held).
fn file_held(path: &Path) -> bool {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return false,
        Err(_) => return true,
    };
    match file.try_lock() {
        Ok(()) => false,
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(_)) => true,
    }
}

/// Whether the lock file of `owner` is held. An id that is not one of ours (not hex) names no
/// lock file, and so no live process.
fn file_alive(dir: Option<&Path>, owner: &str) -> bool {
    let Some(dir) = dir else {
        return false;
    };
    if owner.is_empty() || !owner.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let path = dir.join(owner);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return false,
        // No file handle left, no permission: cannot tell, so alive, as below (a run
        // taken from a live process would execute twice).
        Err(_) => return true,
    };
    match file.try_lock() {
        Ok(()) => {
            // Its process is gone: tidy up after it.
            let _ = std::fs::remove_file(&path);
            false
        }
        Err(TryLockError::WouldBlock) => true,
        // Cannot tell: assume alive rather than risk executing a run twice.
        Err(TryLockError::Error(_)) => true,
    }
}

/// How long a dead host's row is kept (an hour), and how many a starting host forgets.
const DEAD_HOSTS_KEPT_MS: i64 = 3_600_000;
const DEAD_HOSTS_PER_START: i64 = 1_000;

/// A host's heartbeat on PostgreSQL: its own connection, and a thread renewing it.
///
/// Only that thread closes the connection (and forgets the host), when told to stop: the
/// PostgreSQL client blocks on a runtime of its own to close, which panics on a thread that
/// drives asynchronous tasks, where the last `Leases` of `serve` may well be dropped.
struct Beat {
    server: Server,
    owner: String,
    ttl: Duration,
    /// `None` once the thread has closed it.
    conn: Mutex<Option<Connection>>,
    state: Mutex<BeatState>,
    /// Wakes the thread early to stop.
    wake: Condvar,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

struct BeatState {
    /// When the last heartbeat that was renewed was sent (this host's monotonic clock).
    renewed: Instant,
    /// The heartbeat was found stale: another host may have taken this one's runs over.
    fenced: bool,
    /// The last failure to renew, for the refusal's message.
    failure: Option<String>,
    stop: bool,
    /// The hosts alive at the last look, and when it was made.
    alive: Option<(Instant, HashSet<String>)>,
}

impl Beat {
    fn start(server: &Server, owner: &str, ttl: Duration) -> Result<Arc<Beat>, Error> {
        let conn = server.connect()?;
        // Killed hosts leave their rows: a host starting tidies a few of them away, once they
        // are well past any TTL (kept a while for whoever looks into a host's death).
        hosts::forget_dead(&conn, DEAD_HOSTS_KEPT_MS, DEAD_HOSTS_PER_START)?;
        let sent = Instant::now();
        hosts::register(
            &conn,
            owner,
            i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
        )?;
        let beat = Arc::new(Beat {
            server: server.clone(),
            owner: owner.to_owned(),
            ttl,
            conn: Mutex::new(Some(conn)),
            state: Mutex::new(BeatState {
                renewed: sent,
                fenced: false,
                failure: None,
                stop: false,
                alive: None,
            }),
            wake: Condvar::new(),
            thread: Mutex::new(None),
        });
        let thread = beat.clone();
        let handle = std::thread::Builder::new()
            .name("flowhost-heartbeat".into())
            .spawn(move || thread.run())
            .map_err(|e| Error::Internal(format!("cannot start the heartbeat thread: {e}")))?;
        *beat.thread.lock() = Some(handle);
        Ok(beat)
    }

    /// Renews every TTL/4 until stopped (once fenced, nothing is left to renew: it only waits
    /// for the stop); then forgets the host and closes the connection.
    fn run(self: Arc<Self>) {
        let every = self.ttl / 4;
        // After a failed renewal the connection may be gone (the server restarted, say): the
        // next beat connects afresh.
        let mut reconnect = false;
        loop {
            {
                let mut state = self.state.lock();
                if !state.stop {
                    self.wake.wait_for(&mut state, every);
                }
                if state.stop {
                    break;
                }
                if state.fenced {
                    continue;
                }
            }
            let sent = Instant::now();
            let renewed = {
                let mut conn = self.conn.lock();
                if reconnect || conn.is_none() {
                    match self.server.connect() {
                        Ok(fresh) => *conn = Some(fresh),
                        Err(e) => {
                            self.state.lock().failure = Some(e.to_string());
                            continue;
                        }
                    }
                }
                match conn.as_ref() {
                    Some(conn) => hosts::renew(conn, &self.owner),
                    None => continue,
                }
            };
            let mut state = self.state.lock();
            match renewed {
                Ok(true) => {
                    state.renewed = sent;
                    state.failure = None;
                    reconnect = false;
                }
                Ok(false) => state.fenced = true,
                // The database unreachable: tried again next beat; leasing stops once a
                // TTL has passed without a renewal (`current`).
                Err(e) => {
                    state.failure = Some(e.to_string());
                    reconnect = true;
                }
            }
        }
        let conn = self.conn.lock().take();
        if let Some(conn) = conn {
            let _ = hosts::forget(&conn, &self.owner);
        }
    }

    /// Whether this host may lease runs now: its heartbeat renewed within the TTL.
    fn current(&self) -> Result<(), Error> {
        let state = self.state.lock();
        if state.fenced {
            return Err(Error::Busy(format!(
                "this host ({}) missed its heartbeat for longer than its TTL ({} ms) and may have \
                 been taken over: it leases no more runs (restart it)",
                self.owner,
                self.ttl.as_millis()
            )));
        }
        if state.renewed.elapsed() >= self.ttl {
            return Err(Error::Busy(format!(
                "this host's heartbeat has not been renewed for {} ms (TTL {} ms){}: it leases \
                 no runs until it is",
                state.renewed.elapsed().as_millis(),
                self.ttl.as_millis(),
                state
                    .failure
                    .as_deref()
                    .map(|e| format!(", last failure: {e}"))
                    .unwrap_or_default()
            )));
        }
        Ok(())
    }

    /// Whether `owner`, whose lease was read at `observed`, has a heartbeat younger than the
    /// TTL. A host found alive is taken for alive for TTL/8 without asking again (at worst
    /// taken over that much later). One not found is dead only by a list read after
    /// `observed`: it may have started after an older list was read, and that list's "dead"
    /// had a host's first runs taken over while it executed them (kill and concurrency
    /// review).
    fn alive(&self, owner: &str, observed: Instant) -> bool {
        let fresh_for = self.ttl / 8;
        {
            let state = self.state.lock();
            if let Some((at, live)) = &state.alive
                && at.elapsed() < fresh_for
                && (live.contains(owner) || *at >= observed)
            {
                return live.contains(owner);
            }
        }
        // Stamped when asked, not when answered: a list the database made before `observed`
        // must not pass for one read after it; and an older list never replaces a newer one.
        let asked = Instant::now();
        let looked = match self.conn.lock().as_ref() {
            Some(conn) => hosts::alive(conn),
            None => return true,
        };
        match looked {
            Ok(live) => {
                let live: HashSet<String> = live.into_iter().collect();
                let answer = live.contains(owner);
                let mut state = self.state.lock();
                if state.alive.as_ref().is_none_or(|(at, _)| *at <= asked) {
                    state.alive = Some((asked, live));
                }
                answer
            }
            // Cannot tell: alive.
            Err(_) => true,
        }
    }

    /// Stops the heartbeat, which forgets the host (so its runs are free at once), and waits
    /// for that (a round trip).
    fn stop(&self) {
        self.state.lock().stop = true;
        self.wake.notify_all();
        let thread = self.thread.lock().take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for Leases {
    fn drop(&mut self) {
        match &self.how {
            How::Files { dir, held, .. } => {
                let held = held.lock().unwrap_or_else(|p| p.into_inner()).is_some();
                if let (Some(dir), true) = (dir, held) {
                    let _ = std::fs::remove_file(dir.join(&self.owner));
                }
            }
            How::Heartbeat { beat, .. } => {
                if let Some(beat) = beat.lock().take() {
                    beat.stop();
                }
            }
        }
    }
}

/// How a refused lease reads (after "run N"), and what every refusal of a run being executed
/// says.
const LEASED_ELSEWHERE: &str = "is being executed by another flowhost process";
const BEING_EXECUTED: &str = "is being executed";

/// Whether `error` says that the run is being executed already: by another live process, or
/// by another request of this one. Whoever is executing it takes up what changed (an answer,
/// a due wait) when it reaches it.
pub fn leased_elsewhere(error: &Error) -> bool {
    matches!(error, Error::Conflict(why) if why.contains(BEING_EXECUTED))
}

impl Leases {
    /// Marks `run`, just recorded or claimed with this process's lease, as executing here.
    /// Between that record's commit and this mark, a [`Leases::take`] of the same process
    /// could take the run too; only this process knows the run's key that early, save a
    /// caller who guesses a public id in those microseconds.
    pub(crate) fn executing(&self, run: i64, shown: &PublicId) -> Result<Executing, Error> {
        self.enter(run, shown)
    }

    /// Holds off takes of the run with public id `id` while it is recorded and marked: drop
    /// the guard after [`Leases::executing`].
    pub(crate) fn starting(&self, id: &PublicId) -> Starting {
        self.starting.lock().insert(id.clone());
        Starting {
            starting: self.starting.clone(),
            id: id.clone(),
        }
    }

    /// Whether this process executes `run` now (or has claimed it, queued for a worker).
    pub(crate) fn is_executing(&self, run: i64) -> bool {
        self.executing.lock().contains_key(&run)
    }

    /// The mark that this process executes `run`, unless it already does.
    fn enter(&self, run: i64, shown: &PublicId) -> Result<Executing, Error> {
        match self.executing.lock().entry(run) {
            Entry::Occupied(mut knocked) => {
                knocked.insert(true);
                return Err(Error::Conflict(format!(
                    "run {shown} {BEING_EXECUTED} by this flowhost process already"
                )));
            }
            Entry::Vacant(free) => {
                free.insert(false);
            }
        }
        Ok(Executing {
            runs: self.executing.clone(),
            run,
            left: false,
        })
    }

    /// Makes this process the lease holder of `run` in `runs`, unless another live process
    /// holds it or this one is executing it; the conditional update settles a race between
    /// two processes, the in-process mark one between two requests of this one. Call
    /// [`Leases::hold`] first.
    pub(crate) fn take(&self, runs: &dyn RunStore, run: i64) -> Result<Executing, Error> {
        let owner = self.owner();
        let observed = Instant::now();
        // Errors name the run by its public id, never by its key (SPEC ID-4).
        let RunLease {
            owner: current,
            run: shown,
        } = runs
            .run_lease(run)?
            .ok_or_else(|| Error::NotFound(format!("there is no run with key {run}")))?;
        if current
            .as_deref()
            .is_some_and(|o| o != owner && self.alive_as_of(o, observed))
        {
            return Err(Error::Conflict(format!("run {shown} {LEASED_ELSEWHERE}")));
        }
        if self.starting.lock().contains(&shown) {
            return Err(Error::Conflict(format!(
                "run {shown} {BEING_EXECUTED} by this flowhost process (it is starting)"
            )));
        }
        // Marked before the update, so that of two requests here only one gets that far.
        let executing = self.enter(run, &shown)?;
        if !runs.take_lease(run, owner, current.as_deref())? {
            return Err(Error::Conflict(format!(
                "run {shown} {LEASED_ELSEWHERE} (or was finished by one meanwhile)"
            )));
        }
        Ok(executing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lease_is_alive_to_others_and_free_once_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("flowhost.db");
        let first = Leases::for_database(Some(&db));
        let second = Leases::for_database(Some(&db));
        assert_ne!(first.owner(), second.owner());
        assert!(!second.alive(first.owner()), "not held yet");
        first.hold().expect("hold");
        assert!(second.alive(first.owner()));
        assert!(first.alive(first.owner()), "a process is alive to itself");
        let owner = first.owner().to_owned();
        drop(first);
        assert!(!second.alive(&owner), "released when its holder goes");
        // Ids that are not ours name no process (and no path outside the lease directory).
        assert!(!second.alive("../flowhost.db"));
        assert!(!second.alive(""));
    }

    /// A database opened through a symbolic link shares the leases of its real path (kill
    /// and concurrency review: each took the other's runs over).
    #[test]
    fn a_database_reached_through_a_link_shares_its_leases() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("data");
        std::fs::create_dir_all(&real).expect("mkdir");
        std::fs::write(real.join("flowhost.db"), b"").expect("db");
        std::os::unix::fs::symlink(real.join("flowhost.db"), dir.path().join("linked.db"))
            .expect("link");
        let direct = Leases::for_database(Some(&real.join("flowhost.db")));
        let linked = Leases::for_database(Some(&dir.path().join("linked.db")));
        direct.hold().expect("hold");
        assert!(linked.alive(direct.owner()));
    }

    /// A lease directory that cannot be used (here a file stands where it should be) fails
    /// a hold as busy, and the next hold, once it can, succeeds: one failure was kept for
    /// the life of the process, as the host's own error (kill and concurrency review). A
    /// lock file that cannot be opened for another reason than its absence is a process
    /// that may be alive: it was read as dead, and its runs taken over while it ran them.
    #[test]
    fn a_lease_directory_that_cannot_be_used_fails_for_now_and_tells_nobody_dead() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("flowhost.db");
        let blocker = dir.path().join("leases");
        std::fs::write(&blocker, "not a directory").expect("write");
        let leases = Leases::for_database(Some(&db));
        match leases.hold() {
            Err(Error::Busy(why)) => assert!(why.contains("run lease"), "{why}"),
            other => panic!("a hold that cannot be taken is busy: {other:?}"),
        }
        assert!(
            leases.alive("0123456789abcdef"),
            "a lock file that cannot be opened may belong to a live process"
        );
        std::fs::remove_file(&blocker).expect("remove");
        leases.hold().expect("held once the directory can be made");
        let other = Leases::for_database(Some(&db));
        assert!(other.alive(leases.owner()));
        assert!(!other.alive("0123456789abcdef"), "no lock file: no process");
    }

    #[test]
    fn an_in_memory_database_has_no_other_processes() {
        let leases = Leases::for_database(None);
        leases.hold().expect("nothing to hold");
        assert!(!leases.alive("0123456789abcdef"));
    }
}
