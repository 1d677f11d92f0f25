//! Rate limits: one mechanism for the console's logins, the public report form and the API.
//!
//! Each [`Limit`] is a keyed GCRA limiter of the [`governor`] crate (a burst of `events`, then
//! one more every `window / events`) on the node's injected clock. Keys — a client address, an
//! account, a member state — are hashed with a per-process random SipHash key into a fixed
//! number of buckets, so memory is bounded however many distinct keys an attacker sprays, and a
//! hold is never reset to make room: a new key can at worst share a bucket (and its limit)
//! with another, chosen by nobody. Buckets whose state is back to "fresh" are dropped as they
//! are met; dropping them changes no decision.
//!
//! [`Limit::peek`] asks whether one more event would pass without counting it (a login is held
//! by its earlier failures, and only a failure counts); [`Limit::forget`] clears a key (a
//! correct password clears the account's failures, as it always did).
//!
//! Client addresses come from [`ClientAddresses`]: the TCP peer, or, when the peer is one of the
//! configured `trusted_proxies`, the nearest untrusted address of `X-Forwarded-For`. An IPv6
//! client is limited by its /64, the smallest block one subscriber is given.

use std::cell::Cell;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atalaya_core::clock::Clock;
use atalaya_node::accounts::{ConsoleSettings, LoginGuard};
use axum::http::HeaderMap;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::{Quota, RateLimiter};

/// Buckets of one limiter: the most keys it keeps (each a few dozen bytes).
const BUCKETS: u64 = 1 << 18;

/// Fresh buckets are swept at most this often.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The node's clock as governor reads it: time since the Unix epoch.
#[derive(Clone)]
struct NodeClock(Arc<dyn Clock>);

impl governor::clock::Clock for NodeClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.0.now().unix_millis()).unwrap_or(0))
    }
}

thread_local! {
    /// Set while [`Limit::peek`] asks the limiter: the decision is made, the state left alone.
    static DRY_RUN: Cell<bool> = const { Cell::new(false) };
}

/// Theoretical arrival times by bucket (governor's GCRA state), bounded by [`BUCKETS`].
#[derive(Clone)]
struct Buckets(Arc<Mutex<Table>>);

struct Table {
    tat: HashMap<u64, u64>,
    /// Governor's time (nanoseconds since the limiter began) of the last sweep.
    swept: u64,
}

impl StateStore for Buckets {
    type Key = u64;

    fn measure_and_replace<T, F, E>(&self, key: &u64, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let mut table = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (outcome, tat) = f(table.tat.get(key).copied().map(Nanos::new))?;
        if !DRY_RUN.get() {
            table.tat.insert(*key, tat.as_u64());
        }
        Ok(outcome)
    }
}

impl Buckets {
    /// Drop buckets whose arrival time has passed: they decide exactly as an absent one.
    fn sweep(&self, now: u64) {
        let mut table = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if now.saturating_sub(table.swept) < SWEEP_EVERY.as_nanos() as u64 {
            return;
        }
        table.swept = now;
        table.tat.retain(|_, tat| *tat > now);
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).tat.len()
    }
}

/// A keyed rate limit: `events` per `window`, as a burst that refills steadily.
pub struct Limit {
    limiter: RateLimiter<u64, Buckets, NodeClock, NoOpMiddleware<Duration>>,
    buckets: Buckets,
    hasher: std::hash::RandomState,
    clock: Arc<dyn Clock>,
    began: Duration,
}

impl std::fmt::Debug for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limit")
            .field("keys", &self.buckets.len())
            .finish()
    }
}

impl Limit {
    /// At most `events` (at least 1) per `window` (at least 1 ms) for each key.
    pub fn new(events: u32, window: Duration, clock: Arc<dyn Clock>) -> Self {
        let events = NonZeroU32::new(events.max(1)).unwrap_or(NonZeroU32::MIN);
        let window = window.max(Duration::from_millis(1));
        let period = (window / events.get()).max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(events);
        let node_clock = NodeClock(clock.clone());
        let began = governor::clock::Clock::now(&node_clock);
        let buckets = Buckets(Arc::new(Mutex::new(Table {
            tat: HashMap::new(),
            swept: 0,
        })));
        Self {
            limiter: RateLimiter::new(quota, buckets.clone(), node_clock),
            buckets,
            hasher: std::hash::RandomState::new(),
            clock,
            began,
        }
    }

    fn bucket(&self, key: &str) -> u64 {
        self.hasher.hash_one(key) % BUCKETS
    }

    fn wait(&self, not_until: &governor::NotUntil<Duration>) -> Duration {
        let now = Duration::from_millis(u64::try_from(self.clock.now().unix_millis()).unwrap_or(0));
        not_until.wait_time_from(now)
    }

    /// Count one event for `key`: `Err(wait)` (and not counted) when over the limit.
    pub fn hit(&self, key: &str) -> Result<(), Duration> {
        let now = Duration::from_millis(u64::try_from(self.clock.now().unix_millis()).unwrap_or(0));
        self.buckets
            .sweep(now.saturating_sub(self.began).as_nanos() as u64);
        self.limiter
            .check_key(&self.bucket(key))
            .map_err(|n| self.wait(&n))
    }

    /// Whether one more event for `key` would pass, without counting it.
    pub fn peek(&self, key: &str) -> Result<(), Duration> {
        DRY_RUN.set(true);
        let decision = self.limiter.check_key(&self.bucket(key));
        DRY_RUN.set(false);
        decision.map_err(|n| self.wait(&n))
    }

    /// Forget `key`'s events.
    pub fn forget(&self, key: &str) {
        let bucket = self.bucket(key);
        self.buckets
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .tat
            .remove(&bucket);
    }

    /// Buckets held now (for tests and metrics).
    pub fn keys(&self) -> usize {
        self.buckets.len()
    }
}

/// The console's login holds ([`LoginGuard`] of the account service): failed logins per
/// account and per client address within the configured window.
#[derive(Debug)]
pub struct LoginLimits {
    /// Failed logins per account (a correct password clears them).
    by_account: Limit,
    /// Failed logins per client address.
    by_address: Limit,
}

impl LoginLimits {
    /// The holds the console settings ask for.
    pub fn new(settings: &ConsoleSettings, clock: Arc<dyn Clock>) -> Self {
        let window = Duration::from_secs(u64::from(settings.failure_window_minutes.max(1)) * 60);
        Self {
            by_account: Limit::new(settings.max_failures_per_account, window, clock.clone()),
            by_address: Limit::new(settings.max_failures_per_address, window, clock),
        }
    }
}

/// The key a client address is held by (an IPv6 client by its /64).
fn limited_as(address: &str) -> String {
    address
        .parse()
        .map_or_else(|_| address.to_owned(), address_key)
}

impl LoginGuard for LoginLimits {
    fn held(&self, username: &str, address: &str) -> Option<Duration> {
        [
            self.by_account.peek(username),
            self.by_address.peek(&limited_as(address)),
        ]
        .into_iter()
        .filter_map(Result::err)
        .max()
    }

    fn failed(&self, username: &str, address: &str) {
        // Over the limit, a failure is not counted again: the hold runs its course.
        let _ = self.by_account.hit(username);
        let _ = self.by_address.hit(&limited_as(address));
    }

    fn passed(&self, username: &str) {
        self.by_account.forget(username);
    }
}

/// Where requests come from: the TCP peer, or behind a trusted proxy, the client it names.
#[derive(Debug, Clone, Default)]
pub struct ClientAddresses {
    trusted: Vec<Cidr>,
}

impl ClientAddresses {
    /// Trust `X-Forwarded-For` from these proxies (addresses or CIDR blocks).
    pub fn new(trusted_proxies: &[String]) -> Result<Self, String> {
        let trusted = trusted_proxies
            .iter()
            .map(|s| Cidr::parse(s))
            .collect::<Result<_, _>>()?;
        Ok(Self { trusted })
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|c| c.contains(ip))
    }

    /// The client's address: the TCP peer unless it is a trusted proxy, in which case the
    /// rightmost address of `X-Forwarded-For` that is not itself a trusted proxy (the leftmost
    /// entries are the client's own word and can be anything). A malformed header is ignored.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer.ip());
        if !self.is_trusted(peer) {
            return peer;
        }
        let mut forwarded: Vec<IpAddr> = Vec::new();
        for value in headers.get_all("x-forwarded-for") {
            let Ok(text) = value.to_str() else {
                return peer;
            };
            for item in text.split(',') {
                match item.trim().parse::<IpAddr>() {
                    Ok(ip) => forwarded.push(canonical(ip)),
                    Err(_) => return peer,
                }
            }
        }
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !self.is_trusted(*ip))
            .unwrap_or(peer)
    }
}

/// The key a client address is limited by: IPv4 as is, IPv6 by its /64.
pub fn address_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let prefix = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{prefix}/64")
        }
    }
}

/// IPv4-mapped IPv6 addresses read as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// An address block.
#[derive(Debug, Clone, Copy)]
struct Cidr {
    net: IpAddr,
    len: u8,
}

impl Cidr {
    fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("trusted proxy {s:?} is not an address or a CIDR block");
        let (addr, len) = match s.trim().split_once('/') {
            Some((a, l)) => (a, Some(l.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let net = canonical(addr.parse::<IpAddr>().map_err(|_| bad())?);
        let max = if net.is_ipv4() { 32 } else { 128 };
        let len = len.unwrap_or(max);
        if len > max {
            return Err(bad());
        }
        Ok(Self { net, len })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atalaya_core::Timestamp;
    use atalaya_core::clock::FixedClock;

    fn clock() -> Arc<FixedClock> {
        Arc::new(FixedClock::new(
            Timestamp::from_unix_millis(1_800_000_000_000).unwrap(),
        ))
    }

    #[test]
    fn a_burst_then_one_per_period() {
        let c = clock();
        let limit = Limit::new(5, Duration::from_secs(15 * 60), c.clone());
        for _ in 0..5 {
            limit.hit("alice").unwrap();
        }
        let wait = limit.hit("alice").unwrap_err();
        assert!(
            wait <= Duration::from_secs(180) && wait > Duration::from_secs(170),
            "{wait:?}"
        );
        limit.hit("bob").unwrap();
        c.advance_millis(180_000);
        limit.hit("alice").unwrap();
        assert!(limit.hit("alice").is_err());
        c.advance_millis(15 * 60_000);
        for _ in 0..5 {
            limit.hit("alice").unwrap();
        }
    }

    #[test]
    fn peek_decides_without_counting_and_forget_clears() {
        let limit = Limit::new(2, Duration::from_secs(60), clock());
        for _ in 0..10 {
            limit.peek("k").unwrap();
        }
        limit.hit("k").unwrap();
        limit.hit("k").unwrap();
        assert!(limit.peek("k").is_err());
        assert!(limit.hit("k").is_err());
        limit.forget("k");
        limit.peek("k").unwrap();
        limit.hit("k").unwrap();
    }

    #[test]
    fn a_spray_of_keys_is_bounded_and_never_lifts_a_hold() {
        let c = clock();
        let limit = Limit::new(3, Duration::from_secs(3600), c.clone());
        for _ in 0..3 {
            limit.hit("victim-held").unwrap();
        }
        assert!(limit.hit("victim-held").is_err());
        for i in 0..400_000u32 {
            let _ = limit.hit(&format!("spray-{i}"));
        }
        assert!(limit.keys() as u64 <= BUCKETS, "{}", limit.keys());
        assert!(
            limit.peek("victim-held").is_err(),
            "the spray lifted the hold"
        );
        // Time passes: spent buckets are swept, the hold lifts on its own schedule only.
        c.advance_millis(3_600_000);
        limit.hit("someone").unwrap();
        assert!(
            limit.keys() < 10,
            "fresh buckets were not swept: {}",
            limit.keys()
        );
        limit.hit("victim-held").unwrap();
    }

    #[test]
    fn client_address_behind_trusted_proxies() {
        let peer: SocketAddr = "10.0.0.5:4000".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "1.2.3.4, 203.0.113.9, 10.0.0.7".parse().unwrap(),
        );
        let none = ClientAddresses::default();
        assert_eq!(
            none.client(peer, &h).to_string(),
            "10.0.0.5",
            "untrusted peer: no header"
        );
        let proxies = ClientAddresses::new(&["10.0.0.0/8".into()]).unwrap();
        assert_eq!(proxies.client(peer, &h).to_string(), "203.0.113.9");
        h.insert("x-forwarded-for", "not an address".parse().unwrap());
        assert_eq!(proxies.client(peer, &h).to_string(), "10.0.0.5");
        h.remove("x-forwarded-for");
        assert_eq!(proxies.client(peer, &h).to_string(), "10.0.0.5");
        assert!(ClientAddresses::new(&["10.0.0.0/33".into()]).is_err());
        assert!(ClientAddresses::new(&["proxy.example".into()]).is_err());
        let mapped: SocketAddr = "[::ffff:10.0.0.5]:1".parse().unwrap();
        h.insert("x-forwarded-for", "198.51.100.1".parse().unwrap());
        assert_eq!(proxies.client(mapped, &h).to_string(), "198.51.100.1");
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_eq!(
            address_key("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1"
        );
    }
}
