//! Where things live: the workspace root, the testkit's work directories and the rmq binaries.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{Impl, TestkitError};

/// The Cargo workspace root (the parent of this crate's manifest directory).
pub(crate) fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// `<workspace>/target/testkit`: cluster work directories and the cached Apache classpath.
pub(crate) fn testkit_root() -> PathBuf {
    workspace_root().join("target").join("testkit")
}

/// Creates `<testkit root>/<test>-<impl>-<HHMMSS-millis>` (UTC), adding `-2`, `-3`, ... if a cluster of the
/// same test started in the same millisecond.
pub(crate) fn create_work_dir(test_name: &str, imp: Impl) -> Result<PathBuf, TestkitError> {
    let root = testkit_root();
    std::fs::create_dir_all(&root).map_err(|e| TestkitError::io(format!("creating {}", root.display()), e))?;
    let base = format!("{}-{imp}-{}", sanitize(test_name), utc_stamp());
    for n in 1u32.. {
        let dir = if n == 1 { root.join(&base) } else { root.join(format!("{base}-{n}")) };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(TestkitError::io(format!("creating {}", dir.display()), e)),
        }
    }
    unreachable!("u32 suffixes exhausted")
}

/// Keeps letters, digits, `-`, `_` and `.`; anything else (`::`, `/`, blanks) becomes `_`.
fn sanitize(name: &str) -> String {
    let s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect();
    if s.is_empty() {
        "test".to_owned()
    } else {
        s
    }
}

/// `HHMMSS-mmm` of the current UTC time.
fn utc_stamp() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let day_secs = now.as_secs() % 86_400;
    format!("{:02}{:02}{:02}-{:03}", day_secs / 3600, day_secs / 60 % 60, day_secs % 60, now.subsec_millis())
}

/// The rmq binary `name` from `RMQ_BIN_DIR`, else `<workspace>/target/debug`; it must exist and be
/// executable.
pub(crate) fn rmq_binary(name: &str) -> Result<PathBuf, TestkitError> {
    let dir = match std::env::var_os("RMQ_BIN_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => workspace_root().join("target").join("debug"),
    };
    let path = dir.join(name);
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Ok(path),
        _ => Err(TestkitError::MissingBinary { path }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_test_names() {
        assert_eq!(sanitize("mod::case one/2"), "mod__case_one_2");
        assert_eq!(sanitize("ok-name_1.x"), "ok-name_1.x");
        assert_eq!(sanitize(""), "test");
    }

    #[test]
    fn stamps_look_like_hhmmss_millis() {
        let s = utc_stamp();
        assert_eq!(s.len(), 10, "{s}");
        assert_eq!(&s[6..7], "-");
        assert!(s.chars().filter(|c| *c != '-').all(|c| c.is_ascii_digit()), "{s}");
    }
}
