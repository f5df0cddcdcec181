//! How the operator reaches a cluster's brokers when `spec.security` is set: the admin account
//! it signs remoting requests with (`security.acl.operatorCredentialsSecretName`), the CA of
//! the remoting ports' certificates (`security.tls.secretName`) and its client certificate for
//! the gRPC admin API (`security.adminTls.secretName`), read from the Secrets at each reconcile,
//! so a rotated Secret is picked up without a restart.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};
use rmq_admin_api::connect::{ClientTls, Pem};
use rmq_client::Credentials;

use super::{Context, Error};
use crate::crd::cluster::RocketMQCluster;

/// What the operator presents to a cluster's brokers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Access {
    /// Signs remoting requests (ACL on).
    pub credentials: Option<Credentials>,
    /// Mutual TLS towards the gRPC admin ports.
    pub admin_tls: Option<ClientTls>,
    /// The CA (PEM) remoting peers' certificates must chain to: remoting over TLS.
    pub remoting_ca: Option<Vec<u8>>,
}

/// Reads `cluster`'s Secrets; a missing Secret or key is an error naming it.
pub async fn load(ctx: &Context, cluster: &RocketMQCluster) -> Result<Access, Error> {
    let Some(security) = &cluster.spec.security else {
        return Ok(Access::default());
    };
    let ns = cluster.namespace().ok_or(Error::Malformed("no namespace"))?;
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let mut access = Access::default();
    if let Some(acl) = &security.acl {
        let secret = get(&secrets, &acl.operator_credentials_secret_name).await?;
        let text = |key: &str| {
            String::from_utf8(value(&secret, key)?)
                .map_err(|_| Error::Secret(format!("key {key} of Secret {} is not UTF-8", secret.name_any())))
        };
        access.credentials = Some(Credentials::new(text("accessKey")?, text("secretKey")?));
    }
    if let Some(tls) = &security.tls {
        access.remoting_ca = Some(value(&get(&secrets, &tls.secret_name).await?, "ca.crt")?);
    }
    if let Some(tls) = &security.admin_tls {
        let secret = get(&secrets, &tls.secret_name).await?;
        access.admin_tls = Some(ClientTls {
            ca: Pem::Inline(value(&secret, "ca.crt")?),
            cert: Pem::Inline(value(&secret, "tls.crt")?),
            key: Pem::Inline(value(&secret, "tls.key")?),
            domain: None,
        });
    }
    Ok(access)
}

async fn get(secrets: &Api<Secret>, name: &str) -> Result<Secret, Error> {
    secrets.get_opt(name).await?.ok_or_else(|| Error::Secret(format!("Secret {name} does not exist")))
}

fn value(secret: &Secret, key: &str) -> Result<Vec<u8>, Error> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|v| v.0.clone())
        .ok_or_else(|| Error::Secret(format!("Secret {} has no key {key}", secret.name_any())))
}
