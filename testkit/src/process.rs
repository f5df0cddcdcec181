//! One server process (NameServer or broker): its directory, port, `process.log`, and the child process.
//! Every state change goes through an internal lock, so a process can be shared (the brokers hold the
//! NameServers to check their liveness) and inspected through `&self`.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

use crate::probe::port_open;
use crate::{Impl, TestkitError};

/// How often waits poll.
const POLL: Duration = Duration::from_millis(50);
/// How long to wait for a killed process to be reaped and for its port to close.
const AFTER_KILL: Duration = Duration::from_secs(10);
/// Log lines shown per process by [`Process::diagnostics`].
const TAIL_LINES: usize = 30;
/// Log lines of a process that failed to start (a Rust error with `RUST_BACKTRACE=1` alone is ~50 lines).
const FAILED_START_TAIL_LINES: usize = 80;

#[derive(Default)]
struct State {
    child: Option<Child>,
    starts: u32,
}

/// A server process; dropping it SIGKILLs the child.
pub(crate) struct Process {
    name: String,
    dir: PathBuf,
    port: u16,
    imp: Impl,
    state: Mutex<State>,
}

impl Process {
    /// A process named `name` working in `dir` (created on start) and listening on `port`.
    pub(crate) fn new(name: &str, dir: PathBuf, port: u16, imp: Impl) -> Self {
        Process { name: name.to_owned(), dir, port, imp, state: Mutex::default() }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn imp(&self) -> Impl {
        self.imp
    }

    /// Runs the other implementation from the next start on (same directory, port and files).
    pub(crate) fn set_imp(&mut self, imp: Impl) {
        self.imp = imp;
    }

    /// `127.0.0.1:<port>`.
    pub(crate) fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Where the child's stdout and stderr go (appended across restarts).
    pub(crate) fn log_file(&self) -> PathBuf {
        self.dir.join("process.log")
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Launches `program args...` in the process directory, output appended to `process.log`.
    pub(crate) fn spawn(&self, program: &Path, args: &[OsString]) -> Result<(), TestkitError> {
        let mut state = self.state();
        if let Some(child) = state.child.as_mut() {
            if matches!(child.try_wait(), Ok(None)) {
                return Err(TestkitError::Usage(format!("{} is already running", self.name)));
            }
        }
        state.child = None;
        state.starts += 1;
        let shown: Vec<String> = std::iter::once(program.as_os_str())
            .chain(args.iter().map(OsString::as_os_str))
            .map(|a| {
                let a = a.to_string_lossy();
                if a.len() > 300 {
                    format!("{}...({} chars)", a.chars().take(120).collect::<String>(), a.len())
                } else {
                    a.into_owned()
                }
            })
            .collect();
        self.note(&format!("start #{}: {}", state.starts, shown.join(" ")))?;
        let log = self.open_log()?;
        let err_log = log.try_clone().map_err(|e| TestkitError::io("duplicating the log file handle", e))?;
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir(&self.dir).stdin(Stdio::null()).stdout(log).stderr(err_log);
        cmd.env_remove("NAMESRV_ADDR");
        if std::env::var_os("RUST_BACKTRACE").is_none() {
            cmd.env("RUST_BACKTRACE", "1");
        }
        if self.imp == Impl::Rmq {
            // Apache gets -Duser.home; for rmq, HOME keeps ~/namesrv/kvConfig.json and friends per process.
            cmd.env("HOME", &self.dir);
        }
        let child =
            cmd.spawn().map_err(|e| TestkitError::io(format!("starting {} ({})", self.name, program.display()), e))?;
        state.child = Some(child);
        Ok(())
    }

    /// Whether the child is running.
    pub(crate) fn is_alive(&self) -> bool {
        self.state().child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The exit status if the child was started and has exited on its own (not stopped by us).
    pub(crate) fn exit_status(&self) -> Option<ExitStatus> {
        self.state().child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// Waits until the port accepts connections and `ready()` holds, polling every 200 ms until `timeout`.
    /// On failure the child is killed and the error carries `others()` (the tails of related processes'
    /// logs) followed by a longer tail of this process's log.
    pub(crate) fn await_ready(
        &self,
        timeout: Duration,
        mut ready: impl FnMut() -> Result<(), String>,
        others: impl Fn() -> String,
    ) -> Result<(), TestkitError> {
        let deadline = Instant::now() + timeout;
        let mut waiting_for = format!("port {} to accept connections", self.port);
        loop {
            if let Some(status) = self.exit_status() {
                return Err(self.not_ready(format!("{} exited ({status}) before it was ready", self.name), &others));
            }
            if port_open(self.port) {
                match ready() {
                    Ok(()) => return Ok(()),
                    Err(why) => waiting_for = why,
                }
            }
            if Instant::now() >= deadline {
                let message =
                    format!("{} not ready within {} s: still waiting for {waiting_for}", self.name, timeout.as_secs());
                return Err(self.not_ready(message, &others));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn not_ready(&self, message: String, others: &dyn Fn() -> String) -> TestkitError {
        let mut diagnostics = others();
        diagnostics.push_str(&self.diagnostics_with(FAILED_START_TAIL_LINES));
        self.kill();
        TestkitError::NotReady { message, diagnostics }
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL; waits until the port is closed again. Returns true if
    /// the child exited within `grace` of the SIGTERM, or was not started / already stopped by us; false
    /// if it had to be killed or had already exited on its own.
    pub(crate) fn stop(&self, grace: Duration) -> bool {
        let mut state = self.state();
        let Some(mut child) = state.child.take() else {
            return true;
        };
        if let Ok(Some(status)) = child.try_wait() {
            let _ = self.note(&format!("stop: had already exited ({status})"));
            return false;
        }
        let started = Instant::now();
        let _ = self.note("stop: SIGTERM");
        let _ = kill_process(Pid::from_child(&child), Signal::TERM);
        let graceful = match wait_for_exit(&mut child, grace) {
            Some(status) => {
                let _ = self.note(&format!("exited ({status}) {} ms after SIGTERM", started.elapsed().as_millis()));
                true
            }
            None => {
                let _ = self.note(&format!("did not exit within {} s of SIGTERM; SIGKILL", grace.as_secs()));
                let _ = child.kill();
                let _ = wait_for_exit(&mut child, AFTER_KILL);
                false
            }
        };
        drop(state);
        self.await_port_closed();
        graceful
    }

    /// SIGKILL (a crash: no shutdown hook runs); waits until the port is closed again.
    pub(crate) fn kill(&self) {
        if self.kill_now() {
            self.await_port_closed();
        }
    }

    /// Sends `signal` to the running child, if any.
    pub(crate) fn signal(&self, signal: Signal) {
        if let Some(child) = self.state().child.as_ref() {
            let _ = kill_process(Pid::from_child(child), signal);
            let _ = self.note(&format!("sent {signal:?}"));
        }
    }

    /// SIGKILL and reap, without waiting for the port. Returns whether there was a child to kill.
    pub(crate) fn kill_now(&self) -> bool {
        let Some(mut child) = self.state().child.take() else {
            return false;
        };
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
            let _ = self.note("SIGKILL");
        }
        let _ = wait_for_exit(&mut child, AFTER_KILL);
        true
    }

    fn await_port_closed(&self) {
        let deadline = Instant::now() + AFTER_KILL;
        while port_open(self.port) && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
    }

    /// The last `lines` lines of `process.log` (at most its last 64 KiB).
    pub(crate) fn tail(&self, lines: usize) -> String {
        let path = self.log_file();
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) => return format!("(cannot read {}: {e})", path.display()),
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut buf = Vec::new();
        if file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024))).and_then(|_| file.read_to_end(&mut buf)).is_err() {
            return format!("(cannot read {})", path.display());
        }
        let text = String::from_utf8_lossy(&buf);
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// `----- name (alive=..) log:` and the last 30 log lines.
    pub(crate) fn diagnostics(&self) -> String {
        self.diagnostics_with(TAIL_LINES)
    }

    fn diagnostics_with(&self, lines: usize) -> String {
        format!(
            "\n----- {} (alive={}) {}:\n{}",
            self.name,
            self.is_alive(),
            self.log_file().display(),
            self.tail(lines)
        )
    }

    fn open_log(&self) -> Result<File, TestkitError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| TestkitError::io(format!("creating {}", self.dir.display()), e))?;
        let path = self.log_file();
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| TestkitError::io(format!("opening {}", path.display()), e))
    }

    /// Appends `===== <line>` to `process.log`, marking what the testkit did to the process.
    fn note(&self, line: &str) -> Result<(), TestkitError> {
        let mut log = self.open_log()?;
        writeln!(log, "\n===== {line}").map_err(|e| TestkitError::io("writing the process log", e))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill_now();
    }
}

/// Polls `child` until it exits or `timeout` passes.
fn wait_for_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
            _ => return None,
        }
    }
}
