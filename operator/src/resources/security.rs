//! What `spec.security` adds to the pods: the ACL, broker-credentials, admin-TLS and remoting-TLS
//! Secrets as read-only volumes, and the `broker.conf` keys (NameServer `--set` arguments)
//! pointing at their files.

use k8s_openapi::api::core::v1::{SecretVolumeSource, Volume, VolumeMount};

use crate::crd::cluster::RocketMQCluster;

/// Where the ACL Secret is mounted.
pub const ACL_DIR: &str = "/etc/rmq-acl";
/// The ACL Secret's key (and file name).
pub const ACL_FILE: &str = "plain_acl.yml";
/// Where the Secret of the brokers' own account is mounted (`innerClientCredentialsDir`).
pub const BROKER_CREDENTIALS_DIR: &str = "/etc/rmq-broker-credentials";
/// Where the remoting-TLS Secret is mounted (brokers and NameServers).
pub const TLS_DIR: &str = "/etc/rmq-tls";
/// Where the admin-TLS Secret is mounted.
pub const ADMIN_TLS_DIR: &str = "/etc/rmq-admin-tls";

/// The broker keys `spec.security` sets.
pub fn broker_keys(cluster: &RocketMQCluster) -> Vec<(&'static str, String)> {
    let Some(security) = &cluster.spec.security else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    if security.acl.is_some() {
        keys.push(("aclEnable", "true".to_owned()));
        keys.push(("aclFile", format!("{ACL_DIR}/{ACL_FILE}")));
        keys.push(("innerClientCredentialsDir", BROKER_CREDENTIALS_DIR.to_owned()));
    }
    keys.extend(tls_server_keys(cluster));
    if security.tls.is_some() {
        // The broker's own connections (registration, metadata sync) use TLS too, and accept
        // peers whose certificates chain to the Secret's CA.
        keys.push(("tls.enable", "true".to_owned()));
        keys.push(("tls.client.authServer", "true".to_owned()));
        keys.push(("tls.client.trustCertPath", format!("{TLS_DIR}/ca.crt")));
    }
    if security.admin_tls.is_some() {
        keys.push(("grpcAdminTlsCertPath", format!("{ADMIN_TLS_DIR}/tls.crt")));
        keys.push(("grpcAdminTlsKeyPath", format!("{ADMIN_TLS_DIR}/tls.key")));
        keys.push(("grpcAdminTlsTrustCertPath", format!("{ADMIN_TLS_DIR}/ca.crt")));
    }
    keys
}

/// The server-side `tls.*` keys of a NameServer or broker.
fn tls_server_keys(cluster: &RocketMQCluster) -> Vec<(&'static str, String)> {
    let Some(tls) = cluster.spec.security.as_ref().and_then(|s| s.tls.as_ref()) else {
        return Vec::new();
    };
    vec![
        ("tls.server.mode", tls.mode.as_str().to_owned()),
        ("tls.server.certPath", format!("{TLS_DIR}/tls.crt")),
        ("tls.server.keyPath", format!("{TLS_DIR}/tls.key")),
        ("tls.test.mode.enable", "false".to_owned()),
    ]
}

/// The NameServer's `--set` arguments for `spec.security.tls`.
pub fn namesrv_args(cluster: &RocketMQCluster) -> Vec<String> {
    tls_server_keys(cluster).into_iter().flat_map(|(k, v)| ["--set".to_owned(), format!("{k}={v}")]).collect()
}

/// The remoting-TLS Secret volume of a NameServer pod and its mount.
pub fn namesrv_volumes(cluster: &RocketMQCluster) -> (Vec<Volume>, Vec<VolumeMount>) {
    let tls = cluster.spec.security.as_ref().and_then(|s| s.tls.as_ref());
    tls.map(|t| secret_volume("tls", t.secret_name.clone(), TLS_DIR)).into_iter().unzip()
}

fn secret_volume(name: &str, secret: String, dir: &str) -> (Volume, VolumeMount) {
    let volume = Volume {
        name: name.to_owned(),
        secret: Some(SecretVolumeSource { secret_name: Some(secret), ..SecretVolumeSource::default() }),
        ..Volume::default()
    };
    let mount = VolumeMount {
        name: name.to_owned(),
        mount_path: dir.to_owned(),
        read_only: Some(true),
        ..VolumeMount::default()
    };
    (volume, mount)
}

/// The Secret volumes of a broker pod and their mounts.
pub fn broker_volumes(cluster: &RocketMQCluster) -> (Vec<Volume>, Vec<VolumeMount>) {
    let Some(security) = &cluster.spec.security else {
        return (Vec::new(), Vec::new());
    };
    let secrets = [
        security.acl.as_ref().map(|a| ("acl", a.secret_name.clone(), ACL_DIR)),
        security
            .acl
            .as_ref()
            .map(|a| ("broker-credentials", a.broker_credentials().to_owned(), BROKER_CREDENTIALS_DIR)),
        security.admin_tls.as_ref().map(|t| ("admin-tls", t.secret_name.clone(), ADMIN_TLS_DIR)),
        security.tls.as_ref().map(|t| ("tls", t.secret_name.clone(), TLS_DIR)),
    ];
    secrets.into_iter().flatten().map(|(name, secret, dir)| secret_volume(name, secret, dir)).unzip()
}
