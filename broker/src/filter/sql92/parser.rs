//! Recursive-descent parser for SQL92 selectors, bounded by [`MAX_DEPTH`](super::MAX_DEPTH).
//!
//! Precedence, loosest first: `OR`, `AND`, `NOT`, then one predicate (a comparison, `BETWEEN`,
//! `IN`, `IS [NOT] NULL`, `CONTAINS`/`STARTSWITH`/`ENDSWITH`, a boolean literal or a
//! parenthesised expression).

use super::lexer::{Tok, Token};
use super::{FilterError, MAX_DEPTH};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A string function of RocketMQ 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrOp {
    Contains,
    StartsWith,
    EndsWith,
}

/// A value position: a message property or a literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Property(String),
    Str(String),
    Long(i64),
    Double(f64),
    Bool(bool),
}

/// A boolean expression tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Const(bool),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Compare { op: CmpOp, left: Operand, right: Operand },
    Between { value: Operand, low: Operand, high: Operand, negated: bool },
    In { value: Operand, list: Vec<String>, negated: bool },
    IsNull { value: Operand, negated: bool },
    StrFn { op: StrOp, value: Operand, pattern: String, negated: bool },
}

/// Parses a whole token stream (non-empty) into one expression tree.
pub(crate) fn parse(tokens: &[Token], text_len: usize) -> Result<Node, FilterError> {
    let mut p = Parser { tokens, i: 0, depth: 0, text_len };
    let node = p.or()?;
    match p.peek() {
        None => Ok(node),
        Some(t) if t.tok == Tok::RParen => Err(FilterError::UnmatchedParen { pos: t.pos }),
        Some(t) => Err(FilterError::TrailingInput { pos: t.pos, found: t.tok.describe() }),
    }
}

struct Parser<'a> {
    tokens: &'a [Token],
    i: usize,
    depth: usize,
    text_len: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.i)
    }

    fn peek_tok(&self) -> Option<&Tok> {
        self.peek().map(|t| &t.tok)
    }

    fn next(&mut self) -> Option<&Token> {
        let t = self.tokens.get(self.i);
        self.i += 1;
        t
    }

    /// Consumes the next token if it is `tok`.
    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek_tok() == Some(tok) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// The error for the next token (or end of input) not being `expected`.
    fn unexpected(&self, expected: &'static str) -> FilterError {
        match self.peek() {
            Some(t) => FilterError::Unexpected { pos: t.pos, expected, found: t.tok.describe() },
            None => FilterError::Unexpected { pos: self.text_len, expected, found: "end of expression".into() },
        }
    }

    fn expect(&mut self, tok: &Tok, expected: &'static str) -> Result<(), FilterError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    /// Enters one nesting level (a parenthesis or a `NOT`), failing past [`MAX_DEPTH`].
    fn enter(&mut self, pos: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::TooDeep { pos, max: MAX_DEPTH });
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Node, FilterError> {
        let mut terms = vec![self.and()?];
        while self.eat(&Tok::Or) {
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 { terms.remove(0) } else { Node::Or(terms) })
    }

    fn and(&mut self) -> Result<Node, FilterError> {
        let mut terms = vec![self.not()?];
        while self.eat(&Tok::And) {
            terms.push(self.not()?);
        }
        Ok(if terms.len() == 1 { terms.remove(0) } else { Node::And(terms) })
    }

    fn not(&mut self) -> Result<Node, FilterError> {
        let Some(t) = self.peek() else { return Err(self.unexpected("an expression")) };
        match t.tok {
            Tok::Not => {
                let pos = t.pos;
                self.i += 1;
                self.enter(pos)?;
                let inner = self.not()?;
                self.depth -= 1;
                Ok(Node::Not(Box::new(inner)))
            }
            Tok::LParen => {
                let pos = t.pos;
                self.i += 1;
                self.enter(pos)?;
                let inner = self.or()?;
                if !self.eat(&Tok::RParen) {
                    return Err(match self.peek() {
                        None => FilterError::UnclosedParen { pos },
                        Some(_) => self.unexpected("`)`"),
                    });
                }
                self.depth -= 1;
                Ok(inner)
            }
            _ => self.predicate(),
        }
    }

    fn operand(&mut self) -> Result<Operand, FilterError> {
        let operand = match self.peek_tok() {
            Some(Tok::Ident(name)) => Operand::Property(name.clone()),
            Some(Tok::Str(s)) => Operand::Str(s.clone()),
            Some(Tok::Long(v)) => Operand::Long(*v),
            Some(Tok::Double(v)) => Operand::Double(*v),
            Some(Tok::True) => Operand::Bool(true),
            Some(Tok::False) => Operand::Bool(false),
            _ => return Err(self.unexpected("a property or a literal")),
        };
        self.i += 1;
        Ok(operand)
    }

    fn string(&mut self) -> Result<String, FilterError> {
        match self.peek_tok() {
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.i += 1;
                Ok(s)
            }
            _ => Err(self.unexpected("a string literal")),
        }
    }

    fn predicate(&mut self) -> Result<Node, FilterError> {
        let value = self.operand()?;
        let cmp = match self.peek_tok() {
            Some(Tok::Eq) => Some(CmpOp::Eq),
            Some(Tok::Ne) => Some(CmpOp::Ne),
            Some(Tok::Gt) => Some(CmpOp::Gt),
            Some(Tok::Ge) => Some(CmpOp::Ge),
            Some(Tok::Lt) => Some(CmpOp::Lt),
            Some(Tok::Le) => Some(CmpOp::Le),
            _ => None,
        };
        if let Some(op) = cmp {
            self.i += 1;
            let right = self.operand()?;
            return Ok(Node::Compare { op, left: value, right });
        }
        if self.eat(&Tok::Is) {
            let negated = self.eat(&Tok::Not);
            self.expect(&Tok::Null, "NULL")?;
            return Ok(Node::IsNull { value, negated });
        }
        // Only `NOT` + one of the keywords below may follow an operand; remember where we were
        // so that a bare boolean literal followed by something else reports that token.
        let mark = self.i;
        let negated = self.eat(&Tok::Not);
        match self.next().map(|t| t.tok.clone()) {
            Some(Tok::Between) => {
                let low = self.operand()?;
                self.expect(&Tok::And, "AND")?;
                let high = self.operand()?;
                Ok(Node::Between { value, low, high, negated })
            }
            Some(Tok::In) => {
                self.expect(&Tok::LParen, "`(`")?;
                let mut list = vec![self.string()?];
                while self.eat(&Tok::Comma) {
                    list.push(self.string()?);
                }
                self.expect(&Tok::RParen, "`,` or `)`")?;
                Ok(Node::In { value, list, negated })
            }
            Some(tok @ (Tok::Contains | Tok::StartsWith | Tok::EndsWith)) => {
                let op = match tok {
                    Tok::Contains => StrOp::Contains,
                    Tok::StartsWith => StrOp::StartsWith,
                    _ => StrOp::EndsWith,
                };
                let pattern = self.string()?;
                Ok(Node::StrFn { op, value, pattern, negated })
            }
            _ => {
                self.i = mark;
                match value {
                    Operand::Bool(b) if !negated => Ok(Node::Const(b)),
                    _ => {
                        Err(self.unexpected("a comparison operator, BETWEEN, IN, IS, CONTAINS, STARTSWITH or ENDSWITH"))
                    }
                }
            }
        }
    }
}
