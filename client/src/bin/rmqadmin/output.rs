//! How results are printed: `--output table` (aligned columns, or `key: value` blocks for one
//! record) or `--output json` (one JSON document on stdout).

use std::fmt::Write as _;
use std::io::Write as _;

use clap::ValueEnum;
use serde::Serialize;

/// The `--output` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable aligned columns.
    Table,
    /// One JSON document.
    Json,
}

/// A result the CLI can print either way.
pub trait Render: Serialize {
    /// The human-readable form, ending with a newline.
    fn table(&self) -> String;
}

/// Prints `value` to stdout in `format`. A closed stdout (`rmqadmin … | head`) is not an error.
pub fn emit<T: Render + ?Sized>(format: Format, value: &T) {
    let text = match format {
        Format::Table => value.table(),
        // Result types hold only strings, numbers, maps with string keys and sequences.
        Format::Json => match serde_json::to_string_pretty(value) {
            Ok(json) => json + "\n",
            Err(e) => format!("{{\"error\":{:?}}}\n", e.to_string()),
        },
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Columns of text: left-aligned, except columns whose every cell is a number, which are
/// right-aligned; two spaces between columns; the last column is not padded.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(header: I) -> Self {
        Table { header: header.into_iter().map(Into::into).collect(), rows: Vec::new() }
    }

    /// Appends a row (missing cells print empty, extra cells are dropped).
    pub fn row<I: IntoIterator<Item = S>, S: ToString>(&mut self, cells: I) -> &mut Self {
        let mut row: Vec<String> = cells.into_iter().map(|c| c.to_string()).collect();
        row.resize(self.header.len(), String::new());
        self.rows.push(row);
        self
    }

    /// The aligned text, one line per row after the header line.
    pub fn render(&self) -> String {
        let n = self.header.len();
        let width = |i: usize| {
            self.rows.iter().map(|r| r[i].chars().count()).chain([self.header[i].chars().count()]).max().unwrap_or(0)
        };
        let widths: Vec<usize> = (0..n).map(width).collect();
        let numeric: Vec<bool> = (0..n)
            .map(|i| !self.rows.is_empty() && self.rows.iter().all(|r| r[i].is_empty() || is_number(&r[i])))
            .collect();
        let mut out = String::new();
        for cells in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = widths[i].saturating_sub(cell.chars().count());
                if numeric[i] {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if i + 1 < n {
                        line.push_str(&" ".repeat(pad));
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

fn is_number(s: &str) -> bool {
    s.parse::<f64>().is_ok()
}

/// `key: value` lines with the values aligned, for one record.
pub fn fields<'a, I: IntoIterator<Item = (&'a str, String)>>(pairs: I) -> String {
    let pairs: Vec<(&str, String)> = pairs.into_iter().collect();
    let width = pairs.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0) + 1;
    let mut out = String::new();
    for (k, v) in pairs {
        let _ = writeln!(out, "{:<width$} {v}", format!("{k}:"), width = width);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_numbers_go_right() {
        let mut t = Table::new(["BROKER", "QUEUE", "MAX OFFSET", "LAST UPDATED"]);
        t.row(["broker-a", "0", "5", "2024-01-02 03:04:05.006"]);
        t.row(["broker-bb", "10", "12345", ""]);
        assert_eq!(
            t.render(),
            "BROKER     QUEUE  MAX OFFSET  LAST UPDATED\n\
             broker-a       0           5  2024-01-02 03:04:05.006\n\
             broker-bb     10       12345\n"
        );
    }

    #[test]
    fn empty_table_prints_the_header_only() {
        assert_eq!(Table::new(["A", "B"]).render(), "A  B\n");
    }

    #[test]
    fn short_rows_are_padded() {
        let mut t = Table::new(["A", "B"]);
        t.row(["x"]);
        assert_eq!(t.render(), "A  B\nx\n");
    }

    #[test]
    fn fields_align_values() {
        assert_eq!(fields([("Topic", "T".to_owned()), ("Queue ID", "3".to_owned())]), "Topic:    T\nQueue ID: 3\n");
    }
}
