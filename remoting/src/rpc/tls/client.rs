//! The client side of remoting TLS: [`ClientTls`], what a client trusts (a CA file, or anything
//! in Apache's client test mode) and the certificate it presents, and [`ClientTlsSettings`],
//! Apache's client keys (`tls.enable`, `tls.client.*`) a server's own outbound connections use.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use tokio::net::TcpStream;

use super::{load_identity, load_roots, provider, roots_from_pem, TlsError, TlsMode, HANDSHAKE_TIMEOUT};
use crate::config::{ConfigError, Properties};

/// Apache's client-side TLS keys, for a server's own outbound connections (a broker's
/// registrations with the NameServers, a slave's metadata sync from its master).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientTlsSettings {
    /// `tls.enable`: connect over TLS; by default when `tls.server.mode=enforcing`, as in Apache.
    pub enable: bool,
    /// `tls.client.authServer` (false): verify that the server's certificate chains to
    /// `tls.client.trustCertPath` (the chain, not the name, as Apache checks); otherwise any
    /// certificate is accepted (Apache's test mode).
    pub auth_server: bool,
    /// `tls.client.trustCertPath`: PEM CAs server certificates must chain to.
    pub trust_cert_path: Option<PathBuf>,
    /// `tls.client.certPath`: the PEM certificate presented to servers that ask for one.
    pub cert_path: Option<PathBuf>,
    /// `tls.client.keyPath`: its PEM private key.
    pub key_path: Option<PathBuf>,
}

impl ClientTlsSettings {
    /// Reads the keys from `props` (after [`super::TlsSettings::load`] merged `tls.config.file`).
    pub fn load(props: &mut Properties, server_mode: TlsMode) -> Result<Self, ConfigError> {
        let path = |props: &mut Properties, key: &str| props.raw(key).filter(|v| !v.is_empty()).map(PathBuf::from);
        Ok(ClientTlsSettings {
            enable: props.get("tls.enable", server_mode == TlsMode::Enforcing)?,
            auth_server: props.get("tls.client.authServer", false)?,
            trust_cert_path: path(props, "tls.client.trustCertPath"),
            cert_path: path(props, "tls.client.certPath"),
            key_path: path(props, "tls.client.keyPath"),
        })
    }

    /// The [`ClientTls`] these settings describe; `None` when `tls.enable` is off. The files are
    /// read now: call again to pick up renewed ones.
    pub fn client_tls(&self) -> Result<Option<ClientTls>, TlsError> {
        if !self.enable {
            return Ok(None);
        }
        // Like Apache's Netty client, authServer checks the chain, not the name dialled.
        let check = match (self.auth_server, &self.trust_cert_path) {
            (false, _) => ServerCheck::Anything,
            (true, Some(ca)) => ServerCheck::Ca { roots: load_roots(ca)?, names: false },
            (true, None) => return Err(TlsError("tls.client.authServer=true needs tls.client.trustCertPath".into())),
        };
        let identity = match (&self.cert_path, &self.key_path) {
            (Some(cert), Some(key)) => Some((cert.as_path(), key.as_path())),
            (None, None) => None,
            _ => return Err(TlsError("tls.client.certPath and tls.client.keyPath must both be set".into())),
        };
        ClientTls::build(check, identity).map(Some)
    }
}

/// TLS for a client's connections: the server certificates it accepts.
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<rustls::ClientConfig>,
    server_name: Option<String>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls").field("server_name", &self.server_name).finish_non_exhaustive()
    }
}

/// How a client checks the server's certificate.
enum ServerCheck {
    /// Anything (Apache's client test mode).
    Anything,
    /// It must chain to one of `roots`; with `names`, also carry the name dialled.
    Ca { roots: rustls::RootCertStore, names: bool },
}

impl ClientTls {
    /// Accepts server certificates that chain to a CA of the PEM file `ca` and carry the name
    /// dialled.
    pub fn trusting(ca: &Path) -> Result<ClientTls, TlsError> {
        ClientTls::build(ServerCheck::Ca { roots: load_roots(ca)?, names: true }, None)
    }

    /// Accepts server certificates that chain to a CA of the PEM bytes `ca`, whatever names
    /// they carry: for peers reached by addresses no certificate can list (pod IPs), where the
    /// CA alone says who may serve. This is what Apache's `tls.client.authServer=true` checks.
    pub fn trusting_ca_only(ca: &[u8]) -> Result<ClientTls, TlsError> {
        ClientTls::build(ServerCheck::Ca { roots: roots_from_pem(ca, "CA")?, names: false }, None)
    }

    /// Accepts any server certificate, as Apache's Java client does in its default test mode
    /// (`tls.test.mode.enable=true`): the traffic is encrypted, the server is not verified.
    pub fn insecure() -> ClientTls {
        ClientTls::build(ServerCheck::Anything, None).expect("the ring provider supports the default TLS versions")
    }

    /// A client checking servers as `check` says and presenting the certificate and key of the
    /// PEM files `identity` to servers that ask for one.
    fn build(check: ServerCheck, identity: Option<(&Path, &Path)>) -> Result<ClientTls, TlsError> {
        let provider = provider();
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError(e.to_string()))?;
        let builder = match check {
            ServerCheck::Anything => {
                builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyServer(provider)))
            }
            ServerCheck::Ca { roots, names: true } => builder.with_root_certificates(roots),
            ServerCheck::Ca { roots, names: false } => {
                let chain = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .map_err(|e| TlsError(format!("CA: {e}")))?;
                builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyName(chain)))
            }
        };
        let config = match identity {
            None => builder.with_no_client_auth(),
            Some((cert_path, key_path)) => {
                let (certs, key) = load_identity(cert_path, key_path)?;
                builder
                    .with_client_auth_cert(certs, key)
                    .map_err(|e| TlsError(format!("{} and {}: {e}", cert_path.display(), key_path.display())))?
            }
        };
        Ok(ClientTls { config: Arc::new(config), server_name: None })
    }

    /// Checks server certificates against `name` instead of the host of the address dialled.
    pub fn with_server_name(mut self, name: impl Into<String>) -> ClientTls {
        self.server_name = Some(name.into());
        self
    }

    /// Runs the handshake on `stream`, connected to `addr` (`host:port`).
    pub(crate) async fn connect(
        &self,
        addr: &str,
        stream: TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
        let host = match &self.server_name {
            Some(name) => name.clone(),
            None => addr.rsplit_once(':').map_or(addr, |(host, _)| host).trim_matches(['[', ']']).to_owned(),
        };
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| format!("'{host}' is no TLS server name: {e}"))?;
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&self.config));
        tokio::time::timeout(HANDSHAKE_TIMEOUT, connector.connect(name, stream))
            .await
            .map_err(|_| "TLS handshake timed out".to_owned())?
            .map_err(|e| format!("TLS handshake failed: {e}"))
    }
}

/// The verifier of [`ClientTls::insecure`]: every certificate passes; signatures are still
/// checked, so the handshake itself is sound.
#[derive(Debug)]
struct AnyServer(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The verifier of [`ClientTls::trusting_ca_only`]: the chain, validity and signatures are
/// checked; a name mismatch alone is accepted.
#[derive(Debug)]
struct AnyName(Arc<rustls::client::WebPkiServerVerifier>);

impl rustls::client::danger::ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use rustls::CertificateError::{NotValidForName, NotValidForNameContext};
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(NotValidForName | NotValidForNameContext { .. })) => {
                Ok(rustls::client::danger::ServerCertVerified::assertion())
            }
            verdict => verdict,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
