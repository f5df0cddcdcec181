//! Helpers shared by the tests that run against the real control plane (`tests/k8s-operator.sh`).

#![allow(dead_code)] // each test file uses a part

use std::time::{Duration, Instant};

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::Client;

/// How long a test waits for the control plane or the operator to act.
pub const WAIT: Duration = Duration::from_secs(60);

/// A client from the kubeconfig file named by the environment variable `var`.
pub async fn client_from(var: &str) -> Client {
    let path = std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: start hack/k8s-env/up.sh first"));
    let config = Kubeconfig::read_from(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let config = kube::Config::from_custom_kubeconfig(config, &KubeConfigOptions::default()).await.expect("kubeconfig");
    Client::try_from(config).expect("client")
}

/// The cluster admin (`KUBECONFIG`).
pub async fn admin() -> Client {
    client_from("KUBECONFIG").await
}

/// Polls `check` until it returns `Some`, or panics with `what` after [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A plain HTTP GET on 127.0.0.1:`port`: the status code and the body.
pub async fn http_get(port: u16, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("request");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.expect("response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    (status, body.to_owned())
}
