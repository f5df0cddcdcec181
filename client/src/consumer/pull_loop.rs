//! The pull loop of one owned queue: long-polls the broker from the queue's next offset, holds
//! back while too much is in flight, filters tags exactly, and hands messages over.

use std::future::Future;
use std::time::Duration;

use tracing::{debug, warn};

use super::broker_api::{self, PullOutcome, PullParams};
use super::engine::QueueTask;
use super::MessageModel;
use crate::message::ReceivedMessage;

/// Pause after a failed pull (Java `pullTimeDelayMillsWhenException`).
const PAUSE_AFTER_ERROR: Duration = Duration::from_secs(3);
/// Pause while flow control holds the queue.
const PAUSE_WHEN_FULL: Duration = Duration::from_millis(50);

/// Runs until the queue is cancelled or dropped; `deliver` receives every non-empty batch.
pub(crate) async fn run<F, Fut>(task: &QueueTask, mut deliver: F)
where
    F: FnMut(Vec<ReceivedMessage>) -> Fut,
    Fut: Future<Output = ()>,
{
    let engine = &task.engine;
    let settings = &engine.settings;
    let mut offset = task.start_offset;
    loop {
        if task.cancel.is_cancelled() || task.pq.is_dropped() {
            return;
        }
        if settings.orderly && !task.pq.is_locked() {
            if pause(task, Duration::from_secs(1)).await {
                return;
            }
            continue;
        }
        let (count, bytes) = task.pq.load();
        if count >= settings.max_in_flight_messages || bytes >= settings.max_in_flight_bytes {
            if pause(task, PAUSE_WHEN_FULL).await {
                return;
            }
            continue;
        }
        let sub = engine.subscription(&task.queue.topic);
        let (expression, expression_type, version) = match &sub {
            Some(s) => (s.expression.as_str(), s.expression_type.as_str(), s.version()),
            None => ("*", "TAG", 0),
        };
        let commit_offset = (settings.model == MessageModel::Clustering && settings.auto_commit)
            .then(|| engine.offsets.get(&task.queue))
            .flatten();
        let params = PullParams {
            group: &settings.group,
            queue: &task.queue,
            offset,
            max_messages: settings.pull_batch,
            commit_offset,
            expression,
            expression_type,
            sub_version: version,
            suspend: true,
        };
        let outcome = tokio::select! {
            _ = task.cancel.cancelled() => return,
            r = broker_api::pull(&engine.core, params) => r,
        };
        match outcome {
            Ok(PullOutcome::Found { messages, next_offset }) => {
                let matching: Vec<ReceivedMessage> =
                    messages.into_iter().filter(|m| sub.as_ref().is_none_or(|s| s.matches(m))).collect();
                offset = next_offset;
                task.pq.advance(next_offset);
                if matching.is_empty() {
                    idle_progress(task, next_offset);
                } else {
                    deliver(matching).await;
                }
            }
            Ok(PullOutcome::Nothing { next_offset }) => {
                offset = next_offset;
                task.pq.advance(next_offset);
                idle_progress(task, next_offset);
            }
            Ok(PullOutcome::OffsetMoved { next_offset }) => {
                // Out of range, or reset on the broker (mqadmin resetOffsetByTime, Apache 5.x style).
                warn!(queue = ?task.queue, from = offset, to = next_offset, "the broker moved the offset");
                offset = next_offset;
                task.pq.rewind(next_offset);
                engine.offsets.update(&task.queue, next_offset, false);
            }
            Err(e) => {
                debug!(queue = ?task.queue, error = %e, "pull failed; pausing");
                if pause(task, PAUSE_AFTER_ERROR).await {
                    return;
                }
            }
        }
    }
}

/// With nothing in flight, the group may resume at `next_offset`.
fn idle_progress(task: &QueueTask, next_offset: i64) {
    if task.pq.load().0 == 0 && !task.pq.is_dropped() {
        task.engine.offsets.update(&task.queue, next_offset, true);
    }
}

/// Sleeps, returning true if the queue was cancelled meanwhile.
async fn pause(task: &QueueTask, d: Duration) -> bool {
    tokio::select! {
        _ = task.cancel.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}
