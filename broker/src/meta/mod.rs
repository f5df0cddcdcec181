//! Broker metadata persisted as JSON under `<storePathRootDir>/config/`, in Apache's file names
//! and shapes: topics (with their attributes), subscription groups and consumer offsets.

pub mod attributes;
pub mod groups;
pub mod offsets;
pub mod topics;

use std::path::Path;

use serde::{de::DeserializeOwned, Serialize};
use tracing::warn;

/// Writes `value` as JSON to `path` atomically (temp file + rename), keeping the previous
/// content as `<path>.bak` like Apache's `MixAll.string2File`.
pub fn save_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, &bytes)?;
    if path.exists() {
        let _ = std::fs::copy(path, path.with_extension("json.bak"));
    }
    std::fs::rename(&tmp, path)
}

/// Reads JSON from `path` (also fastjson's unquoted numeric keys, as Apache writes them),
/// falling back to `<path>.bak`; `None` when neither exists or parses.
pub fn load_json<T: DeserializeOwned>(path: &Path) -> Option<T> {
    for candidate in [path.to_path_buf(), path.with_extension("json.bak")] {
        match std::fs::read(&candidate) {
            Ok(bytes) => match rmq_remoting::protocol::body::from_fastjson(&bytes) {
                Ok(v) => return Some(v),
                Err(e) => warn!(path = %candidate.display(), error = %e, "unreadable metadata file"),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => warn!(path = %candidate.display(), error = %e, "cannot read metadata file"),
        }
    }
    None
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
