//! Where output goes: periodic report lines on stdout (text mode) or stderr (JSON mode, so that
//! stdout carries exactly one JSON document), and the final summary in the chosen format.

use std::fmt::{Arguments, Display};
use std::io::Write;

use serde::Serialize;

use crate::cli::Output;

/// Prints the periodic report lines.
#[derive(Debug, Clone, Copy)]
pub struct Reporter {
    output: Output,
}

impl Reporter {
    /// A reporter for the chosen final output format.
    pub fn new(output: Output) -> Self {
        Reporter { output }
    }

    /// Prints one report line (errors writing it, e.g. a closed pipe, are ignored).
    pub fn line(&self, line: Arguments<'_>) {
        let _ = match self.output {
            Output::Text => writeln!(std::io::stdout().lock(), "{line}"),
            Output::Json => writeln!(std::io::stderr().lock(), "{line}"),
        };
    }

    /// Prints the final summary: its `Display` form, or one line of JSON.
    pub fn summary<T: Serialize + Display>(&self, summary: &T) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        match self.output {
            Output::Text => writeln!(out, "{summary}")?,
            Output::Json => writeln!(out, "{}", serde_json::to_string(summary)?)?,
        }
        out.flush()?;
        Ok(())
    }
}
