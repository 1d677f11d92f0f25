//! Ports for the processes the tests start, that no other test process can take.
//!
//! Why not bind `127.0.0.1:0`, read the port and release it? Because between the release and
//! the moment the node binds it, anything else may take it: under parallel nextest another
//! test's node or receiver did, and a test then talked to someone else's node (`401
//! invalid_token` for a token its own node had just issued). A node's port must be known before
//! it starts (it is its endpoint in the signed roster, and a node restarted after `kill -9` comes
//! back on the same port), so the port is *reserved* instead:
//!
//! - it lies below the kernel's ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`), so
//!   no `bind(0)` and no outgoing connection is ever given it by the kernel;
//! - it is claimed across processes by a lock file `<port>.lock` in `$TMPDIR/atalaya-test-ports`,
//!   created exclusively (written aside, then hard-linked into place, so it is never seen
//!   half-written) and holding the owner's pid and start time;
//! - the claim lasts the owner process's life (so a restart reuses the port); a claim whose
//!   owner is dead (or whose pid now belongs to another process) is reclaimed, under a
//!   `<port>.reclaim` guard file so that two processes reclaiming at once cannot both win.
//!   The Node browser tests (`tests/e2e/lib/net.mjs`, `reservePort`) follow the same scheme in
//!   the same directory, and remove their claims when they exit; a Rust test process cannot run
//!   code at exit, so its claims are reclaimed after it (and swept when the next one starts).
//!
//! `ATALAYA_TEST_PORTS_DIR` and `ATALAYA_TEST_PORTS_RANGE` (`LOW-HIGH`) override the directory
//! and the range, for the allocator's own tests.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many ports below the ephemeral range the allocator uses: plenty for a parallel suite
/// (claims of finished processes are reclaimed), and clear of the fixed ports of
/// `atalaya demo` (7400…) and `atalaya bench` (27400…) with the usual range (32768–60999).
const SPAN: u16 = 4_000;

/// One port, reserved for the life of this process.
pub fn reserve_port() -> u16 {
    reserve_ports(1)
}

/// `n` contiguous ports (the first is returned), reserved for the life of this process.
pub fn reserve_ports(n: u16) -> u16 {
    static SYSTEM: OnceLock<PortAllocator> = OnceLock::new();
    let allocator = SYSTEM.get_or_init(PortAllocator::system);
    allocator.reserve(n).unwrap_or_else(|| {
        panic!(
            "no block of {n} free ports left in {:?} (claims in {})",
            allocator.range,
            allocator.dir.display()
        )
    })
}

/// Claims of ports in `range`, in the lock files of `dir`.
pub struct PortAllocator {
    /// Where the lock files are.
    pub dir: PathBuf,
    /// The ports handed out (inclusive).
    pub range: (u16, u16),
}

impl PortAllocator {
    /// The allocator every test process shares: the span below the ephemeral range, claims in
    /// the system's temporary directory (unless overridden by the environment, see above).
    pub fn system() -> Self {
        let dir = std::env::var_os("ATALAYA_TEST_PORTS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("atalaya-test-ports"));
        let range = match std::env::var("ATALAYA_TEST_PORTS_RANGE") {
            Ok(r) => parse_range(&r)
                .unwrap_or_else(|| panic!("ATALAYA_TEST_PORTS_RANGE={r}: expected LOW-HIGH")),
            Err(_) => below_ephemeral(),
        };
        let allocator = Self::new(dir, range);
        allocator.sweep();
        allocator
    }

    /// Remove the claims of processes that are gone (a Rust test process cannot remove its own
    /// at exit), so the directory holds about as many claims as there are live test processes.
    fn sweep(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(port) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".lock"))
                .and_then(|p| p.parse::<u16>().ok())
            else {
                continue;
            };
            if let Ok(held) = std::fs::read_to_string(e.path())
                && !owner_alive(&held)
            {
                self.reclaim(port, &held);
            }
        }
    }

    /// Claims of ports `range` in `dir` (created if missing).
    pub fn new(dir: PathBuf, range: (u16, u16)) -> Self {
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        assert!(
            range.0 <= range.1 && range.0 > 0,
            "bad port range {range:?}"
        );
        Self { dir, range }
    }

    /// The first of `n` contiguous ports now claimed by this process and free to bind, or
    /// `None` when the range holds no such block.
    pub fn reserve(&self, n: u16) -> Option<u16> {
        let (low, high) = self.range;
        let len = u32::from(high - low) + 1;
        let n32 = u32::from(n.max(1));
        if n32 > len {
            return None;
        }
        // Start somewhere different in each process, so concurrent processes rarely contend.
        let seed = u64::from(std::process::id()).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::from(d.subsec_nanos()));
        let starts = len - n32 + 1;
        let first = (seed % u64::from(starts)) as u32;
        for k in 0..starts {
            let start = low + ((first + k) % starts) as u16;
            let mut claimed = Vec::new();
            for port in start..start + n.max(1) {
                if self.claim(port) {
                    claimed.push(port);
                } else {
                    break;
                }
            }
            if claimed.len() == usize::from(n.max(1)) {
                return Some(start);
            }
            for port in claimed {
                self.release(port);
            }
        }
        None
    }

    /// Claim `port` for this process: true if it is now ours and nothing listens on it.
    pub fn claim(&self, port: u16) -> bool {
        let lock = self.lock_path(port);
        for _ in 0..2 {
            if self.link_new(&lock, &owner_line()) {
                // A program outside this scheme may use the port: then it is no good to us.
                if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                    return true;
                }
                self.release(port);
                return false;
            }
            // Held: by a live process (ours included), or by a dead one whose claim we reclaim.
            let Ok(held) = std::fs::read_to_string(&lock) else {
                continue; // removed meanwhile: try again
            };
            if owner_alive(&held) || !self.reclaim(port, &held) {
                return false;
            }
        }
        false
    }

    /// Give up this process's claim of `port`.
    pub fn release(&self, port: u16) {
        let lock = self.lock_path(port);
        if std::fs::read_to_string(&lock).is_ok_and(|held| held == owner_line()) {
            let _ = std::fs::remove_file(lock);
        }
    }

    /// Remove the dead claim `held` of `port`, unless another process is already reclaiming it
    /// or it changed meanwhile. Under the guard, only a dead owner's claim can be in the file:
    /// a new claim needs the file absent, and only the guard's holder removes a dead one.
    fn reclaim(&self, port: u16, held: &str) -> bool {
        let guard = self.dir.join(format!("{port}.reclaim"));
        if !self.link_new(&guard, &owner_line()) {
            // Someone is reclaiming it right now (or died doing so: then the port stays unused).
            return false;
        }
        let lock = self.lock_path(port);
        let removed = match std::fs::read_to_string(&lock) {
            Ok(now) if now == held => std::fs::remove_file(&lock).is_ok(),
            Ok(_) => false,
            Err(e) => e.kind() == ErrorKind::NotFound,
        };
        let _ = std::fs::remove_file(&guard);
        removed
    }

    /// Create `path` holding `content`, only if it does not exist (never seen half-written).
    fn link_new(&self, path: &Path, content: &str) -> bool {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let tmp = self.dir.join(format!(
            ".{}.{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&tmp, content)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", tmp.display()));
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => true,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => false,
            Err(e) => panic!("cannot create {}: {e}", path.display()),
        }
    }

    fn lock_path(&self, port: u16) -> PathBuf {
        self.dir.join(format!("{port}.lock"))
    }
}

/// `SPAN` ports just below the kernel's ephemeral range (or above it, if there is no room).
fn below_ephemeral() -> (u16, u16) {
    let (low, high) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|v| v.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999));
    if low >= 1024 + SPAN {
        (low - SPAN, low - 1)
    } else if high <= u16::MAX - SPAN {
        (high + 1, high + SPAN)
    } else {
        panic!("the ephemeral port range {low}-{high} leaves no room for test ports")
    }
}

fn parse_range(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.split_once('-')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// What a claim of this process holds: `<pid> <start time>`.
fn owner_line() -> String {
    let pid = std::process::id();
    format!("{pid} {}\n", start_time(pid).unwrap_or_default())
}

/// A process's start time (clock ticks since boot, field 22 of `/proc/<pid>/stat`): with the
/// pid, it names the process even after the pid is reused.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state); field 22 is index 19.
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19).map(|s| (*s).to_owned())
}

/// Whether the process that wrote claim `held` still runs.
fn owner_alive(held: &str) -> bool {
    let mut it = held.split_whitespace();
    let (Some(pid), start) = (it.next().and_then(|p| p.parse::<u32>().ok()), it.next()) else {
        return true; // not a claim we understand: leave it alone
    };
    match start_time(pid) {
        None => false,
        Some(now) => start.is_none_or(|s| s == now),
    }
}
