//! One pod as a local process: how it is laid out on disk, started, probed, restarted, reported
//! and stopped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Probe, Secret};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tracing::{info, warn};

/// A pod this kubelet runs.
pub struct Running {
    name: String,
    ip: String,
    dns: Option<String>,
    program: PathBuf,
    args: Vec<String>,
    env: BTreeMap<String, String>,
    dir: PathBuf,
    probe: Option<Probe>,
    child: Option<Child>,
    exited_at: Option<Instant>,
    restarts: u32,
    ready: bool,
    started_at: String,
}

impl Running {
    /// Lays the pod out under `work` and starts its first container.
    pub async fn start(
        pod: &Pod,
        client: &Client,
        ns: &str,
        ip: &str,
        bins: &Path,
        work: &Path,
    ) -> anyhow::Result<Running> {
        let spec = pod.spec.as_ref().ok_or_else(|| anyhow!("no spec"))?;
        let container: &Container = spec.containers.first().ok_or_else(|| anyhow!("no container"))?;
        let name = pod.name_any();
        let dir = work.join("pods").join(&name);
        std::fs::create_dir_all(&dir)?;

        // Volumes: a directory per mount, ConfigMaps and Secrets written out (once, at start: a
        // real kubelet also updates them later), claims kept by claim name.
        let mut mounts: Vec<(String, PathBuf)> = Vec::new();
        let mut config_maps: Vec<(PathBuf, String)> = Vec::new();
        let mut secrets: Vec<(PathBuf, String)> = Vec::new();
        for m in container.volume_mounts.iter().flatten() {
            let volume = spec.volumes.iter().flatten().find(|v| v.name == m.name);
            let host = match volume {
                Some(v) if v.persistent_volume_claim.is_some() => {
                    let claim = v.persistent_volume_claim.as_ref().map(|c| c.claim_name.clone()).unwrap_or_default();
                    work.join("claims").join(claim)
                }
                Some(v) if v.config_map.is_some() => {
                    let cm = v.config_map.as_ref().map(|c| c.name.clone()).unwrap_or_default();
                    config_maps.push((dir.join("volumes").join(&m.name), cm));
                    dir.join("volumes").join(&m.name)
                }
                Some(v) if v.secret.is_some() => {
                    let secret = v.secret.as_ref().and_then(|s| s.secret_name.clone()).unwrap_or_default();
                    secrets.push((dir.join("volumes").join(&m.name), secret));
                    dir.join("volumes").join(&m.name)
                }
                _ => dir.join("volumes").join(&m.name),
            };
            std::fs::create_dir_all(&host)?;
            mounts.push((m.mount_path.clone(), host));
        }
        mounts.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
        let rewrite = |text: &str| {
            let mut out = text.to_owned();
            for (path, host) in &mounts {
                out = out.replace(path.as_str(), &host.display().to_string());
            }
            out
        };
        let maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        for (host, cm) in config_maps {
            let data = maps.get(&cm).await.with_context(|| format!("ConfigMap {cm}"))?.data.unwrap_or_default();
            for (file, text) in data {
                std::fs::write(host.join(file), rewrite(&text))?;
            }
        }
        let secret_api: Api<Secret> = Api::namespaced(client.clone(), ns);
        for (host, name) in secrets {
            let data = secret_api.get(&name).await.with_context(|| format!("Secret {name}"))?.data.unwrap_or_default();
            for (file, bytes) in data {
                std::fs::write(host.join(file), bytes.0)?;
            }
        }

        let mut env = BTreeMap::new();
        for e in container.env.iter().flatten() {
            let value = match (&e.value, e.value_from.as_ref().and_then(|f| f.field_ref.as_ref())) {
                (Some(v), _) => v.clone(),
                (None, Some(f)) => field(pod, &f.field_path, ip),
                (None, None) => String::new(),
            };
            env.insert(e.name.clone(), value);
        }
        let expand = |arg: &str| {
            let mut out = arg.to_owned();
            for (k, v) in &env {
                out = out.replace(&format!("$({k})"), v);
            }
            rewrite(&out)
        };
        let mut words: Vec<String> =
            container.command.iter().flatten().chain(container.args.iter().flatten()).map(|a| expand(a)).collect();
        if words.is_empty() {
            return Err(anyhow!("the container has no command (images are not run)"));
        }
        let command = words.remove(0);
        let program = bins.join(Path::new(&command).file_name().ok_or_else(|| anyhow!("empty command"))?);
        if matches!(command.as_str(), "rmq-broker" | "rmq-namesrv") {
            // No network namespaces: each server binds its own loopback address.
            words.extend(["--set".to_owned(), format!("bindAddress={ip}")]);
        }
        env.insert("HOME".into(), dir.display().to_string());
        let dns = match (&spec.hostname, &spec.subdomain) {
            (Some(h), Some(s)) => Some(format!("{h}.{s}.{ns}.svc")),
            _ => None,
        };
        let mut running = Running {
            name,
            ip: ip.to_owned(),
            dns,
            program,
            args: words,
            env,
            dir,
            probe: container.readiness_probe.clone(),
            child: None,
            exited_at: None,
            restarts: 0,
            ready: false,
            started_at: k8s_openapi::chrono::Utc::now().to_rfc3339(),
        };
        running.spawn()?;
        Ok(running)
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("container.log"))?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .env_clear()
            .envs(&self.env)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(&self.dir)
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot run {}", self.program.display()))?;
        if let Some(pid) = child.id() {
            std::fs::write(self.dir.join("pid"), pid.to_string())?;
        }
        self.child = Some(child);
        self.exited_at = None;
        Ok(())
    }

    /// Notices an exit, restarts after the back-off, probes readiness and reports a change.
    pub async fn tick(&mut self, pods: &Api<Pod>, backoff: Duration) {
        let was_ready = self.ready;
        if let Some(child) = self.child.as_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                warn!(pod = %self.name, %status, "container exited");
                self.child = None;
                self.exited_at = Some(Instant::now());
                self.restarts += 1;
                self.ready = false;
            }
        }
        if let Some(at) = self.exited_at {
            let wait = backoff * 2u32.pow(self.restarts.saturating_sub(1).min(2));
            if at.elapsed() >= wait {
                info!(pod = %self.name, restarts = self.restarts, "restarting the container");
                if let Err(e) = self.spawn() {
                    warn!(pod = %self.name, error = %e, "cannot restart");
                    self.exited_at = Some(Instant::now());
                }
            }
        }
        if self.child.is_some() {
            self.ready = probe(&self.ip, self.probe.as_ref()).await;
        }
        if self.ready != was_ready {
            self.report(pods, self.ready).await;
        }
    }

    /// Publishes the pod's status as a kubelet would.
    pub async fn report(&self, pods: &Api<Pod>, ready: bool) {
        let now = k8s_openapi::chrono::Utc::now().to_rfc3339();
        let flag = if ready { "True" } else { "False" };
        let state = match &self.child {
            Some(_) => json!({"running": {"startedAt": self.started_at}}),
            None => json!({"waiting": {"reason": "CrashLoopBackOff"}}),
        };
        let status = json!({"status": {
            "phase": "Running", "hostIP": "127.0.0.1", "podIP": self.ip, "podIPs": [{"ip": self.ip}],
            "startTime": self.started_at,
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": self.started_at},
                {"type": "Initialized", "status": "True", "lastTransitionTime": self.started_at},
                {"type": "ContainersReady", "status": flag, "lastTransitionTime": now},
                {"type": "Ready", "status": flag, "lastTransitionTime": now}],
            "containerStatuses": [{"name": "main", "ready": ready, "restartCount": self.restarts, "image": "local",
                "imageID": "", "started": self.child.is_some(), "state": state}]}});
        if let Err(e) = pods.patch_status(&self.name, &PatchParams::default(), &Patch::Merge(&status)).await {
            warn!(pod = %self.name, error = %e, "cannot report the pod status");
        }
    }

    /// SIGTERM, then SIGKILL once `grace` has passed.
    pub async fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else { return };
        if let Some(pid) = child.id().and_then(|p| rustix::process::Pid::from_raw(p as i32)) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        if tokio::time::timeout(grace, child.wait()).await.is_err() {
            let _ = child.kill().await;
        }
        info!(pod = %self.name, "stopped");
    }

    /// `(ip, dns name)` while the pod has a stable DNS name.
    pub fn dns_entry(&self) -> Option<(String, String)> {
        self.dns.clone().map(|d| (self.ip.clone(), d))
    }
}

/// A `fieldRef` value.
fn field(pod: &Pod, path: &str, ip: &str) -> String {
    match path {
        "metadata.name" => pod.name_any(),
        "metadata.namespace" => pod.namespace().unwrap_or_default(),
        "status.podIP" | "status.hostIP" => ip.to_owned(),
        _ => path
            .strip_prefix("metadata.labels['")
            .and_then(|rest| rest.strip_suffix("']"))
            .and_then(|label| pod.labels().get(label).cloned())
            .unwrap_or_default(),
    }
}

/// The readiness probe: HTTP 200 on its path, or a TCP connect; ready when there is none.
async fn probe(ip: &str, probe: Option<&Probe>) -> bool {
    let Some(probe) = probe else { return true };
    let port = |p: &IntOrString| match p {
        IntOrString::Int(n) => u16::try_from(*n).ok(),
        IntOrString::String(_) => None,
    };
    let attempt = async {
        if let Some(http) = &probe.http_get {
            let mut s = TcpStream::connect((ip, port(&http.port)?)).await.ok()?;
            let path = http.path.clone().unwrap_or_else(|| "/".into());
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {ip}\r\nConnection: close\r\n\r\n").as_bytes())
                .await
                .ok()?;
            let mut head = vec![0u8; 32];
            let n = s.read(&mut head).await.ok()?;
            return Some(String::from_utf8_lossy(&head[..n]).split_whitespace().nth(1) == Some("200"));
        }
        let tcp = probe.tcp_socket.as_ref()?;
        Some(TcpStream::connect((ip, port(&tcp.port)?)).await.is_ok())
    };
    tokio::time::timeout(Duration::from_secs(1), attempt).await.ok().flatten().unwrap_or(false)
}
