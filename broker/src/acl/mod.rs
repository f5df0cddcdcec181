//! ACL 1.0: Apache's `plain_acl.yml` accounts, checked on every remoting request before it is
//! dispatched when `aclEnable=true`. A request passes when its peer is in the global whitelist;
//! otherwise it must name a known account (`AccessKey`), come from that account's whitelist or
//! carry a valid signature ([`rmq_remoting::acl`]), and the account must be an admin or hold the
//! permissions [`needs`] lists. A refusal is answered `NO_PERMISSION` (16), as Apache 5.3.3
//! answers ACL failures, with a remark saying what was missing. The file is re-read when it
//! changes ([`Acl::watch`]); a file that does not parse leaves the previous rules in force.

mod address;
mod needs;
mod rules;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rmq_remoting::acl::{verify, ACCESS_KEY};
use rmq_remoting::config::{ConfigError, Properties};
use rmq_remoting::RemotingCommand;
use tokio::sync::watch;
use tracing::{error, info};

pub use needs::{needs, Needs, Resource};
pub use rules::{Perm, Rules};

/// The topic message traces go to: any account may publish to it, as in Apache 4.x.
const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// `aclEnable` and where the accounts are.
#[derive(Debug, Clone)]
pub struct AclConfig {
    /// `aclEnable` (false).
    pub enabled: bool,
    /// `aclFile` (rmq): the `plain_acl.yml`; default `<rocketmqHome>/conf/plain_acl.yml`, where
    /// `rocketmqHome` defaults to `$ROCKETMQ_HOME`, as in Apache.
    pub file: PathBuf,
    /// `aclReloadIntervalMillis` (rmq, 5000): how often the file is checked for changes.
    pub reload_interval: Duration,
}

impl AclConfig {
    /// Reads the ACL keys.
    pub fn load(props: &mut Properties) -> Result<Self, ConfigError> {
        let env_home = std::env::var("ROCKETMQ_HOME").unwrap_or_else(|_| ".".into());
        let home: PathBuf = props.get("rocketmqHome", PathBuf::from(env_home))?;
        Ok(AclConfig {
            enabled: props.get("aclEnable", false)?,
            file: props.get("aclFile", home.join("conf").join("plain_acl.yml"))?,
            reload_interval: Duration::from_millis(props.get("aclReloadIntervalMillis", 5000u64)?.max(100)),
        })
    }
}

/// Why a request was refused; the text is the response's remark.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    /// No `AccessKey` field.
    #[error("AccessKey is missing: this broker has ACL enabled (aclEnable=true); sign requests with AclClientRPCHook")]
    NoAccessKey,
    /// An access key no account has.
    #[error("User:{0} is not found.")]
    UnknownAccount(String),
    /// The signature is missing or wrong.
    #[error("check signature failed for User:{0}.")]
    BadSignature(String),
    /// A request only admin accounts may make.
    #[error("User:{access_key} has no permission to run request code {code}: it needs an admin account")]
    NotAdmin {
        /// The account.
        access_key: String,
        /// The request code.
        code: i32,
    },
    /// A missing permission.
    #[error("User:{access_key} has no permission to {needed} {resource} from {peer}: its permission there is {held}")]
    NoPermission {
        /// The account.
        access_key: String,
        /// `PUB` or `SUB`.
        needed: Perm,
        /// The topic or group.
        resource: Resource,
        /// The peer's address.
        peer: IpAddr,
        /// What the account holds there (its entry or its default).
        held: Perm,
    },
    /// The body naming the resources does not decode.
    #[error("parse authorization context error: {0}")]
    BadRequest(String),
}

/// The live ACL of a broker.
pub struct Acl {
    path: PathBuf,
    /// The file's bytes the rules were loaded from, so that [`Acl::watch`] sees any later change.
    loaded: Vec<u8>,
    rules: RwLock<Arc<Rules>>,
}

impl Acl {
    /// Loads `path`; fails when it cannot be read or parsed, naming the file.
    pub fn load(path: &Path) -> Result<Acl, String> {
        let at = |e: String| format!("ACL file {}: {e}", path.display());
        let loaded = std::fs::read(path).map_err(|e| at(e.to_string()))?;
        let rules = std::str::from_utf8(&loaded).map_err(|e| e.to_string()).and_then(Rules::parse).map_err(at)?;
        info!(file = %path.display(), accounts = rules.accounts.len(), "ACL enabled");
        Ok(Acl { path: path.to_owned(), loaded, rules: RwLock::new(Arc::new(rules)) })
    }

    /// An ACL of fixed rules (tests).
    pub fn from_rules(rules: Rules) -> Acl {
        Acl { path: PathBuf::new(), loaded: Vec::new(), rules: RwLock::new(Arc::new(rules)) }
    }

    fn rules(&self) -> Arc<Rules> {
        Arc::clone(&self.rules.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Whether `access_key` names an admin account (the gRPC admin API's check of a client
    /// certificate's subject CN).
    pub fn is_admin(&self, access_key: &str) -> bool {
        self.rules().accounts.get(access_key).is_some_and(|a| a.admin)
    }

    /// Checks `req` from `peer` against what [`needs`] says it needs.
    pub fn check(&self, peer: IpAddr, req: &RemotingCommand) -> Result<(), Refusal> {
        self.check_needs(peer, req, || needs(req).map_err(Refusal::BadRequest))
    }

    /// Checks that `req`'s account holds `perm` on `resource`: for resources a processor learns
    /// only from the store (a half message's topic, a message looked up by its offset).
    pub fn check_resource(
        &self,
        peer: IpAddr,
        req: &RemotingCommand,
        resource: Resource,
        perm: Perm,
    ) -> Result<(), Refusal> {
        self.check_needs(peer, req, || Ok(Needs::Perms(vec![(resource, perm)])))
    }

    fn check_needs(
        &self,
        peer: IpAddr,
        req: &RemotingCommand,
        needs: impl FnOnce() -> Result<Needs, Refusal>,
    ) -> Result<(), Refusal> {
        let rules = self.rules();
        if rules.global_white_addresses.iter().any(|p| p.matches(peer)) {
            return Ok(());
        }
        let access_key = req.ext_fields.get(ACCESS_KEY).ok_or(Refusal::NoAccessKey)?;
        let account = rules.accounts.get(access_key).ok_or_else(|| Refusal::UnknownAccount(access_key.to_owned()))?;
        if account.white_addresses.as_ref().is_some_and(|p| p.matches(peer)) {
            return Ok(());
        }
        if !verify(req, &account.secret_key) {
            return Err(Refusal::BadSignature(access_key.to_owned()));
        }
        if account.admin {
            return Ok(());
        }
        let perms = match needs()? {
            Needs::Authenticated => return Ok(()),
            Needs::Admin => return Err(Refusal::NotAdmin { access_key: access_key.to_owned(), code: req.code }),
            Needs::Perms(perms) => perms,
        };
        for (resource, needed) in perms {
            let held = match &resource {
                Resource::Topic(t) if t == TRACE_TOPIC && needed == Perm::PUB => continue,
                Resource::Topic(t) => account.topic_perms.get(t).copied().unwrap_or(account.default_topic_perm),
                Resource::Group(g) => account.group_perms.get(g).copied().unwrap_or(account.default_group_perm),
            };
            if !held.grants(needed) {
                return Err(Refusal::NoPermission { access_key: access_key.to_owned(), needed, resource, peer, held });
            }
        }
        Ok(())
    }

    /// Re-reads the file every `interval` until `stop` turns true; a changed file that parses
    /// replaces the rules, one that does not is logged and the previous rules stay.
    pub async fn watch(self: Arc<Self>, interval: Duration, mut stop: watch::Receiver<bool>) {
        let mut last = Some(self.loaded.clone());
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.wait_for(|stop| *stop) => return,
                _ = tick.tick() => {}
            }
            let current = match tokio::fs::read(&self.path).await {
                Ok(bytes) => bytes,
                Err(e) => {
                    if last.take().is_some() {
                        error!(file = %self.path.display(), error = %e, "ACL file unreadable; keeping the previous rules");
                    }
                    continue;
                }
            };
            if last.as_deref() == Some(current.as_slice()) {
                continue;
            }
            match std::str::from_utf8(&current).map_err(|e| e.to_string()).and_then(Rules::parse) {
                Ok(rules) => {
                    info!(file = %self.path.display(), accounts = rules.accounts.len(), "ACL file changed; reloaded");
                    *self.rules.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(rules);
                }
                Err(e) => {
                    error!(file = %self.path.display(), error = %e, "ACL file changed but is invalid; keeping the previous rules")
                }
            }
            last = Some(current);
        }
    }
}

#[cfg(test)]
mod tests;
