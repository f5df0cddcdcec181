//! How callers reach a gRPC admin port: plaintext (`http://host:port`), or mutual TLS with a
//! client certificate and the CA that signed the servers' certificates. Shared by the failover
//! controller, the broker (its fenced group's peers) and `rmqadmin`.

use std::path::PathBuf;
use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// PEM data, in a file or already read (from a Kubernetes Secret, say).
#[derive(Clone, PartialEq, Eq)]
pub enum Pem {
    /// A file, read when a channel is made ([`ClientTls::stamp`] tells when it changed).
    File(PathBuf),
    /// The bytes themselves.
    Inline(Vec<u8>),
}

impl std::fmt::Debug for Pem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pem::File(path) => write!(f, "File({})", path.display()),
            Pem::Inline(bytes) => write!(f, "Inline({} bytes)", bytes.len()),
        }
    }
}

impl From<PathBuf> for Pem {
    fn from(path: PathBuf) -> Pem {
        Pem::File(path)
    }
}

impl Pem {
    /// The PEM bytes.
    pub fn read(&self) -> Result<Vec<u8>, String> {
        match self {
            Pem::File(path) => std::fs::read(path).map_err(|e| format!("{}: {e}", path.display())),
            Pem::Inline(bytes) => Ok(bytes.clone()),
        }
    }
}

/// A client's certificate, key and trusted CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTls {
    /// The CA that signed the admin ports' certificates.
    pub ca: Pem,
    /// This client's certificate (its subject CN names it to the server).
    pub cert: Pem,
    /// This client's private key.
    pub key: Pem,
    /// The name the server's certificate must carry, when not the host of the address.
    pub domain: Option<String>,
}

/// When the files of a [`ClientTls`] last changed (modification time and size of each; a hash
/// of the bytes for inline PEM).
pub type Stamp = Vec<(Option<std::time::SystemTime>, u64)>;

impl ClientTls {
    /// The state of the files: a different stamp means a channel made now would differ.
    pub fn stamp(&self) -> Stamp {
        [&self.ca, &self.cert, &self.key]
            .into_iter()
            .map(|pem| match pem {
                Pem::File(path) => std::fs::metadata(path).map_or((None, 0), |m| (m.modified().ok(), m.len())),
                Pem::Inline(bytes) => {
                    use std::hash::{Hash, Hasher};
                    let mut hasher = std::collections::hash_map::DefaultHasher::new();
                    bytes.hash(&mut hasher);
                    (None, hasher.finish())
                }
            })
            .collect()
    }

    fn config(&self) -> Result<ClientTlsConfig, String> {
        let config = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(self.ca.read()?))
            .identity(Identity::from_pem(self.cert.read()?, self.key.read()?));
        Ok(match &self.domain {
            Some(domain) => config.domain_name(domain),
            None => config,
        })
    }
}

/// A lazily connecting channel to the admin port at `addr` (`host:port` or a URI), with
/// `timeout` for connecting and for each call; over mutual TLS when `tls` is given.
pub fn channel(addr: &str, tls: Option<&ClientTls>, timeout: Duration) -> Result<Channel, String> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let uri = if addr.contains("://") { addr.to_owned() } else { format!("{scheme}://{addr}") };
    let mut endpoint = Endpoint::from_shared(uri).map_err(|e| format!("'{addr}' is no address: {e}"))?;
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls.config()?).map_err(|e| format!("TLS for '{addr}': {e}"))?;
    }
    Ok(endpoint.connect_timeout(timeout).timeout(timeout).connect_lazy())
}

/// The command-line flags of [`ClientTls`], shared by `rmq-controller` and `rmqadmin`.
#[cfg(feature = "cli")]
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClientTlsArgs {
    /// CA of the brokers' gRPC admin certificates: with --admin-tls-cert and --admin-tls-key,
    /// calls to the brokers' gRPC admin ports use mutual TLS.
    #[arg(long, env = "RMQ_ADMIN_TLS_CA", global = true)]
    pub admin_tls_ca: Option<PathBuf>,
    /// This client's certificate (its subject CN must be an admin account when the broker has ACL on).
    #[arg(long, env = "RMQ_ADMIN_TLS_CERT", global = true)]
    pub admin_tls_cert: Option<PathBuf>,
    /// This client's private key.
    #[arg(long, env = "RMQ_ADMIN_TLS_KEY", global = true)]
    pub admin_tls_key: Option<PathBuf>,
    /// The name the brokers' certificates carry, when not the host of their addresses.
    #[arg(long, env = "RMQ_ADMIN_TLS_DOMAIN", global = true)]
    pub admin_tls_domain: Option<String>,
}

#[cfg(feature = "cli")]
impl ClientTlsArgs {
    /// The TLS settings, `None` without any flag; an error when only some are given.
    pub fn into_client_tls(self) -> Result<Option<ClientTls>, String> {
        match (self.admin_tls_ca, self.admin_tls_cert, self.admin_tls_key) {
            (None, None, None) => Ok(None),
            (Some(ca), Some(cert), Some(key)) => {
                Ok(Some(ClientTls { ca: ca.into(), cert: cert.into(), key: key.into(), domain: self.admin_tls_domain }))
            }
            _ => Err("--admin-tls-ca, --admin-tls-cert and --admin-tls-key go together".into()),
        }
    }
}
