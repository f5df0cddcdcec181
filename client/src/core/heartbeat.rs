//! Heartbeats: every 30 s (and when a producer or consumer starts) the client tells each broker
//! of its routes which producer and consumer groups it belongs to, with the subscriptions.

use std::collections::BTreeMap;

use rmq_remoting::protocol::body::{to_json, ConsumerData, HeartbeatData, ProducerData};
use rmq_remoting::protocol::consumer::UnregisterClientRequest;
use rmq_remoting::{RemotingCommand, RequestCode};
use tracing::{debug, warn};

use super::ClientCore;

/// The groups this client announces.
#[derive(Debug, Default, Clone)]
pub(crate) struct Registrations {
    pub producer_groups: Vec<String>,
    pub consumers: BTreeMap<String, ConsumerData>,
}

impl ClientCore {
    fn heartbeat_data(&self) -> HeartbeatData {
        let regs = self.registrations.lock().map(|r| r.clone()).unwrap_or_default();
        HeartbeatData {
            client_id: self.client_id.clone(),
            producer_data_set: regs.producer_groups.into_iter().map(|group_name| ProducerData { group_name }).collect(),
            consumer_data_set: regs.consumers.into_values().collect(),
            ..Default::default()
        }
    }

    /// Sends a heartbeat to every known broker; failures are logged, not returned.
    pub async fn send_heartbeats(&self) {
        let body = to_json(&self.heartbeat_data());
        for addr in self.known_brokers() {
            let request = RemotingCommand::request(RequestCode::HeartBeat).with_body(body.clone());
            match self.call_ok(&addr, request).await {
                Ok(_) => debug!(broker = %addr, "heartbeat sent"),
                Err(e) => warn!(broker = %addr, error = %e, "heartbeat failed"),
            }
        }
    }

    /// Tells every known broker that this client leaves `producer_group` / `consumer_group`.
    pub async fn unregister(&self, producer_group: Option<&str>, consumer_group: Option<&str>) {
        let header = UnregisterClientRequest {
            client_id: self.client_id.clone(),
            producer_group: producer_group.map(str::to_owned),
            consumer_group: consumer_group.map(str::to_owned),
        };
        for addr in self.known_brokers() {
            let request = RemotingCommand::request(RequestCode::UnregisterClient).with_header(&header);
            if let Err(e) = self.call_ok(&addr, request).await {
                debug!(broker = %addr, error = %e, "unregister failed");
            }
        }
    }
}
