//! Where a component is compiled: in this process, or in a child process under limits.
//!
//! Compiling is the one thing a step's author makes the host do before any sandbox exists:
//! Cranelift runs over the author's bytes with the host's own CPU and memory. Its cost is not
//! linear in the bytes: a 315 KB component (one function, a loop over 20,000 `if`s with 2,000
//! locals live across all of them) took 13 s of CPU and 870 MB to compile, and a 635 KB one
//! 79 s and 3 GB (debug build); a few MB more would have taken the host down with the
//! machine's memory, and every host that took its runs over after it. So the `flowhost` binary compiles in a child process of itself
//! ([`compile_in_children`]), at a lower priority than the runs it serves, with a limit on its
//! CPU time and on its memory, killed at a wall-clock deadline; the child answers the
//! precompiled artifact, which the host maps as it maps a cached one.
//!
//! A process that never asked (the library's own tests and benches) compiles in-process.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wasmtime::Engine;

use crate::env_number::number_from_env;

/// The first argument that makes the `flowhost` binary a compiling child
/// ([`child_main`]); nobody types it.
pub const CHILD_ARG: &str = "__compile-component";

/// How much a compile may take, beyond which the component is refused as too costly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompileLimits {
    /// CPU time, all the compiler's threads together.
    pub cpu_seconds: u64,
    /// The child's data (heap, and every private writable mapping).
    pub memory_bytes: u64,
}

impl CompileLimits {
    /// From `FLOWHOST_COMPILE_CPU_SECONDS` (default 120) and `FLOWHOST_COMPILE_MEMORY_MB`
    /// (default 4,096): a Python component, the largest a step author builds with the
    /// project's tools, takes ~14 s of CPU and ~400 MB in a debug build.
    pub fn from_env() -> Result<Self, crate::Error> {
        let cpu_seconds = number_from_env(
            "FLOWHOST_COMPILE_CPU_SECONDS",
            120,
            1..=86_400,
            "a number of seconds from 1 to 86400",
        )?;
        let memory_mb: u64 = number_from_env(
            "FLOWHOST_COMPILE_MEMORY_MB",
            4096,
            64..=1 << 20,
            "a number of MiB from 64 to 1048576",
        )?;
        Ok(Self {
            cpu_seconds,
            memory_bytes: memory_mb << 20,
        })
    }

    /// How long the host waits for a child: its CPU time three times over (a compile uses
    /// every core when it has them, and may get a share of one on a busy machine).
    fn wall(&self) -> Duration {
        Duration::from_secs(self.cpu_seconds.saturating_mul(3))
    }
}

/// The program compiles run in, and their limits.
#[derive(Clone, Debug)]
struct Children {
    program: PathBuf,
    limits: CompileLimits,
}

static CHILDREN: OnceLock<Children> = OnceLock::new();

/// From now on, this process compiles components in child processes running `program`
/// (this binary: `/proc/self/exe` on Linux, the same file even if it was replaced since)
/// with [`CHILD_ARG`], under `limits`. Set once; a second call changes nothing.
pub fn compile_in_children(program: PathBuf, limits: CompileLimits) {
    let _ = CHILDREN.set(Children { program, limits });
}

/// The limits compiles run under in this process, as a name (`cpu120s-mem4294967296b`); `None`
/// when it compiles in-process, without limits. A component too costly under these limits is
/// too costly under them in every process (`cache.rs` remembers it by this name).
pub fn limits_key() -> Option<String> {
    CHILDREN
        .get()
        .map(|c| format!("cpu{}s-mem{}b", c.limits.cpu_seconds, c.limits.memory_bytes))
}

/// Why a compile gave no artifact.
#[derive(Debug)]
pub enum CompileError {
    /// The bytes are not a component this engine compiles: they never will be.
    Invalid(String),
    /// A core module of the component is out of the shape every instance allocator takes
    /// (`module_shape.rs`; the reason as it says it): it never will be.
    OutOfShape(String),
    /// It took more CPU time than a compile may, or compiled to more code than a host keeps,
    /// by the child's own limits: these bytes never will compile under them, in any process.
    TooCostly(String),
    /// The compile failed in a way these bytes likely cause but the machine may have had a
    /// hand in (the compiler crashed or ran out of memory; it ran past its wall-clock time
    /// having spent much of its CPU time, perhaps starved by other work): this process does
    /// not try again, a restarted or another one may (review: such verdicts, kept for good,
    /// refused a tenant's component for a busy moment of the machine).
    Failed(String),
    /// The machine's failure (no child process could start, a deadline passed on a busy
    /// machine): another try may succeed.
    ForNow(String),
    /// The child was killed from outside (SIGKILL): an operator, or the kernel's
    /// out-of-memory killer on a machine with less memory free than the compile's limit. The
    /// caller tells which by asking again (`runtime.rs`: a second kill of the same bytes is
    /// theirs).
    Killed(String),
}

/// Compiles `bytes` for `engine`, in a child process when this process asked for that.
/// Answers the artifact the cache keeps (`None` for an in-process compile whose artifact
/// could not be serialized: the step still runs).
pub fn compile(
    engine: &Engine,
    bytes: &[u8],
) -> Result<(wasmtime::component::Component, Option<Vec<u8>>), CompileError> {
    let Some(children) = CHILDREN.get() else {
        super::module_shape::check(bytes).map_err(CompileError::OutOfShape)?;
        let component = wasmtime::component::Component::new(engine, bytes)
            .map_err(|e| CompileError::Invalid(format!("{e:#}")))?;
        let code = component.serialize().ok();
        return Ok((component, Some(code).flatten()));
    };
    let code = children.compile(bytes)?;
    // SAFETY: the artifact is what a child running this very binary (`/proc/self/exe`) made
    // of these bytes with the same engine settings; wasmtime checks its header against this
    // engine's. That child compiled the step author's bytes, as this process did before it
    // compiled in children: no trust is added.
    // A refusal here is this engine's own check of the component against its limits (a
    // pooling engine's tables, memories, instances, instance size), which the child's
    // engine does not make: the bytes' doing, never the machine's. As "for now" a server
    // retried the run for ever, a new compile each time (hostile-step review). Remembered by
    // this process only, as a crashed compile is: another host's limits may differ.
    let component =
        unsafe { wasmtime::component::Component::deserialize(engine, &code) }.map_err(|e| {
            CompileError::Failed(format!(
                "the compiled component does not load under this host's limits: {e:#}"
            ))
        })?;
    Ok((component, Some(code)))
}

/// The exit status of a child whose compile refused the bytes (its stderr says why).
const INVALID: u8 = 3;
/// The exit status of a child whose compile failed for want of memory.
const OUT_OF_MEMORY: u8 = 4;
/// The exit status of a child that found a core module out of shape (`module_shape.rs`).
const OUT_OF_SHAPE: u8 = 5;
/// The exit status of a Rust panic: the compiler failed on these bytes.
const PANICKED: i32 = 101;
/// Linux's signal at the soft CPU limit (its default action ends the child, so the hard
/// limit's SIGKILL is never reached); a SIGKILL is someone else's (an OOM killer, an operator).
const SIGXCPU: i32 = 24;
const SIGKILL: i32 = 9;
/// Linux's signals of a crash in the compiler itself: a failure on these bytes.
const SIGSEGV: i32 = 11;
const SIGABRT: i32 = 6;
const SIGBUS: i32 = 7;
const SIGILL: i32 = 4;
/// At most this much of a child's stderr is kept for the message.
const STDERR_KEPT: usize = 4096;
/// The largest compiled artifact a child may answer, four times the largest component file:
/// past it the component is too costly (read whole, a few kilobytes of sparse data segments
/// became gigabytes of memory images in the host: hostile-step review).
pub const MAX_ARTIFACT_BYTES: u64 = 4 * super::component_file::MAX_COMPONENT_BYTES;

impl Children {
    fn compile(&self, bytes: &[u8]) -> Result<Vec<u8>, CompileError> {
        let limits = self.limits;
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(&self.program);
        command
            .arg(CHILD_ARG)
            .arg(limits.cpu_seconds.to_string())
            .arg(limits.memory_bytes.to_string())
            .arg(std::process::id().to_string())
            // Nothing of the host's environment (a database URL with its password, an API
            // key) but what code generation reads: wasmtime takes a setting from it that
            // artifacts must match.
            .env_clear()
            .envs(
                std::env::vars_os()
                    .filter(|(k, _)| k.to_str().is_some_and(|k| k.starts_with("WASMTIME_"))),
            )
            // Its own process group: a Ctrl-C meant for the host does not end the compile
            // as if the component were at fault.
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| CompileError::ForNow(format!("cannot start a compiler process: {e}")))?;
        let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(CompileError::ForNow(
                "the compiler process has no pipes".into(),
            ));
        };
        let deadline = Instant::now() + limits.wall();
        let talked = std::thread::scope(|s| {
            // A child that dies early closes its stdin: the write fails, its status says why.
            let writer = std::thread::Builder::new().spawn_scoped(s, move || {
                let _ = stdin.write_all(bytes);
            });
            let code = std::thread::Builder::new().spawn_scoped(s, move || {
                let mut code = Vec::new();
                stdout
                    .by_ref()
                    .take(MAX_ARTIFACT_BYTES + 1)
                    .read_to_end(&mut code)?;
                if u64::try_from(code.len()).map_or(true, |n| n > MAX_ARTIFACT_BYTES) {
                    // Not kept; drained so that the child ends rather than block.
                    drop(code);
                    std::io::copy(&mut stdout, &mut std::io::sink())?;
                    return Ok::<_, std::io::Error>(None);
                }
                Ok(Some(code))
            });
            let err = std::thread::Builder::new().spawn_scoped(s, move || {
                let mut err = Vec::new();
                let _ = stderr
                    .by_ref()
                    .take(STDERR_KEPT as u64)
                    .read_to_end(&mut err);
                // Drain the rest so that the child never blocks on a full pipe.
                let _ = std::io::copy(&mut stderr, &mut std::io::sink());
                String::from_utf8_lossy(&err).into_owned()
            });
            // Threads the machine would not give: the child is ended (the threads that did
            // start see its pipes close) and the compile tried again later.
            let (Ok(_), Ok(code), Ok(err)) = (writer, code, err) else {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            };
            let waited = wait_until(&mut child, deadline);
            Some((waited, code.join(), err.join()))
        });
        let Some((waited, code, err)) = talked else {
            return Err(CompileError::ForNow(
                "no thread could be started to talk to the compiler process".into(),
            ));
        };
        let err = err.unwrap_or_default();
        let why = err.trim();
        match waited {
            Waited::Exited(status) if status.success() => match code {
                Ok(Ok(Some(code))) => Ok(code),
                Ok(Ok(None)) => Err(CompileError::TooCostly(format!(
                    "its compiled code is larger than {} MiB",
                    MAX_ARTIFACT_BYTES >> 20
                ))),
                _ => Err(CompileError::ForNow(
                    "the compiler's answer could not be read".into(),
                )),
            },
            Waited::Exited(status) if status.code() == Some(INVALID.into()) => {
                Err(CompileError::Invalid(why.to_owned()))
            }
            Waited::Exited(status) if status.code() == Some(OUT_OF_MEMORY.into()) => {
                Err(self.out_of_memory())
            }
            Waited::Exited(status) if status.code() == Some(OUT_OF_SHAPE.into()) => {
                Err(CompileError::OutOfShape(why.to_owned()))
            }
            Waited::Exited(status) => Err(self.refused(status, why)),
            // Past its wall-clock time having spent at least half its CPU time: remembered
            // like a compile past its CPU time (tried again on every run, a component that
            // never finishes here would hold every tenant's compiles). Having spent less, the
            // machine starved it: tried again later (review).
            Waited::PastDeadline { cpu_seconds }
                if cpu_seconds.is_some_and(|s| s * 2 >= limits.cpu_seconds) =>
            {
                Err(CompileError::Failed(format!(
                    "compiling it took more than {} s of wall-clock time (three times \
                     FLOWHOST_COMPILE_CPU_SECONDS) and {} s of CPU",
                    limits.wall().as_secs(),
                    cpu_seconds.unwrap_or_default()
                )))
            }
            Waited::PastDeadline { .. } => Err(CompileError::ForNow(format!(
                "compiling it took more than {} s of wall-clock time on a machine too busy to \
                 give it the CPU",
                limits.wall().as_secs()
            ))),
            Waited::Lost(e) => Err(CompileError::ForNow(format!(
                "the compiler process was lost: {e}"
            ))),
        }
    }

    /// Why a child that ended otherwise than with an answer or a refusal did: the
    /// component's cost or the compiler's crash on it (remembered), or the machine's doing
    /// (a signal from outside, a child that could not set itself up: tried again).
    fn refused(&self, status: std::process::ExitStatus, why: &str) -> CompileError {
        use std::os::unix::process::ExitStatusExt;
        let last = why.lines().last().unwrap_or("").to_owned();
        match (status.code(), status.signal()) {
            (_, Some(SIGXCPU)) => CompileError::TooCostly(format!(
                "compiling it takes more than {} s of CPU, the limit (FLOWHOST_COMPILE_CPU_SECONDS)",
                self.limits.cpu_seconds
            )),
            // Rust's own report of an allocation that failed, before it aborts.
            (_, Some(SIGABRT)) if why.contains("memory allocation of") => self.out_of_memory(),
            (Some(PANICKED), _) | (_, Some(SIGSEGV | SIGABRT | SIGBUS | SIGILL)) => {
                CompileError::Failed(format!("the compiler failed on it ({status}): {last}"))
            }
            (_, Some(SIGKILL)) => CompileError::Killed(format!(
                "the compiler process was killed (by the kernel's out-of-memory killer, if \
                 this machine has less than FLOWHOST_COMPILE_MEMORY_MB = {} MiB free)",
                self.limits.memory_bytes >> 20
            )),
            _ => CompileError::ForNow(format!("the compiler process ended ({status}): {last}")),
        }
    }

    /// Remembered by this process only: a machine short of memory (strict overcommit, other
    /// work) fails the child's allocations as its own limit does (review).
    fn out_of_memory(&self) -> CompileError {
        CompileError::Failed(format!(
            "compiling it takes more than {} MiB of memory, the limit (FLOWHOST_COMPILE_MEMORY_MB)",
            self.limits.memory_bytes >> 20
        ))
    }
}

/// How waiting for a child ended.
enum Waited {
    Exited(std::process::ExitStatus),
    /// Killed at the deadline, having spent this much CPU time (when it could be read).
    PastDeadline {
        cpu_seconds: Option<u64>,
    },
    Lost(std::io::Error),
}

/// Waits for `child` until `deadline`, then kills it. Polled: a compile takes at least
/// milliseconds, and std has no wait with a timeout.
fn wait_until(child: &mut std::process::Child, deadline: Instant) -> Waited {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Waited::Exited(status),
            Ok(None) if Instant::now() >= deadline => {
                let cpu_seconds = cpu_seconds_of(child.id());
                let _ = child.kill();
                let _ = child.wait();
                return Waited::PastDeadline { cpu_seconds };
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Waited::Lost(e);
            }
        }
    }
}

/// The CPU time process `pid` has spent, all its threads together: `utime` and `stime` of
/// `/proc/<pid>/stat`, in the kernel's user-visible ticks (100 a second on Linux).
fn cpu_seconds_of(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: fields are counted after its `)`.
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100)
}

/// The compiling child: `args` are what follows [`CHILD_ARG`] (the CPU seconds and memory
/// bytes it may take, and the host's process id). Reads a component on stdin and writes its
/// artifact to stdout, or why it does not compile to stderr (exit status 3; 4 for want of
/// memory; 5 for a core module out of shape; any other for the machine's failure).
pub fn child_main(args: &[OsString]) -> ExitCode {
    let number = |i: usize| -> Option<u64> { args.get(i)?.to_str()?.parse().ok() };
    let (Some(cpu_seconds), Some(memory_bytes), Some(host)) = (number(0), number(1), number(2))
    else {
        let _ = writeln!(
            std::io::stderr(),
            "usage: flowhost {CHILD_ARG} CPU_SECONDS MEMORY_BYTES HOST_PID"
        );
        return ExitCode::from(2);
    };
    // A host killed mid-compile (SIGKILL, an OOM killer) takes its compile with it, rather
    // than leave it to burn its CPU time for nobody.
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    let parent = rustix::process::Pid::as_raw(rustix::process::getppid());
    if u64::try_from(parent).ok() != Some(host) {
        return ExitCode::from(2);
    }
    // The first the kernel's OOM killer takes, before the host and its runs: a compile is
    // tried again, a killed host loses every tenant's steps in flight (hostile-step review).
    // Best effort: a kernel without the file leaves the default.
    let _ = std::fs::write("/proc/self/oom_score_adj", "1000");
    if let Err(e) = limit_self(cpu_seconds, memory_bytes) {
        let _ = writeln!(std::io::stderr(), "cannot limit the compiler process: {e}");
        return ExitCode::from(2);
    }
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
        let _ = writeln!(std::io::stderr(), "cannot read the component: {e}");
        return ExitCode::from(2);
    }
    // Here, under the limits, not in the host: reading the author's types is recursive in
    // wasmparser, and a component of instance types nested a million deep overflowed the
    // host's stack before any compile (round 30 hostile-step review).
    if let Err(why) = super::module_shape::check(&bytes) {
        let _ = writeln!(std::io::stderr(), "{why}");
        return ExitCode::from(OUT_OF_SHAPE);
    }
    let engine = match super::engine::compiling_engine() {
        Ok(engine) => engine,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "cannot build the engine: {e:#}");
            return ExitCode::from(2);
        }
    };
    match engine.precompile_component(&bytes) {
        Ok(code) => match std::io::stdout().lock().write_all(&code) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "cannot write the artifact: {e}");
                ExitCode::from(2)
            }
        },
        Err(e) => {
            let why = format!("{e:#}");
            let _ = writeln!(std::io::stderr(), "{why}");
            // ENOMEM from a mapping the compiler asked for, past the data limit.
            if why.contains("Cannot allocate memory") {
                ExitCode::from(OUT_OF_MEMORY)
            } else {
                ExitCode::from(INVALID)
            }
        }
    }
}

/// Limits this process's CPU time (SIGXCPU at the limit, SIGKILL a second later) and data,
/// and lowers its priority below the runs of the host that started it.
fn limit_self(cpu_seconds: u64, memory_bytes: u64) -> std::io::Result<()> {
    use rustix::process::{
        DumpableBehavior, Resource, Rlimit, getrlimit, set_dumpable_behavior, setpriority_process,
        setrlimit,
    };
    // Within what the host itself may have (systemd's `LimitCPU=`, `ulimit -H`): a lower
    // limit stands, it is not an error.
    let within = |resource: Resource, wanted: u64| {
        let most = getrlimit(resource).maximum.unwrap_or(u64::MAX);
        Rlimit {
            current: Some(wanted.min(most)),
            maximum: Some(wanted.saturating_add(1).min(most)),
        }
    };
    setrlimit(Resource::Cpu, within(Resource::Cpu, cpu_seconds))?;
    setrlimit(Resource::Data, within(Resource::Data, memory_bytes))?;
    // A compile ended at its limit leaves no core file of gigabytes behind.
    setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )?;
    let _ = set_dumpable_behavior(DumpableBehavior::NotDumpable);
    // Best effort: a host may already run at the lowest priority.
    let _ = setpriority_process(None, 10);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CPU time a compile spent is read when its wall-clock time is up: it tells a
    /// component too costly from a machine too busy.
    #[test]
    fn a_processs_cpu_time_is_read_from_its_stat() {
        let spent = cpu_seconds_of(std::process::id()).expect("this process's stat reads");
        let start = Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(1_100) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let now = cpu_seconds_of(std::process::id()).expect("reads again");
        assert!(now > spent, "{spent} then {now}");
        assert_eq!(cpu_seconds_of(u32::MAX), None, "no such process");
    }

    /// A child killed from outside is told apart from one that ended otherwise for the
    /// machine's reasons: the runtime fails its component at a second kill (round 30
    /// hostile-step review: an out-of-memory killer's SIGKILL was "for now", compiled again
    /// at every resume without end).
    #[test]
    fn a_killed_compile_is_told_apart_from_a_terminated_one() {
        use std::os::unix::process::ExitStatusExt;
        let children = Children {
            program: PathBuf::from("flowhost"),
            limits: CompileLimits {
                cpu_seconds: 120,
                memory_bytes: 4096 << 20,
            },
        };
        let killed = children.refused(std::process::ExitStatus::from_raw(SIGKILL), "");
        assert!(
            matches!(&killed, CompileError::Killed(why) if why.contains("4096 MiB")),
            "{killed:?}"
        );
        let terminated = children.refused(std::process::ExitStatus::from_raw(15), "");
        assert!(
            matches!(terminated, CompileError::ForNow(_)),
            "{terminated:?}"
        );
    }
}
