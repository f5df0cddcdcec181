//! Network probes for readiness: "does the port accept connections" and the NameServers' cluster info
//! (`GET_BROKER_CLUSTER_INFO`, request code 106) through `rmq-remoting`.
//!
//! The remoting client is async while the testkit is synchronous and may be called from inside a tokio
//! runtime (where `block_on` panics), so each query runs on a fresh thread with its own current-thread
//! runtime.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use rmq_remoting::rpc::{ClientConfig, RemotingClient};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

/// Timeout of one cluster-info request (connect and response each).
const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// Whether something accepts TCP connections on `127.0.0.1:port`.
pub(crate) fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_millis(500)).is_ok()
}

/// The `GET_BROKER_CLUSTER_INFO` response body of each NameServer in `addrs` (in order), as text, or why
/// it could not be had.
pub(crate) fn cluster_infos(addrs: &[String]) -> Vec<Result<String, String>> {
    let addrs = addrs.to_vec();
    let n = addrs.len();
    let worker = std::thread::Builder::new().name("rmq-testkit-probe".into()).spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => return vec![Err(format!("cannot build a tokio runtime: {e}")); addrs.len()],
        };
        rt.block_on(async {
            let client = RemotingClient::new(ClientConfig { connect_timeout: QUERY_TIMEOUT, ..Default::default() });
            let mut out = Vec::with_capacity(addrs.len());
            for addr in &addrs {
                out.push(cluster_info(&client, addr).await);
            }
            out
        })
    });
    match worker {
        Ok(handle) => handle.join().unwrap_or_else(|_| vec![Err("cluster-info probe thread panicked".into()); n]),
        Err(e) => vec![Err(format!("cannot spawn the cluster-info probe thread: {e}")); n],
    }
}

async fn cluster_info(client: &RemotingClient, addr: &str) -> Result<String, String> {
    let request = RemotingCommand::request(RequestCode::GetBrokerClusterInfo);
    let response = client.invoke(addr, request, QUERY_TIMEOUT).await.map_err(|e| e.to_string())?;
    if response.code != ResponseCode::Success.value() {
        return Err(format!("response code {} ({:?})", response.code, response.remark));
    }
    Ok(String::from_utf8_lossy(&response.body).into_owned())
}
