//! Which controller replica acts: every replica pings the others; the one with the lowest id
//! among those alive (answered within three ping intervals) is the leader. Two replicas that
//! cannot see each other may both act for a while; that is safe, because a promotion needs a
//! majority of the group's brokers to accept its epoch first, and only one can get it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::join_all;
use rmq_admin_api::v1::failover_controller_client::FailoverControllerClient;
use rmq_admin_api::v1::PingRequest;
use tokio::sync::watch;
use tonic::transport::{Channel, Endpoint};
use tracing::{info, warn};

/// How often peers are pinged.
pub const PING_INTERVAL: Duration = Duration::from_millis(500);

/// The election state of one replica.
#[derive(Debug)]
pub struct Election {
    id: u32,
    peers: Vec<FailoverControllerClient<Channel>>,
    /// Peer id → when it last answered.
    alive: Mutex<HashMap<u32, Instant>>,
}

impl Election {
    /// Replica `id` with `peers` (their gRPC addresses).
    pub fn new(id: u32, peers: &[String]) -> Result<Election, String> {
        let peers = peers
            .iter()
            .map(|p| {
                let uri = if p.contains("://") { p.clone() } else { format!("http://{p}") };
                let endpoint = Endpoint::from_shared(uri).map_err(|e| format!("peer '{p}' is no address: {e}"))?;
                Ok(FailoverControllerClient::new(
                    endpoint.connect_timeout(PING_INTERVAL).timeout(PING_INTERVAL).connect_lazy(),
                ))
            })
            .collect::<Result<_, String>>()?;
        Ok(Election { id, peers, alive: Mutex::new(HashMap::new()) })
    }

    /// This replica's id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Whether this replica acts now: no live peer has a lower id.
    pub fn is_leader(&self) -> bool {
        let alive = self.alive.lock().unwrap_or_else(PoisonError::into_inner);
        !alive.iter().any(|(id, seen)| *id < self.id && seen.elapsed() < PING_INTERVAL * 3)
    }

    /// Pings the peers until `stop`, logging each change of leadership.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(PING_INTERVAL);
        let mut leading = None;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            let pings =
                self.peers.iter().cloned().map(|mut peer| async move {
                    peer.ping(PingRequest { id: self.id }).await.map(|r| r.into_inner().id)
                });
            for id in join_all(pings).await.into_iter().flatten() {
                if id == self.id {
                    warn!(id, "a peer has this replica's id; give every replica its own --id");
                }
                self.alive.lock().unwrap_or_else(PoisonError::into_inner).insert(id, Instant::now());
            }
            let now = self.is_leader();
            if leading != Some(now) {
                info!(id = self.id, leader = now, "controller leadership");
                leading = Some(now);
            }
        }
    }
}
