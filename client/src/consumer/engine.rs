//! What push and pull consumers share: the group's subscriptions, rebalancing (which queues this
//! member owns), starting and stopping one task per owned queue, committing offsets, and the
//! broker's pushes (members changed, offsets reset).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rmq_remoting::message::RETRY_TOPIC_PREFIX;
use rmq_remoting::protocol::body::ConsumerData;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::offsets::OffsetStore;
use super::process_queue::ProcessQueue;
use super::subscription::Subscription;
use super::{broker_api, Allocation, ConsumeFrom, MessageModel};
use crate::core::push::PushEvent;
use crate::core::ClientCore;
use crate::error::Result;
use crate::message::MessageQueue;

/// How long `shutdown` waits for in-flight messages before committing what completed.
const SHUTDOWN_DRAIN: Duration = Duration::from_secs(5);

/// Settings of a group consumer.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub group: String,
    pub model: MessageModel,
    pub allocation: Allocation,
    pub consume_from: ConsumeFrom,
    pub orderly: bool,
    pub passive: bool,
    pub pull_batch: i32,
    pub max_in_flight_messages: usize,
    pub max_in_flight_bytes: usize,
    pub rebalance_interval: Duration,
    pub commit_interval: Duration,
    pub auto_commit: bool,
}

/// Everything a queue task needs.
pub(crate) struct QueueTask {
    pub engine: Arc<Engine>,
    pub queue: MessageQueue,
    pub pq: Arc<ProcessQueue>,
    pub start_offset: i64,
    pub cancel: CancellationToken,
    /// The queue's tracing span (group, topic, broker, queue id).
    pub span: tracing::Span,
}

/// Starts the work for one owned queue (pull loop + consumption); differs for push and pull.
pub(crate) type Runner = Box<dyn Fn(QueueTask) -> JoinHandle<()> + Send + Sync>;

struct Owned {
    pq: Arc<ProcessQueue>,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

/// A running group consumer.
pub(crate) struct Engine {
    pub core: Arc<ClientCore>,
    pub settings: Settings,
    pub offsets: OffsetStore,
    subscriptions: Mutex<BTreeMap<String, Subscription>>,
    owned: tokio::sync::Mutex<HashMap<MessageQueue, Owned>>,
    runner: OnceLock<Runner>,
    /// Queues assigned by hand (pull consumer `assign`); no rebalancing when set.
    manual: Mutex<Option<Vec<MessageQueue>>>,
}

impl Engine {
    pub fn new(core: Arc<ClientCore>, settings: Settings, offsets: OffsetStore) -> Arc<Self> {
        Arc::new(Engine {
            core,
            settings,
            offsets,
            subscriptions: Mutex::new(BTreeMap::new()),
            owned: tokio::sync::Mutex::new(HashMap::new()),
            runner: OnceLock::new(),
            manual: Mutex::new(None),
        })
    }

    /// Starts rebalancing, committing and listening to the broker, with `runner` for queues.
    pub async fn start(self: &Arc<Self>, runner: Runner) {
        let _ = self.runner.set(runner);
        for topic in self.topics() {
            if let Err(e) = self.core.route(&topic).await {
                warn!(%topic, error = %e, "no route yet for a subscribed topic; retrying at each rebalance");
            }
        }
        self.register();
        self.core.send_heartbeats().await;
        self.rebalance().await;
        tokio::spawn(Arc::clone(self).background());
    }

    /// Adds or replaces a subscription.
    pub fn subscribe(&self, sub: Subscription) {
        if let Ok(mut subs) = self.subscriptions.lock() {
            subs.insert(sub.topic.clone(), sub);
        }
        self.register();
    }

    /// The subscription of `topic`.
    pub fn subscription(&self, topic: &str) -> Option<Subscription> {
        self.subscriptions.lock().ok()?.get(topic).cloned()
    }

    fn topics(&self) -> Vec<String> {
        self.subscriptions.lock().map(|s| s.keys().cloned().collect()).unwrap_or_default()
    }

    /// Fixes the owned queues (no rebalancing from now on).
    pub async fn assign(self: &Arc<Self>, queues: Vec<MessageQueue>) {
        if let Ok(mut m) = self.manual.lock() {
            *m = Some(queues);
        }
        self.rebalance().await;
    }

    fn register(&self) {
        let s = &self.settings;
        let subscription_data_set = self
            .subscriptions
            .lock()
            .map(|subs| subs.values().map(Subscription::to_data).collect())
            .unwrap_or_default();
        let data = ConsumerData {
            group_name: s.group.clone(),
            consume_type: if s.passive { "CONSUME_PASSIVELY" } else { "CONSUME_ACTIVELY" }.into(),
            message_model: s.model.as_str().into(),
            consume_from_where: s.consume_from.as_str().into(),
            subscription_data_set,
            unit_mode: false,
        };
        if let Ok(mut regs) = self.core.registrations.lock() {
            regs.consumers.insert(s.group.clone(), data);
        }
    }

    async fn background(self: Arc<Self>) {
        let mut events = self.core.push.subscribe();
        let mut rebalance = tokio::time::interval(self.settings.rebalance_interval);
        let mut commit = tokio::time::interval(self.settings.commit_interval);
        rebalance.tick().await;
        commit.tick().await;
        loop {
            tokio::select! {
                _ = self.core.shutdown.cancelled() => return,
                _ = rebalance.tick() => {
                    self.rebalance().await;
                    if self.settings.orderly {
                        self.renew_locks().await;
                    }
                }
                _ = commit.tick() => {
                    if self.settings.auto_commit {
                        self.offsets.persist(&self.core, &self.settings.group, None).await;
                    }
                }
                event = events.recv() => match event {
                    Ok(PushEvent::ConsumerIdsChanged { group }) if group == self.settings.group => {
                        debug!(%group, "members changed; rebalancing now");
                        self.rebalance().await;
                    }
                    Ok(PushEvent::ResetOffset { group, topic, offsets }) if group == self.settings.group => {
                        self.reset_offsets(&topic, offsets).await;
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        warn!(missed = n, "missed broker notifications; rebalancing");
                        self.rebalance().await;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }

    /// Recomputes the owned queues of every subscribed topic and starts/stops queue tasks.
    #[tracing::instrument(name = "rebalance", skip_all, fields(group = %self.settings.group))]
    pub async fn rebalance(self: &Arc<Self>) {
        if self.core.shutdown.is_cancelled() {
            return;
        }
        let manual = self.manual.lock().ok().and_then(|m| m.clone());
        let wanted: Vec<MessageQueue> = match manual {
            Some(queues) => queues,
            None => {
                let mut all = Vec::new();
                for topic in self.topics() {
                    match self.allocate(&topic).await {
                        Ok(mine) => all.extend(mine),
                        Err(e) => {
                            debug!(%topic, error = %e, "rebalance skipped this topic");
                            // Keep what we own of this topic rather than dropping it on a hiccup.
                            all.extend(self.owned.lock().await.keys().filter(|q| q.topic == topic).cloned());
                        }
                    }
                }
                all
            }
        };
        self.apply(wanted).await;
    }

    async fn allocate(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        let route = self.core.refresh_route(topic).await?;
        let mut queues = route.read_queues.clone();
        queues.sort();
        if self.settings.model == MessageModel::Broadcasting {
            return Ok(queues);
        }
        let Some(addr) = route.brokers.values().find_map(|ids| ids.values().next().cloned()) else {
            return Ok(Vec::new());
        };
        let mut members = broker_api::consumer_ids(&self.core, &addr, &self.settings.group).await?;
        members.sort();
        if !members.contains(&self.core.client_id) {
            // The broker has not seen our heartbeat yet (or lost it): announce ourselves.
            self.core.send_heartbeats().await;
        }
        Ok(self.settings.allocation.allocate(&self.core.client_id, &queues, &members))
    }

    async fn apply(self: &Arc<Self>, wanted: Vec<MessageQueue>) {
        let mut owned = self.owned.lock().await;
        let gone: Vec<MessageQueue> = owned.keys().filter(|q| !wanted.contains(q)).cloned().collect();
        for queue in gone {
            if let Some(o) = owned.remove(&queue) {
                self.release(&queue, o, true).await;
            }
        }
        let mut new_queues: Vec<MessageQueue> = wanted.into_iter().filter(|q| !owned.contains_key(q)).collect();
        if self.settings.orderly && !new_queues.is_empty() {
            new_queues = self.lock(new_queues).await;
        }
        for queue in new_queues {
            let start = match self.start_offset(&queue).await {
                Ok(o) => o,
                Err(e) => {
                    warn!(?queue, error = %e, "cannot compute the start offset; retrying at the next rebalance");
                    continue;
                }
            };
            let Some(runner) = self.runner.get() else { return };
            let pq = Arc::new(ProcessQueue::starting_at(start));
            pq.set_locked(self.settings.orderly);
            let cancel = self.core.shutdown.child_token();
            info!(?queue, start, "queue assigned");
            let span = tracing::info_span!(
                "queue",
                group = %self.settings.group,
                topic = %queue.topic,
                broker = %queue.broker_name,
                queue_id = queue.queue_id
            );
            let task = runner(QueueTask {
                engine: Arc::clone(self),
                queue: queue.clone(),
                pq: Arc::clone(&pq),
                start_offset: start,
                cancel: cancel.clone(),
                span,
            });
            owned.insert(queue, Owned { pq, cancel, task });
        }
    }

    /// Stops a queue's task, commits its offset and (orderly) releases its lock.
    async fn release(&self, queue: &MessageQueue, owned: Owned, commit: bool) {
        owned.pq.drop_queue();
        owned.cancel.cancel();
        if tokio::time::timeout(Duration::from_secs(10), owned.task).await.is_err() {
            warn!(?queue, "queue task did not stop within 10 s");
        }
        if commit {
            self.offsets.persist(&self.core, &self.settings.group, Some(std::slice::from_ref(queue))).await;
        }
        self.offsets.remove(queue);
        if self.settings.orderly {
            broker_api::unlock_queues(&self.core, &self.settings.group, &queue.broker_name, vec![queue.clone()]).await;
        }
        info!(?queue, "queue released");
    }

    /// Locks `queues` at their brokers; returns the ones locked.
    pub async fn lock(&self, queues: Vec<MessageQueue>) -> Vec<MessageQueue> {
        let mut by_broker: BTreeMap<String, Vec<MessageQueue>> = BTreeMap::new();
        for q in queues {
            by_broker.entry(q.broker_name.clone()).or_default().push(q);
        }
        let mut locked = Vec::new();
        for (broker, qs) in by_broker {
            match broker_api::lock_queues(&self.core, &self.settings.group, &broker, qs).await {
                Ok(ok) => locked.extend(ok),
                Err(e) => debug!(%broker, error = %e, "lock request failed"),
            }
        }
        locked
    }

    /// Renews the locks of every owned queue (orderly), pausing queues whose lock was lost.
    pub async fn renew_locks(&self) {
        let owned: Vec<(MessageQueue, Arc<ProcessQueue>)> =
            self.owned.lock().await.iter().map(|(q, o)| (q.clone(), Arc::clone(&o.pq))).collect();
        let locked = self.lock(owned.iter().map(|(q, _)| q.clone()).collect()).await;
        for (q, pq) in owned {
            pq.set_locked(locked.contains(&q));
        }
    }

    async fn start_offset(&self, queue: &MessageQueue) -> Result<i64> {
        let group = &self.settings.group;
        if let Some(o) = self.offsets.read_committed(&self.core, group, queue).await? {
            return Ok(o);
        }
        let retry = queue.topic.starts_with(RETRY_TOPIC_PREFIX);
        let offset = match self.settings.consume_from {
            ConsumeFrom::FirstOffset => 0,
            _ if retry => 0,
            ConsumeFrom::LastOffset => broker_api::max_offset(&self.core, queue).await?,
            ConsumeFrom::Timestamp(ts) => broker_api::offset_by_time(&self.core, queue, ts).await?,
        };
        self.offsets.update(queue, offset, false);
        Ok(offset)
    }

    /// Moves `topic`'s offsets as the broker asked (mqadmin `resetOffsetByTime`): drop the queues,
    /// commit the new offsets, and let the rebalance restart them from there.
    async fn reset_offsets(self: &Arc<Self>, topic: &str, offsets: Vec<(MessageQueue, i64)>) {
        info!(%topic, queues = offsets.len(), "resetting offsets as the broker asked");
        {
            let mut owned = self.owned.lock().await;
            let queues: Vec<MessageQueue> = owned.keys().filter(|q| q.topic == topic).cloned().collect();
            for q in queues {
                if let Some(o) = owned.remove(&q) {
                    self.release(&q, o, false).await;
                }
            }
        }
        for (q, offset) in &offsets {
            self.offsets.update(q, *offset, false);
        }
        let queues: Vec<MessageQueue> = offsets.into_iter().map(|(q, _)| q).collect();
        self.offsets.persist(&self.core, &self.settings.group, Some(&queues)).await;
        self.rebalance().await;
    }

    /// Restarts one owned queue from `offset` (pull consumer `seek`).
    pub async fn seek(self: &Arc<Self>, queue: &MessageQueue, offset: i64) {
        if let Some(o) = self.owned.lock().await.remove(queue) {
            self.release(queue, o, false).await;
        }
        self.offsets.update(queue, offset, false);
        if self.settings.model == MessageModel::Clustering {
            self.offsets.persist(&self.core, &self.settings.group, Some(std::slice::from_ref(queue))).await;
        }
        self.rebalance().await;
    }

    /// The queues owned now.
    pub async fn owned_queues(&self) -> Vec<MessageQueue> {
        let mut qs: Vec<MessageQueue> = self.owned.lock().await.keys().cloned().collect();
        qs.sort();
        qs
    }

    /// Stops every queue, commits offsets, leaves the group.
    pub async fn shutdown(&self) {
        if self.core.shutdown.is_cancelled() {
            return;
        }
        let owned: Vec<(MessageQueue, Owned)> = self.owned.lock().await.drain().collect();
        // Stop pulling, then let the batches being consumed finish so their offsets are committed.
        for (q, o) in &owned {
            o.cancel.cancel();
            debug!(queue = ?q, "stopping queue");
        }
        let deadline = tokio::time::Instant::now() + SHUTDOWN_DRAIN;
        let mut queues = Vec::new();
        for (q, o) in owned {
            let _ = tokio::time::timeout_at(deadline, o.task).await;
            // (A pull consumer's buffered, unpolled messages are not in progress: no wait.)
            while self.settings.passive && o.pq.load().0 > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            o.pq.drop_queue();
            queues.push(q);
        }
        self.offsets.persist(&self.core, &self.settings.group, None).await;
        if self.settings.orderly {
            let mut by_broker: BTreeMap<String, Vec<MessageQueue>> = BTreeMap::new();
            for q in queues {
                by_broker.entry(q.broker_name.clone()).or_default().push(q);
            }
            for (broker, qs) in by_broker {
                broker_api::unlock_queues(&self.core, &self.settings.group, &broker, qs).await;
            }
        }
        if let Ok(mut regs) = self.core.registrations.lock() {
            regs.consumers.remove(&self.settings.group);
        }
        self.core.unregister(None, Some(&self.settings.group)).await;
        self.core.shutdown.cancel();
        info!(group = %self.settings.group, "consumer shut down; offsets committed");
    }
}
