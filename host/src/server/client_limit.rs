//! Per-client limits on the anonymous requests that create rows or check a secret (signing
//! in with a link, starting and finishing an OIDC sign-in): a token bucket per client
//! address, in memory. Without it one client could fill a workspace's 1,000 pending OIDC
//! logins (blocking OIDC sign-in there for 10 minutes) or keep the write lock busy with link
//! redemptions.
//!
//! The client is the TCP peer's address, never a header it writes (`X-Forwarded-For`):
//! behind a reverse proxy every client shares the proxy's address, hence one bucket (the
//! README says to limit per client at the proxy then). IPv6 clients count by their /64, which
//! one host usually holds whole. The memory is bounded: at most [`MAX_CLIENTS`] addresses
//! are tracked; an idle one (its bucket full again, so forgetting it loses nothing) is
//! evicted first, and while every tracked one is active, new addresses share one bucket.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// A client earns one attempt every this long. Signing in takes one request (a link) or two
/// (an OIDC start and its callback), a few times a day; at one every 3 s, one address can
/// hold at most [`BURST`] + 600 s / 3 s = 230 of a workspace's 1,000 pending OIDC logins
/// (they live 10 minutes), so filling the cap takes several addresses, and it can redeem at
/// most 20 links a minute (each a write transaction).
pub const REFILL_EVERY: Duration = Duration::from_secs(3);

/// Attempts a client may make at once: an office behind one NAT address signing in at the
/// start of the day, or a person retrying, is not held up.
pub const BURST: u32 = 30;

/// The most client addresses tracked at once (~100 bytes each, so at most ~1 MB).
pub const MAX_CLIENTS: usize = 10_000;

/// How often idle clients are swept out when the table is not full.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// How often a full table may be swept (a sweep reads every entry).
const FULL_SWEEP_EVERY: Duration = Duration::from_secs(1);

/// A limiter's settings.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub burst: u32,
    pub refill_every: Duration,
    pub max_clients: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            burst: BURST,
            refill_every: REFILL_EVERY,
            max_clients: MAX_CLIENTS,
        }
    }
}

/// Who a request counts against: an IPv4 address, or an IPv6 address's /64 (an IPv4-mapped
/// IPv6 address counts as its IPv4 address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Client(IpAddr);

impl Client {
    /// The client a peer address counts as.
    pub fn of(ip: IpAddr) -> Client {
        match ip {
            IpAddr::V4(v4) => Client(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Client(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Client(IpAddr::V6(prefix.into()))
                }
            },
        }
    }
}

/// One client's bucket: `tokens` as of `at`.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(limits: &Limits, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(limits.burst),
            at: now,
        }
    }

    /// Tokens as of `now` (refilled, capped at the burst).
    fn refilled(&self, limits: &Limits, now: Instant) -> f64 {
        let earned = now.saturating_duration_since(self.at).as_secs_f64()
            / limits.refill_every.as_secs_f64();
        (self.tokens + earned).min(f64::from(limits.burst))
    }

    /// Spends one attempt, or says how long until one is earned.
    fn take(&mut self, limits: &Limits, now: Instant) -> Result<(), Duration> {
        let tokens = self.refilled(limits, now);
        if tokens >= 1.0 {
            self.tokens = tokens - 1.0;
            self.at = now;
            Ok(())
        } else {
            Err(limits.refill_every.mul_f64(1.0 - tokens))
        }
    }

    /// Whether it is full again: a fresh bucket would be the same.
    fn idle(&self, limits: &Limits, now: Instant) -> bool {
        self.refilled(limits, now) >= f64::from(limits.burst)
    }
}

struct Table {
    clients: HashMap<Client, Bucket>,
    /// Shared by new clients while every tracked one is active.
    overflow: Bucket,
    swept: Instant,
}

/// Token buckets per client address (see the module's documentation).
pub struct ClientLimiter {
    limits: Limits,
    table: Mutex<Table>,
}

impl Default for ClientLimiter {
    fn default() -> Self {
        ClientLimiter::new(Limits::default())
    }
}

impl ClientLimiter {
    /// A limiter with `limits`.
    pub fn new(limits: Limits) -> ClientLimiter {
        let now = Instant::now();
        ClientLimiter {
            limits,
            table: Mutex::new(Table {
                clients: HashMap::new(),
                overflow: Bucket::full(&limits, now),
                swept: now,
            }),
        }
    }

    /// Spends one of `client`'s attempts at `now`; `Err` with how long until the next one
    /// when it has none left.
    pub fn check(&self, client: Client, now: Instant) -> Result<(), Duration> {
        let limits = &self.limits;
        let mut table = self.table.lock();
        let since_sweep = now.saturating_duration_since(table.swept);
        let full = table.clients.len() >= limits.max_clients;
        if since_sweep >= SWEEP_EVERY || (full && since_sweep >= FULL_SWEEP_EVERY) {
            table.clients.retain(|_, bucket| !bucket.idle(limits, now));
            table.swept = now;
        }
        if let Some(bucket) = table.clients.get_mut(&client) {
            return bucket.take(limits, now);
        }
        if table.clients.len() >= limits.max_clients {
            return table.overflow.take(limits, now);
        }
        let mut bucket = Bucket::full(limits, now);
        let taken = bucket.take(limits, now);
        table.clients.insert(client, bucket);
        taken
    }

    /// How many client addresses are tracked.
    pub fn tracked(&self) -> usize {
        self.table.lock().clients.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(ip: &str) -> Client {
        Client::of(ip.parse().expect("ip"))
    }

    fn small() -> ClientLimiter {
        ClientLimiter::new(Limits {
            burst: 3,
            refill_every: Duration::from_secs(10),
            max_clients: 2,
        })
    }

    #[test]
    fn a_client_over_its_burst_is_refused_until_it_earns_an_attempt() {
        let limiter = small();
        let t0 = Instant::now();
        let a = client("192.0.2.1");
        for _ in 0..3 {
            assert_eq!(limiter.check(a, t0), Ok(()));
        }
        assert_eq!(limiter.check(a, t0), Err(Duration::from_secs(10)));
        let later = t0 + Duration::from_secs(4);
        let wait = limiter.check(a, later).expect_err("still none");
        assert!((wait.as_secs_f64() - 6.0).abs() < 1e-6, "{wait:?}");
        let earned = t0 + Duration::from_secs(10);
        assert_eq!(limiter.check(a, earned), Ok(()));
        assert!(limiter.check(a, earned).is_err());
    }

    #[test]
    fn another_address_keeps_its_own_attempts() {
        let limiter = small();
        let t0 = Instant::now();
        let (a, b) = (client("192.0.2.1"), client("192.0.2.2"));
        for _ in 0..3 {
            limiter.check(a, t0).expect("within the burst");
        }
        assert!(limiter.check(a, t0).is_err());
        for _ in 0..3 {
            assert_eq!(limiter.check(b, t0), Ok(()));
        }
    }

    #[test]
    fn an_ipv6_client_counts_by_its_64_and_a_mapped_ipv4_as_itself() {
        assert_eq!(client("2001:db8:1:2::1"), client("2001:db8:1:2:ffff::9"));
        assert_ne!(client("2001:db8:1:2::1"), client("2001:db8:1:3::1"));
        assert_eq!(client("::ffff:192.0.2.1"), client("192.0.2.1"));
    }

    #[test]
    fn the_table_is_capped_idle_clients_evicted_and_new_ones_share_a_bucket_meanwhile() {
        let limiter = small();
        let t0 = Instant::now();
        let (a, b, c, d) = (
            client("192.0.2.1"),
            client("192.0.2.2"),
            client("192.0.2.3"),
            client("192.0.2.4"),
        );
        limiter.check(a, t0).expect("a");
        limiter.check(b, t0).expect("b");
        assert_eq!(limiter.tracked(), 2);
        // Full, both active: new clients share one bucket of the same size.
        for _ in 0..3 {
            limiter.check(c, t0).expect("overflow");
        }
        assert!(limiter.check(d, t0).is_err(), "the shared bucket is spent");
        assert_eq!(limiter.tracked(), 2);
        // `a` and `b` are full again (idle) after 10 s: swept out, so `c` is tracked alone.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(limiter.check(c, later), Ok(()));
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn idle_clients_are_forgotten_within_a_sweep_interval() {
        let limiter = ClientLimiter::default();
        let t0 = Instant::now();
        for i in 0..100u8 {
            limiter
                .check(client(&format!("198.51.100.{i}")), t0)
                .expect("one attempt");
        }
        assert_eq!(limiter.tracked(), 100);
        // Each spent one attempt, earned back within REFILL_EVERY; the next sweep forgets them.
        let later = t0 + SWEEP_EVERY;
        limiter.check(client("203.0.113.1"), later).expect("new");
        assert_eq!(limiter.tracked(), 1);
    }
}
