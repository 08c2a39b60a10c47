//! `flowhost serve`: the long-running host. The loop is the library's
//! [`flowhost::workflow::scheduler::Scheduler`]; this file configures it (engine, poll, once,
//! concurrency, signals) and prints what it reports.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::Ordering;

use flowhost::runs::RunStatus;
use flowhost::server::{self, AppState};
use flowhost::store::Location;
use flowhost::wasm::EngineSettings;
use flowhost::workflow::engine::Engine;
use flowhost::workflow::scheduler::{Notice, Scheduler, SchedulerOptions};

use super::args::StepDirs;
use super::database::Database;
use super::run::engine_with;

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    steps: StepDirs,
    /// How often to look for new events, in milliseconds (1 to 60,000: 0 kept a core busy
    /// querying the database).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    poll_ms: u64,
    /// Resume and dispatch what is pending, wait for those runs, then exit.
    #[arg(long)]
    once: bool,
    /// How many runs may be in flight at once (default: the number of CPUs, at least 8); with
    /// several organizations, one organization's runs hold at most three quarters of them.
    #[arg(long)]
    concurrency: Option<usize>,
    /// Also serve the HTTP API and web pages on this address (loopback unless told otherwise;
    /// TLS is the reverse proxy's job).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8080")]
    http: Option<SocketAddr>,
    /// The URL people reach the server at (through its TLS proxy), e.g.
    /// https://flowhost.example.com: sign-in through an IdP redirects back to
    /// URL/signin/oidc/callback/WORKSPACE/IDP. Default: the address it listens on, if loopback.
    #[arg(long, value_name = "URL", requires = "http")]
    public_url: Option<String>,
}

/// The fewest runs in flight by default: a run mostly waits (on the database, a sleep, a step
/// that waits on a clock), and one organization may hold three quarters of the workers, so
/// two CPUs' worth left one worker to a deployment of one organization.
const MIN_DEFAULT_CONCURRENCY: usize = 8;

pub fn run(db: &Database, args: ServeArgs) -> anyhow::Result<()> {
    let steps: Vec<PathBuf> = args.steps.dirs;
    let engine = Arc::new(engine_at(db, steps)?);
    let options = SchedulerOptions {
        poll: Duration::from_millis(args.poll_ms),
        once: args.once,
        concurrency: args.concurrency.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(2, std::num::NonZero::get)
                .max(MIN_DEFAULT_CONCURRENCY)
        }),
        stop_on_signals: true,
    };
    // Seen alive from its start; a failure now (a full disk) is tried again at the first run.
    if let Err(e) = engine.hold_lease() {
        eprintln!("flowhost serve: {e}; tried again at the first run");
    }
    let scheduler = Scheduler::new(engine.clone(), options, print);
    // Which database this host serves, as an operator of several needs to see it (no
    // password: `Location`'s display leaves it out).
    eprintln!("flowhost serve: {}", db.named());
    match args.http {
        None => scheduler.run()?,
        Some(addr) => serve_http(addr, args.public_url, engine, scheduler)?,
    }
    eprintln!("flowhost serve: stopped cleanly");
    Ok(())
}

/// The engine of `serve` over the database `--db` names.
fn engine_at(db: &Database, steps: Vec<PathBuf>) -> anyhow::Result<Engine> {
    if let Location::Postgres(_) = db.location() {
        // A bad heartbeat TTL (several hosts, issue 18) is refused before anything starts,
        // not at the first lease.
        flowhost::runs::lease::ttl_from_env()?;
    }
    let settings = EngineSettings {
        loaded_bytes: flowhost::wasm::loaded::bytes_from_env()?,
        ..EngineSettings::server()
    };
    engine_with(db, steps, &settings)
}

/// Why `url` is no `--public-url`, if it is not: the site is served at the root of a URL
/// (every link, form, cookie path and OIDC callback is built on it), so it is a scheme and a
/// host with an optional port, nothing more. A path, a query or user information was taken,
/// and every OIDC sign-in then failed naming nothing (round 23 web review).
fn public_url_refusal(url: &str) -> Option<&'static str> {
    let lower = url.to_ascii_lowercase();
    let Some(rest) = ["https://", "http://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme))
    else {
        return Some("must start with https:// (or http://)");
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() {
        return Some("names no host");
    }
    if authority.contains(['/', '?', '#']) {
        return Some("must be the site's root (`https://host[:port]`): no path, query or fragment");
    }
    if authority.contains('@') {
        return Some("must not hold user information (`@`)");
    }
    if authority
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Some("must not hold spaces or control characters");
    }
    let (host, port) = match authority.rsplit_once(':') {
        // An IPv6 host's colons are inside its brackets.
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (authority, None),
    };
    // A port alone (`https://:8443`) was taken, and every OIDC sign-in failed (round 24
    // bad-input review).
    if host.is_empty() {
        return Some("names no host");
    }
    if port.is_some_and(|p| !p.bytes().all(|b| b.is_ascii_digit()) || p.parse::<u16>().is_err()) {
        return Some("has a port that is not a number from 0 to 65535");
    }
    None
}

/// The scheduler and the HTTP server on one runtime; either stopping (a signal, `--once`)
/// stops both.
fn serve_http(
    addr: SocketAddr,
    public_url: Option<String>,
    engine: Arc<Engine>,
    scheduler: Scheduler,
) -> anyhow::Result<()> {
    if let Some(url) = &public_url {
        public_url_refusal(url).map_or(Ok(()), |why| {
            Err(anyhow::anyhow!(
                "--public-url `{}` {why}",
                url.escape_debug()
            ))
        })?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(flowhost::workflow::engine::RUN_THREAD_STACK)
        .build()?;
    // Let go after the runtime's work, outside it: on PostgreSQL the engine's last drop closes
    // the database client, which must not block a thread that drives the runtime.
    let _outlives = engine.clone();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        let bound = listener.local_addr()?;
        eprintln!("flowhost serve: http://{bound}/");
        let stop = engine.stop_flag();
        let deadline = flowhost::env_number::number_from_env(
            "FLOWHOST_REQUEST_DEADLINE_MS",
            flowhost::server::REQUEST_DEADLINE.as_millis() as u64,
            1..=3_600_000,
            "a number of milliseconds from 1 to 3600000",
        )?;
        let mut state = AppState::new(engine)
            .with_wake(scheduler.waker())
            .with_deadline(std::time::Duration::from_millis(deadline));
        // Without --public-url, only a loopback address is a URL people surely reach it at.
        match public_url {
            Some(url) => state = state.with_public_url(&url),
            None if bound.ip().is_loopback() => {
                state = state.with_public_url(&format!("http://{bound}"));
            }
            None => {}
        }
        let http = tokio::spawn(server::serve(listener, state, stop.clone()));
        let scheduled = scheduler.serve().await;
        // The scheduler stopped: so does the server (it may have stopped first on an error).
        stop.store(true, Ordering::SeqCst);
        http.await??;
        scheduled
    })
}

/// One line on stderr for each thing the scheduler reports.
fn print(notice: Notice<'_>) {
    match notice {
        Notice::Finished {
            kind,
            outcome: Ok(o),
            ..
        } => match (o.status, &o.error) {
            // Stopped by the infrastructure (SPEC WF-11): the reason, and that it is retried.
            (RunStatus::Running, Some(why)) => {
                eprintln!(
                    "{kind} run {}: {}; tried again later",
                    o.run_id,
                    super::output::block(why)
                );
            }
            (RunStatus::Running, None) => eprintln!(
                "{kind} run {}: stopped at a step boundary; resumes on the next start",
                o.run_id
            ),
            (status, _) => eprintln!("{kind} run {}: {}", o.run_id, status.as_str()),
        },
        Notice::Finished {
            kind,
            run,
            outcome: Err(e),
        } => eprintln!(
            "error: {kind} run {run}: {}",
            super::output::block(&e.to_string())
        ),
        Notice::WorkerFailed(e) => eprintln!("error: a run's worker failed: {e}"),
        Notice::ClaimFailed(e) => eprintln!("error: claiming work: {e:#}"),
        Notice::Pruned(pruned) => eprintln!("flowhost serve: pruned expired rows: {pruned}"),
        Notice::ListenFailed(e) => {
            eprintln!("error: listening for other hosts' work: {e}; polling meanwhile");
        }
        Notice::HousekeepingFailed(e) => {
            eprintln!("error: housekeeping (deleting expired rows): {e}; tried again later");
        }
        Notice::Stopping { in_flight } => eprintln!(
            "flowhost serve: stopping; {in_flight} run(s) finish their current step and stop there"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::public_url_refusal;

    #[test]
    fn a_public_url_is_a_scheme_and_a_host_with_an_optional_port() {
        for ok in [
            "https://flowhost.example",
            "https://flowhost.example/",
            "HTTPS://Flowhost.Example:8443",
            "http://127.0.0.1:8080",
            "https://[::1]:8443/",
        ] {
            assert_eq!(public_url_refusal(ok), None, "{ok}");
        }
        for bad in [
            "flowhost.example",
            "https://",
            "https://corp.example/flowhost",
            "https://x.example/?a=1",
            "https://x.example#f",
            "https://u:p@x.example",
            "https://x.example:port",
            "https://x.example: 1",
            "https://x.example:",
            "https://x.example:99999",
            "https://:8443",
            "https://:8443/",
        ] {
            assert!(public_url_refusal(bad).is_some(), "{bad}");
        }
    }
}
