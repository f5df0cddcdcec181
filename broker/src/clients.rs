//! Who is connected: producer groups and consumer groups with their channels, subscriptions and
//! last heartbeat. Channels that stop heartbeating for 120 s expire; a closed connection leaves
//! every group at once.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use rmq_remoting::protocol::body::{
    Connection as ConnectionInfo, ConsumerConnection, ConsumerData, ProducerConnection, SubscriptionData,
};
use rmq_remoting::rpc::{Connection, ConnectionId};
use rmq_remoting::LanguageCode;

/// Heartbeat silence after which a client channel is dropped (`channelExpiredTimeout`).
pub const CHANNEL_EXPIRY: Duration = Duration::from_secs(120);

/// One client connection in a group.
#[derive(Debug, Clone)]
pub struct ClientChannel {
    /// The connection.
    pub conn: Connection,
    /// Client id (`ip@instance`).
    pub client_id: String,
    /// Client language.
    pub language: LanguageCode,
    /// Client version ordinal.
    pub version: i32,
    /// Last heartbeat.
    pub last_seen: Instant,
}

impl ClientChannel {
    fn info(&self) -> ConnectionInfo {
        ConnectionInfo {
            client_id: self.client_id.clone(),
            client_addr: self.conn.peer_addr().to_string(),
            language: self.language.name().to_owned(),
            version: self.version,
        }
    }
}

#[derive(Debug, Default)]
struct ConsumerGroup {
    channels: HashMap<ConnectionId, ClientChannel>,
    subscriptions: BTreeMap<String, SubscriptionData>,
    consume_type: String,
    message_model: String,
    consume_from_where: String,
}

/// An online consumer group as the metrics see it.
#[derive(Debug, Clone)]
pub struct OnlineGroup {
    /// Group name.
    pub group: String,
    /// `CONSUME_ACTIVELY` (pull), `CONSUME_PASSIVELY` (push) or `CONSUME_POP`.
    pub consume_type: String,
    /// `(language, version ordinal)` per channel.
    pub clients: Vec<(LanguageCode, i32)>,
    /// Subscribed topics.
    pub topics: Vec<String>,
}

/// Producer and consumer registrations.
#[derive(Default)]
pub struct ClientRegistry {
    consumers: RwLock<HashMap<String, ConsumerGroup>>,
    producers: RwLock<HashMap<String, HashMap<ConnectionId, ClientChannel>>>,
}

impl ClientRegistry {
    /// Registers (or refreshes) a consumer channel; returns whether membership or subscriptions changed.
    pub fn register_consumer(&self, channel: ClientChannel, data: &ConsumerData) -> bool {
        let mut consumers = self.consumers.write().unwrap_or_else(|e| e.into_inner());
        let group = consumers.entry(data.group_name.clone()).or_default();
        group.consume_type = data.consume_type.clone();
        group.message_model = data.message_model.clone();
        group.consume_from_where = data.consume_from_where.clone();
        let id = channel.conn.id();
        let joined = group.channels.insert(id, channel).is_none();
        // As Apache's ConsumerGroupInfo: a new or dropped topic is a change worth a rebalance; a
        // newer version of an existing subscription (clients bump it after every rebalance) only
        // replaces it, or every rebalance would trigger another one.
        let mut changed = joined;
        for sub in &data.subscription_data_set {
            match group.subscriptions.get(&sub.topic) {
                None => {
                    group.subscriptions.insert(sub.topic.clone(), sub.clone());
                    changed = true;
                }
                Some(old) if sub.sub_version > old.sub_version => {
                    group.subscriptions.insert(sub.topic.clone(), sub.clone());
                }
                Some(_) => {}
            }
        }
        let before = group.subscriptions.len();
        group.subscriptions.retain(|topic, _| data.subscription_data_set.iter().any(|s| &s.topic == topic));
        changed || group.subscriptions.len() != before
    }

    /// Registers (or refreshes) a producer channel.
    pub fn register_producer(&self, group: &str, channel: ClientChannel) {
        let mut producers = self.producers.write().unwrap_or_else(|e| e.into_inner());
        producers.entry(group.to_owned()).or_default().insert(channel.conn.id(), channel);
    }

    /// Removes a consumer channel from a group; returns whether it was there.
    pub fn unregister_consumer(&self, group: &str, conn: ConnectionId) -> bool {
        let mut consumers = self.consumers.write().unwrap_or_else(|e| e.into_inner());
        let Some(g) = consumers.get_mut(group) else { return false };
        let removed = g.channels.remove(&conn).is_some();
        if g.channels.is_empty() {
            consumers.remove(group);
        }
        removed
    }

    /// Removes a producer channel from a group.
    pub fn unregister_producer(&self, group: &str, conn: ConnectionId) {
        let mut producers = self.producers.write().unwrap_or_else(|e| e.into_inner());
        if let Some(g) = producers.get_mut(group) {
            g.remove(&conn);
            if g.is_empty() {
                producers.remove(group);
            }
        }
    }

    /// Removes a connection everywhere; returns the consumer groups it left.
    pub fn remove_connection(&self, conn: ConnectionId) -> Vec<String> {
        self.retain_channels(|id, _| *id != conn)
    }

    /// Drops channels silent for longer than [`CHANNEL_EXPIRY`]; returns the consumer groups that changed.
    pub fn expire(&self, now: Instant) -> Vec<String> {
        self.retain_channels(|_, ch| now.duration_since(ch.last_seen) < CHANNEL_EXPIRY && !ch.conn.is_closed())
    }

    fn retain_channels(&self, keep: impl Fn(&ConnectionId, &ClientChannel) -> bool) -> Vec<String> {
        let mut changed = Vec::new();
        {
            let mut consumers = self.consumers.write().unwrap_or_else(|e| e.into_inner());
            for (name, group) in consumers.iter_mut() {
                let before = group.channels.len();
                group.channels.retain(|id, ch| keep(id, ch));
                if group.channels.len() != before {
                    changed.push(name.clone());
                }
            }
            consumers.retain(|_, g| !g.channels.is_empty());
        }
        let mut producers = self.producers.write().unwrap_or_else(|e| e.into_inner());
        for group in producers.values_mut() {
            group.retain(|id, ch| keep(id, ch));
        }
        producers.retain(|_, g| !g.is_empty());
        changed
    }

    /// The client id (`ip@instance`) connection `conn` announced in its last heartbeat, if any.
    pub fn client_id_of(&self, conn: ConnectionId) -> Option<String> {
        let consumers = self.consumers.read().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = consumers.values().find_map(|g| g.channels.get(&conn)) {
            return Some(c.client_id.clone());
        }
        drop(consumers);
        let producers = self.producers.read().unwrap_or_else(|e| e.into_inner());
        producers.values().find_map(|channels| channels.get(&conn)).map(|c| c.client_id.clone())
    }

    /// Client ids of a consumer group, sorted.
    pub fn consumer_ids(&self, group: &str) -> Vec<String> {
        let consumers = self.consumers.read().unwrap_or_else(|e| e.into_inner());
        let mut ids: Vec<String> = consumers
            .get(group)
            .map(|g| g.channels.values().map(|c| c.client_id.clone()).collect())
            .unwrap_or_default();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Connections of a consumer group, and whether the group is clustering.
    pub fn consumer_connections(&self, group: &str) -> (Vec<Connection>, bool) {
        let consumers = self.consumers.read().unwrap_or_else(|e| e.into_inner());
        match consumers.get(group) {
            Some(g) => (g.channels.values().map(|c| c.conn.clone()).collect(), g.message_model != "BROADCASTING"),
            None => (Vec::new(), false),
        }
    }

    /// The registered subscription of a group to a topic.
    pub fn subscription(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        let consumers = self.consumers.read().unwrap_or_else(|e| e.into_inner());
        consumers.get(group).and_then(|g| g.subscriptions.get(topic).cloned())
    }

    /// The GET_CONSUMER_CONNECTION_LIST body of a group, if it is online.
    pub fn consumer_connection(&self, group: &str) -> Option<ConsumerConnection> {
        let consumers = self.consumers.read().unwrap_or_else(|e| e.into_inner());
        let g = consumers.get(group)?;
        Some(ConsumerConnection {
            connection_set: g.channels.values().map(ClientChannel::info).collect(),
            subscription_table: g.subscriptions.clone(),
            consume_type: g.consume_type.clone(),
            message_model: g.message_model.clone(),
            consume_from_where: g.consume_from_where.clone(),
        })
    }

    /// The GET_PRODUCER_CONNECTION_LIST body of a group.
    pub fn producer_connection(&self, group: &str) -> ProducerConnection {
        let producers = self.producers.read().unwrap_or_else(|e| e.into_inner());
        ProducerConnection {
            connection_set: producers
                .get(group)
                .map(|g| g.values().map(ClientChannel::info).collect())
                .unwrap_or_default(),
        }
    }

    /// Live connections of a producer group.
    pub fn producer_channels(&self, group: &str) -> Vec<Connection> {
        let producers = self.producers.read().unwrap_or_else(|e| e.into_inner());
        producers
            .get(group)
            .map(|g| g.values().filter(|c| !c.conn.is_closed()).map(|c| c.conn.clone()).collect())
            .unwrap_or_default()
    }

    /// The connection of a producer client by its client id (for pushing replies).
    pub fn producer_channel_of_client(&self, client_id: &str) -> Option<Connection> {
        let producers = self.producers.read().unwrap_or_else(|e| e.into_inner());
        producers
            .values()
            .flat_map(|g| g.values())
            .find(|c| c.client_id == client_id && !c.conn.is_closed())
            .map(|c| c.conn.clone())
    }

    /// Online consumer groups subscribing to `topic`.
    pub fn groups_subscribing(&self, topic: &str) -> Vec<String> {
        let consumers = self.consumers.read().unwrap_or_else(|e| e.into_inner());
        consumers.iter().filter(|(_, g)| g.subscriptions.contains_key(topic)).map(|(n, _)| n.clone()).collect()
    }

    /// `(language, version)` of every producer channel, for the connection gauges.
    pub fn producer_clients(&self) -> Vec<(LanguageCode, i32)> {
        let producers = self.producers.read().unwrap_or_else(|e| e.into_inner());
        producers.values().flat_map(|g| g.values()).map(|c| (c.language, c.version)).collect()
    }

    /// Every online consumer group: its consume type, the `(language, version)` of each channel
    /// and the topics it subscribes to, for the connection and lag gauges.
    pub fn online_consumers(&self) -> Vec<OnlineGroup> {
        let consumers = self.consumers.read().unwrap_or_else(|e| e.into_inner());
        consumers
            .iter()
            .filter(|(_, g)| !g.channels.is_empty())
            .map(|(name, g)| OnlineGroup {
                group: name.clone(),
                consume_type: g.consume_type.clone(),
                clients: g.channels.values().map(|c| (c.language, c.version)).collect(),
                topics: g.subscriptions.keys().cloned().collect(),
            })
            .collect()
    }

    /// Topics a consumer group subscribes to.
    pub fn topics_of_group(&self, group: &str) -> Vec<String> {
        let consumers = self.consumers.read().unwrap_or_else(|e| e.into_inner());
        consumers.get(group).map(|g| g.subscriptions.keys().cloned().collect()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_remoting::rpc::{serve, ClientConfig, RejectAll, RemotingClient, ServerConfig};
    use std::sync::Arc;

    async fn connection() -> Connection {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        tokio::spawn(serve(listener, Arc::new(RejectAll), ServerConfig::default(), std::future::pending()));
        RemotingClient::new(ClientConfig::default()).connection(&addr).await.expect("connect")
    }

    fn data(topics: &[(&str, i64)]) -> ConsumerData {
        ConsumerData {
            group_name: "g".into(),
            message_model: "CLUSTERING".into(),
            subscription_data_set: topics
                .iter()
                .map(|(t, v)| SubscriptionData {
                    topic: (*t).into(),
                    sub_string: "*".into(),
                    sub_version: *v,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn channel(conn: &Connection) -> ClientChannel {
        ClientChannel {
            conn: conn.clone(),
            client_id: "c1".into(),
            language: LanguageCode::Java,
            version: 479,
            last_seen: Instant::now(),
        }
    }

    #[tokio::test]
    async fn only_membership_and_topic_set_changes_count_as_changes() {
        let registry = ClientRegistry::default();
        let conn = connection().await;
        assert!(registry.register_consumer(channel(&conn), &data(&[("t", 1)])), "first heartbeat joins");
        assert!(!registry.register_consumer(channel(&conn), &data(&[("t", 1)])), "same heartbeat again");
        assert!(!registry.register_consumer(channel(&conn), &data(&[("t", 2)])), "version bump after a rebalance");
        assert_eq!(registry.subscription("g", "t").map(|s| s.sub_version), Some(2));
        assert!(registry.register_consumer(channel(&conn), &data(&[("t", 2), ("u", 1)])), "new topic");
        assert!(registry.register_consumer(channel(&conn), &data(&[("u", 1)])), "dropped topic");
        assert_eq!(registry.consumer_ids("g"), vec!["c1".to_owned()]);
        assert_eq!(registry.remove_connection(conn.id()), vec!["g".to_owned()]);
        assert!(registry.consumer_ids("g").is_empty());
    }
}
