//! Real RocketMQ clusters for Rust integration tests.
//!
//! A [`Cluster`] is a set of NameServers and brokers running as real processes on 127.0.0.1, either our
//! binaries ([`Impl::Rmq`]: `rmq-namesrv` / `rmq-broker`) or the reference servers ([`Impl::Apache`]:
//! Apache RocketMQ 5.3.3 from Maven Central, run with the local `java`). It is the Rust twin of the Java
//! compatibility suite's `Cluster` (`tests/java/src/test/java/rmq/compat/support/Cluster.java`): same
//! config files, same JVM flags, same readiness rule (the port accepts connections and every live
//! NameServer lists the broker in its cluster info).
//!
//! ```no_run
//! use rmq_testkit::{impls, Cluster};
//!
//! for imp in impls() {
//!     let mut cluster = Cluster::builder("my_test", imp).name_servers(2).broker("broker-a").start().unwrap();
//!     let addr = cluster.broker("broker-a").addr();
//!     // ... talk to cluster.namesrv_addr() / addr ...
//!     assert!(cluster.broker_mut("broker-a").restart().unwrap());
//! } // dropping the cluster SIGKILLs every process
//! ```
//!
//! The API is synchronous, so it works from plain `#[test]`s and from `#[tokio::test]`s alike (the only
//! async work, the cluster-info query, runs on its own thread and runtime).
//!
//! Prerequisites: for [`Impl::Rmq`], `cargo build -p rmq-namesrv -p rmq-broker` (the testkit never runs
//! cargo itself: a nested cargo under `cargo test` would wait on the build lock forever); binaries are
//! taken from `RMQ_BIN_DIR`, else `<workspace>/target/debug`. For [`Impl::Apache`], Java 17 (`JAVA_HOME`
//! or `java` on `PATH`) and either `RMQ_APACHE_CLASSPATH` or Maven (`mvn`, which resolves the runtime
//! once into `<workspace>/target/testkit/apache-runtime-classpath.txt`).
//!
//! Each cluster works in `<workspace>/target/testkit/<test>-<impl>-<HHMMSS-millis>/` (UTC), one
//! subdirectory per process holding its config and `process.log` (stdout and stderr).

mod apache;
mod broker;
mod cluster;
pub mod observability;
mod paths;
pub mod ports;
mod probe;
mod process;

use std::fmt;
use std::str::FromStr;

pub use broker::Broker;
pub use cluster::{Cluster, ClusterBuilder};

/// Which servers a [`Cluster`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Impl {
    /// Our binaries, `rmq-namesrv` and `rmq-broker`.
    Rmq,
    /// The reference implementation, Apache RocketMQ 5.3.3 (`NamesrvStartup` / `BrokerStartup`).
    Apache,
}

impl Impl {
    /// The name used in directory names and in `RMQ_TEST_IMPLS`: `"rmq"` or `"apache"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Impl::Rmq => "rmq",
            Impl::Apache => "apache",
        }
    }
}

impl fmt::Display for Impl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Impl {
    type Err = TestkitError;

    /// Parses `"rmq"` or `"apache"` (case-insensitive, surrounding blanks ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rmq" => Ok(Impl::Rmq),
            "apache" => Ok(Impl::Apache),
            other => {
                Err(TestkitError::Usage(format!("unknown implementation {other:?} (expected \"rmq\" or \"apache\")")))
            }
        }
    }
}

/// The implementations a test should run against: `[Rmq, Apache]`, or what the environment variable
/// `RMQ_TEST_IMPLS` lists (comma-separated, e.g. `rmq`, `apache` or `rmq,apache`).
///
/// # Panics
///
/// If `RMQ_TEST_IMPLS` names something other than `rmq` or `apache` (a typo there would otherwise
/// silently skip tests).
pub fn impls() -> Vec<Impl> {
    match std::env::var("RMQ_TEST_IMPLS") {
        Ok(list) if !list.trim().is_empty() => parse_impls(&list).unwrap_or_else(|e| panic!("RMQ_TEST_IMPLS: {e}")),
        _ => vec![Impl::Rmq, Impl::Apache],
    }
}

fn parse_impls(list: &str) -> Result<Vec<Impl>, TestkitError> {
    let mut out = Vec::new();
    for part in list.split(',').filter(|p| !p.trim().is_empty()) {
        let imp = part.parse()?;
        if !out.contains(&imp) {
            out.push(imp);
        }
    }
    Ok(out)
}

/// Why a cluster or a server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// A file or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An rmq binary is missing: it has to be built before the tests run.
    #[error(
        "rmq binary not found or not executable: {path} (run `cargo build -p rmq-namesrv -p rmq-broker` first, \
         or point RMQ_BIN_DIR at the directory holding the binaries)"
    )]
    MissingBinary {
        /// Where the binary was looked for.
        path: std::path::PathBuf,
    },
    /// The Apache RocketMQ runtime (its classpath) could not be resolved.
    #[error("cannot resolve the Apache RocketMQ runtime: {0}")]
    ApacheRuntime(String),
    /// A server exited or did not become ready in time.
    #[error("{message}\n{diagnostics}")]
    NotReady {
        /// What went wrong.
        message: String,
        /// The tails of the relevant process logs.
        diagnostics: String,
    },
    /// The testkit was used wrongly (duplicate broker name, starting a running broker, ...).
    #[error("{0}")]
    Usage(String),
}

impl TestkitError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        TestkitError::Io { context: context.into(), source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_impl_lists() {
        assert_eq!(parse_impls("rmq").ok(), Some(vec![Impl::Rmq]));
        assert_eq!(parse_impls(" Apache ").ok(), Some(vec![Impl::Apache]));
        assert_eq!(parse_impls("rmq,apache,rmq").ok(), Some(vec![Impl::Rmq, Impl::Apache]));
        assert!(parse_impls("rmq,kafka").is_err());
        assert_eq!(Impl::Apache.to_string(), "apache");
    }
}
