//! The metrics settings of `broker.conf`, Apache's keys: `metricsExporterType`,
//! `metricsPromExporterPort`, `metricsPromExporterHost`, `metricsLabel`.

use std::net::IpAddr;

use rmq_remoting::config::{ConfigError, Properties};

/// `metricsExporterType`. Apache's default is `DISABLE`; rmq's is `PROM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExporterType {
    /// No exporter: `/metrics`, `/healthz` and `/readyz` are not served.
    Disable,
    /// The Prometheus pull endpoint on `metricsPromExporterPort`.
    Prom,
    /// `OTLP_GRPC` or `LOG`: accepted, not implemented (nothing is served).
    Unsupported,
}

impl std::str::FromStr for ExporterType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "DISABLE" => Ok(ExporterType::Disable),
            "PROM" => Ok(ExporterType::Prom),
            "OTLP_GRPC" | "LOG" => Ok(ExporterType::Unsupported),
            _ => Err("expected DISABLE, PROM, OTLP_GRPC or LOG".into()),
        }
    }
}

/// Where and whether the broker serves `/metrics`, `/healthz` and `/readyz`.
#[derive(Debug, Clone)]
pub struct MetricsConfig {
    /// `metricsExporterType` (default `PROM`).
    pub exporter: ExporterType,
    /// `metricsPromExporterPort` (default 5557); 0 turns the endpoint off.
    pub port: u16,
    /// `metricsPromExporterHost`, else the broker's `bindAddress`.
    pub host: IpAddr,
    /// `metricsLabel` (`k1:v1,k2:v2`): constant labels added to every series.
    pub labels: Vec<(String, String)>,
}

impl MetricsConfig {
    /// Reads the metrics keys; `bind_address` is the default host.
    pub fn load(props: &mut Properties, bind_address: IpAddr) -> Result<Self, ConfigError> {
        let labels = props
            .get("metricsLabel", String::new())?
            .split(',')
            .filter_map(|pair| pair.split_once(':'))
            .filter(|(k, v)| !k.trim().is_empty() && !v.contains(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Ok(MetricsConfig {
            exporter: props.get("metricsExporterType", ExporterType::Prom)?,
            port: props.get("metricsPromExporterPort", 5557u16)?,
            host: props.get("metricsPromExporterHost", bind_address)?,
            labels,
        })
    }

    /// Whether the HTTP endpoint is served.
    pub fn enabled(&self) -> bool {
        self.exporter == ExporterType::Prom && self.port != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn load(text: &str) -> MetricsConfig {
        let mut props = Properties::parse(text).expect("properties");
        MetricsConfig::load(&mut props, IpAddr::V4(Ipv4Addr::LOCALHOST)).expect("valid")
    }

    #[test]
    fn prom_on_5557_by_default_and_off_by_port_zero_or_disable() {
        let c = load("");
        assert!(c.enabled() && c.port == 5557 && c.host == IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(!load("metricsPromExporterPort=0").enabled());
        assert!(!load("metricsExporterType=DISABLE").enabled());
        assert!(!load("metricsExporterType=OTLP_GRPC").enabled());
    }

    #[test]
    fn metrics_label_pairs() {
        let c = load("metricsLabel=env:prod,bad,zone:a");
        assert_eq!(c.labels, vec![("env".into(), "prod".into()), ("zone".into(), "a".into())]);
    }
}
