//! The broker's own remoting client: its registrations with the NameServers and a slave's
//! metadata sync from its master. With ACL on, the master checks that sync like any request, so
//! the client signs as the account of Apache's `innerClientAuthenticationCredentials` (JSON
//! `{"accessKey":…,"secretKey":…}`) or, in rmq, of the files `accessKey` and `secretKey` in
//! `innerClientCredentialsDir` (a mounted Kubernetes Secret). It speaks TLS when `tls.enable`
//! (by default with `tls.server.mode=enforcing`), with Apache's `tls.client.*` files. Changed
//! files are picked up at the next call: the client is rebuilt when any of them changes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rmq_remoting::acl::Credentials;
use rmq_remoting::config::{ConfigError, Properties};
use rmq_remoting::rpc::tls::{ClientTlsSettings, TlsMode};
use rmq_remoting::rpc::{ClientConfig, RemotingClient};
use serde::Deserialize;
use tracing::{info, warn};

/// How the broker's outbound client signs and encrypts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboundConfig {
    /// `innerClientAuthenticationCredentials`.
    pub credentials: Option<Credentials>,
    /// `innerClientCredentialsDir` (rmq): files `accessKey` and `secretKey`, re-read on change.
    pub credentials_dir: Option<PathBuf>,
    /// `tls.enable` and `tls.client.*`.
    pub tls: ClientTlsSettings,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialsJson {
    access_key: String,
    secret_key: String,
}

impl OutboundConfig {
    /// Reads the keys; `server_tls` is this broker's `tls.server.mode`, which sets the default
    /// of `tls.enable`.
    pub fn load(props: &mut Properties, server_tls: TlsMode) -> Result<Self, ConfigError> {
        let key = "innerClientAuthenticationCredentials";
        let credentials = match props.raw(key).filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(json) => {
                let parsed: CredentialsJson = serde_json::from_str(&json).map_err(|e| ConfigError::Invalid {
                    key: key.into(),
                    value: "<hidden>".into(),
                    reason: format!("expected {{\"accessKey\":\"…\",\"secretKey\":\"…\"}}: {e}"),
                })?;
                Some(Credentials::new(parsed.access_key, parsed.secret_key))
            }
        };
        Ok(OutboundConfig {
            credentials,
            credentials_dir: props.raw("innerClientCredentialsDir").filter(|v| !v.is_empty()).map(PathBuf::from),
            tls: ClientTlsSettings::load(props, server_tls)?,
        })
    }

    /// The files whose changes rebuild the client.
    fn files(&self) -> Vec<PathBuf> {
        let dir = self.credentials_dir.iter().flat_map(|d| [d.join("accessKey"), d.join("secretKey")]);
        let tls = [&self.tls.trust_cert_path, &self.tls.cert_path, &self.tls.key_path].into_iter().flatten().cloned();
        dir.chain(tls).collect()
    }

    /// A client configuration from the files as they are now.
    fn client_config(&self) -> Result<ClientConfig, String> {
        let credentials = match &self.credentials_dir {
            None => self.credentials.clone(),
            Some(dir) => Some(read_credentials(dir)?),
        };
        let tls = self.tls.client_tls().map_err(|e| e.to_string())?;
        Ok(ClientConfig { credentials, tls, ..ClientConfig::default() })
    }
}

fn read_credentials(dir: &Path) -> Result<Credentials, String> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path)
            .map(|v| v.trim().to_owned())
            .map_err(|e| format!("innerClientCredentialsDir: {}: {e}", path.display()))
    };
    Ok(Credentials::new(read("accessKey")?, read("secretKey")?))
}

type Stamp = Vec<(Option<SystemTime>, u64)>;

fn stamp(files: &[PathBuf]) -> Stamp {
    let one = |p: &PathBuf| std::fs::metadata(p).map_or((None, 0), |m| (m.modified().ok(), m.len()));
    files.iter().map(one).collect()
}

/// The broker's outbound client, rebuilt when its files change.
pub struct Outbound {
    config: OutboundConfig,
    files: Vec<PathBuf>,
    current: Mutex<(Stamp, Arc<RemotingClient>)>,
}

impl Outbound {
    /// Builds the client; fails when a configured file does not load.
    pub fn new(config: OutboundConfig) -> Result<Outbound, String> {
        let files = config.files();
        let stamp = stamp(&files);
        let client = Arc::new(RemotingClient::new(config.client_config()?));
        Ok(Outbound { config, files, current: Mutex::new((stamp, client)) })
    }

    /// The client for a call: rebuilt first when a file changed. A changed file that does not
    /// load keeps the previous client, with a warning.
    pub fn client(&self) -> Arc<RemotingClient> {
        let mut current = self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.files.is_empty() {
            return Arc::clone(&current.1);
        }
        let now = stamp(&self.files);
        if now != current.0 {
            match self.config.client_config() {
                Ok(config) => {
                    info!("outbound credentials or TLS files changed; reconnecting with them");
                    current.1 = Arc::new(RemotingClient::new(config));
                }
                Err(why) => {
                    warn!(%why, "outbound credentials or TLS files changed but do not load; keeping the previous ones")
                }
            }
            current.0 = now;
        }
        Arc::clone(&current.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<OutboundConfig, ConfigError> {
        let mut props = Properties::parse(text).expect("parses");
        OutboundConfig::load(&mut props, TlsMode::Permissive)
    }

    #[test]
    fn apache_inner_credentials_are_json_and_a_bad_value_is_refused() {
        let config = load(r#"innerClientAuthenticationCredentials={"accessKey":"brokerapp","secretKey":"s3cret-key"}"#)
            .expect("loads");
        assert_eq!(config.credentials, Some(Credentials::new("brokerapp", "s3cret-key")));
        assert!(load("innerClientAuthenticationCredentials=brokerapp:secret").is_err());
        assert_eq!(load("").expect("loads"), OutboundConfig::default());
    }

    #[test]
    fn credentials_in_a_directory_are_reread_when_they_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("accessKey"), "brokerapp\n").expect("write");
        std::fs::write(dir.path().join("secretKey"), "first-secret").expect("write");
        let config = load(&format!("innerClientCredentialsDir={}", dir.path().display())).expect("loads");
        assert_eq!(
            config.client_config().expect("reads").credentials,
            Some(Credentials::new("brokerapp", "first-secret"))
        );
        let outbound = Outbound::new(config).expect("builds");
        let first = outbound.client();
        assert!(Arc::ptr_eq(&first, &outbound.client()), "unchanged files keep the client");
        std::fs::write(dir.path().join("secretKey"), "second-secret-longer").expect("write");
        assert!(!Arc::ptr_eq(&first, &outbound.client()), "a changed file rebuilds the client");
    }

    #[test]
    fn tls_is_on_by_default_only_when_the_server_enforces_it() {
        let mut props = Properties::parse("").expect("parses");
        assert!(!ClientTlsSettings::load(&mut props, TlsMode::Permissive).expect("loads").enable);
        assert!(ClientTlsSettings::load(&mut props, TlsMode::Enforcing).expect("loads").enable);
        let mut props = Properties::parse("tls.enable=true\ntls.client.authServer=true").expect("parses");
        let settings = ClientTlsSettings::load(&mut props, TlsMode::Permissive).expect("loads");
        assert!(settings.client_tls().is_err(), "verifying the server needs a trust file");
    }
}
