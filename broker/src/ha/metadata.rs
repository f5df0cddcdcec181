//! A slave's copy of its master's metadata (Apache's `SlaveSynchronize`): topics, subscription
//! groups, consumer offsets and delay-level progress, fetched over remoting from the master's
//! address the NameServer reports, right after start and then every [`SYNC_INTERVAL`]. A slave
//! therefore serves the master's topics, and after a failover its consumers resume from offsets
//! at most one interval old (duplicates, never gaps).

use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::protocol::body::from_fastjson;
use rmq_remoting::rpc::RemotingClient;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::runtime::Broker;

/// Time between two syncs (Apache 4.9's 10 s; 5.x waits 60 s, too long for a failover).
pub const SYNC_INTERVAL: Duration = Duration::from_secs(10);
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Syncs from the master every [`SYNC_INTERVAL`] while this broker is a slave, until `stop`.
pub async fn run(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(SYNC_INTERVAL);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if !broker.replication.is_slave() {
            continue;
        }
        let Some(master) = broker.replication.master_addr() else { continue };
        if let Err(why) = sync_all(&broker, &broker.outbound.client(), &master).await {
            warn!(%master, %why, "syncing metadata from the master failed");
        }
    }
}

/// Fetches and applies the four tables once.
pub async fn sync_all(broker: &Broker, client: &RemotingClient, master: &str) -> Result<(), String> {
    let fetch = |code| async move {
        let resp = client
            .invoke(master, RemotingCommand::request(code), CALL_TIMEOUT)
            .await
            .map_err(|e| format!("{code:?}: {e}"))?;
        if resp.response_code() != ResponseCode::Success {
            return Err(format!("{code:?}: code {} {:?}", resp.code, resp.remark));
        }
        Ok(resp.body)
    };
    let topics = fetch(RequestCode::GetAllTopicConfig).await?;
    let topics = from_fastjson(&topics).map_err(|e| format!("topics: {e}"))?;
    if broker.topics.replace_from_master(topics) {
        debug!("slave topics updated from the master");
    }
    let groups = fetch(RequestCode::GetAllSubscriptiongroupConfig).await?;
    let groups = from_fastjson(&groups).map_err(|e| format!("subscription groups: {e}"))?;
    broker.groups.replace_from_master(groups);
    let offsets = fetch(RequestCode::GetAllConsumerOffset).await?;
    broker.offsets.merge_from_master(&offsets).map_err(|e| format!("consumer offsets: {e}"))?;
    let delays = fetch(RequestCode::GetAllDelayOffset).await?;
    broker.delay.replace_from_master(&delays).map_err(|e| format!("delay offsets: {e}"))?;
    Ok(())
}
