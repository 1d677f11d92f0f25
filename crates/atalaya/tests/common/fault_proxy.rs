//! A fault-injecting TCP proxy of the tests' own, standing in for `netem` (the kernel here has
//! none). One listening port per node: a node's roster endpoint points at its port, and every
//! connection to it is forwarded to the node's real address, through the faults below.
//!
//! What it models, per direction of each TCP connection:
//! - **Latency and jitter**: every chunk read is delivered `latency ± jitter` later (uniform),
//!   but never before the chunk ahead of it: a TCP stream stays in order, so jitter shows as
//!   bunching, not reordering. The latency is one way: a request and its reply pay it twice.
//! - **Loss**: with probability `loss` a chunk is held back for a retransmission timeout of
//!   200–1000 ms on top of its latency, and everything behind it waits (head-of-line blocking),
//!   which is what a lost segment looks like to the application above TCP. The kernel's TCP
//!   on each side of the proxy never loses anything itself.
//! - **Resets**: a fraction `reset` of connections is reset (RST, `SO_LINGER` 0 on both sides)
//!   within 4 chunks of its first chunk under the faults, often with a request sent and its
//!   reply not yet back, so the sender cannot know whether the peer processed it.
//!
//! Not modelled: the TCP handshake is answered by the proxy at once (connection set-up pays no
//! latency), and bandwidth is unlimited.
//!
//! Randomness comes from a seeded generator; the seed is printed so a run can be replayed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::time::Instant;

/// The faults applied to every connection through the proxy.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// One-way delay of every chunk.
    pub latency: Duration,
    /// The delay varies uniformly within `latency ± jitter`.
    pub jitter: Duration,
    /// Probability that a chunk is "lost" and arrives after a retransmission timeout.
    pub loss: f64,
    /// Probability that a connection is reset early in its life.
    pub reset: f64,
}

/// Retransmission timeouts a lost chunk waits for (Linux's minimum RTO is 200 ms).
const RTO_MIN: Duration = Duration::from_millis(200);
const RTO_MAX: Duration = Duration::from_millis(1000);
const CHUNK: usize = 16 * 1024;

/// What the proxy did, to show that the faults were really exercised.
#[derive(Debug, Default)]
pub struct ProxyStats {
    pub connections: AtomicU64,
    pub chunks: AtomicU64,
    pub held_back: AtomicU64,
    pub resets: AtomicU64,
}

impl ProxyStats {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "connections": self.connections.load(Ordering::Relaxed),
            "chunks": self.chunks.load(Ordering::Relaxed),
            "chunks_held_back_as_lost": self.held_back.load(Ordering::Relaxed),
            "connections_reset": self.resets.load(Ordering::Relaxed),
        })
    }
}

struct Shaper {
    faults: Mutex<Faults>,
    rng: Mutex<super::TestRng>,
    stats: ProxyStats,
}

impl Shaper {
    /// A uniform draw in [0, 1).
    fn uniform(&self) -> f64 {
        use rand_core::RngCore;
        (self.rng.lock().unwrap().next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// How long the next chunk travels.
    fn delay(&self) -> Duration {
        let f = *self.faults.lock().unwrap();
        let jitter = f.jitter.as_secs_f64() * (2.0 * self.uniform() - 1.0);
        let mut secs = (f.latency.as_secs_f64() + jitter).max(0.0);
        if f.loss > 0.0 && self.uniform() < f.loss {
            self.stats.held_back.fetch_add(1, Ordering::Relaxed);
            secs += RTO_MIN.as_secs_f64() + (RTO_MAX - RTO_MIN).as_secs_f64() * self.uniform();
        }
        self.stats.chunks.fetch_add(1, Ordering::Relaxed);
        Duration::from_secs_f64(secs)
    }

    /// Count a chunk of a connection; true when the connection must be reset now. Whether a
    /// connection is one of the unlucky is drawn at its first chunk while resets are on, so
    /// connections opened before the faults were set (kept alive in the nodes' pools) are not
    /// spared.
    fn resets_at_chunk(&self, fate: &Fate) -> bool {
        let seen = fate.chunks.fetch_add(1, Ordering::Relaxed) + 1;
        let mut at = fate.reset_at.load(Ordering::Relaxed);
        if at == UNDECIDED {
            let p = self.faults.lock().unwrap().reset;
            if p > 0.0 {
                let drawn = if self.uniform() < p {
                    seen + (self.uniform() * 4.0) as u32
                } else {
                    SPARED
                };
                at = match fate.reset_at.compare_exchange(
                    UNDECIDED,
                    drawn,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => drawn,
                    Err(decided) => decided,
                };
            }
        }
        at != UNDECIDED && at != SPARED && seen >= at
    }
}

const UNDECIDED: u32 = 0;
const SPARED: u32 = u32::MAX;

/// One connection's chunks so far, and at which chunk it is reset (if it is).
#[derive(Default)]
struct Fate {
    chunks: AtomicU32,
    reset_at: AtomicU32,
}

/// The proxy: its own runtime, stopped (every connection dropped) when it is dropped.
pub struct FaultProxy {
    runtime: Option<tokio::runtime::Runtime>,
    shaper: Arc<Shaper>,
    pub seed: u64,
}

impl FaultProxy {
    /// A proxy without faults yet; `seed` drives every random choice.
    pub fn new(seed: u64) -> FaultProxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        FaultProxy {
            runtime: Some(runtime),
            shaper: Arc::new(Shaper {
                faults: Mutex::new(Faults::default()),
                rng: Mutex::new(super::TestRng(seed)),
                stats: ProxyStats::default(),
            }),
            seed,
        }
    }

    /// Change the faults; connections already open feel them from their next chunk.
    pub fn set_faults(&self, faults: Faults) {
        *self.shaper.faults.lock().unwrap() = faults;
    }

    pub fn stats(&self) -> &ProxyStats {
        &self.shaper.stats
    }

    /// Listen on `listen_ip` (a port of the kernel's choosing, kept for the proxy's life) and
    /// forward every connection to `target`. Returns the address to give peers.
    pub fn forward_to(&self, listen_ip: std::net::Ipv4Addr, target: SocketAddr) -> SocketAddr {
        let listener = std::net::TcpListener::bind((listen_ip, 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let shaper = Arc::clone(&self.shaper);
        let runtime = self.runtime.as_ref().unwrap();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(relay(client, target, Arc::clone(&shaper)));
            }
        });
        addr
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// One proxied connection: both directions shaped, reset if it is one of the unlucky.
async fn relay(mut client: TcpStream, target: SocketAddr, shaper: Arc<Shaper>) {
    // The node is down or unreachable: the client sees its connection closed.
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    shaper.stats.connections.fetch_add(1, Ordering::Relaxed);
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let fate = Fate::default();
    let trip = tokio::sync::Notify::new();
    let tripped = {
        // Borrowed halves: dropping them does not shut the socket down (owned halves would
        // send FIN), so a reset below really is a RST.
        let (client_read, client_write) = client.split();
        let (server_read, server_write) = server.split();
        let both = async {
            tokio::join!(
                direction(client_read, server_write, &shaper, &fate, &trip),
                direction(server_read, client_write, &shaper, &fate, &trip),
            )
        };
        tokio::select! {
            _ = both => false,
            () = trip.notified() => true,
        }
    };
    if tripped {
        // Closing a socket with a zero linger sends RST instead of FIN.
        let _ = client.set_zero_linger();
        let _ = server.set_zero_linger();
        shaper.stats.resets.fetch_add(1, Ordering::Relaxed);
    }
}

/// Copy one direction, each chunk delivered at its own time but in order.
async fn direction(
    mut from: ReadHalf<'_>,
    mut to: WriteHalf<'_>,
    shaper: &Shaper,
    fate: &Fate,
    trip: &tokio::sync::Notify,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Option<Vec<u8>>)>();
    let read = async move {
        let mut buf = vec![0u8; CHUNK];
        let mut last = Instant::now();
        loop {
            let n = from.read(&mut buf).await.unwrap_or(0);
            let at = (Instant::now() + shaper.delay()).max(last);
            last = at;
            if n == 0 {
                let _ = tx.send((at, None));
                return;
            }
            if shaper.resets_at_chunk(fate) {
                trip.notify_one();
            }
            if tx.send((at, Some(buf[..n].to_vec()))).is_err() {
                return;
            }
        }
    };
    let write = async move {
        while let Some((at, chunk)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            match chunk {
                Some(bytes) => {
                    if to.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                None => {
                    let _ = to.shutdown().await;
                    return;
                }
            }
        }
    };
    tokio::join!(read, write);
}
