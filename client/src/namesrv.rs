//! Where the NameServer addresses come from: an explicit list, the `NAMESRV_ADDR` environment
//! variable, or an HTTP endpoint answering `host:port;host:port` (the Java client's
//! `rocketmq.namesrv.domain` address server).

use std::time::Duration;

use crate::error::{ClientError, Result};

/// The environment variable the Java tools and clients read.
pub const NAMESRV_ADDR_ENV: &str = "NAMESRV_ADDR";

/// How a client finds its NameServers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NameServerSource {
    /// A fixed list (`host:port` each); `"a:9876;b:9876"` strings are split on `;`.
    List(Vec<String>),
    /// Read `NAMESRV_ADDR` when the client starts.
    #[default]
    Env,
    /// Fetch the list from an HTTP address server, e.g. `http://nsaddr.example:8080/rocketmq/nsaddr`.
    Http(String),
}

impl NameServerSource {
    /// Resolves the addresses, failing with [`ClientError::Config`] if there are none.
    pub async fn resolve(&self) -> Result<Vec<String>> {
        let addrs = match self {
            NameServerSource::List(list) => list.iter().flat_map(|s| split_addrs(s)).collect(),
            NameServerSource::Env => match std::env::var(NAMESRV_ADDR_ENV) {
                Ok(v) => split_addrs(&v),
                Err(_) => {
                    return Err(ClientError::Config(format!(
                        "no NameServer address: set one on the builder or export {NAMESRV_ADDR_ENV}"
                    )))
                }
            },
            NameServerSource::Http(url) => fetch_http(url.clone()).await?,
        };
        if addrs.is_empty() {
            return Err(ClientError::Config(format!("no NameServer address in {self:?}")));
        }
        for a in &addrs {
            validate_addr(a)?;
        }
        Ok(addrs)
    }
}

/// Splits `a:1;b:2` (also tolerating spaces and commas) into addresses.
pub fn split_addrs(s: &str) -> Vec<String> {
    s.split([';', ',', ' ', '\n']).map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect()
}

fn validate_addr(addr: &str) -> Result<()> {
    let port = addr.rsplit_once(':').map(|(_, p)| p);
    match port.and_then(|p| p.parse::<u16>().ok()) {
        Some(_) => Ok(()),
        None => Err(ClientError::Config(format!("NameServer address {addr:?} is not host:port"))),
    }
}

async fn fetch_http(url: String) -> Result<Vec<String>> {
    let fetch = move || -> std::result::Result<String, String> {
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(3)).build();
        let response = agent.get(&url).call().map_err(|e| format!("{url}: {e}"))?;
        response.into_string().map_err(|e| format!("{url}: {e}"))
    };
    let body = tokio::task::spawn_blocking(fetch)
        .await
        .map_err(|e| ClientError::Config(format!("address server lookup failed: {e}")))?
        .map_err(|e| ClientError::Config(format!("address server lookup failed: {e}")))?;
    Ok(split_addrs(&body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn list_splits_semicolon_separated_addresses() {
        let src = NameServerSource::List(vec!["a:1;b:2".into(), " c:3 ".into()]);
        assert_eq!(src.resolve().await.ok(), Some(vec!["a:1".to_owned(), "b:2".into(), "c:3".into()]));
    }

    #[tokio::test]
    async fn address_without_port_is_a_config_error() {
        let src = NameServerSource::List(vec!["localhost".into()]);
        assert!(matches!(src.resolve().await, Err(ClientError::Config(_))));
    }

    #[tokio::test]
    async fn http_source_reads_the_address_server_body() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let body = "10.0.0.1:9876;10.0.0.2:9876\n";
            let resp = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len());
            let _ = s.write_all(resp.as_bytes()).await;
        });
        let src = NameServerSource::Http(format!("http://127.0.0.1:{port}/rocketmq/nsaddr"));
        assert_eq!(src.resolve().await.ok(), Some(vec!["10.0.0.1:9876".to_owned(), "10.0.0.2:9876".into()]));
    }
}
