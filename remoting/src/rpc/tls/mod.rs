//! TLS on a remoting port, with Apache's settings (`tls.server.mode`: `disabled`, `permissive`
//! (TLS and plaintext on the same port, told apart by the first byte), `enforcing`;
//! `tls.server.need.client.auth`: `none`, `optional`, `require`; PEM certificate, key and
//! trusted client CAs). The certificate and key files are checked at every accepted TLS
//! connection and re-read when they changed, so a renewed certificate is served without a
//! restart. Without files and with `tls.test.mode.enable` (Apache's default), a self-signed
//! certificate is made at start, as Apache does.
//!
//! [`client`] is the other side: what a client trusts and presents when it connects over TLS.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use crate::config::{ConfigError, Properties};

mod client;

pub use client::{ClientTls, ClientTlsSettings};

/// The first byte of a TLS record carrying a handshake.
const TLS_HANDSHAKE: u8 = 0x16;
/// How long a new connection may take to send its first byte and finish the handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// `tls.server.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plaintext only.
    Disabled,
    /// TLS or plaintext, whichever the client speaks (Apache's default).
    Permissive,
    /// TLS only; plaintext connections are closed.
    Enforcing,
}

impl std::str::FromStr for TlsMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "disabled" => Ok(TlsMode::Disabled),
            "permissive" => Ok(TlsMode::Permissive),
            "enforcing" => Ok(TlsMode::Enforcing),
            _ => Err("expected disabled, permissive or enforcing".into()),
        }
    }
}

/// `tls.server.need.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Client certificates are not asked for.
    None,
    /// Asked for and verified when sent.
    Optional,
    /// Required and verified.
    Require,
}

impl std::str::FromStr for ClientAuth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(ClientAuth::None),
            "optional" => Ok(ClientAuth::Optional),
            "require" => Ok(ClientAuth::Require),
            _ => Err("expected none, optional or require".into()),
        }
    }
}

/// TLS settings of a server.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// `tls.server.mode` (permissive).
    pub mode: TlsMode,
    /// `tls.server.certPath`: PEM certificate chain.
    pub cert_path: Option<PathBuf>,
    /// `tls.server.keyPath`: PEM private key (PKCS#8, PKCS#1 or SEC1, unencrypted).
    pub key_path: Option<PathBuf>,
    /// `tls.server.trustCertPath`: PEM CAs client certificates are verified against.
    pub trust_cert_path: Option<PathBuf>,
    /// `tls.server.need.client.auth` (none).
    pub client_auth: ClientAuth,
    /// `tls.test.mode.enable` (true): without certificate files, serve a self-signed one.
    pub test_mode: bool,
}

impl TlsSettings {
    /// Reads Apache's `tls.*` keys, first from the file `tls.config.file` names (if any), then
    /// from `props` itself, which wins.
    pub fn load(props: &mut Properties) -> Result<Self, ConfigError> {
        if let Some(file) = props.raw("tls.config.file").filter(|f| !f.is_empty()) {
            let from_file = Properties::load(Path::new(&file))?;
            for (key, value) in from_file.iter() {
                if !props.contains(key) {
                    props.set(key, value.clone());
                }
            }
        }
        let path = |props: &mut Properties, key: &str| -> Result<Option<PathBuf>, ConfigError> {
            Ok(props.raw(key).filter(|v| !v.is_empty()).map(PathBuf::from))
        };
        let settings = TlsSettings {
            mode: props.get("tls.server.mode", TlsMode::Permissive)?,
            cert_path: path(props, "tls.server.certPath")?,
            key_path: path(props, "tls.server.keyPath")?,
            trust_cert_path: path(props, "tls.server.trustCertPath")?,
            client_auth: props.get("tls.server.need.client.auth", ClientAuth::None)?,
            test_mode: props.get("tls.test.mode.enable", true)?,
        };
        if props.raw("tls.server.keyPassword").is_some_and(|p| !p.is_empty()) {
            return Err(ConfigError::Invalid {
                key: "tls.server.keyPassword".into(),
                value: "<hidden>".into(),
                reason: "encrypted keys are not supported; decrypt it (openssl pkcs8 -nocrypt)".into(),
            });
        }
        // Apache also has tls.server.authClient; need.client.auth says the same thing.
        let _ = props.raw("tls.server.authClient");
        Ok(settings)
    }
}

/// The TLS side of a server.
pub struct TlsServer {
    mode: TlsMode,
    source: Source,
    /// ALPN protocols offered (`h2` for a gRPC server), none for remoting.
    alpn: Vec<Vec<u8>>,
}

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.source {
            Source::Fixed(_) => "self-signed",
            Source::Files { .. } => "files",
        };
        f.debug_struct("TlsServer").field("mode", &self.mode).field("certificate", &source).finish()
    }
}

enum Source {
    /// A fixed acceptor (a certificate made at start).
    Fixed(TlsAcceptor),
    /// Files, re-read when they change.
    Files { settings: TlsSettings, current: Mutex<(FileStamp, TlsAcceptor)> },
}

/// Modification time and size of the certificate, key and trusted-CA files.
type FileStamp = [(Option<SystemTime>, u64); 3];

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("TLS: {0}")]
pub struct TlsError(pub(crate) String);

impl TlsServer {
    /// The TLS side of a server with `settings`; `None` when TLS is disabled.
    pub fn new(settings: &TlsSettings) -> Result<Option<Arc<TlsServer>>, TlsError> {
        TlsServer::with_alpn(settings, Vec::new())
    }

    /// Like [`TlsServer::new`], offering the ALPN protocols `alpn` (`h2` for a gRPC server).
    pub fn with_alpn(settings: &TlsSettings, alpn: Vec<Vec<u8>>) -> Result<Option<Arc<TlsServer>>, TlsError> {
        if settings.mode == TlsMode::Disabled {
            return Ok(None);
        }
        let source = match (&settings.cert_path, &settings.key_path) {
            (Some(_), Some(_)) => {
                let stamp = stamp(settings);
                let acceptor = acceptor_from_files(settings, &alpn)?;
                Source::Files { settings: settings.clone(), current: Mutex::new((stamp, acceptor)) }
            }
            (None, None) if settings.test_mode && settings.client_auth != ClientAuth::None => return Err(TlsError(
                "tls.server.need.client.auth needs tls.server.certPath, keyPath and trustCertPath (the test mode's \
                     self-signed certificate cannot verify clients)"
                    .into(),
            )),
            (None, None) if settings.test_mode => {
                info!("TLS test mode: serving a self-signed certificate (set tls.server.certPath and keyPath for a real one)");
                Source::Fixed(self_signed()?)
            }
            _ => {
                return Err(TlsError(
                    "tls.server.certPath and tls.server.keyPath must both be set (or tls.server.mode=disabled)".into(),
                ))
            }
        };
        Ok(Some(Arc::new(TlsServer { mode: settings.mode, source, alpn })))
    }

    /// The acceptor for a new connection, after re-reading changed files; when they do not load,
    /// the previous certificate is kept and the error logged.
    fn acceptor(&self) -> TlsAcceptor {
        match &self.source {
            Source::Fixed(acceptor) => acceptor.clone(),
            Source::Files { settings, current } => {
                let mut current = current.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let now = stamp(settings);
                if now != current.0 {
                    match acceptor_from_files(settings, &self.alpn) {
                        Ok(acceptor) => {
                            info!("TLS certificate files changed; serving the new certificate");
                            *current = (now, acceptor);
                        }
                        Err(e) => {
                            warn!(error = %e, "TLS certificate files changed but do not load; keeping the previous one");
                            current.0 = now;
                        }
                    }
                }
                current.1.clone()
            }
        }
    }

    /// Decides what `stream` speaks and, for TLS, completes the handshake. `Ok(None)`: a
    /// plaintext connection (allowed in permissive mode). Errors close the connection.
    pub async fn accept(&self, stream: TcpStream) -> Result<Accepted, String> {
        let mut first = [0u8; 1];
        let peeked = tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first))
            .await
            .map_err(|_| "no data within the handshake timeout".to_owned())?
            .map_err(|e| e.to_string())?;
        if peeked == 0 {
            return Err("closed before sending anything".into());
        }
        if first[0] != TLS_HANDSHAKE {
            return match self.mode {
                TlsMode::Enforcing => Err("plaintext connection refused: tls.server.mode=enforcing".into()),
                _ => Ok(Accepted::Plain(stream)),
            };
        }
        let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor().accept(stream))
            .await
            .map_err(|_| "TLS handshake timed out".to_owned())?
            .map_err(|e| format!("TLS handshake failed: {e}"))?;
        Ok(Accepted::Tls(Box::new(tls)))
    }
}

/// An accepted connection.
pub enum Accepted {
    /// Plaintext.
    Plain(TcpStream),
    /// TLS, handshake done.
    Tls(Box<TlsStream<TcpStream>>),
}

fn stamp(settings: &TlsSettings) -> FileStamp {
    let one = |path: &Option<PathBuf>| {
        path.as_ref().and_then(|p| std::fs::metadata(p).ok()).map_or((None, 0), |m| (m.modified().ok(), m.len()))
    };
    [one(&settings.cert_path), one(&settings.key_path), one(&settings.trust_cert_path)]
}

pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn acceptor_from_files(settings: &TlsSettings, alpn: &[Vec<u8>]) -> Result<TlsAcceptor, TlsError> {
    let (Some(cert_path), Some(key_path)) = (&settings.cert_path, &settings.key_path) else {
        return Err(TlsError("no certificate files".into()));
    };
    let (certs, key) = load_identity(cert_path, key_path)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(e.to_string()))?;
    let builder = match (settings.client_auth, &settings.trust_cert_path) {
        (ClientAuth::None, _) => builder.with_no_client_auth(),
        (_, None) => return Err(TlsError("client authentication needs tls.server.trustCertPath".into())),
        (auth, Some(trust)) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(load_roots(trust)?), provider());
            let verifier = match auth {
                ClientAuth::Optional => verifier.allow_unauthenticated(),
                _ => verifier,
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| TlsError(e.to_string()))?)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| TlsError(format!("{} and {}: {e}", cert_path.display(), key_path.display())))?;
    config.alpn_protocols = alpn.to_vec();
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A certificate chain and its private key from the PEM files `cert_path` and `key_path`
/// (a server's identity, or a client's).
pub(crate) fn load_identity(
    cert_path: &Path,
    key_path: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let certs = CertificateDer::pem_file_iter(cert_path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError(format!("certificate {}: {e}", cert_path.display())))?;
    if certs.is_empty() {
        return Err(TlsError(format!("certificate {}: no certificate in the file", cert_path.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| TlsError(format!("private key {}: {e}", key_path.display())))?;
    Ok((certs, key))
}

/// The CA certificates of the PEM file `path`.
pub(crate) fn load_roots(path: &Path) -> Result<rustls::RootCertStore, TlsError> {
    let pem = std::fs::read(path).map_err(|e| TlsError(format!("{}: {e}", path.display())))?;
    roots_from_pem(&pem, &path.display().to_string())
}

/// The CA certificates of the PEM bytes `pem`; errors name them `what`.
pub(crate) fn roots_from_pem(pem: &[u8], what: &str) -> Result<rustls::RootCertStore, TlsError> {
    let failed = |e: &dyn std::fmt::Display| TlsError(format!("{what}: {e}"));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        roots.add(cert.map_err(|e| failed(&e))?).map_err(|e| failed(&e))?;
    }
    Ok(roots)
}

fn self_signed() -> Result<TlsAcceptor, TlsError> {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).map_err(|e| TlsError(e.to_string()))?;
    let key = PrivateKeyDer::try_from(made.key_pair.serialize_der()).map_err(|e| TlsError(e.to_string()))?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key)
        .map_err(|e| TlsError(e.to_string()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
