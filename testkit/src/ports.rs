//! Free loopback ports. Candidates are drawn at random from 10000–31999, below Linux's ephemeral range
//! (32768+), so an outgoing connection can never take a stopped server's port before it restarts; a
//! candidate is taken only if every port the server will open around it is free now and was never handed out by
//! this process before (a process-wide set, so two clusters in one test binary never collide).

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};

use crate::TestkitError;

/// A NameServer opens only its listen port.
const NAMESRV_OFFSETS: &[i32] = &[0];
/// A broker also opens listenPort-2 (Apache's "VIP"/fast channel, bound by rmq too) and listenPort+1
/// (Apache's HA service).
const BROKER_OFFSETS: &[i32] = &[-2, 0, 1];

fn handed_out() -> &'static Mutex<HashSet<u16>> {
    static SET: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    SET.get_or_init(|| Mutex::new(HashSet::new()))
}

/// A free port for a NameServer.
pub fn namesrv_port() -> Result<u16, TestkitError> {
    allocate(NAMESRV_OFFSETS)
}

/// A free port for a single listener (a broker's gRPC admin API, a controller).
pub fn single_port() -> Result<u16, TestkitError> {
    allocate(NAMESRV_OFFSETS)
}

/// A free port `p` for a broker: `p - 2`, `p` and `p + 1` are all free.
pub fn broker_port() -> Result<u16, TestkitError> {
    allocate(BROKER_OFFSETS)
}

fn allocate(offsets: &[i32]) -> Result<u16, TestkitError> {
    let mut handed_out = handed_out().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for _ in 0..500 {
        let candidate = random_candidate();
        let Some(ports) = offsets.iter().map(|o| neighbour(candidate, *o)).collect::<Option<Vec<u16>>>() else {
            continue;
        };
        if ports.iter().all(|p| !handed_out.contains(p) && is_free(*p)) {
            handed_out.extend(ports);
            return Ok(candidate);
        }
    }
    Err(TestkitError::Usage("could not find free loopback ports in 500 attempts".into()))
}

/// A random port in 10000..32000.
fn random_candidate() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    10_000 + (h.finish() % 22_000) as u16
}

fn neighbour(port: u16, offset: i32) -> Option<u16> {
    u16::try_from(i32::from(port) + offset).ok().filter(|p| *p >= 1024)
}

fn is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_ports_have_free_neighbours_and_are_never_reused() {
        let mut all = HashSet::new();
        for _ in 0..20 {
            let p = broker_port().expect("broker port");
            for q in [p - 2, p, p + 1] {
                assert!(all.insert(q), "port {q} handed out twice");
            }
            let n = namesrv_port().expect("namesrv port");
            assert!(all.insert(n), "port {n} handed out twice");
        }
    }
}
