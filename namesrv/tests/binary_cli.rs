//! The `rmq-namesrv` binary: prints its config, layers `--set` options over the file, rejects
//! malformed config naming the key,
//! announces "boot success" and exits cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rmq-namesrv");

#[test]
fn print_config_shows_effective_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("namesrv.conf");
    std::fs::write(&conf, "listenPort=19999\nserverWorkerThreads=8\n").expect("write");
    let out = Command::new(BIN).args(["-c", conf.to_str().expect("utf8"), "-p"]).output().expect("runs");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("listenPort=19999"), "{stdout}");
    assert!(stdout.contains("orderMessageEnable=false"), "{stdout}");
}

#[test]
fn set_options_override_the_file_and_need_a_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("namesrv.conf");
    std::fs::write(&conf, "listenPort=19999\nbindAddress=0.0.0.0\n").expect("write");
    let conf = conf.to_str().expect("utf8");
    let out = Command::new(BIN).args(["-c", conf, "--set", "bindAddress=127.0.0.7", "-p"]).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.lines().any(|l| l == "bindAddress=127.0.0.7"), "{stdout}");
    let out = Command::new(BIN).args(["--set", "bindAddress", "-p"]).output().expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected key=value"));
}

#[test]
fn malformed_config_exits_non_zero_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("namesrv.conf");
    std::fs::write(&conf, "listenPort=nine\n").expect("write");
    let out = Command::new(BIN).args(["--config-file", conf.to_str().expect("utf8")]).output().expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("listenPort"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn boots_and_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("namesrv.conf");
    let kv = dir.path().join("kv.json");
    std::fs::write(&conf, format!("listenPort=0\nbindAddress=127.0.0.1\nkvConfigPath={}\n", kv.display()))
        .expect("write");
    let mut child = Command::new(BIN)
        .args(["-c", conf.to_str().expect("utf8")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("reads");
    assert!(line.contains("boot success"), "{line}");
    assert!(line.contains("127.0.0.1:"), "{line}");

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "{status:?}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rmq-namesrv did not exit within 5 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(unix)]
#[test]
fn json_log_format_writes_one_json_object_per_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("namesrv.conf");
    let kv = dir.path().join("kv.json");
    std::fs::write(
        &conf,
        format!("listenPort=0\nbindAddress=127.0.0.1\nmetricsPromExporterPort=0\nkvConfigPath={}\n", kv.display()),
    )
    .expect("write");
    let mut child = Command::new(BIN)
        .args(["-c", conf.to_str().expect("utf8")])
        .env("RMQ_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let first = lines.next().expect("a log line").expect("utf8");
    let _ = child.kill();
    let _ = child.wait();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    for line in std::iter::once(&first).chain(&rest) {
        let event: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(event["level"], "INFO", "{line}");
        assert!(event["fields"]["message"].is_string(), "{line}");
    }
}
