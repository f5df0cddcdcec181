//! The deployable observability files, read as tests check them: every PromQL expression of the
//! Grafana dashboards (`deploy/grafana/*.json`) and the alert rules (`deploy/prometheus/rules.yml`),
//! and the metric names each one selects, found with a real PromQL parser (`promql-parser`).
//! Panics with the file and expression at fault, as test support does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use promql_parser::parser::{self, Expr};
use promql_parser::util::{walk_expr, ExprVisitor};
use serde::Deserialize;

/// `deploy/prometheus/rules.yml`.
#[derive(Debug, Deserialize)]
pub struct RuleFile {
    /// Its rule groups.
    pub groups: Vec<RuleGroup>,
}

/// A rule group.
#[derive(Debug, Deserialize)]
pub struct RuleGroup {
    /// Its name.
    pub name: String,
    /// Its alerts.
    pub rules: Vec<Rule>,
}

/// An alerting rule.
#[derive(Debug, Deserialize)]
pub struct Rule {
    /// The alert's name.
    pub alert: String,
    /// Its PromQL.
    pub expr: String,
    /// Its annotations (`summary`, `description`, `runbook_url`).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// The rules file of the workspace at `root`.
pub fn rules(root: &Path) -> RuleFile {
    let path = root.join("deploy/prometheus/rules.yml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{} is not a Prometheus rules file: {e}", path.display()))
}

/// Every (origin, PromQL) of the dashboards and the rules of the workspace at `root`.
pub fn all_exprs(root: &Path) -> Vec<(String, String)> {
    let dir = root.join("deploy/grafana");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut all = Vec::new();
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let json: serde_json::Value =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display()));
        let mut exprs = Vec::new();
        dashboard_exprs(&json["panels"], &mut exprs);
        assert!(!exprs.is_empty(), "{} has no panel queries", file.display());
        all.extend(exprs.into_iter().map(|e| (file.display().to_string(), e)));
    }
    for group in rules(root).groups {
        for rule in group.rules {
            all.push((format!("rules.yml {} / {}", group.name, rule.alert), rule.expr));
        }
    }
    all
}

/// Every `targets[].expr` of every panel (rows included) of a dashboard.
fn dashboard_exprs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Array(targets)) = map.get("targets") {
                for t in targets {
                    out.push(t["expr"].as_str().expect("every target has an expr").to_owned());
                }
            }
            map.values().for_each(|v| dashboard_exprs(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| dashboard_exprs(v, out)),
        _ => {}
    }
}

/// Collects the metric names of every selector in an expression.
struct Names(BTreeSet<String>);

impl ExprVisitor for Names {
    type Error = String;
    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, String> {
        let selector = match expr {
            Expr::VectorSelector(vs) => Some(vs),
            Expr::MatrixSelector(ms) => Some(&ms.vs),
            _ => None,
        };
        if let Some(vs) = selector {
            let name = vs.name.clone().ok_or_else(|| format!("selector without a metric name: {vs}"))?;
            self.0.insert(name);
        }
        Ok(true)
    }
}

/// Parses `expr` (Grafana's `$__rate_interval` replaced by a duration) and returns its metric names.
pub fn metric_names(origin: &str, expr: &str) -> BTreeSet<String> {
    let promql = expr.replace("$__rate_interval", "5m");
    let ast = parser::parse(&promql).unwrap_or_else(|e| panic!("{origin}: `{expr}` is not valid PromQL: {e}"));
    let mut names = Names(BTreeSet::new());
    walk_expr(&mut names, &ast).unwrap_or_else(|e| panic!("{origin}: {e}"));
    names.0
}

/// The names of `referenced` that `served` lacks (a histogram's `_bucket`, `_sum` and `_count`
/// count as served when its base name is), as `origin: name`.
pub fn unserved<'a>(referenced: impl IntoIterator<Item = (&'a str, String)>, served: &BTreeSet<String>) -> Vec<String> {
    referenced
        .into_iter()
        .filter(|(_, name)| {
            let base = ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s));
            !served.contains(name) && !base.is_some_and(|b| served.contains(b))
        })
        .map(|(origin, name)| format!("{origin}: {name}"))
        .collect()
}
