//! What `spec.security` adds to a broker pod: the ACL, broker-credentials and admin-TLS Secrets
//! as read-only volumes, and the `broker.conf` keys pointing at their files.

use k8s_openapi::api::core::v1::{SecretVolumeSource, Volume, VolumeMount};

use crate::crd::cluster::RocketMQCluster;

/// Where the ACL Secret is mounted.
pub const ACL_DIR: &str = "/etc/rmq-acl";
/// The ACL Secret's key (and file name).
pub const ACL_FILE: &str = "plain_acl.yml";
/// Where the Secret of the brokers' own account is mounted (`innerClientCredentialsDir`).
pub const BROKER_CREDENTIALS_DIR: &str = "/etc/rmq-broker-credentials";
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
    if security.admin_tls.is_some() {
        keys.push(("grpcAdminTlsCertPath", format!("{ADMIN_TLS_DIR}/tls.crt")));
        keys.push(("grpcAdminTlsKeyPath", format!("{ADMIN_TLS_DIR}/tls.key")));
        keys.push(("grpcAdminTlsTrustCertPath", format!("{ADMIN_TLS_DIR}/ca.crt")));
    }
    keys
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
    ];
    secrets
        .into_iter()
        .flatten()
        .map(|(name, secret, dir)| {
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
        })
        .unzip()
}
