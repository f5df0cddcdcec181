//! The KV config store (Apache's `KVConfigManager`): namespace → key → value, persisted after
//! every change as `{"configTable":{ns:{k:v}}}`, written to a temp file and renamed into place
//! so a crash never leaves a torn file.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The namespace whose entries (`topic → "brokerName:queueNum;…"`) configure ordered topics.
pub const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

type Table = BTreeMap<String, BTreeMap<String, String>>;

/// The file format (`KVConfigSerializeWrapper`).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct KvFile {
    config_table: Table,
}

/// The KV config table and its file. Methods block on file I/O; call them from
/// `spawn_blocking` in async code.
#[derive(Debug)]
pub struct KvStore {
    path: PathBuf,
    // A std mutex: held across the (small, synchronous) file write so writes land in order.
    table: Mutex<Table>,
}

impl KvStore {
    /// Loads `path`; a missing file is an empty table, an unreadable or corrupt one an error.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, Error> {
        let path = path.into();
        let table = match std::fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Table::new(),
            Ok(bytes) => {
                serde_json::from_slice::<KvFile>(&bytes)
                    .map_err(|source| Error::KvCorrupt { path: path.clone(), source })?
                    .config_table
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Table::new(),
            Err(source) => return Err(Error::KvIo { action: "read", path, source }),
        };
        Ok(KvStore { path, table: Mutex::new(table) })
    }

    /// The file this store persists to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets `namespace/key` to `value` and persists.
    pub fn put(&self, namespace: &str, key: &str, value: &str) -> Result<(), Error> {
        let mut table = self.lock();
        table.entry(namespace.to_owned()).or_default().insert(key.to_owned(), value.to_owned());
        self.persist(&table)
    }

    /// The value of `namespace/key`.
    pub fn get(&self, namespace: &str, key: &str) -> Option<String> {
        self.lock().get(namespace).and_then(|ns| ns.get(key)).cloned()
    }

    /// Removes `namespace/key` (a no-op when absent) and persists.
    pub fn delete(&self, namespace: &str, key: &str) -> Result<(), Error> {
        let mut table = self.lock();
        let Some(ns) = table.get_mut(namespace) else {
            return Ok(());
        };
        if ns.remove(key).is_none() {
            return Ok(());
        }
        if ns.is_empty() {
            table.remove(namespace);
        }
        self.persist(&table)
    }

    /// All entries of `namespace`, or `None` when it has none.
    pub fn namespace(&self, namespace: &str) -> Option<HashMap<String, String>> {
        let table = self.lock();
        let ns = table.get(namespace).filter(|ns| !ns.is_empty())?;
        Some(ns.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // A poisoned lock means a writer panicked between two map operations; the map is valid.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn persist(&self, table: &Table) -> Result<(), Error> {
        let io = |action: &'static str| {
            let path = self.path.clone();
            move |source| Error::KvIo { action, path, source }
        };
        let json = serde_json::to_vec_pretty(&KvFileRef { config_table: table }).map_err(|e| Error::KvIo {
            action: "encode",
            path: self.path.clone(),
            source: e.into(),
        })?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io("create the directory of"))?;
        }
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut file = std::fs::File::create(&tmp).map_err(io("create a temp file for"))?;
        file.write_all(&json).map_err(io("write"))?;
        file.sync_all().map_err(io("sync"))?;
        std::fs::rename(&tmp, &self.path).map_err(io("replace"))
    }
}

/// Borrowing twin of [`KvFile`], so persisting does not clone the table.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KvFileRef<'a> {
    config_table: &'a Table,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join("kvConfig.json");
        let kv = KvStore::open(&path).expect("opens");
        kv.put("ns", "k1", "v1").expect("put");
        kv.put("ns", "k2", "v2").expect("put");
        kv.delete("ns", "k1").expect("delete");
        let again = KvStore::open(&path).expect("reopens");
        assert_eq!(again.get("ns", "k2").as_deref(), Some("v2"));
        assert_eq!(again.get("ns", "k1"), None);
        let text = std::fs::read_to_string(&path).expect("file");
        let json: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(json["configTable"]["ns"]["k2"], "v2");
    }

    #[test]
    fn empty_namespace_is_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kv = KvStore::open(dir.path().join("kv.json")).expect("opens");
        assert_eq!(kv.namespace("ns"), None);
        kv.put("ns", "k", "v").expect("put");
        kv.delete("ns", "k").expect("delete");
        assert_eq!(kv.namespace("ns"), None);
    }

    #[test]
    fn corrupt_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kv.json");
        std::fs::write(&path, b"{not json").expect("write");
        let err = KvStore::open(&path).expect_err("corrupt");
        assert!(err.to_string().contains("kv.json"), "{err}");
    }
}
