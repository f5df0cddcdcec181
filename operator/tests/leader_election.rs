//! Leader election between operator replicas, on the real control plane (`tests/k8s-operator.sh`
//! starts it and runs this file with `--ignored`): `rmq-operator` processes with the Helm chart's
//! RBAC (`K8S_TEST_OPERATOR_KUBECONFIG`) contend for the chart's Lease, `rmq-system/rmq-operator`.
//! The chart's own Deployment never runs there (no kubelet), so these processes are alone.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::Api;
use serde_json::json;
use tokio::process::{Child, Command};

mod common;

use common::{admin, eventually, http_get};

const NAMESPACE: &str = "rmq-system";
const LEASE: &str = "rmq-operator";
const LEASE_SECS: u64 = 3;

/// One operator replica: a real `rmq-operator` process.
struct Replica {
    identity: &'static str,
    port: u16,
    child: Child,
    log: std::path::PathBuf,
}

impl Replica {
    async fn start(identity: &'static str) -> Replica {
        let kubeconfig = std::env::var("K8S_TEST_OPERATOR_KUBECONFIG")
            .expect("K8S_TEST_OPERATOR_KUBECONFIG is not set: start hack/k8s-env/up.sh first");
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let log = std::env::temp_dir().join(format!("rmq-leader-election-{}-{identity}.log", std::process::id()));
        // Logs go to stdout, `main`'s error to stderr: both into one file.
        let stdout = std::fs::File::create(&log).expect("log file");
        let stderr = stdout.try_clone().expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_rmq-operator"))
            .args(["--metrics-addr", &format!("127.0.0.1:{port}"), "--identity", identity])
            .args(["--lease-namespace", NAMESPACE, "--lease-name", LEASE, "--lease-secs", &LEASE_SECS.to_string()])
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info")
            .stdout(stdout)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .expect("start rmq-operator");
        Replica { identity, port, child, log }
    }

    /// `Some(true)` while it leads, `Some(false)` while it stands by (ready), `None` before that.
    async fn leading(&self) -> Option<bool> {
        let connect = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await;
        if connect.is_err() {
            return None;
        }
        let (status, ready) = http_get(self.port, "/readyz").await;
        if status != 200 {
            return None;
        }
        let (_, metrics) = http_get(self.port, "/metrics").await;
        let leader = metrics.lines().any(|l| l == "rocketmq_operator_leader 1");
        assert_eq!(leader, !ready.contains("standing by"), "{}: /readyz and the leader gauge disagree", self.identity);
        Some(leader)
    }

    async fn wait_leading(&self, leading: bool) {
        let what = format!("{} to {}", self.identity, if leading { "lead" } else { "stand by" });
        eventually(&what, || async { (self.leading().await == Some(leading)).then_some(()) }).await;
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("a running replica").to_string();
        let status = std::process::Command::new("kill").args([signal, &pid]).status().expect("kill");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Waits for the process to exit: its status and what it logged.
    async fn exit(mut self) -> (std::process::ExitStatus, String) {
        let status = tokio::time::timeout(common::WAIT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not exit", self.identity))
            .expect("wait");
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::remove_file(&self.log);
        (status, log)
    }
}

async fn holder(leases: &Api<Lease>) -> Option<String> {
    leases.get_opt(LEASE).await.expect("get the Lease")?.spec?.holder_identity
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real control plane: tests/k8s-operator.sh"]
async fn one_replica_leads_a_standby_takes_over_from_a_crashed_or_stopped_leader_and_a_deposed_leader_exits() {
    let leases: Api<Lease> = Api::namespaced(admin().await, NAMESPACE);
    let _ = leases.delete(LEASE, &DeleteParams::default()).await;

    let a = Replica::start("replica-a").await;
    a.wait_leading(true).await;
    assert_eq!(holder(&leases).await.as_deref(), Some("replica-a"));
    let b = Replica::start("replica-b").await;
    b.wait_leading(false).await;
    // Two lease durations: the leader renews, the standby stays a standby.
    tokio::time::sleep(Duration::from_secs(2 * LEASE_SECS)).await;
    assert_eq!((a.leading().await, b.leading().await), (Some(true), Some(false)));
    assert_eq!(holder(&leases).await.as_deref(), Some("replica-a"));

    // A crash releases nothing: the standby takes over once the Lease expires.
    a.signal("-KILL");
    let crashed = Instant::now();
    b.wait_leading(true).await;
    println!("takeover after a crashed leader: {:?} (lease {LEASE_SECS} s)", crashed.elapsed());
    assert_eq!(holder(&leases).await.as_deref(), Some("replica-b"));
    let _ = a.exit().await;

    // A stopped leader stops its controllers, releases the Lease and exits cleanly; the standby
    // takes over at its next look at the Lease.
    let c = Replica::start("replica-c").await;
    c.wait_leading(false).await;
    b.signal("-TERM");
    let stopped = Instant::now();
    let (status, log) = b.exit().await;
    assert!(status.success(), "a stopped leader exits cleanly: {status}\n{log}");
    assert!(log.contains("released the leader Lease"), "{log}");
    c.wait_leading(true).await;
    println!("takeover after a stopped leader: {:?}", stopped.elapsed());
    assert_eq!(holder(&leases).await.as_deref(), Some("replica-c"));

    // Another holder in the Lease (a replica that believed the Lease expired): the deposed leader
    // stops its controllers and exits with an error, so its pod restarts as a standby.
    let now = k8s_openapi::chrono::Utc::now().to_rfc3339_opts(k8s_openapi::chrono::SecondsFormat::Micros, true);
    let intruder = json!({"spec": {"holderIdentity": "intruder", "acquireTime": now, "renewTime": now,
                                   "leaseDurationSeconds": 60}});
    leases.patch(LEASE, &PatchParams::default(), &Patch::Merge(&intruder)).await.expect("patch the Lease");
    let (status, log) = c.exit().await;
    assert!(!status.success(), "a deposed leader exits with an error");
    assert!(log.contains("lost the leader Lease"), "{log}");
    let _ = leases.delete(LEASE, &DeleteParams::default()).await;
}
