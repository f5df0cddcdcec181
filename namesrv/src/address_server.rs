//! Apache's NameServer address endpoint: `GET /rocketmq/<subgroup>` answers the NameServer list
//! (`host:port;host:port`). A client without `namesrvAddr` fetches it from
//! `http://<rocketmq.namesrv.domain>[:8080]/rocketmq/<rocketmq.namesrv.domain.subgroup>` at start
//! and every two minutes, so it follows NameServers as they come and go. The list comes from
//! `addressListFile`, read at every request (the operator keeps it current through a
//! ConfigMap); on `bindAddress:addressServerPort`, off when the port is 0.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::NamesrvConfig;

struct Served {
    file: PathBuf,
    subgroup: String,
}

/// Binds the endpoint when `addressServerPort` is set. A port that cannot be bound is an error:
/// clients depending on it would never find the NameServers.
pub async fn bind(config: &NamesrvConfig) -> std::io::Result<Option<TcpListener>> {
    if config.address_server_port == 0 {
        return Ok(None);
    }
    let listener = TcpListener::bind((config.bind_address.as_str(), config.address_server_port)).await?;
    info!(addr = ?listener.local_addr().ok(), subgroup = %config.address_subgroup,
        file = %config.address_list_file.display(), "serving the NameServer address list");
    Ok(Some(listener))
}

/// Serves the endpoint on `listener` in a background task (abort it to stop).
pub fn spawn(listener: TcpListener, config: &NamesrvConfig) -> JoinHandle<()> {
    let served = Arc::new(Served { file: config.address_list_file.clone(), subgroup: config.address_subgroup.clone() });
    let app = Router::new().route("/rocketmq/{subgroup}", get(addresses)).with_state(served);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            error!(error = %e, "address endpoint failed");
        }
    })
}

async fn addresses(State(served): State<Arc<Served>>, Path(subgroup): Path<String>) -> (StatusCode, String) {
    if subgroup != served.subgroup {
        return (StatusCode::NOT_FOUND, format!("no address list {subgroup}\n"));
    }
    match tokio::fs::read_to_string(&served.file).await {
        Ok(text) => match normalize(&text) {
            Some(list) => (StatusCode::OK, list),
            None => (StatusCode::SERVICE_UNAVAILABLE, "the address list is empty\n".into()),
        },
        Err(e) => {
            warn!(file = %served.file.display(), error = %e, "cannot read the address list");
            (StatusCode::SERVICE_UNAVAILABLE, "the address list is unavailable\n".into())
        }
    }
}

/// The list as clients expect it: addresses separated by `;`, whatever separators (`;`, `,`,
/// whitespace, newlines) the file used; `None` when it holds none.
fn normalize(text: &str) -> Option<String> {
    let addrs: Vec<&str> =
        text.split(|c: char| c == ';' || c == ',' || c.is_whitespace()).filter(|a| !a.is_empty()).collect();
    (!addrs.is_empty()).then(|| addrs.join(";"))
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn any_separator_becomes_a_semicolon_and_an_empty_file_is_no_list() {
        assert_eq!(normalize("a:9876;b:9876\n").as_deref(), Some("a:9876;b:9876"));
        assert_eq!(normalize("a:9876\nb:9876, c:9876").as_deref(), Some("a:9876;b:9876;c:9876"));
        assert_eq!(normalize(" \n;"), None);
    }
}
