//! The controller's settings: its replica id and peers, the groups it watches (each a list of
//! its brokers' gRPC admin addresses), and its timings.

use std::time::Duration;

/// One broker group: its `brokerName` and its members' gRPC admin addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// The group's `brokerName`.
    pub name: String,
    /// The members' gRPC admin addresses (`host:port`).
    pub members: Vec<String>,
}

impl std::str::FromStr for GroupConfig {
    type Err = String;

    /// `broker-a=host:port,host:port,...`
    fn from_str(text: &str) -> Result<Self, String> {
        let (name, members) = text
            .split_once('=')
            .ok_or_else(|| format!("'{text}': expected <brokerName>=<admin addr>,<admin addr>,..."))?;
        let members: Vec<String> =
            members.split(',').map(str::trim).filter(|m| !m.is_empty()).map(str::to_owned).collect();
        let name = name.trim();
        if name.is_empty() || members.is_empty() {
            return Err(format!("'{text}': a group needs a name and at least one member"));
        }
        Ok(GroupConfig { name: name.to_owned(), members })
    }
}

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// This replica's id; among the live replicas the lowest id acts.
    pub id: u32,
    /// The other replicas' gRPC addresses.
    pub peers: Vec<String>,
    /// The groups watched.
    pub groups: Vec<GroupConfig>,
    /// How long a group may have no reachable master before a failover.
    pub failover_after: Duration,
    /// The brokers' `fencingLease`: a failover waits until the old master's lease has ended.
    pub fencing_lease: Duration,
    /// How often each group is polled.
    pub tick: Duration,
    /// The timeout of each call to a broker.
    pub call_timeout: Duration,
    /// How long a switchover waits for the chosen slave to catch up.
    pub catch_up_timeout: Duration,
    /// Mutual TLS towards the brokers' gRPC admin ports (needed when they set `grpcAdminTls*`).
    pub admin_tls: Option<rmq_admin_api::connect::ClientTls>,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            id: 0,
            peers: Vec::new(),
            groups: Vec::new(),
            failover_after: Duration::from_secs(2),
            fencing_lease: Duration::from_secs(1),
            tick: Duration::from_millis(250),
            call_timeout: Duration::from_millis(500),
            catch_up_timeout: Duration::from_secs(10),
            admin_tls: None,
        }
    }
}

impl ControllerConfig {
    /// Checks the settings hang together.
    pub fn validate(&self) -> Result<(), String> {
        if self.groups.is_empty() {
            return Err("no group to watch: give at least one --group".into());
        }
        if self.fencing_lease >= self.failover_after {
            return Err(format!(
                "the fencing lease ({:?}) must be shorter than the failover timeout ({:?})",
                self.fencing_lease, self.failover_after
            ));
        }
        let mut names: Vec<&str> = self.groups.iter().map(|g| g.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("group '{}' is given twice", w[0]));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_parse_from_name_and_member_list() {
        let g: GroupConfig = "broker-a=127.0.0.1:1, 127.0.0.1:2".parse().expect("parses");
        assert_eq!(g.name, "broker-a");
        assert_eq!(g.members, ["127.0.0.1:1", "127.0.0.1:2"]);
        assert!("broker-a".parse::<GroupConfig>().is_err());
        assert!("=a:1".parse::<GroupConfig>().is_err());
        assert!("b=".parse::<GroupConfig>().is_err());
    }

    #[test]
    fn a_lease_not_shorter_than_the_failover_timeout_is_refused() {
        let group = GroupConfig { name: "a".into(), members: vec!["x:1".into()] };
        let mut config = ControllerConfig { groups: vec![group.clone()], ..ControllerConfig::default() };
        assert!(config.validate().is_ok());
        config.fencing_lease = config.failover_after;
        assert!(config.validate().expect_err("lease too long").contains("shorter"));
        config.fencing_lease = Duration::from_millis(100);
        config.groups.push(group);
        assert!(config.validate().expect_err("group twice").contains("twice"));
        assert!(ControllerConfig::default().validate().is_err());
    }
}
