//! The gRPC admin API behind mutual TLS on a broker with ACL on: a client certificate from the
//! admin CA whose subject CN is an admin account of `plain_acl.yml` may change roles; a
//! certificate naming a normal account may only read the status; a certificate from another CA,
//! or no TLS at all, does not get in. Replacing the files switches the broker to the new
//! certificate and CA for new connections, without a restart. With ACL on and no TLS files the
//! broker does not start.

mod common;

use std::path::Path;
use std::time::Duration;

use rmq_admin_api::connect::{channel, ClientTls};
use rmq_admin_api::v1::replication_admin_client::ReplicationAdminClient;
use rmq_admin_api::v1::{FenceRequest, StatusRequest};
use rmq_testkit::{Cluster, Impl};
use tonic::Code;

/// A CA or a leaf certificate, with its key.
struct Pem {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

fn ca(name: &str) -> Pem {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    Pem { cert: params.self_signed(&key).expect("CA"), key }
}

fn leaf(cn: &str, issuer: &Pem) -> Pem {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).expect("params");
    params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    let cert = params.signed_by(&key, &issuer.cert, &issuer.key).expect("leaf");
    Pem { cert, key }
}

fn write(dir: &Path, name: &str, pem: &Pem) -> (String, String) {
    let (cert, key) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
    std::fs::write(&cert, pem.cert.pem()).expect("cert");
    std::fs::write(&key, pem.key.serialize_pem()).expect("key");
    (cert.display().to_string(), key.display().to_string())
}

fn client_tls(dir: &Path, name: &str) -> ClientTls {
    let ca = if name == "stranger" { "other-ca.pem" } else { "admin-ca.pem" };
    ClientTls {
        ca: dir.join(ca).into(),
        cert: dir.join(format!("{name}.pem")).into(),
        key: dir.join(format!("{name}.key")).into(),
        domain: Some("localhost".into()),
    }
}

const ACL: &str = "\
accounts:
  - accessKey: admin0001
    secretKey: admin-secret
    admin: true
  - accessKey: consumer1
    secretKey: consumer-secret
    defaultTopicPerm: SUB
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_changes_need_a_certificate_naming_an_admin_account() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().to_path_buf();
    let admin_ca = ca("admin-ca");
    std::fs::write(d.join("admin-ca.pem"), admin_ca.cert.pem()).expect("ca");
    let (server_cert, server_key) = write(&d, "broker", &leaf("broker-m", &admin_ca));
    write(&d, "admin0001", &leaf("admin0001", &admin_ca));
    write(&d, "consumer1", &leaf("consumer1", &admin_ca));
    let other_ca = ca("other-ca");
    std::fs::write(d.join("other-ca.pem"), other_ca.cert.pem()).expect("other ca");
    write(&d, "stranger", &leaf("admin0001", &other_ca));
    std::fs::write(d.join("plain_acl.yml"), ACL).expect("acl");

    let port = rmq_testkit::ports::single_port().expect("port");
    let (acl, ca_path) = (d.join("plain_acl.yml").display().to_string(), d.join("admin-ca.pem").display().to_string());
    let files = (server_cert.clone(), server_key.clone(), ca_path.clone());
    let cluster = tokio::task::spawn_blocking(move || {
        Cluster::builder("grpc_mtls", Impl::Rmq)
            .broker("m")
            .broker_property("aclEnable", "true")
            .broker_property("aclFile", acl)
            .broker_property("grpcAdminPort", port.to_string())
            .broker_property("grpcAdminTlsCertPath", server_cert)
            .broker_property("grpcAdminTlsKeyPath", server_key)
            .broker_property("grpcAdminTlsTrustCertPath", ca_path)
            .start()
            .expect("cluster starts")
    })
    .await
    .expect("join");
    let addr = format!("127.0.0.1:{port}");
    let timeout = Duration::from_secs(5);
    let admin = |name: &str| {
        ReplicationAdminClient::new(channel(&addr, Some(&client_tls(&d, name)), timeout).expect("channel"))
    };

    let status = admin("admin0001").status(StatusRequest {}).await.expect("an admin reads the status");
    let epoch = status.into_inner().epoch;
    // Fencing at the current epoch is refused by the broker (not new): the call got through.
    let fenced = admin("admin0001").fence(FenceRequest { epoch }).await.expect_err("a stale epoch");
    assert_ne!(fenced.code(), Code::PermissionDenied, "{fenced:?}");
    assert_ne!(fenced.code(), Code::Unauthenticated, "{fenced:?}");

    admin("consumer1").status(StatusRequest {}).await.expect("a normal account reads the status");
    let denied = admin("consumer1").fence(FenceRequest { epoch: epoch + 1 }).await.expect_err("not an admin");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(denied.message().contains("CN=consumer1"), "{}", denied.message());

    let stranger = admin("stranger").status(StatusRequest {}).await.expect_err("a certificate of another CA");
    assert!(format!("{stranger:?}").contains("tonic::transport::Error"), "a transport error: {stranger:?}");
    let plain = ReplicationAdminClient::new(channel(&addr, None, timeout).expect("channel"))
        .status(StatusRequest {})
        .await
        .expect_err("plaintext");
    assert!(format!("{plain:?}").contains("tonic::transport::Error"), "a transport error: {plain:?}");

    // Rotation to the other CA: its certificates get in, the old CA's no longer do.
    let rotated = leaf("broker-m", &other_ca);
    std::fs::write(&files.0, rotated.cert.pem()).expect("cert");
    std::fs::write(&files.1, rotated.key.serialize_pem()).expect("key");
    std::fs::write(&files.2, other_ca.cert.pem()).expect("ca");
    let start = std::time::Instant::now();
    while admin("stranger").status(StatusRequest {}).await.is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "the rotated certificate files were not picked up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    admin("admin0001").status(StatusRequest {}).await.expect_err("the old CA's certificates no longer get in");
    drop(cluster);
}

#[test]
fn acl_without_grpc_tls_refuses_to_start() {
    let props = rmq_remoting::config::Properties::parse("aclEnable=true\ngrpcAdminPort=19999\n").expect("props");
    let err = rmq_broker::BrokerConfig::from_properties(props).expect_err("needs mutual TLS");
    assert!(err.to_string().contains("grpcAdminTlsCertPath"), "{err}");
}
