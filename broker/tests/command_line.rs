//! The broker's command line as a Kubernetes pod uses it: `-c` layers config files (a later
//! file's keys win), `--set key=value` overrides them all, `-p` prints the effective config, and
//! a malformed `--set` is refused with a message and a non-zero exit.

use std::process::Command;

fn broker(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rmq-broker")).args(args).output().expect("run rmq-broker")
}

#[test]
fn later_files_and_set_options_override_earlier_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shared = dir.path().join("broker.conf");
    let pod = dir.path().join("pod-1.conf");
    std::fs::write(&shared, "brokerName=g0\nbrokerId=0\nbrokerRole=ASYNC_MASTER\nbrokerIP1=1.1.1.1\n").expect("write");
    std::fs::write(&pod, "brokerId=1\nbrokerRole=SLAVE\n").expect("write");
    let (shared, pod) = (shared.to_str().expect("utf-8"), pod.to_str().expect("utf-8"));
    let out = broker(&["-c", shared, "-c", pod, "--set", "brokerIP1=10.1.2.3", "-p"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout);
    for line in ["brokerName=g0", "brokerId=1", "brokerRole=SLAVE", "brokerIP1=10.1.2.3"] {
        assert!(printed.lines().any(|l| l == line), "{line} missing from\n{printed}");
    }
}

#[test]
fn a_set_option_without_a_key_is_refused() {
    for bad in ["brokerIP1", "=1.2.3.4"] {
        let out = broker(&["--set", bad, "-p"]);
        assert!(!out.status.success(), "--set {bad} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("expected key=value"), "{err}");
    }
}
