//! `spec.security` of a `RocketMQCluster`: ACL 1.0, TLS on the remoting ports and mutual TLS
//! on the brokers' gRPC admin API, all from Secrets the user (or cert-manager) provides. See
//! `SECURITY.md`.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Who may talk to the brokers.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecuritySpec {
    /// ACL 1.0 on every broker (`aclEnable=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<AclSpec>,
    /// Mutual TLS on the brokers' gRPC admin API (failover, switchover). Required with `acl` when
    /// groups have slaves: with ACL on, a broker serves that API over mutual TLS only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_tls: Option<AdminTlsSpec>,
    /// TLS on the NameServers' and brokers' remoting ports (what clients connect to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<RemotingTlsSpec>,
}

/// TLS on the remoting ports from a Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemotingTlsSpec {
    /// A Secret with `tls.crt`, `tls.key` and `ca.crt` (cert-manager's layout), served by
    /// every NameServer and broker and re-read when it changes. Brokers and the operator accept
    /// a peer whose certificate chains to `ca.crt`, whatever names it lists (pods are reached
    /// by IP), as Apache's `tls.client.authServer` does; clients may check names as they like.
    #[x_kube(validation = Rule::new("self != ''").message("security.tls.secretName must not be empty"))]
    pub secret_name: String,
    /// `permissive` (default): TLS and plaintext clients on the same port; `enforcing`: TLS only.
    #[serde(default)]
    pub mode: RemotingTlsMode,
}

/// Apache's `tls.server.mode`, without `disabled` (leave `tls` out for that).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RemotingTlsMode {
    /// TLS and plaintext on the same port.
    #[default]
    Permissive,
    /// TLS only.
    Enforcing,
}

impl RemotingTlsMode {
    /// The value of `tls.server.mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            RemotingTlsMode::Permissive => "permissive",
            RemotingTlsMode::Enforcing => "enforcing",
        }
    }
}

/// ACL 1.0 from Secrets.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AclSpec {
    /// The Secret holding `plain_acl.yml` (Apache's format), mounted into every broker. Edits
    /// reach the brokers without a restart: the kubelet updates the file, the broker reloads it.
    #[x_kube(validation = Rule::new("self != ''").message("security.acl.secretName must not be empty"))]
    pub secret_name: String,
    /// The Secret with `accessKey` and `secretKey` of an admin account of that file: the
    /// operator signs its own requests (topics, seeding, scale-in) with it.
    #[x_kube(validation = Rule::new("self != ''").message(
        "security.acl.operatorCredentialsSecretName must not be empty"
    ))]
    pub operator_credentials_secret_name: String,
    /// The Secret with `accessKey` and `secretKey` of the account brokers sign their own
    /// requests with (a slave's metadata sync from its master; any account of the file will
    /// do). Defaults to `operatorCredentialsSecretName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self != ''").message(
        "security.acl.brokerCredentialsSecretName must not be empty (leave it out for the operator's)"
    ))]
    pub broker_credentials_secret_name: Option<String>,
}

impl AclSpec {
    /// The Secret of the brokers' own account.
    pub fn broker_credentials(&self) -> &str {
        self.broker_credentials_secret_name.as_deref().unwrap_or(&self.operator_credentials_secret_name)
    }
}

/// Mutual TLS on the gRPC admin API from a Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminTlsSpec {
    /// A Secret with `tls.crt`, `tls.key` and `ca.crt` (cert-manager's layout). The brokers
    /// serve this certificate; its names must cover the broker pods' DNS names
    /// (`*.<cluster>-broker-<g>.<namespace>.svc`). The operator presents it as its client
    /// certificate too, so with ACL on its subject CN must be the admin account of
    /// `operatorCredentialsSecretName`. `ca.crt` verifies both sides.
    #[x_kube(validation = Rule::new("self != ''").message("security.adminTls.secretName must not be empty"))]
    pub secret_name: String,
}
