//! TLS on a remoting port over real loopback sockets: each `tls.server.mode` accepts what it
//! should, a replaced certificate is served to the next connection without a restart, and client
//! certificates are required when configured.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use rmq_remoting::frame::{FrameCodec, DEFAULT_MAX_FRAME};
use rmq_remoting::rpc::tls::{ClientAuth, TlsMode, TlsServer, TlsSettings};
use rmq_remoting::rpc::{serve, ClientConfig, RejectAll, RemotingClient, ServerConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_util::codec::Framed;

/// A certificate for `localhost` and its key, as DER and PEM.
struct Cert {
    der: CertificateDer<'static>,
    cert_pem: String,
    key_pem: String,
    key: rcgen::KeyPair,
    params: rcgen::CertificateParams,
}

fn params(name: &str) -> rcgen::CertificateParams {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    params
}

fn cert(cert: rcgen::Certificate, key: rcgen::KeyPair, params: rcgen::CertificateParams) -> Cert {
    Cert { der: cert.der().clone(), cert_pem: cert.pem(), key_pem: key.serialize_pem(), key, params }
}

/// A self-signed CA.
fn make_ca(name: &str) -> Cert {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = params(name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    cert(params.clone().self_signed(&key).expect("self-signed"), key, params)
}

/// A leaf certificate issued by `ca`.
fn make_leaf(name: &str, ca: &Cert) -> Cert {
    let key = rcgen::KeyPair::generate().expect("key");
    let params = params(name);
    let issuer = ca.params.clone().self_signed(&ca.key).expect("issuer");
    cert(params.clone().signed_by(&key, &issuer, &ca.key).expect("signed"), key, params)
}

fn write(dir: &Path, cert: &Cert) {
    std::fs::write(dir.join("server.pem"), &cert.cert_pem).expect("write cert");
    std::fs::write(dir.join("server.key"), &cert.key_pem).expect("write key");
}

fn settings(dir: &Path, mode: TlsMode) -> TlsSettings {
    TlsSettings {
        mode,
        cert_path: Some(dir.join("server.pem")),
        key_path: Some(dir.join("server.key")),
        trust_cert_path: None,
        client_auth: ClientAuth::None,
        test_mode: false,
    }
}

async fn start(settings: &TlsSettings) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let tls = TlsServer::new(settings).expect("TLS settings load");
    let config = ServerConfig { tls, ..ServerConfig::default() };
    tokio::spawn(serve(listener, Arc::new(RejectAll), config, std::future::pending()));
    addr
}

/// Connects over TLS trusting `roots`, presenting `client` if given; returns the server's
/// certificate and the answer to one request.
async fn tls_call(
    addr: &str,
    roots: &[&Cert],
    client: Option<&Cert>,
) -> Result<(CertificateDer<'static>, RemotingCommand), String> {
    let mut store = rustls::RootCertStore::empty();
    for root in roots {
        store.add(root.der.clone()).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(store);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some(c) => builder
            .with_client_auth_cert(
                vec![c.der.clone()],
                PrivateKeyDer::try_from(c.key.serialize_der()).expect("client key"),
            )
            .expect("client auth"),
    };
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").expect("name");
    let tls = TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(|e| e.to_string())?;
    let served = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).cloned().ok_or("no certificate")?;
    let mut framed = Framed::new(tls, FrameCodec::new(DEFAULT_MAX_FRAME));
    framed.send(RemotingCommand::request(RequestCode::HeartBeat)).await.map_err(|e| e.to_string())?;
    let answer = tokio::time::timeout(Duration::from_secs(5), framed.next())
        .await
        .map_err(|_| "no answer".to_owned())?
        .ok_or("closed without an answer")?
        .map_err(|e| e.to_string())?;
    Ok((served.into_owned(), answer))
}

async fn plain_call(addr: &str) -> Result<RemotingCommand, String> {
    let client = RemotingClient::new(ClientConfig::default());
    client
        .invoke(addr, RemotingCommand::request(RequestCode::HeartBeat), Duration::from_secs(3))
        .await
        .map_err(|e| e.to_string())
}

fn not_supported(answer: &RemotingCommand) -> bool {
    answer.code == ResponseCode::RequestCodeNotSupported.value()
}

#[tokio::test]
async fn enforcing_answers_tls_and_closes_plaintext_connections() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = make_ca("ca");
    write(dir.path(), &make_leaf("enforcing", &ca));
    let addr = start(&settings(dir.path(), TlsMode::Enforcing)).await;
    let (_, answer) = tls_call(&addr, &[&ca], None).await.expect("TLS works");
    assert!(not_supported(&answer), "{answer:?}");
    assert!(plain_call(&addr).await.is_err(), "plaintext must be refused");
}

#[tokio::test]
async fn permissive_answers_both_on_one_port() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = make_ca("ca");
    write(dir.path(), &make_leaf("permissive", &ca));
    let addr = start(&settings(dir.path(), TlsMode::Permissive)).await;
    assert!(not_supported(&tls_call(&addr, &[&ca], None).await.expect("TLS works").1));
    assert!(not_supported(&plain_call(&addr).await.expect("plaintext works")));
}

#[tokio::test]
async fn a_replaced_certificate_is_served_to_the_next_connection_without_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = make_ca("ca");
    let (first, second) = (make_leaf("first", &ca), make_leaf("second", &ca));
    write(dir.path(), &first);
    let addr = start(&settings(dir.path(), TlsMode::Enforcing)).await;
    let (served, _) = tls_call(&addr, &[&ca], None).await.expect("first handshake");
    assert_eq!(served, first.der);

    // A file's mtime has a coarse granularity on some file systems; the size changes too.
    tokio::time::sleep(Duration::from_millis(20)).await;
    write(dir.path(), &second);
    let (served, answer) = tls_call(&addr, &[&ca], None).await.expect("second handshake");
    assert_eq!(served, second.der, "the new certificate is served");
    assert!(not_supported(&answer));

    std::fs::write(dir.path().join("server.pem"), "not a certificate").expect("break the file");
    let (served, _) = tls_call(&addr, &[&ca], None).await.expect("handshake after a bad file");
    assert_eq!(served, second.der, "a file that does not load keeps the previous certificate");
}

#[tokio::test]
async fn required_client_certificates_must_be_signed_by_the_trusted_ca() {
    let dir = tempfile::tempdir().expect("dir");
    let server_ca = make_ca("server-ca");
    write(dir.path(), &make_leaf("server", &server_ca));
    let ca = make_ca("client-ca");
    std::fs::write(dir.path().join("ca.pem"), &ca.cert_pem).expect("ca");
    let admin = make_leaf("admin", &ca);
    let stranger = make_leaf("stranger", &make_ca("other-ca"));
    let mut settings = settings(dir.path(), TlsMode::Enforcing);
    settings.client_auth = ClientAuth::Require;
    settings.trust_cert_path = Some(dir.path().join("ca.pem"));
    let addr = start(&settings).await;
    assert!(tls_call(&addr, &[&server_ca], Some(&admin)).await.is_ok(), "a certificate from the CA is accepted");
    assert!(tls_call(&addr, &[&server_ca], Some(&stranger)).await.is_err(), "another certificate is refused");
    assert!(tls_call(&addr, &[&server_ca], None).await.is_err(), "no certificate is refused");
}

#[test]
fn half_configured_or_encrypted_keys_are_refused_at_start() {
    let mut props = rmq_remoting::config::Properties::parse("tls.server.certPath=/x.pem\n").expect("props");
    let only_cert = TlsSettings::load(&mut props).expect("keys parse");
    let err = TlsServer::new(&only_cert).expect_err("a certificate without a key");
    assert!(err.to_string().contains("tls.server.keyPath"), "{err}");
    let mut props = rmq_remoting::config::Properties::parse("tls.server.keyPassword=secret\n").expect("props");
    let err = TlsSettings::load(&mut props).expect_err("encrypted keys");
    assert!(err.to_string().contains("tls.server.keyPassword"), "{err}");
    let mut props = rmq_remoting::config::Properties::parse("tls.server.mode=sometimes\n").expect("props");
    assert!(TlsSettings::load(&mut props).is_err());
}

#[tokio::test]
async fn the_remoting_client_speaks_tls_trusting_a_ca_or_anything_in_test_mode() {
    use rmq_remoting::rpc::tls::ClientTls;
    let dir = tempfile::tempdir().expect("dir");
    let ca = make_ca("ca");
    write(dir.path(), &make_leaf("enforcing", &ca));
    std::fs::write(dir.path().join("ca.pem"), &ca.cert_pem).expect("ca");
    let addr = start(&settings(dir.path(), TlsMode::Enforcing)).await;
    let call = |tls: ClientTls| {
        let addr = addr.clone();
        async move {
            let client = RemotingClient::new(ClientConfig { tls: Some(tls), ..ClientConfig::default() });
            client.invoke(&addr, RemotingCommand::request(RequestCode::HeartBeat), Duration::from_secs(5)).await
        }
    };
    let trusted = ClientTls::trusting(&dir.path().join("ca.pem")).expect("ca loads").with_server_name("localhost");
    assert!(not_supported(&call(trusted).await.expect("a CA-verified connection")));
    assert!(not_supported(&call(ClientTls::insecure()).await.expect("test mode")));
    let other_ca = make_ca("other");
    std::fs::write(dir.path().join("other.pem"), &other_ca.cert_pem).expect("other ca");
    let wrong = ClientTls::trusting(&dir.path().join("other.pem")).expect("loads").with_server_name("localhost");
    let err = call(wrong).await.expect_err("a certificate from another CA is refused");
    assert!(err.to_string().contains("TLS handshake failed"), "{err}");

    // Dialled by IP: the name check fails, the chain-only check (Apache's authServer) passes.
    let by_ip = ClientTls::trusting(&dir.path().join("ca.pem")).expect("ca loads");
    assert!(call(by_ip).await.is_err(), "127.0.0.1 is not a name of the certificate");
    let chain_only = ClientTls::trusting_ca_only(ca.cert_pem.as_bytes()).expect("ca loads");
    assert!(not_supported(&call(chain_only).await.expect("the chain is the CA's")));
    let other_chain = ClientTls::trusting_ca_only(other_ca.cert_pem.as_bytes()).expect("ca loads");
    assert!(call(other_chain).await.is_err(), "the chain-only check still refuses another CA");
}

#[tokio::test]
async fn a_peer_stuck_in_its_handshake_holds_up_no_call_to_another_address() {
    use rmq_remoting::rpc::tls::ClientTls;
    let dir = tempfile::tempdir().expect("dir");
    write(dir.path(), &make_leaf("live", &make_ca("ca")));
    let live = start(&settings(dir.path(), TlsMode::Enforcing)).await;
    // Accepts TCP and never answers the handshake.
    let mute = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let mute_addr = mute.local_addr().expect("addr").to_string();
    let _held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = mute.accept().await {
            open.push(stream);
        }
    });
    let client =
        Arc::new(RemotingClient::new(ClientConfig { tls: Some(ClientTls::insecure()), ..ClientConfig::default() }));
    let stuck = {
        let client = Arc::clone(&client);
        tokio::spawn(async move {
            client.invoke(&mute_addr, RemotingCommand::request(RequestCode::HeartBeat), Duration::from_secs(8)).await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let answer = client
        .invoke(&live, RemotingCommand::request(RequestCode::HeartBeat), Duration::from_secs(5))
        .await
        .expect("the live server answers while another handshake hangs");
    assert!(not_supported(&answer));
    assert!(started.elapsed() < Duration::from_secs(2), "waited {:?} behind the stuck handshake", started.elapsed());
    stuck.abort();
}
