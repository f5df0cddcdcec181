//! `rocketmq_rpc_latency`: one histogram child per (request code, response code, long polling,
//! result), labelled with Apache's lower-case code names (`send_message_v2`, `query_not_found`).
//! Children of known codes are created on first use into a lock-free table, so recording a
//! request costs a code lookup and atomic adds.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::OnceLock;

use prometheus::{Histogram, HistogramVec};
use rmq_remoting::code::apache_name;
use rmq_remoting::{RequestCode, ResponseCode};

use super::names::{bool_label, PROTOCOL_REMOTING};

tokio::task_local! {
    /// Set by a pull that waited for messages (long polling), within [`scope`].
    static LONG_POLLED: Cell<bool>;
}

/// Marks the current request as held by long polling (`is_long_polling="true"`).
pub fn mark_long_polling() {
    let _ = LONG_POLLED.try_with(|held| held.set(true));
}

/// Runs a request handler; returns its output and whether it was marked as long polling.
pub async fn scope<F: Future>(handler: F) -> (F::Output, bool) {
    LONG_POLLED
        .scope(Cell::new(false), async {
            let out = handler.await;
            (out, LONG_POLLED.with(Cell::get))
        })
        .await
}

/// One request code's children: response codes × long polling × result (success / oneway).
type Row = Box<[OnceLock<Histogram>]>;

/// The `rocketmq_rpc_latency` family and its cached children.
pub struct RpcLatency {
    family: HistogramVec,
    request_index: HashMap<i32, usize, foldhash::fast::RandomState>,
    request_names: Vec<String>,
    response_index: HashMap<i32, usize, foldhash::fast::RandomState>,
    response_names: Vec<String>,
    row_len: usize,
    cells: Box<[OnceLock<Row>]>,
    /// Off with `metricsExporterType=DISABLE`.
    enabled: bool,
}

impl RpcLatency {
    pub(super) fn new(family: HistogramVec, enabled: bool) -> Self {
        let request_names: Vec<String> = RequestCode::ALL.iter().map(apache_name).collect();
        let request_index = RequestCode::ALL.iter().enumerate().map(|(i, c)| (c.value(), i)).collect();
        let responses: Vec<ResponseCode> =
            (-10..=2000).map(ResponseCode::from_value).filter(|c| !matches!(c, ResponseCode::Unknown(_))).collect();
        let response_names = responses.iter().map(apache_name).collect();
        let response_index = responses.iter().enumerate().map(|(i, c)| (c.value(), i)).collect();
        let row_len = responses.len() * 4;
        let cells = (0..RequestCode::ALL.len()).map(|_| OnceLock::new()).collect();
        RpcLatency { family, request_index, request_names, response_index, response_names, row_len, cells, enabled }
    }

    fn labels<'a>(request: &'a str, response: &'a str, long_polling: bool, oneway: bool) -> [&'a str; 5] {
        [PROTOCOL_REMOTING, request, response, bool_label(long_polling), if oneway { "oneway" } else { "success" }]
    }

    /// Records one handled request.
    pub fn observe(&self, request: i32, response: i32, long_polling: bool, oneway: bool, millis: f64) {
        if !self.enabled {
            return;
        }
        let known = self.request_index.get(&request).zip(self.response_index.get(&response));
        let Some((&req, &resp)) = known else {
            // A code outside Apache's tables: Apache labels it with the number.
            let (request, response) = (self.request_name(request), self.response_name(response));
            self.family.with_label_values(&Self::labels(&request, &response, long_polling, oneway)).observe(millis);
            return;
        };
        let row = self.cells[req].get_or_init(|| (0..self.row_len).map(|_| OnceLock::new()).collect());
        let slot = resp * 4 + usize::from(long_polling) * 2 + usize::from(oneway);
        let child = row[slot].get_or_init(|| {
            let labels = Self::labels(&self.request_names[req], &self.response_names[resp], long_polling, oneway);
            self.family.with_label_values(&labels)
        });
        child.observe(millis);
    }

    fn request_name(&self, code: i32) -> String {
        self.request_index.get(&code).map_or_else(|| code.to_string(), |&i| self.request_names[i].clone())
    }

    fn response_name(&self, code: i32) -> String {
        self.response_index.get(&code).map_or_else(|| code.to_string(), |&i| self.response_names[i].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn scope_reports_long_polling() {
        let ((), held) = scope(async { mark_long_polling() }).await;
        assert!(held);
        let ((), held) = scope(async {}).await;
        assert!(!held);
        mark_long_polling(); // outside a scope: ignored
    }
}
