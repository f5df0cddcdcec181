//! `rmq-test-kubelet`: a kubelet for tests, without containers. It runs every pod of one
//! namespace as a local process of the pod's command taken from `--bin-dir`, each pod on its own
//! loopback address (127.0.x.y, given to the process as `bindAddress` and reported as the pod
//! IP), resolves `fieldRef` env vars and `$(VAR)` in args, maps volume mounts to directories
//! (ConfigMaps written out, a PVC kept per claim name so a recreated pod finds its data), probes
//! readiness, restarts exited processes with a back-off, honours deletion with SIGTERM then
//! SIGKILL after the grace period, and publishes each pod's stable DNS name
//! (`<hostname>.<subdomain>.<namespace>.svc`) in `/etc/hosts` (its own marked block).
//!
//! What it does not reproduce (see `tests/README.md`): images (binaries come from `--bin-dir`),
//! network and mount isolation, Service virtual IPs, cluster DNS beyond pod names, resource
//! limits, liveness-probe restarts, node scheduling.

mod hosts;
mod pod;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams};
use kube::{Api, Client, ResourceExt};
use tracing::{info, warn};

use crate::pod::Running;

/// Runs the pods of a namespace as local processes.
#[derive(Parser, Debug)]
#[command(name = "rmq-test-kubelet")]
struct Args {
    /// The namespace whose pods this kubelet runs.
    #[arg(long)]
    namespace: String,
    /// Where pod commands (`rmq-broker`, `rmq-namesrv`, …) are found.
    #[arg(long)]
    bin_dir: PathBuf,
    /// Pod directories, volumes and logs go here.
    #[arg(long)]
    work_dir: PathBuf,
    /// The first two octets after 127 of pod addresses: pods get 127.<subnet>.<n>.
    #[arg(long, default_value_t = 77)]
    subnet: u8,
    /// The hosts file the pods' DNS names go to.
    #[arg(long, default_value = "/etc/hosts")]
    hosts_file: PathBuf,
    /// Wait before restarting an exited container (doubling up to 4x, as the kubelet's back-off).
    #[arg(long, default_value_t = 10)]
    restart_backoff_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args = Args::parse();
    std::fs::create_dir_all(&args.work_dir)?;
    let client = Client::try_default().await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &args.namespace);
    let mut hosts = hosts::Hosts::new(args.hosts_file.clone(), &args.namespace)?;
    let mut running: HashMap<String, Running> = HashMap::new();
    let mut next_ip = 10u16;
    let mut stop = Box::pin(tokio::signal::ctrl_c());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    info!(namespace = %args.namespace, "test kubelet running pods as local processes");
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = term.recv() => break,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        let list = match pods.list(&ListParams::default()).await {
            Ok(list) => list.items,
            Err(e) => {
                warn!(error = %e, "cannot list pods");
                continue;
            }
        };
        for p in &list {
            let Some(uid) = p.uid() else { continue };
            if p.metadata.deletion_timestamp.is_some() {
                if let Some(mut r) = running.remove(&uid) {
                    r.stop(grace(p)).await;
                }
                let _ = pods
                    .delete(&p.name_any(), &DeleteParams { grace_period_seconds: Some(0), ..Default::default() })
                    .await;
                continue;
            }
            if let Some(r) = running.get_mut(&uid) {
                r.tick(&pods, Duration::from_secs(args.restart_backoff_secs)).await;
                continue;
            }
            let ip = format!("127.{}.{}.{}", args.subnet, next_ip / 250, next_ip % 250 + 2);
            next_ip += 1;
            match Running::start(p, &client, &args.namespace, &ip, &args.bin_dir, &args.work_dir).await {
                Ok(r) => {
                    info!(pod = %p.name_any(), %ip, "started");
                    r.report(&pods, false).await;
                    running.insert(uid, r);
                }
                Err(e) => warn!(pod = %p.name_any(), error = %e, "cannot start the pod"),
            }
        }
        let live: Vec<String> = list.iter().filter_map(|p| p.uid()).collect();
        for uid in running.keys().filter(|u| !live.contains(u)).cloned().collect::<Vec<_>>() {
            if let Some(mut r) = running.remove(&uid) {
                r.stop(Duration::ZERO).await;
            }
        }
        let names: Vec<(String, String)> = running.values().filter_map(Running::dns_entry).collect();
        if let Err(e) = hosts.write(&names) {
            warn!(error = %e, "cannot update the hosts file");
        }
    }
    info!("stopping every pod");
    for (_, mut r) in running.drain() {
        r.stop(Duration::from_secs(5)).await;
    }
    hosts.write(&[])?;
    Ok(())
}

fn grace(pod: &Pod) -> Duration {
    let secs = pod.metadata.deletion_grace_period_seconds.unwrap_or(30).clamp(0, 30);
    Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}
