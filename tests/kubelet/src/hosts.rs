//! The kubelet's block of `/etc/hosts`: one line per running pod with a stable DNS name, between
//! marker lines naming the namespace, rewritten in place (other lines are left alone).

use std::path::PathBuf;

pub struct Hosts {
    path: PathBuf,
    begin: String,
    end: String,
    last: Vec<(String, String)>,
}

impl Hosts {
    pub fn new(path: PathBuf, namespace: &str) -> std::io::Result<Hosts> {
        let hosts = Hosts {
            path,
            begin: format!("# BEGIN rmq-test-kubelet {namespace}"),
            end: format!("# END rmq-test-kubelet {namespace}"),
            last: vec![("-".into(), "-".into())],
        };
        Ok(hosts)
    }

    /// Makes the block hold exactly `entries` (ip, name).
    pub fn write(&mut self, entries: &[(String, String)]) -> std::io::Result<()> {
        let mut sorted = entries.to_vec();
        sorted.sort();
        if sorted == self.last {
            return Ok(());
        }
        let text = std::fs::read_to_string(&self.path)?;
        let mut out = String::new();
        let mut inside = false;
        for line in text.lines() {
            if line == self.begin {
                inside = true;
            } else if line == self.end {
                inside = false;
            } else if !inside {
                out.push_str(line);
                out.push('\n');
            }
        }
        if !sorted.is_empty() {
            out.push_str(&self.begin);
            out.push('\n');
            for (ip, name) in &sorted {
                out.push_str(&format!("{ip} {name} {name}.cluster.local\n"));
            }
            out.push_str(&self.end);
            out.push('\n');
        }
        // /etc/hosts may be a bind mount: rewrite it in place rather than renaming over it.
        std::fs::write(&self.path, out)?;
        self.last = sorted;
        Ok(())
    }
}
