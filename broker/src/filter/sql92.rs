//! RocketMQ's SQL92 message selector (`MessageSelector.bySql(...)`, expression type `SQL92`).
//!
//! The grammar follows Apache's `filter` module (itself derived from ActiveMQ's selector):
//! `AND`/`OR`/`NOT` (case-insensitive), parentheses, `=`, `<>`, `>`, `>=`, `<`, `<=`,
//! `[NOT] BETWEEN a AND b`, `[NOT] IN ('a', ...)`, `IS [NOT] NULL`, `TRUE`/`FALSE`, string literals
//! in single quotes (`''` escapes a quote), `long` and `double` literals with an optional leading
//! `-`, identifiers `[A-Za-z_$][A-Za-z0-9_$.]*`, and RocketMQ 5's `[NOT] CONTAINS`,
//! `[NOT] STARTSWITH` and `[NOT] ENDSWITH` on strings.
//!
//! # Semantics
//! Property values are strings. Against a numeric literal a property is parsed as a `long` or a
//! `double`; if it does not parse, the comparison is unknown. Against a string literal only `=`,
//! `<>` and the string functions apply; an ordering comparison with a string literal is unknown.
//! Two properties ordered against each other are both parsed as numbers. A missing property makes
//! every comparison unknown and `IS NULL` true. Unknown propagates as in SQL (`NOT unknown` is
//! unknown, `unknown AND false` is false, `unknown OR true` is true) and a message matches only
//! when the whole expression is true.
//!
//! Differences from Apache: `NOT` binds looser than a comparison (`NOT a = 1` means
//! `NOT (a = 1)`, which Apache rejects); an ordering comparison with a string literal is accepted
//! and never matches (Apache rejects it when parsing); arithmetic, `LIKE`, hex and octal literals
//! are not supported.
//!
//! # Limits
//! Expressions longer than [`MAX_EXPRESSION_LEN`] bytes or nesting parentheses and `NOT`s deeper
//! than [`MAX_DEPTH`] are rejected, so parsing and evaluation recurse a bounded amount.

mod eval;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

/// The longest accepted expression, in bytes.
pub const MAX_EXPRESSION_LEN: usize = 4096;

/// The deepest accepted nesting of parentheses and `NOT`s.
pub const MAX_DEPTH: usize = 64;

/// Why an expression was rejected. Positions are 0-based byte offsets into the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The expression is empty or only whitespace.
    #[error("SQL92 expression is empty")]
    Empty,
    /// The expression exceeds [`MAX_EXPRESSION_LEN`].
    #[error("SQL92 expression is {len} bytes long, the limit is {max}")]
    TooLong {
        /// The expression's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Parentheses and `NOT`s nest deeper than [`MAX_DEPTH`].
    #[error("SQL92 expression nests deeper than {max} levels at position {pos}")]
    TooDeep {
        /// Where the level over the limit opens.
        pos: usize,
        /// The limit.
        max: usize,
    },
    /// A string literal has no closing quote.
    #[error("unterminated string literal starting at position {pos}")]
    UnterminatedString {
        /// The opening quote.
        pos: usize,
    },
    /// A character that starts no token (an unknown operator such as `!=` or `==`'s second `=` is
    /// reported by the parser instead).
    #[error("unexpected character {ch:?} at position {pos}")]
    UnexpectedChar {
        /// Where the character is.
        pos: usize,
        /// The character.
        ch: char,
    },
    /// A malformed or out-of-range numeric literal.
    #[error("invalid number {text:?} at position {pos}")]
    InvalidNumber {
        /// Where the literal starts.
        pos: usize,
        /// The literal's text.
        text: String,
    },
    /// A `(` that is never closed.
    #[error("unclosed parenthesis opened at position {pos}")]
    UnclosedParen {
        /// The opening parenthesis.
        pos: usize,
    },
    /// A `)` without a matching `(`.
    #[error("unmatched closing parenthesis at position {pos}")]
    UnmatchedParen {
        /// The closing parenthesis.
        pos: usize,
    },
    /// A complete expression followed by more tokens.
    #[error("unexpected {found} at position {pos} after a complete expression")]
    TrailingInput {
        /// The first extra token.
        pos: usize,
        /// What it is.
        found: String,
    },
    /// A token (or the end) where the grammar expects something else.
    #[error("expected {expected} at position {pos}, found {found}")]
    Unexpected {
        /// Where the offending token is (the expression's length at its end).
        pos: usize,
        /// What the grammar allows there.
        expected: &'static str,
        /// What was found.
        found: String,
    },
}

/// A parsed SQL92 selector; cheap to share across threads and evaluate per message.
#[derive(Clone, PartialEq)]
pub struct Expression {
    text: String,
    root: parser::Node,
}

impl Expression {
    /// Parses `text`, rejecting empty, oversized, too deeply nested or malformed expressions.
    pub fn parse(text: &str) -> Result<Expression, FilterError> {
        if text.len() > MAX_EXPRESSION_LEN {
            return Err(FilterError::TooLong { len: text.len(), max: MAX_EXPRESSION_LEN });
        }
        let tokens = lexer::tokenize(text)?;
        if tokens.is_empty() {
            return Err(FilterError::Empty);
        }
        let root = parser::parse(&tokens, text.len())?;
        Ok(Expression { text: text.to_owned(), root })
    }

    /// Whether a message with these (user and system) properties is selected: true only when the
    /// expression evaluates to true, not to false or unknown.
    pub fn matches(&self, properties: &BTreeMap<String, String>) -> bool {
        eval::eval(&self.root, properties) == Some(true)
    }

    /// The expression's source text, as given to [`Expression::parse`].
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expression").field(&self.text).finish()
    }
}

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
