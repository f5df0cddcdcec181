//! Launching the reference implementation, Apache RocketMQ 5.3.3, from Maven Central jars: the runtime
//! classpath (`RMQ_APACHE_CLASSPATH`, else a cached `mvn dependency:build-classpath` of
//! `tests/java/apache-runtime/pom.xml`) and the JVM command line of the Java suite's `Cluster.java`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::paths::{testkit_root, workspace_root};
use crate::TestkitError;

/// How long the one-time Maven resolution may take (a cold `~/.m2` downloads ~100 jars).
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The resolved classpath, once per test binary.
static CLASSPATH: Mutex<Option<String>> = Mutex::new(None);

/// The two Apache servers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Server {
    /// `NamesrvStartup`, 256 MiB heap.
    NameServer,
    /// `BrokerStartup`, 1 GiB heap and 1 GiB direct memory.
    Broker,
}

/// The `java` executable (`$JAVA_HOME/bin/java`, else `java` from `PATH`) and its arguments for `server`
/// working in `dir` with config file `conf`: the flags of `Cluster.java`.
///
/// The logback configuration is named, not given as a path: `rmq.namesrv.logback.xml` and
/// `rmq.broker.logback.xml` are resources inside the `rocketmq-namesrv` / `rocketmq-broker` jars, which
/// RocketMQ's logging looks up on the classpath (with `-Duser.home=dir` its log files land in
/// `dir/logs/rocketmqlogs/`).
pub(crate) fn java_command(server: Server, dir: &Path, conf: &Path) -> Result<(PathBuf, Vec<OsString>), TestkitError> {
    let (xmx, logback, main_class) = match server {
        Server::NameServer => ("256m", "rmq.namesrv.logback.xml", "org.apache.rocketmq.namesrv.NamesrvStartup"),
        Server::Broker => ("1g", "rmq.broker.logback.xml", "org.apache.rocketmq.broker.BrokerStartup"),
    };
    let mut args: Vec<OsString> = Vec::new();
    if matches!(server, Server::Broker) {
        args.push("-XX:MaxDirectMemorySize=1g".into());
    }
    for flag in [
        "-server",
        "-Xms128m",
        &format!("-Xmx{xmx}"),
        "-XX:+UseG1GC",
        "-XX:-OmitStackTraceInFastThrow",
        "-XX:TieredStopAtLevel=1",
        &format!("-Duser.home={}", dir.display()),
        &format!("-Drocketmq.home.dir={}", dir.display()),
        &format!("-Drmq.logback.configurationFile={logback}"),
        "--add-opens=java.base/java.lang=ALL-UNNAMED",
        "--add-opens=java.base/java.nio=ALL-UNNAMED",
        "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
        "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
        "-cp",
        &classpath()?,
        main_class,
        "-c",
    ] {
        args.push(flag.into());
    }
    args.push(conf.into());
    Ok((java(), args))
}

fn java() -> PathBuf {
    match std::env::var_os("JAVA_HOME") {
        Some(home) if !home.is_empty() => Path::new(&home).join("bin").join("java"),
        _ => PathBuf::from("java"),
    }
}

/// The Apache runtime classpath: `RMQ_APACHE_CLASSPATH`, else the cache file (resolved with Maven when it
/// is missing, empty or names a jar that no longer exists).
fn classpath() -> Result<String, TestkitError> {
    if let Some(cp) = std::env::var("RMQ_APACHE_CLASSPATH").ok().filter(|cp| !cp.trim().is_empty()) {
        return Ok(cp.trim().to_owned());
    }
    let mut cached = CLASSPATH.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(cp) = cached.as_ref() {
        return Ok(cp.clone());
    }
    let file = testkit_root().join("apache-runtime-classpath.txt");
    let cp = match read_valid(&file) {
        Some(cp) => cp,
        None => {
            resolve(&file)?;
            read_valid(&file).ok_or_else(|| {
                TestkitError::ApacheRuntime(format!(
                    "{} is empty or names missing jars after resolving",
                    file.display()
                ))
            })?
        }
    };
    *cached = Some(cp.clone());
    Ok(cp)
}

/// The classpath in `file` if it is non-empty and every entry exists.
fn read_valid(file: &Path) -> Option<String> {
    let cp = std::fs::read_to_string(file).ok()?.trim().to_owned();
    let complete = !cp.is_empty() && cp.split(':').all(|entry| Path::new(entry).exists());
    complete.then_some(cp)
}

/// Runs `mvn dependency:build-classpath` into a unique temporary file and renames it onto `file`, so that
/// test binaries resolving concurrently never see a half-written classpath.
fn resolve(file: &Path) -> Result<(), TestkitError> {
    static ATTEMPT: AtomicU32 = AtomicU32::new(0);
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| TestkitError::io(format!("creating {}", dir.display()), e))?;
    let unique = format!("{}.{}", std::process::id(), ATTEMPT.fetch_add(1, Ordering::Relaxed));
    let tmp = dir.join(format!("apache-runtime-classpath.txt.{unique}.tmp"));
    let log_path = dir.join(format!("apache-runtime-resolve.{unique}.log"));
    let pom = workspace_root().join("tests").join("java").join("apache-runtime").join("pom.xml");
    let log = std::fs::File::create(&log_path)
        .map_err(|e| TestkitError::io(format!("creating {}", log_path.display()), e))?;
    let err_log = log.try_clone().map_err(|e| TestkitError::io("duplicating the log file handle", e))?;
    let mut child = Command::new("mvn")
        .args(["-B", "-q", "-f"])
        .arg(&pom)
        .arg("dependency:build-classpath")
        .arg(format!("-Dmdep.outputFile={}", tmp.display()))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err_log)
        .spawn()
        .map_err(|e| TestkitError::ApacheRuntime(format!("cannot run `mvn` (is Maven installed?): {e}")))?;
    let deadline = Instant::now() + RESOLVE_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    if !status.is_some_and(|s| s.success()) {
        let _ = std::fs::remove_file(&tmp);
        let how = status.map_or_else(|| "timed out".to_owned(), |s| s.to_string());
        return Err(TestkitError::ApacheRuntime(format!(
            "`mvn -f {} dependency:build-classpath` failed ({how}); output in {}:\n{output}",
            pom.display(),
            log_path.display()
        )));
    }
    let _ = std::fs::remove_file(&log_path);
    std::fs::rename(&tmp, file)
        .map_err(|e| TestkitError::io(format!("renaming {} to {}", tmp.display(), file.display()), e))
}
