//! Where the broker listens and what it advertises (`listenPort`, `brokerIP1`/`brokerIP2`,
//! `namesrvAddr`, and rmq's keys for brokers reached through another address: a Kubernetes
//! NodePort or load balancer, or the group's master Service).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use rmq_remoting::config::{ConfigError, Properties};
use rmq_remoting::rpc::ServerConfig;

/// Where the broker listens and what it advertises.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// `listenPort` (10911); the VIP server uses `listenPort - 2`.
    pub listen_port: u16,
    /// `brokerAdvertisedPort` (rmq, default `listenPort`): the port registered with the
    /// NameServers and written into message ids, when clients reach the broker through another
    /// one (a Kubernetes NodePort).
    pub advertised_port: u16,
    /// `brokerAdvertisedHost` (rmq, default `brokerIP1`): the host (a DNS name or an IP)
    /// registered with the NameServers, when clients reach the broker through another address (a
    /// Kubernetes load balancer). An IP is written into message ids too; a name cannot be, so
    /// message ids then carry `brokerIP1`.
    pub advertised_host: Option<String>,
    /// `bindAddress` (0.0.0.0).
    pub bind_address: IpAddr,
    /// `brokerIP1`: advertised remoting address and store host.
    pub broker_ip1: IpAddr,
    /// `brokerIP2`: advertised HA address.
    pub broker_ip2: IpAddr,
    /// `namesrvAddr`: `host:port;host:port`.
    pub namesrv_addrs: Vec<String>,
    /// `masterServiceAddress` (rmq): `host:port` the group's master registers instead of its own
    /// address, a Service that routes to whichever member is the master now, so clients keep
    /// one address across a failover. Slaves register their own address.
    pub master_service_address: Option<String>,
    /// `registerNameServerPeriod`.
    pub register_period: Duration,
    /// `waitTimeMillsInSendQueue`: requests waiting longer get SYSTEM_BUSY.
    pub max_queue_wait: Duration,
    /// Limits of the remoting ports: connections, in-flight requests per connection, pending
    /// long polls, frame size, idle timeout (see [`ServerConfig::load`]).
    pub server: ServerConfig,
}

impl NetworkConfig {
    /// Reads the network keys, with Apache's defaults.
    pub fn load(props: &mut Properties) -> Result<Self, ConfigError> {
        let listen_port = props.get("listenPort", 10911u16)?;
        let broker_ip1 = props.get("brokerIP1", IpAddr::V4(Ipv4Addr::LOCALHOST))?;
        Ok(NetworkConfig {
            listen_port,
            advertised_port: props.get("brokerAdvertisedPort", listen_port)?,
            advertised_host: advertised_host(props)?,
            bind_address: props.get("bindAddress", IpAddr::V4(Ipv4Addr::UNSPECIFIED))?,
            broker_ip1,
            broker_ip2: props.get("brokerIP2", broker_ip1)?,
            namesrv_addrs: props
                .get("namesrvAddr", String::new())?
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            master_service_address: Some(props.get("masterServiceAddress", String::new())?)
                .filter(|a| !a.trim().is_empty()),
            register_period: Duration::from_millis(props.get("registerNameServerPeriod", 30_000u64)?)
                .clamp(Duration::from_secs(10), Duration::from_secs(60)),
            max_queue_wait: Duration::from_millis(props.get("waitTimeMillsInSendQueue", 200u64)?),
            server: ServerConfig::load(props)?,
        })
    }

    /// The address registered with the NameServers: `brokerAdvertisedHost` (else `brokerIP1`)
    /// and `brokerAdvertisedPort` (else `listenPort`).
    pub fn broker_addr(&self) -> String {
        match &self.advertised_host {
            Some(host) if host.parse::<IpAddr>().is_err() => format!("{host}:{}", self.advertised_port),
            _ => self.store_host().to_string(),
        }
    }

    /// The address written into message ids (an IP and a port): the advertised address when
    /// its host is an IP, else `brokerIP1` with the advertised port.
    pub fn store_host(&self) -> SocketAddr {
        let ip = self.advertised_host.as_deref().and_then(|h| h.parse().ok()).unwrap_or(self.broker_ip1);
        SocketAddr::new(ip, self.advertised_port)
    }
}

/// `brokerAdvertisedHost`: an IP or a DNS name (letters, digits, `-` and `.`), or unset.
fn advertised_host(props: &mut Properties) -> Result<Option<String>, ConfigError> {
    let host = props.get("brokerAdvertisedHost", String::new())?;
    let host = host.trim();
    if host.is_empty() {
        return Ok(None);
    }
    let dns_name = host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if dns_name || host.parse::<IpAddr>().is_ok() {
        Ok(Some(host.to_owned()))
    } else {
        Err(ConfigError::Invalid {
            key: "brokerAdvertisedHost".into(),
            value: host.to_owned(),
            reason: "expected an IP address or a DNS name".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<NetworkConfig, ConfigError> {
        NetworkConfig::load(&mut Properties::parse(text).expect("parses"))
    }

    #[test]
    fn an_advertised_port_is_registered_and_written_into_message_ids() {
        let n = load("brokerIP1=10.0.0.7\nlistenPort=10911\nbrokerAdvertisedPort=31911\n").expect("valid");
        assert_eq!(n.broker_addr(), "10.0.0.7:31911");
        assert_eq!(n.store_host().to_string(), "10.0.0.7:31911");
        assert_eq!(n.listen_port, 10911, "it still listens on listenPort");
    }

    #[test]
    fn an_advertised_ip_is_registered_and_written_into_message_ids() {
        let n = load("brokerIP1=10.0.0.7\nbrokerAdvertisedHost=203.0.113.9\n").expect("valid");
        assert_eq!(n.broker_addr(), "203.0.113.9:10911");
        assert_eq!(n.store_host().to_string(), "203.0.113.9:10911");
        assert_eq!(n.broker_ip2.to_string(), "10.0.0.7", "replication stays on brokerIP1's address");
    }

    #[test]
    fn an_advertised_name_is_registered_and_message_ids_keep_broker_ip1() {
        let n = load("brokerIP1=10.0.0.7\nbrokerAdvertisedHost=a1b2.elb.example.com\n").expect("valid");
        assert_eq!(n.broker_addr(), "a1b2.elb.example.com:10911");
        assert_eq!(n.store_host().to_string(), "10.0.0.7:10911");
    }

    #[test]
    fn a_malformed_advertised_host_names_the_key() {
        for bad in ["host:10911", "a b", "-lead.example.com", "under_score.example.com", "x..y"] {
            let err = load(&format!("brokerAdvertisedHost={bad}\n")).expect_err(bad);
            assert!(err.to_string().contains("brokerAdvertisedHost"), "{err}");
        }
    }
}
