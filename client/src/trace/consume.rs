//! The consumer's trace records around one listener call (Java `ConsumeMessageTraceHookImpl`):
//! `SubBefore` per message when the listener is called, `SubAfter` per message when it returns.

use std::time::Instant;

use rmq_remoting::message::keys;

use super::{SubAfterTrace, SubBeforeTrace, TraceRecord, Tracer};
use crate::message::ReceivedMessage;

/// Java `ConsumeReturnType` ordinals written in `SubAfter`.
pub(crate) mod return_type {
    /// The listener succeeded.
    pub const SUCCESS: i32 = 0;
    /// The listener panicked (Java: threw).
    pub const EXCEPTION: i32 = 2;
    /// The listener asked for a retry.
    pub const FAILED: i32 = 4;
}

/// What `SubAfter` needs from the `SubBefore` of the same call.
pub(crate) struct ConsumeTrace {
    request_id: String,
    started: Instant,
    region_id: String,
    group: String,
    topic: String,
    messages: Vec<(String, String)>,
    batch_len: usize,
}

impl Tracer {
    /// Records `SubBefore` for the traced messages of a batch (those without `TRACE_ON=false`);
    /// `None` when there is nothing to trace (Java also skips messages without a region).
    pub(crate) fn before_consume(&self, group: &str, msgs: &[ReceivedMessage]) -> Option<ConsumeTrace> {
        let traced: Vec<&ReceivedMessage> =
            msgs.iter().filter(|m| m.property(keys::TRACE_ON) != Some("false")).collect();
        let region_id = traced.iter().rev().find_map(|m| m.property(keys::MSG_REGION))?.to_owned();
        let first = traced.first()?;
        let ctx = ConsumeTrace {
            request_id: self.request_id(),
            started: Instant::now(),
            region_id,
            group: group.to_owned(),
            topic: first.topic.clone(),
            messages: traced
                .iter()
                .map(|m| (m.msg_id.clone(), m.property(keys::KEYS).unwrap_or("null").to_owned()))
                .collect(),
            batch_len: msgs.len().max(1),
        };
        let now = crate::producer::now_ms();
        for (m, (msg_id, msg_keys)) in traced.iter().zip(&ctx.messages) {
            let record = TraceRecord::SubBefore(SubBeforeTrace {
                timestamp: now,
                region_id: ctx.region_id.clone(),
                group: ctx.group.clone(),
                request_id: ctx.request_id.clone(),
                msg_id: msg_id.clone(),
                retry_times: m.reconsume_times,
                keys: msg_keys.clone(),
            });
            self.append(&ctx.topic, record);
        }
        Some(ctx)
    }

    /// Records `SubAfter` for the messages of `ctx`: the listener's verdict and time per message.
    pub(crate) fn after_consume(&self, ctx: ConsumeTrace, success: bool, context_code: i32) {
        let per_message = ctx.started.elapsed().as_millis() / ctx.batch_len as u128;
        let cost_ms = i32::try_from(per_message).unwrap_or(i32::MAX);
        let now = crate::producer::now_ms();
        for (msg_id, msg_keys) in ctx.messages {
            let record = TraceRecord::SubAfter(SubAfterTrace {
                request_id: ctx.request_id.clone(),
                msg_id,
                cost_ms,
                success,
                keys: msg_keys,
                context_code,
                timestamp: Some(now),
                group: Some(ctx.group.clone()),
            });
            self.append(&ctx.topic, record);
        }
    }
}
